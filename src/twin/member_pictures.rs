//! Workspace-member pictures on `/metadata`: `uploadWorkspaceMemberProfilePicture(file)` keeps
//! the bytes under `core-picture/` and answers `FileWithSignedUrl { id path size createdAt url }`
//! (`engine/core-modules/file/file-core-picture/resolvers/file-core-picture.resolver.ts`,
//! `file-core-picture.service.ts`, `file/dtos/file-with-sign-url.dto.ts`), and
//! `updateWorkspaceMemberSettings(input: {workspaceMemberId, update})` writes standard fields of
//! a member and answers `true` (`engine/core-modules/user/user.resolver.ts`,
//! `user/dtos/update-workspace-member-settings.input.ts`).
//!
//! Both refuse an API key whose role lacks the Workspace Members permission with a
//! `PermissionsException` (`FORBIDDEN`): the upload in
//! `user-workspace/guards/upload-profile-picture-permission.guard.ts`, the update in its
//! resolver. Messages are those of the guard and of a real 2.21's answers.

use async_graphql::{Context, Error, ErrorExtensions, InputObject, Json, Object, Upload};
use serde_json::Value;
use uuid::Uuid;

use super::lock;
use super::metadata::{keep_file, shared, user_error, FileDto};

/// The member-picture mutations.
#[derive(Default)]
pub struct MemberPictureMutation;

/// `UpdateWorkspaceMemberSettingsInput`.
#[derive(InputObject)]
#[graphql(name = "UpdateWorkspaceMemberSettingsInput")]
pub struct UpdateWorkspaceMemberSettingsInput {
    workspace_member_id: async_graphql::ID,
    update: Json<Value>,
}

/// The `PermissionsException` (`PERMISSION_DENIED`) of the guard, as GraphQL renders it.
fn permission_denied(friendly: &str) -> Error {
    let friendly = friendly.to_owned();
    Error::new("Entity performing the request does not have permission").extend_with(move |_, e| {
        e.set("code", "FORBIDDEN");
        e.set("subCode", "PERMISSION_DENIED");
        e.set("userFriendlyMessage", friendly.clone());
    })
}

#[allow(clippy::unused_async)]
#[Object]
impl MemberPictureMutation {
    /// Stores a member's picture; the file is tied to no member until
    /// `updateWorkspaceMemberSettings` sets the member's `avatarUrl` to it.
    async fn upload_workspace_member_profile_picture(
        &self,
        ctx: &Context<'_>,
        file: Upload,
    ) -> async_graphql::Result<FileDto> {
        let s = shared(ctx)?;
        if !s.config.members_permission {
            return Err(permission_denied(
                "You do not have permission to upload profile pictures. Please contact your workspace administrator for access.",
            ));
        }
        let value = file.value(ctx)?;
        let name = value.filename.clone();
        let mime = value.content_type.clone();
        let mut bytes = Vec::new();
        std::io::Read::read_to_end(&mut value.into_read(), &mut bytes)?;
        let file = keep_file(s, name, mime, bytes, Uuid::nil()).await?;
        let id = file.id;
        Ok(FileDto::new(
            id,
            format!("core-picture/{}", file.path),
            file.size,
            file.created_at,
            format!("{}/file/core-picture/{id}?token=twin", s.base_url),
        ))
    }

    /// Writes standard fields of a member (`avatarUrl` here); custom fields are refused.
    async fn update_workspace_member_settings(
        &self,
        ctx: &Context<'_>,
        input: UpdateWorkspaceMemberSettingsInput,
    ) -> async_graphql::Result<bool> {
        let s = shared(ctx)?;
        if !s.config.members_permission {
            return Err(permission_denied(
                "You do not have permission to update this workspace member.",
            ));
        }
        let Value::Object(update) = input.update.0 else {
            return Err(user_error("update must be an object", "INVALID_INPUT"));
        };
        let id = Uuid::parse_str(&input.workspace_member_id)
            .map_err(|_| user_error("workspaceMemberId must be a UUID", "INVALID_INPUT"))?;
        let mut db = lock(&s.db);
        let custom: Vec<String> = match db.model.by_singular("workspaceMember") {
            Some(object) => update
                .keys()
                .filter(|k| !object.fields.iter().any(|f| &f.name == *k && !f.is_custom))
                .cloned()
                .collect(),
            None => Vec::new(),
        };
        if let Some(first) = custom.first() {
            // A real 2.21: `Cannot update custom workspaceMember field via this endpoint: x`.
            let friendly = format!("\"{first}\" is not a valid workspace member field.");
            return Err(Error::new(format!(
                "Cannot update custom workspaceMember field via this endpoint: {}",
                custom.join(", ")
            ))
            .extend_with(move |_, e| {
                e.set("code", "BAD_USER_INPUT");
                e.set("userFriendlyMessage", friendly.clone());
            }));
        }
        let Some(row) = db
            .tables
            .get_mut("workspaceMember")
            .and_then(|t| t.rows.get_mut(&id))
        else {
            // A real 2.21 answers the resolver's BadRequestException this way.
            return Err(
                Error::new("Workspace member not found").extend_with(|_, e| {
                    e.set("code", "GRAPHQL_VALIDATION_FAILED");
                    e.set("userFriendlyMessage", "An error occurred.");
                }),
            );
        };
        for (k, v) in update {
            row.insert(k, v);
        }
        Ok(true)
    }
}
