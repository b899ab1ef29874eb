//! Every check of the executor, shown to fire: an engine wrapper with a
//! planted defect runs beside the oracle and the report must name the right
//! check, step and engine.

use super::*;
use crate::engine::EngineSet;
use crate::engine::{Inspect, OracleEngine, RustEngine};
use crate::ops::text::parse_program;
use crate::ops::TreeConfig;

/// What the wrapper breaks, after the op with index `at`.
#[derive(Clone, Copy)]
enum Defect {
    /// Report a wrong result for a load.
    WrongResult,
    /// Silently lose an entry (erase it behind the executor's back).
    DropEntry,
    /// Leave a non-NULL slot past the end of the root leaf's data.
    StaleSlot,
    /// Allocate a node and lose it.
    LeakNode,
    /// Panic.
    Crash,
    /// Claim an injected allocation failure (ENOMEM) for a store that in
    /// fact took effect.
    HalfFailed,
    /// Allocate a node and free it again during the op (no trace but the
    /// count of allocations).
    WastedNode,
    /// Fail the op cleanly with ENOMEM under a fault schedule, leaving the
    /// tree as it was (as a kernel of another generation may, where its
    /// n-th allocation is another allocation).
    CleanFailure,
    /// The same, and then a redo of the op without faults that does
    /// nothing either (a retry path that is broken).
    CleanFailureBadRedo,
    /// Run short of preallocated nodes in the store the preallocation was
    /// made for (as an under-counting preallocation rule would).
    PreallocShort,
    /// Rebuild the tree with the same entries stored in reverse order: the
    /// same contents in a valid tree, with another node layout.
    Relayout,
    /// Stop the run as a caller error where the other engines go on (as a
    /// port that ran out of reserved nodes too early would).
    SpuriousStop,
    /// Answer a gap search resumed from the cursor with `EBUSY` where it
    /// found a window (an answer the oracle admits: the resumed start
    /// follows slot offsets it has not).
    SearchElsewhere,
}

struct Broken {
    inner: RustEngine,
    defect: Defect,
    at: usize,
    step: usize,
    fake_failures: u64,
    generation: &'static str,
    rule: Option<crate::engine::PreallocRule>,
    /// Whether it reports the nodes each op wrote (`validate_written`).
    report_written: bool,
}

impl Broken {
    /// The port, broken by `defect` at step `at`.
    fn new(defect: Defect, at: usize) -> Broken {
        Broken {
            inner: RustEngine::new(TreeConfig::default()),
            defect,
            at,
            step: 0,
            fake_failures: 0,
            generation: crate::engine::PORT_GENERATION,
            rule: Some(crate::engine::PreallocRule::StoreType),
            report_written: true,
        }
    }

    /// The same, claiming its preallocations follow `rule`.
    fn with_rule(self, rule: crate::engine::PreallocRule) -> Broken {
        Broken {
            rule: Some(rule),
            ..self
        }
    }

    /// The same, claiming to run another generation's code.
    fn of_generation(self, generation: &'static str) -> Broken {
        Broken { generation, ..self }
    }

    /// The same, on an allocation tree.
    fn on_alloc_tree(self) -> Broken {
        Broken {
            inner: RustEngine::new(alloc_tree()),
            ..self
        }
    }
}

fn alloc_tree() -> TreeConfig {
    TreeConfig {
        alloc: true,
        rcu: false,
    }
}

impl TreeEngine for Broken {
    fn name(&self) -> &'static str {
        "broken"
    }

    fn generation(&self) -> Option<&'static str> {
        Some(self.generation)
    }

    fn prealloc_rule(&self) -> Option<crate::engine::PreallocRule> {
        self.rule
    }

    fn apply(&mut self, op: &TreeOp) -> Outcome {
        let step = self.step;
        // Implicit pauses are not program steps.
        if !matches!(op, TreeOp::Pause) {
            self.step += 1;
        }
        if step == self.at
            && matches!(
                self.defect,
                Defect::CleanFailure | Defect::CleanFailureBadRedo
            )
        {
            self.fake_failures += 1;
            return Outcome::Status(Err(crate::tree::Errno::ENOMEM));
        }
        if step == self.at + 1 && matches!(self.defect, Defect::CleanFailureBadRedo) {
            // The redo: answers success, changes nothing.
            return Outcome::Status(Ok(()));
        }
        let out = self.inner.apply(op);
        if step != self.at || matches!(op, TreeOp::Pause) {
            return out;
        }
        match self.defect {
            Defect::WrongResult => match out {
                Outcome::Entry(Some(t)) => Outcome::Entry(Some(t + 1)),
                other => other,
            },
            Defect::DropEntry => {
                let first = self.inner.entries()[0].0;
                self.inner.tree_mut().erase(first);
                out
            }
            Defect::StaleSlot => {
                assert!(self.inner.tree_mut().plant_stale_slot(0x4242 << 1 | 1));
                out
            }
            Defect::WastedNode => {
                assert!(self.inner.tree_mut().plant_wasted_node());
                out
            }
            Defect::LeakNode => {
                assert!(self.inner.tree_mut().plant_leaked_node());
                out
            }
            Defect::Crash => panic!("planted crash"),
            Defect::SpuriousStop => Outcome::CallerError("planted: out of reserved nodes".into()),
            Defect::SearchElsewhere => match out {
                Outcome::Range(Ok(_)) => Outcome::Range(Err(crate::tree::Errno::EBUSY)),
                other => other,
            },
            Defect::PreallocShort => std::panic::panic_any(crate::tree::PreallocViolation(
                "planted: the preallocated store needed one more node".to_string(),
            )),
            Defect::CleanFailure | Defect::CleanFailureBadRedo => {
                unreachable!("handled before the op")
            }
            Defect::HalfFailed => {
                self.fake_failures += 1;
                Outcome::Status(Err(crate::tree::Errno::ENOMEM))
            }
            Defect::Relayout => {
                let entries = self.inner.entries();
                self.inner = RustEngine::new(TreeConfig::default());
                for (a, b, v) in entries.into_iter().rev() {
                    self.inner.apply(&TreeOp::Store {
                        first: a,
                        last: b,
                        value: Some(v),
                    });
                }
                out
            }
        }
    }

    fn entries(&self) -> Vec<(u64, u64, u64)> {
        self.inner.entries()
    }

    fn inspect(&self) -> Option<&dyn Inspect> {
        Some(self)
    }
}

impl Inspect for Broken {
    fn validate(&self) -> Result<(), String> {
        self.inner.validate()
    }
    fn validate_written(&self, range: Option<(u64, u64)>) -> Result<(), String> {
        if !self.report_written {
            return Ok(());
        }
        self.inner.validate_written(range)
    }
    fn node_traffic(&self) -> Option<(u64, u64)> {
        self.inner.node_traffic()
    }
    fn accounting(&self) -> crate::engine::NodeAccounting {
        self.inner.accounting()
    }
    fn store_stats(&self) -> crate::tree::StoreStats {
        self.inner.store_stats()
    }
    fn path_stats(&self) -> crate::tree::PathStats {
        self.inner.path_stats()
    }
    fn dump(&self) -> String {
        Inspect::dump(&self.inner)
    }
    fn failed_allocs(&self) -> u64 {
        self.inner.failed_allocs() + self.fake_failures
    }
    fn alloc_attempts(&self) -> u64 {
        self.inner.alloc_attempts()
    }
    fn with_nodes(&self, f: &mut dyn FnMut(&crate::tree::MapleTree)) -> bool {
        self.inner.with_nodes(f)
    }
    fn held_at_prealloc(&self) -> Option<u64> {
        self.inner.held_at_prealloc()
    }
}

fn program() -> Program {
    parse_program(
        "store 0x10 0x1f v1\n\
         store 0x30 0x3f v2\n\
         load 0x35\n\
         store 0x50 0x5f v3\n\
         load 0x55\n",
    )
    .unwrap()
}

fn run_broken(defect: Defect, at: usize) -> Box<Divergence> {
    run_broken_program(defect, at, program())
}

fn run_broken_program(defect: Defect, at: usize, p: Program) -> Box<Divergence> {
    let mut engines: Vec<Box<dyn TreeEngine>> = vec![
        Box::new(OracleEngine::new(TreeConfig::default())),
        Box::new(Broken::new(defect, at)),
    ];
    run_with(&p, &mut engines, Options::default()).expect_err("the planted defect must be caught")
}

/// A caller error only one engine with nodes reports is a divergence (the
/// stop would hide it); one that every engine reports stops the run.
#[test]
fn engines_with_nodes_must_agree_on_a_caller_error() {
    let broken = Broken::new(Defect::SpuriousStop, 3);
    let mut engines: Vec<Box<dyn TreeEngine>> = vec![
        Box::new(OracleEngine::new(TreeConfig::default())),
        Box::new(broken),
        Box::new(RustEngine::new(TreeConfig::default())),
    ];
    let d = run_with(&program(), &mut engines, Options::default()).expect_err("caught");
    assert_eq!(
        (d.check, d.step, d.engine.as_str()),
        (Check::Result, 3, "broken")
    );
    assert!(
        d.detail.contains("disagree on a caller error"),
        "{}",
        d.detail
    );
    // With only one engine with nodes there is nothing to disagree with:
    // the run stops there.
    let mut engines: Vec<Box<dyn TreeEngine>> = vec![
        Box::new(OracleEngine::new(TreeConfig::default())),
        Box::new(Broken::new(Defect::SpuriousStop, 3)),
    ];
    let stats = run_with(&program(), &mut engines, Options::default()).unwrap();
    assert_eq!(stats.stopped.map(|(s, _)| s), Some(3));
}

#[test]
fn healthy_engines_agree() {
    let stats = run(&program(), &EngineSet::from_env()).unwrap();
    assert_eq!(stats.ops, 5);
}

#[test]
fn a_wrong_result_is_caught_by_the_result_check() {
    let d = run_broken(Defect::WrongResult, 2);
    assert_eq!(
        (d.check, d.step, d.engine.as_str()),
        (Check::Result, 2, "broken")
    );
    assert!(d.detail.contains("oracle: Entry(Some(2))"), "{}", d.detail);
    assert!(d.detail.contains("broken: Entry(Some(3))"), "{}", d.detail);
}

#[test]
fn a_dropped_entry_is_caught_by_the_contents_check() {
    // Dropped after step 1; the next full comparison (at the end) sees it
    // even though no later op touches the lost range.
    let d = run_broken(Defect::DropEntry, 1);
    assert_eq!((d.check, d.engine.as_str()), (Check::Contents, "broken"));
    assert!(d.detail.contains("0x10-0x1f v1"), "{}", d.detail);
}

#[test]
fn a_stale_slot_is_caught_by_validate() {
    let d = run_broken(Defect::StaleSlot, 3);
    assert_eq!(
        (d.check, d.step, d.engine.as_str()),
        (Check::Validate, 3, "broken")
    );
    assert!(
        d.detail.contains("stale slot past data end"),
        "{}",
        d.detail
    );
    assert!(
        d.detail.contains("[0x0, 0xffffffffffffffff]"),
        "{}",
        d.detail
    );
    // The evidence includes the node dump, which shows the stale word.
    assert!(
        d.dumps.iter().any(|(_, dump)| dump.contains("0x8485")),
        "{:?}",
        d.dumps
    );
}

/// Between full passes the port's nodes written by an op are validated at
/// that op: a stale slot planted at step 3 of a 5-op program is reported
/// at step 3 with the full checks every 64 ops; the same stale slot
/// without the per-op validation of written nodes (an engine that does
/// not report them) would be seen only at the last op's full pass.
#[test]
fn between_full_passes_the_nodes_an_op_wrote_are_validated_at_that_op() {
    let every = |broken: Broken| {
        let mut engines: Vec<Box<dyn TreeEngine>> = vec![
            Box::new(OracleEngine::new(TreeConfig::default())),
            Box::new(broken),
        ];
        let opts = Options {
            check_every: 64,
            ..Options::default()
        };
        run_with(&program(), &mut engines, opts).expect_err("caught")
    };
    let d = every(Broken::new(Defect::StaleSlot, 3));
    assert_eq!(
        (d.check, d.step, d.engine.as_str()),
        (Check::Validate, 3, "broken")
    );
    assert!(
        d.detail.contains("stale slot past data end"),
        "{}",
        d.detail
    );
    let mut blind = Broken::new(Defect::StaleSlot, 3);
    blind.report_written = false;
    let d = every(blind);
    assert_eq!((d.check, d.step), (Check::Validate, 4));
}

#[test]
fn a_leaked_node_is_caught_by_the_accounting_check() {
    let d = run_broken(Defect::LeakNode, 0);
    assert_eq!(
        (d.check, d.step, d.engine.as_str()),
        (Check::Accounting, 0, "broken")
    );
    assert!(d.detail.contains("1 unaccounted"), "{}", d.detail);
}

#[test]
fn a_panic_is_caught_as_a_crash() {
    let d = run_broken(Defect::Crash, 4);
    assert_eq!(
        (d.check, d.step, d.engine.as_str()),
        (Check::Crash, 4, "broken")
    );
    assert!(d.detail.contains("planted crash"), "{}", d.detail);
    assert_eq!(d.signature(), "crash-load-broken");
}

#[test]
fn the_report_prints_the_op_and_the_check() {
    let d = run_broken(Defect::WrongResult, 2);
    let text = d.to_string();
    assert!(
        text.starts_with(
            "divergence at step 2: result check failed in engine broken after `load 0x35`"
        ),
        "{text}"
    );
}

#[test]
fn a_store_that_half_fails_is_caught_by_the_atomicity_check() {
    // Under a fault schedule the store at step 2 reports ENOMEM, yet it
    // changed the tree: neither "as before" nor "the answer of the op".
    let p = parse_program(
        "store 0x10 0x1f v1\n\
         fail_allocs nth 1000\n\
         store 0x30 0x3f v2\n\
         load 0x35\n",
    )
    .unwrap();
    let d = run_broken_program(Defect::HalfFailed, 2, p);
    assert_eq!(
        (d.check, d.step, d.engine.as_str()),
        (Check::Atomicity, 2, "broken")
    );
    assert!(d.detail.contains("as after the op"), "{}", d.detail);
    assert!(d.detail.contains("ENOMEM"), "{}", d.detail);
}

/// Under an injected failure, engines of one generation must end in the
/// same world; engines of different generations are each judged against
/// the oracle on their own, and when they end in different worlds (each
/// correctly) the ones that failed redo the op with faults suspended, and
/// must then stand where the op alone leaves the tree.
#[test]
fn a_clean_failure_splits_generations_but_not_one_generation() {
    let p = parse_program(
        "store 0x10 0x1f v1\n\
         fail_allocs nth 1000\n\
         store 0x30 0x3f v2\n\
         load 0x35\n",
    )
    .unwrap();
    let engines = |generation: &'static str| -> Vec<Box<dyn TreeEngine>> {
        vec![
            Box::new(OracleEngine::new(TreeConfig::default())),
            Box::new(RustEngine::new(TreeConfig::default())),
            Box::new(Broken::new(Defect::CleanFailure, 2).of_generation(generation)),
        ]
    };
    // The port succeeds, its own generation fails: a divergence.
    let d = run_with(&p, &mut engines("6.12"), Options::default()).unwrap_err();
    assert_eq!(
        (d.check, d.step, d.engine.as_str()),
        (Check::Atomicity, 2, "broken"),
        "{d}"
    );
    // Another generation failing cleanly is correct; it redoes the op and
    // the run goes on to its end, every op checked.
    let stats = run_with(&p, &mut engines("7.1"), Options::default()).unwrap();
    assert_eq!((stats.stopped, stats.ops), (None, 4));
    // A redo that does not give the op's effect is an atomicity failure.
    let mut wrong: Vec<Box<dyn TreeEngine>> = vec![
        Box::new(OracleEngine::new(TreeConfig::default())),
        Box::new(RustEngine::new(TreeConfig::default())),
        Box::new(Broken::new(Defect::CleanFailureBadRedo, 2).of_generation("7.1")),
    ];
    let d = run_with(&p, &mut wrong, Options::default()).unwrap_err();
    assert_eq!(
        (d.check, d.step, d.engine.as_str()),
        (Check::Atomicity, 2, "broken"),
        "{d}"
    );
    assert!(d.detail.contains("redone without it"), "{d}");
    // Alone, the clean failure is simply the op failing as a whole.
    let mut alone: Vec<Box<dyn TreeEngine>> = vec![
        Box::new(OracleEngine::new(TreeConfig::default())),
        Box::new(Broken::new(Defect::CleanFailure, 2).of_generation("7.1")),
    ];
    let stats = run_with(&p, &mut alone, Options::default()).unwrap();
    assert_eq!((stats.stopped, stats.ops), (None, 4));
}

/// A node allocated and freed again within one op is seen only by the
/// traffic check, between engines of one generation.
#[test]
fn a_wasted_node_is_caught_by_the_traffic_check_within_a_generation() {
    let engines = |generation: &'static str| -> Vec<Box<dyn TreeEngine>> {
        vec![
            Box::new(OracleEngine::new(TreeConfig::default())),
            Box::new(RustEngine::new(TreeConfig::default())),
            Box::new(Broken::new(Defect::WastedNode, 2).of_generation(generation)),
        ]
    };
    let d = run_with(&program(), &mut engines("6.12"), Options::default()).unwrap_err();
    assert_eq!(
        (d.check, d.step, d.engine.as_str()),
        (Check::Traffic, 2, "broken"),
        "{d}"
    );
    assert!(d.detail.contains("allocated 1 and freed 1"), "{d}");
    // Another generation allocates as it likes.
    run_with(&program(), &mut engines("7.1"), Options::default()).unwrap_or_else(|d| panic!("{d}"));
}

/// A set with an oracle per version profile: each group's engines are
/// checked against their own oracle, a defect in the second group is
/// caught and named, and every step reports every engine's outcome.
#[test]
fn each_reference_group_is_checked_against_its_own_oracle() {
    let mut engines: Vec<Box<dyn TreeEngine>> = vec![
        Box::new(OracleEngine::new(TreeConfig::default())),
        Box::new(RustEngine::new(TreeConfig::default())),
        Box::new(OracleEngine::new(TreeConfig::default())),
        Box::new(Broken::new(Defect::WrongResult, 2)),
    ];
    let mut widths = Vec::new();
    let d = run_observed(&program(), &mut engines, Options::default(), &mut |e| {
        if let Event::Op { outcomes, .. } = e {
            widths.push(outcomes.len());
        }
    })
    .unwrap_err();
    assert_eq!(
        (d.check, d.step, d.engine.as_str()),
        (Check::Result, 2, "broken"),
        "{d}"
    );
    assert_eq!(widths, vec![4, 4, 4]);
    // Healthy groups run clean, every op checked.
    let mut engines: Vec<Box<dyn TreeEngine>> = vec![
        Box::new(OracleEngine::new(TreeConfig::default())),
        Box::new(RustEngine::new(TreeConfig::default())),
        Box::new(OracleEngine::new(TreeConfig::default())),
        Box::new(RustEngine::new(TreeConfig::default())),
    ];
    let stats = run_with(&program(), &mut engines, Options::default()).unwrap();
    assert_eq!(stats.ops, 5);
}

#[test]
fn the_preallocated_store_running_short_is_caught_by_the_prealloc_check() {
    let p = parse_program(
        "store 0x10 0x1f v1\n\
         prealloc 0x30 0x3f v2\n\
         store_prealloc v2\n",
    )
    .unwrap();
    let d = run_broken_program(Defect::PreallocShort, 2, p);
    assert_eq!(
        (d.check, d.step, d.engine.as_str()),
        (Check::Prealloc, 2, "broken")
    );
    assert!(d.detail.contains("preallocation violated"), "{}", d.detail);
}

/// The size of each preallocation: an engine whose code follows another
/// kernel version's rule than the one it claims (here the port's 6.12
/// code, claiming 6.1's worst case for the height) is caught at the
/// preallocation, though nothing else shows it; with its own rule the same
/// program, whose tree grows to three levels, runs clean.
#[test]
fn a_preallocation_of_another_versions_size_is_caught_by_the_prealloc_check() {
    let mut text = String::new();
    for i in 0..400u64 {
        text += &format!("store {:#x} {:#x} v{}\n", i * 16, i * 16 + 7, i + 1);
    }
    text += "prealloc 0x5008 0x500a v9\nstore_prealloc v9\n";
    let p = parse_program(&text).unwrap();
    let run = |broken: Broken| {
        let mut engines: Vec<Box<dyn TreeEngine>> = vec![
            Box::new(OracleEngine::new(TreeConfig::default())),
            Box::new(broken),
        ];
        run_with(&p, &mut engines, Options::default())
    };
    run(Broken::new(Defect::WrongResult, 1 << 40)).expect("the 6.12 rule is the port's");
    let claims_6_1 =
        Broken::new(Defect::WrongResult, 1 << 40).with_rule(crate::engine::PreallocRule::Height);
    let d = run(claims_6_1).expect_err("caught");
    assert_eq!(
        (d.check, d.step, d.engine.as_str()),
        (Check::Prealloc, 400, "broken")
    );
    assert!(
        d.detail.contains("the rule of Linux 6.1 asks for 10"),
        "{}",
        d.detail
    );
}

/// The structural check: an engine whose tree holds the right entries in a
/// valid tree of another shape is caught, after exactly the op that
/// reshaped it, when another engine with nodes runs beside it.
#[test]
fn structure_check_fires_on_another_layout() {
    let mut text = String::new();
    for i in 0..60u64 {
        text.push_str(&format!(
            "store {:#x} {:#x} v{}\n",
            i * 16,
            i * 16 + 7,
            i + 1
        ));
    }
    text.push_str("load 0x10\nload 0x20\n");
    let p = parse_program(&text).unwrap();
    let engines = || -> Vec<Box<dyn TreeEngine>> {
        vec![
            Box::new(OracleEngine::new(TreeConfig::default())),
            Box::new(RustEngine::new(TreeConfig::default())),
            Box::new(Broken::new(Defect::Relayout, 60)),
        ]
    };
    let d = run_with(&p, &mut engines(), Options::default()).unwrap_err();
    assert_eq!(
        (d.check, d.step, d.engine.as_str()),
        (Check::Structure, 60, "broken"),
        "{d}"
    );
    assert!(d.detail.contains("node layouts differ"), "{d}");
    // Engines of different generations legitimately differ in layout and
    // are not compared: a 7.1 kernel beside the 6.12 port.
    let mut mixed: Vec<Box<dyn TreeEngine>> = vec![
        Box::new(OracleEngine::new(TreeConfig::default())),
        Box::new(RustEngine::new(TreeConfig::default())),
        Box::new(Broken::new(Defect::Relayout, 60).of_generation("7.1")),
    ];
    run_with(&p, &mut mixed, Options::default()).unwrap_or_else(|d| panic!("{d}"));
    // With the check off the same run is clean: contents and validity agree.
    let opts = Options {
        structure: false,
        ..Options::default()
    };
    run_with(&p, &mut engines(), opts).unwrap();
}

#[test]
fn the_bug_signature_names_the_class_and_the_code_path() {
    // A store that appended (step 3) left a stale slot: validate, through
    // the append path.
    let d = run_broken(Defect::StaleSlot, 3);
    assert_eq!(d.store_types, vec![crate::tree::StoreType::Append]);
    assert_eq!(d.bug_signature(), "corrupt-append-broken");
    // A panic in the same op is the same class.
    let d = run_broken(Defect::Crash, 3);
    assert_eq!(d.bug_signature(), "corrupt-append-broken");
    // A wrong load ran no store: the op kind stands in for the path.
    let d = run_broken(Defect::WrongResult, 2);
    assert!(d.store_types.is_empty());
    assert_eq!(d.signature(), "result-load-broken");
    assert_eq!(d.bug_signature(), "wrong-load-broken");
    let d = run_broken(Defect::LeakNode, 3);
    assert!(
        d.bug_signature().starts_with("leak-append"),
        "{}",
        d.bug_signature()
    );
}

#[test]
fn run_observed_reports_what_injected_failures_did() {
    // A store that needs a node, with every allocation failing: no effect.
    let p = parse_program(
        "config rcu\nstore 0x10 0x1f v1\nfail_allocs from 1\nstore 0x30 0x3f v2\n\
         fail_allocs never\nstore 0x40 0x4f v3\n",
    )
    .unwrap();
    let mut events = Vec::new();
    let mut engines = EngineSet::from_env().build(p.config);
    run_observed(&p, &mut engines, Options::default(), &mut |e| {
        events.push(e)
    })
    .unwrap();
    let faults: Vec<(usize, bool)> = events
        .iter()
        .filter_map(|e| match e {
            Event::Fault { step, no_effect } => Some((*step, *no_effect)),
            _ => None,
        })
        .collect();
    assert_eq!(faults, vec![(2, true)]);
}

/// A gap search resumed from the cursor, where the oracle admits several
/// answers: two engines of one generation build the same leaves and must
/// give the same one (a planted other answer is a result divergence);
/// engines of different generations may differ, and then the run stops
/// there, their cursors parted.
#[test]
fn a_resumed_search_is_exact_within_a_generation() {
    let p = parse_program(
        "config alloc\nstore 0x10 0x1f v1\nstore 0x30 0x3f v2\nstore 0x50 0x5f v3\n\
         walk 0x35\ncur_empty_area 0x0 max 0x4\ncur_store v9\n",
    )
    .unwrap();
    let engines = |broken: Broken| -> Vec<Box<dyn TreeEngine>> {
        vec![
            Box::new(OracleEngine::new(alloc_tree())),
            Box::new(RustEngine::new(alloc_tree())),
            Box::new(broken),
        ]
    };
    let mut same = engines(Broken::new(Defect::SearchElsewhere, 4).on_alloc_tree());
    let d = run_with(&p, &mut same, Options::default()).expect_err("caught");
    assert_eq!(
        (d.check, d.step, d.engine.as_str()),
        (Check::Result, 4, "broken"),
        "{d}"
    );
    assert!(
        d.detail.contains("generation 6.12 answered differently"),
        "{}",
        d.detail
    );
    let other = Broken::new(Defect::SearchElsewhere, 4)
        .on_alloc_tree()
        .of_generation("7.1");
    let stats = run_with(&p, &mut engines(other), Options::default()).expect("no divergence");
    let (step, why) = stats.stopped.expect("the run stops where the cursors part");
    assert_eq!(step, 4);
    assert!(why.contains("their cursors part"), "{why}");
    // Without the defect the run goes on to the store on the window.
    let healthy = Broken::new(Defect::SearchElsewhere, 1 << 40).on_alloc_tree();
    let stats = run_with(&p, &mut engines(healthy), Options::default()).unwrap();
    assert_eq!((stats.ops, stats.stopped), (6, None));
}
