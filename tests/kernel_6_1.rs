//! Linux 6.1 against its own oracle profile (`oracle@6.1`,
//! `maplefuzz_reference::TreeProfile::Linux6_1`): generated programs of
//! every tree target run clean on `kernel@6.1:fixed`; each place where 6.1
//! legitimately answers differently from 6.12 is shown by a small program
//! whose 6.1 answer the oracle gives and `kernel@6.1` confirms (and whose
//! 6.12 answer the default oracle gives); 6.1's allocation bugs show on
//! `kernel@6.1:exact` and not on `:fixed`.
//!
//! Without a 6.1 tree in the build (`LINUX_SRC=/path/to/linux-6.1:...`)
//! these tests say so and pass, unless `MAPLEFUZZ_REQUIRE_KERNEL_6_1` is
//! set. `MAPLEFUZZ_6_1_PROGRAMS` sets the number of generated programs per
//! target (default 300) and `MAPLEFUZZ_6_1_SEED` the campaign seed.

use maplefuzz::diff::{self, Options};
use maplefuzz::driver::{exec_program, Target};
use maplefuzz::engine::{profile_of_tree, KernelEngine, OracleEngine, Outcome, TreeEngine};
use maplefuzz::ops::text::{format_program, parse_program};
use maplefuzz::ops::Program;
use maplefuzz_reference::TreeProfile;

/// The `kernel@6.1` variant `name`, or why there is none.
fn variant(name: &str) -> Option<maplefuzz_kernel::VariantInfo> {
    let found = maplefuzz_kernel::variant_of("6.1", name);
    if found.is_none() {
        let why =
            format!("this build has no kernel@6.1:{name} (build with LINUX_SRC naming a 6.1 tree)");
        assert!(
            std::env::var_os("MAPLEFUZZ_REQUIRE_KERNEL_6_1").is_none(),
            "MAPLEFUZZ_REQUIRE_KERNEL_6_1 is set but {why}"
        );
        eprintln!("skipped: {why}");
    }
    found
}

/// `[oracle@6.1, kernel@6.1:variant]` for `program`.
fn engines(v: &maplefuzz_kernel::VariantInfo, p: &Program) -> Vec<Box<dyn TreeEngine>> {
    vec![
        Box::new(OracleEngine::with_profile(p.config, TreeProfile::Linux6_1)),
        Box::new(KernelEngine::new(v, p.config)),
    ]
}

fn run(
    v: &maplefuzz_kernel::VariantInfo,
    p: &Program,
) -> Result<diff::RunStats, Box<diff::Divergence>> {
    diff::run_with(p, &mut engines(v, p), Options::default())
}

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default)
}

/// Shrinks a program that diverges on `v`, for the report.
fn shrunk(v: &maplefuzz_kernel::VariantInfo, p: &Program) -> String {
    let opts = maplefuzz::shrink::Options::default();
    match maplefuzz::shrink::shrink_with(p, &opts, &mut |c: &Program| run(v, c)) {
        Ok(s) => format!("{}\n{}", format_program(&s.program), s.divergence),
        Err(e) => format!("(not shrunk: {e})"),
    }
}

/// Generated programs of every tree target on `[oracle@6.1,
/// kernel@6.1:fixed]`, every check on: no divergence. Each distinct
/// divergence (by signature) is reported once, shrunk.
#[test]
fn fixed_6_1_agrees_with_its_oracle_on_generated_programs() {
    let Some(v) = variant("fixed") else { return };
    let n = env_u64("MAPLEFUZZ_6_1_PROGRAMS", 300);
    let seed = env_u64("MAPLEFUZZ_6_1_SEED", 0x61);
    let mut failures: Vec<(String, u64, String)> = Vec::new();
    for target in Target::TREE {
        let (mut ops, mut stopped, mut diverged) = (0, 0, 0);
        for i in 0..n {
            let p = exec_program(target, seed, i).into_tree().unwrap();
            match run(&v, &p) {
                Ok(stats) => {
                    ops += stats.ops;
                    stopped += u64::from(stats.stopped.is_some());
                }
                Err(d) => {
                    diverged += 1;
                    let sig = format!("{} {}", target.name(), d.signature());
                    match failures.iter_mut().find(|f| f.0 == sig) {
                        Some(f) => f.1 += 1,
                        None => failures.push((sig, 1, shrunk(&v, &p))),
                    }
                }
            }
        }
        eprintln!(
            "{}: {n} programs (seed {seed:#x}), {ops} ops, {stopped} stopped as caller errors, {diverged} diverged",
            target.name()
        );
    }
    let report: Vec<String> = failures
        .iter()
        .map(|(sig, count, shrunk)| format!("{sig} ({count} programs); shrunk:\n{shrunk}"))
        .collect();
    assert!(report.is_empty(), "{}", report.join("\n\n"));
}

/// The outcomes of `p`'s last op on `engines`, run by the executor (its
/// pauses included), which must find no divergence.
fn last_outcomes(mut engines: Vec<Box<dyn TreeEngine>>, p: &Program) -> Vec<Outcome> {
    let mut last = Vec::new();
    let n = p.ops.len();
    let r = diff::run_observed(p, &mut engines, Options::default(), &mut |e| {
        if let diff::Event::Op { step, outcomes } = e {
            if step + 1 == n {
                last = outcomes;
            }
        }
    });
    if let Err(d) = r {
        panic!(
            "{}
{d}",
            format_program(p)
        );
    }
    last
}

/// One listed difference: `program`'s last op answers `on_6_1` on
/// `oracle@6.1` and on `kernel@6.1` (`:fixed` and `:exact`), and `on_6_12`
/// on the default oracle, all run by the executor.
fn difference(program: &str, on_6_1: Outcome, on_6_12: Outcome) {
    let p = parse_program(program).unwrap();
    let o612: Vec<Box<dyn TreeEngine>> = vec![Box::new(OracleEngine::new(p.config))];
    assert_eq!(last_outcomes(o612, &p), vec![on_6_12], "oracle:\n{program}");
    let o61: Vec<Box<dyn TreeEngine>> = vec![Box::new(OracleEngine::with_profile(
        p.config,
        TreeProfile::Linux6_1,
    ))];
    // The oracle's answer is on_6_1 (or, where 6.1 chooses from its node
    // boundaries, a choice that includes it: Outcome::Either).
    let got = last_outcomes(o61, &p);
    assert!(
        got.len() == 1 && got[0].admits(&on_6_1),
        "oracle@6.1 answers {got:?}, not admitting {on_6_1:?}:\n{program}"
    );
    for name in ["fixed", "exact"] {
        let Some(v) = variant(name) else { return };
        let got = last_outcomes(engines(&v, &p), &p);
        assert!(
            got.len() == 2 && got[0].admits(&on_6_1) && got[1] == on_6_1,
            "kernel@6.1:{name} answers {got:?}, not {on_6_1:?}:\n{program}"
        );
    }
}

fn cursor(entry: Option<u64>, index: u64, last: u64, status: maplefuzz::tree::Status) -> Outcome {
    Outcome::Cursor {
        entry,
        index,
        last,
        status,
    }
}

use maplefuzz::tree::Status as S;
const MAX: u64 = u64::MAX;

#[test]
fn profile_of_tree_maps_versions() {
    assert_eq!(profile_of_tree("6.1"), TreeProfile::Linux6_1);
    assert_eq!(profile_of_tree("6.11"), TreeProfile::Linux6_1);
    assert_eq!(profile_of_tree("6.12"), TreeProfile::Linux6_12);
    assert_eq!(profile_of_tree("6.18"), TreeProfile::Linux6_12);
    assert_eq!(profile_of_tree("7.1"), TreeProfile::Linux6_12);
    assert_eq!(profile_of_tree("5.15"), TreeProfile::Linux6_12);
    let cfg = parse_program("config none\n").unwrap().config;
    assert_eq!(OracleEngine::new(cfg).name(), "oracle");
    assert_eq!(
        OracleEngine::with_profile(cfg, TreeProfile::Linux6_1).name(),
        "oracle@6.1"
    );
}

/// `mas_prev()` at index 0: 6.1 answers none ("nothing comes before 0"),
/// 6.12 underflow.
#[test]
fn mas_prev_at_zero() {
    difference(
        "config none\nmas_prev 0x0\n",
        cursor(None, 0, 0, S::None),
        cursor(None, 0, 0, S::Underflow),
    );
}

/// `mas_find_rev()` on an empty tree: 6.1 walks to `[0, max]` and stays
/// none; 6.12 underflows.
#[test]
fn mas_find_rev_on_an_empty_tree() {
    difference(
        "config rcu\nmas_find_rev 0x0\n",
        cursor(None, 0, MAX, S::None),
        cursor(None, 0, 0, S::Underflow),
    );
}

/// `mas_next()` on an empty tree: 6.1 walks to `[0, max]`, none; 6.12
/// overflows.
#[test]
fn mas_next_on_an_empty_tree() {
    difference(
        "config alloc\nmas_next 0x0\n",
        cursor(None, 0, MAX, S::None),
        cursor(None, 0, 0, S::Overflow),
    );
}

/// `mas_next()` past its limit: 6.1's `mas_next_entry()` sets `index =
/// last = limit` and stays on its node (active); 6.12 overflows.
#[test]
fn mas_next_past_its_limit() {
    difference(
        "config none\nstore 0x10 0x1f v1\nstore 0x100 0x1ff v2\nwalk 0x10\nmas_next 0x80\n",
        cursor(None, 0x80, 0x80, S::Active),
        cursor(None, 0x20, 0xff, S::Overflow),
    );
}

/// `mas_prev()` below its limit: 6.1's `mas_prev_entry()` sets `index =
/// last = min`; 6.12 underflows. (6.1's status here is active when it met
/// the entry below the limit in the leaf it scanned, as in this one-leaf
/// tree, none across a leaf boundary: the oracle admits both.)
#[test]
fn mas_prev_below_its_limit() {
    difference(
        "config none\nstore 0x10 0x1f v1\nstore 0x100 0x1ff v2\nwalk 0x100\nmas_prev 0x80\n",
        cursor(None, 0x80, 0x80, S::Active),
        cursor(None, 0x20, 0xff, S::Underflow),
    );
}

/// `mas_find()` after a walk of an empty tree: 6.1 stays none.
#[test]
fn mas_find_after_walking_an_empty_tree() {
    difference(
        "config alloc\nwalk 0x0\nmas_find 0xffffffffffffffff\n",
        cursor(None, 0, MAX, S::None),
        cursor(None, 0, MAX, S::Pause),
    );
}

/// A walk above a root pointer: 6.1 keeps the status root.
#[test]
fn walk_above_a_root_pointer() {
    difference(
        "config none\nstore 0x0 0x0 v1\nwalk 0x5\n",
        cursor(None, 1, MAX, S::Root),
        cursor(None, 1, MAX, S::None),
    );
}

/// A NULL store over everything empties a 6.1 tree even where 6.12 keeps
/// its one-slot root leaf (the next walk tells: none on 6.1, active on
/// 6.12).
#[test]
fn a_null_store_over_everything_empties_the_root() {
    difference(
        "config none\nstore 0x0 0xffffffffffffffff v1\nstore 0x0 0xffffffffffffffff null\nwalk 0x0\n",
        cursor(None, 0, MAX, S::None),
        cursor(None, 0, MAX, S::Active),
    );
}

/// 6.1's `mtree_alloc_rrange()` refuses a one-index window (`min == max`).
#[test]
fn alloc_rrange_one_index_window() {
    difference(
        "config alloc\nalloc_rrange 0x1 0x0 0x0 v1\n",
        Outcome::Alloc(Err(maplefuzz::tree::Errno::EINVAL)),
        Outcome::Alloc(Ok(0)),
    );
}

/// 6.1's `mtree_alloc_range()` refuses a window `[0, size - 1]`
/// (`max < size`).
#[test]
fn alloc_range_window_as_large_as_size() {
    difference(
        "config alloc\nalloc_range 0x10 0x0 0xf v1\n",
        Outcome::Alloc(Err(maplefuzz::tree::Errno::EINVAL)),
        Outcome::Alloc(Ok(0)),
    );
}

/// Runs `program` on `[oracle@6.1, kernel@6.1:name]` in a child process (a
/// 6.1 bug may kill the process).
fn run_6_1_isolated(
    name: &str,
    program: &str,
) -> Option<Result<diff::RunStats, Box<diff::Divergence>>> {
    let v = variant(name)?;
    let p = parse_program(program).unwrap();
    let names = vec!["oracle@6.1".to_string(), v.engine.to_string()];
    let any = maplefuzz::ops::AnyProgram::Tree(p);
    Some(diff::isolated::run_isolated_with(
        &any,
        diff::isolated::DEFAULT_LIMIT,
        &names,
        &mut |p| run(&v, &p.clone().into_tree().unwrap()),
    ))
}

/// A 6.1 allocation bug: `program` diverges on `kernel@6.1:exact` at its
/// last op by `check` (`detail` in the report), and runs clean on `:fixed`.
fn bug(program: &str, check: diff::Check, detail: &str) {
    let Some(exact) = run_6_1_isolated("exact", program) else {
        return;
    };
    let d = exact.expect_err("6.1 exact runs clean");
    let steps = parse_program(program).unwrap().ops.len();
    assert_eq!((d.check, d.step), (check, steps - 1), "{d}");
    assert!(d.to_string().contains(detail), "{d}");
    run_6_1_isolated("fixed", program)
        .unwrap()
        .unwrap_or_else(|d| panic!("6.1 fixed diverges:\n{d}"));
}

/// Bug A: `mas_fill_gap()` takes the leaf's range from the root's own
/// pivot, so a reverse allocation below `[0x1000, max]` in a one-leaf tree
/// loses that entry.
#[test]
fn bug_a_reverse_allocation_loses_the_entry_above() {
    bug(
        "config alloc\nstore 0x1000 max v1\nalloc_rrange 0x10 0x0 0xfffffffffffffffe v2\n",
        diff::Check::Contents,
        "",
    );
}

/// Bug B: a reverse allocation below `[0x1000, 0x1fff]` becomes a spanning
/// store that reads a NULL node in `mas_mab_cp()`.
#[test]
fn bug_b_reverse_allocation_crashes_in_a_spanning_store() {
    let Some(exact) = run_6_1_isolated(
        "exact",
        "config alloc\nstore 0x1000 0x1fff v1\nalloc_rrange 0x10 0x0 0x3000 v2\n",
    ) else {
        return;
    };
    let d = exact.expect_err("6.1 exact runs clean");
    assert_eq!(d.step, 1, "{d}");
    run_6_1_isolated(
        "fixed",
        "config alloc\nstore 0x1000 0x1fff v1\nalloc_rrange 0x10 0x0 0x3000 v2\n",
    )
    .unwrap()
    .unwrap_or_else(|d| panic!("6.1 fixed diverges:\n{d}"));
}

/// Bug C: a forward allocation in an empty tree returns a pivot (12272)
/// instead of 0, which the engine refuses as an errno it does not model.
#[test]
fn bug_c_forward_allocation_in_an_empty_tree() {
    bug(
        "config alloc\nalloc_range 0x10 0x0 0x3000 v2\n",
        diff::Check::Crash,
        "errno the harness does not model: 12272",
    );
}

/// Bug D: a reverse allocation in an empty tree fails with EBUSY.
#[test]
fn bug_d_reverse_allocation_in_an_empty_tree() {
    bug(
        "config alloc\nalloc_rrange 0x10 0x0 0x3000 v2\n",
        diff::Check::Result,
        "EBUSY",
    );
}

/// `mas_empty_area_rev()` in an empty tree with a window smaller than the
/// size answers a range below `min` (6.12 and the fixed build: EINVAL).
#[test]
fn empty_area_rev_below_min() {
    bug(
        "config alloc\nempty_area_rev 0xffffffffffffb001 max 0x5000\n",
        diff::Check::Result,
        "Range(Err(EINVAL))",
    );
}
