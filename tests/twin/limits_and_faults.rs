//! Rate limits (common-base-query-runner.service.ts `throttleQueryExecution`, usage-limit
//! 429 answer) and fault injection.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{json, Value};
use twenty_migrate::twin::{Fault, FaultSpec};

use super::{start, start_with, KEY};

// usage-limit-to-rest-api-exception-handler.util.ts + build-rate-limit-response-headers.util.ts.
#[tokio::test]
async fn the_request_over_the_limit_gets_429_with_twentys_body_and_headers() {
    let env = start_with(|c| c.rate_long(3, 60_000)).await;
    for _ in 0..3 {
        let (status, _) = env.get("/rest/companies").await;
        assert_eq!(status, StatusCode::OK);
    }
    let resp = env
        .http
        .get(format!("{}/rest/companies", env.twin.base_url()))
        .bearer_auth(KEY)
        .send()
        .await
        .expect("sent");
    assert_eq!(resp.status(), StatusCode::TOO_MANY_REQUESTS);
    let header = |name: &str| {
        resp.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let retry_after: u64 = header("retry-after")
        .and_then(|v| v.parse().ok())
        .expect("Retry-After");
    assert!((1..=20).contains(&retry_after), "{retry_after}");
    assert_eq!(header("x-ratelimit-limit").as_deref(), Some("3"));
    assert_eq!(header("x-ratelimit-remaining").as_deref(), Some("0"));
    assert!(header("x-ratelimit-reset")
        .and_then(|v| v.parse::<u64>().ok())
        .is_some());
    let body: Value = resp.json().await.expect("json");
    assert_eq!(body["statusCode"], 429);
    assert_eq!(body["error"], "RATE_LIMITED");
    assert_eq!(
        body["messages"],
        json!(["Rate limit exceeded for apiKey: 3 requests per 60s."])
    );
    assert_eq!(body["limitKind"], "speed");
    assert_eq!(body["scope"]["spenderType"], "apiKey");
    assert_eq!(
        (body["limit"].clone(), body["remaining"].clone()),
        (json!(3), json!(0))
    );
    assert_eq!(
        (body["periodCount"].clone(), body["periodUnit"].clone()),
        (json!(60), json!("second"))
    );
    assert_eq!(body["retryAfterSeconds"], retry_after);
    assert_eq!(env.twin.stats().rate_limited, 1);
}

// throttleQueryExecution runs once per query-runner call: a batch costs one token.
#[tokio::test]
async fn a_batch_costs_one_token_whatever_its_size() {
    let env = start_with(|c| c.rate_short(2, 60_000)).await;
    let records: Vec<Value> = (0..50).map(|i| json!({"name": format!("c{i}")})).collect();
    env.create("companies", Value::Array(records)).await;
    let (status, body) = env.get("/rest/companies?limit=1").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["totalCount"], 50);
    let (status, _) = env.get("/rest/companies").await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
}

// throttler.service.ts: buckets refill continuously; both buckets apply.
#[tokio::test]
async fn buckets_refill_continuously_and_the_shorter_one_is_stated() {
    let env = start_with(|c| c.rate_short(2, 200).rate_long(100, 60_000)).await;
    assert_eq!(env.get("/rest/companies").await.0, StatusCode::OK);
    assert_eq!(env.get("/rest/companies").await.0, StatusCode::OK);
    let (status, body) = env.get("/rest/companies").await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(
        body["messages"],
        json!(["Rate limit exceeded for apiKey: 2 requests per 0.2s."])
    );
    assert_eq!(
        (body["periodCount"].clone(), body["periodUnit"].clone()),
        (json!(1), json!("second"))
    );
    tokio::time::sleep(Duration::from_millis(150)).await;
    assert_eq!(env.get("/rest/companies").await.0, StatusCode::OK);
}

// Only API-key record calls are throttled; with no limit configured nothing is refused.
#[tokio::test]
async fn without_a_configured_limit_nothing_is_refused_and_client_config_is_never_counted() {
    let env = start().await;
    for _ in 0..150 {
        assert_eq!(env.get("/rest/companies?limit=1").await.0, StatusCode::OK);
    }
    let limited = start_with(|c| c.rate_short(1, 60_000)).await;
    for _ in 0..3 {
        let status = limited
            .http
            .get(format!("{}/client-config", limited.twin.base_url()))
            .send()
            .await
            .expect("sent")
            .status();
        assert_eq!(status, StatusCode::OK);
    }
    assert_eq!(limited.get("/rest/companies").await.0, StatusCode::OK);
}

// Twin faults: a 500 is decided before the write, so nothing is applied.
#[tokio::test]
async fn a_faulted_500_applies_nothing() {
    let env = start_with(|c| c.faults(FaultSpec::none().with(1.0, Fault::Status(500)))).await;
    let (status, body) = env
        .post("/rest/batch/companies", json!([{"name": "x"}]))
        .await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(body["statusCode"], 500);
    let (_, dump) = env.get("/__twin/dump").await;
    assert_eq!(dump["objects"]["companies"], json!([]));
    assert_eq!(env.twin.stats().faults, 1);
}

// Twin faults: 503 comes from the proxy, as plain text.
#[tokio::test]
async fn a_faulted_503_is_a_plain_proxy_answer() {
    let env = start_with(|c| c.faults(FaultSpec::parse("503=1").expect("spec"))).await;
    let resp = env
        .http
        .get(format!("{}/rest/companies", env.twin.base_url()))
        .bearer_auth(KEY)
        .send()
        .await
        .expect("sent");
    assert_eq!(resp.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(resp.text().await.expect("text"), "Service Unavailable");
}

// Twin faults: a reset drops the connection and applies nothing; reset_after applies, then drops.
#[tokio::test]
async fn a_reset_drops_the_connection_before_or_after_the_write() {
    let env = start_with(|c| c.faults(FaultSpec::parse("reset=1").expect("spec"))).await;
    let sent = env
        .http
        .post(format!("{}/rest/batch/companies", env.twin.base_url()))
        .bearer_auth(KEY)
        .json(&json!([{"name": "lost"}]))
        .send()
        .await;
    let failed = match sent {
        Err(_) => true,
        Ok(resp) => resp.text().await.is_err(),
    };
    assert!(failed, "the client must see a broken connection");
    let (_, dump) = env.get("/__twin/dump").await;
    assert_eq!(dump["objects"]["companies"], json!([]));

    let env = start_with(|c| c.faults(FaultSpec::parse("reset_after=1").expect("spec"))).await;
    let sent = env
        .http
        .post(format!("{}/rest/batch/companies", env.twin.base_url()))
        .bearer_auth(KEY)
        .json(&json!([{"name": "applied"}]))
        .send()
        .await;
    let failed = match sent {
        Err(_) => true,
        Ok(resp) => resp.text().await.is_err(),
    };
    assert!(failed, "the client must see a broken connection");
    let (_, dump) = env.get("/__twin/dump").await;
    assert_eq!(dump["objects"]["companies"][0]["name"], "applied");
}

// Twin faults: slow answers arrive late but complete; timeouts never answer.
#[tokio::test]
async fn slow_requests_complete_late_and_timeouts_never_answer() {
    let env = start_with(|c| c.faults(FaultSpec::parse("slow=1:150").expect("spec"))).await;
    let started = Instant::now();
    assert_eq!(env.get("/rest/companies").await.0, StatusCode::OK);
    assert!(started.elapsed() >= Duration::from_millis(150));

    let env = start_with(|c| c.faults(FaultSpec::parse("timeout=1:5000").expect("spec"))).await;
    let result = env
        .http
        .get(format!("{}/rest/companies", env.twin.base_url()))
        .bearer_auth(KEY)
        .timeout(Duration::from_millis(200))
        .send()
        .await;
    assert!(result.is_err_and(|e| e.is_timeout()));
}

// Twin faults: the same seed gives the same sequence.
#[tokio::test]
async fn faults_are_deterministic_from_the_seed() {
    async fn statuses(seed: u64) -> Vec<u16> {
        let env = start_with(|c| {
            c.faults(FaultSpec::parse(&format!("seed={seed},500=0.5")).expect("spec"))
        })
        .await;
        let mut out = Vec::new();
        for _ in 0..20 {
            out.push(env.get("/rest/companies").await.0.as_u16());
        }
        out
    }
    let a = statuses(11).await;
    assert_eq!(a, statuses(11).await);
    assert!(a.contains(&500) && a.contains(&200), "{a:?}");
}

// throttleQueryExecution sits in the query runner: a call refused before it (unknown object)
// takes no token; one refused inside it (invalid data) does.
#[tokio::test]
async fn tokens_are_taken_where_the_query_runner_starts() {
    let env = start_with(|c| c.rate_long(2, 60_000)).await;
    for _ in 0..3 {
        let (status, _) = env.get("/rest/widgets").await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
    }
    let (status, _) = env
        .post("/rest/batch/companies", json!([{"name": 1}]))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(env.get("/rest/companies").await.0, StatusCode::OK);
    assert_eq!(
        env.get("/rest/companies").await.0,
        StatusCode::TOO_MANY_REQUESTS
    );
}
