//! Which shards of a campaign a report covers, as its `shard` field writes
//! it: `K/N` for one shard, `1-3+5/8` for what merging some of them made, so
//! a merged report can be merged again and a merge can tell a shard counted
//! twice, or one missing, from a campaign covered exactly once.

use super::seeds::Shard;
use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;

/// A set of shards out of `count`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ShardSet {
    count: u64,
    /// Shard numbers, from 1.
    indices: BTreeSet<u64>,
}

impl From<Shard> for ShardSet {
    fn from(shard: Shard) -> ShardSet {
        ShardSet {
            count: shard.count,
            indices: BTreeSet::from([shard.index]),
        }
    }
}

impl ShardSet {
    /// Adds `other`'s shards; refuses a different shard count or a shard
    /// both hold (its seeds would be counted twice).
    pub fn absorb(&mut self, other: &ShardSet) -> Result<(), String> {
        if other.count != self.count {
            return Err(format!(
                "reports disagree on the number of shards: {} and {}",
                self.count, other.count
            ));
        }
        if let Some(twice) = self.indices.intersection(&other.indices).next() {
            return Err(format!(
                "shard {twice}/{} is in more than one report: its seeds would count twice",
                self.count
            ));
        }
        self.indices.extend(&other.indices);
        Ok(())
    }

    /// The shards not covered, as `K/N` each.
    pub fn missing(&self) -> Vec<String> {
        (1..=self.count)
            .filter(|k| !self.indices.contains(k))
            .map(|k| format!("{k}/{}", self.count))
            .collect()
    }
}

impl FromStr for ShardSet {
    type Err = String;
    fn from_str(s: &str) -> Result<ShardSet, String> {
        let bad = || format!("`{s}` is not a set of shards such as 2/8 or 1-3+5/8");
        let (list, count) = s.split_once('/').ok_or_else(bad)?;
        let count: u64 = count.parse().map_err(|_| bad())?;
        let mut indices = BTreeSet::new();
        for part in list.split('+') {
            let (first, last) = part.split_once('-').unwrap_or((part, part));
            let first: u64 = first.parse().map_err(|_| bad())?;
            let last: u64 = last.parse().map_err(|_| bad())?;
            if first == 0 || first > last || last > count {
                return Err(bad());
            }
            indices.extend(first..=last);
        }
        Ok(ShardSet { count, indices })
    }
}

impl fmt::Display for ShardSet {
    /// Runs of consecutive shards as `a-b`, joined by `+`: `1-3+5/8`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut runs: Vec<(u64, u64)> = Vec::new();
        for &k in &self.indices {
            match runs.last_mut() {
                Some((_, last)) if *last + 1 == k => *last = k,
                _ => runs.push((k, k)),
            }
        }
        let runs: Vec<String> = runs
            .iter()
            .map(|&(a, b)| {
                if a == b {
                    a.to_string()
                } else {
                    format!("{a}-{b}")
                }
            })
            .collect();
        write!(f, "{}/{}", runs.join("+"), self.count)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(s: &str) -> ShardSet {
        s.parse().unwrap()
    }

    #[test]
    fn sets_read_back_as_written() {
        // Proves a set written as runs reads back to the same set, and one
        // shard reads and writes as the `K/N` that `--shard` takes.
        for s in ["2/8", "1-3+5/8", "1-8/8", "1/1", "2+4+6/6"] {
            assert_eq!(set(s).to_string(), s);
        }
        let one = Shard { index: 3, count: 4 };
        assert_eq!(ShardSet::from(one).to_string(), one.to_string());
        for bad in ["merged", "0/2", "3/2", "2-1/4", "1+/2", "1/x"] {
            assert!(bad.parse::<ShardSet>().is_err(), "{bad}");
        }
    }

    #[test]
    fn absorbing_refuses_overlap_and_other_counts_and_names_what_is_missing() {
        // Proves a merge counts each shard once, of one campaign's split,
        // and says which shards it still lacks.
        let mut a = set("1/4");
        a.absorb(&set("3-4/4")).unwrap();
        assert_eq!(a.to_string(), "1+3-4/4");
        assert_eq!(a.missing(), ["2/4"]);
        assert!(a.absorb(&set("3/4")).unwrap_err().contains("shard 3/4"));
        assert!(a.absorb(&set("2/5")).is_err());
        a.absorb(&set("2/4")).unwrap();
        assert!(a.missing().is_empty());
        assert_eq!(a.to_string(), "1-4/4");
    }
}
