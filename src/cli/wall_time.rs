//! `fuzz --time` and `--seed-timeout`: how long a campaign may run, or a
//! seed's process may spend on one seed, as a CI job states it (`600`,
//! `600s`, `10m`, `2h`).

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

/// A time in whole seconds, at least one: a campaign's wall-clock budget,
/// or the CPU time a seed's run may take.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WallTime {
    secs: u64,
}

impl WallTime {
    /// The time as a duration.
    pub fn duration(self) -> Duration {
        Duration::from_secs(self.secs)
    }
}

impl FromStr for WallTime {
    type Err = String;
    fn from_str(s: &str) -> Result<WallTime, String> {
        let bad =
            || format!("`{s}` is not a time: give seconds (600) or a number with s, m or h (10m)");
        let text = s.trim();
        let (number, unit) = match text.char_indices().last() {
            Some((at, 's')) => (&text[..at], 1),
            Some((at, 'm')) => (&text[..at], 60),
            Some((at, 'h')) => (&text[..at], 3600),
            _ => (text, 1),
        };
        let count: u64 = number.parse().map_err(|_| bad())?;
        let secs = count.checked_mul(unit).ok_or_else(bad)?;
        if secs == 0 {
            return Err(format!("`{s}` is no time at all: give at least one second"));
        }
        Ok(WallTime { secs })
    }
}

/// Seconds, as the campaign report has always named a budget (`600s`).
impl fmt::Display for WallTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}s", self.secs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seconds_minutes_and_hours_read_as_seconds() {
        // Proves each unit's factor, that a bare number is seconds, and that
        // the budget prints in seconds.
        for (text, secs) in [("600", 600), ("45s", 45), ("10m", 600), ("2h", 7200)] {
            let time: WallTime = text.parse().unwrap();
            assert_eq!(time.duration(), Duration::from_secs(secs), "{text}");
            assert_eq!(time.to_string(), format!("{secs}s"));
        }
    }

    #[test]
    fn nonsense_and_zero_are_refused() {
        // Proves a bad or empty budget is named, never read as a default.
        for bad in [
            "",
            "m",
            "10x",
            "1.5h",
            "-3s",
            "ten",
            "0",
            "0m",
            "18446744073709551615h",
        ] {
            assert!(bad.parse::<WallTime>().is_err(), "{bad}");
        }
    }
}
