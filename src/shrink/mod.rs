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
//! 3. value simplification ([`values`]): value tokens renumbered 1, 2, 3 in
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
//! The reproducer writers live beside: [`text`] (the regression file),
//! [`rust`] (a `#[test]`), [`c`] (a `lib/test_maple_tree.c`-style check).

pub mod c;
pub mod rust;
pub mod text;
mod values;

use crate::diff::{self, Check, Divergence, RunStats};
use crate::ops::Program;
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
}

impl Default for Options {
    fn default() -> Self {
        Options {
            max_runs: 50_000,
            timeout: Some(Duration::from_secs(60)),
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
}

impl Goal {
    /// The goal of a divergence: what it must stay.
    pub fn of(d: &Divergence) -> Goal {
        Goal {
            check: d.check,
            op_kind: d.op.kind(),
            engine: d.engine.clone(),
            store_types: d.store_types.clone(),
        }
    }

    /// Whether `d` fails the same way.
    pub fn matches(&self, d: &Divergence) -> bool {
        *self == Goal::of(d)
    }
}

/// The result of a shrink.
#[derive(Debug)]
pub struct Shrunk {
    /// The smallest failing program found.
    pub program: Program,
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
pub type RunFn<'a> = dyn FnMut(&Program) -> Result<RunStats, Box<Divergence>> + 'a;

/// [`diff::run`] without node dumps (they are never read while shrinking).
pub fn run_fast(program: &Program) -> Result<RunStats, Box<Divergence>> {
    let mut engines = diff::default_engines(program);
    let opts = diff::Options {
        dumps: false,
        ..diff::Options::default()
    };
    diff::run_with(program, &mut engines, opts)
}

/// Shrinks `program` on the default engines ([`run_fast`]).
pub fn shrink(program: &Program, opts: &Options) -> Result<Shrunk, ShrinkError> {
    shrink_with(program, opts, &mut run_fast)
}

/// Shrinks `program` with `run` deciding whether a candidate fails (tests
/// pass engines with a planted bug). Panics inside `run` that the executor
/// catches are not printed while shrinking.
pub fn shrink_with(
    program: &Program,
    opts: &Options,
    run: &mut RunFn<'_>,
) -> Result<Shrunk, ShrinkError> {
    quiet_panics(|| {
        let start = Instant::now();
        let first = match run(program) {
            Ok(stats) => return Err(ShrinkError::NoDivergence(Box::new(stats))),
            Err(d) => d,
        };
        let mut best = program.clone();
        best.ops.truncate(first.step + 1);
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
            original_ops: program.ops.len(),
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
pub struct Reproducer<'a> {
    /// The fuzz target the program belongs to (`tree_ops`, ...).
    pub target: &'a str,
    /// Where the original program came from (a file name).
    pub source: &'a str,
    /// The shrink.
    pub shrunk: &'a Shrunk,
}

impl Reproducer<'_> {
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
            s.program.ops.len(),
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
/// fault counts (see [`values::num_cost`]), then the value tokens. A kept
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
struct Search<'r, 'a> {
    run: &'r mut RunFn<'a>,
    goal: Goal,
    best: Program,
    best_div: Box<Divergence>,
    runs: u64,
    kept: u64,
    max_runs: u64,
    deadline: Option<Instant>,
    exhausted: bool,
}

impl Search<'_, '_> {
    /// Whether another candidate may run.
    fn budget_left(&mut self) -> bool {
        if self.runs >= self.max_runs || self.deadline.is_some_and(|d| Instant::now() >= d) {
            self.exhausted = true;
        }
        !self.exhausted
    }

    /// Runs `cand` and keeps it if it fails the same way and is simpler.
    fn try_candidate(&mut self, cand: Program) -> bool {
        if cost(&cand) >= cost(&self.best) || !self.budget_left() {
            return false;
        }
        self.runs += 1;
        match (self.run)(&cand) {
            Err(d) if self.goal.matches(&d) => {
                let mut cand = cand;
                cand.ops.truncate(d.step + 1);
                self.best = cand;
                self.best_div = d;
                self.kept += 1;
                true
            }
            _ => false,
        }
    }

    /// The best program without ops `[at, at + n)`.
    fn without(&self, at: usize, n: usize) -> Program {
        let mut p = self.best.clone();
        let end = (at + n).min(p.ops.len());
        p.ops.drain(at..end);
        p
    }

    fn minimise(&mut self) {
        loop {
            let before = cost(&self.best);
            self.remove_chunks();
            self.remove_adjacent_pairs();
            self.simplify_values();
            if self.exhausted || cost(&self.best) == before {
                return;
            }
        }
    }

    /// Delta debugging: chunks of half the program, a quarter, ..., then
    /// single ops; a chunk that goes is not stepped over.
    fn remove_chunks(&mut self) {
        let mut size = (self.best.ops.len() / 2).max(1);
        loop {
            let mut at = 0;
            while at < self.best.ops.len() && !self.exhausted {
                if !self.try_candidate(self.without(at, size)) {
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
        while at + 1 < self.best.ops.len() && !self.exhausted {
            if !self.try_candidate(self.without(at, 2)) {
                at += 1;
            }
        }
    }

    /// Whole-program rewrites first, then op by op, field by field: the
    /// first simpler candidate that still fails is kept.
    fn simplify_values(&mut self) {
        for cand in values::global_candidates(&self.best) {
            if self.exhausted {
                return;
            }
            self.try_candidate(cand);
        }
        let mut i = 0;
        while i < self.best.ops.len() && !self.exhausted {
            let mut changed = false;
            for op in values::op_candidates(&self.best.ops[i]) {
                let mut cand = self.best.clone();
                cand.ops[i] = op;
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
