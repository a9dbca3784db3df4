#!/usr/bin/env bash
# Measures settlesim beside the reference programs in ../shared/anchors, the
# programs taking turns round by round, and prints each ratio per round,
# then its median and range: on a shared machine the speed drifts by several
# per cent from minute to minute, so only ratios taken within one round hold.
#
# Usage: benches/compare.sh [--rounds N] [--settlements N] [--peer-pgo]
#                           [--peer-inline]
#   --rounds N        rounds to run (default 3)
#   --settlements N   settlesim's bench size (default 20000; peers run 200000)
#   --peer-pgo        also build madsim with profile-guided optimisation, the
#                     way benches/pgo-build.sh builds settlesim, and hold the
#                     profile-guided settlesim (and its laid-out build) to it
#   --peer-inline     also build madsim with the release build's inlining
#                     (.cargo/config.toml's rustflags, one codegen unit),
#                     and hold the release settlesim to it
#
# Measures target/release/settlesim (built first, so it is the current
# source) and, where they have been built, target/pgo/release/settlesim
# (benches/pgo-build.sh) and target/bolt/settlesim (benches/bolt-build.sh)
# as they are.
# The last column is `bench`'s kernel alone (nodes that only pass messages
# on) against the anchor heap: the event loop's cost without the engine.
# ANCHORS overrides where the anchors are (default ../shared/anchors);
# missing anchor binaries are built.
set -euo pipefail
# ANCHORS is taken from where the script was called, the default from the
# repository.
[ -n "${ANCHORS:-}" ] && ANCHORS=$(realpath -m "$ANCHORS")
cd "$(dirname "$0")/.."

die() {
    echo "compare: $1" >&2
    exit 2
}
count() { # option, value
    [[ "$2" =~ ^[1-9][0-9]*$ ]] || die "$1 needs a positive whole number, not '$2'"
    echo "$2"
}

rounds=3
settlements=20000
peer_pgo=false
peer_inline=false
while [ $# -gt 0 ]; do
    case "$1" in
        --rounds) rounds=$(count "$1" "${2:-}") || exit 2; shift 2 ;;
        --settlements) settlements=$(count "$1" "${2:-}") || exit 2; shift 2 ;;
        --peer-pgo) peer_pgo=true; shift ;;
        --peer-inline) peer_inline=true; shift ;;
        -h|--help) awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "$0"; exit 0 ;;
        *) die "unknown argument '$1' (see --help)" ;;
    esac
done

anchors=${ANCHORS:-../shared/anchors}
if [ ! -d "$anchors/bare-heap" ] || [ ! -d "$anchors/peer-bench" ]; then
    echo "compare: no anchors at $anchors (set ANCHORS)" >&2
    exit 1
fi
anchors=$(realpath "$anchors")
peers="$anchors/peer-bench"
bare_heap="$anchors/bare-heap/target/release/bare-heap"
turmoil="$peers/target/release/turmoil-bench"
madsim="$peers/target/madsim/release/madsim-bench"
pgo_dir=$PWD/target/peer-pgo
madsim_pgo="$pgo_dir/use/release/madsim-bench"
inline_dir=$PWD/target/peer-inline
madsim_inline="$inline_dir/release/madsim-bench"
release=target/release/settlesim
pgo=target/pgo/release/settlesim
bolt=target/bolt/settlesim

cargo build --release --locked -q
[ -x "$bare_heap" ] || (cd "$anchors/bare-heap" && cargo build --release -q)
[ -x "$turmoil" ] || (cd "$peers" && cargo build --release -j2 -q -p turmoil-bench)
# Builds madsim's bench into target dir $1 with rustflags $2 added. madsim
# only simulates under --cfg madsim (as in the anchors' run.sh).
build_madsim() {
    (cd "$peers" && RUSTFLAGS="--cfg madsim $2" \
        cargo build --release -j2 -q -p madsim-bench --target-dir "$1")
}
[ -x "$madsim" ] || build_madsim "$peers/target/madsim" ""

if $peer_inline; then
    # The release build's settings, read from where they are set, so the two
    # builds cannot drift apart: "-C", "llvm-args=..." becomes -C llvm-args=...
    flags=$(sed -n 's/^rustflags = \[\(.*\)\]$/\1/p' .cargo/config.toml | tr -d '",')
    units=$(sed -n 's/^codegen-units = //p' Cargo.toml)
    [ -n "$flags" ] && [ -n "$units" ] || die "no rustflags in .cargo/config.toml or codegen-units in Cargo.toml"
    CARGO_PROFILE_RELEASE_CODEGEN_UNITS=$units build_madsim "$inline_dir" "$flags"
fi

if $peer_pgo; then
    # The same treatment as settlesim's: instrument, train, rebuild. madsim's
    # training is the workload it is then measured on.
    . benches/llvm-profdata.sh compare
    rm -rf "$pgo_dir/raw"
    build_madsim "$pgo_dir/gen" "-Cprofile-generate=$pgo_dir/raw"
    "$pgo_dir/gen/release/madsim-bench" 200000 100 42 >/dev/null
    "$profdata" merge -o "$pgo_dir/madsim.profdata" "$pgo_dir/raw"
    build_madsim "$pgo_dir/use" "-Cprofile-use=$pgo_dir/madsim.profdata"
fi

# Every program is timed from a fresh copy. How a binary's code lies in the
# page cache moves its speed by up to a tenth: the same profile-guided build
# ran 0.270 of its own bare heap after the cache had been churned, and 0.300
# copied anew (benches/README.md, The builds). A copy lies in memory as a
# binary just built does, so every sitting starts from the same state.
fresh_dir=$(mktemp -d)
results=$fresh_dir/results
trap 'rm -rf "$fresh_dir"' EXIT
fresh() { # binary, name of its copy
    cp "$1" "$fresh_dir/$2"
    echo "$fresh_dir/$2"
}
release=$(fresh "$release" release)
[ -x "$pgo" ] && pgo=$(fresh "$pgo" pgo)
[ -x "$bolt" ] && bolt=$(fresh "$bolt" bolt)
bare_heap=$(fresh "$bare_heap" bare-heap)
madsim=$(fresh "$madsim" madsim)
turmoil=$(fresh "$turmoil" turmoil)
$peer_pgo && madsim_pgo=$(fresh "$madsim_pgo" madsim-pgo)
$peer_inline && madsim_inline=$(fresh "$madsim_inline" madsim-inline)

# One field of settlesim's `bench --json` line, or of a peer's key=value line.
json_field() { sed -n "s/.*\"$1\":\([0-9.e+-]*\).*/\1/p"; }
kv_field() { tr ' ' '\n' | sed -n "s/^$1=//p"; }

bench() { "$1" bench --settlements "$settlements" --runs 7 --json; }
peer() { "$1" 200000 100 42 | kv_field settlements_per_wall_s; }

# One row of the table: build, its bench line, the madsim figure it is held
# to; the round's $round, $heap and $tm.
row() {
    local sps eps own kernel
    sps=$(json_field settlements_per_s <<<"$2")
    eps=$(json_field events_per_s <<<"$2")
    own=$(json_field events_vs_bare_heap <<<"$2")
    kernel=$(json_field kernel_events_per_s <<<"$2")
    awk -v r="$round" -v b="$1" -v s="$sps" -v e="$eps" -v o="$own" -v h="$heap" -v m="$3" -v t="$tm" -v k="$kernel" \
        'BEGIN {
            # A build from before `bench` timed the kernel alone has no figure.
            kh = k == "" ? "-" : sprintf("%.3f", k / h)
            printf "%-6s %-8s %13.0f %9.2fM %15.3f %13.3f %8.2f %9.2f %14s\n", r, b, s, e / 1e6, o, e / h, s / m, s / t, kh
        }' |
        tee -a "$results"
}

ratios=(/own-bare-heap /anchor-heap /madsim /turmoil kernel/anchor)
echo "round  build    settlements/s  events/s  /own-bare-heap  /anchor-heap  /madsim  /turmoil  kernel/anchor"
for round in $(seq "$rounds"); do
    rel=$(bench "$release")
    machine=$(sed -n 's/.*"machine":"\([^"]*\)".*/\1/p' <<<"$rel")
    [ -x "$pgo" ] && pgo_line=$(bench "$pgo")
    [ -x "$bolt" ] && bolt_line=$(bench "$bolt")
    heap=$("$bare_heap" 20000000 1024 | kv_field events_per_sec)
    ms=$(peer "$madsim")
    tm=$(peer "$turmoil")
    $peer_pgo && ms_pgo=$(peer "$madsim_pgo")
    $peer_inline && ms_inline=$(peer "$madsim_inline")
    # Each build is held to madsim built its way, where that was asked for.
    row release "$rel" "${ms_inline:-$ms}"
    [ -x "$pgo" ] && row pgo "$pgo_line" "${ms_pgo:-$ms}"
    [ -x "$bolt" ] && row bolt "$bolt_line" "${ms_pgo:-$ms}"
    awk -v r="$round" -v h="$heap" -v m="$ms" -v p="${ms_pgo:-}" -v i="${ms_inline:-}" -v t="$tm" 'BEGIN {
        printf "%-6s peers    anchor heap %.2fM events/s, madsim %.0f%s%s, turmoil %.0f settlements/s\n",
            r, h / 1e6, m, (i == "" ? "" : sprintf(" (inlined %.0f)", i)),
            (p == "" ? "" : sprintf(" (profile-guided %.0f)", p)), t
    }'
done

echo
against="release against $($peer_inline && echo 'madsim built with the same inlining' || echo 'release')"
$peer_pgo && against="$against, profile-guided against profile-guided"
echo "over $rounds rounds, median (range); madsim: $against"
if [ -n "$machine" ]; then echo "on $machine"; fi
echo "a round disturbed by other work on the machine shows as an outlier: the medians hold"
for build in $(awk '{ print $2 }' "$results" | sort -u); do
    line=$build
    for col in 5 6 7 8 9; do
        name=${ratios[col - 5]}
        line="$line  $name $(awk -v b="$build" -v c="$col" '$2 == b && $c != "-" { print $c }' "$results" | sort -n |
            awk '{ v[NR] = $1 } END {
                if (NR == 0) { printf "-"; exit }
                # The mean of two middle values gets one more decimal.
                places = length(v[1]) - index(v[1], ".")
                m = NR % 2 ? v[(NR + 1) / 2] : sprintf("%." places + 1 "f", (v[NR / 2] + v[NR / 2 + 1]) / 2)
                printf "%s (%s-%s)", m, v[1], v[NR]
            }')"
    done
    echo "$line"
done
