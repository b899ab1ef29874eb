//! The differential executor: one program, every engine, checks after every op.
//!
//! After each op the executor checks, in this order:
//!
//! 1. **result**: every engine returned the same [`Outcome`];
//! 2. **contents**: the engines hold the same entries — around the range the
//!    op touched after every write, and in full every
//!    [`Options::full_every`] ops, after a destroy and at the end;
//! 3. **accounting**: for engines that allocate nodes, allocated nodes equal
//!    the nodes reachable from the root plus the nodes held by maple states;
//! 4. **validate**: each inspectable engine's structural checks.
//!
//! A panic inside an engine is caught and reported as a **crash**. The first
//! failed check ends the run with a [`Divergence`] that carries the step, the
//! op, the check and the evidence. A fatal signal (a wild pointer in the
//! kernel engine's C) cannot be caught in the process it kills: [`isolated`]
//! runs a program in a child process and reports the death as a **signal**
//! divergence at the step the executor had marked
//! ([`maplefuzz_kernel::isolate::set_position`]).
//!
//! Two rules keep the maple-state ops meaningful: after a write through the
//! tree API every engine's cursor is paused (a kernel caller must not reuse a
//! maple state across a write made elsewhere), and before a cursor op that
//! the oracle cannot position exactly (the kernel would step from a stale or
//! missing node) the cursors are paused too. Both depend only on the program,
//! so every driver replays a program identically.

pub mod isolated;
pub mod vma;

use crate::engine::{Outcome, TreeEngine};
use crate::ops::{Op, Program, TreeOp};
use crate::tree::{StoreStats, StoreType};
use maplefuzz_kernel::isolate as position;
use std::fmt;
use std::panic::{catch_unwind, AssertUnwindSafe};

/// Which check failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Check {
    /// Engines returned different results.
    Result,
    /// Engines hold different entries.
    Contents,
    /// Allocated nodes are not all reachable or held.
    Accounting,
    /// An engine's structural validation failed.
    Validate,
    /// A store on a preallocated maple state needed a node it did not hold.
    Prealloc,
    /// An op under an injected allocation failure left the tree neither as
    /// before nor as after, or returned something other than the failure.
    Atomicity,
    /// An engine panicked.
    Crash,
    /// Two engines that both have nodes (the port and the kernel) hold
    /// different node layouts: the port is not faithful there.
    Structure,
    /// Two address spaces map different pages (flags, file page or
    /// anon_vma of some page differ), whatever the VMA boundaries.
    Pages,
    /// The process died of a fatal signal during the op (seen from a
    /// parent: [`isolated`]).
    Signal,
    /// The execution ran past its time limit (seen from a parent:
    /// [`isolated`]).
    Hang,
}

impl Check {
    /// The check's name in reports and signatures.
    pub fn name(self) -> &'static str {
        match self {
            Check::Result => "result",
            Check::Contents => "contents",
            Check::Accounting => "accounting",
            Check::Validate => "validate",
            Check::Prealloc => "prealloc",
            Check::Atomicity => "atomicity",
            Check::Crash => "crash",
            Check::Structure => "structure",
            Check::Pages => "pages",
            Check::Signal => "signal",
            Check::Hang => "hang",
        }
    }

    /// Every check, for parsing names back.
    pub const ALL: [Check; 11] = [
        Check::Result,
        Check::Contents,
        Check::Accounting,
        Check::Validate,
        Check::Prealloc,
        Check::Atomicity,
        Check::Crash,
        Check::Structure,
        Check::Pages,
        Check::Signal,
        Check::Hang,
    ];

    /// The check of a [`Check::name`].
    pub fn from_name(name: &str) -> Option<Check> {
        Check::ALL.into_iter().find(|c| c.name() == name)
    }
}

impl fmt::Display for Check {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A failed check: where, which, and the evidence.
#[derive(Clone, Debug)]
pub struct Divergence {
    /// Index of the op after which the check failed.
    pub step: usize,
    /// That op.
    pub op: Op,
    /// The check that failed.
    pub check: Check,
    /// The engine the failure is attributed to (the one that differs from
    /// the first engine, or the one whose own check failed).
    pub engine: String,
    /// What was seen: both results, a diff of both entry lists, the
    /// validation message, the panic message.
    pub detail: String,
    /// Node dumps of the engines that have one, after the op.
    pub dumps: Vec<(String, String)>,
    /// The store types the blamed engine ran during the op (for engines
    /// that count them, [`Inspect::store_stats`](crate::engine::Inspect)),
    /// in the kernel's enum order: the code path the op went through.
    pub store_types: Vec<StoreType>,
    /// For a [`Check::Signal`]: the signal and the function it hit.
    pub fatal: Option<Fatal>,
}

/// A fatal signal, as a [`Check::Signal`] divergence names it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fatal {
    /// The signal's name (`SIGSEGV`).
    pub signal: String,
    /// The innermost function that could be named (`mte_dead_walk`).
    pub function: Option<String>,
}

impl Divergence {
    /// A short signature of the failure as seen: check, op kind and engine.
    /// The shrinker keeps it (see `shrink::Goal`); crash files are named by it.
    pub fn signature(&self) -> String {
        format!("{}-{}-{}", self.check.name(), self.op.kind(), self.engine)
    }

    /// The signature of the bug behind the failure, for reporting each
    /// distinct bug once: `<class>-<path>-<engine>`. The class groups the
    /// checks by what went wrong: `corrupt` (the engine's own structure
    /// checks failed, or it panicked), `wrong` (a result or contents differ
    /// from the reference), `leak` (node accounting), `prealloc`,
    /// `atomicity` and `layout` (the port's nodes left the kernel's). The path is the store types the op ran (`node_store`,
    /// `split_store+rebalance`), or for an op that ran no store the op kind
    /// (a load, a cursor move) or, for a VMA op, its kernel function family
    /// (`vma_modify` for mprotect and madvise; see `Op::family`). So one bug in `mas_wr_node_store()` reached
    /// through `store`, `erase` or `mas_store`, caught by `validate()` or by
    /// a panic, has one signature: `corrupt-node_store-rust`.
    pub fn bug_signature(&self) -> String {
        if let (Check::Signal, Some(f)) = (self.check, &self.fatal) {
            // One bug: the same signal in the same function, whatever op
            // reached it.
            let place = f
                .function
                .clone()
                .unwrap_or_else(|| self.op.family().to_string());
            return format!("fatal-{}-{place}-{}", f.signal, self.engine);
        }
        let class = match self.check {
            Check::Validate | Check::Crash => "corrupt",
            Check::Signal => "fatal",
            Check::Hang => "hang",
            Check::Result | Check::Contents | Check::Pages => "wrong",
            Check::Accounting => "leak",
            Check::Prealloc => "prealloc",
            Check::Atomicity => "atomicity",
            Check::Structure => "layout",
        };
        let path = if self.store_types.is_empty() {
            self.op.family().to_string()
        } else {
            let names: Vec<&str> = self.store_types.iter().map(|t| t.name()).collect();
            names.join("+")
        };
        format!("{class}-{path}-{}", self.engine)
    }
}

impl fmt::Display for Divergence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "divergence at step {}: {} check failed in engine {} after `{}`",
            self.step, self.check, self.engine, self.op
        )?;
        writeln!(f, "{}", self.detail)?;
        for (name, dump) in &self.dumps {
            writeln!(f, "--- {name} dump\n{dump}")?;
        }
        Ok(())
    }
}

/// Executor options.
#[derive(Clone, Copy, Debug)]
pub struct Options {
    /// Compare the full contents every this many ops (and at the end).
    pub full_every: usize,
    /// Attach node dumps to divergences.
    pub dumps: bool,
    /// Compare the node layouts of engines that have nodes after every op.
    pub structure: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            full_every: 16,
            dumps: true,
            structure: true,
        }
    }
}

/// What a clean run did.
#[derive(Clone, Debug, Default)]
pub struct RunStats {
    /// Set when the program broke the preallocation contract (a store other
    /// than the one preallocated for needed more nodes than the writer held,
    /// where the kernel WARNs and crashes): the step and what happened. The
    /// run ends there without a divergence: the caller is at fault, not the
    /// tree.
    pub stopped: Option<(usize, String)>,
    /// Ops executed.
    pub ops: usize,
    /// Store types the Rust engine ran.
    pub store_stats: StoreStats,
    /// The largest number of entries seen.
    pub max_entries: usize,
}

/// The engines in force ([`EngineSet::current`](crate::engine::EngineSet::current):
/// `--engines`, else `MAPLEFUZZ_ENGINES`, else every engine this build has),
/// fresh for `program`.
pub fn default_engines(program: &Program) -> Vec<Box<dyn TreeEngine>> {
    crate::engine::EngineSet::current().build(program.config)
}

/// The body of every coverage-guided fuzz target (libFuzzer, honggfuzz):
/// decode the bytes with the one decoder, run the program with the one
/// executor, and on a divergence panic with the runnable text program and
/// the report, so the fuzzer records a crash whose message reproduces it.
pub fn fuzz_bytes(data: &[u8]) {
    fuzz_program(&crate::ops::binary::decode(data));
}

/// The body of [`fuzz_bytes`] after decoding, for targets that adjust the
/// decoded program first (e.g. `tree_alloc` forces an allocation tree).
pub fn fuzz_program(p: &Program) {
    if let Err(d) = run(p) {
        panic!(
            "maplefuzz divergence; the program:\n{}\n{}",
            crate::ops::text::format_program(p),
            d
        );
    }
}

/// Runs a program of either language ([`run`] or [`vma::run`]).
pub fn run_any(program: &crate::ops::AnyProgram) -> Result<RunStats, Box<Divergence>> {
    match program {
        crate::ops::AnyProgram::Tree(p) => run(p),
        crate::ops::AnyProgram::Vma(p) => vma::run(p),
    }
}

/// Runs `program` on the engines in force with default options.
pub fn run(program: &Program) -> Result<RunStats, Box<Divergence>> {
    let mut engines = default_engines(program);
    run_with(program, &mut engines, Options::default())
}

/// The message of a caught panic (string payloads, and the tree's
/// [`PreallocViolation`](crate::tree::PreallocViolation)).
pub fn panic_message(p: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = p.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = p.downcast_ref::<String>() {
        s.clone()
    } else if let Some(v) = p.downcast_ref::<crate::tree::PreallocViolation>() {
        format!("preallocation violated: {}", v.0)
    } else {
        "panic with a non-string payload".to_string()
    }
}

/// The range of entries an op may have changed, widened by one index on
/// each side so that trimmed neighbours are compared too.
fn touched(op: &TreeOp) -> Option<(u64, u64)> {
    match *op {
        TreeOp::Store { first, last, .. } | TreeOp::Insert { first, last, .. } => {
            let (a, b) = if first <= last {
                (first, last)
            } else {
                (last, first)
            };
            Some((a.saturating_sub(1), b.saturating_add(1)))
        }
        TreeOp::Erase { index } => Some((index.saturating_sub(1), index.saturating_add(1))),
        _ => None,
    }
}

fn entries_diff(a: &[(u64, u64, u64)], b: &[(u64, u64, u64)]) -> String {
    let fmt = |v: &[(u64, u64, u64)]| -> Vec<String> {
        v.iter()
            .map(|(x, y, t)| format!("{x:#x}-{y:#x} v{t}"))
            .collect()
    };
    format!("{}", pretty_assertions::Comparison::new(&fmt(a), &fmt(b)))
}

/// Runs `program` on `engines` (the first is the reference the others are
/// compared with), checking after every op.
pub fn run_with(
    program: &Program,
    engines: &mut [Box<dyn TreeEngine>],
    opts: Options,
) -> Result<RunStats, Box<Divergence>> {
    run_observed(program, engines, opts, &mut |_| {})
}

/// What the executor did at one step, as [`run_observed`] reports it.
#[derive(Clone, Debug)]
pub enum Event {
    /// The engines are about to run the op of step `step` (after any
    /// pause before it): a trace writes the op now, so that a process
    /// killed by the op still shows it.
    Begin { step: usize },
    /// Step `step` of the program ran; `outcomes[i]` is engine `i`'s result.
    Op { step: usize, outcomes: Vec<Outcome> },
    /// The executor paused every cursor on its own, before the op of step
    /// `step` (a cursor op it could not position) or after it (a write).
    Pause { step: usize, after: bool },
    /// An injected allocation failure fired during the op of step `step`
    /// and the engines passed the atomicity check: with `no_effect` the op
    /// did nothing (the engines answered the failure, e.g. `ENOMEM`, and the
    /// reference's outcome in [`Event::Op`] is what the op would have done),
    /// else the op took full effect (the kernel's retry succeeded).
    Fault { step: usize, no_effect: bool },
}

/// [`run_with`], telling `observe` every step's outcomes and every pause the
/// executor makes on its own (for `maplefuzz replay --trace`).
pub fn run_observed(
    program: &Program,
    engines: &mut [Box<dyn TreeEngine>],
    opts: Options,
    observe: &mut dyn FnMut(Event),
) -> Result<RunStats, Box<Divergence>> {
    let mut before = Vec::new();
    run_steps(program, engines, opts, observe, &mut before).map_err(|mut d| {
        d.store_types = store_types_run(engines, &before, &d.engine);
        d
    })
}

/// Each engine's store-type counts, for engines that keep them.
fn store_stats_of(engines: &[Box<dyn TreeEngine>]) -> Vec<Option<StoreStats>> {
    engines
        .iter()
        .map(|e| e.inspect().map(|i| i.store_stats()))
        .collect()
}

/// The store types engine `name` ran since its counts were `before`.
fn store_types_run(
    engines: &[Box<dyn TreeEngine>],
    before: &[Option<StoreStats>],
    name: &str,
) -> Vec<StoreType> {
    let Some(i) = engines.iter().position(|e| e.name() == name) else {
        return Vec::new();
    };
    let (Some(Some(was)), Some(now)) = (before.get(i), engines[i].inspect()) else {
        return Vec::new();
    };
    // An engine that panicked mid-op may be too broken to ask.
    let Ok(now) = catch_unwind(AssertUnwindSafe(|| now.store_stats())) else {
        return Vec::new();
    };
    StoreType::ALL
        .into_iter()
        .filter(|t| now.get(*t) > was.get(*t))
        .collect()
}

/// The body of [`run_observed`]; `before` holds each engine's store-type
/// counts from before the op of the current step.
fn run_steps(
    program: &Program,
    engines: &mut [Box<dyn TreeEngine>],
    opts: Options,
    observe: &mut dyn FnMut(Event),
    before: &mut Vec<Option<StoreStats>>,
) -> Result<RunStats, Box<Divergence>> {
    let mut stats = RunStats::default();
    let mut faults_active = false;
    let n = program.ops.len();
    for (step, op) in program.ops.iter().enumerate() {
        *before = store_stats_of(engines);
        let is_cursor_op = matches!(
            op,
            TreeOp::MasFind { .. }
                | TreeOp::MasFindRev { .. }
                | TreeOp::MasNext { .. }
                | TreeOp::MasPrev { .. }
        );
        if is_cursor_op && engines.iter().any(|e| e.cursor_positioned() == Some(false)) {
            pause_all(engines, step, op, &opts)?;
            observe(Event::Pause { step, after: false });
        }
        if let TreeOp::FailAllocs { schedule } = op {
            faults_active = *schedule != crate::tree::FaultSchedule::Never;
        }
        let fault_mode = faults_active && op.allocates();
        let failed_before: Vec<u64> = engines
            .iter()
            .map(|e| e.inspect().map_or(0, |i| i.failed_allocs()))
            .collect();
        // Under a fault schedule the reference engine runs last, on a copy,
        // so that the state before the op is still at hand.
        let order: Vec<usize> = if fault_mode {
            (1..engines.len()).chain(std::iter::once(0)).collect()
        } else {
            (0..engines.len()).collect()
        };
        let mut outcomes: Vec<Option<Outcome>> = vec![None; engines.len()];
        let mut applied_ref: Option<Box<dyn TreeEngine>> = None;
        observe(Event::Begin { step });
        for i in order {
            position::set_position(step, i);
            let result = if fault_mode && i == 0 {
                // Without the state before the op, atomicity cannot be
                // judged: a reference engine that cannot be copied is a
                // harness bug, not something to run past.
                let mut copy = engines[0]
                    .snapshot()
                    .expect("the reference engine (engines[0]) must support snapshot()");
                let r = catch_unwind(AssertUnwindSafe(|| copy.apply(op)));
                applied_ref = Some(copy);
                r
            } else {
                let e = &mut engines[i];
                catch_unwind(AssertUnwindSafe(|| e.apply(op)))
            };
            match result {
                Ok(o) => outcomes[i] = Some(o),
                Err(p) => {
                    let check = if p.downcast_ref::<crate::tree::PreallocViolation>().is_some() {
                        Check::Prealloc
                    } else {
                        Check::Crash
                    };
                    return Err(diverge(
                        engines,
                        step,
                        op,
                        check,
                        e_name(engines, i),
                        format!("engine panicked: {}", panic_message(&*p)),
                        &opts,
                    ));
                }
            }
        }
        position::set_position(step, position::NO_ENGINE);
        let outcomes: Vec<Outcome> = outcomes
            .into_iter()
            .map(|o| o.expect("every engine ran"))
            .collect();
        observe(Event::Op {
            step,
            outcomes: outcomes.clone(),
        });
        if let Some(msg) = outcomes.iter().find_map(|o| match o {
            Outcome::CallerError(m) => Some(m.clone()),
            _ => None,
        }) {
            // Engines with nodes judge some caller errors themselves (a
            // bulk store beyond its reservation, a preallocated store that
            // needed more): they must agree, or one stopped where another
            // went on, and the stop would hide that. The last of them (the
            // kernel, when it runs) is the reference for what nodes do.
            let node_stops: Vec<(usize, bool)> = engines
                .iter()
                .zip(&outcomes)
                .enumerate()
                .filter(|(_, (e, _))| e.inspect().is_some())
                .map(|(i, (_, o))| (i, matches!(o, Outcome::CallerError(_))))
                .collect();
            if let Some(&(r, reference)) = node_stops.last() {
                if let Some(&(i, _)) = node_stops.iter().find(|(_, s)| *s != reference) {
                    let (stopped, went_on) = if reference { (r, i) } else { (i, r) };
                    return Err(diverge(
                        engines,
                        step,
                        op,
                        Check::Result,
                        e_name(engines, i),
                        format!(
                            "the engines with nodes disagree on a caller error: {} stopped \
                             ({}), {} went on ({:?})",
                            e_name(engines, stopped),
                            msg,
                            e_name(engines, went_on),
                            outcomes[went_on]
                        ),
                        &opts,
                    ));
                }
            }
            stats.stopped = Some((step, msg));
            break;
        }
        let mut checked_results = false;
        if let Some(after) = applied_ref {
            let faulted: Vec<bool> = engines
                .iter()
                .zip(&failed_before)
                .map(|(e, b)| e.inspect().is_some_and(|i| i.failed_allocs() > *b))
                .collect();
            if faulted.iter().any(|f| *f) {
                let no_effect = check_faulted_op(
                    engines,
                    after.as_ref(),
                    &faulted,
                    &outcomes,
                    step,
                    op,
                    &opts,
                )?;
                observe(Event::Fault { step, no_effect });
                checked_results = true;
            } else {
                engines[0] = after;
            }
        }
        for (i, o) in outcomes.iter().enumerate().skip(1) {
            if checked_results {
                break;
            }
            if *o != outcomes[0] {
                let detail = format!(
                    "{}: {:?}\n{}: {:?}",
                    engines[0].name(),
                    outcomes[0],
                    engines[i].name(),
                    o
                );
                return Err(diverge(
                    engines,
                    step,
                    op,
                    Check::Result,
                    e_name(engines, i),
                    detail,
                    &opts,
                ));
            }
        }
        if op.is_write() {
            pause_all(engines, step, op, &opts)?;
            observe(Event::Pause { step, after: true });
        }
        let full = (step + 1) % opts.full_every.max(1) == 0
            || step + 1 == n
            || matches!(op, TreeOp::Destroy);
        let range = if full { None } else { touched(op) };
        if full || range.is_some() {
            let lists: Vec<Vec<(u64, u64, u64)>> = engines
                .iter()
                .map(|e| match range {
                    None => e.entries(),
                    Some((lo, hi)) => e.entries_in(lo, hi),
                })
                .collect();
            if full {
                stats.max_entries = stats.max_entries.max(lists[0].len());
            }
            for (i, l) in lists.iter().enumerate().skip(1) {
                if *l != lists[0] {
                    let scope = match range {
                        None => "all entries".to_string(),
                        Some((lo, hi)) => format!("entries meeting [{lo:#x}, {hi:#x}]"),
                    };
                    let detail = format!(
                        "{scope} differ ({} left, {} right):\n{}",
                        engines[0].name(),
                        engines[i].name(),
                        entries_diff(&lists[0], l)
                    );
                    return Err(diverge(
                        engines,
                        step,
                        op,
                        Check::Contents,
                        e_name(engines, i),
                        detail,
                        &opts,
                    ));
                }
            }
        }
        for i in 0..engines.len() {
            let Some(ins) = engines[i].inspect() else {
                continue;
            };
            position::set_position(step, i);
            let acc = ins.accounting();
            if !acc.balanced() {
                let detail = format!(
                    "{} nodes allocated, {} reachable from the root, {} held by maple states: {} unaccounted",
                    acc.live,
                    acc.reachable,
                    acc.held,
                    acc.live as i128 - (acc.reachable + acc.held) as i128
                );
                return Err(diverge(
                    engines,
                    step,
                    op,
                    Check::Accounting,
                    e_name(engines, i),
                    detail,
                    &opts,
                ));
            }
            if let Err(msg) = ins.validate() {
                return Err(diverge(
                    engines,
                    step,
                    op,
                    Check::Validate,
                    e_name(engines, i),
                    msg,
                    &opts,
                ));
            }
        }
        position::set_position(step, position::NO_ENGINE);
        if opts.structure {
            if let Some((i, detail)) = structure_check(engines) {
                return Err(diverge(
                    engines,
                    step,
                    op,
                    Check::Structure,
                    e_name(engines, i),
                    detail,
                    &opts,
                ));
            }
        }
        stats.ops += 1;
    }
    for e in engines.iter() {
        if let Some(ins) = e.inspect() {
            stats.store_stats.merge(&ins.store_stats());
        }
    }
    Ok(stats)
}

/// An op during which an injected allocation failure fired. Each engine
/// must be in one of two worlds: the op took full effect (the kernel's retry
/// succeeded: its result equals the reference's), or none at all (its result
/// is the kernel's answer to the failure, e.g. `ENOMEM`). The reference
/// engine (`engines[0]`, not yet changed) is moved to the world the engines
/// are in; `after` is a copy of it with the op applied. Returns whether the
/// op had no effect.
fn check_faulted_op(
    engines: &mut [Box<dyn TreeEngine>],
    after: &dyn TreeEngine,
    faulted: &[bool],
    outcomes: &[Outcome],
    step: usize,
    op: &TreeOp,
    opts: &Options,
) -> Result<bool, Box<Divergence>> {
    let before_entries = engines[0].entries();
    let after_entries = after.entries();
    let mut world_before = None;
    for i in 1..engines.len() {
        let got = engines[i].entries();
        let in_after = got == after_entries;
        let in_before = got == before_entries;
        let (world, ok) = if in_after && outcomes[i] == outcomes[0] {
            (false, true)
        } else if in_before && faulted[i] {
            let failure_answer = Outcome::enomem(op).is_some_and(|o| outcomes[i] == o)
                // mtree_erase() returns the entry even when its store failed.
                || (matches!(op, TreeOp::Erase { .. }) && outcomes[i] == outcomes[0]);
            (true, failure_answer)
        } else {
            (false, false)
        };
        let agrees = world_before.map_or(true, |w| w == world);
        if !ok || !agrees {
            let detail = format!(
                "an injected allocation failure fired during the op; {} returned {:?} and its \
                 entries are {}; the op alone returns {:?}\n{}",
                engines[i].name(),
                outcomes[i],
                if in_after {
                    "as after the op"
                } else if in_before {
                    "as before the op"
                } else {
                    "neither as before nor as after the op"
                },
                outcomes[0],
                entries_diff(
                    if in_before {
                        &before_entries
                    } else {
                        &after_entries
                    },
                    &got
                )
            );
            let name = e_name(engines, i);
            return Err(diverge(
                engines,
                step,
                op,
                Check::Atomicity,
                name,
                detail,
                opts,
            ));
        }
        world_before = Some(world);
    }
    if world_before == Some(true) {
        // The op did nothing to the tree; what every engine does to its
        // maple state before any such op (ending a pending preallocation's
        // store_prealloc readiness) still stands.
        if !crate::engine::leaves_state_alone(op) {
            engines[0].apply(&TreeOp::MasDestroy);
        }
    } else {
        let copy = after
            .snapshot()
            .expect("the reference engine can be copied");
        engines[0] = copy;
    }
    Ok(world_before == Some(true))
}

/// The first engine whose nodes differ from those of the first engine that
/// has nodes, and how.
fn structure_check(engines: &[Box<dyn TreeEngine>]) -> Option<(usize, String)> {
    let with_nodes: Vec<usize> = (0..engines.len())
        .filter(|&i| engines[i].inspect().is_some())
        .collect();
    let (&first, rest) = with_nodes.split_first()?;
    let base = engines[first].inspect()?;
    for &i in rest {
        let other = engines[i].inspect()?;
        let mut diff = None;
        let mut had = false;
        base.with_nodes(&mut |a| {
            had = other.with_nodes(&mut |b| diff = crate::tree::structure_diff(a, b));
        });
        if let (true, Some(d)) = (had, diff) {
            return Some((
                i,
                format!(
                    "node layouts differ ({} first, {} second): {d}",
                    engines[first].name(),
                    engines[i].name()
                ),
            ));
        }
    }
    None
}

fn e_name(engines: &[Box<dyn TreeEngine>], i: usize) -> String {
    engines.get(i).map(|e| e.name()).unwrap_or("?").to_string()
}

fn pause_all(
    engines: &mut [Box<dyn TreeEngine>],
    step: usize,
    op: &TreeOp,
    opts: &Options,
) -> Result<(), Box<Divergence>> {
    for i in 0..engines.len() {
        let e = &mut engines[i];
        if let Err(p) = catch_unwind(AssertUnwindSafe(|| e.apply(&TreeOp::Pause))) {
            let name = e_name(engines, i);
            return Err(diverge(
                engines,
                step,
                op,
                Check::Crash,
                name,
                format!("engine panicked pausing its cursor: {}", panic_message(&*p)),
                opts,
            ));
        }
    }
    Ok(())
}

fn diverge(
    engines: &[Box<dyn TreeEngine>],
    step: usize,
    op: &TreeOp,
    check: Check,
    engine: String,
    detail: String,
    opts: &Options,
) -> Box<Divergence> {
    let mut dumps = Vec::new();
    if opts.dumps {
        for e in engines {
            if let Some(ins) = e.inspect() {
                // A crashed engine may be too broken to dump.
                if let Ok(d) = catch_unwind(AssertUnwindSafe(|| ins.dump())) {
                    dumps.push((e.name().to_string(), d));
                }
            }
        }
    }
    Box::new(Divergence {
        step,
        op: Op::Tree(op.clone()),
        check,
        engine,
        detail,
        dumps,
        // Filled in by run_observed, which knows the counts before the op.
        store_types: Vec::new(),
        fatal: None,
    })
}

// The planted defects damage the port through its `mutants` hooks.
#[cfg(all(test, feature = "mutants"))]
mod tests;
