//! Scenario variation: each seed also draws the engine's, the chains' and
//! the workload's settings around the scenario's own (how many clients and
//! workers, shards, capacities, timeouts, lease TTL, block times, finality,
//! request counts). Swarm testing varies the faults within a scenario; this
//! varies the system the faults strike, reaching settings no shipped sim
//! holds: a liveness bug in handing shards back showed only where blocks
//! came slower than two lease TTLs, which no shipped sim had.
//!
//! Three settings are then raised where the draw needs it: the workers'
//! capacity, to a slot for every fifty requests, and the transaction
//! lifetime and the chains' history, to the least the scenario check asks
//! of the drawn timing. Every draw then goes through the check, the one
//! judge of what a run can be asked to do; a draw it refuses is drawn
//! again.

use super::Scenario;
use crate::engine::MAX_SHARDS;
use crate::sim::SimRng;
use rand::Rng;

/// How many draws a seed tries before it keeps the scenario as written.
const ATTEMPTS: u32 = 32;

/// The most requests a run may have for each worker slot (workers ×
/// capacity) a variation leaves.
const REQUESTS_A_SLOT: u64 = 50;

/// The factors a setting is scaled by: from a quarter to four times, as
/// often down as up (integer ratios, as everything a run draws).
const FACTORS: [(u64, u64); 8] = [
    (1, 4),
    (1, 3),
    (1, 2),
    (2, 3),
    (3, 2),
    (2, 1),
    (3, 1),
    (4, 1),
];

/// `value` scaled by one of [`FACTORS`], with probability 1/2; at least
/// `floor`.
fn maybe_scaled(value: u64, floor: u64, rng: &mut SimRng) -> u64 {
    if !rng.random_bool(0.5) {
        return value;
    }
    let (num, den) = FACTORS[rng.random_range(0..FACTORS.len())];
    (value.saturating_mul(num) / den).max(floor)
}

/// One of `choices`, with probability 1/2; else `value`.
fn maybe_one_of(value: u32, choices: &[u32], rng: &mut SimRng) -> u32 {
    if rng.random_bool(0.5) {
        choices[rng.random_range(0..choices.len())]
    } else {
        value
    }
}

impl Scenario {
    /// This seed's variation of the scenario: the first of up to
    /// [`ATTEMPTS`] draws the scenario check accepts, or `None` if it
    /// accepts none (the run then uses the scenario as written).
    pub fn varied(&self, rng: &mut SimRng) -> Option<Scenario> {
        (0..ATTEMPTS)
            .map(|_| self.draw_variation(rng))
            .find(|s| s.validate().is_ok())
    }

    fn draw_variation(&self, rng: &mut SimRng) -> Scenario {
        let mut s = self.clone();
        let e = &mut s.engine;
        e.clients = maybe_one_of(e.clients, &[1, 2, 3, 4, 6, 8], rng);
        e.workers = maybe_one_of(e.workers, &[1, 2, 3, 4, 5, 8], rng);
        e.worker_capacity = maybe_one_of(e.worker_capacity, &[1, 2, 4, 16, 256], rng);
        e.lease_shards = maybe_one_of(e.lease_shards, &[1, 2, 3, 7, 16, MAX_SHARDS], rng);
        e.rpc_timeout_us = maybe_scaled(e.rpc_timeout_us, 1, rng);
        e.sweep_us_min = maybe_scaled(e.sweep_us_min, 1, rng);
        e.sweep_us_max = maybe_scaled(e.sweep_us_max, e.sweep_us_min, rng).max(e.sweep_us_min);
        e.attest_retry_us = maybe_scaled(e.attest_retry_us, 1, rng);
        e.lease_ttl_us = maybe_scaled(e.lease_ttl_us, 1, rng);
        e.commit_delay_us_max = maybe_scaled(e.commit_delay_us_max, 0, rng);
        e.settlement_deadline_us = maybe_scaled(e.settlement_deadline_us, 1, rng);
        e.key_retention_us = maybe_scaled(e.key_retention_us, 1, rng);
        e.tx_ttl_us = maybe_scaled(e.tx_ttl_us, 1, rng);
        for chain in &mut s.chains {
            chain.block_time_us = maybe_scaled(chain.block_time_us, 1, rng);
            chain.finality_depth = maybe_scaled(chain.finality_depth, 1, rng);
            chain.block_capacity = maybe_one_of(chain.block_capacity, &[1, 2, 5], rng);
            chain.mempool_capacity = chain.mempool_capacity.max(chain.block_capacity);
        }
        let w = &mut s.workload;
        // No more requests in all than the scenario's, so a varied seed
        // costs about what the scenario's do and fits its event cap.
        let most = self.total_requests() / u64::from(e.clients.max(1));
        w.requests_per_client = maybe_scaled(u64::from(w.requests_per_client), 1, rng)
            .min(most)
            .max(1) as u32;
        w.interval_us_max = maybe_scaled(w.interval_us_max, w.interval_us_min, rng);
        w.retry_timeout_us = maybe_scaled(w.retry_timeout_us, 1, rng);
        w.resend_delay_us_max = maybe_scaled(w.resend_delay_us_max, 0, rng);
        // Three settings follow from the others, as a scenario's author sets
        // them: the workers have a slot for every fifty requests (a pool of
        // one slot for thousands of requests runs past any event cap); a
        // transaction lives and a chain remembers at least as long as the
        // check asks of the drawn timing (and no less than written).
        let slots = s.total_requests().div_ceil(REQUESTS_A_SLOT);
        let per_worker = slots.div_ceil(u64::from(s.engine.workers.max(1)));
        s.engine.worker_capacity = s.engine.worker_capacity.max(per_worker as u32);
        s.engine.tx_ttl_us = s.engine.tx_ttl_us.max(s.least_tx_ttl_us());
        let least_history = s.least_history_us();
        for chain in &mut s.chains {
            chain.history_us = chain.history_us.max(least_history);
        }
        s
    }

    /// One line naming the settings variation draws, for a run's report.
    pub fn describe_shape(&self) -> String {
        let e = &self.engine;
        let chains: Vec<String> = self
            .chains
            .iter()
            .map(|c| {
                format!(
                    "{} {} × {}, {} a block",
                    c.name,
                    span(c.block_time_us),
                    c.finality_depth,
                    c.block_capacity
                )
            })
            .collect();
        format!(
            "clients {} × {} requests, workers {} (capacity {}), shards {}, lease TTL {}, \
             RPC timeout {}, commit delay ≤{}, tx lifetime {}, deadline {}; \
             chains (block time × depth to final, transactions a block): {}",
            e.clients,
            self.workload.requests_per_client,
            e.workers,
            e.worker_capacity,
            e.lease_shards,
            span(e.lease_ttl_us),
            span(e.rpc_timeout_us),
            span(e.commit_delay_us_max),
            span(e.tx_ttl_us),
            span(e.settlement_deadline_us),
            chains.join(", ")
        )
    }
}

/// A span in the largest whole unit that states it exactly: `20s`,
/// `250ms`, `1500µs`.
fn span(us: u64) -> String {
    match us {
        0 => "0s".to_string(),
        _ if us % 1_000_000 == 0 => format!("{}s", us / 1_000_000),
        _ if us % 1_000 == 0 => format!("{}ms", us / 1_000),
        _ => format!("{us}µs"),
    }
}

#[cfg(test)]
mod tests {
    use crate::scenario::{Scenario, DEFAULT_SCENARIO, PILE_UP_SCENARIO};
    use crate::sim::{Stream, Streams};

    #[test]
    fn variations_pass_the_scenario_check_and_differ_seed_by_seed() {
        // Proves a draw is a pure function of the seed, that every draw kept
        // passes the scenario check, and that nearly every seed finds one
        // (it keeps the scenario as written only if 32 draws fail).
        for text in [DEFAULT_SCENARIO, PILE_UP_SCENARIO] {
            let base = Scenario::from_json(text, "builtin").unwrap();
            let mut shapes = std::collections::BTreeSet::new();
            let mut kept = 0;
            for seed in 0..200 {
                let draw = || base.varied(&mut Streams::new(seed).stream(Stream::Vary));
                let varied = draw();
                assert_eq!(varied, draw(), "seed {seed} drew twice differently");
                if let Some(v) = varied {
                    assert_eq!(v.validate(), Ok(()));
                    shapes.insert(v.describe_shape());
                    kept += 1;
                }
            }
            assert!(kept >= 195, "{} of 200 seeds found a valid draw", kept);
            assert!(shapes.len() >= 190, "{} shapes in 200 seeds", shapes.len());
        }
    }
}
