//! A chain's burn messages by nonce, compactly: nonces are dense from zero
//! and the source is the chain itself, so a record keeps only the rest.

use crate::chain::types::{Address, Amount, BurnMessage, Domain, MessageId, Nonce};

/// What a burn message says besides its id.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
struct Record {
    dest: Domain,
    sender: Address,
    recipient: Address,
    amount: Amount,
    memo: u64,
}

/// Every burn made on one chain, in nonce order.
pub(super) struct Burns {
    source: Domain,
    records: Vec<Record>,
}

impl Burns {
    /// No burns yet on chain `source`.
    pub fn new(source: Domain) -> Burns {
        Burns {
            source,
            records: Vec::new(),
        }
    }

    /// The nonce the next burn gets.
    pub fn next_nonce(&self) -> Nonce {
        Nonce(self.records.len() as u64)
    }

    /// Records `message`, which must carry the next nonce.
    pub fn push(&mut self, message: BurnMessage) {
        assert_eq!(
            message.id,
            self.id(self.next_nonce()),
            "burns are recorded in nonce order"
        );
        self.records.push(Record {
            dest: message.dest,
            sender: message.sender,
            recipient: message.recipient,
            amount: message.amount,
            memo: message.memo,
        });
    }

    /// Takes back the newest burn (a reorg undid it).
    pub fn pop(&mut self) -> Option<BurnMessage> {
        let record = self.records.pop()?;
        Some(self.message(self.next_nonce(), record))
    }

    /// The burn with `nonce`, if it happened.
    pub fn get(&self, nonce: Nonce) -> Option<BurnMessage> {
        let at = usize::try_from(nonce.0).ok()?;
        let record = *self.records.get(at)?;
        Some(self.message(nonce, record))
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
