//! Swarm testing: each seed draws which fault kinds are on at all and how
//! hard each one hits, within the scenario's figures (which become maxima).
//! A run where only crashes and reorders happen explores interleavings a run
//! with every fault at full rate drowns out.

use crate::scenario::{Role, Scenario};
use crate::sim::{Ratio, SimRng};
use rand::Rng;

/// `ratio` kept with probability 1/2, scaled by k/4 for a random k in 1..=4.
fn maybe_scaled(ratio: Ratio, rng: &mut SimRng) -> Ratio {
    if ratio.is_never() || !rng.random_bool(0.5) {
        return Ratio::NEVER;
    }
    let k = rng.random_range(1..=4u32);
    match ratio.den().checked_mul(4) {
        Some(den) => Ratio::new(ratio.num() * k, den).unwrap_or(ratio),
        None => ratio,
    }
}

/// Draws this seed's fault configuration from `scenario`'s.
pub fn draw(scenario: &Scenario, rng: &mut SimRng) -> Scenario {
    let mut s = scenario.clone();
    let f = &mut s.faults;
    let n = &mut f.network;
    n.drop = maybe_scaled(n.drop, rng);
    n.duplicate = maybe_scaled(n.duplicate, rng);
    n.reorder = maybe_scaled(n.reorder, rng);
    n.lost_response = maybe_scaled(n.lost_response, rng);
    f.partitions.count_max = rng.random_range(0..=f.partitions.count_max);
    f.crashes.targets.retain(|_| rng.random_bool(0.5));
    f.crashes.count_max = if f.crashes.targets.is_empty() {
        0
    } else {
        rng.random_range(0..=f.crashes.count_max)
    };
    f.pauses.targets.retain(|_| rng.random_bool(0.5));
    f.pauses.count_max = if f.pauses.targets.is_empty() {
        0
    } else {
        rng.random_range(0..=f.pauses.count_max)
    };
    f.disk.sync_fail = maybe_scaled(f.disk.sync_fail, rng);
    f.disk.torn_write = maybe_scaled(f.disk.torn_write, rng);
    f.disk.corrupt_sector = maybe_scaled(f.disk.corrupt_sector, rng);
    if !rng.random_bool(0.5) {
        f.clocks.skew_us_max = 0;
    }
    if !rng.random_bool(0.5) {
        f.clocks.drift_ppm_max = 0;
    }
    f.clocks.jump_count_max = rng.random_range(0..=f.clocks.jump_count_max);
    let c = &mut f.chains;
    c.halt_count_max = rng.random_range(0..=c.halt_count_max);
    c.reorg_count_max = rng.random_range(0..=c.reorg_count_max);
    c.mint_pause_count_max = rng.random_range(0..=c.mint_pause_count_max);
    c.mempool_drop = maybe_scaled(c.mempool_drop, rng);
    c.mempool_stuck = maybe_scaled(c.mempool_stuck, rng);
    c.pending_unheard = maybe_scaled(c.pending_unheard, rng);
    c.lagging_reads = maybe_scaled(c.lagging_reads, rng);
    s
}

/// One line naming the fault configuration a run uses.
pub fn describe(s: &Scenario) -> String {
    let f = &s.faults;
    let rate = |r: Ratio| {
        if r.is_never() {
            "off".to_string()
        } else {
            r.to_string()
        }
    };
    let names = |roles: &[Role]| -> String {
        let names: Vec<&str> = roles
            .iter()
            .map(|r| match r {
                Role::Client => "client",
                Role::Worker => "worker",
                Role::Store => "store",
                Role::Lock => "lock",
                Role::Attester => "attester",
            })
            .collect();
        names.join(",")
    };
    format!(
        "drop {}, duplicate {}, reorder {}, lost response {}; up to {} partitions; up to {} crashes of [{}]; \
         up to {} pauses of [{}]; fsync fail {}, torn write {}, corrupt sector {}; clock skew ≤{}µs, drift ≤{}ppm, \
         up to {} jumps; up to {} halts, {} reorgs, {} mint pauses; mempool drop {}, stuck {}; pending unheard {}, lagging reads {}",
        rate(f.network.drop),
        rate(f.network.duplicate),
        rate(f.network.reorder),
        rate(f.network.lost_response),
        f.partitions.count_max,
        f.crashes.count_max,
        names(&f.crashes.targets),
        f.pauses.count_max,
        names(&f.pauses.targets),
        rate(f.disk.sync_fail),
        rate(f.disk.torn_write),
        rate(f.disk.corrupt_sector),
        f.clocks.skew_us_max,
        f.clocks.drift_ppm_max,
        f.clocks.jump_count_max,
        f.chains.halt_count_max,
        f.chains.reorg_count_max,
        f.chains.mint_pause_count_max,
        rate(f.chains.mempool_drop),
        rate(f.chains.mempool_stuck),
        rate(f.chains.pending_unheard),
        rate(f.chains.lagging_reads),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::{Stream, Streams};

    #[test]
    fn swarm_turns_kinds_off_and_never_exceeds_the_scenario() {
        // Proves swarm configurations vary across seeds, switch whole fault
        // kinds off, and stay within the scenario's maxima.
        let base = Scenario::builtin_default();
        let mut some_drop_off = false;
        let mut some_drop_on = false;
        for seed in 0..64 {
            let s = draw(&base, &mut Streams::new(seed).stream(Stream::Swarm));
            let (d, b) = (s.faults.network.drop, base.faults.network.drop);
            assert!(
                u64::from(d.num()) * u64::from(b.den()) <= u64::from(b.num()) * u64::from(d.den())
            );
            assert!(s.faults.crashes.count_max <= base.faults.crashes.count_max);
            some_drop_off |= d.is_never();
            some_drop_on |= !d.is_never();
        }
        assert!(some_drop_off && some_drop_on);
    }
}
