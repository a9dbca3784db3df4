//! The saga: a burn whose mint cannot happen is refunded, and a refund can
//! never coexist with a mint — the destination's nonce slot decides.

mod common;

use common::{run_until_first, scripted};
use settlesim::chain::{ChainFault, TxState};
use settlesim::engine::Stage;
use settlesim::scenario::Scenario;
use settlesim::world::{RunOptions, Simulation, Verdict};

/// One client, one request, two workers, no drawn faults.
fn one_request(edit: impl FnOnce(&mut serde_json::Value)) -> Scenario {
    scripted(1, 2, edit)
}

#[test]
fn test_compensation_on_destination_failure() {
    // Proves a destination that rejects the mint for good (the recipient is
    // denied) leads to a cancel and a refund on the source: supply conserved,
    // exactly one resolution, the settlement Refunded.
    let scenario = one_request(|v| {
        for chain in v["chains"].as_array_mut().unwrap() {
            chain["denied_recipients"] = (0..32).collect::<Vec<u32>>().into();
        }
    });
    let mut sim = Simulation::new(4, &scenario, RunOptions::default());
    sim.run_until(|s| s.store().unfinished() == 0 && s.store().settlements().next().is_some());
    let settlement = sim.store().settlements().next().copied().unwrap();
    let report = sim.finish().report;
    assert_eq!(report.verdict, Verdict::Held, "{:?}", report.violations);
    assert_eq!(settlement.stage, Stage::Refunded);
    assert!(settlement.cancel_tx.is_some() && settlement.refund_tx.is_some());
    let s = report.summary;
    assert_eq!(
        (s.burned, s.minted, s.refunded, s.duplicated, s.lost),
        (1, 0, 1, 0, 0),
        "{s:?}"
    );
}

#[test]
fn a_mint_that_lands_while_the_cancel_is_on_its_way_wins() {
    // Proves the race: the mint is in the destination's mempool when the
    // destination halts past the deadline; the worker gives up and sends a
    // cancel, but the mint is included first. The cancel reverts, the worker
    // finds the slot minted, and the settlement completes — with no refund.
    let scenario = one_request(|v| {
        v["engine"]["settlement_deadline_us"] = 1.into();
    });
    let mut sim = Simulation::new(6, &scenario, RunOptions::default());
    let pending_mint = sim.run_until(|s| {
        let Some(st) = s.store().settlements().next() else {
            return false;
        };
        let Some(mint) = st.mint_tx else { return false };
        let dest = s.chain(st.request.dest).ledger();
        dest.receipt(mint.hash)
            .is_some_and(|r| r.state == TxState::Pending)
    });
    assert!(
        pending_mint,
        "the mint never reached the destination's mempool"
    );
    let dest = sim
        .store()
        .settlements()
        .next()
        .copied()
        .unwrap()
        .request
        .dest;
    sim.chain_fault(
        dest,
        ChainFault::Halt {
            duration_us: 30_000_000,
        },
    );
    assert!(
        run_until_first(&mut sim, |s| s.stage == Stage::CancelSigned),
        "the worker never gave up on the mint"
    );
    run_until_first(&mut sim, |s| s.stage.is_terminal());
    let settlement = sim.store().settlements().next().copied().unwrap();
    let report = sim.finish().report;
    assert_eq!(report.verdict, Verdict::Held, "{:?}", report.violations);
    assert_eq!(settlement.stage, Stage::Completed);
    assert!(settlement.cancel_tx.is_some(), "a cancel was sent");
    let s = report.summary;
    assert_eq!((s.burned, s.minted, s.refunded), (1, 1, 0), "{s:?}");
}
