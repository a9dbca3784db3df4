//! Micro-benchmarks of the kernel's hot paths: the event queue, the network's
//! routing draw, the simulated disk, and one whole small run. Run with
//! `cargo bench`; they measure, they assert nothing.

use settlesim::scenario::Scenario;
use settlesim::sim::queue::EventQueue;
use settlesim::sim::{DiskFaults, LogDisk, Micros, NetworkFaults, Ratio, SimDisk, Stream, Streams};
use settlesim::world::{run, RunOptions};

fn main() {
    divan::main();
}

/// Pop the earliest event and push a follow-up, with `pending` events queued.
#[divan::bench(args = [1_000, 100_000])]
fn queue_pop_push(bencher: divan::Bencher, pending: u64) {
    let mut queue = EventQueue::new(Streams::new(1).stream(Stream::Scheduler));
    for i in 0..pending {
        queue.push(Micros(i * 7 % 10_000), i);
    }
    bencher.bench_local(|| {
        let (t, e) = queue.pop().expect("never empty");
        queue.push(t + Micros(1 + e % 9_999), e);
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

/// Append a 300-byte record and sync it.
#[divan::bench]
fn disk_append_sync(bencher: divan::Bencher) {
    let faults = DiskFaults {
        sync_us_min: 100,
        sync_us_max: 5_000,
        sync_fail: Ratio::NEVER,
        torn_write: Ratio::NEVER,
        corrupt_sector: Ratio::NEVER,
    };
    let mut disk = SimDisk::new(faults, Streams::new(1).stream(Stream::Disk));
    let record = [7u8; 300];
    bencher.bench_local(|| {
        disk.append(&record).unwrap();
        let ticket = disk.begin_sync();
        disk.finish_sync(ticket).unwrap();
    });
}

/// One whole seed of the default scenario cut to 40 settlements.
#[divan::bench(sample_count = 20)]
fn small_run(bencher: divan::Bencher) {
    let mut scenario = Scenario::builtin_default();
    scenario.workload.requests_per_client = 10;
    bencher.bench_local(|| run(7, &scenario, RunOptions::default()).report.events);
}
