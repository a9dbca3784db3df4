//! An event census: how many events of each kind a run handled, and how
//! deep its event queue ran. Off by default (counting costs a map update per
//! event); `settlesim bench --census` turns it on to show where a run's
//! events go.

use serde::Serialize;
use std::collections::BTreeMap;

/// What kind of event: a family (the message's protocol, or `kernel`) and
/// a variant.
pub type EventKind = (&'static str, &'static str);

/// Events counted by kind.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Census {
    counts: BTreeMap<EventKind, u64>,
    /// Σ of the queue's depth seen at each event, and the deepest.
    depth_sum: u64,
    depth_peak: u64,
}

/// One line of a census.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CensusRow {
    /// `family.variant`, e.g. `store.advance`.
    pub kind: String,
    /// How many events of this kind.
    pub events: u64,
}

impl Census {
    /// Counts one event of `kind`, which came out of the queue with
    /// `pending` events still in it (the depth a bare heap would need to be
    /// compared like for like).
    pub fn count(&mut self, kind: EventKind, pending: usize) {
        *self.counts.entry(kind).or_insert(0) += 1;
        let pending = pending as u64;
        self.depth_sum += pending;
        self.depth_peak = self.depth_peak.max(pending);
    }

    /// Every kind seen, most frequent first (ties by name).
    pub fn rows(&self) -> Vec<CensusRow> {
        let mut rows: Vec<CensusRow> = self
            .counts
            .iter()
            .map(|((family, variant), &events)| CensusRow {
                kind: format!("{family}.{variant}"),
                events,
            })
            .collect();
        rows.sort_by(|a, b| b.events.cmp(&a.events).then_with(|| a.kind.cmp(&b.kind)));
        rows
    }

    /// Events pending on average as each came out (0 before any did).
    pub fn mean_depth(&self) -> f64 {
        self.depth_sum as f64 / self.total().max(1) as f64
    }

    /// The most events ever pending as one came out.
    pub fn peak_depth(&self) -> u64 {
        self.depth_peak
    }

    /// Events counted in all.
    pub fn total(&self) -> u64 {
        self.counts.values().sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_by_kind_and_lists_the_most_frequent_first() {
        // Proves counting, totals and the order of the rows.
        let mut c = Census::default();
        c.count(("store", "advance"), 0);
        c.count(("chain", "receipt"), 0);
        c.count(("store", "advance"), 0);
        c.count(("kernel", "fault"), 0);
        assert_eq!(c.total(), 4);
        let rows = c.rows();
        assert_eq!(rows[0].kind, "store.advance");
        assert_eq!(rows[0].events, 2);
        assert_eq!(rows[1].kind, "chain.receipt");
        assert_eq!(rows[2].kind, "kernel.fault");
    }

    #[test]
    fn depth_is_averaged_over_the_events_counted() {
        // Proves the queue's depth is averaged per counted event and its
        // peak kept.
        let mut c = Census::default();
        assert_eq!(c.mean_depth(), 0.0);
        for depth in [10, 30, 20] {
            c.count(("store", "advance"), depth);
        }
        assert_eq!(c.mean_depth(), 20.0);
        assert_eq!(c.peak_depth(), 30);
    }
}
