//! Views: `getViews`, `getView`, `createView`, `updateView`, `deleteView`, `destroyView`
//! (`MM/view/resolvers/view.resolver.ts`, `MM/view/dtos/inputs/create-view.input.ts`,
//! `update-view.input.ts`).

use async_graphql::{ComplexObject, Context, Enum, InputObject, Object, SimpleObject};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use uuid::Uuid;

use super::children::{ViewField, ViewFilter, ViewFilterGroup, ViewGroup, ViewSort};
use super::field_groups::ViewFieldGroup;
use super::{
    check_client_id, forbidden, internal, migration_failed, now, reason, shared, validation_failed,
    workspace_id, AggregateOperations, Id, Refused, State,
};
use crate::twin::lock;
use crate::twin::schema::{FieldMeta, ObjectMeta, RelationKind};

/// `ViewType`.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[allow(missing_docs)]
pub enum ViewType {
    Table,
    Kanban,
    Calendar,
    FieldsWidget,
    TableWidget,
}

/// `ViewKey`.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[allow(missing_docs)]
pub enum ViewKey {
    Index,
}

/// `ViewOpenRecordIn`.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[allow(missing_docs)]
pub enum ViewOpenRecordIn {
    SidePanel,
    RecordPage,
}

/// `ViewVisibility`.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[allow(missing_docs)]
pub enum ViewVisibility {
    Workspace,
    Unlisted,
}

/// `ViewCalendarLayout`.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[allow(missing_docs)]
pub enum ViewCalendarLayout {
    Day,
    Week,
    Month,
}

/// A view (`MM/view/dtos/view.dto.ts`), stored with its base values; reads apply the overrides.
#[derive(SimpleObject, Clone, Debug, Serialize, Deserialize)]
#[graphql(name = "View", complex)]
#[serde(rename_all = "camelCase")]
pub struct View {
    /// Id.
    pub id: Id,
    /// Name; a standard view's may be the template `All {objectLabelPlural}`, which reads
    /// translated (`view.resolver.ts:56-110`).
    pub name: String,
    /// The object.
    pub object_metadata_id: Id,
    /// TABLE, KANBAN, …
    #[graphql(name = "type")]
    #[serde(rename = "type")]
    pub view_type: ViewType,
    /// INDEX for an object's main view.
    pub key: Option<ViewKey>,
    /// Icon.
    pub icon: String,
    /// Position.
    pub position: f64,
    /// Compact rows.
    pub is_compact: bool,
    /// Made through the API (`from-create-view-input-to-flat-view-to-create.util.ts:70`).
    pub is_custom: bool,
    /// Side panel or record page.
    pub open_record_in: ViewOpenRecordIn,
    /// Kanban aggregate.
    pub kanban_aggregate_operation: Option<AggregateOperations>,
    /// Kanban aggregate field.
    pub kanban_aggregate_operation_field_metadata_id: Option<Id>,
    /// The grouping field (KANBAN, or a grouped TABLE).
    pub main_group_by_field_metadata_id: Option<Id>,
    /// Hide empty groups.
    pub should_hide_empty_groups: bool,
    /// Kanban column width.
    pub kanban_column_width: Option<i32>,
    /// Calendar field.
    pub calendar_field_metadata_id: Option<Id>,
    /// Workspace.
    pub workspace_id: Id,
    /// Any-field filter.
    pub any_field_filter_value: Option<String>,
    /// Calendar layout.
    pub calendar_layout: Option<ViewCalendarLayout>,
    /// Created.
    pub created_at: String,
    /// Updated.
    pub updated_at: String,
    /// Soft-deleted.
    pub deleted_at: Option<String>,
    /// WORKSPACE or UNLISTED.
    pub visibility: ViewVisibility,
    /// The owner of an UNLISTED view.
    pub created_by_user_workspace_id: Option<Id>,
    /// Active.
    pub is_active: bool,
    /// Random for API-made views (facts §1.2); named in migration errors.
    #[graphql(skip)]
    pub universal_identifier: Uuid,
    /// The object's plural label, for the `{objectLabelPlural}` template.
    #[graphql(skip)]
    pub object_label_plural: String,
    /// A standard view's edits (`overridable-entity.ts`): the effective value is
    /// `overrides.<prop> ?? base`.
    #[graphql(skip)]
    pub overrides: Map<String, Value>,
}

impl View {
    /// The view as read: the name template translated, the overrides applied.
    pub fn effective(&self) -> View {
        let mut view = self.clone();
        view.name = view
            .name
            .replace("{objectLabelPlural}", &view.object_label_plural);
        if view.overrides.is_empty() {
            return view;
        }
        let Ok(Value::Object(mut base)) = serde_json::to_value(&view) else {
            return view;
        };
        for (k, v) in &self.overrides {
            base.insert(k.clone(), v.clone());
        }
        serde_json::from_value(Value::Object(base)).unwrap_or(view)
    }
}

#[allow(clippy::unused_async)]
#[ComplexObject]
impl View {
    async fn view_fields(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<ViewField>> {
        let state = lock(&shared(ctx)?.config_state);
        Ok(super::children::fields_of(&state, self.id.0))
    }

    async fn view_filters(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<ViewFilter>> {
        let state = lock(&shared(ctx)?.config_state);
        Ok(super::children::of_view(&state.view_filters, self.id.0))
    }

    async fn view_filter_groups(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Vec<ViewFilterGroup>> {
        let state = lock(&shared(ctx)?.config_state);
        Ok(super::children::of_view(
            &state.view_filter_groups,
            self.id.0,
        ))
    }

    async fn view_sorts(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<ViewSort>> {
        let state = lock(&shared(ctx)?.config_state);
        Ok(super::children::of_view(&state.view_sorts, self.id.0))
    }

    async fn view_groups(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<ViewGroup>> {
        let state = lock(&shared(ctx)?.config_state);
        Ok(super::children::groups_of(&state, self.id.0))
    }

    async fn view_field_groups(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Vec<ViewFieldGroup>> {
        let state = lock(&shared(ctx)?.config_state);
        Ok(super::field_groups::sections_of(&state, self.id.0))
    }
}

/// `CreateViewInput`.
#[derive(InputObject, Serialize)]
#[serde(rename_all = "camelCase")]
#[allow(missing_docs)]
pub struct CreateViewInput {
    pub id: Option<Id>,
    pub name: String,
    pub object_metadata_id: Id,
    #[graphql(name = "type", default_with = "ViewType::Table")]
    #[serde(rename = "type")]
    pub view_type: ViewType,
    pub key: Option<ViewKey>,
    pub icon: String,
    #[graphql(default)]
    pub position: f64,
    #[graphql(default)]
    pub is_compact: bool,
    #[graphql(default)]
    pub should_hide_empty_groups: bool,
    pub kanban_column_width: Option<i32>,
    #[graphql(default_with = "ViewOpenRecordIn::SidePanel")]
    pub open_record_in: ViewOpenRecordIn,
    pub kanban_aggregate_operation: Option<AggregateOperations>,
    pub kanban_aggregate_operation_field_metadata_id: Option<Id>,
    pub any_field_filter_value: Option<String>,
    pub calendar_layout: Option<ViewCalendarLayout>,
    pub calendar_field_metadata_id: Option<Id>,
    pub main_group_by_field_metadata_id: Option<Id>,
    pub visibility: Option<ViewVisibility>,
}

/// `UpdateViewInput`: every field optional, no `key` nor `objectMetadataId`.
#[derive(InputObject, Serialize)]
#[serde(rename_all = "camelCase")]
#[allow(missing_docs)]
pub struct UpdateViewInput {
    #[serde(skip)]
    pub id: Option<Id>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[graphql(name = "type")]
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub view_type: Option<ViewType>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub icon: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub position: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub is_compact: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub open_record_in: Option<ViewOpenRecordIn>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kanban_aggregate_operation: Option<AggregateOperations>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kanban_aggregate_operation_field_metadata_id: Option<Id>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub any_field_filter_value: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub calendar_layout: Option<ViewCalendarLayout>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub calendar_field_metadata_id: Option<Id>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub visibility: Option<ViewVisibility>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub main_group_by_field_metadata_id: Option<Id>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub should_hide_empty_groups: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kanban_column_width: Option<i32>,
}

/// View queries.
#[derive(Default)]
pub struct ViewQuery;

#[allow(clippy::unused_async)]
#[Object]
impl ViewQuery {
    /// The workspace-level views, of one object and of some types (`view.resolver.ts:114`); an
    /// API key sees no UNLISTED view (`MM/view/services/view.service.ts:424-432`).
    async fn get_views(
        &self,
        ctx: &Context<'_>,
        object_metadata_id: Option<String>,
        view_types: Option<Vec<ViewType>>,
    ) -> async_graphql::Result<Vec<View>> {
        let state = lock(&shared(ctx)?.config_state);
        let object = object_metadata_id.and_then(|o| Uuid::parse_str(&o).ok());
        let mut list: Vec<View> = state
            .views
            .iter()
            .filter(|v| v.deleted_at.is_none() && v.visibility == ViewVisibility::Workspace)
            .filter(|v| object.is_none_or(|o| v.object_metadata_id.0 == o))
            .filter(|v| {
                view_types
                    .as_ref()
                    .is_none_or(|t| t.contains(&v.effective().view_type))
            })
            .map(View::effective)
            .collect();
        list.sort_by(|a, b| a.position.total_cmp(&b.position));
        Ok(list)
    }

    /// One live view; a soft-deleted one reads as null.
    async fn get_view(&self, ctx: &Context<'_>, id: String) -> async_graphql::Result<Option<View>> {
        let state = lock(&shared(ctx)?.config_state);
        Ok(Uuid::parse_str(&id)
            .ok()
            .and_then(|id| state.view(id))
            .map(View::effective))
    }
}

/// View mutations.
#[derive(Default)]
pub struct ViewMutation;

/// The validator's KANBAN rules (`VAL/flat-view-validator.service.ts:105-175`): a main group
/// by field, a SELECT or a many-to-one relation. The refused create also carries the group
/// computed for it (a nullable field's empty group), refused as "View not found".
fn kanban_refusal(
    input: &CreateViewInput,
    object: &ObjectMeta,
    uid: Uuid,
) -> Option<async_graphql::Error> {
    let message = "Multiple validation errors occurred while creating view";
    let view_refused = |text: &str, friendly: &str| Refused {
        metadata_name: "view",
        minimal: serde_json::json!({"universalIdentifier": uid}),
        reasons: vec![reason("INVALID_VIEW_DATA", text, Some(friendly))],
    };
    let Some(Id(field_id)) = input.main_group_by_field_metadata_id else {
        if input.view_type != ViewType::Kanban {
            return None;
        }
        let text = "Kanban view must have a main group by field";
        return Some(validation_failed(message, vec![view_refused(text, text)]));
    };
    let Some(field) = object.fields.iter().find(|f| f.id == field_id) else {
        let text = "Kanban main group by field metadata not found";
        return Some(validation_failed(message, vec![view_refused(text, text)]));
    };
    if groupable(field) {
        return None;
    }
    let mut refused = vec![view_refused(
        "Kanban main group by field must be a SELECT or a many-to-one relation field",
        "Kanban main group by field must be a select or a many-to-one relation field",
    )];
    if field.is_nullable {
        refused.push(Refused {
            metadata_name: "viewGroup",
            minimal: serde_json::json!({"universalIdentifier": Uuid::new_v4(), "viewUniversalIdentifier": uid}),
            reasons: vec![reason("INVALID_VIEW_DATA", "View not found", Some("View not found"))],
        });
    }
    Some(validation_failed(message, refused))
}

fn groupable(field: &FieldMeta) -> bool {
    field.field_type == "SELECT"
        || field
            .relation
            .as_ref()
            .is_some_and(|r| r.kind == RelationKind::ManyToOne && field.field_type == "RELATION")
}

/// The groups a view grouped by `field` gets on create: one per option, then the empty
/// value when the field is nullable (`MM/flat-view-group/utils/compute-flat-view-groups-on-view-create.util.ts`).
pub(super) fn groups_for(field: &FieldMeta) -> Vec<String> {
    if field.field_type != "SELECT" {
        return Vec::new();
    }
    let mut values = field.option_values();
    if field.is_nullable {
        values.push(String::new());
    }
    values
}

/// A new view row.
pub(super) fn new_view(
    id: Uuid,
    object: &ObjectMeta,
    input: &CreateViewInput,
    custom: bool,
) -> View {
    let at = now();
    View {
        id: Id(id),
        name: input.name.clone(),
        object_metadata_id: Id(object.id),
        view_type: input.view_type,
        key: input.key,
        icon: input.icon.clone(),
        position: input.position,
        is_compact: input.is_compact,
        is_custom: custom,
        open_record_in: input.open_record_in,
        kanban_aggregate_operation: input.kanban_aggregate_operation,
        kanban_aggregate_operation_field_metadata_id: input
            .kanban_aggregate_operation_field_metadata_id,
        main_group_by_field_metadata_id: input.main_group_by_field_metadata_id,
        should_hide_empty_groups: input.should_hide_empty_groups,
        kanban_column_width: input.kanban_column_width,
        calendar_field_metadata_id: input.calendar_field_metadata_id,
        workspace_id: workspace_id(),
        any_field_filter_value: input.any_field_filter_value.clone(),
        calendar_layout: input.calendar_layout,
        created_at: at.clone(),
        updated_at: at,
        deleted_at: None,
        visibility: input.visibility.unwrap_or(ViewVisibility::Workspace),
        created_by_user_workspace_id: None,
        is_active: true,
        universal_identifier: Uuid::new_v4(),
        object_label_plural: object.label_plural.clone(),
        overrides: Map::new(),
    }
}

/// Inserts a view and the groups its grouping field gives it.
pub(super) fn insert_view(state: &mut State, view: View, object: &ObjectMeta) {
    let group_field = view
        .main_group_by_field_metadata_id
        .and_then(|Id(f)| object.fields.iter().find(|x| x.id == f));
    if let Some(field) = group_field {
        for (i, value) in groups_for(field).into_iter().enumerate() {
            state.view_groups.push(super::children::new_group(
                Uuid::new_v4(),
                view.id.0,
                value,
                i as f64,
            ));
        }
    }
    state.views.push(view);
}

#[allow(clippy::unused_async)]
#[Object]
impl ViewMutation {
    /// Creates a view, keeping a client id (`from-create-view-input-to-flat-view-to-create.util.ts:43`).
    async fn create_view(
        &self,
        ctx: &Context<'_>,
        input: CreateViewInput,
    ) -> async_graphql::Result<View> {
        let s = shared(ctx)?;
        // view-access.service.ts:82-89: UNLISTED views need a user workspace.
        if input.visibility == Some(ViewVisibility::Unlisted) {
            return Err(forbidden(
                "You do not have permission to create workspace-level views",
                None,
                "You don't have permission to create workspace-level views.",
            ));
        }
        let db = lock(&s.db);
        let object = db
            .model
            .by_id(input.object_metadata_id.0)
            .cloned()
            .ok_or_else(|| {
                internal(
                    "Could not find objectMetadata for given objectMetadataId",
                    "An error occurred.",
                )
            })?;
        drop(db);
        let mut state = lock(&s.config_state);
        let id = check_client_id(&state, input.id, "view")?;
        let view = new_view(id, &object, &input, true);
        if let Some(refusal) = kanban_refusal(&input, &object, view.universal_identifier) {
            return Err(refusal);
        }
        // The primary key holds soft-deleted rows too (facts §1.2).
        if state.views.iter().any(|v| v.id.0 == id) {
            return Err(migration_failed("view"));
        }
        insert_view(&mut state, view.clone(), &object);
        Ok(view.effective())
    }

    /// Updates a view; a standard view keeps its base values and stores the change as an
    /// override, cleared when set back to the base (`overridable-entity.ts`, facts §1.2).
    async fn update_view(
        &self,
        ctx: &Context<'_>,
        id: String,
        input: UpdateViewInput,
    ) -> async_graphql::Result<View> {
        let s = shared(ctx)?;
        let mut state = lock(&s.config_state);
        let view_id = Uuid::parse_str(&id).ok();
        let Some(view) = state
            .views
            .iter_mut()
            .find(|v| Some(v.id.0) == view_id && v.deleted_at.is_none())
        else {
            return Err(internal("View not found", "An error occurred."));
        };
        let changes = match serde_json::to_value(&input) {
            Ok(Value::Object(m)) => m,
            _ => Map::new(),
        };
        let mut base = match serde_json::to_value(&*view) {
            Ok(Value::Object(m)) => m,
            _ => Map::new(),
        };
        if view.is_custom {
            base.extend(changes);
            if let Ok(updated) = serde_json::from_value::<View>(Value::Object(base)) {
                *view = updated;
            }
        } else {
            let translated = view.clone().effective_base();
            for (k, v) in changes {
                if translated.get(&k) == Some(&v) {
                    view.overrides.remove(&k);
                } else {
                    view.overrides.insert(k, v);
                }
            }
        }
        view.updated_at = now();
        Ok(view.effective())
    }

    /// Soft-deletes a view: it reads as null, its id stays taken.
    async fn delete_view(&self, ctx: &Context<'_>, id: String) -> async_graphql::Result<bool> {
        let mut state = lock(&shared(ctx)?.config_state);
        let id = Uuid::parse_str(&id).ok();
        let Some(view) = state
            .views
            .iter_mut()
            .find(|v| Some(v.id.0) == id && v.deleted_at.is_none())
        else {
            return Ok(false);
        };
        view.deleted_at = Some(now());
        Ok(true)
    }

    /// Removes a view, soft-deleted or not, with its children and the navigation items that
    /// point at it (foreign keys ON DELETE CASCADE).
    async fn destroy_view(&self, ctx: &Context<'_>, id: String) -> async_graphql::Result<bool> {
        let mut state = lock(&shared(ctx)?.config_state);
        let Ok(id) = Uuid::parse_str(&id) else {
            return Ok(false);
        };
        let before = state.views.len();
        state.views.retain(|v| v.id.0 != id);
        state.view_fields.retain(|c| c.view_id.0 != id);
        state.view_filters.retain(|c| c.view_id.0 != id);
        state.view_filter_groups.retain(|c| c.view_id.0 != id);
        state.view_sorts.retain(|c| c.view_id.0 != id);
        state.view_groups.retain(|c| c.view_id.0 != id);
        state
            .navigation_menu_items
            .retain(|n| n.view_id.map(|v| v.0) != Some(id));
        Ok(state.views.len() < before)
    }
}

impl View {
    /// The base values as JSON, the name template translated.
    fn effective_base(mut self) -> Map<String, Value> {
        self.overrides.clear();
        match serde_json::to_value(self.effective()) {
            Ok(Value::Object(m)) => m,
            _ => Map::new(),
        }
    }
}
