//! A view's children: fields, filters, filter groups, sorts and groups, each read by view
//! and created with a client id (`from-create-*-input-to-flat-*-to-create.util.ts` under
//! `MM/flat-view-*/utils/`; resolvers `MM/view-*/resolvers/*.resolver.ts`).

use async_graphql::{Context, Enum, InputObject, Json, MaybeUndefined, Object, SimpleObject};
use serde_json::{json, Value};
use uuid::Uuid;

use super::{
    check_client_id, field_universal_identifier, migration_failed, now, reason, shared,
    validation_failed, workspace_id, AggregateOperations, Id, Refused, State,
};
use crate::twin::lock;
use crate::twin::schema::Model;

/// A row that belongs to a view.
pub(super) trait Child: Clone {
    /// Its view.
    fn view(&self) -> Uuid;
}

macro_rules! child {
    ($t:ty) => {
        impl Child for $t {
            fn view(&self) -> Uuid {
                self.view_id.0
            }
        }
    };
}

/// `ViewFilterOperand`.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[allow(missing_docs)]
pub enum ViewFilterOperand {
    Is,
    IsNotNull,
    IsNot,
    LessThanOrEqual,
    GreaterThanOrEqual,
    IsBefore,
    IsAfter,
    Contains,
    DoesNotContain,
    IsEmpty,
    IsNotEmpty,
    IsRelative,
    IsInPast,
    IsInFuture,
    IsToday,
    VectorSearch,
}

/// `ViewSortDirection`.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[allow(missing_docs)]
pub enum ViewSortDirection {
    Asc,
    Desc,
}

/// `ViewFilterGroupLogicalOperator`.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[allow(missing_docs)]
pub enum ViewFilterGroupLogicalOperator {
    And,
    Or,
    Not,
}

/// A view field (`MM/view-field/dtos/view-field.dto.ts`).
#[derive(SimpleObject, Clone, Debug)]
#[allow(missing_docs)]
pub struct ViewField {
    pub id: Id,
    pub field_metadata_id: Id,
    pub is_visible: bool,
    pub size: f64,
    pub position: f64,
    pub aggregate_operation: Option<AggregateOperations>,
    pub view_id: Id,
    pub view_field_group_id: Option<Id>,
    pub workspace_id: Id,
    pub created_at: String,
    pub updated_at: String,
    pub is_active: bool,
    pub deleted_at: Option<String>,
}
child!(ViewField);

/// A view filter (`MM/view-filter/dtos/view-filter.dto.ts`).
#[derive(SimpleObject, Clone, Debug)]
#[allow(missing_docs)]
pub struct ViewFilter {
    pub id: Id,
    pub field_metadata_id: Id,
    pub operand: ViewFilterOperand,
    pub value: Json<Value>,
    pub view_filter_group_id: Option<Id>,
    pub position_in_view_filter_group: Option<f64>,
    pub sub_field_name: Option<String>,
    pub relation_target_field_metadata_id: Option<Id>,
    pub view_id: Id,
    pub workspace_id: Id,
    pub created_at: String,
    pub updated_at: String,
    pub deleted_at: Option<String>,
}
child!(ViewFilter);

/// A view filter group (`MM/view-filter-group/dtos/view-filter-group.dto.ts`).
#[derive(SimpleObject, Clone, Debug)]
#[allow(missing_docs)]
pub struct ViewFilterGroup {
    pub id: Id,
    pub parent_view_filter_group_id: Option<Id>,
    pub logical_operator: ViewFilterGroupLogicalOperator,
    pub position_in_view_filter_group: Option<f64>,
    pub view_id: Id,
    pub workspace_id: Id,
    pub created_at: String,
    pub updated_at: String,
    pub deleted_at: Option<String>,
}
child!(ViewFilterGroup);

/// A view sort (`MM/view-sort/dtos/view-sort.dto.ts`).
#[derive(SimpleObject, Clone, Debug)]
#[allow(missing_docs)]
pub struct ViewSort {
    pub id: Id,
    pub field_metadata_id: Id,
    pub direction: ViewSortDirection,
    pub sub_field_name: Option<String>,
    pub view_id: Id,
    pub workspace_id: Id,
    pub created_at: String,
    pub updated_at: String,
    pub deleted_at: Option<String>,
}
child!(ViewSort);

/// A view group (`MM/view-group/dtos/view-group.dto.ts`); 2.21 has no `fieldMetadataId` on
/// it, the field is the view's `mainGroupByFieldMetadataId`.
#[derive(SimpleObject, Clone, Debug)]
#[allow(missing_docs)]
pub struct ViewGroup {
    pub id: Id,
    pub is_visible: bool,
    pub field_value: String,
    pub position: f64,
    pub view_id: Id,
    pub workspace_id: Id,
    pub created_at: String,
    pub updated_at: String,
    pub deleted_at: Option<String>,
}
child!(ViewGroup);

/// The children of `view`, in creation order.
pub(super) fn of_view<T: Child>(list: &[T], view: Uuid) -> Vec<T> {
    list.iter().filter(|c| c.view() == view).cloned().collect()
}

/// A view's fields in position order.
pub(super) fn fields_of(state: &State, view: Uuid) -> Vec<ViewField> {
    let mut list = of_view(&state.view_fields, view);
    list.sort_by(|a, b| a.position.total_cmp(&b.position));
    list
}

/// A view's groups in position order.
pub(super) fn groups_of(state: &State, view: Uuid) -> Vec<ViewGroup> {
    let mut list = of_view(&state.view_groups, view);
    list.sort_by(|a, b| a.position.total_cmp(&b.position));
    list
}

/// A new view group row.
pub(super) fn new_group(id: Uuid, view: Uuid, value: String, position: f64) -> ViewGroup {
    let at = now();
    ViewGroup {
        id: Id(id),
        is_visible: true,
        field_value: value,
        position,
        view_id: Id(view),
        workspace_id: workspace_id(),
        created_at: at.clone(),
        updated_at: at,
        deleted_at: None,
    }
}

/// A new view field row.
pub(super) fn new_field(id: Uuid, view: Uuid, field: Uuid, position: f64, size: f64) -> ViewField {
    let at = now();
    ViewField {
        id: Id(id),
        field_metadata_id: Id(field),
        is_visible: true,
        size,
        position,
        aggregate_operation: None,
        view_id: Id(view),
        view_field_group_id: None,
        workspace_id: workspace_id(),
        created_at: at.clone(),
        updated_at: at,
        is_active: true,
        deleted_at: None,
    }
}

/// `CreateViewFieldInput`.
#[derive(InputObject)]
#[allow(missing_docs)]
pub struct CreateViewFieldInput {
    pub id: Option<Id>,
    pub field_metadata_id: Id,
    pub view_id: Id,
    #[graphql(default = true)]
    pub is_visible: bool,
    #[graphql(default)]
    pub size: f64,
    #[graphql(default)]
    pub position: f64,
    pub aggregate_operation: Option<AggregateOperations>,
    pub view_field_group_id: Option<Id>,
}

/// `UpdateViewFieldInputUpdates`.
#[derive(InputObject)]
#[allow(missing_docs)]
pub struct UpdateViewFieldInputUpdates {
    pub is_visible: Option<bool>,
    pub size: Option<f64>,
    pub position: Option<f64>,
    pub aggregate_operation: Option<AggregateOperations>,
    /// An explicit null takes the field out of its section (LIVE).
    pub view_field_group_id: MaybeUndefined<Id>,
}

/// `UpdateViewFieldInput`.
#[derive(InputObject)]
#[allow(missing_docs)]
pub struct UpdateViewFieldInput {
    pub id: Id,
    pub update: UpdateViewFieldInputUpdates,
}

/// `CreateViewFilterInput`.
#[derive(InputObject)]
#[allow(missing_docs)]
pub struct CreateViewFilterInput {
    pub id: Option<Id>,
    pub field_metadata_id: Id,
    pub operand: Option<ViewFilterOperand>,
    pub value: Json<Value>,
    pub view_filter_group_id: Option<Id>,
    pub position_in_view_filter_group: Option<f64>,
    pub sub_field_name: Option<String>,
    pub relation_target_field_metadata_id: Option<Id>,
    pub view_id: Id,
}

/// `UpdateViewFilterInputUpdates`.
#[derive(InputObject)]
#[allow(missing_docs)]
pub struct UpdateViewFilterInputUpdates {
    pub field_metadata_id: Option<Id>,
    pub operand: Option<ViewFilterOperand>,
    pub value: Option<Json<Value>>,
    pub view_filter_group_id: Option<Id>,
    pub position_in_view_filter_group: Option<f64>,
    pub sub_field_name: Option<String>,
    pub relation_target_field_metadata_id: Option<Id>,
}

/// `UpdateViewFilterInput`.
#[derive(InputObject)]
#[allow(missing_docs)]
pub struct UpdateViewFilterInput {
    pub id: Id,
    pub update: UpdateViewFilterInputUpdates,
}

/// `CreateViewFilterGroupInput`.
#[derive(InputObject)]
#[allow(missing_docs)]
pub struct CreateViewFilterGroupInput {
    pub id: Option<Id>,
    pub parent_view_filter_group_id: Option<Id>,
    #[graphql(default_with = "ViewFilterGroupLogicalOperator::And")]
    pub logical_operator: ViewFilterGroupLogicalOperator,
    pub position_in_view_filter_group: Option<f64>,
    pub view_id: Id,
}

/// `UpdateViewFilterGroupInput`: `PartialType(CreateViewFilterGroupInput)`, which keeps the
/// default `logicalOperator = AND`, so an update that omits it resets the group to AND
/// (facts §3.3, LIVE).
#[derive(InputObject)]
#[allow(missing_docs)]
pub struct UpdateViewFilterGroupInput {
    pub id: Option<Id>,
    pub parent_view_filter_group_id: Option<Id>,
    #[graphql(default_with = "ViewFilterGroupLogicalOperator::And")]
    pub logical_operator: ViewFilterGroupLogicalOperator,
    pub position_in_view_filter_group: Option<f64>,
    pub view_id: Option<Id>,
}

/// `CreateViewSortInput`.
#[derive(InputObject)]
#[allow(missing_docs)]
pub struct CreateViewSortInput {
    pub id: Option<Id>,
    pub field_metadata_id: Id,
    #[graphql(default_with = "ViewSortDirection::Asc")]
    pub direction: ViewSortDirection,
    pub sub_field_name: Option<String>,
    pub view_id: Id,
}

/// `UpdateViewSortInputUpdates`.
#[derive(InputObject)]
#[allow(missing_docs)]
pub struct UpdateViewSortInputUpdates {
    pub direction: Option<ViewSortDirection>,
    pub sub_field_name: Option<String>,
}

/// `UpdateViewSortInput`.
#[derive(InputObject)]
#[allow(missing_docs)]
pub struct UpdateViewSortInput {
    pub id: Id,
    pub update: UpdateViewSortInputUpdates,
}

/// `CreateViewGroupInput`.
#[derive(InputObject)]
#[allow(missing_docs)]
pub struct CreateViewGroupInput {
    pub id: Option<Id>,
    #[graphql(default = true)]
    pub is_visible: bool,
    pub field_value: String,
    #[graphql(default)]
    pub position: f64,
    pub view_id: Id,
}

/// `UpdateViewGroupInputUpdates` (its `fieldMetadataId` is a leftover the server ignores).
#[derive(InputObject)]
#[allow(missing_docs)]
pub struct UpdateViewGroupInputUpdates {
    pub field_metadata_id: Option<Id>,
    pub is_visible: Option<bool>,
    pub field_value: Option<String>,
    pub position: Option<f64>,
}

/// `UpdateViewGroupInput`.
#[derive(InputObject)]
#[allow(missing_docs)]
pub struct UpdateViewGroupInput {
    pub id: Id,
    pub update: UpdateViewGroupInputUpdates,
}

/// Child queries.
#[derive(Default)]
pub struct ChildQuery;

fn parse_view(view_id: Option<&str>) -> Option<Uuid> {
    view_id.and_then(|v| Uuid::parse_str(v).ok())
}

fn listed<T: Child>(list: &[T], view_id: Option<String>) -> Vec<T> {
    let view = parse_view(view_id.as_deref());
    list.iter()
        .filter(|c| view_id.is_none() || Some(c.view()) == view)
        .cloned()
        .collect()
}

#[allow(clippy::unused_async)]
#[Object]
impl ChildQuery {
    /// A view's fields (`MM/view-field/resolvers/view-field.resolver.ts`).
    async fn get_view_fields(
        &self,
        ctx: &Context<'_>,
        view_id: String,
    ) -> async_graphql::Result<Vec<ViewField>> {
        let state = lock(&shared(ctx)?.config_state);
        Ok(parse_view(Some(&view_id))
            .map(|v| fields_of(&state, v))
            .unwrap_or_default())
    }

    /// Filters, of one view or all (`MM/view-filter/resolvers/view-filter.resolver.ts`).
    async fn get_view_filters(
        &self,
        ctx: &Context<'_>,
        view_id: Option<String>,
    ) -> async_graphql::Result<Vec<ViewFilter>> {
        Ok(listed(
            &lock(&shared(ctx)?.config_state).view_filters,
            view_id,
        ))
    }

    /// Filter groups (`MM/view-filter-group/resolvers/view-filter-group.resolver.ts`).
    async fn get_view_filter_groups(
        &self,
        ctx: &Context<'_>,
        view_id: Option<String>,
    ) -> async_graphql::Result<Vec<ViewFilterGroup>> {
        Ok(listed(
            &lock(&shared(ctx)?.config_state).view_filter_groups,
            view_id,
        ))
    }

    /// Sorts (`MM/view-sort/resolvers/view-sort.resolver.ts`).
    async fn get_view_sorts(
        &self,
        ctx: &Context<'_>,
        view_id: Option<String>,
    ) -> async_graphql::Result<Vec<ViewSort>> {
        Ok(listed(
            &lock(&shared(ctx)?.config_state).view_sorts,
            view_id,
        ))
    }

    /// Groups (`MM/view-group/resolvers/view-group.resolver.ts`).
    async fn get_view_groups(
        &self,
        ctx: &Context<'_>,
        view_id: Option<String>,
    ) -> async_graphql::Result<Vec<ViewGroup>> {
        let mut list = listed(&lock(&shared(ctx)?.config_state).view_groups, view_id);
        list.sort_by(|a, b| a.position.total_cmp(&b.position));
        Ok(list)
    }
}

/// Child mutations.
#[derive(Default)]
pub struct ChildMutation;

/// The view-field validator (`VAL/flat-view-field-validator.service.ts`): the view and the
/// field exist, one live field per (fieldMetadataId, viewId), and no field before the label
/// identifier's.
fn check_view_fields(
    state: &State,
    model: &Model,
    inputs: &[CreateViewFieldInput],
) -> async_graphql::Result<()> {
    let mut refused = Vec::new();
    let mut seen: Vec<(Uuid, Uuid)> = Vec::new();
    for input in inputs {
        let (view, field) = (input.view_id.0, input.field_metadata_id.0);
        let uid = Uuid::new_v4();
        let view_row = state.view(view);
        let mut reasons = Vec::new();
        let field_meta = model.field_by_id(field);
        if field_meta.is_none() {
            reasons.push(reason(
                "INVALID_VIEW_DATA",
                "Field metadata not found",
                Some("Field metadata not found"),
            ));
        }
        let taken = state
            .view_fields
            .iter()
            .any(|f| f.view_id.0 == view && f.field_metadata_id.0 == field)
            || seen.contains(&(view, field));
        seen.push((view, field));
        match view_row {
            None => reasons.push(reason("INVALID_VIEW_DATA", "View not found", Some("View not found"))),
            Some(_) if taken => reasons.push(reason(
                "INVALID_VIEW_DATA",
                "View field with same fieldMetadataUniversalIdentifier and viewUniversalIdentifier already exists",
                Some("View field already exists"),
            )),
            Some(_) => {
                let label = field_meta
                    .and_then(|(o, _)| o.label_identifier.as_deref().and_then(|n| o.field(n)))
                    .map(|f| f.id);
                let label_position = state
                    .view_fields
                    .iter()
                    .find(|f| f.view_id.0 == view && Some(f.field_metadata_id.0) == label)
                    .map(|f| f.position);
                if label_position.is_some_and(|p| Some(field) != label && input.position < p) {
                    let text = "View field position cannot be lower than label identifier view field position";
                    reasons.push(reason("INVALID_VIEW_DATA", text, Some(text)));
                }
            }
        }
        if !reasons.is_empty() {
            refused.push(Refused {
                metadata_name: "viewField",
                minimal: json!({
                    "fieldMetadataUniversalIdentifier": field_universal_identifier(field),
                    "universalIdentifier": uid,
                    "viewUniversalIdentifier": view_row.map(|v| v.universal_identifier),
                }),
                reasons,
            });
        }
    }
    if refused.is_empty() {
        Ok(())
    } else {
        Err(validation_failed(
            "Multiple validation errors occurred while creating view fields",
            refused,
        ))
    }
}

fn create_view_fields(
    ctx: &Context<'_>,
    inputs: Vec<CreateViewFieldInput>,
) -> async_graphql::Result<Vec<ViewField>> {
    let s = shared(ctx)?;
    let db = lock(&s.db);
    let mut state = lock(&s.config_state);
    check_view_fields(&state, &db.model, &inputs)?;
    let mut made = Vec::new();
    for input in inputs {
        let id = check_client_id(&state, input.id, "viewField")?;
        if state.view_fields.iter().any(|f| f.id.0 == id)
            || made.iter().any(|f: &ViewField| f.id.0 == id)
        {
            return Err(migration_failed("viewField"));
        }
        let mut row = new_field(
            id,
            input.view_id.0,
            input.field_metadata_id.0,
            input.position,
            input.size,
        );
        row.is_visible = input.is_visible;
        row.aggregate_operation = input.aggregate_operation;
        row.view_field_group_id = input.view_field_group_id;
        made.push(row);
    }
    state.view_fields.extend(made.iter().cloned());
    Ok(made)
}

/// The option values a SELECT filter names: an array, or an array as a JSON string, or one
/// value.
fn filter_values(value: &Value) -> Vec<String> {
    match value {
        Value::Array(list) => list
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect(),
        Value::String(s) => match serde_json::from_str::<Value>(s) {
            Ok(Value::Array(list)) => list
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect(),
            _ if s.is_empty() => Vec::new(),
            _ => vec![s.clone()],
        },
        _ => Vec::new(),
    }
}

/// The filter validator (`VAL/flat-view-filter-validator.service.ts:320-352`): a SELECT or
/// MULTI_SELECT filter names existing option values.
fn check_filter(model: &Model, field: Uuid, value: &Value) -> async_graphql::Result<()> {
    let Some((_, meta)) = model.field_by_id(field) else {
        return Ok(());
    };
    if !matches!(meta.field_type.as_str(), "SELECT" | "MULTI_SELECT") {
        return Ok(());
    }
    let allowed = meta.option_values();
    let bad: Vec<String> = filter_values(value)
        .into_iter()
        .filter(|v| !allowed.contains(v))
        .collect();
    if bad.is_empty() {
        return Ok(());
    }
    Err(validation_failed(
        "Multiple validation errors occurred while creating view filter",
        vec![Refused {
            metadata_name: "viewFilter",
            minimal: json!({"universalIdentifier": Uuid::new_v4()}),
            reasons: vec![reason(
                "INVALID_VIEW_FILTER_DATA",
                format!(
                    "Filter on \"{}\" uses option(s) {} that do not exist. Allowed values: {}.",
                    meta.label,
                    bad.join(", "),
                    allowed.join(", ")
                ),
                Some("Filter uses a select option that does not exist"),
            )],
        }],
    ))
}

/// A filter or sort whose field or view does not exist (`VAL/flat-view-filter-validator.service.ts:66-90`,
/// `VAL/flat-view-sort-validator.service.ts:58-80`; not recorded: the summary shape is the
/// validator's, as recorded for the other view children). `names` is the metadata name, its
/// words for the message, the field code and the view code.
fn missing_parent(
    state: &State,
    model: &Model,
    view: Uuid,
    field: Uuid,
    names: (&'static str, &str, &'static str, &'static str),
) -> Option<async_graphql::Error> {
    let (metadata_name, words, field_code, view_code) = names;
    let mut reasons = Vec::new();
    if model.field_by_id(field).is_none() {
        reasons.push(reason(
            field_code,
            "Field metadata not found",
            Some("Field metadata not found"),
        ));
    }
    if state.view(view).is_none() {
        reasons.push(reason(view_code, "View not found", Some("View not found")));
    }
    if reasons.is_empty() {
        return None;
    }
    Some(validation_failed(
        &format!("Multiple validation errors occurred while creating {words}"),
        vec![Refused {
            metadata_name,
            minimal: json!({"universalIdentifier": Uuid::new_v4()}),
            reasons,
        }],
    ))
}

fn not_found(what: &str) -> async_graphql::Error {
    super::internal(format!("{what} not found"), "An error occurred.")
}

#[allow(clippy::unused_async)]
#[Object]
impl ChildMutation {
    /// Creates a view field.
    async fn create_view_field(
        &self,
        ctx: &Context<'_>,
        input: CreateViewFieldInput,
    ) -> async_graphql::Result<ViewField> {
        let mut made = create_view_fields(ctx, vec![input])?;
        made.pop().ok_or_else(|| not_found("View field"))
    }

    /// Creates view fields, all or none.
    async fn create_many_view_fields(
        &self,
        ctx: &Context<'_>,
        inputs: Vec<CreateViewFieldInput>,
    ) -> async_graphql::Result<Vec<ViewField>> {
        create_view_fields(ctx, inputs)
    }

    /// Updates a view field.
    async fn update_view_field(
        &self,
        ctx: &Context<'_>,
        input: UpdateViewFieldInput,
    ) -> async_graphql::Result<ViewField> {
        let mut state = lock(&shared(ctx)?.config_state);
        let row = state
            .view_fields
            .iter_mut()
            .find(|f| f.id == input.id)
            .ok_or_else(|| not_found("View field to update"))?;
        let u = input.update;
        row.is_visible = u.is_visible.unwrap_or(row.is_visible);
        row.size = u.size.unwrap_or(row.size);
        row.position = u.position.unwrap_or(row.position);
        row.aggregate_operation = u.aggregate_operation.or(row.aggregate_operation);
        match u.view_field_group_id {
            MaybeUndefined::Value(id) => row.view_field_group_id = Some(id),
            MaybeUndefined::Null => row.view_field_group_id = None,
            MaybeUndefined::Undefined => {}
        }
        row.updated_at = now();
        Ok(row.clone())
    }

    /// Creates a view filter; select options are checked.
    async fn create_view_filter(
        &self,
        ctx: &Context<'_>,
        input: CreateViewFilterInput,
    ) -> async_graphql::Result<ViewFilter> {
        let s = shared(ctx)?;
        let db = lock(&s.db);
        let mut state = lock(&s.config_state);
        let refusal = missing_parent(
            &state,
            &db.model,
            input.view_id.0,
            input.field_metadata_id.0,
            (
                "viewFilter",
                "view filter",
                "INVALID_VIEW_FILTER_DATA",
                "INVALID_VIEW_FILTER_DATA",
            ),
        );
        if let Some(refusal) = refusal {
            return Err(refusal);
        }
        check_filter(&db.model, input.field_metadata_id.0, &input.value.0)?;
        drop(db);
        let id = check_client_id(&state, input.id, "viewFilter")?;
        if state.view_filters.iter().any(|f| f.id.0 == id) {
            return Err(migration_failed("viewFilter"));
        }
        let at = now();
        let row = ViewFilter {
            id: Id(id),
            field_metadata_id: input.field_metadata_id,
            operand: input.operand.unwrap_or(ViewFilterOperand::Contains),
            value: input.value,
            view_filter_group_id: input.view_filter_group_id,
            position_in_view_filter_group: input.position_in_view_filter_group,
            sub_field_name: input.sub_field_name,
            relation_target_field_metadata_id: input.relation_target_field_metadata_id,
            view_id: input.view_id,
            workspace_id: workspace_id(),
            created_at: at.clone(),
            updated_at: at,
            deleted_at: None,
        };
        state.view_filters.push(row.clone());
        Ok(row)
    }

    /// Updates a view filter.
    async fn update_view_filter(
        &self,
        ctx: &Context<'_>,
        input: UpdateViewFilterInput,
    ) -> async_graphql::Result<ViewFilter> {
        let s = shared(ctx)?;
        let u = input.update;
        let db = lock(&s.db);
        let mut state = lock(&s.config_state);
        let row = state
            .view_filters
            .iter_mut()
            .find(|f| f.id == input.id)
            .ok_or_else(|| not_found("View filter to update"))?;
        if let Some(value) = &u.value {
            let field = u.field_metadata_id.unwrap_or(row.field_metadata_id).0;
            check_filter(&db.model, field, &value.0)?;
        }
        row.field_metadata_id = u.field_metadata_id.unwrap_or(row.field_metadata_id);
        row.operand = u.operand.unwrap_or(row.operand);
        if let Some(value) = u.value {
            row.value = value;
        }
        row.view_filter_group_id = u.view_filter_group_id.or(row.view_filter_group_id);
        row.position_in_view_filter_group = u
            .position_in_view_filter_group
            .or(row.position_in_view_filter_group);
        row.sub_field_name = u.sub_field_name.or(row.sub_field_name.take());
        row.relation_target_field_metadata_id = u
            .relation_target_field_metadata_id
            .or(row.relation_target_field_metadata_id);
        row.updated_at = now();
        Ok(row.clone())
    }

    /// Creates a view filter group.
    async fn create_view_filter_group(
        &self,
        ctx: &Context<'_>,
        input: CreateViewFilterGroupInput,
    ) -> async_graphql::Result<ViewFilterGroup> {
        let mut state = lock(&shared(ctx)?.config_state);
        let id = check_client_id(&state, input.id, "viewFilterGroup")?;
        if state.view_filter_groups.iter().any(|f| f.id.0 == id) {
            return Err(migration_failed("viewFilterGroup"));
        }
        let at = now();
        let row = ViewFilterGroup {
            id: Id(id),
            parent_view_filter_group_id: input.parent_view_filter_group_id,
            logical_operator: input.logical_operator,
            position_in_view_filter_group: input.position_in_view_filter_group,
            view_id: input.view_id,
            workspace_id: workspace_id(),
            created_at: at.clone(),
            updated_at: at,
            deleted_at: None,
        };
        state.view_filter_groups.push(row.clone());
        Ok(row)
    }

    /// Updates a view filter group; `logicalOperator` is always written (AND when omitted).
    async fn update_view_filter_group(
        &self,
        ctx: &Context<'_>,
        id: String,
        input: UpdateViewFilterGroupInput,
    ) -> async_graphql::Result<ViewFilterGroup> {
        let mut state = lock(&shared(ctx)?.config_state);
        let id = Uuid::parse_str(&id).ok();
        let row = state
            .view_filter_groups
            .iter_mut()
            .find(|f| Some(f.id.0) == id)
            .ok_or_else(|| not_found("View filter group"))?;
        row.logical_operator = input.logical_operator;
        row.parent_view_filter_group_id = input
            .parent_view_filter_group_id
            .or(row.parent_view_filter_group_id);
        row.position_in_view_filter_group = input
            .position_in_view_filter_group
            .or(row.position_in_view_filter_group);
        row.updated_at = now();
        Ok(row.clone())
    }

    /// Creates a view sort; a second live sort on the same field of a view breaks the unique
    /// index `IDX_VIEW_SORT_FIELD_METADATA_ID_VIEW_ID_UNIQUE` (an INTERNAL_SERVER_ERROR, LIVE).
    async fn create_view_sort(
        &self,
        ctx: &Context<'_>,
        input: CreateViewSortInput,
    ) -> async_graphql::Result<ViewSort> {
        let s = shared(ctx)?;
        let db = lock(&s.db);
        let mut state = lock(&s.config_state);
        let refusal = missing_parent(
            &state,
            &db.model,
            input.view_id.0,
            input.field_metadata_id.0,
            (
                "viewSort",
                "view sort",
                "INVALID_VIEW_SORT_DATA",
                "VIEW_NOT_FOUND",
            ),
        );
        drop(db);
        if let Some(refusal) = refusal {
            return Err(refusal);
        }
        let id = check_client_id(&state, input.id, "viewSort")?;
        let clash = state.view_sorts.iter().any(|f| {
            f.id.0 == id
                || (f.view_id == input.view_id && f.field_metadata_id == input.field_metadata_id)
        });
        if clash {
            return Err(migration_failed("viewSort"));
        }
        let at = now();
        let row = ViewSort {
            id: Id(id),
            field_metadata_id: input.field_metadata_id,
            direction: input.direction,
            sub_field_name: input.sub_field_name,
            view_id: input.view_id,
            workspace_id: workspace_id(),
            created_at: at.clone(),
            updated_at: at,
            deleted_at: None,
        };
        state.view_sorts.push(row.clone());
        Ok(row)
    }

    /// Updates a view sort.
    async fn update_view_sort(
        &self,
        ctx: &Context<'_>,
        input: UpdateViewSortInput,
    ) -> async_graphql::Result<ViewSort> {
        let mut state = lock(&shared(ctx)?.config_state);
        let row = state
            .view_sorts
            .iter_mut()
            .find(|f| f.id == input.id)
            .ok_or_else(|| not_found("View sort"))?;
        row.direction = input.update.direction.unwrap_or(row.direction);
        row.sub_field_name = input.update.sub_field_name.or(row.sub_field_name.take());
        row.updated_at = now();
        Ok(row.clone())
    }

    /// Creates a view group; an existing `fieldValue` makes a duplicate (LIVE).
    async fn create_view_group(
        &self,
        ctx: &Context<'_>,
        input: CreateViewGroupInput,
    ) -> async_graphql::Result<ViewGroup> {
        let mut made = create_groups(ctx, vec![input])?;
        made.pop().ok_or_else(|| not_found("View group"))
    }

    /// Creates view groups, all or none.
    async fn create_many_view_groups(
        &self,
        ctx: &Context<'_>,
        inputs: Vec<CreateViewGroupInput>,
    ) -> async_graphql::Result<Vec<ViewGroup>> {
        create_groups(ctx, inputs)
    }

    /// Updates a view group.
    async fn update_view_group(
        &self,
        ctx: &Context<'_>,
        input: UpdateViewGroupInput,
    ) -> async_graphql::Result<ViewGroup> {
        let mut state = lock(&shared(ctx)?.config_state);
        let row = state
            .view_groups
            .iter_mut()
            .find(|f| f.id == input.id)
            .ok_or_else(|| not_found("View group to update"))?;
        let u = input.update;
        row.is_visible = u.is_visible.unwrap_or(row.is_visible);
        if let Some(v) = u.field_value {
            row.field_value = v;
        }
        row.position = u.position.unwrap_or(row.position);
        row.updated_at = now();
        Ok(row.clone())
    }
}

fn create_groups(
    ctx: &Context<'_>,
    inputs: Vec<CreateViewGroupInput>,
) -> async_graphql::Result<Vec<ViewGroup>> {
    let mut state = lock(&shared(ctx)?.config_state);
    let mut made: Vec<ViewGroup> = Vec::new();
    for input in inputs {
        let id = check_client_id(&state, input.id, "viewGroup")?;
        if state
            .view_groups
            .iter()
            .chain(made.iter())
            .any(|g| g.id.0 == id)
        {
            return Err(migration_failed("viewGroup"));
        }
        let mut row = new_group(id, input.view_id.0, input.field_value, input.position);
        row.is_visible = input.is_visible;
        made.push(row);
    }
    state.view_groups.extend(made.iter().cloned());
    Ok(made)
}
