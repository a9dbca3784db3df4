//! A client: submits settlement requests at the scenario's rate, each under a
//! fresh idempotency key, and retries with the same key until the store
//! acknowledges (or says the key expired). Sometimes it sends an acknowledged
//! request again, as a caller that lost its own record would, to exercise
//! idempotency. It keeps only what it still means to send, so its memory
//! follows its requests in flight, not its history.

use super::protocol::{StoreReply, StoreRequest};
use super::settlement::{IdempotencyKey, SettlementId, SettlementRequest};
use crate::chain::{Address, Amount, Domain};
use crate::sim::{Ctx, Micros, NodeId, Ratio, RequestId, TimerId, UniformDraw};
use rand::Rng;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Marks a request id as carrying an altered request (a key reused for a
/// different request). Sequence numbers never reach this bit.
const ALTERED: u64 = 1 << 63;

/// What a client asks for, and how fast.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientConfig {
    /// Requests this client submits in all.
    pub requests: u32,
    /// Shortest pause between two new requests.
    pub interval_us_min: u64,
    /// Longest pause between two new requests.
    pub interval_us_max: u64,
    /// Smallest amount asked for.
    pub amount_min: u64,
    /// Largest amount asked for.
    pub amount_max: u64,
    /// Share of acknowledged requests sent again later under the same key.
    pub resubmit: Ratio,
    /// Share of acknowledged requests whose key is later reused for a
    /// different request (which the store must refuse).
    pub conflicting: Ratio,
    /// How long to wait for an acknowledgement before sending again.
    pub retry_timeout_us: u64,
    /// The longest wait after an acknowledgement before a planned resend.
    pub resend_delay_us_max: u64,
    /// How many chains exist.
    pub domains: u32,
    /// How many accounts each chain has.
    pub accounts: u32,
}

/// A client's own timers.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Serialize, Deserialize, strum::IntoStaticStr)]
#[serde(tag = "timer", rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum ClientTimer {
    /// Time to submit the next new request.
    Next,
    /// Request `seq` may not have arrived: send it again.
    Retry {
        /// The key's sequence number.
        seq: u64,
    },
    /// Send acknowledged request `seq` again under its key: as a duplicate,
    /// or `altered` (another amount), as a conflicting reuse of the key.
    Resubmit {
        /// The key's sequence number.
        seq: u64,
        /// Whether the request is changed.
        altered: bool,
    },
}

/// What clients saw, for the checkers.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum ClientEffect {
    /// The store acknowledged `key` as settlement `id`.
    Acknowledged {
        /// The key.
        key: IdempotencyKey,
        /// The request sent under it.
        request: SettlementRequest,
        /// The settlement the store named.
        id: SettlementId,
    },
    /// The store said `key` expired: forgotten, never to be acted on.
    KeyExpired {
        /// The key.
        key: IdempotencyKey,
    },
    /// The store refused `key` as already bound to another request.
    KeyConflict {
        /// The key.
        key: IdempotencyKey,
        /// Whether the client had in fact changed the request.
        altered: bool,
    },
}

/// An acknowledged request the client will send again.
#[derive(Clone, Copy, Debug)]
struct Resend {
    request: SettlementRequest,
    /// Resends planned and not yet sent.
    planned: u8,
    /// When the last one went out (monotonic clock).
    last_sent: Micros,
}

/// A client node.
pub struct Client {
    id: u32,
    cfg: ClientConfig,
    store: NodeId,
    issued: u32,
    /// Sent, not yet acknowledged, with the timer that sends it again.
    outstanding: BTreeMap<u64, (SettlementRequest, TimerId)>,
    /// Acknowledged requests with a resend planned, kept until the last
    /// resend's answers have had time to come back.
    acknowledged: BTreeMap<u64, Resend>,
    effects: Vec<ClientEffect>,
    /// True after a crash, until the restart re-arms the timers.
    crashed: bool,
    acknowledgements: u64,
    expired: u64,
}

impl Client {
    /// Client number `id`, sending to `store`.
    pub fn new(id: u32, cfg: ClientConfig, store: NodeId) -> Client {
        assert!(cfg.domains >= 2 && cfg.accounts >= 1);
        Client {
            id,
            cfg,
            store,
            issued: 0,
            outstanding: BTreeMap::new(),
            acknowledged: BTreeMap::new(),
            effects: Vec::new(),
            crashed: false,
            acknowledgements: 0,
            expired: 0,
        }
    }

    /// Acknowledgements received, repeats included.
    pub fn acknowledgements(&self) -> u64 {
        self.acknowledgements
    }

    /// Answers that a key had expired.
    pub fn expired(&self) -> u64 {
        self.expired
    }

    /// Acknowledged requests kept for a planned resend.
    pub fn resends_kept(&self) -> usize {
        self.acknowledged.len()
    }

    /// True once every request was issued and acknowledged.
    pub fn done(&self) -> bool {
        self.issued == self.cfg.requests && self.outstanding.is_empty()
    }

    /// Hands over what the client saw since the last call.
    pub fn drain_effects(&mut self) -> std::vec::Drain<'_, ClientEffect> {
        self.effects.drain(..)
    }

    /// Boot, or restart after a crash: re-send every unacknowledged request
    /// under its original key, and carry on with the workload.
    pub fn on_start<M: Clone + From<ClientTimer> + From<StoreRequest>>(
        &mut self,
        ctx: &mut Ctx<'_, M>,
    ) {
        if std::mem::take(&mut self.crashed) {
            let outstanding: Vec<(u64, SettlementRequest)> = self
                .outstanding
                .iter()
                .map(|(s, (r, _))| (*s, *r))
                .collect();
            for (seq, request) in outstanding {
                self.send_and_arm(seq, request, ctx);
            }
            // The planned resends died with their timers.
            let now = ctx.monotonic();
            for resend in self.acknowledged.values_mut() {
                resend.planned = 0;
                resend.last_sent = now;
            }
        }
        self.schedule_next(ctx);
    }

    /// The process crashed. The client's record of its requests is the
    /// caller's own durable state and survives; its timers do not.
    pub fn on_crash(&mut self) {
        self.crashed = true;
    }

    /// Sends request `seq` (again) and arms the timer that sends it once
    /// more if no answer comes.
    fn send_and_arm<M: Clone + From<ClientTimer> + From<StoreRequest>>(
        &mut self,
        seq: u64,
        request: SettlementRequest,
        ctx: &mut Ctx<'_, M>,
    ) {
        self.send(seq, request, ctx);
        let retry = ctx.set_timer(
            Micros(self.cfg.retry_timeout_us),
            ClientTimer::Retry { seq },
        );
        self.outstanding.insert(seq, (request, retry));
    }

    fn schedule_next<M: Clone + From<ClientTimer>>(&mut self, ctx: &mut Ctx<'_, M>) {
        if self.issued < self.cfg.requests {
            let pause = ctx
                .rng()
                .between(self.cfg.interval_us_min, self.cfg.interval_us_max);
            ctx.set_timer(Micros(pause), ClientTimer::Next);
        }
    }

    /// A timer fired.
    pub fn on_timer<M: Clone + From<ClientTimer> + From<StoreRequest>>(
        &mut self,
        timer: ClientTimer,
        ctx: &mut Ctx<'_, M>,
    ) {
        match timer {
            ClientTimer::Next => {
                self.drop_finished_resends(ctx.monotonic());
                let seq = u64::from(self.issued);
                self.issued += 1;
                let request = self.draw_request(ctx);
                self.send_and_arm(seq, request, ctx);
                self.schedule_next(ctx);
            }
            ClientTimer::Retry { seq } => {
                if let Some(&(request, _)) = self.outstanding.get(&seq) {
                    self.send_and_arm(seq, request, ctx);
                }
            }
            ClientTimer::Resubmit { seq, altered } => {
                let now = ctx.monotonic();
                if let Some(resend) = self.acknowledged.get_mut(&seq) {
                    resend.planned -= 1;
                    resend.last_sent = now;
                    let request = resend.request;
                    if altered {
                        let changed = SettlementRequest {
                            amount: Amount(request.amount.0 + 1),
                            ..request
                        };
                        self.send(seq | ALTERED, changed, ctx);
                    } else {
                        self.send(seq, request, ctx);
                    }
                }
            }
        }
    }

    /// Maybe schedules a duplicate and a conflicting reuse of key `seq`,
    /// keeping the request while any is planned.
    fn plan_resubmits<M: Clone + From<ClientTimer>>(
        &mut self,
        seq: u64,
        request: SettlementRequest,
        ctx: &mut Ctx<'_, M>,
    ) {
        let mut planned = 0;
        for (share, altered) in [(self.cfg.resubmit, false), (self.cfg.conflicting, true)] {
            if share.chance(ctx.rng()) {
                let later = ctx.rng().between(1, self.cfg.resend_delay_us_max);
                ctx.set_timer(Micros(later), ClientTimer::Resubmit { seq, altered });
                planned += 1;
            }
        }
        if planned > 0 {
            let resend = Resend {
                request,
                planned,
                last_sent: ctx.monotonic(),
            };
            self.acknowledged.insert(seq, resend);
        }
    }

    /// Forgets resends whose answers had ten retry timeouts to come back;
    /// an answer later than that is not judged.
    fn drop_finished_resends(&mut self, now: Micros) {
        let linger = self.cfg.retry_timeout_us * 10;
        self.acknowledged.retain(|_, r| {
            r.planned > 0 || now.as_u64().saturating_sub(r.last_sent.as_u64()) < linger
        });
    }

    fn draw_request<M: Clone>(&mut self, ctx: &mut Ctx<'_, M>) -> SettlementRequest {
        let rng = ctx.rng();
        let source = rng.random_range(0..self.cfg.domains);
        let dest = (source + rng.random_range(1..self.cfg.domains)) % self.cfg.domains;
        SettlementRequest {
            source: Domain(source),
            dest: Domain(dest),
            sender: Address(rng.random_range(0..self.cfg.accounts)),
            recipient: Address(rng.random_range(0..self.cfg.accounts)),
            amount: Amount(rng.random_range(self.cfg.amount_min..=self.cfg.amount_max)),
        }
    }

    fn send<M: Clone + From<StoreRequest>>(
        &self,
        seq: u64,
        request: SettlementRequest,
        ctx: &mut Ctx<'_, M>,
    ) {
        let key = self.key(seq & !ALTERED);
        ctx.send(
            self.store,
            StoreRequest::Initiate {
                req: RequestId(seq),
                key,
                request,
            },
        );
    }

    fn key(&self, seq: u64) -> IdempotencyKey {
        IdempotencyKey {
            client: self.id,
            seq,
        }
    }

    /// The store answered.
    pub fn on_reply<M: Clone + From<ClientTimer>>(
        &mut self,
        reply: StoreReply,
        ctx: &mut Ctx<'_, M>,
    ) {
        match reply {
            StoreReply::Initiated { req, id } => {
                let (seq, altered) = (req.0 & !ALTERED, req.0 & ALTERED != 0);
                let key = self.key(seq);
                let request = match self.outstanding.remove(&seq) {
                    Some((request, retry)) => {
                        ctx.cancel_timer(retry);
                        self.plan_resubmits(seq, request, ctx);
                        request
                    }
                    None => match self.acknowledged.get(&seq) {
                        Some(r) if altered => SettlementRequest {
                            amount: Amount(r.request.amount.0 + 1),
                            ..r.request
                        },
                        Some(r) => r.request,
                        None => return,
                    },
                };
                self.acknowledgements += 1;
                self.effects
                    .push(ClientEffect::Acknowledged { key, request, id });
            }
            StoreReply::KeyExpired { req } => {
                let seq = req.0 & !ALTERED;
                if let Some((_, retry)) = self.outstanding.remove(&seq) {
                    ctx.cancel_timer(retry);
                }
                let key = self.key(seq);
                self.expired += 1;
                self.effects.push(ClientEffect::KeyExpired { key });
            }
            StoreReply::KeyConflict { req, .. } => {
                let (seq, altered) = (req.0 & !ALTERED, req.0 & ALTERED != 0);
                if let Some((_, retry)) = self.outstanding.remove(&seq) {
                    ctx.cancel_timer(retry);
                }
                let key = self.key(seq);
                self.effects
                    .push(ClientEffect::KeyConflict { key, altered });
            }
            _ => {}
        }
    }
}
