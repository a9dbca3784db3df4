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
        let under_way = settlement.stage.is_under_way();
        if !self.owns(shard, under_way, ctx.monotonic())
            || (!under_way && self.under_way_waiting)
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
        let now = ctx.monotonic();
        // Settlements under way are this worker's to take in every shard it
        // leases, even one it is handing back.
        let under_way_shards = self.leased_shards(true, now);
        if room == 0 || under_way_shards.is_empty() {
            return false;
        }
        // A settlement can come under way behind this worker's back: a
        // write of its own from before a crash, held up and applied after
        // the pass over settlements under way had looked. Walking a long
        // backlog must not leave it there until its burn has aged out of
        // the chain's history, so the pass over everything gives way to
        // that pass again once it has run for a transaction's lifetime.
        if self.sweep_pass == ScanPass::All
            && now.saturating_sub(self.pass_began) >= Micros(self.cfg.tx_ttl_us)
        {
            self.sweep_pass = ScanPass::UnderWay;
            self.sweep_from = SettlementId(0);
        }
        let shards = match self.sweep_pass {
            ScanPass::UnderWay => under_way_shards,
            ScanPass::All => {
                let all = self.leased_shards(false, now);
                if all.is_empty() {
                    // Every shard left is being handed back, where only
                    // settlements under way are this worker's to take.
                    self.sweep_pass = ScanPass::UnderWay;
                    self.sweep_from = SettlementId(0);
                    under_way_shards
                } else {
                    all
                }
            }
        };
        // The pass over settlements under way asks for a whole page however
        // little room is left: most of what it finds this worker is moving
        // already, and a page the size of the room would creep over those,
        // one a page, while a settlement no one moves waited further on.
        let limit = match self.sweep_pass {
            ScanPass::UnderWay => SWEEP_PAGE,
            ScanPass::All => room,
        };
        let req = self.next_request();
        self.sweep_call = Some((req, limit));
        let scan = StoreRequest::Runnable {
            req,
            pass: self.sweep_pass,
            from: self.sweep_from,
            limit,
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
        // the page is taken (it ran out of room): resuming after the page
        // instead would leave that one a whole cycle of the backlog.
        let mut left = None;
        for s in settlements {
            let id = s.id;
            adopted |= self.adopt(s, ctx);
            if left.is_none() && !self.jobs.contains(id) {
                left = Some(id);
            }
        }
        // The pass resumes at that one, or after a full page (there may be
        // more); after a short page it is done.
        let resume = left.or_else(|| last.filter(|_| full).map(|id| SettlementId(id.0 + 1)));
        if self.sweep_pass == ScanPass::UnderWay {
            self.under_way_waiting = left.is_some();
        }
        let mut chained = false;
        if let Some(from) = resume {
            self.sweep_from = from;
        } else {
            // The other pass starts from the beginning; when nothing under
            // way is left waiting, it asks for the rest now, not a sweep
            // interval later.
            self.sweep_from = SettlementId(0);
            self.sweep_pass = self.sweep_pass.other();
            self.pass_began = ctx.monotonic();
            chained = self.sweep_pass == ScanPass::All && self.scan(ctx);
        }
        // Scan again soon while scans find work; back off while they find
        // none (a chained scan's reply tells, if this page took nothing).
        if adopted {
            self.sweep_us = self.cfg.sweep_us_min;
        } else if !chained {
            self.sweep_us = (self.sweep_us * 2).min(self.cfg.sweep_us_max);
        }
    }
}

#[cfg(test)]
mod tests;
