//! The structured shrinker: a failing program made as small and as plain
//! as it can be while it still fails the same way.
//!
//! A candidate is kept iff running it ends in a [`Divergence`] that matches
//! the original's [`Goal`]: the same check, the same op kind at the failing
//! step, the same blamed engine, and (when the engine counts them) the same
//! store types run by that op. Every kept candidate is cut right after its
//! failing step (later ops never run), and it must be simpler than the best
//! program so far by [`cost`], so every pass terminates.
//!
//! The passes, repeated until a round changes nothing:
//!
//! 1. delta debugging over the op list: remove chunks of half the
//!    program, then a quarter, and so on down to single ops;
//! 2. remove every pair of adjacent ops (pairs the chunk pass could not
//!    remove one at a time, at every alignment);
//! 3. value simplification (`values.rs`): value tokens renumbered 1, 2, 3 in
//!    order of appearance; keys renumbered closer together (order and
//!    adjacency kept, page alignment kept where the program has it); then
//!    op by op keys toward 0 and page-aligned, ranges shorter, sizes
//!    smaller, fault schedules narrowed (`from`/`every` to `nth`, counts
//!    down).
//!
//! The order of candidates is fixed, so the result depends only on the
//! program and the run function, unless a limit of [`Options`] (a deadline,
//! a maximum number of candidate runs) cuts the search short; then the best
//! program so far is returned and [`Shrunk::complete`] is false.
//!
//! The search is generic over [`Shrinkable`] programs: tree programs
//! ([`Program`], simplified by `values.rs`), address-space programs
//! ([`VmaProgram`](crate::ops::vma::VmaProgram), simplified by `vma.rs`) and [`AnyProgram`], which the
//! driver uses for files of either language.
//!
//! The reproducer writers live beside: [`text`] (the regression file),
//! [`rust`] (a `#[test]`), [`c`] (a `lib/test_maple_tree.c`-style check
//! for tree programs), [`syscalls`] (a C program of system calls for VMA
//! programs).

pub mod c;
pub mod rust;
pub mod syscalls;
pub mod text;
mod values;
mod vma;
pub mod vma_engine;

use crate::diff::{self, Check, Divergence, RunStats};
use crate::engine::EngineSet;
use crate::ops::{AnyProgram, Program};
use crate::tree::StoreType;
use std::cell::Cell;
use std::fmt;
use std::time::{Duration, Instant};

/// Limits of one shrink.
#[derive(Clone, Copy, Debug)]
pub struct Options {
    /// Stop after this many candidate runs.
    pub max_runs: u64,
    /// Stop after this much wall time (`None`: no deadline).
    pub timeout: Option<Duration>,
    /// A candidate run in a child process (when the failure is a fatal
    /// signal or a hang) that takes longer than this is a hang.
    pub hang: Duration,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            max_runs: 50_000,
            timeout: Some(Duration::from_secs(60)),
            hang: diff::isolated::DEFAULT_LIMIT,
        }
    }
}

/// What a candidate must keep failing with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Goal {
    /// The failed check.
    pub check: Check,
    /// The kind of the op at the failing step.
    pub op_kind: &'static str,
    /// The engine blamed.
    pub engine: String,
    /// The store types that op ran (empty when the engine does not count
    /// them or the op ran no store).
    pub store_types: Vec<StoreType>,
    /// For a fatal signal: the same signal in the same function.
    pub fatal: Option<diff::Fatal>,
}

impl Goal {
    /// The goal of a divergence: what it must stay.
    pub fn of(d: &Divergence) -> Goal {
        Goal {
            check: d.check,
            op_kind: d.op.kind(),
            engine: d.engine.clone(),
            store_types: d.store_types.clone(),
            fatal: d.fatal.clone(),
        }
    }

    /// Whether `d` fails the same way.
    pub fn matches(&self, d: &Divergence) -> bool {
        *self == Goal::of(d)
    }
}

/// A program the shrinker can work on: an op list with simpler variants.
///
/// Every candidate a method returns must be a valid program of the same
/// language; the search keeps it only if it still fails the same way and
/// costs less by [`Shrinkable::cost`].
pub trait Shrinkable: Clone {
    /// The number of ops.
    fn len(&self) -> usize;
    /// Whether there are no ops.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Drops every op from `n` on.
    fn truncate(&mut self, n: usize);
    /// The program without ops `[at, at + n)`.
    fn without(&self, at: usize, n: usize) -> Self;
    /// How complex it is: op count, then numbers (keys, sizes, fault
    /// counts), then value tokens. Lower is simpler.
    fn cost(&self) -> (usize, u64, u64);
    /// Whole-program rewrites, simplest first.
    fn global_candidates(&self) -> Vec<Self>;
    /// The program with op `i` replaced by each simpler version of it.
    fn op_candidates(&self, i: usize) -> Vec<Self>;
    /// The text form.
    fn text(&self) -> String;
    /// Runs it on its default engines, without node dumps.
    fn run_fast(&self, engines: &EngineSet) -> Result<RunStats, Box<Divergence>>;
}

impl Shrinkable for Program {
    fn len(&self) -> usize {
        self.ops.len()
    }
    fn truncate(&mut self, n: usize) {
        self.ops.truncate(n);
    }
    fn without(&self, at: usize, n: usize) -> Self {
        without_ops(self, &self.ops, at, n, |p| &mut p.ops)
    }
    fn cost(&self) -> (usize, u64, u64) {
        cost(self)
    }
    fn global_candidates(&self) -> Vec<Self> {
        values::global_candidates(self)
    }
    fn op_candidates(&self, i: usize) -> Vec<Self> {
        each_op_in(self, i, values::op_candidates(&self.ops[i]), |p| &mut p.ops)
    }
    fn text(&self) -> String {
        crate::ops::text::format_program(self)
    }
    fn run_fast(&self, engines: &EngineSet) -> Result<RunStats, Box<Divergence>> {
        run_fast(self, engines)
    }
}

impl Shrinkable for AnyProgram {
    fn len(&self) -> usize {
        AnyProgram::len(self)
    }
    fn truncate(&mut self, n: usize) {
        match self {
            AnyProgram::Tree(p) => p.truncate(n),
            AnyProgram::Vma(p) => p.truncate(n),
        }
    }
    fn without(&self, at: usize, n: usize) -> Self {
        match self {
            AnyProgram::Tree(p) => AnyProgram::Tree(p.without(at, n)),
            AnyProgram::Vma(p) => AnyProgram::Vma(p.without(at, n)),
        }
    }
    fn cost(&self) -> (usize, u64, u64) {
        match self {
            AnyProgram::Tree(p) => p.cost(),
            AnyProgram::Vma(p) => p.cost(),
        }
    }
    fn global_candidates(&self) -> Vec<Self> {
        match self {
            AnyProgram::Tree(p) => wrap(p.global_candidates(), AnyProgram::Tree),
            AnyProgram::Vma(p) => wrap(p.global_candidates(), AnyProgram::Vma),
        }
    }
    fn op_candidates(&self, i: usize) -> Vec<Self> {
        match self {
            AnyProgram::Tree(p) => wrap(p.op_candidates(i), AnyProgram::Tree),
            AnyProgram::Vma(p) => wrap(p.op_candidates(i), AnyProgram::Vma),
        }
    }
    fn text(&self) -> String {
        AnyProgram::text(self)
    }
    fn run_fast(&self, engines: &EngineSet) -> Result<RunStats, Box<Divergence>> {
        match self {
            AnyProgram::Tree(p) => run_fast(p, engines),
            AnyProgram::Vma(p) => p.run_fast(engines),
        }
    }
}

/// `p` (whose ops are `ops`, reached in a copy by `ops_of`) without ops
/// `[at, at + n)`.
pub(crate) fn without_ops<P: Clone, O>(
    p: &P,
    ops: &[O],
    at: usize,
    n: usize,
    ops_of: fn(&mut P) -> &mut Vec<O>,
) -> P {
    let mut q = p.clone();
    let end = (at + n).min(ops.len());
    ops_of(&mut q).drain(at..end);
    q
}

/// One copy of `p` per candidate, with op `i` replaced by it.
pub(crate) fn each_op_in<P: Clone, O>(
    p: &P,
    i: usize,
    candidates: Vec<O>,
    ops_of: fn(&mut P) -> &mut Vec<O>,
) -> Vec<P> {
    candidates
        .into_iter()
        .map(|op| {
            let mut q = p.clone();
            ops_of(&mut q)[i] = op;
            q
        })
        .collect()
}

fn wrap<P>(v: Vec<P>, f: fn(P) -> AnyProgram) -> Vec<AnyProgram> {
    v.into_iter().map(f).collect()
}

/// The result of a shrink.
#[derive(Clone, Debug)]
pub struct Shrunk<P = Program> {
    /// The smallest failing program found.
    pub program: P,
    /// Its divergence, as the run function reported it.
    pub divergence: Box<Divergence>,
    /// The op count of the program given.
    pub original_ops: usize,
    /// Candidate runs made (the first run of the original included).
    pub runs: u64,
    /// Candidates kept.
    pub kept: u64,
    /// Whether every pass ran to its end (no limit of [`Options`] hit).
    pub complete: bool,
    /// Wall time spent.
    pub elapsed: Duration,
}

impl<P> Shrunk<P> {
    /// The same shrink with its program in another form (the typed
    /// program of an [`AnyProgram`] shrink, for the writers).
    pub fn with_program<Q>(&self, program: Q) -> Shrunk<Q> {
        Shrunk {
            program,
            divergence: self.divergence.clone(),
            original_ops: self.original_ops,
            runs: self.runs,
            kept: self.kept,
            complete: self.complete,
            elapsed: self.elapsed,
        }
    }
}

/// Why a program cannot be shrunk.
#[derive(Debug)]
pub enum ShrinkError {
    /// The program runs clean: there is nothing to keep failing.
    NoDivergence(Box<RunStats>),
}

impl fmt::Display for ShrinkError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ShrinkError::NoDivergence(stats) => match &stats.stopped {
                Some((step, why)) => write!(
                    f,
                    "the program does not diverge: it stops at step {step} as a caller error ({why})"
                ),
                None => write!(f, "the program does not diverge ({} ops ran clean)", stats.ops),
            },
        }
    }
}

impl std::error::Error for ShrinkError {}

/// A run function: one program through some engines, as [`diff::run`].
pub type RunFn<'a, P = Program> = dyn FnMut(&P) -> Result<RunStats, Box<Divergence>> + 'a;

/// [`diff::run`] without node dumps (they are never read while shrinking).
pub fn run_fast(program: &Program, engines: &EngineSet) -> Result<RunStats, Box<Divergence>> {
    let mut engines = engines.build(program.config);
    let opts = diff::Options {
        dumps: false,
        ..diff::Options::default()
    };
    diff::run_with(program, &mut engines, opts)
}

/// Shrinks `program` on `engines` ([`Shrinkable::run_fast`]).
pub fn shrink<P: Shrinkable>(
    program: &P,
    engines: &EngineSet,
    opts: &Options,
) -> Result<Shrunk<P>, ShrinkError> {
    shrink_with(program, opts, &mut |p: &P| p.run_fast(engines))
}

/// Shrinks a program of either language whatever its failure: the first
/// run is made in a child process ([`diff::isolated`]); when the failure is
/// one a process cannot survive (a fatal signal, a hang), every candidate
/// runs in a child process too, on the same engines, mutant and time limit,
/// and is kept only if it dies of the same signal in the same function.
/// Otherwise the candidates run in this process, as [`shrink`] runs them.
pub fn shrink_any(
    program: &AnyProgram,
    engines: &EngineSet,
    opts: &Options,
) -> Result<Shrunk<AnyProgram>, ShrinkError> {
    let names = diff::isolated::engine_names(program, engines);
    let limit = opts.hang;
    let mut isolated = |p: &AnyProgram| {
        diff::isolated::run_isolated_with(p, limit, &names, &mut |p| p.run_fast(engines))
    };
    match isolated(program) {
        Err(d) if matches!(d.check, Check::Signal | Check::Hang) => {
            shrink_with(program, opts, &mut isolated)
        }
        Ok(stats) => Err(ShrinkError::NoDivergence(Box::new(stats))),
        Err(_) => shrink(program, engines, opts),
    }
}

/// Shrinks `program` with `run` deciding whether a candidate fails (tests
/// pass engines with a planted bug). Panics inside `run` that the executor
/// catches are not printed while shrinking.
pub fn shrink_with<P: Shrinkable>(
    program: &P,
    opts: &Options,
    run: &mut RunFn<'_, P>,
) -> Result<Shrunk<P>, ShrinkError> {
    quiet_panics(|| {
        let start = Instant::now();
        let first = match run(program) {
            Ok(stats) => return Err(ShrinkError::NoDivergence(Box::new(stats))),
            Err(d) => d,
        };
        let mut best = program.clone();
        best.truncate(first.step + 1);
        let mut s = Search {
            run,
            goal: Goal::of(&first),
            best,
            best_div: first,
            runs: 1,
            kept: 0,
            max_runs: opts.max_runs,
            deadline: opts.timeout.map(|t| start + t),
            exhausted: false,
        };
        s.minimise();
        Ok(Shrunk {
            program: s.best,
            divergence: s.best_div,
            original_ops: program.len(),
            runs: s.runs,
            kept: s.kept,
            complete: !s.exhausted,
            elapsed: start.elapsed(),
        })
    })
}

/// A shrunk failure ready to be written out: what every writer ([`text`],
/// [`rust`], [`c`]) says about it.
#[derive(Debug)]
pub struct Reproducer<'a, P = Program> {
    /// The fuzz target the program belongs to (`tree_ops`, ...).
    pub target: &'a str,
    /// Where the original program came from (a file name).
    pub source: &'a str,
    /// The shrink.
    pub shrunk: &'a Shrunk<P>,
}

impl<'a, P> Reproducer<'a, P> {
    /// The same reproducer over another form of its shrink (the typed
    /// program of an [`AnyProgram`] shrink, for the writers).
    pub fn over<Q>(&self, shrunk: &'a Shrunk<Q>) -> Reproducer<'a, Q> {
        Reproducer {
            target: self.target,
            source: self.source,
            shrunk,
        }
    }
}

impl<P: Shrinkable> Reproducer<'_, P> {
    /// The bug signature ([`Divergence::bug_signature`]).
    pub fn signature(&self) -> String {
        self.shrunk.divergence.bug_signature()
    }

    /// The signature as an identifier: `corrupt_node_store_rust`.
    pub fn ident(&self) -> String {
        self.signature()
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() {
                    c.to_ascii_lowercase()
                } else {
                    '_'
                }
            })
            .collect()
    }

    /// A few lines saying what fails and where the program came from.
    pub fn summary(&self) -> Vec<String> {
        let s = self.shrunk;
        let d = &s.divergence;
        let mut lines = vec![
            format!(
                "maplefuzz {}: the {} check fails in engine {} after `{}` (step {})",
                self.signature(),
                d.check,
                d.engine,
                d.op,
                d.step
            ),
            d.detail
                .lines()
                .next()
                .unwrap_or("")
                .chars()
                .take(200)
                .collect(),
        ];
        if !d.store_types.is_empty() {
            let names: Vec<&str> = d.store_types.iter().map(|t| t.name()).collect();
            lines.push(format!("that op ran: {}", names.join(", ")));
        }
        lines.push(format!("target: {}", self.target));
        lines.push(format!(
            "shrunk by `maplefuzz shrink` from {} ({} ops to {}, {} runs{})",
            self.source,
            s.original_ops,
            s.program.len(),
            s.runs,
            if s.complete {
                ""
            } else {
                ", cut short by its limits"
            }
        ));
        lines
    }
}

/// How complex a program is: op count first, then the keys, sizes and
/// fault counts (see `values::num_cost`), then the value tokens. A kept
/// candidate always costs less than the best program before it.
pub fn cost(p: &Program) -> (usize, u64, u64) {
    let mut nums = 0u64;
    let mut tokens = 0u64;
    for op in &p.ops {
        let (n, t) = values::op_cost(op);
        nums = nums.saturating_add(n);
        tokens = tokens.saturating_add(t);
    }
    (p.ops.len(), nums, tokens)
}

/// The state of one shrink.
struct Search<'r, 'a, P> {
    run: &'r mut RunFn<'a, P>,
    goal: Goal,
    best: P,
    best_div: Box<Divergence>,
    runs: u64,
    kept: u64,
    max_runs: u64,
    deadline: Option<Instant>,
    exhausted: bool,
}

impl<P: Shrinkable> Search<'_, '_, P> {
    /// Whether another candidate may run.
    fn budget_left(&mut self) -> bool {
        if self.runs >= self.max_runs || self.deadline.is_some_and(|d| Instant::now() >= d) {
            self.exhausted = true;
        }
        !self.exhausted
    }

    /// Runs `cand` and keeps it if it fails the same way and is simpler.
    fn try_candidate(&mut self, cand: P) -> bool {
        if cand.cost() >= self.best.cost() || !self.budget_left() {
            return false;
        }
        self.runs += 1;
        match (self.run)(&cand) {
            Err(d) if self.goal.matches(&d) => {
                let mut cand = cand;
                cand.truncate(d.step + 1);
                self.best = cand;
                self.best_div = d;
                self.kept += 1;
                true
            }
            _ => false,
        }
    }

    fn minimise(&mut self) {
        loop {
            let before = self.best.cost();
            self.remove_chunks();
            self.remove_adjacent_pairs();
            self.simplify_values();
            if self.exhausted || self.best.cost() == before {
                return;
            }
        }
    }

    /// Delta debugging: chunks of half the program, a quarter, ..., then
    /// single ops; a chunk that goes is not stepped over.
    fn remove_chunks(&mut self) {
        let mut size = (self.best.len() / 2).max(1);
        loop {
            let mut at = 0;
            while at < self.best.len() && !self.exhausted {
                if !self.try_candidate(self.best.without(at, size)) {
                    at += size;
                }
            }
            if size == 1 || self.exhausted {
                return;
            }
            size /= 2;
        }
    }

    /// Every two neighbouring ops together, at every offset.
    fn remove_adjacent_pairs(&mut self) {
        let mut at = 0;
        while at + 1 < self.best.len() && !self.exhausted {
            if !self.try_candidate(self.best.without(at, 2)) {
                at += 1;
            }
        }
    }

    /// Whole-program rewrites first, then op by op, field by field: the
    /// first simpler candidate that still fails is kept.
    fn simplify_values(&mut self) {
        for cand in self.best.global_candidates() {
            if self.exhausted {
                return;
            }
            self.try_candidate(cand);
        }
        let mut i = 0;
        while i < self.best.len() && !self.exhausted {
            let mut changed = false;
            for cand in self.best.op_candidates(i) {
                if self.try_candidate(cand) {
                    changed = true;
                    break;
                }
            }
            // A kept change may allow another on the same op.
            if !changed {
                i += 1;
            }
        }
    }
}

thread_local! {
    static QUIET: Cell<bool> = const { Cell::new(false) };
}

/// Runs `f` with panic messages of this thread not printed (the executor
/// catches engine panics and reports them as `crash` divergences; while
/// shrinking, thousands of candidates may panic). Other threads print as
/// before.
pub fn quiet_panics<R>(f: impl FnOnce() -> R) -> R {
    static INSTALL: std::sync::Once = std::sync::Once::new();
    INSTALL.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !QUIET.with(Cell::get) {
                previous(info);
            }
        }));
    });
    struct Restore(bool);
    impl Drop for Restore {
        fn drop(&mut self) {
            QUIET.with(|q| q.set(self.0));
        }
    }
    let _restore = Restore(QUIET.with(|q| q.replace(true)));
    f()
}

#[cfg(test)]
mod tests;
