//! Campaign progress: a live bar on a terminal, plain periodic lines
//! otherwise (CI logs), and failures printed the moment they are found.

use super::wall_time::WallTime;
use crate::campaign::{SeedFailure, Tally};
use indicatif::{ProgressBar, ProgressStyle};
use std::io::IsTerminal;
use std::time::Duration;

/// How often plain progress lines are printed.
const LINE_EVERY: Duration = Duration::from_secs(5);

/// Shows a campaign's progress on stderr.
pub enum Progress {
    /// A terminal: a live bar.
    Bar(ProgressBar),
    /// A log: a line every few seconds.
    Lines {
        /// What the lines are about (`fuzz`, the defect being hunted).
        label: String,
        /// When the last line was printed.
        last: Duration,
        /// `fuzz --time`: when the campaign stops starting seeds.
        budget: Option<Duration>,
    },
}

impl Progress {
    /// A bar if stderr is a terminal, plain lines otherwise; `label` says
    /// what is running, `total` how many seeds it will run if that is known,
    /// and `budget` (`fuzz --time`) when it stops starting seeds.
    pub fn new(label: &str, total: Option<u64>, budget: Option<WallTime>) -> Progress {
        if !std::io::stderr().is_terminal() {
            return Progress::Lines {
                label: label.to_string(),
                last: Duration::ZERO,
                budget: budget.map(WallTime::duration),
            };
        }
        let bar = match total {
            Some(n) => ProgressBar::new(n),
            None => ProgressBar::new_spinner(),
        };
        // With a budget, the time left is what ends the campaign, unless
        // its range runs out first: the bar shows how far through it is.
        let end = match budget {
            Some(budget) => format!("{{elapsed}} of {budget}"),
            None if total.is_some() => "ETA {eta}".to_string(),
            None => "{elapsed}".to_string(),
        };
        let template = if total.is_some() {
            format!("{{prefix}} {{bar:30}} {{pos}}/{{len}} seeds  {{msg}}  {{per_sec}}  {end}")
        } else {
            format!("{{prefix}} {{spinner}} {{pos}} seeds  {{msg}}  {{per_sec}}  {end}")
        };
        bar.set_style(ProgressStyle::with_template(&template).expect("valid template"));
        bar.set_prefix(label.to_string());
        bar.set_message("0 failures");
        bar.enable_steady_tick(Duration::from_millis(200));
        Progress::Bar(bar)
    }

    /// One more seed finished.
    pub fn update(&mut self, tally: &Tally, failure: Option<&SeedFailure>) {
        if let Some(f) = failure {
            let what = f.what();
            let again = match &f.repro_file {
                Some(file) => format!("settlesim replay {file}"),
                None => f.repro.clone(),
            };
            self.println(&format!(
                "FAIL seed {}: {what} — {}\n     reproduce: {again}",
                f.seed, f.detail
            ));
        }
        match self {
            Progress::Bar(bar) => {
                bar.set_position(tally.done);
                bar.set_message(format!("{} failures", tally.failures));
            }
            Progress::Lines {
                label,
                last,
                budget,
            } => {
                if tally.elapsed >= *last + LINE_EVERY {
                    *last = tally.elapsed;
                    eprintln!("{label}: {}", line(tally, *budget));
                }
            }
        }
    }

    fn println(&self, text: &str) {
        match self {
            Progress::Bar(bar) => bar.println(text),
            Progress::Lines { .. } => eprintln!("{text}"),
        }
    }

    /// Clears the bar before the closing table.
    pub fn finish(self) {
        if let Progress::Bar(bar) = self {
            bar.finish_and_clear();
        }
    }
}

/// A plain progress line: seeds done, failures, the rate, and how long is
/// left (by the seeds still to run or the time budget, whichever ends first).
fn line(t: &Tally, budget: Option<Duration>) -> String {
    let secs = t.elapsed.as_secs_f64().max(1e-9);
    let rate = t.done as f64 / secs;
    let by_seeds = t
        .total
        .filter(|_| rate > 0.0)
        .map(|total| total.saturating_sub(t.done) as f64 / rate);
    let by_time = budget.map(|b| b.saturating_sub(t.elapsed).as_secs_f64());
    let eta = match (by_seeds, by_time) {
        (Some(s), Some(b)) => format!(", ETA {:.0}s", s.min(b)),
        (Some(left), None) | (None, Some(left)) => format!(", ETA {left:.0}s"),
        (None, None) => String::new(),
    };
    let of = t.total.map(|n| format!("/{n}")).unwrap_or_default();
    format!(
        "{}{of} seeds, {} failures, {rate:.0} seeds/s{eta}",
        t.done, t.failures
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tally(done: u64, total: Option<u64>, elapsed_s: u64) -> Tally {
        Tally {
            done,
            total,
            failures: 1,
            elapsed: Duration::from_secs(elapsed_s),
        }
    }

    #[test]
    fn the_eta_is_whichever_ends_first_the_seeds_or_the_time() {
        // Proves the time left by the seeds (100/s) and by a budget are
        // each shown alone, and the smaller when there are both.
        let budget = Some(Duration::from_secs(60));
        for (total, budget, expected) in [
            (
                Some(3000),
                None,
                "1000/3000 seeds, 1 failures, 100 seeds/s, ETA 20s",
            ),
            (None, budget, "1000 seeds, 1 failures, 100 seeds/s, ETA 50s"),
            (
                Some(3000),
                budget,
                "1000/3000 seeds, 1 failures, 100 seeds/s, ETA 20s",
            ),
            (
                Some(90_000),
                budget,
                "1000/90000 seeds, 1 failures, 100 seeds/s, ETA 50s",
            ),
            (None, None, "1000 seeds, 1 failures, 100 seeds/s"),
        ] {
            assert_eq!(line(&tally(1000, total, 10), budget), expected);
        }
    }
}
