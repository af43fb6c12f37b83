//! One change to the target's workspace configuration, as the configuration stage decides it,
//! and the `/metadata` call that makes it ([`super::configuration`] holds the calls).

use serde_json::Value;
use uuid::Uuid;

use super::configuration::{
    TargetFieldPermission, TargetNavigationItem, TargetObjectPermission, TargetView,
    TargetViewField, TargetViewFieldGroup, TargetViewFilter, TargetViewFilterGroup,
    TargetViewGroup, TargetViewSort, TargetWebhook,
};
use super::row_level::TargetRowLevelPermissions;
use super::{Target, TargetError};

/// One change to the target's configuration.
#[derive(Debug, Clone, PartialEq)]
pub enum ConfigChange {
    /// `createView`.
    CreateView(Box<TargetView>),
    /// `updateView` with the changed properties.
    UpdateView(Uuid, Value),
    /// `createManyViewFieldGroups`: record-page sections, before the fields placed in them.
    CreateFieldGroups(Vec<TargetViewFieldGroup>),
    /// `updateViewFieldGroup`.
    UpdateFieldGroup(Uuid, Value),
    /// `createManyViewFields`.
    CreateViewFields(Vec<TargetViewField>),
    /// `updateViewField`.
    UpdateViewField(Uuid, Value),
    /// `createViewFilterGroup`.
    CreateFilterGroup(TargetViewFilterGroup),
    /// `updateViewFilterGroup`.
    UpdateFilterGroup(TargetViewFilterGroup),
    /// `createViewFilter`.
    CreateFilter(TargetViewFilter),
    /// `updateViewFilter`.
    UpdateFilter(Uuid, Value),
    /// `deleteViewFilter`: a filter the source view does not have.
    DeleteFilter(Uuid),
    /// `createViewSort`.
    CreateSort(TargetViewSort),
    /// `updateViewSort`.
    UpdateSort(Uuid, String),
    /// `deleteViewSort`.
    DeleteSort(Uuid),
    /// `createManyViewGroups`.
    CreateGroups(Vec<TargetViewGroup>),
    /// `updateViewGroup`.
    UpdateGroup(Uuid, Value),
    /// `createOneRole`.
    CreateRole(Value),
    /// `updateOneRole`.
    UpdateRole(Uuid, Value),
    /// `upsertObjectPermissions` (the whole set).
    SetObjectPermissions(Uuid, Vec<TargetObjectPermission>),
    /// `upsertFieldPermissions` (merged).
    MergeFieldPermissions(Uuid, Vec<TargetFieldPermission>),
    /// `upsertPermissionFlags` (the whole set).
    SetFlags(Uuid, Vec<String>),
    /// `upsertRowLevelPermissionPredicates` (a role's whole set on one object).
    SetRowLevelPermissions(Box<TargetRowLevelPermissions>),
    /// `createManyNavigationMenuItems`.
    CreateNavigation(Vec<TargetNavigationItem>),
    /// `updateNavigationMenuItem`.
    UpdateNavigation(Uuid, Value),
    /// `createWebhook`.
    CreateWebhook(TargetWebhook),
    /// `updateWebhook`.
    UpdateWebhook(TargetWebhook),
}

impl ConfigChange {
    /// How a report line names it.
    pub fn describe(&self) -> String {
        match self {
            Self::CreateView(v) => format!("create view {} ({})", v.name, v.id),
            Self::UpdateView(id, _) => format!("update view {id}"),
            Self::CreateFieldGroups(g) => format!("create {} view field groups", g.len()),
            Self::UpdateFieldGroup(id, _) => format!("update view field group {id}"),
            Self::CreateViewFields(f) => format!("create {} view fields", f.len()),
            Self::UpdateViewField(id, _) => format!("update view field {id}"),
            Self::CreateFilterGroup(g) => format!("create view filter group {}", g.id),
            Self::UpdateFilterGroup(g) => format!("update view filter group {}", g.id),
            Self::CreateFilter(f) => format!("create view filter {}", f.id),
            Self::UpdateFilter(id, _) => format!("update view filter {id}"),
            Self::DeleteFilter(id) => format!("delete view filter {id}"),
            Self::CreateSort(s) => format!("create view sort {}", s.id),
            Self::UpdateSort(id, _) => format!("update view sort {id}"),
            Self::DeleteSort(id) => format!("delete view sort {id}"),
            Self::CreateGroups(g) => format!("create {} view groups", g.len()),
            Self::UpdateGroup(id, _) => format!("update view group {id}"),
            Self::CreateRole(r) => format!("create role {}", r["label"]),
            Self::UpdateRole(id, _) => format!("update role {id}"),
            Self::SetObjectPermissions(id, _) => format!("set the object permissions of role {id}"),
            Self::MergeFieldPermissions(id, _) => format!("set the field permissions of role {id}"),
            Self::SetFlags(id, _) => format!("set the permission flags of role {id}"),
            Self::SetRowLevelPermissions(r) => format!(
                "set the row-level permissions of role {} on {}",
                r.role, r.object
            ),
            Self::CreateNavigation(items) => format!("create {} navigation items", items.len()),
            Self::UpdateNavigation(id, _) => format!("update navigation item {id}"),
            Self::CreateWebhook(w) => format!("create webhook {}", w.id),
            Self::UpdateWebhook(w) => format!("update webhook {}", w.id),
        }
    }

    /// The id a create gives the entity (the first one, for a create of many): a create whose
    /// answer was lost and that is refused when sent again as "already there" is done if the
    /// target holds this id.
    pub fn created_id(&self) -> Option<Uuid> {
        match self {
            Self::CreateView(v) => Some(v.id),
            Self::CreateFieldGroups(g) => g.first().map(|g| g.id),
            Self::CreateViewFields(f) => f.first().map(|f| f.id),
            Self::CreateFilterGroup(g) => Some(g.id),
            Self::CreateFilter(f) => Some(f.id),
            Self::CreateSort(s) => Some(s.id),
            Self::CreateGroups(g) => g.first().map(|g| g.id),
            Self::CreateRole(r) => r["id"].as_str().and_then(|s| Uuid::parse_str(s).ok()),
            Self::CreateNavigation(items) => items.first().map(|i| i.id),
            Self::CreateWebhook(w) => Some(w.id),
            _ => None,
        }
    }

    /// Sends the change: one request, retried by the client.
    pub async fn send(&self, target: &Target) -> Result<(), TargetError> {
        match self {
            Self::CreateView(v) => target.create_view(v).await,
            Self::UpdateView(id, changes) => target.update_view(*id, changes.clone()).await,
            Self::CreateFieldGroups(g) => target.create_view_field_groups(g).await,
            Self::UpdateFieldGroup(id, u) => target.update_view_field_group(*id, u.clone()).await,
            Self::CreateViewFields(fields) => target.create_view_fields(fields).await,
            Self::UpdateViewField(id, u) => target.update_view_field(*id, u.clone()).await,
            Self::CreateFilterGroup(g) => target.create_view_filter_group(g).await,
            Self::UpdateFilterGroup(g) => target.update_view_filter_group(g).await,
            Self::CreateFilter(f) => target.create_view_filter(f).await,
            Self::UpdateFilter(id, u) => target.update_view_filter(*id, u.clone()).await,
            Self::DeleteFilter(id) => target.delete_view_filter(*id).await,
            Self::CreateSort(s) => target.create_view_sort(s).await,
            Self::UpdateSort(id, d) => target.update_view_sort(*id, d).await,
            Self::DeleteSort(id) => target.delete_view_sort(*id).await,
            Self::CreateGroups(g) => target.create_view_groups(g).await,
            Self::UpdateGroup(id, u) => target.update_view_group(*id, u.clone()).await,
            Self::CreateRole(r) => target.create_role(r.clone()).await,
            Self::UpdateRole(id, u) => target.update_role(*id, u.clone()).await,
            Self::SetObjectPermissions(id, p) => target.set_object_permissions(*id, p).await,
            Self::MergeFieldPermissions(id, p) => target.merge_field_permissions(*id, p).await,
            Self::SetFlags(id, f) => target.set_permission_flags(*id, f).await,
            Self::SetRowLevelPermissions(r) => target.set_row_level_permissions(r).await,
            Self::CreateNavigation(items) => target.create_navigation_items(items).await,
            Self::UpdateNavigation(id, u) => target.update_navigation_item(*id, u.clone()).await,
            Self::CreateWebhook(w) => target.create_webhook(w).await,
            Self::UpdateWebhook(w) => target.update_webhook(w).await,
        }
    }
}
