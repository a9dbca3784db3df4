//! What a campaign exercised, summed over its seeds: how its settlements
//! ended and which faults struck how often. A campaign holds just as well
//! when its scenario, or every seed's swarm draw, never reaches a path (no
//! refund, no reorg, no crash); these counts are how its user sees that.

use crate::chain::ChainFault;
use crate::sim::KernelFault;
use crate::world::{Fault, RunReport};
use serde::{Deserialize, Serialize};

/// Outcomes and faults, summed over a campaign's seeds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Coverage {
    /// Settlements that minted (stage Completed).
    pub completed: u64,
    /// Burns refunded on their source chain: mints given up and compensated.
    pub refunded: u64,
    /// Settlements that failed with nothing burned.
    pub failed: u64,
    /// Process crashes.
    pub crashes: u64,
    /// Process pauses.
    pub pauses: u64,
    /// Network partitions.
    pub partitions: u64,
    /// Clock jumps.
    pub clock_jumps: u64,
    /// Chain halts.
    pub halts: u64,
    /// Chain reorganisations.
    pub reorgs: u64,
    /// Spells of reverted mints on a chain.
    pub mint_pauses: u64,
    /// Messages the network lost: dropped, cut by a partition, or sent to a
    /// process that was down.
    pub messages_lost: u64,
    /// Receipt reads of a pending transaction answered "not seen".
    #[serde(default)]
    pub receipts_unheard: u64,
    /// Reads answered by a node behind the head.
    #[serde(default)]
    pub lagging_reads: u64,
}

impl Coverage {
    /// Adds one run's outcomes and faults.
    pub fn add_run(&mut self, run: &RunReport) {
        self.completed += run.summary.completed;
        self.refunded += run.summary.refunded;
        self.failed += run.summary.failed;
        self.messages_lost += run.messages_lost;
        self.receipts_unheard += run.receipts_unheard;
        self.lagging_reads += run.lagging_reads;
        for planned in &run.fault_plan.faults {
            let count = match &planned.fault {
                Fault::Kernel(KernelFault::Crash { .. }) => &mut self.crashes,
                Fault::Kernel(KernelFault::Pause { .. }) => &mut self.pauses,
                Fault::Kernel(KernelFault::Partition { .. }) => &mut self.partitions,
                Fault::Kernel(KernelFault::ClockJump { .. }) => &mut self.clock_jumps,
                Fault::Chain { fault, .. } => match fault {
                    ChainFault::Halt { .. } => &mut self.halts,
                    ChainFault::Reorg { .. } => &mut self.reorgs,
                    ChainFault::MintPause { .. } => &mut self.mint_pauses,
                },
            };
            *count += 1;
        }
    }

    /// Adds another shard's coverage (for a merge).
    pub fn absorb(&mut self, other: &Coverage) {
        let mut other = *other;
        for (mine, theirs) in self.counts_mut().into_iter().zip(other.counts_mut()) {
            *mine += *theirs;
        }
    }

    /// Every count, so that a merge adds them all and cannot miss one.
    fn counts_mut(&mut self) -> [&mut u64; 13] {
        let Coverage {
            completed,
            refunded,
            failed,
            crashes,
            pauses,
            partitions,
            clock_jumps,
            halts,
            reorgs,
            mint_pauses,
            messages_lost,
            receipts_unheard,
            lagging_reads,
        } = self;
        [
            completed,
            refunded,
            failed,
            crashes,
            pauses,
            partitions,
            clock_jumps,
            halts,
            reorgs,
            mint_pauses,
            messages_lost,
            receipts_unheard,
            lagging_reads,
        ]
    }
}
