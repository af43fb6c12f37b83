//! The workspace configuration that is not records: views, roles and permissions, webhooks,
//! navigation menu items, API keys, workflows and who holds which role. The source reads it from
//! Twenty's `core` tables; the configuration stage creates what an API key may create and the
//! runbook lists the rest.
//!
//! Everything here names objects and fields by `nameSingular` and field name, never by metadata
//! id: the target assigns its own metadata ids, so a reference is resolved against the target's
//! model when it is sent. Ids of the configuration entities themselves (view, filter, role…) are
//! the source's; record ids inside filter values are the source's record ids, which the
//! migration keeps.
//!
//! Facts per table and mutation: `/work/notes/issue16-facts.md` is not shipped; each reader and
//! caller cites its twentyhq/twenty file (`packages/twenty-server/src/engine/metadata-modules/…`).

use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

/// A role's switches (`core.role` columns, `role/role.entity.ts`), in the order
/// [`Role::switches`] lists them; the same names are `getRoles` fields and `CreateRoleInput`
/// keys.
pub const ROLE_SWITCHES: [&str; 9] = [
    "canUpdateAllSettings",
    "canAccessAllTools",
    "canReadAllObjectRecords",
    "canUpdateAllObjectRecords",
    "canSoftDeleteAllObjectRecords",
    "canDestroyAllObjectRecords",
    "canBeAssignedToUsers",
    "canBeAssignedToAgents",
    "canBeAssignedToApiKeys",
];

/// A field named by its object and its own name.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct FieldRef {
    /// The object's `nameSingular`.
    pub object: String,
    /// The field's `name`.
    pub field: String,
}

/// Everything of the workspace configuration the source holds.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct WorkspaceConfig {
    /// Views with their children, in source order (object, position).
    pub views: Vec<View>,
    /// Roles with their permissions; the standard Admin role included (matched, never edited).
    pub roles: Vec<Role>,
    /// Which member (by email) holds which role (by label).
    pub member_roles: Vec<MemberRole>,
    /// Webhooks.
    pub webhooks: Vec<Webhook>,
    /// Navigation menu items, workspace-level and personal.
    pub navigation: Vec<NavigationItem>,
    /// API keys (name, expiry, role): tokens cannot move.
    pub api_keys: Vec<ApiKey>,
    /// Workflows with their versions.
    pub workflows: Vec<Workflow>,
    /// The role new members get (`core.workspace."defaultRoleId"`), by label.
    #[serde(default)]
    pub default_role: Option<String>,
    /// Dashboards (`dashboard` records) with their `DASHBOARD` page layout.
    #[serde(default)]
    pub dashboards: Vec<Dashboard>,
    /// Record page layouts (`RECORD_PAGE`) the workspace made or changed, with all their tabs
    /// and widgets (deactivated ones included).
    #[serde(default)]
    pub record_pages: Vec<PageLayout>,
    /// Configuration this version reads but does not move: listed in the runbook.
    #[serde(default)]
    pub not_moved: Vec<NotMoved>,
    /// Custom AI agents (`core.agent` with `isCustom`), live ones.
    #[serde(default)]
    pub agents: Vec<Agent>,
}

/// A custom AI agent (`MM/ai/ai-agent/entities/agent.entity.ts`): the fields
/// `CreateAgentInput` takes, its role by label.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Agent {
    /// Source agent id (the target makes its own: `CreateAgentInput` has no `id`).
    pub id: Uuid,
    /// `name`, unique per workspace among live agents.
    pub name: String,
    /// `label`.
    pub label: String,
    /// `icon`.
    pub icon: Option<String>,
    /// `description`.
    pub description: Option<String>,
    /// `prompt`.
    pub prompt: String,
    /// `modelId` (`default-smart-model` when the column is empty).
    pub model_id: String,
    /// `responseFormat` (`{"type":"text"}` when null, the column's default).
    pub response_format: Value,
    /// `modelConfiguration` (null when unset).
    pub model_configuration: Value,
    /// `evaluationInputs`.
    pub evaluation_inputs: Vec<String>,
    /// The label of the role its `core."roleTarget"` gives it.
    pub role: Option<String>,
}

/// Configuration the tool does not move (yet), so that the runbook names it rather than
/// leaving it behind unsaid.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum NotMoved {
    /// A role's row-level permission predicates on one object
    /// (`core."rowLevelPermissionPredicate"`, written by `upsertRowLevelPermissionPredicates`).
    RowLevelPermissions {
        /// Role label.
        role: String,
        /// The object the predicates filter.
        object: String,
        /// How many predicates.
        predicates: usize,
    },
    /// A dashboard widget that shows an application's front component: the application is not
    /// moved, and a real 2.21 refuses the widget without it.
    FrontComponentWidget {
        /// Source widget id.
        id: Uuid,
        /// Widget title.
        title: String,
        /// The dashboard's title (its layout's name when it has none).
        dashboard: String,
    },
}

/// `core.view` (`view/entities/view.entity.ts`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct View {
    /// The source view id.
    pub id: Uuid,
    /// `name`, the effective value (`overrides.name` over the base column).
    pub name: String,
    /// The object shown.
    pub object: String,
    /// `type`: TABLE, KANBAN, CALENDAR, FIELDS_WIDGET, TABLE_WIDGET.
    pub kind: String,
    /// `key`: `INDEX` for an object's main view.
    pub key: Option<String>,
    /// `icon`.
    pub icon: String,
    /// `position`.
    pub position: f64,
    /// `isCompact`.
    pub is_compact: bool,
    /// `openRecordIn`: SIDE_PANEL or RECORD_PAGE.
    pub open_record_in: Option<String>,
    /// `kanbanAggregateOperation`.
    pub kanban_aggregate_operation: Option<String>,
    /// `kanbanAggregateOperationFieldMetadataId`.
    pub kanban_aggregate_field: Option<String>,
    /// `calendarLayout`.
    pub calendar_layout: Option<String>,
    /// `calendarFieldMetadataId`.
    pub calendar_field: Option<String>,
    /// `mainGroupByFieldMetadataId` (before 2.x: the field of the view's groups).
    pub main_group_by_field: Option<String>,
    /// `shouldHideEmptyGroups`.
    pub should_hide_empty_groups: bool,
    /// `anyFieldFilterValue`.
    pub any_field_filter_value: Option<String>,
    /// `visibility`: WORKSPACE or UNLISTED (a member's personal view).
    pub visibility: String,
    /// For an UNLISTED view, its owner's email.
    pub owner_email: Option<String>,
    /// Belongs to Twenty's standard application: the target has its own copy to update.
    pub is_standard: bool,
    /// A standard view's name before the workspace's override (`overrides.name`): the name of
    /// the target's own copy.
    pub standard_name: Option<String>,
    /// Made by the server itself (`isSystemSideEffect`): a custom object's INDEX and record-page
    /// fields views, which the target makes again when the data model sync creates the object.
    #[serde(default)]
    pub system_side_effect: bool,
    /// `viewField` rows.
    pub fields: Vec<ViewField>,
    /// `viewFilterGroup` rows, parents before children.
    pub filter_groups: Vec<ViewFilterGroup>,
    /// `viewFilter` rows.
    pub filters: Vec<ViewFilter>,
    /// `viewSort` rows.
    pub sorts: Vec<ViewSort>,
    /// `viewGroup` rows.
    pub groups: Vec<ViewGroup>,
    /// `viewFieldGroup` rows (the sections of a record page's fields view), by position.
    #[serde(default)]
    pub field_groups: Vec<ViewFieldGroup>,
}

/// `core."viewFieldGroup"` (2.x, `view-field-group/entities/view-field-group.entity.ts`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ViewFieldGroup {
    /// Source id.
    pub id: Uuid,
    /// `name`, the effective value.
    pub name: String,
    /// A standard group's name before the workspace's override: the name of the target's copy.
    pub standard_name: Option<String>,
    /// `position`.
    pub position: f64,
    /// `isVisible`.
    pub is_visible: bool,
}

/// `core."viewField"`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ViewField {
    /// Source id.
    pub id: Uuid,
    /// The field shown (on the view's object).
    pub field: String,
    /// `isVisible`.
    pub is_visible: bool,
    /// `size`.
    pub size: f64,
    /// `position`.
    pub position: f64,
    /// `aggregateOperation`.
    pub aggregate_operation: Option<String>,
    /// `viewFieldGroupId`: the section of the record page the field sits in.
    #[serde(default)]
    pub group: Option<Uuid>,
}

/// `core."viewFilterGroup"`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ViewFilterGroup {
    /// Source id.
    pub id: Uuid,
    /// `parentViewFilterGroupId`.
    pub parent: Option<Uuid>,
    /// `logicalOperator`: AND, OR, NOT.
    pub logical_operator: String,
    /// `positionInViewFilterGroup`.
    pub position_in_group: Option<f64>,
}

/// `core."viewFilter"`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ViewFilter {
    /// Source id.
    pub id: Uuid,
    /// The field filtered on (on the view's object).
    pub field: String,
    /// `operand`.
    pub operand: String,
    /// `value` as stored (often a JSON string inside the jsonb): record ids stay, member ids
    /// are mapped when sent.
    pub value: Value,
    /// `viewFilterGroupId`.
    pub group: Option<Uuid>,
    /// `positionInViewFilterGroup`.
    pub position_in_group: Option<f64>,
    /// `subFieldName`.
    pub sub_field_name: Option<String>,
    /// `relationTargetFieldMetadataId`.
    pub relation_target_field: Option<FieldRef>,
}

/// `core."viewSort"`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ViewSort {
    /// Source id.
    pub id: Uuid,
    /// The field sorted on.
    pub field: String,
    /// `direction`: ASC or DESC.
    pub direction: String,
}

/// `core."viewGroup"`: one column of a kanban.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ViewGroup {
    /// Source id.
    pub id: Uuid,
    /// `fieldValue`: a select option's value, or `''` for the empty group.
    pub field_value: String,
    /// `isVisible`.
    pub is_visible: bool,
    /// `position`.
    pub position: f64,
}

/// `core.role` with its permissions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Role {
    /// Source id.
    pub id: Uuid,
    /// `label` (unique per workspace: the natural key).
    pub label: String,
    /// `description`.
    pub description: Option<String>,
    /// `icon`.
    pub icon: Option<String>,
    /// `isEditable`: false for Admin, which the target has and nobody may change.
    pub is_editable: bool,
    /// Belongs to Twenty's standard application.
    pub is_standard: bool,
    /// The role-wide switches, by column name (`canUpdateAllSettings`, `canAccessAllTools`,
    /// `canReadAllObjectRecords`, `canUpdateAllObjectRecords`, `canSoftDeleteAllObjectRecords`,
    /// `canDestroyAllObjectRecords`, `canBeAssignedToUsers`, `canBeAssignedToAgents`,
    /// `canBeAssignedToApiKeys`), in that order, those the source has.
    pub switches: Vec<(String, bool)>,
    /// Per-object permissions.
    pub object_permissions: Vec<ObjectPermission>,
    /// Per-field restrictions.
    pub field_permissions: Vec<FieldPermission>,
    /// Setting and tool flags (`PermissionFlagType` keys), sorted.
    pub flags: Vec<String>,
    /// Row-level permission predicates, per object (an Enterprise feature of 2.x), by object.
    #[serde(default)]
    pub row_level_permissions: Vec<RowLevelPermissions>,
}

/// A role's row-level permission predicates on one object, with their groups
/// (`core."rowLevelPermissionPredicate"` and `core."rowLevelPermissionPredicateGroup"`,
/// `row-level-permission-predicate/entities/*.entity.ts`); soft-deleted rows left out.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RowLevelPermissions {
    /// The object the predicates filter.
    pub object: String,
    /// Predicates, by position then id.
    pub predicates: Vec<RowLevelPredicate>,
    /// Groups, by id (a parent may come after its child).
    pub groups: Vec<RowLevelGroup>,
}

/// `core."rowLevelPermissionPredicate"`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RowLevelPredicate {
    /// Source id.
    pub id: Uuid,
    /// `fieldMetadataId`: the field tested.
    pub field: FieldRef,
    /// `operand` (`RowLevelPermissionPredicateOperand`).
    pub operand: String,
    /// `value` as stored: a string, a list, or `{isCurrentWorkspaceMemberSelected,
    /// selectedRecordIds}` (record and member ids are the source's).
    pub value: Value,
    /// `subFieldName`.
    pub sub_field_name: Option<String>,
    /// `workspaceMemberFieldMetadataId`: the reader's member field compared with.
    pub workspace_member_field: Option<FieldRef>,
    /// `workspaceMemberSubFieldName`.
    pub workspace_member_sub_field_name: Option<String>,
    /// `rowLevelPermissionPredicateGroupId`.
    pub group: Option<Uuid>,
    /// `positionInRowLevelPermissionPredicateGroup`.
    pub position: Option<f64>,
}

/// `core."rowLevelPermissionPredicateGroup"`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RowLevelGroup {
    /// Source id.
    pub id: Uuid,
    /// `parentRowLevelPermissionPredicateGroupId`.
    pub parent: Option<Uuid>,
    /// `logicalOperator`: AND or OR.
    pub logical_operator: String,
    /// `positionInRowLevelPermissionPredicateGroup`.
    pub position: Option<f64>,
}

/// `core."objectPermission"`: `None` inherits from the role.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ObjectPermission {
    /// The object.
    pub object: String,
    /// `canReadObjectRecords`.
    pub can_read: Option<bool>,
    /// `canUpdateObjectRecords`.
    pub can_update: Option<bool>,
    /// `canSoftDeleteObjectRecords`.
    pub can_soft_delete: Option<bool>,
    /// `canDestroyObjectRecords`.
    pub can_destroy: Option<bool>,
}

/// `core."fieldPermission"`: only restrictions (`false`) or `None`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FieldPermission {
    /// The field.
    pub field: FieldRef,
    /// `canReadFieldValue`.
    pub can_read: Option<bool>,
    /// `canUpdateFieldValue`.
    pub can_update: Option<bool>,
}

/// A member's role (`core."roleTarget"` with a `userWorkspaceId`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberRole {
    /// The member's email.
    pub email: String,
    /// The role's label.
    pub role: String,
}

/// `core.webhook`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Webhook {
    /// Source id.
    pub id: Uuid,
    /// `targetUrl`.
    pub target_url: String,
    /// `operations` (`<object>.<event>` or `*.*`).
    pub operations: Vec<String>,
    /// `description`.
    pub description: Option<String>,
    /// `secret`: moved as it is, never printed.
    #[serde(skip_serializing)]
    pub secret: String,
}

/// `core."navigationMenuItem"` (before 1.17: a `favorite`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NavigationItem {
    /// Source id.
    pub id: Uuid,
    /// For a personal item, its member's email; `None` for a workspace-level item.
    pub owner_email: Option<String>,
    /// `type`: VIEW, FOLDER, LINK, OBJECT, RECORD, PAGE_LAYOUT.
    pub kind: String,
    /// `targetRecordId`.
    pub target_record: Option<Uuid>,
    /// `targetObjectMetadataId`.
    pub target_object: Option<String>,
    /// `viewId` (a source view id).
    pub view: Option<Uuid>,
    /// `folderId` (a source item id).
    pub folder: Option<Uuid>,
    /// `name`.
    pub name: Option<String>,
    /// `link`.
    pub link: Option<String>,
    /// `icon`.
    pub icon: Option<String>,
    /// `color`.
    pub color: Option<String>,
    /// `position`.
    pub position: f64,
}

/// `core."apiKey"` with its role: the token itself is not stored and cannot move.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiKey {
    /// Source id.
    pub id: Uuid,
    /// `name`.
    pub name: String,
    /// `expiresAt`, RFC 3339.
    pub expires_at: String,
    /// `revokedAt`: a revoked key is listed, not recreated.
    pub revoked_at: Option<String>,
    /// The role's label, where it has one.
    pub role: Option<String>,
}

/// A `workflow` record with its versions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Workflow {
    /// Source record id.
    pub id: Uuid,
    /// `name`.
    pub name: String,
    /// `statuses` (e.g. `["ACTIVE"]`).
    pub statuses: Vec<String>,
    /// Versions, oldest first.
    pub versions: Vec<WorkflowVersion>,
}

/// A `workflowVersion` record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WorkflowVersion {
    /// Source record id.
    pub id: Uuid,
    /// `name` (e.g. `v1`).
    pub name: String,
    /// `status`: DRAFT, ACTIVE, DEACTIVATED, ARCHIVED.
    pub status: String,
    /// `trigger` as stored.
    pub trigger: Value,
    /// `steps` as stored.
    pub steps: Value,
}

/// A `dashboard` record with the page layout its `pageLayoutId` names
/// (`modules/dashboard/standard-objects/dashboard.workspace-entity.ts`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Dashboard {
    /// Source record id.
    pub id: Uuid,
    /// `title`.
    pub title: Option<String>,
    /// `position`.
    pub position: f64,
    /// The layout; `None` when `pageLayoutId` names no live `core."pageLayout"` row.
    pub layout: Option<PageLayout>,
}

/// `core."pageLayout"` (`page-layout/entities/page-layout.entity.ts`) with its tabs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PageLayout {
    /// Source id (the target assigns its own on create).
    pub id: Uuid,
    /// `name`.
    pub name: String,
    /// `type`: DASHBOARD, RECORD_PAGE, RECORD_INDEX, STANDALONE_PAGE.
    pub kind: String,
    /// `objectMetadataId`, by object name (`None` for a dashboard).
    pub object: Option<String>,
    /// Belongs to Twenty's standard application.
    pub is_standard: bool,
    /// `universalIdentifier`: a standard layout's is the same in every workspace.
    #[serde(default)]
    pub universal_identifier: Option<Uuid>,
    /// Made by the server (`isSystemSideEffect`): a custom object's default record page.
    #[serde(default)]
    pub side_effect: bool,
    /// Tabs by position.
    pub tabs: Vec<PageLayoutTab>,
}

/// What a page layout's tab and widget have beside their effective values: whether they are
/// shown, and whether the server made them (a fresh target has its own copy).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LayoutPart {
    /// `isActive`: a standard one the workspace removed is kept, deactivated.
    pub is_active: bool,
    /// Made by the server (standard application or a side effect), not by the workspace.
    pub standard: bool,
    /// The title before the workspace's overrides: what the target's copy is called.
    pub base_title: Option<String>,
}

impl Default for LayoutPart {
    fn default() -> Self {
        Self {
            is_active: true,
            standard: false,
            base_title: None,
        }
    }
}

/// `core."pageLayoutTab"`, effective values (`overrides` applied).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PageLayoutTab {
    /// Source id (kept on the target through `updatePageLayoutWithTabsAndWidgets`).
    pub id: Uuid,
    /// `title`.
    pub title: String,
    /// `position`.
    pub position: f64,
    /// `icon`.
    pub icon: Option<String>,
    /// `layoutMode`: GRID, VERTICAL_LIST, CANVAS (`None` before the column existed).
    pub layout_mode: Option<String>,
    /// Widgets, in source order (`id`).
    pub widgets: Vec<PageLayoutWidget>,
    /// Shown, made by the server, base title.
    #[serde(default)]
    pub part: LayoutPart,
}

/// `core."pageLayoutWidget"`, effective values (`overrides` applied).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PageLayoutWidget {
    /// Source id.
    pub id: Uuid,
    /// `title`.
    pub title: String,
    /// `type`: GRAPH, IFRAME, FIELDS, VIEW…
    pub kind: String,
    /// `objectMetadataId`, by object name.
    pub object: Option<String>,
    /// `gridPosition` as stored (`{row, column, rowSpan, columnSpan}`).
    pub grid_position: Value,
    /// `position` as stored (2.x), if any.
    pub position: Option<Value>,
    /// `configuration` as stored except that every string under a key ending in
    /// `FieldMetadataId` (at any depth) is replaced by the field as `{"object": …, "field": …}`
    /// (a [`FieldRef`]); an id that names no field of the source stays as it is. `viewId`
    /// keys keep the source view id.
    pub configuration: Value,
    /// Shown, made by the server, base title.
    #[serde(default)]
    pub part: LayoutPart,
}

impl PageLayoutWidget {
    /// Whether it shows an application's front component (`configurationType`
    /// FRONT_COMPONENT): a real 2.21 refuses the whole layout when the target lacks that
    /// application's component (rehearsal r20).
    pub fn shows_front_component(&self) -> bool {
        self.configuration
            .get("configurationType")
            .and_then(Value::as_str)
            == Some("FRONT_COMPONENT")
    }
}
