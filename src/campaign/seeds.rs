//! Which seeds a campaign runs: a range or a time budget, split into shards
//! so that machines of a CI job matrix each take a disjoint share.

use std::fmt;
use std::str::FromStr;

/// Shard `index` (1-based) of `count`: seed number `i` of the campaign
/// belongs to the shard with `i % count == index - 1`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shard {
    /// This shard, from 1.
    pub index: u64,
    /// How many shards in all.
    pub count: u64,
}

impl Shard {
    /// The whole campaign on one machine.
    pub const WHOLE: Shard = Shard { index: 1, count: 1 };
}

impl FromStr for Shard {
    type Err = String;
    fn from_str(s: &str) -> Result<Shard, String> {
        let bad = || format!("`{s}` is not K/N with 1 <= K <= N (e.g. 2/8)");
        let (k, n) = s.split_once('/').ok_or_else(bad)?;
        let index: u64 = k.trim().parse().map_err(|_| bad())?;
        let count: u64 = n.trim().parse().map_err(|_| bad())?;
        if index == 0 || count == 0 || index > count {
            return Err(bad());
        }
        Ok(Shard { index, count })
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

/// A half-open range of seeds `start..end`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SeedRange {
    /// The first seed.
    pub start: u64,
    /// One past the last seed.
    pub end: u64,
}

impl FromStr for SeedRange {
    type Err = String;
    fn from_str(s: &str) -> Result<SeedRange, String> {
        let bad = || format!("`{s}` is not a range A..B with A < B (e.g. 0..1000)");
        let (a, b) = s.split_once("..").ok_or_else(bad)?;
        let start: u64 = a.trim().parse().map_err(|_| bad())?;
        let end: u64 = b.trim().parse().map_err(|_| bad())?;
        if start >= end {
            return Err(bad());
        }
        Ok(SeedRange { start, end })
    }
}

impl fmt::Display for SeedRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}..{}", self.start, self.end)
    }
}

/// The seeds `fuzz` is asked for: a range `A..B`, or `A..`, every seed from
/// `A` on, which only a time budget can end.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SeedSpan {
    /// The first seed.
    pub start: u64,
    /// One past the last seed; `None` for no end.
    pub end: Option<u64>,
}

impl FromStr for SeedSpan {
    type Err = String;
    fn from_str(s: &str) -> Result<SeedSpan, String> {
        match s.trim().strip_suffix("..") {
            Some(start) => {
                let start = start.trim().parse().map_err(|_| {
                    format!("`{s}` is not a range A..B with A < B, or A.. (e.g. 0..1000, 5000..)")
                })?;
                Ok(SeedSpan { start, end: None })
            }
            None => s.parse::<SeedRange>().map(SeedSpan::from),
        }
    }
}

impl From<SeedRange> for SeedSpan {
    fn from(range: SeedRange) -> SeedSpan {
        SeedSpan {
            start: range.start,
            end: Some(range.end),
        }
    }
}

impl fmt::Display for SeedSpan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.end {
            Some(end) => write!(f, "{}..{end}", self.start),
            None => write!(f, "{}..", self.start),
        }
    }
}

/// The seeds one shard of a campaign runs, in order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SeedPlan {
    /// The campaign's first seed.
    pub start: u64,
    /// One past the campaign's last seed; `None` runs until time is up.
    pub end: Option<u64>,
    /// This machine's share.
    pub shard: Shard,
}

impl SeedPlan {
    /// The `i`-th seed of this shard, or `None` past the end of the range.
    pub fn nth(&self, i: u64) -> Option<u64> {
        let offset = i
            .checked_mul(self.shard.count)?
            .checked_add(self.shard.index - 1)?;
        let seed = self.start.checked_add(offset)?;
        match self.end {
            Some(end) if seed >= end => None,
            _ => Some(seed),
        }
    }

    /// How many seeds this shard runs, if the plan is a range.
    pub fn count(&self) -> Option<u64> {
        let span = self.end? - self.start;
        let k = self.shard.index - 1;
        Some(if span > k {
            (span - k).div_ceil(self.shard.count)
        } else {
            0
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_partition_the_range_exactly() {
        // Proves every seed of a range runs on exactly one shard.
        let range: SeedRange = "10..107".parse().unwrap();
        let mut seen = Vec::new();
        for k in 1..=4 {
            let plan = SeedPlan {
                start: range.start,
                end: Some(range.end),
                shard: Shard { index: k, count: 4 },
            };
            let seeds: Vec<u64> = (0..).map_while(|i| plan.nth(i)).collect();
            assert_eq!(seeds.len() as u64, plan.count().unwrap());
            seen.extend(seeds);
        }
        seen.sort();
        assert_eq!(seen, (10..107).collect::<Vec<_>>());
    }

    #[test]
    fn a_span_is_a_range_or_a_start_with_no_end() {
        // Proves `A..` reads as an open span and `A..B` as the range, and
        // that both print as they were written.
        let open: SeedSpan = "5000..".parse().unwrap();
        assert_eq!(
            open,
            SeedSpan {
                start: 5000,
                end: None
            }
        );
        assert_eq!(open.to_string(), "5000..");
        let range: SeedSpan = "3..9".parse().unwrap();
        assert_eq!(range.end, Some(9));
        assert_eq!(range.to_string(), "3..9");
    }

    #[test]
    fn nonsense_ranges_and_shards_are_refused() {
        // Proves bad --seeds and --shard values are named, not defaulted.
        assert!("5..5".parse::<SeedRange>().is_err());
        assert!("9..3".parse::<SeedRange>().is_err());
        assert!("abc".parse::<SeedRange>().is_err());
        assert!("5..".parse::<SeedRange>().is_err());
        for bad in ["..", "x..", "-1..", "9..3", "..5"] {
            assert!(bad.parse::<SeedSpan>().is_err(), "{bad}");
        }
        assert!("0/4".parse::<Shard>().is_err());
        assert!("5/4".parse::<Shard>().is_err());
        assert_eq!(
            "2/4".parse::<Shard>().unwrap(),
            Shard { index: 2, count: 4 }
        );
    }
}
