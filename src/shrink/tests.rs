//! The shrinker on the planted `stale-node-store` bug and on clean input.

use super::*;
use crate::engine::EngineSet;
use crate::mutants::{self, Mutant};
use crate::ops::text::{format_program, parse_program};

const STALE: Option<Mutant> = Some(Mutant::StaleNodeStore);

fn program(text: &str) -> Program {
    parse_program(text).unwrap()
}

#[test]
fn a_clean_program_is_refused() {
    let p = program("store 0x10 max v2\nstore 0x5 max v3\n");
    let e = shrink(&p, &EngineSet::from_env(), &Options::default()).unwrap_err();
    assert!(e.to_string().contains("does not diverge"), "{e}");
}

#[test]
fn the_planted_bug_shrinks_to_two_ops_and_keeps_its_signature() {
    // Ten irrelevant ops around the two that matter.
    let p = program(
        "store 0x100 0x1ff v9\nload 0x7\nstore 0x300 0x3ff v8\nfind 0x0 max\n\
         store 0x10 max v2\nwalk 0x20\nmas_next max\nerase 0x3\nload 0x11\n\
         store 0x5 max v3\nload 0x0\nstore 0x7 0x8 v1\n",
    );
    let s = mutants::with(STALE, || {
        shrink(&p, &EngineSet::from_env(), &Options::default())
    })
    .unwrap();
    assert!(s.complete);
    assert_eq!(s.divergence.check, Check::Validate);
    assert_eq!(s.divergence.op.kind(), "store");
    assert_eq!(s.divergence.bug_signature(), "corrupt-node_store-rust");
    assert_eq!(s.program.ops.len(), 2, "{}", format_program(&s.program));
    // The result still fails with the mutant and runs clean without it.
    assert!(mutants::with(STALE, || run_fast(&s.program, &EngineSet::from_env())).is_err());
    assert!(mutants::with(None, || run_fast(&s.program, &EngineSet::from_env())).is_ok());
    // Same input, same output, same number of runs.
    let again = mutants::with(STALE, || {
        shrink(&p, &EngineSet::from_env(), &Options::default())
    })
    .unwrap();
    assert_eq!(again.program, s.program);
    assert_eq!(again.runs, s.runs);
}

#[test]
fn the_run_limit_cuts_the_search_short() {
    let p =
        program("store 0x100 0x1ff v9\nload 0x7\nstore 0x10 max v2\nload 0x11\nstore 0x5 max v3\n");
    let opts = Options {
        max_runs: 3,
        timeout: None,
        ..Options::default()
    };
    let s = mutants::with(STALE, || shrink(&p, &EngineSet::from_env(), &opts)).unwrap();
    assert!(!s.complete);
    assert_eq!(s.runs, 3);
    // Whatever was kept still fails the same way.
    assert!(Goal::of(&s.divergence).matches(&s.divergence));
    assert!(mutants::with(STALE, || run_fast(&s.program, &EngineSet::from_env())).is_err());
}

#[test]
fn a_candidate_failing_differently_is_not_kept() {
    // A run function that blames a different op kind unless the program
    // has exactly its original length: nothing can be removed.
    let p = program("store 0x10 max v2\nload 0x0\nstore 0x5 max v3\n");
    let mut runs = 0;
    let mut run = |q: &Program| {
        runs += 1;
        let r = mutants::with(STALE, || run_fast(q, &EngineSet::from_env()));
        match r {
            Err(mut d) if q.ops.len() != 3 => {
                d.op = crate::ops::TreeOp::Pause.into();
                Err(d)
            }
            other => other,
        }
    };
    let s = shrink_with(&p, &Options::default(), &mut run).unwrap();
    assert_eq!(s.program.ops.len(), 3);
    assert!(s.runs > 1);
}

#[test]
fn writers_describe_the_same_program() {
    let p = program("store 0x10 max v2\nload 0x3\nstore 0x5 max v3\n");
    let s = mutants::with(STALE, || {
        shrink(&p, &EngineSet::from_env(), &Options::default())
    })
    .unwrap();
    let r = Reproducer {
        target: "tree_ops",
        source: "x.txt",
        shrunk: &s,
    };
    let text = text::regression(&r, "corpus/regressions/tree_ops/x.txt");
    assert_eq!(parse_program(&text).unwrap(), s.program);
    assert!(text.starts_with("# maplefuzz corrupt-node_store-rust: the validate check"));
    let rs = rust::test_fn(&r);
    assert!(
        rs.contains("fn maplefuzz_corrupt_node_store_rust()"),
        "{rs}"
    );
    for op in &s.program.ops {
        assert!(rs.contains(&rust::op_literal(op)), "{rs}");
    }
    let events = mutants::with(STALE, || {
        let mut ev = Vec::new();
        let mut engines = EngineSet::from_env().build(s.program.config);
        let _ = diff::run_observed(
            &s.program,
            &mut engines,
            diff::Options::default(),
            &mut |e| ev.push(e),
        );
        ev
    });
    let c = c::check_fn(&r, &events);
    assert!(
        c.contains("static noinline void __init check_maplefuzz_corrupt_node_store_rust(struct maple_tree *mt)"),
        "{c}"
    );
    assert!(c.contains("mt_init_flags(mt, 0);"), "{c}");
    assert!(c.contains("mt_validate(mt);"), "{c}");
    assert!(c.contains("mtree_destroy(mt);"), "{c}");
}
