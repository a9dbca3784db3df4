//! Shrinking a failing run: the fewest faults, the calmest fault rates and
//! the smallest workload that still break the same invariant, so that the
//! trace left to read is short.
//!
//! A seed's run is first made explicit: the settings it drew (scenario
//! variation) and its swarm-drawn fault rates become the scenario, and the
//! fault plan it drew is written out, which gives the very same run (same
//! digest). Then, each change kept only if the run still
//! fails with the same first invariant:
//!
//! 1. the plan's faults are cut down by delta debugging (`ddmin`), to a set
//!    from which no single fault can be taken away;
//! 2. each kind of random fault (dropped messages, failing fsyncs, stuck
//!    mempools, clock skew, …) is switched off in turn;
//! 3. the workload is cut to the smallest of its halvings (a half, a
//!    quarter, … one request per client) that still fails;
//! 4. the plan is cut down once more, as the calmer run may need less.
//!
//! Removing a fault changes everything the run draws afterwards, so the
//! shrunk run may fail by another path than the original: it is a smaller
//! failure of the same invariant, and its own repro file records that run.

use super::ReproFile;
use crate::check::Invariant;
use crate::engine::Defects;
use crate::scenario::Scenario;
use crate::sim::{Ratio, Streams};
use crate::world::{drawn, run, FaultPlan, PlannedFault, RunOptions, RunReport};

/// What a shrink found, and the run it ends on.
pub struct Shrunk {
    /// The smaller failing run, ready to save and replay.
    pub repro: ReproFile,
    /// Its report.
    pub report: RunReport,
    /// Planned faults before and after.
    pub faults: (usize, usize),
    /// The kinds of random fault switched off.
    pub calmed: Vec<&'static str>,
    /// The kinds of random fault left on because the run stopped breaking
    /// the invariant when one was switched off (kinds off from the start are
    /// not listed).
    pub still_on: Vec<&'static str>,
    /// Requests per client before and after.
    pub requests: (u32, u32),
    /// Runs it took.
    pub runs: u64,
    /// Whether this build gave the file's recorded digest before shrinking
    /// (if not, what was shrunk is the run this build gives).
    pub reproduced: bool,
}

/// Why a file cannot be shrunk.
#[derive(Debug, PartialEq, Eq)]
pub enum ShrinkError {
    /// The file's run breaks no invariant with this build.
    Holds,
    /// Making the seed's faults explicit changed the run: a bug in settlesim.
    NotExplicit,
}

/// Shrinks the run `repro` records. `progress` hears after every run how
/// many runs were made and how many planned faults are left.
pub fn shrink(
    repro: &ReproFile,
    mut progress: impl FnMut(u64, usize),
) -> Result<Shrunk, ShrinkError> {
    let original = run(repro.seed, &repro.scenario, repro.options()).report;
    let target = original
        .violations
        .first()
        .map(|v| v.invariant)
        .ok_or(ShrinkError::Holds)?;
    let mut trial = Trial {
        seed: repro.seed,
        defects: repro.options().defects,
        target,
        runs: 1,
        progress: &mut progress,
    };
    let mut scenario = drawn::draw(
        &repro.scenario,
        &Streams::new(repro.seed),
        repro.vary,
        repro.swarm,
    )
    .scenario
    .into_owned();
    let plan = original.fault_plan.faults.clone();
    let explicit = trial.run(&scenario, &plan);
    if explicit.digest != original.digest {
        return Err(ShrinkError::NotExplicit);
    }

    let mut plan = trial.cut_plan(&scenario, plan);
    let (mut calmed, mut still_on) = (Vec::new(), Vec::new());
    for (name, calm) in CALMABLE {
        let mut calmer = scenario.clone();
        if !calm(&mut calmer) {
            continue;
        }
        if trial.fails(&calmer, &plan) {
            scenario = calmer;
            calmed.push(*name);
        } else {
            still_on.push(*name);
        }
    }
    let requests = scenario.workload.requests_per_client;
    let fewer = |scenario: &Scenario, requests| {
        let mut smaller = scenario.clone();
        smaller.workload.requests_per_client = requests;
        smaller
    };
    if let Some(smallest) =
        smallest_failing(requests, |&k| trial.fails(&fewer(&scenario, k), &plan))
    {
        scenario = fewer(&scenario, smallest);
    }
    plan = trial.cut_plan(&scenario, plan);

    let last = trial.run(&scenario, &plan);
    let options = trial.options(&plan);
    Ok(Shrunk {
        faults: (original.fault_plan.faults.len(), plan.len()),
        calmed,
        still_on,
        requests: (requests, scenario.workload.requests_per_client),
        runs: trial.runs,
        reproduced: original.digest == repro.digest,
        repro: ReproFile::of(&last, &scenario, &options),
        report: last,
    })
}

/// The runs of one shrink: each judged by whether it breaks the target
/// invariant first.
struct Trial<'a> {
    seed: u64,
    defects: Defects,
    target: Invariant,
    runs: u64,
    progress: &'a mut dyn FnMut(u64, usize),
}

impl Trial<'_> {
    fn options(&self, plan: &[PlannedFault]) -> RunOptions {
        RunOptions {
            defects: self.defects,
            plan: Some(FaultPlan {
                faults: plan.to_vec(),
            }),
            ..RunOptions::default()
        }
    }

    fn run(&mut self, scenario: &Scenario, plan: &[PlannedFault]) -> RunReport {
        self.runs += 1;
        (self.progress)(self.runs, plan.len());
        run(self.seed, scenario, self.options(plan)).report
    }

    fn fails(&mut self, scenario: &Scenario, plan: &[PlannedFault]) -> bool {
        let report = self.run(scenario, plan);
        report.violations.first().map(|v| v.invariant) == Some(self.target)
    }

    fn cut_plan(&mut self, scenario: &Scenario, plan: Vec<PlannedFault>) -> Vec<PlannedFault> {
        ddmin(plan, |faults| self.fails(scenario, faults))
    }
}

/// The smallest of `n`'s halvings (a half, a quarter, … down to 1) for
/// which `fails` holds. Failing is not monotone in the workload (a smaller
/// run draws everything differently), so a half that holds says nothing of
/// a quarter: every halving is a candidate, asked smallest first, and the
/// first that fails ends the search. The small runs are the cheap ones.
fn smallest_failing(n: u32, fails: impl FnMut(&u32) -> bool) -> Option<u32> {
    halvings(n).into_iter().rev().find(fails)
}

/// `n` halved once, twice, … down to 1, largest first: 50 gives 25, 12, 6,
/// 3, 1.
fn halvings(n: u32) -> Vec<u32> {
    std::iter::successors(Some(n / 2), |&k| Some(k / 2))
        .take_while(|&k| k >= 1)
        .collect()
}

/// The kinds of random fault a shrink tries to switch off, each with the
/// change that does it (false if it is off already).
type Calm = fn(&mut Scenario) -> bool;
const CALMABLE: &[(&str, Calm)] = &[
    ("network drop", |s| never(&mut s.faults.network.drop)),
    ("network duplicate", |s| {
        never(&mut s.faults.network.duplicate)
    }),
    ("network reorder", |s| never(&mut s.faults.network.reorder)),
    ("lost responses", |s| {
        never(&mut s.faults.network.lost_response)
    }),
    ("fsync failures", |s| never(&mut s.faults.disk.sync_fail)),
    ("torn writes", |s| never(&mut s.faults.disk.torn_write)),
    ("corrupt sectors", |s| {
        never(&mut s.faults.disk.corrupt_sector)
    }),
    ("mempool drops", |s| {
        never(&mut s.faults.chains.mempool_drop)
    }),
    ("stuck mempools", |s| {
        never(&mut s.faults.chains.mempool_stuck)
    }),
    ("unheard pending transactions", |s| {
        never(&mut s.faults.chains.pending_unheard)
    }),
    ("nodes behind the head", |s| {
        never(&mut s.faults.chains.lagging_reads)
    }),
    ("clock skew", |s| zero(&mut s.faults.clocks.skew_us_max)),
    ("clock drift", |s| zero(&mut s.faults.clocks.drift_ppm_max)),
];

fn never(ratio: &mut Ratio) -> bool {
    !std::mem::replace(ratio, Ratio::NEVER).is_never()
}

fn zero<N: Default + PartialEq>(value: &mut N) -> bool {
    std::mem::take(value) != N::default()
}

/// Delta debugging (Zeller's ddmin): a subset of `items` for which `fails`
/// still holds, from which no single item can be removed. `fails(items)` is
/// taken as true.
pub fn ddmin<T: Clone>(mut items: Vec<T>, mut fails: impl FnMut(&[T]) -> bool) -> Vec<T> {
    if items.is_empty() || fails(&[]) {
        return Vec::new();
    }
    let mut parts = 2;
    while items.len() >= 2 {
        let size = items.len().div_ceil(parts);
        let chunks: Vec<Vec<T>> = items.chunks(size).map(<[T]>::to_vec).collect();
        if let Some(chunk) = chunks.iter().find(|c| fails(c)) {
            items = chunk.clone();
            parts = 2;
            continue;
        }
        let complement = |skip: usize| -> Vec<T> {
            let kept = chunks.iter().enumerate().filter(|(i, _)| *i != skip);
            kept.flat_map(|(_, c)| c.iter().cloned()).collect()
        };
        if let Some(rest) = (0..chunks.len()).map(complement).find(|rest| fails(rest)) {
            items = rest;
            parts = (parts - 1).max(2);
            continue;
        }
        if parts >= items.len() {
            break;
        }
        parts = (parts * 2).min(items.len());
    }
    items
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ddmin_finds_the_items_that_matter_and_nothing_else() {
        // Proves the cut keeps exactly what the failure needs: two items far
        // apart in a list of forty, one item alone, or none at all.
        let items: Vec<u32> = (0..40).collect();
        let mut asked = 0;
        let found = ddmin(items.clone(), |s| {
            asked += 1;
            s.contains(&3) && s.contains(&31)
        });
        assert_eq!(found, vec![3, 31]);
        assert!(asked < 100, "asked {asked} times");
        assert_eq!(ddmin(items.clone(), |s| s.contains(&17)), vec![17]);
        assert_eq!(ddmin(items, |_| true), Vec::<u32>::new());
    }

    #[test]
    fn a_workload_halves_down_to_one_request() {
        // Proves the candidates the workload is cut to: every halving, the
        // largest first, down to one request per client and no further.
        assert_eq!(halvings(50), vec![25, 12, 6, 3, 1]);
        assert_eq!(halvings(1500), vec![750, 375, 187, 93, 46, 23, 11, 5, 2, 1]);
        assert_eq!(halvings(2), vec![1]);
        assert_eq!(halvings(1), Vec::<u32>::new());
    }

    #[test]
    fn the_smallest_failing_halving_is_found_past_one_that_holds() {
        // Proves the search neither stops at a half that holds nor goes on
        // past the smallest that fails: with 25 holding and 12 and 6
        // failing, it asks 1, 3, 6 and answers 6.
        let mut asked = Vec::new();
        let found = smallest_failing(50, |&k| {
            asked.push(k);
            k == 6 || k == 12
        });
        assert_eq!(found, Some(6));
        assert_eq!(asked, vec![1, 3, 6]);
        assert_eq!(smallest_failing(50, |_| false), None);
        assert_eq!(smallest_failing(1, |_| true), None);
    }

    #[test]
    fn ddmin_leaves_no_single_item_removable() {
        // Proves 1-minimality when the failure needs any three of a kind:
        // taking any one item out of the answer makes it pass.
        let fails = |s: &[u32]| s.iter().filter(|x| *x % 5 == 0).count() >= 3;
        let found = ddmin((0..30).collect(), fails);
        assert!(fails(&found));
        for i in 0..found.len() {
            let mut less = found.clone();
            less.remove(i);
            assert!(!fails(&less), "{found:?} less {i} still fails");
        }
    }
}
