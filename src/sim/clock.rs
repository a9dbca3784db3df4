//! Per-node clocks. True time belongs to the kernel; each node reads its own
//! clocks. The wall clock is off by a fixed skew, runs fast or slow by a
//! drift rate, and can jump (an NTP step, a VM migration). The monotonic clock
//! only drifts: like CLOCK_MONOTONIC it never jumps, which is why leases are
//! measured with it. A lease service and a worker still disagree by their
//! drifts, exactly as real machines do.

use super::time::Micros;

/// Parts per million: the unit of clock drift.
const PPM: i128 = 1_000_000;

/// One node's view of time.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct NodeClock {
    /// Constant offset from true time (positive: ahead).
    offset_us: i64,
    /// Rate error in parts per million (positive: runs fast).
    drift_ppm: i32,
    /// Steps taken by the wall clock so far.
    jumps_us: i64,
}

impl NodeClock {
    /// A clock with the given skew and drift. Drift must stay well inside
    /// ±1,000,000 ppm, else local time would stand still or run backwards.
    pub fn new(offset_us: i64, drift_ppm: i32) -> NodeClock {
        assert!(drift_ppm.unsigned_abs() < 500_000, "drift {drift_ppm} ppm");
        NodeClock {
            offset_us,
            drift_ppm,
            jumps_us: 0,
        }
    }

    /// The wall-clock reading at true instant `now`, floored at zero.
    pub fn local(&self, now: Micros) -> Micros {
        let t = i128::from(now.0);
        let local = t
            + i128::from(self.drift_share(now))
            + i128::from(self.offset_us)
            + i128::from(self.jumps_us);
        Micros(local.clamp(0, i128::from(u64::MAX)) as u64)
    }

    /// The monotonic reading at true instant `now`: drift, no skew, no jumps.
    pub fn monotonic(&self, now: Micros) -> Micros {
        let t = i128::from(now.0);
        Micros((t + i128::from(self.drift_share(now))).max(0) as u64)
    }

    /// What drift adds to true instant `now`: `now × drift / 10⁶`, rounded
    /// toward zero. Nodes read their clocks several times per event, so the
    /// product stays in 64 bits (division by a constant is a multiply there)
    /// for any run shorter than about a hundred days, and falls back to 128
    /// bits beyond.
    fn drift_share(&self, now: Micros) -> i64 {
        let drift = i64::from(self.drift_ppm);
        match i64::try_from(now.0).ok().and_then(|t| t.checked_mul(drift)) {
            Some(product) => product / PPM as i64,
            None => (i128::from(now.0) * i128::from(drift) / PPM) as i64,
        }
    }

    /// The true span that passes while this clock advances by `local_span`:
    /// a node that sets a timer for 100 ms of its own time on a fast clock
    /// wakes a little early in true time.
    pub fn true_span(&self, local_span: Micros) -> Micros {
        let rate = (PPM + i128::from(self.drift_ppm)) as u64;
        match local_span.0.checked_mul(PPM as u64) {
            Some(scaled) => Micros(scaled / rate),
            None => Micros((i128::from(local_span.0) * PPM / i128::from(rate)) as u64),
        }
    }

    /// Steps the wall clock by `by_us` (an NTP correction, a VM migration);
    /// the monotonic clock does not move.
    pub fn jump(&mut self, by_us: i64) {
        self.jumps_us = self.jumps_us.saturating_add(by_us);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn skew_and_drift_shift_local_time() {
        // Proves local = true + drift share + offset.
        let c = NodeClock::new(-500, 100);
        assert_eq!(
            c.local(Micros::from_secs(10)),
            Micros(10_000_000 + 1_000 - 500)
        );
        assert_eq!(NodeClock::default().local(Micros(42)), Micros(42));
    }

    #[test]
    fn fast_clock_timers_fire_early_in_true_time() {
        // Proves a fast clock's local span maps to a shorter true span.
        let fast = NodeClock::new(0, 100_000);
        assert!(fast.true_span(Micros(1_000_000)) < Micros(1_000_000));
        let slow = NodeClock::new(0, -100_000);
        assert!(slow.true_span(Micros(1_000_000)) > Micros(1_000_000));
    }

    #[test]
    fn jumps_move_the_reading_and_never_go_below_zero() {
        // Proves jumps step the offset and readings floor at zero.
        let mut c = NodeClock::default();
        c.jump(-5_000);
        assert_eq!(c.local(Micros(1_000)), Micros::ZERO);
        c.jump(10_000);
        assert_eq!(c.local(Micros(1_000)), Micros(6_000));
        assert_eq!(c.monotonic(Micros(1_000)), Micros(1_000));
    }
}
