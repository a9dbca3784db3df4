//! Faults as data: the engine holds under generated fault plans, and when a
//! planted defect makes a plan fail, proptest shrinks it to a small one.

mod common;

use common::default_with;
use proptest::prelude::*;
use proptest::test_runner::{Config, RngAlgorithm, TestCaseError, TestError, TestRng, TestRunner};
use settlesim::engine::{Defect, Defects};
use settlesim::scenario::Scenario;
use settlesim::sim::{KernelFault, Micros, NodeId, Partition};
use settlesim::world::{run, Fault, FaultPlan, Layout, PlannedFault, RunOptions, Verdict};

/// A small world with network faults on and no drawn kernel faults: the
/// generated plan is the only source of crashes and partitions. Syncs are
/// slow, so a crash often finds writes not yet durable.
fn scenario() -> Scenario {
    default_with(|v| {
        v["faults"]["disk"]["sync_us_min"] = 50_000.into();
        v["faults"]["disk"]["sync_us_max"] = 200_000.into();
        v["engine"]["clients"] = 2.into();
        v["workload"]["requests_per_client"] = 15.into();
        v["limits"]["fault_window_us"] = 30_000_000.into();
        v["faults"]["crashes"]["count_max"] = 0.into();
        v["faults"]["partitions"]["count_max"] = 0.into();
    })
}

/// One generated fault: a crash of any engine process, or a partition
/// cutting one engine process from everything else.
fn fault(layout: &Layout) -> impl Strategy<Value = PlannedFault> {
    let nodes: Vec<NodeId> = layout.engine_nodes();
    let everyone = layout.len() as u32;
    let at = 0..30_000_000u64;
    let crash = (
        at.clone(),
        proptest::sample::select(nodes.clone()),
        1_000..5_000_000u64,
    )
        .prop_map(|(at, node, down)| PlannedFault {
            at_us: Micros(at),
            fault: Fault::Kernel(KernelFault::Crash {
                node,
                down_us: Micros(down),
            }),
        });
    let cut = (
        at,
        proptest::sample::select(nodes),
        1_000..10_000_000u64,
        any::<bool>(),
    )
        .prop_map(move |(at, node, duration, one_way)| {
            let others = (0..everyone).map(NodeId).filter(|n| *n != node).collect();
            PlannedFault {
                at_us: Micros(at),
                fault: Fault::Kernel(KernelFault::Partition {
                    partition: Partition {
                        side_a: vec![node],
                        side_b: others,
                        one_way,
                    },
                    duration_us: Micros(duration),
                }),
            }
        });
    prop_oneof![crash, cut]
}

fn plans(layout: &Layout) -> impl Strategy<Value = FaultPlan> {
    proptest::collection::vec(fault(layout), 0..8).prop_map(|mut faults| {
        faults.sort_by_key(|f| f.at_us);
        FaultPlan { faults }
    })
}

/// A runner with a fixed seed: the generated plans are the same on every
/// machine and every run, like everything else here.
fn runner(cases: u32) -> TestRunner {
    let config = Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    };
    TestRunner::new_with_rng(config, TestRng::deterministic_rng(RngAlgorithm::ChaCha))
}

fn verdict(scenario: &Scenario, plan: &FaultPlan, defects: Defects) -> Verdict {
    let options = RunOptions {
        plan: Some(plan.clone()),
        defects,
        ..RunOptions::default()
    };
    run(9, scenario, options).report.verdict
}

#[test]
fn the_engine_holds_under_generated_fault_plans() {
    // Proves the correct engine survives any plan of crashes and partitions
    // proptest can generate.
    let scenario = scenario();
    let layout = Layout::new(&scenario);
    let mut runner = runner(48);
    let outcome = runner.run(&plans(&layout), |plan| {
        let v = verdict(&scenario, &plan, Defects::NONE);
        prop_assert_eq!(v, Verdict::Held, "plan {:?}", plan);
        Ok(())
    });
    if let Err(e) = outcome {
        panic!("{e}");
    }
}

#[test]
fn a_failing_plan_shrinks_to_a_store_crash() {
    // Proves a failing fault plan shrinks to its essence: with idempotency
    // keys kept only in the store's memory, proptest's shrinking and then
    // one pass of single removals leave a small plan that holds a store
    // crash and fails only with every one of its faults. (Acknowledging
    // before fsync needs no planned crash at all: the crash every run ends
    // with finds the writes still unsynced.)
    let scenario = scenario();
    let layout = Layout::new(&scenario);
    let defects = Defects::of(&[Defect::IdempotencyInMemory]);
    let fails = |plan: &FaultPlan| verdict(&scenario, plan, defects) != Verdict::Held;
    let mut runner = runner(256);
    let outcome = runner.run(&plans(&layout), |plan| {
        if fails(&plan) {
            Err(TestCaseError::fail("a safety invariant broke"))
        } else {
            Ok(())
        }
    });
    let Err(TestError::Fail(_, shrunk)) = outcome else {
        panic!("no generated plan exposed idempotency-in-memory: {outcome:?}");
    };
    // proptest's shrinker stops once element shrinks succeed; removals it
    // did not retry are finished here, until none keeps the plan failing.
    let mut minimal = shrunk.clone();
    let mut i = 0;
    while i < minimal.faults.len() {
        let mut smaller = minimal.clone();
        smaller.faults.remove(i);
        if fails(&smaller) {
            minimal = smaller;
            i = 0;
        } else {
            i += 1;
        }
    }
    assert!(fails(&minimal), "{minimal:?}");
    assert!(
        minimal.faults.len() <= 3,
        "not shrunk: {minimal:?} from {shrunk:?}"
    );
    let store_crash = |f: &PlannedFault| matches!(f.fault, Fault::Kernel(KernelFault::Crash { node, .. }) if node == layout.store);
    assert!(minimal.faults.iter().any(store_crash), "{minimal:?}");
}

#[test]
fn the_heal_phase_calms_a_network_that_lost_everything() {
    // Proves the heal phase: a network that drops every message for the
    // fault window settles nothing in it; once the window closes it is
    // calmed, and every request still settles.
    let scenario = default_with(|v| {
        common::quiet(v);
        v["faults"]["network"]["drop"] = "1/1".into();
        v["limits"]["fault_window_us"] = 10_000_000.into();
        v["engine"]["clients"] = 1.into();
        v["workload"]["requests_per_client"] = 5.into();
    });
    let report = run(1, &scenario, RunOptions::default()).report;
    assert_eq!(report.verdict, Verdict::Held, "{:?}", report.violations);
    assert_eq!(report.stop, settlesim::world::Stop::Quiescent);
    assert!(report.messages_lost > 10, "{} lost", report.messages_lost);
    assert!(report.sim_time_us > 10_000_000, "settled before the heal");
    assert_eq!(report.summary.requested, 5);
}
