//! Twenty 2.21's workspace configuration on `/metadata`: views and their children, roles and
//! permissions, webhooks, API keys and navigation menu items, as the twin's Admin-role API key
//! may (or may not) use them, and what a fresh 2.21 workspace already has.
//!
//! Paths below are under `packages/twenty-server/src/`: `MM/` is `engine/metadata-modules/`,
//! `CM/` is `engine/core-modules/`, `VAL/` is
//! `engine/workspace-manager/workspace-migration/workspace-migration-builder/validators/services/`.
//! Answers recorded from a real 2.21: `tests/conformance/twenty-2.21/config-*.json`.

mod agents;
mod children;
mod field_groups;
mod fresh;
mod layouts;
mod misc;
mod record_pages;
mod roles;
mod row_level;
mod views;
mod widget_configuration;

use std::sync::Arc;

use async_graphql::{
    Context, Enum, Error, ErrorExtensions, InputValueError, InputValueResult, Scalar, ScalarType,
};
use chrono::Utc;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use uuid::Uuid;

use super::input::iso;
use super::schema::stable_id;
use super::{lock, Shared};

pub use agents::Agent;
pub use children::{ViewField, ViewFilter, ViewFilterGroup, ViewGroup, ViewSort};
pub use field_groups::ViewFieldGroup;
pub use layouts::{PageLayout, PageLayoutTab, PageLayoutType, PageLayoutWidget};
pub use misc::{NavigationMenuItem, Webhook};
pub use roles::{FieldPermission, ObjectPermission, Role};
pub use row_level::{RowLevelPermissionPredicate, RowLevelPermissionPredicateGroup};
pub use views::View;

/// The `/metadata` queries of the workspace configuration.
#[derive(async_graphql::MergedObject, Default)]
pub struct ConfigQuery(
    views::ViewQuery,
    children::ChildQuery,
    field_groups::FieldGroupQuery,
    roles::RoleQuery,
    misc::MiscQuery,
    layouts::LayoutQuery,
    agents::AgentQuery,
);

/// The `/metadata` mutations of the workspace configuration.
#[derive(async_graphql::MergedObject, Default)]
pub struct ConfigMutation(
    views::ViewMutation,
    children::ChildMutation,
    field_groups::FieldGroupMutation,
    roles::RoleMutation,
    row_level::RowLevelMutation,
    misc::MiscMutation,
    layouts::LayoutMutation,
    record_pages::RecordPageMutation,
    agents::AgentMutation,
);

/// The workspace configuration the twin holds.
#[derive(Debug, Clone, Default)]
pub struct State {
    /// Views, soft-deleted ones included (`deleteView` keeps the row and its id).
    pub views: Vec<View>,
    /// View fields.
    pub view_fields: Vec<ViewField>,
    /// View filters.
    pub view_filters: Vec<ViewFilter>,
    /// View filter groups.
    pub view_filter_groups: Vec<ViewFilterGroup>,
    /// View sorts.
    pub view_sorts: Vec<ViewSort>,
    /// View groups.
    pub view_groups: Vec<ViewGroup>,
    /// Record-page field sections.
    pub view_field_groups: Vec<ViewFieldGroup>,
    /// Roles, with their permissions.
    pub roles: Vec<Role>,
    /// Webhooks.
    pub webhooks: Vec<Webhook>,
    /// Navigation menu items.
    pub navigation_menu_items: Vec<NavigationMenuItem>,
    /// Page layouts with their tabs and widgets.
    pub page_layouts: Vec<PageLayout>,
    /// Row-level permission predicates of roles, soft-deleted ones included.
    pub rls_predicates: Vec<RowLevelPermissionPredicate>,
    /// Their groups, soft-deleted ones included.
    pub rls_groups: Vec<RowLevelPermissionPredicateGroup>,
    /// AI agents, soft-deleted ones included.
    pub agents: Vec<Agent>,
    /// This workspace's id when set (else the twin's fixed one).
    pub workspace: Option<Uuid>,
    /// Ids other workspaces of the same server hold in the shared `core` tables: a create with
    /// one of them fails on the primary key (rehearsal r19).
    pub held_elsewhere: std::collections::HashSet<Uuid>,
}

impl State {
    /// The workspace's id.
    pub fn workspace(&self) -> Uuid {
        self.workspace.unwrap_or_else(|| workspace_id().0)
    }

    /// The live (not soft-deleted) view with this id.
    pub fn view(&self, id: Uuid) -> Option<&View> {
        self.views
            .iter()
            .find(|v| v.id.0 == id && v.deleted_at.is_none())
    }
}

/// Twenty's `UUID` scalar: a string in and out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Id(pub Uuid);

#[Scalar(name = "UUID")]
impl ScalarType for Id {
    fn parse(value: async_graphql::Value) -> InputValueResult<Self> {
        match &value {
            async_graphql::Value::String(s) => Uuid::parse_str(s)
                .map(Id)
                .map_err(|_| InputValueError::custom(format!("Invalid UUID: '{s}'"))),
            _ => Err(InputValueError::expected_type(value)),
        }
    }

    fn to_value(&self) -> async_graphql::Value {
        async_graphql::Value::String(self.0.to_string())
    }
}

/// `AggregateOperations` (`MM/../twenty-shared` aggregate operations enum).
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[allow(missing_docs)]
pub enum AggregateOperations {
    Min,
    Max,
    Avg,
    Sum,
    Count,
    CountUniqueValues,
    CountEmpty,
    CountNotEmpty,
    CountTrue,
    CountFalse,
    PercentageEmpty,
    PercentageNotEmpty,
}

fn shared<'a>(ctx: &Context<'a>) -> async_graphql::Result<&'a Arc<Shared>> {
    ctx.data::<Arc<Shared>>()
}

fn now() -> String {
    iso(Utc::now())
}

/// The workspace id every row carries.
fn workspace_id() -> Id {
    Id(stable_id("workspace", "twin"))
}

/// The universalIdentifier of the workspace's custom application (API creates belong to it:
/// `findWorkspaceTwentyStandardAndCustomApplicationOrThrow`, `MM/view/services/view.service.ts`).
fn custom_application() -> Uuid {
    stable_id("application", "custom")
}

/// The universalIdentifier a field has in migration errors. The twin's `Field.universalIdentifier`
/// is its id; a real server's differs, and its errors name the universal one.
fn field_universal_identifier(field: Uuid) -> Uuid {
    stable_id("fieldUniversalIdentifier", &field.to_string())
}

/// Twenty's UUID check for client ids: versions 1–5 and the RFC variant
/// (`assert-is-valid-uuid.util.ts`). A real 2.21 inserts a view with another id and then fails
/// every read of its object with `Invalid UUID` (issue 16 facts §1.2); the twin refuses it up
/// front with the same message instead of corrupting its state.
fn check_client_id(
    state: &State,
    id: Option<Id>,
    metadata_name: &str,
) -> async_graphql::Result<Uuid> {
    match id {
        None => Ok(Uuid::new_v4()),
        // The primary key spans the server's workspaces (`view.entity.ts` …).
        Some(Id(id)) if state.held_elsewhere.contains(&id) => Err(migration_failed(metadata_name)),
        Some(Id(id)) => {
            let rfc = id.get_variant() == uuid::Variant::RFC4122
                && (1..=5).contains(&id.get_version_num());
            if rfc {
                Ok(id)
            } else {
                Err(internal(
                    format!("Invalid UUID: '{id}'"),
                    "An error occurred.",
                ))
            }
        }
    }
}

/// An `INTERNAL_SERVER_ERROR` (a failed migration action, a missing object).
fn internal(message: impl Into<String>, friendly: &str) -> Error {
    let friendly = friendly.to_owned();
    Error::new(message).extend_with(move |_, e| {
        e.set("code", "INTERNAL_SERVER_ERROR");
        e.set("userFriendlyMessage", friendly.clone());
    })
}

/// A create refused by the database (primary key or unique index): the migration runner's
/// `Migration action 'create' for '<name>' (universalIdentifier: …) failed` (recorded).
fn migration_failed(metadata_name: &str) -> Error {
    internal(
        format!(
            "Migration action 'create' for '{metadata_name}' (universalIdentifier: {}) failed",
            Uuid::new_v4()
        ),
        "Migration execution failed.",
    )
}

/// A guard refusal: `FORBIDDEN` with Twenty's user-friendly text.
fn forbidden(message: &str, sub_code: Option<&str>, friendly: &str) -> Error {
    let (sub_code, friendly) = (sub_code.map(str::to_owned), friendly.to_owned());
    Error::new(message).extend_with(move |_, e| {
        e.set("code", "FORBIDDEN");
        if let Some(sub) = &sub_code {
            e.set("subCode", sub.clone());
        }
        e.set("userFriendlyMessage", friendly.clone());
    })
}

/// `UserAuthGuard` (`engine/guards/user-auth.guard.ts`): an API key has no user.
fn user_only() -> Error {
    forbidden("Forbidden resource", None, "An error occurred.")
}

/// `RequireAccessTokenGuard` (`engine/guards/require-access-token.guard.ts`).
fn session_only() -> Error {
    forbidden(
        "This endpoint requires a session access token",
        Some("FORBIDDEN_EXCEPTION"),
        "You do not have permission to perform this action.",
    )
}

/// A `BAD_USER_INPUT` with a sub-code and Twenty's user-friendly text.
fn bad_input(message: impl Into<String>, sub_code: &str, friendly: &str) -> Error {
    let (sub_code, friendly) = (sub_code.to_owned(), friendly.to_owned());
    Error::new(message).extend_with(move |_, e| {
        e.set("code", "BAD_USER_INPUT");
        e.set("subCode", sub_code.clone());
        e.set("userFriendlyMessage", friendly.clone());
    })
}

/// One reason of a validation refusal.
struct Reason {
    code: &'static str,
    message: String,
    friendly: Option<String>,
}

fn reason(code: &'static str, message: impl Into<String>, friendly: Option<&str>) -> Reason {
    Reason {
        code,
        message: message.into(),
        friendly: friendly.map(str::to_owned),
    }
}

/// One refused entity of a validation refusal.
struct Refused {
    metadata_name: &'static str,
    minimal: Value,
    reasons: Vec<Reason>,
}

/// The workspace migration validator's refusal (`METADATA_VALIDATION_FAILED`,
/// `engine/workspace-manager/workspace-migration/…/workspace-migration-build-orchestrator`):
/// the entities under `extensions.errors.<metadataName>[]`, a summary counting them, and the
/// first reason's user-friendly text ("Many validation errors" for several entities,
/// "Metadata validation failed" when the reason has none).
fn validation_failed(message: &str, refused: Vec<Refused>) -> Error {
    validation_failed_as(message, "create", refused)
}

/// [`validation_failed`] for an operation of another `type` (`update`, `delete`).
fn validation_failed_as(message: &str, operation: &str, refused: Vec<Refused>) -> Error {
    let mut errors = serde_json::Map::new();
    let mut summary = serde_json::Map::new();
    let mut names: Vec<&str> = Vec::new();
    let total = refused.len();
    let friendly = match refused.first().and_then(|r| r.reasons.first()) {
        _ if total > 1 => "Many validation errors".to_owned(),
        Some(Reason {
            friendly: Some(f), ..
        }) => f.clone(),
        _ => "Metadata validation failed".to_owned(),
    };
    for r in refused {
        let reasons: Vec<Value> = r
            .reasons
            .iter()
            .map(|x| {
                let mut v = json!({"code": x.code, "message": x.message});
                if let Some(f) = &x.friendly {
                    v["userFriendlyMessage"] = json!(f);
                }
                v
            })
            .collect();
        let entry = json!({
            "errors": reasons, "flatEntityMinimalInformation": r.minimal,
            "metadataName": r.metadata_name, "status": "fail", "type": operation,
        });
        let list = errors
            .entry(r.metadata_name)
            .or_insert_with(|| Value::Array(Vec::new()));
        if let Value::Array(list) = list {
            list.push(entry);
        }
        let count = summary.entry(r.metadata_name).or_insert(json!(0));
        *count = json!(count.as_u64().unwrap_or(0) + 1);
        if !names.contains(&r.metadata_name) {
            names.push(r.metadata_name);
        }
    }
    summary.insert("totalErrors".into(), json!(total));
    let counted: Vec<String> = names
        .iter()
        .map(|n| format!("{} {n}", summary[*n]))
        .collect();
    let detail = format!("Validation failed for {}", counted.join(", "));
    let (errors, summary) = (Value::Object(errors), Value::Object(summary));
    Error::new(message).extend_with(move |_, e| {
        e.set("code", "METADATA_VALIDATION_FAILED");
        e.set(
            "errors",
            async_graphql::Value::from_json(errors.clone()).unwrap_or_default(),
        );
        e.set("message", detail.clone());
        e.set(
            "summary",
            async_graphql::Value::from_json(summary.clone()).unwrap_or_default(),
        );
        e.set("userFriendlyMessage", friendly.clone());
    })
}

/// The standard views, roles and navigation items of a fresh workspace with this model.
pub(super) fn fresh_state(model: &super::schema::Model, key_role: super::KeyRole) -> State {
    let mut state = fresh::state(model);
    if key_role == super::KeyRole::ReadOnly {
        for role in &mut state.roles {
            role.holds_key = false;
        }
        state.roles.push(fresh::read_only());
    }
    state
}

/// What `createOneObject` adds besides the object (`MM/object-metadata/object-metadata.service.ts`):
/// its INDEX and record-page views with their fields, and a workspace-level OBJECT item.
pub(super) fn on_object_created(shared: &Shared, object: &super::schema::ObjectMeta) {
    let mut state = lock(&shared.config_state);
    fresh::object_views(&mut state, object, true);
    fresh::object_item(&mut state, object, true);
}

/// How many record writes (creates, updates and deletes) the twin counted since this webhook was
/// created; the twin never calls webhook URLs.
pub(super) fn webhook_writes_after(shared: &Shared, id: Uuid) -> Option<u64> {
    let state = lock(&shared.config_state);
    let hook = state.webhooks.iter().find(|w| w.id.0 == id)?;
    Some(
        shared
            .record_writes()
            .saturating_sub(hook.writes_at_creation),
    )
}
