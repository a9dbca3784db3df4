#!/usr/bin/env bash
# Lays the profile-guided build out again by how it runs.
#
# The compiler places code by function and by its own guess of each branch.
# A layout pass over the linked binary (LLVM's BOLT) places it by a measured
# run instead: the hot blocks of every function packed together and in the
# order they run, the functions that call each other side by side, the cold
# blocks split off. Timed from fresh copies it runs level with the
# profile-guided build; what it buys is steadiness, its hot code lying on
# fewer pages: after the page cache had been churned, it ran a tenth faster
# than the profile-guided file (benches/README.md, the Zen 5's sittings).
# The code itself is not changed, so every digest is the same.
#
# An instrumented copy of target/pgo/release/settlesim runs the same training
# workload as benches/pgo-build.sh; the layout is then computed from the
# branch counts it wrote (one file per process: a campaign runs its seeds in
# child processes).
#
# Output: target/bolt/settlesim.
# Needs benches/pgo-build.sh run first (its link keeps the relocations the
# pass needs), and llvm-bolt with merge-fdata: on Debian and Ubuntu,
# `apt-get install bolt-16` (or later).
set -euo pipefail
cd "$(dirname "$0")/.."

. benches/train.sh

die() {
    echo "bolt-build: $1" >&2
    exit 1
}

# llvm-bolt on the path, or the newest under /usr/lib/llvm-*, where Debian's
# packages put it with its merge-fdata.
bolt=$(command -v llvm-bolt || ls -d /usr/lib/llvm-*/bin/llvm-bolt 2>/dev/null | sort -V | tail -n 1 || true)
[ -n "$bolt" ] || die "needs llvm-bolt; on Debian or Ubuntu: apt-get install bolt-16"
merge=$(dirname "$bolt")/merge-fdata
[ -x "$merge" ] || merge=$(command -v merge-fdata || true)
[ -n "$merge" ] || die "needs merge-fdata beside $bolt"

input=target/pgo/release/settlesim
[ -x "$input" ] || die "no $input; run benches/pgo-build.sh first"
# A binary linked without its relocations can only have blocks moved
# within each function: a stale profile-guided build, from before its link
# kept them.
readelf -S "$input" | grep -q '\.rela\.text' ||
    die "$input was linked without its relocations; run benches/pgo-build.sh again"

work=target/bolt
rm -rf "$work"
mkdir -p "$work/profile"

echo "bolt-build: 1/3 instrumented copy" >&2
"$bolt" "$input" -o "$work/instrumented" -instrument \
    -instrumentation-file="$PWD/$work/profile/run" -instrumentation-file-append-pid \
    >"$work/instrument.log" 2>&1 || die "instrumenting failed; see $work/instrument.log"

echo "bolt-build: 2/3 training run" >&2
train "$work/instrumented" "$work" bolt-build
"$merge" "$work"/profile/run.*.fdata >"$work/merged.fdata" 2>"$work/merge.log" ||
    die "merging the profiles failed; see $work/merge.log"

echo "bolt-build: 3/3 laid-out build" >&2
"$bolt" "$input" -o "$work/settlesim" -data="$work/merged.fdata" \
    -reorder-blocks=ext-tsp -reorder-functions=hfsort -split-functions \
    -split-all-cold -split-eh -icf=1 -use-gnu-stack \
    >"$work/layout.log" 2>&1 || die "the layout pass failed; see $work/layout.log"
rm -f "$work/instrumented"
echo "bolt-build: built $work/settlesim" >&2
