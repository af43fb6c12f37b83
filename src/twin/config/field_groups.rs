//! A record page's field sections (`viewFieldGroup`, 2.x): the groups a FIELDS_WIDGET view
//! shows its fields in. Every operation is open to an API key (`NoPermissionGuard`,
//! `MM/view-field-group/resolvers/view-field-group.resolver.ts`); the answers below were seen
//! on a real 2.21 (golden `config-view-field-groups`).

use async_graphql::{ComplexObject, Context, InputObject, Object, SimpleObject};
use uuid::Uuid;

use super::children::{fields_of, of_view, Child, ViewField};
use super::{check_client_id, internal, migration_failed, now, shared, workspace_id, Id, State};
use crate::twin::lock;

/// A view field group (`MM/view-field-group/dtos/view-field-group.dto.ts`).
#[derive(SimpleObject, Clone, Debug)]
#[graphql(complex)]
#[allow(missing_docs)]
pub struct ViewFieldGroup {
    pub id: Id,
    pub name: String,
    pub position: f64,
    pub is_visible: bool,
    pub view_id: Id,
    pub workspace_id: Id,
    pub created_at: String,
    pub updated_at: String,
    pub is_active: bool,
    pub deleted_at: Option<String>,
}

impl Child for ViewFieldGroup {
    fn view(&self) -> Uuid {
        self.view_id.0
    }
}

#[allow(clippy::unused_async)]
#[ComplexObject]
impl ViewFieldGroup {
    /// The fields placed in this section.
    async fn view_fields(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<ViewField>> {
        let state = lock(&shared(ctx)?.config_state);
        Ok(fields_of(&state, self.view_id.0)
            .into_iter()
            .filter(|f| f.view_field_group_id == Some(self.id))
            .collect())
    }
}

/// A view's sections in position order.
pub(super) fn sections_of(state: &State, view: Uuid) -> Vec<ViewFieldGroup> {
    let mut list = of_view(&state.view_field_groups, view);
    list.sort_by(|a, b| a.position.total_cmp(&b.position));
    list
}

/// A new section row.
pub(super) fn new_section(id: Uuid, view: Uuid, name: &str, position: f64) -> ViewFieldGroup {
    let at = now();
    ViewFieldGroup {
        id: Id(id),
        name: name.to_owned(),
        position,
        is_visible: true,
        view_id: Id(view),
        workspace_id: workspace_id(),
        created_at: at.clone(),
        updated_at: at,
        is_active: true,
        deleted_at: None,
    }
}

/// `CreateViewFieldGroupInput` (`MM/view-field-group/dtos/inputs/create-view-field-group.input.ts`).
#[derive(InputObject)]
#[allow(missing_docs)]
pub struct CreateViewFieldGroupInput {
    pub id: Option<Id>,
    pub name: String,
    pub view_id: Id,
    #[graphql(default)]
    pub position: f64,
    #[graphql(default = true)]
    pub is_visible: bool,
}

/// `UpdateViewFieldGroupInputUpdates`.
#[derive(InputObject)]
#[allow(missing_docs)]
pub struct UpdateViewFieldGroupInputUpdates {
    pub name: Option<String>,
    pub position: Option<f64>,
    pub is_visible: Option<bool>,
}

/// `UpdateViewFieldGroupInput`.
#[derive(InputObject)]
#[allow(missing_docs)]
pub struct UpdateViewFieldGroupInput {
    pub id: Id,
    pub update: UpdateViewFieldGroupInputUpdates,
}

/// The section queries.
#[derive(Default)]
pub struct FieldGroupQuery;

#[allow(clippy::unused_async)]
#[Object]
impl FieldGroupQuery {
    /// A view's sections.
    async fn get_view_field_groups(
        &self,
        ctx: &Context<'_>,
        view_id: String,
    ) -> async_graphql::Result<Vec<ViewFieldGroup>> {
        let state = lock(&shared(ctx)?.config_state);
        Ok(Uuid::parse_str(&view_id)
            .map(|v| sections_of(&state, v))
            .unwrap_or_default())
    }

    /// One section, or null.
    async fn get_view_field_group(
        &self,
        ctx: &Context<'_>,
        id: String,
    ) -> async_graphql::Result<Option<ViewFieldGroup>> {
        let state = lock(&shared(ctx)?.config_state);
        let id = Uuid::parse_str(&id).ok();
        Ok(state
            .view_field_groups
            .iter()
            .find(|g| Some(g.id.0) == id)
            .cloned())
    }
}

/// The section mutations.
#[derive(Default)]
pub struct FieldGroupMutation;

#[allow(clippy::unused_async)]
#[Object]
impl FieldGroupMutation {
    /// Creates a section.
    async fn create_view_field_group(
        &self,
        ctx: &Context<'_>,
        input: CreateViewFieldGroupInput,
    ) -> async_graphql::Result<ViewFieldGroup> {
        let mut made = create(ctx, vec![input])?;
        made.pop()
            .ok_or_else(|| internal("View field group not found", "An error occurred."))
    }

    /// Creates sections, all or none.
    async fn create_many_view_field_groups(
        &self,
        ctx: &Context<'_>,
        inputs: Vec<CreateViewFieldGroupInput>,
    ) -> async_graphql::Result<Vec<ViewFieldGroup>> {
        create(ctx, inputs)
    }

    /// Updates a section; a standard one keeps the change as an override and reads it back.
    async fn update_view_field_group(
        &self,
        ctx: &Context<'_>,
        input: UpdateViewFieldGroupInput,
    ) -> async_graphql::Result<ViewFieldGroup> {
        let mut state = lock(&shared(ctx)?.config_state);
        // LIVE: an unknown id is an INTERNAL_SERVER_ERROR with the module's own friendly text.
        let row = state
            .view_field_groups
            .iter_mut()
            .find(|g| g.id == input.id && g.deleted_at.is_none())
            .ok_or_else(|| {
                internal(
                    "View field group to update not found",
                    "A view field group error occurred.",
                )
            })?;
        let u = input.update;
        if let Some(name) = u.name {
            row.name = name;
        }
        row.position = u.position.unwrap_or(row.position);
        row.is_visible = u.is_visible.unwrap_or(row.is_visible);
        row.updated_at = now();
        Ok(row.clone())
    }
}

fn create(
    ctx: &Context<'_>,
    inputs: Vec<CreateViewFieldGroupInput>,
) -> async_graphql::Result<Vec<ViewFieldGroup>> {
    let mut state = lock(&shared(ctx)?.config_state);
    let mut made: Vec<ViewFieldGroup> = Vec::new();
    for input in inputs {
        // LIVE: a view that does not exist is refused before any validation.
        if state.view(input.view_id.0).is_none() {
            return Err(internal(
                "Could not find view for given viewId",
                "An error occurred.",
            ));
        }
        let id = check_client_id(&state, input.id, "viewFieldGroup")?;
        let taken = state.view_field_groups.iter().any(|g| g.id.0 == id)
            || made.iter().any(|g| g.id.0 == id);
        if taken {
            return Err(migration_failed("viewFieldGroup"));
        }
        let mut row = new_section(id, input.view_id.0, &input.name, input.position);
        row.is_visible = input.is_visible;
        made.push(row);
    }
    state.view_field_groups.extend(made.iter().cloned());
    Ok(made)
}
