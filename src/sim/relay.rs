//! A world whose nodes only pass balls on: the kernel's own cost per event
//! (pop, network draw, digest, dispatch, one send) with none of the engine's
//! work, for benchmarks to set beside a bare heap and beside the full flow.

use super::census::EventKind;
use super::kernel::{Ctx, Kernel, World};
use super::node::{Input, NodeId};
use serde::Serialize;
use std::ops::ControlFlow;

/// `nodes` nodes in a ring and `balls` balls in flight: node 0 throws them
/// all when it starts, and every node hands each ball it gets to the next.
/// A second copy of a ball (the network duplicated it) is let fall, so on a
/// network that loses nothing exactly `balls` balls are always moving.
pub struct Relay {
    nodes: u32,
    /// By ball: the hop it makes next. A copy of an earlier hop is a
    /// duplicate.
    next_hop: Vec<u64>,
    /// Copies let fall because another copy came first.
    duplicates: u64,
}

/// A ball and how many hops it has made.
#[derive(Clone, Hash, Serialize)]
pub struct Ball {
    id: u32,
    hop: u64,
}

impl Relay {
    /// A ring of `nodes` nodes (at least one) with `balls` balls.
    pub fn new(nodes: u32, balls: u32) -> Relay {
        assert!(nodes > 0, "a relay needs a node");
        Relay {
            nodes,
            next_hop: vec![0; balls as usize],
            duplicates: 0,
        }
    }

    /// Runs `kernel` until its `events`-th event; false if the balls
    /// stopped first (a network that loses them).
    pub fn run(&mut self, kernel: &mut Kernel<Ball>, events: u64) -> bool {
        kernel
            .run(self, |_, _, step| {
                if step.n >= events {
                    ControlFlow::Break(())
                } else {
                    ControlFlow::Continue(())
                }
            })
            .is_some()
    }

    fn next(&self, node: NodeId) -> NodeId {
        NodeId((node.0 + 1) % self.nodes)
    }
}

impl World for Relay {
    type Msg = Ball;

    fn deliver(&mut self, node: NodeId, input: Input<Ball>, ctx: &mut Ctx<'_, Ball>) {
        match input {
            Input::Start if node.0 == 0 => {
                for id in 0..self.next_hop.len() as u32 {
                    ctx.send(self.next(node), Ball { id, hop: 0 });
                }
            }
            Input::Start => {}
            Input::Message { msg, .. } | Input::Timer(msg) => {
                let next_hop = &mut self.next_hop[msg.id as usize];
                if msg.hop < *next_hop {
                    self.duplicates += 1;
                    return;
                }
                *next_hop = msg.hop + 1;
                let ball = Ball {
                    id: msg.id,
                    hop: msg.hop + 1,
                };
                ctx.send(self.next(node), ball);
            }
        }
    }

    fn crash(&mut self, _node: NodeId) {}

    fn node_name(&self, node: NodeId) -> String {
        node.to_string()
    }

    fn kind_of(&self, _msg: &Ball) -> EventKind {
        ("relay", "ball")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::{NetworkFaults, NodeClock, Ratio, Streams};

    /// A network that delays, duplicates and reorders, and loses nothing.
    fn lossless() -> NetworkFaults {
        NetworkFaults {
            duplicate: Ratio::new(1, 20).unwrap(),
            reorder: Ratio::new(1, 10).unwrap(),
            ..NetworkFaults::delaying(1_000, 50_000)
        }
    }

    /// Runs `events` events of a relay of 5 nodes and 40 balls.
    fn relay(seed: u64, events: u64) -> (Kernel<Ball>, Relay) {
        let clocks = vec![NodeClock::default(); 5];
        let mut kernel = Kernel::new(&Streams::new(seed), lossless(), clocks);
        let mut relay = Relay::new(5, 40);
        assert!(relay.run(&mut kernel, events), "the balls never stop");
        (kernel, relay)
    }

    #[test]
    fn every_ball_keeps_moving_and_duplicates_fall() {
        // Proves the relay is a steady load: after the five starts, each
        // event passes its ball on, except a duplicate copy, which falls;
        // so every ball thrown at the start is still moving.
        let (kernel, relay) = relay(3, 20_000);
        let stats = kernel.stats();
        assert_eq!(stats.events, 20_000);
        assert!(relay.duplicates > 0, "the network duplicated none");
        assert_eq!(stats.messages_sent, 40 + (20_000 - 5) - relay.duplicates);
        assert_eq!(stats.messages_lost, 0);
        assert!(relay.next_hop.iter().all(|&hop| hop > 100));
    }

    #[test]
    fn the_same_seed_relays_the_same_run() {
        // Proves the relay is as deterministic as any world: one seed, one
        // digest; another seed, other latencies and another digest.
        let digest = |seed| relay(seed, 2_000).0.digest();
        assert_eq!(digest(3), digest(3));
        assert_ne!(digest(3), digest(4));
    }
}
