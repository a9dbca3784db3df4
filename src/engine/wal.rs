//! The write-ahead log's framing: each record is `[len u32][crc32 u32][payload]`,
//! little-endian. Recovery reads records until the first one that is short,
//! oversized, fails its checksum or does not decode, and reports where the
//! valid prefix ends so the caller can cut the bad tail off before appending.

use crate::sim::LogDisk;
use std::io;

/// Bytes of framing before each payload.
pub const HEADER: usize = 8;

/// The largest payload a record may carry; a larger length is corruption.
pub const MAX_PAYLOAD: usize = 1 << 16;

/// Frames one payload as a log record.
pub fn frame(payload: &[u8], out: &mut Vec<u8>) {
    frame_with(out, |p| p.extend_from_slice(payload));
}

/// Appends one record to `out` whose payload `write` appends in place: the
/// header is filled in after, so the payload is never copied.
pub fn frame_with(out: &mut Vec<u8>, write: impl FnOnce(&mut Vec<u8>)) {
    let start = out.len();
    out.extend_from_slice(&[0; HEADER]);
    write(out);
    let payload = &out[start + HEADER..];
    assert!(
        payload.len() <= MAX_PAYLOAD,
        "record of {} bytes",
        payload.len()
    );
    let len = (payload.len() as u32).to_le_bytes();
    let crc = crc32fast::hash(payload).to_le_bytes();
    out[start..start + 4].copy_from_slice(&len);
    out[start + 4..start + HEADER].copy_from_slice(&crc);
}

/// The records of a log and where its valid prefix ends.
pub struct Recovered<'a> {
    /// The payloads of the valid records, in order.
    pub payloads: Vec<&'a [u8]>,
    /// The length of the valid prefix: everything after it is torn or corrupt.
    pub valid_len: usize,
}

/// Splits `log` into its valid records. With `verify_checksums` off (a planted
/// defect) a corrupt record whose length still fits is accepted.
pub fn scan(log: &[u8], verify_checksums: bool) -> Recovered<'_> {
    let mut payloads = Vec::new();
    let mut at = 0;
    while log.len() - at >= HEADER {
        let len = u32::from_le_bytes(log[at..at + 4].try_into().expect("4 bytes")) as usize;
        let crc = u32::from_le_bytes(log[at + 4..at + 8].try_into().expect("4 bytes"));
        if len > MAX_PAYLOAD || log.len() - at - HEADER < len {
            break;
        }
        let payload = &log[at + HEADER..at + HEADER + len];
        if verify_checksums && crc32fast::hash(payload) != crc {
            break;
        }
        payloads.push(payload);
        at += HEADER + len;
    }
    Recovered {
        payloads,
        valid_len: at,
    }
}

/// A synchronous log over any [`LogDisk`]: append-and-sync, and recovery.
/// The real-file implementation is driven through this.
pub struct Wal<D: LogDisk> {
    disk: D,
    buf: Vec<u8>,
}

impl<D: LogDisk> Wal<D> {
    /// A log on `disk`.
    pub fn new(disk: D) -> Wal<D> {
        Wal {
            disk,
            buf: Vec::new(),
        }
    }

    /// Appends one record and makes it durable before returning: once this
    /// returns `Ok`, the record may be acknowledged.
    pub fn append_durable(&mut self, payload: &[u8]) -> io::Result<()> {
        self.buf.clear();
        frame(payload, &mut self.buf);
        self.disk.append(&self.buf)?;
        self.disk.sync()
    }

    /// Reads every valid record and cuts off any torn or corrupt tail, so
    /// later appends follow the last good record.
    pub fn recover(&mut self) -> io::Result<Vec<Vec<u8>>> {
        let log = self.disk.read_all()?;
        let recovered = scan(&log, true);
        if recovered.valid_len < log.len() {
            self.disk.truncate(recovered.valid_len as u64)?;
        }
        Ok(recovered.payloads.into_iter().map(<[u8]>::to_vec).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn log_of(payloads: &[&[u8]]) -> Vec<u8> {
        let mut log = Vec::new();
        for p in payloads {
            frame(p, &mut log);
        }
        log
    }

    #[test]
    fn scan_returns_every_record_of_a_clean_log() {
        // Proves framing round-trips.
        let log = log_of(&[b"one", b"", b"three"]);
        let r = scan(&log, true);
        assert_eq!(r.payloads, vec![&b"one"[..], b"", b"three"]);
        assert_eq!(r.valid_len, log.len());
    }

    #[test]
    fn scan_stops_at_a_torn_tail() {
        // Proves a record cut short ends recovery at the previous record.
        let log = log_of(&[b"one", b"two"]);
        let cut = &log[..log.len() - 1];
        let r = scan(cut, true);
        assert_eq!(r.payloads, vec![&b"one"[..]]);
        assert_eq!(r.valid_len, HEADER + 3);
    }

    #[test]
    fn scan_stops_at_a_corrupt_record_unless_checksums_are_off() {
        // Proves the checksum catches a flipped byte, and that the no-checksum
        // defect accepts it.
        let mut log = log_of(&[b"one", b"two"]);
        let last = log.len() - 1;
        log[last] ^= 0x20;
        assert_eq!(scan(&log, true).payloads.len(), 1);
        let unchecked = scan(&log, false);
        assert_eq!(unchecked.payloads, vec![&b"one"[..], b"twO"]);
    }
}
