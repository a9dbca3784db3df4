//! Micro-benchmarks of the kernel's hot paths: the event queue, the network's
//! routing draw, the simulated disk, and one whole small run. Run with
//! `cargo bench`; they measure, they assert nothing.

use settlesim::scenario::Scenario;
use settlesim::sim::queue::EventQueue;
use settlesim::sim::relay::Relay;
use settlesim::sim::{
    DiskFaults, Kernel, LogDisk, Micros, NetworkFaults, NodeClock, Ratio, Record, SimDisk, Stream,
    Streams,
};
use settlesim::world::{run, RunOptions};

fn main() {
    divan::main();
}

/// Pop the earliest event and push a follow-up, with `pending` events queued:
/// three in four follow-ups a network hop away (1–50 ms), one in four a timer
/// (0.5–20 s), as in a run. Each sample is 1,000 pops and pushes, so the
/// calendar's occasional bucket pour is averaged in; the figure is per pop
/// and push.
#[divan::bench(args = [200, 1_000, 100_000])]
fn queue_pop_push(bencher: divan::Bencher, pending: u64) {
    const OPS: u64 = 1_000;
    let delay = |e: u64| {
        let spread = e.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 40;
        if e % 4 == 0 {
            500_000 + spread % 19_500_000
        } else {
            1_000 + spread % 49_000
        }
    };
    let mut queue = EventQueue::new(Streams::new(1).stream(Stream::Scheduler));
    for i in 0..pending {
        queue.push(Micros(delay(i)), i);
    }
    let mut n = pending;
    bencher
        .counter(divan::counter::ItemsCount::new(OPS))
        .bench_local(|| {
            for _ in 0..OPS {
                let (t, _) = queue.pop().expect("never empty");
                n += 1;
                queue.push(t + Micros(delay(n)), n);
            }
        });
}

/// Draw one message's fate on a lossy, duplicating, reordering network.
#[divan::bench]
fn network_route(bencher: divan::Bencher) {
    let faults = NetworkFaults {
        latency_us_min: 1_000,
        latency_us_max: 50_000,
        drop: Ratio::new(1, 100).unwrap(),
        duplicate: Ratio::new(1, 100).unwrap(),
        reorder: Ratio::new(1, 50).unwrap(),
        lost_response: Ratio::new(1, 50).unwrap(),
    };
    let mut net =
        settlesim::sim::network::Network::new(16, faults, Streams::new(1).stream(Stream::Network));
    bencher.bench_local(|| net.route(true));
}

/// A simulated disk with no faults: a sync takes 0.1–5 ms and never fails.
fn quiet_disk<R: Record>() -> SimDisk<R> {
    let faults = DiskFaults {
        sync_us_min: 100,
        sync_us_max: 5_000,
        sync_fail: Ratio::NEVER,
        torn_write: Ratio::NEVER,
        corrupt_sector: Ratio::NEVER,
    };
    SimDisk::of_records(faults, Streams::new(1).stream(Stream::Disk))
}

/// Appends between two compactions: the file stays under 300 KB, so the
/// figure does not grow with the number of iterations the harness picks.
const APPENDS_PER_FILE: u32 = 1_000;

/// Runs one file's worth of appends first, so the file's buffers have
/// grown to their size before anything is timed.
fn warm_up(step: &mut impl FnMut()) {
    for _ in 0..APPENDS_PER_FILE {
        step();
    }
}

/// Append a 300-byte record as bytes and sync it (how the log in
/// `engine/wal.rs` writes, on a real file too); the file is cut back to empty
/// every thousand appends.
#[divan::bench]
fn disk_append_sync(bencher: divan::Bencher) {
    let mut disk = quiet_disk::<std::convert::Infallible>();
    let record = [7u8; 300];
    let mut appended = 0;
    let mut step = move || {
        disk.append(&record).unwrap();
        let ticket = disk.begin_sync();
        disk.finish_sync(ticket).unwrap();
        appended += 1;
        if appended == APPENDS_PER_FILE {
            disk.truncate(0).unwrap();
            appended = 0;
        }
    };
    warm_up(&mut step);
    bencher.bench_local(step);
}

/// A 300-byte record kept as a value, as the store's are.
struct Blob([u8; 300]);

impl Record for Blob {
    fn render(&self, file: &mut Vec<u8>) {
        file.extend_from_slice(&self.0);
    }
}

/// Append a record as a value and sync it (the store's path: the record is
/// rendered only if a crash or a read needs its bytes, which here none
/// does); the file is compacted every thousand appends, as the store does.
#[divan::bench]
fn disk_record_sync(bencher: divan::Bencher) {
    let mut disk = quiet_disk::<Blob>();
    let mut appended = 0;
    let mut step = move || {
        disk.append_record(Blob([7; 300]));
        let ticket = disk.begin_sync();
        disk.finish_sync(ticket).unwrap();
        appended += 1;
        if appended == APPENDS_PER_FILE {
            disk.rewrite_with(|_| {}, []);
            appended = 0;
        }
    };
    warm_up(&mut step);
    bencher.bench_local(step);
}

/// One kernel event: pop, network draw, digest, dispatch, one send.
#[divan::bench(sample_size = 1000)]
fn kernel_event(bencher: divan::Bencher) {
    let network = NetworkFaults {
        latency_us_min: 1_000,
        latency_us_max: 50_000,
        drop: Ratio::NEVER,
        duplicate: Ratio::new(1, 100).unwrap(),
        reorder: Ratio::new(1, 50).unwrap(),
        lost_response: Ratio::NEVER,
    };
    let mut kernel = Kernel::new(&Streams::new(1), network, vec![NodeClock::default(); 2]);
    // Two nodes passing one ball: the kernel's own cost per event, with
    // next to no work in the nodes.
    let mut world = Relay::new(2, 1);
    bencher.bench_local(|| kernel.step(&mut world).expect("the ball never stops"));
}

/// One whole seed of the default scenario cut to 40 settlements.
#[divan::bench(sample_count = 20)]
fn small_run(bencher: divan::Bencher) {
    let mut scenario = Scenario::builtin_default();
    scenario.workload.requests_per_client = 10;
    bencher.bench_local(|| run(7, &scenario, RunOptions::default()).report.events);
}
