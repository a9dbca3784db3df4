//! Transactions expire and chains forget: a transaction held up past its
//! validity is replaced without a second burn, a burn past the chains'
//! history is never signed again, workers sign by the chain's time however
//! far their own clocks drift, and the chains' history stays the size of the
//! recent past, not of the run.

mod common;

use common::{campaign, default_with, quiet, run_until_first, scripted};
use settlesim::chain::{ChainFault, Domain, TxState};
use settlesim::check::{Invariant, Kind};
use settlesim::engine::{Defect, Stage};
use settlesim::scenario::Scenario;
use settlesim::sim::Micros;
use settlesim::world::{RunOptions, RunReport, Simulation, Verdict};

/// Fast chains that keep 22 s of history (the least the scenario check
/// allows: twice the deadline and three finality waits of 0.5 s), and an
/// engine whose deadlines and transactions fit inside it; `requests` per
/// client, sent fast.
fn short_history(requests: u32) -> Scenario {
    default_with(|v| {
        quiet(v);
        for chain in v["chains"].as_array_mut().unwrap() {
            chain["block_time_us"] = 250_000.into();
            chain["finality_depth"] = 2.into();
            chain["history_us"] = 22_000_000.into();
        }
        v["engine"]["settlement_deadline_us"] = 10_000_000.into();
        v["engine"]["tx_ttl_us"] = 5_000_000.into();
        v["workload"]["requests_per_client"] = requests.into();
        v["workload"]["interval_us_max"] = 200_000.into();
    })
}

/// Runs `scenario` to the end; returns the most transactions all chains
/// together answered for at any step, and the report.
fn peak_remembered(seed: u64, scenario: &Scenario) -> (usize, RunReport) {
    let mut sim = Simulation::new(seed, scenario, RunOptions::default());
    let domains = scenario.chains.len() as u32;
    let mut peak = 0;
    sim.run_until(|s| {
        let now: usize = (0..domains)
            .map(|d| s.chain(Domain(d)).ledger().remembered())
            .sum();
        peak = peak.max(now);
        false
    });
    (peak, sim.finish().report)
}

#[test]
fn chains_remember_the_recent_past_not_the_whole_run() {
    // Proves history_us bounds the chains: four times the settlements, about
    // the same peak of transactions remembered, every settlement accounted.
    let (small, small_report) = peak_remembered(5, &short_history(150));
    let (large, large_report) = peak_remembered(5, &short_history(600));
    for report in [&small_report, &large_report] {
        assert_eq!(report.verdict, Verdict::Held, "{:?}", report.violations);
    }
    let s = large_report.summary;
    assert_eq!(s.requested, 2400);
    assert_eq!(s.burned, s.minted + s.refunded, "{s:?}");
    assert!(
        large * 2 < small * 3,
        "chains remembered {small} transactions at most for 600 settlements but {large} for 2,400"
    );
}

#[test]
fn a_burn_the_node_has_not_heard_of_is_sent_again_not_replaced() {
    // Proves "not seen" is not "never will be": with every read of a
    // pending transaction answered by a node that has not heard of it, the
    // workers broadcast the same burn again and every request burns once;
    // taken for dropped (the planted defect), the original lands beside its
    // replacement.
    let scenario = default_with(|v| {
        quiet(v);
        v["faults"]["chains"]["pending_unheard"] = "1/1".into();
        v["workload"]["requests_per_client"] = 20.into();
    });
    holds_where_the_defect_burns_twice(&scenario, |r| r.receipts_unheard, Defect::UnseenAsDropped);
}

#[test]
fn a_node_behind_the_head_is_judged_by_its_own_clock() {
    // Proves a "not seen" from a node that has not synced the newest blocks
    // is judged by the clock that node answered with: with every read
    // reaching such a node (and every pending read unheard), on chains
    // whose transactions live 10 s and whose blocks take 20 s to be final,
    // every request burns once. Judged by the newest time heard instead
    // (the planted defect), a burn in a block the node has not synced is
    // taken for expired, and its replacement lands too.
    let scenario = default_with(|v| {
        quiet(v);
        for chain in v["chains"].as_array_mut().unwrap() {
            chain["block_time_us"] = 1_000_000.into();
            chain["finality_depth"] = 20.into();
        }
        v["engine"]["tx_ttl_us"] = 10_000_000.into();
        v["faults"]["chains"]["pending_unheard"] = "1/1".into();
        v["faults"]["chains"]["lagging_reads"] = "1/1".into();
        v["workload"]["requests_per_client"] = 20.into();
    });
    holds_where_the_defect_burns_twice(&scenario, |r| r.lagging_reads, Defect::ExpiryByNewestClock);
}

/// Runs seeds 0..4 of `scenario` (four clients of 20 requests): with the
/// correct engine each holds, counts `faulted` reads and burns every request
/// once, each burn resolved; with `defect`, some seed burns one twice.
fn holds_where_the_defect_burns_twice(
    scenario: &Scenario,
    faulted: fn(&RunReport) -> u64,
    defect: Defect,
) {
    for report in campaign(scenario, &[], 0..4) {
        assert_eq!(report.verdict, Verdict::Held, "{:?}", report.violations);
        assert!(faulted(&report) > 0, "seed {}", report.seed);
        let s = report.summary;
        assert_eq!((s.requested, s.duplicated, s.lost), (80, 0, 0), "{s:?}");
        assert_eq!(s.burned, s.minted + s.refunded, "{s:?}");
    }
    let defective = campaign(scenario, &[defect], 0..4);
    assert!(
        defective.iter().any(|r| r
            .violations
            .first()
            .is_some_and(|v| v.invariant == Invariant::AtMostOneBurnPerIntent)),
        "{defect} never burned a request twice"
    );
}

#[test]
fn a_burn_held_up_past_its_validity_is_replaced_and_burns_once() {
    // Proves expiry is safe: the source halts with the signed burn waiting,
    // for longer than the burn is valid; once it is back the chain answers
    // Expired, the worker signs a new burn, and exactly one burn happens.
    let scenario = scripted(1, 2, |v| {
        v["engine"]["tx_ttl_us"] = 30_000_000.into();
    });
    let mut sim = Simulation::new(11, &scenario, RunOptions::default());
    let signed = run_until_first(&mut sim, |s| s.burn_tx.is_some());
    assert!(signed, "the burn was never signed");
    let first = sim.store().settlements().next().copied().unwrap();
    sim.chain_fault(
        first.request.source,
        ChainFault::Halt {
            duration_us: 60_000_000,
        },
    );
    sim.run_until(|s| {
        s.store()
            .settlements()
            .next()
            .is_some_and(|s| s.stage.is_terminal())
    });
    let settlement = sim.store().settlements().next().copied().unwrap();
    let report = sim.finish().report;
    assert_eq!(report.verdict, Verdict::Held, "{:?}", report.violations);
    assert_eq!(settlement.stage, Stage::Completed);
    assert_ne!(
        settlement.burn_tx.map(|t| t.hash),
        first.burn_tx.map(|t| t.hash),
        "the expired burn was not replaced"
    );
    let s = report.summary;
    assert_eq!((s.burned, s.minted, s.duplicated), (1, 1, 0), "{s:?}");
}

#[test]
fn a_mint_a_reorg_lost_is_found_while_still_valid_and_sent_again() {
    // Proves a worker reads an included transaction again before it could
    // be final when that is more than half its lifetime away: its mint, read
    // included on a chain final only after 60 s, is lost in a reorg; read
    // again within 10 s (half its 20 s lifetime), it is found gone while
    // still valid and the same mint is broadcast again and completes. Read
    // again only once it could be final, it would have expired by then and
    // been replaced, its settlement a finality wait later.
    let scenario = scripted(1, 1, |v| {
        for chain in v["chains"].as_array_mut().unwrap() {
            chain["block_time_us"] = 1_000_000.into();
            chain["finality_depth"] = 60.into();
        }
        v["engine"]["tx_ttl_us"] = 20_000_000.into();
        v["faults"]["chains"]["reorg_loss"] = "1/1".into();
    });
    let mut sim = Simulation::new(3, &scenario, RunOptions::default());
    let included = sim.run_until(|s| {
        s.store().settlements().next().is_some_and(|st| {
            st.mint_tx.is_some_and(|mint| {
                let receipt = s.chain(st.request.dest).ledger().receipt(mint.hash);
                // Five blocks deep: its worker, polling every block, has
                // read it included.
                receipt.is_some_and(|r| {
                    matches!(r.state, TxState::Included { .. }) && r.final_in_us.0 <= 55_000_000
                })
            })
        })
    });
    assert!(included, "the mint was never included");
    let before = sim.store().settlements().next().copied().unwrap();
    let (dest, mint) = (before.request.dest, before.mint_tx.unwrap());
    sim.chain_fault(dest, ChainFault::Reorg { depth: 8 });
    let lost = sim.run_until(|s| s.chain(dest).ledger().receipt(mint.hash).is_none());
    assert!(lost, "the reorg did not lose the mint");
    assert!(
        run_until_first(&mut sim, |s| s.stage.is_terminal()),
        "the settlement never ended"
    );
    let settlement = sim.store().settlements().next().copied().unwrap();
    let report = sim.finish().report;
    assert_eq!(report.verdict, Verdict::Held, "{:?}", report.violations);
    assert_eq!(settlement.stage, Stage::Completed);
    assert_eq!(
        settlement.mint_tx.map(|t| t.hash),
        Some(mint.hash),
        "the lost mint was replaced, not sent again"
    );
    let s = report.summary;
    assert_eq!((s.burned, s.minted, s.duplicated), (1, 1, 0), "{s:?}");
}

#[test]
fn a_burn_past_the_chains_history_waits_and_is_never_signed_again() {
    // Proves the one case expiry cannot settle is left safe: the workers are
    // down while the burn lands, is final and is forgotten; back, they cannot
    // tell from its hash whether it landed, so they sign no second burn. The
    // run ends with the burn unresolved (a liveness failure, for an
    // operator, which its detail names), never with two burns.
    let scenario = scripted(1, 2, |v| {
        v["engine"]["settlement_deadline_us"] = 5_000_000.into();
        v["engine"]["tx_ttl_us"] = 30_000_000.into();
        // The least the scenario check allows: twice the deadline and three
        // of ethereum's 72 s finality waits.
        for chain in v["chains"].as_array_mut().unwrap() {
            chain["history_us"] = 226_000_000.into();
        }
    });
    let mut sim = Simulation::new(11, &scenario, RunOptions::default());
    let submitted = run_until_first(&mut sim, |s| s.stage == Stage::BurnSubmitted);
    assert!(submitted, "the burn was never submitted");
    for worker in sim.layout().workers.clone() {
        sim.crash(worker, Micros(600_000_000));
    }
    sim.run_until(|_| false);
    let settlement = sim.store().settlements().next().copied().unwrap();
    let report = sim.finish().report;
    assert_eq!(settlement.stage, Stage::BurnSubmitted);
    let s = report.summary;
    assert_eq!((s.burned, s.minted, s.refunded), (1, 0, 0), "{s:?}");
    assert!(
        report
            .violations
            .iter()
            .all(|v| v.invariant.kind() == Kind::Liveness),
        "{:?}",
        report.violations
    );
    assert!(
        report
            .violations
            .iter()
            .any(|v| v.invariant == Invariant::EveryBurnResolved),
        "{:?}",
        report.violations
    );
    assert!(
        report
            .violations
            .iter()
            .any(|v| v.invariant == Invariant::EveryRequestTerminal
                && v.detail
                    .contains("passed out of the source chain's history")
                && v.detail.contains("only an operator can settle it")),
        "{:?}",
        report.violations
    );
}

#[test]
fn a_worker_whose_clock_falls_far_behind_still_signs_valid_transactions() {
    // Proves transactions are signed by the chain's time, not the worker's:
    // clocks that drift up to 5 % fall minutes behind over a long run, more
    // than a transaction lives; every settlement still finishes, burned once
    // and minted or refunded.
    let scenario = scripted(120, 2, |v| {
        v["faults"]["clocks"]["drift_ppm_max"] = 50_000.into();
        v["faults"]["clocks"]["skew_us_max"] = 0.into();
        v["workload"]["interval_us_min"] = 20_000_000.into();
        v["workload"]["interval_us_max"] = 40_000_000.into();
    });
    // Seed 4 draws a worker slow enough to fall behind by more than a
    // transaction's life (signing by the wall clock fails here).
    let report = Simulation::new(4, &scenario, RunOptions::default())
        .finish()
        .report;
    assert_eq!(report.verdict, Verdict::Held, "{:?}", report.violations);
    let s = report.summary;
    assert_eq!(s.requested, 120);
    assert_eq!(s.completed + s.refunded + s.failed, 120, "{s:?}");
    assert_eq!(s.burned, s.minted + s.refunded, "{s:?}");
}
