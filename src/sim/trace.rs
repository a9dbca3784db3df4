//! The full trace: one JSON object per delivered event, one event per line,
//! written only on request. It is the thing to diff when two runs that should
//! be equal are not.

use super::time::Micros;
use serde::Serialize;
use std::io::{self, BufWriter, Write};

/// One line of the trace.
#[derive(Serialize)]
struct TraceLine<'a, P: Serialize> {
    /// The event's number in the run, from 1.
    n: u64,
    /// True time of delivery.
    t_us: Micros,
    /// The node the event was delivered to.
    node: &'a str,
    /// `start`, `msg`, `timer` or `fault`.
    kind: &'a str,
    /// The sender of a message.
    #[serde(skip_serializing_if = "Option::is_none")]
    from: Option<&'a str>,
    /// The payload.
    #[serde(skip_serializing_if = "Option::is_none")]
    event: Option<&'a P>,
}

/// A JSON Lines sink for events.
pub struct Trace {
    out: BufWriter<Box<dyn Write>>,
    error: Option<io::Error>,
}

impl Trace {
    /// A trace written to `out`.
    pub fn new(out: Box<dyn Write>) -> Trace {
        Trace {
            out: BufWriter::with_capacity(1 << 16, out),
            error: None,
        }
    }

    /// Writes one event. The first I/O error is kept and reported by
    /// [`Trace::finish`]; later events are not written.
    #[allow(clippy::too_many_arguments)]
    pub fn record<P: Serialize>(
        &mut self,
        n: u64,
        t_us: Micros,
        node: &str,
        kind: &str,
        from: Option<&str>,
        event: Option<&P>,
    ) {
        if self.error.is_some() {
            return;
        }
        let line = TraceLine {
            n,
            t_us,
            node,
            kind,
            from,
            event,
        };
        let written = serde_json::to_writer(&mut self.out, &line)
            .map_err(io::Error::from)
            .and_then(|()| self.out.write_all(b"\n"));
        if let Err(e) = written {
            self.error = Some(e);
        }
    }

    /// Flushes the trace, returning the first error met while writing it.
    pub fn finish(mut self) -> io::Result<()> {
        if let Some(e) = self.error.take() {
            return Err(e);
        }
        self.out.flush()
    }
}

/// A byte buffer a [`Trace`] can write into and its owner can read after the
/// run (to compare two runs' traces line by line).
#[derive(Clone, Default)]
pub struct SharedBuffer(std::rc::Rc<std::cell::RefCell<Vec<u8>>>);

impl SharedBuffer {
    /// A copy of everything written so far.
    pub fn bytes(&self) -> Vec<u8> {
        self.0.borrow().clone()
    }
}

impl Write for SharedBuffer {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.borrow_mut().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// The first line (1-based) where two traces differ, with both lines; `None`
/// if they are equal.
pub fn first_difference(a: &[u8], b: &[u8]) -> Option<(usize, String, String)> {
    let mut la = a.split(|c| *c == b'\n');
    let mut lb = b.split(|c| *c == b'\n');
    for n in 1.. {
        match (la.next(), lb.next()) {
            (None, None) => return None,
            (x, y) if x == y => continue,
            (x, y) => {
                let show = |l: Option<&[u8]>| {
                    l.map_or("<end of trace>".into(), |l| {
                        String::from_utf8_lossy(l).into_owned()
                    })
                };
                return Some((n, show(x), show(y)));
            }
        }
    }
    unreachable!("the loop returns")
}
