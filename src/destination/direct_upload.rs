//! The newest file generation, "direct upload": `createFileUpload` → `PUT` the bytes to the
//! answered `uploadUrl` → `completeFileUpload`, and the choice between it and the multipart
//! `uploadFilesFieldFile` ([`UploadGeneration`]).
//!
//! Sources in twentyhq/twenty, `packages/twenty-server/src/engine/core-modules/file/file-upload/`:
//! `resolvers/file-upload.resolver.ts` (both mutations on `/metadata`; `size` is a GraphQL
//! `Float`, `fileFolder` the `FileFolder` enum whose GraphQL value is the key `FilesField`),
//! `dtos/file-upload-target.dto.ts` (`fileId`, `uploadUrl`, `contentType` to send, `expiresAt`),
//! `services/file-upload-target.service.ts` (`uploadUrl` is a presigned storage URL, or
//! `${SERVER_URL}/file-upload/{id}?token=…` whose token is the only credential:
//! `guards/file-upload-token.guard.ts` reads it from the query string),
//! `controllers/file-upload.controller.ts` (204), `services/file-upload.service.ts` (the body
//! must be exactly the declared size; completing an already completed, unused file answers it
//! again).
//!
//! Retries: a `PUT` is repeatable until completion (the file stays `PENDING` and the pending
//! object is overwritten), and so is `completeFileUpload`. A `createFileUpload` whose answer is
//! lost leaves a pending file nothing references; Twenty's cron deletes pending files after
//! `PENDING_FILE_MAX_AGE_MS` (`services/pending-file-cleanup.service.ts`, whose comment names
//! re-uploading under a fresh fileId as the client's recovery path).

use std::path::Path;

use reqwest::Method;
use serde_json::{json, Value};
use tracing::debug;
use uuid::Uuid;

use super::client::{Call, CallBody};
use super::{Target, TargetError, UploadedFile};

/// How the target takes a file for a FILES field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UploadGeneration {
    /// `createFileUpload` → `PUT` → `completeFileUpload` (the newest Twenty).
    Direct,
    /// The multipart `uploadFilesFieldFile` ("Files v2").
    Multipart,
}

pub(crate) const CREATE: &str = "mutation CreateFileUpload($filename: String!, $size: Float!, $fieldMetadataId: String!) { createFileUpload(filename: $filename, size: $size, fileFolder: FilesField, fieldMetadataId: $fieldMetadataId) { fileId uploadUrl contentType } }";

pub(crate) const COMPLETE: &str = "mutation CompleteFileUpload($fileId: String!) { completeFileUpload(fileId: $fileId) { id path } }";

/// Introspection is open to authenticated callers: Twenty only adds
/// `NoSchemaIntrospectionCustomRule` for unauthenticated ones in production
/// (`core-modules/graphql/hooks/use-disable-introspection-for-unauthenticated-users.hook.ts`).
pub(crate) const MUTATION_NAMES: &str = "{ __schema { mutationType { fields { name } } } }";

impl Target {
    /// Which upload generation the target offers, from the names of its `/metadata`
    /// mutations: direct upload when it has `createFileUpload` and `completeFileUpload`,
    /// else the multipart mutation. One request (two if introspection is refused).
    pub async fn upload_generation(&self) -> Result<UploadGeneration, TargetError> {
        match self.graphql(MUTATION_NAMES, json!({})).await {
            Ok(data) => {
                let names: Vec<&str> = data
                    .pointer("/__schema/mutationType/fields")
                    .and_then(Value::as_array)
                    .map(|fields| {
                        fields
                            .iter()
                            .filter_map(|f| f.get("name").and_then(Value::as_str))
                            .collect()
                    })
                    .unwrap_or_default();
                let direct =
                    names.contains(&"createFileUpload") && names.contains(&"completeFileUpload");
                Ok(if direct {
                    UploadGeneration::Direct
                } else {
                    UploadGeneration::Multipart
                })
            }
            Err(TargetError::Rejected { .. }) => self.probe_direct_upload().await,
            Err(other) => Err(other),
        }
    }

    /// Without introspection: completing a file that cannot exist is refused as "not found"
    /// where the mutation exists (a resolver error), and the document itself is refused
    /// (a GraphQL validation error) where it does not. Writes nothing.
    async fn probe_direct_upload(&self) -> Result<UploadGeneration, TargetError> {
        match self
            .graphql(COMPLETE, json!({ "fileId": Uuid::nil().to_string() }))
            .await
        {
            Err(e) if e.is_graphql_validation() => Ok(UploadGeneration::Multipart),
            Err(TargetError::Rejected { .. }) | Ok(_) => Ok(UploadGeneration::Direct),
            Err(other) => Err(other),
        }
    }

    /// Uploads a local file into a FILES field by direct upload: `createFileUpload` with its
    /// size, the bytes streamed from disk to `uploadUrl` with the answered Content-Type (no
    /// API key: the URL carries its own credential and may be another host), then
    /// `completeFileUpload`. The answer's `id` goes into the record's FILES value as `fileId`.
    ///
    /// Only a completed file may be recorded as uploaded: after an error the file is either
    /// pending (cleaned up by the target) or never created.
    pub async fn upload_file_direct(
        &self,
        field_metadata_id: Uuid,
        path: &Path,
        file_name: &str,
    ) -> Result<UploadedFile, TargetError> {
        let size = super::client::local_file_size(path).await?;
        // `createFileUpload` refuses `size <= 0` (`file-upload.service.ts`; 2.21 answers it as an
        // INTERNAL_SERVER_ERROR, recorded in `upload-direct-empty-file.json`): refused here, before
        // any request, with what the user can do about it.
        if size == 0 {
            return Err(TargetError::Rejected {
                status: 400,
                messages: vec![
                    "the file is empty (0 bytes) and the target's direct upload refuses empty files; remove the empty file from the source record, or attach the real file by hand after the migration".to_owned(),
                ],
                code: Some("FILE_TOO_LARGE".to_owned()),
            });
        }
        let data = self
            .graphql(
                CREATE,
                json!({
                    "filename": file_name,
                    "size": size,
                    "fieldMetadataId": field_metadata_id.to_string(),
                }),
            )
            .await?;
        let target = data
            .get("createFileUpload")
            .ok_or_else(|| TargetError::Protocol("createFileUpload answered nothing".into()))?;
        let text = |key: &str| {
            target
                .get(key)
                .and_then(Value::as_str)
                .map(str::to_owned)
                .ok_or_else(|| TargetError::Protocol(format!("createFileUpload has no {key}")))
        };
        let file_id = text("fileId")?;
        let upload_url = text("uploadUrl")?;
        let content_type = text("contentType")?;

        let mut put = Call::new(Method::PUT, self.upload_label(&upload_url, &file_id));
        put.url = Some(upload_url);
        put.auth = false;
        put.body = CallBody::File {
            path: path.to_owned(),
            content_type,
        };
        self.call(&put, |_| Ok(())).await?;

        let data = self.graphql(COMPLETE, json!({ "fileId": file_id })).await?;
        let file = data
            .get("completeFileUpload")
            .ok_or_else(|| TargetError::Protocol("completeFileUpload answered nothing".into()))?;
        let id = file.get("id").and_then(Value::as_str).ok_or_else(|| {
            TargetError::Protocol("completeFileUpload answered no file id".into())
        })?;
        if id != file_id {
            return Err(TargetError::Protocol(format!(
                "completeFileUpload answered file {id} for {file_id}"
            )));
        }
        debug!(%field_metadata_id, size, "file uploaded directly");
        Ok(UploadedFile {
            id: file_id,
            path: file.get("path").and_then(Value::as_str).map(str::to_owned),
        })
    }

    /// How logs and errors name the `PUT`: the server's own path, or only "presigned upload"
    /// for a storage URL, never the URL's token or signature.
    fn upload_label(&self, url: &str, file_id: &str) -> String {
        if url.starts_with(self.base_url()) {
            format!("/file-upload/{file_id}")
        } else {
            format!("(presigned upload of {file_id})")
        }
    }
}
