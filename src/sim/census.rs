//! An event census: how many events of each kind a run handled. Off by
//! default (counting costs a map update per event); `settlesim bench
//! --census` turns it on to show where a run's events go.

use serde::Serialize;
use std::collections::BTreeMap;

/// What kind of event: a family (the message's protocol, or `kernel`) and
/// a variant.
pub type EventKind = (&'static str, &'static str);

/// Events counted by kind.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Census {
    counts: BTreeMap<EventKind, u64>,
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
    /// Counts one event of `kind`.
    pub fn count(&mut self, kind: EventKind) {
        *self.counts.entry(kind).or_insert(0) += 1;
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
        c.count(("store", "advance"));
        c.count(("chain", "receipt"));
        c.count(("store", "advance"));
        c.count(("kernel", "fault"));
        assert_eq!(c.total(), 4);
        let rows = c.rows();
        assert_eq!(rows[0].kind, "store.advance");
        assert_eq!(rows[0].events, 2);
        assert_eq!(rows[1].kind, "chain.receipt");
        assert_eq!(rows[2].kind, "kernel.fault");
    }
}
