//! What `bench` sets the full flow beside, timed in the same process: the
//! cheapest event loop there is (a bare heap), and the kernel on its own
//! (the same kernel with nodes that only pass messages on).

use crate::sim::relay::Relay;
use crate::sim::{Kernel, NetworkFaults, NodeClock, Ratio, Streams};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::time::Instant;

/// Events pending in both baselines, as in the reference figure.
const PENDING: u32 = 1_000;

/// Events per second of the cheapest possible event loop: a (time, seq)
/// binary heap with 1,000 pending events and one ChaCha8 draw per event.
#[allow(clippy::disallowed_methods)] // wall time is what a benchmark measures
pub fn bare_heap_events_per_s(events: u64) -> f64 {
    let mut rng = ChaCha8Rng::seed_from_u64(42);
    let mut heap: BinaryHeap<Reverse<(u64, u64, u32)>> = BinaryHeap::with_capacity(1024);
    for i in 0..PENDING {
        heap.push(Reverse((rng.random_range(0..1000), u64::from(i), i)));
    }
    let mut acc = 0u64;
    let t0 = Instant::now();
    for seq in u64::from(PENDING)..u64::from(PENDING) + events {
        let Reverse((t, _, who)) = heap.pop().expect("the heap never empties");
        acc = acc.wrapping_add(u64::from(who) ^ t);
        heap.push(Reverse((t + rng.random_range(1..10_000), seq, who)));
    }
    std::hint::black_box(acc);
    events as f64 / t0.elapsed().as_secs_f64()
}

/// Events per second of the kernel itself: `nodes` nodes relaying 1,000
/// balls over `network` as it delays, duplicates and reorders, each event a
/// pop, the network's draws, the digest, a dispatch and one send. Its loss is
/// left out, so the load stays steady: a lost ball would never come back.
#[allow(clippy::disallowed_methods)] // wall time is what a benchmark measures
pub fn kernel_events_per_s(events: u64, nodes: u32, network: NetworkFaults) -> f64 {
    let lossless = NetworkFaults {
        drop: Ratio::NEVER,
        lost_response: Ratio::NEVER,
        ..network
    };
    let clocks = vec![NodeClock::default(); nodes as usize];
    let mut kernel = Kernel::new(&Streams::new(42), lossless, clocks);
    let mut relay = Relay::new(nodes, PENDING);
    let t0 = Instant::now();
    let ran = relay.run(&mut kernel, events);
    assert!(
        ran,
        "a relay on a network that loses nothing never runs dry"
    );
    events as f64 / t0.elapsed().as_secs_f64()
}
