//! Cyclic allocation (`mtree_alloc_cyclic()`, the `alloc_cyclic` op) on
//! every engine of the build: the kernel's own cases (`alloc_cyclic_testing`
//! of Linux 6.12's lib/test_maple_tree.c, and the exhausted-window case
//! the 7.1 suite added with the `mas_reset()` fix) as programs whose
//! answers are checked on the oracle, the port and each kernel engine
//! (6.12 and later answer them; 6.1, which has no such call, answers
//! `Unsupported` beside its own oracle); and the planted bug of the port's
//! cyclic allocation (mutant `cyclic-no-reset`) caught by the executor.
//!
//! The first part of `alloc_cyclic_testing` (one maple state reused by 100
//! `mas_alloc_cyclic()` calls) is not an op: the port's unit test
//! `kernel_one_state_hundred_ids` (tree/src/gap.rs) runs it.

mod common;

use maplefuzz::diff::{self, Check, Options};
use maplefuzz::engine::{Cyclic, EngineSet, Outcome, TreeEngine};
use maplefuzz::ops::text::format_program;
use maplefuzz::ops::{Program, TreeConfig, TreeOp};
use maplefuzz::tree::Errno;

const MAX: u64 = u64::MAX;

fn alloc_tree() -> TreeConfig {
    TreeConfig {
        alloc: true,
        rcu: false,
    }
}

fn cyclic(min: u64, max: u64, next: u64) -> TreeOp {
    TreeOp::AllocCyclic {
        min,
        max,
        next,
        value: 1,
    }
}

fn ok(id: u64, wrapped: bool, next: u64) -> Outcome {
    Outcome::Cyclic(Ok(Cyclic { id, wrapped, next }))
}

/// Runs `p` through the executor on every engine of the build (every check
/// on) and returns, per step, each engine's name and outcome.
fn run_all(p: &Program) -> Vec<Vec<(&'static str, Outcome)>> {
    let set = EngineSet::from_env();
    let mut engines = set.build(p.config);
    let names: Vec<&'static str> = engines.iter().map(|e| e.name()).collect();
    let mut steps = vec![Vec::new(); p.ops.len()];
    let r = diff::run_observed(p, &mut engines, Options::default(), &mut |e| {
        if let diff::Event::Op { step, outcomes } = e {
            steps[step] = names.iter().copied().zip(outcomes).collect();
        }
    });
    if let Err(d) = r {
        panic!("{}\n{d}", format_program(p));
    }
    steps
}

/// Whether the engine answers as a kernel without `mtree_alloc_cyclic()`.
fn lacks_cyclic(name: &str) -> bool {
    name == "oracle@6.1" || name == "kernel@6.1" || name.starts_with("kernel@6.1:")
}

/// Checks step `step`'s answer on every engine: `want` on the engines of
/// 6.12 and later (the oracle, the port, kernel@6.12, 6.18, 7.1),
/// `Unsupported` on the 6.1 ones. Returns how many engines answered
/// `want`.
fn expect(steps: &[Vec<(&'static str, Outcome)>], step: usize, want: &Outcome) -> usize {
    let mut n = 0;
    for (name, got) in &steps[step] {
        if lacks_cyclic(name) {
            assert_eq!(got, &Outcome::Unsupported, "step {step} on {name}");
        } else {
            assert_eq!(got, want, "step {step} on {name}");
            n += 1;
        }
    }
    n
}

/// The engines that must have answered every checked step: the oracle
/// and the port, and the kernel engine where it is built.
fn engines_expected() -> usize {
    // Each generation of 6.12 and later runs against its own oracle.
    let _ = common::kernels_from_6_12();
    EngineSet::from_env()
        .build(alloc_tree())
        .iter()
        .filter(|e| !lacks_cyclic(e.name()))
        .count()
}

/// `alloc_cyclic_testing()`, second part: 100 `mtree_alloc_cyclic()` calls
/// over `[2, ULONG_MAX]` from `next = 0`; the i-th id is `i + 2`, `next`
/// becomes `i + 3`, and every id loads back.
#[test]
fn kernel_hundred_ids_in_turn() {
    let mut ops = Vec::new();
    let mut next = 0;
    for i in 0..100u64 {
        ops.push(cyclic(2, MAX, next));
        ops.push(TreeOp::Load { index: i + 2 });
        next = i + 3;
    }
    let p = Program {
        config: alloc_tree(),
        ops,
    };
    let steps = run_all(&p);
    let want = engines_expected();
    for i in 0..100u64 {
        let s = 2 * i as usize;
        assert_eq!(expect(&steps, s, &ok(i + 2, false, i + 3)), want);
        for (name, got) in &steps[s + 1] {
            let loaded = if lacks_cyclic(name) { None } else { Some(1) };
            assert_eq!(got, &Outcome::Entry(loaded), "load {} on {name}", i + 2);
        }
    }
}

/// The overflow test: from `next = ULONG_MAX - 1` the ids `ULONG_MAX - 1`
/// and `ULONG_MAX` (return 0 both times, `next` wrapping to 0), then the
/// third call returns 1: the tree remembered the wrap. A fourth does not
/// report it again.
#[test]
fn kernel_overflow_reports_the_wrap_once() {
    let p = Program {
        config: alloc_tree(),
        ops: vec![
            cyclic(2, MAX, MAX - 1),
            cyclic(2, MAX, MAX),
            cyclic(2, MAX, 0),
            cyclic(2, MAX, 3),
        ],
    };
    let steps = run_all(&p);
    let want = engines_expected();
    assert_eq!(expect(&steps, 0, &ok(MAX - 1, false, MAX)), want);
    assert_eq!(expect(&steps, 1, &ok(MAX, false, 0)), want);
    assert_eq!(expect(&steps, 2, &ok(2, true, 3)), want);
    assert_eq!(expect(&steps, 3, &ok(3, false, 4)), want);
}

/// The 7.1 suite's case for the `mas_reset()` fix: 1023 ids fill
/// `[2, 1024]`; with 123 erased the next call (from 1025, past the window)
/// wraps to it, then 100 likewise; a full window is `EBUSY`. The 6.12 code
/// under test already carries the fix.
#[test]
fn kernel_exhausted_window_wraps_to_the_freed_id() {
    let mut ops = Vec::new();
    for i in 0..1023u64 {
        ops.push(cyclic(2, 1024, i + 2));
    }
    ops.push(TreeOp::Erase { index: 123 });
    ops.push(cyclic(2, 1024, 1025));
    ops.push(TreeOp::Load { index: 123 });
    ops.push(TreeOp::Erase { index: 100 });
    ops.push(cyclic(2, 1024, 124));
    ops.push(cyclic(2, 1024, 101));
    let p = Program {
        config: alloc_tree(),
        ops,
    };
    let steps = run_all(&p);
    let want = engines_expected();
    for i in 0..1023u64 {
        assert_eq!(expect(&steps, i as usize, &ok(i + 2, false, i + 3)), want);
    }
    assert_eq!(expect(&steps, 1024, &ok(123, true, 124)), want);
    // From 124 the window above is full: the search wraps to 100.
    assert_eq!(expect(&steps, 1027, &ok(100, true, 101)), want);
    assert_eq!(
        expect(&steps, 1028, &Outcome::Cyclic(Err(Errno::EBUSY))),
        want
    );
}

/// Argument errors and the remembered wrap across `destroy`: `EINVAL` on a
/// tree without `MT_FLAGS_ALLOC_RANGE`, and for `min > max`; the wrap flag
/// is an attribute `mtree_destroy()` keeps.
#[test]
fn errors_and_the_wrap_across_destroy() {
    let plain = Program {
        config: TreeConfig::default(),
        ops: vec![cyclic(0, 10, 0)],
    };
    let steps = run_all(&plain);
    assert_eq!(
        expect(&steps, 0, &Outcome::Cyclic(Err(Errno::EINVAL))),
        engines_expected()
    );
    let p = Program {
        config: alloc_tree(),
        ops: vec![
            cyclic(10, 5, 0),
            cyclic(10, 5, 20),
            cyclic(0, MAX, MAX),
            TreeOp::Destroy,
            cyclic(0, 5, 10),
            cyclic(0, 5, 1),
            cyclic(0, 5, 2),
        ],
    };
    let steps = run_all(&p);
    let want = engines_expected();
    for s in [0, 1] {
        assert_eq!(
            expect(&steps, s, &Outcome::Cyclic(Err(Errno::EINVAL))),
            want
        );
    }
    assert_eq!(expect(&steps, 2, &ok(MAX, false, 0)), want);
    // Wraps by itself (from 10, past the window): reports 1 and keeps the
    // remembered wrap, which the next plain allocation reports.
    assert_eq!(expect(&steps, 4, &ok(0, true, 1)), want);
    assert_eq!(expect(&steps, 5, &ok(1, true, 2)), want);
    assert_eq!(expect(&steps, 6, &ok(2, false, 3)), want);
}

/// The planted bug: with mutant `cyclic-no-reset` the port's wrapped search
/// starts from the state the failed first search left and finds nothing;
/// the executor reports a **result** divergence at that step, naming the
/// port. Without the mutant the same program is clean.
#[cfg(feature = "mutants")]
#[test]
fn a_missing_reset_before_the_wrapped_search_is_caught() {
    use maplefuzz::mutants::{self, Mutant};
    let mut ops: Vec<TreeOp> = (0..200).map(|i| cyclic(0, 199, i)).collect();
    ops.push(TreeOp::Erase { index: 7 });
    ops.push(cyclic(0, 199, 150));
    let p = Program {
        config: alloc_tree(),
        ops,
    };
    let set = EngineSet::from_env();
    let steps = run_all(&p);
    assert_eq!(
        expect(&steps, 201, &ok(7, true, 8)),
        engines_expected(),
        "clean without the mutant"
    );
    let d = mutants::with(Some(Mutant::CyclicNoReset), || diff::run(&p, &set))
        .expect_err("the planted bug is caught");
    assert_eq!(
        (d.step, d.check, d.engine.as_str()),
        (201, Check::Result, "rust")
    );
    assert!(d.detail.contains("EBUSY"), "{}", d.detail);
}

/// Generated `tree_alloc` programs reach the op, its wraps and its errors.
#[test]
fn tree_alloc_programs_reach_every_answer() {
    use maplefuzz::driver::{exec_program, Target};
    let (mut plain, mut wrapped, mut busy, mut invalid) = (0, 0, 0, 0);
    let set = EngineSet::from_env();
    for i in 0..40 {
        let p = exec_program(Target::TreeAlloc, 17, i).into_tree().unwrap();
        let mut engines: Vec<Box<dyn TreeEngine>> = set.build(p.config);
        let r = diff::run_observed(&p, &mut engines, Options::default(), &mut |e| {
            if let diff::Event::Op { step, outcomes } = e {
                if matches!(p.ops[step], TreeOp::AllocCyclic { .. }) {
                    match &outcomes[0] {
                        Outcome::Cyclic(Ok(c)) if c.wrapped => wrapped += 1,
                        Outcome::Cyclic(Ok(_)) => plain += 1,
                        Outcome::Cyclic(Err(Errno::EBUSY)) => busy += 1,
                        Outcome::Cyclic(Err(Errno::EINVAL)) => invalid += 1,
                        _ => {}
                    }
                }
            }
        });
        assert!(r.is_ok(), "{}", r.unwrap_err());
    }
    eprintln!("alloc_cyclic: {plain} plain, {wrapped} wrapped, {busy} EBUSY, {invalid} EINVAL");
    assert!(plain > 100 && wrapped > 5 && busy > 5 && invalid > 0);
}

/// 6.18 and 7.1 rewrote `mas_alloc_cyclic()`: they clear the remembered
/// wrap right after the first search, before the insert. When that insert
/// fails with `ENOMEM` the wrap report is lost, and the next allocation
/// answers 0 where 6.12 and the documentation answer 1. Shown on each
/// such tree of the build as it is (`exact`: a **result** divergence at
/// the last step), fixed in `fixed` (`fix-cyclic-wrap-enomem`: clear it
/// once the insert succeeded), and absent from 6.12 and the port. The
/// finding, confirmed in the kernel's own userspace build, with the patch:
/// docs/findings/cyclic-wrap-enomem.md.
#[test]
fn a_failed_insert_keeps_the_wrap_report_only_before_6_18() {
    use maplefuzz::engine::{KernelEngine, OracleEngine, RustEngine};
    use maplefuzz::ops::FaultSchedule;
    // The id ULONG_MAX sets the flag; destroy keeps it; on the empty tree
    // the next insert needs a node, which fails.
    let p = Program {
        config: alloc_tree(),
        ops: vec![
            cyclic(0, MAX, MAX),
            TreeOp::Destroy,
            TreeOp::FailAllocs {
                schedule: FaultSchedule::From(1),
            },
            cyclic(0, MAX, 5),
            TreeOp::FailAllocs {
                schedule: FaultSchedule::Never,
            },
            cyclic(0, MAX, 5),
        ],
    };
    let with = |e: Box<dyn TreeEngine>| {
        let mut v: Vec<Box<dyn TreeEngine>> = vec![Box::new(OracleEngine::new(p.config)), e];
        diff::run_with(&p, &mut v, Options::default())
    };
    // The oracle's answers, and the port's.
    let steps = run_all(&Program {
        config: p.config,
        ops: p.ops.clone(),
    });
    // Under the failure every engine answers ENOMEM (the oracle's outcome
    // is what the op alone would do: the executor's atomicity check).
    for (name, got) in &steps[3] {
        if !lacks_cyclic(name) && !name.starts_with("oracle") {
            assert_eq!(got, &Outcome::Cyclic(Err(Errno::ENOMEM)), "{name}");
        }
    }
    assert_eq!(expect(&steps, 5, &ok(5, true, 6)), engines_expected());
    assert!(with(Box::new(RustEngine::new(p.config))).is_ok());
    let mut seen = 0;
    for tree in maplefuzz_kernel::trees() {
        if tree == "6.1" {
            continue;
        }
        for variant in ["exact", "fixed"] {
            let Some(v) = maplefuzz_kernel::variant_of(tree, variant) else {
                continue;
            };
            seen += 1;
            let r = with(Box::new(KernelEngine::new(&v, p.config)));
            let sheaves = tree != "6.12";
            if sheaves && variant == "exact" {
                let d = r.expect_err("the wrap report is lost");
                assert_eq!((d.step, d.check), (5, Check::Result), "kernel@{tree}: {d}");
                assert!(d.detail.contains("wrapped: false"), "{}", d.detail);
            } else {
                assert!(r.is_ok(), "kernel@{tree}:{variant}: {}", r.unwrap_err());
            }
        }
    }
    if seen == 0 {
        let _ = common::kernel_available();
    }
}
