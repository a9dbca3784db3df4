//! How a worker finds its work: the store's notice of a new settlement in
//! one of its shards, and periodic scans of the store for the unfinished
//! settlements of the shards it leases (a newly leased shard's backlog, a
//! lost notice).

use super::job::Job;
use super::{Msg, Worker, WorkerTimer};
use crate::engine::protocol::{ScanPass, StoreNotice, StoreRequest};
use crate::engine::settlement::{Settlement, SettlementId};
use crate::sim::{Ctx, Micros};

/// The most settlements one scan of the store returns.
const SWEEP_PAGE: u32 = 32;

impl Worker {
    /// The store pushed a hint.
    pub fn on_notice<M: Msg>(&mut self, notice: StoreNotice, ctx: &mut Ctx<'_, M>) {
        let StoreNotice::WorkAvailable { settlement } = notice;
        self.adopt(*settlement, ctx);
    }

    /// Takes a settlement on if it is in a shard this worker leases and it
    /// has room.
    pub(super) fn adopt<M: Msg>(&mut self, settlement: Settlement, ctx: &mut Ctx<'_, M>) -> bool {
        let id = settlement.id;
        let shard = self.cfg.sharding.of(id);
        if !self.owns(shard, ctx.monotonic())
            || settlement.stage.is_terminal()
            || self.jobs.contains(id)
            || self.jobs.len() >= self.cfg.capacity as usize
        {
            return false;
        }
        self.jobs.insert(id, Box::new(Job::new(settlement)));
        self.shards[shard.0 as usize].jobs += 1;
        self.step(id, ctx);
        true
    }

    /// Scans the store for unfinished settlements of the shards this worker
    /// leases that it is not moving yet (a new shard's backlog, a lost
    /// notice). The timer set here is both the next scan and the timeout of
    /// this one.
    pub(super) fn sweep<M: Msg>(&mut self, ctx: &mut Ctx<'_, M>) {
        self.scan(ctx);
        let next = ctx.set_timer(
            Micros(self.sweep_us.max(self.cfg.rpc_timeout_us)),
            WorkerTimer::Sweep,
        );
        self.sweep_timer = Some(next);
    }

    /// Asks the store for one page of the current pass, if this worker has
    /// room and leases a shard. Returns whether it asked.
    fn scan<M: Msg>(&mut self, ctx: &mut Ctx<'_, M>) -> bool {
        self.sweep_call = None;
        // Small pages: a scan mostly finds settlements this worker is moving
        // already, and copying hundreds of them per scan is waste.
        let room = self
            .cfg
            .capacity
            .saturating_sub(self.jobs.len() as u32)
            .min(SWEEP_PAGE);
        let shards = self.leased_shards(ctx.monotonic());
        if room == 0 || shards.is_empty() {
            return false;
        }
        let req = self.next_request();
        self.sweep_call = Some((req, room));
        let scan = StoreRequest::Runnable {
            req,
            pass: self.sweep_pass,
            from: self.sweep_from,
            limit: room,
            shards,
        };
        ctx.send(self.peers.store, scan);
        true
    }

    /// Scans from the start right away (new shards are leased).
    pub(super) fn sweep_soon<M: Msg>(&mut self, ctx: &mut Ctx<'_, M>) {
        if let Some(timer) = self.sweep_timer.take() {
            ctx.cancel_timer(timer);
        }
        self.sweep_us = self.cfg.sweep_us_min;
        self.sweep_pass = ScanPass::UnderWay;
        self.sweep_from = SettlementId(0);
        self.sweep_timer = Some(ctx.set_timer(Micros(1), WorkerTimer::Sweep));
    }

    pub(super) fn on_sweep_reply<M: Msg>(
        &mut self,
        limit: u32,
        settlements: Vec<Settlement>,
        ctx: &mut Ctx<'_, M>,
    ) {
        self.sweep_call = None;
        let full = settlements.len() >= limit as usize;
        let last = settlements.last().map(|s| s.id);
        let mut adopted = false;
        // The first settlement of the page this worker is not moving once
        // the page is taken (it ran out of room): the pass resumes there,
        // not after the page, or that one would wait a whole cycle of the
        // backlog for its next turn.
        let mut left = None;
        for s in settlements {
            let id = s.id;
            adopted |= self.adopt(s, ctx);
            if left.is_none() && !self.jobs.contains(id) {
                left = Some(id);
            }
        }
        match (left, last) {
            (Some(id), _) => self.sweep_from = id,
            // A full page means there may be more: continue after it.
            (None, Some(last)) if full => self.sweep_from = SettlementId(last.0 + 1),
            // The pass is done: the other one starts from the beginning.
            _ => {
                self.sweep_from = SettlementId(0);
                self.sweep_pass = match self.sweep_pass {
                    ScanPass::UnderWay => ScanPass::All,
                    ScanPass::All => ScanPass::UnderWay,
                };
                // Nothing under way is left waiting: look at the rest now,
                // not a sweep interval later.
                if self.sweep_pass == ScanPass::All && self.scan(ctx) {
                    if adopted {
                        self.sweep_us = self.cfg.sweep_us_min;
                    }
                    return;
                }
            }
        }
        self.sweep_us = if adopted {
            self.cfg.sweep_us_min
        } else {
            (self.sweep_us * 2).min(self.cfg.sweep_us_max)
        };
    }
}
