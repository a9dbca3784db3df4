//! The `settlesim` binary: all logic lives in the library's `cli` module.

fn main() {
    // Die quietly on a closed pipe (`settlesim run | head`), as Unix tools do,
    // instead of panicking on the failed write.
    #[cfg(unix)]
    // SAFETY: restoring the default disposition of SIGPIPE before any other
    // thread exists touches no Rust-visible state.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    std::process::exit(settlesim::cli::main());
}
