//! The store's on-disk encoding of a settlement: a fixed-size record of
//! little-endian fields (an absent value is a zero tag and zero padding), no
//! allocation to decode, a few hundred nanoseconds either way. A decoder that
//! meets an impossible value (an unknown stage, a bad option tag) refuses the
//! record rather than guess.
//!
//! Fixed size has a consequence the checksums exist for: a record whose tail
//! was torn off and zero-filled still decodes, into a state that was never
//! written. Only the checksum tells it apart.

use super::settlement::{
    IdempotencyKey, Settlement, SettlementId, SettlementRequest, SignedTx, Stage,
};
use crate::chain::{
    Address, Amount, Attestation, BurnMessage, Domain, MessageId, Nonce, Revert, TxHash,
};
use crate::sim::Micros;

/// Encodes `s` onto `out`.
pub fn encode(s: &Settlement, out: &mut Vec<u8>) {
    // Into a zeroed record-sized buffer, then one copy: absent values are
    // already their zero padding, and no field pays for a capacity check.
    let mut e = Encoder {
        record: [0; RECORD_SIZE],
        at: 0,
    };
    e.u64(s.id.0);
    e.u32(s.key.client);
    e.u64(s.key.seq);
    e.u32(s.request.source.0);
    e.u32(s.request.dest.0);
    e.u32(s.request.sender.0);
    e.u32(s.request.recipient.0);
    e.u64(s.request.amount.0);
    e.u8(stage_code(s.stage));
    e.u64(s.version);
    e.u64(s.fence);
    e.option(s.burn_tx.as_ref(), TX_SIZE, Encoder::tx);
    e.option(s.message.as_ref(), MESSAGE_SIZE, Encoder::message);
    e.option(s.attestation.as_ref(), 8, |e, a| e.u64(a.0));
    e.option(s.mint_tx.as_ref(), TX_SIZE, Encoder::tx);
    e.option(s.failure.as_ref(), 1, |e, r| e.u8(r.code()));
    e.u64(s.deadline_us);
    e.option(s.cancel_tx.as_ref(), TX_SIZE, Encoder::tx);
    e.option(s.refund_tx.as_ref(), TX_SIZE, Encoder::tx);
    e.option(s.refund_proof.as_ref(), 8, |e, a| e.u64(a.0));
    debug_assert_eq!(e.at, RECORD_SIZE);
    out.extend_from_slice(&e.record);
}

/// Bytes of an encoded burn message.
const MESSAGE_SIZE: usize = 4 + 8 + 4 + 4 + 4 + 8 + 8;
/// Bytes of an encoded signed transaction: hash and validity (its body is
/// the settlement's to rebuild).
const TX_SIZE: usize = 8 + 8;
/// Bytes of an encoded settlement.
pub const RECORD_SIZE: usize = 8
    + 4
    + 8
    + 4 * 4
    + 8
    + 1
    + 8
    + 8
    + (1 + TX_SIZE) * 2
    + (1 + MESSAGE_SIZE)
    + (1 + 8)
    + (1 + 1)
    + 8
    + (1 + TX_SIZE) * 2
    + (1 + 8);

/// Decodes a settlement, or `None` if the bytes are not one.
pub fn decode(bytes: &[u8]) -> Option<Settlement> {
    let mut d = Decoder::new(bytes);
    let s = Settlement {
        id: SettlementId(d.u64()?),
        key: IdempotencyKey {
            client: d.u32()?,
            seq: d.u64()?,
        },
        request: SettlementRequest {
            source: Domain(d.u32()?),
            dest: Domain(d.u32()?),
            sender: Address(d.u32()?),
            recipient: Address(d.u32()?),
            amount: Amount(d.u64()?),
        },
        stage: stage_from(d.u8()?)?,
        version: d.u64()?,
        fence: d.u64()?,
        burn_tx: d.option(TX_SIZE, Decoder::tx)?,
        message: d.option(MESSAGE_SIZE, Decoder::message)?,
        attestation: d.option(8, |d| d.u64().map(Attestation))?,
        mint_tx: d.option(TX_SIZE, Decoder::tx)?,
        failure: d.option(1, |d| Revert::from_code(d.u8()?))?,
        deadline_us: d.u64()?,
        cancel_tx: d.option(TX_SIZE, Decoder::tx)?,
        refund_tx: d.option(TX_SIZE, Decoder::tx)?,
        refund_proof: d.option(8, |d| d.u64().map(Attestation))?,
    };
    (d.at == bytes.len()).then_some(s)
}

const STAGES: [Stage; 12] = [
    Stage::Requested,
    Stage::BurnSigned,
    Stage::BurnSubmitted,
    Stage::BurnFinal,
    Stage::Attested,
    Stage::MintSigned,
    Stage::Completed,
    Stage::Failed,
    Stage::CancelSigned,
    Stage::Cancelled,
    Stage::RefundSigned,
    Stage::Refunded,
];

fn stage_code(stage: Stage) -> u8 {
    STAGES
        .iter()
        .position(|s| *s == stage)
        .expect("every stage is listed") as u8
}

fn stage_from(code: u8) -> Option<Stage> {
    STAGES.get(code as usize).copied()
}

struct Encoder {
    record: [u8; RECORD_SIZE],
    at: usize,
}

impl Encoder {
    fn bytes<const N: usize>(&mut self, bytes: [u8; N]) {
        self.record[self.at..self.at + N].copy_from_slice(&bytes);
        self.at += N;
    }
    fn u8(&mut self, v: u8) {
        self.bytes([v]);
    }
    fn u32(&mut self, v: u32) {
        self.bytes(v.to_le_bytes());
    }
    fn u64(&mut self, v: u64) {
        self.bytes(v.to_le_bytes());
    }
    /// A tag and a value padded to `size` bytes (all zeros when absent).
    fn option<T>(&mut self, v: Option<&T>, size: usize, f: impl FnOnce(&mut Self, &T)) {
        self.u8(u8::from(v.is_some()));
        let start = self.at;
        if let Some(v) = v {
            f(self, v);
        }
        assert!(self.at - start <= size, "field overflows its slot");
        self.at = start + size;
    }
    fn message(&mut self, m: &BurnMessage) {
        self.u32(m.id.source.0);
        self.u64(m.id.nonce.0);
        self.u32(m.dest.0);
        self.u32(m.sender.0);
        self.u32(m.recipient.0);
        self.u64(m.amount.0);
        self.u64(m.memo);
    }
    fn tx(&mut self, tx: &SignedTx) {
        self.u64(tx.hash.0);
        self.u64(tx.valid_until.0);
    }
}

/// Reads little-endian fields off the front of a record; every read is
/// `None` past the end. (The store's horizon record reads with it too.)
pub(crate) struct Decoder<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Decoder<'a> {
    /// A reader at the start of `bytes`.
    pub(crate) fn new(bytes: &'a [u8]) -> Decoder<'a> {
        Decoder { bytes, at: 0 }
    }
    /// True once every byte was read.
    pub(crate) fn at_end(&self) -> bool {
        self.at == self.bytes.len()
    }
    fn take<const N: usize>(&mut self) -> Option<[u8; N]> {
        let end = self.at.checked_add(N)?;
        let chunk = self.bytes.get(self.at..end)?;
        self.at = end;
        chunk.try_into().ok()
    }
    fn u8(&mut self) -> Option<u8> {
        self.take::<1>().map(|b| b[0])
    }
    pub(crate) fn u32(&mut self) -> Option<u32> {
        self.take().map(u32::from_le_bytes)
    }
    pub(crate) fn u64(&mut self) -> Option<u64> {
        self.take().map(u64::from_le_bytes)
    }
    /// `Some(None)` for an absent value, `None` for a bad tag or value. The
    /// slot is `size` bytes whatever the value's own length.
    fn option<T>(
        &mut self,
        size: usize,
        f: impl FnOnce(&mut Self) -> Option<T>,
    ) -> Option<Option<T>> {
        let tag = self.u8()?;
        let end = self.at.checked_add(size)?;
        if end > self.bytes.len() {
            return None;
        }
        let value = match tag {
            0 => None,
            1 => Some(f(self)?),
            _ => return None,
        };
        if self.at > end {
            return None;
        }
        self.at = end;
        Some(value)
    }
    fn message(&mut self) -> Option<BurnMessage> {
        Some(BurnMessage {
            id: MessageId {
                source: Domain(self.u32()?),
                nonce: Nonce(self.u64()?),
            },
            dest: Domain(self.u32()?),
            sender: Address(self.u32()?),
            recipient: Address(self.u32()?),
            amount: Amount(self.u64()?),
            memo: self.u64()?,
        })
    }
    fn tx(&mut self) -> Option<SignedTx> {
        Some(SignedTx {
            hash: TxHash(self.u64()?),
            valid_until: Micros(self.u64()?),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chain::{Tx, TxBody};
    use crate::engine::settlement::Advance;

    fn full_settlement() -> Settlement {
        let request = SettlementRequest {
            source: Domain(2),
            dest: Domain(1),
            sender: Address(5),
            recipient: Address(6),
            amount: Amount(123_456),
        };
        let mut s = Settlement::new(
            SettlementId(9),
            IdempotencyKey { client: 3, seq: 44 },
            request,
            77,
        );
        let burn = Tx::sign(s.burn_body(), Micros(120_000_000), 77);
        s.apply(&Advance::SignBurn {
            tx: burn.into(),
            replaces: None,
        })
        .unwrap();
        let message = BurnMessage {
            id: MessageId {
                source: Domain(2),
                nonce: Nonce(8),
            },
            dest: Domain(1),
            sender: Address(5),
            recipient: Address(6),
            amount: Amount(123_456),
            memo: 9,
        };
        s.apply(&Advance::BurnFinal { message }).unwrap();
        s.apply(&Advance::Attested {
            attestation: Attestation(31),
        })
        .unwrap();
        let mint = Tx::sign(
            TxBody::Mint {
                message,
                attestation: Attestation(31),
            },
            Micros(u64::MAX),
            5,
        );
        s.apply(&Advance::SignMint {
            tx: mint.into(),
            replaces: None,
        })
        .unwrap();
        s.cancel_tx = Some(Tx::sign(TxBody::Cancel { message }, Micros(9), 9).into());
        let proof = Some(Attestation(5));
        s.refund_tx = Some(Tx::sign(TxBody::Refund { message, proof }, Micros(10), 10).into());
        s.refund_proof = proof;
        s.fence = 12;
        s
    }

    #[test]
    fn every_field_round_trips() {
        // Proves encode/decode is lossless for a settlement with every field set.
        let s = full_settlement();
        let mut bytes = Vec::new();
        encode(&s, &mut bytes);
        assert_eq!(decode(&bytes), Some(s));
    }

    #[test]
    fn records_have_one_fixed_size() {
        // Proves the layout is fixed: an empty and a full settlement encode
        // to the same length.
        let mut full = Vec::new();
        encode(&full_settlement(), &mut full);
        let mut empty = Vec::new();
        let bare = Settlement::new(
            SettlementId(0),
            IdempotencyKey::default(),
            full_settlement().request,
            0,
        );
        encode(&bare, &mut empty);
        assert_eq!(full.len(), RECORD_SIZE);
        assert_eq!(empty.len(), RECORD_SIZE);
    }

    #[test]
    fn truncated_or_padded_bytes_are_refused() {
        // Proves a short or overlong record does not decode.
        let mut bytes = Vec::new();
        encode(&full_settlement(), &mut bytes);
        assert_eq!(decode(&bytes[..bytes.len() - 1]), None);
        bytes.push(0);
        assert_eq!(decode(&bytes), None);
    }
}
