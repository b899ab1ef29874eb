#!/usr/bin/env bash
# ClusterFuzzLite's (and OSS-Fuzz's) build script, proven on the host, since
# the builder image cannot be pulled here: runs .clusterfuzzlite/build.sh
# the way the builder does, then every target it produced, from its seed
# corpus. Exit 0 when build.sh succeeds, every target it should make is in
# $OUT, and none crashes; else 1.
#
# As in the builder: SRC, OUT and WORK are directories of their own
# ($SRC/maplefuzz is this checkout, through a symlink, and $SRC/build.sh
# the script, as the Dockerfile copies them), the script runs from
# $SRC/maplefuzz with `bash -eu`, on the nightly toolchain (the builder's
# cargo), with OSS-Fuzz's Rust flags and its SANITIZER, FUZZING_ENGINE,
# FUZZING_LANGUAGE and ARCHITECTURE. cargo fuzz builds with AddressSanitizer
# and, through kernel/build.rs, the kernel engine's C with clang under
# libFuzzer's coverage; the script checks the C went in instrumented.
# It builds in fuzz/target, so a later `cargo +nightly fuzz build -O
# --debug-assertions` with the same RUSTFLAGS reuses it.
#
# Needs: the nightly toolchain, cargo-fuzz, clang, zip, unzip (.ci/run
# installs them). The kernel engines come from LINUX_SRC as in every build.
#
# Knobs: CFLITE_SMOKE_SECONDS (tree_ops, default 60), CFLITE_SECONDS (every
# other target, default 3), CFLITE_SEED (libFuzzer's -seed, default 1, so a
# failure is the same mutations again on the next run), CFLITE_DIR (the SRC/OUT/WORK parent, default a
# fresh temporary directory, removed at the end unless given).
set -euo pipefail
cd "$(dirname "$0")/.."
checkout=$(pwd)

# What build.sh must leave in $OUT.
targets=(tree_ops tree_alloc tree_prealloc tree_faults vma_ops decode text_parse)
smoke=${CFLITE_SMOKE_SECONDS:-60}
secs=${CFLITE_SECONDS:-3}
seed=${CFLITE_SEED:-1}

fail() {
    echo "cflite-host: $*" >&2
    exit 1
}

for tool in clang zip unzip; do
    command -v "$tool" >/dev/null || fail "$tool is not installed (apt-get install $tool)"
done
cargo +nightly --version >/dev/null 2>&1 ||
    fail "no nightly toolchain (rustup toolchain install nightly --profile minimal)"
cargo +nightly fuzz --version >/dev/null 2>&1 ||
    fail "cargo-fuzz is not installed (cargo install --locked cargo-fuzz)"

if [ -n "${CFLITE_DIR:-}" ]; then
    base=$CFLITE_DIR
    rm -rf "$base"
    mkdir -p "$base"
else
    base=$(mktemp -d)
    trap 'rm -rf "$base"' EXIT
fi
mkdir -p "$base/src" "$base/out" "$base/work"
ln -s "$checkout" "$base/src/maplefuzz"
cp .clusterfuzzlite/build.sh "$base/src/build.sh"

echo "== build.sh (SRC=$base/src OUT=$base/out WORK=$base/work)"
start=$(date +%s)
(
    export SRC=$base/src OUT=$base/out WORK=$base/work
    export SANITIZER=address FUZZING_ENGINE=libfuzzer FUZZING_LANGUAGE=rust ARCHITECTURE=x86_64
    export RUSTUP_TOOLCHAIN=nightly
    export RUSTFLAGS="--cfg fuzzing -Cdebuginfo=1 -Cforce-frame-pointers"
    cd "$SRC/maplefuzz"
    bash -eu "$SRC/build.sh"
) || fail "build.sh failed"
echo "build.sh: $(($(date +%s) - start)) s"

out=$base/out
for t in "${targets[@]}"; do
    [ -x "$out/$t" ] || fail "build.sh left no $t in \$OUT"
    [ -f "$out/${t}_seed_corpus.zip" ] || fail "build.sh left no ${t}_seed_corpus.zip in \$OUT"
done

# The kernel engine's C in the targets, instrumented: the static library
# the build linked (the newest, for these flags) holds SanitizerCoverage's
# counter sections, and the targets name the C's entry points.
lib=$(ls -t fuzz/target/x86_64-unknown-linux-gnu/release/build/maplefuzz-kernel-*/out/libmaplefuzz_kernel_c.a 2>/dev/null | head -n 1 || true)
[ -n "$lib" ] || fail "no kernel engine was built (LINUX_SRC=${LINUX_SRC:-unset})"
counters=$(objdump -h "$lib" | grep -c ' __sancov_cntrs' || true)
[ "$counters" -gt 0 ] || fail "the kernel engine's C ($lib) has no SanitizerCoverage counters"
vtables=$(nm "$out/tree_ops" | grep -c ' mfk_vtable_' || true)
[ "$vtables" -gt 0 ] || fail "tree_ops has no kernel engine in it"
echo "kernel engine: $vtables variants in tree_ops; $counters C functions with inline 8-bit counters ($lib)"

# Each target from its seed corpus, as the runner unpacks it; ASan as
# cargo fuzz runs it (the variants of the C share their globals' names).
# Every target runs; the crashes are listed at the end.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_odr_violation=0}
crashed=()
for t in "${targets[@]}"; do
    corpus=$base/work/corpus/$t
    mkdir -p "$corpus" "$base/work/artifacts/$t"
    unzip -q -o "$out/${t}_seed_corpus.zip" -d "$corpus"
    n=$secs
    if [ "$t" = tree_ops ]; then n=$smoke; fi
    log=$base/work/$t.log
    echo "== $t: ${n} s from $(ls "$corpus" | wc -l) seeds"
    if ! "$out/$t" -seed="$seed" -max_total_time="$n" -max_len=2048 -print_final_stats=1 \
        -artifact_prefix="$base/work/artifacts/$t/" "$corpus" >"$log" 2>&1; then
        grep -E -A2 '^divergence at|^==[0-9]+==ERROR|^SUMMARY' "$log" | head -n 20
        # Kept where cargo fuzz keeps its crashes (git ignores them).
        mkdir -p "fuzz/artifacts/$t"
        cp "$base/work/artifacts/$t/"* "fuzz/artifacts/$t/" 2>/dev/null || true
        echo "$t crashed: $(ls "$base/work/artifacts/$t/") (copied to fuzz/artifacts/$t/)"
        crashed+=("$t")
    fi
    # What libFuzzer saw (informational: a run cut short lacks some lines).
    grep -E '^INFO: Loaded .* (inline 8-bit counters|PCs)' "$log" | head -n 2 || true
    grep -E '^#[0-9]+[[:space:]]+DONE' "$log" | tail -n 1 || true
    grep -E '^stat::(number_of_executed_units|average_exec_per_sec)' "$log" || true
done
if [ ${#crashed[@]} -gt 0 ]; then
    fail "crashed: ${crashed[*]} (the inputs in fuzz/artifacts/<target>/: maplefuzz replay FILE)"
fi
echo "== cflite-host: build.sh built ${#targets[@]} targets, each ran clean"
