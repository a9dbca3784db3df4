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
//!
//! A run has an event cap, so only a loop inside one step can keep a seed
//! from ending. A child that spends [`SeedProcesses::cpu_limit`] of CPU
//! time on one seed is killed and the seed filed as hung. CPU time, not
//! wall time: a machine that is busy, or suspended, does not make a seed
//! look hung (a campaign once saw a 70 ms seed take 532 s of wall time).

use super::seed_run::{panic_message, SeedRun, World};
use serde::{Deserialize, Serialize};
use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::time::Duration;

/// The hidden subcommand a child runs as.
pub const SUBCOMMAND: &str = "seed-worker";

/// Makes the child's run of one seed die or hang, for the campaign's own
/// tests: a seed number, then `:panic` (the default), `:abort` or `:hang`.
pub const CRASH_SEED_VAR: &str = "SETTLESIM_CRASH_SEED";

/// The CPU time a child may spend on one seed unless the campaign says
/// otherwise: thousands of times what the slowest seed of any shipped sim
/// takes (well under a second).
pub const DEFAULT_CPU_LIMIT: Duration = Duration::from_secs(600);

/// How often the parent looks at a child that has not answered yet.
const LOOK_EVERY: Duration = Duration::from_millis(250);

/// How a campaign runs its seeds in child processes.
#[derive(Clone, Debug)]
pub struct SeedProcesses {
    /// The binary each child runs, as [`SUBCOMMAND`].
    pub exe: PathBuf,
    /// The CPU time a child may spend on one seed before it is killed and
    /// the seed filed as hung. Measured where the system reports a child's
    /// CPU time (Linux); elsewhere no seed is filed as hung.
    pub cpu_limit: Duration,
}

/// Why a seed has no run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NoRun {
    /// Its run panicked, or its process died: the message, in words.
    Died(String),
    /// Its process spent the CPU time limit on it and was killed.
    Hung(String),
}

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
        if let Some((at, how)) = crash {
            if at == seed {
                how.strike(seed);
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

/// How [`CRASH_SEED_VAR`] asks a seed's run to end.
#[derive(Clone, Copy)]
enum PlantedCrash {
    Panic,
    Abort,
    Hang,
}

impl PlantedCrash {
    fn strike(self, seed: u64) -> ! {
        match self {
            PlantedCrash::Panic => panic!("{CRASH_SEED_VAR} asked seed {seed} to panic"),
            PlantedCrash::Abort => std::process::abort(),
            PlantedCrash::Hang => loop {
                std::hint::spin_loop();
            },
        }
    }
}

/// The seed [`CRASH_SEED_VAR`] asks to end, and how.
fn planted_crash() -> Result<Option<(u64, PlantedCrash)>, String> {
    let Ok(value) = std::env::var(CRASH_SEED_VAR) else {
        return Ok(None);
    };
    let (seed, how) = value.split_once(':').unwrap_or((&value, "panic"));
    let bad = || format!("{CRASH_SEED_VAR}={value:?}: want a seed, then :panic, :abort or :hang");
    let seed = seed.parse().map_err(|_| bad())?;
    let how = match how {
        "panic" => PlantedCrash::Panic,
        "abort" => PlantedCrash::Abort,
        "hang" => PlantedCrash::Hang,
        _ => return Err(bad()),
    };
    Ok(Some((seed, how)))
}

/// The parent's side: one child, started at the first seed and again after
/// each one that died, and the seeds sent to it not yet answered.
pub struct SeedProcess {
    how: SeedProcesses,
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
    /// A seed process run `how` for campaigns of `world`.
    pub fn new(how: &SeedProcesses, world: &World) -> SeedProcess {
        SeedProcess {
            how: how.clone(),
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

    /// The oldest pending seed and its run, or why it has none; `None` if no
    /// seed is pending.
    pub fn answer(&mut self) -> Option<(u64, Result<SeedRun, NoRun>)> {
        let seed = self.pending.pop_front()?;
        let outcome = self.read_answer();
        if outcome.is_err() {
            // The child is gone or not to be trusted: the seeds queued
            // behind this one go to a new one.
            let _ = self.stop();
            for queued in self.pending.clone() {
                self.send_seed(queued);
            }
        }
        Some((seed, outcome))
    }

    /// The child's answer for its oldest seed.
    fn read_answer(&mut self) -> Result<SeedRun, NoRun> {
        let Some(running) = self.running.as_mut() else {
            return Err(NoRun::Died(self.not_started.clone().unwrap_or_default()));
        };
        if let Err(spent) = running.wait_for_answer(self.how.cpu_limit) {
            let _ = running.child.kill();
            return Err(NoRun::Hung(format!(
                "the run spent {} s of CPU time without finishing, and its process was killed \
                 (a loop that never ends? --seed-timeout allows longer)",
                spent.as_secs()
            )));
        }
        let mut line = String::new();
        let read = running.stdout.read_line(&mut line);
        let why = match read
            .ok()
            .filter(|&n| n > 0)
            .map(|_| serde_json::from_str(&line))
        {
            Some(Ok(Answer::Ran {
                mut run,
                checkpoints,
            })) => {
                run.report.checkpoints = checkpoints;
                return Ok(*run);
            }
            Some(Ok(Answer::Panic(message))) => format!("the run panicked: {message}"),
            Some(Err(e)) => format!("the run's process answered nonsense ({e}): {line:?}"),
            None => self.died(),
        };
        Err(NoRun::Died(why))
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
        let mut command = Command::new(&self.how.exe);
        command
            .arg(SUBCOMMAND)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        // Its own process group: Ctrl-C stops the campaign, which lets the
        // seeds under way finish; it must not kill them as if they died.
        #[cfg(unix)]
        std::os::unix::process::CommandExt::process_group(&mut command, 0);
        // And it dies with the campaign's job thread that started it: a
        // child caught in a loop never reads the end of its input, so a
        // campaign killed outright (a second Ctrl-C) would leave it
        // spinning.
        #[cfg(target_os = "linux")]
        // SAFETY: runs in the forked child before exec and makes one
        // system call, which is async-signal-safe.
        unsafe {
            std::os::unix::process::CommandExt::pre_exec(&mut command, || {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                Ok(())
            });
        }
        let mut child = command.spawn().map_err(|e| {
            format!(
                "the run's process could not start ({}): {e}",
                self.how.exe.display()
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

impl Running {
    /// Waits until the child's next answer can be read (or its output
    /// ends), or until it has spent `limit` of CPU time since the wait first
    /// found it busy; then returns the time it spent.
    fn wait_for_answer(&mut self, limit: Duration) -> Result<(), Duration> {
        let mut busy_from = None;
        loop {
            if self.stdout.buffer().contains(&b'\n') || readable_within(self.stdout.get_ref()) {
                return Ok(());
            }
            let Some(now) = cpu_time(self.child.id()) else {
                continue;
            };
            let spent = now.saturating_sub(*busy_from.get_or_insert(now));
            if spent >= limit {
                return Err(spent);
            }
        }
    }
}

/// Whether `pipe` has something to read (or has closed) within
/// [`LOOK_EVERY`].
#[cfg(unix)]
fn readable_within(pipe: &ChildStdout) -> bool {
    use std::os::fd::AsRawFd;
    let mut poll = libc::pollfd {
        fd: pipe.as_raw_fd(),
        events: libc::POLLIN,
        revents: 0,
    };
    let wait_ms = libc::c_int::try_from(LOOK_EVERY.as_millis()).expect("a short wait");
    // SAFETY: one pollfd, built here, naming a descriptor the child's
    // handle holds open. An interrupted poll reads as nothing yet.
    unsafe { libc::poll(&mut poll, 1, wait_ms) > 0 }
}

/// Where there is no poll, the read itself waits, and no seed is filed as
/// hung.
#[cfg(not(unix))]
fn readable_within(_: &ChildStdout) -> bool {
    true
}

/// The CPU time, user and system, process `pid` has spent so far, where the
/// system reports it (`/proc/PID/stat`, Linux).
#[cfg(unix)]
fn cpu_time(pid: u32) -> Option<Duration> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name, in parentheses, may hold spaces and parentheses:
    // count from the last `)`. utime and stime are the 14th and 15th fields,
    // the 12th and 13th after it.
    let mut fields = stat.rsplit_once(')')?.1.split_whitespace();
    let user: u64 = fields.nth(11)?.parse().ok()?;
    let system: u64 = fields.next()?.parse().ok()?;
    // SAFETY: sysconf only reads a system constant.
    let ticks_per_s = u32::try_from(unsafe { libc::sysconf(libc::_SC_CLK_TCK) }).ok()?;
    Duration::from_secs(user + system).checked_div(ticks_per_s)
}

#[cfg(not(unix))]
fn cpu_time(_: u32) -> Option<Duration> {
    None
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
