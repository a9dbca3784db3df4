//! The worker's decisions along the saga: from each persisted stage, the one
//! next thing to do, and what each answer from a chain or the attester means.

use super::job::{CallKind, Leg, Write};
use super::{Msg, Worker, WorkerTimer};
use crate::chain::{
    AttesterReply, AttesterRequest, ChainReply, ChainRequest, Domain, Outcome, Revert, SlotState,
    Submitted, Tx, TxBody, TxState,
};
use crate::engine::defects::Defect;
use crate::engine::protocol::StoreRequest;
use crate::engine::settlement::{Advance, SettlementId, Stage};
use crate::sim::{Ctx, Micros, RequestId};
use rand::{Rng, RngCore};

impl Worker {
    /// Issues the next call for settlement `id`, from its persisted stage.
    /// The caller has made sure of the lease and the claim.
    pub(super) fn act<M: Msg>(&mut self, id: SettlementId, ctx: &mut Ctx<'_, M>) {
        let job = self.jobs.get_mut(&id).expect("acting on an unknown job");
        let resumed = std::mem::take(&mut job.resumed);
        let mint_broadcast = job.mint_broadcast;
        let s = job.settlement;
        let token = job.token();
        let source = self.peers.chains[s.request.source.index()];
        if resumed
            && self.defects.has(Defect::RetryFromScratch)
            && matches!(s.stage, Stage::BurnSigned | Stage::BurnSubmitted)
        {
            // Planted defect: treat the in-flight burn as lost and start over.
            let fresh = Tx::sign(s.burn_body(), ctx.rng().next_u64());
            self.emit_acting(id, token);
            ctx.send(
                source,
                ChainRequest::Submit {
                    req: RequestId(0),
                    tx: fresh,
                },
            );
        }
        match s.stage {
            Stage::Requested => {
                let tx = Tx::sign(s.burn_body(), ctx.rng().next_u64());
                if self.defects.has(Defect::BroadcastBeforePersist) {
                    // Planted defect: the burn leaves before its signing is durable.
                    ctx.send(
                        source,
                        ChainRequest::Submit {
                            req: RequestId(0),
                            tx,
                        },
                    );
                }
                self.prepare(id, Advance::SignBurn { tx }, ctx);
            }
            Stage::BurnSigned => {
                let tx = s.burn_tx.expect("BurnSigned records the burn");
                self.submit(id, Leg::Burn, tx, ctx);
            }
            Stage::BurnSubmitted => self.query_receipt(id, Leg::Burn, ctx),
            Stage::BurnFinal => {
                let message = s.message.expect("BurnFinal records the message");
                let burn_tx = s.burn_tx.expect("BurnFinal records the burn").hash;
                let req = self.begin(id, CallKind::Attest, ctx);
                ctx.send(
                    self.peers.attester,
                    AttesterRequest::Attest {
                        req,
                        message,
                        burn_tx,
                    },
                );
            }
            Stage::Attested => {
                let body = TxBody::Mint {
                    message: s.message.expect("Attested records the message"),
                    attestation: s.attestation.expect("Attested records the signature"),
                };
                let tx = Tx::sign(body, ctx.rng().next_u64());
                self.prepare(id, Advance::SignMint { tx }, ctx);
            }
            Stage::MintSigned if mint_broadcast => self.query_receipt(id, Leg::Mint, ctx),
            Stage::MintSigned => {
                let tx = s.mint_tx.expect("MintSigned records the mint");
                self.submit(id, Leg::Mint, tx, ctx);
            }
            Stage::Completed | Stage::Failed => self.finish_job(id, ctx),
        }
    }

    /// True if the worker may act on `id` now: its lease is still valid by
    /// its own conservative reckoning.
    fn may_act<M: Msg>(&self, id: SettlementId, ctx: &Ctx<'_, M>) -> bool {
        let job = &self.jobs[&id];
        self.defects.has(Defect::LockNone)
            || (job.claimed && job.lease.is_some_and(|l| l.valid_until > ctx.monotonic()))
    }

    /// Decides a step: it leaves after the time it takes to prepare it.
    /// Without a valid lease the decision is dropped and the settlement
    /// looked at again once the lease is back.
    fn prepare<M: Msg>(&mut self, id: SettlementId, step: Advance, ctx: &mut Ctx<'_, M>) {
        if !self.may_act(id, ctx) {
            return self.step(id, ctx);
        }
        self.commit_write(id, Write::Step(step), ctx);
    }

    /// Commits to a write the lease allows: it is sent once prepared (signed,
    /// built), which takes up to `commit_delay_us_max`.
    pub(super) fn commit_write<M: Msg>(
        &mut self,
        id: SettlementId,
        write: Write,
        ctx: &mut Ctx<'_, M>,
    ) {
        let token = self.jobs[&id].token();
        self.emit_acting(id, token);
        if self.cfg.commit_delay_us_max == 0 {
            return self.send_write(id, write, ctx);
        }
        let delay = ctx.rng().random_range(1..=self.cfg.commit_delay_us_max);
        ctx.set_timer(Micros(delay), WorkerTimer::Commit { id });
        self.jobs
            .get_mut(&id)
            .expect("writing for an unknown job")
            .commit = Some(write);
    }

    /// Sends a prepared write: a claim (compare-and-set on the version with
    /// the lease's token) or a step (compare-and-set on the stage, fenced).
    pub(super) fn send_write<M: Msg>(
        &mut self,
        id: SettlementId,
        write: Write,
        ctx: &mut Ctx<'_, M>,
    ) {
        let job = &self.jobs[&id];
        let (stage, version, token) = (job.settlement.stage, job.settlement.version, job.token());
        let request = match write {
            Write::Claim => {
                let req = self.begin(id, CallKind::Claim, ctx);
                StoreRequest::Claim {
                    req,
                    id,
                    version,
                    token,
                }
            }
            Write::Step(step) => {
                let req = self.begin(id, CallKind::Advance(step), ctx);
                StoreRequest::Advance {
                    req,
                    id,
                    stage,
                    fence: token,
                    step,
                }
            }
        };
        ctx.send(self.peers.store, request);
    }

    fn chain_of(&self, id: SettlementId, leg: Leg) -> Domain {
        let request = self.jobs[&id].settlement.request;
        match leg {
            Leg::Burn => request.source,
            Leg::Mint => request.dest,
        }
    }

    fn block_time(&self, domain: Domain) -> u64 {
        self.cfg.block_time_us[domain.index()]
    }

    /// Broadcasts a persisted transaction (again, harmlessly, if need be).
    fn submit<M: Msg>(&mut self, id: SettlementId, leg: Leg, tx: Tx, ctx: &mut Ctx<'_, M>) {
        if !self.may_act(id, ctx) {
            return self.step(id, ctx);
        }
        let chain = self.peers.chains[self.chain_of(id, leg).index()];
        let token = self.jobs[&id].token();
        self.emit_acting(id, token);
        let req = self.begin(id, CallKind::Submit(leg), ctx);
        ctx.send(chain, ChainRequest::Submit { req, tx });
    }

    /// Asks the chain what happened to the persisted transaction of `leg`.
    pub(super) fn query_receipt<M: Msg>(
        &mut self,
        id: SettlementId,
        leg: Leg,
        ctx: &mut Ctx<'_, M>,
    ) {
        let s = self.jobs[&id].settlement;
        let tx = match leg {
            Leg::Burn => s.burn_tx,
            Leg::Mint => s.mint_tx,
        };
        let hash = tx.expect("a receipt query follows signing").hash;
        let chain = self.peers.chains[self.chain_of(id, leg).index()];
        let req = self.begin(id, CallKind::Receipt(leg), ctx);
        ctx.send(chain, ChainRequest::Receipt { req, hash });
    }

    /// Asks the destination who holds the message's nonce slot.
    pub(super) fn query_slot<M: Msg>(&mut self, id: SettlementId, ctx: &mut Ctx<'_, M>) {
        let s = self.jobs[&id].settlement;
        let message = s.message.expect("a slot query follows the burn").id;
        let chain = self.peers.chains[s.request.dest.index()];
        let req = self.begin(id, CallKind::Slot, ctx);
        ctx.send(chain, ChainRequest::Slot { req, id: message });
    }

    /// A chain answered.
    pub fn on_chain_reply<M: Msg>(&mut self, reply: ChainReply, ctx: &mut Ctx<'_, M>) {
        let req = match reply {
            ChainReply::Submitted { req, .. }
            | ChainReply::Receipt { req, .. }
            | ChainReply::Slot { req, .. } => req,
        };
        let Some((id, call)) = self.finish(req, ctx) else {
            return;
        };
        let s = self.jobs[&id].settlement;
        match (call.kind, reply) {
            (CallKind::Submit(leg), ChainReply::Submitted { result, .. }) => match (leg, result) {
                (_, Submitted::MempoolFull) => {
                    let wait = self.block_time(self.chain_of(id, leg));
                    self.wake_later(id, wait, ctx);
                }
                (Leg::Burn, _) if s.stage == Stage::BurnSigned => {
                    self.prepare(id, Advance::BurnSubmitted, ctx)
                }
                (Leg::Burn, _) => self.step(id, ctx),
                (Leg::Mint, _) => {
                    self.jobs.get_mut(&id).expect("job").mint_broadcast = true;
                    let wait = self.block_time(s.request.dest);
                    self.wake_later(id, wait, ctx);
                }
            },
            (CallKind::Receipt(leg), ChainReply::Receipt { receipt, .. }) => {
                let block_time = self.block_time(self.chain_of(id, leg));
                let Some(receipt) = receipt else {
                    // The chain never saw it (dropped from a mempool, or the
                    // broadcast was lost): broadcast the same transaction again.
                    self.jobs.get_mut(&id).expect("job").mint_broadcast = false;
                    let tx = if leg == Leg::Burn {
                        s.burn_tx
                    } else {
                        s.mint_tx
                    };
                    self.submit(id, leg, tx.expect("a receipt query follows signing"), ctx);
                    return;
                };
                match receipt.state {
                    TxState::Included { outcome, .. } if receipt.is_final => {
                        self.on_final(id, leg, outcome, ctx)
                    }
                    TxState::Included { .. } => {
                        let wait = receipt.final_in_us.as_u64().max(block_time);
                        self.wake_later(id, wait, ctx);
                    }
                    TxState::Pending => self.wake_later(id, block_time, ctx),
                }
            }
            (CallKind::Slot, ChainReply::Slot { state, .. }) => match state {
                SlotState::Minted => self.prepare(id, Advance::Complete, ctx),
                SlotState::Unused => {
                    let wait = self.block_time(s.request.dest);
                    self.wake_later(id, wait, ctx);
                }
            },
            (kind, reply) => panic!("reply {reply:?} does not answer call {kind:?}"),
        }
    }

    /// A transaction of settlement `id` is final with `outcome`.
    fn on_final<M: Msg>(
        &mut self,
        id: SettlementId,
        leg: Leg,
        outcome: Outcome,
        ctx: &mut Ctx<'_, M>,
    ) {
        match (leg, outcome) {
            (Leg::Burn, Outcome::Burned(message)) => {
                self.prepare(id, Advance::BurnFinal { message }, ctx)
            }
            (Leg::Burn, Outcome::Reverted(reason)) => {
                self.prepare(id, Advance::Fail { reason }, ctx)
            }
            (Leg::Mint, Outcome::Minted) => self.prepare(id, Advance::Complete, ctx),
            // Someone already won the slot; ask who, do not retry.
            (Leg::Mint, Outcome::Reverted(Revert::NonceAlreadyUsed)) => self.query_slot(id, ctx),
            (Leg::Mint, Outcome::Reverted(_)) => {
                let wait = self.cfg.attest_retry_us;
                self.wake_later(id, wait, ctx);
            }
            (leg, outcome) => panic!("{leg:?} transaction of {id} had outcome {outcome:?}"),
        }
    }

    /// The attester answered.
    pub fn on_attester_reply<M: Msg>(&mut self, reply: AttesterReply, ctx: &mut Ctx<'_, M>) {
        let req = match reply {
            AttesterReply::Attested { req, .. }
            | AttesterReply::Pending { req }
            | AttesterReply::Refused { req } => req,
        };
        let Some((id, _)) = self.finish(req, ctx) else {
            return;
        };
        match reply {
            AttesterReply::Attested { attestation, .. } => {
                self.prepare(id, Advance::Attested { attestation }, ctx)
            }
            AttesterReply::Pending { .. } | AttesterReply::Refused { .. } => {
                let wait = self.cfg.attest_retry_us;
                self.wake_later(id, wait, ctx);
            }
        }
    }
}
