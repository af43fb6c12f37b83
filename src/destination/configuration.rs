//! The workspace configuration on the target's `/metadata`: views and their children, roles and
//! permissions, navigation menu items, webhooks, API keys. One type per entity serves for reading
//! (what the target has) and for writing (the create input): the fields that a create input
//! does not take are skipped when serialized.
//!
//! Sources in twentyhq/twenty 2.21, `packages/twenty-server/src/engine/metadata-modules/`:
//! `view/resolvers/view.resolver.ts` and `view/dtos/inputs/create-view.input.ts` (and the
//! same pair under `view-field/`, `view-filter/`, `view-filter-group/`, `view-sort/`,
//! `view-group/`), `role/role.resolver.ts` (`createOneRole`, `upsertObjectPermissions` replaces
//! the role's set, `upsertFieldPermissions` merges, `upsertPermissionFlags` replaces),
//! `navigation-menu-item/navigation-menu-item.resolver.ts`, `webhook/webhook.resolver.ts`, and
//! `engine/core-modules/api-key/api-key.resolver.ts` (listing only: creating a key needs a
//! session token, `require-access-token.guard.ts`). Each create takes the client's `id`, except
//! API keys.
//!
//! The update mutations differ in shape: `updateView(id, input)` and
//! `updateViewFilterGroup(id, input)`; `update…(input: {id, update})` for view fields, filters,
//! sorts, groups, navigation items and webhooks; `updateOneRole(updateRoleInput: {id, update})`.
//! A document holds each root field once (2.21 refuses a duplicate root resolver), so one
//! request per entity where no `createMany…` exists.

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use uuid::Uuid;

use super::{Disposition, Target, TargetError};

/// A view as `getViews` answers it, and as `createView` takes it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TargetView {
    /// The view id.
    pub id: Uuid,
    /// `name`.
    pub name: String,
    /// The object's metadata id.
    pub object_metadata_id: Uuid,
    /// `type`.
    #[serde(rename = "type")]
    pub kind: String,
    /// `key` (`INDEX`).
    #[serde(default)]
    pub key: Option<String>,
    /// `icon`.
    pub icon: String,
    /// `position`.
    pub position: f64,
    /// `isCompact`.
    #[serde(default)]
    pub is_compact: bool,
    /// `openRecordIn`.
    #[serde(default)]
    pub open_record_in: Option<String>,
    /// `kanbanAggregateOperation`.
    #[serde(default)]
    pub kanban_aggregate_operation: Option<String>,
    /// `kanbanAggregateOperationFieldMetadataId`.
    #[serde(default)]
    pub kanban_aggregate_operation_field_metadata_id: Option<Uuid>,
    /// `calendarLayout`.
    #[serde(default)]
    pub calendar_layout: Option<String>,
    /// `calendarFieldMetadataId`.
    #[serde(default)]
    pub calendar_field_metadata_id: Option<Uuid>,
    /// `mainGroupByFieldMetadataId`.
    #[serde(default)]
    pub main_group_by_field_metadata_id: Option<Uuid>,
    /// `shouldHideEmptyGroups`.
    #[serde(default)]
    pub should_hide_empty_groups: bool,
    /// `anyFieldFilterValue`.
    #[serde(default)]
    pub any_field_filter_value: Option<String>,
    /// `visibility`.
    #[serde(default)]
    pub visibility: Option<String>,
    /// `viewFields` (read only).
    #[serde(default, skip_serializing)]
    pub view_fields: Vec<TargetViewField>,
    /// `viewFilters` (read only).
    #[serde(default, skip_serializing)]
    pub view_filters: Vec<TargetViewFilter>,
    /// `viewFilterGroups` (read only).
    #[serde(default, skip_serializing)]
    pub view_filter_groups: Vec<TargetViewFilterGroup>,
    /// `viewSorts` (read only).
    #[serde(default, skip_serializing)]
    pub view_sorts: Vec<TargetViewSort>,
    /// `viewGroups` (read only).
    #[serde(default, skip_serializing)]
    pub view_groups: Vec<TargetViewGroup>,
    /// `viewFieldGroups` (read only): a record page's field sections.
    #[serde(default, skip_serializing)]
    pub view_field_groups: Vec<TargetViewFieldGroup>,
}

/// A `viewField`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TargetViewField {
    /// Id.
    pub id: Uuid,
    /// The view (written, not read: the nested answer omits it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub view_id: Option<Uuid>,
    /// The field shown.
    pub field_metadata_id: Uuid,
    /// `isVisible`.
    pub is_visible: bool,
    /// `size`.
    pub size: f64,
    /// `position`.
    pub position: f64,
    /// `aggregateOperation`.
    #[serde(default)]
    pub aggregate_operation: Option<String>,
    /// `viewFieldGroupId`: the section it sits in (left out of a create when none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub view_field_group_id: Option<Uuid>,
}

/// A `viewFieldGroup` (`view-field-group/dtos/inputs/create-view-field-group.input.ts`), as
/// read and as `createManyViewFieldGroups` takes it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TargetViewFieldGroup {
    /// Id.
    pub id: Uuid,
    /// The view.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub view_id: Option<Uuid>,
    /// `name`.
    pub name: String,
    /// `position`.
    pub position: f64,
    /// `isVisible`.
    pub is_visible: bool,
}

/// A `viewFilter`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TargetViewFilter {
    /// Id.
    pub id: Uuid,
    /// The view.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub view_id: Option<Uuid>,
    /// The field.
    pub field_metadata_id: Uuid,
    /// `operand`.
    pub operand: String,
    /// `value` (JSON).
    pub value: Value,
    /// `viewFilterGroupId`.
    #[serde(default)]
    pub view_filter_group_id: Option<Uuid>,
    /// `positionInViewFilterGroup`.
    #[serde(default)]
    pub position_in_view_filter_group: Option<f64>,
    /// `subFieldName`.
    #[serde(default)]
    pub sub_field_name: Option<String>,
    /// `relationTargetFieldMetadataId`.
    #[serde(default)]
    pub relation_target_field_metadata_id: Option<Uuid>,
}

/// A `viewFilterGroup`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TargetViewFilterGroup {
    /// Id.
    pub id: Uuid,
    /// The view.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub view_id: Option<Uuid>,
    /// `parentViewFilterGroupId`.
    #[serde(default)]
    pub parent_view_filter_group_id: Option<Uuid>,
    /// `logicalOperator`; sent on every update, which otherwise resets it to AND
    /// (`UpdateViewFilterGroupInput` is a `PartialType` keeping the default).
    pub logical_operator: String,
    /// `positionInViewFilterGroup`.
    #[serde(default)]
    pub position_in_view_filter_group: Option<f64>,
}

/// A `viewSort`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TargetViewSort {
    /// Id.
    pub id: Uuid,
    /// The view.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub view_id: Option<Uuid>,
    /// The field.
    pub field_metadata_id: Uuid,
    /// `direction`.
    pub direction: String,
}

/// A `viewGroup`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TargetViewGroup {
    /// Id.
    pub id: Uuid,
    /// The view.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub view_id: Option<Uuid>,
    /// `fieldValue`.
    pub field_value: String,
    /// `isVisible`.
    pub is_visible: bool,
    /// `position`.
    pub position: f64,
}

/// A role as `getRoles` answers it.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TargetRole {
    /// Id.
    pub id: Uuid,
    /// `label`, unique per workspace.
    pub label: String,
    /// `description`.
    #[serde(default)]
    pub description: Option<String>,
    /// `icon`.
    #[serde(default)]
    pub icon: Option<String>,
    /// `isEditable`: Admin is not.
    pub is_editable: bool,
    /// The role-wide switches, by field name (`canUpdateAllSettings`, …).
    #[serde(flatten)]
    pub switches: serde_json::Map<String, Value>,
    /// `permissionFlags { flag }`.
    #[serde(default)]
    pub permission_flags: Vec<TargetFlag>,
    /// `objectPermissions`.
    #[serde(default)]
    pub object_permissions: Vec<TargetObjectPermission>,
    /// `fieldPermissions`.
    #[serde(default)]
    pub field_permissions: Vec<TargetFieldPermission>,
    /// `workspaceMembers { id userEmail }`.
    #[serde(default)]
    pub workspace_members: Vec<TargetRoleMember>,
    /// `rowLevelPermissionPredicates`, of every object (empty where the target lacks the
    /// Enterprise feature, or the field).
    #[serde(default, deserialize_with = "super::row_level::null_as_empty")]
    pub row_level_permission_predicates: Vec<super::row_level::TargetRlsPredicate>,
    /// `rowLevelPermissionPredicateGroups`, of every object.
    #[serde(default, deserialize_with = "super::row_level::null_as_empty")]
    pub row_level_permission_predicate_groups: Vec<super::row_level::TargetRlsGroup>,
}

/// One permission flag of a role.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct TargetFlag {
    /// The `PermissionFlagType` key.
    pub flag: String,
}

/// A member holding a role.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TargetRoleMember {
    /// Member id.
    pub id: Uuid,
    /// Login email.
    #[serde(default)]
    pub user_email: Option<String>,
}

/// An object permission, as read and as sent to `upsertObjectPermissions`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TargetObjectPermission {
    /// The object.
    pub object_metadata_id: Uuid,
    /// `canReadObjectRecords`.
    #[serde(default)]
    pub can_read_object_records: Option<bool>,
    /// `canUpdateObjectRecords`.
    #[serde(default)]
    pub can_update_object_records: Option<bool>,
    /// `canSoftDeleteObjectRecords`.
    #[serde(default)]
    pub can_soft_delete_object_records: Option<bool>,
    /// `canDestroyObjectRecords`.
    #[serde(default)]
    pub can_destroy_object_records: Option<bool>,
}

/// A field permission, as read and as sent to `upsertFieldPermissions`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TargetFieldPermission {
    /// The object.
    pub object_metadata_id: Uuid,
    /// The field.
    pub field_metadata_id: Uuid,
    /// `canReadFieldValue` (only `false` or null).
    #[serde(default)]
    pub can_read_field_value: Option<bool>,
    /// `canUpdateFieldValue` (only `false` or null).
    #[serde(default)]
    pub can_update_field_value: Option<bool>,
}

/// A navigation menu item, as read and as `createManyNavigationMenuItems` takes it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TargetNavigationItem {
    /// Id.
    pub id: Uuid,
    /// `type`.
    #[serde(rename = "type")]
    pub kind: String,
    /// `targetRecordId`.
    #[serde(default)]
    pub target_record_id: Option<Uuid>,
    /// `targetObjectMetadataId`.
    #[serde(default)]
    pub target_object_metadata_id: Option<Uuid>,
    /// `viewId`.
    #[serde(default)]
    pub view_id: Option<Uuid>,
    /// `folderId`.
    #[serde(default)]
    pub folder_id: Option<Uuid>,
    /// `name`.
    #[serde(default)]
    pub name: Option<String>,
    /// `link`.
    #[serde(default)]
    pub link: Option<String>,
    /// `icon`.
    #[serde(default)]
    pub icon: Option<String>,
    /// `color`.
    #[serde(default)]
    pub color: Option<String>,
    /// `position`.
    pub position: f64,
}

/// A webhook, as read and as `createWebhook` takes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TargetWebhook {
    /// Id.
    pub id: Uuid,
    /// `targetUrl`.
    pub target_url: String,
    /// `operations`.
    pub operations: Vec<String>,
    /// `description`.
    #[serde(default)]
    pub description: Option<String>,
    /// `secret`: kept from the source so receivers keep verifying signatures.
    pub secret: String,
}

/// An API key as listed (no token: Twenty never stores it).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TargetApiKey {
    /// Id.
    pub id: Uuid,
    /// `name`.
    pub name: String,
    /// `revokedAt`.
    #[serde(default)]
    pub revoked_at: Option<String>,
    /// `role { label }`.
    #[serde(default)]
    pub role: Option<TargetRoleLabel>,
}

/// A role named by its label.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct TargetRoleLabel {
    /// `label`.
    pub label: String,
}

/// What the target has of the workspace configuration, read in one request per kind.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TargetConfiguration {
    /// Workspace-visible views with their children.
    pub views: Vec<TargetView>,
    /// Roles with permissions and members.
    pub roles: Vec<TargetRole>,
    /// Workspace-level navigation items (an API key sees no personal ones).
    pub navigation: Vec<TargetNavigationItem>,
    /// Webhooks.
    pub webhooks: Vec<TargetWebhook>,
    /// API keys.
    pub api_keys: Vec<TargetApiKey>,
    /// The workspace (`currentWorkspace { id }`, which an API key may read on `/metadata`),
    /// `None` for a target that does not say.
    pub workspace_id: Option<Uuid>,
}

impl TargetView {
    /// A view with this id on this object and nothing else set: what a view about to be
    /// created has of children (none).
    pub fn empty(id: Uuid, object_metadata_id: Uuid) -> Self {
        Self {
            id,
            name: String::new(),
            object_metadata_id,
            kind: String::new(),
            key: None,
            icon: String::new(),
            position: 0.0,
            is_compact: false,
            open_record_in: None,
            kanban_aggregate_operation: None,
            kanban_aggregate_operation_field_metadata_id: None,
            calendar_layout: None,
            calendar_field_metadata_id: None,
            main_group_by_field_metadata_id: None,
            should_hide_empty_groups: false,
            any_field_filter_value: None,
            visibility: None,
            view_fields: Vec::new(),
            view_filters: Vec::new(),
            view_filter_groups: Vec::new(),
            view_sorts: Vec::new(),
            view_groups: Vec::new(),
            view_field_groups: Vec::new(),
        }
    }
}

impl TargetConfiguration {
    /// Whether any entity here has this id.
    pub fn holds(&self, id: Uuid) -> bool {
        self.views.iter().any(|v| {
            v.id == id
                || v.view_fields.iter().any(|x| x.id == id)
                || v.view_filters.iter().any(|x| x.id == id)
                || v.view_filter_groups.iter().any(|x| x.id == id)
                || v.view_sorts.iter().any(|x| x.id == id)
                || v.view_groups.iter().any(|x| x.id == id)
                || v.view_field_groups.iter().any(|x| x.id == id)
        }) || self.roles.iter().any(|r| r.id == id)
            || self.navigation.iter().any(|n| n.id == id)
            || self.webhooks.iter().any(|w| w.id == id)
    }
}

const VIEWS: &str = "{ getViews { id name objectMetadataId type key icon position isCompact openRecordIn kanbanAggregateOperation kanbanAggregateOperationFieldMetadataId calendarLayout calendarFieldMetadataId mainGroupByFieldMetadataId shouldHideEmptyGroups anyFieldFilterValue visibility viewFields { id fieldMetadataId isVisible size position aggregateOperation viewFieldGroupId } viewFilters { id fieldMetadataId operand value viewFilterGroupId positionInViewFilterGroup subFieldName relationTargetFieldMetadataId } viewFilterGroups { id parentViewFilterGroupId logicalOperator positionInViewFilterGroup } viewSorts { id fieldMetadataId direction } viewGroups { id fieldValue isVisible position } viewFieldGroups { id name position isVisible } } }";

const ROLES: &str = "{ getRoles { id label description icon isEditable canUpdateAllSettings canAccessAllTools canReadAllObjectRecords canUpdateAllObjectRecords canSoftDeleteAllObjectRecords canDestroyAllObjectRecords canBeAssignedToUsers canBeAssignedToAgents canBeAssignedToApiKeys permissionFlags { flag } objectPermissions { objectMetadataId canReadObjectRecords canUpdateObjectRecords canSoftDeleteObjectRecords canDestroyObjectRecords } fieldPermissions { objectMetadataId fieldMetadataId canReadFieldValue canUpdateFieldValue } workspaceMembers { id userEmail } } }";

const NAVIGATION: &str = "{ navigationMenuItems { id type targetRecordId targetObjectMetadataId viewId folderId name link icon color position userWorkspaceId } }";

const WEBHOOKS: &str = "{ webhooks { id targetUrl operations description secret } }";

const WORKSPACE: &str = "{ currentWorkspace { id } }";

const API_KEYS: &str = "{ apiKeys { id name revokedAt role { label } } }";

fn list<T: serde::de::DeserializeOwned>(data: &Value, key: &str) -> Result<Vec<T>, TargetError> {
    let items = data
        .get(key)
        .cloned()
        .ok_or_else(|| TargetError::Protocol(format!("{key} answered nothing")))?;
    serde_json::from_value(items)
        .map_err(|e| TargetError::Protocol(format!("{key} answered an unexpected shape: {e}")))
}

pub(super) fn input<T: Serialize>(value: &T) -> Value {
    serde_json::to_value(value).unwrap_or(Value::Null)
}

impl Target {
    /// Reads what the target has of the workspace configuration, and which workspace it is: six
    /// requests (seven on a server without row-level permissions).
    pub async fn configuration(&self) -> Result<TargetConfiguration, TargetError> {
        let views = list(&self.graphql(VIEWS, json!({})).await?, "getViews")?;
        // With the row-level permissions; a server older than them answers without.
        let with_row_level = ROLES.replace(
            " workspaceMembers",
            &format!(
                " {} workspaceMembers",
                super::row_level::ROLE_ROW_LEVEL_FIELDS
            ),
        );
        let roles = match self.graphql(&with_row_level, json!({})).await {
            Err(e) if e.is_graphql_validation() => self.graphql(ROLES, json!({})).await?,
            answer => answer?,
        };
        let roles = list(&roles, "getRoles")?;
        let navigation: Vec<Value> = list(
            &self.graphql(NAVIGATION, json!({})).await?,
            "navigationMenuItems",
        )?;
        // Personal items are hidden from an API key; any that show are not the workspace's.
        let navigation = navigation
            .into_iter()
            .filter(|item| item.get("userWorkspaceId").is_none_or(Value::is_null))
            .map(serde_json::from_value)
            .collect::<Result<_, _>>()
            .map_err(|e| TargetError::Protocol(format!("navigationMenuItems: {e}")))?;
        let webhooks = list(&self.graphql(WEBHOOKS, json!({})).await?, "webhooks")?;
        let api_keys = list(&self.graphql(API_KEYS, json!({})).await?, "apiKeys")?;
        let workspace_id = match self.graphql(WORKSPACE, json!({})).await {
            Ok(data) => data
                .pointer("/currentWorkspace/id")
                .and_then(Value::as_str)
                .and_then(|s| Uuid::parse_str(s).ok()),
            Err(e)
                if e.is_graphql_validation()
                    || matches!(e.disposition(), Disposition::RejectRecords) =>
            {
                None
            }
            Err(e) => return Err(e),
        };
        Ok(TargetConfiguration {
            views,
            roles,
            navigation,
            webhooks,
            api_keys,
            workspace_id,
        })
    }
}
