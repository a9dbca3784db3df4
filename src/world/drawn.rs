//! The scenario one seed runs: the scenario as given, varied around its
//! settings if variation is on, then with its faults swarm-drawn if swarm
//! testing is on. `run` builds its world from it, and `shrink` writes it out
//! in full, so both draw it the same way.

use super::swarm;
use crate::scenario::Scenario;
use crate::sim::{Stream, Streams};
use std::borrow::Cow;

/// A seed's scenario, and, with variation on, the line naming its settings.
pub struct Drawn<'a> {
    /// The scenario the run uses.
    pub scenario: Cow<'a, Scenario>,
    /// With variation on, the settings drawn (or why none was).
    pub varied: Option<String>,
}

/// Draws the scenario seed `streams` runs, from `scenario`.
pub fn draw<'a>(scenario: &'a Scenario, streams: &Streams, vary: bool, swarm: bool) -> Drawn<'a> {
    let mut drawn = Drawn {
        scenario: Cow::Borrowed(scenario),
        varied: None,
    };
    if vary {
        match scenario.varied(&mut streams.stream(Stream::Vary)) {
            Some(varied) => {
                drawn.varied = Some(varied.describe_shape());
                drawn.scenario = Cow::Owned(varied);
            }
            None => {
                drawn.varied = Some(format!(
                    "as written (no variation passed the scenario check): {}",
                    scenario.describe_shape()
                ))
            }
        }
    }
    if swarm {
        let faults = swarm::draw(&drawn.scenario, &mut streams.stream(Stream::Swarm));
        drawn.scenario = Cow::Owned(faults);
    }
    drawn
}
