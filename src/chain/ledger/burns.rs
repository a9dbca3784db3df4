//! A chain's burn messages by nonce, compactly: nonces are dense from zero
//! and the source is the chain itself, so a record keeps only the rest, and
//! the validity of the burn's transaction, by which the chain forgets it.

use crate::chain::types::{Address, Amount, BurnMessage, Domain, MessageId, Nonce};
use crate::sim::Micros;
use std::collections::VecDeque;

/// What a burn message says besides its id.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
struct Record {
    dest: Domain,
    sender: Address,
    recipient: Address,
    amount: Amount,
    memo: u64,
    /// Until when the burn's transaction was valid.
    valid_until: Micros,
}

/// The burns made on one chain and not yet forgotten, in nonce order.
pub(super) struct Burns {
    source: Domain,
    /// The nonce of the oldest burn kept.
    first: u64,
    records: VecDeque<Record>,
}

impl Burns {
    /// No burns yet on chain `source`.
    pub fn new(source: Domain) -> Burns {
        Burns {
            source,
            first: 0,
            records: VecDeque::new(),
        }
    }

    /// The nonce the next burn gets.
    pub fn next_nonce(&self) -> Nonce {
        Nonce(self.first + self.records.len() as u64)
    }

    /// True if the burn with `nonce` was forgotten (and so cannot be told).
    pub fn forgot(&self, nonce: Nonce) -> bool {
        nonce.0 < self.first
    }

    /// The oldest nonce still kept.
    pub fn first_kept(&self) -> Nonce {
        Nonce(self.first)
    }

    /// Records `message`, which must carry the next nonce, burned by a
    /// transaction valid until `valid_until`.
    pub fn push(&mut self, message: BurnMessage, valid_until: Micros) {
        assert_eq!(
            message.id,
            self.id(self.next_nonce()),
            "burns are recorded in nonce order"
        );
        self.records.push_back(Record {
            dest: message.dest,
            sender: message.sender,
            recipient: message.recipient,
            amount: message.amount,
            memo: message.memo,
            valid_until,
        });
    }

    /// Takes back the newest burn (a reorg undid it).
    pub fn pop(&mut self) -> Option<BurnMessage> {
        let record = self.records.pop_back()?;
        Some(self.message(self.next_nonce(), record))
    }

    /// The burn with `nonce`, if it happened and is not forgotten.
    pub fn get(&self, nonce: Nonce) -> Option<BurnMessage> {
        let at = usize::try_from(nonce.0.checked_sub(self.first)?).ok()?;
        let record = *self.records.get(at)?;
        Some(self.message(nonce, record))
    }

    /// Forgets the oldest burns whose transactions were valid until before
    /// `horizon`, up to the first that was not. (A later burn of an earlier
    /// validity waits for it: forgetting late is harmless.)
    pub fn forget_before(&mut self, horizon: Micros) {
        while self
            .records
            .front()
            .is_some_and(|r| r.valid_until < horizon)
        {
            self.records.pop_front();
            self.first += 1;
        }
    }

    fn id(&self, nonce: Nonce) -> MessageId {
        MessageId {
            source: self.source,
            nonce,
        }
    }

    fn message(&self, nonce: Nonce, r: Record) -> BurnMessage {
        BurnMessage {
            id: self.id(nonce),
            dest: r.dest,
            sender: r.sender,
            recipient: r.recipient,
            amount: r.amount,
            memo: r.memo,
        }
    }
}
