//! The worker's decisions along the saga: from each persisted stage, the one
//! next thing to do, and what each answer from a chain or the attester means.

use super::job::{CallKind, Write};
use super::{Msg, Worker, WorkerTimer};
use crate::chain::{
    Attestation, AttesterReply, AttesterRequest, ChainClock, ChainReply, ChainRequest, Domain,
    Lookup, Outcome, Revert, SlotState, Submitted, Tx, TxBody, TxState,
};
use crate::engine::defects::Defect;
use crate::engine::protocol::StoreRequest;
use crate::engine::settlement::{Advance, Leg, SettlementId, SignedTx, Stage};
use crate::sim::{Ctx, Micros, RequestId, UniformDraw};
use rand::RngCore;

impl Worker {
    /// Issues the next call for settlement `id`, from its persisted stage.
    /// The caller has made sure of the lease and the claim.
    pub(super) fn act<M: Msg>(&mut self, id: SettlementId, ctx: &mut Ctx<'_, M>) {
        let job = self.jobs.get_mut(id).expect("acting on an unknown job");
        let resumed = std::mem::take(&mut job.resumed);
        let (broadcast, shortcut) = (job.broadcast, job.shortcut);
        let s = job.settlement;
        let token = self.token_of(id);
        let source = self.peers.chains[s.request.source.index()];
        if resumed
            && self.defects.has(Defect::RetryFromScratch)
            && matches!(s.stage, Stage::BurnSigned | Stage::BurnSubmitted)
        {
            // Planted defect: treat the in-flight burn as lost and start over.
            let fresh = self.sign(s.request.source, s.burn_body(), ctx);
            self.emit_acting(id, token);
            ctx.send(
                source,
                ChainRequest::Submit {
                    req: RequestId(0),
                    tx: fresh,
                },
            );
        }
        let message = s.message;
        match s.stage {
            Stage::Requested => {
                let tx = self.sign(s.request.source, s.burn_body(), ctx);
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
                let step = Advance::SignBurn {
                    tx: tx.into(),
                    replaces: None,
                };
                self.prepare(id, step, ctx);
            }
            Stage::BurnSigned => self.submit(id, Leg::Burn, ctx),
            Stage::BurnSubmitted => self.query_receipt(id, Leg::Burn, ctx),
            Stage::BurnFinal => {
                let message = message.expect("BurnFinal records the message");
                let burn_tx = s.burn_tx.expect("BurnFinal records the burn").hash;
                let fast = self.defects.has(Defect::MintBeforeFinality);
                let req = self.begin(id, CallKind::Attest, ctx);
                ctx.send(
                    self.peers.attester,
                    AttesterRequest::Attest {
                        req,
                        message,
                        burn_tx,
                        fast,
                    },
                );
            }
            Stage::Attested => self.sign_mint(id, ctx),
            Stage::MintSigned if broadcast => self.query_receipt(id, Leg::Mint, ctx),
            Stage::MintSigned => self.submit(id, Leg::Mint, ctx),
            Stage::CancelSigned if shortcut => self.prepare(id, Advance::CancelFinal, ctx),
            Stage::CancelSigned if broadcast => self.query_receipt(id, Leg::Cancel, ctx),
            Stage::CancelSigned => self.submit(id, Leg::Cancel, ctx),
            // Planted defect: an operator refund, with no cancel proof.
            Stage::Cancelled if shortcut => self.sign_refund(id, None, ctx),
            Stage::Cancelled => {
                let message = message.expect("a cancel follows the burn");
                let cancel_tx = s.cancel_tx.expect("Cancelled records the cancel").hash;
                let req = self.begin(id, CallKind::AttestCancel, ctx);
                ctx.send(
                    self.peers.attester,
                    AttesterRequest::AttestCancel {
                        req,
                        message,
                        cancel_tx,
                    },
                );
            }
            Stage::RefundSigned if broadcast => self.query_receipt(id, Leg::Refund, ctx),
            Stage::RefundSigned => self.submit(id, Leg::Refund, ctx),
            Stage::Completed | Stage::Failed | Stage::Refunded => self.finish_job(id, ctx),
        }
    }

    /// Signs `body` for chain `domain` into a transaction valid for the
    /// engine's transaction lifetime from the chain's time now (as this
    /// worker reckons it).
    fn sign<M: Msg>(&self, domain: Domain, body: TxBody, ctx: &mut Ctx<'_, M>) -> Tx {
        let chain_now = self.chain_times.now(domain, ctx.monotonic(), ctx.now());
        Tx::sign(
            body,
            chain_now + Micros(self.cfg.tx_ttl_us),
            ctx.rng().next_u64(),
        )
    }

    /// Signs a (new) mint transaction for the attested message.
    fn sign_mint<M: Msg>(&mut self, id: SettlementId, ctx: &mut Ctx<'_, M>) {
        let s = self.jobs[id].settlement;
        let body = s.body(Leg::Mint).expect("a mint follows the attestation");
        let tx = self.sign(s.request.dest, body, ctx).into();
        let replaces = s.held(Leg::Mint);
        self.prepare(id, Advance::SignMint { tx, replaces }, ctx);
    }

    /// The chain says the transaction of `leg` expired unincluded: it never
    /// can be now, so a new one with the same body takes its place.
    fn replace<M: Msg>(&mut self, id: SettlementId, leg: Leg, ctx: &mut Ctx<'_, M>) {
        let s = self.jobs[id].settlement;
        let body = s
            .body(leg)
            .expect("a replaced transaction was signed before");
        let tx = self.sign(self.chain_of(id, leg), body, ctx).into();
        let replaces = s.held(leg);
        let step = match leg {
            Leg::Burn => Advance::SignBurn { tx, replaces },
            Leg::Mint => Advance::SignMint { tx, replaces },
            Leg::Cancel => Advance::SignCancel { tx, replaces },
            Leg::Refund => Advance::SignRefund {
                tx,
                proof: s.refund_proof,
                replaces,
            },
        };
        self.prepare(id, step, ctx);
    }

    /// The transaction of `leg` is past the chain's history: whether it was
    /// included can no longer be told from its hash. A mint or cancel is
    /// replaced (the nonce slot stops a second one), a refund too (the chain
    /// refunds a burn once). A burn has nothing on chain to ask: the
    /// settlement waits for an operator, and the checkers see it unresolved.
    fn beyond_history<M: Msg>(&mut self, id: SettlementId, leg: Leg, ctx: &mut Ctx<'_, M>) {
        match leg {
            Leg::Burn => self.await_operator(id, ctx),
            Leg::Mint | Leg::Cancel | Leg::Refund => self.replace(id, leg, ctx),
        }
    }

    /// Settlement `id` needs a burn's record its source chain has forgotten:
    /// it waits for an operator, looking again now and then, and is marked
    /// so that it does not hold its shard here (see `lease.rs`).
    fn await_operator<M: Msg>(&mut self, id: SettlementId, ctx: &mut Ctx<'_, M>) {
        let job = self
            .jobs
            .get_mut(id)
            .expect("an unknown job awaits an operator");
        if !job.awaiting_operator {
            job.awaiting_operator = true;
            self.shards[self.cfg.sharding.of(id).0 as usize].awaiting_operator += 1;
        }
        let wait = self.cfg.attest_retry_us;
        self.wake_later(id, wait, ctx);
    }

    /// Gives the mint up: cancel on the destination (so it can never mint),
    /// then refund on the source. `shortcut` is the planted defect's way:
    /// no cancel at all, an operator refund.
    pub(super) fn compensate<M: Msg>(
        &mut self,
        id: SettlementId,
        shortcut: bool,
        ctx: &mut Ctx<'_, M>,
    ) {
        if self.defects.has(Defect::NoCompensation) {
            // Planted defect: keep trying a mint that cannot happen.
            let wait = self.cfg.attest_retry_us;
            return self.wake_later(id, wait, ctx);
        }
        let job = self.jobs.get_mut(id).expect("compensating an unknown job");
        job.shortcut = shortcut;
        let s = job.settlement;
        let body = s.body(Leg::Cancel).expect("compensation follows the burn");
        let tx = self.sign(s.request.dest, body, ctx).into();
        let replaces = s.held(Leg::Cancel);
        self.prepare(id, Advance::SignCancel { tx, replaces }, ctx);
    }

    /// Signs the refund, carrying `proof`: the attester's cancel proof
    /// (`None` only for the planted defect's operator refund).
    fn sign_refund<M: Msg>(
        &mut self,
        id: SettlementId,
        proof: Option<Attestation>,
        ctx: &mut Ctx<'_, M>,
    ) {
        let s = self.jobs[id].settlement;
        let body = s.refund_body(proof).expect("a refund follows the burn");
        let tx = self.sign(s.request.source, body, ctx).into();
        let replaces = s.held(Leg::Refund);
        self.prepare(
            id,
            Advance::SignRefund {
                tx,
                proof,
                replaces,
            },
            ctx,
        );
    }

    /// True past the settlement's deadline, by this worker's wall clock.
    fn past_deadline<M: Msg>(&self, id: SettlementId, ctx: &Ctx<'_, M>) -> bool {
        ctx.now().as_u64() > self.jobs[id].settlement.deadline_us
    }

    /// True if the worker may act on `id` now: the lease on its shard is
    /// still valid by its own conservative reckoning, and the settlement is
    /// claimed under it.
    fn may_act<M: Msg>(&self, id: SettlementId, ctx: &Ctx<'_, M>) -> bool {
        let fence = self.jobs[id].settlement.fence;
        self.defects.has(Defect::LockNone)
            || self
                .valid_lease(self.cfg.sharding.of(id), ctx.monotonic())
                .is_some_and(|l| l.token == fence)
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
        let token = self.token_of(id);
        self.emit_acting(id, token);
        if self.cfg.commit_delay_us_max == 0 {
            return self.send_write(id, write, token, ctx);
        }
        let delay = ctx.rng().between(1, self.cfg.commit_delay_us_max);
        ctx.set_timer(Micros(delay), WorkerTimer::Commit { id });
        self.jobs
            .get_mut(id)
            .expect("writing for an unknown job")
            .commit = Some((write, token));
    }

    /// Sends a prepared write under lease `token`: a claim (compare-and-set
    /// on the version, making the token the fence) or a step (compare-and-set
    /// on the stage and on the transaction a signing replaces, fenced).
    pub(super) fn send_write<M: Msg>(
        &mut self,
        id: SettlementId,
        write: Write,
        token: u64,
        ctx: &mut Ctx<'_, M>,
    ) {
        let job = &self.jobs[id];
        let (stage, version) = (job.settlement.stage, job.settlement.version);
        let request = match write {
            Write::Claim => {
                let req = self.begin(id, CallKind::Claim(token), ctx);
                StoreRequest::Claim {
                    req,
                    id,
                    version,
                    token,
                }
            }
            Write::Step(step) => {
                let req = self.begin(id, CallKind::Advance(step, token), ctx);
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
        let request = self.jobs[id].settlement.request;
        match leg {
            Leg::Burn | Leg::Refund => request.source,
            Leg::Mint | Leg::Cancel => request.dest,
        }
    }

    /// The persisted transaction of `leg`, rebuilt whole (to broadcast).
    fn tx_of(&self, id: SettlementId, leg: Leg) -> Tx {
        self.jobs[id]
            .settlement
            .tx(leg)
            .expect("a chain call follows signing")
    }

    /// The record of `leg`'s persisted transaction: hash and validity, for
    /// asking after it without rebuilding its body.
    fn signed_of(&self, id: SettlementId, leg: Leg) -> SignedTx {
        self.jobs[id]
            .settlement
            .signed(leg)
            .expect("a chain call follows signing")
    }

    fn block_time(&self, domain: Domain) -> u64 {
        self.cfg.block_time_us[domain.index()]
    }

    /// Broadcasts the persisted transaction of `leg` (again, harmlessly, if
    /// need be).
    fn submit<M: Msg>(&mut self, id: SettlementId, leg: Leg, ctx: &mut Ctx<'_, M>) {
        if !self.may_act(id, ctx) {
            return self.step(id, ctx);
        }
        let tx = self.tx_of(id, leg);
        let chain = self.peers.chains[self.chain_of(id, leg).index()];
        let token = self.token_of(id);
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
        let hash = self.signed_of(id, leg).hash;
        let chain = self.peers.chains[self.chain_of(id, leg).index()];
        let req = self.begin(id, CallKind::Receipt(leg), ctx);
        ctx.send(chain, ChainRequest::Receipt { req, hash });
    }

    /// Asks the destination who holds the message's nonce slot.
    pub(super) fn query_slot<M: Msg>(&mut self, id: SettlementId, ctx: &mut Ctx<'_, M>) {
        let s = self.jobs[id].settlement;
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
            | ChainReply::Slot { req, .. }
            | ChainReply::Unavailable { req } => req,
        };
        let Some((id, call)) = self.finish(req, ctx) else {
            return;
        };
        let s = self.jobs[id].settlement;
        if let (
            CallKind::Submit(leg) | CallKind::Receipt(leg),
            ChainReply::Submitted { clock, .. } | ChainReply::Receipt { clock, .. },
        ) = (call.kind, reply)
        {
            let domain = self.chain_of(id, leg);
            self.chain_times.heard(domain, clock.now, ctx.monotonic());
        }
        match (call.kind, reply) {
            (_, ChainReply::Unavailable { .. }) => {
                // The chain is halted. A destination halted past the deadline
                // is given up on; anything else waits.
                if s.stage == Stage::MintSigned && self.past_deadline(id, ctx) {
                    return self.compensate(id, false, ctx);
                }
                let wait = self.cfg.attest_retry_us;
                self.wake_later(id, wait, ctx);
            }
            (CallKind::Submit(leg), ChainReply::Submitted { result, .. }) => match (leg, result) {
                (_, Submitted::MempoolFull) => {
                    let wait = self.block_time(self.chain_of(id, leg));
                    self.wake_later(id, wait, ctx);
                }
                (_, Submitted::Expired) => self.replace(id, leg, ctx),
                (_, Submitted::Forgotten) => self.beyond_history(id, leg, ctx),
                (Leg::Burn, _) if s.stage == Stage::BurnSigned => {
                    self.prepare(id, Advance::BurnSubmitted, ctx)
                }
                (Leg::Burn, _) => self.step(id, ctx),
                (leg, _) => {
                    self.jobs.get_mut(id).expect("job").broadcast = true;
                    let wait = self.block_time(self.chain_of(id, leg));
                    self.wake_later(id, wait, ctx);
                }
            },
            (CallKind::Receipt(leg), ChainReply::Receipt { receipt, clock, .. }) => {
                let domain = self.chain_of(id, leg);
                let block_time = self.block_time(domain);
                let valid_until = self.signed_of(id, leg).valid_until;
                let clock = if self.defects.has(Defect::ExpiryByNewestClock) {
                    // Planted defect: judged by the newest time heard from
                    // the chain, not by the clock of the node that answered.
                    let newest = self.chain_times.newest(domain, ctx.monotonic());
                    ChainClock {
                        now: newest.map_or(clock.now, |n| n.max(clock.now)),
                        ..clock
                    }
                } else {
                    clock
                };
                let receipt = match Lookup::of(valid_until, receipt, clock) {
                    Lookup::Found(receipt) => receipt,
                    Lookup::Unknown
                        if leg == Leg::Burn && self.defects.has(Defect::UnseenAsDropped) =>
                    {
                        // Planted defect: "not seen" taken for "never will be".
                        return self.replace(id, leg, ctx);
                    }
                    Lookup::Unknown => {
                        // The chain does not have it (dropped from a mempool,
                        // lost in a reorg, or the broadcast was lost) and it
                        // may still be included: broadcast the same
                        // transaction again.
                        self.jobs.get_mut(id).expect("job").broadcast = false;
                        return self.submit(id, leg, ctx);
                    }
                    Lookup::Expired => return self.replace(id, leg, ctx),
                    Lookup::Forgotten => return self.beyond_history(id, leg, ctx),
                };
                match receipt.state {
                    TxState::Included { outcome, .. } if receipt.is_final => {
                        self.on_final(id, leg, outcome, ctx)
                    }
                    TxState::Included {
                        outcome: Outcome::Burned(message),
                        ..
                    } if leg == Leg::Burn && self.defects.has(Defect::MintBeforeFinality) => {
                        // Planted defect: treat an included burn as final.
                        self.prepare(id, Advance::BurnFinal { message }, ctx);
                    }
                    TxState::Included { .. } => {
                        // Read it again before it could be final if that is
                        // more than half its lifetime away: a reorg can lose
                        // it meanwhile, and found while it is still valid it
                        // is broadcast again, not replaced and waited out anew.
                        let wait = receipt
                            .final_in_us
                            .as_u64()
                            .min(self.cfg.tx_ttl_us / 2)
                            .max(block_time);
                        self.wake_later(id, wait, ctx);
                    }
                    TxState::Pending
                        if leg == Leg::Burn && self.defects.has(Defect::ReplaceBeforeExpiry) =>
                    {
                        // Planted defect: an impatient replacement of a burn
                        // the chain may still include.
                        self.replace(id, leg, ctx)
                    }
                    TxState::Pending => self.wake_later(id, block_time, ctx),
                }
            }
            (
                CallKind::Slot,
                ChainReply::Slot {
                    state, is_final, ..
                },
            ) => match (state, is_final) {
                (SlotState::Minted, true) => self.prepare(id, Advance::Complete, ctx),
                (SlotState::Cancelled, true) if s.stage == Stage::CancelSigned => {
                    self.prepare(id, Advance::CancelFinal, ctx)
                }
                _ => {
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
            // Someone already won the slot (a mint or our cancel): ask who.
            (Leg::Mint | Leg::Cancel, Outcome::Reverted(Revert::NonceAlreadyUsed)) => {
                self.query_slot(id, ctx)
            }
            (Leg::Mint, Outcome::Reverted(reason)) if reason.is_permanent_for_mint() => {
                self.compensate(id, false, ctx)
            }
            (Leg::Mint, Outcome::Reverted(_)) if self.past_deadline(id, ctx) => {
                self.compensate(id, false, ctx)
            }
            // A temporary rejection: a new mint transaction, a little later.
            (Leg::Mint, Outcome::Reverted(_)) => self.sign_mint(id, ctx),
            (Leg::Cancel, Outcome::Cancelled) => self.prepare(id, Advance::CancelFinal, ctx),
            (Leg::Refund, Outcome::Refunded) => self.prepare(id, Advance::Refund, ctx),
            // The burn is refunded already: by this refund, re-included, or
            // by an earlier one of this settlement that expired from view.
            (Leg::Refund, Outcome::Reverted(Revert::NotRefundable)) => {
                self.prepare(id, Advance::Refund, ctx)
            }
            // The burn is past the source's history: the refund cannot be
            // checked, and waits for an operator.
            (Leg::Refund, Outcome::Reverted(Revert::BeyondHistory)) => self.await_operator(id, ctx),
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
        let Some((id, call)) = self.finish(req, ctx) else {
            return;
        };
        match (reply, call.kind) {
            (AttesterReply::Attested { attestation, .. }, CallKind::Attest) => {
                self.prepare(id, Advance::Attested { attestation }, ctx);
            }
            (AttesterReply::Attested { attestation, .. }, _) => {
                self.sign_refund(id, Some(attestation), ctx)
            }
            (AttesterReply::Pending { .. } | AttesterReply::Refused { .. }, _) => {
                let wait = self.cfg.attest_retry_us;
                self.wake_later(id, wait, ctx);
            }
        }
    }
}
