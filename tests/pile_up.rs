//! The pile-up scenario (`sims/pile-up.json`): every fault at once, on tight
//! timings. It found the one double burn the engine has had: a worker's
//! replacement of an expired burn, delayed past its timeout, was recorded
//! over a second replacement that had already been broadcast, and a later
//! worker broadcast the first: both burns landed.

mod common;

use common::{run_holding, sim};
use settlesim::scenario::Scenario;
use settlesim::sim::Ratio;

/// The scenario as it was when these seeds were found: before nodes that
/// have not heard of a pending transaction, or have not synced the newest
/// blocks, were faults (their draws would make every seed another run).
fn pile_up_as_found() -> Scenario {
    let mut scenario = sim("pile-up.json");
    scenario.faults.chains.pending_unheard = Ratio::NEVER;
    scenario.faults.chains.lagging_reads = Ratio::NEVER;
    scenario
}

/// Seeds of the scenario as written (no swarm) that burned one request
/// twice before the store checked which transaction a replacement replaces
/// (`Settlement::still_holds`): 26 of the 30,000 from 40,000,000.
const ONCE_BURNED_TWICE: [u64; 26] = [
    40000411, 40001294, 40002953, 40003103, 40003293, 40003355, 40003886, 40004158, 40004748,
    40006067, 40008368, 40009301, 40010122, 40010884, 40012124, 40014832, 40018329, 40021829,
    40023440, 40025499, 40025600, 40025812, 40026258, 40028099, 40028491, 40028674,
];

#[test]
fn seeds_that_once_burned_twice_hold() {
    // Proves the fix where the bug was found: each of these seeds failed
    // `at_most_one_burn_per_intent` before it, and holds every invariant now.
    let scenario = pile_up_as_found();
    for seed in ONCE_BURNED_TWICE {
        run_holding(seed, &scenario);
    }
}

#[test]
fn a_settlement_left_under_way_is_found_when_its_shard_comes_back() {
    // Proves a worker scans for settlements under way when a lease it had
    // let lapse by its own clock is renewed, not only when it gets a new
    // token. Seed 30651385 of pile-up with every history and the heal span
    // cut to the scenario check's least (396 s, 319.2 s) once stranded a
    // burn: the new holder of a shard was full when it took it, its pass
    // over settlements under way went out while a late renewal had lapsed
    // the lease by its clock, so the pass left the shard out, and the
    // settlement waited 435 s, past its burn's history, while the pass
    // over everything else walked a backlog.
    let mut scenario = pile_up_as_found();
    for chain in &mut scenario.chains {
        chain.history_us = 396_000_000;
    }
    scenario.limits.heal_us = 319_200_000;
    run_holding(30651385, &scenario);
}
