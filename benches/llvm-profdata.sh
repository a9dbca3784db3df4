# Sourced by the scripts that build with profiles: sets `profdata` to an
# llvm-profdata that reads the profiles of rustc's own LLVM, or exits.
# $1 names the calling script in the error.

sysroot=$(rustc --print sysroot)
host=$(rustc -vV | sed -n 's/^host: //p')
llvm_major=$(rustc -vV | sed -n 's/^LLVM version: \([0-9]*\).*/\1/p')
profdata="$sysroot/lib/rustlib/$host/bin/llvm-profdata"
if [ ! -x "$profdata" ]; then
    # A system llvm-profdata only reads the profiles of its own LLVM major.
    profdata=$(command -v "llvm-profdata-$llvm_major" || command -v llvm-profdata || true)
    if [ -z "$profdata" ] || ! "$profdata" --version 2>/dev/null | grep -q "LLVM version $llvm_major\."; then
        echo "$1: needs llvm-profdata for LLVM $llvm_major; run: rustup component add llvm-tools" >&2
        exit 1
    fi
fi
