//! A worker: drives settlements from their persisted recovery point to a
//! terminal stage, one outstanding call per settlement.
//!
//! The rules that make retries exactly-once:
//! - every decision starts from the stage the store holds, never from memory;
//! - a transaction is signed into the store before it is broadcast, so a
//!   retry re-broadcasts the *same* transaction;
//! - after any timeout the worker asks (the chain, the store) before acting
//!   again: a timeout says nothing about whether the call took effect.

use super::defects::{Defect, Defects};
use super::protocol::{StoreNotice, StoreReply, StoreRequest};
use super::settlement::{Advance, Settlement, SettlementId, Stage};
use crate::chain::{
    AttesterReply, AttesterRequest, ChainReply, ChainRequest, Outcome, Revert, SlotState,
    Submitted, Tx, TxBody, TxState,
};
use crate::sim::{Ctx, Micros, NodeId, RequestId, TimerId};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// How a worker paces itself.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WorkerConfig {
    /// The most settlements it drives at once.
    pub capacity: u32,
    /// How long it waits for any reply before asking again.
    pub rpc_timeout_us: u64,
    /// Shortest pause between two scans of the store for unfinished work.
    pub sweep_us_min: u64,
    /// Longest pause between two scans (the back-off ceiling when idle).
    pub sweep_us_max: u64,
    /// Pause before asking the attester again after "pending".
    pub attest_retry_us: u64,
    /// Each chain's block time, by domain: how long to wait on a pending
    /// transaction before asking again.
    pub block_time_us: Vec<u64>,
}

/// A worker's own timers.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Serialize, Deserialize)]
#[serde(tag = "timer", rename_all = "snake_case")]
pub enum WorkerTimer {
    /// The call `req` for settlement `id` got no answer in time.
    Timeout {
        /// The settlement.
        id: SettlementId,
        /// The call.
        req: RequestId,
    },
    /// Time to look at settlement `id` again.
    Wake {
        /// The settlement.
        id: SettlementId,
    },
    /// Time to scan the store for unfinished settlements.
    Sweep,
}

/// Which transaction of a settlement a chain call is about.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Leg {
    Burn,
    Mint,
}

/// What an outstanding call asked.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum CallKind {
    Advance(Advance),
    Get,
    Submit(Leg),
    Receipt(Leg),
    Attest,
    Slot,
}

#[derive(Clone, Copy, Debug)]
struct Call {
    req: RequestId,
    kind: CallKind,
    timeout: TimerId,
}

/// One settlement this worker is driving.
struct Job {
    /// The settlement as last persisted (as far as this worker knows).
    settlement: Settlement,
    call: Option<Call>,
    wake: Option<TimerId>,
    /// This incarnation has broadcast the mint at least once.
    mint_broadcast: bool,
    /// Taken over from the store rather than advanced here: the next drive
    /// resumes someone else's (or a crashed self's) work.
    resumed: bool,
}

/// The worker node. All of its state is volatile: after a crash it learns
/// everything again from the store.
pub struct Worker {
    cfg: WorkerConfig,
    store: NodeId,
    attester: NodeId,
    chains: Vec<NodeId>,
    jobs: BTreeMap<SettlementId, Job>,
    calls: BTreeMap<RequestId, SettlementId>,
    next_req: u64,
    sweep_from: SettlementId,
    sweep_us: u64,
    /// The scan in flight and its page size.
    sweep_call: Option<(RequestId, u32)>,
    defects: Defects,
}

impl Worker {
    /// A fresh worker (at boot, or after a crash).
    pub fn new(
        cfg: WorkerConfig,
        store: NodeId,
        attester: NodeId,
        chains: Vec<NodeId>,
        defects: Defects,
    ) -> Worker {
        assert_eq!(cfg.block_time_us.len(), chains.len());
        let sweep_us = cfg.sweep_us_min;
        Worker {
            cfg,
            store,
            attester,
            chains,
            jobs: BTreeMap::new(),
            calls: BTreeMap::new(),
            next_req: 0,
            sweep_from: SettlementId(0),
            sweep_us,
            sweep_call: None,
            defects,
        }
    }

    /// Settlements being driven now.
    pub fn active(&self) -> usize {
        self.jobs.len()
    }

    /// Boot: look for unfinished work straight away.
    pub fn on_start<M: Clone + From<WorkerTimer>>(&mut self, ctx: &mut Ctx<'_, M>) {
        ctx.set_timer(Micros(1), WorkerTimer::Sweep);
    }

    /// A timer fired.
    pub fn on_timer<M: Msg>(&mut self, timer: WorkerTimer, ctx: &mut Ctx<'_, M>) {
        match timer {
            WorkerTimer::Sweep => self.sweep(ctx),
            WorkerTimer::Wake { id } => {
                if let Some(job) = self.jobs.get_mut(&id) {
                    job.wake = None;
                    self.drive(id, ctx);
                }
            }
            WorkerTimer::Timeout { id, req } => self.on_timeout(id, req, ctx),
        }
    }

    /// The store pushed a hint.
    pub fn on_notice<M: Msg>(&mut self, notice: StoreNotice, ctx: &mut Ctx<'_, M>) {
        let StoreNotice::WorkAvailable { settlement } = notice;
        self.adopt(*settlement, ctx);
    }

    fn adopt<M: Msg>(&mut self, settlement: Settlement, ctx: &mut Ctx<'_, M>) -> bool {
        let id = settlement.id;
        if settlement.stage.is_terminal()
            || self.jobs.contains_key(&id)
            || self.jobs.len() >= self.cfg.capacity as usize
        {
            return false;
        }
        self.jobs.insert(
            id,
            Job {
                settlement,
                call: None,
                wake: None,
                mint_broadcast: false,
                resumed: true,
            },
        );
        self.drive(id, ctx);
        true
    }

    /// Scans the store for unfinished settlements. The timer set here is both
    /// the next scan and the timeout of this one: an answer that has not come
    /// by then is forgotten.
    fn sweep<M: Msg>(&mut self, ctx: &mut Ctx<'_, M>) {
        self.sweep_call = None;
        let room = self.cfg.capacity.saturating_sub(self.jobs.len() as u32);
        if room > 0 {
            let req = self.next_request();
            self.sweep_call = Some((req, room));
            ctx.send(
                self.store,
                StoreRequest::Runnable {
                    req,
                    from: self.sweep_from,
                    limit: room,
                },
            );
        }
        ctx.set_timer(
            Micros(self.sweep_us.max(self.cfg.rpc_timeout_us)),
            WorkerTimer::Sweep,
        );
    }

    fn on_sweep_reply<M: Msg>(
        &mut self,
        limit: u32,
        settlements: Vec<Settlement>,
        ctx: &mut Ctx<'_, M>,
    ) {
        self.sweep_call = None;
        // A full page means there may be more: continue after it next time.
        self.sweep_from = match settlements.last() {
            Some(last) if settlements.len() >= limit as usize => SettlementId(last.id.0 + 1),
            _ => SettlementId(0),
        };
        let mut adopted = false;
        for s in settlements {
            adopted |= self.adopt(s, ctx);
        }
        self.sweep_us = if adopted {
            self.cfg.sweep_us_min
        } else {
            (self.sweep_us * 2).min(self.cfg.sweep_us_max)
        };
    }

    /// Issues the next call for settlement `id`, from its persisted stage.
    fn drive<M: Msg>(&mut self, id: SettlementId, ctx: &mut Ctx<'_, M>) {
        let job = self.jobs.get_mut(&id).expect("driving an unknown job");
        debug_assert!(job.call.is_none() && job.wake.is_none());
        let resumed = std::mem::take(&mut job.resumed);
        let job = &*job;
        let s = job.settlement;
        if resumed
            && self.defects.has(Defect::RetryFromScratch)
            && matches!(s.stage, Stage::BurnSigned | Stage::BurnSubmitted)
        {
            // Planted defect: treat the in-flight burn as lost and start over.
            let fresh = Tx::sign(s.burn_body(), ctx.rng().next_u64());
            ctx.send(
                self.chains[s.request.source.index()],
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
                        self.chains[s.request.source.index()],
                        ChainRequest::Submit {
                            req: RequestId(0),
                            tx,
                        },
                    );
                }
                self.store_advance(id, Advance::SignBurn { tx }, ctx);
            }
            Stage::BurnSigned => {
                let tx = s.burn_tx.expect("BurnSigned records the burn");
                self.chain_call(
                    id,
                    s.request.source.index(),
                    CallKind::Submit(Leg::Burn),
                    ChainCall::Submit(tx),
                    ctx,
                );
            }
            Stage::BurnSubmitted => {
                let hash = s.burn_tx.expect("BurnSubmitted records the burn").hash;
                self.chain_call(
                    id,
                    s.request.source.index(),
                    CallKind::Receipt(Leg::Burn),
                    ChainCall::Receipt(hash),
                    ctx,
                );
            }
            Stage::BurnFinal => {
                let message = s.message.expect("BurnFinal records the message");
                let burn_tx = s.burn_tx.expect("BurnFinal records the burn").hash;
                let req = self.begin(id, CallKind::Attest, ctx);
                ctx.send(
                    self.attester,
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
                self.store_advance(id, Advance::SignMint { tx }, ctx);
            }
            Stage::MintSigned => {
                let tx = s.mint_tx.expect("MintSigned records the mint");
                let dest = s.request.dest.index();
                if job.mint_broadcast {
                    self.chain_call(
                        id,
                        dest,
                        CallKind::Receipt(Leg::Mint),
                        ChainCall::Receipt(tx.hash),
                        ctx,
                    );
                } else {
                    self.chain_call(
                        id,
                        dest,
                        CallKind::Submit(Leg::Mint),
                        ChainCall::Submit(tx),
                        ctx,
                    );
                }
            }
            Stage::Completed | Stage::Failed => {
                self.jobs.remove(&id);
            }
        }
    }

    fn next_request(&mut self) -> RequestId {
        self.next_req += 1;
        RequestId(self.next_req)
    }

    /// Registers an outstanding call for `id` with its timeout.
    fn begin<M: Msg>(
        &mut self,
        id: SettlementId,
        kind: CallKind,
        ctx: &mut Ctx<'_, M>,
    ) -> RequestId {
        let req = self.next_request();
        let timeout = ctx.set_timer(
            Micros(self.cfg.rpc_timeout_us),
            WorkerTimer::Timeout { id, req },
        );
        let job = self.jobs.get_mut(&id).expect("call for an unknown job");
        job.call = Some(Call { req, kind, timeout });
        self.calls.insert(req, id);
        req
    }

    fn store_advance<M: Msg>(&mut self, id: SettlementId, step: Advance, ctx: &mut Ctx<'_, M>) {
        let s = self.jobs[&id].settlement;
        let req = self.begin(id, CallKind::Advance(step), ctx);
        let advance = StoreRequest::Advance {
            req,
            id,
            version: s.version,
            stage: s.stage,
            fence: s.fence,
            step,
        };
        ctx.send(self.store, advance);
    }

    fn store_get<M: Msg>(&mut self, id: SettlementId, ctx: &mut Ctx<'_, M>) {
        let req = self.begin(id, CallKind::Get, ctx);
        ctx.send(self.store, StoreRequest::Get { req, id });
    }

    fn chain_call<M: Msg>(
        &mut self,
        id: SettlementId,
        chain: usize,
        kind: CallKind,
        call: ChainCall,
        ctx: &mut Ctx<'_, M>,
    ) {
        let req = self.begin(id, kind, ctx);
        let request = match call {
            ChainCall::Submit(tx) => ChainRequest::Submit { req, tx },
            ChainCall::Receipt(hash) => ChainRequest::Receipt { req, hash },
            ChainCall::Slot(message) => ChainRequest::Slot { req, id: message },
        };
        ctx.send(self.chains[chain], request);
    }

    /// Ends the outstanding call `req`; `None` if it is stale (answered or
    /// timed out already, or the job is gone).
    fn finish<M: Msg>(
        &mut self,
        req: RequestId,
        ctx: &mut Ctx<'_, M>,
    ) -> Option<(SettlementId, CallKind)> {
        let id = self.calls.remove(&req)?;
        let job = self.jobs.get_mut(&id)?;
        let call = job.call.filter(|c| c.req == req)?;
        job.call = None;
        ctx.cancel_timer(call.timeout);
        Some((id, call.kind))
    }

    /// Looks at `id` again after `after` of local time.
    fn wake_later<M: Msg>(&mut self, id: SettlementId, after: u64, ctx: &mut Ctx<'_, M>) {
        let timer = ctx.set_timer(Micros(after.max(1)), WorkerTimer::Wake { id });
        self.jobs.get_mut(&id).expect("waking an unknown job").wake = Some(timer);
    }

    fn on_timeout<M: Msg>(&mut self, id: SettlementId, req: RequestId, ctx: &mut Ctx<'_, M>) {
        let Some(job) = self.jobs.get_mut(&id) else {
            return;
        };
        let Some(call) = job.call.filter(|c| c.req == req) else {
            return;
        };
        job.call = None;
        self.calls.remove(&req);
        // A timeout says nothing about whether the call took effect: ask
        // before acting again.
        match call.kind {
            CallKind::Advance(_) | CallKind::Get => self.store_get(id, ctx),
            CallKind::Submit(leg) | CallKind::Receipt(leg) => {
                let s = job.settlement;
                let (chain, tx) = match leg {
                    Leg::Burn => (s.request.source, s.burn_tx),
                    Leg::Mint => (s.request.dest, s.mint_tx),
                };
                let hash = tx.expect("a chain call follows signing").hash;
                self.chain_call(
                    id,
                    chain.index(),
                    CallKind::Receipt(leg),
                    ChainCall::Receipt(hash),
                    ctx,
                );
            }
            CallKind::Attest | CallKind::Slot => self.drive_or_query(id, call.kind, ctx),
        }
    }

    fn drive_or_query<M: Msg>(&mut self, id: SettlementId, kind: CallKind, ctx: &mut Ctx<'_, M>) {
        match kind {
            CallKind::Slot => {
                let s = self.jobs[&id].settlement;
                let message = s.message.expect("a slot query follows the burn").id;
                self.chain_call(
                    id,
                    s.request.dest.index(),
                    CallKind::Slot,
                    ChainCall::Slot(message),
                    ctx,
                );
            }
            _ => self.drive(id, ctx),
        }
    }

    /// The store answered.
    pub fn on_store_reply<M: Msg>(&mut self, reply: StoreReply, ctx: &mut Ctx<'_, M>) {
        match reply {
            StoreReply::Runnable { req, settlements } => {
                if let Some((sweep, limit)) = self.sweep_call {
                    if sweep == req {
                        self.on_sweep_reply(limit, settlements, ctx);
                    }
                }
            }
            StoreReply::Advanced { req, id, version } => {
                let Some((_, CallKind::Advance(step))) = self.finish(req, ctx) else {
                    return;
                };
                let job = self.jobs.get_mut(&id).expect("finished call has a job");
                job.settlement
                    .apply(&step)
                    .expect("the store accepted this step from this state");
                assert_eq!(
                    job.settlement.version, version,
                    "store and worker disagree on {id}'s version"
                );
                self.drive(id, ctx);
            }
            StoreReply::Conflict { req, current } => {
                let Some((id, _)) = self.finish(req, ctx) else {
                    return;
                };
                self.refresh(id, *current, ctx);
            }
            StoreReply::Found { req, settlement } => {
                let Some((id, _)) = self.finish(req, ctx) else {
                    return;
                };
                match settlement {
                    Some(s) => self.refresh(id, *s, ctx),
                    None => {
                        self.jobs.remove(&id);
                    }
                }
            }
            StoreReply::Initiated { .. } | StoreReply::KeyConflict { .. } => {}
        }
    }

    /// Takes the store's view of a settlement and carries on from it.
    fn refresh<M: Msg>(&mut self, id: SettlementId, current: Settlement, ctx: &mut Ctx<'_, M>) {
        let job = self.jobs.get_mut(&id).expect("refresh of an unknown job");
        if current.version >= job.settlement.version {
            job.settlement = current;
        }
        self.drive(id, ctx);
    }

    /// A chain answered.
    pub fn on_chain_reply<M: Msg>(&mut self, reply: ChainReply, ctx: &mut Ctx<'_, M>) {
        let req = match reply {
            ChainReply::Submitted { req, .. }
            | ChainReply::Receipt { req, .. }
            | ChainReply::Slot { req, .. } => req,
        };
        let Some((id, kind)) = self.finish(req, ctx) else {
            return;
        };
        let s = self.jobs[&id].settlement;
        let block_time = |domain: crate::chain::Domain| self.cfg.block_time_us[domain.index()];
        match (kind, reply) {
            (CallKind::Submit(leg), ChainReply::Submitted { result, .. }) => match (leg, result) {
                (_, Submitted::MempoolFull) => {
                    let chain = if leg == Leg::Burn {
                        s.request.source
                    } else {
                        s.request.dest
                    };
                    self.wake_later(id, block_time(chain), ctx);
                }
                (Leg::Burn, _) if s.stage == Stage::BurnSigned => {
                    self.store_advance(id, Advance::BurnSubmitted, ctx);
                }
                (Leg::Burn, _) => self.drive(id, ctx),
                (Leg::Mint, _) => {
                    self.jobs.get_mut(&id).expect("job").mint_broadcast = true;
                    self.wake_later(id, block_time(s.request.dest), ctx);
                }
            },
            (CallKind::Receipt(leg), ChainReply::Receipt { receipt, .. }) => {
                let chain = if leg == Leg::Burn {
                    s.request.source
                } else {
                    s.request.dest
                };
                let Some(receipt) = receipt else {
                    // The chain never saw it (dropped from a mempool, or the
                    // broadcast was lost): broadcast the same transaction again.
                    self.jobs.get_mut(&id).expect("job").mint_broadcast = false;
                    let tx = if leg == Leg::Burn {
                        s.burn_tx
                    } else {
                        s.mint_tx
                    };
                    let tx = tx.expect("a receipt query follows signing");
                    self.chain_call(
                        id,
                        chain.index(),
                        CallKind::Submit(leg),
                        ChainCall::Submit(tx),
                        ctx,
                    );
                    return;
                };
                match receipt.state {
                    TxState::Included { outcome, .. } if receipt.is_final => {
                        self.on_final(id, leg, outcome, ctx)
                    }
                    TxState::Included { .. } => {
                        let wait = receipt.final_in_us.as_u64().max(block_time(chain));
                        self.wake_later(id, wait, ctx);
                    }
                    TxState::Pending => self.wake_later(id, block_time(chain), ctx),
                }
            }
            (CallKind::Slot, ChainReply::Slot { state, .. }) => match state {
                SlotState::Minted => self.store_advance(id, Advance::Complete, ctx),
                SlotState::Unused => self.wake_later(id, block_time(s.request.dest), ctx),
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
                self.store_advance(id, Advance::BurnFinal { message }, ctx)
            }
            (Leg::Burn, Outcome::Reverted(reason)) => {
                self.store_advance(id, Advance::Fail { reason }, ctx)
            }
            (Leg::Mint, Outcome::Minted) => self.store_advance(id, Advance::Complete, ctx),
            (Leg::Mint, Outcome::Reverted(Revert::NonceAlreadyUsed)) => {
                // Someone already won the slot; ask who, do not retry.
                self.drive_or_query(id, CallKind::Slot, ctx);
            }
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
                self.store_advance(id, Advance::Attested { attestation }, ctx);
            }
            AttesterReply::Pending { .. } | AttesterReply::Refused { .. } => {
                let wait = self.cfg.attest_retry_us;
                self.wake_later(id, wait, ctx);
            }
        }
    }
}

/// A chain call to make.
enum ChainCall {
    Submit(Tx),
    Receipt(crate::chain::TxHash),
    Slot(crate::chain::MessageId),
}

/// Everything a worker sends or sets: one bound instead of five.
pub trait Msg:
    Clone + From<StoreRequest> + From<ChainRequest> + From<AttesterRequest> + From<WorkerTimer>
{
}

impl<M> Msg for M where
    M: Clone + From<StoreRequest> + From<ChainRequest> + From<AttesterRequest> + From<WorkerTimer>
{
}
