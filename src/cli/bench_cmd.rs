//! `settlesim bench`: the full settlement flow — store, leases, chains,
//! attester, faults, every invariant — at a chosen size, timed, beside a bare
//! event heap and the kernel on its own, timed in the same process (only
//! ratios measured side by side mean anything on a shared machine).

mod baselines;
mod machine;

use super::args::BenchArgs;
use super::run_cmd::load_scenario;
use super::CliError;
use crate::world::{run, Layout, RunOptions};
use baselines::{bare_heap_events_per_s, kernel_events_per_s};
use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;
use std::time::Instant;

/// One line of figures.
#[derive(Serialize)]
struct Figures {
    scenario: String,
    /// The processor, its clock and logical CPUs: figures taken on another
    /// machine do not compare.
    machine: Option<String>,
    /// Timed runs; the wall time and each rate are their medians.
    runs: u32,
    settlements: u64,
    events: u64,
    wall_s: f64,
    settlements_per_s: f64,
    events_per_s: f64,
    sim_s_per_wall_s: f64,
    peak_rss_mb: Option<f64>,
    bare_heap_events_per_s: f64,
    /// The full flow's rate over the bare heap's, taken run by run (each
    /// run beside the bare heap timed right after it), then the median:
    /// a machine whose speed drifts between runs moves both alike.
    events_vs_bare_heap: f64,
    /// The lowest and highest of those ratios.
    events_vs_bare_heap_range: [f64; 2],
    /// The kernel alone (see [`baselines::kernel_events_per_s`]), and its
    /// share of the bare heap's rate, run by run as above: the cost of the
    /// event loop without the engine's work.
    kernel_events_per_s: f64,
    kernel_vs_bare_heap: f64,
    kernel_vs_bare_heap_range: [f64; 2],
    /// With `--census`: events by kind, most frequent first.
    #[serde(skip_serializing_if = "Option::is_none")]
    census: Option<Vec<CensusLine>>,
    /// With `--census`: how deep the event queue ran.
    #[serde(skip_serializing_if = "Option::is_none")]
    queue_depth: Option<QueueDepth>,
}

/// Events pending as each came out, cancelled timers included until their
/// keys come out: the depth a bare heap would keep to compare like for like
/// (the baselines keep 1,000).
#[derive(Serialize)]
struct QueueDepth {
    mean: f64,
    peak: u64,
}

/// One kind of event in the census.
#[derive(Serialize)]
struct CensusLine {
    kind: String,
    events: u64,
    per_settlement: f64,
}

#[allow(clippy::disallowed_methods)] // wall time is what a benchmark measures
pub fn execute(args: BenchArgs) -> Result<i32, CliError> {
    let mut scenario = load_scenario(args.sim.as_deref())?;
    if args.settlements == 0 {
        return Err(CliError::bad_input("--settlements must be at least 1"));
    }
    if args.runs == 0 {
        return Err(CliError::bad_input("--runs must be at least 1"));
    }
    let clients = u64::from(scenario.engine.clients);
    scenario.workload.requests_per_client = u32::try_from(args.settlements.div_ceil(clients))
        .map_err(|_| CliError::bad_input("--settlements is too large"))?;
    scenario.limits.max_events = u64::MAX;
    let nodes = u32::try_from(Layout::new(&scenario).len()).expect("a few nodes");
    let mut walls = Vec::new();
    let mut bares = Vec::new();
    let mut kernels = Vec::new();
    let mut first = None;
    // Read after the first run: later runs reuse a heap the first one grew.
    let mut peak_rss = None;
    let status = status_line();
    for run_number in 1..=args.runs {
        let which = format!("run {run_number}/{}", args.runs);
        status.set_message(format!(
            "{which}: the full flow, {} settlements",
            args.settlements
        ));
        let options = RunOptions {
            // Counting is only needed once; it would slow the other runs.
            census: args.census && first.is_none(),
            ..RunOptions::default()
        };
        let t0 = Instant::now();
        let output = run(args.seed, &scenario, options);
        walls.push(t0.elapsed().as_secs_f64());
        let baseline_events = output.report.events.clamp(1_000_000, 20_000_000);
        status.set_message(format!("{which}: the bare heap"));
        bares.push(bare_heap_events_per_s(baseline_events));
        status.set_message(format!("{which}: the kernel alone"));
        kernels.push(kernel_events_per_s(
            baseline_events,
            nodes,
            scenario.faults.network.clone(),
        ));
        if first.is_none() {
            peak_rss = peak_rss_mb();
            first = Some(output);
        }
    }
    status.finish_and_clear();
    let output = first.expect("at least one run");
    let report = output.report;
    // Each run against the baselines timed right after it, before the
    // medians below sort the timings (every run has the same events: it is
    // the same seed).
    let mut flow_ratios: Vec<f64> = (walls.iter().zip(&bares))
        .map(|(wall, bare)| report.events as f64 / wall / bare)
        .collect();
    let mut kernel_ratios: Vec<f64> = kernels.iter().zip(&bares).map(|(k, b)| k / b).collect();
    let wall = median(&mut walls);
    let bare = median(&mut bares);
    let kernel = median(&mut kernels);
    let events_per_s = report.events as f64 / wall;
    let figures = Figures {
        scenario: scenario.name.clone(),
        machine: machine::describe(),
        runs: args.runs,
        settlements: report.summary.requested,
        events: report.events,
        wall_s: wall,
        settlements_per_s: report.summary.requested as f64 / wall,
        events_per_s,
        sim_s_per_wall_s: report.sim_time_us as f64 / 1e6 / wall,
        peak_rss_mb: peak_rss,
        bare_heap_events_per_s: bare,
        events_vs_bare_heap: median(&mut flow_ratios),
        events_vs_bare_heap_range: range(&flow_ratios),
        kernel_events_per_s: kernel,
        kernel_vs_bare_heap: median(&mut kernel_ratios),
        kernel_vs_bare_heap_range: range(&kernel_ratios),
        queue_depth: output.census.as_ref().map(|census| QueueDepth {
            mean: census.mean_depth(),
            peak: census.peak_depth(),
        }),
        census: output.census.map(|census| {
            let settlements = report.summary.requested.max(1) as f64;
            census
                .rows()
                .into_iter()
                .map(|row| CensusLine {
                    per_settlement: row.events as f64 / settlements,
                    kind: row.kind,
                    events: row.events,
                })
                .collect()
        }),
    };
    if args.json {
        println!(
            "{}",
            serde_json::to_string(&figures).expect("figures serialise")
        );
    } else {
        println!(
            "bench {}: {} settlements, {} events in {:.3}s{}: {:.0} settlements/s, {:.0} events/s, \
             {:.0} simulated s per wall s, peak {} MB; bare heap {:.0} events/s (ratio {:.3}{}); \
             kernel alone {:.0} events/s (ratio {:.3}{}); verdict {}",
            figures.scenario,
            figures.settlements,
            figures.events,
            figures.wall_s,
            if figures.runs > 1 {
                format!(" (median of {} runs)", figures.runs)
            } else {
                String::new()
            },
            figures.settlements_per_s,
            figures.events_per_s,
            figures.sim_s_per_wall_s,
            figures.peak_rss_mb.map_or("?".into(), |m| format!("{m:.1}")),
            figures.bare_heap_events_per_s,
            figures.events_vs_bare_heap,
            spread(figures.runs, figures.events_vs_bare_heap_range),
            figures.kernel_events_per_s,
            figures.kernel_vs_bare_heap,
            spread(figures.runs, figures.kernel_vs_bare_heap_range),
            report.verdict,
        );
        if let Some(machine) = &figures.machine {
            println!("  on {machine}");
        }
        if let Some(depth) = &figures.queue_depth {
            println!(
                "  queue depth: {:.0} events pending on average as one came out, {} at most \
                 (cancelled timers included until they come out; the baselines keep 1000)",
                depth.mean, depth.peak
            );
        }
        for line in figures.census.iter().flatten() {
            println!(
                "  {:<32} {:>10} events {:>7.2} per settlement {:>5.1}%",
                line.kind,
                line.events,
                line.per_settlement,
                100.0 * line.events as f64 / figures.events.max(1) as f64
            );
        }
    }
    Ok(report.verdict.exit_code())
}

/// A line saying what `bench` is timing, on stderr when it is a terminal (a
/// large bench runs for minutes). It has no steady tick: it is drawn only
/// when its message is set, between timings, so no thread competes with
/// what is timed.
fn status_line() -> ProgressBar {
    let line = ProgressBar::new_spinner();
    line.set_style(ProgressStyle::with_template("bench: {msg}").expect("valid template"));
    line
}

/// The middle value (the mean of the middle two for an even count).
fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    let n = values.len();
    (values[(n - 1) / 2] + values[n / 2]) / 2.0
}

/// The lowest and the highest value.
fn range(values: &[f64]) -> [f64; 2] {
    let low = values.iter().copied().fold(f64::INFINITY, f64::min);
    let high = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    [low, high]
}

/// How far the run-by-run ratios spread, when there was more than one run.
fn spread(runs: u32, [low, high]: [f64; 2]) -> String {
    if runs > 1 {
        format!(", {low:.3}–{high:.3} run by run")
    } else {
        String::new()
    }
}

/// The process's peak resident memory, from /proc (Linux only).
fn peak_rss_mb() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

#[cfg(test)]
mod tests {
    use super::{median, range, spread};

    #[test]
    fn median_takes_the_middle_of_odd_and_even_counts() {
        // Proves the median ignores order and averages the middle pair.
        assert_eq!(median(&mut [3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&mut [4.0, 1.0, 3.0, 2.0]), 2.5);
        assert_eq!(median(&mut [7.0]), 7.0);
    }

    #[test]
    fn the_spread_of_ratios_is_shown_only_over_several_runs() {
        // Proves the range is the extremes whatever the order, and that one
        // run shows no range of one value.
        assert_eq!(range(&[0.2, 0.1, 0.3]), [0.1, 0.3]);
        assert_eq!(spread(3, [0.1, 0.3]), ", 0.100–0.300 run by run");
        assert_eq!(spread(1, [0.2, 0.2]), "");
    }
}
