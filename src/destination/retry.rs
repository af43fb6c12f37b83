//! The retry policy, in one place: which failures are retried, how long to wait, and when to
//! give up. The loop here knows nothing about HTTP; it sees only [`TargetError`]s.
//!
//! Retrying a batch is safe because every batch is an upsert keyed by the records' own ids:
//! sending it twice leaves the target as sending it once.

use std::future::Future;
use std::time::Duration;

use rand::Rng;

use super::error::TargetError;

/// How retries wait and when they stop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// The first retry waits up to this long (full jitter); each further retry doubles it.
    pub base: Duration,
    /// No computed wait exceeds this.
    pub max: Duration,
    /// The least wait after a rate-limit refusal that carried no `Retry-After`.
    pub rate_limit_floor: Duration,
    /// The most this client waits on a server's `Retry-After`, so a bogus value cannot stall a
    /// run for hours.
    pub max_server_wait: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Self {
            base: Duration::from_millis(500),
            max: Duration::from_secs(30),
            rate_limit_floor: Duration::from_secs(1),
            max_server_wait: Duration::from_secs(300),
        }
    }
}

/// What to do after a failed attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RetryDecision {
    /// Wait this long, then try again.
    Retry(Duration),
    /// Return the error to the caller.
    GiveUp,
}

/// True for the HTTP statuses that are worth another attempt: 408, 429 and 5xx but 501.
pub fn is_retryable_status(status: u16) -> bool {
    matches!(status, 408 | 429) || ((500..=599).contains(&status) && status != 501)
}

/// Decides whether attempt number `attempt` (1 for the first), which failed with `err`, is
/// followed by another, and after how long.
pub fn decide(
    err: &TargetError,
    attempt: u32,
    max_attempts: u32,
    backoff: &Backoff,
) -> RetryDecision {
    if attempt >= max_attempts {
        return RetryDecision::GiveUp;
    }
    match err {
        TargetError::RateLimited {
            retry_after: Some(wait),
        } => RetryDecision::Retry((*wait).min(backoff.max_server_wait)),
        TargetError::RateLimited { retry_after: None } => {
            RetryDecision::Retry(jittered(attempt, backoff).max(backoff.rate_limit_floor))
        }
        TargetError::Transient { .. } => RetryDecision::Retry(jittered(attempt, backoff)),
        _ => RetryDecision::GiveUp,
    }
}

/// Capped exponential backoff with full jitter: uniform in `[0, min(max, base·2^(attempt-1))]`.
fn jittered(attempt: u32, backoff: &Backoff) -> Duration {
    let exp = attempt.saturating_sub(1).min(30);
    let ceiling = backoff.base.saturating_mul(1u32 << exp).min(backoff.max);
    let nanos = u64::try_from(ceiling.as_nanos()).unwrap_or(u64::MAX);
    if nanos == 0 {
        return Duration::ZERO;
    }
    Duration::from_nanos(rand::rng().random_range(0..=nanos))
}

/// Runs `attempt_fn` until it succeeds, the policy gives up, or `max_attempts` attempts were
/// made; then returns the last result. `on_retry(err, attempt, wait)` is called before each
/// wait (for logs and counters).
pub(crate) async fn with_retries<T, F, Fut>(
    max_attempts: u32,
    backoff: &Backoff,
    mut attempt_fn: F,
    mut on_retry: impl FnMut(&TargetError, u32, Duration),
) -> Result<T, TargetError>
where
    F: FnMut(u32) -> Fut,
    Fut: Future<Output = Result<T, TargetError>>,
{
    let mut attempt = 1;
    loop {
        match attempt_fn(attempt).await {
            Ok(v) => return Ok(v),
            Err(err) => match decide(&err, attempt, max_attempts, backoff) {
                RetryDecision::GiveUp => return Err(err),
                RetryDecision::Retry(wait) => {
                    on_retry(&err, attempt, wait);
                    tokio::time::sleep(wait).await;
                    attempt += 1;
                }
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};
    use tokio::time::Instant;

    fn transient() -> TargetError {
        TargetError::Transient {
            reason: "HTTP 503".into(),
        }
    }

    #[test]
    fn status_table_retries_408_429_and_5xx_but_501() {
        for s in [408, 429, 500, 502, 503, 504, 599] {
            assert!(is_retryable_status(s), "{s}");
        }
        for s in [200, 400, 401, 403, 404, 409, 413, 422, 501] {
            assert!(!is_retryable_status(s), "{s}");
        }
    }

    #[test]
    fn permanent_errors_are_never_retried() {
        let b = Backoff::default();
        for err in [
            TargetError::PayloadTooLarge,
            TargetError::BatchTooLarge {
                cap: Some(60),
                message: String::new(),
            },
            TargetError::Unauthorized {
                status: 401,
                message: String::new(),
            },
            TargetError::Rejected {
                status: 400,
                messages: vec![],
                code: None,
            },
            TargetError::Protocol(String::new()),
        ] {
            assert_eq!(decide(&err, 1, 10, &b), RetryDecision::GiveUp, "{err:?}");
        }
    }

    #[test]
    fn retry_after_is_honoured_and_capped() {
        let b = Backoff::default();
        let err = TargetError::RateLimited {
            retry_after: Some(Duration::from_secs(12)),
        };
        assert_eq!(
            decide(&err, 1, 5, &b),
            RetryDecision::Retry(Duration::from_secs(12))
        );
        let err = TargetError::RateLimited {
            retry_after: Some(Duration::from_secs(86_400)),
        };
        assert_eq!(
            decide(&err, 1, 5, &b),
            RetryDecision::Retry(b.max_server_wait)
        );
    }

    #[test]
    fn a_rate_limit_without_a_hint_waits_at_least_the_floor() {
        let b = Backoff::default();
        let err = TargetError::RateLimited { retry_after: None };
        for _ in 0..100 {
            match decide(&err, 1, 5, &b) {
                RetryDecision::Retry(d) => assert!(d >= b.rate_limit_floor),
                RetryDecision::GiveUp => panic!("should retry"),
            }
        }
    }

    #[test]
    fn jitter_stays_under_the_exponential_ceiling_and_the_cap() {
        let b = Backoff {
            base: Duration::from_millis(100),
            max: Duration::from_secs(1),
            ..Backoff::default()
        };
        for attempt in 1..20 {
            let ceiling = Duration::from_millis(100 * (1u64 << (attempt - 1).min(20)))
                .min(Duration::from_secs(1));
            for _ in 0..50 {
                match decide(&transient(), attempt, 100, &b) {
                    RetryDecision::Retry(d) => assert!(d <= ceiling, "attempt {attempt}: {d:?}"),
                    RetryDecision::GiveUp => panic!("should retry"),
                }
            }
        }
    }

    #[test]
    fn the_last_attempt_gives_up() {
        let b = Backoff::default();
        assert_eq!(decide(&transient(), 3, 3, &b), RetryDecision::GiveUp);
        assert!(matches!(
            decide(&transient(), 2, 3, &b),
            RetryDecision::Retry(_)
        ));
    }

    #[tokio::test(start_paused = true)]
    async fn the_loop_stops_after_max_attempts_and_returns_the_last_error() {
        let calls = AtomicU32::new(0);
        let b = Backoff::default();
        let start = Instant::now();
        let mut waits = Vec::new();
        let result: Result<(), _> = with_retries(
            4,
            &b,
            |attempt| {
                calls.fetch_add(1, Ordering::SeqCst);
                async move {
                    Err(TargetError::Transient {
                        reason: format!("attempt {attempt}"),
                    })
                }
            },
            |_, _, wait| waits.push(wait),
        )
        .await;
        assert_eq!(calls.load(Ordering::SeqCst), 4);
        assert_eq!(waits.len(), 3);
        match result {
            Err(TargetError::Transient { reason }) => assert_eq!(reason, "attempt 4"),
            other => panic!("expected the last error, got {other:?}"),
        }
        // The virtual clock moved by the waits chosen (tokio rounds each sleep up to the
        // millisecond), each below its ceiling.
        let total: Duration = waits.iter().sum();
        let elapsed = start.elapsed();
        assert!(
            elapsed >= total && elapsed - total <= Duration::from_millis(3),
            "{elapsed:?} vs {total:?}"
        );
        assert!(total <= Duration::from_millis(500 + 1000 + 2000));
    }

    #[tokio::test(start_paused = true)]
    async fn the_loop_sleeps_for_the_servers_retry_after_then_succeeds() {
        let calls = AtomicU32::new(0);
        let start = Instant::now();
        let result = with_retries(
            5,
            &Backoff::default(),
            |_| {
                let n = calls.fetch_add(1, Ordering::SeqCst);
                async move {
                    if n < 2 {
                        Err(TargetError::RateLimited {
                            retry_after: Some(Duration::from_secs(12)),
                        })
                    } else {
                        Ok(n)
                    }
                }
            },
            |_, _, _| {},
        )
        .await;
        assert_eq!(result.unwrap(), 2);
        assert_eq!(start.elapsed(), Duration::from_secs(24));
    }

    #[tokio::test(start_paused = true)]
    async fn a_permanent_error_ends_the_loop_at_once() {
        let calls = AtomicU32::new(0);
        let result: Result<(), _> = with_retries(
            5,
            &Backoff::default(),
            |_| {
                calls.fetch_add(1, Ordering::SeqCst);
                async { Err(TargetError::PayloadTooLarge) }
            },
            |_, _, _| {},
        )
        .await;
        assert!(matches!(result, Err(TargetError::PayloadTooLarge)));
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }
}
