//! A faithful Rust port of the Linux 6.12 maple tree (`lib/maple_tree.c`).
//!
//! The maple tree maps non-overlapping inclusive ranges of `u64` indices to
//! non-zero `u64` entries; every index not covered by an entry is NULL.
//! This port keeps the kernel's node types and capacities, its store-type
//! classification and its split, rebalance and spanning-store algorithms, so
//! that a differential fuzzer exercising it exercises the kernel's logic.
//! Function names follow the kernel (`mas_wr_node_store` is
//! `write::mas_wr_node_store` in `src/write.rs`) so the two can be read
//! side by side.
//!
//! ```
//! use maple_tree::MapleTree;
//! let mut mt = MapleTree::new();
//! mt.store_range(0x1000, 0x1fff, Some(0x10)).unwrap();
//! mt.store_range(0x1800, 0x27ff, Some(0x20)).unwrap();
//! assert_eq!(mt.load(0x17ff), Some(0x10));
//! assert_eq!(mt.load(0x1800), Some(0x20));
//! assert_eq!(mt.entries().collect::<Vec<_>>(),
//!            vec![(0x1000, 0x17ff, 0x10), (0x1800, 0x27ff, 0x20)]);
//! mt.validate().unwrap();
//! ```
//!
//! Entries are opaque words, as the kernel's `void *` entries are. Zero is
//! NULL, and words whose low two bits are `10` are the kernel's internal
//! encodings (node pointers, retry and zero entries): storing one is refused
//! with `EINVAL`.
//!
//! [`MapleMap<T>`](MapleMap) is the typed API over this core: it owns values
//! of any type over the same ranges, and drops each exactly once.

mod alloc;
mod bignode;
pub mod bulk;
mod cow;
mod destroy;
mod dump;
mod dup;
mod gap;
mod import;
mod iter;
pub mod mutants;
pub mod node;
mod prealloc;
mod rcu;
mod rebalance;
mod state;
pub mod typed;
mod validate;
mod write;

pub use cow::RcuImage;
pub use import::{structure_diff, structure_diff_by, NodeSource};
pub use node::{FaultSchedule, NodeCounters, NodeType, Store};
pub use state::Status;
pub use typed::{Erased, MapleMap};
pub use validate::{Invariant, NodeRef, ValidationError};

use alloc::NodePool;
pub use alloc::PreallocViolation;
use node::{safe_root, xa_is_internal, xa_is_node, NodeArena};
use state::Mas;

/// The Rust examples of this crate's README, run as doctests so that they
/// stay true.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;

/// `MT_FLAGS_ALLOC_RANGE`: track gaps in internal nodes (allocation tree).
pub const MT_FLAGS_ALLOC_RANGE: u32 = 0x01;
/// `MT_FLAGS_USE_RCU`: never modify a node a reader might be walking.
pub const MT_FLAGS_USE_RCU: u32 = 0x02;
/// `MT_FLAGS_ALLOC_WRAPPED`: the last cyclic allocation took the last
/// index (`u64::MAX`); the next one reports a wrap
/// ([`MapleTree::alloc_cyclic`]). Kept by [`MapleTree::destroy`], as the
/// kernel keeps every attribute.
pub const MT_FLAGS_ALLOC_WRAPPED: u32 = 0x0800;
pub(crate) const MT_FLAGS_HEIGHT_OFFSET: u32 = 0x02;
pub(crate) const MT_FLAGS_HEIGHT_MASK: u32 = 0x7C;
pub(crate) const MAPLE_HEIGHT_MAX: u32 = 31;

/// Errors, named after the kernel's errno values.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Errno {
    /// Invalid argument (`first > last`, a reserved entry, a bad window).
    EINVAL,
    /// The range is (partly) occupied.
    EEXIST,
    /// No free range fits.
    EBUSY,
    /// A node allocation failed.
    ENOMEM,
}

impl std::fmt::Display for Errno {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(self, f)
    }
}

impl std::error::Error for Errno {}

/// `enum store_type`: how `mas_wr_store_type()` classified a write.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum StoreType {
    /// `wr_invalid`
    Invalid = 0,
    /// `wr_new_root`: the write covers the whole index space.
    NewRoot,
    /// `wr_store_root`: the tree is empty or a single root entry.
    StoreRoot,
    /// `wr_exact_fit`: the write replaces exactly one slot.
    ExactFit,
    /// `wr_spanning_store`: the write crosses leaf boundaries.
    SpanningStore,
    /// `wr_split_store`: the leaf overflows and splits.
    SplitStore,
    /// `wr_rebalance`: the leaf falls below minimum occupancy.
    Rebalance,
    /// `wr_append`: the write adds at the end of the leaf's data.
    Append,
    /// `wr_node_store`: the leaf is rebuilt in place.
    NodeStore,
    /// `wr_slot_store`: one or two slots change, no size change.
    SlotStore,
}

impl StoreType {
    /// Every store type, in the kernel's enum order.
    pub const ALL: [StoreType; 10] = [
        StoreType::Invalid,
        StoreType::NewRoot,
        StoreType::StoreRoot,
        StoreType::ExactFit,
        StoreType::SpanningStore,
        StoreType::SplitStore,
        StoreType::Rebalance,
        StoreType::Append,
        StoreType::NodeStore,
        StoreType::SlotStore,
    ];

    /// The kernel's name without the `wr_` prefix.
    pub fn name(self) -> &'static str {
        match self {
            StoreType::Invalid => "invalid",
            StoreType::NewRoot => "new_root",
            StoreType::StoreRoot => "store_root",
            StoreType::ExactFit => "exact_fit",
            StoreType::SpanningStore => "spanning_store",
            StoreType::SplitStore => "split_store",
            StoreType::Rebalance => "rebalance",
            StoreType::Append => "append",
            StoreType::NodeStore => "node_store",
            StoreType::SlotStore => "slot_store",
        }
    }
}

/// What the write walk of `mas_preallocate()` learns of a store before it
/// allocates anything: the inputs of every kernel version's preallocation
/// rule. Linux 6.1 sizes a preallocation by the height alone, 6.12 by the
/// store type and the height, 6.15 and later by the store type and the
/// heights of the lowest internal nodes that can absorb the change.
/// [`MapleTree::plan_store`] makes one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StorePlan {
    /// How `mas_wr_store_type()` classifies the store (outside bulk mode).
    pub store_type: StoreType,
    /// `mas_mt_height()`: the tree's height before the store.
    pub height: u32,
    /// The height of the lowest internal node on the walk with a free
    /// slot (`wr_mas->vacant_height` of Linux 6.15 and later); 0 if none.
    pub vacant_height: u32,
    /// The height of the lowest internal node on the walk with more than
    /// its minimum occupancy plus one, the root more than two children
    /// (`wr_mas->sufficient_height`, 6.15 and later); 0 if none.
    pub sufficient_height: u32,
    /// Whether the tree is in RCU mode.
    pub in_rcu: bool,
    /// The store's range and entry, as given.
    pub index: u64,
    /// See [`index`](Self::index).
    pub last: u64,
    /// See [`index`](Self::index); 0 for `NULL`.
    pub entry: u64,
}

/// How many stores of each type a tree has executed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StoreStats {
    counts: [u64; 10],
}

impl StoreStats {
    /// Stores of type `ty` so far.
    pub fn get(&self, ty: StoreType) -> u64 {
        self.counts[ty as usize]
    }

    pub(crate) fn bump(&mut self, ty: StoreType) {
        self.counts[ty as usize] += 1;
    }

    /// Adds another tree's counts to these.
    pub fn merge(&mut self, other: &StoreStats) {
        for (a, b) in self.counts.iter_mut().zip(other.counts.iter()) {
            *a += b;
        }
    }

    /// `(store type, count)` for every real store type.
    pub fn iter(&self) -> impl Iterator<Item = (StoreType, u64)> + '_ {
        StoreType::ALL[1..]
            .iter()
            .map(|t| (*t, self.counts[*t as usize]))
    }
}

/// The kernel paths a tree counts ([`PathStats`]): rare branches of the gap
/// searches and of bulk loads, named by the kernel function that takes
/// them, so a campaign can say which it reached.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Path {
    /// `mas_skip_node()`: a forward gap search steps to the next slot,
    /// ascending as needed.
    SkipNode,
    /// `mas_rewind_node()`: a reverse gap search steps to the previous
    /// slot, ascending as needed.
    RewindNode,
    /// `mas_empty_area()` on a state not in start status: it resumes from
    /// `offset - 2` or through `mas_skip_node()`.
    EmptyAreaResume,
    /// `mas_empty_area_rev()` on a state not in start status.
    EmptyAreaRevResume,
    /// `mas_sparse_area()`: a gap search of an empty or single-entry tree.
    SparseArea,
    /// `mas_alloc_cyclic()`'s second search, from the window's start.
    CyclicWrap,
    /// `mas_destroy_rebalance()`: the deferred rebalance of a bulk load's
    /// last leaf.
    DestroyRebalance,
}

impl Path {
    /// Every path, in report order.
    pub const ALL: [Path; 7] = [
        Path::SkipNode,
        Path::RewindNode,
        Path::EmptyAreaResume,
        Path::EmptyAreaRevResume,
        Path::SparseArea,
        Path::CyclicWrap,
        Path::DestroyRebalance,
    ];

    /// The kernel function (and branch) the path is.
    pub fn name(self) -> &'static str {
        match self {
            Path::SkipNode => "mas_skip_node",
            Path::RewindNode => "mas_rewind_node",
            Path::EmptyAreaResume => "mas_empty_area (resumed)",
            Path::EmptyAreaRevResume => "mas_empty_area_rev (resumed)",
            Path::SparseArea => "mas_sparse_area",
            Path::CyclicWrap => "mas_alloc_cyclic (wrapped)",
            Path::DestroyRebalance => "mas_destroy_rebalance",
        }
    }
}

/// How often a tree has taken each [`Path`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PathStats {
    counts: [u64; Path::ALL.len()],
}

impl PathStats {
    /// Times `path` ran so far.
    pub fn get(&self, path: Path) -> u64 {
        self.counts[path as usize]
    }

    /// Adds another tree's counts to these.
    pub fn merge(&mut self, other: &PathStats) {
        for (a, b) in self.counts.iter_mut().zip(other.counts.iter()) {
            *a += b;
        }
    }

    /// `(path, count)` for every path.
    pub fn iter(&self) -> impl Iterator<Item = (Path, u64)> + '_ {
        Path::ALL.iter().map(|p| (*p, self.counts[*p as usize]))
    }
}

/// The tree's path counters. The searches see the tree by shared
/// reference, so the counters are atomics, bumped with a plain load and
/// store (no locked add): a count may be lost when two readers of a shared
/// tree search at once, which only the counts would notice.
#[derive(Debug, Default)]
pub(crate) struct PathCounters([std::sync::atomic::AtomicU64; Path::ALL.len()]);

impl PathCounters {
    #[inline]
    pub(crate) fn bump(&self, path: Path) {
        use std::sync::atomic::Ordering::Relaxed;
        let c = &self.0[path as usize];
        c.store(c.load(Relaxed) + 1, Relaxed);
    }

    fn snapshot(&self) -> PathStats {
        let mut s = PathStats::default();
        for (a, c) in s.counts.iter_mut().zip(self.0.iter()) {
            *a = c.load(std::sync::atomic::Ordering::Relaxed);
        }
        s
    }
}

/// Fixes for bugs this project found in Linux 6.12 `lib/maple_tree.c`
/// (see the README). All off by default: the port then behaves exactly as
/// 6.12 does. Fuzz campaigns turn them on so that they look for new bugs
/// instead of finding the known ones again; `tests/kernel_bugs.rs` pins the
/// unfixed behaviour.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Fixes {
    /// `mas_insert()` skips its occupancy check for `wr_new_root`, so
    /// `mtree_insert_range(0, ULONG_MAX)` overwrites a single-leaf tree.
    /// Fixed: such an insert fails with `EEXIST` if the tree holds an entry.
    pub insert_whole_space: bool,
    /// `mas_rev_awalk()`'s `size <= mas->last - min + 1` wraps to 0 for a
    /// window ending at `ULONG_MAX` and a slot starting at 0. Fixed: compare
    /// `size - 1 <= mas->last - min`.
    pub rev_gap_window: bool,
    /// A NULL slot spanning `[0, ULONG_MAX]` has size `ULONG_MAX + 1`, which
    /// wraps to 0 in the gap searches. Fixed: the size saturates.
    pub whole_space_gap: bool,
    /// `mas_prev_slot()` takes the previous slot's last index as
    /// `mas->index - 1`, wrong after `mas_empty_area()` or
    /// `mas_empty_area_rev()` left `index` at a window inside its slot:
    /// `mas_prev()` then reports the entry below over the window's start.
    /// Fixed: the previous slot's pivot.
    pub prev_after_gap_search: bool,
    /// A gap search resumed from a state that stands above its window:
    /// `mas_empty_area()` computes the size of a NULL slot starting above
    /// the window from the window's end, which wraps, and returns a range
    /// above `max`; `mas_empty_area_rev()` steps its offset below 0 and
    /// reads pivots past the node. Fixed: nothing fits from there / on to
    /// the previous node.
    pub resumed_search_window: bool,
    /// The RCU-mode destroy (`mt_destroy_walk(free = false)` then
    /// `mt_free_walk()` after the grace period): the free walk takes the
    /// metadata in slot 15 of a `maple_range_64` node with 15 children for
    /// a 16th child (a wild pointer), and the destroy walk's final
    /// `mt_clear_meta()` writes over the 16th child of a full start node
    /// (a node freed twice, the child leaked). Fixed: the free walk is
    /// bounded by the children the destroy walk counted, and the clear is
    /// dropped.
    pub rcu_free_walk: bool,
}

impl Fixes {
    /// Every fix.
    pub fn all() -> Fixes {
        Fixes {
            insert_whole_space: true,
            rev_gap_window: true,
            whole_space_gap: true,
            prev_after_gap_search: true,
            resumed_search_window: true,
            rcu_free_walk: true,
        }
    }
}

/// A maple tree.
#[derive(Debug, Default)]
pub struct MapleTree {
    /// Fixes applied on top of Linux 6.12 (none by default).
    pub(crate) fixes: Fixes,
    /// `ma_flags`: attributes plus the height.
    pub(crate) flags: u32,
    /// `ma_root`: NULL, a single entry for index 0, or a tagged root node.
    pub(crate) root: u64,
    pub(crate) arena: NodeArena,
    /// The node pool of the maple state currently writing (`mas->alloc`).
    pub(crate) pool: NodePool,
    pub(crate) stats: StoreStats,
    /// How often each counted kernel path ran ([`MapleTree::path_stats`]).
    pub(crate) paths: PathCounters,
    /// A store that runs once, at the next `mas_nomem()` that is about to
    /// refill a writer's nodes (see [`MapleTree::set_nomem_writer`]).
    pub(crate) nomem_writer: Option<(u64, u64, u64)>,
    /// RCU callbacks waiting for a grace period ([`MapleTree::rcu_barrier`]).
    pub(crate) rcu: rcu::RcuQueue,
}

/// Returns `EINVAL` for entries the normal API must not store.
fn check_entry(entry: u64) -> Result<(), Errno> {
    if xa_is_internal(entry) {
        Err(Errno::EINVAL)
    } else {
        Ok(())
    }
}

impl MapleTree {
    /// An empty tree (`DEFINE_MTREE`).
    pub fn new() -> MapleTree {
        MapleTree::default()
    }

    /// An empty tree with attribute flags (`mt_init_flags`), e.g.
    /// [`MT_FLAGS_ALLOC_RANGE`] or [`MT_FLAGS_USE_RCU`].
    pub fn with_flags(flags: u32) -> MapleTree {
        MapleTree {
            flags: flags & !MT_FLAGS_HEIGHT_MASK,
            ..MapleTree::default()
        }
    }

    /// The attribute flags (`ma_flags` without the height).
    pub fn attr_flags(&self) -> u32 {
        self.flags & !MT_FLAGS_HEIGHT_MASK
    }

    /// Applies fixes for known Linux 6.12 bugs (see [`Fixes`]).
    pub fn set_fixes(&mut self, fixes: Fixes) {
        self.fixes = fixes;
    }

    /// The fixes in force.
    pub fn fixes(&self) -> Fixes {
        self.fixes
    }

    /// The attribute flags (without the height).
    pub fn attrs(&self) -> u32 {
        self.flags & !MT_FLAGS_HEIGHT_MASK
    }

    /// `mt_height()`: levels of nodes (0 for an empty tree or a root entry).
    pub fn tree_height(&self) -> u32 {
        self.height()
    }

    /// Whether the tree holds nothing.
    pub fn is_empty(&self) -> bool {
        self.root == 0
    }

    /// The node allocator's counters.
    pub fn node_counters(&self) -> NodeCounters {
        self.arena.counters()
    }

    /// Nodes currently allocated by this tree's allocator.
    pub fn nodes_live(&self) -> u64 {
        self.arena.live()
    }

    /// `rcu_assign_pointer(ma_root, value)`.
    pub(crate) fn set_root(&mut self, value: u64) {
        self.root = value;
        self.arena.journal_root(value);
    }

    /// Keeps (or stops keeping) a journal of every store the tree's writers
    /// make, in order: the words of nodes and the root pointer (see
    /// [`take_store_journal`](Self::take_store_journal)). For checking what
    /// a reader walking beside the writer could see.
    pub fn keep_store_journal(&mut self, on: bool) {
        self.arena.keep_journal(on);
    }

    /// The stores since the last call, in the order the writer made them;
    /// `None` if no journal is kept.
    pub fn take_store_journal(&mut self) -> Option<Vec<node::Store>> {
        self.arena.take_journal()
    }

    /// `ma_root` as the tree holds it: NULL, an entry, or a tagged root node.
    pub fn raw_root(&self) -> u64 {
        self.root
    }

    /// The 32 words of the allocated node at `addr` (a node address as the
    /// tree's pointers hold it; the low byte is ignored), or `None` if no
    /// allocated node is there: a [`NodeSource`] over the tree's own nodes.
    pub fn raw_node(&self, addr: u64) -> Option<[u64; node::NODE_WORDS]> {
        let id = node::addr_to_id(addr)?;
        self.arena.is_allocated(id).then(|| *self.arena.words(id))
    }

    /// Node accounting: `(allocated, reachable from the root, held by maple
    /// states or waiting for an RCU grace period)`. In a sound tree the
    /// first is the sum of the other two.
    /// The walk tolerates corruption: it follows only slots of internal nodes
    /// that name allocated nodes, and each node once.
    pub fn node_accounting(&self) -> (u64, u64, u64) {
        let mut reachable = 0u64;
        if xa_is_node(self.root) {
            let mut seen = node::IdSet::for_arena(&self.arena);
            let mut stack = vec![safe_root(self.root)];
            while let Some(e) = stack.pop() {
                let Some(id) = node::addr_to_id(e) else {
                    continue;
                };
                if !self.arena.is_allocated(id) || !seen.insert(id) {
                    continue;
                }
                reachable += 1;
                let ty = node::enode_type(e);
                if ty.is_leaf() {
                    continue;
                }
                for i in 0..ty.slots() {
                    let child = self.arena.slot(e, i);
                    if child & 0x87 == 0x04 {
                        stack.push(child);
                    }
                }
            }
        }
        (
            self.arena.live(),
            reachable,
            self.arena.pooled + self.rcu_pending_nodes(),
        )
    }

    /// Makes node allocations fail by `s` from now on (fault injection).
    pub fn set_fault_schedule(&mut self, s: FaultSchedule) {
        self.arena.set_faults(s);
    }

    /// Suspends (`true`) or resumes (`false`) the fault schedule: while it
    /// is suspended allocations neither fail nor count against it, so a
    /// caller can redo an operation that failed and then go on under the
    /// same schedule where it was.
    ///
    /// ```
    /// use maple_tree::{FaultSchedule, MapleTree};
    /// let mut t = MapleTree::new();
    /// t.set_fault_schedule(FaultSchedule::From(1));
    /// // Every allocation fails: a range away from 0 needs a node.
    /// assert!(t.store_range(0x10, 0x1f, Some(3)).is_err());
    /// let attempts = t.alloc_attempts();
    /// t.suspend_faults(true);
    /// t.store_range(0x10, 0x1f, Some(3)).unwrap();
    /// t.suspend_faults(false);
    /// assert_eq!(t.alloc_attempts(), attempts);
    /// assert_eq!(t.fault_schedule(), FaultSchedule::From(1));
    /// ```
    pub fn suspend_faults(&mut self, on: bool) {
        self.arena.suspend_faults(on);
    }

    /// The fault schedule in force, as its remaining allocations see it.
    pub fn fault_schedule(&self) -> FaultSchedule {
        self.arena.faults()
    }

    /// Deliberate damage, for a harness's tests of its own checks (the
    /// `mutants` feature): writes `entry` two slots past the data end of a
    /// root leaf, the shape of the July 2022 stale-slot bug, which lookups
    /// never see and [`MapleTree::validate`] must. Returns whether the root
    /// is a leaf (nothing is written otherwise).
    #[cfg(feature = "mutants")]
    pub fn plant_stale_slot(&mut self, entry: u64) -> bool {
        if !xa_is_node(self.root) {
            return false;
        }
        let leaf = safe_root(self.root);
        if !node::enode_type(leaf).is_leaf() {
            return false;
        }
        let end = self.arena.data_end(leaf, u64::MAX);
        self.arena.set_slot(leaf, end + 2, entry);
        true
    }

    /// Deliberate damage (the `mutants` feature): allocates a node nothing
    /// refers to, a leak the node accounting must see. Returns whether the
    /// allocation succeeded.
    #[cfg(feature = "mutants")]
    pub fn plant_leaked_node(&mut self) -> bool {
        self.arena.alloc().is_some()
    }

    /// Deliberate damage (the `mutants` feature): allocates a node and frees
    /// it again, a slip only the count of allocations can see. Returns
    /// whether the allocation succeeded.
    #[cfg(feature = "mutants")]
    pub fn plant_wasted_node(&mut self) -> bool {
        match self.arena.alloc() {
            Some(n) => {
                self.arena.free(n);
                true
            }
            None => false,
        }
    }

    /// Arms a second writer for the next allocation failure: when a write
    /// fails to allocate and `mas_nomem()` is about to retry (where the
    /// kernel drops the tree lock to allocate), `mas_store()` of `entry`
    /// over `[first, last]` runs first, on a maple state of its own. One
    /// shot; the deterministic form of the kernel's
    /// `check_nomem_writer_race` callback. `EINVAL` for a reversed range
    /// or an internal entry.
    pub fn set_nomem_writer(
        &mut self,
        first: u64,
        last: u64,
        entry: Option<u64>,
    ) -> Result<(), Errno> {
        let e = entry.unwrap_or(0);
        check_entry(e)?;
        if first > last {
            return Err(Errno::EINVAL);
        }
        self.nomem_writer = Some((first, last, e));
        Ok(())
    }

    /// Node allocations attempted since the fault schedule was last set.
    pub fn alloc_attempts(&self) -> u64 {
        self.arena.attempts()
    }

    /// How many stores of each type this tree has run.
    pub fn store_stats(&self) -> &StoreStats {
        &self.stats
    }

    /// How often this tree has taken each counted kernel path ([`Path`]).
    pub fn path_stats(&self) -> PathStats {
        self.paths.snapshot()
    }

    /// `mtree_load()`: the entry at `index`.
    pub fn load(&self, index: u64) -> Option<u64> {
        let root = self.root;
        let e = if xa_is_node(root) {
            state::mtree_lookup_walk(&self.arena, safe_root(root), index)
        } else if index == 0 {
            root
        } else {
            0
        };
        (e != 0).then_some(e)
    }

    /// What `mas_preallocate()` would learn of a store of `entry` over
    /// `[first, last]` on this tree as it stands (a fresh maple state, not
    /// in bulk mode), without allocating or changing anything: the inputs
    /// of each kernel version's preallocation rule.
    ///
    /// ```
    /// use maple_tree::{MapleTree, StoreType};
    /// let t = MapleTree::new();
    /// let plan = t.plan_store(5, 10, Some(0x1000));
    /// assert_eq!(plan.store_type, StoreType::StoreRoot);
    /// assert_eq!(plan.height, 0);
    /// ```
    pub fn plan_store(&self, first: u64, last: u64, entry: Option<u64>) -> StorePlan {
        prealloc::plan_store(self, first, last, entry.unwrap_or(0))
    }

    /// `mtree_store_range()`: store `entry` (or NULL) over `[first, last]`.
    pub fn store_range(&mut self, first: u64, last: u64, entry: Option<u64>) -> Result<(), Errno> {
        let e = entry.unwrap_or(0);
        check_entry(e)?;
        if first > last {
            return Err(Errno::EINVAL);
        }
        let mut mas = Mas::new(first, last);
        write::mas_store_gfp(self, &mut mas, e)
    }

    /// `mtree_store()`: store over a single index.
    pub fn store(&mut self, index: u64, entry: Option<u64>) -> Result<(), Errno> {
        self.store_range(index, index, entry)
    }

    /// `mtree_insert_range()`: store only if `[first, last]` is all NULL.
    pub fn insert_range(&mut self, first: u64, last: u64, entry: u64) -> Result<(), Errno> {
        check_entry(entry)?;
        if entry == 0 || first > last {
            return Err(Errno::EINVAL);
        }
        let mut mas = Mas::new(first, last);
        write::mtree_insert(self, &mut mas, entry)
    }

    /// `mtree_insert()`.
    pub fn insert(&mut self, index: u64, entry: u64) -> Result<(), Errno> {
        self.insert_range(index, index, entry)
    }

    /// `mtree_alloc_range()`: store `entry` in the lowest free range of
    /// `size` indices within `[min, max]` and return its first index.
    /// Allocation trees only (`EINVAL` otherwise); `EBUSY` when nothing fits.
    pub fn alloc_range(&mut self, entry: u64, size: u64, min: u64, max: u64) -> Result<u64, Errno> {
        self.alloc(entry, size, min, max, false)
    }

    /// `mtree_alloc_rrange()`: like [`alloc_range`](Self::alloc_range), but
    /// the highest free range.
    pub fn alloc_rrange(
        &mut self,
        entry: u64,
        size: u64,
        min: u64,
        max: u64,
    ) -> Result<u64, Errno> {
        self.alloc(entry, size, min, max, true)
    }

    /// `mtree_alloc_cyclic()`: store `entry` at the lowest free index at or
    /// above `*next` within `[min, max]`; if none is free there, at the
    /// lowest free index from `min` on (the search wraps). Returns the index
    /// used and whether the search wrapped, and moves `*next` to the index
    /// after it (to 0 after `u64::MAX`; the tree then remembers the wrap in
    /// [`MT_FLAGS_ALLOC_WRAPPED`] and reports it with the next allocation
    /// that does not wrap by itself). The caller owns `*next`, as a kernel
    /// caller owns its cursor. Allocation trees only (`EINVAL` otherwise,
    /// and for reserved entries); `EBUSY` when `[min, max]` is full;
    /// `EINVAL` when `min > max`.
    ///
    /// ```
    /// use maple_tree::{Errno, MapleTree, MT_FLAGS_ALLOC_RANGE};
    /// let mut mt = MapleTree::with_flags(MT_FLAGS_ALLOC_RANGE);
    /// let mut next = 0;
    /// assert_eq!(mt.alloc_cyclic(0x11, 2, 4, &mut next), Ok((2, false)));
    /// assert_eq!(mt.alloc_cyclic(0x13, 2, 4, &mut next), Ok((3, false)));
    /// mt.erase(2);
    /// assert_eq!(mt.alloc_cyclic(0x15, 2, 4, &mut next), Ok((4, false)));
    /// // Nothing free from 5 on: the search wraps to the freed 2.
    /// assert_eq!(mt.alloc_cyclic(0x17, 2, 4, &mut next), Ok((2, true)));
    /// assert_eq!(next, 3);
    /// assert_eq!(mt.alloc_cyclic(0x19, 2, 4, &mut next), Err(Errno::EBUSY));
    /// ```
    pub fn alloc_cyclic(
        &mut self,
        entry: u64,
        min: u64,
        max: u64,
        next: &mut u64,
    ) -> Result<(u64, bool), Errno> {
        if !self.is_alloc() {
            return Err(Errno::EINVAL);
        }
        check_entry(entry)?;
        let mut mas = Mas::new(0, 0);
        gap::mas_alloc_cyclic(self, &mut mas, entry, min, max, next)
    }

    fn alloc(
        &mut self,
        entry: u64,
        size: u64,
        min: u64,
        max: u64,
        rev: bool,
    ) -> Result<u64, Errno> {
        if !self.is_alloc() {
            return Err(Errno::EINVAL);
        }
        check_entry(entry)?;
        if entry == 0 {
            return Err(Errno::EINVAL);
        }
        let mut mas = Mas::new(0, 0);
        let ret = loop {
            let found = if rev {
                gap::mas_empty_area_rev(self, &mut mas, min, max, size)
            } else {
                gap::mas_empty_area(self, &mut mas, min, max, size)
            };
            if let Err(e) = found {
                break Err(e);
            }
            write::mas_insert(self, &mut mas, entry);
            if alloc::mas_nomem(self, &mut mas) {
                continue;
            }
            break if mas.is_err() {
                Err(mas.err)
            } else {
                Ok(mas.index)
            };
        };
        alloc::mas_destroy(self, &mut mas);
        ret
    }

    /// `mtree_erase()`: remove the whole entry containing `index`.
    pub fn erase(&mut self, index: u64) -> Option<u64> {
        let mut mas = Mas::new(index, index);
        let e = write::mas_erase(self, &mut mas);
        (e != 0).then_some(e)
    }

    /// `mt_find()`: the first entry in `[*index, max]`; on success `*index`
    /// becomes the index after that entry (wrapping to 0 past `u64::MAX`).
    pub fn find(&self, index: &mut u64, max: u64) -> Option<u64> {
        iter::mt_find(self, index, max)
    }

    /// Every entry as `(first, last, entry)`, in index order.
    pub fn entries(&self) -> Entries<'_> {
        Entries {
            tree: self,
            mas: Mas::new(0, 0),
            done: false,
        }
    }

    /// `mtree_destroy()`: free every node and empty the tree.
    pub fn destroy(&mut self) {
        destroy::mt_destroy(self);
    }

    /// `mt_validate()` plus this project's stricter checks (listed in
    /// `src/validate/`; each failure is an [`Invariant`]).
    pub fn validate(&self) -> Result<(), ValidationError> {
        validate::validate(self)
    }

    /// The checks of [`validate`](Self::validate) that can fail where the
    /// tree was written since [`clear_written`](Self::clear_written): the
    /// nodes on the way to `range` (the keys an operation touched, if
    /// given) and to the first key of every node written or allocated
    /// since (so a split's other half or a rebalanced neighbour is walked
    /// too), with all their child pointers. A few root-to-leaf paths, not
    /// the whole tree; node accounting and the rules that need every leaf
    /// are left to a full `validate()`.
    pub fn validate_written(&self, range: Option<(u64, u64)>) -> Result<(), ValidationError> {
        let written = self.arena.written().iter().filter_map(|&id| {
            // Word 1 is pivot 0 in every node type that has pivots.
            let first = self
                .arena
                .is_allocated(id)
                .then(|| self.arena.words(id)[1])?;
            Some((first, first))
        });
        validate::validate_around(self, &mut range.into_iter().chain(written))
    }

    /// Forgets which nodes were written (see
    /// [`validate_written`](Self::validate_written)).
    pub fn clear_written(&mut self) {
        self.arena.clear_written();
    }

    /// A dump shaped like the kernel's `mt_dump(mt, mt_dump_hex)`.
    pub fn dump(&self) -> String {
        dump::dump(self)
    }
}

/// Iterator over `(first, last, entry)`, as `mas_for_each`.
pub struct Entries<'a> {
    tree: &'a MapleTree,
    mas: Mas,
    done: bool,
}

impl Iterator for Entries<'_> {
    type Item = (u64, u64, u64);

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let e = iter::mas_find(self.tree, &mut self.mas, u64::MAX, false);
        if e == 0 {
            self.done = true;
            return None;
        }
        Some((self.mas.index, self.mas.last, e))
    }
}

/// Where a maple state stands: the fields of the kernel's `struct
/// ma_state` but not the nodes the state holds ([`MaState::position`]).
#[derive(Clone, Copy, Debug)]
pub struct MaPosition(Mas);

/// A maple state: a cursor into one tree with the kernel's `ma_state`
/// semantics (status, index and last of the entry returned). It may be used
/// across writes to the tree, as in the kernel.
#[derive(Debug)]
pub struct MaState {
    pub(crate) mas: Mas,
    pub(crate) pool: NodePool,
}

impl MaState {
    /// `MA_STATE(mas, mt, first, last)`.
    pub fn new(first: u64, last: u64) -> MaState {
        MaState {
            mas: Mas::new(first, last),
            pool: NodePool::default(),
        }
    }

    /// Where the state stands, to put it back there with
    /// [`restore`](Self::restore) (a kernel caller copying its `struct
    /// ma_state`).
    pub fn position(&self) -> MaPosition {
        MaPosition(self.mas)
    }

    /// Puts the state back at `position`, keeping the nodes it holds.
    /// Valid only while the tree has not changed since the position was
    /// taken: the position names nodes.
    pub fn restore(&mut self, position: MaPosition) {
        self.mas = position.0;
    }

    /// The first index of the current range.
    pub fn index(&self) -> u64 {
        self.mas.index
    }

    /// The last index of the current range.
    pub fn last(&self) -> u64 {
        self.mas.last
    }

    /// The state's status.
    pub fn status(&self) -> Status {
        self.mas.status
    }

    /// `mas_set()`.
    pub fn set(&mut self, index: u64) {
        self.mas.set_range(index, index);
    }

    /// `mas_set_range()`.
    pub fn set_range(&mut self, first: u64, last: u64) {
        self.mas.set_range(first, last);
    }

    /// `mas_reset()`.
    pub fn reset(&mut self) {
        self.mas.reset();
    }

    /// `mas_pause()`.
    pub fn pause(&mut self) {
        iter::mas_pause(&mut self.mas);
    }

    /// `mas_walk()`.
    pub fn walk(&mut self, t: &MapleTree) -> Option<u64> {
        nz(state::mas_walk(t, &mut self.mas))
    }

    /// `mas_find()`.
    pub fn find(&mut self, t: &MapleTree, max: u64) -> Option<u64> {
        nz(iter::mas_find(t, &mut self.mas, max, false))
    }

    /// `mas_find_range()`: like `find`, but NULL ranges are returned too.
    pub fn find_range(&mut self, t: &MapleTree, max: u64) -> Option<u64> {
        nz(iter::mas_find(t, &mut self.mas, max, true))
    }

    /// `mas_find_rev()`.
    pub fn find_rev(&mut self, t: &MapleTree, min: u64) -> Option<u64> {
        nz(iter::mas_find_rev(t, &mut self.mas, min, false))
    }

    /// `mas_find_range_rev()`.
    pub fn find_range_rev(&mut self, t: &MapleTree, min: u64) -> Option<u64> {
        nz(iter::mas_find_rev(t, &mut self.mas, min, true))
    }

    /// `mas_next()`.
    pub fn next(&mut self, t: &MapleTree, max: u64) -> Option<u64> {
        nz(iter::mas_next(t, &mut self.mas, max, false))
    }

    /// `mas_next_range()`.
    pub fn next_range(&mut self, t: &MapleTree, max: u64) -> Option<u64> {
        nz(iter::mas_next(t, &mut self.mas, max, true))
    }

    /// `mas_prev()`.
    pub fn prev(&mut self, t: &MapleTree, min: u64) -> Option<u64> {
        nz(iter::mas_prev(t, &mut self.mas, min, false))
    }

    /// `mas_prev_range()`.
    pub fn prev_range(&mut self, t: &MapleTree, min: u64) -> Option<u64> {
        nz(iter::mas_prev(t, &mut self.mas, min, true))
    }

    /// `mas_empty_area()`: find the lowest range of `size` NULL indices in
    /// `[min, max]`; on success [`index`](Self::index) and
    /// [`last`](Self::last) hold it and the state is positioned for a store.
    pub fn empty_area(
        &mut self,
        t: &MapleTree,
        min: u64,
        max: u64,
        size: u64,
    ) -> Result<(), Errno> {
        gap::mas_empty_area(t, &mut self.mas, min, max, size)
    }

    /// `mas_empty_area_rev()`: like [`empty_area`](Self::empty_area), the
    /// highest such range.
    pub fn empty_area_rev(
        &mut self,
        t: &MapleTree,
        min: u64,
        max: u64,
        size: u64,
    ) -> Result<(), Errno> {
        gap::mas_empty_area_rev(t, &mut self.mas, min, max, size)
    }

    /// `mas_alloc_cyclic()`: [`MapleTree::alloc_cyclic`] on this state,
    /// without that call's checks (the tree must be an allocation tree and
    /// `entry` not reserved). The search starts from where the state
    /// stands, as the kernel's does: a state left by an earlier call
    /// resumes from its position. On success the state holds the index
    /// used ([`index`](Self::index) and [`last`](Self::last)).
    ///
    /// ```
    /// use maple_tree::{MaState, MapleTree, MT_FLAGS_ALLOC_RANGE};
    /// let mut mt = MapleTree::with_flags(MT_FLAGS_ALLOC_RANGE);
    /// let mut mas = MaState::new(0, 0);
    /// let mut next = 0;
    /// for i in 0..100 {
    ///     let (id, _) = mas.alloc_cyclic(&mut mt, 0x11, 2, u64::MAX, &mut next).unwrap();
    ///     assert_eq!((id, mas.index(), mas.last(), next), (i + 2, i + 2, i + 2, i + 3));
    /// }
    /// ```
    pub fn alloc_cyclic(
        &mut self,
        t: &mut MapleTree,
        entry: u64,
        min: u64,
        max: u64,
        next: &mut u64,
    ) -> Result<(u64, bool), Errno> {
        self.with_pool(t, |t, mas| {
            gap::mas_alloc_cyclic(t, mas, entry, min, max, next)
        })
    }

    /// `mas_store_gfp()`: store `entry` over the state's `[index, last]`.
    pub fn store(&mut self, t: &mut MapleTree, entry: Option<u64>) -> Result<(), Errno> {
        let e = entry.unwrap_or(0);
        check_entry(e)?;
        if self.mas.index > self.mas.last {
            return Err(Errno::EINVAL);
        }
        self.with_pool(t, |t, mas| write::mas_store_gfp(t, mas, e))
    }

    /// `mas_preallocate()`: reserve the nodes a store of `entry` over the
    /// state's range may need (the kernel's rule for its store type and the
    /// tree height). Returns how many nodes were requested. Follow it with
    /// [`store_prealloc`](Self::store_prealloc), or with
    /// [`store_advanced`](Self::store_advanced) (possibly several times) and
    /// [`destroy`](Self::destroy).
    ///
    /// `EINVAL` if the range is reversed (`index > last`): the kernel does
    /// not check, and its store would then write garbage.
    pub fn preallocate(&mut self, t: &mut MapleTree, entry: Option<u64>) -> Result<usize, Errno> {
        let e = entry.unwrap_or(0);
        check_entry(e)?;
        if self.mas.index > self.mas.last {
            return Err(Errno::EINVAL);
        }
        self.with_pool(t, |t, mas| prealloc::mas_preallocate(t, mas, e))
    }

    /// `mas_store_prealloc()`: store on a preallocated state, then release
    /// the leftovers. Needing a node the state does not hold raises
    /// [`PreallocViolation`] (a panic), as the kernel crashes there.
    pub fn store_prealloc(&mut self, t: &mut MapleTree, entry: Option<u64>) -> Result<(), Errno> {
        let e = entry.unwrap_or(0);
        check_entry(e)?;
        self.with_pool(t, |t, mas| prealloc::mas_store_prealloc(t, mas, e));
        Ok(())
    }

    /// `mas_store()`: the advanced store. On a preallocated state it uses
    /// the nodes held and keeps the rest for further stores; otherwise it
    /// allocates (and may fail with `ENOMEM`, writing nothing) and releases
    /// the leftovers. Returns the entry first overwritten.
    pub fn store_advanced(
        &mut self,
        t: &mut MapleTree,
        entry: Option<u64>,
    ) -> Result<Option<u64>, Errno> {
        let e = entry.unwrap_or(0);
        check_entry(e)?;
        let old = self.with_pool(t, |t, mas| prealloc::mas_store(t, mas, e));
        if self.mas.is_err() {
            return Err(self.mas.err);
        }
        Ok(nz(old))
    }

    /// `mas_store(mas, XA_ZERO_ENTRY)`: the advanced store of the reserved
    /// zero entry ([`node::XA_ZERO_ENTRY`]), which the normal API refuses.
    /// `dup_mmap()` marks where a failed duplication stopped with it.
    pub fn store_zero_entry(&mut self, t: &mut MapleTree) -> Result<(), Errno> {
        if self.mas.index > self.mas.last {
            return Err(Errno::EINVAL);
        }
        self.with_pool(t, |t, mas| prealloc::mas_store(t, mas, node::XA_ZERO_ENTRY));
        if self.mas.is_err() {
            return Err(self.mas.err);
        }
        Ok(())
    }

    /// `mas_expected_entries()`: enter bulk mode for an in-order load of
    /// `nr_entries` entries (ascending ranges stored with
    /// [`store_advanced`](Self::store_advanced)), reserving every node the
    /// load should need; end it with [`destroy`](Self::destroy), which also
    /// rebalances a deficient last leaf. On `ENOMEM` the state holds nothing
    /// and is not in bulk mode. `EINVAL` above
    /// [`bulk::MAX_EXPECTED_ENTRIES`] (where the kernel's `int` overflows).
    pub fn expected_entries(&mut self, t: &mut MapleTree, nr_entries: u64) -> Result<(), Errno> {
        self.with_pool(t, |t, mas| bulk::mas_expected_entries(t, mas, nr_entries))
    }

    /// Whether the state is in bulk mode (`MA_STATE_BULK`).
    pub fn is_bulk(&self) -> bool {
        self.mas.flags & state::MA_STATE_BULK != 0
    }

    /// `mas_destroy()`: release every node the state holds and end its
    /// preallocation.
    pub fn destroy(&mut self, t: &mut MapleTree) {
        self.with_pool(t, alloc::mas_destroy);
    }

    /// `mas_allocated()`: nodes the state holds.
    pub fn allocated(&mut self, t: &mut MapleTree) -> usize {
        self.with_pool(t, |t, _| prealloc::allocated(t))
    }

    /// Whether the state holds a preallocation (`MA_STATE_PREALLOC`): set by
    /// [`preallocate`](Self::preallocate), kept by
    /// [`store_advanced`](Self::store_advanced), ended by
    /// [`store_prealloc`](Self::store_prealloc) and
    /// [`destroy`](Self::destroy).
    pub fn is_preallocated(&self) -> bool {
        prealloc::is_preallocated(&self.mas)
    }

    /// The store type the last write or preallocation chose.
    pub fn store_type(&self) -> StoreType {
        self.mas.store_type
    }

    /// Runs `f` with this state's node pool parked in the tree.
    fn with_pool<R>(
        &mut self,
        t: &mut MapleTree,
        f: impl FnOnce(&mut MapleTree, &mut Mas) -> R,
    ) -> R {
        std::mem::swap(&mut t.pool, &mut self.pool);
        // Give the pool back even when the store raises a
        // PreallocViolation, so the state still owns its nodes.
        let mas = &mut self.mas;
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(&mut *t, mas)));
        std::mem::swap(&mut t.pool, &mut self.pool);
        match r {
            Ok(r) => r,
            Err(p) => std::panic::resume_unwind(p),
        }
    }

    /// `mas_erase()`: erase the entry at the state's index.
    pub fn erase(&mut self, t: &mut MapleTree) -> Option<u64> {
        nz(self.with_pool(t, write::mas_erase))
    }
}

#[inline]
fn nz(e: u64) -> Option<u64> {
    (e != 0).then_some(e)
}
