//! The HTTP surface: routes, the auth / rate-limit / fault layers, and the REST record handlers.
//!
//! Routes mirror `packages/twenty-server/src/engine/api/rest/core/controllers/rest-api-core.controller.ts`
//! and its handlers under `.../rest/core/handlers/`.

use std::collections::HashMap;
use std::ops::Bound;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::{DefaultBodyLimit, Path, Query, Request, State};
use axum::http::{header, HeaderMap, Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, patch, post};
use axum::{Json, Router};
use serde_json::{json, Map, Value};
use uuid::Uuid;

use super::api_error::ApiError;
use super::faults::Fault;
use super::filter::{self, Filter};
use super::input::is_valid_uuid;
use super::schema::ObjectMeta;
use super::store::{is_deleted, Actor, Record};
use super::{direct_upload, legacy_files, lock, metadata, FilesGeneration, Shared};

type AppState = Arc<Shared>;

/// Builds the router with every layer.
pub(super) fn router(shared: AppState) -> Router {
    let rest = Router::new()
        .route("/rest/batch/{plural}", post(create_many))
        .route(
            "/rest/{plural}",
            post(create_one).get(find_many).delete(delete_many),
        )
        .route("/rest/restore/{plural}/{id}", patch(restore_one))
        .route(
            "/rest/{plural}/{id}",
            get(find_one)
                .patch(update_one)
                .put(update_one)
                .delete(delete_one),
        )
        .route_layer(middleware::from_fn_with_state(shared.clone(), auth));
    let metadata = metadata::router(shared.clone())
        .route_layer(middleware::from_fn_with_state(shared.clone(), auth));
    // Before Files v2, uploads go through the core `/graphql` endpoint.
    let legacy = match shared.config.files_generation {
        FilesGeneration::V2 => Router::new(),
        FilesGeneration::Mid | FilesGeneration::Old => legacy_files::router(shared.clone())
            .route_layer(middleware::from_fn_with_state(shared.clone(), auth))
            .merge(legacy_files::download_router()),
    };
    Router::new()
        .merge(rest)
        .merge(metadata)
        .merge(legacy)
        .route("/client-config", get(client_config))
        .route("/files-field/{id}", get(download))
        .route("/file/files-field/{id}", get(download))
        .merge(direct_upload::router())
        .route("/__twin/dump", get(dump))
        .fallback(no_route)
        .layer(middleware::from_fn_with_state(shared.clone(), faults))
        .layer(middleware::from_fn_with_state(shared.clone(), count))
        .layer(DefaultBodyLimit::max(100 * 1024 * 1024))
        .with_state(shared)
}

/// Unknown routes get Nest's default 404 body.
async fn no_route(method: Method, uri: axum::http::Uri) -> Response {
    (
        StatusCode::NOT_FOUND,
        Json(json!({
            "message": format!("Cannot {method} {}", uri.path()),
            "error": "Not Found",
            "statusCode": 404,
        })),
    )
        .into_response()
}

/// The kind of a request, for the counters.
fn route_kind(method: &Method, path: &str) -> &'static str {
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    match (method.as_str(), segments.as_slice()) {
        ("POST", ["rest", "batch", _]) => "create_many",
        ("POST", ["rest", _]) => "create_one",
        ("GET", ["rest", _]) => "find_many",
        ("GET", ["rest", _, _]) => "find_one",
        ("PATCH" | "PUT", ["rest", _, _]) => "update_one",
        ("DELETE", ["rest", _, _]) => "delete_one",
        ("DELETE", ["rest", _]) => "delete_many",
        (_, ["metadata"]) => "metadata",
        (_, ["graphql"]) => "graphql",
        (_, ["files", ..]) => "files",
        (_, ["client-config"]) => "client_config",
        (_, ["files-field", ..]) => "files",
        (_, ["__twin", ..]) => "admin",
        _ => "other",
    }
}

async fn count(State(s): State<AppState>, req: Request, next: Next) -> Response {
    s.counters.requests.fetch_add(1, Ordering::Relaxed);
    let mut kind = route_kind(req.method(), req.uri().path());
    // A multipart GraphQL request is a file upload: counted apart, for upload tests.
    let multipart = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("multipart/"));
    if matches!(kind, "metadata" | "graphql") && multipart {
        kind = "upload";
    }
    *lock(&s.counters.by_route)
        .entry(kind.to_owned())
        .or_default() += 1;
    next.run(req).await
}

/// A response whose body fails at once: hyper aborts the connection, so the client sees a
/// dropped connection rather than an answer.
fn dropped_connection() -> Response {
    let stream = futures_util::stream::iter([Err::<Bytes, std::io::Error>(std::io::Error::other(
        "twin fault: connection dropped",
    ))]);
    Response::new(Body::from_stream(stream))
}

/// Faults are decided before anything is applied, so a faulted batch is never half-written;
/// only `reset_after` applies the request and then loses the answer, on purpose.
async fn faults(State(s): State<AppState>, req: Request, next: Next) -> Response {
    let path = req.uri().path();
    if !(path.starts_with("/rest/")
        || path == "/metadata"
        || path == "/graphql"
        || path.starts_with("/file-upload/"))
    {
        return next.run(req).await;
    }
    let Some(fault) = lock(&s.faults).next() else {
        return next.run(req).await;
    };
    s.counters.faults.fetch_add(1, Ordering::Relaxed);
    match fault {
        Fault::Status(500) => {
            ApiError::engine(500, "INTERNAL_SERVER_ERROR", "Internal server error").into_response()
        }
        // 502/503/504 come from the proxy in front of Twenty, not from Nest: plain text.
        Fault::Status(code) => {
            let status = StatusCode::from_u16(code).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
            (status, status.canonical_reason().unwrap_or("")).into_response()
        }
        // The legacy throttler's answer: 429 with `Limit reached (…)` and no rate-limit
        // headers (`throttler-to-rest-api-exception-handler.util.ts`; contract G4).
        Fault::RateLimited => ApiError::raw(
            429,
            "TooManyRequestsException",
            "Limit reached (100 tokens per 60000 ms)".to_owned(),
        )
        .into_response(),
        Fault::Slow(delay) => {
            tokio::time::sleep(delay).await;
            next.run(req).await
        }
        Fault::Reset => dropped_connection(),
        Fault::ResetAfterApply => {
            let _ = next.run(req).await;
            dropped_connection()
        }
        Fault::Timeout(hold) => {
            tokio::time::sleep(hold).await;
            dropped_connection()
        }
    }
}

/// G1: the bearer key. A missing token is a 403 with the code in `error`
/// (`packages/twenty-server/src/engine/middlewares/rest-core.middleware.ts`,
/// `middleware.service.ts`); a wrong one is 401 `Token invalid.` (`access-token.service.ts`).
async fn auth(State(s): State<AppState>, req: Request, next: Next) -> Response {
    let token = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .map(str::trim)
        .filter(|t| !t.is_empty());
    let graphql = matches!(req.uri().path(), "/metadata" | "/graphql");
    let refusal = match token {
        None => Some((403, "FORBIDDEN_EXCEPTION", "Missing authentication token")),
        Some(t) if t != s.config.api_key => Some((401, "UNAUTHENTICATED", "Token invalid.")),
        Some(_) => None,
    };
    match refusal {
        None => next.run(req).await,
        // The GraphQL endpoints answer in GraphQL's error shape, as recorded from 2.21
        // (`tests/conformance/twenty-2.21/metadata-missing-token.json`, `…-wrong-token.json`):
        // no token fails the guard (`Forbidden resource`), a bad one the JWT strategy
        // (`core-modules/auth/strategies/jwt.auth.strategy.ts`, `AuthException` UNAUTHENTICATED).
        Some((_, code, _)) if graphql && code == "UNAUTHENTICATED" => Json(json!({
            "errors": [{"message": "Token invalid.", "extensions": {
                "code": "UNAUTHENTICATED",
                "subCode": "UNAUTHENTICATED",
                "userFriendlyMessage": {"id": "z+7x/s", "message": "You must be authenticated to perform this action."}
            }}]
        }))
        .into_response(),
        Some(_) if graphql => Json(json!({
            "errors": [{"message": "Forbidden resource", "extensions": {
                "code": "FORBIDDEN", "userFriendlyMessage": "An error occurred."
            }}],
            "data": null
        }))
        .into_response(),
        Some((status, code, message)) => ApiError::raw(status, code, message).into_response(),
    }
}

/// G3/G4: one token per query-runner execution, so one per REST call whatever its batch size.
/// Handlers call it where Twenty enters the runner: after the path, body and query parameters
/// are parsed, before the arguments are validated
/// (`common-base-query-runner.service.ts`, `throttleQueryExecution`).
fn throttle(s: &Shared) -> Result<(), ApiError> {
    lock(&s.limiter)
        .take(&s.key_id.to_string())
        .inspect_err(|_| {
            s.counters.rate_limited.fetch_add(1, Ordering::Relaxed);
        })
}

/// A record write by a key whose role may not write records: refused before anything is
/// written, as 2.21's ORM refuses it (`twenty-orm/repository/permissions.utils.ts`,
/// `validateOperationIsPermittedOrThrow`: `PermissionsException` PERMISSION_DENIED, rendered
/// 403 by `permission-rest-api-exception-code-to-http-status.util.ts`).
fn check_writable(s: &Shared) -> Result<(), ApiError> {
    match s.config.key_role {
        super::KeyRole::Admin => Ok(()),
        super::KeyRole::ReadOnly => Err(ApiError::engine(
            403,
            "PERMISSION_DENIED",
            "Entity performing the request does not have permission",
        )),
    }
}

fn capitalize(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// The object of a REST path; an unknown plural is a plain BadRequestException with a hint
/// (`packages/twenty-server/src/engine/api/rest/core/handlers/rest-api-base.handler.ts`).
fn object_for(s: &Shared, plural: &str) -> Result<ObjectMeta, ApiError> {
    let db = lock(&s.db);
    if let Some(object) = db.model.by_plural(plural) {
        return Ok(object.clone());
    }
    let hint = match db.model.by_singular(plural) {
        Some(o) => format!("Did you mean '{}'?", o.name_plural),
        None => "eg: companies".to_owned(),
    };
    Err(ApiError::raw(
        400,
        "BadRequestException",
        format!("object '{plural}' not found. {hint}"),
    ))
}

fn parse_body(body: &Bytes) -> Result<Value, ApiError> {
    serde_json::from_slice(body).map_err(|e| {
        ApiError::raw(
            400,
            "BadRequestException",
            format!("Invalid JSON in request body: {e}"),
        )
    })
}

/// Readable fields at depth 0: everything stored (2.21 includes `searchVector`).
fn render(record: &Record) -> Value {
    Value::Object(record.clone())
}

/// [`render`] of a record the caller owns: no copy (the copy of every returned record was 3 %
/// of the benchmark's instructions).
fn render_owned(record: Record) -> Value {
    Value::Object(record)
}

fn actor(s: &Shared) -> Actor {
    Actor {
        key_name: s.config.key_name.clone(),
    }
}

/// Objects an API key cannot create records of. workspaceMember (I1/G2,
/// `packages/twenty-server/src/modules/workspace-member/query-hooks/workspace-member-create-one.pre-query.hook.ts`).
fn check_creatable(object: &ObjectMeta) -> Result<(), ApiError> {
    if object.name_singular == "workspaceMember" {
        return Err(ApiError::engine(
            403,
            "PERMISSION_DENIED",
            "Entity performing the request does not have permission",
        ));
    }
    // Workflow runs and versions are made by the workflow engine only
    // (`packages/twenty-server/src/modules/workflow/common/query-hooks/workflow-run-create-many.pre-query.hook.ts`,
    // `workflow-version-create-many.pre-query.hook.ts`: WorkflowQueryValidationException FORBIDDEN).
    if matches!(
        object.name_singular.as_str(),
        "workflowRun" | "workflowVersion"
    ) {
        return Err(ApiError::engine(403, "FORBIDDEN", "Method not allowed."));
    }
    Ok(())
}

/// `?upsert=true`, exactly (parse-upsert-rest-request.util.ts).
fn upsert_param(q: &HashMap<String, String>) -> bool {
    q.get("upsert").map(String::as_str) == Some("true")
}

fn write_records(
    s: &Shared,
    object: &ObjectMeta,
    records: &[Value],
    upsert: bool,
) -> Result<Vec<Record>, ApiError> {
    let written = lock(&s.db).create_many(object, records, upsert, &actor(s))?;
    s.counters
        .created
        .fetch_add(written.created as u64, Ordering::Relaxed);
    s.counters
        .updated
        .fetch_add(written.updated as u64, Ordering::Relaxed);
    Ok(written.records)
}

/// `POST /rest/batch/{plural}` (rest-api-create-many.handler.ts).
async fn create_many(
    State(s): State<AppState>,
    Path(plural): Path<String>,
    Query(q): Query<HashMap<String, String>>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let object = object_for(&s, &plural)?;
    let body = parse_body(&body)?;
    let Value::Array(records) = body else {
        return Err(ApiError::raw(
            400,
            "BadRequestException",
            "Body must be an array",
        ));
    };
    throttle(&s)?;
    check_writable(&s)?;
    check_creatable(&object)?;
    // B4: the cap applies to plain creates and upserts alike
    // (common-create-many-query-runner.service.ts).
    if records.len() > s.config.max_batch {
        return Err(ApiError::bad_input(
            "TOO_MANY_RECORDS_TO_UPDATE",
            format!(
                "Maximum number of records to upsert is {}.",
                s.config.max_batch
            ),
        ));
    }
    let written = write_records(&s, &object, &records, upsert_param(&q))?;
    let key = format!("create{}", capitalize(&object.name_plural));
    let list: Vec<Value> = written
        .into_iter()
        .map(|r| {
            let mut v = render_owned(r);
            files_read(&s, &object, &mut v);
            v
        })
        .collect();
    Ok((StatusCode::CREATED, Json(json!({"data": {key: list}}))).into_response())
}

/// `POST /rest/{plural}` (rest-api-create-one.handler.ts).
async fn create_one(
    State(s): State<AppState>,
    Path(plural): Path<String>,
    Query(q): Query<HashMap<String, String>>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let object = object_for(&s, &plural)?;
    let body = parse_body(&body)?;
    throttle(&s)?;
    check_writable(&s)?;
    check_creatable(&object)?;
    let written = write_records(&s, &object, std::slice::from_ref(&body), upsert_param(&q))?;
    let key = format!("create{}", capitalize(&object.name_singular));
    let record = written
        .into_iter()
        .next()
        .map(render_owned)
        .unwrap_or(Value::Null);
    Ok((StatusCode::CREATED, Json(json!({"data": {key: record}}))).into_response())
}

fn parse_id(id: &str) -> Result<Uuid, ApiError> {
    if !is_valid_uuid(id) {
        return Err(ApiError::bad_input(
            "INVALID_QUERY_INPUT",
            format!("Value \"{id}\" is not a valid UUID"),
        ));
    }
    Uuid::parse_str(id).map_err(|_| {
        ApiError::bad_input(
            "INVALID_QUERY_INPUT",
            format!("Value \"{id}\" is not a valid UUID"),
        )
    })
}

/// `GET /rest/{plural}/{id}` (rest-api-find-one.handler.ts).
async fn find_one(
    State(s): State<AppState>,
    Path((plural, id)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let object = object_for(&s, &plural)?;
    throttle(&s)?;
    let id = parse_id(&id)?;
    let record = lock(&s.db)
        .table(&object.name_singular)
        .and_then(|t| t.rows.get(&id))
        .filter(|r| !is_deleted(r))
        .map(render)
        .ok_or_else(super::store::not_found)?;
    let mut record = record;
    legacy_files::sign_read(&s, &object.name_singular, &mut record);
    files_read(&s, &object, &mut record);
    Ok(Json(json!({"data": {object.name_singular.clone(): record}})).into_response())
}

/// `PATCH /rest/{plural}/{id}` (rest-api-update-one.handler.ts).
async fn update_one(
    State(s): State<AppState>,
    Path((plural, id)): Path<(String, String)>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let object = object_for(&s, &plural)?;
    let body = parse_body(&body)?;
    throttle(&s)?;
    check_writable(&s)?;
    let id = parse_id(&id)?;
    let record = lock(&s.db).update_one(&object, id, &body, &actor(&s))?;
    s.counters.updated.fetch_add(1, Ordering::Relaxed);
    let key = format!("update{}", capitalize(&object.name_singular));
    let mut answer = render(&record);
    files_read(&s, &object, &mut answer);
    Ok(Json(json!({"data": {key: answer}})).into_response())
}

/// `PATCH /rest/restore/{plural}/{id}`: 2.21 routes it (`rest-api-core.controller.ts`,
/// `@Patch('restore/*path')`) but its path parser refuses the path
/// (`input-request-parsers/path-parser-utils/parse-core-path.utils.ts`; recorded:
/// `tests/conformance/twenty-2.21/note-soft-delete-cascades-to-note-targets-and-restore.json`).
async fn restore_one(uri: axum::http::Uri) -> Response {
    ApiError::raw(
        400,
        "BadRequestException",
        format!(
            "Query path '{}' invalid. Valid examples: /rest/companies/id or /rest/companies or /rest/batch/companies",
            uri.path()
        ),
    )
    .into_response()
}

/// `DELETE /rest/{plural}/{id}`: destroy, or soft delete with `soft_delete=true`
/// (rest-api-delete-one.handler.ts, parse-soft-delete-rest-request.util.ts).
async fn delete_one(
    State(s): State<AppState>,
    Path((plural, id)): Path<(String, String)>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    let object = object_for(&s, &plural)?;
    throttle(&s)?;
    check_writable(&s)?;
    let id = parse_id(&id)?;
    let soft = q.get("soft_delete").map(String::as_str) == Some("true");
    let record = lock(&s.db).delete_one(&object, id, soft)?;
    s.counters.deleted.fetch_add(1, Ordering::Relaxed);
    // Both answer `delete{Singular}`: the soft delete with the record, the destroy with its
    // id only (rest-api-delete-one.handler.ts, rest-api-destroy-one.handler.ts; recorded:
    // `tests/conformance/twenty-2.21/delete-one-soft-and-destroy.json`).
    let key = format!("delete{}", capitalize(&object.name_singular));
    let answer = if soft {
        render(&record)
    } else {
        json!({"id": id})
    };
    Ok(Json(json!({"data": {key: answer}})).into_response())
}

const BASE64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Cursors are opaque base64 of a small JSON object, as Twenty's are, so a client cannot come
/// to rely on them being record ids.
fn encode_cursor(id: &str) -> String {
    let bytes = json!({"id": id}).to_string().into_bytes();
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(BASE64[((n >> (18 - 6 * i)) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn decode_cursor(cursor: &str) -> Option<Uuid> {
    let (mut bits, mut count, mut bytes) = (0u32, 0, Vec::new());
    for c in cursor.bytes().filter(|c| *c != b'=') {
        let v = BASE64.iter().position(|b| *b == c)? as u32;
        bits = (bits << 6) | v;
        count += 6;
        if count >= 8 {
            count -= 8;
            bytes.push((bits >> count) as u8);
        }
    }
    let value: Value = serde_json::from_slice(&bytes).ok()?;
    Uuid::parse_str(value.get("id")?.as_str()?).ok()
}

/// `DELETE /rest/{plural}?filter=…`: soft-deletes (`soft_delete=true`) or destroys every
/// matching record and answers their ids (rest-api-delete-many.handler.ts,
/// rest-api-destroy-many.handler.ts; the filter is mandatory).
async fn delete_many(
    State(s): State<AppState>,
    Path(plural): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    let soft = q.get("soft_delete").map(String::as_str) == Some("true");
    let filter = match q.get("filter").filter(|f| !f.is_empty()) {
        Some(f) => filter::parse(f)?,
        None => {
            let what = if soft { "delete" } else { "destroy" };
            return Err(ApiError::raw(
                400,
                "BadRequestException",
                format!("Filters are mandatory for bulk {what} operations. Please provide at least one filter to prevent accidental deletion of all records."),
            ));
        }
    };
    let object = object_for(&s, &plural)?;
    throttle(&s)?;
    check_writable(&s)?;
    filter.check(&object)?;
    // A soft delete matches soft-deleted rows too and answers every matched record in full.
    let show_deleted = soft || filter.mentions_deleted_at();
    let mut db = lock(&s.db);
    let ids: Vec<Uuid> = db
        .table(&object.name_singular)
        .map(|t| {
            t.rows
                .iter()
                .filter(|(_, r)| (show_deleted || !is_deleted(r)) && filter.matches(r))
                .map(|(id, _)| *id)
                .collect()
        })
        .unwrap_or_default();
    let key = format!("delete{}", capitalize(&object.name_plural));
    if soft {
        let records: Vec<Value> = db
            .soft_delete_rows(&object, &ids)
            .iter()
            .map(render)
            .collect();
        s.counters
            .deleted
            .fetch_add(records.len() as u64, Ordering::Relaxed);
        return Ok(Json(json!({"data": {key: records}})).into_response());
    }
    let mut done = Vec::with_capacity(ids.len());
    for id in ids {
        if db.delete_one(&object, id, soft).is_ok() {
            done.push(json!({"id": id}));
        }
    }
    s.counters
        .deleted
        .fetch_add(done.len() as u64, Ordering::Relaxed);
    Ok(Json(json!({"data": {key: done}})).into_response())
}

/// The default page size, QUERY_DEFAULT_LIMIT_RECORDS.
const DEFAULT_LIMIT: usize = 60;

/// `limit` (parse-limit-rest-request.util.ts): an integer ≥ 0, capped at QUERY_MAX_RECORDS.
fn parse_limit(q: &HashMap<String, String>, max: usize) -> Result<usize, ApiError> {
    match q.get("limit").filter(|v| !v.is_empty()) {
        None => Ok(DEFAULT_LIMIT.min(max)),
        Some(v) => match v.trim().parse::<f64>() {
            Ok(n) if n >= 0.0 => Ok((n.floor() as usize).min(max)),
            _ => Err(ApiError::bad_input(
                "INVALID_LIMIT_QUERY_PARAM",
                format!("limit '{v}' is invalid. Should be an integer"),
            )),
        },
    }
}

/// `depth` must be 0 or 1 (parse-depth-rest-request.util.ts). The twin answers depth 0 for
/// both: relations are not expanded.
fn check_depth(q: &HashMap<String, String>) -> Result<(), ApiError> {
    match q.get("depth").map(String::as_str) {
        None | Some("") | Some("0") | Some("1") => Ok(()),
        Some(v) => Err(ApiError::raw(
            400,
            "BadRequestException",
            format!("'depth={v}' parameter invalid. Allowed values are 0, 1"),
        )),
    }
}

/// One `order_by` item: a field path and Twenty's direction.
type OrderItem = (Vec<String>, &'static str);

const DIRECTIONS: [&str; 4] = [
    "AscNullsFirst",
    "AscNullsLast",
    "DescNullsFirst",
    "DescNullsLast",
];

/// `order_by=field_1[AscNullsFirst],field_2.sub[DescNullsLast],field_3`
/// (parse-order-by-rest-request-common.util.ts; default direction AscNullsFirst). An `id`
/// tie-break is implied.
fn parse_order_by(
    q: &HashMap<String, String>,
    object: &ObjectMeta,
) -> Result<Vec<OrderItem>, ApiError> {
    let Some(raw) = q.get("order_by").filter(|v| !v.is_empty()) else {
        return Ok(Vec::new());
    };
    let mut items = Vec::new();
    for item in raw.split(',') {
        let (path, direction) = match item.split_once('[') {
            Some((path, rest)) if rest.contains(']') => {
                let direction = rest.replace(']', "");
                let known = DIRECTIONS.iter().find(|d| **d == direction).ok_or_else(|| {
                    ApiError::bad_input(
                        "INVALID_ORDER_BY_QUERY_PARAM",
                        format!(
                            "'order_by' direction '{direction}' invalid. Allowed values are '{}'. eg: ?order_by=field_1[AscNullsFirst],field_2[DescNullsLast],field_3",
                            DIRECTIONS.join("', '")
                        ),
                    )
                })?;
                (path, *known)
            }
            _ => (item, "AscNullsFirst"),
        };
        let path: Vec<String> = path.split('.').map(str::to_owned).collect();
        let name = path.first().map(String::as_str).unwrap_or("");
        if object.field(name).is_none() && object.field_by_join_column(name).is_none() {
            return Err(ApiError::bad_input(
                "INVALID_ORDER_BY_QUERY_PARAM",
                format!(
                    "'order_by' field '{name}' does not exist on '{}'",
                    object.name_singular
                ),
            ));
        }
        items.push((path, direction));
    }
    Ok(items)
}

fn order_value<'a>(record: &'a Record, path: &[String]) -> &'a Value {
    let mut value = path.first().and_then(|p| record.get(p));
    for sub in path.iter().skip(1) {
        value = value.and_then(|v| v.get(sub));
    }
    value.unwrap_or(&Value::Null)
}

fn compare_records(order: &[OrderItem], a: &Record, b: &Record) -> std::cmp::Ordering {
    use std::cmp::Ordering;
    for (path, direction) in order {
        let (x, y) = (order_value(a, path), order_value(b, path));
        let nulls_first = direction.ends_with("NullsFirst");
        let ord = match (x.is_null(), y.is_null()) {
            (true, true) => Ordering::Equal,
            (true, false) if nulls_first => Ordering::Less,
            (true, false) => Ordering::Greater,
            (false, true) if nulls_first => Ordering::Greater,
            (false, true) => Ordering::Less,
            (false, false) => {
                let plain = match (x.as_f64(), y.as_f64()) {
                    (Some(m), Some(n)) => m.partial_cmp(&n).unwrap_or(Ordering::Equal),
                    _ => match (x.as_str(), y.as_str()) {
                        (Some(m), Some(n)) => m.cmp(n),
                        _ => x.to_string().cmp(&y.to_string()),
                    },
                };
                if direction.starts_with("Desc") {
                    plain.reverse()
                } else {
                    plain
                }
            }
        };
        if ord != Ordering::Equal {
            return ord;
        }
    }
    Ordering::Equal
}

/// `GET /rest/{plural}` (rest-api-find-many.handler.ts, common-find-many-query-runner.service.ts):
/// ordered by `order_by` then id (id alone by default), soft-deleted rows hidden unless the
/// filter names `deletedAt`.
async fn find_many(
    State(s): State<AppState>,
    Path(plural): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    let object = object_for(&s, &plural)?;
    check_depth(&q)?;
    let limit = parse_limit(&q, s.config.max_batch)?;
    let order = parse_order_by(&q, &object)?;
    let filter: Option<Filter> = q.get("filter").map(|f| filter::parse(f)).transpose()?;
    throttle(&s)?;
    if let Some(f) = &filter {
        f.check(&object)?;
    }
    let show_deleted = filter.as_ref().is_some_and(Filter::mentions_deleted_at);
    let keep = |r: &Record| {
        (show_deleted || !is_deleted(r)) && filter.as_ref().is_none_or(|f| f.matches(r))
    };
    let cursor = |key: &str| -> Result<Option<Uuid>, ApiError> {
        q.get(key)
            .filter(|c| !c.is_empty())
            .map(|c| {
                decode_cursor(c).ok_or_else(|| {
                    ApiError::bad_input("INVALID_CURSOR", format!("Invalid cursor: {c}"))
                })
            })
            .transpose()
    };
    let after = cursor("starting_after")?;
    let before = cursor("ending_before")?;
    if after.is_some() && before.is_some() {
        return Err(ApiError::bad_input(
            "ARGS_CONFLICT",
            "Cannot provide both before and after",
        ));
    }

    let db = lock(&s.db);
    let Some(table) = db.table(&object.name_singular) else {
        return Err(super::store::not_found());
    };
    let total = match &filter {
        None => table.live(),
        Some(_) => table.rows.values().filter(|r| keep(r)).count(),
    };
    // Fetch limit + 1 in the paging direction: the extra row tells whether more exist
    // (build-cursor-page.util.ts).
    let (mut rows, backward): (Vec<&Record>, bool) = if order.is_empty() {
        match (after, before) {
            (_, Some(before)) => (
                table
                    .rows
                    .range(..before)
                    .rev()
                    .map(|(_, r)| r)
                    .filter(|r| keep(r))
                    .take(limit + 1)
                    .collect(),
                true,
            ),
            (after, None) => {
                let lower = after.map_or(Bound::Unbounded, Bound::Excluded);
                (
                    table
                        .rows
                        .range((lower, Bound::Unbounded))
                        .map(|(_, r)| r)
                        .filter(|r| keep(r))
                        .take(limit + 1)
                        .collect(),
                    false,
                )
            }
        }
    } else {
        let mut all: Vec<&Record> = table.rows.values().filter(|r| keep(r)).collect();
        // A stable sort over id-ordered rows keeps the id tie-break.
        all.sort_by(|a, b| compare_records(&order, a, b));
        let position = |id: Uuid| {
            let id = json!(id);
            all.iter()
                .position(|r| r.get("id") == Some(&id))
                .ok_or_else(|| {
                    ApiError::bad_input("INVALID_CURSOR", "Invalid cursor: record not found")
                })
        };
        match (after, before) {
            (_, Some(before)) => {
                let end = position(before)?;
                (
                    all[..end].iter().rev().take(limit + 1).copied().collect(),
                    true,
                )
            }
            (Some(after), None) => {
                let start = position(after)? + 1;
                (
                    all[start..].iter().take(limit + 1).copied().collect(),
                    false,
                )
            }
            (None, None) => (all.iter().take(limit + 1).copied().collect(), false),
        }
    };
    let more = rows.len() > limit;
    rows.truncate(limit);
    if backward {
        rows.reverse();
    }
    let (has_next, has_previous) = if backward {
        (true, more)
    } else {
        // 2.21 answers `hasPreviousPage: false` on every forward page, `starting_after` or
        // not (recorded: `tests/conformance/twenty-2.21/pagination-limit-cursor-total-count.json`).
        (more, false)
    };
    let cursor_of = |r: Option<&&Record>| {
        r.and_then(|r| r.get("id").and_then(Value::as_str))
            .map(|id| Value::String(encode_cursor(id)))
            .unwrap_or(Value::Null)
    };
    let body = json!({
        "data": {object.name_plural.clone(): rows
            .iter()
            .map(|r| {
                let mut v = render(r);
                legacy_files::sign_read(&s, &object.name_singular, &mut v);
                files_read(&s, &object, &mut v);
                v
            })
            .collect::<Vec<_>>()},
        "totalCount": total,
        "pageInfo": {
            "hasNextPage": has_next,
            "hasPreviousPage": has_previous,
            "startCursor": cursor_of(rows.first()),
            "endCursor": cursor_of(rows.last()),
        }
    });
    Ok(Json(body).into_response())
}

/// `GET /client-config` (no auth), per
/// `packages/twenty-server/src/engine/core-modules/client-config/client-config.controller.ts`.
async fn client_config(State(s): State<AppState>) -> Response {
    Json(json!({
        "appVersion": s.config.app_version,
        "api": {"mutationMaximumAffectedRecords": 100},
        "billing": {"isBillingEnabled": false, "billingUrl": "", "trialPeriods": []},
        "isMultiWorkspaceEnabled": false,
        "sentry": {"release": s.config.app_version, "environment": "twin", "dsn": null},
        "captcha": {"provider": null, "siteKey": null},
        "support": {"supportDriver": "NONE"},
    }))
    .into_response()
}

/// A FILES value as 2.21 answers it: each `{fileId, label}` with the stored file's
/// `extension` (with its dot) and a signed download `url` on `/file/files-field/<id>`
/// (`file-url.service.ts`; recorded: `tests/conformance/twenty-2.21/files-value-write-and-read-back.json`
/// and the rehearsals' `/rest/attachments` answers). The twin's token is not checked.
fn files_read(s: &Shared, object: &ObjectMeta, record: &mut Value) {
    for field in object.fields.iter().filter(|f| f.field_type == "FILES") {
        let Some(items) = record.get_mut(&field.name).and_then(Value::as_array_mut) else {
            continue;
        };
        for item in items.iter_mut() {
            let Some(id) = item
                .get("fileId")
                .and_then(Value::as_str)
                .and_then(|i| Uuid::parse_str(i).ok())
            else {
                continue;
            };
            let extension = lock(&s.files).get(&id).and_then(|f| {
                std::path::Path::new(&f.name)
                    .extension()
                    .and_then(|e| e.to_str())
                    .map(|e| format!(".{e}"))
            });
            if let Some(extension) = extension {
                item["extension"] = Value::String(extension);
            }
            item["url"] = Value::String(format!("{}/file/files-field/{id}?token=twin", s.base_url));
        }
    }
}

/// `GET /files-field/{id}`: the bytes of an uploaded file (files-field.controller.ts; the
/// signed token is not checked).
async fn download(State(s): State<AppState>, Path(id): Path<String>) -> Response {
    let file = Uuid::parse_str(&id)
        .ok()
        .and_then(|id| lock(&s.files).get(&id).cloned());
    let Some(file) = file else {
        return ApiError::engine(404, "FILE_NOT_FOUND", "File not found").into_response();
    };
    let bytes = match &file.bytes {
        Some(b) => b.clone(),
        None => {
            let Some(dir) = &s.config.files_dir else {
                return ApiError::engine(404, "FILE_NOT_FOUND", "File not found").into_response();
            };
            match tokio::fs::read(dir.join(&file.path)).await {
                Ok(b) => b,
                Err(_) => {
                    return ApiError::engine(404, "FILE_NOT_FOUND", "File not found")
                        .into_response()
                }
            }
        }
    };
    let mut headers = HeaderMap::new();
    if let Some(mime) = file.mime.as_deref().and_then(|m| m.parse().ok()) {
        headers.insert(header::CONTENT_TYPE, mime);
    }
    (headers, bytes).into_response()
}

/// `GET /__twin/dump`: every record (soft-deleted included) and file, for tests only.
async fn dump(State(s): State<AppState>) -> Response {
    if !s.config.admin {
        return no_route(Method::GET, axum::http::Uri::from_static("/__twin/dump")).await;
    }
    let db = lock(&s.db);
    let mut objects = Map::new();
    for object in &db.model.objects {
        let rows: Vec<Value> = db
            .table(&object.name_singular)
            .map(|t| t.rows.values().map(render).collect())
            .unwrap_or_default();
        objects.insert(object.name_plural.clone(), Value::Array(rows));
    }
    drop(db);
    let files: Vec<Value> = lock(&s.files)
        .values()
        .map(|f| {
            json!({"id": f.id, "name": f.name, "path": f.path, "size": f.size,
                   "createdAt": f.created_at, "fieldMetadataId": f.field_metadata_id})
        })
        .collect();
    Json(json!({"objects": objects, "files": files})).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_are_not_bare_ids() {
        let id = "6f1d7a52-5c2b-4e59-9a43-1b2c3d4e5f60";
        let cursor = encode_cursor(id);
        assert_ne!(cursor, id);
        assert_eq!(
            decode_cursor(&cursor).map(|u| u.to_string()).as_deref(),
            Some(id)
        );
        assert!(decode_cursor("not a cursor").is_none());
    }
}
