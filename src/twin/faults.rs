//! Fault injection for reliability tests: a share of requests answer 500/502/503, are slowed,
//! have their connection dropped before or after the write, or hang — chosen deterministically
//! from a seed, and always decided before the request is applied.

use std::time::Duration;

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

/// A fault spec: shares per kind and a seed.
#[derive(Debug, Clone, PartialEq)]
pub struct FaultSpec {
    /// Seed of the draw.
    pub seed: u64,
    /// (share, fault) in spec order.
    pub shares: Vec<(f64, Fault)>,
}

impl FaultSpec {
    /// No faults.
    pub fn none() -> Self {
        Self {
            seed: 0,
            shares: Vec::new(),
        }
    }

    /// Adds a kind with its share (builder style).
    pub fn with(mut self, share: f64, fault: Fault) -> Self {
        self.shares.push((share, fault));
        self
    }

    /// Parses `seed=7,500=0.02,503=0.01,429=0.05,slow=0.01:2000,reset=0.01,reset_after=0.01,timeout=0.005:30000`.
    pub fn parse(s: &str) -> Result<Self, TwinError> {
        let mut spec = Self::none();
        for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let bad = || TwinError::Config(format!("fault `{part}` is not KIND=SHARE[:MS]"));
            let (kind, value) = part.split_once('=').ok_or_else(bad)?;
            if kind == "seed" {
                spec.seed = value.parse().map_err(|_| bad())?;
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
            let fault = match kind {
                "500" | "502" | "503" | "504" => Fault::Status(kind.parse().map_err(|_| bad())?),
                "429" => Fault::RateLimited,
                "slow" => Fault::Slow(Duration::from_millis(ms.unwrap_or(2000))),
                "reset" => Fault::Reset,
                "reset_after" => Fault::ResetAfterApply,
                "timeout" => Fault::Timeout(Duration::from_millis(ms.unwrap_or(30_000))),
                _ => return Err(bad()),
            };
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
        self.shares.iter().any(|(s, _)| *s > 0.0)
    }
}

/// The seeded draw, one number per request in arrival order.
#[derive(Debug)]
pub struct FaultDraw {
    spec: FaultSpec,
    rng: ChaCha8Rng,
}

impl FaultDraw {
    /// A draw for a spec.
    pub fn new(spec: FaultSpec) -> Self {
        let rng = ChaCha8Rng::seed_from_u64(spec.seed);
        Self { spec, rng }
    }

    /// The fault for the next request, if any.
    pub fn next(&mut self) -> Option<Fault> {
        if !self.spec.is_active() {
            return None;
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
