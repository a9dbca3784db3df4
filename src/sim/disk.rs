//! Disks. [`LogDisk`] is the port a persisting node writes through: an
//! append-only file with explicit sync and atomic rewrite. [`SimDisk`] is the
//! simulated implementation: writes sit in a volatile cache until a sync makes
//! them durable; a crash drops what was not synced — except that a random
//! prefix of it may have reached the platter anyway, the write in progress
//! may be torn (the file already grown to its full length, the part not yet
//! written reading as zeros, as ext4 in writeback mode can leave it) and a
//! byte of the unsynced region may be corrupted. Syncs take time and can
//! fail. Every draw comes from the disk's own stream. A log may hand the disk
//! its records as values ([`Record`]): they become bytes only when a crash or
//! a read needs the bytes, and become the same bytes.
//!
//! Corruption only ever touches bytes that were never synced: a single store
//! with no replica cannot survive the loss of synced data, and a fault model
//! that destroys it would make every engine fail, teaching nothing.

use super::rng::{Ratio, SimRng, UniformDraw};
use super::time::Micros;
use rand::Rng;
use serde::{Deserialize, Serialize};
use std::convert::Infallible;
use std::io;

/// An append-only log file, as a persisting node sees it.
pub trait LogDisk {
    /// Appends bytes. They are durable only after a successful [`LogDisk::sync`].
    fn append(&mut self, bytes: &[u8]) -> io::Result<()>;
    /// Makes every byte appended so far durable.
    fn sync(&mut self) -> io::Result<()>;
    /// Everything durable (and, for a real file, whatever the OS kept).
    fn read_all(&mut self) -> io::Result<Vec<u8>>;
    /// Cuts the file to `len` bytes (recovery discarding a bad tail). Durable
    /// at once.
    fn truncate(&mut self, len: u64) -> io::Result<()>;
    /// Replaces the whole file with `bytes`, atomically: a crash leaves either
    /// the old content or the new, never a mix. Durable at once.
    fn rewrite(&mut self, bytes: &[u8]) -> io::Result<()>;
}

/// The disk's fault rates.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DiskFaults {
    /// Shortest sync.
    pub sync_us_min: u64,
    /// Longest sync.
    pub sync_us_max: u64,
    /// Share of syncs that fail (the cached writes are then lost).
    pub sync_fail: Ratio,
    /// Share of crashes that tear the write in progress (its unwritten rest
    /// reads as zeros).
    pub torn_write: Ratio,
    /// Share of crashes that flip a byte in the unsynced region that reached
    /// the disk.
    pub corrupt_sector: Ratio,
}

impl DiskFaults {
    /// A disk that is only slow.
    pub fn calm(&self) -> DiskFaults {
        DiskFaults {
            sync_fail: Ratio::NEVER,
            torn_write: Ratio::NEVER,
            corrupt_sector: Ratio::NEVER,
            ..self.clone()
        }
    }
}

/// How one sync will go, decided when it starts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SyncTicket {
    /// How long it takes.
    pub latency: Micros,
    /// Whether it will fail.
    pub fails: bool,
    /// The end of the file it makes durable.
    covers: Mark,
    /// The file's layout it was begun on (see [`SimDisk`]'s `layout`).
    layout: u64,
}

/// A record a disk may keep as a value, rendering its bytes only when
/// something looks at the file's bytes (a crash, a read, a cut).
pub trait Record {
    /// Appends the record's bytes to the file, exactly as writing it would.
    fn render(&self, file: &mut Vec<u8>);
}

/// The record type of a disk written only in bytes.
impl Record for Infallible {
    fn render(&self, _file: &mut Vec<u8>) {
        match *self {}
    }
}

/// A point in the file: the rendered bytes up to `bytes`, then the first
/// `records` deferred records.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
struct Mark {
    bytes: usize,
    records: usize,
}

/// A simulated disk holding one log file.
///
/// A record appended with [`SimDisk::append_record`] is kept as a value and
/// rendered to bytes only when the bytes matter: a crash (which tears and
/// corrupts bytes), a read, a cut. The file's bytes are the same either way,
/// so a run is too; what is saved is encoding and checksumming every write
/// of a log that is mostly compacted away before anyone reads it.
///
/// A clone is a copy of the disk with a copy of its random stream: crashing
/// it tells what a crash would leave without touching the run.
#[derive(Clone)]
pub struct SimDisk<R = Infallible> {
    /// The rendered file: its durable prefix, then the cache (written, not
    /// synced). One buffer, so a sync copies nothing: it moves the line.
    bytes: Vec<u8>,
    /// Records appended after `bytes`, not rendered yet.
    deferred: Vec<R>,
    /// Where the durable part of the file ends. Past rendered bytes only
    /// when all of them are durable: records come after bytes, and a sync
    /// covers everything appended before it.
    durable: Mark,
    /// Where each rendered append in the cache ends (file offsets): a torn
    /// write is torn within one.
    appends: Vec<usize>,
    /// Bumped whenever the file is laid out anew (records rendered, a
    /// crash, a rewrite, a cut): the marks of a sync begun before no longer
    /// mean anything, so it must not finish after.
    layout: u64,
    faults: DiskFaults,
    rng: SimRng,
    syncs: u64,
    crashes: u64,
}

impl SimDisk {
    /// An empty disk written in bytes, with its own random stream.
    pub fn new(faults: DiskFaults, rng: SimRng) -> SimDisk {
        SimDisk::of_records(faults, rng)
    }
}

impl<R: Record> SimDisk<R> {
    /// An empty disk that also takes records of type `R` (see
    /// [`SimDisk::append_record`]), with its own random stream.
    pub fn of_records(faults: DiskFaults, rng: SimRng) -> SimDisk<R> {
        SimDisk {
            bytes: Vec::new(),
            deferred: Vec::new(),
            durable: Mark::default(),
            appends: Vec::new(),
            faults,
            rng,
            layout: 0,
            syncs: 0,
            crashes: 0,
        }
    }

    /// Replaces the fault rates (the heal phase calms the disk).
    pub fn set_faults(&mut self, faults: DiskFaults) {
        self.faults = faults;
    }

    /// True if something was appended since the last sync.
    pub fn has_unsynced(&self) -> bool {
        self.durable < self.end()
    }

    /// The end of the file.
    fn end(&self) -> Mark {
        Mark {
            bytes: self.bytes.len(),
            records: self.deferred.len(),
        }
    }

    /// Appends what `fill` writes straight onto the end of the file (a
    /// record encoded in place needs no buffer of its own).
    pub fn append_with(&mut self, fill: impl FnOnce(&mut Vec<u8>)) {
        self.render();
        fill(&mut self.bytes);
        self.appends.push(self.bytes.len());
    }

    /// Appends `record`, to be rendered when the file's bytes are needed.
    pub fn append_record(&mut self, record: R) {
        self.deferred.push(record);
    }

    /// Starts a sync of everything cached so far: draws its latency and
    /// whether it fails. The caller waits `latency`, then calls
    /// [`SimDisk::finish_sync`]; a crash in between means it never finished.
    pub fn begin_sync(&mut self) -> SyncTicket {
        let latency = Micros(
            self.rng
                .between(self.faults.sync_us_min, self.faults.sync_us_max),
        );
        let fails = self.faults.sync_fail.chance(&mut self.rng);
        SyncTicket {
            latency,
            fails,
            covers: self.end(),
            layout: self.layout,
        }
    }

    /// Completes a sync. On failure the cached writes are in an unknown state,
    /// as after a failed fsync on Linux: some prefix may have reached the disk
    /// (torn or corrupted as a crash leaves it), the rest is dropped. The
    /// caller must reload from what is durable.
    pub fn finish_sync(&mut self, ticket: SyncTicket) -> io::Result<()> {
        assert!(
            ticket.layout == self.layout
                && self.durable <= ticket.covers
                && ticket.covers <= self.end(),
            "sync ticket outlived a crash, a rewrite or a render"
        );
        self.syncs += 1;
        if ticket.fails {
            self.lose_cache();
            return Err(io::Error::other("simulated fsync failure"));
        }
        self.durable = ticket.covers;
        self.appends.retain(|end| *end > ticket.covers.bytes);
        Ok(())
    }

    /// Replaces the file's contents, all or nothing, with what `fill` writes
    /// straight into the file's buffer followed by `records`: a snapshot as
    /// large as the state needs no second copy of itself on the way.
    pub fn rewrite_with(
        &mut self,
        fill: impl FnOnce(&mut Vec<u8>),
        records: impl IntoIterator<Item = R>,
    ) {
        self.bytes.clear();
        self.deferred.clear();
        self.appends.clear();
        fill(&mut self.bytes);
        self.deferred.extend(records);
        self.durable = self.end();
        self.layout += 1;
    }

    /// The machine lost power: the cache is gone, but a random prefix of it
    /// may have reached the disk, possibly torn or corrupted.
    pub fn crash(&mut self) {
        self.crashes += 1;
        self.lose_cache();
    }

    /// Renders the deferred records onto the end of the bytes.
    fn render(&mut self) {
        if self.deferred.is_empty() {
            return;
        }
        let mut durable = self.durable.bytes;
        for (i, record) in self.deferred.iter().enumerate() {
            record.render(&mut self.bytes);
            if i < self.durable.records {
                durable = self.bytes.len();
            } else {
                self.appends.push(self.bytes.len());
            }
        }
        self.deferred.clear();
        self.durable = Mark {
            bytes: durable,
            records: 0,
        };
        self.layout += 1;
    }

    /// Drops the cache, letting a random prefix of it reach the disk, torn
    /// or corrupted as the fault rates say.
    fn lose_cache(&mut self) {
        self.render();
        self.layout += 1;
        let appends = std::mem::take(&mut self.appends);
        let start = self.durable.bytes;
        let cached = self.bytes.len() - start;
        if cached == 0 {
            return;
        }
        let kept = start + self.rng.random_range(0..=cached);
        self.bytes.truncate(kept);
        if self.faults.torn_write.chance(&mut self.rng) {
            // The file had already grown to hold the write in progress, but
            // its data never all arrived: the rest reads back as zeros.
            if let Some(&end) = appends.iter().find(|&&end| end > kept) {
                self.bytes.resize(end, 0);
            }
        }
        if self.bytes.len() > start && self.faults.corrupt_sector.chance(&mut self.rng) {
            let at = self.rng.random_range(start..self.bytes.len());
            self.bytes[at] ^= 1 << self.rng.random_range(0..8);
        }
        // Whatever reached the platter is the file now.
        self.durable.bytes = self.bytes.len();
    }
}

impl<R: Record> LogDisk for SimDisk<R> {
    fn append(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.append_with(|file| file.extend_from_slice(bytes));
        Ok(())
    }

    fn sync(&mut self) -> io::Result<()> {
        let ticket = SyncTicket {
            latency: Micros::ZERO,
            fails: false,
            covers: self.end(),
            layout: self.layout,
        };
        self.finish_sync(ticket)
    }

    fn read_all(&mut self) -> io::Result<Vec<u8>> {
        self.render();
        Ok(self.bytes[..self.durable.bytes].to_vec())
    }

    fn truncate(&mut self, len: u64) -> io::Result<()> {
        self.render();
        let durable = self.durable.bytes;
        let len = usize::try_from(len).map_or(durable, |l| l.min(durable));
        self.bytes.truncate(len);
        self.durable.bytes = len;
        self.appends.clear();
        self.layout += 1;
        Ok(())
    }

    fn rewrite(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.rewrite_with(|durable| durable.extend_from_slice(bytes), []);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::rng::{Stream, Streams};

    fn disk(faults: DiskFaults) -> SimDisk {
        SimDisk::new(faults, Streams::new(4).stream(Stream::Disk))
    }

    fn calm() -> DiskFaults {
        DiskFaults {
            sync_us_min: 10,
            sync_us_max: 20,
            sync_fail: Ratio::NEVER,
            torn_write: Ratio::NEVER,
            corrupt_sector: Ratio::NEVER,
        }
    }

    #[test]
    fn synced_bytes_survive_a_crash_and_unsynced_ones_may_not() {
        // Proves sync is the durability line: synced data always survives,
        // and at most the unsynced bytes are lost or kept as a prefix.
        for seed in 0..50 {
            let mut d = SimDisk::new(calm(), Streams::new(seed).stream(Stream::Disk));
            d.append(b"durable-").unwrap();
            let t = d.begin_sync();
            d.finish_sync(t).unwrap();
            d.append(b"volatile").unwrap();
            d.crash();
            let after = d.read_all().unwrap();
            assert!(after.starts_with(b"durable-"));
            assert!(b"durable-volatile".starts_with(&after[..]));
        }
    }

    #[test]
    fn a_failed_sync_loses_the_cached_writes() {
        // Proves fsync failure semantics: the cache is gone and at most a
        // prefix of it reached the disk.
        let mut d = disk(DiskFaults {
            sync_fail: Ratio::ALWAYS,
            ..calm()
        });
        d.append(b"abc").unwrap();
        let t = d.begin_sync();
        assert!(t.fails);
        assert!(d.finish_sync(t).is_err());
        assert!(b"abc".starts_with(&d.read_all().unwrap()));
        assert!(!d.has_unsynced());
    }

    #[test]
    fn torn_writes_zero_fill_and_corruption_stays_in_unsynced_bytes() {
        // Proves the crash faults never touch synced bytes, and that a torn
        // write shows up as zeros after the kept prefix, up to the end of the
        // write that was in progress.
        let faults = DiskFaults {
            torn_write: Ratio::ALWAYS,
            corrupt_sector: Ratio::ALWAYS,
            ..calm()
        };
        let mut zero_filled = 0;
        for seed in 0..50 {
            let mut d = SimDisk::new(faults.clone(), Streams::new(seed).stream(Stream::Disk));
            d.append(&[7u8; 100]).unwrap();
            d.sync().unwrap();
            d.append(&[9u8; 1500]).unwrap();
            d.append(&[9u8; 1500]).unwrap();
            d.crash();
            let after = d.read_all().unwrap();
            assert_eq!(&after[..100], &[7u8; 100][..]);
            assert!(
                [100, 1600, 3100].contains(&after.len()),
                "torn to a write's end: {}",
                after.len()
            );
            if after[100..].contains(&0) {
                zero_filled += 1;
            }
        }
        assert!(zero_filled > 0);
    }

    /// A record that renders as `len` copies of `byte`.
    struct Run {
        byte: u8,
        len: usize,
    }

    impl Record for Run {
        fn render(&self, file: &mut Vec<u8>) {
            file.resize(file.len() + self.len, self.byte);
        }
    }

    #[test]
    fn records_kept_as_values_crash_to_the_bytes_written_ones_would() {
        // Proves deferring a record's rendering changes nothing a crash, a
        // failed sync or a recovery can see: a disk given records and one
        // given their bytes, on the same stream, read back byte for byte the
        // same, torn and corrupted alike.
        let faults = DiskFaults {
            torn_write: Ratio::ALWAYS,
            corrupt_sector: Ratio::ALWAYS,
            ..calm()
        };
        let runs = |first: u8| {
            (first..first + 3).map(|b| Run {
                byte: b,
                len: 40 + usize::from(b),
            })
        };
        for seed in 0..50 {
            let stream = || Streams::new(seed).stream(Stream::Disk);
            let mut bytes = SimDisk::new(faults.clone(), stream());
            let mut records = SimDisk::of_records(faults.clone(), stream());
            bytes.rewrite_with(|f| f.extend_from_slice(b"head"), []);
            records.rewrite_with(|f| f.extend_from_slice(b"head"), runs(1));
            for run in runs(1) {
                bytes.append_with(|f| run.render(f));
            }
            bytes.sync().unwrap();
            for run in runs(4) {
                bytes.append_with(|f| run.render(f));
                records.append_record(run);
            }
            let (tb, tr) = (bytes.begin_sync(), records.begin_sync());
            bytes.finish_sync(tb).unwrap();
            records.finish_sync(tr).unwrap();
            for run in runs(7) {
                bytes.append_with(|f| run.render(f));
                records.append_record(run);
            }
            assert!(records.has_unsynced());
            bytes.crash();
            records.crash();
            let after = records.read_all().unwrap();
            assert_eq!(after, bytes.read_all().unwrap(), "seed {seed}");
            assert!(after.len() >= 4 + 6 * 40, "the synced records survive");
        }
    }

    #[test]
    #[should_panic(expected = "sync ticket outlived")]
    fn a_sync_begun_before_the_records_were_rendered_cannot_finish() {
        // Proves a ticket's marks are never read against another layout of
        // the file: rendering the records (here, a byte append behind them)
        // retires every sync in flight.
        let mut d = SimDisk::of_records(calm(), Streams::new(2).stream(Stream::Disk));
        d.append_record(Run { byte: 1, len: 8 });
        let ticket = d.begin_sync();
        d.append(b"tail").unwrap();
        let _ = d.finish_sync(ticket);
    }

    #[test]
    fn rewrite_is_all_or_nothing() {
        // Proves a rewrite replaces the file wholesale.
        let mut d = disk(calm());
        d.append(b"old").unwrap();
        d.sync().unwrap();
        d.rewrite(b"new!").unwrap();
        d.crash();
        assert_eq!(d.read_all().unwrap(), b"new!");
    }
}
