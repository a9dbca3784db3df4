//! The `settlesim` binary: all logic lives in the library's `cli` module.

fn main() {
    std::process::exit(settlesim::cli::main());
}
