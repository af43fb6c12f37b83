//! What a fresh 2.21 workspace holds before anyone configures it (issue 16 facts §11): the
//! standard views of every object (`engine/workspace-manager/twenty-standard-application/utils/view/compute-standard-*-views.util.ts`),
//! the standard navigation items (`…/constants/standard-navigation-menu-item.constant.ts`), and
//! the Admin and Member roles (`engine/workspace-manager/workspace-manager.service.ts:94-135`,
//! `MM/role/role.service.ts:366-391`).

use serde_json::json;
use uuid::Uuid;

use super::children::{new_field, new_group, ViewFilter, ViewFilterOperand};
use super::field_groups::new_section;
use super::misc::{new_item, NavigationMenuItemType};
use super::roles::{new_role, Role};
use super::views::{insert_view, new_view, CreateViewInput, ViewKey, ViewOpenRecordIn, ViewType};
use super::{now, workspace_id, Id, State};
use crate::twin::schema::{stable_id, Model, ObjectMeta};

/// Admin's universalIdentifier, the same in every workspace (LIVE, Apple and YCombinator).
const ADMIN_UNIVERSAL_IDENTIFIER: &str = "20202020-02c2-43f2-b94d-cab1f2b532eb";

/// The fresh workspace's configuration.
pub(super) fn state(model: &Model) -> State {
    let mut state = State {
        roles: vec![admin(), member()],
        agents: vec![super::agents::helper()],
        ..State::default()
    };
    for object in &model.objects {
        object_views(&mut state, object, false);
    }
    named_views(&mut state, model);
    standard_items(&mut state, model);
    state
}

fn admin() -> Role {
    let mut role = new_role(stable_id("role", "Admin"), "Admin");
    role.universal_identifier = Uuid::parse_str(ADMIN_UNIVERSAL_IDENTIFIER).ok().map(Id);
    role.description = Some("Admin role".into());
    role.icon = Some("IconUserCog".into());
    role.is_editable = false;
    role.can_be_assigned_to_agents = false;
    role.can_update_all_settings = true;
    role.can_access_all_tools = true;
    role.can_read_all_object_records = true;
    role.can_update_all_object_records = true;
    role.can_soft_delete_all_object_records = true;
    role.can_destroy_all_object_records = true;
    role.standard = true;
    role.holds_everyone = true;
    role.holds_key = true;
    role
}

/// A custom role that reads everything and may change settings (so it reads roles and the
/// data model) but writes no record: the role of a read-only migration key
/// (`role.entity.ts` flags; a write is then refused by `permissions.utils.ts`).
pub(crate) fn read_only() -> Role {
    let mut role = new_role(stable_id("role", "Read-only"), "Read-only");
    role.can_update_all_settings = true;
    role.can_read_all_object_records = true;
    role.holds_key = true;
    role
}

/// Member: custom application, editable, the workspace's default role (`createMemberRole`).
fn member() -> Role {
    let mut role = new_role(stable_id("role", "Member"), "Member");
    role.universal_identifier = Some(Id(stable_id("roleUniversalIdentifier", "Member")));
    role.description = Some("Member role".into());
    role.icon = Some("IconUser".into());
    role.can_be_assigned_to_agents = false;
    role.can_be_assigned_to_api_keys = false;
    role.can_access_all_tools = true;
    role.can_read_all_object_records = true;
    role.can_update_all_object_records = true;
    role.can_soft_delete_all_object_records = true;
    role.can_destroy_all_object_records = true;
    role
}

fn input(
    object: &ObjectMeta,
    name: &str,
    view_type: ViewType,
    icon: &str,
    position: f64,
) -> CreateViewInput {
    CreateViewInput {
        id: None,
        name: name.to_owned(),
        object_metadata_id: Id(object.id),
        view_type,
        key: None,
        icon: icon.to_owned(),
        position,
        is_compact: false,
        should_hide_empty_groups: false,
        kanban_column_width: None,
        open_record_in: ViewOpenRecordIn::SidePanel,
        kanban_aggregate_operation: None,
        kanban_aggregate_operation_field_metadata_id: None,
        any_field_filter_value: None,
        calendar_layout: None,
        calendar_field_metadata_id: None,
        main_group_by_field_metadata_id: None,
        visibility: None,
    }
}

/// Adds a view with the object's visible fields (label identifier first), returning its id.
fn add_view(state: &mut State, object: &ObjectMeta, input: CreateViewInput, custom: bool) -> Uuid {
    let id = stable_id("view", &format!("{}.{}.{}", object.id, input.name, custom));
    let view = new_view(id, object, &input, custom);
    insert_view(state, view, object);
    let label = object.label_identifier.as_deref();
    let mut fields: Vec<_> = object
        .fields
        .iter()
        .filter(|f| !f.is_system && f.field_type != "TS_VECTOR")
        .collect();
    fields.sort_by_key(|f| Some(f.name.as_str()) != label);
    for (i, f) in fields.iter().enumerate() {
        let size = if i == 0 { 210.0 } else { 150.0 };
        let row = new_field(
            stable_id("viewField", &format!("{id}.{}", f.id)),
            id,
            f.id,
            i as f64,
            size,
        );
        state.view_fields.push(row);
    }
    id
}

/// An object's INDEX view "All {objectLabelPlural}" (workflowRun "Runs", workflowVersion
/// "Versions") and, for a user-facing object, its "<Label> Record Page Fields" view.
pub(super) fn object_views(state: &mut State, object: &ObjectMeta, custom: bool) {
    let name = match object.name_singular.as_str() {
        "workflowRun" => "Runs",
        "workflowVersion" => "Versions",
        _ => "All {objectLabelPlural}",
    };
    let mut index = input(object, name, ViewType::Table, "IconList", 0.0);
    index.key = Some(ViewKey::Index);
    add_view(state, object, index, custom);
    if !object.is_system {
        let name = format!("{} Record Page Fields", object.label_singular);
        let view = add_view(
            state,
            object,
            input(object, &name, ViewType::FieldsWidget, "IconList", 0.0),
            custom,
        );
        // A standard object's record page shows its fields in sections; a custom object's
        // has none (LIVE: "Survey result Record Page Fields" has no groups).
        if !custom {
            sections(state, object, view);
        }
        super::record_pages::add_layout(state, object, custom, Some(view));
    }
}

/// The fields that a standard record page puts in its "System" section.
const SYSTEM_SECTION: [&str; 5] = [
    "createdAt",
    "updatedAt",
    "deletedAt",
    "createdBy",
    "updatedBy",
];

/// A standard record page's sections: "General" and "System" (a real 2.21 names more per
/// object, e.g. company "Business" and "Contact": `compute-standard-*-views.util.ts`), with the
/// view's fields placed in them.
fn sections(state: &mut State, object: &ObjectMeta, view: Uuid) {
    let general = stable_id("viewFieldGroup", &format!("{view}.General"));
    let system = stable_id("viewFieldGroup", &format!("{view}.System"));
    state
        .view_field_groups
        .push(new_section(general, view, "General", 0.0));
    state
        .view_field_groups
        .push(new_section(system, view, "System", 1.0));
    for f in state.view_fields.iter_mut().filter(|f| f.view_id.0 == view) {
        let name = object
            .fields
            .iter()
            .find(|m| m.id == f.field_metadata_id.0)
            .map(|m| m.name.as_str());
        let section = if name.is_some_and(|n| SYSTEM_SECTION.contains(&n)) {
            system
        } else {
            general
        };
        f.view_field_group_id = Some(Id(section));
    }
}

/// The standard named views: opportunity "By Stage", task "By Status" and "Assigned to Me"
/// (`compute-standard-opportunity-views.util.ts`, `compute-standard-task-views.util.ts`).
fn named_views(state: &mut State, model: &Model) {
    if let Some(o) = model.by_singular("opportunity") {
        let mut by_stage = input(o, "By Stage", ViewType::Kanban, "IconLayoutKanban", 2.0);
        by_stage.main_group_by_field_metadata_id = o.field("stage").map(|f| Id(f.id));
        add_view(state, o, by_stage, false);
    }
    let Some(task) = model.by_singular("task") else {
        return;
    };
    let status = task.field("status").map(|f| Id(f.id));
    // The standard definitions list their groups: no empty group for "By Status" (LIVE).
    for (name, view_type, icon, position, values) in [
        (
            "By Status",
            ViewType::Kanban,
            "IconLayoutKanban",
            1.0,
            &["TODO", "IN_PROGRESS", "DONE"][..],
        ),
        (
            "Assigned to Me",
            ViewType::Table,
            "IconUserCircle",
            2.0,
            &["TODO", "IN_PROGRESS", "DONE", ""][..],
        ),
    ] {
        let id = add_view(
            state,
            task,
            input(task, name, view_type, icon, position),
            false,
        );
        if let Some(view) = state.views.iter_mut().find(|v| v.id.0 == id) {
            view.main_group_by_field_metadata_id = status;
        }
        for (p, value) in values.iter().enumerate() {
            let gid = stable_id("viewGroup", &format!("{id}.{value}"));
            state
                .view_groups
                .push(new_group(gid, id, (*value).to_owned(), p as f64));
        }
        if name == "Assigned to Me" {
            if let Some(assignee) = task.field("assignee") {
                let at = now();
                state.view_filters.push(ViewFilter {
                    id: Id(stable_id("viewFilter", &format!("{id}.assignee"))),
                    field_metadata_id: Id(assignee.id),
                    operand: ViewFilterOperand::Is,
                    value: async_graphql::Json(json!(
                        "{\"isCurrentWorkspaceMemberSelected\":true,\"selectedRecordIds\":[]}"
                    )),
                    view_filter_group_id: None,
                    position_in_view_filter_group: None,
                    sub_field_name: None,
                    relation_target_field_metadata_id: None,
                    view_id: Id(id),
                    workspace_id: workspace_id(),
                    created_at: at.clone(),
                    updated_at: at,
                    deleted_at: None,
                });
            }
        }
    }
}

/// A workspace-level OBJECT item for `object` at the end of the menu.
pub(super) fn object_item(state: &mut State, object: &ObjectMeta, custom: bool) {
    let position = state
        .navigation_menu_items
        .iter()
        .filter(|n| n.folder_id.is_none())
        .map(|n| n.position + 1.0)
        .fold(0.0, f64::max);
    let mut item = new_item(
        stable_id("navigationMenuItem", &object.id.to_string()),
        NavigationMenuItemType::Object,
        custom,
    );
    item.target_object_metadata_id = Some(Id(object.id));
    item.position = position;
    state.navigation_menu_items.push(item);
}

/// The 10 standard items: six objects, then a "Workflows" folder with three.
fn standard_items(state: &mut State, model: &Model) {
    for name in [
        "company",
        "person",
        "opportunity",
        "task",
        "note",
        "dashboard",
    ] {
        if let Some(object) = model.by_singular(name) {
            object_item(state, object, false);
        }
    }
    let folder_id = stable_id("navigationMenuItem", "folder.Workflows");
    let mut folder = new_item(folder_id, NavigationMenuItemType::Folder, false);
    folder.name = Some("Workflows".into());
    folder.position = 6.0;
    state.navigation_menu_items.push(folder);
    for (i, name) in ["workflow", "workflowRun", "workflowVersion"]
        .iter()
        .enumerate()
    {
        if let Some(object) = model.by_singular(name) {
            let mut item = new_item(
                stable_id("navigationMenuItem", &object.id.to_string()),
                NavigationMenuItemType::Object,
                false,
            );
            item.target_object_metadata_id = Some(Id(object.id));
            item.folder_id = Some(Id(folder_id));
            item.position = i as f64;
            state.navigation_menu_items.push(item);
        }
    }
}
