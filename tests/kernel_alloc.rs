//! The kernel allocates nothing per event: a steady stream of messages and
//! timers (sends, replies, timers set and cancelled) runs on the memory the
//! queue already has. Counted with a global allocator that tallies calls.

use serde::Serialize;
use settlesim::sim::{
    Ctx, EventKind, Input, Kernel, Micros, NetworkFaults, NodeClock, NodeId, Ratio, Streams, World,
};
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicU64, Ordering};

/// The system allocator, counting allocations and reallocations.
struct Counting;

static ALLOCATIONS: AtomicU64 = AtomicU64::new(0);

// SAFETY: every call is passed straight to the system allocator.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: the caller upholds `alloc`'s contract.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: the caller upholds `dealloc`'s contract.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: the caller upholds `realloc`'s contract.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Two nodes that keep each other busy: each message is answered, and
/// each answer sets a timer and cancels the one before it, forever.
struct Chatter {
    pending_timer: [Option<settlesim::sim::TimerId>; 2],
}

#[derive(Clone, Hash, Serialize)]
enum Talk {
    Ask(u64),
    Answer(u64),
    Tick,
}

impl World for Chatter {
    type Msg = Talk;

    fn deliver(&mut self, node: NodeId, input: Input<Talk>, ctx: &mut Ctx<'_, Talk>) {
        let other = NodeId(1 - node.0);
        match input {
            Input::Start => ctx.send(other, Talk::Ask(0)),
            Input::Message {
                from,
                msg: Talk::Ask(n),
            } => ctx.reply(from, Talk::Answer(n)),
            Input::Message {
                msg: Talk::Answer(n),
                ..
            } => {
                let slot = &mut self.pending_timer[node.index()];
                if let Some(old) = slot.take() {
                    ctx.cancel_timer(old);
                }
                *slot = Some(ctx.set_timer(Micros(1_000_000), Talk::Tick));
                ctx.send(other, Talk::Ask(n + 1));
            }
            Input::Timer(_) | Input::Message { .. } => {}
        }
    }

    fn crash(&mut self, _node: NodeId) {}

    fn node_name(&self, node: NodeId) -> String {
        node.to_string()
    }

    fn kind_of(&self, _msg: &Talk) -> EventKind {
        ("talk", "talk")
    }
}

#[test]
fn the_kernel_allocates_nothing_per_event() {
    // Proves the event loop reuses its memory: after a warm-up, 200,000
    // more events (sends, replies, timers set and cancelled, a lossy and
    // reordering network) cost only a few amortised growths (the digest's
    // checkpoint list, the queue when the backlog peaks), not one
    // allocation per event — nor one per thousand.
    let network = NetworkFaults {
        duplicate: Ratio::new(1, 50).unwrap(),
        reorder: Ratio::new(1, 20).unwrap(),
        ..NetworkFaults::delaying(100, 5_000)
    };
    let mut kernel = Kernel::new(&Streams::new(3), network, vec![NodeClock::default(); 2]);
    let mut world = Chatter {
        pending_timer: [None; 2],
    };
    for _ in 0..20_000 {
        kernel.step(&mut world).expect("the chatter never stops");
    }
    let before = ALLOCATIONS.load(Ordering::Relaxed);
    for _ in 0..200_000 {
        kernel.step(&mut world).expect("the chatter never stops");
    }
    let allocations = ALLOCATIONS.load(Ordering::Relaxed) - before;
    assert!(
        allocations <= 32,
        "{allocations} allocations in 200,000 events"
    );
    assert_eq!(kernel.stats().events, 220_000);
}
