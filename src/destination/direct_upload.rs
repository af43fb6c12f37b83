//! The newest file generation, "direct upload": `createFileUpload` → `PUT` the bytes to the
//! answered `uploadUrl` → `completeFileUpload`, and the choice between it and the multipart
//! `uploadFilesFieldFile` ([`UploadGeneration`]).
//!
//! Sources in twentyhq/twenty (2.21), `packages/twenty-server/src/engine/core-modules/file/file-upload/`:
//! `resolvers/file-upload.resolver.ts` (both mutations on `/metadata`; `size` is a GraphQL
//! `Float`, `fileFolder` the `FileFolder` enum whose GraphQL value is the key `FilesField`),
//! `dtos/file-upload-target.dto.ts` (`fileId`, `uploadUrl`, `contentType` to send, `expiresAt`),
//! `services/file-upload.service.ts` (`createFileUpload`: `uploadUrl` is a presigned storage URL,
//! or `${SERVER_URL}/file-upload/{id}?token=…` whose token is the only credential, both good for
//! `STORAGE_S3_PRESIGNED_URL_EXPIRES_IN` seconds, 900 by default
//! (`twenty-config/config-variables.ts`); the body must be exactly the declared size; completing
//! an already completed, unused file answers it again), `guards/file-upload-token.guard.ts`
//! (the token from the query string; an expired or invalid one makes the guard refuse: Nest's
//! 403 `Forbidden resource`, without a code), `controllers/file-upload.controller.ts` (204).
//!
//! Retries: a `PUT` is repeatable until completion (the file stays `PENDING` and the pending
//! object is overwritten), and so is `completeFileUpload`. A `PUT` refused for its URL (expired)
//! gets a fresh URL from a new `createFileUpload`, at most [`URL_RENEWALS`] times. A pending upload
//! of an earlier attempt or run ([`PendingDirectUpload`]) is finished by `PUT` and completion of
//! the same file while its URL is good, so a crash between creation and completion costs no
//! second upload. A `createFileUpload` whose answer is lost, or a pending upload given up, leaves
//! a pending file nothing references; Twenty's cron deletes pending files after
//! `PENDING_FILE_MAX_AGE_MS`, 24 h (`services/pending-file-cleanup.service.ts`, whose comment
//! names re-uploading under a fresh fileId as the client's recovery path).

use std::future::Future;
use std::path::Path;

use chrono::{DateTime, TimeDelta, Utc};
use reqwest::Method;
use serde_json::{json, Value};
use tracing::debug;
use uuid::Uuid;

use super::client::{local_file_size, Call, CallBody};
use super::{Disposition, Target, TargetError, UploadedFile};

/// Fresh upload URLs asked for within one upload after its `PUT` was refused for its URL.
pub const URL_RENEWALS: u32 = 2;

/// How long, in seconds, an earlier attempt's upload URL must still be good for to be used
/// again: time for its `PUT` to wait for an in-flight slot and a rate-limit permit.
pub const RESUME_MARGIN_SECONDS: i64 = 60;

/// How the target takes a file for a FILES field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UploadGeneration {
    /// `createFileUpload` → `PUT` → `completeFileUpload` (the newest Twenty).
    Direct,
    /// The multipart `uploadFilesFieldFile` ("Files v2").
    Multipart,
}

/// `createFileUpload`, with `expiresAt` (non-null in `file-upload-target.dto.ts`), which says
/// whether a pending upload can still be finished.
pub(crate) const CREATE: &str = "mutation CreateFileUpload($filename: String!, $size: Float!, $fieldMetadataId: String!) { createFileUpload(filename: $filename, size: $size, fileFolder: FilesField, fieldMetadataId: $fieldMetadataId) { fileId uploadUrl contentType expiresAt } }";

pub(crate) const COMPLETE: &str = "mutation CompleteFileUpload($fileId: String!) { completeFileUpload(fileId: $fileId) { id path } }";

/// A direct upload that `createFileUpload` answered and that is not completed yet: what it takes
/// to finish it, later in the same upload or in the next run (the files stage keeps it in the
/// ledger before the bytes go). Its `upload_url` carries the upload's own short-lived credential
/// (a token or a presigned signature; never the API key): `Debug` leaves it out, and nothing
/// logs it.
#[derive(Clone, PartialEq, Eq)]
pub struct PendingDirectUpload {
    /// The file's id: `completeFileUpload` takes it, and a record's FILES value once completed.
    pub file_id: String,
    /// Where to `PUT` the bytes.
    pub upload_url: String,
    /// The Content-Type the `PUT` must send.
    pub content_type: String,
    /// When the target stops accepting `upload_url` (`expiresAt`), if it said.
    pub expires_at: Option<DateTime<Utc>>,
    /// The FILES field the file was created for.
    pub field_metadata_id: Uuid,
    /// The size `createFileUpload` declared: the `PUT` must carry exactly this many bytes.
    pub size: u64,
}

impl std::fmt::Debug for PendingDirectUpload {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PendingDirectUpload")
            .field("file_id", &self.file_id)
            .field("upload_url", &"[redacted]")
            .field("content_type", &self.content_type)
            .field("expires_at", &self.expires_at)
            .field("field_metadata_id", &self.field_metadata_id)
            .field("size", &self.size)
            .finish()
    }
}

impl PendingDirectUpload {
    /// Whether it can finish the upload of `size` bytes into `field_metadata_id` at `now`: the
    /// same field and size, and a URL still good for [`RESUME_MARGIN_SECONDS`] (an unknown
    /// expiry is not).
    pub fn can_finish(&self, field_metadata_id: Uuid, size: u64, now: DateTime<Utc>) -> bool {
        self.field_metadata_id == field_metadata_id
            && self.size == size
            && self
                .expires_at
                .is_some_and(|at| at - now >= TimeDelta::seconds(RESUME_MARGIN_SECONDS))
    }
}

/// Whether the `PUT` was refused because the file is no longer pending: `receiveFileStream`
/// raises `FileUploadException` `BAD_REQUEST` (its only one on that route) when
/// `file.status !== PENDING`, which `file-upload-api-exception.filter.ts` answers as 400 with the
/// code (`http-exception-handler.service.ts`). The bytes were received and completed before.
fn not_awaiting_upload(err: &TargetError) -> bool {
    matches!(err, TargetError::Rejected { status: 400, code: Some(c), .. } if c == "BAD_REQUEST")
}

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
    /// `earlier`, a pending upload of an earlier attempt or run, is finished instead (its bytes
    /// sent again, the same file completed) while it is for this field and size and its URL is
    /// good ([`PendingDirectUpload::can_finish`]); if the target no longer takes it, a new upload
    /// replaces it. `created` is called with each upload created, before its bytes are sent, and
    /// the `PUT` waits for it: that is where a caller records it to resume after a crash. A `PUT`
    /// refused for its URL (expired) gets a fresh one, at most [`URL_RENEWALS`] times.
    ///
    /// Only a completed file may be recorded as uploaded: after an error the file is either
    /// pending (finished by a later attempt, or cleaned up by the target) or never created.
    pub async fn upload_file_direct<F, Fut>(
        &self,
        field_metadata_id: Uuid,
        path: &Path,
        file_name: &str,
        earlier: Option<PendingDirectUpload>,
        mut created: F,
    ) -> Result<UploadedFile, TargetError>
    where
        F: FnMut(&PendingDirectUpload) -> Fut,
        Fut: Future<Output = ()>,
    {
        let size = local_file_size(path).await?;
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
        let resumable = earlier.filter(|p| p.can_finish(field_metadata_id, size, Utc::now()));
        if let Some(pending) = resumable {
            match self.finish_direct_upload(&pending, path).await {
                Ok(file) => {
                    debug!(file_id = %pending.file_id, size, "pending direct upload finished");
                    return Ok(file);
                }
                // The URL, or the pending file, is no longer good: a new upload replaces it.
                Err(err)
                    if matches!(err, TargetError::UploadUrlRefused { .. })
                        || err.disposition() == Disposition::RejectRecords =>
                {
                    debug!(file_id = %pending.file_id, error = %err, "pending direct upload not taken, starting over");
                }
                Err(err) => return Err(err),
            }
        }
        let mut renewals = 0;
        loop {
            let pending = self
                .create_direct_upload(field_metadata_id, size, file_name)
                .await?;
            created(&pending).await;
            match self.finish_direct_upload(&pending, path).await {
                Err(TargetError::UploadUrlRefused { .. }) if renewals < URL_RENEWALS => {
                    renewals += 1;
                    debug!(file_id = %pending.file_id, renewals, "upload url refused as expired, asking for a fresh one");
                }
                other => return other,
            }
        }
    }

    /// `createFileUpload`: a pending file of `size` bytes and where to send them.
    async fn create_direct_upload(
        &self,
        field_metadata_id: Uuid,
        size: u64,
        file_name: &str,
    ) -> Result<PendingDirectUpload, TargetError> {
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
        let text = |key: &str| target.get(key).and_then(Value::as_str);
        let required = |key: &str| {
            text(key)
                .map(str::to_owned)
                .ok_or_else(|| TargetError::Protocol(format!("createFileUpload has no {key}")))
        };
        Ok(PendingDirectUpload {
            file_id: required("fileId")?,
            upload_url: required("uploadUrl")?,
            content_type: required("contentType")?,
            // A GraphQL `Date`: an ISO 8601 string (`2026-12-07T10:15:00.000Z`).
            expires_at: text("expiresAt")
                .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
                .map(|t| t.with_timezone(&Utc)),
            field_metadata_id,
            size,
        })
    }

    /// Sends the bytes of `pending` (again, if an earlier attempt did) and completes its file.
    /// A `PUT` refused because the file was completed already goes on to the completion, which
    /// answers the completed file again.
    async fn finish_direct_upload(
        &self,
        pending: &PendingDirectUpload,
        path: &Path,
    ) -> Result<UploadedFile, TargetError> {
        match self.put_direct_upload(pending, path).await {
            Ok(()) => {}
            Err(err) if not_awaiting_upload(&err) => {
                debug!(file_id = %pending.file_id, "file received before, completing it");
            }
            Err(err) => return Err(err),
        }
        self.complete_direct_upload(&pending.file_id).await
    }

    /// `PUT`s the file's bytes to the upload URL, with its own credential and no API key.
    async fn put_direct_upload(
        &self,
        pending: &PendingDirectUpload,
        path: &Path,
    ) -> Result<(), TargetError> {
        let mut put = Call::new(
            Method::PUT,
            self.upload_label(&pending.upload_url, &pending.file_id),
        );
        put.url = Some(pending.upload_url.clone());
        put.auth = false;
        put.body = CallBody::File {
            path: path.to_owned(),
            content_type: pending.content_type.clone(),
        };
        match self.call(&put, |_| Ok(())).await {
            // No key was sent: a 403 refuses the URL's own credential (Twenty's guard, or a
            // storage's presigned-URL check), decided by the status alone.
            Err(
                TargetError::Unauthorized { status: 403, .. }
                | TargetError::Forbidden { status: 403, .. },
            ) => Err(TargetError::UploadUrlRefused {
                status: 403,
                file_id: pending.file_id.clone(),
            }),
            other => other,
        }
    }

    /// `completeFileUpload`: the target checks the bytes and makes the file usable.
    async fn complete_direct_upload(&self, file_id: &str) -> Result<UploadedFile, TargetError> {
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
        debug!(file_id, "file uploaded directly");
        Ok(UploadedFile {
            id: file_id.to_owned(),
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
