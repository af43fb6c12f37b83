//! Webhooks (`MM/webhook/webhook.resolver.ts`), API keys (`CM/api-key/api-key.resolver.ts`),
//! invitations (`CM/workspace-invitation/workspace-invitation.resolver.ts`) and navigation menu
//! items (`MM/navigation-menu-item/navigation-menu-item.resolver.ts`).

use async_graphql::{ComplexObject, Context, Enum, InputObject, Object, SimpleObject};
use rand::Rng;
use serde_json::json;
use uuid::Uuid;

use super::roles::{ApiKeyForRole, Role};
use super::{
    bad_input, check_client_id, custom_application, now, reason, session_only, shared, user_only,
    validation_failed, Id, Refused,
};
use crate::twin::{lock, Shared};

/// A webhook (`MM/webhook/entities/webhook.entity.ts`).
///
/// The twin never calls `targetUrl`: a test asks how many record writes happened after the
/// webhook was made ([`crate::twin::Twin::webhook_writes_after`]), which is what "webhooks are
/// created after the records" means for the user's endpoints.
#[derive(SimpleObject, Clone, Debug)]
#[allow(missing_docs)]
pub struct Webhook {
    pub id: Id,
    pub target_url: String,
    pub operations: Vec<String>,
    pub description: Option<String>,
    pub secret: String,
    pub application_id: Id,
    pub created_at: String,
    pub updated_at: String,
    pub deleted_at: Option<String>,
    /// The twin's record write count (creates, updates, deletes) when the webhook was created.
    #[graphql(skip)]
    pub writes_at_creation: u64,
}

/// `CreateWebhookInput` (`MM/webhook/dtos/create-webhook.input.ts`).
#[derive(InputObject)]
#[allow(missing_docs)]
pub struct CreateWebhookInput {
    pub id: Option<Id>,
    pub target_url: String,
    pub operations: Vec<String>,
    pub description: Option<String>,
    pub secret: Option<String>,
}

/// `UpdateWebhookInputUpdates`.
#[derive(InputObject)]
#[allow(missing_docs)]
pub struct UpdateWebhookInputUpdates {
    pub target_url: Option<String>,
    pub operations: Option<Vec<String>>,
    pub description: Option<String>,
    pub secret: Option<String>,
}

/// `UpdateWebhookInput`.
#[derive(InputObject)]
#[allow(missing_docs)]
pub struct UpdateWebhookInput {
    pub id: Id,
    pub update: UpdateWebhookInputUpdates,
}

/// An API key (`CM/api-key/dtos/api-key.dto.ts`).
#[derive(SimpleObject, Clone, Debug)]
#[graphql(complex)]
#[allow(missing_docs)]
pub struct ApiKey {
    pub id: Id,
    pub name: String,
    pub expires_at: String,
    pub revoked_at: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

#[allow(clippy::unused_async)]
#[ComplexObject]
impl ApiKey {
    /// The key's role: Admin, unless the twin was given a read-only key.
    async fn role(&self, ctx: &Context<'_>) -> async_graphql::Result<Role> {
        let state = lock(&shared(ctx)?.config_state);
        state
            .roles
            .iter()
            .find(|r| r.holds_key)
            .cloned()
            .ok_or_else(|| super::internal("Role not found", "An error occurred."))
    }
}

/// The twin's own key as `Role.apiKeys` lists it.
pub(super) fn own_key(s: &Shared) -> ApiKeyForRole {
    ApiKeyForRole {
        id: Id(s.key_id),
        name: s.config.key_name.clone(),
        expires_at: "2125-01-01T00:00:00.000Z".into(),
        revoked_at: None,
    }
}

/// `GetApiKeyInput`, `RevokeApiKeyInput`.
#[derive(InputObject)]
#[graphql(name = "GetApiKeyInput")]
#[allow(missing_docs)]
pub struct GetApiKeyInput {
    pub id: Id,
}

/// `RevokeApiKeyInput`.
#[derive(InputObject)]
#[allow(missing_docs)]
pub struct RevokeApiKeyInput {
    pub id: Id,
}

/// `CreateApiKeyInput`: no `id`.
#[derive(InputObject)]
#[allow(missing_docs)]
pub struct CreateApiKeyInput {
    pub name: String,
    pub expires_at: String,
    pub revoked_at: Option<String>,
    pub role_id: Id,
}

/// `UpdateApiKeyInput`.
#[derive(InputObject)]
#[allow(missing_docs)]
pub struct UpdateApiKeyInput {
    pub id: Id,
    pub name: Option<String>,
    pub expires_at: Option<String>,
    pub revoked_at: Option<String>,
}

/// `SendInvitations`.
#[derive(SimpleObject, Clone, Debug)]
#[allow(missing_docs)]
pub struct SendInvitations {
    pub success: bool,
    pub errors: Vec<String>,
}

/// `NavigationMenuItemType`.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[allow(missing_docs)]
pub enum NavigationMenuItemType {
    View,
    Folder,
    Link,
    Object,
    Record,
    PageLayout,
}

/// A navigation menu item (`MM/navigation-menu-item/entities/navigation-menu-item.entity.ts`).
#[derive(SimpleObject, Clone, Debug)]
#[allow(missing_docs)]
pub struct NavigationMenuItem {
    pub id: Id,
    pub user_workspace_id: Option<Id>,
    pub target_record_id: Option<Id>,
    pub target_object_metadata_id: Option<Id>,
    pub view_id: Option<Id>,
    #[graphql(name = "type")]
    pub item_type: NavigationMenuItemType,
    pub name: Option<String>,
    pub link: Option<String>,
    pub icon: Option<String>,
    pub color: Option<String>,
    pub folder_id: Option<Id>,
    pub page_layout_id: Option<Id>,
    pub position: f64,
    pub application_id: Option<Id>,
    pub created_at: String,
    pub updated_at: String,
}

/// `CreateNavigationMenuItemInput`.
#[derive(InputObject, Clone)]
#[allow(missing_docs)]
pub struct CreateNavigationMenuItemInput {
    pub id: Option<Id>,
    pub user_workspace_id: Option<Id>,
    pub target_record_id: Option<Id>,
    pub target_object_metadata_id: Option<Id>,
    pub view_id: Option<Id>,
    #[graphql(name = "type")]
    pub item_type: NavigationMenuItemType,
    pub name: Option<String>,
    pub link: Option<String>,
    pub icon: Option<String>,
    pub color: Option<String>,
    pub folder_id: Option<Id>,
    pub page_layout_id: Option<Id>,
    pub position: Option<f64>,
}

/// `UpdateNavigationMenuItemInput`: type and targets cannot change.
#[derive(InputObject)]
#[allow(missing_docs)]
pub struct UpdateNavigationMenuItemInput {
    pub folder_id: Option<Id>,
    pub position: Option<f64>,
    pub name: Option<String>,
    pub link: Option<String>,
    pub icon: Option<String>,
    pub color: Option<String>,
    pub page_layout_id: Option<Id>,
}

/// `UpdateOneNavigationMenuItemInput`.
#[derive(InputObject)]
#[allow(missing_docs)]
pub struct UpdateOneNavigationMenuItemInput {
    pub id: Id,
    pub update: UpdateNavigationMenuItemInput,
}

/// A workspace-level item (`application_id` of the custom or standard application).
pub(super) fn new_item(
    id: Uuid,
    item_type: NavigationMenuItemType,
    custom: bool,
) -> NavigationMenuItem {
    let at = now();
    let app =
        crate::twin::schema::stable_id("application", if custom { "custom" } else { "standard" });
    NavigationMenuItem {
        id: Id(id),
        user_workspace_id: None,
        target_record_id: None,
        target_object_metadata_id: None,
        view_id: None,
        item_type,
        name: None,
        link: None,
        icon: None,
        color: None,
        folder_id: None,
        page_layout_id: None,
        position: 0.0,
        application_id: Some(Id(app)),
        created_at: at.clone(),
        updated_at: at,
    }
}

/// Misc queries.
#[derive(Default)]
pub struct MiscQuery;

/// The workspace an API key belongs to (`CM/workspace/dtos/workspace.dto.ts`), as much of it as
/// the tool reads.
#[derive(SimpleObject, Clone, Debug)]
#[graphql(name = "Workspace")]
#[allow(missing_docs)]
pub struct CurrentWorkspace {
    pub id: Id,
    pub display_name: String,
}

#[allow(clippy::unused_async)]
#[Object]
impl MiscQuery {
    /// The key's workspace: an API key may read it on `/metadata` (LIVE;
    /// `CM/workspace/workspace.resolver.ts`, `currentWorkspace` with `WorkspaceAuthGuard`).
    async fn current_workspace(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<CurrentWorkspace> {
        let state = lock(&shared(ctx)?.config_state);
        Ok(CurrentWorkspace {
            id: Id(state.workspace()),
            display_name: "Twin".into(),
        })
    }

    /// Every webhook.
    async fn webhooks(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<Webhook>> {
        Ok(lock(&shared(ctx)?.config_state).webhooks.clone())
    }

    /// One webhook.
    async fn webhook(&self, ctx: &Context<'_>, id: Id) -> async_graphql::Result<Option<Webhook>> {
        let state = lock(&shared(ctx)?.config_state);
        Ok(state.webhooks.iter().find(|w| w.id == id).cloned())
    }

    /// The workspace's API keys: the twin's own.
    async fn api_keys(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<ApiKey>> {
        Ok(vec![key_row(shared(ctx)?)])
    }

    /// One API key.
    async fn api_key(
        &self,
        ctx: &Context<'_>,
        input: GetApiKeyInput,
    ) -> async_graphql::Result<Option<ApiKey>> {
        let key = key_row(shared(ctx)?);
        Ok((key.id == input.id).then_some(key))
    }

    /// The workspace-level items; an API key sees no user-level one
    /// (`navigation-menu-item.service.ts:76-78`).
    async fn navigation_menu_items(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Vec<NavigationMenuItem>> {
        let state = lock(&shared(ctx)?.config_state);
        Ok(state
            .navigation_menu_items
            .iter()
            .filter(|n| n.user_workspace_id.is_none())
            .cloned()
            .collect())
    }

    /// One item.
    async fn navigation_menu_item(
        &self,
        ctx: &Context<'_>,
        id: Id,
    ) -> async_graphql::Result<Option<NavigationMenuItem>> {
        let state = lock(&shared(ctx)?.config_state);
        Ok(state
            .navigation_menu_items
            .iter()
            .find(|n| n.id == id)
            .cloned())
    }
}

fn key_row(s: &Shared) -> ApiKey {
    let own = own_key(s);
    ApiKey {
        id: own.id,
        name: own.name,
        expires_at: own.expires_at,
        revoked_at: None,
        created_at: "2025-01-01T00:00:00.000Z".into(),
        updated_at: "2025-01-01T00:00:00.000Z".into(),
    }
}

/// The entity validator's refusal of an existing universalIdentifier
/// (`workspace-entity-migration-builder.service.ts:423`).
fn already_exists(metadata_name: &'static str, plural: &str, id: Uuid) -> async_graphql::Error {
    validation_failed(
        &format!("Multiple validation errors occurred while creating {plural}"),
        vec![Refused {
            metadata_name,
            minimal: json!({"universalIdentifier": id}),
            reasons: vec![reason(
                "ENTITY_ALREADY_EXISTS",
                format!(
                    "Cannot create {metadata_name}: universalIdentifier \"{id}\" already exists in {metadata_name} maps from application \"{}\"",
                    custom_application()
                ),
                None,
            )],
        }],
    )
}

/// The type's required columns (`CHK_navigation_menu_item_type_fields`,
/// `VAL/flat-navigation-menu-item-validator.service.ts:40-100`).
fn item_type_problem(i: &CreateNavigationMenuItemInput) -> Option<&'static str> {
    use NavigationMenuItemType as T;
    match i.item_type {
        T::Folder if i.name.as_deref().is_none_or(|n| n.trim().is_empty()) => {
            Some("Folder name is required")
        }
        T::Object if i.target_object_metadata_id.is_none() => {
            Some("targetObjectMetadataId is required for OBJECT type")
        }
        T::View if i.view_id.is_none() => Some("viewId is required for VIEW type"),
        T::Record if i.target_record_id.is_none() || i.target_object_metadata_id.is_none() => {
            Some("targetRecordId and targetObjectMetadataId are required for RECORD type")
        }
        T::Link if i.link.is_none() => Some("link is required for LINK type"),
        T::PageLayout if i.page_layout_id.is_none() => {
            Some("pageLayoutId is required for PAGE_LAYOUT type")
        }
        _ => None,
    }
}

/// Creates items, folders first (`navigation-menu-item.service.ts`); user-level items need a
/// user (`navigation-menu-item-access.service.ts:55-61`), workspace-level ones the LAYOUTS flag,
/// which an Admin key has.
fn create_items(
    ctx: &Context<'_>,
    mut inputs: Vec<CreateNavigationMenuItemInput>,
) -> async_graphql::Result<Vec<NavigationMenuItem>> {
    if inputs.iter().any(|i| i.user_workspace_id.is_some()) {
        return Err(bad_input(
            "User-level navigation menu items can only be created by authenticated users",
            "INVALID_NAVIGATION_MENU_ITEM_INPUT",
            "Invalid navigation menu item input.",
        ));
    }
    inputs.sort_by_key(|i| i.item_type != NavigationMenuItemType::Folder);
    let mut state = lock(&shared(ctx)?.config_state);
    let mut made: Vec<NavigationMenuItem> = Vec::new();
    let mut refused = Vec::new();
    for i in inputs {
        let id = check_client_id(&state, i.id, "navigationMenuItem")?;
        if let Some(text) = item_type_problem(&i) {
            refused.push(Refused {
                metadata_name: "navigationMenuItem",
                minimal: json!({"universalIdentifier": id}),
                reasons: vec![reason(
                    "INVALID_NAVIGATION_MENU_ITEM_INPUT",
                    text,
                    Some(text),
                )],
            });
            continue;
        }
        if state
            .navigation_menu_items
            .iter()
            .chain(made.iter())
            .any(|n| n.id.0 == id)
        {
            return Err(already_exists(
                "navigationMenuItem",
                "navigation menu items",
                id,
            ));
        }
        let mut item = new_item(id, i.item_type, true);
        item.target_record_id = i.target_record_id;
        item.target_object_metadata_id = i.target_object_metadata_id;
        item.view_id = i.view_id;
        item.name = i.name;
        item.link = i.link;
        item.icon = i.icon;
        item.color = i.color;
        item.folder_id = i.folder_id;
        item.page_layout_id = i.page_layout_id;
        item.position = i.position.unwrap_or(0.0);
        made.push(item);
    }
    if !refused.is_empty() {
        return Err(validation_failed(
            "Multiple validation errors occurred while creating navigation menu items",
            refused,
        ));
    }
    state.navigation_menu_items.extend(made.iter().cloned());
    Ok(made)
}

/// Misc mutations.
#[derive(Default)]
pub struct MiscMutation;

#[allow(clippy::unused_async)]
#[Object]
impl MiscMutation {
    /// Creates a webhook, keeping a client id (`universalIdentifier = id`) and secret, else a
    /// 64-hex secret (`MM/flat-webhook/utils/from-create-webhook-input-to-flat-webhook-to-create.util.ts:26-27`).
    /// The twin records the write count; it never sends anything to the URL.
    async fn create_webhook(
        &self,
        ctx: &Context<'_>,
        input: CreateWebhookInput,
    ) -> async_graphql::Result<Webhook> {
        let s = shared(ctx)?;
        let mut state = lock(&s.config_state);
        let id = check_client_id(&state, input.id, "webhook")?;
        if state.webhooks.iter().any(|w| w.id.0 == id) {
            return Err(already_exists("webhook", "webhook", id));
        }
        let secret = input.secret.unwrap_or_else(|| {
            let mut rng = rand::rng();
            (0..32)
                .map(|_| format!("{:02x}", rng.random::<u8>()))
                .collect()
        });
        let at = now();
        let hook = Webhook {
            id: Id(id),
            target_url: input.target_url,
            operations: input.operations,
            description: input.description,
            secret,
            application_id: Id(crate::twin::schema::stable_id("application", "custom")),
            created_at: at.clone(),
            updated_at: at,
            deleted_at: None,
            writes_at_creation: s.record_writes(),
        };
        state.webhooks.push(hook.clone());
        Ok(hook)
    }

    /// Updates a webhook.
    async fn update_webhook(
        &self,
        ctx: &Context<'_>,
        input: UpdateWebhookInput,
    ) -> async_graphql::Result<Webhook> {
        let mut state = lock(&shared(ctx)?.config_state);
        let hook = state
            .webhooks
            .iter_mut()
            .find(|w| w.id == input.id)
            .ok_or_else(|| super::internal("Webhook not found", "An error occurred."))?;
        let u = input.update;
        hook.target_url = u.target_url.unwrap_or(hook.target_url.clone());
        hook.operations = u.operations.unwrap_or(hook.operations.clone());
        hook.description = u.description.or(hook.description.take());
        hook.secret = u.secret.unwrap_or(hook.secret.clone());
        hook.updated_at = now();
        Ok(hook.clone())
    }

    /// Deletes a webhook for good (a hard delete, LIVE).
    async fn delete_webhook(&self, ctx: &Context<'_>, id: Id) -> async_graphql::Result<Webhook> {
        let mut state = lock(&shared(ctx)?.config_state);
        let at = state
            .webhooks
            .iter()
            .position(|w| w.id == id)
            .ok_or_else(|| super::internal("Webhook not found", "An error occurred."))?;
        Ok(state.webhooks.remove(at))
    }

    /// Refused for an API key (`RequireAccessTokenGuard`, `api-key.resolver.ts:62`).
    async fn create_api_key(&self, input: CreateApiKeyInput) -> async_graphql::Result<ApiKey> {
        let _ = input;
        Err(session_only())
    }

    /// Refused for an API key (same guard).
    async fn update_api_key(
        &self,
        ctx: &Context<'_>,
        input: UpdateApiKeyInput,
    ) -> async_graphql::Result<Option<ApiKey>> {
        let _ = input;
        Ok(refused_nullable(ctx))
    }

    /// Refused for an API key (same guard).
    async fn revoke_api_key(
        &self,
        ctx: &Context<'_>,
        input: RevokeApiKeyInput,
    ) -> async_graphql::Result<Option<ApiKey>> {
        let _ = input;
        Ok(refused_nullable(ctx))
    }

    /// Refused for an API key: `@UseGuards(UserAuthGuard)` (`workspace-invitation.resolver.ts:93-95`).
    async fn send_invitations(
        &self,
        emails: Vec<String>,
        role_id: Option<Id>,
    ) -> async_graphql::Result<SendInvitations> {
        let _ = (emails, role_id);
        Err(user_only())
    }

    /// Creates one navigation menu item.
    async fn create_navigation_menu_item(
        &self,
        ctx: &Context<'_>,
        input: CreateNavigationMenuItemInput,
    ) -> async_graphql::Result<NavigationMenuItem> {
        create_items(ctx, vec![input])?.pop().ok_or_else(|| {
            super::internal("Navigation menu item not created", "An error occurred.")
        })
    }

    /// Creates several, folders first.
    async fn create_many_navigation_menu_items(
        &self,
        ctx: &Context<'_>,
        inputs: Vec<CreateNavigationMenuItemInput>,
    ) -> async_graphql::Result<Vec<NavigationMenuItem>> {
        create_items(ctx, inputs)
    }

    /// Updates an item's folder, position, name, link, icon, color or page layout.
    async fn update_navigation_menu_item(
        &self,
        ctx: &Context<'_>,
        input: UpdateOneNavigationMenuItemInput,
    ) -> async_graphql::Result<NavigationMenuItem> {
        let mut state = lock(&shared(ctx)?.config_state);
        let item = state
            .navigation_menu_items
            .iter_mut()
            .find(|n| n.id == input.id)
            .ok_or_else(|| {
                super::internal("Navigation menu item not found", "An error occurred.")
            })?;
        let u = input.update;
        item.folder_id = u.folder_id.or(item.folder_id);
        item.position = u.position.unwrap_or(item.position);
        item.name = u.name.or(item.name.take());
        item.link = u.link.or(item.link.take());
        item.icon = u.icon.or(item.icon.take());
        item.color = u.color.or(item.color.take());
        item.page_layout_id = u.page_layout_id.or(item.page_layout_id);
        item.updated_at = now();
        Ok(item.clone())
    }

    /// Deletes one item.
    async fn delete_navigation_menu_item(
        &self,
        ctx: &Context<'_>,
        id: Id,
    ) -> async_graphql::Result<NavigationMenuItem> {
        delete_items(ctx, &[id])?
            .pop()
            .ok_or_else(|| super::internal("Navigation menu item not found", "An error occurred."))
    }

    /// Deletes several items.
    async fn delete_many_navigation_menu_items(
        &self,
        ctx: &Context<'_>,
        ids: Vec<Id>,
    ) -> async_graphql::Result<Vec<NavigationMenuItem>> {
        delete_items(ctx, &ids)
    }
}

/// A nullable mutation field refused by its guard: the field reads null beside the error, as
/// graphql-js answers (async-graphql would null the whole `data` of a mutation).
fn refused_nullable<T>(ctx: &Context<'_>) -> Option<T> {
    let mut error = session_only().into_server_error(ctx.item.pos);
    // Twenty's error formatter keeps message and extensions only.
    error.locations.clear();
    ctx.add_error(error);
    None
}

fn delete_items(ctx: &Context<'_>, ids: &[Id]) -> async_graphql::Result<Vec<NavigationMenuItem>> {
    let mut state = lock(&shared(ctx)?.config_state);
    let gone: Vec<NavigationMenuItem> = ids
        .iter()
        .filter_map(|id| {
            state
                .navigation_menu_items
                .iter()
                .find(|n| n.id == *id)
                .cloned()
        })
        .collect();
    state.navigation_menu_items.retain(|n| !ids.contains(&n.id));
    Ok(gone)
}
