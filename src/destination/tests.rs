//! Tests of [`Target`] against local HTTP servers that answer like Twenty for the case at
//! hand. They count requests; none depends on how fast the machine is, except the one that
//! checks a real `Retry-After: 1` wait.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Router;
use bytes::Bytes;
use serde_json::{json, Value};
use uuid::Uuid;

use super::*;

mod direct;

const KEY: &str = "tw_SECRET_KEY_0123456789abcdef";

/// One request as the server saw it.
#[derive(Clone, Debug)]
struct Seen {
    method: String,
    path: String,
    query: String,
    headers: HeaderMap,
    body: Bytes,
    at: Instant,
}

impl Seen {
    fn param(&self, name: &str) -> Option<String> {
        url_params(&self.query)
            .into_iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v)
    }

    fn auth(&self) -> Option<String> {
        self.headers
            .get("authorization")
            .map(|v| v.to_str().unwrap().to_owned())
    }
}

fn url_params(query: &str) -> Vec<(String, String)> {
    reqwest::Url::parse(&format!("http://x/?{query}"))
        .unwrap()
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

type Responder = Arc<dyn Fn(usize, &Seen) -> Response + Send + Sync>;

#[derive(Clone)]
struct Scripted {
    seen: Arc<Mutex<Vec<Seen>>>,
    respond: Responder,
    delay: Option<Duration>,
    concurrent: Arc<AtomicUsize>,
    max_concurrent: Arc<AtomicUsize>,
}

struct TestServer {
    url: String,
    seen: Arc<Mutex<Vec<Seen>>>,
    max_concurrent: Arc<AtomicUsize>,
}

impl TestServer {
    fn hits(&self) -> usize {
        self.seen.lock().unwrap().len()
    }

    fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }
}

async fn handle(State(s): State<Scripted>, req: Request) -> Response {
    let now = s.concurrent.fetch_add(1, Ordering::SeqCst) + 1;
    s.max_concurrent.fetch_max(now, Ordering::SeqCst);
    let (parts, body) = req.into_parts();
    let body = axum::body::to_bytes(body, usize::MAX).await.unwrap();
    let seen = Seen {
        method: parts.method.to_string(),
        path: parts.uri.path().to_owned(),
        query: parts.uri.query().unwrap_or("").to_owned(),
        headers: parts.headers,
        body,
        at: Instant::now(),
    };
    let n = {
        let mut all = s.seen.lock().unwrap();
        all.push(seen.clone());
        all.len() - 1
    };
    if let Some(d) = s.delay {
        tokio::time::sleep(d).await;
    }
    let response = (s.respond)(n, &seen);
    s.concurrent.fetch_sub(1, Ordering::SeqCst);
    response
}

/// Starts a server on 127.0.0.1:0 whose answer to request number `n` (from 0) is
/// `respond(n, request)`.
async fn serve(respond: impl Fn(usize, &Seen) -> Response + Send + Sync + 'static) -> TestServer {
    serve_with_delay(respond, None).await
}

async fn serve_with_delay(
    respond: impl Fn(usize, &Seen) -> Response + Send + Sync + 'static,
    delay: Option<Duration>,
) -> TestServer {
    let state = Scripted {
        seen: Arc::default(),
        respond: Arc::new(respond),
        delay,
        concurrent: Arc::default(),
        max_concurrent: Arc::default(),
    };
    let server = TestServer {
        url: String::new(),
        seen: state.seen.clone(),
        max_concurrent: state.max_concurrent.clone(),
    };
    let app = Router::new().fallback(handle).with_state(state);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    TestServer {
        url: format!("http://{addr}"),
        ..server
    }
}

fn answer(status: u16, body: Value) -> Response {
    (
        StatusCode::from_u16(status).unwrap(),
        [("content-type", "application/json")],
        body.to_string(),
    )
        .into_response()
}

fn twenty_error(status: u16, message: &str, code: Option<&str>) -> Response {
    let mut body =
        json!({"statusCode": status, "error": "BadRequestException", "messages": [message]});
    if let Some(code) = code {
        body["code"] = json!(code);
    }
    answer(status, body)
}

/// Echoes a batch back the way Twenty's create-many handler does.
fn created(seen: &Seen) -> Response {
    let records: Value = serde_json::from_slice(&seen.body).unwrap();
    answer(201, json!({"data": {"createCompanies": records}}))
}

/// Fast settings: generous rate, tiny waits, so tests count requests rather than wait.
fn config(url: &str) -> TargetConfig {
    TargetConfig {
        base_url: url.to_owned(),
        api_key: ApiKey::new(KEY),
        requests_per_minute: 600_000,
        max_in_flight: 4,
        timeout: Duration::from_secs(5),
        max_attempts: 4,
        accept_invalid_certs: false,
        backoff: Backoff {
            base: Duration::from_millis(1),
            max: Duration::from_millis(5),
            rate_limit_floor: Duration::from_millis(1),
            max_server_wait: Duration::from_millis(5),
        },
        max_outage: Duration::from_millis(50),
    }
}

fn target(url: &str) -> Target {
    Target::new(config(url)).unwrap()
}

fn two_companies() -> BatchBody {
    BatchBody::from_values(&[
        json!({"id": "0d9d5a43-54f4-4b8a-9a3f-6f5c1c0b6a01", "name": "Acme"}),
        json!({"id": "0d9d5a43-54f4-4b8a-9a3f-6f5c1c0b6a02", "name": "Beta"}),
    ])
}

#[tokio::test]
async fn retries_5xx_until_success_and_counts_each_attempt() {
    let server = serve(|n, seen| {
        if n < 2 {
            answer(
                503,
                json!({"statusCode": 503, "messages": ["Service Unavailable"]}),
            )
        } else {
            created(seen)
        }
    })
    .await;
    let t = target(&server.url);
    let records = t.upsert_batch("companies", two_companies()).await.unwrap();
    assert_eq!(records.len(), 2);
    assert_eq!(records[0]["name"], "Acme");
    assert_eq!(server.hits(), 3);
    let seen = server.seen();
    for s in &seen {
        assert_eq!(s.method, "POST");
        assert_eq!(s.path, "/rest/batch/companies");
        assert_eq!(s.param("upsert").as_deref(), Some("true"));
        assert_eq!(s.auth().as_deref(), Some(format!("Bearer {KEY}").as_str()));
        assert_eq!(s.body, seen[0].body, "every attempt resends the same batch");
    }
    let stats = t.stats();
    assert_eq!(stats.requests, 3);
    assert_eq!(stats.server_errors, 2);
    assert_eq!(stats.ok, 1);
    assert_eq!(stats.retries, 2);
    assert_eq!(stats.records_sent, 6);
    assert_eq!(stats.records_confirmed, 2);
}

#[tokio::test]
async fn gives_up_after_max_attempts_with_the_last_error() {
    let server = serve(|n, _| {
        answer(
            502,
            json!({"statusCode": 502, "messages": [format!("bad gateway {n}")]}),
        )
    })
    .await;
    let t = target(&server.url);
    let err = t
        .upsert_batch("companies", two_companies())
        .await
        .unwrap_err();
    assert_eq!(server.hits(), 4);
    match err {
        TargetError::Transient { reason } => assert!(reason.contains("bad gateway 3"), "{reason}"),
        other => panic!("expected Transient, got {other:?}"),
    }
    assert_eq!(t.stats().records_confirmed, 0);
}

#[tokio::test]
async fn rate_limit_permit_is_taken_on_every_attempt() {
    let server = serve(|n, seen| {
        if n < 2 {
            answer(500, json!({}))
        } else {
            created(seen)
        }
    })
    .await;
    // A bucket of exactly three permits that refills once a minute: three attempts empty it.
    let mut cfg = config(&server.url);
    cfg.requests_per_minute = 1;
    let t = Target::with_burst(cfg.clone(), 3).unwrap();
    t.upsert_batch("companies", two_companies()).await.unwrap();
    assert_eq!(server.hits(), 3);
    assert_eq!(t.stats().requests, 3);
    assert!(
        !t.limiter_has_capacity(),
        "each of the three attempts must have taken a permit"
    );

    // Control: one successful attempt leaves two permits.
    let server = serve(|_, seen| created(seen)).await;
    cfg.base_url = server.url.clone();
    let t = Target::with_burst(cfg, 3).unwrap();
    t.upsert_batch("companies", two_companies()).await.unwrap();
    assert!(t.limiter_has_capacity());
    assert!(t.limiter_has_capacity());
    assert!(!t.limiter_has_capacity());
}

#[tokio::test]
async fn batch_cap_is_parsed_from_twentys_message() {
    let server = serve(|_, _| {
        twenty_error(
            400,
            "Maximum number of records to upsert is 60.",
            Some("TOO_MANY_RECORDS_TO_UPDATE"),
        )
    })
    .await;
    let t = target(&server.url);
    let err = t
        .upsert_batch("companies", two_companies())
        .await
        .unwrap_err();
    match err {
        TargetError::BatchTooLarge { cap, message } => {
            assert_eq!(cap, Some(60));
            assert_eq!(message, "Maximum number of records to upsert is 60.");
        }
        other => panic!("expected BatchTooLarge, got {other:?}"),
    }
    assert_eq!(server.hits(), 1, "a size refusal is not retried");
}

#[tokio::test]
async fn a_413_is_returned_at_once_for_the_pipeline_to_split() {
    let server = serve(|_, _| {
        (
            StatusCode::PAYLOAD_TOO_LARGE,
            "<html>413 Request Entity Too Large</html>",
        )
            .into_response()
    })
    .await;
    let t = target(&server.url);
    let err = t
        .upsert_batch("companies", two_companies())
        .await
        .unwrap_err();
    assert!(matches!(err, TargetError::PayloadTooLarge), "{err:?}");
    assert_eq!(server.hits(), 1);
}

#[tokio::test]
async fn a_rejected_batch_is_not_retried_and_keeps_twentys_messages() {
    let server = serve(|_, _| {
        twenty_error(
            400,
            "Object company doesn't have any \"foo\" field.",
            Some("INVALID_ARGS_DATA"),
        )
    })
    .await;
    let t = target(&server.url);
    let err = t
        .upsert_batch("companies", two_companies())
        .await
        .unwrap_err();
    match err {
        TargetError::Rejected {
            status,
            messages,
            code,
        } => {
            assert_eq!(status, 400);
            assert_eq!(
                messages,
                vec!["Object company doesn't have any \"foo\" field."]
            );
            assert_eq!(code.as_deref(), Some("INVALID_ARGS_DATA"));
        }
        other => panic!("expected Rejected, got {other:?}"),
    }
    assert_eq!(server.hits(), 1);
    assert_eq!(t.stats().client_errors, 1);
}

#[tokio::test]
async fn a_501_is_not_retried() {
    let server = serve(|_, _| {
        answer(
            501,
            json!({"statusCode": 501, "messages": ["Not Implemented"]}),
        )
    })
    .await;
    let t = target(&server.url);
    let err = t
        .upsert_batch("companies", two_companies())
        .await
        .unwrap_err();
    assert!(
        matches!(err, TargetError::Rejected { status: 501, .. }),
        "{err:?}"
    );
    assert_eq!(server.hits(), 1);
}

#[tokio::test]
async fn a_bad_key_is_unauthorized_at_once() {
    let server = serve(|_, _| {
        answer(
            401,
            json!({"statusCode": 401, "messages": ["Token invalid."], "error": "UNAUTHENTICATED"}),
        )
    })
    .await;
    let t = target(&server.url);
    let err = t.members().await.unwrap_err();
    match &err {
        TargetError::Unauthorized { status, message } => {
            assert_eq!(*status, 401);
            assert_eq!(message, "Token invalid.");
        }
        other => panic!("expected Unauthorized, got {other:?}"),
    }
    assert_eq!(server.hits(), 1);
    assert_eq!(
        err.to_string(),
        "the target refused the API key (HTTP 401): Token invalid."
    );
}

#[tokio::test]
async fn honours_retry_after_seconds_on_429() {
    let server = serve(|n, seen| {
        if n == 0 {
            let mut r = answer(
                429,
                json!({"statusCode": 429, "error": "RATE_LIMITED",
                       "messages": ["Rate limit exceeded for apiKey: 100 requests per 60s."],
                       "retryAfterSeconds": 1}),
            );
            r.headers_mut().insert("retry-after", "1".parse().unwrap());
            r
        } else {
            created(seen)
        }
    })
    .await;
    let mut cfg = config(&server.url);
    cfg.backoff.max_server_wait = Duration::from_secs(5);
    let t = Target::new(cfg).unwrap();
    t.upsert_batch("companies", two_companies()).await.unwrap();
    let seen = server.seen();
    assert_eq!(seen.len(), 2);
    assert!(
        seen[1].at.duration_since(seen[0].at) >= Duration::from_secs(1),
        "the retry came before Retry-After"
    );
    let stats = t.stats();
    assert_eq!((stats.rate_limited, stats.ok, stats.retries), (1, 1, 1));
}

#[tokio::test]
async fn a_429_on_every_attempt_returns_rate_limited_with_the_servers_wait() {
    let server = serve(|_, _| {
        let mut r = answer(
            429,
            json!({"statusCode": 429, "error": "RATE_LIMITED", "retryAfterSeconds": 12}),
        );
        r.headers_mut().insert("retry-after", "12".parse().unwrap());
        r
    })
    .await;
    let t = target(&server.url);
    let err = t
        .upsert_batch("companies", two_companies())
        .await
        .unwrap_err();
    assert!(
        matches!(err, TargetError::RateLimited { retry_after: Some(d) } if d == Duration::from_secs(12)),
        "{err:?}"
    );
    assert_eq!(server.hits(), 4);
    assert_eq!(t.stats().rate_limited, 4);
}

#[tokio::test]
async fn the_older_400_limit_reached_is_retried_as_a_rate_limit() {
    let server = serve(|n, seen| {
        if n == 0 {
            twenty_error(400, "Limit reached (100 tokens per 60000 ms)", None)
        } else {
            created(seen)
        }
    })
    .await;
    let t = target(&server.url);
    t.upsert_batch("companies", two_companies()).await.unwrap();
    assert_eq!(server.hits(), 2);
    assert_eq!(t.stats().rate_limited, 1);
}

#[tokio::test]
async fn a_batch_answer_under_the_older_plural_key_is_read() {
    let server = serve(|_, seen| {
        let records: Value = serde_json::from_slice(&seen.body).unwrap();
        answer(201, json!({"data": {"companies": records}}))
    })
    .await;
    let records = target(&server.url)
        .upsert_batch("companies", two_companies())
        .await
        .unwrap();
    assert_eq!(records.len(), 2);
}

#[tokio::test]
async fn an_unreadable_success_is_a_protocol_error_not_a_panic() {
    let server = serve(|_, _| (StatusCode::CREATED, "not json").into_response()).await;
    let err = target(&server.url)
        .upsert_batch("companies", two_companies())
        .await
        .unwrap_err();
    assert!(matches!(err, TargetError::Protocol(_)), "{err:?}");
    assert_eq!(server.hits(), 1);
}

#[tokio::test]
async fn connection_refused_is_transient_and_counted_per_attempt() {
    // Bind then drop a listener: the port is almost surely closed afterwards.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    let t = target(&url);
    let err = t
        .upsert_batch("companies", two_companies())
        .await
        .unwrap_err();
    assert!(matches!(err, TargetError::Transient { .. }), "{err:?}");
    let stats = t.stats();
    assert_eq!(stats.requests, 4);
    assert_eq!(stats.network_errors, 4);
    assert_eq!(stats.retries, 3);
}

#[tokio::test]
async fn a_slow_answer_times_out_and_is_retried() {
    let server = serve_with_delay(|_, seen| created(seen), Some(Duration::from_secs(3))).await;
    let mut cfg = config(&server.url);
    cfg.timeout = Duration::from_millis(200);
    cfg.max_attempts = 2;
    let t = Target::new(cfg).unwrap();
    let err = t
        .upsert_batch("companies", two_companies())
        .await
        .unwrap_err();
    match err {
        TargetError::Transient { reason } => assert!(reason.contains("timed out"), "{reason}"),
        other => panic!("expected Transient, got {other:?}"),
    }
    assert_eq!(server.hits(), 2);
    assert_eq!(t.stats().network_errors, 2);
}

#[tokio::test]
async fn requests_in_flight_never_exceed_the_bound() {
    let server = serve_with_delay(|_, seen| created(seen), Some(Duration::from_millis(50))).await;
    let mut cfg = config(&server.url);
    cfg.max_in_flight = 2;
    let t = Target::new(cfg).unwrap();
    let mut tasks = Vec::new();
    for _ in 0..6 {
        let t = t.clone();
        tasks.push(tokio::spawn(async move {
            t.upsert_batch("companies", two_companies()).await
        }));
    }
    for task in tasks {
        task.await.unwrap().unwrap();
    }
    assert_eq!(server.hits(), 6);
    assert_eq!(server.max_concurrent.load(Ordering::SeqCst), 2);
}

/// Pages of five people over three pages, cursors `c1`, `c2`.
fn paged_people(seen: &Seen) -> Response {
    let page = match seen.param("starting_after").as_deref() {
        None => 0,
        Some("c1") => 1,
        Some("c2") => 2,
        Some(other) => return twenty_error(400, &format!("bad cursor {other}"), None),
    };
    let ids: Vec<Vec<u32>> = vec![vec![1, 2], vec![3, 4], vec![5]];
    let records: Vec<Value> = ids[page]
        .iter()
        .map(|i| {
            json!({"id": format!("00000000-0000-4000-8000-00000000000{i}"),
                   "userEmail": format!("User{i}@Example.com"),
                   "name": {"firstName": format!("F{i}"), "lastName": "L"}})
        })
        .collect();
    answer(
        200,
        json!({"data": {"workspaceMembers": records}, "totalCount": 5,
               "pageInfo": {"hasNextPage": page < 2, "startCursor": "s",
                            "endCursor": format!("c{}", page + 1)}}),
    )
}

#[tokio::test]
async fn find_all_follows_cursors_over_three_pages() {
    let server = serve(|_, seen| paged_people(seen)).await;
    let t = target(&server.url);
    let records = t
        .find_all("workspaceMembers", &FindMany::default())
        .await
        .unwrap();
    assert_eq!(records.len(), 5);
    let seen = server.seen();
    assert_eq!(seen.len(), 3);
    assert_eq!(seen[0].param("starting_after"), None);
    assert_eq!(seen[1].param("starting_after").as_deref(), Some("c1"));
    assert_eq!(seen[2].param("starting_after").as_deref(), Some("c2"));
    assert!(seen
        .iter()
        .all(|s| s.param("limit").as_deref() == Some("60")));

    let page = t
        .find_many("workspaceMembers", &FindMany::default())
        .await
        .unwrap();
    assert_eq!(page.total_count, Some(5));
    assert!(page.has_next_page);
    assert_eq!(page.end_cursor.as_deref(), Some("c1"));
}

#[tokio::test]
async fn members_are_read_from_every_page() {
    let server = serve(|_, seen| paged_people(seen)).await;
    let members = target(&server.url).members().await.unwrap();
    assert_eq!(members.len(), 5);
    assert_eq!(members[0].user_email.as_deref(), Some("User1@Example.com"));
    assert_eq!(members[0].name.as_deref(), Some("F1 L"));
    assert_eq!(server.seen()[0].path, "/rest/workspaceMembers");
}

#[tokio::test]
async fn a_page_that_repeats_its_cursor_stops_with_a_protocol_error() {
    let server = serve(|_, _| {
        answer(
            200,
            json!({"data": {"people": []}, "totalCount": 0,
                           "pageInfo": {"hasNextPage": true, "endCursor": "same"}}),
        )
    })
    .await;
    let err = target(&server.url)
        .find_all("people", &FindMany::default())
        .await
        .unwrap_err();
    assert!(matches!(err, TargetError::Protocol(_)), "{err:?}");
    assert_eq!(server.hits(), 2);
}

#[tokio::test]
async fn find_by_ids_sends_an_in_filter_per_chunk() {
    let server = serve(|_, seen| {
        let filter = seen.param("filter").unwrap();
        let inner = filter
            .strip_prefix("id[in]:[")
            .and_then(|f| f.strip_suffix(']'))
            .unwrap();
        let records: Vec<Value> = inner
            .split(',')
            .map(|q| json!({"id": q.trim_matches('"')}))
            .collect();
        answer(
            200,
            json!({"data": {"people": records}, "totalCount": records.len(),
                           "pageInfo": {"hasNextPage": false, "endCursor": null}}),
        )
    })
    .await;
    let ids: Vec<Uuid> = (0..120).map(|_| Uuid::new_v4()).collect();
    let records = target(&server.url)
        .find_by_ids("people", &ids)
        .await
        .unwrap();
    assert_eq!(records.len(), 120);
    assert_eq!(records[0]["id"], ids[0].to_string());
    let seen = server.seen();
    assert_eq!(seen.len(), 3);
    assert_eq!(
        seen[2].param("filter").unwrap(),
        format!(
            "id[in]:[{}]",
            ids[100..]
                .iter()
                .map(|id| format!("\"{id}\""))
                .collect::<Vec<_>>()
                .join(",")
        )
    );
}

#[tokio::test]
async fn soft_delete_sends_delete_with_soft_delete_true() {
    let server = serve(|_, _| answer(200, json!({"data": {"deleteCompany": {"id": "x"}}}))).await;
    let id = Uuid::new_v4();
    target(&server.url)
        .soft_delete("companies", id)
        .await
        .unwrap();
    let seen = server.seen();
    assert_eq!(seen[0].method, "DELETE");
    assert_eq!(seen[0].path, format!("/rest/companies/{id}"));
    assert_eq!(seen[0].param("soft_delete").as_deref(), Some("true"));
}

#[tokio::test]
async fn a_name_that_is_not_an_object_name_never_reaches_the_server() {
    let server = serve(|_, seen| created(seen)).await;
    let err = target(&server.url)
        .upsert_batch("../admin", two_companies())
        .await
        .unwrap_err();
    assert!(matches!(err, TargetError::Config(_)), "{err:?}");
    assert_eq!(server.hits(), 0);
}

#[tokio::test]
async fn client_config_is_read_without_the_key() {
    let server = serve(|_, _| {
        answer(
            200,
            json!({"appVersion": "v2.1.0", "isMultiWorkspaceEnabled": true,
                           "api": {"mutationMaximumAffectedRecords": 100}}),
        )
    })
    .await;
    let cfg = target(&server.url).client_config().await.unwrap();
    assert_eq!(cfg.app_version.as_deref(), Some("v2.1.0"));
    assert_eq!(cfg.mutation_maximum_affected_records, Some(100));
    assert_eq!(cfg.is_multi_workspace_enabled, Some(true));
    let seen = server.seen();
    assert_eq!(seen[0].path, "/client-config");
    assert_eq!(seen[0].auth(), None);
}

fn object_node(fields_key: &str) -> Value {
    let field = json!({"id": "20202020-0000-4000-8000-000000000001", "name": "name", "label": "Name",
                       "type": "TEXT", "isNullable": true, "isUnique": false, "isCustom": false,
                       "isActive": true, "isSystem": false});
    let fields = if fields_key == "fieldsList" {
        json!([field])
    } else {
        json!({"edges": [{"node": field}]})
    };
    let mut node = json!({"id": "20202020-0000-4000-8000-0000000000aa", "nameSingular": "company",
                          "namePlural": "companies", "isCustom": false, "isActive": true, "isSystem": false});
    node[fields_key] = fields;
    node
}

#[tokio::test]
async fn model_is_read_from_metadata_over_pages() {
    let server = serve(|n, seen| {
        let body: Value = serde_json::from_slice(&seen.body).unwrap();
        let query = body["query"].as_str().unwrap();
        assert!(query.contains("fieldsList"));
        let has_next = n == 0;
        if n == 1 {
            assert!(query.contains(r#"after: "o1""#), "{query}");
        }
        answer(200, json!({"data": {"objects": {"edges": [{"node": object_node("fieldsList")}],
                                                 "pageInfo": {"hasNextPage": has_next, "endCursor": "o1"}}}}))
    })
    .await;
    let model = target(&server.url).model().await.unwrap();
    assert_eq!(model.objects.len(), 2);
    assert_eq!(model.object("company").unwrap().fields[0].name, "name");
    let seen = server.seen();
    assert_eq!(seen.len(), 2);
    assert_eq!(seen[0].path, "/metadata");
    assert_eq!(
        seen[0].auth().as_deref(),
        Some(format!("Bearer {KEY}").as_str())
    );
}

#[tokio::test]
async fn model_falls_back_to_the_fields_connection_on_older_servers() {
    let server = serve(|_, seen| {
        let body: Value = serde_json::from_slice(&seen.body).unwrap();
        if body["query"].as_str().unwrap().contains("fieldsList") {
            answer(400, json!({"errors": [{"message": "Cannot query field \"fieldsList\" on type \"Object\".",
                                           "extensions": {"code": "GRAPHQL_VALIDATION_FAILED"}}]}))
        } else {
            answer(200, json!({"data": {"objects": {"edges": [{"node": object_node("fields")}],
                                                     "pageInfo": {"hasNextPage": false}}}}))
        }
    })
    .await;
    let model = target(&server.url).model().await.unwrap();
    assert_eq!(model.objects[0].fields[0].field_type, "TEXT");
    assert_eq!(server.hits(), 2);
}

#[tokio::test]
async fn graphql_errors_in_a_200_are_rejected_with_the_message() {
    let server = serve(|_, _| {
        answer(
            200,
            json!({"data": null, "errors": [{"message": "Forbidden resource",
                                                     "extensions": {"code": "FORBIDDEN"}}]}),
        )
    })
    .await;
    let err = target(&server.url).model().await.unwrap_err();
    match err {
        TargetError::Forbidden { message, .. } => assert_eq!(message, "Forbidden resource"),
        other => panic!("expected Forbidden, got {other:?}"),
    }
    assert_eq!(server.hits(), 1);
}

#[tokio::test]
async fn a_graphql_rate_limit_in_a_200_is_retried() {
    let server = serve(|n, _| {
        if n == 0 {
            answer(200, json!({"errors": [{"message": "Rate limit exceeded",
                                           "extensions": {"code": "RATE_LIMITED", "retryAfterMs": 1}}]}))
        } else {
            answer(200, json!({"data": {"ok": true}}))
        }
    })
    .await;
    let t = target(&server.url);
    let data = t.metadata_graphql("query { ok }", json!({})).await.unwrap();
    assert_eq!(data, json!({"ok": true}));
    assert_eq!(server.hits(), 2);
    assert_eq!(t.stats().rate_limited, 1);
}

#[tokio::test]
async fn upload_file_sends_a_graphql_multipart_request() {
    let server = serve(|_, _| {
        answer(200, json!({"data": {"uploadFilesFieldFile": {"id": "5f0b7a1e-0000-4000-8000-000000000001"}}}))
    })
    .await;
    let field = Uuid::new_v4();
    let file = target(&server.url)
        .upload_file(
            field,
            "report.pdf",
            "application/pdf",
            Bytes::from_static(b"%PDF-1.4 hello"),
        )
        .await
        .unwrap();
    assert_eq!(file.id, "5f0b7a1e-0000-4000-8000-000000000001");
    let seen = &server.seen()[0];
    assert_eq!(seen.path, "/metadata");
    assert_eq!(seen.headers["apollo-require-preflight"], "true");
    assert!(seen.headers["content-type"]
        .to_str()
        .unwrap()
        .starts_with("multipart/form-data"));
    let body = String::from_utf8_lossy(&seen.body);
    let operations_at = body.find("name=\"operations\"").expect("operations part");
    let map_at = body.find("name=\"map\"").expect("map part");
    let file_at = body
        .find("name=\"0\"; filename=\"report.pdf\"")
        .expect("file part");
    assert!(
        operations_at < map_at && map_at < file_at,
        "parts out of order"
    );
    assert!(body.contains(r#"{"0":["variables.file"]}"#));
    assert!(body.contains("uploadFilesFieldFile"));
    assert!(body.contains(&field.to_string()));
    assert!(body.contains("%PDF-1.4 hello"));
}

#[tokio::test]
async fn api_key_never_appears_in_errors_or_debug_output() {
    // A server that echoes the Authorization header into its error messages.
    let server = serve(|n, seen| {
        let auth = seen.auth().unwrap_or_default();
        match n {
            0 => answer(
                401,
                json!({"statusCode": 401, "messages": [format!("bad token {auth}")]}),
            ),
            1 => twenty_error(400, &format!("rejected {auth}"), Some("INVALID_ARGS_DATA")),
            _ => answer(503, json!({"messages": [format!("down {auth}")]})),
        }
    })
    .await;
    let cfg = config(&server.url);
    let t = Target::new(cfg.clone()).unwrap();
    let mut outputs = vec![
        format!("{cfg:?}"),
        format!("{:?}", cfg.api_key),
        format!("{}", cfg.api_key),
        format!("{t:?}"),
    ];
    let mut errors = vec![
        t.members().await.unwrap_err(),
        t.upsert_batch("companies", two_companies())
            .await
            .unwrap_err(),
        t.upsert_batch("companies", two_companies())
            .await
            .unwrap_err(),
    ];
    assert!(matches!(errors[0], TargetError::Unauthorized { .. }));
    assert!(matches!(errors[1], TargetError::Rejected { .. }));
    assert!(matches!(errors[2], TargetError::Transient { .. }));
    errors.extend([
        TargetError::Config("x".into()),
        TargetError::Forbidden {
            status: 403,
            message: "m".into(),
            code: None,
        },
        TargetError::BatchTooLarge {
            cap: Some(60),
            message: "m".into(),
        },
        TargetError::PayloadTooLarge,
        TargetError::QuotaExhausted {
            status: 402,
            message: "m".into(),
        },
        TargetError::RateLimited {
            retry_after: Some(Duration::from_secs(3)),
        },
        TargetError::Protocol("p".into()),
        TargetError::LocalFile {
            path: "/tmp/x".into(),
            source: std::io::Error::other("gone"),
        },
    ]);
    for e in &errors {
        outputs.push(format!("{e:?}"));
        outputs.push(format!("{e}"));
    }
    outputs.push(format!("{:?}", t.stats()));
    for out in &outputs {
        assert!(!out.contains(KEY), "the key leaked: {out}");
        assert!(!out.contains("SECRET"), "part of the key leaked: {out}");
    }
    // The echo was there and was scrubbed, not lost.
    assert!(outputs
        .iter()
        .any(|o| o.contains("bad token Bearer [redacted]")));
}

#[test]
fn a_bad_configuration_is_refused_before_anything_is_sent() {
    let bad = |f: fn(&mut TargetConfig)| {
        let mut cfg = config("http://127.0.0.1:1");
        f(&mut cfg);
        Target::new(cfg).unwrap_err()
    };
    assert!(matches!(
        bad(|c| c.base_url = "not a url".into()),
        TargetError::Config(_)
    ));
    assert!(matches!(
        bad(|c| c.base_url = "ftp://x".into()),
        TargetError::Config(_)
    ));
    assert!(matches!(
        bad(|c| c.requests_per_minute = 0),
        TargetError::Config(_)
    ));
    assert!(matches!(
        bad(|c| c.max_in_flight = 0),
        TargetError::Config(_)
    ));
    let t = Target::new(config("http://127.0.0.1:1/")).unwrap();
    assert_eq!(t.base_url(), "http://127.0.0.1:1");
}

#[test]
fn a_batch_body_knows_its_records_and_size() {
    let body = two_companies();
    assert_eq!(body.records(), 2);
    let parsed: Vec<Value> = serde_json::from_slice(body.bytes()).unwrap();
    assert_eq!(parsed.len(), 2);
    assert_eq!(body.byte_len(), body.bytes().len());
    let raw = BatchBody::new(b"[]".to_vec(), 0);
    assert_eq!((raw.records(), raw.byte_len()), (0, 2));
}

#[tokio::test]
async fn soft_delete_many_sends_filtered_deletes_in_chunks() {
    let server = serve(|_, seen| {
        let filter = seen.param("filter").unwrap();
        let n = filter.matches(',').count() + 1;
        let records: Vec<Value> = (0..n).map(|_| json!({"id": "x"})).collect();
        answer(200, json!({"data": {"deleteCompanies": records}}))
    })
    .await;
    let t = target(&server.url);
    assert_eq!(t.soft_delete_many("companies", &[]).await.unwrap(), 0);
    assert_eq!(server.hits(), 0, "no ids, no request");
    let ids: Vec<Uuid> = (0..70).map(|_| Uuid::new_v4()).collect();
    assert_eq!(t.soft_delete_many("companies", &ids).await.unwrap(), 70);
    let seen = server.seen();
    assert_eq!(seen.len(), 2);
    for s in &seen {
        assert_eq!(
            (s.method.as_str(), s.path.as_str()),
            ("DELETE", "/rest/companies")
        );
        assert_eq!(s.param("soft_delete").as_deref(), Some("true"));
        assert!(s.param("filter").unwrap().starts_with("id[in]:[\""));
    }
}

#[tokio::test]
async fn a_429_holds_back_the_other_requests_in_flight() {
    // The first request is refused with Retry-After; the others, sent alongside, must wait for
    // that pause instead of collecting their own 429s.
    let server = serve(|n, seen| {
        if n == 0 {
            let mut r = answer(429, json!({"statusCode": 429, "error": "RATE_LIMITED"}));
            r.headers_mut().insert("retry-after", "1".parse().unwrap());
            r
        } else {
            created(seen)
        }
    })
    .await;
    let mut cfg = config(&server.url);
    cfg.max_in_flight = 1;
    cfg.backoff.max_server_wait = Duration::from_millis(300);
    let t = Target::new(cfg).unwrap();
    let first = {
        let t = t.clone();
        tokio::spawn(async move { t.upsert_batch("companies", two_companies()).await })
    };
    // Let the first request take the only slot before the others queue.
    while server.hits() == 0 {
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    let mut rest = Vec::new();
    for _ in 0..3 {
        let t = t.clone();
        rest.push(tokio::spawn(async move {
            t.upsert_batch("companies", two_companies()).await
        }));
    }
    first.await.unwrap().unwrap();
    for r in rest {
        r.await.unwrap().unwrap();
    }
    let seen = server.seen();
    assert_eq!(seen.len(), 5, "one 429, then four successes");
    assert_eq!(t.stats().rate_limited, 1);
    for later in &seen[1..] {
        assert!(
            later.at.duration_since(seen[0].at) >= Duration::from_millis(250),
            "a request went out during the pause"
        );
    }
}

#[tokio::test]
async fn create_object_and_create_field_send_twentys_mutations() {
    let server = serve(|_, seen| {
        let body: Value = serde_json::from_slice(&seen.body).unwrap();
        let query = body["query"].as_str().unwrap();
        if query.contains("createOneObject(input: $input)") {
            assert!(query.contains("$input: CreateOneObjectInput!"));
            let o = &body["variables"]["input"]["object"];
            answer(200, json!({"data": {"createOneObject": {
                "id": "20202020-0000-4000-8000-0000000000bb", "nameSingular": o["nameSingular"],
                "namePlural": o["namePlural"], "isCustom": true, "isActive": true, "isSystem": false}}}))
        } else {
            assert!(query.contains("$input: CreateOneFieldMetadataInput!"));
            let f = &body["variables"]["input"]["field"];
            answer(200, json!({"data": {"createOneField": {
                "id": "20202020-0000-4000-8000-0000000000cc", "name": f["name"], "type": f["type"],
                "isActive": true, "isSystem": false, "isNullable": true}}}))
        }
    })
    .await;
    let t = target(&server.url);
    let object = t
        .create_object(json!({"nameSingular": "pet", "namePlural": "pets",
                              "labelSingular": "Pet", "labelPlural": "Pets"}))
        .await
        .unwrap();
    assert_eq!(object.name_singular, "pet");
    let field = t
        .create_field(
            json!({"objectMetadataId": object.id, "type": "TEXT", "name": "nickname",
                             "label": "Nickname"}),
        )
        .await
        .unwrap();
    assert_eq!(
        (field.name.as_str(), field.field_type.as_str()),
        ("nickname", "TEXT")
    );
    assert_eq!(server.hits(), 2);
}

#[tokio::test]
async fn an_empty_batch_sends_nothing() {
    let server = serve(|_, seen| created(seen)).await;
    let t = target(&server.url);
    let records = t
        .upsert_batch("companies", BatchBody::from_values(&[]))
        .await
        .unwrap();
    assert!(records.is_empty());
    assert_eq!(server.hits(), 0);
}

#[tokio::test]
async fn a_transient_error_names_the_endpoint() {
    let server = serve(|_, _| answer(503, json!({"messages": ["down"]}))).await;
    let err = target(&server.url)
        .upsert_batch("companies", two_companies())
        .await
        .unwrap_err();
    assert_eq!(err.disposition(), Disposition::RetryLater);
    assert_eq!(
        err.to_string(),
        "the target is unavailable: POST /rest/batch/companies: HTTP 503: down"
    );
}

#[tokio::test]
async fn upload_from_a_path_streams_the_file_on_every_attempt() {
    let server = serve(|n, _| {
        if n == 0 {
            answer(503, json!({"messages": ["busy"]}))
        } else {
            answer(
                200,
                json!({"data": {"uploadFilesFieldFile": {"id": "f1", "path": "files/f1.txt"}}}),
            )
        }
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("notes.txt");
    std::fs::write(&path, "line one\nline two\n").unwrap();
    let t = target(&server.url);
    let file = t
        .upload_file_from_path(Uuid::new_v4(), &path, "notes.txt", "text/plain")
        .await
        .unwrap();
    assert_eq!(file.id, "f1");
    assert_eq!(file.path.as_deref(), Some("files/f1.txt"));
    let seen = server.seen();
    assert_eq!(seen.len(), 2);
    for s in &seen {
        let body = String::from_utf8_lossy(&s.body);
        assert!(
            body.contains("line one\nline two\n"),
            "attempt sent the whole file"
        );
        assert!(body.contains("filename=\"notes.txt\""));
    }

    let err = t
        .upload_file_from_path(
            Uuid::new_v4(),
            &dir.path().join("missing"),
            "m",
            "text/plain",
        )
        .await
        .unwrap_err();
    assert!(matches!(err, TargetError::LocalFile { .. }), "{err:?}");
    let err = t
        .upload_file(Uuid::new_v4(), "x", "not a mime type", Bytes::new())
        .await
        .unwrap_err();
    assert!(matches!(err, TargetError::Config(_)), "{err:?}");
    assert_eq!(server.hits(), 2, "neither bad upload reached the server");
}

#[tokio::test]
async fn a_batch_answer_read_for_ids_keeps_each_id_in_order_whatever_the_list_key() {
    // Both answer forms of `rest-api-create-many.handler.ts`' history: `{data: {create<Plural>:
    // […]}}` and `{data: {<plural>: […]}}`, with nested values and other keys to skip.
    for key in ["createCompanies", "companies"] {
        let server = serve(move |_, _| {
            answer(
                201,
                json!({"data": {
                    key: [
                        {"name": "Acme", "address": {"addressCity": "Paris"}, "id": "a-1", "tags": [1, {"x": null}]},
                        {"id": null, "name": "Beta"},
                        {"name": "Gamma", "id": "a-3"},
                    ],
                    "totalCount": 3,
                    "pageInfo": {"hasNextPage": false},
                }, "meta": [1, 2]}),
            )
        })
        .await;
        let ids = target(&server.url)
            .upsert_batch_ids("companies", two_companies())
            .await
            .unwrap();
        assert_eq!(
            ids,
            vec![
                ReturnedId(Some("a-1".into())),
                ReturnedId(None),
                ReturnedId(Some("a-3".into())),
            ]
        );
    }
}

#[tokio::test]
async fn a_batch_answer_without_one_record_list_is_a_protocol_error() {
    for body in [
        json!({"data": {"createCompanies": [], "other": []}}),
        json!({"data": {"createCompanies": {"id": "x"}}}),
        json!({"nodata": []}),
    ] {
        let server = serve(move |_, _| answer(201, body.clone())).await;
        let err = target(&server.url)
            .upsert_batch_ids("companies", two_companies())
            .await
            .unwrap_err();
        assert!(matches!(err, TargetError::Protocol(_)), "{err:?}");
    }
    // A bare list under `data` is read as the list.
    let server = serve(|_, _| answer(201, json!({"data": [{"id": "b"}]}))).await;
    let ids = target(&server.url)
        .upsert_batch_ids("companies", two_companies())
        .await
        .unwrap();
    assert_eq!(ids, vec![ReturnedId(Some("b".into()))]);
}

// `Role.rowLevelPermissionPredicates` is 2.x's (`role/role.resolver.ts`): a server without it
// refuses the field, and the roles are read again without it rather than the configuration
// being taken for an older generation's.
#[tokio::test]
async fn roles_are_read_without_row_level_permissions_from_a_server_that_lacks_them() {
    let server = serve(|_, seen| {
        let body: Value = serde_json::from_slice(&seen.body).unwrap();
        let query = body["query"].as_str().unwrap_or("");
        let data = if query.contains("rowLevelPermissionPredicates") {
            return answer(
                200,
                json!({"errors": [{"message": "Cannot query field \"rowLevelPermissionPredicates\" on type \"Role\".",
                                   "locations": [{"line": 1, "column": 3}]}]}),
            );
        } else if query.contains("getRoles") {
            json!({"getRoles": [{"id": Uuid::nil(), "label": "Admin", "isEditable": false}]})
        } else if query.contains("getViews") {
            json!({"getViews": []})
        } else if query.contains("navigationMenuItems") {
            json!({"navigationMenuItems": []})
        } else if query.contains("webhooks") {
            json!({"webhooks": []})
        } else if query.contains("apiKeys") {
            json!({"apiKeys": []})
        } else {
            json!({"currentWorkspace": {"id": Uuid::nil()}})
        };
        answer(200, json!({ "data": data }))
    })
    .await;
    let have = target(&server.url)
        .configuration()
        .await
        .expect("configuration");
    assert_eq!(have.roles.len(), 1);
    assert!(have.roles[0].row_level_permission_predicates.is_empty());
    assert_eq!(server.hits(), 7, "one more reading of the roles");
}
