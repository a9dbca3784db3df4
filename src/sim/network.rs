//! The simulated network: per-message latency, loss, duplication, reordering,
//! lost responses, and partitions.
//!
//! A message's fate (how many copies arrive, and when) is drawn from the
//! network's own stream when it is sent. Whether the link is up is judged when
//! a copy arrives, so a partition that starts while a message is in flight
//! still cuts it. A *lost response* is a reply dropped after its request was
//! applied: the caller cannot tell it from a request that never arrived.

use super::node::NodeId;
use super::rng::{Ratio, SimRng, UniformDraw};
use super::time::Micros;
use serde::{Deserialize, Serialize};

/// The network's fault rates. All probabilities are per message.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NetworkFaults {
    /// Shortest one-way latency.
    pub latency_us_min: u64,
    /// Longest one-way latency of an ordinary message.
    pub latency_us_max: u64,
    /// Share of messages lost outright.
    pub drop: Ratio,
    /// Share of messages delivered twice.
    pub duplicate: Ratio,
    /// Share of messages held back long enough to arrive after later ones
    /// (an extra delay of one to ten times `latency_us_max`).
    pub reorder: Ratio,
    /// Share of replies lost after their request was applied.
    pub lost_response: Ratio,
}

impl NetworkFaults {
    /// A network that only delays each message by `latency_us_min` to
    /// `latency_us_max`.
    pub fn delaying(latency_us_min: u64, latency_us_max: u64) -> NetworkFaults {
        NetworkFaults {
            latency_us_min,
            latency_us_max,
            drop: Ratio::NEVER,
            duplicate: Ratio::NEVER,
            reorder: Ratio::NEVER,
            lost_response: Ratio::NEVER,
        }
    }

    /// This network with only its delays: used for the heal phase.
    pub fn calm(&self) -> NetworkFaults {
        NetworkFaults::delaying(self.latency_us_min, self.latency_us_max)
    }
}

/// When the copies of one sent message arrive: none, one or two.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Fate {
    /// Delay of each arriving copy.
    pub copies: [Option<Micros>; 2],
}

/// A cut between two groups of nodes, as planned.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Partition {
    /// One side.
    pub side_a: Vec<NodeId>,
    /// The other side.
    pub side_b: Vec<NodeId>,
    /// If true, only messages from `side_a` to `side_b` are cut.
    pub one_way: bool,
}

/// The network of one run.
pub struct Network {
    faults: NetworkFaults,
    rng: SimRng,
    nodes: usize,
    /// `cuts[from * nodes + to]`: how many active partitions cut that link.
    /// A count, so overlapping partitions heal independently.
    cuts: Vec<u16>,
}

impl Network {
    /// A fully connected network of `nodes` nodes.
    pub fn new(nodes: usize, faults: NetworkFaults, rng: SimRng) -> Network {
        assert!(faults.latency_us_min <= faults.latency_us_max);
        Network {
            faults,
            rng,
            nodes,
            cuts: vec![0; nodes * nodes],
        }
    }

    /// Replaces the fault rates (the heal phase calms the network).
    pub fn set_faults(&mut self, faults: NetworkFaults) {
        self.faults = faults;
    }

    /// Draws the fate of one message. `reply` marks a response, which may be
    /// lost after its request took effect.
    // Inlined into the send: one call fewer per message.
    #[inline(always)]
    pub fn route(&mut self, reply: bool) -> Fate {
        let f = &self.faults;
        let lost = f.drop.chance(&mut self.rng) || (reply && f.lost_response.chance(&mut self.rng));
        if lost {
            return Fate {
                copies: [None, None],
            };
        }
        let first = self.latency();
        let second = if self.faults.duplicate.chance(&mut self.rng) {
            Some(self.latency())
        } else {
            None
        };
        Fate {
            copies: [Some(first), second],
        }
    }

    fn latency(&mut self) -> Micros {
        let f = &self.faults;
        let mut us = self.rng.between(f.latency_us_min, f.latency_us_max);
        if f.reorder.chance(&mut self.rng) {
            let max = f.latency_us_max.max(1);
            us += self.rng.between(max, max * 10);
        }
        Micros(us)
    }

    /// True if a message from `from` to `to` gets through right now.
    pub fn link_up(&self, from: NodeId, to: NodeId) -> bool {
        self.cuts[from.index() * self.nodes + to.index()] == 0
    }

    /// Starts a partition.
    pub fn cut(&mut self, p: &Partition) {
        self.adjust(p, |c| {
            *c = c.checked_add(1).expect("too many overlapping partitions")
        });
    }

    /// Heals a partition started by [`Network::cut`].
    pub fn heal(&mut self, p: &Partition) {
        // Saturating: the heal phase may have healed everything already.
        self.adjust(p, |c| *c = c.saturating_sub(1));
    }

    /// Heals every partition at once (the heal phase).
    pub fn heal_all(&mut self) {
        self.cuts.iter_mut().for_each(|c| *c = 0);
    }

    fn adjust(&mut self, p: &Partition, mut f: impl FnMut(&mut u16)) {
        for a in &p.side_a {
            for b in &p.side_b {
                if a == b {
                    continue;
                }
                f(&mut self.cuts[a.index() * self.nodes + b.index()]);
                if !p.one_way {
                    f(&mut self.cuts[b.index() * self.nodes + a.index()]);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::rng::{Stream, Streams};

    fn faults() -> NetworkFaults {
        NetworkFaults::delaying(100, 200)
    }

    fn net(faults: NetworkFaults) -> Network {
        Network::new(3, faults, Streams::new(1).stream(Stream::Network))
    }

    #[test]
    fn two_way_partition_cuts_both_directions_until_healed() {
        // Proves a two-way partition blocks both ways and healing restores it.
        let mut n = net(faults());
        let p = Partition {
            side_a: vec![NodeId(0)],
            side_b: vec![NodeId(1), NodeId(2)],
            one_way: false,
        };
        n.cut(&p);
        assert!(!n.link_up(NodeId(0), NodeId(1)));
        assert!(!n.link_up(NodeId(2), NodeId(0)));
        assert!(n.link_up(NodeId(1), NodeId(2)));
        n.heal(&p);
        assert!(n.link_up(NodeId(0), NodeId(1)));
        assert!(n.link_up(NodeId(2), NodeId(0)));
    }

    #[test]
    fn one_way_partition_cuts_one_direction_only() {
        // Proves a one-way partition leaves the reverse direction working.
        let mut n = net(faults());
        let p = Partition {
            side_a: vec![NodeId(0)],
            side_b: vec![NodeId(1)],
            one_way: true,
        };
        n.cut(&p);
        assert!(!n.link_up(NodeId(0), NodeId(1)));
        assert!(n.link_up(NodeId(1), NodeId(0)));
    }

    #[test]
    fn overlapping_partitions_heal_independently() {
        // Proves healing one of two overlapping cuts keeps the link down.
        let mut n = net(faults());
        let p = Partition {
            side_a: vec![NodeId(0)],
            side_b: vec![NodeId(1)],
            one_way: false,
        };
        n.cut(&p);
        n.cut(&p);
        n.heal(&p);
        assert!(!n.link_up(NodeId(0), NodeId(1)));
        n.heal_all();
        assert!(n.link_up(NodeId(0), NodeId(1)));
    }

    #[test]
    fn lost_responses_hit_replies_only() {
        // Proves lost_response never drops a request, always drops a reply
        // at probability one.
        let mut n = net(NetworkFaults {
            lost_response: Ratio::ALWAYS,
            ..faults()
        });
        for _ in 0..100 {
            assert!(n.route(false).copies[0].is_some());
            assert_eq!(n.route(true).copies, [None, None]);
        }
    }

    #[test]
    fn latency_stays_in_bounds_and_duplicates_make_two_copies() {
        // Proves latency respects the configured bounds and duplication
        // yields a second copy.
        let mut n = net(NetworkFaults {
            duplicate: Ratio::ALWAYS,
            ..faults()
        });
        for _ in 0..1000 {
            let fate = n.route(false);
            for copy in fate.copies {
                let d = copy.expect("two copies").0;
                assert!((100..=200).contains(&d), "latency {d}");
            }
        }
    }
}
