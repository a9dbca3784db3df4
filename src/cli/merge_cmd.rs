//! `settlesim merge REPORT...`: one report from the shards of a campaign.

use super::args::MergeArgs;
use super::fuzz_cmd::{print_table, write_report};
use super::CliError;
use crate::campaign::CampaignReport;

pub fn execute(args: MergeArgs) -> Result<i32, CliError> {
    let mut reports = Vec::with_capacity(args.reports.len());
    for path in &args.reports {
        let text = std::fs::read_to_string(path)
            .map_err(|e| CliError::bad_input(format!("{}: cannot read: {e}", path.display())))?;
        let report: CampaignReport = serde_json::from_str(&text).map_err(|e| {
            CliError::bad_input(format!("{}: not a campaign report: {e}", path.display()))
        })?;
        // Checked here, where the file can be named: an older build wrote
        // `merged` for any merge, which says nothing of the shards in it.
        report
            .shards()
            .map_err(|e| CliError::bad_input(format!("{}: shard {e}", path.display())))?;
        reports.push(report);
    }
    let merged = CampaignReport::merge(reports, args.partial).map_err(CliError::bad_input)?;
    print_table(&merged, None);
    let covered = merged.shards().expect("merge writes a set of shards");
    let missing = covered.missing();
    if !missing.is_empty() {
        eprintln!(
            "note: a partial merge: shards {covered}; missing {}",
            missing.join(", ")
        );
    }
    if let Some(path) = &args.output {
        write_report(&merged, path)?;
    }
    Ok(merged.verdict().exit_code())
}
