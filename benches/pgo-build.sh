#!/usr/bin/env bash
# Builds settlesim with profile-guided optimisation, the build the README's
# performance figures are measured on.
#
# The engine's hot path is branchy (a match per message, a stage machine per
# settlement), and which arms are hot is only known at run time. So an
# instrumented build first runs a training workload, a short campaign on the
# default sim and a small bench, and the release build is then compiled
# again with its branch and call counts. Same source, same digests; only
# code layout and inlining change.
#
# Output: target/pgo/release/settlesim, which benches/bolt-build.sh then
# lays out again.
# Needs llvm-profdata from rustc's own LLVM: `rustup component add llvm-tools`.
set -euo pipefail
cd "$(dirname "$0")/.."

. benches/llvm-profdata.sh pgo-build
. benches/train.sh

work=target/pgo-profile
rm -rf "$work"
mkdir -p "$work/raw"

# RUSTFLAGS replaces the inline threshold in .cargo/config.toml, and the
# codegen units go back to four, on purpose: the profile decides what to
# inline here, and with the raised threshold on top, or in one unit, the
# build ran 6-8 % slower when this was chosen and no better since (README,
# Performance).
export CARGO_PROFILE_RELEASE_CODEGEN_UNITS=4
echo "pgo-build: 1/3 instrumented build" >&2
RUSTFLAGS="-Cprofile-generate=$PWD/$work/raw" \
    cargo build --release --locked --target-dir target/pgo-gen -q
trainee=target/pgo-gen/release/settlesim

echo "pgo-build: 2/3 training run" >&2
train "$trainee" "$work" pgo-build
"$profdata" merge -o "$work/merged.profdata" "$work/raw"

echo "pgo-build: 3/3 optimised build" >&2
# The link keeps its relocations, so that benches/bolt-build.sh can lay the
# binary out again; the code is the same either way.
RUSTFLAGS="-Cprofile-use=$PWD/$work/merged.profdata -Clink-args=-Wl,--emit-relocs" \
    cargo build --release --locked --target-dir target/pgo -q
echo "pgo-build: built target/pgo/release/settlesim" >&2
