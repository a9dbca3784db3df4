//! One settlement a worker is driving: its last known persisted state and
//! the call or timer it is waiting on. (Its lease is its shard's.)

use crate::engine::settlement::{Advance, Leg, Settlement};
use crate::sim::{RequestId, TimerId};

/// What an outstanding call asked.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(super) enum CallKind {
    /// A claim under lease token `.0`.
    Claim(u64),
    /// A step, fenced with lease token `.1`.
    Advance(Advance, u64),
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
}

/// One settlement being driven.
pub(super) struct Job {
    /// The settlement as last persisted (as far as this worker knows).
    pub settlement: Settlement,
    /// The status was read before a claim (only with the check-then-act defect).
    pub checked: bool,
    pub call: Option<Call>,
    pub wake: Option<TimerId>,
    /// A write being prepared (signed) before it is sent, and the lease
    /// token it was decided under (the one it carries, whatever happens to
    /// the lease meanwhile).
    pub commit: Option<(Write, u64)>,
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
    /// Its next step needs a burn's record the source chain has forgotten:
    /// only an operator can settle it, and no wait here will.
    pub awaiting_operator: bool,
}

impl Job {
    /// A job for a settlement just learned of.
    pub fn new(settlement: Settlement) -> Job {
        Job {
            settlement,
            checked: false,
            call: None,
            wake: None,
            commit: None,
            broadcast: false,
            shortcut: false,
            timeouts: 0,
            retry: None,
            resumed: true,
            awaiting_operator: false,
        }
    }

    /// True while the job waits on nothing: a call, a timer or a commit.
    pub fn idle(&self) -> bool {
        self.call.is_none() && self.wake.is_none() && self.commit.is_none()
    }
}
