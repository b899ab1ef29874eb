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

mod checks;
pub mod isolated;
pub mod vma;

use crate::engine::{EngineSet, Outcome, TreeEngine};
use crate::ops::{Op, Program, TreeOp};
use crate::tree::{PathStats, StoreStats, StoreType};
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
    /// Engines of one generation allocated or freed a different number of
    /// nodes during the op.
    Traffic,
    /// The process died of a fatal signal during the op (seen from a
    /// parent: [`isolated`]).
    Signal,
    /// The execution ran past its time limit (seen from a parent:
    /// [`isolated`]).
    Hang,
    /// A write to an RCU-mode tree broke the copy-on-write contract
    /// readers rely on ([`crate::tree::RcuImage::check_write`]): a node
    /// readers could reach changed in a way the kernel does not allow
    /// under them, left the tree without being marked dead, or was freed
    /// before a grace period.
    Rcu,
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
            Check::Traffic => "traffic",
            Check::Signal => "signal",
            Check::Hang => "hang",
            Check::Rcu => "rcu",
        }
    }

    /// Every check, for parsing names back.
    pub const ALL: [Check; 13] = [
        Check::Result,
        Check::Contents,
        Check::Accounting,
        Check::Validate,
        Check::Prealloc,
        Check::Atomicity,
        Check::Crash,
        Check::Structure,
        Check::Pages,
        Check::Traffic,
        Check::Signal,
        Check::Hang,
        Check::Rcu,
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
            Check::Structure | Check::Traffic => "layout",
            Check::Rcu => "rcu",
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
    /// Run the checks whose cost grows with the tree (validation, node
    /// accounting, the structural check) every this many ops, and after
    /// every destroy, bulk-mode op, op under an injected failure, before a
    /// stop and at the end; 1 runs them after every op. The per-op checks
    /// (results, contents around the touched range, preallocation, node
    /// traffic, atomicity) run after every op either way. See [`run`] for
    /// how a divergence found late is placed at its op.
    pub check_every: usize,
    /// Attach node dumps to divergences.
    pub dumps: bool,
    /// Compare the node layouts of engines that have nodes after every op.
    pub structure: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            full_every: 16,
            check_every: 1,
            dumps: true,
            structure: true,
        }
    }
}

/// What a clean run did.
#[derive(Clone, Debug, Default)]
pub struct RunStats {
    /// Set when the run ended early without a divergence: the program broke
    /// the preallocation contract (a store other than the one preallocated
    /// for needed more nodes than the writer held, where the kernel WARNs
    /// and crashes: the caller is at fault, not the tree). The step and
    /// what happened.
    pub stopped: Option<(usize, String)>,
    /// Ops executed.
    pub ops: usize,
    /// Store types the Rust engine ran.
    pub store_stats: StoreStats,
    /// The counted kernel paths the Rust engine ran ([`crate::tree::Path`]).
    pub path_stats: PathStats,
    /// The largest number of entries seen.
    pub max_entries: usize,
    /// Ops a group of engines answered [`Outcome::Unsupported`] (its
    /// kernel lacks the call: `alloc_cyclic` before Linux 6.10), counted
    /// once a group, after the results check found every engine of the
    /// group agreeing with its reference.
    pub unsupported: u64,
}

/// The body of every coverage-guided fuzz target (libFuzzer, honggfuzz):
/// decode the bytes with the one decoder, run the program with the one
/// executor on the engines `MAPLEFUZZ_ENGINES` names (read once per
/// process: [`EngineSet::from_env`]), and on a divergence panic with the
/// runnable text program and the report, so the fuzzer records a crash
/// whose message reproduces it.
pub fn fuzz_bytes(data: &[u8]) {
    fuzz_program(&crate::ops::binary::decode(data));
}

/// The body of [`fuzz_bytes`] after decoding, for targets that adjust the
/// decoded program first (e.g. `tree_alloc` forces an allocation tree).
pub fn fuzz_program(p: &Program) {
    static ENGINES: std::sync::OnceLock<EngineSet> = std::sync::OnceLock::new();
    if let Err(d) = run(p, ENGINES.get_or_init(EngineSet::from_env)) {
        panic!(
            "maplefuzz divergence; the program:\n{}\n{}",
            crate::ops::text::format_program(p),
            d
        );
    }
}

/// Runs a program of either language ([`run`] on `engines`, or
/// [`vma::run_set`]: the VMA oracle, the model and the kernel VMA engines
/// of `engines`' trees).
pub fn run_any(
    program: &crate::ops::AnyProgram,
    engines: &EngineSet,
) -> Result<RunStats, Box<Divergence>> {
    match program {
        crate::ops::AnyProgram::Tree(p) => run(p, engines),
        crate::ops::AnyProgram::Vma(p) => vma::run_set(p, engines),
    }
}

/// How often [`run`] makes the checks whose cost grows with the tree
/// ([`Options::check_every`]), chosen from measurement
/// (docs/benchmarks.md, "How often the full pass runs").
pub const CHECK_EVERY: usize = 64;

/// Runs `program` on fresh engines of `engines`: [`run_checked_every`] at
/// [`CHECK_EVERY`].
pub fn run(program: &Program, engines: &EngineSet) -> Result<RunStats, Box<Divergence>> {
    run_checked_every(program, engines, CHECK_EVERY)
}

/// Runs `program` on fresh engines of `engines`, with the checks that cost
/// the tree's size every `every` ops. A divergence is then placed exactly:
/// the program is run again, up to the step where it showed, on fresh
/// engines with every check after every op, and the first failure of that
/// run is the report (the op that broke the tree, as with `every` = 1).
/// Only if that run is clean (an engine that does not repeat itself) does
/// the first report stand.
pub fn run_checked_every(
    program: &Program,
    engines: &EngineSet,
    every: usize,
) -> Result<RunStats, Box<Divergence>> {
    let every = every.max(1);
    let opts = Options {
        check_every: every,
        // The whole contents are compared as often as before, or at the
        // full passes when those are rarer.
        full_every: every.max(Options::default().full_every),
        ..Options::default()
    };
    let late = match run_with(program, &mut engines.build(program.config), opts) {
        Err(d) if every > 1 => d,
        Ok(stats) if every > 1 && stats.stopped.is_some() => {
            // A run that stops at a caller error ends between full passes:
            // the ops before the stop are run again with every check.
            let stop = stats.stopped.as_ref().map_or(0, |s| s.0);
            let before = Program {
                ops: program.ops[..stop.min(program.ops.len())].to_vec(),
                ..program.clone()
            };
            return run_with(
                &before,
                &mut engines.build(program.config),
                Options::default(),
            )
            .map(|_| stats);
        }
        r => return r,
    };
    let end = (late.step + 1).min(program.ops.len());
    let prefix = Program {
        ops: program.ops[..end].to_vec(),
        ..program.clone()
    };
    match run_with(
        &prefix,
        &mut engines.build(program.config),
        Options::default(),
    ) {
        Err(exact) => Err(exact),
        Ok(_) => Err(late),
    }
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

/// Each engine's store-type counts, for engines that keep them, into `out`.
fn store_stats_of(engines: &[Box<dyn TreeEngine>], out: &mut Vec<Option<StoreStats>>) {
    out.clear();
    out.extend(engines.iter().map(|e| e.inspect().map(|i| i.store_stats())));
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

/// The reference groups of `engines`: each starts at a reference engine
/// (the oracle of one kernel-version profile,
/// [`TreeEngine::is_reference`]) and holds the engines compared with it.
/// The first engine is always a reference; most sets are one group.
fn reference_groups(engines: &[Box<dyn TreeEngine>]) -> Vec<std::ops::Range<usize>> {
    let mut starts: Vec<usize> = (1..engines.len())
        .filter(|&i| engines[i].is_reference())
        .collect();
    starts.insert(0, 0);
    let ends = starts.iter().skip(1).copied().chain([engines.len()]);
    starts
        .iter()
        .copied()
        .zip(ends)
        .map(|(a, b)| a..b)
        .collect()
}

/// The body of [`run_observed`]; `before` holds each engine's store-type
/// counts from before the op of the current step. One step: pause the
/// cursors if the op needs it, apply the op to every engine, then the
/// checks of [`checks`] in order, group by group (each group's engines
/// against its own reference: [`reference_groups`]); the first that fails
/// ends the run.
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
    let groups = reference_groups(engines);
    // Buffers of every step, kept from one step to the next.
    let mut traffic_before: Vec<Option<(u64, u64)>> = Vec::new();
    // RCU-mode trees: each engine's nodes as readers could find them, from
    // before the op (the copy-on-write check), kept from step to step.
    let mut rcu_images: Vec<Option<crate::tree::RcuImage>> = Vec::new();
    rcu_images.resize_with(engines.len(), || None);
    let mut plans = Vec::new();
    let mut applied = Vec::with_capacity(groups.len());
    'steps: for (step, op) in program.ops.iter().enumerate() {
        store_stats_of(engines, before);
        traffic_before.clear();
        traffic_before.extend(
            engines
                .iter()
                .map(|e| e.inspect().and_then(|i| i.node_traffic())),
        );
        checks::prealloc_plans(engines, op, &mut plans);
        if is_cursor_move(op) && engines.iter().any(|e| e.cursor_positioned() == Some(false)) {
            for g in &groups {
                pause_all(&mut engines[g.clone()], &at(step, op, &opts, g.start))?;
            }
            observe(Event::Pause { step, after: false });
        }
        if let TreeOp::FailAllocs { schedule } = op {
            faults_active = *schedule != crate::tree::FaultSchedule::Never;
        }
        if program.config.rcu {
            checks::rcu_capture(engines, &mut rcu_images);
        }
        observe(Event::Begin { step });
        applied.clear();
        for g in &groups {
            let at = at(step, op, &opts, g.start);
            let fault_mode = faults_active && op.allocates();
            applied.push(apply(&mut engines[g.clone()], &at, fault_mode)?);
        }
        observe(Event::Op {
            step,
            outcomes: applied
                .iter()
                .flat_map(|a| a.outcomes.iter().cloned())
                .collect(),
        });
        // One Fault event a step: the first group's (the port's, when
        // it has an injected failure) stands for the step.
        let mut fault_told = false;
        for (g, applied) in groups.iter().zip(applied.drain(..)) {
            let at = at(step, op, &opts, g.start);
            let group = &mut engines[g.clone()];
            let observe = &mut |e: Event| {
                if matches!(e, Event::Fault { .. }) {
                    if fault_told {
                        return;
                    }
                    fault_told = true;
                }
                observe(e)
            };
            if let Some(why) = checks::caller_error(group, &applied.outcomes, &at)? {
                // The engines may hold a half-done op now: nothing more is
                // checked (run_checked_every checks the ops before in full).
                stats.stopped = Some((step, why));
                break 'steps;
            }
            // Whether each engine's op succeeded, for the preallocation
            // check (which judges only a `prealloc` op).
            let ok: Vec<bool> = if matches!(op, TreeOp::Prealloc { .. }) {
                applied
                    .outcomes
                    .iter()
                    .map(|o| *o == Outcome::Status(Ok(())))
                    .collect()
            } else {
                Vec::new()
            };
            let unsupported = applied.outcomes.first() == Some(&Outcome::Unsupported);
            if let Some(why) = checks::results(group, applied, &at, observe)? {
                // The engines stand in different, each correct, places:
                // nothing after this step can be compared.
                stats.stopped = Some((step, why));
                break 'steps;
            }
            if unsupported {
                stats.unsupported += 1;
            }
            checks::prealloc_request(group, &at, &plans[g.clone()], &ok)?;
            if program.config.rcu {
                checks::copy_on_write(group, &at, &mut rcu_images[g.clone()])?;
                checks::grace_period(group, &at)?;
            }
            // A write through the cursor leaves it where the write does;
            // any other write pauses it, as a kernel caller must before
            // reusing a state across a write made elsewhere.
            if op.is_write() && !op.writes_at_cursor() {
                pause_all(group, &at)?;
                if g.start == 0 {
                    observe(Event::Pause { step, after: true });
                }
            }
            let full = (step + 1) % opts.full_every.max(1) == 0
                || step + 1 == n
                || matches!(op, TreeOp::Destroy);
            checks::contents(group, &at, full, &mut stats)?;
            let full_pass = (step + 1) % opts.check_every.max(1) == 0
                || step + 1 == n
                || (faults_active && op.allocates())
                || matches!(
                    op,
                    TreeOp::Destroy | TreeOp::ExpectedEntries { .. } | TreeOp::MasDestroy
                );
            if full_pass {
                tree_checks(group, g.start, &at)?;
            } else {
                for i in 0..group.len() {
                    position::set_position(step, g.start + i);
                    checks::validate(group, i, &at, true)?;
                }
                position::set_position(step, position::NO_ENGINE);
            }
            if opts.structure {
                checks::traffic(group, &at, &traffic_before[g.clone()])?;
            }
        }
        stats.ops += 1;
    }
    for e in engines.iter() {
        if let Some(ins) = e.inspect() {
            stats.store_stats.merge(&ins.store_stats());
            stats.path_stats.merge(&ins.path_stats());
        }
    }
    Ok(stats)
}

/// The checks whose cost grows with the tree, for the engines of one group
/// (which starts at `base` in the whole list): each engine's node
/// accounting and validation, then the structural check across engines.
fn tree_checks(
    group: &[Box<dyn TreeEngine>],
    base: usize,
    at: &At<'_>,
) -> Result<(), Box<Divergence>> {
    for i in 0..group.len() {
        position::set_position(at.step, base + i);
        checks::accounting(group, i, at)?;
        checks::validate(group, i, at, false)?;
    }
    position::set_position(at.step, position::NO_ENGINE);
    if at.opts.structure {
        checks::structure(group, at)?;
    }
    Ok(())
}

/// The place of a step for the engines of the group that starts at `base`.
fn at<'a>(step: usize, op: &'a TreeOp, opts: &'a Options, base: usize) -> At<'a> {
    At {
        step,
        op,
        opts,
        base,
    }
}

/// Where the executor is: the step, its op, and the options (every check
/// and every report takes it).
pub(crate) struct At<'a> {
    pub(crate) step: usize,
    pub(crate) op: &'a TreeOp,
    pub(crate) opts: &'a Options,
    /// The index, in the whole engine list, of the first engine of the
    /// group being checked (for the in-flight position of a fatal signal).
    pub(crate) base: usize,
}

impl At<'_> {
    /// The divergence of a failed check at this step.
    pub(crate) fn diverge(
        &self,
        engines: &[Box<dyn TreeEngine>],
        check: Check,
        engine: String,
        detail: String,
    ) -> Box<Divergence> {
        diverge(
            engines, self.step, self.op, check, engine, detail, self.opts,
        )
    }
}

/// A cursor op that steps from where the cursor is (the executor pauses the
/// cursors first when an engine has none positioned).
fn is_cursor_move(op: &TreeOp) -> bool {
    matches!(
        op,
        TreeOp::MasFind { .. }
            | TreeOp::MasFindRev { .. }
            | TreeOp::MasNext { .. }
            | TreeOp::MasPrev { .. }
    )
}

/// What applying one op did: each engine's outcome, and under a fault
/// schedule a copy of the reference engine with the op applied (the
/// reference itself is left as before the op) and each engine's failed
/// allocations before it (empty without a fault schedule: only the
/// atomicity check reads them).
pub(crate) struct Applied {
    pub(crate) outcomes: Vec<Outcome>,
    pub(crate) reference_after: Option<Box<dyn TreeEngine>>,
    pub(crate) failed_before: Vec<u64>,
}

/// Applies the op to every engine. Under a fault schedule (`fault_mode`)
/// the reference engine runs last, on a copy, so that the state before the
/// op is still at hand for the atomicity check. A panic is a **crash** (a
/// [`crate::tree::PreallocViolation`] a **prealloc** divergence).
fn apply(
    engines: &mut [Box<dyn TreeEngine>],
    at: &At<'_>,
    fault_mode: bool,
) -> Result<Applied, Box<Divergence>> {
    let failed_before: Vec<u64> = if fault_mode {
        engines
            .iter()
            .map(|e| e.inspect().map_or(0, |i| i.failed_allocs()))
            .collect()
    } else {
        Vec::new()
    };
    let n = engines.len();
    // Under a fault schedule the reference runs last: 1, 2, .., n - 1, 0.
    let order = (0..n).map(|k| if fault_mode { (k + 1) % n } else { k });
    let mut outcomes: Vec<Option<Outcome>> = vec![None; n];
    let mut reference_after: Option<Box<dyn TreeEngine>> = None;
    for i in order {
        position::set_position(at.step, at.base + i);
        let op = at.op;
        let result = if fault_mode && i == 0 {
            // Without the state before the op, atomicity cannot be
            // judged: a reference engine that cannot be copied is a
            // harness bug, not something to run past.
            let mut copy = engines[0]
                .snapshot()
                .expect("the reference engine (engines[0]) must support snapshot()");
            let r = catch_unwind(AssertUnwindSafe(|| copy.apply(op)));
            reference_after = Some(copy);
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
                let name = e_name(engines, i);
                let detail = format!("engine panicked: {}", panic_message(&*p));
                return Err(at.diverge(engines, check, name, detail));
            }
        }
    }
    position::set_position(at.step, position::NO_ENGINE);
    Ok(Applied {
        outcomes: outcomes
            .into_iter()
            .map(|o| o.expect("every engine ran"))
            .collect(),
        reference_after,
        failed_before,
    })
}

pub(crate) fn e_name(engines: &[Box<dyn TreeEngine>], i: usize) -> String {
    engines.get(i).map(|e| e.name()).unwrap_or("?").to_string()
}

/// Pauses every engine's cursor (a panic there is a **crash**).
fn pause_all(engines: &mut [Box<dyn TreeEngine>], at: &At<'_>) -> Result<(), Box<Divergence>> {
    for i in 0..engines.len() {
        let e = &mut engines[i];
        if let Err(p) = catch_unwind(AssertUnwindSafe(|| e.apply(&TreeOp::Pause))) {
            let name = e_name(engines, i);
            let detail = format!("engine panicked pausing its cursor: {}", panic_message(&*p));
            return Err(at.diverge(engines, Check::Crash, name, detail));
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
