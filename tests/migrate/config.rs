//! Issue 16's "must show": the fixture's workspace configuration migrated into the twin, read
//! back from the twin's own state, every reference pointing at the migrated id; a rerun that
//! changes nothing; a run cut short that finishes without duplicates; the runbook as a golden
//! file, and `verify` listing its open steps.

use std::collections::{HashMap, HashSet};
use std::path::Path;

use serde_json::Value;
use twenty_migrate::fixture::config::config_id;
use twenty_migrate::model::config::WorkspaceConfig;
use twenty_migrate::pipeline::{self, config::runbook::Runbook, config::ConfigReport};
use twenty_migrate::source::config::read_config;
use twenty_migrate::source::Source;
use twenty_migrate::transform::{MemberMap, MemberTarget};
use uuid::Uuid;

use super::{target, twin, world, World};

const GOLDEN: &str = "tests/migrate/runbook.golden.md";

pub(super) async fn source_config(w: &World) -> WorkspaceConfig {
    let source = Source::connect(&w.db.url).await.expect("source");
    source.begin_snapshot().await.expect("snapshot");
    let info = source.choose_workspace(None).await.expect("workspace");
    let config = read_config(source.client(), &info).await.expect("read");
    source.end_snapshot().await.expect("end");
    config
}

/// The id the source configuration entity `source` gets in the twin's workspace.
pub(super) fn on_target(twin: &twenty_migrate::twin::Twin, source: Uuid) -> Uuid {
    twenty_migrate::transform::config_id(Some(twin.workspace_id()), source)
}

/// The target's field ids by (object, field), from its metadata.
pub(super) async fn field_ids(
    t: &twenty_migrate::destination::Target,
) -> HashMap<(String, String), Uuid> {
    let model = t.model().await.expect("model");
    let mut ids = HashMap::new();
    for o in &model.objects {
        for f in &o.fields {
            ids.insert((o.name_singular.clone(), f.name.clone()), f.id);
        }
    }
    ids
}

/// The notes but those every run into the default twin has: its refusal of the fixture's
/// row-level permissions (no Enterprise feature; `super::row_level` checks it) and of the
/// agents on a model it does not offer (the churn watcher; `super::agents` checks it).
pub(super) fn others(c: &ConfigReport) -> Vec<&String> {
    c.notes
        .iter()
        .filter(|n| !n.contains("ROW_LEVEL_PERMISSION_FEATURE_DISABLED"))
        .filter(|n| {
            !c.refused_agents
                .iter()
                .any(|a| n.contains(&format!("AI agent \"{}\"", a.label)))
        })
        .collect()
}

fn decoded(v: &Value) -> Value {
    match v {
        Value::String(s) => serde_json::from_str(s).unwrap_or_else(|_| v.clone()),
        other => other.clone(),
    }
}

#[tokio::test]
async fn the_workspace_configuration_lands_equal_with_every_reference_migrated_and_a_rerun_changes_nothing(
) {
    let w = world(150).await;
    let twin = twin(w.members(), 60).await;
    let t = target(&twin, 1_000_000);
    let opts = w.options();
    let config = source_config(&w).await;
    let id = |name: &str| config_id(w.spec.id, name);
    // The id a source entity gets in the twin's workspace.
    let here = |source: Uuid| on_target(&twin, source);

    let report = pipeline::migrate(&opts, &t).await.expect("migrate");
    let counts = report.config.clone().expect("configuration moved");
    assert!(others(&counts).is_empty(), "{:#?}", counts.notes);

    // Every workspace view is on the target: by its own id, or (standard and INDEX views) the
    // target's own, matched by object and key or name.
    let views = twin.views();
    let movable: Vec<_> = config
        .views
        .iter()
        .filter(|v| v.visibility != "UNLISTED")
        .collect();
    let by_id: HashSet<Uuid> = views.iter().map(|v| v.id.0).collect();
    // A custom object's record-page fields view is the server's: the target made its own.
    let created: Vec<_> = movable
        .iter()
        .filter(|v| !v.is_standard && v.key.is_none() && !v.system_side_effect)
        .collect();
    for v in &created {
        assert!(
            by_id.contains(&here(v.id)),
            "view {} ({}) created with its id",
            v.name,
            v.id
        );
    }
    assert!(
        !by_id.contains(&here(id("view/my-companies"))),
        "a personal view is not created"
    );
    assert_eq!(counts.kinds["views"].created, created.len());
    assert_eq!(
        counts.kinds["views"].created
            + counts.kinds["views"].updated
            + counts.kinds["views"].unchanged,
        movable.len()
    );
    assert_eq!(counts.kinds["views"].runbook, 1);
    // No object has two INDEX views.
    let mut index: HashSet<Uuid> = HashSet::new();
    for v in views.iter().filter(|v| v.key.is_some()) {
        assert!(
            index.insert(v.object_metadata_id.0),
            "two INDEX views on one object"
        );
    }

    // One record-page fields view per object, whose sections are the source's: names,
    // order and visibility, each field in the section of the same name.
    let mut pages: HashSet<Uuid> = HashSet::new();
    for v in views
        .iter()
        .filter(|v| format!("{:?}", v.view_type) == "FieldsWidget")
    {
        assert!(
            pages.insert(v.object_metadata_id.0),
            "two record-page fields views on one object"
        );
    }
    let model = t.model().await.expect("model");
    let field_name = |id: Uuid| {
        model
            .objects
            .iter()
            .flat_map(|o| &o.fields)
            .find(|f| f.id == id)
            .map(|f| f.name.clone())
    };
    for key in ["view/company-record-page", "view/pet-record-page"] {
        let source = config.views.iter().find(|v| v.id == id(key)).unwrap();
        let object = model.object(&source.object).expect("object").id;
        let there = views
            .iter()
            .find(|v| {
                format!("{:?}", v.view_type) == "FieldsWidget" && v.object_metadata_id.0 == object
            })
            .expect("the record-page view");
        let sections = twin.view_field_groups(there.id.0);
        let got: Vec<(&str, f64, bool)> = sections
            .iter()
            .filter(|g| g.is_visible)
            .map(|g| (g.name.as_str(), g.position, g.is_visible))
            .collect();
        let want: Vec<(&str, f64, bool)> = source
            .field_groups
            .iter()
            .map(|g| (g.name.as_str(), g.position, g.is_visible))
            .collect();
        assert_eq!(got, want, "{key}: sections");
        let section_name = |g: Option<Uuid>| {
            g.and_then(|g| sections.iter().find(|s| s.id.0 == g))
                .map(|s| s.name.clone())
        };
        for f in &source.fields {
            let placed = twin
                .view_fields(there.id.0)
                .into_iter()
                .find(|vf| field_name(vf.field_metadata_id.0).as_deref() == Some(&f.field))
                .expect("field on the record page");
            let want = f.group.and_then(|g| {
                source
                    .field_groups
                    .iter()
                    .find(|s| s.id == g)
                    .map(|s| s.name.clone())
            });
            assert_eq!(
                section_name(placed.view_field_group_id.map(|g| g.0)),
                want,
                "{key}: section of {}",
                f.field
            );
        }
    }

    // The nested filter groups keep their tree and operators; filters point at the target's
    // fields and groups.
    let fields = field_ids(&t).await;
    let root = here(id("view/enterprise-prospects/group/root"));
    let either = here(id("view/enterprise-prospects/group/either"));
    let prospects = config
        .views
        .iter()
        .find(|v| v.id == id("view/enterprise-prospects"))
        .expect("fixture view");
    let (filters, _) = twin.view_filters_and_sorts(here(prospects.id));
    assert_eq!(filters.len(), prospects.filters.len());
    for f in &prospects.filters {
        let there = filters
            .iter()
            .find(|t| t.id.0 == here(f.id))
            .expect("filter by id");
        assert_eq!(
            there.field_metadata_id.0,
            fields[&(prospects.object.clone(), f.field.clone())]
        );
        assert_eq!(
            there.view_filter_group_id.as_ref().map(|g| g.0),
            f.group.map(here)
        );
        assert_eq!(
            decoded(&there.value.0),
            decoded(&f.value),
            "filter {}",
            f.id
        );
    }
    let groups = twin.view_filter_groups(here(prospects.id));
    let child = groups
        .iter()
        .find(|g| g.id.0 == either)
        .expect("child group");
    assert_eq!(
        child.parent_view_filter_group_id.as_ref().map(|g| g.0),
        Some(root)
    );
    assert_eq!(format!("{:?}", child.logical_operator), "Or");

    // The member filter names the target's member of the same email.
    let member_ids: HashMap<Uuid, Uuid> = {
        let target_members = t.members().await.expect("members");
        let by_email: HashMap<String, Uuid> = target_members
            .iter()
            .filter_map(|m| Some((m.user_email.clone()?.to_lowercase(), m.id)))
            .collect();
        w.generated
            .members
            .iter()
            .filter_map(|m| Some((m.id, *by_email.get(&m.email.to_lowercase())?)))
            .collect()
    };
    let mine = config
        .views
        .iter()
        .find(|v| v.id == id("view/my-deals"))
        .expect("fixture view");
    let (filters, _) = twin.view_filters_and_sorts(here(mine.id));
    let wanted: Vec<Value> = decoded(&mine.filters[0].value)["selectedRecordIds"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            let source = Uuid::parse_str(s.as_str().unwrap()).unwrap();
            Value::String(member_ids[&source].to_string())
        })
        .collect();
    assert_eq!(
        decoded(&filters[0].value.0)["selectedRecordIds"],
        Value::Array(wanted)
    );

    // Roles: the custom ones with their flags and permissions; Admin untouched.
    let roles = twin.roles();
    for r in config.roles.iter().filter(|r| r.is_editable) {
        let there = roles
            .iter()
            .find(|t| t.label == r.label)
            .expect("role by label");
        let mut flags: Vec<String> = there
            .permission_flags
            .clone()
            .unwrap_or_default()
            .iter()
            .map(|f| f.flag.clone())
            .collect();
        flags.sort();
        let mut want = r.flags.clone();
        want.sort();
        assert_eq!(flags, want, "flags of {}", r.label);
        assert_eq!(
            there.object_permissions.clone().unwrap_or_default().len(),
            r.object_permissions.len(),
            "object permissions of {}",
            r.label
        );
    }

    // Webhooks: with the source's id and secret, created after every record.
    let hooks = twin.webhooks();
    for h in &config.webhooks {
        let there = hooks
            .iter()
            .find(|t| t.id.0 == here(h.id))
            .expect("webhook by id");
        assert_eq!(there.secret, h.secret);
        assert_eq!(
            twin.webhook_writes_after(here(h.id)),
            Some(0),
            "no record write after the webhook"
        );
    }

    // Navigation: workspace items in their folders, personal ones left to the runbook.
    let items = twin.navigation_menu_items();
    let nav_ids: HashMap<Uuid, &twenty_migrate::twin::NavigationMenuItem> =
        items.iter().map(|i| (i.id.0, i)).collect();
    let my_deals_item = nav_ids
        .get(&here(id("nav/my-deals")))
        .expect("the view item, by id");
    let folder = my_deals_item.folder_id.as_ref().expect("in a folder").0;
    assert_eq!(nav_ids[&folder].name.as_deref(), Some("Sales"));
    assert_eq!(
        my_deals_item.view_id.as_ref().map(|v| v.0),
        Some(here(id("view/my-deals")))
    );
    assert!(
        !nav_ids.contains_key(&here(id("nav/mine"))),
        "a personal item is not created"
    );

    // The dashboard: its record with the source id names a layout the target made, whose tab
    // and widgets keep the source ids and whose charts name the target's fields.
    let dashboard = config
        .dashboards
        .iter()
        .find(|d| d.layout.is_some())
        .expect("the fixture's dashboard");
    let source_layout = dashboard.layout.as_ref().unwrap();
    let records = t
        .find_by_ids("dashboards", &[dashboard.id])
        .await
        .expect("dashboards");
    assert_eq!(records.len(), 1, "the dashboard record, by its id");
    let layout_id: Uuid = records[0]["pageLayoutId"]
        .as_str()
        .expect("pageLayoutId")
        .parse()
        .unwrap();
    assert_ne!(
        layout_id, source_layout.id,
        "the target gives the layout id"
    );
    let layouts = twin.dashboard_layouts();
    assert_eq!(
        layouts.len(),
        config.dashboards.len(),
        "one layout per dashboard (an empty one where the source's is missing)"
    );
    let layout = layouts
        .iter()
        .find(|l| l.id.0 == layout_id)
        .expect("the layout the record names");
    assert_eq!(layout.name, source_layout.name);
    assert_eq!(layout.tabs.len(), 1);
    let tab = &layout.tabs[0];
    assert_eq!(tab.id.0, here(id("dashboard/tab/overview")));
    assert_eq!(tab.title, "Overview", "the tab's effective title");
    let widget_ids: HashSet<Uuid> = tab.widgets.iter().map(|w| w.id.0).collect();
    let want: HashSet<Uuid> = ["pipeline", "headcount", "pets"]
        .iter()
        .map(|k| here(id(&format!("dashboard/widget/{k}"))))
        .collect();
    assert_eq!(widget_ids, want);
    let pipeline_chart = tab
        .widgets
        .iter()
        .find(|w| w.id.0 == here(id("dashboard/widget/pipeline")))
        .unwrap();
    let c = &pipeline_chart.configuration.0;
    assert_eq!(
        c["aggregateFieldMetadataId"],
        fields[&("opportunity".into(), "amount".into())].to_string()
    );
    assert_eq!(
        c["primaryAxisGroupByFieldMetadataId"],
        fields[&("opportunity".into(), "stage".into())].to_string()
    );
    let headcount = tab
        .widgets
        .iter()
        .find(|w| w.id.0 == here(id("dashboard/widget/headcount")))
        .unwrap();
    assert_eq!(
        headcount.configuration.0["filter"]["recordFilters"][0]["fieldMetadataId"],
        fields[&("company".into(), "tier".into())].to_string()
    );
    assert_eq!(counts.kinds["dashboards"].created, config.dashboards.len());

    // `verify` finds the configuration equal and lists the runbook's open steps.
    let check = pipeline::verify::verify(&opts, &t, 100)
        .await
        .expect("verify");
    assert!(
        check.config_pending.is_empty(),
        "{:#?}",
        check.config_pending
    );
    assert!(check.is_clean());
    assert!(!check.runbook_open.is_empty());
    assert!(check
        .runbook_open
        .iter()
        .any(|s| s.contains("Recreate the workflow")));

    // The runbook, as a golden file (`UPDATE_GOLDENS=1` rewrites it).
    let written = std::fs::read_to_string(opts.runbook_dir().join("runbook.md")).expect("runbook");
    let written = written.replace(&w.spec.id.to_string(), "<workspace>");
    if std::env::var_os("UPDATE_GOLDENS").is_some() {
        std::fs::write(GOLDEN, &written).unwrap();
    }
    let golden = std::fs::read_to_string(Path::new(GOLDEN)).expect("golden runbook");
    assert_eq!(written, golden, "runbook.md differs from {GOLDEN}");
    let json = Runbook::read(opts.runbook_dir())
        .unwrap()
        .expect("runbook.json");
    assert_eq!(json.steps.len(), golden.matches("- [ ] ").count());

    // A second run finds everything in place: nothing created, nothing updated.
    let again = pipeline::migrate(&opts, &t).await.expect("second migrate");
    let again = again.config.expect("configuration");
    for (kind, c) in &again.kinds {
        assert_eq!((kind.as_str(), c.created, c.updated), (kind.as_str(), 0, 0));
    }
    // Two readings of the target's configuration (six queries each: the five kinds and the
    // workspace), the dashboards' layouts and records, the record page layouts, the agents
    // (one query each), and no change sent but the refused agent's create, tried again, the
    // agents read again after its refusal, and the row-level permissions, which this twin (no
    // Enterprise feature) refuses again.
    assert_eq!(again.requests, 19);
    assert_eq!(twin.views().len(), views.len());
    assert_eq!(twin.navigation_menu_items().len(), items.len());
    assert_eq!(again.kinds["dashboards"].unchanged, config.dashboards.len());
    assert_eq!(
        twin.dashboard_layouts().len(),
        layouts.len(),
        "no second layout"
    );
}

#[tokio::test]
async fn a_run_cut_short_in_the_configuration_finishes_it_without_a_duplicate() {
    let w = world(60).await;
    let twin = twin(w.members(), 60).await;
    let t = target(&twin, 1_000_000);
    let opts = w.options();
    let full = source_config(&w).await;

    // The first run stopped after half of each kind had gone: as a crash would leave it.
    pipeline::migrate(
        &twenty_migrate::pipeline::MigrateOptions {
            config: false,
            ..opts.clone()
        },
        &t,
    )
    .await
    .expect("records");
    let half = |n: usize| n.div_ceil(2);
    let partial = WorkspaceConfig {
        views: full.views[..half(full.views.len())].to_vec(),
        roles: full.roles[..half(full.roles.len())].to_vec(),
        navigation: full.navigation[..half(full.navigation.len())].to_vec(),
        webhooks: full.webhooks[..half(full.webhooks.len())].to_vec(),
        ..full.clone()
    };
    let model = t.model().await.expect("model");
    let mut members = MemberMap::default();
    let target_members = t.members().await.expect("members");
    for m in &w.generated.members {
        let found = target_members.iter().find(|t| {
            t.user_email
                .as_deref()
                .is_some_and(|e| e.eq_ignore_ascii_case(&m.email))
        });
        members.members.insert(
            m.id,
            found.map_or(MemberTarget::Unmatched, |t| MemberTarget::Member(t.id)),
        );
    }
    pipeline::config::sync(&partial, &t, &model, &members)
        .await
        .expect("half the configuration");

    let report = pipeline::migrate(&opts, &t).await.expect("the rerun");
    let counts = report.config.expect("configuration");
    assert!(others(&counts).is_empty(), "{:#?}", counts.notes);

    let views = twin.views();
    let mut seen: HashSet<(Uuid, String, String)> = HashSet::new();
    for v in &views {
        assert!(
            seen.insert((
                v.object_metadata_id.0,
                v.name.clone(),
                format!("{:?}", v.view_type)
            )),
            "view {} twice",
            v.name
        );
    }
    let mut labels = HashSet::new();
    assert!(twin.roles().iter().all(|r| labels.insert(r.label.clone())));
    let mut urls = HashSet::new();
    assert!(twin
        .webhooks()
        .iter()
        .all(|h| urls.insert(h.target_url.clone())));
    let items = twin.navigation_menu_items();
    let item_ids: HashSet<Uuid> = items.iter().map(|i| i.id.0).collect();
    assert_eq!(item_ids.len(), items.len());
    let check = pipeline::verify::verify(&opts, &t, 100)
        .await
        .expect("verify");
    assert!(
        check.config_pending.is_empty(),
        "{:#?}",
        check.config_pending
    );
}

#[tokio::test]
async fn configuration_creates_whose_answers_are_lost_are_found_done_not_reported_refused() {
    let w = world(40).await;
    // A quarter of the requests are applied and their answer lost; the client sends them again
    // and Twenty refuses a create of an id it holds.
    let faults = twenty_migrate::twin::FaultSpec {
        seed: 9,
        shares: vec![(0.25, twenty_migrate::twin::Fault::ResetAfterApply)],
        windows: Vec::new(),
    };
    let twin = twenty_migrate::twin::TwinConfig::new(super::KEY)
        .members(w.members())
        .max_batch(60)
        .faults(faults)
        .start()
        .await
        .expect("twin");
    let mut config = twenty_migrate::destination::TargetConfig::new(
        twin.base_url(),
        twenty_migrate::destination::ApiKey::new(super::KEY),
    );
    config.requests_per_minute = 1_000_000;
    config.max_attempts = 12;
    config.backoff.base = std::time::Duration::from_millis(5);
    config.backoff.max = std::time::Duration::from_millis(50);
    let t = twenty_migrate::destination::Target::new(config).expect("client");
    let opts = w.options();

    let report = pipeline::migrate(&opts, &t).await.expect("migrate");
    let counts = report.config.expect("configuration");
    assert!(others(&counts).is_empty(), "{:#?}", counts.notes);
    assert!(t.stats().retries > 0, "the faults were met");
    let views = twin.views();
    let ids: HashSet<Uuid> = views.iter().map(|v| v.id.0).collect();
    assert_eq!(ids.len(), views.len());
    let check = pipeline::verify::verify(&opts, &t, 100)
        .await
        .expect("verify");
    assert!(
        check.config_pending.is_empty(),
        "{:#?}",
        check.config_pending
    );
}

#[tokio::test]
async fn a_dashboard_layout_left_by_a_run_cut_short_is_taken_up_not_doubled() {
    let w = world(60).await;
    let twin = twin(w.members(), 60).await;
    let t = target(&twin, 1_000_000);
    let config = source_config(&w).await;
    let dashboard = config
        .dashboards
        .iter()
        .find(|d| d.layout.is_some())
        .expect("the fixture's dashboard");
    let name = &dashboard.layout.as_ref().unwrap().name;
    // A run stopped right after `createPageLayout`: the layout is there, tabless, and no
    // record names it.
    let left = t
        .metadata_graphql(
            "mutation($i: CreatePageLayoutInput!) { createPageLayout(input: $i) { id } }",
            serde_json::json!({ "i": { "name": name, "type": "DASHBOARD" } }),
        )
        .await
        .expect("createPageLayout")["createPageLayout"]["id"]
        .as_str()
        .unwrap()
        .to_owned();

    let report = pipeline::migrate(&w.options(), &t).await.expect("migrate");
    assert!(others(&report.config.expect("configuration")).is_empty());
    let layouts = twin.dashboard_layouts();
    assert_eq!(layouts.len(), config.dashboards.len(), "no second layout");
    let record = t
        .find_by_ids("dashboards", &[dashboard.id])
        .await
        .expect("dashboards");
    assert_eq!(record[0]["pageLayoutId"], left.as_str());
    let taken = layouts.iter().find(|l| l.id.0.to_string() == left).unwrap();
    assert_eq!(taken.tabs.len(), 1, "its tabs written");
}

// A real 2.21 creates a tab with `icon: null` and sets it only on an existing tab
// (`MM/page-layout/services/page-layout-update.service.ts` `computeTabOperations`); a fresh
// migration used to leave the icon out and send the tabs again on the first rerun.
#[tokio::test]
async fn a_fresh_migration_gives_dashboard_tabs_their_icons_and_a_rerun_changes_no_dashboard() {
    let w = world(60).await;
    let twin = twin(w.members(), 60).await;
    let t = target(&twin, 1_000_000);
    let config = source_config(&w).await;
    let source_layout = config
        .dashboards
        .iter()
        .find_map(|d| d.layout.as_ref())
        .expect("the fixture's dashboard layout");
    let icons: HashMap<Uuid, Option<String>> = source_layout
        .tabs
        .iter()
        .map(|tab| (on_target(&twin, tab.id), tab.icon.clone()))
        .collect();
    assert!(icons.values().any(Option::is_some), "a tab with an icon");

    let first = pipeline::migrate(&w.options(), &t).await.expect("migrate");
    let first = first.config.expect("configuration");
    assert!(others(&first).is_empty(), "{:#?}", first.notes);
    let landed: HashMap<Uuid, Option<String>> = twin
        .dashboard_layouts()
        .iter()
        .flat_map(|l| l.tabs.iter())
        .filter(|tab| icons.contains_key(&tab.id.0))
        .map(|tab| (tab.id.0, tab.icon.clone()))
        .collect();
    assert_eq!(landed, icons, "each tab's icon, after the first run");

    let again = pipeline::migrate(&w.options(), &t).await.expect("rerun");
    let dashboards = &again.config.expect("configuration").kinds["dashboards"];
    assert_eq!(
        (dashboards.created, dashboards.updated, dashboards.unchanged),
        (0, 0, config.dashboards.len())
    );
}

/// Sends one `/metadata` GraphQL document to the twin, as the app would, and checks it was
/// taken.
pub(super) async fn metadata(twin: &twenty_migrate::twin::Twin, query: &str, variables: Value) {
    let answer: Value = reqwest::Client::new()
        .post(format!("{}/metadata", twin.base_url()))
        .bearer_auth(super::KEY)
        .json(&serde_json::json!({ "query": query, "variables": variables }))
        .send()
        .await
        .expect("metadata call")
        .json()
        .await
        .expect("a JSON answer");
    assert!(answer.get("errors").is_none(), "{answer}");
}

#[tokio::test]
async fn a_matched_standard_view_and_role_renamed_in_the_target_are_found_again_not_doubled() {
    let w = world(150).await;
    let twin = twin(w.members(), 60).await;
    let t = target(&twin, 1_000_000);
    let opts = w.options();
    let config = source_config(&w).await;
    pipeline::migrate(&opts, &t).await.expect("migrate");

    // The ledger keeps what the run matched by natural key: a standard (non-INDEX) view by
    // name and type, the Member role by label.
    let matches = twenty_migrate::state::Ledger::read_config_matches(&opts.state_path);
    let (view, view_target) = config
        .views
        .iter()
        .filter(|v| v.is_standard && v.key.as_deref() != Some("INDEX"))
        .find_map(|v| Some((v, *matches.get(&("view".to_owned(), v.id))?)))
        .expect("a standard view matched by name");
    let editable: HashSet<Uuid> = twin
        .roles()
        .iter()
        .filter(|r| r.is_editable)
        .map(|r| r.id.0)
        .collect();
    let (role, role_target) = config
        .roles
        .iter()
        .filter_map(|r| Some((r, *matches.get(&("role".to_owned(), r.id))?)))
        .find(|(_, target)| editable.contains(target))
        .expect("an editable role matched by label");
    let views_before = twin.views().len();
    let roles_before = twin.roles().len();

    // Someone renames both in the target between two runs.
    metadata(
        &twin,
        "mutation($id: String!, $input: UpdateViewInput!) { updateView(id: $id, input: $input) { id } }",
        serde_json::json!({ "id": view_target, "input": { "name": "Renamed in the cloud" } }),
    )
    .await;
    metadata(
        &twin,
        "mutation($input: UpdateRoleInput!) { updateOneRole(updateRoleInput: $input) { id } }",
        serde_json::json!({ "input": { "id": role_target, "update": { "label": "Renamed role" } } }),
    )
    .await;

    // The same ledger: a rerun, not a fresh start.
    let opts = twenty_migrate::pipeline::MigrateOptions {
        restart: false,
        ..opts
    };
    let rerun = pipeline::migrate(&opts, &t).await.expect("rerun");
    let counts = rerun.config.expect("configuration moved");
    let created = |kind: &str| counts.kinds.get(kind).map_or(0, |k| k.created);
    assert_eq!(created("views"), 0, "{}", counts.render_text());
    assert_eq!(created("roles"), 0, "{}", counts.render_text());
    assert_eq!(twin.views().len(), views_before);
    assert_eq!(twin.roles().len(), roles_before);
    // The same entities carry the source's names again.
    let v = twin
        .views()
        .into_iter()
        .find(|v| v.id.0 == view_target)
        .expect("the matched view");
    assert_eq!(v.name, view.name);
    let r = twin
        .roles()
        .into_iter()
        .find(|r| r.id.0 == role_target)
        .expect("the matched role");
    assert_eq!(r.label, role.label);
}

// The target answers a widget's configuration as the `WidgetConfiguration` union and its grid
// position as `gridPosition` (`MM/page-layout-widget/dtos/page-layout-widget.dto.ts`); a rerun
// used to compare widgets by id, title, type and object only and missed both changes.
#[tokio::test]
async fn a_rerun_updates_the_dashboard_whose_widget_grid_position_or_configuration_changed_and_only_it(
) {
    let w = world(60).await;
    let twin = twin(w.members(), 60).await;
    let t = target(&twin, 1_000_000);
    let opts = w.options();
    let id = |name: &str| config_id(w.spec.id, name);
    let first = pipeline::migrate(&opts, &t).await.expect("migrate");
    assert!(others(&first.config.expect("configuration")).is_empty());
    let dashboards = source_config(&w).await.dashboards.len();
    let widget = |key: &str| {
        twin.dashboard_layouts()
            .iter()
            .flat_map(|l| l.tabs.iter())
            .flat_map(|tab| tab.widgets.iter())
            .find(|wd| wd.id.0 == on_target(&twin, id(&format!("dashboard/widget/{key}"))))
            .cloned()
            .expect("the widget on the target")
    };
    let cells = |v: &Value| ["row", "column", "rowSpan", "columnSpan"].map(|k| v[k].as_f64());
    let counts = |report: twenty_migrate::report::RunReport| {
        let c = report.config.expect("configuration").kinds["dashboards"].clone();
        (c.created, c.updated, c.unchanged)
    };

    // One widget moved and grown in the source.
    let grid = serde_json::json!({"row": 6, "column": 0, "rowSpan": 4, "columnSpan": 12});
    let mut position = grid.clone();
    position["layoutMode"] = "GRID".into();
    w.client
        .execute(
            "UPDATE core.\"pageLayoutWidget\" SET \"gridPosition\" = $2, position = $3 WHERE id = $1",
            &[&id("dashboard/widget/pipeline"), &grid, &position],
        )
        .await
        .expect("move the widget");
    let (plan, without) = planned(&w, &t).await;
    let c = &plan.kinds["dashboards"];
    assert_eq!((c.created, c.updated, c.unchanged), (0, 1, dashboards - 1));
    assert_eq!(
        plan.requests - without.requests,
        2 + 1 + RECORD_PAGES_READ + AGENTS_AFTER_A_RUN,
        "readings, the tabs"
    );
    let moved = pipeline::migrate(&opts, &t).await.expect("rerun");
    assert_eq!(counts(moved), (0, 1, dashboards - 1), "the one dashboard");
    assert_eq!(cells(&widget("pipeline").grid_position), cells(&grid));

    // Another widget's configuration changed in the source.
    w.client
        .execute(
            "UPDATE core.\"pageLayoutWidget\" SET configuration = configuration || \
             '{\"aggregateOperation\": \"AVG\", \"label\": \"Average headcount\"}' WHERE id = $1",
            &[&id("dashboard/widget/headcount")],
        )
        .await
        .expect("change the configuration");
    let changed = pipeline::migrate(&opts, &t).await.expect("rerun");
    assert_eq!(counts(changed), (0, 1, dashboards - 1), "the one dashboard");
    let headcount = widget("headcount").configuration.0;
    assert_eq!(headcount["aggregateOperation"], "AVG");
    assert_eq!(headcount["label"], "Average headcount");
    assert!(
        headcount["filter"]["recordFilters"][0]["fieldMetadataId"].is_string(),
        "the rest as it was"
    );
    assert_eq!(cells(&widget("pipeline").grid_position), cells(&grid));

    // Nothing changed since: no write.
    let again = pipeline::migrate(&opts, &t).await.expect("third run");
    assert_eq!(counts(again), (0, 0, dashboards));
}

/// `plan`'s configuration table, as `plan` reads it (source and target, nothing sent), and the
/// same plan without the dashboards.
/// The record page layouts' reading, which `planned`'s "without" leaves out.
const RECORD_PAGES_READ: u64 = 1;
/// The fixture's company record page on a fresh target: its update sent twice, since it adds a
/// tab with an icon (the pet's waits for the data model sync to create the object).
const RECORD_PAGES_FRESH: u64 = 2;
/// The agents' reading and, on a fresh target, the fixture's two custom agents created.
const AGENTS_FRESH: u64 = 3;
/// The agents' reading and the churn watcher's create, which `plan` counts again after a run
/// (it cannot know that the target refuses its model).
const AGENTS_AFTER_A_RUN: u64 = 2;

async fn planned(
    w: &World,
    t: &twenty_migrate::destination::Target,
) -> (ConfigReport, ConfigReport) {
    let opts = w.options();
    let prepared = pipeline::prepare(&opts, t).await.expect("prepare");
    let report = pipeline::config::preview(&opts, &prepared, t)
        .await
        .expect("preview");
    let mut config = source_config(w).await;
    config.dashboards.clear();
    let have = t.configuration().await.expect("configuration");
    let members = prepared
        .plan
        .member_map(&opts.unmatched, &prepared.target_members);
    let (_, without) =
        pipeline::config::plan_actions(&config, &have, &prepared.target_read, &members);
    prepared.source.end_snapshot().await.expect("end");
    (report, without)
}

// `plan` used to leave the dashboards out of its configuration table and its requests.
#[tokio::test]
async fn plan_counts_the_dashboards_as_created_on_a_fresh_target_and_unchanged_after_a_migrate() {
    let w = world(60).await;
    let twin = twin(w.members(), 60).await;
    let t = target(&twin, 1_000_000);
    let config = source_config(&w).await;
    let n = config.dashboards.len();
    let with_icons = config
        .dashboards
        .iter()
        .filter(|d| {
            d.layout
                .as_ref()
                .is_some_and(|l| l.tabs.iter().any(|tab| tab.icon.is_some()))
        })
        .count();
    assert!(n >= 2 && with_icons >= 1, "the fixture's dashboards");

    let (fresh, without) = planned(&w, &t).await;
    let c = &fresh.kinds["dashboards"];
    assert_eq!((c.created, c.updated, c.unchanged), (n, 0, 0));
    assert!(fresh.render_text().contains("dashboards"));
    // The dashboards' two readings; per dashboard a layout created and its tabs sent (twice
    // where a new tab has an icon); one batch of records.
    assert_eq!(
        fresh.requests - without.requests,
        2 + 2 * n as u64
            + with_icons as u64
            + 1
            + RECORD_PAGES_READ
            + RECORD_PAGES_FRESH
            + AGENTS_FRESH
    );

    let migrated = pipeline::migrate(&w.options(), &t).await.expect("migrate");
    let sent = migrated.config.expect("configuration");
    assert_eq!(sent.kinds["dashboards"].created, n);

    let (after, without) = planned(&w, &t).await;
    let c = &after.kinds["dashboards"];
    assert_eq!((c.created, c.updated, c.unchanged), (0, 0, n));
    assert_eq!(
        after.requests - without.requests,
        2 + RECORD_PAGES_READ + AGENTS_AFTER_A_RUN,
        "the readings only"
    );
}

// A target that cannot answer a widget's configuration (here one stored with a type its union
// has no member for; on a real server also a missing non-null field, or a newer server without
// the deprecated `gridPosition`) fails the whole detailed reading: the dashboards still move,
// compared without those details, and the run says so.
#[tokio::test]
async fn dashboards_still_move_and_rerun_without_writes_when_the_target_cannot_answer_widget_configurations(
) {
    let w = world(60).await;
    let twin = twin(w.members(), 60).await;
    let t = target(&twin, 1_000_000);
    let n = source_config(&w).await.dashboards.len();
    let other = t
        .metadata_graphql(
            "mutation($i: CreatePageLayoutInput!) { createPageLayout(input: $i) { id } }",
            serde_json::json!({ "i": { "name": "Made on the target", "type": "DASHBOARD" } }),
        )
        .await
        .expect("createPageLayout")["createPageLayout"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let tab = Uuid::new_v4();
    t.metadata_graphql(
        "mutation($id: String!, $i: UpdatePageLayoutWithTabsInput!) { updatePageLayoutWithTabsAndWidgets(id: $id, input: $i) { id } }",
        serde_json::json!({ "id": other, "i": { "name": "Made on the target", "type": "DASHBOARD",
            "tabs": [{ "id": tab, "title": "T", "position": 0, "widgets": [{
                "id": Uuid::new_v4(), "pageLayoutTabId": tab, "title": "New kind", "type": "GRAPH",
                "gridPosition": {"row": 0, "column": 0, "rowSpan": 1, "columnSpan": 1},
                "configuration": {"configurationType": "A_LATER_CHART"} }] }] } }),
    )
    .await
    .expect("a widget the union cannot answer");

    let said = |report: &ConfigReport| {
        report
            .notes
            .iter()
            .any(|n| n.contains("did not answer its widgets' grid positions and configurations"))
    };
    let first = pipeline::migrate(&w.options(), &t).await.expect("migrate");
    let first = first.config.expect("configuration");
    assert!(said(&first), "{:#?}", first.notes);
    let c = &first.kinds["dashboards"];
    assert_eq!((c.created, c.updated, c.unchanged), (n, 0, 0));

    let again = pipeline::migrate(&w.options(), &t).await.expect("rerun");
    let again = again.config.expect("configuration");
    assert!(said(&again));
    let c = &again.kinds["dashboards"];
    assert_eq!((c.created, c.updated, c.unchanged), (0, 0, n));
    assert_eq!(twin.dashboard_layouts().len(), n + 1, "no layout doubled");
}

#[tokio::test]
async fn a_second_workspace_of_the_same_server_gets_the_configuration_without_colliding_with_the_first(
) {
    // A trial migration first, then the real one into another workspace of the same server:
    // 2.21 keeps views, roles, menu items, webhooks and tabs in `core` tables whose primary
    // key spans every workspace (rehearsal r19).
    let w = world(60).await;
    let first = twin(w.members(), 60).await;
    let report = pipeline::migrate(&w.options(), &target(&first, 1_000_000))
        .await
        .expect("first workspace");
    let first_counts = report.config.expect("configuration moved");
    assert!(
        others(&first_counts).is_empty(),
        "{:#?}",
        first_counts.notes
    );

    let second = twin(w.members(), 60).await;
    let held = first.configuration_ids();
    second.another_workspace_of_the_server(Uuid::new_v4(), held.iter().copied());
    let report = pipeline::migrate(&w.options(), &target(&second, 1_000_000))
        .await
        .expect("second workspace");
    // A create with an id the first workspace holds would be refused, and noted.
    let counts = report.config.expect("configuration moved");
    assert!(others(&counts).is_empty(), "{:#?}", counts.notes);
    for kind in ["views", "roles", "navigation", "webhooks", "dashboards"] {
        assert_eq!(
            counts.kinds.get(kind).map(|k| (k.created, k.updated)),
            first_counts.kinds.get(kind).map(|k| (k.created, k.updated)),
            "{kind}: as in the first workspace"
        );
    }
}

#[tokio::test]
async fn a_front_component_widget_is_left_out_with_a_runbook_step_and_the_rest_of_its_dashboard_moves(
) {
    // A widget of an application installed in the source: a real 2.21 fails the whole layout
    // on it (rehearsal r20, golden config-page-layout-front-component-widget-of-another-workspace).
    let w = world(60).await;
    let twin = twin(w.members(), 60).await;
    let t = target(&twin, 1_000_000);
    let id = |name: &str| config_id(w.spec.id, name);
    w.client
        .execute(
            "UPDATE core.\"pageLayoutWidget\" SET type = 'FRONT_COMPONENT', configuration = \
             '{\"configurationType\": \"FRONT_COMPONENT\", \"frontComponentId\": \"4b97f88e-e01d-50bb-931f-e05d7fdfc59f\"}' \
             WHERE id = $1",
            &[&id("dashboard/widget/pets")],
        )
        .await
        .expect("a front component widget");
    let dashboards = source_config(&w).await.dashboards.len();

    let report = pipeline::migrate(&w.options(), &t).await.expect("migrate");
    let c = report.config.expect("configuration");
    let notes = others(&c);
    assert_eq!(notes.len(), 1, "{:#?}", c.notes);
    assert!(
        notes[0].contains("front component 4b97f88e"),
        "{}",
        notes[0]
    );
    assert_eq!(c.kinds["dashboards"].created, dashboards);
    assert_eq!(c.kinds["dashboard_widgets"].runbook, 1);
    let landed: HashSet<Uuid> = twin
        .dashboard_layouts()
        .iter()
        .flat_map(|l| l.tabs.iter())
        .flat_map(|tab| tab.widgets.iter())
        .map(|wd| wd.id.0)
        .collect();
    for key in ["pipeline", "headcount"] {
        let widget = on_target(&twin, id(&format!("dashboard/widget/{key}")));
        assert!(landed.contains(&widget), "{key} moved beside it");
    }
    assert!(!landed.contains(&on_target(&twin, id("dashboard/widget/pets"))));
    let runbook = std::fs::read_to_string(w.options().runbook_dir().join("runbook.md")).unwrap();
    assert!(runbook.contains("Add the widget"), "{runbook}");

    let again = pipeline::migrate(&w.options(), &t).await.expect("rerun");
    let again = again.config.expect("configuration");
    let d = &again.kinds["dashboards"];
    assert_eq!((d.created, d.updated, d.unchanged), (0, 0, dashboards));
}
