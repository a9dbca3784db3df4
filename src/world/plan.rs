//! The fault plan: every kernel fault of a run (what, where, when), drawn
//! from the seed before the run starts — or given explicitly, so a failing
//! run's faults can be replayed, edited and minimised.

use super::layout::Layout;
use crate::chain::{ChainFault, Domain};
use crate::scenario::{Role, Scenario};
use crate::sim::{KernelFault, Micros, NodeId, Partition, SimRng};
use rand::seq::{IndexedRandom, SliceRandom};
use rand::Rng;
use serde::{Deserialize, Serialize};

/// One fault at one instant.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlannedFault {
    /// When it strikes (true time).
    pub at_us: Micros,
    /// What it is.
    pub fault: Fault,
}

/// A fault of the kernel (processes, network, clocks) or of a chain.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Fault {
    /// Injected by the kernel.
    Kernel(KernelFault),
    /// Suffered by one chain.
    Chain {
        /// Which chain.
        domain: Domain,
        /// What happens to it.
        fault: ChainFault,
    },
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
        if window == 0 {
            return FaultPlan { faults };
        }
        let p = &scenario.faults.partitions;
        for _ in 0..rng.random_range(0..=p.count_max) {
            let at_us = Micros(rng.random_range(0..window));
            let duration_us = Micros(rng.random_range(p.duration_us_min..=p.duration_us_max));
            let partition = draw_partition(layout, p.one_way.chance(rng), rng);
            faults.push(PlannedFault {
                at_us,
                fault: Fault::Kernel(KernelFault::Partition {
                    partition,
                    duration_us,
                }),
            });
        }
        let c = &scenario.faults.crashes;
        for _ in 0..rng.random_range(0..=c.count_max) {
            let Some(node) = draw_victim(&c.targets, layout, rng) else {
                break;
            };
            let at_us = Micros(rng.random_range(0..window));
            let down_us = Micros(rng.random_range(c.down_us_min..=c.down_us_max));
            let fault = Fault::Kernel(KernelFault::Crash { node, down_us });
            faults.push(PlannedFault { at_us, fault });
        }
        let p = &scenario.faults.pauses;
        for _ in 0..rng.random_range(0..=p.count_max) {
            let Some(node) = draw_victim(&p.targets, layout, rng) else {
                break;
            };
            let at_us = Micros(rng.random_range(0..window));
            let duration_us = Micros(rng.random_range(p.duration_us_min..=p.duration_us_max));
            let fault = Fault::Kernel(KernelFault::Pause { node, duration_us });
            faults.push(PlannedFault { at_us, fault });
        }
        let c = &scenario.faults.clocks;
        let engine = layout.engine_nodes();
        for _ in 0..rng.random_range(0..=c.jump_count_max) {
            let at_us = Micros(rng.random_range(0..window));
            let node = *engine.choose(rng).expect("engine nodes exist");
            let by = c.jump_us_max as i64;
            let by_us = rng.random_range(-by..=by);
            faults.push(PlannedFault {
                at_us,
                fault: Fault::Kernel(KernelFault::ClockJump { node, by_us }),
            });
        }
        let c = &scenario.faults.chains;
        let chains = scenario.chains.len() as u32;
        let mut chain_fault =
            |count_max: u32,
             rng: &mut SimRng,
             make: &dyn Fn(&mut SimRng, u64) -> Option<ChainFault>| {
                for _ in 0..rng.random_range(0..=count_max) {
                    let at_us = Micros(rng.random_range(0..window));
                    let domain = Domain(rng.random_range(0..chains));
                    let depth = scenario.chains[domain.index()].finality_depth;
                    if let Some(fault) = make(rng, depth) {
                        faults.push(PlannedFault {
                            at_us,
                            fault: Fault::Chain { domain, fault },
                        });
                    }
                }
            };
        chain_fault(c.halt_count_max, rng, &|rng, _| {
            Some(ChainFault::Halt {
                duration_us: rng.random_range(1..=c.halt_us_max.max(1)),
            })
        });
        // A reorg reaches only blocks that are not final yet.
        chain_fault(c.reorg_count_max, rng, &|rng, depth| {
            let deepest = c.reorg_depth_max.min(depth);
            (deepest > 0).then(|| ChainFault::Reorg {
                depth: rng.random_range(1..=deepest),
            })
        });
        chain_fault(c.mint_pause_count_max, rng, &|rng, _| {
            Some(ChainFault::MintPause {
                duration_us: rng.random_range(1..=c.mint_pause_us_max.max(1)),
            })
        });
        faults.sort_by_key(|f| f.at_us);
        FaultPlan { faults }
    }

    /// Checks that every node the plan names exists in `layout`.
    pub fn validate(&self, layout: &Layout) -> Result<(), String> {
        let known = |n: &NodeId| n.index() < layout.len();
        for (i, f) in self.faults.iter().enumerate() {
            let ok = match &f.fault {
                Fault::Kernel(KernelFault::Partition { partition, .. }) => {
                    partition.side_a.iter().chain(&partition.side_b).all(known)
                }
                Fault::Kernel(KernelFault::Crash { node, .. }) => {
                    known(node) && !layout.chains.contains(node)
                }
                Fault::Kernel(
                    KernelFault::Pause { node, .. } | KernelFault::ClockJump { node, .. },
                ) => known(node),
                Fault::Chain { domain, .. } => domain.index() < layout.chains.len(),
            };
            if !ok {
                return Err(format!(
                    "faults[{i}] names a node this scenario does not have (or crashes a chain)"
                ));
            }
        }
        Ok(())
    }
}

/// A role among `targets`, then a process of that role; `None` without targets.
fn draw_victim(targets: &[Role], layout: &Layout, rng: &mut SimRng) -> Option<NodeId> {
    let role = *targets.choose(rng)?;
    layout.nodes_of(role).choose(rng).copied()
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

impl std::fmt::Display for PlannedFault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let at = self.at_us;
        match &self.fault {
            Fault::Kernel(KernelFault::Partition {
                partition,
                duration_us,
            }) => write!(
                f,
                "{} partition of {} node(s) at {at} for {duration_us}",
                if partition.one_way {
                    "one-way"
                } else {
                    "two-way"
                },
                partition.side_a.len()
            ),
            Fault::Kernel(KernelFault::Crash { node, down_us }) => {
                write!(f, "crash {node} at {at} for {down_us}")
            }
            Fault::Kernel(KernelFault::Pause { node, duration_us }) => {
                write!(f, "pause {node} at {at} for {duration_us}")
            }
            Fault::Kernel(KernelFault::ClockJump { node, by_us }) => {
                write!(f, "clock jump {node} by {by_us}µs at {at}")
            }
            Fault::Chain { domain, fault } => match fault {
                ChainFault::Halt { duration_us } => write!(
                    f,
                    "chain {} halts at {at} for {}",
                    domain.0,
                    Micros(*duration_us)
                ),
                ChainFault::Reorg { depth } => {
                    write!(f, "chain {} reorgs {depth} block(s) at {at}", domain.0)
                }
                ChainFault::MintPause { duration_us } => {
                    write!(
                        f,
                        "chain {} pauses mints at {at} for {}",
                        domain.0,
                        Micros(*duration_us)
                    )
                }
            },
        }
    }
}
