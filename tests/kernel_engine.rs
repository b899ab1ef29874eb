//! The kernel engine (the real lib/maple_tree.c) beside the oracle and the
//! port: it agrees with both on generated programs, its build variants carry
//! our fixes, a bug planted in its C code is caught, and the Linux 6.12 bugs
//! this project found show in the exact build.
//!
//! Without a Linux source at build time these tests say so and pass, unless
//! `MAPLEFUZZ_REQUIRE_KERNEL` is set (CI sets it).

use maplefuzz::diff::{self, isolated, Check, Options};
use maplefuzz::driver::{exec_program, Target};
use maplefuzz::engine::kernel::variants;
use maplefuzz::engine::EngineSet;
use maplefuzz::ops::text::parse_program;
use maplefuzz::ops::{AnyProgram, Program};

mod common;
use common::kernel_available as available;

fn engines(kernel: &'static str, rust: bool) -> EngineSet {
    EngineSet::with_default_kernel(rust, Some(kernel))
}

fn run(set: &EngineSet, p: &Program) -> Result<diff::RunStats, Box<diff::Divergence>> {
    diff::run_with(p, &mut set.build(p.config), Options::default())
}

/// The compiled kernel's maple tree generation ("6.12", "6.18", "7.1").
fn generation() -> &'static str {
    variants().first().map_or("6.12", |v| v.generation)
}

/// Whether the port can run beside the kernel with every check: it is the
/// 6.12 generation, and another generation's node layouts and allocation
/// sequence (which node allocation a fault schedule fails) differ from it.
fn port_beside() -> bool {
    generation() == "6.12"
}

fn load(name: &str) -> Program {
    let path = format!("{}/tests/kernel_engine/{name}", env!("CARGO_MANIFEST_DIR"));
    parse_program(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

#[test]
fn the_variants_carry_the_fixes_and_the_planted_bug() {
    if !available() {
        return;
    }
    let vs = variants();
    let get = |n: &str| vs.iter().find(|v| v.name == n).unwrap();
    // Linux 6.12.117 takes every edit.
    assert!(get("exact").applied.is_empty());
    // The four fixes of the 6.12 findings, the two of the searches
    // resumed from a maple state (findings 10 and 11), and the two of RCU
    // readers (findings 12 and 13).
    assert_eq!(get("fixed").applied.len(), 8, "{:?}", get("fixed"));
    assert!(get("fixed")
        .applied
        .contains(&"fix-rcu-search-emptied-tree"));
    assert!(get("fixed").skipped.is_empty());
    assert!(get("stale-node-store")
        .applied
        .contains(&"plant-stale-node-store"));
}

/// Three engines on the same generated programs, every check on (the
/// structural check included): no divergence.
#[test]
fn three_engines_agree_on_generated_programs() {
    if !available() {
        return;
    }
    let set = engines("fixed", true);
    for target in Target::TREE {
        for i in 0..40 {
            let p = exec_program(target, 0x5eed, i).into_tree().unwrap();
            if let Err(d) = run(&set, &p) {
                panic!("{} exec {i}:\n{d}", target.name());
            }
        }
    }
}

/// The July 2022 node-store bug, planted in the C code at build time
/// (kernel/src/edits.rs), is caught in the kernel engine within a few
/// programs; the same programs are clean on the fixed build.
#[test]
fn a_bug_planted_in_the_c_code_is_caught() {
    if !available() {
        return;
    }
    let planted = engines("stale-node-store", true);
    let clean = engines("fixed", true);
    let mut found = None;
    for i in 0..50 {
        let p = exec_program(Target::TreeOps, 7, i).into_tree().unwrap();
        run(&clean, &p).unwrap_or_else(|d| panic!("fixed build diverged at exec {i}:\n{d}"));
        if let Err(d) = run(&planted, &p) {
            found = Some((i, d));
            break;
        }
    }
    let (i, d) = found.expect("the planted bug is found within 50 programs");
    assert!(i < 20, "found only at exec {i}");
    assert!(
        d.engine.contains("kernel"),
        "the kernel engine is the one blamed: {d}"
    );
    assert!(
        matches!(d.check, Check::Validate | Check::Structure),
        "stale slots past the data end are seen by validation or the layout: {d}"
    );
    // Against the oracle alone, the port's stricter validation over the
    // kernel's nodes sees it too.
    let alone = engines("stale-node-store", false);
    let p = exec_program(Target::TreeOps, 7, i).into_tree().unwrap();
    let d = run(&alone, &p).expect_err("caught without the port as well");
    assert_eq!(d.check, Check::Validate, "{d}");
}

/// Between full passes the kernel's nodes an op changed are checked after
/// that op: the shim names the nodes it saw change, and the kernel's own
/// per-node validators (`mt_validate()`'s) run on them and on the paths to
/// them. With no full pass before the end of the program, the planted
/// July 2022 bug is caught at the op that made the stale slots, by that
/// per-op check, at the step a run checking everything after every op
/// finds.
#[test]
fn the_nodes_a_kernel_op_changed_are_validated_after_it() {
    if !available() || generation() == "7.1" {
        // 7.1's node store is maple_copy's: stale-node-store is not
        // planted there (its own is stale-copy-tail).
        return;
    }
    let planted = engines("stale-node-store", false);
    let (p, every_op) = (0..50)
        .find_map(|i| {
            let p = exec_program(Target::TreeOps, 7, i).into_tree().unwrap();
            run(&planted, &p).err().map(|d| (p, d))
        })
        .expect("the planted bug is found within 50 programs");
    assert_eq!(every_op.check, Check::Validate, "{every_op}");
    let rare = Options {
        check_every: usize::MAX,
        full_every: usize::MAX,
        ..Options::default()
    };
    let d = diff::run_with(&p, &mut planted.build(p.config), rare).expect_err("caught");
    assert_eq!(
        (d.check, d.step),
        (Check::Validate, every_op.step),
        "per op: {d}\nevery op: {every_op}"
    );
    assert!(d.detail.contains("nodes the op changed"), "{d}");
    assert!(
        d.step + 1 < p.ops.len(),
        "caught before the last op's full pass"
    );
    // The same program on the fixed build is clean in both modes.
    let fixed = engines("fixed", false);
    diff::run_with(&p, &mut fixed.build(p.config), rare).unwrap();
    run(&fixed, &p).unwrap();
}

/// Linux 6.12 bug 3 (mas_insert() over [0, ULONG_MAX] replaces a one-leaf
/// tree) shows in the exact build and not in the fixed one.
#[test]
fn the_exact_build_inserts_over_a_single_leaf() {
    if !available() {
        return;
    }
    let p = parse_program("config none\nstore 0xfa 0xff v9\ninsert 0x0 max v1\n").unwrap();
    let d = run(&engines("exact", false), &p).expect_err("6.12 returns 0");
    assert_eq!((d.check, d.step), (Check::Result, 1), "{d}");
    run(&engines("fixed", false), &p).unwrap();
}

/// Linux 6.12 bug 4: destroying an RCU tree whose root has 16 children
/// frees a node twice. The kernel engine's allocator catches the double
/// free; the fixed build frees every node exactly once.
#[test]
fn the_exact_build_double_frees_on_rcu_destroy() {
    if !available() {
        return;
    }
    if generation() == "7.1" {
        // 7.1 splits differently: this program gives its root fewer than 16
        // children (docs/findings/rcu-free-walk.md names a 7.1 program).
        return;
    }
    let p = load("rcu_destroy_full_root.txt");
    let d = run(&engines("exact", false), &p).expect_err("6.12 double-frees");
    assert_eq!(d.check, Check::Crash, "{d}");
    assert!(d.detail.contains("double free"), "{d}");
    assert_eq!(d.op, maplefuzz::ops::TreeOp::Destroy.into());
    let stats = run(&engines("fixed", true), &p).unwrap();
    assert!(stats.ops > 100);
}

/// `config rcu`, then `n` stores of `[10 i, 10 i + 5]` in order (a NULL
/// gap after each), then `destroy`.
fn sequential_rcu_stores(n: u64) -> Program {
    let mut text = String::from("config rcu\n");
    for i in 0..n {
        text.push_str(&format!(
            "store {:#x} {:#x} v{}\n",
            i * 10,
            i * 10 + 5,
            i + 1
        ));
    }
    text.push_str("destroy\n");
    parse_program(&text).unwrap()
}

/// Runs `p` on `set` in a child process (the bug kills the process).
fn run_isolated(set: &EngineSet, p: &Program) -> Result<diff::RunStats, Box<diff::Divergence>> {
    isolated::run_isolated(&AnyProgram::Tree(p.clone()), set, isolated::DEFAULT_LIMIT)
}

/// Linux 6.12 bug 7 (docs/findings/rcu-free-walk.md): destroying an RCU
/// tree of four levels whose second-level node has 15 children kills the
/// process. mt_free_walk() takes the metadata word in that node's slot 15
/// (end 14: the value 0xe) for a 16th child and reads its type at 0xe + 36.
/// 3008 ordered stores make that shape, as in the kernel's own userspace
/// build; 3007 do not (7.1, which splits differently: 3300 and 3200).
/// The fixed build frees every node.
#[test]
fn the_exact_build_dies_in_the_rcu_free_walk() {
    if !available() {
        return;
    }
    let (dies, clean) = if generation() == "7.1" {
        (3300, 3200)
    } else {
        (3008, 3007)
    };
    let exact = engines("exact", false);
    let p = sequential_rcu_stores(dies);
    let d = run_isolated(&exact, &p).expect_err("6.12 dies of SIGSEGV");
    assert_eq!((d.check, d.step), (Check::Signal, dies as usize), "{d}");
    assert_eq!(d.op, maplefuzz::ops::TreeOp::Destroy.into());
    assert_eq!(d.engine, "kernel");
    let fatal = d.fatal.clone().unwrap();
    assert_eq!(fatal.signal, "SIGSEGV");
    assert!(
        d.detail.contains("fault address 0x32") && d.detail.contains("mt_free_walk"),
        "the metadata word 0xe read as a node, in the RCU free walk: {d}"
    );
    assert!(d.bug_signature().starts_with("fatal-SIGSEGV-"), "{d}");
    // Fewer stores: that node has 14 children and the walk ends well.
    run_isolated(&exact, &sequential_rcu_stores(clean)).unwrap();
    // The fixed build, with the port beside it (on 6.12), every check on.
    let stats = run(&engines("fixed", port_beside()), &p).unwrap();
    assert_eq!(stats.ops, dies as usize + 1);
}

/// Infinite fault schedules: where the kernel would retry a fruitless
/// refill for ever, the engine answers ENOMEM as the port does, leaking
/// nothing.
#[test]
fn fruitless_refills_end_with_enomem() {
    if !available() {
        return;
    }
    // An RCU tree, so that every store allocates, with room for splits.
    let mut text = String::from("config rcu\n");
    for i in 0..200u64 {
        text.push_str(&format!("store {:#x} {:#x} v{}\n", i * 8, i * 8 + 3, i + 1));
    }
    for s in ["every 2", "from 2", "every 3"] {
        let mut t = text.clone();
        t.push_str(&format!("fail_allocs {s}\n"));
        for i in 0..50u64 {
            t.push_str(&format!("store {:#x} {:#x} v7\n", i * 8 + 5, i * 8 + 5));
            t.push_str(&format!("erase {:#x}\n", i * 8));
        }
        let p = parse_program(&t).unwrap();
        // Another generation fails other allocations than the port under
        // the same schedule: there the kernel answers to the oracle alone.
        run(&engines("fixed", port_beside()), &p)
            .unwrap_or_else(|d| panic!("fail_allocs {s}:\n{d}"));
    }
}

#[cfg(feature = "mutants")]
#[test]
fn the_planted_stale_tail_stays_inside_a_full_node() {
    use maplefuzz::mutants::{self, Mutant};
    let p = load("stale_tail_last_slot.txt");
    // The port's mutant alone (no kernel needed).
    let rust_only = EngineSet::with_default_kernel(true, None);
    mutants::with(Some(Mutant::StaleNodeStore), || run(&rust_only, &p))
        .unwrap_or_else(|d| panic!("the mutant broke out of the node: {d}"));
    if available() {
        // The C edit, and both beside each other node by node.
        mutants::with(Some(Mutant::StaleNodeStore), || {
            run(&engines("stale-node-store", true), &p)
        })
        .unwrap_or_else(|d| panic!("the planted C edit broke out of the node: {d}"));
    }
}
