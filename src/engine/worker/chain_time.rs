//! What time it is on each chain, as far as a worker can tell. A
//! transaction is valid until a *chain* time, and a worker's wall clock can
//! be far from it: skew and jumps, and drift that adds up over a long run (a
//! clock 200 ppm slow is two minutes behind after a week). Every broadcast
//! and receipt answer carries the chain's clock, so the worker keeps the
//! latest it heard from each chain with its own monotonic reading at the
//! time, and reckons on from there. Until it has heard from a chain (a fresh
//! start) it goes by its wall clock; if that is too far behind, the chain
//! answers "expired" with its clock, and the next transaction is right.
//!
//! A node behind the head answers with an older clock than one heard
//! before. That is the right clock to judge *its* answer by (see
//! [`crate::chain::Lookup`]); the newest time heard is kept too, for the
//! planted defect that judges by it instead.

use crate::chain::Domain;
use crate::sim::Micros;

/// The chains' times as one worker last heard them.
pub struct ChainTimes {
    /// Per chain: its time, and this worker's monotonic reading then.
    heard: Vec<Option<(Micros, Micros)>>,
    /// Per chain: the answer that reckons furthest ahead, kept the same way.
    newest: Vec<Option<(Micros, Micros)>>,
}

impl ChainTimes {
    /// Nothing heard yet from any of `chains` chains.
    pub fn new(chains: usize) -> ChainTimes {
        ChainTimes {
            heard: vec![None; chains],
            newest: vec![None; chains],
        }
    }

    /// Chain `domain` said its time is `chain_now`; this worker's monotonic
    /// clock read `monotonic` when the answer came.
    pub fn heard(&mut self, domain: Domain, chain_now: Micros, monotonic: Micros) {
        self.heard[domain.index()] = Some((chain_now, monotonic));
        let newest = &mut self.newest[domain.index()];
        if newest.is_none_or(|(then, at)| reckon(then, at, monotonic) <= chain_now) {
            *newest = Some((chain_now, monotonic));
        }
    }

    /// The furthest ahead any answer from chain `domain` reckons its time
    /// now, or `None` if none came.
    pub fn newest(&self, domain: Domain, monotonic: Micros) -> Option<Micros> {
        self.newest[domain.index()].map(|(then, at)| reckon(then, at, monotonic))
    }

    /// The time on chain `domain` now, reckoned from what was last heard, or
    /// the wall clock `wall` if nothing was.
    pub fn now(&self, domain: Domain, monotonic: Micros, wall: Micros) -> Micros {
        match self.heard[domain.index()] {
            Some((chain_now, at)) => reckon(chain_now, at, monotonic),
            None => wall,
        }
    }
}

/// A chain time heard at monotonic reading `at`, reckoned on to `monotonic`.
fn reckon(chain_then: Micros, at: Micros, monotonic: Micros) -> Micros {
    chain_then + Micros(monotonic.0.saturating_sub(at.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reckons_from_the_last_word_of_each_chain() {
        // Proves a chain's time is its last answer plus the time elapsed
        // since, per chain, and the wall clock only before any answer.
        let mut times = ChainTimes::new(2);
        assert_eq!(times.now(Domain(0), Micros(50), Micros(7)), Micros(7));
        times.heard(Domain(0), Micros(1_000), Micros(40));
        assert_eq!(times.now(Domain(0), Micros(50), Micros(7)), Micros(1_010));
        assert_eq!(times.now(Domain(1), Micros(50), Micros(7)), Micros(7));
        times.heard(Domain(0), Micros(900), Micros(60));
        assert_eq!(times.now(Domain(0), Micros(70), Micros(7)), Micros(910));
    }

    #[test]
    fn the_newest_time_is_not_moved_back_by_a_node_behind() {
        // Proves an older clock (a node behind the head) becomes the last
        // word but not the newest: that one reckons on from the answer
        // furthest ahead.
        let mut times = ChainTimes::new(1);
        assert_eq!(times.newest(Domain(0), Micros(0)), None);
        times.heard(Domain(0), Micros(1_000), Micros(40));
        times.heard(Domain(0), Micros(900), Micros(60));
        assert_eq!(times.now(Domain(0), Micros(70), Micros(0)), Micros(910));
        assert_eq!(times.newest(Domain(0), Micros(70)), Some(Micros(1_030)));
        times.heard(Domain(0), Micros(1_100), Micros(80));
        assert_eq!(times.newest(Domain(0), Micros(90)), Some(Micros(1_110)));
    }
}
