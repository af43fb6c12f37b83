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

mod answers;
mod metadata_calls;
mod records;
mod uploads;

use answers::*;
pub use uploads::{LegacyAnswer, LegacyFolder, LegacyUpload, MemberPicture};
pub(crate) use uploads::{UPDATE_MEMBER_SETTINGS, UPLOAD_MEMBER_PICTURE};

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

    /// The API key's own id, when the key is a Twenty API key token.
    pub fn api_key_id(&self) -> Option<Uuid> {
        self.inner.api_key.key_id()
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

    /// Runs a GraphQL document on `/metadata` under the retry policy and returns its `data`.
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
