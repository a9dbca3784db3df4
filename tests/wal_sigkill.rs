//! The write-ahead log on a real file keeps every acknowledged record when its
//! writer is killed with SIGKILL at a random point, again and again.
//!
//! The parent re-runs this test binary as the child (`writer_child`, ignored
//! unless asked for by name), reads its acknowledgements, kills it after a
//! seeded random number of them, recovers the file and checks that every
//! acknowledged record is there, in order, with nothing invented.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use settlesim::engine::wal::Wal;
use settlesim::file_disk::FileDisk;
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};

const CHILD_ENV: &str = "SETTLESIM_WAL_CHILD_PATH";

fn record(i: u64) -> Vec<u8> {
    // Records of varied length, so a kill can land anywhere in one.
    let mut r = i.to_le_bytes().to_vec();
    r.resize(8 + (i % 97) as usize * 13, (i % 251) as u8);
    r
}

fn index_of(payload: &[u8]) -> u64 {
    u64::from_le_bytes(payload[..8].try_into().unwrap())
}

/// The child: recover, then append records forever, acknowledging each on
/// stdout only after it is durable.
#[test]
#[ignore = "run by wal_survives_sigkill_at_random_points as its child process"]
fn writer_child() {
    let path = std::env::var(CHILD_ENV).expect("run only as a child");
    let mut wal = Wal::new(FileDisk::open(Path::new(&path)).unwrap());
    let mut next = wal.recover().unwrap().last().map_or(0, |p| index_of(p) + 1);
    let stdout = std::io::stdout();
    loop {
        wal.append_durable(&record(next)).unwrap();
        writeln!(stdout.lock(), "ack {next}").unwrap();
        next += 1;
    }
}

#[test]
fn wal_survives_sigkill_at_random_points() {
    // Proves the durability promise on a real kernel: an acknowledged record
    // is never lost, and recovery never yields a record that was not written.
    let dir = tempfile::Builder::new()
        .prefix("settlesim-sigkill-")
        .tempdir()
        .unwrap();
    let path = dir.path().join("wal");
    let mut rng = ChaCha8Rng::seed_from_u64(2026);
    let mut acknowledged: Option<u64> = None;
    for round in 0..12 {
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "writer_child",
                "--ignored",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(CHILD_ENV, &path)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let kill_after = rng.random_range(1..=60u64);
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let mut acks_this_round = 0;
        while acks_this_round < kill_after {
            let line = lines.next().expect("child stopped early").unwrap();
            if let Some(i) = line.strip_prefix("ack ") {
                let i: u64 = i.parse().unwrap();
                acknowledged = Some(i);
                acks_this_round += 1;
            }
        }
        child.kill().unwrap(); // SIGKILL on Unix: no destructor, no flush
        child.wait().unwrap();

        let mut wal = Wal::new(FileDisk::open(&path).unwrap());
        let records = wal.recover().unwrap();
        let last_acked = acknowledged.expect("at least one ack");
        assert!(
            records.len() as u64 > last_acked,
            "round {round}: acknowledged up to {last_acked}, recovered only {} records",
            records.len()
        );
        for (i, payload) in records.iter().enumerate() {
            assert_eq!(
                payload,
                &record(i as u64),
                "round {round}: record {i} differs"
            );
        }
    }
}
