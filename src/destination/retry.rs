//! The retry policy, in one place: which failures are retried, how long to wait, and when to
//! give up. The loop here knows nothing about HTTP; it sees only [`TargetError`]s.
//!
//! Retrying a batch is safe because every batch is an upsert keyed by the records' own ids:
//! sending it twice leaves the target as sending it once.

use std::future::Future;
use std::time::Duration;

use rand::Rng;

use super::error::{Disposition, TargetError};

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
    if err.disposition() != Disposition::RetryLater {
        return RetryDecision::GiveUp;
    }
    RetryDecision::Retry(wait_before_retry(err, jittered(attempt, backoff), backoff))
}

/// The wait after `err`, a [`Disposition::RetryLater`] error: the server's `Retry-After`
/// (capped), at least the floor after a rate limit without one, else `computed`.
fn wait_before_retry(err: &TargetError, computed: Duration, backoff: &Backoff) -> Duration {
    match err {
        TargetError::RateLimited {
            retry_after: Some(wait),
        } => (*wait).min(backoff.max_server_wait),
        TargetError::RateLimited { retry_after: None } => computed.max(backoff.rate_limit_floor),
        _ => computed,
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

/// How a run waits out a target that stays unavailable after every retry of a request
/// ([`Disposition::RetryLater`]): it pauses, sends the same request again, and gives up only
/// when the outage has lasted longer than the configured limit, so that a 5xx, timeout or 429
/// storm never turns good records into rejects.
///
/// One per request being delivered (a batch, a file); [`Outage::end`] after a success.
#[derive(Debug, Clone)]
pub struct Outage {
    limit: Duration,
    backoff: Backoff,
    /// When the first request of the current outage gave up; `None` outside an outage.
    started: Option<tokio::time::Instant>,
    /// Waits so far in the current outage.
    rounds: u32,
}

impl Outage {
    /// An outage policy that gives up after `limit`, waiting as the retries of `backoff` do at
    /// their slowest.
    pub fn new(limit: Duration, backoff: Backoff) -> Self {
        Self {
            limit,
            backoff,
            started: None,
            rounds: 0,
        }
    }

    /// How long to pause after `err` gave up every retry, or `err` back when it is not a
    /// [`Disposition::RetryLater`] error or the outage has outlasted the limit.
    pub fn next_wait(&mut self, err: TargetError) -> Result<Duration, TargetError> {
        if err.disposition() != Disposition::RetryLater {
            return Err(err);
        }
        let now = tokio::time::Instant::now();
        let started = *self.started.get_or_insert(now);
        let elapsed = now.saturating_duration_since(started);
        if elapsed >= self.limit {
            return Err(err);
        }
        self.rounds += 1;
        // Equal jitter at the retries' longest wait: requests paused together do not all
        // come back at the same moment, and none waits much less than the slowest retry.
        let half = self.backoff.max / 2;
        let nanos = u64::try_from(half.as_nanos()).unwrap_or(u64::MAX);
        let computed = half + Duration::from_nanos(rand::rng().random_range(0..=nanos));
        let wait = wait_before_retry(&err, computed, &self.backoff);
        // Never sleep past the limit: the last try comes as the outage reaches it.
        let wait = wait.min(self.limit - elapsed);
        tracing::warn!(
            error = %err,
            round = self.rounds,
            outage_s = elapsed.as_secs(),
            limit_s = self.limit.as_secs(),
            wait_ms = wait.as_millis() as u64,
            "target unavailable after every retry; pausing, then sending the same request again"
        );
        Ok(wait)
    }

    /// Pauses as [`Outage::next_wait`] says, or returns the error.
    pub async fn wait(&mut self, err: TargetError) -> Result<(), TargetError> {
        let wait = self.next_wait(err)?;
        tokio::time::sleep(wait).await;
        Ok(())
    }

    /// A request went through: the outage, if there was one, is over.
    pub fn end(&mut self) {
        if self.started.take().is_some() {
            tracing::info!(rounds = self.rounds, "target available again");
        }
        self.rounds = 0;
    }

    /// The longest an outage is waited out.
    pub fn limit(&self) -> Duration {
        self.limit
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
    async fn an_outage_is_waited_out_until_its_limit_then_the_error_comes_back() {
        let b = Backoff {
            max: Duration::from_secs(10),
            ..Backoff::default()
        };
        let mut outage = Outage::new(Duration::from_secs(60), b);
        let start = Instant::now();
        let mut rounds = 0;
        let last = loop {
            match outage.next_wait(transient()) {
                Ok(wait) => {
                    assert!(wait <= b.max, "{wait:?}");
                    rounds += 1;
                    tokio::time::sleep(wait).await;
                }
                Err(err) => break err,
            }
        };
        assert!(matches!(last, TargetError::Transient { .. }));
        // Never past the limit, and at least half the longest retry wait each round.
        assert_eq!(start.elapsed(), Duration::from_secs(60));
        assert!((6..=12).contains(&rounds), "{rounds} rounds");
        // A success ends the outage: the next one has the whole limit again.
        outage.end();
        assert!(outage.next_wait(transient()).is_ok());
    }

    #[test]
    fn an_outage_gives_back_at_once_an_error_that_is_not_temporary() {
        let mut outage = Outage::new(Duration::from_secs(60), Backoff::default());
        assert!(matches!(
            outage.next_wait(TargetError::PayloadTooLarge),
            Err(TargetError::PayloadTooLarge)
        ));
    }

    #[test]
    fn an_outage_honours_the_servers_retry_after() {
        let mut outage = Outage::new(Duration::from_secs(600), Backoff::default());
        let wait = outage.next_wait(TargetError::RateLimited {
            retry_after: Some(Duration::from_secs(42)),
        });
        assert_eq!(wait.unwrap(), Duration::from_secs(42));
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
