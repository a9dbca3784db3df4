//! A campaign's report: what ran, what failed and how to reproduce it. JSON
//! for CI; shards' reports merge into one.

use super::coverage::Coverage;
use super::shards::ShardSet;
use crate::check::Invariant;
use crate::engine::SettlementId;
use crate::world::Verdict;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One failing seed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeedFailure {
    /// The seed.
    pub seed: u64,
    /// Safety or liveness.
    pub verdict: Verdict,
    /// The first invariant that broke (none for nondeterminism).
    pub invariant: Option<Invariant>,
    /// The settlement concerned, if one is.
    pub settlement: Option<SettlementId>,
    /// What was wrong.
    pub detail: String,
    /// The run's digest.
    pub digest: String,
    /// The command that reproduces it.
    pub repro: String,
    /// The repro file saved for it, if any.
    pub repro_file: Option<String>,
}

impl SeedFailure {
    /// What failed, in one word: the invariant, `nondeterminism`, `hung`
    /// (a run that never ended) or `panic` (a run that panicked or died).
    pub fn what(&self) -> &'static str {
        match (self.invariant, self.verdict) {
            (Some(i), _) => i.name(),
            (None, Verdict::Nondeterminism) => "nondeterminism",
            (None, Verdict::Liveness) => "hung",
            (None, _) => "panic",
        }
    }
}

/// The slowest seed of a campaign, by wall time.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Slowest {
    /// The seed.
    pub seed: u64,
    /// Its wall time in milliseconds.
    pub wall_ms: f64,
}

/// The outcome of a campaign (or of one shard of it).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CampaignReport {
    /// settlesim's version.
    pub version: String,
    /// The scenario's name.
    pub scenario: String,
    /// The planted defects switched on.
    pub defects: Vec<String>,
    /// The seeds asked for (`A..B`, or a time budget).
    pub seeds: String,
    /// Whether each seed drew its own fault mix (swarm testing). Absent
    /// from reports of older builds, which ran swarm unless told not to.
    #[serde(default = "swarm_by_default")]
    pub swarm: bool,
    /// Whether each seed drew its settings too (scenario variation).
    /// Absent from reports of older builds, which did not.
    #[serde(default)]
    pub vary: bool,
    /// The shards this report covers (see [`ShardSet`]: `K/N`, or `1-3+5/8`
    /// after a merge).
    pub shard: String,
    /// Seeds run to the end.
    pub seeds_run: u64,
    /// Seeds run twice to compare their digests (`--check-determinism`).
    /// Absent from reports of older builds, which did not count them.
    #[serde(default)]
    pub rechecked: u64,
    /// Seeds where every invariant held.
    pub held: u64,
    /// Failing seeds, in seed order.
    pub failures: Vec<SeedFailure>,
    /// Failing seeds per invariant.
    pub by_invariant: BTreeMap<String, u64>,
    /// The slowest seed.
    pub slowest: Option<Slowest>,
    /// Settlements requested over all seeds.
    pub settlements: u64,
    /// Events over all seeds.
    pub events: u64,
    /// Simulated time over all seeds.
    pub sim_time_us: u64,
    /// How the settlements ended and which faults struck. Absent from
    /// reports of older builds, which read as all zero.
    #[serde(default)]
    pub coverage: Coverage,
    /// Wall time of the campaign (the longest shard's, after a merge).
    pub wall_secs: f64,
    /// True if the campaign was stopped before its end.
    pub interrupted: bool,
}

fn swarm_by_default() -> bool {
    true
}

impl CampaignReport {
    /// The worst verdict among the failures (nondeterminism first: it makes
    /// every other verdict untrustworthy).
    pub fn verdict(&self) -> Verdict {
        let has = |v| self.failures.iter().any(|f| f.verdict == v);
        if has(Verdict::Nondeterminism) {
            Verdict::Nondeterminism
        } else if has(Verdict::Safety) {
            Verdict::Safety
        } else if has(Verdict::Liveness) {
            Verdict::Liveness
        } else {
            Verdict::Held
        }
    }

    /// The shards this report covers, read from its `shard` field. Fails
    /// for a field that names none (an older build's merge wrote `merged`).
    pub fn shards(&self) -> Result<ShardSet, String> {
        self.shard.parse()
    }

    /// Merges shards' reports of one campaign. Refuses reports of different
    /// campaigns (scenario, version, seeds, defects, swarm, variation), a
    /// shard in two reports, and, unless `partial`, a campaign with shards
    /// missing.
    pub fn merge(reports: Vec<CampaignReport>, partial: bool) -> Result<CampaignReport, String> {
        let mut iter = reports.into_iter();
        let mut merged = iter.next().ok_or("no reports to merge")?;
        let mut shards = merged.shards()?;
        for r in iter {
            for (what, a, b) in [
                ("scenario", &merged.scenario, &r.scenario),
                ("version", &merged.version, &r.version),
                ("seeds", &merged.seeds, &r.seeds),
                ("defects", &merged.defects.join("+"), &r.defects.join("+")),
                ("swarm", &merged.swarm.to_string(), &r.swarm.to_string()),
                ("variation", &merged.vary.to_string(), &r.vary.to_string()),
            ] {
                if a != b {
                    return Err(format!("reports disagree on {what}: `{a}` and `{b}`"));
                }
            }
            shards.absorb(&r.shards()?)?;
            merged.seeds_run += r.seeds_run;
            merged.rechecked += r.rechecked;
            merged.held += r.held;
            merged.failures.extend(r.failures);
            for (name, n) in r.by_invariant {
                *merged.by_invariant.entry(name).or_insert(0) += n;
            }
            merged.slowest = match (merged.slowest, r.slowest) {
                (Some(a), Some(b)) => Some(if b.wall_ms > a.wall_ms { b } else { a }),
                (a, b) => a.or(b),
            };
            merged.settlements += r.settlements;
            merged.events += r.events;
            merged.sim_time_us += r.sim_time_us;
            merged.coverage.absorb(&r.coverage);
            merged.wall_secs = merged.wall_secs.max(r.wall_secs);
            merged.interrupted |= r.interrupted;
        }
        let missing = shards.missing();
        if !missing.is_empty() && !partial {
            return Err(format!(
                "shards missing: {} (--partial merges what is there)",
                missing.join(", ")
            ));
        }
        merged.shard = shards.to_string();
        merged.failures.sort_by_key(|f| f.seed);
        Ok(merged)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A report of one shard of seeds `0..2`.
    fn shard_report(shard: &str) -> CampaignReport {
        CampaignReport {
            version: "0.1.0".into(),
            scenario: "default".into(),
            defects: Vec::new(),
            seeds: "0..2".into(),
            swarm: true,
            vary: false,
            shard: shard.into(),
            seeds_run: 2,
            rechecked: 1,
            held: 2,
            failures: Vec::new(),
            by_invariant: BTreeMap::new(),
            slowest: None,
            settlements: 400,
            events: 9_000,
            sim_time_us: 1_000_000,
            coverage: Coverage {
                completed: 190,
                refunded: 6,
                failed: 4,
                reorgs: 3,
                ..Coverage::default()
            },
            wall_secs: 0.5,
            interrupted: false,
        }
    }

    #[test]
    fn a_report_from_an_older_build_still_reads() {
        // Proves a report written without `rechecked` or `swarm` (an older
        // build's) reads back with none re-run, swarm on (the default then)
        // and everything else intact, so `merge` still takes it.
        let report = shard_report("1/1");
        let mut json = serde_json::to_value(&report).unwrap();
        json.as_object_mut().unwrap().remove("rechecked");
        json.as_object_mut().unwrap().remove("swarm");
        json.as_object_mut().unwrap().remove("coverage");
        let read: CampaignReport = serde_json::from_value(json).unwrap();
        assert_eq!(read.rechecked, 0);
        assert!(read.swarm);
        assert_eq!(read.coverage, Coverage::default());
        assert_eq!(
            CampaignReport {
                rechecked: 1,
                coverage: report.coverage,
                ..read
            },
            report
        );
    }

    #[test]
    fn merge_takes_each_shard_once_and_all_of_them_unless_partial() {
        // Proves a merge refuses a shard given twice, a missing shard (but
        // for a partial merge, which says what it covers), and reports that
        // ran with and without swarm testing or scenario variation; and that
        // a merged report merges again.
        let merge = |shards: &[&str], partial| {
            let reports = shards.iter().map(|s| shard_report(s)).collect();
            CampaignReport::merge(reports, partial)
        };
        let twice = merge(&["1/3", "1/3", "2/3", "3/3"], false).unwrap_err();
        assert!(twice.contains("shard 1/3"), "{twice}");
        let missing = merge(&["1/3", "3/3"], false).unwrap_err();
        assert!(missing.contains("missing: 2/3"), "{missing}");
        let part = merge(&["1/3", "3/3"], true).unwrap();
        assert_eq!((part.shard.as_str(), part.seeds_run), ("1+3/3", 4));
        let whole = CampaignReport::merge(vec![part, shard_report("2/3")], false).unwrap();
        assert_eq!((whole.shard.as_str(), whole.seeds_run), ("1-3/3", 6));
        let sums = &whole.coverage;
        assert_eq!((sums.completed, sums.refunded, sums.failed), (570, 18, 12));
        assert_eq!((sums.reorgs, sums.crashes), (9, 0));
        let no_swarm = CampaignReport {
            swarm: false,
            ..shard_report("2/2")
        };
        let mixed = CampaignReport::merge(vec![shard_report("1/2"), no_swarm], false);
        assert!(mixed.unwrap_err().contains("swarm"));
        let varied = CampaignReport {
            vary: true,
            ..shard_report("2/2")
        };
        let mixed = CampaignReport::merge(vec![shard_report("1/2"), varied], false);
        assert!(mixed.unwrap_err().contains("variation"));
    }
}
