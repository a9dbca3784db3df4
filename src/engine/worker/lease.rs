//! The worker's side of the lease service: before acting on a settlement,
//! make sure of the lease and the claim; ask for, extend and release leases,
//! and what each answer means for a job.

use super::job::{CallKind, Lease, Write};
use super::{Msg, Worker, HELD_ELSEWHERE_MAX};
use crate::engine::defects::Defect;
use crate::engine::lock::{LockReply, LockRequest};
use crate::engine::settlement::SettlementId;
use crate::sim::{Ctx, Micros};

impl Worker {
    /// Moves settlement `id` on: first make sure of the lease and the claim,
    /// then act from the persisted stage.
    pub(super) fn step<M: Msg>(&mut self, id: SettlementId, ctx: &mut Ctx<'_, M>) {
        let now = ctx.monotonic();
        let half = Micros(self.cfg.lease_ttl_us / 2);
        let without_lock = self.defects.has(Defect::LockNone);
        let check_first = self.defects.has(Defect::StatusCheckThenAct);
        let job = self.jobs.get_mut(&id).expect("stepping an unknown job");
        debug_assert!(job.idle());
        if job.settlement.stage.is_terminal() {
            self.finish_job(id, ctx);
            return;
        }
        if without_lock {
            // Planted defect: no lease, no claim; act at once.
            job.claimed = true;
            return self.act(id, ctx);
        }
        match job.lease {
            Some(lease) if lease.valid_until <= now => {
                // Expired by our own (conservative) reckoning: take it again.
                job.lease = None;
                job.claimed = false;
                self.lock_call(id, CallKind::Acquire, ctx);
            }
            None => self.lock_call(id, CallKind::Acquire, ctx),
            Some(lease) if lease.valid_until < now + half => {
                self.lock_call(id, CallKind::Extend, ctx)
            }
            Some(_) if !job.claimed && check_first && !job.checked => {
                // Planted defect: read the status, then claim blindly.
                job.checked = true;
                self.store_get(id, ctx);
            }
            Some(_) if !job.claimed => self.commit_write(id, Write::Claim, ctx),
            Some(_) if job.wait_until.is_some_and(|t| t > now) => self.rearm(id, ctx),
            Some(_) => {
                job.wait_until = None;
                self.act(id, ctx)
            }
        }
    }

    pub(super) fn lock_call<M: Msg>(
        &mut self,
        id: SettlementId,
        kind: CallKind,
        ctx: &mut Ctx<'_, M>,
    ) {
        let token = self.jobs[&id].token();
        let req = self.begin(id, kind, ctx);
        let request = match kind {
            CallKind::Acquire => LockRequest::Acquire { req, id },
            _ => LockRequest::Extend { req, id, token },
        };
        ctx.send(self.peers.lock, request);
    }

    /// The lease service answered.
    pub fn on_lock_reply<M: Msg>(&mut self, reply: LockReply, ctx: &mut Ctx<'_, M>) {
        let req = match reply {
            LockReply::Granted { req, .. }
            | LockReply::Held { req, .. }
            | LockReply::Lost { req, .. }
            | LockReply::Released { req, .. }
            | LockReply::Unavailable { req, .. } => req,
        };
        let Some((id, call)) = self.finish(req, ctx) else {
            return;
        };
        let margin = self.cfg.lease_margin();
        let job = self.jobs.get_mut(&id).expect("finished call has a job");
        match reply {
            LockReply::Granted { token, ttl_us, .. } => {
                let valid_until = (call.sent_at + Micros(ttl_us)).saturating_sub(margin);
                job.lease = Some(Lease { token, valid_until });
                job.claimed |= job.settlement.fence == token;
                self.step(id, ctx);
            }
            LockReply::Held { .. } => {
                self.jobs.remove(&id);
                let until = ctx.monotonic() + Micros(self.cfg.lease_ttl_us * 3);
                if self.held_elsewhere.len() >= HELD_ELSEWHERE_MAX {
                    self.held_elsewhere.pop_first();
                }
                self.held_elsewhere.insert(id, until);
            }
            LockReply::Lost { .. } => {
                job.lease = None;
                job.claimed = false;
                self.step(id, ctx);
            }
            LockReply::Unavailable { .. } | LockReply::Released { .. } => {
                let wait = self.cfg.rpc_timeout_us;
                self.wake_later(id, wait, ctx);
            }
        }
    }

    /// Done with a settlement: let the lease go and forget the job.
    pub(super) fn finish_job<M: Msg>(&mut self, id: SettlementId, ctx: &mut Ctx<'_, M>) {
        let Some(job) = self.jobs.remove(&id) else {
            return;
        };
        if let Some(lease) = job.lease {
            let req = self.next_request();
            ctx.send(
                self.peers.lock,
                LockRequest::Release {
                    req,
                    id,
                    token: lease.token,
                },
            );
        }
    }
}
