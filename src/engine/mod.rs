//! Engines: implementations of the same tree that one program runs on.
//!
//! [`TreeEngine`] covers every operation with results that compare exactly
//! across engines. [`Inspect`] is the engine-specific view (validation, node
//! accounting, store-type statistics, dump) that the oracle does not have.

use crate::ops::{entry_to_token, token_to_entry, TreeConfig, TreeOp};
use crate::tree::{Errno, Fixes, MaState, MapleTree, Status, StoreStats};
use maplefuzz_reference as oracle;

pub(crate) use bulk::BulkBook;

mod bulk;
pub mod kernel;
pub mod select;
pub mod vma;
pub use kernel::KernelEngine;
pub use select::EngineSet;

/// What an operation returned, in a form every engine can produce.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The op returns nothing (pause, set, destroy).
    Done,
    /// Store and insert: success or an errno.
    Status(Result<(), Errno>),
    /// Erase and load: the value token found, if any.
    Entry(Option<u64>),
    /// `mt_find`: the token found and the index it advanced to.
    Found { entry: Option<u64>, index: u64 },
    /// A maple-state op: the token returned and where the state stands.
    Cursor {
        entry: Option<u64>,
        index: u64,
        last: u64,
        status: Status,
    },
    /// A free-range search: the range found, or an errno.
    Range(Result<(u64, u64), Errno>),
    /// An allocating insert: the first index used, or an errno.
    Alloc(Result<u64, Errno>),
    /// The program broke the preallocation contract: a `mas_store` other
    /// than the one its writer preallocated for needed more nodes than the
    /// writer held. The kernel WARNs and crashes there; it is the caller's
    /// error, not the tree's, so the executor ends the run (see
    /// `diff::RunStats::stopped`).
    CallerError(String),
}

impl Outcome {
    /// The outcome of `op` when an injected allocation failure made it do
    /// nothing: what the kernel returns then.
    pub fn enomem(op: &TreeOp) -> Option<Outcome> {
        Some(match op {
            TreeOp::Store { .. }
            | TreeOp::Insert { .. }
            | TreeOp::Prealloc { .. }
            | TreeOp::MasStore { .. }
            | TreeOp::ExpectedEntries { .. } => Outcome::Status(Err(Errno::ENOMEM)),
            TreeOp::AllocRange { .. } | TreeOp::AllocRRange { .. } => {
                Outcome::Alloc(Err(Errno::ENOMEM))
            }
            _ => return None,
        })
    }
}

/// A program drives two maple states: the cursor (`walk`, `mas_find`,
/// `mas_find_rev`, `mas_next`, `mas_prev`, `pause`, `set`) and the writer
/// (`prealloc`, `store_prealloc`, `mas_store`, `mas_destroy`).
///
/// Ops a pending preallocation of the writer survives: its own stores, and
/// ops that leave both the writer and the tree's contents alone. Any other
/// op first releases it (`mas_destroy()`), as a correct kernel caller would
/// before writing to the tree another way.
pub fn keeps_preallocation(op: &TreeOp) -> bool {
    matches!(
        op,
        TreeOp::StorePrealloc { .. } | TreeOp::MasStore { .. } | TreeOp::MasDestroy
    ) || leaves_state_alone(op)
}

/// Ops that touch neither the writer maple state nor the tree's contents.
/// A `store_prealloc` is valid only when nothing but these ran since its
/// `prealloc`: the kernel's `mas_store_prealloc()` continues from exactly
/// where `mas_preallocate()` left the state.
pub fn leaves_state_alone(op: &TreeOp) -> bool {
    matches!(
        op,
        TreeOp::FailAllocs { .. }
            | TreeOp::Load { .. }
            | TreeOp::Find { .. }
            | TreeOp::EmptyArea { .. }
            | TreeOp::EmptyAreaRev { .. }
            | TreeOp::Walk { .. }
            | TreeOp::MasFind { .. }
            | TreeOp::MasFindRev { .. }
            | TreeOp::MasNext { .. }
            | TreeOp::MasPrev { .. }
            | TreeOp::Pause
            | TreeOp::Set { .. }
    )
}

/// What an engine remembers of its writer's preallocation protocol (see
/// [`keeps_preallocation`] and [`leaves_state_alone`]): the same rules for
/// every engine that has a writer maple state.
#[derive(Clone, Debug, Default)]
pub(crate) struct PreallocBook {
    /// The store the writer's preallocation was made for, if it holds one.
    pub(crate) pending: Option<(u64, u64, Option<u64>)>,
    /// The entry a `store_prealloc` may store now, if one may.
    store_ready: Option<Option<u64>>,
}

impl PreallocBook {
    /// Before `op`: whether the writer's preallocation must be released
    /// first (the caller then runs `mas_destroy()`), and which entry a
    /// `store_prealloc` may store during `op`.
    pub(crate) fn before(&mut self, op: &TreeOp) -> (bool, Option<Option<u64>>) {
        let release = self.pending.is_some() && !keeps_preallocation(op);
        if release {
            self.pending = None;
        }
        let ready = self.store_ready.take();
        if leaves_state_alone(op) {
            self.store_ready = ready;
        }
        (release, ready)
    }

    /// A preallocation for this store succeeded.
    pub(crate) fn preallocated(&mut self, first: u64, last: u64, value: Option<u64>) {
        self.pending = Some((first, last, value));
        self.store_ready = Some(value);
    }

    /// Whether a `mas_store` of this range and value is not the store the
    /// pending preallocation was made for.
    pub(crate) fn is_other_store(&self, first: u64, last: u64, value: Option<u64>) -> bool {
        self.pending.is_some_and(|p| p != (first, last, value))
    }
}

/// Node accounting of an engine that allocates nodes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NodeAccounting {
    /// Nodes allocated and not freed.
    pub live: u64,
    /// Nodes reachable from the root.
    pub reachable: u64,
    /// Nodes held by maple states (preallocations).
    pub held: u64,
}

impl NodeAccounting {
    /// Whether every live node is accounted for.
    pub fn balanced(&self) -> bool {
        self.live == self.reachable + self.held
    }
}

/// The inspection side of an engine under test.
pub trait Inspect {
    /// The engine's structural checks (the kernel's `mt_validate` and more).
    fn validate(&self) -> Result<(), String>;
    /// Allocated versus reachable nodes.
    fn accounting(&self) -> NodeAccounting;
    /// How many stores of each type ran.
    fn store_stats(&self) -> StoreStats;
    /// A canonical node dump.
    fn dump(&self) -> String;
    /// Node allocations refused by the fault schedule so far.
    fn failed_allocs(&self) -> u64;
    /// Node allocations attempted since the fault schedule was last set.
    fn alloc_attempts(&self) -> u64;
    /// Calls `f` with the engine's nodes as a port tree (the port itself,
    /// or a copy of a foreign engine's nodes) for the executor's structural
    /// check; `false` if the engine has no such nodes.
    fn with_nodes(&self, f: &mut dyn FnMut(&MapleTree)) -> bool {
        let _ = f;
        false
    }
}

/// An implementation of the maple tree's operations.
pub trait TreeEngine {
    /// A short name for reports ("oracle", "rust", "kernel").
    fn name(&self) -> &'static str;
    /// Runs one op.
    fn apply(&mut self, op: &TreeOp) -> Outcome;
    /// Every entry as `(first, last, token)`.
    fn entries(&self) -> Vec<(u64, u64, u64)>;
    /// The entries that meet `[lo, hi]`, in order.
    fn entries_in(&self, lo: u64, hi: u64) -> Vec<(u64, u64, u64)> {
        self.entries()
            .into_iter()
            .filter(|&(a, b, _)| b >= lo && a <= hi)
            .collect()
    }
    /// The inspection view, for engines that have one.
    fn inspect(&self) -> Option<&dyn Inspect> {
        None
    }
    /// Whether the engine can tell exactly where a kernel maple state would
    /// step from; `None` for engines that simply are such a state.
    fn cursor_positioned(&self) -> Option<bool> {
        None
    }
    /// A copy of the engine as it stands, for engines cheap to copy (the
    /// oracle): the executor keeps the state before an op that may fail.
    fn snapshot(&self) -> Option<Box<dyn TreeEngine>> {
        None
    }
}

fn tok(e: Option<u64>) -> Option<u64> {
    e.map(entry_to_token)
}

/// The Rust port (`src/tree`).
pub struct RustEngine {
    tree: MapleTree,
    /// The cursor.
    mas: MaState,
    /// The writer (preallocations and advanced stores).
    wmas: MaState,
    book: PreallocBook,
    /// The writer's bulk mode (see `bulk`).
    bulk: BulkBook,
    rcu: bool,
}

impl RustEngine {
    /// A fresh tree with `config`, with the fixes for the Linux 6.12 bugs
    /// this project found applied, so that campaigns look for new bugs.
    pub fn new(config: TreeConfig) -> RustEngine {
        let mut tree = MapleTree::with_flags(config.flags());
        tree.set_fixes(Fixes::all());
        RustEngine {
            tree,
            mas: MaState::new(0, 0),
            wmas: MaState::new(0, 0),
            book: PreallocBook::default(),
            bulk: BulkBook::default(),
            rcu: config.rcu,
        }
    }

    /// A fresh tree behaving exactly as Linux 6.12, known bugs included.
    pub fn exact(config: TreeConfig) -> RustEngine {
        RustEngine {
            tree: MapleTree::with_flags(config.flags()),
            mas: MaState::new(0, 0),
            wmas: MaState::new(0, 0),
            book: PreallocBook::default(),
            bulk: BulkBook::default(),
            rcu: config.rcu,
        }
    }

    /// The tree, for tests that need to reach inside.
    pub fn tree_mut(&mut self) -> &mut MapleTree {
        &mut self.tree
    }

    fn cursor(&self, entry: Option<u64>) -> Outcome {
        Outcome::Cursor {
            entry: tok(entry),
            index: self.mas.index(),
            last: self.mas.last(),
            status: self.mas.status(),
        }
    }

    /// `mas_set_range()` then `mas_store()` on the writer.
    fn mas_store(&mut self, first: u64, last: u64, value: Option<u64>) -> Outcome {
        let t = &mut self.tree;
        self.wmas.set_range(first, last);
        let other_store = self.book.is_other_store(first, last, value) || self.bulk.is_on();
        if !other_store {
            return Outcome::Status(
                self.wmas
                    .store_advanced(t, value.map(token_to_entry))
                    .map(|_| ()),
            );
        }
        // A store the preallocation was not made for: if it needs
        // more than the writer holds, the caller broke the contract.
        let wmas = &mut self.wmas;
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            wmas.store_advanced(t, value.map(token_to_entry))
                .map(|_| ())
        }));
        match r {
            Ok(r) => Outcome::Status(r),
            Err(p) => match p.downcast::<crate::tree::PreallocViolation>() {
                Ok(v) if self.bulk.is_on() => Outcome::CallerError(format!(
                    "bulk mas_store {first:#x}-{last:#x} needed more nodes than \
                         mas_expected_entries() reserved: {}",
                    v.0
                )),
                Ok(v) => Outcome::CallerError(format!(
                    "mas_store {first:#x}-{last:#x} on a writer preallocated for {:?} \
                     needed more nodes than it held: {}",
                    self.book.pending, v.0
                )),
                Err(p) => std::panic::resume_unwind(p),
            },
        }
    }

    /// The preallocation contract, from the tree's side: a `mas_store()`
    /// on a preallocated writer allocates nothing (the kernel's callers
    /// hold locks under which allocating may fail; since MA_STATE_PREALLOC
    /// it WARNs) and keeps what is left for the writer's further stores
    /// until `mas_destroy()`. A breach is the tree's fault, reported as a
    /// [`PreallocViolation`](crate::tree::PreallocViolation) (the
    /// executor's `prealloc` check).
    fn check_preallocated_store(
        &self,
        pending: (u64, u64, Option<u64>),
        allocs_before: u64,
        outcome: &Outcome,
    ) {
        if matches!(outcome, Outcome::CallerError(_)) {
            return;
        }
        let allocated = allocations(&self.tree) - allocs_before;
        let problem = if allocated != 0 {
            format!("allocated {allocated} node(s)")
        } else if !self.wmas.is_preallocated() {
            "released the preallocation (only mas_destroy may)".to_string()
        } else {
            return;
        };
        std::panic::panic_any(crate::tree::PreallocViolation(format!(
            "mas_store on a writer preallocated for {pending:?} {problem}"
        )));
    }
}

/// Node allocations the tree has attempted (granted or refused) so far.
fn allocations(t: &MapleTree) -> u64 {
    let c = t.node_counters();
    c.allocated + c.failed
}

impl TreeEngine for RustEngine {
    fn name(&self) -> &'static str {
        "rust"
    }

    fn apply(&mut self, op: &TreeOp) -> Outcome {
        if let Err(m) = self.bulk.check(op, self.rcu, || self.tree.is_empty()) {
            return Outcome::CallerError(m);
        }
        self.bulk.enter(op);
        let (release, ready) = self.book.before(op);
        if release {
            self.wmas.destroy(&mut self.tree);
        }
        let alloc_tree = self.tree.attrs() & crate::tree::MT_FLAGS_ALLOC_RANGE != 0;
        let t = &mut self.tree;
        match *op {
            TreeOp::Store { first, last, value } => {
                Outcome::Status(t.store_range(first, last, value.map(token_to_entry)))
            }
            TreeOp::EmptyArea { min, max, size } | TreeOp::EmptyAreaRev { min, max, size } => {
                if !alloc_tree {
                    return Outcome::Range(Err(Errno::EINVAL));
                }
                let mut m = MaState::new(0, 0);
                let r = if matches!(op, TreeOp::EmptyArea { .. }) {
                    m.empty_area(t, min, max, size)
                } else {
                    m.empty_area_rev(t, min, max, size)
                };
                Outcome::Range(r.map(|()| (m.index(), m.last())))
            }
            TreeOp::AllocRange {
                size,
                min,
                max,
                value,
            } => Outcome::Alloc(t.alloc_range(token_to_entry(value), size, min, max)),
            TreeOp::AllocRRange {
                size,
                min,
                max,
                value,
            } => Outcome::Alloc(t.alloc_rrange(token_to_entry(value), size, min, max)),
            TreeOp::Prealloc { first, last, value } => {
                self.wmas.set_range(first, last);
                let r = self.wmas.preallocate(t, value.map(token_to_entry));
                if r.is_ok() {
                    self.book.preallocated(first, last, value);
                }
                Outcome::Status(r.map(|_| ()))
            }
            TreeOp::StorePrealloc { value } => {
                if ready != Some(value) {
                    return Outcome::Status(Err(Errno::EINVAL));
                }
                self.book.pending = None;
                Outcome::Status(self.wmas.store_prealloc(t, value.map(token_to_entry)))
            }
            TreeOp::ExpectedEntries { count } => {
                self.wmas.reset();
                if self.bulk.is_on() {
                    // Again in bulk mode: see KernelEngine (a used-up pool
                    // makes mas_alloc_nodes() BUG, the caller's error).
                    let wmas = &mut self.wmas;
                    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                        wmas.expected_entries(t, count)
                    }));
                    return match r {
                        Ok(r) => {
                            self.bulk.reserved(r.is_ok());
                            Outcome::Status(r)
                        }
                        Err(p) => match p.downcast::<crate::tree::PreallocViolation>() {
                            Ok(v) => Outcome::CallerError(format!(
                                "expected_entries {count} on a bulk writer whose reservation \
                                 is used up: {}",
                                v.0
                            )),
                            Err(p) => std::panic::resume_unwind(p),
                        },
                    };
                }
                let r = self.wmas.expected_entries(t, count);
                self.bulk.reserved(r.is_ok());
                Outcome::Status(r)
            }
            TreeOp::MasStore { first, last, value } => {
                let held = self
                    .book
                    .pending
                    .or(self.bulk.is_on().then_some((first, last, value)));
                let allocs_before = allocations(&self.tree);
                let outcome = self.mas_store(first, last, value);
                if let Some(p) = held {
                    self.check_preallocated_store(p, allocs_before, &outcome);
                }
                outcome
            }
            TreeOp::MasDestroy => {
                self.wmas.destroy(t);
                self.book.pending = None;
                Outcome::Done
            }
            TreeOp::FailAllocs { schedule } => {
                t.set_fault_schedule(schedule);
                Outcome::Done
            }
            TreeOp::Insert { first, last, value } => {
                Outcome::Status(t.insert_range(first, last, token_to_entry(value)))
            }
            TreeOp::Erase { index } => Outcome::Entry(tok(t.erase(index))),
            TreeOp::Load { index } => Outcome::Entry(tok(t.load(index))),
            TreeOp::Find { index, max } => {
                let mut i = index;
                let e = t.find(&mut i, max);
                Outcome::Found {
                    entry: tok(e),
                    index: i,
                }
            }
            TreeOp::Walk { index } => {
                self.mas.set(index);
                let e = self.mas.walk(&self.tree);
                self.cursor(e)
            }
            TreeOp::MasFind { max } => {
                let e = self.mas.find(&self.tree, max);
                self.cursor(e)
            }
            TreeOp::MasFindRev { min } => {
                let e = self.mas.find_rev(&self.tree, min);
                self.cursor(e)
            }
            TreeOp::MasNext { max } => {
                let e = self.mas.next(&self.tree, max);
                self.cursor(e)
            }
            TreeOp::MasPrev { min } => {
                let e = self.mas.prev(&self.tree, min);
                self.cursor(e)
            }
            TreeOp::Pause => {
                self.mas.pause();
                Outcome::Done
            }
            TreeOp::Set { index } => {
                self.mas.set(index);
                Outcome::Done
            }
            TreeOp::Destroy => {
                t.destroy();
                Outcome::Done
            }
        }
    }

    fn entries(&self) -> Vec<(u64, u64, u64)> {
        self.tree
            .entries()
            .map(|(a, b, e)| (a, b, entry_to_token(e)))
            .collect()
    }

    fn entries_in(&self, lo: u64, hi: u64) -> Vec<(u64, u64, u64)> {
        let mut out = Vec::new();
        let mut mas = MaState::new(lo, lo);
        while let Some(e) = mas.find(&self.tree, hi) {
            out.push((mas.index(), mas.last(), entry_to_token(e)));
            if mas.last() >= hi {
                break;
            }
        }
        out
    }

    fn inspect(&self) -> Option<&dyn Inspect> {
        Some(self)
    }
}

impl Inspect for RustEngine {
    fn validate(&self) -> Result<(), String> {
        self.tree.validate().map_err(|e| e.to_string())
    }

    fn accounting(&self) -> NodeAccounting {
        let (live, reachable, held) = self.tree.node_accounting();
        NodeAccounting {
            live,
            reachable,
            held,
        }
    }

    fn store_stats(&self) -> StoreStats {
        *self.tree.store_stats()
    }

    fn dump(&self) -> String {
        self.tree.dump()
    }

    fn failed_allocs(&self) -> u64 {
        self.tree.node_counters().failed
    }

    fn alloc_attempts(&self) -> u64 {
        self.tree.alloc_attempts()
    }

    fn with_nodes(&self, f: &mut dyn FnMut(&MapleTree)) -> bool {
        f(&self.tree);
        true
    }
}

/// The naive oracle (`reference/`).
#[derive(Clone)]
pub struct OracleEngine {
    tree: oracle::TreeOracle,
    cursor: oracle::Cursor,
    alloc_tree: bool,
    /// The range and entry a `store_prealloc` may store now, if one may.
    pending: Option<(u64, u64, Option<u64>)>,
    rcu: bool,
    /// The writer's bulk mode (see `bulk`).
    bulk: BulkBook,
}

impl OracleEngine {
    /// A fresh oracle. The configuration does not change what it computes.
    pub fn new(config: TreeConfig) -> OracleEngine {
        OracleEngine {
            tree: oracle::TreeOracle::new(),
            cursor: oracle::Cursor::new(0, 0),
            alloc_tree: config.alloc,
            pending: None,
            rcu: config.rcu,
            bulk: BulkBook::default(),
        }
    }

    /// Whether the oracle can say exactly where a kernel maple state would
    /// step from (see `maplefuzz_reference::Cursor::is_positioned`).
    pub fn cursor_positioned(&self) -> bool {
        self.cursor.is_positioned(&self.tree)
    }

    fn cursor(&self, entry: Option<u64>) -> Outcome {
        let status = match self.cursor.status {
            oracle::Status::Start => Status::Start,
            oracle::Status::Active => Status::Active,
            oracle::Status::Root => Status::Root,
            oracle::Status::None => Status::None,
            oracle::Status::Pause => Status::Pause,
            oracle::Status::Overflow => Status::Overflow,
            oracle::Status::Underflow => Status::Underflow,
        };
        Outcome::Cursor {
            entry: tok(entry),
            index: self.cursor.index,
            last: self.cursor.last,
            status,
        }
    }
}

fn oerr(e: oracle::Errno) -> Errno {
    match e {
        oracle::Errno::EINVAL => Errno::EINVAL,
        oracle::Errno::EEXIST => Errno::EEXIST,
        oracle::Errno::EBUSY => Errno::EBUSY,
        oracle::Errno::ENOMEM => Errno::ENOMEM,
    }
}

impl TreeEngine for OracleEngine {
    fn name(&self) -> &'static str {
        "oracle"
    }

    fn apply(&mut self, op: &TreeOp) -> Outcome {
        // The oracle holds no nodes; it only tracks whether a store_prealloc
        // may run (see leaves_state_alone).
        let ready = self.pending.take();
        if leaves_state_alone(op) {
            self.pending = ready;
        }
        if let Err(m) = self.bulk.check(op, self.rcu, || self.tree.is_empty()) {
            return Outcome::CallerError(m);
        }
        self.bulk.enter(op);
        let t = &mut self.tree;
        match *op {
            TreeOp::Store { first, last, value } => Outcome::Status(
                t.store_range(first, last, value.map(token_to_entry))
                    .map(|_| ())
                    .map_err(oerr),
            ),
            TreeOp::EmptyArea { min, max, size } => {
                if !self.alloc_tree {
                    return Outcome::Range(Err(Errno::EINVAL));
                }
                Outcome::Range(t.empty_area(min, max, size).map_err(oerr))
            }
            TreeOp::EmptyAreaRev { min, max, size } => {
                if !self.alloc_tree {
                    return Outcome::Range(Err(Errno::EINVAL));
                }
                Outcome::Range(t.empty_area_rev(min, max, size).map_err(oerr))
            }
            TreeOp::AllocRange {
                size,
                min,
                max,
                value,
            } => Outcome::Alloc(
                t.alloc_range(
                    self.alloc_tree,
                    token_to_entry(value),
                    size,
                    min,
                    max,
                    false,
                )
                .map_err(oerr),
            ),
            TreeOp::AllocRRange {
                size,
                min,
                max,
                value,
            } => Outcome::Alloc(
                t.alloc_range(self.alloc_tree, token_to_entry(value), size, min, max, true)
                    .map_err(oerr),
            ),
            TreeOp::Prealloc { first, last, value } => {
                if first > last {
                    return Outcome::Status(Err(Errno::EINVAL));
                }
                self.pending = Some((first, last, value));
                Outcome::Status(Ok(()))
            }
            TreeOp::StorePrealloc { value } => match ready {
                Some((first, last, v)) if v == value => Outcome::Status(
                    t.store_range(first, last, value.map(token_to_entry))
                        .map(|_| ())
                        .map_err(oerr),
                ),
                _ => Outcome::Status(Err(Errno::EINVAL)),
            },
            TreeOp::MasStore { first, last, value } => Outcome::Status(
                t.store_range(first, last, value.map(token_to_entry))
                    .map(|_| ())
                    .map_err(oerr),
            ),
            TreeOp::MasDestroy => {
                self.pending = None;
                Outcome::Done
            }
            // Bulk mode holds nodes the oracle does not have: it succeeds
            // (ENOMEM under a fault schedule is the executor's business).
            TreeOp::ExpectedEntries { .. } => {
                self.bulk.reserved(true);
                Outcome::Status(Ok(()))
            }
            TreeOp::FailAllocs { .. } => Outcome::Done,
            TreeOp::Insert { first, last, value } => Outcome::Status(
                t.insert_range(first, last, Some(token_to_entry(value)))
                    .map_err(oerr),
            ),
            TreeOp::Erase { index } => Outcome::Entry(tok(t.erase(index))),
            TreeOp::Load { index } => Outcome::Entry(tok(t.load(index))),
            TreeOp::Find { index, max } => {
                let mut i = index;
                let e = t.mt_find(&mut i, max);
                Outcome::Found {
                    entry: tok(e),
                    index: i,
                }
            }
            TreeOp::Walk { index } => {
                self.cursor.set(index);
                let e = self.cursor.walk(&self.tree);
                self.cursor(e)
            }
            TreeOp::MasFind { max } => {
                let e = self.cursor.find(&self.tree, max);
                self.cursor(e)
            }
            TreeOp::MasFindRev { min } => {
                let e = self.cursor.find_rev(&self.tree, min);
                self.cursor(e)
            }
            TreeOp::MasNext { max } => {
                let e = self.cursor.next(&self.tree, max);
                self.cursor(e)
            }
            TreeOp::MasPrev { min } => {
                let e = self.cursor.prev(&self.tree, min);
                self.cursor(e)
            }
            TreeOp::Pause => {
                self.cursor.pause();
                Outcome::Done
            }
            TreeOp::Set { index } => {
                self.cursor.set(index);
                Outcome::Done
            }
            TreeOp::Destroy => {
                t.destroy();
                Outcome::Done
            }
        }
    }

    fn cursor_positioned(&self) -> Option<bool> {
        Some(self.cursor_positioned())
    }

    fn snapshot(&self) -> Option<Box<dyn TreeEngine>> {
        Some(Box::new(self.clone()))
    }

    fn entries(&self) -> Vec<(u64, u64, u64)> {
        self.tree
            .entries()
            .into_iter()
            .map(|(a, b, e)| (a, b, entry_to_token(e)))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tree::PreallocViolation;
    use std::panic::{catch_unwind, AssertUnwindSafe};

    /// An RCU tree (where a node store needs a node) with two entries, and
    /// the writer preallocated for `prealloc`.
    fn engine(prealloc: TreeOp) -> RustEngine {
        let mut e = RustEngine::new(TreeConfig {
            alloc: false,
            rcu: true,
        });
        for (first, last, v) in [(0, 100, 1), (200, 300, 2)] {
            let value = Some(v);
            assert_eq!(
                e.apply(&TreeOp::Store { first, last, value }),
                Outcome::Status(Ok(()))
            );
        }
        assert_eq!(e.apply(&prealloc), Outcome::Status(Ok(())));
        e
    }

    /// The preallocation check's message for `op`, if it fired.
    fn violation(e: &mut RustEngine, op: TreeOp) -> Option<String> {
        match catch_unwind(AssertUnwindSafe(|| e.apply(&op))) {
            Ok(_) => None,
            Err(p) => Some(
                p.downcast::<PreallocViolation>()
                    .expect("a PreallocViolation")
                    .0,
            ),
        }
    }

    #[test]
    fn preallocated_stores_pass_the_check() {
        let value = Some(3);
        let mut e = engine(TreeOp::Prealloc {
            first: 10,
            last: 20,
            value,
        });
        let op = TreeOp::MasStore {
            first: 10,
            last: 20,
            value,
        };
        assert_eq!(violation(&mut e, op), None);
        assert!(e.wmas.is_preallocated());
    }

    #[test]
    fn a_store_allocating_under_a_preallocation_is_reported() {
        let mut e = engine(TreeOp::Prealloc {
            first: 500,
            last: 600,
            value: Some(9),
        });
        // The writer loses its nodes behind the engine's back, as a tree
        // releasing them early would make it.
        e.wmas.destroy(&mut e.tree);
        let op = TreeOp::MasStore {
            first: 10,
            last: 20,
            value: Some(3),
        };
        let msg = violation(&mut e, op).expect("the check fires");
        assert!(msg.contains("allocated 1 node(s)"), "{msg}");
    }

    #[test]
    fn a_preallocation_released_by_a_store_is_reported() {
        let value = Some(5);
        let mut e = engine(TreeOp::Prealloc {
            first: 0,
            last: 100,
            value,
        });
        e.wmas.destroy(&mut e.tree);
        // An exact fit: no node needed, so only the release shows.
        let op = TreeOp::MasStore {
            first: 0,
            last: 100,
            value,
        };
        let msg = violation(&mut e, op).expect("the check fires");
        assert!(msg.contains("released the preallocation"), "{msg}");
    }
}
