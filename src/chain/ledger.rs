//! One chain's state machine: blocks, mempool, balances, supply, the burn
//! nonce counter and the destination nonce slots. Pure: the chain node drives
//! it from the network and its block timer.
//!
//! State changes happen when a block includes a transaction; a transaction is
//! final once `finality_depth` blocks sit on top of its block.

use super::types::{
    Address, Amount, Attestation, BurnMessage, Domain, MessageId, Nonce, Tx, TxBody, TxHash,
};
use crate::sim::Micros;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, VecDeque};

/// The fixed shape of one chain.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChainParams {
    /// A human name (`ethereum`, `base`).
    pub name: String,
    /// Time between blocks.
    pub block_time_us: u64,
    /// Blocks on top of a transaction's block before it is final.
    pub finality_depth: u64,
    /// The largest amount one burn may move; larger burns revert.
    pub burn_limit: u64,
    /// How many user accounts exist.
    pub accounts: u32,
    /// Every account's starting balance.
    pub initial_balance: u64,
    /// The most transactions one block includes.
    pub block_capacity: u32,
    /// The most transactions the mempool holds; more are refused.
    pub mempool_capacity: u32,
}

/// Why an included transaction did nothing.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Revert {
    /// The burn was above the per-message limit, or zero.
    OverLimit,
    /// The sender had too little USDC.
    InsufficientBalance,
    /// The message's nonce slot was already used: someone else already won.
    NonceAlreadyUsed,
    /// The attestation did not verify.
    BadAttestation,
    /// The transaction named the wrong chain.
    WrongDomain,
}

/// What an included transaction did.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// A burn succeeded and emitted this message.
    Burned(BurnMessage),
    /// A mint succeeded.
    Minted,
    /// The transaction reverted.
    Reverted(Revert),
}

/// Where a transaction is.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TxState {
    /// In the mempool, not yet in a block.
    Pending,
    /// In a block at `height`.
    Included {
        /// The block.
        height: u64,
        /// What it did.
        outcome: Outcome,
    },
}

/// The answer to "what happened to transaction H?".
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Serialize, Deserialize)]
pub struct Receipt {
    /// The transaction.
    pub hash: TxHash,
    /// Where it is.
    pub state: TxState,
    /// True once it can no longer be undone.
    pub is_final: bool,
    /// Roughly how long until it is final (zero once final).
    pub final_in_us: Micros,
}

/// The state of a destination nonce slot.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SlotState {
    /// Nothing was minted for this message here.
    Unused,
    /// The message was minted here.
    Minted,
}

/// The answer to a broadcast.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Submitted {
    /// New: now in the mempool.
    Accepted,
    /// Already known (pending or included): the re-broadcast was harmless.
    Known,
    /// The mempool is full; try again later.
    MempoolFull,
}

/// Ground truth the checkers consume: every change of supply, as it happens.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Effect {
    /// A burn took `message.amount` out of circulation on its source.
    Burned {
        /// The emitted message.
        message: BurnMessage,
        /// The burn transaction.
        tx: TxHash,
    },
    /// A mint put `message.amount` into circulation on its destination.
    Minted {
        /// The message minted.
        message: BurnMessage,
        /// The mint transaction.
        tx: TxHash,
    },
}

/// One chain's state.
pub struct Ledger {
    domain: Domain,
    domains: u32,
    params: ChainParams,
    attester_key: u64,
    head: u64,
    supply: Amount,
    balances: Vec<Amount>,
    next_nonce: u64,
    mempool: VecDeque<Tx>,
    txs: BTreeMap<TxHash, TxState>,
    slots: BTreeMap<MessageId, SlotState>,
}

impl Ledger {
    /// A chain at height zero with every account funded. `domains` is how
    /// many chains exist; `attester_key` verifies attestations.
    pub fn new(domain: Domain, domains: u32, params: ChainParams, attester_key: u64) -> Ledger {
        let balance = Amount(params.initial_balance);
        let supply = Amount(
            params
                .initial_balance
                .checked_mul(u64::from(params.accounts))
                .expect("initial supply overflows"),
        );
        Ledger {
            domain,
            domains,
            balances: vec![balance; params.accounts as usize],
            params,
            attester_key,
            head: 0,
            supply,
            next_nonce: 0,
            mempool: VecDeque::new(),
            txs: BTreeMap::new(),
            slots: BTreeMap::new(),
        }
    }

    /// This chain's domain.
    pub fn domain(&self) -> Domain {
        self.domain
    }

    /// This chain's parameters.
    pub fn params(&self) -> &ChainParams {
        &self.params
    }

    /// USDC in circulation here now.
    pub fn supply(&self) -> Amount {
        self.supply
    }

    /// The height of the newest block.
    pub fn head(&self) -> u64 {
        self.head
    }

    /// Transactions waiting in the mempool.
    pub fn mempool_len(&self) -> usize {
        self.mempool.len()
    }

    /// Accepts a signed transaction into the mempool, or recognises it.
    pub fn submit(&mut self, tx: Tx) -> Submitted {
        if self.txs.contains_key(&tx.hash) {
            return Submitted::Known;
        }
        if self.mempool.len() >= self.params.mempool_capacity as usize {
            return Submitted::MempoolFull;
        }
        self.txs.insert(tx.hash, TxState::Pending);
        self.mempool.push_back(tx);
        Submitted::Accepted
    }

    /// Seals the next block: executes up to `block_capacity` mempool
    /// transactions in order, reporting every supply change in `effects`.
    pub fn produce_block(&mut self, effects: &mut Vec<Effect>) {
        self.head += 1;
        let take = self.mempool.len().min(self.params.block_capacity as usize);
        for _ in 0..take {
            let tx = self.mempool.pop_front().expect("counted above");
            let outcome = self.execute(&tx, effects);
            let state = TxState::Included {
                height: self.head,
                outcome,
            };
            let previous = self.txs.insert(tx.hash, state);
            assert_eq!(
                previous,
                Some(TxState::Pending),
                "executed a transaction twice"
            );
        }
    }

    fn execute(&mut self, tx: &Tx, effects: &mut Vec<Effect>) -> Outcome {
        match tx.body {
            TxBody::Burn {
                sender,
                amount,
                dest,
                recipient,
                memo,
            } => self.burn(tx.hash, sender, amount, dest, recipient, memo, effects),
            TxBody::Mint {
                message,
                attestation,
            } => self.mint(tx.hash, message, attestation, effects),
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn burn(
        &mut self,
        hash: TxHash,
        sender: Address,
        amount: Amount,
        dest: Domain,
        recipient: Address,
        memo: u64,
        effects: &mut Vec<Effect>,
    ) -> Outcome {
        if dest == self.domain || dest.0 >= self.domains {
            return Outcome::Reverted(Revert::WrongDomain);
        }
        if amount == Amount::ZERO || amount.0 > self.params.burn_limit {
            return Outcome::Reverted(Revert::OverLimit);
        }
        let Some(balance) = self.balances.get_mut(sender.0 as usize) else {
            return Outcome::Reverted(Revert::InsufficientBalance);
        };
        let Some(left) = balance.checked_sub(amount) else {
            return Outcome::Reverted(Revert::InsufficientBalance);
        };
        *balance = left;
        self.supply = self
            .supply
            .checked_sub(amount)
            .expect("supply below a balance");
        let message = BurnMessage {
            id: MessageId {
                source: self.domain,
                nonce: Nonce(self.next_nonce),
            },
            dest,
            sender,
            recipient,
            amount,
            memo,
        };
        self.next_nonce += 1;
        effects.push(Effect::Burned { message, tx: hash });
        Outcome::Burned(message)
    }

    fn mint(
        &mut self,
        hash: TxHash,
        message: BurnMessage,
        attestation: Attestation,
        effects: &mut Vec<Effect>,
    ) -> Outcome {
        if message.dest != self.domain {
            return Outcome::Reverted(Revert::WrongDomain);
        }
        if attestation != Attestation::sign(self.attester_key, &message) {
            return Outcome::Reverted(Revert::BadAttestation);
        }
        let Some(balance) = self.balances.get_mut(message.recipient.0 as usize) else {
            return Outcome::Reverted(Revert::WrongDomain);
        };
        // The slot flip and the mint are one atomic step: the check and the
        // write cannot be separated by anything else on the chain.
        let slot = self.slots.entry(message.id).or_insert(SlotState::Unused);
        if *slot != SlotState::Unused {
            return Outcome::Reverted(Revert::NonceAlreadyUsed);
        }
        *slot = SlotState::Minted;
        *balance = balance
            .checked_add(message.amount)
            .expect("balance overflow");
        self.supply = self
            .supply
            .checked_add(message.amount)
            .expect("supply overflow");
        effects.push(Effect::Minted { message, tx: hash });
        Outcome::Minted
    }

    /// What happened to a transaction, if this chain has seen it.
    pub fn receipt(&self, hash: TxHash) -> Option<Receipt> {
        let state = *self.txs.get(&hash)?;
        let (is_final, blocks_left) = match state {
            TxState::Pending => (false, self.params.finality_depth + 1),
            TxState::Included { height, .. } => {
                let final_at = height + self.params.finality_depth;
                (self.head >= final_at, final_at.saturating_sub(self.head))
            }
        };
        Some(Receipt {
            hash,
            state,
            is_final,
            final_in_us: Micros(blocks_left * self.params.block_time_us),
        })
    }

    /// The state of the nonce slot for `id` on this (destination) chain.
    pub fn slot(&self, id: MessageId) -> SlotState {
        self.slots.get(&id).copied().unwrap_or(SlotState::Unused)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: u64 = 99;

    fn params() -> ChainParams {
        ChainParams {
            name: "test".into(),
            block_time_us: 1_000,
            finality_depth: 2,
            burn_limit: 1_000,
            accounts: 2,
            initial_balance: 5_000,
            block_capacity: 10,
            mempool_capacity: 10,
        }
    }

    fn burn(amount: u64, salt: u64) -> Tx {
        Tx::sign(
            TxBody::Burn {
                sender: Address(0),
                amount: Amount(amount),
                dest: Domain(1),
                recipient: Address(1),
                memo: 7,
            },
            salt,
        )
    }

    fn burned_message(src: &mut Ledger, tx: Tx) -> BurnMessage {
        src.submit(tx);
        let mut effects = Vec::new();
        src.produce_block(&mut effects);
        match src.receipt(tx.hash).unwrap().state {
            TxState::Included {
                outcome: Outcome::Burned(m),
                ..
            } => m,
            other => panic!("burn did not succeed: {other:?}"),
        }
    }

    #[test]
    fn burn_reduces_supply_and_assigns_unique_nonces() {
        // Proves a burn leaves circulation and each burn gets its own nonce.
        let mut src = Ledger::new(Domain(0), 2, params(), KEY);
        let a = burned_message(&mut src, burn(100, 1));
        let b = burned_message(&mut src, burn(100, 2));
        assert_eq!(src.supply(), Amount(10_000 - 200));
        assert_ne!(a.id, b.id);
    }

    #[test]
    fn rebroadcast_of_the_same_transaction_is_harmless() {
        // Proves the same signed burn broadcast twice burns once.
        let mut src = Ledger::new(Domain(0), 2, params(), KEY);
        let tx = burn(100, 1);
        assert_eq!(src.submit(tx), Submitted::Accepted);
        assert_eq!(src.submit(tx), Submitted::Known);
        src.produce_block(&mut Vec::new());
        assert_eq!(src.submit(tx), Submitted::Known);
        src.produce_block(&mut Vec::new());
        assert_eq!(src.supply(), Amount(10_000 - 100));
    }

    #[test]
    fn burns_above_the_limit_revert() {
        // Proves the per-message limit is enforced on chain.
        let mut src = Ledger::new(Domain(0), 2, params(), KEY);
        let tx = burn(1_001, 1);
        src.submit(tx);
        src.produce_block(&mut Vec::new());
        let state = src.receipt(tx.hash).unwrap().state;
        assert!(matches!(
            state,
            TxState::Included {
                outcome: Outcome::Reverted(Revert::OverLimit),
                ..
            }
        ));
        assert_eq!(src.supply(), Amount(10_000));
    }

    #[test]
    fn second_mint_of_a_message_reverts_with_nonce_already_used() {
        // Proves the nonce slot admits exactly one mint per message.
        let mut src = Ledger::new(Domain(0), 2, params(), KEY);
        let mut dst = Ledger::new(Domain(1), 2, params(), KEY);
        let m = burned_message(&mut src, burn(100, 1));
        let att = Attestation::sign(KEY, &m);
        let mint1 = Tx::sign(
            TxBody::Mint {
                message: m,
                attestation: att,
            },
            1,
        );
        let mint2 = Tx::sign(
            TxBody::Mint {
                message: m,
                attestation: att,
            },
            2,
        );
        dst.submit(mint1);
        dst.submit(mint2);
        let mut effects = Vec::new();
        dst.produce_block(&mut effects);
        assert_eq!(effects.len(), 1);
        assert_eq!(dst.slot(m.id), SlotState::Minted);
        let second = dst.receipt(mint2.hash).unwrap().state;
        assert!(matches!(
            second,
            TxState::Included {
                outcome: Outcome::Reverted(Revert::NonceAlreadyUsed),
                ..
            }
        ));
        assert_eq!(dst.supply(), Amount(10_100));
    }

    #[test]
    fn forged_attestation_is_refused() {
        // Proves a mint needs the attester's signature.
        let mut src = Ledger::new(Domain(0), 2, params(), KEY);
        let mut dst = Ledger::new(Domain(1), 2, params(), KEY);
        let m = burned_message(&mut src, burn(100, 1));
        let mint = Tx::sign(
            TxBody::Mint {
                message: m,
                attestation: Attestation(1),
            },
            1,
        );
        dst.submit(mint);
        dst.produce_block(&mut Vec::new());
        assert_eq!(dst.slot(m.id), SlotState::Unused);
    }

    #[test]
    fn finality_comes_after_depth_blocks() {
        // Proves a receipt turns final exactly finality_depth blocks later.
        let mut src = Ledger::new(Domain(0), 2, params(), KEY);
        let tx = burn(100, 1);
        src.submit(tx);
        src.produce_block(&mut Vec::new());
        assert!(!src.receipt(tx.hash).unwrap().is_final);
        src.produce_block(&mut Vec::new());
        assert!(!src.receipt(tx.hash).unwrap().is_final);
        src.produce_block(&mut Vec::new());
        let r = src.receipt(tx.hash).unwrap();
        assert!(r.is_final);
        assert_eq!(r.final_in_us, Micros::ZERO);
    }
}
