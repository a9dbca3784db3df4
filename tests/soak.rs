//! The soak scenario (`sims/soak.json`): the default engine for forty
//! minutes with its faults spread over all of it. The other scenarios strike
//! in their first minutes, while the store's log, the workers' tables and the
//! chains' history are all still young; here processes crash, restart and
//! recover after thousands of settlements have come and gone and the chains
//! have forgotten their history.

mod common;

use common::sim;
use settlesim::chain::Domain;
use settlesim::sim::{KernelFault, Micros};
use settlesim::world::{Fault, Layout, RunOptions, Simulation, Verdict};

#[test]
fn the_store_crashes_and_recovers_after_the_chains_have_forgotten() {
    // Proves the soak reaches what the short scenarios cannot: in each of
    // these seeds, as written, the store crashes after the chains have begun
    // forgetting (two or three times: seed 1 crashes only a client and the
    // attester that late), every chain has forgotten more than a whole
    // history by the end, and every invariant holds throughout.
    let scenario = sim("soak.json");
    let store = Layout::new(&scenario).store;
    let history = Micros(scenario.chains.iter().map(|c| c.history_us).max().unwrap());
    let domains = scenario.chains.len() as u32;
    for seed in [0, 2, 3] {
        let mut sim = Simulation::new(seed, &scenario, RunOptions::default());
        sim.run_until(|_| false);
        for d in 0..domains {
            let forgotten = sim.chain(Domain(d)).ledger().forgotten_before();
            assert!(
                forgotten > history,
                "seed {seed}: chain {d} forgot only what was valid before {forgotten:?}"
            );
        }
        let report = sim.finish().report;
        assert_eq!(
            report.verdict,
            Verdict::Held,
            "seed {seed}: {:?}",
            report.violations.first()
        );
        let store_crashed_late = report.fault_plan.faults.iter().any(|f| {
            f.at_us > history
                && matches!(f.fault, Fault::Kernel(KernelFault::Crash { node, .. }) if node == store)
        });
        assert!(
            store_crashed_late,
            "seed {seed}: no store crash after {history:?}: {:?}",
            report.fault_plan
        );
    }
}
