//! Fault injection for reliability tests: a share of requests answer 500/502/503, are slowed,
//! have their connection dropped before or after the write, or hang — chosen deterministically
//! from a seed, and always decided before the request is applied. A window makes every request
//! of a stretch of time fail the same way: an outage.

use std::time::{Duration, Instant};

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::TwinError;

/// What happens to one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Answer with this status (500, 502, 503, 504) without applying anything.
    Status(u16),
    /// Answer 429 as the legacy throttler does (no `Retry-After`), without applying anything.
    RateLimited,
    /// Wait this long, then serve normally.
    Slow(Duration),
    /// Drop the connection without applying anything.
    Reset,
    /// Apply the request, then drop the connection: the client never learns it succeeded.
    ResetAfterApply,
    /// Hold the request this long without applying it, then drop the connection.
    Timeout(Duration),
}

/// Every request of a stretch of time gets the same fault: an outage of the target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FaultWindow {
    /// When it starts, after the twin started.
    pub from: Duration,
    /// How long it lasts.
    pub lasting: Duration,
    /// What every request in it gets.
    pub fault: Fault,
}

/// A fault spec: shares per kind, a seed, and windows of time in which every request fails.
#[derive(Debug, Clone, PartialEq)]
pub struct FaultSpec {
    /// Seed of the draw.
    pub seed: u64,
    /// (share, fault) in spec order.
    pub shares: Vec<(f64, Fault)>,
    /// Outages; a request in one gets its fault whatever the draw.
    pub windows: Vec<FaultWindow>,
}

impl FaultSpec {
    /// No faults.
    pub fn none() -> Self {
        Self {
            seed: 0,
            shares: Vec::new(),
            windows: Vec::new(),
        }
    }

    /// Adds a kind with its share (builder style).
    pub fn with(mut self, share: f64, fault: Fault) -> Self {
        self.shares.push((share, fault));
        self
    }

    /// Adds an outage: every request from `from` after the twin starts, for `lasting`, gets
    /// `fault` (builder style).
    pub fn window(mut self, fault: Fault, from: Duration, lasting: Duration) -> Self {
        self.windows.push(FaultWindow {
            from,
            lasting,
            fault,
        });
        self
    }

    /// Parses `seed=7,500=0.02,503=0.01,429=0.05,slow=0.01:2000,reset=0.01,reset_after=0.01,timeout=0.005:30000`,
    /// and outages as `window=KIND:FROM_MS:FOR_MS` (`window=503:5000:60000`: every request
    /// answers 503 from 5 s after the twin starts, for a minute).
    pub fn parse(s: &str) -> Result<Self, TwinError> {
        let mut spec = Self::none();
        for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let bad = || {
                TwinError::Config(format!(
                    "fault `{part}` is not KIND=SHARE[:MS] or window=KIND:FROM_MS:FOR_MS"
                ))
            };
            let (kind, value) = part.split_once('=').ok_or_else(bad)?;
            if kind == "seed" {
                spec.seed = value.parse().map_err(|_| bad())?;
                continue;
            }
            if kind == "window" {
                let mut fields = value.split(':');
                let (Some(kind), Some(from), Some(lasting), None) =
                    (fields.next(), fields.next(), fields.next(), fields.next())
                else {
                    return Err(bad());
                };
                let ms = |v: &str| v.parse::<u64>().map(Duration::from_millis);
                let fault = fault_of(kind, None).ok_or_else(bad)?;
                let from = ms(from).map_err(|_| bad())?;
                let lasting = ms(lasting).map_err(|_| bad())?;
                spec = spec.window(fault, from, lasting);
                continue;
            }
            let (share, ms) = match value.split_once(':') {
                Some((share, ms)) => (share, Some(ms.parse::<u64>().map_err(|_| bad())?)),
                None => (value, None),
            };
            let share: f64 = share.parse().map_err(|_| bad())?;
            if !(0.0..=1.0).contains(&share) {
                return Err(bad());
            }
            let fault = fault_of(kind, ms).ok_or_else(bad)?;
            spec.shares.push((share, fault));
        }
        if spec.shares.iter().map(|(s, _)| s).sum::<f64>() > 1.0 {
            return Err(TwinError::Config(format!(
                "fault shares in `{s}` add up to more than 1"
            )));
        }
        Ok(spec)
    }

    /// Whether any fault can happen.
    pub fn is_active(&self) -> bool {
        self.shares.iter().any(|(s, _)| *s > 0.0) || !self.windows.is_empty()
    }
}

/// The fault a spec names, with its duration in milliseconds where it takes one.
fn fault_of(kind: &str, ms: Option<u64>) -> Option<Fault> {
    Some(match kind {
        "500" | "502" | "503" | "504" => Fault::Status(kind.parse().ok()?),
        "429" => Fault::RateLimited,
        "slow" => Fault::Slow(Duration::from_millis(ms.unwrap_or(2000))),
        "reset" => Fault::Reset,
        "reset_after" => Fault::ResetAfterApply,
        "timeout" => Fault::Timeout(Duration::from_millis(ms.unwrap_or(30_000))),
        _ => return None,
    })
}

/// The seeded draw, one number per request in arrival order outside the windows.
#[derive(Debug)]
pub struct FaultDraw {
    spec: FaultSpec,
    rng: ChaCha8Rng,
    /// When the windows' clock started (the twin's start).
    started: Instant,
}

impl FaultDraw {
    /// A draw for a spec; its windows count from now.
    pub fn new(spec: FaultSpec) -> Self {
        let rng = ChaCha8Rng::seed_from_u64(spec.seed);
        Self {
            spec,
            rng,
            started: Instant::now(),
        }
    }

    /// The fault for the next request, if any.
    pub fn next(&mut self) -> Option<Fault> {
        if !self.spec.is_active() {
            return None;
        }
        let now = self.started.elapsed();
        if let Some(w) = self
            .spec
            .windows
            .iter()
            .find(|w| now >= w.from && now < w.from + w.lasting)
        {
            return Some(w.fault);
        }
        let r: f64 = self.rng.random();
        let mut acc = 0.0;
        for (share, fault) in &self.spec.shares {
            acc += share;
            if r < acc {
                return Some(*fault);
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs_parse_every_kind() {
        let spec =
            FaultSpec::parse("seed=7,500=0.02,503=0.01,slow=0.01:2000,reset=0.01,timeout=0.005")
                .expect("valid");
        assert_eq!(spec.seed, 7);
        assert_eq!(spec.shares.len(), 5);
        assert_eq!(spec.shares[2].1, Fault::Slow(Duration::from_millis(2000)));
        assert!(FaultSpec::parse("418=0.1").is_err());
        assert!(FaultSpec::parse("500=0.7,503=0.7").is_err());
        let spec = FaultSpec::parse("window=503:5000:60000").expect("valid");
        assert_eq!(
            spec.windows,
            vec![FaultWindow {
                from: Duration::from_secs(5),
                lasting: Duration::from_secs(60),
                fault: Fault::Status(503),
            }]
        );
        assert!(FaultSpec::parse("window=503:5000").is_err());
        assert!(FaultSpec::parse("window=418:0:10").is_err());
    }

    #[test]
    fn a_window_faults_every_request_inside_it_and_none_outside() {
        let spec = FaultSpec::none().window(
            Fault::Status(503),
            Duration::from_millis(30),
            Duration::from_millis(60),
        );
        let mut draw = FaultDraw::new(spec);
        assert_eq!(draw.next(), None);
        std::thread::sleep(Duration::from_millis(40));
        assert_eq!(draw.next(), Some(Fault::Status(503)));
        assert_eq!(draw.next(), Some(Fault::Status(503)));
        std::thread::sleep(Duration::from_millis(60));
        assert_eq!(draw.next(), None);
    }

    #[test]
    fn the_same_seed_draws_the_same_faults() {
        let spec = FaultSpec::parse("seed=3,500=0.3,reset=0.2").expect("valid");
        let a: Vec<_> = (0..50)
            .scan(FaultDraw::new(spec.clone()), |d, _| Some(d.next()))
            .collect();
        let b: Vec<_> = (0..50)
            .scan(FaultDraw::new(spec), |d, _| Some(d.next()))
            .collect();
        assert_eq!(a, b);
        assert!(a.iter().any(Option::is_some) && a.iter().any(Option::is_none));
    }
}
