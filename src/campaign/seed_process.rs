//! Seeds run in a child process of the same binary (`settlesim seed-worker`,
//! one per job), so that a seed whose run dies takes its child with it and
//! not the campaign. The release build aborts on a panic rather than
//! unwinding (it runs faster: README, Performance), so a panic cannot be
//! caught where it happens; and no build can catch a stack overflow. The
//! campaign files the seed as failed, with the panic's message or how its
//! process died, starts a new child and goes on.
//!
//! The protocol is JSON Lines over the child's stdin and stdout: the parent
//! sends the campaign's world once, then one seed number a line; the child
//! answers each, in order, with one line: the seed's run or the panic's
//! message. The parent keeps a seed queued beyond the one running, so the
//! child never waits on the pipe between seeds.

use super::seed_run::{panic_message, SeedRun, World};
use serde::{Deserialize, Serialize};
use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};

/// The hidden subcommand a child runs as.
pub const SUBCOMMAND: &str = "seed-worker";

/// Makes the child's run of one seed die, for the campaign's own tests: a
/// seed number, then `:panic` (the default) or `:abort`.
pub const CRASH_SEED_VAR: &str = "SETTLESIM_CRASH_SEED";

/// How many seeds a child is sent ahead of its answers: the one it runs and
/// the one it takes next.
pub const DEPTH: usize = 2;

/// A child's answer for one seed.
#[derive(Serialize, Deserialize)]
enum Answer {
    Ran {
        run: Box<SeedRun>,
        /// The report's digest checkpoints, which its serialised form
        /// leaves out (a repro file keeps them).
        checkpoints: Vec<u64>,
    },
    Panic(String),
}

/// The child's side: reads the world from stdin, then runs each seed it is
/// sent and answers it on stdout, until stdin ends. A panic is answered by
/// the panic hook, and then ends the child.
pub fn serve() -> Result<(), String> {
    std::panic::set_hook(Box::new(|info| {
        let message = panic_message(info.payload());
        let at = info
            .location()
            .map_or_else(String::new, |l| format!(" (at {}:{})", l.file(), l.line()));
        // stdout's lock is re-entrant, so this gets out even from a panic
        // in the middle of an answer (which the parent then finds garbled).
        let _ = send(&Answer::Panic(format!("{message}{at}")));
    }));
    let crash = planted_crash()?;
    let mut lines = std::io::stdin().lock().lines();
    let world: World = match lines.next() {
        Some(line) => {
            let line = line.map_err(|e| format!("reading the campaign: {e}"))?;
            serde_json::from_str(&line).map_err(|e| format!("the campaign line: {e}"))?
        }
        None => return Ok(()),
    };
    for line in lines {
        let line = line.map_err(|e| format!("reading a seed: {e}"))?;
        let seed: u64 = line
            .trim()
            .parse()
            .map_err(|_| format!("not a seed number: {line:?}"))?;
        if let Some((at, abort)) = crash {
            if at == seed {
                if abort {
                    std::process::abort();
                }
                panic!("{CRASH_SEED_VAR} asked seed {seed} to panic");
            }
        }
        let mut run = world.run_seed(seed);
        let checkpoints = std::mem::take(&mut run.report.checkpoints);
        send(&Answer::Ran {
            run: Box::new(run),
            checkpoints,
        })
        .map_err(|e| format!("answering seed {seed}: {e}"))?;
    }
    Ok(())
}

fn send(answer: &Answer) -> std::io::Result<()> {
    let mut out = std::io::stdout().lock();
    serde_json::to_writer(&mut out, answer)?;
    out.write_all(b"\n")?;
    out.flush()
}

/// The seed [`CRASH_SEED_VAR`] asks to die, and whether by abort.
fn planted_crash() -> Result<Option<(u64, bool)>, String> {
    let Ok(value) = std::env::var(CRASH_SEED_VAR) else {
        return Ok(None);
    };
    let (seed, how) = value.split_once(':').unwrap_or((&value, "panic"));
    let bad = || format!("{CRASH_SEED_VAR}={value:?}: want a seed, then :panic or :abort");
    let seed = seed.parse().map_err(|_| bad())?;
    match how {
        "panic" => Ok(Some((seed, false))),
        "abort" => Ok(Some((seed, true))),
        _ => Err(bad()),
    }
}

/// The parent's side: one child, started at the first seed and again after
/// each one that died, and the seeds sent to it not yet answered.
pub struct SeedProcess {
    exe: PathBuf,
    world_line: String,
    running: Option<Running>,
    /// Why the child could not be started, if it could not.
    not_started: Option<String>,
    pending: VecDeque<u64>,
}

struct Running {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
    /// What the child wrote to stderr, kept for when it dies unanswered (a
    /// stack overflow says so there). Read by a thread, so that a child
    /// writing much cannot block on a full pipe.
    stderr: std::thread::JoinHandle<String>,
}

impl SeedProcess {
    /// A seed process of binary `exe` for campaigns of `world`.
    pub fn new(exe: &Path, world: &World) -> SeedProcess {
        SeedProcess {
            exe: exe.to_path_buf(),
            world_line: serde_json::to_string(world).expect("a world serializes"),
            running: None,
            not_started: None,
            pending: VecDeque::new(),
        }
    }

    /// Seeds sent and not yet answered.
    pub fn pending(&self) -> usize {
        self.pending.len()
    }

    /// Sends `seed` to the child, starting one if none runs.
    pub fn submit(&mut self, seed: u64) {
        self.pending.push_back(seed);
        self.send_seed(seed);
    }

    /// The oldest pending seed and its run, or why it has none (it panicked,
    /// or its process died), in words; `None` if no seed is pending.
    pub fn answer(&mut self) -> Option<(u64, Result<SeedRun, String>)> {
        let seed = self.pending.pop_front()?;
        let Some(running) = self.running.as_mut() else {
            let why = self.not_started.clone().unwrap_or_default();
            return Some((seed, Err(why)));
        };
        let mut line = String::new();
        let read = running.stdout.read_line(&mut line);
        let outcome = match read
            .ok()
            .filter(|&n| n > 0)
            .map(|_| serde_json::from_str(&line))
        {
            Some(Ok(Answer::Ran {
                mut run,
                checkpoints,
            })) => {
                run.report.checkpoints = checkpoints;
                return Some((seed, Ok(*run)));
            }
            Some(Ok(Answer::Panic(message))) => format!("the run panicked: {message}"),
            Some(Err(e)) => format!("the run's process answered nonsense ({e}): {line:?}"),
            None => self.died(),
        };
        // The child is gone or not to be trusted: the seeds queued behind
        // this one go to a new one.
        let _ = self.stop();
        for queued in self.pending.clone() {
            self.send_seed(queued);
        }
        Some((seed, Err(outcome)))
    }

    fn send_seed(&mut self, seed: u64) {
        if self.running.is_none() && self.not_started.is_none() {
            match self.start() {
                Ok(running) => self.running = Some(running),
                Err(why) => self.not_started = Some(why),
            }
        }
        if let Some(running) = self.running.as_mut() {
            // A write that fails means the child died; reading its answer
            // finds that out and says how.
            let _ = writeln!(running.stdin, "{seed}").and_then(|()| running.stdin.flush());
        }
    }

    fn start(&self) -> Result<Running, String> {
        #[cfg(unix)]
        keep_broken_pipes_from_killing_this_thread();
        let mut command = Command::new(&self.exe);
        command
            .arg(SUBCOMMAND)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        // Its own process group: Ctrl-C stops the campaign, which lets the
        // seeds under way finish; it must not kill them as if they died.
        #[cfg(unix)]
        std::os::unix::process::CommandExt::process_group(&mut command, 0);
        let mut child = command.spawn().map_err(|e| {
            format!(
                "the run's process could not start ({}): {e}",
                self.exe.display()
            )
        })?;
        let (Some(mut stdin), Some(stdout), Some(mut stderr)) =
            (child.stdin.take(), child.stdout.take(), child.stderr.take())
        else {
            unreachable!("all three were piped");
        };
        // A failed write shows as the child's death at the first answer.
        let _ = writeln!(stdin, "{}", self.world_line);
        #[allow(clippy::disallowed_methods)] // a pipe reader, not a run
        let stderr = std::thread::spawn(move || {
            let mut text = String::new();
            let _ = stderr.read_to_string(&mut text);
            text
        });
        Ok(Running {
            child,
            stdin,
            stdout: BufReader::new(stdout),
            stderr,
        })
    }

    /// Why the child ended without answering: its exit status and the last
    /// line it wrote to stderr.
    fn died(&mut self) -> String {
        let Some((status, stderr)) = self.stop() else {
            return "the run's process is gone".into();
        };
        match stderr.lines().rev().find(|l| !l.trim().is_empty()) {
            Some(last) => format!("the run's process died ({status}): {}", last.trim()),
            None => format!("the run's process died ({status})"),
        }
    }

    /// Ends the child, if one runs, and returns its exit status and what it
    /// wrote to stderr. Its input closes, so it exits once its seed is done
    /// (or at once, if it then answers: no one reads its answers any more).
    fn stop(&mut self) -> Option<(String, String)> {
        let Running {
            mut child,
            stdin,
            stdout,
            stderr,
        } = self.running.take()?;
        drop(stdin);
        drop(stdout);
        let status = child
            .wait()
            .map_or_else(|e| format!("unknown ({e})"), |s| s.to_string());
        Some((status, stderr.join().unwrap_or_default()))
    }
}

/// Makes a write to a child that has died fail with an error on this thread
/// rather than kill the campaign: the binary restores SIGPIPE's default (so
/// that `settlesim … | head` ends quietly), and the parent writes the next
/// seed to a child before it reads the answer that would say it died.
#[cfg(unix)]
fn keep_broken_pipes_from_killing_this_thread() {
    // SAFETY: changes only the calling thread's signal mask, to a set built
    // here; a SIGPIPE then stays pending on this thread, and the write that
    // raised it returns EPIPE.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, libc::SIGPIPE);
        libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
    }
}

impl Drop for SeedProcess {
    fn drop(&mut self) {
        let _ = self.stop();
    }
}
