//! The pile-up scenario (`sims/pile-up.json`): every fault at once, on tight
//! timings. It found the one double burn the engine has had: a worker's
//! replacement of an expired burn, delayed past its timeout, was recorded
//! over a second replacement that had already been broadcast, and a later
//! worker broadcast the first: both burns landed.

mod common;

use common::{run_holding, sim};

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
    let scenario = sim("pile-up.json");
    for seed in ONCE_BURNED_TWICE {
        run_holding(seed, &scenario);
    }
}
