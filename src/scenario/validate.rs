//! The scenario check: every value is checked for sense before anything
//! runs, and a failure names its field. Beyond each value on its own, the
//! rules keep a run possible to finish (a transaction outlives the slowest
//! block, a chain's history outlasts a refund, the heal span outlasts a
//! healthy engine standing still) and every span short enough that no run
//! nears the end of 64-bit time.

use super::Scenario;
use crate::engine::MAX_SHARDS;

/// The longest span a scenario may set: a year. Runs add spans to instants;
/// with each bounded, the latest instant a run can reach is far inside 64
/// bits (half a million years), so time arithmetic never overflows.
const MAX_SPAN_US: u64 = 365 * 24 * 3_600 * 1_000_000;

/// The most accounts a chain may have: each is a balance held for the run.
const MAX_ACCOUNTS: u32 = 100_000;

/// A rule's verdict: on failure, the field and what is wrong with it.
type Check = Result<(), (String, String)>;

fn fail(field: impl Into<String>, problem: impl Into<String>) -> Check {
    Err((field.into(), problem.into()))
}

impl Scenario {
    /// Checks every value for sense; on failure names the field. The rules
    /// go section by section, each section's rules in one function.
    pub(super) fn validate(&self) -> Check {
        self.check_spans()?;
        self.check_chains()?;
        self.check_engine()?;
        self.check_chain_timing()?;
        self.check_workload()?;
        self.check_faults()?;
        self.check_limits()
    }

    /// No span past a year, the workload's whole span included.
    fn check_spans(&self) -> Check {
        if let Some((field, span)) = self.spans().find(|(_, span)| *span > MAX_SPAN_US) {
            return fail(
                field,
                format!("{span} µs is longer than a year ({MAX_SPAN_US} µs), the longest span a scenario may set"),
            );
        }
        let workload_span = self.workload_span_us();
        if workload_span > MAX_SPAN_US {
            return fail(
                "workload.requests_per_client",
                format!(
                    "{} requests up to interval_us_max apart may take {workload_span} µs, longer than a year ({MAX_SPAN_US} µs)",
                    self.workload.requests_per_client
                ),
            );
        }
        Ok(())
    }

    /// Each chain on its own, and the supply of all of them in 64 bits.
    fn check_chains(&self) -> Check {
        if self.chains.len() < 2 || self.chains.len() > 64 {
            return fail(
                "chains",
                format!("need 2 to 64 chains, got {}", self.chains.len()),
            );
        }
        let mut supply: u128 = 0;
        for (i, c) in self.chains.iter().enumerate() {
            let field = |name: &str| format!("chains[{i}].{name}");
            if c.block_time_us == 0 {
                return fail(field("block_time_us"), "must be above 0");
            }
            if let Some(bad) = c.denied_recipients.iter().find(|a| **a >= c.accounts) {
                return fail(
                    field("denied_recipients"),
                    format!("account {bad} does not exist"),
                );
            }
            if c.accounts == 0 || c.accounts > MAX_ACCOUNTS {
                return fail(
                    field("accounts"),
                    format!("must be 1 to {MAX_ACCOUNTS}, got {}", c.accounts),
                );
            }
            if c.block_capacity == 0 || c.mempool_capacity < c.block_capacity {
                return fail(
                    field("mempool_capacity"),
                    "must be at least block_capacity, which must be above 0",
                );
            }
            let chain_supply = u128::from(c.initial_balance) * u128::from(c.accounts);
            if chain_supply > u128::from(u64::MAX) {
                return fail(
                    field("initial_balance"),
                    "accounts × initial_balance overflows 64 bits",
                );
            }
            supply += chain_supply;
        }
        if supply > u128::from(u64::MAX) {
            return fail("chains", "total supply overflows 64 bits");
        }
        Ok(())
    }

    /// The engine's sizes, and waits long enough for what they wait on: a
    /// call's timeout covers a round trip, a lease several calls.
    fn check_engine(&self) -> Check {
        let e = &self.engine;
        for (name, value) in [
            ("clients", e.clients),
            ("workers", e.workers),
            ("worker_capacity", e.worker_capacity),
        ] {
            if value == 0 || value > 10_000 {
                return fail(
                    format!("engine.{name}"),
                    format!("must be 1 to 10000, got {value}"),
                );
            }
        }
        let n = &self.faults.network;
        if n.latency_us_min > n.latency_us_max {
            return fail(
                "faults.network.latency_us_min",
                format!(
                    "{} is above latency_us_max {}",
                    n.latency_us_min, n.latency_us_max
                ),
            );
        }
        if e.rpc_timeout_us <= 2 * n.latency_us_max {
            return fail(
                "engine.rpc_timeout_us",
                format!(
                    "{} cannot cover a round trip of up to {} µs",
                    e.rpc_timeout_us,
                    2 * n.latency_us_max
                ),
            );
        }
        if e.sweep_us_min == 0 || e.sweep_us_min > e.sweep_us_max {
            return fail(
                "engine.sweep_us_min",
                "must be above 0 and at most sweep_us_max",
            );
        }
        if e.lease_ttl_us < 4 * e.rpc_timeout_us {
            return fail(
                "engine.lease_ttl_us",
                format!(
                    "{} leaves no room: it must be at least 4 × rpc_timeout_us",
                    e.lease_ttl_us
                ),
            );
        }
        if !(1..=MAX_SHARDS).contains(&e.lease_shards) {
            return fail(
                "engine.lease_shards",
                format!("{} is not between 1 and {MAX_SHARDS}", e.lease_shards),
            );
        }
        for (name, value) in [
            ("settlement_deadline_us", e.settlement_deadline_us),
            ("key_retention_us", e.key_retention_us),
            ("attest_retry_us", e.attest_retry_us),
        ] {
            if value == 0 {
                return fail(format!("engine.{name}"), "must be above 0");
            }
        }
        Ok(())
    }

    /// The shortest transaction lifetime the check accepts: twice the
    /// slowest block time plus the largest clock error (skew and jumps).
    pub(super) fn least_tx_ttl_us(&self) -> u64 {
        let clocks = &self.faults.clocks;
        let clock_error = clocks
            .skew_us_max
            .saturating_add(u64::from(clocks.jump_count_max).saturating_mul(clocks.jump_us_max));
        let slowest_block = self.chains.iter().map(|c| c.block_time_us).max();
        slowest_block
            .unwrap_or(0)
            .saturating_mul(2)
            .saturating_add(clock_error)
    }

    /// The shortest chain history the check accepts (see
    /// [`Scenario::check_chain_timing`]).
    pub(super) fn least_history_us(&self) -> u64 {
        let chain_faults = &self.faults.chains;
        let longest_halt = span_if_on(chain_faults.halt_count_max, chain_faults.halt_us_max);
        // A refund needs the burn's record on the source chain, and it can
        // come late: after the deadline, a mint that failed and a cancel,
        // each waited out to finality, and a halt. A transaction a reorg
        // loses costs one wait more: its worker finds it gone within half a
        // transaction lifetime of reading it included, and the one it then
        // broadcasts (the same, or a replacement) is waited out to finality
        // anew. Twice the deadline leaves room for the retries between.
        let reorgs_lose = chain_faults.reorg_count_max > 0 && !chain_faults.reorg_loss.is_never();
        let waits = if reorgs_lose { 4 } else { 3 };
        self.engine
            .settlement_deadline_us
            .saturating_mul(2)
            .saturating_add(self.slowest_finality().1.saturating_mul(waits))
            .saturating_add(longest_halt)
    }

    /// A transaction outlives the slowest block and the clocks' error, a
    /// chain's history outlasts the slowest refund, and a chain has room in
    /// its history for the workload's transactions.
    fn check_chain_timing(&self) -> Check {
        let e = &self.engine;
        let least_ttl = self.least_tx_ttl_us();
        if e.tx_ttl_us < least_ttl {
            return fail(
                "engine.tx_ttl_us",
                format!(
                    "{} is too short: at least twice the slowest block time plus the largest clock error (skew and jumps), {least_ttl}",
                    e.tx_ttl_us
                ),
            );
        }
        let slowest = self.slowest_finality().0;
        let least_history = self.least_history_us();
        // A chain can be asked for two transactions a request (a burn and
        // its refund, or a mint and a cancel); expired replacements are
        // dropped unincluded and take no room. The check asks for twice
        // that, leaving room for what reorgs make the chain include again.
        // A chain with less queues work past its history, and a refund
        // behind the queue finds its burn forgotten: no engine could settle
        // the run.
        let least_room = self.total_requests().saturating_mul(4);
        for (i, c) in self.chains.iter().enumerate() {
            if c.history_us < least_history {
                return fail(
                    format!("chains[{i}].history_us"),
                    format!(
                        "{} is too short: at least 2 × engine.settlement_deadline_us + 3 × the slowest finality wait (chains[{slowest}]: finality_depth × block_time_us), 4 × if reorgs can lose transactions, + faults.chains.halt_us_max (if halts are on) = {least_history}, so that a refund, which can follow the deadline, a failed mint (or one a reorg lost) and a cancel, still finds its burn",
                        c.history_us
                    ),
                );
            }
            let room = (c.history_us / c.block_time_us).saturating_mul(u64::from(c.block_capacity));
            if room < least_room {
                return fail(
                    format!("chains[{i}].block_capacity"),
                    format!(
                        "{} a block every {} µs holds {room} transactions in history_us, fewer than 4 for each of the workload's {} requests ({least_room}): the chain could not carry the run",
                        c.block_capacity,
                        c.block_time_us,
                        self.total_requests()
                    ),
                );
            }
        }
        Ok(())
    }

    /// The clients' pace, amounts and patience.
    fn check_workload(&self) -> Check {
        let w = &self.workload;
        if w.resend_delay_us_max == 0 {
            return fail("workload.resend_delay_us_max", "must be above 0");
        }
        if w.interval_us_min > w.interval_us_max {
            return fail(
                "workload.interval_us_min",
                "must be at most interval_us_max",
            );
        }
        if w.amount_min == 0 || w.amount_min > w.amount_max {
            return fail(
                "workload.amount_min",
                "must be above 0 and at most amount_max",
            );
        }
        let round_trip = 2 * self.faults.network.latency_us_max;
        if w.retry_timeout_us <= round_trip {
            return fail(
                "workload.retry_timeout_us",
                format!(
                    "{} cannot cover a round trip of up to {round_trip} µs",
                    w.retry_timeout_us
                ),
            );
        }
        Ok(())
    }

    /// Each fault kind's range in order, a target for every process fault,
    /// and drift a clock can survive.
    fn check_faults(&self) -> Check {
        let f = &self.faults;
        for (section, (min, max), (lo, hi)) in [
            (
                "partitions",
                ("duration_us_min", "duration_us_max"),
                (f.partitions.duration_us_min, f.partitions.duration_us_max),
            ),
            (
                "disk",
                ("sync_us_min", "sync_us_max"),
                (f.disk.sync_us_min, f.disk.sync_us_max),
            ),
            (
                "crashes",
                ("down_us_min", "down_us_max"),
                (f.crashes.down_us_min, f.crashes.down_us_max),
            ),
            (
                "pauses",
                ("duration_us_min", "duration_us_max"),
                (f.pauses.duration_us_min, f.pauses.duration_us_max),
            ),
        ] {
            if lo > hi {
                return fail(
                    format!("faults.{section}.{min}"),
                    format!("must be at most {max}"),
                );
            }
        }
        for (section, count_max, targets) in [
            ("crashes", f.crashes.count_max, &f.crashes.targets),
            ("pauses", f.pauses.count_max, &f.pauses.targets),
        ] {
            if count_max > 0 && targets.is_empty() {
                return fail(
                    format!("faults.{section}.targets"),
                    "must name at least one role when count_max is above 0",
                );
            }
        }
        if f.clocks.drift_ppm_max >= 100_000 {
            return fail("faults.clocks.drift_ppm_max", "must be below 100000 (10%)");
        }
        Ok(())
    }

    /// A heal span a healthy engine standing still cannot outlast, and a
    /// run allowed at least one event.
    fn check_limits(&self) -> Check {
        let l = &self.limits;
        let (slowest, finality_wait) = self.slowest_finality();
        let least_heal = self.least_heal_us(slowest, finality_wait);
        if l.heal_us < least_heal {
            return fail(
                "limits.heal_us",
                format!(
                    "{} is too short: at least the longest fault that can run on past the window, + the longer of engine.lease_ttl_us and engine.tx_ttl_us, + twice the slowest step (a block and its finality on chains[{slowest}], the commit delay, a sweep and a call's timeout each way) = {least_heal}, or a healthy engine standing still reads as a stuck one",
                    l.heal_us
                ),
            );
        }
        if l.max_events == 0 {
            return fail("limits.max_events", "must be above 0");
        }
        Ok(())
    }

    /// Every span the scenario sets, by field, but `limits.heal_us`: the
    /// heal span may be the end of time, which means never giving up.
    fn spans(&self) -> impl Iterator<Item = (String, u64)> + '_ {
        let (e, w, f) = (&self.engine, &self.workload, &self.faults);
        let named = [
            ("engine.rpc_timeout_us", e.rpc_timeout_us),
            ("engine.sweep_us_min", e.sweep_us_min),
            ("engine.sweep_us_max", e.sweep_us_max),
            ("engine.attest_retry_us", e.attest_retry_us),
            ("engine.lease_ttl_us", e.lease_ttl_us),
            ("engine.commit_delay_us_max", e.commit_delay_us_max),
            ("engine.settlement_deadline_us", e.settlement_deadline_us),
            ("engine.key_retention_us", e.key_retention_us),
            ("engine.tx_ttl_us", e.tx_ttl_us),
            ("workload.interval_us_min", w.interval_us_min),
            ("workload.interval_us_max", w.interval_us_max),
            ("workload.retry_timeout_us", w.retry_timeout_us),
            ("workload.resend_delay_us_max", w.resend_delay_us_max),
            ("faults.network.latency_us_min", f.network.latency_us_min),
            ("faults.network.latency_us_max", f.network.latency_us_max),
            (
                "faults.partitions.duration_us_min",
                f.partitions.duration_us_min,
            ),
            (
                "faults.partitions.duration_us_max",
                f.partitions.duration_us_max,
            ),
            ("faults.clocks.skew_us_max", f.clocks.skew_us_max),
            ("faults.clocks.jump_us_max", f.clocks.jump_us_max),
            ("faults.disk.sync_us_min", f.disk.sync_us_min),
            ("faults.disk.sync_us_max", f.disk.sync_us_max),
            ("faults.crashes.down_us_min", f.crashes.down_us_min),
            ("faults.crashes.down_us_max", f.crashes.down_us_max),
            ("faults.pauses.duration_us_min", f.pauses.duration_us_min),
            ("faults.pauses.duration_us_max", f.pauses.duration_us_max),
            ("faults.chains.halt_us_max", f.chains.halt_us_max),
            (
                "faults.chains.mint_pause_us_max",
                f.chains.mint_pause_us_max,
            ),
            ("limits.fault_window_us", self.limits.fault_window_us),
        ];
        let chains = self.chains.iter().enumerate().flat_map(|(i, c)| {
            [
                (format!("chains[{i}].block_time_us"), c.block_time_us),
                (format!("chains[{i}].history_us"), c.history_us),
            ]
        });
        named
            .into_iter()
            .map(|(field, span)| (field.to_string(), span))
            .chain(chains)
    }

    /// The least heal span: how long a healthy engine can stand still (no
    /// settlement moving to a new stage) once the faults stop. A fault that
    /// began in the window runs on (a halt, a mint pause, a process down or
    /// paused, a partition); then a lease may have to lapse, or a stuck
    /// transaction its validity; then a step may repeat without a new stage
    /// (a mint reverted by a pause is waited out and sent again), each step
    /// a block and the finality behind it on the slowest chain and one
    /// round of the engine's own waits around it.
    fn least_heal_us(&self, slowest: usize, finality_wait: u64) -> u64 {
        let (e, f) = (&self.engine, &self.faults);
        let longest_fault = [
            (f.chains.halt_count_max, f.chains.halt_us_max),
            (f.chains.mint_pause_count_max, f.chains.mint_pause_us_max),
            (f.pauses.count_max, f.pauses.duration_us_max),
            (f.crashes.count_max, f.crashes.down_us_max),
            (f.partitions.count_max, f.partitions.duration_us_max),
        ]
        .into_iter()
        .map(|(count_max, span)| span_if_on(count_max, span))
        .max()
        .unwrap_or(0);
        let step = finality_wait
            .saturating_add(self.chains[slowest].block_time_us)
            .saturating_add(e.commit_delay_us_max)
            .saturating_add(e.sweep_us_max)
            .saturating_add(e.rpc_timeout_us.saturating_mul(2));
        longest_fault
            .saturating_add(e.lease_ttl_us.max(e.tx_ttl_us))
            .saturating_add(step.saturating_mul(2))
    }

    /// The chain whose transactions take longest to become final (the
    /// first, on a tie), and how long that is: `finality_depth ×
    /// block_time_us`.
    fn slowest_finality(&self) -> (usize, u64) {
        self.chains
            .iter()
            .map(|c| c.finality_depth.saturating_mul(c.block_time_us))
            .enumerate()
            .max_by_key(|&(i, wait)| (wait, std::cmp::Reverse(i)))
            .unwrap_or((0, 0))
    }
}

/// How long a fault kind can last: `span`, or nothing if the kind is off
/// (`count_max` 0), however long its span is set.
fn span_if_on(count_max: u32, span: u64) -> u64 {
    if count_max > 0 {
        span
    } else {
        0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::DEFAULT_SCENARIO;
    use serde_json::Value;

    fn default_json() -> Value {
        serde_json::from_str(DEFAULT_SCENARIO).unwrap()
    }

    fn check(edit: impl FnOnce(&mut Value)) -> Result<Scenario, String> {
        let mut v = default_json();
        edit(&mut v);
        Scenario::from_json(&v.to_string(), "x.json").map_err(|e| e.0)
    }

    fn error_for(edit: impl FnOnce(&mut Value)) -> String {
        check(edit).expect_err("the scenario should be refused")
    }

    fn set_histories(v: &mut Value, history_us: u64) {
        for chain in v["chains"].as_array_mut().unwrap() {
            chain["history_us"] = history_us.into();
        }
    }

    #[test]
    fn nonsense_values_name_their_field() {
        // Proves each sanity rule names the field it concerns.
        let e = error_for(|v| v["workload"]["amount_min"] = 0.into());
        assert!(e.contains("workload.amount_min"), "{e}");
        let e = error_for(|v| v["faults"]["network"]["latency_us_min"] = 60_000.into());
        assert!(e.contains("faults.network.latency_us_min"), "{e}");
        let e = error_for(|v| v["faults"]["network"]["drop"] = "3/2".into());
        assert!(e.contains("above 1"), "{e}");
        let e = error_for(|v| v["chains"] = serde_json::json!([]));
        assert!(e.contains("chains: need 2"), "{e}");
        let e = error_for(|v| v["engine"]["lease_shards"] = 65.into());
        assert!(e.contains("engine.lease_shards"), "{e}");
        let e = error_for(|v| v["engine"]["lease_shards"] = 0.into());
        assert!(e.contains("engine.lease_shards"), "{e}");
        let e = error_for(|v| v["engine"]["key_retention_us"] = 0.into());
        assert!(e.contains("engine.key_retention_us"), "{e}");
        let e = error_for(|v| v["chains"][1]["accounts"] = (MAX_ACCOUNTS + 1).into());
        assert!(e.contains("chains[1].accounts"), "{e}");
        // The default's slowest block is 12 s and its clocks may be 10.05 s
        // off: a transaction must live at least 34.05 s.
        let e = error_for(|v| v["engine"]["tx_ttl_us"] = 34_049_999.into());
        assert!(
            e.contains("engine.tx_ttl_us") && e.contains("34050000"),
            "{e}"
        );
        let e = error_for(|v| v["workload"]["resend_delay_us_max"] = 0.into());
        assert!(e.contains("workload.resend_delay_us_max"), "{e}");
        let e = error_for(|v| v["faults"]["disk"]["sync_us_min"] = 30_000.into());
        assert!(
            e.contains("faults.disk.sync_us_min: must be at most sync_us_max"),
            "{e}"
        );
        let e = error_for(|v| v["faults"]["pauses"]["targets"] = serde_json::json!([]));
        assert!(e.contains("faults.pauses.targets"), "{e}");
    }

    #[test]
    fn no_span_may_pass_a_year() {
        // Proves a span past a year is refused by name, before any sum of
        // spans could overflow a run's time (each of these once panicked
        // or aborted mid-run), and that a year itself is allowed.
        for (section, field) in [
            ("engine", "lease_ttl_us"),
            ("engine", "tx_ttl_us"),
            ("engine", "settlement_deadline_us"),
            ("workload", "retry_timeout_us"),
            ("limits", "fault_window_us"),
        ] {
            let e = error_for(|v| v[section][field] = u64::MAX.into());
            assert!(
                e.contains(&format!("{section}.{field}")) && e.contains("longer than a year"),
                "{e}"
            );
        }
        let e = error_for(|v| v["faults"]["disk"]["sync_us_max"] = (MAX_SPAN_US + 1).into());
        assert!(e.contains("faults.disk.sync_us_max"), "{e}");
        let e = error_for(|v| set_histories(v, u64::MAX));
        assert!(e.contains("chains[0].history_us"), "{e}");
        let e = error_for(|v| {
            v["workload"]["requests_per_client"] = 1_000_000.into();
            v["workload"]["interval_us_max"] = 100_000_000.into();
        });
        assert!(e.contains("workload.requests_per_client"), "{e}");
        let year = check(|v| {
            set_histories(v, MAX_SPAN_US);
            v["engine"]["key_retention_us"] = MAX_SPAN_US.into();
        });
        assert!(year.is_ok(), "a year is allowed: {:?}", year.err());
        let never = check(|v| v["limits"]["heal_us"] = u64::MAX.into());
        assert!(never.is_ok(), "a heal span of never: {:?}", never.err());
    }

    #[test]
    fn a_chains_history_outlasts_the_slowest_refund() {
        // Proves the history rule counts the slowest finality wait four
        // times where reorgs can lose transactions (three elsewhere) and the
        // longest halt, beside twice the deadline: on the default, 2 × 300 s
        // + 4 × 72 s (ethereum) + 60 s = 948 s. With a chain whose finality
        // takes 1,000 s, a history of 1,660 s once passed, and refunds failed
        // to find their burns.
        let least = 948_000_000;
        assert!(check(|v| set_histories(v, least)).is_ok());
        let e = error_for(|v| v["chains"][2]["history_us"] = (least - 1).into());
        assert!(
            e.contains("chains[2].history_us") && e.contains(&least.to_string()),
            "{e}"
        );
        let e = error_for(|v| {
            v["chains"][3]["finality_depth"] = 4_000.into();
            v["limits"]["heal_us"] = 2_000_000_000u64.into();
            set_histories(v, 1_660_000_000);
        });
        assert!(
            e.contains("chains[3]: finality_depth") && e.contains("4660000000"),
            "{e}"
        );
        let without_losses = check(|v| {
            v["faults"]["chains"]["reorg_loss"] = "0/1".into();
            set_histories(v, 876_000_000);
        });
        assert!(without_losses.is_ok(), "{:?}", without_losses.err());
        let e = error_for(|v| {
            v["faults"]["chains"]["reorg_loss"] = "0/1".into();
            set_histories(v, 875_999_999);
        });
        assert!(e.contains("876000000"), "{e}");
    }

    #[test]
    fn the_heal_span_outlasts_a_healthy_engine_standing_still() {
        // Proves a heal span shorter than a healthy engine's longest stand-
        // still is refused: on the default, a 60 s halt or mint pause, then
        // a stuck transaction's 120 s, then twice a step of 92 s (7 × 12 s
        // of ethereum, 2 s of commit delay, a 5 s sweep, 2 × 0.5 s of call
        // timeouts) = 364 s. With the one step alone as the least, seven of
        // the eight sims cut to it failed seeds, chain-outage 3,664 of 10,000.
        assert!(check(|v| v["limits"]["heal_us"] = 364_000_000.into()).is_ok());
        let e = error_for(|v| v["limits"]["heal_us"] = 363_999_999.into());
        assert!(
            e.contains("limits.heal_us") && e.contains("chains[0]") && e.contains("364000000"),
            "{e}"
        );
        // Faults that are off do not count: with no chain faults, the
        // longest is the 40 s pause.
        let quieter = check(|v| {
            v["faults"]["chains"]["halt_count_max"] = 0.into();
            v["faults"]["chains"]["mint_pause_count_max"] = 0.into();
            v["limits"]["heal_us"] = 344_000_000.into();
        });
        assert!(quieter.is_ok(), "{:?}", quieter.err());
        let e = error_for(|v| {
            v["faults"]["chains"]["halt_count_max"] = 0.into();
            v["faults"]["chains"]["mint_pause_count_max"] = 0.into();
            v["limits"]["heal_us"] = 343_999_999.into();
        });
        assert!(e.contains("344000000"), "{e}");
    }

    #[test]
    fn a_chain_can_include_four_transactions_a_request_in_its_history() {
        // Proves a chain too slow or too small for the workload is refused:
        // the default's 200 requests need room for 800 transactions, and
        // ethereum holds 300 blocks in its hour of history; 3 a block is
        // 900, 2 a block 600. Varied settings (`--vary`) with a chain of one
        // transaction every 36 s stranded refunds past the burn's history.
        assert!(check(|v| v["chains"][0]["block_capacity"] = 3.into()).is_ok());
        let e = error_for(|v| v["chains"][0]["block_capacity"] = 2.into());
        assert!(
            e.contains("chains[0].block_capacity")
                && e.contains("holds 600")
                && e.contains("(800)"),
            "{e}"
        );
    }
}
