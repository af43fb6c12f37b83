//! The newest file generation, "direct upload": `createFileUpload` on `/metadata` answers an
//! upload target, the client `PUT`s the bytes to its `uploadUrl`, then `completeFileUpload`
//! checks them and makes the file usable. Also which upload mutations the twin offers
//! ([`UploadOffer`]).
//!
//! Mirrors, in twentyhq/twenty `packages/twenty-server/src/engine/core-modules/file/file-upload/`:
//! `resolvers/file-upload.resolver.ts` (the two mutations), `services/file-upload.service.ts`
//! (folder, size, pending file, the `uploadUrl` and its token, the streamed body bounded by the
//! declared size, completion), `services/file-upload-completion.service.ts` (what completion
//! verifies; newer than 2.21, whose `file-upload.service.ts` does it),
//! `controllers/file-upload.controller.ts` and `guards/file-upload-token.guard.ts` (the `PUT`),
//! `filters/file-upload-api-exception.filter.ts` (how a failure of the `PUT` is answered) and
//! `filters/file-upload-graphql-api-exception.filter.ts` (newer than 2.21: 2.21 lets these
//! exceptions through as internal errors, as recorded).

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_graphql::{Context, Enum, Error, ErrorExtensions, Object, SimpleObject, ID};
use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::put;
use axum::Router;
use chrono::Utc;
use futures_util::StreamExt;
use uuid::Uuid;

use super::api_error::ApiError;
use super::input::iso;
use super::metadata::FileDto;
use super::{lock, Shared, StoredFile};

/// Which upload mutations the twin's `/metadata` offers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum UploadOffer {
    /// "Files v2" only: the multipart `uploadFilesFieldFile` (and its by-universal-identifier
    /// twin); no `createFileUpload`. Twenty from PR #17707 until direct upload.
    #[default]
    MultipartOnly,
    /// The newest generation: `createFileUpload` / `completeFileUpload`, and no
    /// `uploadFilesFieldFile` by id. The generated SDK schema of the newest Twenty lists
    /// `uploadFilesFieldFileByUniversalIdentifier` as deprecated in favour of
    /// `createFileUpload` and no longer lists `uploadFilesFieldFile`.
    DirectOnly,
    /// Both generations, as a server between the two.
    Both,
}

/// `settings.storage.maxDirectUploadFileSize = '1GB'`
/// (`packages/twenty-server/src/engine/constants/settings/index.ts`, newest).
const MAX_DIRECT_UPLOAD_BYTES: f64 = 1024.0 * 1024.0 * 1024.0;

/// How long an `uploadUrl` stays valid by default ([`super::TwinConfig::upload_url_ttl`] sets
/// another). Twenty signs the token for, and presigns the storage URL for,
/// `STORAGE_S3_PRESIGNED_URL_EXPIRES_IN` seconds (`file-upload.service.ts`), whose default is 900
/// (`packages/twenty-server/src/engine/core-modules/twenty-config/config-variables.ts`).
pub const UPLOAD_URL_TTL: Duration = Duration::from_secs(900);

/// A step of a direct upload that a test can hold ([`super::Twin::hold`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UploadStep {
    /// The `PUT` of the bytes.
    Put,
    /// `completeFileUpload`.
    Complete,
}

/// Holds a request of `step` while a test holds that step; true when it was held (it is then
/// refused unapplied).
async fn held(s: &Shared, step: UploadStep) -> bool {
    let mut hold = s.hold.subscribe();
    if *hold.borrow_and_update() != Some(step) {
        return false;
    }
    s.held.fetch_add(1, Ordering::SeqCst);
    let _ = hold.wait_for(|h| *h != Some(step)).await;
    s.held.fetch_sub(1, Ordering::SeqCst);
    true
}

/// The Content-Type the client must send: `DIRECT_UPLOAD_CONTENT_TYPE`
/// (`file-upload-target.service.ts`).
const DIRECT_UPLOAD_CONTENT_TYPE: &str = "application/octet-stream";

/// A file created by `createFileUpload`.
#[derive(Debug, Clone)]
pub(super) struct PendingUpload {
    name: String,
    /// The size `createFileUpload` declared; the `PUT` must match it exactly.
    declared: u64,
    field_metadata_id: Uuid,
    token: String,
    expires: Instant,
    created_at: String,
    /// The bytes of the last accepted `PUT` (the "pending" object).
    bytes: Option<Vec<u8>>,
    /// `FILE_STATUS.UPLOADED`: completed, now in the twin's files.
    uploaded: bool,
}

/// `FileFolder` (twenty-shared `types/FileFolder.ts`): the GraphQL enum uses the TypeScript
/// keys. Only the values the twin tells apart are listed.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(name = "FileFolder", rename_items = "PascalCase")]
#[allow(missing_docs)]
pub enum FileFolder {
    FilesField,
    Workflow,
    EmailAttachment,
    AgentChat,
    EmailImage,
    CorePicture,
    Attachment,
}

impl FileFolder {
    /// `DIRECT_UPLOAD_FILE_FOLDERS` (`file-upload.service.ts`).
    fn direct(self) -> bool {
        matches!(
            self,
            Self::FilesField
                | Self::Workflow
                | Self::EmailAttachment
                | Self::AgentChat
                | Self::EmailImage
        )
    }

    fn path_segment(self) -> &'static str {
        match self {
            Self::FilesField => "files-field",
            Self::Workflow => "workflow",
            Self::EmailAttachment => "email-attachment",
            Self::AgentChat => "agent-chat",
            Self::EmailImage => "email-image",
            Self::CorePicture => "core-picture",
            Self::Attachment => "attachment",
        }
    }
}

/// `FileUploadTargetDTO` (`dtos/file-upload-target.dto.ts`).
#[derive(SimpleObject)]
#[graphql(name = "FileUploadTarget")]
pub struct FileUploadTarget {
    file_id: ID,
    upload_url: String,
    /// The Content-Type the client must send to `uploadUrl`.
    content_type: String,
    expires_at: String,
}

/// A GraphQL error as Twenty's filters raise it: `UserInputError` → `BAD_USER_INPUT`,
/// `NotFoundError` → `NOT_FOUND` (`file-upload-graphql-api-exception.filter.ts`).
fn gql_error(message: impl Into<String>, code: &'static str, sub_code: &'static str) -> Error {
    Error::new(message).extend_with(|_, e| {
        e.set("code", code);
        e.set("subCode", sub_code);
    })
}

fn shared<'a>(ctx: &Context<'a>) -> async_graphql::Result<&'a Arc<Shared>> {
    ctx.data::<Arc<Shared>>()
}

fn bump(s: &Shared, kind: &str) {
    *lock(&s.counters.by_route)
        .entry(kind.to_owned())
        .or_default() += 1;
}

/// Whether the direct-upload mutations are in the schema (introspection hides them otherwise).
pub(super) fn offers_direct(ctx: &Context<'_>) -> bool {
    shared(ctx).is_ok_and(|s| s.config.upload_offer != UploadOffer::MultipartOnly)
}

/// Whether `uploadFilesFieldFile` (by id) is in the schema.
pub(super) fn offers_multipart(ctx: &Context<'_>) -> bool {
    shared(ctx).is_ok_and(|s| s.config.upload_offer != UploadOffer::DirectOnly)
}

/// A field the configured generation lacks answers as GraphQL validation answers an unknown
/// field (hiding it from introspection alone would still let it run).
pub(super) fn absent(field: &str) -> Error {
    Error::new(format!(
        "Cannot query field \"{field}\" on type \"Mutation\"."
    ))
    .extend_with(|_, e| e.set("code", "GRAPHQL_VALIDATION_FAILED"))
}

/// The direct-upload mutations, merged into the `/metadata` schema.
#[derive(Default)]
pub struct DirectUploadMutation;

// async-graphql wants mutations async, even without an await.
#[allow(clippy::unused_async)]
#[Object]
impl DirectUploadMutation {
    /// `createFileUpload`: a pending file and where to `PUT` its bytes.
    #[graphql(visible = "offers_direct")]
    async fn create_file_upload(
        &self,
        ctx: &Context<'_>,
        filename: String,
        size: f64,
        file_folder: FileFolder,
        field_metadata_id: Option<String>,
        field_metadata_universal_identifier: Option<String>,
    ) -> async_graphql::Result<FileUploadTarget> {
        if !offers_direct(ctx) {
            return Err(absent("createFileUpload"));
        }
        let s = shared(ctx)?;
        bump(s, "create_file_upload");
        let created = s.direct_created.fetch_add(1, Ordering::SeqCst);
        if !file_folder.direct() {
            return Err(gql_error(
                format!(
                    "Direct upload is not supported for file folder {}",
                    file_folder.path_segment()
                ),
                "BAD_USER_INPUT",
                "BAD_REQUEST",
            ));
        }
        // `!Number.isInteger(size) || size <= 0 || size > maxFileSize` → a FileUploadException
        // (FILE_TOO_LARGE) that 2.21 lets reach the client as an internal error, with its
        // user-friendly message (recorded: `tests/conformance/twenty-2.21/upload-direct-empty-file.json`).
        if size.fract() != 0.0 || size <= 0.0 || size > MAX_DIRECT_UPLOAD_BYTES {
            return Err(Error::new(format!(
                "Invalid file size {size} (max {MAX_DIRECT_UPLOAD_BYTES} bytes)"
            ))
            .extend_with(|_, e| {
                e.set("code", "INTERNAL_SERVER_ERROR");
                e.set(
                    "userFriendlyMessage",
                    "The file is empty or exceeds the maximum allowed size.",
                );
            }));
        }
        if file_folder != FileFolder::FilesField {
            // The twin keeps files for FILES fields only.
            return Err(gql_error(
                "The twin accepts direct uploads into FILES fields only",
                "BAD_USER_INPUT",
                "BAD_REQUEST",
            ));
        }
        // `resolveUploadLocation` / `findFilesFieldMetadataOrThrow`; the twin's fields use their
        // id as universal identifier.
        let Some(field) = field_metadata_id.or(field_metadata_universal_identifier) else {
            return Err(gql_error(
                "fieldMetadataId or fieldMetadataUniversalIdentifier must be provided",
                "BAD_USER_INPUT",
                "BAD_REQUEST",
            ));
        };
        let not_found = || {
            gql_error(
                format!("Files field {field} not found"),
                "BAD_USER_INPUT",
                "BAD_REQUEST",
            )
        };
        let field_id = Uuid::parse_str(&field).map_err(|_| not_found())?;
        // 2.21 checks that the field exists, not its type: a SELECT field's id gets an upload
        // target (recorded: `tests/conformance/twenty-2.21/upload-direct-not-a-files-field.json`).
        if lock(&s.db).model.field_by_id(field_id).is_none() {
            return Err(not_found());
        }
        let id = Uuid::new_v4();
        let token = Uuid::new_v4().simple().to_string();
        let every = s.config.expire_upload_urls;
        let ttl = if every > 0 && created % every == 0 {
            Duration::ZERO
        } else {
            s.config.upload_url_ttl
        };
        let expires_at = Utc::now() + chrono::TimeDelta::milliseconds(ttl.as_millis() as i64);
        lock(&s.direct).insert(
            id,
            PendingUpload {
                name: filename,
                declared: size as u64,
                field_metadata_id: field_id,
                token: token.clone(),
                expires: Instant::now() + ttl,
                created_at: iso(Utc::now()),
                bytes: None,
                uploaded: false,
            },
        );
        // No presigned storage in the twin: the streaming endpoint of the server itself
        // (`${SERVER_URL}/${ApiPath.FileUpload}/${fileId}?token=…`).
        Ok(FileUploadTarget {
            file_id: ID(id.to_string()),
            upload_url: format!("{}/file-upload/{id}?token={token}", s.base_url),
            content_type: DIRECT_UPLOAD_CONTENT_TYPE.to_owned(),
            expires_at: iso(expires_at),
        })
    }

    /// `completeFileUpload`: checks the uploaded bytes and makes the file usable.
    #[graphql(visible = "offers_direct")]
    async fn complete_file_upload(
        &self,
        ctx: &Context<'_>,
        file_id: String,
    ) -> async_graphql::Result<FileDto> {
        if !offers_direct(ctx) {
            return Err(absent("completeFileUpload"));
        }
        let s = shared(ctx)?;
        if held(s, UploadStep::Complete).await {
            return Err(Error::new("held by the test, not applied"));
        }
        bump(s, "complete_file_upload");
        // 2.21 lets this FileException reach the client as an internal error
        // (recorded: `tests/conformance/twenty-2.21/upload-direct-complete-unknown-file.json`).
        let not_found = || {
            Error::new(format!("File not found: {file_id}")).extend_with(|_, e| {
                e.set("code", "INTERNAL_SERVER_ERROR");
                e.set("userFriendlyMessage", "File not found.");
            })
        };
        let id = Uuid::parse_str(&file_id).map_err(|_| not_found())?;
        let mut pending = lock(&s.direct);
        let Some(upload) = pending.get_mut(&id) else {
            return Err(not_found());
        };
        let ext = std::path::Path::new(&upload.name)
            .extension()
            .and_then(|e| e.to_str())
            .map(|e| format!(".{e}"))
            .unwrap_or_default();
        let path = format!("{id}{ext}");
        let dto = |size: u64| {
            FileDto::new(
                id,
                path.clone(),
                size,
                upload.created_at.clone(),
                format!("{}/file/files-field/{id}?token=twin", s.base_url),
            )
        };
        // A completed file that no record uses yet is still temporary: completing it again
        // answers the same file (`file.status === UPLOADED` and `isTemporaryFile`).
        if upload.uploaded {
            return Ok(dto(upload.declared));
        }
        // `completeUploadedFile`: the object must be there, with the declared size.
        let Some(bytes) = upload.bytes.take() else {
            return Err(gql_error(
                format!("File \"files-field/{path}\" has not been uploaded to storage yet."),
                "BAD_USER_INPUT",
                "FILE_NOT_UPLOADED",
            ));
        };
        let size = bytes.len() as u64;
        if size != upload.declared {
            let declared = upload.declared;
            upload.bytes = Some(bytes);
            return Err(gql_error(
                format!("File \"files-field/{path}\" has {size} bytes in storage but {declared} were declared."),
                "BAD_USER_INPUT",
                "FILE_SIZE_MISMATCH",
            ));
        }
        if let Some(message) = super::sniff::refusal(&upload.name, &bytes) {
            upload.bytes = Some(bytes);
            return Err(gql_error(message, "BAD_USER_INPUT", "INVALID_EXTENSION"));
        }
        // The twin takes the MIME type from the name; Twenty sniffs the first bytes.
        let mime = mime_guess::from_path(&upload.name)
            .first()
            .map(|m| m.to_string());
        let kept = match &s.config.files_dir {
            Some(dir) => {
                std::fs::write(dir.join(&path), &bytes)?;
                None
            }
            None => Some(bytes),
        };
        upload.uploaded = true;
        lock(&s.files).insert(
            id,
            StoredFile {
                id,
                name: upload.name.clone(),
                path: path.clone(),
                mime,
                size,
                created_at: upload.created_at.clone(),
                field_metadata_id: upload.field_metadata_id,
                bytes: kept,
            },
        );
        Ok(dto(size))
    }
}

/// `PUT /file-upload/{id}?token=…` (`ApiPath.FileUpload`, `file-upload.controller.ts`).
pub(super) fn router() -> Router<Arc<Shared>> {
    Router::new().route("/file-upload/{id}", put(receive))
}

/// Nest's answer when a guard refuses: `FileUploadTokenGuard` returns false for a missing,
/// expired or invalid token (`jwtWrapperService.verifyJwtToken` throws, caught), Nest raises its
/// `ForbiddenException('Forbidden resource')`, which the controller's filter (FileUploadException
/// only) lets by, and the global `UnhandledExceptionFilter` (`src/filters/unhandled-exception.filter.ts`)
/// sends as Nest's own body: `message`, not Twenty's `messages`, and no code.
fn forbidden() -> Response {
    (
        StatusCode::FORBIDDEN,
        axum::Json(serde_json::json!({
            "message": "Forbidden resource",
            "error": "Forbidden",
            "statusCode": 403,
        })),
    )
        .into_response()
}

/// The streaming target: the token from the query string (no API key:
/// `FileUploadTokenGuard`, `NoPermissionGuard`), then the body bounded by the declared size
/// (`receiveFileStream`), 204 when it matches.
async fn receive(
    State(s): State<Arc<Shared>>,
    Path(id): Path<String>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    if held(&s, UploadStep::Put).await {
        return StatusCode::SERVICE_UNAVAILABLE.into_response();
    }
    bump(&s, "file_upload_put");
    // Counted for tests: the token is the credential, a client has no reason to send its key
    // (and must not to a presigned storage URL).
    if headers.contains_key(header::AUTHORIZATION) {
        bump(&s, "file_upload_put_with_api_key");
    }
    // The guard: a valid, unexpired upload token for exactly this file id.
    let Ok(id) = Uuid::parse_str(&id) else {
        return forbidden();
    };
    let Some(token) = query.get("token") else {
        return forbidden();
    };
    let declared = {
        let pending = lock(&s.direct);
        match pending.get(&id) {
            Some(u) if &u.token == token && u.expires > Instant::now() => {
                // `file.status !== FILE_STATUS.PENDING` → FileUploadException BAD_REQUEST, sent
                // by `file-upload-api-exception.filter.ts` through `http-exception-handler.service.ts`
                // as 400 with the code and `error: "Error"`, as the size mismatch (recorded).
                if u.uploaded {
                    return ApiError::raw(
                        400,
                        "Error",
                        format!("File {id} is not awaiting an upload"),
                    )
                    .with_code("BAD_REQUEST")
                    .into_response();
                }
                u.declared
            }
            _ => return forbidden(),
        }
    };
    let mut stream = body.into_data_stream();
    let mut received: u64 = 0;
    let mut bytes = Vec::with_capacity(declared.min(1 << 20) as usize);
    while let Some(chunk) = stream.next().await {
        let Ok(chunk) = chunk else {
            return ApiError::engine(500, "INTERNAL_SERVER_ERROR", "Upload stream failed")
                .into_response();
        };
        received += chunk.len() as u64;
        // The size limiter: more than declared is FILE_TOO_LARGE (413). Read on without
        // keeping the bytes, so the client gets the answer rather than a reset.
        if received <= declared {
            bytes.extend_from_slice(&chunk);
        }
    }
    if received > declared {
        return ApiError::engine(
            413,
            "FILE_TOO_LARGE",
            format!("Upload exceeds declared size of {declared} bytes"),
        )
        .into_response();
    }
    if received != declared {
        // 2.21 renders this FileUploadException with `error: "Error"` (recorded:
        // `tests/conformance/twenty-2.21/upload-direct-size-mismatch.json`).
        return ApiError::raw(
            400,
            "Error",
            format!("Uploaded {received} bytes but {declared} were declared"),
        )
        .with_code("FILE_SIZE_MISMATCH")
        .into_response();
    }
    // A second PUT before completion overwrites the pending object, as storage does.
    if let Some(u) = lock(&s.direct).get_mut(&id) {
        u.bytes = Some(bytes);
    }
    StatusCode::NO_CONTENT.into_response()
}
