//! Files before Files v2 (Twenty ~0.4x–1.16, [`super::FilesGeneration::Mid`]; ≤ 0.3x,
//! [`super::FilesGeneration::Old`]): the `uploadFile(file: Upload!, fileFolder: FileFolder)`
//! mutation on the core `/graphql` endpoint and `GET /files/<folder>/<name>?token=…` to read
//! the bytes back.
//!
//! The old generation answers a `String`, the path with its token appended
//! (`path: \`${fileFolder}/${name}?token=${signedPayload}\`` in the 0.2x/0.3x
//! `file-upload.service.ts`), which the front strips before storing it
//! (`computePathWithoutToken` in `useUploadAttachmentFile.tsx`).
//!
//! Mirrors `packages/twenty-server/src/engine/core-modules/file/file-upload/resolvers/file-upload.resolver.ts`
//! (a core `@Resolver()`, guarded by the `UPLOAD_FILE` permission, returning `SignedFileDTO`),
//! `.../file-upload/services/file-upload.service.ts` (`uploadFile`: the stored name is a new
//! uuid plus the original extension, the path `<fileFolder>/<name>`, the token separate:
//! `files: [{ path, token }]`), `.../file-upload/dtos/signed-file.dto.ts` (`{ path, token }`)
//! and `.../file/controllers/file.controller.ts` with `guards/file-path-guard.ts` (downloads
//! need the file token in the query string).

use std::sync::Arc;

use async_graphql::{Context, EmptySubscription, Enum, Object, Schema, SimpleObject, Upload};
use async_graphql_axum::{GraphQLRequest, GraphQLResponse};
use axum::extract::{Path, Query as UrlQuery, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::Utc;
use serde_json::json;
use uuid::Uuid;

use super::input::iso;
use super::schema::stable_id;
use super::{lock, Shared, StoredFile};

/// The `/graphql` upload route (auth is layered on by the caller).
pub(super) fn router(shared: Arc<Shared>) -> Router<Arc<Shared>> {
    if shared.config.files_generation == super::FilesGeneration::Old {
        let schema = Schema::build(Query, OldMutation, EmptySubscription)
            .data(shared)
            .finish();
        return Router::new().route(
            "/graphql",
            post(move |req: GraphQLRequest| {
                let schema = schema.clone();
                async move { GraphQLResponse::from(schema.execute(req.into_inner()).await) }
            }),
        );
    }
    let schema = Schema::build(Query, Mutation, EmptySubscription)
        .data(shared)
        .finish();
    Router::new().route(
        "/graphql",
        post(move |req: GraphQLRequest| {
            let schema = schema.clone();
            async move { GraphQLResponse::from(schema.execute(req.into_inner()).await) }
        }),
    )
}

/// The unauthenticated download route: the file token is the credential.
pub(super) fn download_router() -> Router<Arc<Shared>> {
    Router::new().route("/files/{*path}", get(download))
}

/// `FileFolder` as the GraphQL enum names it (the keys of the server's
/// `core-modules/file/interfaces/file-folder.interface.ts`, as in the front's generated
/// `graphql.ts`: `Attachment`, `PersonPicture`, …); the value is the storage folder.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(name = "FileFolder", rename_items = "PascalCase")]
#[allow(missing_docs)]
pub enum FileFolder {
    Attachment,
    PersonPicture,
    ProfilePicture,
    WorkspaceLogo,
    ServerlessFunction,
}

impl FileFolder {
    fn folder(self) -> &'static str {
        match self {
            Self::Attachment => "attachment",
            Self::PersonPicture => "person-picture",
            Self::ProfilePicture => "profile-picture",
            Self::WorkspaceLogo => "workspace-logo",
            Self::ServerlessFunction => "serverless-function",
        }
    }
}

/// `SignedFileDTO` (`file-upload/dtos/signed-file.dto.ts`).
#[derive(SimpleObject)]
#[graphql(name = "SignedFile")]
pub struct SignedFile {
    /// `<folder>/<uuid>.<ext>`, without the token.
    path: String,
    /// The file token a download presents as `?token=`.
    token: String,
}

/// The core endpoint's queries: none are emulated (async-graphql needs one field).
pub struct Query;

#[Object]
impl Query {
    /// The file generation the twin emulates (twin only).
    #[allow(clippy::unused_async)] // async-graphql resolvers must be async
    async fn twin_files_generation(&self, ctx: &Context<'_>) -> async_graphql::Result<String> {
        let s = ctx.data::<Arc<Shared>>()?;
        Ok(format!("{:?}", s.config.files_generation).to_lowercase())
    }
}

/// The upload mutation (mid generation).
pub struct Mutation;

#[Object]
impl Mutation {
    /// Stores the bytes under `<fileFolder>/<uuid>.<ext>` and returns the path and its token.
    async fn upload_file(
        &self,
        ctx: &Context<'_>,
        file: Upload,
        file_folder: Option<FileFolder>,
    ) -> async_graphql::Result<SignedFile> {
        store(ctx, file, file_folder).await
    }
}

/// The upload mutation (old generation): the path with `?token=` appended.
pub struct OldMutation;

#[Object(name = "Mutation")]
impl OldMutation {
    /// Stores the bytes under `<fileFolder>/<uuid>.<ext>` and returns `<path>?token=<token>`.
    async fn upload_file(
        &self,
        ctx: &Context<'_>,
        file: Upload,
        file_folder: Option<FileFolder>,
    ) -> async_graphql::Result<String> {
        let signed = store(ctx, file, file_folder).await?;
        Ok(format!("{}?token={}", signed.path, signed.token))
    }
}

/// Keeps the uploaded bytes and answers the stored path and its token.
async fn store(
    ctx: &Context<'_>,
    file: Upload,
    file_folder: Option<FileFolder>,
) -> async_graphql::Result<SignedFile> {
    let s = ctx.data::<Arc<Shared>>()?;
    let value = file.value(ctx)?;
    let original = value.filename.clone();
    let mime = value.content_type.clone();
    let mut bytes = Vec::new();
    std::io::Read::read_to_end(&mut value.into_read(), &mut bytes)?;
    let id = Uuid::new_v4();
    // `buildFileInfo`: the extension is the last dot-separated part, if there is more than
    // one (`core-modules/file/utils/build-file-info.utils.ts`).
    let name = match original.rsplit_once('.') {
        Some((_, ext)) if !ext.is_empty() => format!("{id}.{ext}"),
        _ => id.to_string(),
    };
    // The argument is nullable and the service interpolates it as is.
    let folder = file_folder.map_or("undefined", FileFolder::folder);
    let path = format!("{folder}/{name}");
    let size = bytes.len() as u64;
    let kept = match &s.config.files_dir {
        Some(dir) => {
            let on_disk = dir.join(&path);
            if let Some(parent) = on_disk.parent() {
                tokio::fs::create_dir_all(parent).await?;
            }
            tokio::fs::write(on_disk, &bytes).await?;
            None
        }
        None => Some(bytes),
    };
    lock(&s.files).insert(
        id,
        StoredFile {
            id,
            name: original,
            path: path.clone(),
            mime,
            size,
            created_at: iso(Utc::now()),
            field_metadata_id: Uuid::nil(),
            bytes: kept,
        },
    );
    Ok(SignedFile {
        token: file_token(&name),
        path,
    })
}

/// The twin's file token for a stored name (Twenty signs a JWT with the file name and the
/// workspace: `FileService.encodeFileToken`); tests use it to download as the front would.
pub fn file_token(name: &str) -> String {
    format!("twin-file.{}", stable_id("fileToken", name).simple())
}

#[derive(serde::Deserialize)]
struct TokenQuery {
    token: Option<String>,
}

/// `GET /files/<folder>/<name>?token=…`: the bytes, when the token is the file's.
async fn download(
    State(s): State<Arc<Shared>>,
    Path(path): Path<String>,
    UrlQuery(query): UrlQuery<TokenQuery>,
) -> Response {
    let name = path.rsplit('/').next().unwrap_or_default();
    if query.token.as_deref() != Some(file_token(name).as_str()) {
        // A guard returning false: Nest's ForbiddenException.
        return (
            StatusCode::FORBIDDEN,
            Json(json!({"statusCode": 403, "message": "Forbidden resource", "error": "Forbidden"})),
        )
            .into_response();
    }
    let file = lock(&s.files).values().find(|f| f.path == path).cloned();
    let not_found = || {
        (
            StatusCode::NOT_FOUND,
            Json(json!({"statusCode": 404, "message": "File not found", "error": "Not Found"})),
        )
            .into_response()
    };
    let Some(file) = file else {
        return not_found();
    };
    let bytes = match (&file.bytes, &s.config.files_dir) {
        (Some(b), _) => b.clone(),
        (None, Some(dir)) => match tokio::fs::read(dir.join(&file.path)).await {
            Ok(b) => b,
            Err(_) => return not_found(),
        },
        (None, None) => return not_found(),
    };
    let mut headers = HeaderMap::new();
    if let Some(mime) = file.mime.as_deref().and_then(|m| m.parse().ok()) {
        headers.insert(header::CONTENT_TYPE, mime);
    }
    (headers, bytes).into_response()
}

/// A read attachment, as the API answers it before Files v2: `fullPath` becomes the signed
/// absolute URL `<SERVER_URL>/files/<path>?token=<token>` (`AttachmentQueryResultGetterHandler`,
/// `packages/twenty-server/src/engine/api/graphql/workspace-query-runner/factories/query-result-getters/handlers/attachment-query-result-getter.handler.ts`);
/// the stored value stays the bare path. Reads only: the twin's write answers are not signed.
pub(super) fn sign_read(s: &Shared, object: &str, record: &mut serde_json::Value) {
    if s.config.files_generation == super::FilesGeneration::V2 || object != "attachment" {
        return;
    }
    let Some(path) = record
        .get("fullPath")
        .and_then(serde_json::Value::as_str)
        .filter(|p| !p.is_empty())
        .map(str::to_owned)
    else {
        return;
    };
    let name = path.rsplit('/').next().unwrap_or_default();
    let signed = format!("{}/files/{path}?token={}", s.base_url, file_token(name));
    record["fullPath"] = serde_json::Value::String(signed);
}
