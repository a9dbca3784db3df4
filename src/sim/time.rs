//! Virtual time. A run never sees the wall clock: every instant and every
//! span is a whole number of simulated microseconds.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::ops::{Add, AddAssign, Sub};

/// An instant or a span of virtual time, in whole microseconds.
///
/// One type serves both: the simulation only ever adds spans to instants and
/// subtracts instants, and a second type would add ceremony without catching
/// a real class of bug. Arithmetic panics on overflow, which no valid run
/// reaches (2^64 µs is half a million years).
#[derive(
    Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Debug, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct Micros(pub u64);

impl Micros {
    /// Time zero: the start of every run.
    pub const ZERO: Micros = Micros(0);
    /// The largest instant; used as "never".
    pub const MAX: Micros = Micros(u64::MAX);

    /// A span of `ms` milliseconds.
    pub const fn from_millis(ms: u64) -> Micros {
        Micros(ms * 1_000)
    }

    /// A span of `s` seconds.
    pub const fn from_secs(s: u64) -> Micros {
        Micros(s * 1_000_000)
    }

    /// The raw count of microseconds.
    pub const fn as_u64(self) -> u64 {
        self.0
    }

    /// The span from `earlier` to `self`, or zero if `earlier` is later.
    pub fn saturating_sub(self, earlier: Micros) -> Micros {
        Micros(self.0.saturating_sub(earlier.0))
    }

    /// `self + span`, saturating at [`Micros::MAX`].
    pub fn saturating_add(self, span: Micros) -> Micros {
        Micros(self.0.saturating_add(span.0))
    }

    /// This span in (fractional) seconds, for human output only.
    pub fn as_secs_f64(self) -> f64 {
        self.0 as f64 / 1e6
    }
}

impl Add for Micros {
    type Output = Micros;
    fn add(self, rhs: Micros) -> Micros {
        Micros(self.0.checked_add(rhs.0).expect("virtual time overflow"))
    }
}

impl AddAssign for Micros {
    fn add_assign(&mut self, rhs: Micros) {
        *self = *self + rhs;
    }
}

impl Sub for Micros {
    type Output = Micros;
    fn sub(self, rhs: Micros) -> Micros {
        Micros(self.0.checked_sub(rhs.0).expect("virtual time underflow"))
    }
}

impl fmt::Display for Micros {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (s, us) = (self.0 / 1_000_000, self.0 % 1_000_000);
        write!(f, "{s}.{us:06}s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_shows_seconds_and_micros() {
        // Proves the human format keeps every microsecond.
        assert_eq!(Micros(1_000_001).to_string(), "1.000001s");
        assert_eq!(Micros::ZERO.to_string(), "0.000000s");
    }

    #[test]
    fn saturating_ops_clamp() {
        // Proves saturating helpers never wrap.
        assert_eq!(Micros(5).saturating_sub(Micros(9)), Micros::ZERO);
        assert_eq!(Micros::MAX.saturating_add(Micros(1)), Micros::MAX);
    }
}
