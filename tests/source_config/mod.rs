//! The workspace configuration (issue 16) read back from the fixture: layout C in full, then
//! what layouts B (1.16) and A (0.43) still hold.

use serde_json::{json, Value};
use twenty_migrate::fixture::config::{config_id, GeneratedConfig};
use twenty_migrate::fixture::layouts::{downgrade, Downgrade};
use twenty_migrate::fixture::{self, generate::GenerateOptions, WorkspaceSpec};
use twenty_migrate::local_pg::{test_database, TestDatabase};
use twenty_migrate::model::config::{FieldRef, View, WorkspaceConfig};
use twenty_migrate::source::config::read_config;
use twenty_migrate::source::Source;
use uuid::Uuid;

struct Read {
    _db: TestDatabase,
    spec: WorkspaceSpec,
    generated: fixture::generate::Generated,
    config: WorkspaceConfig,
}

impl Read {
    fn gen(&self) -> &GeneratedConfig {
        &self.generated.config
    }
    fn id(&self, name: &str) -> Uuid {
        config_id(self.spec.id, name)
    }
    fn view(&self, key: &str) -> &View {
        let id = self.id(key);
        self.config
            .views
            .iter()
            .find(|v| v.id == id)
            .unwrap_or_else(|| panic!("view {key}"))
    }
}

/// Generates a workspace, takes it to `to`, and reads its configuration through the tool's
/// read-only session and snapshot.
async fn read(to: Option<Downgrade<'static>>) -> Read {
    read_with(to, "").await
}

/// As [`read`], with `sql` run on the source before the read.
async fn read_with(to: Option<Downgrade<'static>>, sql: &str) -> Read {
    let db = test_database().await.expect("database");
    let client = db.connect().await.expect("connect");
    let spec = WorkspaceSpec::sample(2);
    fixture::load_instance(&client).await.expect("instance");
    fixture::load_workspace(&client, &spec)
        .await
        .expect("workspace");
    let generated = fixture::generate::generate(
        &client,
        &spec,
        &GenerateOptions {
            seed: 7,
            records: 150,
            ..Default::default()
        },
    )
    .await
    .expect("generate");
    if let Some(to) = to {
        downgrade(&client, &spec, to, None)
            .await
            .expect("downgrade");
    }
    client.batch_execute(sql).await.expect("extra source rows");
    let source = Source::connect(&db.url).await.expect("source");
    source.begin_snapshot().await.expect("snapshot");
    let info = source.choose_workspace(None).await.expect("workspace");
    let config = read_config(source.client(), &info)
        .await
        .expect("read_config");
    source.end_snapshot().await.expect("end");
    Read {
        _db: db,
        spec,
        generated,
        config,
    }
}

fn counts(c: &WorkspaceConfig) -> [usize; 5] {
    c.views.iter().fold([0; 5], |mut n, v| {
        n[0] += v.fields.len();
        n[1] += v.filter_groups.len();
        n[2] += v.filters.len();
        n[3] += v.sorts.len();
        n[4] += v.groups.len();
        n
    })
}

#[tokio::test]
async fn layout_c_reads_back_as_many_of_each_kind_as_the_fixture_generated() {
    let r = read(None).await;
    let (c, g) = (&r.config, r.gen());
    assert_eq!(c.views.len(), g.views, "the soft-deleted view is left out");
    assert_eq!(
        counts(c),
        [
            g.view_fields,
            g.view_filter_groups,
            g.view_filters,
            g.view_sorts,
            g.view_groups
        ]
    );
    for (key, expected) in &g.per_view {
        let v = r.view(&format!("view/{key}"));
        let got = [
            v.fields.len(),
            v.filter_groups.len(),
            v.filters.len(),
            v.sorts.len(),
            v.groups.len(),
        ];
        assert_eq!(&got, expected, "{key}");
    }
    let objects: std::collections::BTreeSet<_> =
        c.views.iter().map(|v| v.object.as_str()).collect();
    assert_eq!(
        objects.into_iter().collect::<Vec<_>>(),
        ["company", "opportunity", "person", "pet"]
    );
    assert_eq!(c.roles.len(), g.roles);
    let n =
        |f: fn(&twenty_migrate::model::config::Role) -> usize| c.roles.iter().map(f).sum::<usize>();
    assert_eq!(n(|r| r.object_permissions.len()), g.object_permissions);
    assert_eq!(n(|r| r.field_permissions.len()), g.field_permissions);
    assert_eq!(n(|r| r.flags.len()), g.role_flags);
    let member_roles: std::collections::BTreeMap<_, _> = c
        .member_roles
        .iter()
        .map(|m| (m.email.clone(), m.role.clone()))
        .collect();
    assert_eq!(member_roles, g.member_roles);
    assert_eq!(member_roles.len(), r.generated.members.len());
    assert_eq!(c.webhooks.len(), g.webhooks);
    assert_eq!(c.api_keys.len(), g.api_keys);
    assert_eq!(c.navigation.len(), g.navigation);
    assert_eq!(
        c.navigation
            .iter()
            .filter(|n| n.owner_email.is_some())
            .count(),
        g.personal_navigation
    );
    assert_eq!(c.default_role.as_deref(), Some("Member"));
    let workflows = r.generated.objects["workflow"].live as usize;
    assert_eq!(c.workflows.len(), workflows);
    assert!(c.workflows.iter().all(|w| w.versions.len() == 2));
    assert!(c
        .workflows
        .iter()
        .all(|w| w.versions[1].trigger["type"] == "DATABASE_EVENT"));
    // One active, one deactivated (issue 16), with `statuses` as Twenty derives them.
    let states: Vec<(&str, &[String])> = c
        .workflows
        .iter()
        .take(2)
        .map(|w| (w.versions[1].status.as_str(), w.statuses.as_slice()))
        .collect();
    assert_eq!(
        states,
        [
            ("ACTIVE", &["ACTIVE".to_owned()][..]),
            ("DEACTIVATED", &["DEACTIVATED".to_owned()][..])
        ]
    );
    let dashboard = c
        .dashboards
        .iter()
        .find(|d| d.id == g.dashboard)
        .expect("the dashboard");
    let layout = dashboard.layout.as_ref().expect("its layout");
    assert_eq!(
        (layout.id, layout.kind.as_str()),
        (g.page_layout, "DASHBOARD")
    );
    assert_eq!(layout.tabs.len(), 1);
    assert_eq!(layout.tabs[0].widgets.len(), g.widgets);
}

#[tokio::test]
async fn layout_c_names_fields_resolves_members_and_keeps_filter_values_as_stored() {
    let r = read(None).await;
    let g = r.gen();

    // A group inside a group, filters in both; the parent comes first.
    let v = r.view("view/enterprise-prospects");
    let root = r.id("view/enterprise-prospects/group/root");
    let either = r.id("view/enterprise-prospects/group/either");
    let groups: Vec<_> = v
        .filter_groups
        .iter()
        .map(|g| (g.id, g.parent, g.logical_operator.as_str()))
        .collect();
    assert_eq!(
        groups,
        vec![(root, None, "AND"), (either, Some(root), "OR")]
    );
    let in_group = |g: Uuid| {
        v.filters
            .iter()
            .filter(|f| f.group == Some(g))
            .map(|f| f.field.as_str())
            .collect::<Vec<_>>()
    };
    assert_eq!(in_group(root), ["employees"]);
    assert_eq!(in_group(either), ["tier", "name"]);

    // The member picker's value stays the JSON string Twenty stored, member id inside.
    let my_deals = r.view("view/my-deals");
    let expected = json!({"isCurrentWorkspaceMemberSelected": false, "selectedRecordIds": [g.filtered_member]}).to_string();
    assert_eq!(my_deals.filters[0].field, "owner");
    assert_eq!(my_deals.filters[0].value, Value::String(expected));

    // A relation filter on a record id, a filter through the related object's field, a subfield.
    let acme = r.view("view/acme-people");
    let company = acme
        .filters
        .iter()
        .find(|f| f.operand == "IS")
        .expect("IS company");
    assert!(company
        .value
        .as_str()
        .unwrap()
        .contains(&g.filtered_company.to_string()));
    let through = acme
        .filters
        .iter()
        .find(|f| f.relation_target_field.is_some())
        .expect("through");
    assert_eq!(
        through.relation_target_field,
        Some(FieldRef {
            object: "company".into(),
            field: "name".into()
        })
    );
    assert!(acme
        .filters
        .iter()
        .any(|f| f.sub_field_name.as_deref() == Some("primaryEmail")));
    assert_eq!(
        r.view("view/big-deals")
            .filters
            .iter()
            .find(|f| f.field == "stage")
            .unwrap()
            .value,
        json!(["NEW", "MEETING"])
    );

    // The kanban: its field, aggregate and groups, hidden ones included.
    let kanban = r.view("view/opportunity-by-stage");
    assert!(kanban.is_standard);
    assert_eq!(kanban.main_group_by_field.as_deref(), Some("stage"));
    assert_eq!(kanban.kanban_aggregate_field.as_deref(), Some("amount"));
    let columns: Vec<_> = kanban
        .groups
        .iter()
        .map(|g| (g.field_value.as_str(), g.is_visible))
        .collect();
    assert_eq!(
        columns,
        [
            ("NEW", true),
            ("SCREENING", false),
            ("MEETING", true),
            ("PROPOSAL", true),
            ("CUSTOMER", false)
        ]
    );
    let pets = r.view("view/pets-by-species");
    assert_eq!(
        pets.groups
            .last()
            .map(|g| (g.field_value.as_str(), g.is_visible)),
        Some(("", false))
    );

    // The personal view names its owner by email; custom views are not standard.
    let mine = r.view("view/my-companies");
    assert_eq!(mine.visibility, "UNLISTED");
    assert_eq!(
        mine.owner_email,
        Some(r.generated.members[1].email.to_lowercase())
    );
    assert!(!mine.is_standard && !r.view("view/pet-index").is_standard);
    let sorts: Vec<_> = r
        .view("view/company-index")
        .sorts
        .iter()
        .map(|s| (s.field.as_str(), s.direction.as_str()))
        .collect();
    assert_eq!(sorts, [("employees", "DESC")]);
}

#[tokio::test]
async fn layout_c_applies_overrides_over_the_base_columns() {
    let r = read(None).await;
    let company = r.view("view/company-index");
    assert_eq!(company.name, "All the Companies");
    assert_eq!(company.icon, "IconBuildingSkyscraper");
    assert!(company.is_standard);
    let employees = company
        .fields
        .iter()
        .find(|f| f.field == "employees")
        .unwrap();
    assert_eq!((employees.is_visible, employees.size), (false, 99.0));
    assert_eq!(r.view("view/opportunity-index").position, 3.5);
    assert_eq!(r.view("view/person-index").name, "All {objectLabelPlural}");
    let layout = r
        .config
        .dashboards
        .iter()
        .find_map(|d| d.layout.as_ref())
        .unwrap();
    assert_eq!(layout.tabs[0].title, "Overview");
    // Widget configurations name their fields.
    let pipeline = &layout.tabs[0]
        .widgets
        .iter()
        .find(|w| w.title == "Pipeline by stage")
        .unwrap();
    assert_eq!(
        pipeline.configuration["aggregateFieldMetadataId"],
        json!({"object": "opportunity", "field": "amount"})
    );
    assert_eq!(
        pipeline.configuration["primaryAxisGroupByFieldMetadataId"],
        json!({"object": "opportunity", "field": "stage"})
    );
    let headcount = &layout.tabs[0]
        .widgets
        .iter()
        .find(|w| w.title == "Total headcount")
        .unwrap();
    assert_eq!(
        headcount.configuration["filter"]["recordFilters"][0]["fieldMetadataId"],
        json!({"object": "company", "field": "tier"})
    );
}

#[tokio::test]
async fn layout_c_roles_keys_webhooks_and_navigation_are_named_not_numbered() {
    let r = read(None).await;
    let c = &r.config;
    let labels: Vec<_> = c.roles.iter().map(|r| r.label.as_str()).collect();
    assert_eq!(labels, ["Admin", "Member", "Sales"]);
    let admin = &c.roles[0];
    assert!(admin.is_standard && !admin.is_editable);
    assert_eq!(admin.switches.len(), 9);
    let sales = &c.roles[2];
    assert!(!sales.is_standard);
    assert_eq!(sales.flags, ["EXPORT_CSV", "VIEWS", "WORKFLOWS"]);
    let pet = sales
        .object_permissions
        .iter()
        .find(|p| p.object == "pet")
        .unwrap();
    assert_eq!(pet.can_read, Some(false));
    let company = sales
        .object_permissions
        .iter()
        .find(|p| p.object == "company")
        .unwrap();
    assert_eq!(
        (company.can_update, company.can_destroy),
        (Some(true), None)
    );
    assert_eq!(
        sales.field_permissions[0].field,
        FieldRef {
            object: "company".into(),
            field: "annualRecurringRevenue".into()
        }
    );
    let keys: Vec<_> = c
        .api_keys
        .iter()
        .map(|k| (k.name.as_str(), k.role.as_deref(), k.revoked_at.is_some()))
        .collect();
    assert_eq!(
        keys,
        [
            ("Nightly backup", Some("Admin"), true),
            ("Zapier", Some("Sales"), false)
        ]
    );
    let hook = c.webhooks.iter().find(|w| w.operations.len() == 2).unwrap();
    assert_eq!(hook.operations, ["company.created", "person.updated"]);
    assert!(hook.secret.starts_with("whsec_"));
    let nav = |key: &str| {
        c.navigation
            .iter()
            .find(|n| n.id == r.id(&format!("nav/{key}")))
            .unwrap()
    };
    assert_eq!(nav("my-deals").folder, Some(r.id("nav/sales")));
    assert_eq!(nav("my-deals").view, Some(r.id("view/my-deals")));
    assert_eq!(
        nav("opportunities").target_object.as_deref(),
        Some("opportunity")
    );
    assert_eq!(
        nav("top-company").target_record,
        Some(r.gen().filtered_company)
    );
    assert_eq!(nav("docs").link.as_deref(), Some("https://docs.twenty.com"));
    assert_eq!(
        nav("mine").owner_email,
        Some(r.generated.members[1].email.to_lowercase())
    );
    assert!(c.navigation[0].owner_email.is_none() && c.navigation[0].kind == "FOLDER");
}

#[tokio::test]
async fn layout_b_yields_core_views_with_edits_in_their_columns_roles_flags_and_favorites_as_navigation(
) {
    let r = read(Some(Downgrade::B)).await;
    let (c, g) = (&r.config, r.gen());
    assert_eq!(c.views.len(), g.views);
    let expected = [
        g.view_fields,
        g.view_filter_groups,
        g.view_filters,
        g.view_sorts,
        g.view_groups,
    ];
    assert_eq!(counts(c), expected, "every child row is still there");
    // Edits of standard views are in their columns before 2.12.
    assert_eq!(r.view("view/company-index").name, "All the Companies");
    assert!(r.view("view/company-index").is_standard);
    let through = r
        .view("view/acme-people")
        .filters
        .iter()
        .filter(|f| f.relation_target_field.is_some())
        .count();
    assert_eq!(through, 0, "relationTargetFieldMetadataId came with 2.6");
    assert_eq!(
        r.view("view/opportunity-by-stage")
            .main_group_by_field
            .as_deref(),
        Some("stage")
    );
    // Flags from the 1.x permissionFlag(roleId, flag) links.
    let sales = c.roles.iter().find(|r| r.label == "Sales").unwrap();
    assert_eq!(sales.flags, ["EXPORT_CSV", "VIEWS", "WORKFLOWS"]);
    assert_eq!(sales.object_permissions.len(), 3);
    assert_eq!(c.member_roles.len(), r.generated.members.len());
    assert_eq!(
        (c.webhooks.len(), c.api_keys.len()),
        (g.webhooks, g.api_keys)
    );
    // Favorites, not navigation items, before 1.17.
    assert_favorites(&r);
    let layout = c.dashboards.iter().find_map(|d| d.layout.as_ref()).unwrap();
    assert_eq!(layout.tabs[0].title, "Overview");
    assert_eq!(layout.tabs[0].widgets.len(), g.widgets);
}

#[tokio::test]
async fn layout_a_yields_workspace_views_converted_workspace_webhooks_keys_and_favorites_but_no_roles(
) {
    let r = read(Some(Downgrade::A)).await;
    let (c, g) = (&r.config, r.gen());
    assert_eq!(c.views.len(), g.views);
    assert_eq!(
        counts(c),
        [
            g.view_fields,
            g.view_filter_groups,
            g.view_filters,
            g.view_sorts,
            g.view_groups
        ]
    );
    let company = r.view("view/company-index");
    assert_eq!(
        (company.name.as_str(), company.kind.as_str()),
        ("All the Companies", "TABLE")
    );
    assert_eq!(r.view("view/person-index").name, "All People");
    assert!(!company.is_standard, "no applications before 1.11");
    // Grouping field from viewGroup.fieldMetadataId, operands and directions converted back.
    let kanban = r.view("view/opportunity-by-stage");
    assert_eq!(
        (kanban.kind.as_str(), kanban.main_group_by_field.as_deref()),
        ("KANBAN", Some("stage"))
    );
    assert_eq!(kanban.groups.len(), 5);
    let prospects = r.view("view/enterprise-prospects");
    let employees = prospects
        .filters
        .iter()
        .find(|f| f.field == "employees")
        .unwrap();
    assert_eq!(employees.operand, "GREATER_THAN_OR_EQUAL");
    assert_eq!(
        prospects.filter_groups[1].parent,
        Some(prospects.filter_groups[0].id)
    );
    assert_eq!(r.view("view/big-deals").sorts[0].direction, "DESC");
    // A text value parsed as 1.5 parses it: the member filter becomes an object.
    let member = &r.view("view/my-deals").filters[0].value;
    assert_eq!(
        member["selectedRecordIds"][0],
        json!(g.filtered_member.to_string())
    );
    assert_eq!(r.view("view/dogs").filters[0].value, json!(["DOG"]));
    assert!(c.roles.is_empty() && c.member_roles.is_empty() && c.default_role.is_none());
    assert_eq!(
        (c.webhooks.len(), c.api_keys.len()),
        (g.webhooks, g.api_keys)
    );
    assert!(c.api_keys.iter().all(|k| k.role.is_none()));
    assert_favorites(&r);
    assert!(
        c.dashboards.iter().all(|d| d.layout.is_none()),
        "page layouts came with 1.4"
    );
    assert_eq!(
        c.workflows.len(),
        r.generated.objects["workflow"].live as usize
    );
}

/// Before 1.17 the navigation is the favorites: every live favorite folder a workspace-level
/// FOLDER, every live favorite a member's RECORD item on its target.
fn assert_favorites(r: &Read) {
    let nav = &r.config.navigation;
    let folders = nav.iter().filter(|n| n.kind == "FOLDER").count() as u64;
    assert_eq!(folders, r.generated.objects["favoriteFolder"].live);
    let records: Vec<_> = nav.iter().filter(|n| n.kind == "RECORD").collect();
    assert_eq!(records.len() as u64, r.generated.objects["favorite"].live);
    assert!(records.iter().all(|n| n.owner_email.is_some()
        && n.target_object.is_some()
        && n.target_record.is_some()));
    let objects: std::collections::BTreeSet<_> = records
        .iter()
        .filter_map(|n| n.target_object.as_deref())
        .collect();
    assert!(
        objects.contains("person") && objects.contains("pet"),
        "{objects:?}"
    );
    assert!(records.iter().any(|n| n.folder.is_some()));
}

/// 2.21's tables the fixture's core schema leaves out, in the columns the reader uses (shape of
/// a real 2.21's `core` schema), with rows the workspace made. (The fixture's own row-level
/// permissions: three live predicates of Sales on company.)
const NOT_MOVED_SQL: &str = r#"
-- A custom agent the workspace deleted: not read.
INSERT INTO core.agent (name, label, prompt, "isCustom", "workspaceId", "universalIdentifier", "applicationId", "deletedAt")
  SELECT 'oldHelper', 'Old helper', 'x', true, id, public.uuid_generate_v4(), "workspaceCustomApplicationId", now() FROM core.workspace;
INSERT INTO core."pageLayout" (name, "workspaceId", type, "objectMetadataId", "universalIdentifier", "applicationId")
  SELECT 'Company page', w.id, 'RECORD_PAGE', o.id, public.uuid_generate_v4(), w."workspaceCustomApplicationId"
  FROM core.workspace w JOIN core."objectMetadata" o ON o."workspaceId" = w.id AND o."nameSingular" = 'company';
-- What a real 2.21 makes for a custom object by itself: not the workspace's doing.
INSERT INTO core."pageLayout" (name, "workspaceId", type, "objectMetadataId", "universalIdentifier", "applicationId", "isSystemSideEffect")
  SELECT 'Default Pet Layout', w.id, 'RECORD_PAGE', o.id, public.uuid_generate_v4(), w."workspaceCustomApplicationId", true
  FROM core.workspace w JOIN core."objectMetadata" o ON o."workspaceId" = w.id AND o."nameSingular" = 'pet';
"#;

#[tokio::test]
async fn layout_c_lists_row_level_permissions_it_does_not_move_reads_the_live_custom_agents_with_their_role_and_the_record_pages_the_workspace_changed(
) {
    use twenty_migrate::model::config::NotMoved;
    use twenty_migrate::pipeline::config::runbook::Runbook;

    let r = read_with(None, NOT_MOVED_SQL).await;
    let not_moved = &r.config.not_moved;
    assert!(
        not_moved.contains(&NotMoved::RowLevelPermissions {
            role: "Sales".into(),
            object: "company".into(),
            predicates: 3
        }),
        "{not_moved:#?}"
    );
    assert_eq!(not_moved.len(), 1, "{not_moved:#?}");
    // The live custom agents, by name: not the standard helper, not the deleted one.
    let agents: Vec<&str> = r.config.agents.iter().map(|a| a.name.as_str()).collect();
    assert_eq!(agents, ["churnWatcher", "dealHelper"]);
    let deal = &r.config.agents[1];
    assert_eq!(
        deal.id,
        twenty_migrate::fixture::config::config_id(r.spec.id, "agent/deal-helper")
    );
    assert_eq!(
        (
            deal.label.as_str(),
            deal.icon.as_deref(),
            deal.model_id.as_str(),
            deal.role.as_deref()
        ),
        (
            "Deal helper",
            Some("IconRobot"),
            "default-smart-model",
            Some("Sales")
        )
    );
    assert_eq!(deal.response_format["type"], "json");
    assert_eq!(
        deal.model_configuration,
        serde_json::json!({"webSearch": {"enabled": false}})
    );
    assert_eq!(deal.evaluation_inputs, ["Summarise the deals of Acme"]);
    let churn = &r.config.agents[0];
    assert_eq!(
        churn.model_id,
        twenty_migrate::fixture::config_agents::PROVIDER_MODEL
    );
    assert_eq!(
        (churn.role.as_deref(), &churn.model_configuration),
        (None, &serde_json::Value::Null)
    );
    // The layout the workspace made, and the fixture's two edited ones; not the server's own
    // untouched "Default Pet Layout" this SQL adds beside the fixture's.
    let pages: Vec<(&str, Option<&str>)> = r
        .config
        .record_pages
        .iter()
        .map(|p| (p.name.as_str(), p.object.as_deref()))
        .collect();
    assert_eq!(
        pages,
        [
            ("Company page", Some("company")),
            ("Default Company Layout", Some("company")),
            ("Default Pet Layout", Some("pet")),
        ],
        "{pages:#?}"
    );

    let md = Runbook::build(&r.config).to_markdown();
    assert!(
        md.contains("## Not moved by this version of the tool: redo by hand"),
        "{md}"
    );
    assert!(
        md.contains("row-level permissions on company (3 predicates)"),
        "{md}"
    );
    assert!(
        !md.contains("AI agent"),
        "agents are moved, not in the runbook: {md}"
    );
}

#[tokio::test]
async fn layout_c_reads_record_page_sections_with_overrides_over_the_stored_values() {
    let r = read(None).await;
    let company = r.view("view/company-record-page");
    assert_eq!(company.kind, "FIELDS_WIDGET");
    assert!(company.is_standard && company.system_side_effect);
    let sections: Vec<(&str, Option<&str>)> = company
        .field_groups
        .iter()
        .map(|g| (g.name.as_str(), g.standard_name.as_deref()))
        .collect();
    assert_eq!(
        sections,
        [
            ("Overview", Some("General")),
            ("System", Some("System")),
            ("Sales", None)
        ],
        "by position; a renamed standard section keeps its standard name"
    );
    let section_of = |field: &str| {
        let f = company.fields.iter().find(|f| f.field == field).unwrap();
        let g = f.group.expect("in a section");
        company
            .field_groups
            .iter()
            .find(|s| s.id == g)
            .unwrap()
            .name
            .clone()
    };
    assert_eq!(section_of("name"), "Overview");
    assert_eq!(section_of("employees"), "Sales", "moved by its override");
    assert_eq!(section_of("tier"), "Sales");
    let pet = r.view("view/pet-record-page");
    assert!(!pet.is_standard && pet.system_side_effect);
    assert_eq!(pet.field_groups.len(), 1);
    assert!(pet
        .fields
        .iter()
        .any(|f| f.field == "rating" && f.group.is_none()));
    assert_eq!(
        r.config
            .views
            .iter()
            .map(|v| v.field_groups.len())
            .sum::<usize>(),
        r.gen().view_field_sections
    );
}
