//! The fault plan: every kernel fault of a run (what, where, when), drawn
//! from the seed before the run starts — or given explicitly, so a failing
//! run's faults can be replayed, edited and minimised.

use super::layout::Layout;
use crate::scenario::Scenario;
use crate::sim::{KernelFault, Micros, NodeId, Partition, SimRng};
use rand::seq::SliceRandom;
use rand::Rng;
use serde::{Deserialize, Serialize};

/// One fault at one instant.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlannedFault {
    /// When it strikes (true time).
    pub at_us: Micros,
    /// What it is.
    pub fault: KernelFault,
}

/// The kernel faults of one run, in time order.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultPlan {
    /// The faults.
    pub faults: Vec<PlannedFault>,
}

impl FaultPlan {
    /// Draws a plan for `scenario` from the faults stream.
    pub fn draw(scenario: &Scenario, layout: &Layout, rng: &mut SimRng) -> FaultPlan {
        let window = scenario.limits.fault_window_us;
        let mut faults = Vec::new();
        if window > 0 {
            let p = &scenario.faults.partitions;
            let count = rng.random_range(0..=p.count_max);
            for _ in 0..count {
                let at_us = Micros(rng.random_range(0..window));
                let duration_us = Micros(rng.random_range(p.duration_us_min..=p.duration_us_max));
                let partition = draw_partition(layout, p.one_way.chance(rng), rng);
                faults.push(PlannedFault {
                    at_us,
                    fault: KernelFault::Partition {
                        partition,
                        duration_us,
                    },
                });
            }
        }
        faults.sort_by_key(|f| f.at_us);
        FaultPlan { faults }
    }
}

/// Cuts a random minority of all nodes from the rest.
fn draw_partition(layout: &Layout, one_way: bool, rng: &mut SimRng) -> Partition {
    let mut nodes: Vec<NodeId> = layout.engine_nodes();
    nodes.extend(&layout.chains);
    nodes.shuffle(rng);
    let minority = rng.random_range(1..=nodes.len() / 2);
    let mut side_a = nodes[..minority].to_vec();
    let mut side_b = nodes[minority..].to_vec();
    side_a.sort();
    side_b.sort();
    Partition {
        side_a,
        side_b,
        one_way,
    }
}
