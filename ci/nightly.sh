#!/usr/bin/env bash
# Nightly fuzzing of every target, then one shrunk, deduplicated reproducer
# per distinct bug, and a summary in Markdown and JSON.
#
# Per target, for NIGHTLY_BUDGET seconds, two fuzzers run side by side (one
# core each):
#   - libFuzzer (cargo fuzz run): AddressSanitizer on the nightly toolchain
#     when there is one, else stable with --sanitizer none; over the rolling
#     working corpus NIGHTLY_OUT/corpus/<target> (new inputs go there) and the
#     committed seeds corpus/<target> (read only);
#   - the stable driver (maplefuzz fuzz --target <target>).
# Then the working corpus is merged (libFuzzer -merge=1, what cargo fuzz cmin
# does) with the committed seeds into a minimal set, bounded to
# NIGHTLY_CORPUS_MAX files (the smallest kept); every crash of both fuzzers is
# shrunk and grouped by bug signature (maplefuzz shrink); the summary says
# what ran and what was found.
#
# Exit status: 0 no new bug; 1 a new distinct bug (a signature not listed in
# NIGHTLY_KNOWN); 2 the run itself failed.
#
# Environment (all optional):
#   NIGHTLY_BUDGET       seconds per target (default 600)
#   NIGHTLY_TARGETS      targets to fuzz (default: tree_ops tree_alloc tree_prealloc tree_faults vma_ops)
#   NIGHTLY_OUT          output directory (default target/nightly)
#   NIGHTLY_CORPUS_MAX   files kept per target after the merge (default 1000)
#   NIGHTLY_KNOWN        file of bug signatures already reported, one a line
#                        (default ci/known-bugs.txt); they do not fail the run
#   NIGHTLY_SEED         the stable driver's campaign seed (default: from the date)
#   NIGHTLY_JOBS         libFuzzer fork mode with this many jobs (-fork=N
#                        -ignore_crashes=1; scale-out on a big machine);
#                        default 0: one process, stop at the first crash
#   NIGHTLY_SANITIZER    address or none (default: address when a nightly
#                        toolchain is installed, else none)
#   NIGHTLY_MAX_LEN      libFuzzer -max_len (default 4096; 1024 for tree_faults, whose
#                        long inputs run 0.7 s each under ASan: in 40 s, 1024
#                        gave 5x the execs and more coverage than 4096)
#   NIGHTLY_SHRINK_SECONDS  time limit of each crash's shrink (default 60)
#   NIGHTLY_LIBFUZZER    0: run the stable driver only (default 1)
#   NIGHTLY_COMMIT_CORPUS  1: after the merge, make the NIGHTLY_COMMIT_MAX
#                        (default 64) smallest inputs of each target's merged
#                        corpus its committed nightly-* seeds (corpus/<target>/
#                        and text twins in corpus/seeds/<target>/, replacing
#                        the previous ones: maplefuzz import-seeds), for a
#                        maintainer or a bot to commit. Never with a mutant.
#   NIGHTLY_LINUX_SRC    the kernel trees of the kernel engines (LINUX_SRC's
#                        syntax: trees or tarballs separated by ':'; default:
#                        LINUX_SRC if set, else Debian's linux-source-6.12 and
#                        -6.1 tarballs and the 6.18/7.1 subsets in
#                        ../shared/kernels, those that exist; set and empty:
#                        the build's default): every tree's fixed variant
#                        runs beside the port, kernel@X.Y each
#   NIGHTLY_KERNEL_SANITIZE  sanitizers for the kernel engine's C in the stable
#                        driver's build (default address,undefined when gcc's
#                        libasan is installed; empty: none); a report there is
#                        a crash with the program on disk (docs/kernel-engine.md)
#   MAPLEFUZZ_BIN        a built maplefuzz binary to use (default: build
#                        target/release/maplefuzz)
#
# The planted-bug hook: MAPLEFUZZ_MUTANT=<name> (src/mutants.rs, e.g.
# stale-node-store) switches a deliberate bug on in every process this script
# starts. The stable driver, maplefuzz shrink and the cargo-fuzz targets all
# read it (the fuzz crate builds maplefuzz with its default features, which
# include `mutants`; each thread reads the variable on first use), so
#   CI=true NIGHTLY_BUDGET=60 MAPLEFUZZ_MUTANT=stale-node-store ci/nightly.sh
# must exit 1 with exactly one reproducer. That is how this script is tested.
set -uo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

budget=${NIGHTLY_BUDGET:-600}
targets=${NIGHTLY_TARGETS:-tree_ops tree_alloc tree_prealloc tree_faults vma_ops}
out=${NIGHTLY_OUT:-target/nightly}
corpus_max=${NIGHTLY_CORPUS_MAX:-1000}
known=${NIGHTLY_KNOWN:-ci/known-bugs.txt}
seed=${NIGHTLY_SEED:-$(date -u +%Y%m%d)}
jobs=${NIGHTLY_JOBS:-0}
max_len=${NIGHTLY_MAX_LEN:-4096}
shrink_seconds=${NIGHTLY_SHRINK_SECONDS:-60}
export CARGO_TERM_COLOR=never

die() {
    echo "nightly: $*" >&2
    exit 2
}

case "$budget" in '' | *[!0-9]*) die "NIGHTLY_BUDGET must be a number of seconds, not '$budget'" ;; esac
mkdir -p "$out" || die "cannot create $out"
out=$(cd "$out" && pwd)
mkdir -p "$out/corpus" "$out/logs"
# Crashes, reproducers and the summary are this run's; the working corpus
# (out/corpus) is kept from run to run.
rm -rf "$out/artifacts" "$out/crashes" "$out/regressions" "$out/snippets" "$out/merge"
rm -f "$out/summary.md" "$out/summary.json" "$out/shrink.json"

echo "== nightly: targets [$targets], ${budget}s each, output $out"
[ -n "${MAPLEFUZZ_MUTANT:-}" ] && echo "== planted bug: MAPLEFUZZ_MUTANT=$MAPLEFUZZ_MUTANT"

# The kernel trees: every maintained generation that is at hand.
if [ -n "${NIGHTLY_LINUX_SRC+set}" ]; then
    # Set and empty: the build's own default.
    if [ -n "$NIGHTLY_LINUX_SRC" ]; then
        export LINUX_SRC=$NIGHTLY_LINUX_SRC
    fi
elif [ -z "${LINUX_SRC:-}" ]; then
    trees=()
    for t in /usr/src/linux-source-6.12.tar.xz /usr/src/linux-source-6.1.tar.xz \
        "$root/../shared/kernels/linux-6.18.2-subset.tar.xz" \
        "$root/../shared/kernels/linux-7.1.3-subset.tar.xz"; do
        [ -f "$t" ] && trees+=("$t")
    done
    if [ ${#trees[@]} -gt 0 ]; then
        LINUX_SRC=$(IFS=:; echo "${trees[*]}")
        export LINUX_SRC
    fi
fi
echo "== kernel trees: ${LINUX_SRC:-the default}"

if [ -z "${NIGHTLY_KERNEL_SANITIZE+set}" ]; then
    NIGHTLY_KERNEL_SANITIZE=
    if gcc -print-file-name=libasan.so | grep -q /; then
        NIGHTLY_KERNEL_SANITIZE=address,undefined
    fi
fi
if [ -n "${MAPLEFUZZ_BIN:-}" ]; then
    mf=$MAPLEFUZZ_BIN
elif [ -n "$NIGHTLY_KERNEL_SANITIZE" ]; then
    echo "== build: maplefuzz (release, kernel C under -fsanitize=$NIGHTLY_KERNEL_SANITIZE)"
    MAPLEFUZZ_KERNEL_SANITIZE=$NIGHTLY_KERNEL_SANITIZE \
        RUSTFLAGS="${RUSTFLAGS:-} -Clink-arg=-fsanitize=$NIGHTLY_KERNEL_SANITIZE" \
        cargo build --release --quiet --bin maplefuzz --target-dir target/sanitize ||
        die "cargo build (sanitizers) failed"
    mf=$root/target/sanitize/release/maplefuzz
else
    echo "== build: maplefuzz (release)"
    cargo build --release --quiet --bin maplefuzz || die "cargo build failed"
    mf=$root/target/release/maplefuzz
fi

# libFuzzer: nightly with AddressSanitizer when there is a nightly toolchain.
fuzz_cmd=()
sanitizer=${NIGHTLY_SANITIZER:-}
if [ "${NIGHTLY_LIBFUZZER:-1}" = 0 ]; then
    echo "== NIGHTLY_LIBFUZZER=0: the stable driver only"
elif cargo fuzz --version >/dev/null 2>&1; then
    if [ -z "$sanitizer" ]; then
        if rustup toolchain list 2>/dev/null | grep -q '^nightly'; then
            sanitizer=address
        else
            sanitizer=none
        fi
    fi
    if [ "$sanitizer" = address ]; then
        fuzz_cmd=(cargo +nightly fuzz)
    else
        # The default toolchain: stable works with --sanitizer none.
        fuzz_cmd=(cargo fuzz)
    fi
    echo "== build: cargo fuzz targets (sanitizer $sanitizer)"
    if ! "${fuzz_cmd[@]}" build --sanitizer "$sanitizer" >"$out/logs/fuzz-build.log" 2>&1; then
        tail -n 30 "$out/logs/fuzz-build.log"
        die "cargo fuzz build failed (log: $out/logs/fuzz-build.log)"
    fi
else
    echo "== cargo-fuzz is not installed: libFuzzer runs skipped (cargo install --locked cargo-fuzz)"
fi

# The number after `key` on the last line of a log that has one.
last_field() { # file key
    grep -o "$2 *[0-9][0-9.]*" "$1" 2>/dev/null | tail -n 1 | awk '{print $NF}'
}

count_files() { find "$1" -maxdepth 1 -type f 2>/dev/null | wc -l | tr -d ' '; }

declare -A lf_execs lf_rate lf_cov lf_ft lf_status sd_execs sd_rate sd_types sd_status corpus_before corpus_after
help=$("$mf" fuzz --help) || die "$mf does not run"
for t in $targets; do
    grep -qw -- "$t" <<<"$help" || die "unknown target $t"
    work=$out/corpus/$t
    art=$out/artifacts/$t
    crashes=$out/crashes/$t
    mkdir -p "$work" "$art" "$crashes"
    corpus_before[$t]=$(count_files "$work")
    t_max_len=$max_len
    if [ -z "${NIGHTLY_MAX_LEN:-}" ] && [ "$t" = tree_faults ]; then
        t_max_len=1024
    fi
    echo "== $t: ${budget}s of libFuzzer and of the stable driver, side by side"

    lf_pid=
    if [ ${#fuzz_cmd[@]} -gt 0 ]; then
        fork=()
        [ "$jobs" -gt 0 ] && fork=(-fork="$jobs" -ignore_crashes=1)
        "${fuzz_cmd[@]}" run --sanitizer "$sanitizer" "$t" "$work" "corpus/$t" -- \
            -max_total_time="$budget" -max_len="$t_max_len" -timeout=30 -rss_limit_mb=4096 \
            -print_final_stats=1 -artifact_prefix="$art/" "${fork[@]}" \
            >"$out/logs/libfuzzer-$t.log" 2>&1 &
        lf_pid=$!
    fi
    "$mf" fuzz --target "$t" --seconds "$budget" --seed "$seed" --quiet \
        --crash-dir "$crashes" >"$out/logs/stable-$t.log" 2>&1
    sd_status[$t]=$?
    if [ -n "$lf_pid" ]; then
        wait "$lf_pid"
        lf_status[$t]=$?
    else
        lf_status[$t]=skipped
    fi

    log=$out/logs/libfuzzer-$t.log
    lf_execs[$t]=$(last_field "$log" 'stat::number_of_executed_units:')
    lf_rate[$t]=$(last_field "$log" 'stat::average_exec_per_sec:')
    if [ -z "${lf_execs[$t]}" ]; then
        # Fork mode and crashes print no final stats: the last status line.
        lf_execs[$t]=$(grep -o '^#[0-9]*' "$log" 2>/dev/null | tail -n 1 | tr -d '#')
        lf_rate[$t]=$(last_field "$log" 'exec/s:')
    fi
    lf_cov[$t]=$(last_field "$log" 'cov:')
    lf_ft[$t]=$(last_field "$log" 'ft:')
    slog=$out/logs/stable-$t.log
    sd_execs[$t]=$(grep -o 'execs *[0-9]*' "$slog" | awk '{print $2}' | tail -n 1)
    sd_rate[$t]=$(grep -o 'execs *[0-9]* ([0-9.]*' "$slog" | sed 's/.*(//' | tail -n 1)
    sd_types[$t]=$(grep -o 'store types *[0-9]*/[0-9]*' "$slog" | awk '{print $3}' | tail -n 1)
    echo "   libFuzzer: ${lf_execs[$t]:-?} execs (${lf_rate[$t]:-?}/s), cov ${lf_cov[$t]:-?}, exit ${lf_status[$t]}"
    echo "   stable:    ${sd_execs[$t]:-?} execs (${sd_rate[$t]:-?}/s), store types ${sd_types[$t]:-?}, exit ${sd_status[$t]}"

    # Merge: the minimal set of the working corpus and the committed seeds
    # with all their coverage, bounded to the smallest corpus_max files.
    if [ ${#fuzz_cmd[@]} -gt 0 ]; then
        merged=$out/merge/$t
        mkdir -p "$merged"
        if "${fuzz_cmd[@]}" run --sanitizer "$sanitizer" "$t" "$merged" "$work" "corpus/$t" -- \
            -merge=1 -max_len="$t_max_len" -timeout=30 -rss_limit_mb=4096 -artifact_prefix="$art/merge-" \
            >"$out/logs/merge-$t.log" 2>&1; then
            ls -S -r "$merged" | tail -n +"$((corpus_max + 1))" | while read -r f; do rm -f "$merged/$f"; done
            rm -rf "$work" && mv "$merged" "$work"
        else
            echo "   merge failed (log: $out/logs/merge-$t.log); the working corpus is kept as it is"
        fi
        # A crash met while merging is not a finding of this run's fuzzing.
        rm -f "$art"/merge-*
    fi
    corpus_after[$t]=$(count_files "$work")
    if [ "${NIGHTLY_COMMIT_CORPUS:-0}" = 1 ]; then
        if [ -n "${MAPLEFUZZ_MUTANT:-}" ]; then
            echo "   a planted bug is on: the committed corpus is left alone"
        else
            "$mf" import-seeds --target "$t" --from "$work" --corpus corpus \
                --max "${NIGHTLY_COMMIT_MAX:-64}" | sed 's/^/   /'
        fi
    fi
done

# Every crash of both fuzzers: libFuzzer's crash-* files, the stable
# driver's text reproducers, and the program it was running when a fatal
# signal killed it (crash-signal-<pid>.bin). Timeouts, OOMs and leaks are
# listed, not shrunk.
mapfile -t crash_files < <(find "$out/artifacts" -type f -name 'crash-*' 2>/dev/null | sort
    find "$out/crashes" -type f \( -name '*.txt' -o -name 'crash-signal-*.bin' \) 2>/dev/null | sort)
mapfile -t other_files < <(find "$out/artifacts" -type f \( -name 'timeout-*' -o -name 'oom-*' -o -name 'leak-*' -o -name 'slow-unit-*' \) 2>/dev/null | sort)

bug_lines=()
if [ ${#crash_files[@]} -gt 0 ]; then
    echo "== shrink: ${#crash_files[@]} crash file(s)"
    "$mf" shrink "${crash_files[@]}" --out "$out/regressions" --snippets "$out/snippets" \
        --json "$out/shrink.json" --seconds "$shrink_seconds" --quiet >"$out/logs/shrink.log" 2>&1
    shrink_status=$?
    cat "$out/logs/shrink.log"
    # 1: some crash did not reproduce; 2: some file was unreadable (both
    # listed in the log); the bugs found are reported either way.
    [ "$shrink_status" -gt 2 ] && die "maplefuzz shrink failed (status $shrink_status)"
    mapfile -t bug_lines < <(grep '^bug ' "$out/logs/shrink.log")
fi

new_bugs=()
known_bugs=()
for line in "${bug_lines[@]}"; do
    sig=$(echo "$line" | awk '{print $2}')
    if [ -f "$known" ] && grep -qxF "$sig" "$known"; then
        known_bugs+=("$line")
    else
        new_bugs+=("$line")
    fi
done

# ---- the summary ----
date_now=$(date -u +%Y-%m-%dT%H:%M:%SZ)
cores=$(nproc)
host="$cores cores"
md=$out/summary.md
{
    echo "# maplefuzz nightly, $date_now"
    echo
    echo "Budget ${budget} s per target on $host; libFuzzer sanitizer: ${sanitizer:-not run};"
    echo "stable driver seed $seed.${MAPLEFUZZ_MUTANT:+ Planted bug: \`MAPLEFUZZ_MUTANT=$MAPLEFUZZ_MUTANT\`.}"
    echo
    echo "| target | libFuzzer execs | execs/s | cov | ft | stable execs | execs/s | store types | corpus before | corpus after |"
    echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
    for t in $targets; do
        echo "| $t | ${lf_execs[$t]:--} | ${lf_rate[$t]:--} | ${lf_cov[$t]:--} | ${lf_ft[$t]:--} | ${sd_execs[$t]:--} | ${sd_rate[$t]:--} | ${sd_types[$t]:--} | ${corpus_before[$t]} | ${corpus_after[$t]} |"
    done
    echo
    echo "Crash files: ${#crash_files[@]}; distinct bugs: ${#bug_lines[@]} (new: ${#new_bugs[@]}, known: ${#known_bugs[@]})."
    for line in "${new_bugs[@]}" "${known_bugs[@]}"; do
        read -r _ sig tgt txt <<<"$line"
        status=new
        printf '%s\n' "${known_bugs[@]}" | grep -qxF "$line" && status=known
        echo
        echo "## $sig ($status, target $tgt)"
        echo
        echo "Reproducer \`$txt\`; Rust test \`$out/snippets/$tgt/$sig.rs\`; C snippet \`$out/snippets/$tgt/$sig.c\`."
        echo
        echo '```text'
        cat "$txt"
        echo '```'
    done
    if [ ${#other_files[@]} -gt 0 ]; then
        echo
        echo "Other libFuzzer artifacts (timeouts, OOMs, leaks; not shrunk):"
        for f in "${other_files[@]}"; do echo "- \`$f\`"; done
    fi
} >"$md"

# summary.json: maplefuzz writes it (the keys: src/driver/nightly.rs).
summary_args=(--json "$out/summary.json" --date "$date_now" --budget "$budget" --cores "$cores"
    --sanitizer "${sanitizer:-}" --seed "$seed" --mutant "${MAPLEFUZZ_MUTANT:-}"
    --crash-files "${#crash_files[@]}")
for t in $targets; do
    spec=("$t"
        "libfuzzer.execs=${lf_execs[$t]}" "libfuzzer.execs_per_sec=${lf_rate[$t]}"
        "libfuzzer.cov=${lf_cov[$t]}" "libfuzzer.ft=${lf_ft[$t]}" "libfuzzer.exit=${lf_status[$t]}"
        "stable.execs=${sd_execs[$t]}" "stable.execs_per_sec=${sd_rate[$t]}"
        "stable.store_types=${sd_types[$t]}" "stable.exit=${sd_status[$t]}"
        "corpus_before=${corpus_before[$t]}" "corpus_after=${corpus_after[$t]}")
    summary_args+=(--target "${spec[*]}")
done
for line in "${new_bugs[@]}"; do summary_args+=(--new-bug "$(awk '{print $2}' <<<"$line")"); done
for line in "${known_bugs[@]}"; do summary_args+=(--known-bug "$(awk '{print $2}' <<<"$line")"); done
for f in "${other_files[@]}"; do summary_args+=(--other-artifact "$f"); done
if [ -f "$out/shrink.json" ]; then
    summary_args+=(--shrink "$out/shrink.json")
fi
"$mf" nightly-summary "${summary_args[@]}" || die "maplefuzz nightly-summary could not write $out/summary.json"

echo "== summary: $md and $out/summary.json"
cat "$md"
if [ ${#new_bugs[@]} -gt 0 ]; then
    echo "== ${#new_bugs[@]} new distinct bug(s): exit 1"
    exit 1
fi
echo "== no new bug"
exit 0
