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
pub mod prealloc_rule;
mod reference;
mod rust;
pub mod select;
pub mod vma;
pub use kernel::KernelEngine;
pub use prealloc_rule::PreallocRule;
pub use reference::{profile_of_tree, OracleEngine};
pub use rust::RustEngine;
pub use select::{EngineSet, KernelChoice};

/// The generation the port is faithful to: Linux 6.12 (maple_alloc
/// chains, the big node in the write path).
pub const PORT_GENERATION: &str = "6.12";

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
    /// A cyclic allocation (`mtree_alloc_cyclic()`): the id used, whether
    /// the call reported a wrap (its return 1), and the caller's `next`
    /// after it; or an errno (the caller's `next` unchanged).
    Cyclic(Result<Cyclic, Errno>),
    /// The engine's kernel has no such call (`alloc_cyclic` before Linux
    /// 6.10): nothing happened. Only a reference of the same kernel
    /// version answers it too (`oracle@6.1` for 6.1 kernels), so the
    /// results check compares it like any answer, and an engine that lacks
    /// the call beside a reference that has it is a result divergence.
    Unsupported,
    /// Either of two answers, from a reference that cannot tell which one
    /// the kernel gives: the choice follows node boundaries the oracle does
    /// not model (see `maplefuzz_reference::Cursor::also`). An engine's
    /// answer must be one of them ([`Outcome::admits`]).
    Either(Box<[Outcome; 2]>),
    /// Any of these answers: a gap search resumed from a maple state
    /// starts where node boundaries put it, which the oracle does not
    /// model (see `maplefuzz_reference::Cursor::empty_area_answers`). The
    /// reference then takes the answer the engines gave
    /// ([`TreeEngine::follow`]).
    OneOf(Vec<Outcome>),
    /// The program broke the preallocation contract: a `mas_store` other
    /// than the one its writer preallocated for needed more nodes than the
    /// writer held. The kernel WARNs and crashes there; it is the caller's
    /// error, not the tree's, so the executor ends the run (see
    /// `diff::RunStats::stopped`).
    CallerError(String),
}

impl Outcome {
    /// Whether an engine's `answer` is what this reference outcome allows:
    /// the same outcome, or for [`Outcome::Either`] one of the two.
    pub fn admits(&self, answer: &Outcome) -> bool {
        match self {
            Outcome::Either(both) => both.iter().any(|o| o.admits(answer)),
            Outcome::OneOf(all) => all.iter().any(|o| o.admits(answer)),
            o => o == answer,
        }
    }

    /// The same cursor outcome with another status.
    pub fn with_status(&self, status: Status) -> Outcome {
        match self {
            Outcome::Cursor {
                entry, index, last, ..
            } => Outcome::Cursor {
                entry: *entry,
                index: *index,
                last: *last,
                status,
            },
            other => other.clone(),
        }
    }

    /// The outcome of `op` when an injected allocation failure made it do
    /// nothing: what the kernel returns then.
    pub fn enomem(op: &TreeOp) -> Option<Outcome> {
        Some(match op {
            TreeOp::Store { .. }
            | TreeOp::Insert { .. }
            | TreeOp::Prealloc { .. }
            | TreeOp::MasStore { .. }
            | TreeOp::CurStore { .. }
            | TreeOp::ExpectedEntries { .. } => Outcome::Status(Err(Errno::ENOMEM)),
            TreeOp::AllocRange { .. } | TreeOp::AllocRRange { .. } => {
                Outcome::Alloc(Err(Errno::ENOMEM))
            }
            TreeOp::AllocCyclic { .. } => Outcome::Cyclic(Err(Errno::ENOMEM)),
            _ => return None,
        })
    }
}

/// A successful cyclic allocation ([`Outcome::Cyclic`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cyclic {
    /// The index the value went to.
    pub id: u64,
    /// Whether the call returned 1: its search wrapped, or it reports the
    /// wrap an earlier allocation of `u64::MAX` left in the tree.
    pub wrapped: bool,
    /// The caller's `next` after the call.
    pub next: u64,
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
            | TreeOp::Reset
            | TreeOp::SetRange { .. }
            | TreeOp::CurEmptyArea { .. }
            | TreeOp::CurEmptyAreaRev { .. }
    )
}

/// What every engine remembers of its cursor between ops: the same rules
/// for every engine, each fed with its own answers, so that engines that
/// answered alike refuse alike.
///
/// The kernel leaves a maple state in error status when a gap search on
/// it fails (`EBUSY`; after a failed `mas_rewind_node()` it even stands on
/// an ancestor node) and when `mas_store_gfp()` or `mas_erase()` runs out
/// of memory. Its callers reset such a state (`mas_reset()`, `mas_set()`,
/// a walk) before using it again; an op that resumes from it instead
/// ([`TreeOp::resumes_cursor`]) is a caller error, as is a gap search
/// resumed from a state that stands on no node (status pause, overflow or
/// underflow, or none or root on a tree that has nodes: the kernel would
/// step back in a NULL node), and
/// a write at a state whose range is inverted (`mas_set_range()` with
/// `first > last`), which `mas_store_gfp()` does not check.
#[derive(Clone, Debug, Default)]
pub(crate) struct CursorBook {
    /// What left the cursor in error status, if something did.
    failed: Option<&'static str>,
    /// A failed gap search or write left the state's range where that op
    /// gave up (for a search, the window or less, which follows the node
    /// layout); `mas_reset()` and `mas_pause()` keep it, only setting it
    /// again (or a search from start status) gives it a meaning.
    range_unknown: bool,
}

impl CursorBook {
    /// Before `op`, on a cursor of status `status` over `[index, last]`:
    /// the caller error, if the op may not run on it.
    pub(crate) fn check(
        &self,
        op: &TreeOp,
        status: Status,
        index: u64,
        last: u64,
        nodes: bool,
    ) -> Result<(), String> {
        if matches!(op, TreeOp::CurStore { .. }) && index > last {
            return Err(format!(
                "cur_store on a cursor whose range is inverted [{index:#x}, {last:#x}]: \
                 mas_store_gfp() does not check it (only mas_store() does, and only under \
                 CONFIG_DEBUG_MAPLE_TREE)"
            ));
        }
        if let Some(why) = self.failed.filter(|_| op.resumes_cursor()) {
            return Err(format!(
                "{} on the cursor after {why} left it in error status: the kernel's callers \
                 reset the state (mas_reset, mas_set, a walk) first",
                op.kind()
            ));
        }
        let search = op.searches_at_cursor();
        if self.range_unknown && op.resumes_cursor() && !(search && status == Status::Start) {
            return Err(format!(
                "{} on the cursor after a failed gap search or write: its range is where \
                 that op gave up; set it (mas_set, mas_set_range, a walk) first",
                op.kind()
            ));
        }
        // On a tree without nodes mas_start() leaves none or root status
        // at offset MAPLE_NODE_SLOTS, from which the search answers from
        // mas_sparse_area(); with nodes, such a state has no node.
        let sparse = !nodes && matches!(status, Status::None | Status::Root);
        if search && !sparse && !matches!(status, Status::Start | Status::Active) {
            return Err(format!(
                "{} on a cursor in {status:?} status: mas_empty_area() starts a search from \
                 start status and resumes one only from an active state (the others stand on \
                 no node to step back in)",
                op.kind()
            ));
        }
        Ok(())
    }

    /// After `op` answered `outcome`.
    pub(crate) fn after(&mut self, op: &TreeOp, outcome: &Outcome) {
        match (op, outcome) {
            (
                TreeOp::CurEmptyArea { .. } | TreeOp::CurEmptyAreaRev { .. },
                Outcome::Range(Err(e)),
            ) if *e != Errno::EINVAL => {
                self.failed = Some("a failed gap search");
                self.range_unknown = true;
            }
            (
                TreeOp::CurEmptyArea { .. } | TreeOp::CurEmptyAreaRev { .. },
                Outcome::Range(Ok(_)),
            ) => self.range_unknown = false,
            (TreeOp::Walk { .. } | TreeOp::Set { .. } | TreeOp::SetRange { .. }, _) => {
                self.failed = None;
                self.range_unknown = false;
            }
            // Out of memory, the state's range is where the write gave up
            // too (the retries reset it, the kernel's and the port's at
            // different points of the unwinding).
            (TreeOp::CurStore { .. }, Outcome::Status(Err(Errno::ENOMEM))) => {
                self.failed = Some("a store that ran out of memory");
                self.range_unknown = true;
            }
            (
                TreeOp::CurErase,
                Outcome::Cursor {
                    status: Status::Error,
                    ..
                },
            ) => {
                self.failed = Some("an erase that ran out of memory");
                self.range_unknown = true;
            }
            (TreeOp::Reset | TreeOp::Pause | TreeOp::CurErase, _) => self.failed = None,
            _ => {}
        }
    }

    /// Whether a failure left the cursor in error status, or its range
    /// unknown.
    pub(crate) fn failed(&self) -> bool {
        self.failed.is_some() || self.range_unknown
    }
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
    /// The nodes the engine's maple states held when the current op called
    /// `mas_preallocate()` (after releasing an earlier preallocation), if
    /// it did: a preallocation tops the writer up to its request.
    pub(crate) held_at_prealloc: Option<u64>,
}

impl PreallocBook {
    /// Before `op`: whether the writer's preallocation must be released
    /// first (the caller then runs `mas_destroy()`), and which entry a
    /// `store_prealloc` may store during `op`.
    pub(crate) fn before(&mut self, op: &TreeOp) -> (bool, Option<Option<u64>>) {
        self.held_at_prealloc = None;
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

    /// The op calls `mas_preallocate()` now, with the engine's maple states
    /// holding `held` nodes (see [`Inspect::held_at_prealloc`]).
    pub(crate) fn calling_preallocate(&mut self, held: u64) {
        self.held_at_prealloc = Some(held);
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
    /// The structural checks of what the last op wrote (the nodes on the
    /// way to `range`, the keys it touched, and to every node it wrote),
    /// for engines that know which nodes those are; the others are left
    /// to the full [`validate`](Self::validate) passes.
    fn validate_written(&self, range: Option<(u64, u64)>) -> Result<(), String> {
        let _ = range;
        Ok(())
    }
    /// Allocated versus reachable nodes.
    fn accounting(&self) -> NodeAccounting;
    /// How many stores of each type ran.
    fn store_stats(&self) -> StoreStats;
    /// How often the counted kernel paths ran ([`crate::tree::Path`]), for
    /// engines that count them (the port); none for the others.
    fn path_stats(&self) -> crate::tree::PathStats {
        crate::tree::PathStats::default()
    }
    /// A canonical node dump.
    fn dump(&self) -> String;
    /// Node allocations refused by the fault schedule so far.
    fn failed_allocs(&self) -> u64;
    /// Node allocations attempted since the fault schedule was last set.
    fn alloc_attempts(&self) -> u64;
    /// Nodes allocated and nodes freed over the engine's life, for engines
    /// that count them.
    fn node_traffic(&self) -> Option<(u64, u64)> {
        None
    }
    /// The nodes the engine's maple states held when its last op called
    /// `mas_preallocate()`, after releasing any earlier preallocation;
    /// `None` if the last op did not call it.
    fn held_at_prealloc(&self) -> Option<u64> {
        None
    }
    /// Calls `f` with the engine's nodes as a port tree (the port itself,
    /// or a copy of a foreign engine's nodes) for the executor's structural
    /// check; `false` if the engine has no such nodes.
    fn with_nodes(&self, f: &mut dyn FnMut(&MapleTree)) -> bool {
        let _ = f;
        false
    }
    /// `ma_root` as the engine's tree holds it, for engines whose nodes
    /// can be read raw ([`raw_node`](Self::raw_node)): the copy-on-write
    /// check of RCU-mode trees. `None` for the others.
    fn raw_root(&self) -> Option<u64> {
        None
    }
    /// Whether the engine's tree is in RCU mode now
    /// (`MT_FLAGS_USE_RCU`).
    fn rcu_mode(&self) -> bool {
        false
    }
    /// The 32 words of the allocated node at `addr`, `None` if no
    /// allocated node is there (a node waiting for an RCU grace period is
    /// still allocated).
    fn raw_node(&self, addr: u64) -> Option<[u64; 32]> {
        let _ = addr;
        None
    }
}

/// An implementation of the maple tree's operations.
pub trait TreeEngine {
    /// A short name for reports ("oracle", "rust", "kernel", "kernel@7.1").
    fn name(&self) -> &'static str;
    /// The maple tree generation whose code the engine runs, named by its
    /// first kernel version (the port: 6.12); `None` for the oracle. Node
    /// layouts, and which allocation an injected failure hits, are the
    /// same only between engines of one generation.
    fn generation(&self) -> Option<&'static str> {
        None
    }
    /// The preallocation rule of the kernel whose code the engine runs
    /// (the port: 6.12's); `None` for the oracle, or a tree whose rule the
    /// harness does not know.
    fn prealloc_rule(&self) -> Option<PreallocRule> {
        None
    }
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
    /// Runs `op` with the engine's fault schedule suspended (no allocation
    /// fails or counts against it), then resumes it: how the executor
    /// brings a generation whose op failed under an injected failure level
    /// with one whose op succeeded. Engines without a fault schedule just
    /// run it.
    fn apply_unfaulted(&mut self, op: &TreeOp) -> Outcome {
        self.apply(op)
    }
    /// Whether the engine is a reference (an oracle): the engines after it,
    /// up to the next reference, are compared with it. One set may hold an
    /// oracle per kernel-version profile (`oracle`, `oracle@6.1`).
    fn is_reference(&self) -> bool {
        false
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
    /// For a reference whose answer to `op` was several
    /// ([`Outcome::OneOf`]): stand where the op left the engines, which
    /// answered `answer` (one of them). Engines that answer exactly ignore
    /// it.
    fn follow(&mut self, op: &TreeOp, answer: &Outcome) {
        let _ = (op, answer);
    }
    /// A copy of the engine as it stands, for engines cheap to copy (the
    /// oracle): the executor keeps the state before an op that may fail.
    fn snapshot(&self) -> Option<Box<dyn TreeEngine>> {
        None
    }
    /// Ends an RCU grace period: frees the nodes an RCU-mode tree replaced
    /// since the last one. Engines of RCU-mode trees hold those frees until
    /// the executor calls this, after it has checked the copy-on-write
    /// contract; a kernel BUG or a bad free in a callback panics, as in
    /// [`apply`](Self::apply).
    fn grace_period(&mut self) {}
    /// The stores the engine's writer made since the last call, in order,
    /// for engines that keep such a journal (the port, on RCU-mode trees):
    /// the reader check of the copy-on-write check.
    fn take_store_journal(&mut self) -> Option<Vec<crate::tree::Store>> {
        None
    }
    /// The addresses of the nodes allocated, freed or written since the
    /// last call, in any order, for engines that can tell (the kernel
    /// engine: its shim compares every live node with a copy); `None` if
    /// the engine cannot, or if too many changed to list. The copy-on-write
    /// check advances its image by them instead of reading the whole tree
    /// again after every write.
    fn take_changed_nodes(&mut self) -> Option<Vec<u64>> {
        None
    }
}

fn tok(e: Option<u64>) -> Option<u64> {
    e.map(entry_to_token)
}
