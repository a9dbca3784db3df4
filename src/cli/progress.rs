//! Campaign progress: a live bar on a terminal, plain periodic lines
//! otherwise (CI logs), and failures printed the moment they are found.

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
    },
}

impl Progress {
    /// A bar if stderr is a terminal, plain lines otherwise; `label` says
    /// what is running.
    pub fn new(label: &str, total: Option<u64>) -> Progress {
        if !std::io::stderr().is_terminal() {
            return Progress::Lines {
                label: label.to_string(),
                last: Duration::ZERO,
            };
        }
        let bar = match total {
            Some(n) => ProgressBar::new(n),
            None => ProgressBar::new_spinner(),
        };
        let template = if total.is_some() {
            "{prefix} {bar:30} {pos}/{len} seeds  {msg}  {per_sec}  ETA {eta}"
        } else {
            "{prefix} {spinner} {pos} seeds  {msg}  {per_sec}  {elapsed}"
        };
        bar.set_style(ProgressStyle::with_template(template).expect("valid template"));
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
            Progress::Lines { label, last } => {
                if tally.elapsed >= *last + LINE_EVERY {
                    *last = tally.elapsed;
                    eprintln!("{label}: {}", line(tally));
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

fn line(t: &Tally) -> String {
    let secs = t.elapsed.as_secs_f64().max(1e-9);
    let rate = t.done as f64 / secs;
    let eta = match t.total {
        Some(total) if rate > 0.0 => {
            format!(", ETA {:.0}s", (total.saturating_sub(t.done)) as f64 / rate)
        }
        _ => String::new(),
    };
    let of = t.total.map(|n| format!("/{n}")).unwrap_or_default();
    format!(
        "{}{of} seeds, {} failures, {rate:.0} seeds/s{eta}",
        t.done, t.failures
    )
}
