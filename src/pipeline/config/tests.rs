//! The configuration diff, on hand-made source and target states: what is matched, what is
//! created, and what is never sent.

use serde_json::{json, Value};
use uuid::Uuid;

use super::{plan_actions, Action};
use crate::destination::{
    TargetConfiguration, TargetField, TargetModel, TargetNavigationItem, TargetObject, TargetRole,
    TargetView, TargetViewField, TargetViewFieldGroup, TargetViewGroup, TargetWebhook,
};
use crate::model::config::{
    MemberRole, NavigationItem, ObjectPermission, Role, View, ViewField, ViewFieldGroup,
    ViewFilter, ViewGroup, Webhook, WorkspaceConfig,
};
use crate::transform::{MemberMap, MemberTarget};

fn id(n: u128) -> Uuid {
    // Version 4, RFC variant: kept as is by `target_id`.
    Uuid::from_u128(0x0000_0000_0000_4000_8000_0000_0000_0000 | n)
}

fn field(id: Uuid, name: &str, kind: &str, relation_to: Option<&str>) -> TargetField {
    let mut f: TargetField = serde_json::from_value(json!({
        "id": id, "name": name, "type": kind, "isActive": true,
    }))
    .unwrap();
    f.relation = relation_to.map(|t| {
        serde_json::from_value(json!({
            "type": "MANY_TO_ONE", "targetObjectMetadata": { "nameSingular": t }
        }))
        .unwrap()
    });
    f
}

fn object(id: Uuid, name: &str, plural: &str, fields: Vec<TargetField>) -> TargetObject {
    let mut o: TargetObject = serde_json::from_value(json!({
        "id": id, "nameSingular": name, "namePlural": plural, "isActive": true,
    }))
    .unwrap();
    o.fields = fields;
    o
}

const OPPORTUNITY: u128 = 0x100;
const STAGE: u128 = 0x101;
const NAME: u128 = 0x102;
const COMPANY_FIELD: u128 = 0x103;
const TASK: u128 = 0x200;
const ASSIGNEE: u128 = 0x201;

fn model() -> TargetModel {
    TargetModel {
        objects: vec![
            object(
                id(OPPORTUNITY),
                "opportunity",
                "opportunities",
                vec![
                    field(id(STAGE), "stage", "SELECT", None),
                    field(id(NAME), "name", "TEXT", None),
                    field(id(COMPANY_FIELD), "company", "RELATION", Some("company")),
                ],
            ),
            object(
                id(TASK),
                "task",
                "tasks",
                vec![field(
                    id(ASSIGNEE),
                    "assignee",
                    "RELATION",
                    Some("workspaceMember"),
                )],
            ),
        ],
    }
}

fn view(n: u128, object: &str, name: &str, kind: &str) -> View {
    View {
        id: id(n),
        name: name.into(),
        object: object.into(),
        kind: kind.into(),
        key: None,
        icon: "IconList".into(),
        position: 0.0,
        is_compact: false,
        open_record_in: Some("SIDE_PANEL".into()),
        kanban_aggregate_operation: None,
        kanban_aggregate_field: None,
        calendar_layout: None,
        calendar_field: None,
        main_group_by_field: None,
        should_hide_empty_groups: false,
        any_field_filter_value: None,
        visibility: "WORKSPACE".into(),
        owner_email: None,
        is_standard: false,
        standard_name: None,
        system_side_effect: false,
        fields: Vec::new(),
        filter_groups: Vec::new(),
        filters: Vec::new(),
        sorts: Vec::new(),
        groups: Vec::new(),
        field_groups: Vec::new(),
    }
}

fn target_view(source: &View, view_id: Uuid, object_id: Uuid) -> TargetView {
    TargetView {
        name: source.name.clone(),
        kind: source.kind.clone(),
        key: source.key.clone(),
        icon: source.icon.clone(),
        position: source.position,
        open_record_in: Some("SIDE_PANEL".into()),
        visibility: Some("WORKSPACE".into()),
        ..TargetView::empty(view_id, object_id)
    }
}

fn members() -> MemberMap {
    let mut map = MemberMap::default();
    map.members
        .insert(id(0x900), MemberTarget::Member(id(0x990)));
    map.members.insert(id(0x901), MemberTarget::Unmatched);
    map
}

#[test]
fn a_kanban_matched_by_name_updates_the_targets_own_groups_instead_of_adding_more() {
    let mut source = view(1, "opportunity", "By Stage", "KANBAN");
    source.is_standard = true;
    source.main_group_by_field = Some("stage".into());
    source.groups = vec![
        ViewGroup {
            id: id(11),
            field_value: "NEW".into(),
            is_visible: false,
            position: 0.0,
        },
        ViewGroup {
            id: id(12),
            field_value: "WON".into(),
            is_visible: true,
            position: 1.0,
        },
    ];
    let mut existing = target_view(&source, id(0x500), id(OPPORTUNITY));
    existing.main_group_by_field_metadata_id = Some(id(STAGE));
    existing.view_groups = vec![TargetViewGroup {
        id: id(0x501),
        view_id: None,
        field_value: "NEW".into(),
        is_visible: true,
        position: 0.0,
    }];
    let config = WorkspaceConfig {
        views: vec![source],
        ..WorkspaceConfig::default()
    };
    let target = TargetConfiguration {
        views: vec![existing],
        ..TargetConfiguration::default()
    };
    let (actions, report) = plan_actions(&config, &target, &model(), &members());

    assert!(!actions.iter().any(|a| matches!(a, Action::CreateView(_))));
    assert!(actions.contains(&Action::UpdateGroup(
        id(0x501),
        json!({ "isVisible": false })
    )));
    let created: Vec<&str> = actions
        .iter()
        .filter_map(|a| match a {
            Action::CreateGroups(g) => Some(g.iter().map(|g| g.field_value.as_str())),
            _ => None,
        })
        .flatten()
        .collect();
    assert_eq!(created, ["WON"]);
    assert_eq!(report.kinds["views"].updated, 1);
}

#[test]
fn a_member_filter_names_the_target_member_and_drops_an_unmatched_one_with_a_note() {
    let mut source = view(2, "task", "Mine", "TABLE");
    let stored = json!({
        "isCurrentWorkspaceMemberSelected": false,
        "selectedRecordIds": [id(0x900), id(0x901)],
    })
    .to_string();
    source.filters = vec![ViewFilter {
        id: id(21),
        field: "assignee".into(),
        operand: "IS".into(),
        value: Value::String(stored),
        group: None,
        position_in_group: None,
        sub_field_name: None,
        relation_target_field: None,
    }];
    let config = WorkspaceConfig {
        views: vec![source],
        ..WorkspaceConfig::default()
    };
    let (actions, report) = plan_actions(
        &config,
        &TargetConfiguration::default(),
        &model(),
        &members(),
    );

    let filter = actions
        .iter()
        .find_map(|a| match a {
            Action::CreateFilter(f) => Some(f),
            _ => None,
        })
        .expect("the filter is created");
    // Kept as a JSON text, as the source stored it.
    let text = filter.value.as_str().expect("still a JSON text");
    let value: Value = serde_json::from_str(text).unwrap();
    assert_eq!(value["selectedRecordIds"], json!([id(0x990)]));
    assert!(report
        .notes
        .iter()
        .any(|n| n.contains(&id(0x901).to_string())));
    assert_eq!(report.kinds["views"].created, 1);
}

#[test]
fn the_admin_role_is_matched_and_never_written_and_a_new_role_gets_its_permissions_whole() {
    let admin = Role {
        id: id(31),
        label: "Admin".into(),
        description: None,
        icon: None,
        is_editable: false,
        is_standard: true,
        switches: vec![("canUpdateAllSettings".into(), true)],
        object_permissions: Vec::new(),
        field_permissions: Vec::new(),
        flags: Vec::new(),
    };
    let sales = Role {
        id: id(32),
        label: "Sales".into(),
        is_editable: true,
        is_standard: false,
        object_permissions: vec![ObjectPermission {
            object: "opportunity".into(),
            can_read: Some(true),
            can_update: Some(false),
            can_soft_delete: None,
            can_destroy: None,
        }],
        flags: vec!["VIEWS".into(), "EXPORT_CSV".into()],
        ..admin.clone()
    };
    let target_admin: TargetRole = serde_json::from_value(json!({
        "id": id(0x600), "label": "Admin", "isEditable": false, "canUpdateAllSettings": false,
    }))
    .unwrap();
    let config = WorkspaceConfig {
        roles: vec![admin, sales],
        member_roles: vec![MemberRole {
            email: "ann@example.com".into(),
            role: "Sales".into(),
        }],
        ..WorkspaceConfig::default()
    };
    let target = TargetConfiguration {
        roles: vec![target_admin],
        ..TargetConfiguration::default()
    };
    let (actions, report) = plan_actions(&config, &target, &model(), &members());

    assert!(!actions.iter().any(|a| match a {
        Action::UpdateRole(r, _) | Action::SetFlags(r, _) | Action::SetObjectPermissions(r, _) =>
            *r == id(0x600),
        _ => false,
    }));
    assert!(actions
        .iter()
        .any(|a| matches!(a, Action::CreateRole(r) if r["id"] == json!(id(32).to_string()))));
    assert!(actions.contains(&Action::SetFlags(
        id(32),
        vec!["EXPORT_CSV".into(), "VIEWS".into()]
    )));
    assert!(actions.iter().any(|a| matches!(a,
        Action::SetObjectPermissions(r, p) if *r == id(32) && p.len() == 1
            && p[0].object_metadata_id == id(OPPORTUNITY))));
    assert_eq!(report.kinds["roles"].created, 1);
    assert_eq!(report.kinds["roles"].unchanged, 1);
    assert_eq!(report.kinds["members"].runbook, 1);
}

#[test]
fn a_webhook_already_there_by_url_is_updated_not_doubled_and_nothing_is_sent_when_equal() {
    let hook = Webhook {
        id: id(41),
        target_url: "https://hooks.example.com/crm".into(),
        operations: vec!["company.created".into(), "*.updated".into()],
        description: Some("CRM feed".into()),
        secret: "s3cret".into(),
    };
    let mut there = TargetWebhook {
        id: id(0x700),
        target_url: hook.target_url.clone(),
        operations: vec!["*.updated".into(), "company.created".into()],
        description: Some("CRM feed".into()),
        secret: "s3cret".into(),
    };
    let config = WorkspaceConfig {
        webhooks: vec![hook],
        ..WorkspaceConfig::default()
    };
    let mut target = TargetConfiguration {
        webhooks: vec![there.clone()],
        ..TargetConfiguration::default()
    };
    let (actions, _) = plan_actions(&config, &target, &model(), &members());
    assert!(actions.is_empty(), "{actions:?}");

    there.secret = "other".into();
    target.webhooks = vec![there];
    let (actions, report) = plan_actions(&config, &target, &model(), &members());
    assert!(matches!(&actions[..], [Action::UpdateWebhook(w)] if w.id == id(0x700)));
    assert_eq!(report.kinds["webhooks"].updated, 1);
}

#[test]
fn navigation_items_go_into_their_folder_and_the_targets_own_object_item_is_reused() {
    let folder = NavigationItem {
        id: id(51),
        owner_email: None,
        kind: "FOLDER".into(),
        target_record: None,
        target_object: None,
        view: None,
        folder: None,
        name: Some("Sales".into()),
        link: None,
        icon: None,
        color: None,
        position: 0.0,
    };
    let object_item = NavigationItem {
        id: id(52),
        kind: "OBJECT".into(),
        target_object: Some("opportunity".into()),
        folder: Some(id(51)),
        name: None,
        position: 1.0,
        ..folder.clone()
    };
    let link = NavigationItem {
        id: id(53),
        kind: "LINK".into(),
        link: Some("https://example.com".into()),
        folder: Some(id(51)),
        name: Some("Site".into()),
        position: 2.0,
        ..folder.clone()
    };
    let personal = NavigationItem {
        id: id(54),
        owner_email: Some("ann@example.com".into()),
        kind: "RECORD".into(),
        ..link.clone()
    };
    let existing = TargetNavigationItem {
        id: id(0x800),
        kind: "OBJECT".into(),
        target_record_id: None,
        target_object_metadata_id: Some(id(OPPORTUNITY)),
        view_id: None,
        folder_id: None,
        name: None,
        link: None,
        icon: None,
        color: None,
        position: 3.0,
    };
    let config = WorkspaceConfig {
        navigation: vec![link, object_item, folder, personal],
        ..WorkspaceConfig::default()
    };
    let target = TargetConfiguration {
        navigation: vec![existing],
        ..TargetConfiguration::default()
    };
    let (actions, report) = plan_actions(&config, &target, &model(), &members());

    let created = actions
        .iter()
        .find_map(|a| match a {
            Action::CreateNavigation(items) => Some(items),
            _ => None,
        })
        .expect("folder and link created");
    let ids: Vec<Uuid> = created.iter().map(|i| i.id).collect();
    assert_eq!(ids, [id(51), id(53)], "folder first, no personal item");
    assert_eq!(created[1].folder_id, Some(id(51)));
    assert!(actions.contains(&Action::UpdateNavigation(
        id(0x800),
        json!({ "folderId": id(51), "position": 1.0 })
    )));
    assert_eq!(report.kinds["navigation"].created, 2);
    assert_eq!(report.kinds["navigation"].updated, 1);
    assert_eq!(report.kinds["navigation"].runbook, 1);
}

#[test]
fn a_dashboard_widget_names_the_targets_fields_and_views_and_one_naming_a_missing_field_is_left_out(
) {
    use crate::model::config::{Dashboard, PageLayout, PageLayoutTab, PageLayoutWidget};
    let model = model();
    let members = members();
    let names = super::Names::new(&model, &members);
    let views: super::ViewIds = [(id(0x900), id(0x901))].into_iter().collect();
    let widget = |n: u128, configuration: Value| PageLayoutWidget {
        id: id(n),
        title: format!("w{n}"),
        kind: "GRAPH".into(),
        object: Some("opportunity".into()),
        grid_position: json!({"row": 0, "column": 0, "rowSpan": 1, "columnSpan": 1}),
        position: None,
        configuration,
        part: Default::default(),
    };
    let layout = PageLayout {
        id: id(0x800),
        name: "KPIs".into(),
        kind: "DASHBOARD".into(),
        object: None,
        is_standard: false,
        universal_identifier: None,
        side_effect: false,
        tabs: vec![PageLayoutTab {
            part: Default::default(),
            id: id(0x801),
            title: "Tab 1".into(),
            position: 0.0,
            icon: None,
            layout_mode: Some("GRID".into()),
            widgets: vec![
                widget(
                    0x802,
                    json!({"configurationType": "BAR_CHART",
                           "primaryAxisGroupByFieldMetadataId": {"object": "opportunity", "field": "stage"},
                           "filter": {"recordFilters": [{"fieldMetadataId": {"object": "opportunity", "field": "name"}}]},
                           "viewId": id(0x900).to_string()}),
                ),
                widget(
                    0x803,
                    json!({"configurationType": "AGGREGATE_CHART",
                           "aggregateFieldMetadataId": {"object": "opportunity", "field": "amount"}}),
                ),
            ],
        }],
    };
    let dashboard = Dashboard {
        id: id(0x7ff),
        title: Some("KPIs".into()),
        position: 0.0,
        layout: Some(layout.clone()),
    };
    let mut report = super::ConfigReport::default();
    let tabs = super::dashboards::desired_tabs(&dashboard, &layout, &names, &views, &mut report);
    let widgets = tabs[0]["widgets"].as_array().unwrap();
    assert_eq!(
        widgets.len(),
        1,
        "the widget naming a missing field is left out"
    );
    let c = &widgets[0]["configuration"];
    assert_eq!(c["primaryAxisGroupByFieldMetadataId"], json!(id(STAGE)));
    assert_eq!(
        c["filter"]["recordFilters"][0]["fieldMetadataId"],
        json!(id(NAME))
    );
    assert_eq!(c["viewId"], json!(id(0x901)));
    assert_eq!(widgets[0]["objectMetadataId"], json!(id(OPPORTUNITY)));
    assert_eq!(widgets[0]["id"], json!(id(0x802)));
    assert_eq!(report.notes.len(), 1);
    assert!(
        report.notes[0].contains("opportunity.amount"),
        "{:?}",
        report.notes
    );
}

#[test]
fn a_filter_value_entry_that_is_not_an_id_is_kept_not_dropped() {
    let mut source = view(3, "opportunity", "Odd", "TABLE");
    source.filters = vec![ViewFilter {
        id: id(31),
        field: "company".into(),
        operand: "IS".into(),
        value: json!({ "selectedRecordIds": ["not-an-id", id(0x77)] }),
        group: None,
        position_in_group: None,
        sub_field_name: None,
        relation_target_field: None,
    }];
    let config = WorkspaceConfig {
        views: vec![source],
        ..WorkspaceConfig::default()
    };
    let (actions, _) = plan_actions(
        &config,
        &TargetConfiguration::default(),
        &model(),
        &members(),
    );
    let filter = actions
        .iter()
        .find_map(|a| match a {
            Action::CreateFilter(f) => Some(f),
            _ => None,
        })
        .expect("the filter is created");
    assert_eq!(
        filter.value["selectedRecordIds"],
        json!(["not-an-id", id(0x77)])
    );
}

#[test]
fn a_standard_view_renamed_in_the_source_updates_the_targets_copy_instead_of_adding_one() {
    let mut source = view(1, "opportunity", "By Stage", "KANBAN");
    source.is_standard = true;
    let existing = target_view(&source, id(0x500), id(OPPORTUNITY));
    // The workspace renamed it: `overrides.name` over the standard name.
    source.standard_name = Some("By Stage".into());
    source.name = "Pipeline".into();
    let config = WorkspaceConfig {
        views: vec![source],
        ..WorkspaceConfig::default()
    };
    let target = TargetConfiguration {
        views: vec![existing],
        ..TargetConfiguration::default()
    };
    let (actions, _) = plan_actions(&config, &target, &model(), &members());

    assert!(!actions.iter().any(|a| matches!(a, Action::CreateView(_))));
    assert!(actions.contains(&Action::UpdateView(
        id(0x500),
        json!({ "name": "Pipeline" })
    )));
}

fn record_page_field(n: u128, field: &str, group: Option<Uuid>) -> ViewField {
    ViewField {
        id: id(n),
        field: field.into(),
        is_visible: true,
        size: 0.0,
        position: n as f64,
        aggregate_operation: None,
        group,
    }
}

fn placed(n: u128, field: u128, section: u128) -> TargetViewField {
    TargetViewField {
        id: id(n),
        view_id: None,
        field_metadata_id: id(field),
        is_visible: true,
        size: 0.0,
        position: n as f64,
        aggregate_operation: None,
        view_field_group_id: Some(id(section)),
    }
}

#[test]
fn record_page_sections_match_by_standard_name_and_are_created_before_the_fields_moved_into_them() {
    // A server-made record page (standard): the workspace renamed "General" to "Overview",
    // added "Deal" and moved `stage` into it; "System" is gone from the source.
    let mut source = view(
        2,
        "opportunity",
        "Opportunity Record Page Fields",
        "FIELDS_WIDGET",
    );
    source.is_standard = true;
    source.system_side_effect = true;
    source.field_groups = vec![
        ViewFieldGroup {
            id: id(21),
            name: "Overview".into(),
            standard_name: Some("General".into()),
            position: 0.0,
            is_visible: true,
        },
        ViewFieldGroup {
            id: id(22),
            name: "Deal".into(),
            standard_name: None,
            position: 1.0,
            is_visible: true,
        },
    ];
    source.fields = vec![
        record_page_field(1, "name", Some(id(21))),
        record_page_field(2, "stage", Some(id(22))),
    ];
    let mut existing = target_view(&source, id(0x600), id(OPPORTUNITY));
    existing.name = "Opportunity Record Page Fields".into();
    let section = |n: u128, name: &str, position: f64| TargetViewFieldGroup {
        id: id(n),
        view_id: None,
        name: name.into(),
        position,
        is_visible: true,
    };
    existing.view_field_groups = vec![
        section(0x601, "General", 0.0),
        section(0x602, "System", 1.0),
    ];
    existing.view_fields = vec![placed(1, NAME, 0x601), placed(2, STAGE, 0x602)];
    let target = TargetConfiguration {
        views: vec![existing],
        ..TargetConfiguration::default()
    };
    let config = WorkspaceConfig {
        views: vec![source.clone()],
        ..WorkspaceConfig::default()
    };
    let (actions, _) = plan_actions(&config, &target, &model(), &members());

    assert!(
        !actions.iter().any(|a| matches!(a, Action::CreateView(_))),
        "{actions:#?}"
    );
    assert!(actions.contains(&Action::UpdateFieldGroup(
        id(0x601),
        json!({"name": "Overview"})
    )));
    assert!(actions.contains(&Action::UpdateFieldGroup(
        id(0x602),
        json!({"isVisible": false})
    )));
    let deal = crate::transform::target_id(id(22));
    let create = actions
        .iter()
        .position(|a| matches!(a, Action::CreateFieldGroups(g) if g.len() == 1 && g[0].id == deal))
        .expect("the new section, with its id");
    let moved = actions
        .iter()
        .position(|a| *a == Action::UpdateViewField(id(2), json!({"viewFieldGroupId": deal})))
        .expect("stage moved into it");
    assert!(
        create < moved,
        "the section exists before a field is placed in it"
    );
    assert!(!actions
        .iter()
        .any(|a| matches!(a, Action::UpdateViewField(f, _) if *f == id(1))));

    // A source without sections (a version before them) leaves the target's as they are.
    source.field_groups.clear();
    source.fields = vec![
        record_page_field(1, "name", None),
        record_page_field(2, "stage", None),
    ];
    let config = WorkspaceConfig {
        views: vec![source],
        ..WorkspaceConfig::default()
    };
    let (actions, _) = plan_actions(&config, &target, &model(), &members());
    assert!(actions.is_empty(), "{actions:#?}");
}

#[test]
fn ids_are_scoped_to_the_target_workspace_and_a_view_made_before_the_scoping_is_found_again() {
    let workspace = id(0x777);
    let mut custom = view(3, "opportunity", "Key deals", "TABLE");
    custom.filter_groups = vec![crate::model::config::ViewFilterGroup {
        id: id(31),
        parent: None,
        logical_operator: "OR".into(),
        position_in_group: None,
    }];
    let config = WorkspaceConfig {
        views: vec![custom.clone()],
        ..WorkspaceConfig::default()
    };
    let fresh = TargetConfiguration {
        workspace_id: Some(workspace),
        ..TargetConfiguration::default()
    };
    let (actions, _) = plan_actions(&config, &fresh, &model(), &members());
    let scoped = crate::transform::config_id(Some(workspace), id(3));
    assert_ne!(scoped, id(3), "not the source's own id");
    assert!(
        actions
            .iter()
            .any(|a| matches!(a, Action::CreateView(v) if v.id == scoped)),
        "{actions:#?}"
    );

    // A view an earlier version created with the source's id, with its filter group.
    let mut legacy = target_view(&custom, id(3), id(OPPORTUNITY));
    legacy.view_filter_groups = vec![crate::destination::TargetViewFilterGroup {
        id: id(31),
        view_id: None,
        parent_view_filter_group_id: None,
        logical_operator: "OR".into(),
        position_in_view_filter_group: None,
    }];
    let before = TargetConfiguration {
        views: vec![legacy],
        workspace_id: Some(workspace),
        ..TargetConfiguration::default()
    };
    let (actions, report) = plan_actions(&config, &before, &model(), &members());
    assert!(actions.is_empty(), "{actions:#?}");
    assert_eq!(report.kinds["views"].unchanged, 1);
}
