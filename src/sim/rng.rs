//! Seeded randomness: one root per run, split into independent named streams,
//! and integer probabilities.
//!
//! Every component draws from its own stream, so an extra draw in one (say,
//! the network) never shifts the sequence another sees (say, a chain). The
//! streams are ChaCha8 with one key derived from the seed and a distinct
//! 64-bit stream number each: ChaCha's stream parameter gives independent
//! sequences by construction, with no hashing of names.

use rand::{RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{de, Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;

/// The random number generator every component uses. Never `StdRng` or
/// `SmallRng`: their algorithms may change between versions of `rand`.
pub type SimRng = ChaCha8Rng;

/// The uniform draws made on every event (latencies, commit delays, fault
/// trials), inlined where they are made. Each draws the same words and gives
/// the same value as `rand`'s `random_range` over the same range (its
/// default, single-sample method: one multiply, and a second word only when
/// the first lands in the biased zone), so a call site can switch between the
/// two without changing a run; behind `random_range`'s call each draw cost
/// about three times as many instructions.
pub trait UniformDraw {
    /// A value in `low..=high`. Panics if the range is empty.
    fn between(&mut self, low: u64, high: u64) -> u64;
    /// A value in `0..n`. Panics if `n` is zero.
    fn below(&mut self, n: u32) -> u32;
}

impl UniformDraw for SimRng {
    #[inline(always)]
    fn between(&mut self, low: u64, high: u64) -> u64 {
        assert!(low <= high, "cannot sample empty range");
        let range = high.wrapping_sub(low).wrapping_add(1);
        if range == 0 {
            return self.next_u64();
        }
        let wide = u128::from(self.next_u64()) * u128::from(range);
        let (mut value, low_word) = ((wide >> 64) as u64, wide as u64);
        if low_word > range.wrapping_neg() {
            let next = ((u128::from(self.next_u64()) * u128::from(range)) >> 64) as u64;
            value += u64::from(low_word.checked_add(next).is_none());
        }
        low.wrapping_add(value)
    }

    #[inline(always)]
    fn below(&mut self, n: u32) -> u32 {
        assert!(n > 0, "cannot sample empty range");
        let wide = u64::from(self.next_u32()) * u64::from(n);
        let (mut value, low_word) = ((wide >> 32) as u32, wide as u32);
        if low_word > n.wrapping_neg() {
            let next = ((u64::from(self.next_u32()) * u64::from(n)) >> 32) as u32;
            value += u32::from(low_word.checked_add(next).is_none());
        }
        value
    }
}

/// The named streams of a run. Adding a variant never changes the numbers an
/// existing variant gets, because each maps to a fixed stream number.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stream {
    /// Tie-breaking among events due at the same instant.
    Scheduler,
    /// Message latency, loss, duplication.
    Network,
    /// The fault plan: what breaks, where and when.
    Faults,
    /// Drawing the run's configuration (swarm testing).
    Config,
    /// The per-node clocks: skew and drift.
    Clocks,
    /// The simulated disks.
    Disk,
    /// Swarm testing: which fault kinds a seed turns on, and how hard.
    Swarm,
    /// The lease service's disk.
    LockDisk,
    /// Scenario variation: the engine's, chains' and workload's settings.
    Vary,
    /// A node's own randomness (workload choices, transaction salts).
    Node(u32),
}

impl Stream {
    fn number(self) -> u64 {
        match self {
            Stream::Scheduler => 1,
            Stream::Network => 2,
            Stream::Faults => 3,
            Stream::Config => 4,
            Stream::Clocks => 5,
            Stream::Disk => 6,
            Stream::Swarm => 7,
            Stream::LockDisk => 8,
            Stream::Vary => 9,
            Stream::Node(n) => (1 << 32) | u64::from(n),
        }
    }
}

/// The root of a run's randomness: a ChaCha8 key derived from the seed.
#[derive(Clone, Debug)]
pub struct Streams {
    key: [u8; 32],
}

impl Streams {
    /// Derives the root key from the run's seed.
    pub fn new(seed: u64) -> Streams {
        Streams {
            key: ChaCha8Rng::seed_from_u64(seed).get_seed(),
        }
    }

    /// A fresh generator for one named stream.
    pub fn stream(&self, stream: Stream) -> SimRng {
        let mut rng = ChaCha8Rng::from_seed(self.key);
        rng.set_stream(stream.number());
        rng
    }
}

/// A probability as an integer ratio `num/den`, so scenario files round-trip
/// exactly and no float rounding can differ between machines.
///
/// Written in JSON as the string `"num/den"`, e.g. `"1/100"`.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Ratio {
    num: u32,
    den: u32,
}

/// Why a ratio was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RatioError(pub String);

impl fmt::Display for RatioError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Ratio {
    /// Probability zero.
    pub const NEVER: Ratio = Ratio { num: 0, den: 1 };
    /// Probability one.
    pub const ALWAYS: Ratio = Ratio { num: 1, den: 1 };

    /// `num/den`; refuses a zero denominator and a value above one.
    pub fn new(num: u32, den: u32) -> Result<Ratio, RatioError> {
        if den == 0 {
            return Err(RatioError(format!(
                "ratio {num}/{den} has a zero denominator"
            )));
        }
        if num > den {
            return Err(RatioError(format!("ratio {num}/{den} is above 1")));
        }
        Ok(Ratio { num, den })
    }

    /// [`Ratio::NEVER`], for a field that is off when a file leaves it out.
    pub fn never() -> Ratio {
        Ratio::NEVER
    }

    /// True when this probability is zero (no draw is ever made for it).
    pub fn is_never(self) -> bool {
        self.num == 0
    }

    /// The numerator.
    pub fn num(self) -> u32 {
        self.num
    }

    /// The denominator.
    pub fn den(self) -> u32 {
        self.den
    }

    /// One Bernoulli trial. A zero ratio makes no draw, so turning a fault off
    /// does not consume randomness.
    pub fn chance(self, rng: &mut SimRng) -> bool {
        if self.num == 0 {
            return false;
        }
        if self.num == self.den {
            return true;
        }
        rng.below(self.den) < self.num
    }

    /// `self * n / den` of an integer, rounding down: scales a count or span.
    pub fn of(self, n: u64) -> u64 {
        (u128::from(n) * u128::from(self.num) / u128::from(self.den)) as u64
    }
}

impl fmt::Display for Ratio {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.num, self.den)
    }
}

impl std::str::FromStr for Ratio {
    type Err = RatioError;
    fn from_str(s: &str) -> Result<Ratio, RatioError> {
        let bad = || RatioError(format!("`{s}` is not a ratio like \"1/100\""));
        let (n, d) = s.split_once('/').ok_or_else(bad)?;
        let num = n.trim().parse().map_err(|_| bad())?;
        let den = d.trim().parse().map_err(|_| bad())?;
        Ratio::new(num, den)
    }
}

impl Serialize for Ratio {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Ratio {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Ratio, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::Rng;

    #[test]
    fn an_extra_draw_on_one_stream_leaves_another_unchanged() {
        // Proves stream independence: the network's sequence does not depend
        // on how much a node drew before it.
        let streams = Streams::new(7);
        let undisturbed: Vec<u64> = {
            let mut net = streams.stream(Stream::Network);
            (0..16).map(|_| net.next_u64()).collect()
        };
        let mut node = streams.stream(Stream::Node(3));
        let mut net = streams.stream(Stream::Network);
        for _ in 0..1000 {
            node.next_u64();
        }
        let disturbed: Vec<u64> = (0..16).map(|_| net.next_u64()).collect();
        assert_eq!(undisturbed, disturbed);
    }

    #[test]
    fn streams_differ_from_each_other_and_across_seeds() {
        // Proves two streams (and two seeds) do not share a sequence.
        let a = Streams::new(1).stream(Stream::Network).next_u64();
        let b = Streams::new(1).stream(Stream::Disk).next_u64();
        let c = Streams::new(2).stream(Stream::Network).next_u64();
        assert_ne!(a, b);
        assert_ne!(a, c);
    }

    proptest::proptest! {
        #[test]
        fn the_inlined_draws_are_rands_draws(
            seed in 0u64..1_000,
            low in proptest::prop_oneof![0u64..100, proptest::num::u64::ANY],
            width in proptest::prop_oneof![0u64..10, proptest::num::u64::ANY],
            n in 1u32..=u32::MAX,
        ) {
            // Proves `between` and `below` draw exactly what `random_range`
            // draws on the same stream, value for value and word for word
            // (the streams stay level after), over narrow, wide and full
            // ranges, so swapping one for the other changes no run.
            let high = low.saturating_add(width);
            let mut ours = Streams::new(seed).stream(Stream::Network);
            let mut theirs = ours.clone();
            for _ in 0..64 {
                proptest::prop_assert_eq!(ours.between(low, high), theirs.random_range(low..=high));
                proptest::prop_assert_eq!(ours.between(0, u64::MAX), theirs.random_range(0..=u64::MAX));
                proptest::prop_assert_eq!(ours.below(n), theirs.random_range(0..n));
                proptest::prop_assert_eq!(ours.below(3), theirs.random_range(0..3u32));
            }
            proptest::prop_assert_eq!(ours.next_u64(), theirs.next_u64());
        }
    }

    #[test]
    fn ratio_round_trips_and_refuses_nonsense() {
        // Proves the JSON form is exact and bad ratios are named.
        let r: Ratio = "3/40".parse().unwrap();
        assert_eq!(r.to_string(), "3/40");
        assert!("5/4".parse::<Ratio>().unwrap_err().0.contains("above 1"));
        assert!("1/0".parse::<Ratio>().unwrap_err().0.contains("zero"));
        assert!("half".parse::<Ratio>().is_err());
    }

    #[test]
    fn ratio_chance_matches_its_frequency() {
        // Proves chance() draws with the stated probability (loosely) and
        // that the extremes make no draw at all.
        let mut rng = Streams::new(3).stream(Stream::Faults);
        let r = Ratio::new(1, 4).unwrap();
        let hits = (0..40_000).filter(|_| r.chance(&mut rng)).count();
        assert!((9_000..11_000).contains(&hits), "hits {hits}");
        let before = rng.clone().next_u64();
        assert!(!Ratio::NEVER.chance(&mut rng));
        assert!(Ratio::ALWAYS.chance(&mut rng));
        assert_eq!(rng.next_u64(), before);
    }
}
