//! [`Target`]: the HTTP client for one Twenty server. Every request goes through one path
//! ([`Target::call`]): in-flight slot, rate-limit permit, send, classify, retry.

use std::num::NonZeroU32;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use tokio::sync::Semaphore;
use tracing::{debug, info, trace, warn};
use uuid::Uuid;

use super::config::{ApiKey, TargetConfig};
use super::error::{classify_graphql_errors, classify_status, truncate, TargetError};
use super::metadata;
use super::retry::{with_retries, Backoff, Outage};
use super::types::{
    BatchBody, ClientConfig, FindMany, Page, RequestStats, ReturnedId, TargetField, TargetMember,
    TargetModel, TargetObject, UploadedFile,
};

/// The `fileFolder` of a legacy upload, as the GraphQL enum names it (the keys of the server's
/// `core-modules/file/interfaces/file-folder.interface.ts`, e.g. `Attachment` for the
/// `attachment` folder; the front's generated `graphql.ts` shows the names).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LegacyFolder {
    /// `attachment/`: attachments and images inside rich text.
    Attachment,
    /// `person-picture/`: a person's `avatarUrl`.
    PersonPicture,
}

impl LegacyFolder {
    /// The GraphQL enum value.
    pub fn as_graphql(self) -> &'static str {
        match self {
            Self::Attachment => "Attachment",
            Self::PersonPicture => "PersonPicture",
        }
    }
}

/// A file uploaded through the legacy `uploadFile`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LegacyUpload {
    /// `<folder>/<uuid>.<ext>`, without a token: what the record stores.
    pub path: String,
    /// The file token a download presents as `?token=`, when the server gave one.
    pub token: Option<String>,
    /// Which answer the target gave: pass it to the next upload.
    pub answer: LegacyAnswer,
}

/// The shape of a legacy `uploadFile` answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LegacyAnswer {
    /// `SignedFileDTO { path, token }` (~0.4x–1.16).
    SignedFile,
    /// A String, `<path>?token=<token>` (≤ 0.3x).
    Path,
}

/// Ids per `id[in]:[…]` filter: short URLs, and within every version's page size (60).
const IDS_PER_LOOKUP: usize = 50;

/// Page size when this client reads all pages; Twenty's default page (`QUERY_DEFAULT_LIMIT_RECORDS`).
const PAGE_SIZE: u32 = 60;

/// The multipart Files v2 upload (`files-field.resolver.ts`).
pub(crate) const UPLOAD_FILES_FIELD_FILE: &str = "mutation UploadFilesFieldFile($file: Upload!, $fieldMetadataId: String!) { uploadFilesFieldFile(file: $file, fieldMetadataId: $fieldMetadataId) { id } }";

/// A client for one Twenty server: REST records, `/metadata` GraphQL and file uploads, all
/// under one rate limiter and one in-flight bound. Cheap to clone; clones share everything.
#[derive(Clone)]
pub struct Target {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Target")
            .field("base_url", &self.inner.base_url)
            .finish_non_exhaustive()
    }
}

struct Inner {
    http: reqwest::Client,
    base_url: String,
    api_key: ApiKey,
    limiter: DefaultDirectRateLimiter,
    in_flight: Semaphore,
    /// When the target last asked everyone to wait (429): no attempt starts before it.
    pause_until: Mutex<Option<tokio::time::Instant>>,
    max_attempts: u32,
    backoff: Backoff,
    max_outage: Duration,
    counters: Counters,
}

#[derive(Default)]
struct Counters {
    requests: AtomicU64,
    ok: AtomicU64,
    rate_limited: AtomicU64,
    server_errors: AtomicU64,
    client_errors: AtomicU64,
    network_errors: AtomicU64,
    retries: AtomicU64,
    records_sent: AtomicU64,
    records_confirmed: AtomicU64,
}

fn bump(counter: &AtomicU64, by: u64) {
    counter.fetch_add(by, Ordering::Relaxed);
}

/// One request, as data, so that every attempt sends the same thing.
pub(super) struct Call {
    pub(super) method: Method,
    /// The path under the base URL; also how logs and errors name the request.
    pub(super) path: String,
    /// A whole URL to send to instead of base URL + path (an upload target, whose query
    /// carries a token: it stays out of logs, which show `path`).
    pub(super) url: Option<String>,
    pub(super) query: Vec<(&'static str, String)>,
    pub(super) body: CallBody,
    pub(super) auth: bool,
    /// Records carried (batch calls), for the counters.
    records: usize,
    /// GraphQL endpoint: error answers carry an `errors` list.
    pub(super) graphql: bool,
}

pub(super) enum CallBody {
    None,
    Json(Bytes),
    Upload(Upload),
    /// A local file as the raw body, streamed with its length and this Content-Type
    /// (reopened on every attempt).
    File {
        path: PathBuf,
        content_type: String,
    },
}

pub(super) struct Upload {
    operations: String,
    file_name: String,
    mime: String,
    source: UploadSource,
}

/// Where the file's bytes come from. A path is reopened on every attempt, so a large file is
/// streamed from disk rather than held in memory, and a retry sends it whole again.
enum UploadSource {
    Bytes(Bytes),
    Path(PathBuf),
}

impl Call {
    pub(super) fn new(method: Method, path: String) -> Self {
        Self {
            method,
            path,
            url: None,
            query: Vec::new(),
            body: CallBody::None,
            auth: true,
            records: 0,
            graphql: false,
        }
    }
}

/// The size of a local file to upload; a file that is not there fails before any request.
pub(super) async fn local_file_size(path: &Path) -> Result<u64, TargetError> {
    tokio::fs::metadata(path)
        .await
        .map(|m| m.len())
        .map_err(|source| TargetError::LocalFile {
            path: path.display().to_string(),
            source,
        })
}

/// Refuses a MIME type a multipart part cannot carry, before any request.
fn check_mime(mime: &str) -> Result<(), TargetError> {
    reqwest::multipart::Part::bytes(Vec::new())
        .mime_str(mime)
        .map(drop)
        .map_err(|_| TargetError::Config(format!("invalid MIME type `{mime}`")))
}

impl Target {
    /// Builds the client: validates the configuration and makes the HTTP client, the rate
    /// limiter and the in-flight bound. Sends nothing.
    pub fn new(cfg: TargetConfig) -> Result<Self, TargetError> {
        // A small burst (about one second's worth) keeps the pace smooth: Twenty refills its
        // bucket continuously (`throttler.service.ts`), so bursts only earn 429s.
        let burst = (cfg.requests_per_minute / 60).max(1);
        Self::with_burst(cfg, burst)
    }

    pub(crate) fn with_burst(cfg: TargetConfig, burst: u32) -> Result<Self, TargetError> {
        let base_url = cfg.base_url.trim().trim_end_matches('/').to_owned();
        let parsed = reqwest::Url::parse(&base_url)
            .map_err(|e| TargetError::Config(format!("base URL `{base_url}` is not a URL: {e}")))?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(TargetError::Config(format!(
                "base URL `{base_url}` must start with http:// or https://"
            )));
        }
        let rpm = NonZeroU32::new(cfg.requests_per_minute)
            .ok_or_else(|| TargetError::Config("requests per minute must be at least 1".into()))?;
        let burst = NonZeroU32::new(burst.max(1)).unwrap_or(NonZeroU32::MIN);
        if cfg.max_in_flight == 0 {
            return Err(TargetError::Config(
                "requests in flight must be at least 1".into(),
            ));
        }
        if cfg.accept_invalid_certs {
            warn!(base_url = %base_url, "tls certificate verification is off for the target");
        }
        let http = reqwest::Client::builder()
            .use_rustls_tls()
            .danger_accept_invalid_certs(cfg.accept_invalid_certs)
            .timeout(cfg.timeout)
            .connect_timeout(cfg.timeout.min(Duration::from_secs(15)))
            .user_agent(concat!("twenty-migrate/", env!("CARGO_PKG_VERSION")))
            .gzip(true)
            .build()
            .map_err(|e| TargetError::Config(format!("cannot build the HTTP client: {e}")))?;
        Ok(Self {
            inner: Arc::new(Inner {
                http,
                base_url,
                api_key: cfg.api_key,
                limiter: RateLimiter::direct(Quota::per_minute(rpm).allow_burst(burst)),
                in_flight: Semaphore::new(cfg.max_in_flight),
                pause_until: Mutex::new(None),
                max_attempts: cfg.max_attempts.max(1),
                backoff: cfg.backoff,
                max_outage: cfg.max_outage,
                counters: Counters::default(),
            }),
        })
    }

    /// True when the rate limiter would give a permit now (tests check it was spent).
    #[cfg(test)]
    pub(crate) fn limiter_has_capacity(&self) -> bool {
        self.inner.limiter.check().is_ok()
    }

    /// A fresh [`Outage`] policy for one request being delivered: how long, and how, to wait
    /// out a target that stays unavailable after every retry.
    pub fn outage(&self) -> Outage {
        Outage::new(self.inner.max_outage, self.inner.backoff)
    }

    /// The server's root URL, without a trailing slash.
    pub fn base_url(&self) -> &str {
        &self.inner.base_url
    }

    /// Counts of requests sent so far, by outcome.
    pub fn stats(&self) -> RequestStats {
        let c = &self.inner.counters;
        let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
        RequestStats {
            requests: get(&c.requests),
            ok: get(&c.ok),
            rate_limited: get(&c.rate_limited),
            server_errors: get(&c.server_errors),
            client_errors: get(&c.client_errors),
            network_errors: get(&c.network_errors),
            retries: get(&c.retries),
            records_sent: get(&c.records_sent),
            records_confirmed: get(&c.records_confirmed),
        }
    }

    /// `GET /client-config` (no authentication): the server's version and public settings.
    ///
    /// Source: `engine/core-modules/client-config/client-config.controller.ts`.
    pub async fn client_config(&self) -> Result<ClientConfig, TargetError> {
        let mut call = Call::new(Method::GET, "/client-config".into());
        call.auth = false;
        let raw = self.call(&call, parse_json).await?;
        Ok(ClientConfig {
            app_version: raw
                .get("appVersion")
                .and_then(Value::as_str)
                .map(str::to_owned),
            mutation_maximum_affected_records: raw
                .pointer("/api/mutationMaximumAffectedRecords")
                .and_then(Value::as_u64),
            is_multi_workspace_enabled: raw.get("isMultiWorkspaceEnabled").and_then(Value::as_bool),
            raw,
        })
    }

    /// Reads the target's data model (objects and fields) from `/metadata`, all pages.
    pub async fn model(&self) -> Result<TargetModel, TargetError> {
        let mut objects = Vec::new();
        let mut after: Option<String> = None;
        let mut variant = metadata::ObjectsQuery::NEWEST;
        loop {
            let query = metadata::objects_query(variant, after.as_deref());
            let data = match self.graphql(&query, json!({})).await {
                Ok(data) => data,
                Err(err) => {
                    // An older server that lacks part of the newest query: ask again without it.
                    let next = match &err {
                        TargetError::Rejected { messages, .. } if err.is_graphql_validation() => {
                            variant.fallback(messages)
                        }
                        _ => None,
                    };
                    match next {
                        Some(next) => {
                            debug!(
                                ?next,
                                "target refused part of the model query, asking again"
                            );
                            variant = next;
                            continue;
                        }
                        None => return Err(err),
                    }
                }
            };
            let page = metadata::parse_objects_page(&data)?;
            objects.extend(page.objects);
            match page.next_cursor {
                Some(cursor) if after.as_deref() != Some(cursor.as_str()) => after = Some(cursor),
                Some(_) => {
                    return Err(TargetError::Protocol(
                        "the objects list repeated its cursor".into(),
                    ))
                }
                None => break,
            }
        }
        debug!(objects = objects.len(), "target model read");
        Ok(TargetModel { objects })
    }

    /// Creates a custom object: `createOneObject(input: {object})` on `/metadata`, where
    /// `object` holds `nameSingular`, `namePlural`, `labelSingular`, `labelPlural` and the
    /// optional `description`, `icon`, …. The answer carries no fields; read [`Self::model`]
    /// again for the system fields Twenty adds.
    ///
    /// Not idempotent: after a [`TargetError::Transient`] the object may exist, so re-read the
    /// model before trying again.
    pub async fn create_object(&self, object: Value) -> Result<TargetObject, TargetError> {
        let data = self
            .graphql(
                &metadata::create_object_mutation(),
                json!({ "input": { "object": object } }),
            )
            .await?;
        let node = data
            .get("createOneObject")
            .cloned()
            .ok_or_else(|| TargetError::Protocol("createOneObject answered nothing".into()))?;
        let created: TargetObject = serde_json::from_value(node)
            .map_err(|e| TargetError::Protocol(format!("cannot read the created object: {e}")))?;
        info!(object = %created.name_singular, "object created on the target");
        Ok(created)
    }

    /// Creates a field: `createOneField(input: {field})` on `/metadata`, where `field` holds
    /// `objectMetadataId`, `type`, `name`, `label` and, by type, `options`, `settings`,
    /// `defaultValue`, `isNullable` or `relationCreationPayload` (contract H3).
    ///
    /// Not idempotent, like [`Self::create_object`].
    pub async fn create_field(&self, field: Value) -> Result<TargetField, TargetError> {
        let data = self
            .graphql(
                &metadata::create_field_mutation(),
                json!({ "input": { "field": field } }),
            )
            .await?;
        let node = data
            .get("createOneField")
            .cloned()
            .ok_or_else(|| TargetError::Protocol("createOneField answered nothing".into()))?;
        let created: TargetField = serde_json::from_value(node)
            .map_err(|e| TargetError::Protocol(format!("cannot read the created field: {e}")))?;
        info!(field = %created.name, "field created on the target");
        Ok(created)
    }

    /// Every workspace member of the target (`GET /rest/workspaceMembers`, all pages).
    pub async fn members(&self) -> Result<Vec<TargetMember>, TargetError> {
        let records = self
            .find_all("workspaceMembers", &FindMany::default())
            .await?;
        let mut members = Vec::with_capacity(records.len());
        for record in &records {
            let Some(id) = record
                .get("id")
                .and_then(Value::as_str)
                .and_then(|s| Uuid::parse_str(s).ok())
            else {
                warn!("skipping a target workspace member without a valid id");
                continue;
            };
            let name = record.get("name").and_then(|n| {
                let part = |k: &str| n.get(k).and_then(Value::as_str).unwrap_or("").trim();
                let joined = format!("{} {}", part("firstName"), part("lastName"));
                let joined = joined.trim();
                (!joined.is_empty()).then(|| joined.to_owned())
            });
            members.push(TargetMember {
                id,
                user_email: record
                    .get("userEmail")
                    .and_then(Value::as_str)
                    .map(str::to_owned),
                name,
            });
        }
        Ok(members)
    }

    /// Creates or updates a batch of records, ids preserved:
    /// `POST /rest/batch/{plural}?upsert=true` with `body` (a JSON array). Returns the records
    /// the target sent back, in full; [`Self::upsert_batch_ids`] reads only their ids.
    ///
    /// Source: `engine/api/rest/core/handlers/rest-api-create-many.handler.ts`; the answer is
    /// `{data: {create<Plural>: […]}}` now and was `{data: {<plural>: […]}}` in one version, so
    /// the single list under `data` is taken whatever its key.
    pub async fn upsert_batch(
        &self,
        plural: &str,
        body: BatchBody,
    ) -> Result<Vec<Value>, TargetError> {
        self.send_batch(plural, body, |b| data_list(&parse_json(b)?, "batch answer"))
            .await
    }

    /// Like [`Self::upsert_batch`], but reads only the `id` of each returned record, in the
    /// answer's order, and skips the rest of the answer without building it: the full answer
    /// was a third of this client's CPU in the benchmark profile (`docs/performance.md`).
    pub async fn upsert_batch_ids(
        &self,
        plural: &str,
        body: BatchBody,
    ) -> Result<Vec<ReturnedId>, TargetError> {
        self.send_batch(plural, body, parse_returned_ids).await
    }

    async fn send_batch<T>(
        &self,
        plural: &str,
        body: BatchBody,
        parse: impl Fn(&[u8]) -> Result<Vec<T>, TargetError>,
    ) -> Result<Vec<T>, TargetError> {
        check_name(plural)?;
        if body.records() == 0 {
            // Older servers refuse an empty batch ("Input must not be empty"); nothing to send.
            return Ok(Vec::new());
        }
        let mut call = Call::new(Method::POST, format!("/rest/batch/{plural}"));
        call.query.push(("upsert", "true".into()));
        call.records = body.records();
        call.body = CallBody::Json(body.bytes().clone());
        let records = self.call(&call, parse).await?;
        bump(
            &self.inner.counters.records_confirmed,
            body.records() as u64,
        );
        debug!(
            plural,
            records = body.records(),
            bytes = body.byte_len(),
            "batch sent"
        );
        if records.len() != body.records() {
            debug!(
                plural,
                sent = body.records(),
                returned = records.len(),
                "batch answer has a different record count"
            );
        }
        Ok(records)
    }

    /// One page of `GET /rest/{plural}`.
    ///
    /// Source: `engine/api/rest/core/handlers/rest-api-find-many.handler.ts` (answer
    /// `{data: {<plural>: […]}, totalCount, pageInfo: {hasNextPage, endCursor}}`).
    pub async fn find_many(&self, plural: &str, query: &FindMany) -> Result<Page, TargetError> {
        check_name(plural)?;
        let mut call = Call::new(Method::GET, format!("/rest/{plural}"));
        if let Some(limit) = query.limit {
            call.query.push(("limit", limit.to_string()));
        }
        if let Some(cursor) = &query.starting_after {
            call.query.push(("starting_after", cursor.clone()));
        }
        if let Some(filter) = &query.filter {
            call.query.push(("filter", filter.clone()));
        }
        if let Some(order_by) = &query.order_by {
            call.query.push(("order_by", order_by.clone()));
        }
        if let Some(depth) = query.depth {
            call.query.push(("depth", depth.to_string()));
        }
        self.call(&call, parse_page).await
    }

    /// Every record matching `query`, following `endCursor` until the last page.
    pub async fn find_all(
        &self,
        plural: &str,
        query: &FindMany,
    ) -> Result<Vec<Value>, TargetError> {
        let mut query = query.clone();
        query.limit.get_or_insert(PAGE_SIZE);
        let mut records = Vec::new();
        loop {
            let page = self.find_many(plural, &query).await?;
            records.extend(page.records);
            if !page.has_next_page {
                return Ok(records);
            }
            match page.end_cursor {
                Some(cursor) if query.starting_after.as_deref() != Some(cursor.as_str()) => {
                    query.starting_after = Some(cursor);
                }
                _ => {
                    return Err(TargetError::Protocol(format!(
                        "GET /rest/{plural}: hasNextPage without a new endCursor"
                    )))
                }
            }
        }
    }

    /// The records with these ids (`filter=id[in]:["…",…]`), a few dozen ids per request.
    /// Soft-deleted records are not returned (Twenty hides them unless the filter names
    /// `deletedAt`).
    pub async fn find_by_ids(&self, plural: &str, ids: &[Uuid]) -> Result<Vec<Value>, TargetError> {
        let mut records = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(IDS_PER_LOOKUP) {
            let query = FindMany {
                limit: Some(chunk.len() as u32),
                filter: Some(id_in_filter(chunk)),
                ..FindMany::default()
            };
            records.extend(self.find_all(plural, &query).await?);
        }
        Ok(records)
    }

    /// The soft-deleted records among `ids`, which a plain find leaves out:
    /// `filter=and(id[in]:[…],deletedAt[is]:NOT_NULL)` (recorded from 2.21 in
    /// `tests/conformance/twenty-2.21/`, the soft-delete exchanges).
    pub async fn find_deleted_by_ids(
        &self,
        plural: &str,
        ids: &[Uuid],
    ) -> Result<Vec<Value>, TargetError> {
        let mut records = Vec::new();
        for chunk in ids.chunks(IDS_PER_LOOKUP) {
            let query = FindMany {
                limit: Some(chunk.len() as u32),
                filter: Some(format!(
                    "and({},deletedAt[is]:NOT_NULL)",
                    id_in_filter(chunk)
                )),
                ..FindMany::default()
            };
            records.extend(self.find_all(plural, &query).await?);
        }
        Ok(records)
    }

    /// Soft-deletes one record: `DELETE /rest/{plural}/{id}?soft_delete=true` (without the
    /// parameter, newer servers destroy the row).
    ///
    /// Source: `engine/api/rest/input-request-parsers/soft-delete-parser-utils/
    /// parse-soft-delete-rest-request.util.ts` (only the exact string `true` counts).
    pub async fn soft_delete(&self, plural: &str, id: Uuid) -> Result<(), TargetError> {
        check_name(plural)?;
        let mut call = Call::new(Method::DELETE, format!("/rest/{plural}/{id}"));
        call.query.push(("soft_delete", "true".into()));
        self.call(&call, |_| Ok(())).await?;
        trace!(plural, %id, "record soft-deleted");
        Ok(())
    }

    /// Soft-deletes records by id, a few dozen per request:
    /// `DELETE /rest/{plural}?filter=id[in]:[…]&soft_delete=true`. Returns how many the target
    /// reports deleted (already soft-deleted records are not counted again). An empty `ids`
    /// sends nothing.
    ///
    /// Source: `engine/api/rest/core/services/rest-api-core.service.ts` (`delete`: no id in the
    /// path and `soft_delete=true` → `RestApiDeleteManyHandler`; without the parameter it would
    /// destroy), `rest-api-delete-many.handler.ts` (answer `{data: {delete<Plural>: [{id}]}}`).
    /// Chunks stay under `MUTATION_MAXIMUM_AFFECTED_RECORDS` (100 by default).
    pub async fn soft_delete_many(&self, plural: &str, ids: &[Uuid]) -> Result<usize, TargetError> {
        check_name(plural)?;
        let mut deleted = 0;
        for chunk in ids.chunks(IDS_PER_LOOKUP) {
            let mut call = Call::new(Method::DELETE, format!("/rest/{plural}"));
            call.query.push(("filter", id_in_filter(chunk)));
            call.query.push(("soft_delete", "true".into()));
            let records = self
                .call(&call, |b| data_list(&parse_json(b)?, "delete answer"))
                .await?;
            deleted += records.len();
        }
        debug!(plural, ids = ids.len(), deleted, "records soft-deleted");
        Ok(deleted)
    }

    /// Uploads a file for a FILES field (Files v2: `uploadFilesFieldFile` on `/metadata`, a
    /// GraphQL multipart request). The answer's `id` goes into the record's FILES value as
    /// `fileId`. An upload is not idempotent: a retried upload may leave an unused file.
    ///
    /// Source: `engine/core-modules/file/files-field/resolvers/files-field.resolver.ts`.
    pub async fn upload_file(
        &self,
        field_metadata_id: Uuid,
        file_name: &str,
        mime: &str,
        bytes: Bytes,
    ) -> Result<UploadedFile, TargetError> {
        self.upload(
            field_metadata_id,
            file_name,
            mime,
            UploadSource::Bytes(bytes),
        )
        .await
    }

    /// Like [`Self::upload_file`], streaming the bytes from a local file (reopened on each
    /// attempt) instead of holding them in memory.
    pub async fn upload_file_from_path(
        &self,
        field_metadata_id: Uuid,
        path: &Path,
        file_name: &str,
        mime: &str,
    ) -> Result<UploadedFile, TargetError> {
        // Fail before taking a permit when the file is not there.
        local_file_size(path).await?;
        self.upload(
            field_metadata_id,
            file_name,
            mime,
            UploadSource::Path(path.to_owned()),
        )
        .await
    }

    async fn upload(
        &self,
        field_metadata_id: Uuid,
        file_name: &str,
        mime: &str,
        source: UploadSource,
    ) -> Result<UploadedFile, TargetError> {
        // Only `id` is common to both return types seen (`FileDTO`, `FileWithSignedUrlDTO`).
        let operations = json!({
            "query": UPLOAD_FILES_FIELD_FILE,
            "variables": { "file": null, "fieldMetadataId": field_metadata_id.to_string() },
        });
        check_mime(mime)?;
        let mut call = Call::new(Method::POST, "/metadata".into());
        call.graphql = true;
        call.body = CallBody::Upload(Upload {
            operations: operations.to_string(),
            file_name: file_name.to_owned(),
            mime: mime.to_owned(),
            source,
        });
        let data = self.call(&call, graphql_data).await?;
        let file = data.get("uploadFilesFieldFile").ok_or_else(|| {
            TargetError::Protocol("upload answer has no uploadFilesFieldFile".into())
        })?;
        let id = file
            .get("id")
            .and_then(Value::as_str)
            .ok_or_else(|| TargetError::Protocol("upload answer has no file id".into()))?;
        debug!(%field_metadata_id, "file uploaded");
        Ok(UploadedFile {
            id: id.to_owned(),
            path: file
                .get("path")
                .or_else(|| file.get("fullPath"))
                .and_then(Value::as_str)
                .map(str::to_owned),
        })
    }

    /// Uploads a file to a target older than Files v2: `uploadFile(file, fileFolder)` on the
    /// core `/graphql` endpoint (GraphQL multipart). Returns the storage path (`attachment/<uuid>.<ext>`),
    /// which goes into `attachment.fullPath` or `person.avatarUrl`, and the file token.
    ///
    /// Mid generation (~0.4x–1.16) answers `SignedFileDTO { path, token }`; the old one
    /// (≤ 0.3x) a `String` path ending in `?token=…`, which the front strips before storing
    /// (`computePathWithoutToken` in `packages/twenty-front/src/modules/activities/files/hooks/useUploadAttachmentFile.tsx`).
    /// A String answer refuses the `{ path token }` selection, so the old form is sent after
    /// that refusal, or at once when `answer` says which one the target gives (the caller keeps
    /// [`LegacyUpload::answer`] of the first upload). Source: `engine/core-modules/file/file-upload/resolvers/file-upload.resolver.ts`
    /// and `.../dtos/signed-file.dto.ts`. Not idempotent, like [`Self::upload_file`].
    pub async fn upload_legacy_file(
        &self,
        path: &Path,
        file_name: &str,
        mime: &str,
        folder: LegacyFolder,
        answer: Option<LegacyAnswer>,
    ) -> Result<LegacyUpload, TargetError> {
        local_file_size(path).await?;
        check_mime(mime)?;
        let send = |selection: &str| {
            let operations = json!({
                "query": format!("mutation UploadFile($file: Upload!, $fileFolder: FileFolder) {{ uploadFile(file: $file, fileFolder: $fileFolder){selection} }}"),
                "variables": { "file": null, "fileFolder": folder.as_graphql() },
            });
            let mut call = Call::new(Method::POST, "/graphql".into());
            call.graphql = true;
            call.body = CallBody::Upload(Upload {
                operations: operations.to_string(),
                file_name: file_name.to_owned(),
                mime: mime.to_owned(),
                source: UploadSource::Path(path.to_owned()),
            });
            call
        };
        let data = match answer {
            Some(LegacyAnswer::Path) => self.call(&send(""), graphql_data).await?,
            // A String answer refuses the selection as a GraphQL validation error (graphql-js
            // `ScalarLeafsRule`); a server that takes it answers `SignedFileDTO`.
            _ => match self.call(&send(" { path token }"), graphql_data).await {
                Err(e) if e.is_graphql_validation() => self.call(&send(""), graphql_data).await?,
                other => other?,
            },
        };
        let answer_value = data
            .get("uploadFile")
            .ok_or_else(|| TargetError::Protocol("upload answer has no uploadFile".into()))?;
        let shape = if answer_value.is_string() {
            LegacyAnswer::Path
        } else {
            LegacyAnswer::SignedFile
        };
        let (full, token) = match answer_value {
            Value::String(signed) => match signed.split_once("?token=") {
                Some((p, t)) => (p.to_owned(), Some(t.to_owned())),
                None => (signed.clone(), None),
            },
            other => (
                other
                    .get("path")
                    .and_then(Value::as_str)
                    .ok_or_else(|| TargetError::Protocol("upload answer has no path".into()))?
                    .to_owned(),
                other
                    .get("token")
                    .and_then(Value::as_str)
                    .map(str::to_owned),
            ),
        };
        debug!(folder = folder.as_graphql(), "legacy file uploaded");
        Ok(LegacyUpload {
            path: full,
            token,
            answer: shape,
        })
    }

    /// Runs a GraphQL document on `/metadata` and returns its `data`.
    pub async fn metadata_graphql(
        &self,
        query: &str,
        variables: Value,
    ) -> Result<Value, TargetError> {
        self.graphql(query, variables).await
    }

    pub(super) async fn graphql(
        &self,
        query: &str,
        variables: Value,
    ) -> Result<Value, TargetError> {
        let body = json!({ "query": query, "variables": variables });
        let mut call = Call::new(Method::POST, "/metadata".into());
        call.graphql = true;
        call.body = CallBody::Json(Bytes::from(body.to_string()));
        self.call(&call, graphql_data).await
    }

    /// Sends `call` under the retry policy; `parse` reads a success body (and may still fail,
    /// e.g. a GraphQL error in a 200, which is then classified and retried like any other).
    pub(super) async fn call<T>(
        &self,
        call: &Call,
        parse: impl Fn(&[u8]) -> Result<T, TargetError>,
    ) -> Result<T, TargetError> {
        let inner = &self.inner;
        let endpoint = format!("{} {}", call.method, call.path);
        with_retries(
            inner.max_attempts,
            &inner.backoff,
            |attempt| self.attempt(call, attempt, &parse),
            |err, attempt, wait| {
                bump(&inner.counters.retries, 1);
                let wait_ms = wait.as_millis() as u64;
                if matches!(err, TargetError::RateLimited { .. }) {
                    info!(endpoint = %endpoint, attempt, wait_ms, "rate limited by the target, waiting");
                } else {
                    warn!(endpoint = %endpoint, attempt, wait_ms, error = %err, "request failed, retrying");
                }
            },
        )
        .await
        // Name the endpoint in the errors whose text would not say where they came from.
        .map_err(|err| match err {
            TargetError::Transient { reason } => TargetError::Transient {
                reason: format!("{endpoint}: {reason}"),
            },
            TargetError::Protocol(message) => TargetError::Protocol(format!("{endpoint}: {message}")),
            other => other,
        })
    }

    /// One attempt: an in-flight slot, then a rate-limit permit (taken on every attempt, so
    /// retries are paced like first tries), then the request.
    async fn attempt<T>(
        &self,
        call: &Call,
        attempt: u32,
        parse: &impl Fn(&[u8]) -> Result<T, TargetError>,
    ) -> Result<T, TargetError> {
        let inner = &self.inner;
        let _slot = inner
            .in_flight
            .acquire()
            .await
            .map_err(|_| TargetError::Protocol("the client was shut down".into()))?;
        self.wait_out_pause().await;
        inner.limiter.until_ready().await;
        bump(&inner.counters.requests, 1);
        bump(&inner.counters.records_sent, call.records as u64);

        let url = match &call.url {
            Some(url) => url.clone(),
            None => format!("{}{}", inner.base_url, call.path),
        };
        let mut request = inner.http.request(call.method.clone(), url);
        if !call.query.is_empty() {
            request = request.query(&call.query);
        }
        if call.auth {
            // `bearer_auth` marks the header sensitive, so reqwest never prints it.
            request = request.bearer_auth(inner.api_key.expose());
        }
        request = match &call.body {
            CallBody::None => request,
            CallBody::Json(bytes) => request
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(bytes.clone()),
            CallBody::Upload(upload) => {
                // graphql-multipart-request-spec: operations, map, then the file as part `0`.
                let part = match &upload.source {
                    UploadSource::Bytes(bytes) => reqwest::multipart::Part::stream_with_length(
                        bytes.clone(),
                        bytes.len() as u64,
                    ),
                    UploadSource::Path(path) => {
                        let file_error = |source| TargetError::LocalFile {
                            path: path.display().to_string(),
                            source,
                        };
                        let file = tokio::fs::File::open(path).await.map_err(file_error)?;
                        let len = file.metadata().await.map_err(file_error)?.len();
                        reqwest::multipart::Part::stream_with_length(file, len)
                    }
                };
                let part = part
                    .file_name(upload.file_name.clone())
                    .mime_str(&upload.mime)
                    .map_err(|_| {
                        TargetError::Config(format!("invalid MIME type `{}`", upload.mime))
                    })?;
                let form = reqwest::multipart::Form::new()
                    .text("operations", upload.operations.clone())
                    .text("map", r#"{"0":["variables.file"]}"#)
                    .part("0", part);
                request
                    .header("apollo-require-preflight", "true")
                    .multipart(form)
            }
            CallBody::File { path, content_type } => {
                let file_error = |source| TargetError::LocalFile {
                    path: path.display().to_string(),
                    source,
                };
                let file = tokio::fs::File::open(path).await.map_err(file_error)?;
                let len = file.metadata().await.map_err(file_error)?.len();
                // An explicit length: presigned S3 PUTs refuse chunked bodies.
                request
                    .header(reqwest::header::CONTENT_TYPE, content_type.as_str())
                    .header(reqwest::header::CONTENT_LENGTH, len)
                    .body(reqwest::Body::from(file))
            }
        };

        let started = Instant::now();
        let response = match request.send().await {
            Ok(r) => r,
            Err(e) => {
                bump(&inner.counters.network_errors, 1);
                return Err(network_error(e));
            }
        };
        let status = response.status();
        let headers = response.headers().clone();
        let body = match response.bytes().await {
            Ok(b) => redact_key(b, inner.api_key.expose()),
            Err(e) => {
                bump(&inner.counters.network_errors, 1);
                return Err(network_error(e));
            }
        };
        debug!(
            method = %call.method,
            path = %call.path,
            status = status.as_u16(),
            attempt,
            elapsed_ms = started.elapsed().as_millis() as u64,
            "target answered"
        );

        let result = if status.is_success() {
            parse(&body)
        } else {
            Err(classify_answer(status, &headers, &body, call.graphql))
        };
        if let Err(TargetError::RateLimited { retry_after }) = &result {
            self.pause(retry_after.unwrap_or(inner.backoff.rate_limit_floor));
        }
        let counter = match &result {
            Ok(_) => &inner.counters.ok,
            Err(TargetError::RateLimited { .. }) => &inner.counters.rate_limited,
            Err(_) if status.is_server_error() => &inner.counters.server_errors,
            Err(_) => &inner.counters.client_errors,
        };
        bump(counter, 1);
        result
    }
}

/// `id[in]:["…","…"]`, the REST filter form Twenty's own integration tests use
/// (`companyId[in]:["…"]` in the find-many REST tests).
pub(crate) fn id_in_filter(ids: &[Uuid]) -> String {
    let list: Vec<String> = ids.iter().map(|id| format!("\"{id}\"")).collect();
    format!("id[in]:[{}]", list.join(","))
}

/// Removes the key from an answer, should a server echo it, before any of it reaches an
/// error message.
fn redact_key(body: Bytes, key: &str) -> Bytes {
    if key.is_empty() || !contains(&body, key.as_bytes()) {
        return body;
    }
    Bytes::from(
        String::from_utf8_lossy(&body)
            .replace(key, "[redacted]")
            .into_bytes(),
    )
}

/// Whether `needle` occurs in `hay`: compares only where the first byte matches, which keeps
/// the scan of every answer cheap (a whole-window compare at each offset cost a sixth of the
/// client's CPU in the benchmark profile).
fn contains(hay: &[u8], needle: &[u8]) -> bool {
    let Some(&first) = needle.first() else {
        return true;
    };
    hay.iter()
        .enumerate()
        .any(|(i, &b)| b == first && hay[i..].starts_with(needle))
}

impl Target {
    /// Holds back every attempt of this client until `wait` from now: when the target says
    /// "wait", the other requests in flight would only collect more 429s.
    fn pause(&self, wait: Duration) {
        let wait = wait.min(self.inner.backoff.max_server_wait);
        let until = tokio::time::Instant::now() + wait;
        let mut gate = self
            .inner
            .pause_until
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        match *gate {
            Some(current) if current >= until => {}
            _ => *gate = Some(until),
        }
    }

    async fn wait_out_pause(&self) {
        loop {
            let until = *self
                .inner
                .pause_until
                .lock()
                .unwrap_or_else(|p| p.into_inner());
            match until {
                Some(t) if t > tokio::time::Instant::now() => tokio::time::sleep_until(t).await,
                _ => return,
            }
        }
    }
}

/// Object names go into URL paths: only metadata-style names (letters and digits) pass.
fn check_name(plural: &str) -> Result<(), TargetError> {
    if !plural.is_empty() && plural.chars().all(|c| c.is_ascii_alphanumeric()) {
        Ok(())
    } else {
        Err(TargetError::Config(format!(
            "`{}` is not an object name",
            truncate(plural, 80)
        )))
    }
}

fn classify_answer(
    status: StatusCode,
    headers: &reqwest::header::HeaderMap,
    body: &[u8],
    graphql: bool,
) -> TargetError {
    // GraphQL servers answer some errors (validation) with a 4xx and an `errors` list; the
    // statuses with their own meaning keep the REST classification.
    if graphql
        && status.is_client_error()
        && !matches!(status.as_u16(), 401 | 403 | 408 | 413 | 429)
    {
        if let Ok(value) = serde_json::from_slice::<Value>(body) {
            if let Some(errors) = value.get("errors").and_then(Value::as_array) {
                if !errors.is_empty() {
                    return classify_graphql_errors(status.as_u16(), errors);
                }
            }
        }
    }
    classify_status(status, headers, body)
}

fn network_error(e: reqwest::Error) -> TargetError {
    let e = e.without_url();
    let reason = if e.is_timeout() {
        "the request timed out".to_owned()
    } else {
        let mut text = e.to_string();
        let mut source = std::error::Error::source(&e);
        while let Some(s) = source {
            text.push_str(": ");
            text.push_str(&s.to_string());
            source = s.source();
        }
        text
    };
    TargetError::Transient { reason }
}

fn parse_json(body: &[u8]) -> Result<Value, TargetError> {
    serde_json::from_slice(body).map_err(|e| {
        TargetError::Protocol(format!(
            "the answer is not JSON ({e}): {}",
            truncate(&String::from_utf8_lossy(body), 200)
        ))
    })
}

/// The single list under `data`, whatever its key.
fn data_list(value: &Value, what: &str) -> Result<Vec<Value>, TargetError> {
    let data = value
        .get("data")
        .ok_or_else(|| TargetError::Protocol(format!("{what} has no `data`")))?;
    match data {
        Value::Array(items) => Ok(items.clone()),
        Value::Object(map) => {
            let mut lists = map.values().filter_map(Value::as_array);
            match (lists.next(), lists.next()) {
                (Some(list), None) => Ok(list.clone()),
                (None, _) => Err(TargetError::Protocol(format!(
                    "{what} has no record list under `data`"
                ))),
                (Some(_), Some(_)) => Err(TargetError::Protocol(format!(
                    "{what} has several lists under `data`"
                ))),
            }
        }
        _ => Err(TargetError::Protocol(format!(
            "{what} has a `data` that is neither a list nor an object"
        ))),
    }
}

/// The ids of a batch answer, the single list under `data` whatever its key (as
/// [`data_list`]), every other value skipped unbuilt.
fn parse_returned_ids(body: &[u8]) -> Result<Vec<ReturnedId>, TargetError> {
    serde_json::from_slice::<IdsAnswer>(body)
        .map(|answer| answer.data.0)
        .map_err(|e| {
            TargetError::Protocol(format!(
                "the batch answer is not readable ({e}): {}",
                truncate(&String::from_utf8_lossy(body), 200)
            ))
        })
}

/// `{data: …}` of a batch answer; the other top-level keys are skipped.
#[derive(serde::Deserialize)]
struct IdsAnswer {
    data: IdList,
}

/// The record list under `data`: `data` itself when it is a list, else the one list among
/// the values of the `data` object.
struct IdList(Vec<ReturnedId>);

impl<'de> serde::Deserialize<'de> for IdList {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(IdListVisitor)
    }
}

struct IdListVisitor;

impl<'de> serde::de::Visitor<'de> for IdListVisitor {
    type Value = IdList;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a record list, or an object holding one record list")
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, seq: A) -> Result<IdList, A::Error> {
        MaybeIds
            .visit_seq(seq)
            .map(|ids| IdList(ids.unwrap_or_default()))
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<IdList, A::Error> {
        let mut found = None;
        while let Some((_, value)) = map.next_entry::<serde::de::IgnoredAny, MaybeIdsValue>()? {
            if let Some(list) = value.0 {
                if found.replace(list).is_some() {
                    return Err(serde::de::Error::custom("several lists under `data`"));
                }
            }
        }
        found
            .map(IdList)
            .ok_or_else(|| serde::de::Error::custom("no record list under `data`"))
    }
}

/// A value of the `data` object: its ids when it is a list, `None` (skipped) otherwise.
struct MaybeIdsValue(Option<Vec<ReturnedId>>);

impl<'de> serde::Deserialize<'de> for MaybeIdsValue {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(MaybeIds).map(MaybeIdsValue)
    }
}

struct MaybeIds;

impl<'de> serde::de::Visitor<'de> for MaybeIds {
    type Value = Option<Vec<ReturnedId>>;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut ids = Vec::with_capacity(seq.size_hint().unwrap_or(0));
        while let Some(record) = seq.next_element::<IdOnly>()? {
            ids.push(ReturnedId(record.id));
        }
        Ok(Some(ids))
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        while map
            .next_entry::<serde::de::IgnoredAny, serde::de::IgnoredAny>()?
            .is_some()
        {}
        Ok(None)
    }

    fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_str<E>(self, _: &str) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
}

/// One returned record: its `id` when it is a string; every other key is skipped.
#[derive(serde::Deserialize)]
struct IdOnly {
    #[serde(default, deserialize_with = "string_or_none")]
    id: Option<String>,
}

fn string_or_none<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(match <Value as serde::Deserialize>::deserialize(d)? {
        Value::String(s) => Some(s),
        _ => None,
    })
}

fn parse_page(body: &[u8]) -> Result<Page, TargetError> {
    let value = parse_json(body)?;
    let records = data_list(&value, "find-many answer")?;
    let page_info = value.get("pageInfo");
    Ok(Page {
        records,
        total_count: value.get("totalCount").and_then(Value::as_u64),
        has_next_page: page_info
            .and_then(|p| p.get("hasNextPage"))
            .and_then(Value::as_bool)
            .unwrap_or(false),
        end_cursor: page_info
            .and_then(|p| p.get("endCursor"))
            .and_then(Value::as_str)
            .map(str::to_owned),
    })
}

/// A GraphQL answer's `data`, or its `errors` classified (Twenty sends them with HTTP 200).
fn graphql_data(body: &[u8]) -> Result<Value, TargetError> {
    let mut value = parse_json(body)?;
    if let Some(errors) = value.get("errors").and_then(Value::as_array) {
        if !errors.is_empty() {
            return Err(classify_graphql_errors(200, errors));
        }
    }
    match value.get_mut("data").map(Value::take) {
        Some(data) if !data.is_null() => Ok(data),
        _ => Err(TargetError::Protocol(
            "the GraphQL answer has neither data nor errors".into(),
        )),
    }
}
