//! Row-level permission predicates with the Enterprise feature on
//! (`TwinConfig::row_level_permissions`): the upsert semantics of
//! `MM/row-level-permission-predicate/services/row-level-permission-predicate.service.ts`
//! (2.21). Without the feature the refusal is checked against the real server's golden
//! (`config-row-level-permission-predicates-without-the-enterprise-feature`).

use serde_json::{json, Value};
use uuid::Uuid;

use super::{start_with, Env};

const UPSERT: &str = "mutation($i: UpsertRowLevelPermissionPredicatesInput!) { upsertRowLevelPermissionPredicates(input: $i) { predicates { id } predicateGroups { id } } }";

async fn enabled() -> Env {
    start_with(|c| c.row_level_permissions(true)).await
}

/// The Member role's id.
async fn member_role(env: &Env) -> String {
    let body = env.gql("{ getRoles { id label } }", Value::Null).await;
    body["data"]["getRoles"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|r| r["label"] == "Member")
        .and_then(|r| r["id"].as_str())
        .expect("Member")
        .to_owned()
}

/// A field's id by object and name.
async fn field_id(env: &Env, object: &str, field: &str) -> String {
    let body = env
        .gql(
            "{ objects(paging: {first: 1000}) { edges { node { nameSingular fieldsList { id name } } } } }",
            Value::Null,
        )
        .await;
    body["data"]["objects"]["edges"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|e| e["node"]["nameSingular"] == object)
        .and_then(|e| {
            e["node"]["fieldsList"]
                .as_array()?
                .iter()
                .find(|f| f["name"] == field)
        })
        .and_then(|f| f["id"].as_str())
        .expect("field listed")
        .to_owned()
}

/// The role's live predicate ids (sorted) and group ids (sorted), as `getRoles` lists them.
async fn listed(env: &Env, role: &str) -> (Vec<String>, Vec<String>) {
    let body = env
        .gql(
            "{ getRoles { id rowLevelPermissionPredicates { id } rowLevelPermissionPredicateGroups { id } } }",
            Value::Null,
        )
        .await;
    let role = body["data"]["getRoles"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|r| r["id"] == role)
        .cloned()
        .expect("role listed");
    let ids = |key: &str| {
        let mut v: Vec<String> = role[key]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|x| x["id"].as_str().map(str::to_owned))
            .collect();
        v.sort();
        v
    };
    (
        ids("rowLevelPermissionPredicates"),
        ids("rowLevelPermissionPredicateGroups"),
    )
}

fn predicate(id: Uuid, field: &str, group: Option<Uuid>) -> Value {
    json!({ "id": id, "fieldMetadataId": field, "operand": "CONTAINS", "value": "Acme",
            "rowLevelPermissionPredicateGroupId": group,
            "positionInRowLevelPermissionPredicateGroup": 0 })
}

fn sorted(ids: &[Uuid]) -> Vec<String> {
    let mut v: Vec<String> = ids.iter().map(Uuid::to_string).collect();
    v.sort();
    v
}

// SVC:338-387 and 438-487: ids kept; what the input leaves out of this role and object is
// soft-deleted; other objects' predicates stay.
#[tokio::test]
async fn an_upsert_keeps_the_ids_given_and_soft_deletes_what_it_leaves_out_of_that_role_and_object()
{
    let env = enabled().await;
    let role = member_role(&env).await;
    let company = env.object_id("company").await;
    let person = env.object_id("person").await;
    let name = field_id(&env, "company", "name").await;
    let job = field_id(&env, "person", "jobTitle").await;
    let (a, b, c, g) = (
        Uuid::new_v4(),
        Uuid::new_v4(),
        Uuid::new_v4(),
        Uuid::new_v4(),
    );
    let first = env
        .gql(
            UPSERT,
            json!({"i": {"roleId": role, "objectMetadataId": company,
                "predicates": [predicate(a, &name, Some(g)), predicate(b, &name, Some(g))],
                "predicateGroups": [{"id": g, "objectMetadataId": company, "logicalOperator": "AND"}]}}),
        )
        .await;
    assert!(first.get("errors").is_none(), "{first}");
    let other = env
        .gql(
            UPSERT,
            json!({"i": {"roleId": role, "objectMetadataId": person,
                "predicates": [predicate(c, &job, None)], "predicateGroups": []}}),
        )
        .await;
    assert!(other.get("errors").is_none(), "{other}");
    assert_eq!(
        listed(&env, &role).await,
        (sorted(&[a, b, c]), sorted(&[g]))
    );

    let second = env
        .gql(
            UPSERT,
            json!({"i": {"roleId": role, "objectMetadataId": company,
                "predicates": [predicate(a, &name, None)], "predicateGroups": []}}),
        )
        .await;
    assert_eq!(
        second["data"]["upsertRowLevelPermissionPredicates"]["predicates"],
        json!([{"id": a}]),
        "{second}"
    );
    assert_eq!(listed(&env, &role).await, (sorted(&[a, c]), Vec::new()));

    // A soft-deleted predicate's id stays taken (the maps are read `withDeleted`).
    let again = env
        .gql(
            UPSERT,
            json!({"i": {"roleId": role, "objectMetadataId": company,
                "predicates": [predicate(a, &name, None), predicate(b, &name, None)],
                "predicateGroups": []}}),
        )
        .await;
    assert_eq!(
        again["errors"][0]["extensions"]["code"], "METADATA_VALIDATION_FAILED",
        "{again}"
    );
    assert_eq!(
        listed(&env, &role).await,
        (sorted(&[a, c]), Vec::new()),
        "nothing written"
    );
}

// SVC:338-379 with `resolve-entity-relation-universal-identifiers.util.ts:111-118`: a group is
// created in input order, so its parent must be known already.
#[tokio::test]
async fn a_child_group_listed_before_its_new_parent_is_refused_and_nothing_is_written() {
    let env = enabled().await;
    let role = member_role(&env).await;
    let company = env.object_id("company").await;
    let (parent, child) = (Uuid::new_v4(), Uuid::new_v4());
    let group = |id: Uuid, parent: Option<Uuid>| {
        json!({"id": id, "objectMetadataId": company, "logicalOperator": "OR",
               "parentRowLevelPermissionPredicateGroupId": parent})
    };
    let refused = env
        .gql(
            UPSERT,
            json!({"i": {"roleId": role, "objectMetadataId": company, "predicates": [],
                "predicateGroups": [group(child, Some(parent)), group(parent, None)]}}),
        )
        .await;
    assert_eq!(
        refused["errors"][0]["message"],
        "Could not find rowLevelPermissionPredicateGroup for given parentRowLevelPermissionPredicateGroupId",
        "{refused}"
    );
    assert_eq!(listed(&env, &role).await, (Vec::new(), Vec::new()));

    let taken = env
        .gql(
            UPSERT,
            json!({"i": {"roleId": role, "objectMetadataId": company, "predicates": [],
                "predicateGroups": [group(parent, None), group(child, Some(parent))]}}),
        )
        .await;
    assert!(taken.get("errors").is_none(), "{taken}");
    assert_eq!(
        listed(&env, &role).await,
        (Vec::new(), sorted(&[parent, child]))
    );
}

// SVC:163, 555-579 and the role fields' `[]` (SVC:56-61): the twin's default.
#[tokio::test]
async fn without_the_feature_the_upsert_is_refused_and_the_role_lists_no_predicates() {
    let env = super::start().await;
    let role = member_role(&env).await;
    let company = env.object_id("company").await;
    let refused = env
        .gql(
            UPSERT,
            json!({"i": {"roleId": role, "objectMetadataId": company, "predicates": [],
                "predicateGroups": [{"objectMetadataId": company, "logicalOperator": "AND"}]}}),
        )
        .await;
    assert_eq!(
        refused["errors"][0]["extensions"]["subCode"], "ROW_LEVEL_PERMISSION_FEATURE_DISABLED",
        "{refused}"
    );
    assert_eq!(listed(&env, &role).await, (Vec::new(), Vec::new()));
}
