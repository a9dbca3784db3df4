//! What time it is on each chain, as far as a worker can tell. A
//! transaction is valid until a *chain* time, and a worker's wall clock can
//! be far from it: skew and jumps, and drift that adds up over a long run (a
//! clock 200 ppm slow is two minutes behind after a week). Every broadcast
//! and receipt answer carries the chain's clock, so the worker keeps the
//! latest it heard from each chain with its own monotonic reading at the
//! time, and reckons on from there. Until it has heard from a chain (a fresh
//! start) it goes by its wall clock; if that is too far behind, the chain
//! answers "expired" with its clock, and the next transaction is right.

use crate::chain::Domain;
use crate::sim::Micros;

/// The chains' times as one worker last heard them.
pub struct ChainTimes {
    /// Per chain: its time, and this worker's monotonic reading then.
    heard: Vec<Option<(Micros, Micros)>>,
}

impl ChainTimes {
    /// Nothing heard yet from any of `chains` chains.
    pub fn new(chains: usize) -> ChainTimes {
        ChainTimes {
            heard: vec![None; chains],
        }
    }

    /// Chain `domain` said its time is `chain_now`; this worker's monotonic
    /// clock read `monotonic` when the answer came.
    pub fn heard(&mut self, domain: Domain, chain_now: Micros, monotonic: Micros) {
        self.heard[domain.index()] = Some((chain_now, monotonic));
    }

    /// The time on chain `domain` now, reckoned from what was last heard, or
    /// the wall clock `wall` if nothing was.
    pub fn now(&self, domain: Domain, monotonic: Micros, wall: Micros) -> Micros {
        match self.heard[domain.index()] {
            Some((chain_now, at)) => chain_now + Micros(monotonic.0.saturating_sub(at.0)),
            None => wall,
        }
    }
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
}
