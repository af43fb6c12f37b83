//! Roles and permissions (`MM/role/role.resolver.ts`, class-guarded by `WorkspaceAuthGuard` +
//! `SettingsPermissionGuard(ROLES)`, which an Admin key passes), and the role assignments an
//! API key may not make.

use async_graphql::{ComplexObject, Context, InputObject, Object, SimpleObject};
use serde_json::json;
use uuid::Uuid;

use super::{
    bad_input, check_client_id, reason, session_only, shared, user_only, validation_failed, Id,
    Refused,
};
use crate::twin::lock;

/// The 26 permission flag keys of 2.21 (`packages/twenty-shared/src/constants/PermissionFlagType.ts`).
pub const PERMISSION_FLAGS: [&str; 26] = [
    "AI",
    "AI_SETTINGS",
    "API_KEYS_AND_WEBHOOKS",
    "APPLICATIONS",
    "BILLING",
    "CODE_INTERPRETER_TOOL",
    "CONNECTED_ACCOUNTS",
    "CREATE_CALENDAR_EVENT_TOOL",
    "DATA_MODEL",
    "DOWNLOAD_FILE",
    "EXPORT_CSV",
    "HTTP_REQUEST_TOOL",
    "IMPERSONATE",
    "IMPORT_CSV",
    "LAYOUTS",
    "MARKETPLACE_APPS",
    "PROFILE_INFORMATION",
    "ROLES",
    "SECURITY",
    "SEND_EMAIL_TOOL",
    "SSO_BYPASS",
    "UPLOAD_FILE",
    "VIEWS",
    "WORKFLOWS",
    "WORKSPACE",
    "WORKSPACE_MEMBERS",
];

/// A role's object permission (`MM/object-permission/object-permission.entity.ts`); null
/// means "as the role".
#[derive(SimpleObject, Clone, Debug)]
#[allow(missing_docs)]
pub struct ObjectPermission {
    pub object_metadata_id: Id,
    pub can_read_object_records: Option<bool>,
    pub can_update_object_records: Option<bool>,
    pub can_soft_delete_object_records: Option<bool>,
    pub can_destroy_object_records: Option<bool>,
}

/// A role's field permission: only `false` or null (a restriction).
#[derive(SimpleObject, Clone, Debug)]
#[allow(missing_docs)]
pub struct FieldPermission {
    pub id: Id,
    pub object_metadata_id: Id,
    pub field_metadata_id: Id,
    pub role_id: Id,
    pub can_read_field_value: Option<bool>,
    pub can_update_field_value: Option<bool>,
}

/// A role's permission flag (`MM/role-permission-flag/role-permission-flag.entity.ts`).
#[derive(SimpleObject, Clone, Debug)]
#[allow(missing_docs)]
pub struct RolePermissionFlag {
    pub id: Id,
    pub role_id: Id,
    pub flag: String,
}

/// A workspace member as `Role.workspaceMembers` lists it (the twin fills id and email).
#[derive(SimpleObject, Clone, Debug)]
#[graphql(name = "WorkspaceMember")]
#[allow(missing_docs)]
pub struct MemberRef {
    pub id: Id,
    pub user_email: String,
}

/// An API key as `Role.apiKeys` lists it.
#[derive(SimpleObject, Clone, Debug)]
#[allow(missing_docs)]
pub struct ApiKeyForRole {
    pub id: Id,
    pub name: String,
    pub expires_at: String,
    pub revoked_at: Option<String>,
}

/// A role (`MM/role/role.entity.ts`, `MM/role/dtos/role.dto.ts`).
#[derive(SimpleObject, Clone, Debug)]
#[graphql(complex)]
#[allow(missing_docs)]
pub struct Role {
    pub id: Id,
    pub universal_identifier: Option<Id>,
    pub label: String,
    pub description: Option<String>,
    pub icon: Option<String>,
    pub is_editable: bool,
    pub can_be_assigned_to_users: bool,
    pub can_be_assigned_to_agents: bool,
    pub can_be_assigned_to_api_keys: bool,
    pub can_update_all_settings: bool,
    pub can_access_all_tools: bool,
    pub can_read_all_object_records: bool,
    pub can_update_all_object_records: bool,
    pub can_soft_delete_all_object_records: bool,
    pub can_destroy_all_object_records: bool,
    pub permission_flags: Option<Vec<RolePermissionFlag>>,
    pub object_permissions: Option<Vec<ObjectPermission>>,
    pub field_permissions: Option<Vec<FieldPermission>>,
    /// Owned by the standard application (Admin): not editable through the API.
    #[graphql(skip)]
    pub standard: bool,
    /// Holds the workspace's members and the twin's API key (Admin).
    #[graphql(skip)]
    pub holds_everyone: bool,
    /// Holds the twin's API key (Admin, unless [`crate::twin::TwinConfig::api_key_role`]
    /// gives the key another role).
    #[graphql(skip)]
    pub holds_key: bool,
}

#[allow(clippy::unused_async)]
#[ComplexObject]
impl Role {
    async fn workspace_members(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<MemberRef>> {
        if !self.holds_everyone {
            return Ok(Vec::new());
        }
        let db = lock(&shared(ctx)?.db);
        Ok(db
            .tables
            .get("workspaceMember")
            .map(|t| {
                t.rows
                    .values()
                    .map(|r| MemberRef {
                        id: Id(r
                            .get("id")
                            .and_then(|v| v.as_str())
                            .and_then(|s| Uuid::parse_str(s).ok())
                            .unwrap_or_default()),
                        user_email: r
                            .get("userEmail")
                            .and_then(|v| v.as_str())
                            .unwrap_or_default()
                            .to_owned(),
                    })
                    .collect()
            })
            .unwrap_or_default())
    }

    async fn row_level_permission_predicates(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Vec<super::RowLevelPermissionPredicate>> {
        super::row_level::predicates_of(ctx, self.id.0)
    }

    async fn row_level_permission_predicate_groups(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Vec<super::RowLevelPermissionPredicateGroup>> {
        super::row_level::groups_of(ctx, self.id.0)
    }

    async fn api_keys(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<ApiKeyForRole>> {
        if !self.holds_key {
            return Ok(Vec::new());
        }
        let s = shared(ctx)?;
        Ok(vec![super::misc::own_key(s)])
    }
}

/// A new role with 2.21's column defaults (`role.entity.ts`).
pub(super) fn new_role(id: Uuid, label: &str) -> Role {
    Role {
        id: Id(id),
        universal_identifier: Some(Id(Uuid::new_v4())),
        label: label.to_owned(),
        description: None,
        icon: None,
        is_editable: true,
        can_be_assigned_to_users: true,
        can_be_assigned_to_agents: true,
        can_be_assigned_to_api_keys: true,
        can_update_all_settings: false,
        can_access_all_tools: false,
        can_read_all_object_records: false,
        can_update_all_object_records: false,
        can_soft_delete_all_object_records: false,
        can_destroy_all_object_records: false,
        permission_flags: Some(Vec::new()),
        object_permissions: Some(Vec::new()),
        field_permissions: Some(Vec::new()),
        standard: false,
        holds_everyone: false,
        holds_key: false,
    }
}

/// `CreateRoleInput` (its `id` is a String, sic).
#[derive(InputObject)]
#[allow(missing_docs)]
pub struct CreateRoleInput {
    pub id: Option<String>,
    pub label: String,
    pub description: Option<String>,
    pub icon: Option<String>,
    pub can_update_all_settings: Option<bool>,
    pub can_access_all_tools: Option<bool>,
    pub can_read_all_object_records: Option<bool>,
    pub can_update_all_object_records: Option<bool>,
    pub can_soft_delete_all_object_records: Option<bool>,
    pub can_destroy_all_object_records: Option<bool>,
    pub can_be_assigned_to_users: Option<bool>,
    pub can_be_assigned_to_agents: Option<bool>,
    pub can_be_assigned_to_api_keys: Option<bool>,
}

/// `UpdateRolePayload`.
#[derive(InputObject)]
#[allow(missing_docs)]
pub struct UpdateRolePayload {
    pub label: Option<String>,
    pub description: Option<String>,
    pub icon: Option<String>,
    pub can_update_all_settings: Option<bool>,
    pub can_access_all_tools: Option<bool>,
    pub can_read_all_object_records: Option<bool>,
    pub can_update_all_object_records: Option<bool>,
    pub can_soft_delete_all_object_records: Option<bool>,
    pub can_destroy_all_object_records: Option<bool>,
    pub can_be_assigned_to_users: Option<bool>,
    pub can_be_assigned_to_agents: Option<bool>,
    pub can_be_assigned_to_api_keys: Option<bool>,
}

/// `UpdateRoleInput`.
#[derive(InputObject)]
#[allow(missing_docs)]
pub struct UpdateRoleInput {
    pub update: UpdateRolePayload,
    pub id: Id,
}

/// `ObjectPermissionInput`.
#[derive(InputObject)]
#[allow(missing_docs)]
pub struct ObjectPermissionInput {
    pub object_metadata_id: Id,
    pub can_read_object_records: Option<bool>,
    pub can_update_object_records: Option<bool>,
    pub can_soft_delete_object_records: Option<bool>,
    pub can_destroy_object_records: Option<bool>,
}

/// `UpsertObjectPermissionsInput`.
#[derive(InputObject)]
#[allow(missing_docs)]
pub struct UpsertObjectPermissionsInput {
    pub role_id: Id,
    pub object_permissions: Vec<ObjectPermissionInput>,
}

/// `FieldPermissionInput`.
#[derive(InputObject)]
#[allow(missing_docs)]
pub struct FieldPermissionInput {
    pub object_metadata_id: Id,
    pub field_metadata_id: Id,
    pub can_read_field_value: Option<bool>,
    pub can_update_field_value: Option<bool>,
}

/// `UpsertFieldPermissionsInput`.
#[derive(InputObject)]
#[allow(missing_docs)]
pub struct UpsertFieldPermissionsInput {
    pub role_id: Id,
    pub field_permissions: Vec<FieldPermissionInput>,
}

/// `UpsertPermissionFlagsInput`.
#[derive(InputObject)]
#[allow(missing_docs)]
pub struct UpsertPermissionFlagsInput {
    pub role_id: Id,
    pub permission_flag_keys: Vec<String>,
}

/// Role queries.
#[derive(Default)]
pub struct RoleQuery;

#[allow(clippy::unused_async)]
#[Object]
impl RoleQuery {
    /// Every role with its permissions.
    async fn get_roles(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<Role>> {
        Ok(lock(&shared(ctx)?.config_state).roles.clone())
    }
}

/// Role mutations.
#[derive(Default)]
pub struct RoleMutation;

fn role_label_taken(label: &str, uid: Uuid) -> async_graphql::Error {
    let text = "A role with this label already exists";
    validation_failed(
        "Multiple validation errors occurred while creating role",
        vec![Refused {
            metadata_name: "role",
            minimal: json!({"label": label, "universalIdentifier": uid}),
            reasons: vec![reason(
                "ROLE_LABEL_ALREADY_EXISTS",
                text,
                Some("A role with this label already exists."),
            )],
        }],
    )
}

/// The refusal of an edit to a standard-application role (Admin): the validator names the
/// role's application and its `isEditable` (LIVE for `upsertObjectPermissions`).
fn not_editable(
    message: &str,
    metadata_name: &'static str,
    role: &Role,
    objects: &[Uuid],
) -> async_graphql::Error {
    let role_uid = role.universal_identifier.map(|u| u.0);
    let refused = objects
        .iter()
        .map(|o| Refused {
            metadata_name,
            minimal: json!({
                "objectMetadataUniversalIdentifier": super::super::schema::stable_id("objectUniversalIdentifier", &o.to_string()),
                "roleUniversalIdentifier": role_uid,
                "universalIdentifier": Uuid::new_v4(),
            }),
            reasons: vec![
                reason(
                    "ROLE_BELONGS_TO_ANOTHER_APPLICATION",
                    "Cannot target a role owned by another application",
                    Some("Cannot target a role owned by another application."),
                ),
                reason(
                    "ROLE_NOT_EDITABLE",
                    "Role is not editable",
                    Some("This role cannot be modified because it is a system role. Only custom roles can be edited."),
                ),
            ],
        })
        .collect();
    validation_failed(message, refused)
}

fn role_not_found() -> async_graphql::Error {
    bad_input("Role not found", "ROLE_NOT_FOUND", "Role not found.")
}

#[allow(clippy::unused_async)]
#[Object]
impl RoleMutation {
    /// Creates a role, keeping a client id
    /// (`MM/flat-role/utils/from-create-role-input-to-flat-role-to-create.util.ts:28`); labels
    /// are unique (`VAL/../utils/validate-role-label-uniqueness.util.ts`).
    async fn create_one_role(
        &self,
        ctx: &Context<'_>,
        create_role_input: CreateRoleInput,
    ) -> async_graphql::Result<Role> {
        let i = create_role_input;
        let mut state = lock(&shared(ctx)?.config_state);
        let id = match &i.id {
            Some(s) => check_client_id(
                &state,
                Some(Id(Uuid::parse_str(s).map_err(|_| {
                    super::internal(format!("Invalid UUID: '{s}'"), "An error occurred.")
                })?)),
                "role",
            )?,
            None => Uuid::new_v4(),
        };
        if state.roles.iter().any(|r| r.label == i.label) {
            return Err(role_label_taken(&i.label, Uuid::new_v4()));
        }
        if state.roles.iter().any(|r| r.id.0 == id) {
            return Err(super::migration_failed("role"));
        }
        let mut role = new_role(id, &i.label);
        role.description = i.description;
        role.icon = i.icon;
        let set = |v: Option<bool>, d: bool| v.unwrap_or(d);
        role.can_update_all_settings = set(i.can_update_all_settings, false);
        role.can_access_all_tools = set(i.can_access_all_tools, false);
        role.can_read_all_object_records = set(i.can_read_all_object_records, false);
        role.can_update_all_object_records = set(i.can_update_all_object_records, false);
        role.can_soft_delete_all_object_records = set(i.can_soft_delete_all_object_records, false);
        role.can_destroy_all_object_records = set(i.can_destroy_all_object_records, false);
        role.can_be_assigned_to_users = set(i.can_be_assigned_to_users, true);
        role.can_be_assigned_to_agents = set(i.can_be_assigned_to_agents, true);
        role.can_be_assigned_to_api_keys = set(i.can_be_assigned_to_api_keys, true);
        state.roles.push(role.clone());
        Ok(role)
    }

    /// Updates a role (not a standard one).
    async fn update_one_role(
        &self,
        ctx: &Context<'_>,
        update_role_input: UpdateRoleInput,
    ) -> async_graphql::Result<Role> {
        let UpdateRoleInput { update: u, id } = update_role_input;
        let mut state = lock(&shared(ctx)?.config_state);
        if let Some(label) = &u.label {
            if state.roles.iter().any(|r| &r.label == label && r.id != id) {
                return Err(role_label_taken(label, Uuid::new_v4()));
            }
        }
        let role = state
            .roles
            .iter_mut()
            .find(|r| r.id == id)
            .ok_or_else(role_not_found)?;
        if role.standard {
            return Err(not_editable(
                "Validation errors occurred while updating role",
                "role",
                role,
                &[Uuid::nil()],
            ));
        }
        if let Some(label) = u.label {
            role.label = label;
        }
        role.description = u.description.or(role.description.take());
        role.icon = u.icon.or(role.icon.take());
        let set = |v: Option<bool>, d: &mut bool| *d = v.unwrap_or(*d);
        set(u.can_update_all_settings, &mut role.can_update_all_settings);
        set(u.can_access_all_tools, &mut role.can_access_all_tools);
        set(
            u.can_read_all_object_records,
            &mut role.can_read_all_object_records,
        );
        set(
            u.can_update_all_object_records,
            &mut role.can_update_all_object_records,
        );
        set(
            u.can_soft_delete_all_object_records,
            &mut role.can_soft_delete_all_object_records,
        );
        set(
            u.can_destroy_all_object_records,
            &mut role.can_destroy_all_object_records,
        );
        set(
            u.can_be_assigned_to_users,
            &mut role.can_be_assigned_to_users,
        );
        set(
            u.can_be_assigned_to_agents,
            &mut role.can_be_assigned_to_agents,
        );
        set(
            u.can_be_assigned_to_api_keys,
            &mut role.can_be_assigned_to_api_keys,
        );
        Ok(role.clone())
    }

    /// Deletes a role (not a standard one); answers its id.
    async fn delete_one_role(
        &self,
        ctx: &Context<'_>,
        role_id: Id,
    ) -> async_graphql::Result<String> {
        let mut state = lock(&shared(ctx)?.config_state);
        let role = state
            .roles
            .iter()
            .find(|r| r.id == role_id)
            .ok_or_else(role_not_found)?;
        if role.standard {
            return Err(not_editable(
                "Validation errors occurred while deleting role",
                "role",
                role,
                &[Uuid::nil()],
            ));
        }
        state.roles.retain(|r| r.id != role_id);
        Ok(role_id.0.to_string())
    }

    /// Replaces a role's object permissions: objects not listed lose theirs
    /// (`MM/object-permission/object-permission.service.ts`, LIVE).
    async fn upsert_object_permissions(
        &self,
        ctx: &Context<'_>,
        upsert_object_permissions_input: UpsertObjectPermissionsInput,
    ) -> async_graphql::Result<Vec<ObjectPermission>> {
        let input = upsert_object_permissions_input;
        let mut state = lock(&shared(ctx)?.config_state);
        let role = state
            .roles
            .iter_mut()
            .find(|r| r.id == input.role_id)
            .ok_or_else(role_not_found)?;
        if role.standard {
            let objects: Vec<Uuid> = input
                .object_permissions
                .iter()
                .map(|p| p.object_metadata_id.0)
                .collect();
            return Err(not_editable(
                "Validation errors occurred while upserting object permissions",
                "objectPermission",
                role,
                &objects,
            ));
        }
        let list: Vec<ObjectPermission> = input
            .object_permissions
            .into_iter()
            .map(|p| ObjectPermission {
                object_metadata_id: p.object_metadata_id,
                can_read_object_records: p.can_read_object_records,
                can_update_object_records: p.can_update_object_records,
                can_soft_delete_object_records: p.can_soft_delete_object_records,
                can_destroy_object_records: p.can_destroy_object_records,
            })
            .collect();
        role.object_permissions = Some(list.clone());
        Ok(list)
    }

    /// Merges field permissions: listed fields change, both values null removes the entry, and
    /// `true` is refused (`MM/object-permission/field-permission/field-permission.service.ts:115-123, 223-227`).
    async fn upsert_field_permissions(
        &self,
        ctx: &Context<'_>,
        upsert_field_permissions_input: UpsertFieldPermissionsInput,
    ) -> async_graphql::Result<Vec<FieldPermission>> {
        let input = upsert_field_permissions_input;
        let granted = input.field_permissions.iter().any(|p| {
            p.can_read_field_value == Some(true) || p.can_update_field_value == Some(true)
        });
        if granted {
            return Err(bad_input(
                "Field permission can only introduce a restriction",
                "ONLY_FIELD_RESTRICTION_ALLOWED",
                "Field permissions can only be used to restrict access, not to grant additional permissions.",
            ));
        }
        let mut state = lock(&shared(ctx)?.config_state);
        let role = state
            .roles
            .iter_mut()
            .find(|r| r.id == input.role_id)
            .ok_or_else(role_not_found)?;
        if role.standard {
            let objects: Vec<Uuid> = input
                .field_permissions
                .iter()
                .map(|p| p.object_metadata_id.0)
                .collect();
            return Err(not_editable(
                "Validation errors occurred while upserting field permissions",
                "fieldPermission",
                role,
                &objects,
            ));
        }
        let role_id = role.id;
        let list = role.field_permissions.get_or_insert_with(Vec::new);
        let mut changed = Vec::new();
        for p in input.field_permissions {
            list.retain(|x| x.field_metadata_id != p.field_metadata_id);
            if p.can_read_field_value.is_none() && p.can_update_field_value.is_none() {
                continue;
            }
            let row = FieldPermission {
                id: Id(Uuid::new_v4()),
                object_metadata_id: p.object_metadata_id,
                field_metadata_id: p.field_metadata_id,
                role_id,
                can_read_field_value: p.can_read_field_value,
                can_update_field_value: p.can_update_field_value,
            };
            list.push(row.clone());
            changed.push(row);
        }
        Ok(changed)
    }

    /// Replaces a role's permission flags; an unknown key is refused
    /// (`MM/role-permission-flag/role-permission-flag.service.ts:127-129`, `permissions.exception.ts`).
    async fn upsert_permission_flags(
        &self,
        ctx: &Context<'_>,
        upsert_permission_flags_input: UpsertPermissionFlagsInput,
    ) -> async_graphql::Result<Vec<RolePermissionFlag>> {
        let input = upsert_permission_flags_input;
        let unknown: Vec<&str> = input
            .permission_flag_keys
            .iter()
            .map(String::as_str)
            .filter(|k| !PERMISSION_FLAGS.contains(k))
            .collect();
        if !unknown.is_empty() {
            return Err(bad_input(
                format!("Invalid permission setting (unknown value): {}", unknown.join(", ")),
                "INVALID_SETTING_PERMISSIONS",
                "Some of the permissions you selected are not valid. Please try again with valid permission settings.",
            ));
        }
        let mut state = lock(&shared(ctx)?.config_state);
        let role = state
            .roles
            .iter_mut()
            .find(|r| r.id == input.role_id)
            .ok_or_else(role_not_found)?;
        if role.standard {
            return Err(not_editable(
                "Validation errors occurred while upserting permission flags",
                "rolePermissionFlag",
                role,
                &[Uuid::nil()],
            ));
        }
        let flags: Vec<RolePermissionFlag> = input
            .permission_flag_keys
            .into_iter()
            .map(|flag| RolePermissionFlag {
                id: Id(Uuid::new_v4()),
                role_id: role.id,
                flag,
            })
            .collect();
        role.permission_flags = Some(flags.clone());
        Ok(flags)
    }

    /// Refused for an API key: `@UseGuards(UserAuthGuard)` (`role.resolver.ts:111-113`).
    async fn update_workspace_member_role(
        &self,
        workspace_member_id: Id,
        role_id: Id,
    ) -> async_graphql::Result<MemberRef> {
        let _ = (workspace_member_id, role_id);
        Err(user_only())
    }

    /// Refused for an API key: `RequireAccessTokenGuard` (`CM/api-key/api-key.resolver.ts:109-127`).
    async fn assign_role_to_api_key(
        &self,
        api_key_id: Id,
        role_id: Id,
    ) -> async_graphql::Result<bool> {
        let _ = (api_key_id, role_id);
        Err(session_only())
    }
}
