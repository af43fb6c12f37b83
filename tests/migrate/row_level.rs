//! Row-level permission predicates of roles (an Enterprise feature): refused by a twin without
//! the feature as a real 2.21 without an enterprise key refuses them (golden
//! `config-row-level-permission-predicates-without-the-enterprise-feature`), the run goes on and
//! the runbook keeps them; moved equal by a twin with it, and not sent again on a rerun.

use serde_json::{json, Value};
use twenty_migrate::fixture::config::config_id;
use twenty_migrate::pipeline::{self, config::runbook::Runbook};
use twenty_migrate::twin::{Twin, TwinConfig};
use uuid::Uuid;

use super::config::{on_target, others, source_config};
use super::{target, twin, world, KEY};

const STEP: &str = "row_level:Sales:company";

/// `getRoles` as the app reads it, through the twin's API.
async fn roles(twin: &Twin) -> Vec<Value> {
    let answer: Value = reqwest::Client::new()
        .post(format!("{}/metadata", twin.base_url()))
        .bearer_auth(KEY)
        .json(&json!({ "query": "{ getRoles { id label rowLevelPermissionPredicates { id fieldMetadataId objectMetadataId operand value subFieldName workspaceMemberFieldMetadataId workspaceMemberSubFieldName rowLevelPermissionPredicateGroupId positionInRowLevelPermissionPredicateGroup roleId } rowLevelPermissionPredicateGroups { id parentRowLevelPermissionPredicateGroupId logicalOperator positionInRowLevelPermissionPredicateGroup roleId objectMetadataId } } }" }))
        .send()
        .await
        .expect("getRoles")
        .json()
        .await
        .expect("a JSON answer");
    answer["data"]["getRoles"]
        .as_array()
        .cloned()
        .unwrap_or_else(|| panic!("{answer}"))
}

#[tokio::test]
async fn without_the_enterprise_feature_the_run_completes_and_the_runbook_keeps_the_row_level_permissions_with_the_refusal(
) {
    let w = world(60).await;
    let twin = twin(w.members(), 60).await;
    let t = target(&twin, 1_000_000);
    let opts = w.options();

    let report = pipeline::migrate(&opts, &t)
        .await
        .expect("a refusal does not stop the run");
    let c = report.config.expect("configuration moved");
    let refusals: Vec<&String> = c
        .notes
        .iter()
        .filter(|n| n.contains("ROW_LEVEL_PERMISSION_FEATURE_DISABLED"))
        .collect();
    assert_eq!(refusals.len(), 1, "{:#?}", c.notes);
    assert!(refusals[0].contains("Enterprise"), "{}", refusals[0]);
    assert!(others(&c).is_empty(), "{:#?}", c.notes);
    let rls = &c.kinds["row_level_permissions"];
    assert_eq!((rls.created, rls.updated, rls.runbook), (0, 0, 1));
    // Everything else moved: the role the predicates belong to among them.
    assert_eq!(c.kinds["roles"].created, 1, "Sales (Member is matched)");
    assert!(twin.roles().iter().any(|r| r.label == "Sales"));

    let book = Runbook::read(opts.runbook_dir()).unwrap().expect("runbook");
    let step = book
        .steps
        .iter()
        .find(|s| s.key == STEP)
        .expect("the row-level permissions stay in the runbook");
    assert!(step.title.contains("(3 predicates)"), "{}", step.title);
    let reason = step.details["refused"].as_str().expect("with the reason");
    assert!(
        reason.contains("ROW_LEVEL_PERMISSION_FEATURE_DISABLED"),
        "{reason}"
    );
    let md = std::fs::read_to_string(opts.runbook_dir().join("runbook.md")).unwrap();
    assert!(md.contains("Enterprise feature"), "{md}");

    let check = pipeline::verify::verify(&opts, &t, 100)
        .await
        .expect("verify");
    assert!(
        check.config_pending.is_empty(),
        "{:#?}",
        check.config_pending
    );
    assert!(
        check
            .runbook_open
            .iter()
            .any(|s| s.contains("row-level permissions on company")),
        "{:#?}",
        check.runbook_open
    );
}

#[tokio::test]
async fn with_the_enterprise_feature_the_predicates_and_groups_land_equal_and_a_rerun_sends_no_upsert(
) {
    let w = world(60).await;
    let twin = TwinConfig::new(KEY)
        .members(w.members())
        .max_batch(60)
        .row_level_permissions(true)
        .start()
        .await
        .expect("twin");
    let t = target(&twin, 1_000_000);
    let opts = w.options();
    let config = source_config(&w).await;
    let sales = config.roles.iter().find(|r| r.label == "Sales").unwrap();
    assert_eq!(sales.row_level_permissions.len(), 1);
    let source = &sales.row_level_permissions[0];
    assert_eq!(source.object, "company");
    assert_eq!(
        (source.predicates.len(), source.groups.len()),
        (3, 2),
        "the soft-deleted predicate is left out"
    );

    let prepared = pipeline::prepare(&opts, &t).await.expect("prepare");
    let planned = pipeline::config::preview(&opts, &prepared, &t)
        .await
        .expect("plan");
    prepared.source.end_snapshot().await.expect("end");
    let p = &planned.kinds["row_level_permissions"];
    assert_eq!(
        (p.created, p.updated, p.runbook),
        (1, 0, 0),
        "plan counts them"
    );

    let report = pipeline::migrate(&opts, &t).await.expect("migrate");
    let c = report.config.expect("configuration moved");
    assert!(others(&c).is_empty(), "{:#?}", c.notes);
    let rls = &c.kinds["row_level_permissions"];
    assert_eq!((rls.created, rls.updated, rls.runbook), (1, 0, 0));
    let book = Runbook::read(opts.runbook_dir()).unwrap().expect("runbook");
    assert!(book.steps.iter().all(|s| s.key != STEP), "no step left");

    // Read back through the API, field by field, every id the target's.
    let model = t.model().await.expect("model");
    let field_id = |object: &str, field: &str| {
        model
            .object(object)
            .and_then(|o| o.fields.iter().find(|f| f.name == field))
            .map(|f| f.id.to_string())
            .unwrap_or_else(|| panic!("{object}.{field} on the target"))
    };
    let company = model.object("company").unwrap().id.to_string();
    let here = |id: Uuid| on_target(&twin, id).to_string();
    let roles = roles(&twin).await;
    let role = roles.iter().find(|r| r["label"] == "Sales").unwrap();
    let role_id = role["id"].as_str().unwrap();
    assert_eq!(role_id, here(sales.id));
    let predicates = role["rowLevelPermissionPredicates"].as_array().unwrap();
    let groups = role["rowLevelPermissionPredicateGroups"]
        .as_array()
        .unwrap();
    assert_eq!((predicates.len(), groups.len()), (3, 2));
    // The fixture's predicate names its first member; the target knows them by another id.
    let owner = w.members()[0].id();
    let named = source
        .predicates
        .iter()
        .find_map(|p| p.value.get("selectedRecordIds"));
    assert_eq!(named, Some(&json!([w.generated.members[0].id])));
    for p in &source.predicates {
        let got = predicates
            .iter()
            .find(|x| x["id"] == here(p.id))
            .unwrap_or_else(|| panic!("predicate {} by its id", p.id));
        let value = match &p.value {
            // The member the fixture names, as the target knows them.
            v if v.get("selectedRecordIds").is_some() => {
                json!({"isCurrentWorkspaceMemberSelected": false, "selectedRecordIds": [owner]})
            }
            v => v.clone(),
        };
        let want = json!({
            "id": here(p.id),
            "fieldMetadataId": field_id(&p.field.object, &p.field.field),
            "objectMetadataId": company,
            "operand": p.operand,
            "value": value,
            "subFieldName": p.sub_field_name,
            "workspaceMemberFieldMetadataId": p.workspace_member_field.as_ref().map(|f| field_id(&f.object, &f.field)),
            "workspaceMemberSubFieldName": p.workspace_member_sub_field_name,
            "rowLevelPermissionPredicateGroupId": p.group.map(here),
            "positionInRowLevelPermissionPredicateGroup": p.position,
            "roleId": role_id,
        });
        assert_eq!(got, &want);
    }
    for g in &source.groups {
        let got = groups
            .iter()
            .find(|x| x["id"] == here(g.id))
            .unwrap_or_else(|| panic!("group {} by its id", g.id));
        let want = json!({
            "id": here(g.id),
            "parentRowLevelPermissionPredicateGroupId": g.parent.map(here),
            "logicalOperator": g.logical_operator,
            "positionInRowLevelPermissionPredicateGroup": g.position,
            "roleId": role_id,
            "objectMetadataId": company,
        });
        assert_eq!(got, &want);
    }
    assert!(
        source.groups.iter().any(|g| g.parent.is_some()),
        "the fixture nests a group"
    );
    assert!(source
        .predicates
        .iter()
        .any(|p| p.id == config_id(w.spec.id, "rls/sales/company/name")));

    // The rerun finds them in place: no upsert (the readings only), counted unchanged.
    let again = pipeline::migrate(&opts, &t).await.expect("rerun");
    let again = again.config.expect("configuration");
    let rls = &again.kinds["row_level_permissions"];
    assert_eq!((rls.created, rls.updated, rls.unchanged), (0, 0, 1));
    assert_eq!(
        again.requests, 18,
        "two readings of the configuration, the dashboards' two, the record pages', the agents' (and again after the refused agent's create, tried again), no upsert"
    );
    let check = pipeline::verify::verify(&opts, &t, 100)
        .await
        .expect("verify");
    assert!(
        check.runbook_open.iter().all(|s| !s.contains("row-level")),
        "{:#?}",
        check.runbook_open
    );
}
