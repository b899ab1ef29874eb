//! RCU mode as readers see it: the copy-on-write check after every write to
//! an RCU-mode tree (`Check::Rcu`), on the port and on every kernel
//! generation this build has; the writes the kernel allows in place pass,
//! planted disallowed ones trip it; and the port's RCU destroy, now the
//! kernel's two walks around a grace period, shares 6.12's bug.

use maplefuzz::diff::{self, Check, Divergence, Options, RunStats};
use maplefuzz::engine::kernel::variants;
use maplefuzz::engine::{EngineSet, OracleEngine, RustEngine, TreeEngine};
use maplefuzz::ops::text::parse_program;
use maplefuzz::ops::Program;
use maplefuzz::tree::mutants::{self, Mutant};
use maplefuzz::tree::StoreType;

/// `config FLAGS`, forty stores of `[10 i, 10 i + 5]`, then `tail`.
fn program(flags: &str, tail: &str) -> Program {
    let mut text = format!("config {flags}\n");
    for i in 0..40u64 {
        text.push_str(&format!(
            "store {:#x} {:#x} v{}\n",
            10 * i,
            10 * i + 5,
            i + 1
        ));
    }
    text.push_str(tail);
    parse_program(&text).unwrap()
}

fn run(spec: &str, p: &Program) -> Result<RunStats, Box<Divergence>> {
    let set = EngineSet::parse(spec).unwrap();
    diff::run_with(p, &mut set.build(p.config), Options::default())
}

/// The engine sets to check a write on: the port, and each kernel
/// generation this build has against its own oracle.
fn sets() -> Vec<String> {
    let mut out = vec!["oracle,rust".to_string()];
    let mut trees: Vec<&str> = variants().iter().map(|v| v.tree).collect();
    trees.dedup();
    for t in trees {
        out.push(format!("oracle,kernel@{t}"));
    }
    out
}

/// Runs `p` on every set; each must be clean, and the port must have used
/// `ty` (the write the test is about).
fn passes_everywhere(p: &Program, ty: StoreType) {
    for spec in sets() {
        let stats = run(&spec, p).unwrap_or_else(|d| panic!("{spec}: {d}"));
        if spec == "oracle,rust" {
            assert!(stats.store_stats.get(ty) > 0, "{spec}: no {ty:?}");
        }
    }
}

#[test]
fn an_exact_fit_rewrites_one_slot_in_place() {
    passes_everywhere(
        &program("rcu", "store 0x14 0x19 v99\n"),
        StoreType::ExactFit,
    );
}

#[test]
fn a_two_slot_slot_store_moves_one_pivot_in_place() {
    // [30, 37] over all of [30, 35] and part of the NULL [36, 39].
    passes_everywhere(
        &program("rcu", "store 0x1e 0x25 v98\n"),
        StoreType::SlotStore,
    );
}

#[test]
fn a_node_store_swaps_one_child_pointer() {
    // Three slots to three, not a slot store in RCU mode: a new leaf.
    passes_everywhere(
        &program("rcu", "store 0x29 0x34 v97\n"),
        StoreType::NodeStore,
    );
}

#[test]
fn a_split_adopts_the_reused_children() {
    let mut tail = String::new();
    for i in 0..12u64 {
        tail.push_str(&format!(
            "store {:#x} {:#x} v{}\n",
            500 + 2 * i,
            500 + 2 * i,
            200 + i
        ));
    }
    passes_everywhere(&program("rcu", &tail), StoreType::SplitStore);
}

#[test]
fn a_spanning_store_replaces_whole_subtrees() {
    passes_everywhere(
        &program("rcu", "store 0x64 0x1f4 null\n"),
        StoreType::SpanningStore,
    );
}

#[test]
fn gaps_change_in_place_in_an_allocation_tree() {
    // An exact fit that fills a NULL range lowers the gaps above it.
    passes_everywhere(
        &program(
            "alloc rcu",
            "store 0x114 0x117 v96\nstore 0x114 0x117 null\n",
        ),
        StoreType::ExactFit,
    );
}

#[test]
fn a_destroy_marks_every_node_dead_before_the_grace_period() {
    for spec in sets() {
        run(&spec, &program("rcu", "destroy\n")).unwrap_or_else(|d| panic!("{spec}: {d}"));
    }
}

/// Appends: from 6.12 on, the fourth of the ordered stores is the first to
/// append to the root leaf (before it, the leaf is below minimum and
/// node-stored); 6.1's append only splits the last range in two, as the
/// final store does.
fn append() -> Program {
    program("rcu", "store 0x1f4 max v95\n")
}

#[test]
fn an_append_in_place_trips_the_check_in_the_port() {
    let p = append();
    run("oracle,rust", &p).unwrap();
    mutants::select(Some(Mutant::RcuAppend));
    let d = run("oracle,rust", &p).expect_err("an append in place under readers");
    mutants::select(None);
    assert_eq!(
        (d.check, d.engine.as_str(), d.step),
        (Check::Rcu, "rust", 3),
        "{d}"
    );
    assert!(d.detail.contains("changed in place under readers"), "{d}");
}

#[test]
fn an_append_in_place_trips_the_check_in_every_kernel() {
    let p = append();
    let mut trees: Vec<&str> = variants().iter().map(|v| v.tree).collect();
    trees.dedup();
    for t in trees {
        let planted = format!("oracle,kernel@{t}:rcu-append");
        if EngineSet::parse(&planted).is_err() {
            continue;
        }
        let d = run(&planted, &p).expect_err(&format!("{t}: an append in place under readers"));
        assert_eq!(d.check, Check::Rcu, "{t}: {d}");
        assert!(d.engine.starts_with("kernel"), "{d}");
        run(&format!("oracle,kernel@{t}"), &p).unwrap();
    }
}

#[test]
fn a_free_before_the_grace_period_trips_the_check() {
    let p = program("rcu", "store 0x29 0x34 v97\n");
    mutants::select(Some(Mutant::RcuFreeNow));
    let d = run("oracle,rust", &p).expect_err("a node freed under readers");
    mutants::select(None);
    assert_eq!(d.check, Check::Rcu, "{d}");
    assert!(d.detail.contains("freed before a grace period"), "{d}");
}

#[test]
fn unmarked_dead_leaves_trip_the_check() {
    let p = program("rcu", "destroy\n");
    mutants::select(Some(Mutant::RcuDeadLeaves));
    let d = run("oracle,rust", &p).expect_err("dead leaves left unmarked");
    mutants::select(None);
    assert_eq!(d.check, Check::Rcu, "{d}");
    assert!(d.detail.contains("without being marked dead"), "{d}");
}

/// Finding 4 in the port: the exact port's RCU destroy of a root with 16
/// children frees a node twice after the grace period, as every kernel
/// generation's `exact` build does (tests/kernel_engine.rs); with the fix
/// it frees every node.
#[test]
fn the_exact_port_double_frees_on_rcu_destroy() {
    let mut text = String::from("config rcu\n");
    for i in 0..120u64 {
        text.push_str(&format!(
            "store {:#x} {:#x} v{}\n",
            10 * i,
            10 * i + 5,
            i + 1
        ));
    }
    text.push_str("destroy\n");
    let p = parse_program(&text).unwrap();
    let exact: Vec<Box<dyn TreeEngine>> = vec![
        Box::new(OracleEngine::new(p.config)),
        Box::new(RustEngine::exact(p.config)),
    ];
    let d = diff::run_with(&p, &mut { exact }, Options::default()).expect_err("6.12's bug");
    assert_eq!((d.check, d.step), (Check::Crash, 120), "{d}");
    assert!(
        d.detail.contains("double free") || d.detail.contains("no allocated node"),
        "{d}"
    );
    run("oracle,rust", &p).unwrap();
}
