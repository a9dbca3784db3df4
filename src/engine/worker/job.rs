//! One settlement a worker is driving: its last known persisted state, its
//! lease, and the call or timer it is waiting on.

use crate::engine::settlement::{Advance, Settlement};
use crate::sim::{Micros, RequestId, TimerId};

/// Which transaction of a settlement a chain call is about.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(super) enum Leg {
    Burn,
    Mint,
    Cancel,
    Refund,
}

/// What an outstanding call asked.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(super) enum CallKind {
    Acquire,
    Extend,
    Claim,
    Advance(Advance),
    Get,
    Submit(Leg),
    Receipt(Leg),
    Attest,
    AttestCancel,
    Slot,
}

/// A write a worker decided on, sent once it is prepared.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(super) enum Write {
    /// Take the settlement over under the job's lease.
    Claim,
    /// Persist one step.
    Step(Advance),
}

/// A call in flight.
#[derive(Clone, Copy, Debug)]
pub(super) struct Call {
    pub req: RequestId,
    pub kind: CallKind,
    pub timeout: TimerId,
    /// When it was sent, by the worker's monotonic clock.
    pub sent_at: Micros,
}

/// A lease as the holder sees it.
#[derive(Clone, Copy, Debug)]
pub(super) struct Lease {
    pub token: u64,
    /// Until when the worker may act under it, by its monotonic clock:
    /// measured from when the request was sent, minus a margin for drift.
    pub valid_until: Micros,
}

/// One settlement being driven.
pub(super) struct Job {
    /// The settlement as last persisted (as far as this worker knows).
    pub settlement: Settlement,
    pub lease: Option<Lease>,
    /// The settlement's fence is this worker's lease token.
    pub claimed: bool,
    /// The status was read before a claim (only with the check-then-act defect).
    pub checked: bool,
    pub call: Option<Call>,
    pub wake: Option<TimerId>,
    /// Nothing to ask before this (monotonic) time: a transaction's
    /// finality, a back-off. Long waits are cut into pieces so the lease is
    /// kept up meanwhile, and only the last piece acts.
    pub wait_until: Option<Micros>,
    /// A write being prepared (signed) before it is sent.
    pub commit: Option<Write>,
    /// This incarnation has broadcast the current stage's transaction (mint,
    /// cancel or refund) at least once.
    pub broadcast: bool,
    /// Calls in a row that got no answer (the retry back-off grows with it).
    pub timeouts: u32,
    /// The call to follow up when the back-off ends.
    pub retry: Option<CallKind>,
    /// Taking the planted defect's shortcut from a timed-out mint straight to
    /// an operator refund.
    pub shortcut: bool,
    /// Taken over from the store rather than advanced here: the next step
    /// resumes someone else's (or a crashed self's) work.
    pub resumed: bool,
}

impl Job {
    /// A job for a settlement just learned of.
    pub fn new(settlement: Settlement) -> Job {
        Job {
            settlement,
            lease: None,
            claimed: false,
            checked: false,
            call: None,
            wake: None,
            wait_until: None,
            commit: None,
            broadcast: false,
            shortcut: false,
            timeouts: 0,
            retry: None,
            resumed: true,
        }
    }

    /// True while the job waits on nothing: a call, a timer or a commit.
    pub fn idle(&self) -> bool {
        self.call.is_none() && self.wake.is_none() && self.commit.is_none()
    }

    /// The token this worker acts under (0 without a lease).
    pub fn token(&self) -> u64 {
        self.lease.map_or(0, |l| l.token)
    }
}
