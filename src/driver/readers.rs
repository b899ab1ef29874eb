// SPDX-License-Identifier: GPL-2.0-or-later
//! Threaded readers on the kernel engine (`maplefuzz readers`; issue #19,
//! "rcu-readers").
//!
//! Each generated program (an RCU-mode tree) runs through the ordinary
//! executor ([`diff::run_observed`]) on the oracle and one kernel engine,
//! while reader threads inside the kernel engine read the same tree with
//! the kernel's lockless read API (`mtree_load`, `mt_find`, `mas_walk`
//! then `mas_find` steps), each read inside an RCU read-side section (see
//! `kernel/csrc/api.h`, "Readers mode"). The writer steps a sequence
//! number around every C op (odd while one runs) and waits for a grace
//! period before it frees what an op replaced.
//!
//! Every reader observation carries the sequence numbers read before and
//! after its section, so the states of the tree it may have seen are known:
//! from the state before the first op that overlapped its section to the
//! state after the last. The oracle's value of every key of the key set
//! (the boundaries of the program's writes, at most [`MAX_KEYS`]) is
//! recorded after each op ([`History`]), and [`History::check`] judges each
//! observation against those states. A violation is a divergence: its
//! program is written to the crash directory first, then reported.
//!
//! A program the executor stops (a caller error, answers that part) or
//! that one engine answers `Unsupported` is skipped, as the fuzz driver
//! does; an ordinary divergence between the oracle and the kernel is
//! reported as the fuzz driver would.

use super::crash::{sanitize, write_reproducer};
use super::{clock_seed, exec_seed, Artifact, DriverError};
use crate::diff::{self, Divergence, Event, Options};
use crate::engine::{
    profile_of_tree, Inspect, KernelChoice, KernelEngine, OracleEngine, Outcome, PreallocRule,
    TreeEngine,
};
use crate::ops::gen::{generate_profile, Profile};
use crate::ops::text::format_op;
use crate::ops::{token_to_entry, AnyProgram, Program, TreeOp};
use maplefuzz_kernel::{Observation, ReaderLog, ReaderOp};
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use std::cell::RefCell;
use std::collections::BTreeSet;
use std::fmt;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::time::{Duration, Instant};

/// The most keys the readers read.
pub const MAX_KEYS: usize = 64;

/// The most observations each reader logs per program.
pub const LOG_CAP: usize = 1 << 15;

/// The generator profiles readers mode cycles through (not `tree_faults`:
/// an injected failure makes the executor run the oracle on a copy).
pub const PROFILES: [Profile; 3] = [Profile::TreeOps, Profile::TreeAlloc, Profile::TreePrealloc];

/// What a readers campaign runs.
#[derive(Clone, Debug)]
pub struct ReadersOptions {
    /// Time budget in seconds (0: none).
    pub seconds: u64,
    /// Stop after this many programs.
    pub max_programs: Option<u64>,
    /// Reader threads.
    pub threads: u32,
    /// The campaign seed (`None`: from the clock).
    pub seed: Option<u64>,
    /// The kernel engine.
    pub kernel: KernelChoice,
    /// Where a failing program is written.
    pub crash_dir: PathBuf,
    /// The reads the readers make (empty: all).
    pub reads: Vec<ReaderOp>,
    /// Test-only: the writer frees replaced nodes without waiting for a
    /// grace period (a planted bug the check must catch).
    pub no_grace: bool,
}

/// What a readers campaign did.
#[derive(Clone, Debug, Default)]
pub struct ReadersStats {
    /// Programs run to the end and checked.
    pub programs: u64,
    /// Programs skipped (stopped at a caller error, or an op the kernel
    /// lacks).
    pub skipped: u64,
    /// Ops of the checked programs.
    pub ops: u64,
    /// Observations the readers made.
    pub made: u64,
    /// Observations checked.
    pub checked: u64,
    /// Of those, the ones whose read-side section overlapped an op.
    pub overlapping: u64,
    /// Observations left out of the readers' logs (each keeps a uniform
    /// sample of what its reader made).
    pub dropped: u64,
    /// Observations made while the writer was idle and not logged.
    pub quiet: u64,
    /// Time spent.
    pub elapsed: Duration,
}

impl fmt::Display for ReadersStats {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} programs checked ({} skipped), {} ops, {} reader observations made, {} checked \
             ({} overlapping an op), {} left out of the logs' samples, {} quiet ones not logged, \
             {:.1} s",
            self.programs,
            self.skipped,
            self.ops,
            self.made,
            self.checked,
            self.overlapping,
            self.dropped,
            self.quiet,
            self.elapsed.as_secs_f64()
        )
    }
}

/// A failing program.
#[derive(Debug)]
pub struct ReadersFailure {
    /// The program's index in the campaign and its seed.
    pub index: u64,
    /// Its seed ([`exec_seed`]).
    pub exec_seed: u64,
    /// The report.
    pub report: String,
    /// The reproducer, or why it could not be written.
    pub artifact: Result<Artifact, String>,
}

/// How a readers campaign ended.
#[derive(Debug)]
pub struct ReadersOutcome {
    /// The campaign seed.
    pub seed: u64,
    /// What ran.
    pub stats: ReadersStats,
    /// The first failure, if any.
    pub failure: Option<ReadersFailure>,
}

impl ReadersOutcome {
    /// 0 clean, 1 a failure.
    pub fn exit_code(&self) -> i32 {
        i32::from(self.failure.is_some())
    }
}

/// The keys readers read: `first - 1`, `first`, `last`, `last + 1` of each
/// write of `program` (the window of an allocating op), at most
/// [`MAX_KEYS`] of them (chosen by `rng`), in order.
pub fn key_set(program: &Program, rng: &mut ChaCha8Rng) -> Vec<u64> {
    let mut all = BTreeSet::new();
    for op in &program.ops {
        let (a, b) = match *op {
            TreeOp::Store { first, last, .. }
            | TreeOp::Insert { first, last, .. }
            | TreeOp::MasStore { first, last, .. }
            | TreeOp::Prealloc { first, last, .. } => (first, last),
            TreeOp::Erase { index } => (index, index),
            TreeOp::AllocRange { min, max, .. }
            | TreeOp::AllocRRange { min, max, .. }
            | TreeOp::AllocCyclic { min, max, .. } => (min, max),
            _ => continue,
        };
        all.extend([a.saturating_sub(1), a, b, b.saturating_add(1)]);
    }
    if all.is_empty() {
        all.insert(0);
    }
    let mut v: Vec<u64> = all.into_iter().collect();
    if v.len() > MAX_KEYS {
        v.shuffle(rng);
        v.truncate(MAX_KEYS);
        v.sort_unstable();
    }
    v
}

/// One kernel op window: the sequence numbers around one `apply` of the
/// kernel engine, and the program step and op it ran.
#[derive(Clone, Debug)]
pub struct Window {
    /// The sequence number before the op (even).
    pub before: u64,
    /// The sequence number after it (even).
    pub after: u64,
    /// The program step the executor was at.
    pub step: usize,
    /// The op the engine ran (a program op, or the executor's own pause).
    pub op: TreeOp,
}

/// The values each key held, state by state: `states[0]` before the
/// program, `states[j + 1]` after window `j`; and which entry it was: the
/// key's entry number (`entries`) changes whenever a write stores to the
/// key or its value changes, so one number over several states is one
/// entry present throughout (the same value stored again is another entry).
#[derive(Clone, Debug)]
pub struct History {
    keys: Vec<u64>,
    states: Vec<Vec<u64>>,
    entries: Vec<Vec<u32>>,
    windows: Vec<Window>,
}

/// Why an observation is wrong.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Violation {
    /// What is wrong, in one sentence.
    pub why: String,
    /// The states the reader may have seen (`states[lo..=hi]`).
    pub span: (usize, usize),
}

impl History {
    /// A history over `keys` (sorted, distinct) whose first state holds
    /// `initial` (raw entries, 0 for NULL).
    pub fn new(keys: Vec<u64>, initial: Vec<u64>) -> History {
        assert_eq!(keys.len(), initial.len());
        let n = keys.len();
        History {
            keys,
            states: vec![initial],
            entries: vec![vec![0; n]],
            windows: Vec::new(),
        }
    }

    /// The keys.
    pub fn keys(&self) -> &[u64] {
        &self.keys
    }

    /// Records one kernel op window and the values after it; `stored`
    /// says which keys the op stored to (a key whose value changed is
    /// taken as stored to either way).
    pub fn push(&mut self, window: Window, values: Vec<u64>, stored: impl Fn(u64) -> bool) {
        assert_eq!(values.len(), self.keys.len());
        let (before, numbers) = (
            self.states.last().expect("a first state"),
            self.entries.last().expect("a first state"),
        );
        let next: Vec<u32> = (0..self.keys.len())
            .map(|i| {
                let new = values[i] != before[i] || stored(self.keys[i]);
                numbers[i] + u32::from(new)
            })
            .collect();
        self.windows.push(window);
        self.states.push(values);
        self.entries.push(next);
    }

    /// The states a read-side section between sequence numbers `a` and
    /// `b` may have seen: `(lo, hi)`, indices into the states. Every op
    /// that ended by `a` is seen whole; no op that began after `b` is seen.
    pub fn span(&self, a: u64, b: u64) -> (usize, usize) {
        let lo = self.windows.partition_point(|w| w.after <= a);
        let hi = self.windows.partition_point(|w| w.before < b);
        (lo, hi.max(lo))
    }

    fn key_no(&self, k: u64) -> Option<usize> {
        self.keys.binary_search(&k).ok()
    }

    /// Whether key `k` held `v` in one of the states `lo..=hi` (true for a
    /// key the history does not follow).
    fn held(&self, k: u64, v: u64, (lo, hi): (usize, usize)) -> bool {
        match self.key_no(k) {
            None => true,
            Some(i) => self.states[lo..=hi].iter().any(|s| s[i] == v),
        }
    }

    /// The first key of the set in `[from, to)` that held one entry (not
    /// NULL, not `unless`) throughout the states `lo..=hi`: the same entry
    /// in every one of them (an entry replaced meanwhile, even by another,
    /// need not be seen: RCU readers see what was there throughout, and
    /// each entry for as long as it is there, old or new).
    fn present_throughout(
        &self,
        from: u64,
        to: Option<u64>,
        unless: u64,
        (lo, hi): (usize, usize),
    ) -> Option<u64> {
        let start = self.keys.partition_point(|&k| k < from);
        self.keys[start..]
            .iter()
            .enumerate()
            .take_while(|(_, &k)| to.map_or(true, |t| k < t))
            .find(|(i, _)| {
                let k = start + i;
                let (v, e) = (self.states[lo][k], self.entries[lo][k]);
                v != 0 && v != unless && self.entries[lo..=hi].iter().all(|n| n[k] == e)
            })
            .map(|(_, &k)| k)
    }

    /// Checks one observation against the states its section may have seen.
    pub fn check(&self, o: &Observation) -> Result<(), Violation> {
        let span = self.span(o.seq_before, o.seq_after);
        let v = o.value;
        let fail = |why: String| Err(Violation { why, span });
        let not_held = |k: u64| !self.held(k, v, span);
        match o.op() {
            ReaderOp::Bug => fail("the kernel hit a BUG or WARN in a reader thread".into()),
            ReaderOp::Load => {
                if not_held(o.key) {
                    return fail(format!("the key held {v:#x} in none of those states"));
                }
                Ok(())
            }
            ReaderOp::Walk => {
                if !(o.index <= o.key && o.key <= o.last) {
                    return fail(format!(
                        "the range [{:#x}, {:#x}] does not hold the key walked to",
                        o.index, o.last
                    ));
                }
                for (what, k) in [("the key", o.key), ("the range's first", o.index)] {
                    if not_held(k) {
                        return fail(format!(
                            "{what} ({k:#x}) held {v:#x} in none of those states"
                        ));
                    }
                }
                if not_held(o.last) {
                    return fail(format!(
                        "the range's last ({:#x}) held {v:#x} in none of those states",
                        o.last
                    ));
                }
                Ok(())
            }
            ReaderOp::Find | ReaderOp::Next => {
                if v == 0 {
                    if let Some(k) = self.present_throughout(o.key, None, 0, span) {
                        return fail(format!(
                            "nothing was found from {:#x}, but {k:#x} held one entry throughout \
                             those states",
                            o.key
                        ));
                    }
                    return Ok(());
                }
                let find = o.op() == ReaderOp::Find;
                let first = if find { o.key } else { o.index };
                if o.last < o.key || first > o.last {
                    return fail(format!(
                        "the range [{first:#x}, {:#x}] ends before the search's start",
                        o.last
                    ));
                }
                // An entry that begins before the start must cover it: a
                // search that finds its node dead walks again from where
                // it stood, and may land in an entry a write stretched
                // over that place.
                if first < o.key && not_held(o.key) {
                    return fail(format!(
                        "the range [{first:#x}, {:#x}] begins before the search's start, \
                         which held {v:#x} in none of those states",
                        o.last
                    ));
                }
                if !find && not_held(o.index) {
                    return fail(format!(
                        "the range's first ({:#x}) held {v:#x} in none of those states",
                        o.index
                    ));
                }
                if not_held(o.last) {
                    return fail(format!(
                        "the range's last ({:#x}) held {v:#x} in none of those states",
                        o.last
                    ));
                }
                // Skipped: a key before the entry found that held an entry
                // in every state. mt_find() does not say where its entry
                // starts: a key that held another entry throughout lies
                // before it.
                let skipped = if find {
                    self.present_throughout(o.key, Some(o.last), v, span)
                } else {
                    self.present_throughout(o.key, Some(o.index), 0, span)
                };
                if let Some(k) = skipped {
                    return fail(format!(
                        "{k:#x}, between the search's start and the entry found, held one \
                         other entry throughout those states"
                    ));
                }
                Ok(())
            }
        }
    }

    /// The ops a violation's states span, for its report.
    pub fn describe_span(&self, (lo, hi): (usize, usize)) -> String {
        let mut s = String::new();
        let state = |i: usize| {
            if i == 0 {
                "the tree before the program".to_string()
            } else {
                let w = &self.windows[i - 1];
                format!("the state after step {} ({})", w.step, format_op(&w.op))
            }
        };
        s.push_str(&format!(
            "the states it may have seen: {} .. {}",
            state(lo),
            state(hi)
        ));
        let writes: Vec<&Window> = self.windows[lo..hi]
            .iter()
            .filter(|w| w.op.is_write())
            .collect();
        if writes.is_empty() {
            s.push_str("\nno write overlapped the read");
        }
        for w in writes.iter().take(8) {
            s.push_str(&format!(
                "\noverlapping write: step {} `{}` (sequence {}..{})",
                w.step,
                format_op(&w.op),
                w.before,
                w.after
            ));
        }
        s
    }

    /// The values of key `k` in states `lo..=hi`, for a report.
    pub fn values_of(&self, k: u64, (lo, hi): (usize, usize)) -> Option<Vec<u64>> {
        let i = self.key_no(k)?;
        let mut v: Vec<u64> = self.states[lo..=hi].iter().map(|s| s[i]).collect();
        v.dedup();
        Some(v)
    }
}

/// One observation, in words.
pub fn describe(o: &Observation) -> String {
    match o.op() {
        ReaderOp::Load => format!("mtree_load({:#x}) = {:#x}", o.key, o.value),
        ReaderOp::Find => format!(
            "mt_find(from {:#x}) = {:#x}, ending at {:#x}",
            o.key, o.value, o.last
        ),
        ReaderOp::Walk => format!(
            "mas_walk({:#x}) = {:#x} over [{:#x}, {:#x}]",
            o.key, o.value, o.index, o.last
        ),
        ReaderOp::Next => format!(
            "mas_find(from {:#x}) = {:#x} over [{:#x}, {:#x}]",
            o.key, o.value, o.index, o.last
        ),
        ReaderOp::Bug => "a kernel BUG in a reader".to_string(),
    }
}

/// What the two wrapped engines share.
struct Book {
    history: History,
    /// The oracle's values after its latest op, for the kernel's op of
    /// the same step.
    pending: Option<Vec<u64>>,
    step: usize,
    log: Option<ReaderLog>,
}

type Shared = Rc<RefCell<Book>>;

/// The oracle, recording each key's value after every op.
struct Recorder {
    inner: OracleEngine,
    book: Shared,
}

fn values(e: &dyn TreeEngine, keys: &[u64]) -> Vec<u64> {
    keys.iter()
        .map(|&k| {
            e.entries_in(k, k)
                .first()
                .map_or(0, |&(_, _, t)| token_to_entry(t))
        })
        .collect()
}

impl TreeEngine for Recorder {
    fn name(&self) -> &'static str {
        TreeEngine::name(&self.inner)
    }
    fn apply(&mut self, op: &TreeOp) -> Outcome {
        let o = TreeEngine::apply(&mut self.inner, op);
        let v = values(&self.inner, self.book.borrow().history.keys());
        self.book.borrow_mut().pending = Some(v);
        o
    }
    fn entries(&self) -> Vec<(u64, u64, u64)> {
        TreeEngine::entries(&self.inner)
    }
    fn entries_in(&self, lo: u64, hi: u64) -> Vec<(u64, u64, u64)> {
        TreeEngine::entries_in(&self.inner, lo, hi)
    }
    fn is_reference(&self) -> bool {
        TreeEngine::is_reference(&self.inner)
    }
    fn inspect(&self) -> Option<&dyn Inspect> {
        TreeEngine::inspect(&self.inner)
    }
    fn cursor_positioned(&self) -> Option<bool> {
        TreeEngine::cursor_positioned(&self.inner)
    }
    fn follow(&mut self, op: &TreeOp, answer: &Outcome) {
        TreeEngine::follow(&mut self.inner, op, answer)
    }
    fn snapshot(&self) -> Option<Box<dyn TreeEngine>> {
        TreeEngine::snapshot(&self.inner)
    }
    fn grace_period(&mut self) {
        TreeEngine::grace_period(&mut self.inner)
    }
    fn take_store_journal(&mut self) -> Option<Vec<crate::tree::Store>> {
        TreeEngine::take_store_journal(&mut self.inner)
    }
}

/// The kernel engine with readers running: each op's window is recorded
/// with the oracle's values after it; the readers are stopped and drained
/// when it is dropped.
struct Watched {
    inner: KernelEngine,
    book: Shared,
    /// The range of the writer's pending preallocation (for the
    /// `store_prealloc` that follows it).
    prealloc: Option<(u64, u64)>,
    /// The tree left RCU mode (6.1's destroy clears the flag): the C side
    /// stopped the readers after that op, the sequence number stands
    /// still, and later ops are not recorded (no read can have seen them).
    readers_off: bool,
}

/// The keys an op stores to, as far as the op says: a range it names, the
/// pending preallocation's, or every key for a write at the cursor (its
/// range is the kernel's state's). Ops that store to a gap or erase change
/// the keys' values, which counts by itself.
fn stored_by(op: &TreeOp, prealloc: Option<(u64, u64)>) -> impl Fn(u64) -> bool {
    let range = match *op {
        TreeOp::Store { first, last, .. }
        | TreeOp::Insert { first, last, .. }
        | TreeOp::MasStore { first, last, .. } => Some((first, last)),
        TreeOp::StorePrealloc { .. } => Some(prealloc.unwrap_or((0, u64::MAX))),
        TreeOp::CurStore { .. } | TreeOp::CurErase => Some((0, u64::MAX)),
        _ => None,
    };
    move |k| range.is_some_and(|(a, b)| a <= k && k <= b)
}

impl Watched {
    fn record(&mut self, op: &TreeOp, f: impl FnOnce(&mut KernelEngine) -> Outcome) -> Outcome {
        if self.readers_off {
            return f(&mut self.inner);
        }
        let before = self.inner.readers_seq();
        let o = f(&mut self.inner);
        let after = self.inner.readers_seq();
        self.readers_off = !self.inner.inspect().is_some_and(|i| i.rcu_mode());
        let stored = stored_by(op, self.prealloc);
        if let TreeOp::Prealloc { first, last, .. } = *op {
            self.prealloc = Some((first, last));
        }
        let mut b = self.book.borrow_mut();
        let values = match b.pending.take() {
            Some(v) => v,
            None => b.history.states.last().cloned().unwrap_or_default(),
        };
        let step = b.step;
        b.history.push(
            Window {
                before,
                after,
                step,
                op: op.clone(),
            },
            values,
            stored,
        );
        o
    }
}

impl TreeEngine for Watched {
    fn name(&self) -> &'static str {
        TreeEngine::name(&self.inner)
    }
    fn generation(&self) -> Option<&'static str> {
        TreeEngine::generation(&self.inner)
    }
    fn prealloc_rule(&self) -> Option<PreallocRule> {
        TreeEngine::prealloc_rule(&self.inner)
    }
    fn apply(&mut self, op: &TreeOp) -> Outcome {
        self.record(op, |k| TreeEngine::apply(k, op))
    }
    fn apply_unfaulted(&mut self, op: &TreeOp) -> Outcome {
        self.record(op, |k| TreeEngine::apply_unfaulted(k, op))
    }
    fn entries(&self) -> Vec<(u64, u64, u64)> {
        TreeEngine::entries(&self.inner)
    }
    fn entries_in(&self, lo: u64, hi: u64) -> Vec<(u64, u64, u64)> {
        TreeEngine::entries_in(&self.inner, lo, hi)
    }
    fn is_reference(&self) -> bool {
        TreeEngine::is_reference(&self.inner)
    }
    fn inspect(&self) -> Option<&dyn Inspect> {
        TreeEngine::inspect(&self.inner)
    }
    fn cursor_positioned(&self) -> Option<bool> {
        TreeEngine::cursor_positioned(&self.inner)
    }
    fn follow(&mut self, op: &TreeOp, answer: &Outcome) {
        TreeEngine::follow(&mut self.inner, op, answer)
    }
    fn grace_period(&mut self) {
        TreeEngine::grace_period(&mut self.inner)
    }
    fn take_store_journal(&mut self) -> Option<Vec<crate::tree::Store>> {
        TreeEngine::take_store_journal(&mut self.inner)
    }
}

impl Drop for Watched {
    fn drop(&mut self) {
        let log = self.inner.readers_drain();
        self.book.borrow_mut().log = Some(log);
    }
}

/// What one program did.
pub enum ProgramResult {
    /// Checked clean: (ops, the readers' log).
    Clean(usize, ReaderLog),
    /// Skipped: why.
    Skipped(String),
    /// The oracle and the kernel diverged in the executor's own checks.
    Diverged(Box<Divergence>),
    /// A reader saw what no state held; the report.
    Violation(String),
}

/// The program readers mode runs for `seed`: the profile's program on an
/// RCU-mode tree, without the ops that cannot run there (fault schedules,
/// bulk mode).
pub fn program_for(index: u64, seed: u64) -> Program {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let profile = PROFILES[(index % PROFILES.len() as u64) as usize];
    let mut p = generate_profile(profile, &mut rng);
    p.config.rcu = true;
    p.ops.retain(|op| {
        !matches!(
            op,
            TreeOp::FailAllocs { .. } | TreeOp::ExpectedEntries { .. }
        )
    });
    p
}

/// Runs `program` on the oracle and `kernel` with `threads` readers and
/// checks every observation.
pub fn run_program(
    program: &Program,
    opts: &ReadersOptions,
    seed: u64,
    stats: &mut ReadersStats,
) -> ProgramResult {
    let kernel = &opts.kernel;
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x5eed_4ead);
    let keys = key_set(program, &mut rng);
    let config = program.config;
    let oracle = OracleEngine::with_profile(config, profile_of_tree(kernel.tree));
    let book: Shared = Rc::new(RefCell::new(Book {
        history: History::new(keys.clone(), values(&oracle, &keys)),
        pending: None,
        step: 0,
        log: None,
    }));
    let mut k = KernelEngine::new(&kernel.info(), config);
    if let Err(e) = k.readers_start(
        opts.threads,
        &keys,
        seed,
        LOG_CAP,
        &opts.reads,
        opts.no_grace,
    ) {
        return ProgramResult::Skipped(format!("the readers did not start (errno {e})"));
    }
    let mut engines: Vec<Box<dyn TreeEngine>> = vec![
        Box::new(Recorder {
            inner: oracle,
            book: book.clone(),
        }),
        Box::new(Watched {
            inner: k,
            book: book.clone(),
            prealloc: None,
            readers_off: false,
        }),
    ];
    let opts = Options {
        check_every: diff::CHECK_EVERY,
        full_every: diff::CHECK_EVERY,
        ..Options::default()
    };
    let on_step = book.clone();
    let run = catch_unwind(AssertUnwindSafe(|| {
        diff::run_observed(program, &mut engines, opts, &mut |e| {
            if let Event::Begin { step } = e {
                on_step.borrow_mut().step = step;
            }
        })
    }));
    // Stops the readers and drains them into the book.
    drop(engines);
    let run = match run {
        Ok(r) => r,
        Err(p) => {
            return ProgramResult::Violation(format!(
                "the executor panicked: {}",
                diff::panic_message(&*p)
            ))
        }
    };
    let b = book.borrow();
    let log = b.log.clone().unwrap_or_default();
    stats.made += log.made;
    stats.dropped += log.dropped;
    stats.quiet += log.quiet;
    let run = match run {
        Err(d) => return ProgramResult::Diverged(d),
        Ok(r) => r,
    };
    if let Some((step, why)) = &run.stopped {
        return ProgramResult::Skipped(format!("stopped at step {step}: {why}"));
    }
    if run.unsupported > 0 {
        return ProgramResult::Skipped("an op the kernel lacks".to_string());
    }
    if let Some(bug) = &log.bug {
        return ProgramResult::Violation(format!("a reader thread hit a kernel BUG: {bug}"));
    }
    for o in &log.observations {
        stats.checked += 1;
        if o.seq_before != o.seq_after || o.seq_before % 2 == 1 {
            stats.overlapping += 1;
        }
        if let Err(v) = b.history.check(o) {
            let mut r = format!(
                "readers divergence on kernel@{}:{}: reader thread {}: {} (sequence {}..{})\n{}\n{}",
                kernel.tree,
                kernel.variant,
                o.thread,
                describe(o),
                o.seq_before,
                o.seq_after,
                v.why,
                b.history.describe_span(v.span)
            );
            for (what, k) in [("key", o.key), ("first", o.index), ("last", o.last)] {
                if let Some(vals) = b.history.values_of(k, v.span) {
                    let vals: Vec<String> = vals.iter().map(|x| format!("{x:#x}")).collect();
                    r.push_str(&format!(
                        "\n{what} {k:#x} held, state by state: {}",
                        vals.join(", ")
                    ));
                }
            }
            return ProgramResult::Violation(r);
        }
    }
    ProgramResult::Clean(run.ops, log)
}

/// Runs a readers campaign: programs until the budget, or the first
/// failure (its program written to the crash directory before it is
/// reported).
pub fn readers(
    opts: &ReadersOptions,
    progress: &mut dyn FnMut(&ReadersStats),
) -> Result<ReadersOutcome, DriverError> {
    let seed = opts.seed.unwrap_or_else(clock_seed);
    let start = Instant::now();
    let budget = (opts.seconds > 0).then(|| Duration::from_secs(opts.seconds));
    let mut stats = ReadersStats::default();
    let mut failure = None;
    let inflight = inflight_path(&opts.crash_dir);
    let mut last_shown = start;
    let mut index = 0u64;
    loop {
        if opts.max_programs.is_some_and(|m| index >= m)
            || budget.is_some_and(|b| start.elapsed() >= b)
        {
            break;
        }
        let s = exec_seed(seed, index);
        let program = program_for(index, s);
        // On disk first: a reader thread killed by a signal takes the
        // process with it (the in-flight handler arms one thread only).
        write_inflight(&inflight, &program).map_err(|e| DriverError::Input {
            path: inflight.clone(),
            message: e,
        })?;
        let report = match run_program(&program, opts, s, &mut stats) {
            ProgramResult::Clean(ops, _) => {
                stats.programs += 1;
                stats.ops += ops as u64;
                None
            }
            ProgramResult::Skipped(_) => {
                stats.skipped += 1;
                None
            }
            ProgramResult::Diverged(d) => Some((d.signature(), d.to_string())),
            ProgramResult::Violation(r) => Some(("readers".to_string(), r)),
        };
        if let Some((signature, report)) = report {
            let header = vec![
                format!("maplefuzz readers: {signature}"),
                format!(
                    "campaign seed {seed:#x}, program {index}, exec seed {s:#x}, {} readers, \
                     kernel@{}:{}",
                    opts.threads, opts.kernel.tree, opts.kernel.variant
                ),
                "reader interleavings are not reproducible: rerun with `maplefuzz readers \
                 --seed` and the same kernel, or replay the program for the writer's side"
                    .to_string(),
                report.clone(),
            ];
            let stem = sanitize(&format!("readers-{signature}-{s:016x}"));
            let artifact = write_reproducer(
                &opts.crash_dir,
                &stem,
                &header,
                &AnyProgram::Tree(program.clone()),
            )
            .map_err(|e| e.to_string());
            failure = Some(ReadersFailure {
                index,
                exec_seed: s,
                report,
                artifact,
            });
            break;
        }
        index += 1;
        if last_shown.elapsed() >= Duration::from_secs(5) {
            last_shown = Instant::now();
            stats.elapsed = start.elapsed();
            progress(&stats);
        }
    }
    let _ = std::fs::remove_file(&inflight);
    let _ = std::fs::remove_file(inflight.with_extension("txt"));
    stats.elapsed = start.elapsed();
    Ok(ReadersOutcome {
        seed,
        stats,
        failure,
    })
}

/// Where each program is written before it runs, and removed from when the
/// campaign ends clean: a signal in a reader thread kills the process
/// without a report (the in-flight handler of `maplefuzz_kernel::inflight`
/// knows the writer's thread only), and leaves the program there.
pub fn inflight_path(crash_dir: &Path) -> PathBuf {
    crash_dir.join(format!("readers-inflight-{}.bin", std::process::id()))
}

/// Writes the program in flight at `path` (binary) and beside it as text
/// (`.txt`).
fn write_inflight(path: &Path, program: &Program) -> Result<(), String> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
    }
    let p = AnyProgram::Tree(program.clone());
    std::fs::write(path, p.encode()).map_err(|e| e.to_string())?;
    std::fs::write(path.with_extension("txt"), p.text()).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn obs(op: ReaderOp, key: u64, value: u64, range: (u64, u64), seq: (u64, u64)) -> Observation {
        Observation::new(op, key, value, range, seq)
    }

    /// Keys 10, 20, 30; 10 holds 0x3 throughout; step 0 stores 0x5 at
    /// [20, 30] in window 2..4; step 1 erases 10 in window 4..6.
    fn history() -> History {
        let mut h = History::new(vec![10, 20, 30], vec![3, 0, 0]);
        let store = TreeOp::Store {
            first: 20,
            last: 30,
            value: Some(2),
        };
        h.push(
            Window {
                before: 2,
                after: 4,
                step: 0,
                op: store,
            },
            vec![3, 5, 5],
            |k| (20..=30).contains(&k),
        );
        h.push(
            Window {
                before: 4,
                after: 6,
                step: 1,
                op: TreeOp::Erase { index: 10 },
            },
            vec![0, 5, 5],
            |_| false,
        );
        h
    }

    #[test]
    fn an_entry_replaced_meanwhile_need_not_be_seen() {
        let mut h = history();
        // Step 2 stores the same value over [20, 30] again: a new entry.
        h.push(
            Window {
                before: 6,
                after: 8,
                step: 2,
                op: TreeOp::Store {
                    first: 20,
                    last: 30,
                    value: Some(2),
                },
            },
            vec![0, 5, 5],
            |k| (20..=30).contains(&k),
        );
        // Over it, nothing found from 15 is allowed...
        assert!(h.check(&obs(ReaderOp::Next, 15, 0, (0, 0), (7, 7))).is_ok());
        // ...but not before it, nor after it, nor over the erase alone.
        assert!(h
            .check(&obs(ReaderOp::Next, 15, 0, (0, 0), (6, 6)))
            .is_err());
        assert!(h
            .check(&obs(ReaderOp::Next, 15, 0, (0, 0), (8, 8)))
            .is_err());
        assert!(h
            .check(&obs(ReaderOp::Next, 15, 0, (0, 0), (5, 5)))
            .is_err());
    }

    #[test]
    fn spans_follow_the_sequence_numbers() {
        let h = history();
        assert_eq!(h.span(0, 2), (0, 0));
        assert_eq!(h.span(2, 2), (0, 0));
        assert_eq!(h.span(3, 3), (0, 1));
        assert_eq!(h.span(4, 4), (1, 1));
        assert_eq!(h.span(3, 5), (0, 2));
        assert_eq!(h.span(6, 6), (2, 2));
        assert_eq!(h.span(8, 9), (2, 2));
    }

    #[test]
    fn point_reads() {
        let h = history();
        assert!(h
            .check(&obs(ReaderOp::Load, 20, 0, (20, 20), (0, 0)))
            .is_ok());
        // During the store: old or new.
        assert!(h
            .check(&obs(ReaderOp::Load, 20, 5, (20, 20), (3, 3)))
            .is_ok());
        assert!(h
            .check(&obs(ReaderOp::Load, 20, 0, (20, 20), (3, 3)))
            .is_ok());
        // After it: only new.
        let v = h.check(&obs(ReaderOp::Load, 20, 0, (20, 20), (4, 4)));
        assert!(v.unwrap_err().why.contains("none of those states"));
        // A value nobody stored (a freed node's poison).
        assert!(h
            .check(&obs(ReaderOp::Load, 10, 0x6b6b, (10, 10), (0, 8)))
            .is_err());
    }

    #[test]
    fn walks_check_their_range() {
        let h = history();
        assert!(h
            .check(&obs(ReaderOp::Walk, 20, 5, (20, 30), (4, 4)))
            .is_ok());
        assert!(h
            .check(&obs(ReaderOp::Walk, 20, 5, (21, 30), (4, 4)))
            .is_err());
        // The range's last did not hold the value.
        let v = h.check(&obs(ReaderOp::Walk, 10, 3, (10, 20), (4, 4)));
        assert!(v.unwrap_err().why.contains("range's last"));
        assert!(h
            .check(&obs(ReaderOp::Walk, 20, 0, (11, 40), (0, 0)))
            .is_ok());
    }

    #[test]
    fn searches_must_not_skip_what_was_there_throughout() {
        let h = history();
        // From 0 before the program: 10 held 0x3.
        assert!(h.check(&obs(ReaderOp::Find, 0, 3, (0, 10), (0, 0))).is_ok());
        let skipped = h.check(&obs(ReaderOp::Next, 0, 5, (20, 30), (4, 4)));
        assert!(skipped.unwrap_err().why.contains("0xa, between"));
        // An entry over the start is found again after a rewalk.
        assert!(h
            .check(&obs(ReaderOp::Next, 25, 5, (20, 30), (4, 4)))
            .is_ok());
        assert!(h
            .check(&obs(ReaderOp::Next, 20, 5, (10, 30), (4, 4)))
            .is_err());
        assert!(h
            .check(&obs(ReaderOp::Next, 31, 5, (20, 30), (4, 4)))
            .is_err());
        let nothing = h.check(&obs(ReaderOp::Next, 0, 0, (0, 0), (0, 0)));
        assert!(nothing.unwrap_err().why.contains("nothing was found"));
        // Over the erase of 10: finding 20's entry is fine.
        assert!(h
            .check(&obs(ReaderOp::Next, 0, 5, (20, 30), (4, 6)))
            .is_ok());
        assert!(h.check(&obs(ReaderOp::Find, 0, 5, (0, 30), (5, 5))).is_ok());
        // After the erase, only 20's entry.
        assert!(h
            .check(&obs(ReaderOp::Find, 0, 3, (0, 10), (6, 6)))
            .is_err());
    }

    #[test]
    fn key_sets_are_bounded() {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let p = Program {
            config: Default::default(),
            ops: (0..100)
                .map(|i| TreeOp::Store {
                    first: i * 10,
                    last: i * 10 + 3,
                    value: Some(i),
                })
                .collect(),
        };
        let k = key_set(&p, &mut rng);
        assert_eq!(k.len(), MAX_KEYS);
        assert!(k.windows(2).all(|w| w[0] < w[1]));
        let small = Program {
            ops: p.ops[..2].to_vec(),
            ..p.clone()
        };
        assert_eq!(key_set(&small, &mut rng), vec![0, 3, 4, 9, 10, 13, 14]);
    }
}
