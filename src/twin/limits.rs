//! Rate limits: the two per-workspace token buckets of Twenty's API-key throttle.
//!
//! Mirrors `packages/twenty-server/src/engine/api/common/common-query-runners/common-base-query-runner.service.ts`
//! (`throttleQueryExecution`: one token per query-runner execution, so one REST call costs one
//! token whatever its batch size), the continuous refill of `throttler.service.ts`, and the
//! 429 answer of `packages/twenty-server/src/engine/core-modules/usage-limit/utils/usage-limit-to-rest-api-exception-handler.util.ts`
//! with the headers of `build-rate-limit-response-headers.util.ts`.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::http::{HeaderName, HeaderValue};
use serde_json::json;

use super::api_error::{ApiError, Extras};
use super::TwinError;

/// A limit: `limit` requests per `window`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    /// Bucket size.
    pub limit: u32,
    /// Window.
    pub window: Duration,
}

impl Rate {
    /// Parses `N/MS`, e.g. `100/60000`.
    pub fn parse(s: &str) -> Result<Self, TwinError> {
        let bad = || TwinError::Config(format!("rate `{s}` is not N/MS (e.g. 100/60000)"));
        let (n, ms) = s.split_once('/').ok_or_else(bad)?;
        let limit: u32 = n.trim().parse().map_err(|_| bad())?;
        let ms: u64 = ms.trim().parse().map_err(|_| bad())?;
        if limit == 0 || ms == 0 {
            return Err(bad());
        }
        Ok(Self {
            limit,
            window: Duration::from_millis(ms),
        })
    }
}

#[derive(Debug)]
struct Bucket {
    rate: Rate,
    tokens: f64,
    last: Instant,
}

impl Bucket {
    fn new(rate: Rate) -> Self {
        Self {
            rate,
            tokens: f64::from(rate.limit),
            last: Instant::now(),
        }
    }

    fn refill(&mut self, now: Instant) {
        let per_ms = f64::from(self.rate.limit) / self.rate.window.as_millis() as f64;
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64() * 1000.0;
        self.tokens = (self.tokens + elapsed * per_ms).min(f64::from(self.rate.limit));
        self.last = now;
    }

    /// Milliseconds until one token is back.
    fn retry_after_ms(&self) -> f64 {
        let per_ms = f64::from(self.rate.limit) / self.rate.window.as_millis() as f64;
        ((1.0 - self.tokens) / per_ms).max(0.0)
    }
}

/// Both buckets of the workspace; either may be off.
#[derive(Debug, Default)]
pub struct Limiter {
    buckets: Vec<Bucket>,
}

impl Limiter {
    /// A limiter with the configured buckets.
    pub fn new(short: Option<Rate>, long: Option<Rate>) -> Self {
        Self {
            buckets: short.into_iter().chain(long).map(Bucket::new).collect(),
        }
    }

    /// Takes one token from every bucket, or answers the 429 of the first empty one (no token
    /// is taken then), as `try-consume-token-buckets-script.constant.ts` does.
    pub fn take(&mut self, key_id: &str) -> Result<(), ApiError> {
        let now = Instant::now();
        for bucket in &mut self.buckets {
            bucket.refill(now);
        }
        if let Some(empty) = self.buckets.iter().find(|b| b.tokens < 1.0) {
            return Err(too_many(empty, key_id));
        }
        for bucket in &mut self.buckets {
            bucket.tokens -= 1.0;
        }
        Ok(())
    }
}

/// The G4 body and headers.
fn too_many(bucket: &Bucket, key_id: &str) -> ApiError {
    let retry_after = ((bucket.retry_after_ms() / 1000.0).ceil() as u64).max(1);
    let window_ms = bucket.rate.window.as_millis() as u64;
    // The message states the window in seconds as JS prints `windowMs / 1000` (0.2, 1.5,
    // 60); periodCount is that rounded up, periodUnit always "second"
    // (usage-limit-speed.service.ts).
    let seconds = window_ms as f64 / 1000.0;
    let shown = if seconds.fract() == 0.0 {
        format!("{seconds:.0}")
    } else {
        seconds.to_string()
    };
    let count = seconds.ceil() as u64;
    let limit = bucket.rate.limit;
    let mut error = ApiError::raw(
        429,
        "RATE_LIMITED",
        format!("Rate limit exceeded for apiKey: {limit} requests per {shown}s."),
    );
    let extra = json!({
        "limitKind": "speed",
        "exhaustedKind": "limit",
        "scope": {"spenderType": "apiKey", "spenderId": key_id, "operationType": "API_REQUEST"},
        "limit": limit,
        "remaining": 0,
        "periodCount": count,
        "periodUnit": "second",
        "retryAfterSeconds": retry_after,
    });
    let mut extras = Extras {
        members: extra.as_object().cloned().unwrap_or_default(),
        ..Extras::default()
    };
    let now_s = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64().ceil() as u64)
        .unwrap_or(0);
    for (name, value) in [
        ("retry-after", retry_after.to_string()),
        ("x-ratelimit-limit", limit.to_string()),
        ("x-ratelimit-remaining", "0".to_owned()),
        ("x-ratelimit-reset", (now_s + retry_after).to_string()),
    ] {
        if let Ok(value) = HeaderValue::from_str(&value) {
            extras.headers.insert(HeaderName::from_static(name), value);
        }
    }
    error.extras = Some(Box::new(extras));
    error
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_parse_as_count_per_milliseconds() {
        let r = Rate::parse("100/60000").expect("valid");
        assert_eq!(r.limit, 100);
        assert_eq!(r.window, Duration::from_secs(60));
        assert!(Rate::parse("100").is_err());
        assert!(Rate::parse("0/10").is_err());
    }

    #[test]
    fn a_bucket_admits_its_limit_then_refuses() {
        let mut limiter = Limiter::new(Some(Rate::parse("3/60000").expect("valid")), None);
        for _ in 0..3 {
            assert!(limiter.take("k").is_ok());
        }
        let refused = limiter.take("k").expect_err("fourth is refused");
        assert_eq!(refused.status, 429);
        assert_eq!(
            refused.message,
            "Rate limit exceeded for apiKey: 3 requests per 60s."
        );
    }
}
