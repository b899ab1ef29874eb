//! Node layout, encoded node pointers and the node arena.
//!
//! A node is 32 machine words (256 bytes), laid out exactly as the kernel lays
//! out `struct maple_node` on a 64-bit machine:
//!
//! | type | word 0 | pivots | slots | gaps | metadata |
//! |---|---|---|---|---|---|
//! | leaf_64 / range_64 | parent | words 1..=15 | words 16..=31 | - | low bytes of slot 15 (word 31) |
//! | arange_64 | parent | words 1..=9 | words 10..=19 | words 20..=29 | word 30 |
//!
//! Keeping the raw word layout (instead of a tidy Rust struct) is what makes
//! the port faithful where it matters to the bugs this project hunts: the
//! metadata of a range node lives in the word of its last slot, stale slots
//! and pivots past the data end are really there until something clears
//! them, and a destroyed node's bookkeeping overlays its pivots.
//!
//! Child pointers stored in slots, `ma_root` and parent words are encoded as
//! the kernel encodes them: a node "address" (a multiple of 256 that is
//! never below 4096) ORed with type and flag bits in the low byte. Nothing
//! here is `unsafe`; an address is an index into [`NodeArena`].

/// Slots in a dense node (256 bytes including the parent word).
pub const MAPLE_NODE_SLOTS: usize = 31;
/// Slots in a leaf_64 or range_64 node.
pub const MAPLE_RANGE64_SLOTS: usize = 16;
/// Slots in an arange_64 node.
pub const MAPLE_ARANGE64_SLOTS: usize = 10;
/// Words in one node.
pub const NODE_WORDS: usize = 32;
/// Low bits of an encoded node pointer that carry metadata.
pub const MAPLE_NODE_MASK: u64 = 0xFF;
/// Internal entries below this value are reserved (never nodes).
pub const MAPLE_RESERVED_RANGE: u64 = 4096;

/// Bit 1 of `ma_root` marks a root node pointer.
pub(crate) const MAPLE_ROOT_NODE: u64 = 0x02;
pub(crate) const MAPLE_ENODE_TYPE_SHIFT: u64 = 0x03;
pub(crate) const MAPLE_ENODE_NULL: u64 = 0x04;
/// Parent word bit 0: the parent is the tree itself (this node is the root).
pub(crate) const MA_ROOT_PARENT: u64 = 0x01;
pub(crate) const MAPLE_PARENT_SLOT_SHIFT: u64 = 0x03;
pub(crate) const MAPLE_PARENT_SLOT_MASK: u64 = 0xF8;
pub(crate) const MAPLE_PARENT_16B_SLOT_MASK: u64 = 0xFC;
pub(crate) const MAPLE_PARENT_RANGE64: u64 = 0x06;
pub(crate) const MAPLE_PARENT_NOT_RANGE16: u64 = 0x02;

/// The parent word a root node carries. The kernel stores the tree's address
/// with bit 0 set; this port has no tree address, so the address part is 0.
pub(crate) const TREE_PARENT: u64 = MA_ROOT_PARENT;

/// The kernel's `enum maple_type`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u8)]
pub enum NodeType {
    /// `maple_dense`: defined by the kernel, never built by its write paths.
    Dense = 0,
    /// `maple_leaf_64`: 16 slots, 15 pivots.
    Leaf64 = 1,
    /// `maple_range_64`: internal node of a normal tree, 16 children.
    Range64 = 2,
    /// `maple_arange_64`: internal node of an allocation tree, 10 children and gaps.
    Arange64 = 3,
}

impl NodeType {
    /// Decodes the 4-bit type field of an encoded pointer. Values above 3 do
    /// not occur in valid trees; they decode as `Dense` (type 0) so that a
    /// garbage word behaves like the kernel's "type 0" checks.
    #[inline]
    pub fn from_bits(bits: u64) -> NodeType {
        match bits & 0xF {
            1 => NodeType::Leaf64,
            2 => NodeType::Range64,
            3 => NodeType::Arange64,
            _ => NodeType::Dense,
        }
    }

    /// `mt_slots[type]`.
    #[inline]
    pub const fn slots(self) -> usize {
        match self {
            NodeType::Dense => MAPLE_NODE_SLOTS,
            NodeType::Leaf64 | NodeType::Range64 => MAPLE_RANGE64_SLOTS,
            NodeType::Arange64 => MAPLE_ARANGE64_SLOTS,
        }
    }

    /// `mt_pivots[type]`.
    #[inline]
    pub const fn pivots(self) -> usize {
        match self {
            NodeType::Dense => 0,
            NodeType::Leaf64 | NodeType::Range64 => MAPLE_RANGE64_SLOTS - 1,
            NodeType::Arange64 => MAPLE_ARANGE64_SLOTS - 1,
        }
    }

    /// `mt_min_slots[type]`: the fill below which a non-root node is deficient.
    #[inline]
    pub const fn min_slots(self) -> usize {
        match self {
            NodeType::Dense => MAPLE_NODE_SLOTS / 2,
            NodeType::Leaf64 | NodeType::Range64 => MAPLE_RANGE64_SLOTS / 2 - 2,
            NodeType::Arange64 => MAPLE_ARANGE64_SLOTS / 2 - 1,
        }
    }

    /// `ma_is_leaf()`: dense and leaf_64 nodes hold entries.
    #[inline]
    pub const fn is_leaf(self) -> bool {
        (self as u8) < (NodeType::Range64 as u8)
    }

    /// Word index of pivot 0.
    #[inline]
    pub(crate) const fn pivot_base(self) -> usize {
        1
    }

    /// Word index of slot 0.
    #[inline]
    pub(crate) const fn slot_base(self) -> usize {
        match self {
            NodeType::Dense => 1,
            NodeType::Leaf64 | NodeType::Range64 => 1 + MAPLE_RANGE64_SLOTS - 1,
            NodeType::Arange64 => 1 + MAPLE_ARANGE64_SLOTS - 1,
        }
    }

    /// Word index of the metadata (`struct maple_metadata { end, gap }`).
    #[inline]
    pub(crate) const fn meta_word(self) -> usize {
        match self {
            NodeType::Arange64 => 1 + 9 + 10 + 10,
            _ => NODE_WORDS - 1,
        }
    }

    /// Short name used in dumps and error messages.
    pub fn name(self) -> &'static str {
        match self {
            NodeType::Dense => "dense",
            NodeType::Leaf64 => "leaf_64",
            NodeType::Range64 => "range_64",
            NodeType::Arange64 => "arange_64",
        }
    }
}

/// Word index of gap 0 in an arange_64 node.
pub(crate) const GAP_BASE: usize = 1 + 9 + 10;

/// Index of a node in the arena.
pub type NodeId = u32;

/// A set of node ids as a bitset indexed by id: the walks that visit every
/// node (validation, node accounting) mark nodes here instead of hashing
/// them.
#[derive(Clone, Debug, Default)]
pub(crate) struct IdSet {
    bits: Vec<u64>,
    len: usize,
}

impl IdSet {
    /// An empty set sized for the arena's ids so far.
    pub(crate) fn for_arena(a: &NodeArena) -> IdSet {
        let mut s = IdSet::default();
        s.clear_for_arena(a);
        s
    }

    /// Empties the set and sizes it for the arena's ids so far, keeping
    /// its buffer.
    pub(crate) fn clear_for_arena(&mut self, a: &NodeArena) {
        self.bits.clear();
        self.bits.resize(a.words.len().div_ceil(64), 0);
        self.len = 0;
    }

    /// Adds `id`; false if it was there already.
    pub(crate) fn insert(&mut self, id: NodeId) -> bool {
        let (w, b) = (id as usize / 64, id % 64);
        if w >= self.bits.len() {
            self.bits.resize(w + 1, 0);
        }
        let had = self.bits[w] & (1 << b) != 0;
        self.bits[w] |= 1 << b;
        self.len += usize::from(!had);
        !had
    }

    /// Removes `id`.
    pub(crate) fn remove(&mut self, id: NodeId) {
        if let Some(w) = self.bits.get_mut(id as usize / 64) {
            let bit = 1 << (id % 64);
            self.len -= usize::from(*w & bit != 0);
            *w &= !bit;
        }
    }

    /// Whether `id` is in the set.
    pub(crate) fn contains(&self, id: &NodeId) -> bool {
        self.bits
            .get(*id as usize / 64)
            .is_some_and(|w| w & (1 << (id % 64)) != 0)
    }

    /// How many ids are in the set.
    pub(crate) fn len(&self) -> usize {
        self.len
    }
}

/// The lowest address handed out, so that every node pointer is above
/// `MAPLE_RESERVED_RANGE` exactly as `xa_is_node()` requires.
const ADDR_BIAS: u64 = MAPLE_RESERVED_RANGE >> 8;

/// The 256-aligned "address" of node `id`.
#[inline]
pub(crate) const fn node_addr(id: NodeId) -> u64 {
    (id as u64 + ADDR_BIAS) << 8
}

/// The node id behind an address (the low byte is ignored). Returns `None`
/// for address 0 and for anything below the first node.
#[inline]
pub(crate) fn addr_to_id(word: u64) -> Option<NodeId> {
    let a = word >> 8;
    if a < ADDR_BIAS {
        None
    } else {
        u32::try_from(a - ADDR_BIAS).ok()
    }
}

/// `mt_mk_node()`: encode node `id` of type `ty` as a child pointer.
#[inline]
pub(crate) const fn mk_node(id: NodeId, ty: NodeType) -> u64 {
    node_addr(id) | ((ty as u64) << MAPLE_ENODE_TYPE_SHIFT) | MAPLE_ENODE_NULL
}

/// `mte_node_type()`.
#[inline]
pub(crate) fn enode_type(enode: u64) -> NodeType {
    NodeType::from_bits(enode >> MAPLE_ENODE_TYPE_SHIFT)
}

/// `mte_to_node()` as an id. Panics on a word that is not a node pointer:
/// in C this would be a wild dereference, here it is a reported crash.
#[inline]
pub(crate) fn enode_id(enode: u64) -> NodeId {
    match addr_to_id(enode) {
        Some(id) => id,
        None => panic!("maple tree: {enode:#x} is not a node pointer"),
    }
}

/// `mte_to_node(x) & ~MAPLE_NODE_MASK`: the bare address of an encoded pointer.
#[inline]
pub(crate) const fn enode_addr(enode: u64) -> u64 {
    enode & !MAPLE_NODE_MASK
}

/// `XA_ZERO_ENTRY` (`xa_mk_internal(257)`): a reserved internal entry
/// (the normal store API refuses it); `dup_mmap()` stores it where a
/// failed fork stopped copying.
pub const XA_ZERO_ENTRY: u64 = (257 << 2) | 2;

/// `xa_is_internal()`: low two bits are `10`.
#[inline]
pub const fn xa_is_internal(entry: u64) -> bool {
    entry & 3 == 2
}

/// `xa_is_node()`: an internal entry above the reserved range.
#[inline]
pub const fn xa_is_node(entry: u64) -> bool {
    xa_is_internal(entry) && entry > MAPLE_RESERVED_RANGE
}

/// `mte_mk_root()`.
#[inline]
pub(crate) const fn mk_root(enode: u64) -> u64 {
    enode | MAPLE_ROOT_NODE
}

/// `mte_safe_root()`.
#[inline]
pub(crate) const fn safe_root(root: u64) -> u64 {
    root & !MAPLE_ROOT_NODE
}

/// Pattern written over freed nodes, as the kernel's slab debugging poisons them.
const POISON_WORD: u64 = 0x6b6b_6b6b_6b6b_6b6b;

/// Allocation counters of one arena.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct NodeCounters {
    /// Nodes handed out over the arena's lifetime.
    pub allocated: u64,
    /// Nodes returned over the arena's lifetime.
    pub freed: u64,
    /// Allocation requests refused by the fault schedule.
    pub failed: u64,
}

impl NodeCounters {
    /// Nodes currently allocated.
    pub fn live(&self) -> u64 {
        self.allocated - self.freed
    }
}

/// When node allocations fail (fault injection). Counting starts when the
/// schedule is set; every node the tree asks for counts once, whether it is
/// allocated alone or in a bulk (a bulk fails whole if any node in it fails).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum FaultSchedule {
    /// Allocations never fail.
    #[default]
    Never,
    /// Only the k-th allocation from now fails (k >= 1).
    Nth(u64),
    /// The next n allocations fail.
    Next(u64),
    /// Every n-th allocation from now fails (n >= 1).
    Every(u64),
    /// The k-th allocation from now and every one after it fail (k >= 1).
    From(u64),
}

impl FaultSchedule {
    /// Whether allocation number `seen` (1-based) fails.
    pub fn fails(self, seen: u64) -> bool {
        match self {
            FaultSchedule::Never => false,
            FaultSchedule::Nth(k) => seen == k,
            FaultSchedule::Next(n) => seen <= n,
            FaultSchedule::Every(n) => n != 0 && seen % n == 0,
            FaultSchedule::From(k) => seen >= k,
        }
    }
}

/// The node allocator: an arena of 256-byte nodes standing in for the
/// kernel's `maple_node_cache`. Every allocation and free is counted, and a
/// [`FaultSchedule`] can make any allocation fail.
#[derive(Clone, Debug, Default)]
pub struct NodeArena {
    words: Vec<[u64; NODE_WORDS]>,
    free_ids: Vec<NodeId>,
    in_use: Vec<bool>,
    counters: NodeCounters,
    /// Nodes that sit in maple-state pools (allocated, not yet in the tree).
    pub(crate) pooled: u64,
    faults: FaultSchedule,
    /// Allocation attempts since the schedule was set.
    fault_seen: u64,
    /// While set, allocations neither fail nor count against the schedule.
    faults_suspended: bool,
    /// The nodes written or allocated since [`NodeArena::clear_written`]
    /// (the set, and the same ids in order), for validation that costs
    /// what an operation touched.
    written: IdSet,
    written_ids: Vec<NodeId>,
    /// The word stores in order, while a journal is kept
    /// ([`crate::MapleTree::keep_store_journal`]).
    pub(crate) journal: Option<Box<StoreJournal>>,
}

/// One store a writer made: a word of a node, or the tree's root pointer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Store {
    /// Word `word` of the node at address `addr` became `value`.
    Word { addr: u64, word: usize, value: u64 },
    /// `ma_root` became `value`.
    Root(u64),
    /// The node at address `addr` was freed.
    Freed(u64),
}

/// The stores since the journal was last taken. Each `words_mut()` borrow
/// of a node is diffed against the node's words when the next store
/// begins, so single-word stores (all the in-place writes) come out in
/// program order, and a block copy into a node as its changed words.
#[derive(Clone, Debug, Default)]
pub(crate) struct StoreJournal {
    pub(crate) stores: Vec<Store>,
    /// The node borrowed last, and its words before.
    open: Option<(NodeId, [u64; NODE_WORDS])>,
}

impl StoreJournal {
    /// Records what changed in the node borrowed last.
    fn settle(&mut self, words: &[[u64; NODE_WORDS]]) {
        if let Some((id, old)) = self.open.take() {
            let now = &words[id as usize];
            for k in 0..NODE_WORDS {
                if now[k] != old[k] {
                    self.stores.push(Store::Word {
                        addr: node_addr(id),
                        word: k,
                        value: now[k],
                    });
                }
            }
        }
    }
}

impl NodeArena {
    /// Sets the fault schedule and restarts its count.
    pub fn set_faults(&mut self, s: FaultSchedule) {
        self.faults = s;
        self.fault_seen = 0;
    }

    /// Suspends (or resumes) the fault schedule: while suspended,
    /// allocations neither fail nor count as attempts.
    pub fn suspend_faults(&mut self, on: bool) {
        self.faults_suspended = on;
    }

    /// The fault schedule in force.
    pub fn faults(&self) -> FaultSchedule {
        self.faults
    }

    /// Allocation attempts since the schedule was set.
    pub fn attempts(&self) -> u64 {
        self.fault_seen
    }

    /// Allocation counters.
    pub fn counters(&self) -> NodeCounters {
        self.counters
    }

    /// `kmem_cache_alloc()`: a zeroed node, or `None` when the allocation fails.
    pub(crate) fn alloc(&mut self) -> Option<NodeId> {
        if !self.faults_suspended {
            self.fault_seen += 1;
            if self.faults.fails(self.fault_seen) {
                self.counters.failed += 1;
                return None;
            }
        }
        let id = match self.free_ids.pop() {
            Some(id) => {
                self.words[id as usize] = [0; NODE_WORDS];
                self.in_use[id as usize] = true;
                id
            }
            None => {
                let id = NodeId::try_from(self.words.len()).ok()?;
                self.words.push([0; NODE_WORDS]);
                self.in_use.push(true);
                id
            }
        };
        self.counters.allocated += 1;
        self.mark_written(id);
        Some(id)
    }

    /// `kmem_cache_alloc_bulk()`: `n` nodes, all or nothing (on a failure
    /// the nodes already taken are given back).
    pub(crate) fn alloc_bulk(&mut self, n: usize) -> Option<Vec<NodeId>> {
        let mut got = Vec::with_capacity(n);
        for _ in 0..n {
            match self.alloc() {
                Some(x) => got.push(x),
                None => {
                    for x in got {
                        self.free(x);
                    }
                    return None;
                }
            }
        }
        Some(got)
    }

    /// `kmem_cache_free()`: poison the node and return it. Freeing a node
    /// that is not allocated is a double free: the tree is corrupt.
    pub(crate) fn free(&mut self, id: NodeId) {
        let i = id as usize;
        assert!(
            self.in_use.get(i).copied().unwrap_or(false),
            "maple tree: double free of node {:#x}",
            node_addr(id)
        );
        if let Some(j) = self.journal.as_mut() {
            j.settle(&self.words);
            j.stores.push(Store::Freed(node_addr(id)));
        }
        self.in_use[i] = false;
        self.words[i] = [POISON_WORD; NODE_WORDS];
        self.free_ids.push(id);
        self.counters.freed += 1;
    }

    /// Whether `id` is currently allocated.
    pub fn is_allocated(&self, id: NodeId) -> bool {
        self.in_use.get(id as usize).copied().unwrap_or(false)
    }

    /// The raw words of node `id`.
    #[inline]
    pub fn words(&self, id: NodeId) -> &[u64; NODE_WORDS] {
        let i = id as usize;
        debug_assert!(self.in_use[i], "maple tree: use after free of node {id}");
        &self.words[i]
    }

    /// The raw words of node `id`, mutably (the node counts as written).
    #[inline]
    pub fn words_mut(&mut self, id: NodeId) -> &mut [u64; NODE_WORDS] {
        let i = id as usize;
        debug_assert!(self.in_use[i], "maple tree: use after free of node {id}");
        self.mark_written(id);
        if let Some(j) = self.journal.as_mut() {
            j.settle(&self.words);
            j.open = Some((id, self.words[i]));
        }
        &mut self.words[i]
    }

    /// Starts (or stops) keeping a journal of stores.
    pub(crate) fn keep_journal(&mut self, on: bool) {
        self.journal = on.then(Box::default);
    }

    /// Records a store to the root pointer in the journal, if one is kept.
    pub(crate) fn journal_root(&mut self, value: u64) {
        if let Some(j) = self.journal.as_mut() {
            j.settle(&self.words);
            j.stores.push(Store::Root(value));
        }
    }

    /// The stores since the last call, if a journal is kept.
    pub(crate) fn take_journal(&mut self) -> Option<Vec<Store>> {
        let j = self.journal.as_mut()?;
        j.settle(&self.words);
        // The next write journals about as many stores: no regrowing.
        let room = j.stores.capacity();
        Some(std::mem::replace(&mut j.stores, Vec::with_capacity(room)))
    }

    #[inline]
    fn mark_written(&mut self, id: NodeId) {
        if self.written.insert(id) {
            self.written_ids.push(id);
        }
    }

    /// The nodes written or allocated since the last
    /// [`clear_written`](Self::clear_written), in the order first written.
    pub fn written(&self) -> &[NodeId] {
        &self.written_ids
    }

    /// Forgets which nodes were written.
    pub fn clear_written(&mut self) {
        for &id in &self.written_ids {
            self.written.remove(id);
        }
        self.written_ids.clear();
    }

    // ---- typed accessors, by encoded pointer ------------------------------

    /// `node->parent`.
    #[inline]
    pub(crate) fn parent_word(&self, enode: u64) -> u64 {
        self.words(enode_id(enode))[0]
    }

    #[inline]
    pub(crate) fn set_parent_word(&mut self, enode: u64, val: u64) {
        self.words_mut(enode_id(enode))[0] = val;
    }

    /// `ma_pivots(node, type)[i]`.
    #[inline]
    pub(crate) fn pivot(&self, enode: u64, i: usize) -> u64 {
        let ty = enode_type(enode);
        debug_assert!(i < ty.pivots());
        self.words(enode_id(enode))[ty.pivot_base() + i]
    }

    #[inline]
    pub(crate) fn set_pivot(&mut self, enode: u64, i: usize, val: u64) {
        let ty = enode_type(enode);
        debug_assert!(i < ty.pivots());
        self.words_mut(enode_id(enode))[ty.pivot_base() + i] = val;
    }

    /// `ma_slots(node, type)[i]`.
    #[inline]
    pub(crate) fn slot(&self, enode: u64, i: usize) -> u64 {
        let ty = enode_type(enode);
        debug_assert!(i < ty.slots());
        self.words(enode_id(enode))[ty.slot_base() + i]
    }

    #[inline]
    pub(crate) fn set_slot(&mut self, enode: u64, i: usize, val: u64) {
        let ty = enode_type(enode);
        debug_assert!(i < ty.slots());
        self.words_mut(enode_id(enode))[ty.slot_base() + i] = val;
    }

    /// `ma_gaps(node, type)[i]` (arange_64 only).
    #[inline]
    pub(crate) fn gap(&self, enode: u64, i: usize) -> u64 {
        debug_assert_eq!(enode_type(enode), NodeType::Arange64);
        self.words(enode_id(enode))[GAP_BASE + i]
    }

    /// `mte_set_gap()`: only arange_64 nodes have gaps.
    #[inline]
    pub(crate) fn set_gap(&mut self, enode: u64, i: usize, val: u64) {
        if enode_type(enode) == NodeType::Arange64 {
            self.words_mut(enode_id(enode))[GAP_BASE + i] = val;
        }
    }

    /// `ma_meta_end()`.
    #[inline]
    pub(crate) fn meta_end(&self, enode: u64) -> usize {
        let ty = enode_type(enode);
        (self.words(enode_id(enode))[ty.meta_word()] & 0xFF) as usize
    }

    /// `ma_meta_gap()`.
    #[inline]
    pub(crate) fn meta_gap(&self, enode: u64) -> usize {
        let ty = enode_type(enode);
        ((self.words(enode_id(enode))[ty.meta_word()] >> 8) & 0xFF) as usize
    }

    /// `ma_set_meta()`: write both metadata bytes (end, gap offset), leaving
    /// the rest of the word as it is.
    #[inline]
    pub(crate) fn set_meta(&mut self, enode: u64, gap: usize, end: usize) {
        let ty = enode_type(enode);
        let w = &mut self.words_mut(enode_id(enode))[ty.meta_word()];
        *w = (*w & !0xFFFF) | ((gap as u64 & 0xFF) << 8) | (end as u64 & 0xFF);
    }

    /// `ma_set_meta_gap()`.
    #[inline]
    pub(crate) fn set_meta_gap(&mut self, enode: u64, gap: usize) {
        let ty = enode_type(enode);
        let w = &mut self.words_mut(enode_id(enode))[ty.meta_word()];
        *w = (*w & !0xFF00) | ((gap as u64 & 0xFF) << 8);
    }

    /// `mas_leaf_set_meta()`: a full node has no metadata (its last slot is data).
    #[inline]
    pub(crate) fn leaf_set_meta(&mut self, enode: u64, end: usize) {
        if end < enode_type(enode).slots() - 1 {
            self.set_meta(enode, 0, end);
        }
    }

    /// `ma_data_end()`: the offset of the last used slot, found from the
    /// pivots and metadata as the kernel does. `max` is the node's limit.
    #[inline]
    pub(crate) fn data_end(&self, enode: u64, max: u64) -> usize {
        let ty = enode_type(enode);
        if ty == NodeType::Dense {
            return 0;
        }
        if ty == NodeType::Arange64 {
            return self.meta_end(enode);
        }
        let w = self.words(enode_id(enode));
        let last = ty.pivots() - 1;
        let piv = w[ty.pivot_base() + last];
        if piv == 0 {
            return (w[ty.meta_word()] & 0xFF) as usize;
        }
        if piv == max {
            return last;
        }
        ty.pivots()
    }

    /// `ma_is_root()`.
    #[inline]
    pub(crate) fn is_root(&self, enode: u64) -> bool {
        self.parent_word(enode) & MA_ROOT_PARENT != 0
    }

    /// `ma_dead_node()`: a dead node's parent points at itself.
    #[inline]
    pub(crate) fn is_dead(&self, enode: u64) -> bool {
        enode_addr(self.parent_word(enode)) == enode_addr(enode)
    }

    /// `mte_set_node_dead()`.
    #[inline]
    pub(crate) fn set_dead(&mut self, enode: u64) {
        self.set_parent_word(enode, enode_addr(enode));
    }

    /// `mte_parent()`: the parent's address (0 for the root).
    #[inline]
    pub(crate) fn parent_addr(&self, enode: u64) -> u64 {
        enode_addr(self.parent_word(enode))
    }

    /// `mte_parent_slot()`.
    #[inline]
    pub(crate) fn parent_slot(&self, enode: u64) -> usize {
        let val = self.parent_word(enode);
        if val & MA_ROOT_PARENT != 0 {
            return 0;
        }
        let shift = if val & MAPLE_PARENT_NOT_RANGE16 != 0 {
            MAPLE_PARENT_SLOT_SHIFT
        } else {
            2
        };
        ((val & MAPLE_PARENT_16B_SLOT_MASK) >> shift) as usize
    }

    /// `mas_parent_type()`: the type of the parent, from the parent word and
    /// the tree's flavour. Returns `Dense` (0) for a root, as the kernel's
    /// WARN path does.
    #[inline]
    pub(crate) fn parent_type(&self, enode: u64, alloc_tree: bool) -> NodeType {
        let p = self.parent_word(enode);
        if p & MA_ROOT_PARENT != 0 {
            return NodeType::Dense;
        }
        let mut t = p & MAPLE_NODE_MASK;
        let mask = if t & MAPLE_PARENT_NOT_RANGE16 != 0 {
            MAPLE_PARENT_SLOT_MASK
        } else {
            MAPLE_PARENT_16B_SLOT_MASK
        };
        t &= !mask;
        if t == MAPLE_PARENT_RANGE64 {
            if alloc_tree {
                NodeType::Arange64
            } else {
                NodeType::Range64
            }
        } else {
            NodeType::Dense
        }
    }

    /// The parent as an encoded pointer (`mt_mk_node(mte_parent(), type)`).
    #[inline]
    pub(crate) fn parent_enode(&self, enode: u64, alloc_tree: bool) -> u64 {
        let addr = self.parent_addr(enode);
        addr | ((self.parent_type(enode, alloc_tree) as u64) << MAPLE_ENODE_TYPE_SHIFT)
            | MAPLE_ENODE_NULL
    }

    /// `mas_set_parent()`: record that `enode` sits in slot `slot` of `parent`.
    #[inline]
    pub(crate) fn set_parent(&mut self, enode: u64, parent: u64, slot: usize) {
        let pty = enode_type(parent);
        let (shift, ty) = match pty {
            NodeType::Range64 | NodeType::Arange64 => {
                (MAPLE_PARENT_SLOT_SHIFT, MAPLE_PARENT_RANGE64)
            }
            _ => panic!("maple tree: parent {parent:#x} of type {pty:?} cannot have children"),
        };
        let val = enode_addr(parent) | ((slot as u64) << shift) | ty;
        self.set_parent_word(enode, val);
    }

    /// Copies node `src` over node `dst` (`memcpy` of a whole node).
    #[inline]
    pub(crate) fn copy_node(&mut self, dst: NodeId, src: &[u64; NODE_WORDS]) {
        *self.words_mut(dst) = *src;
    }

    /// Number of nodes currently allocated.
    pub fn live(&self) -> u64 {
        self.counters.live()
    }

    /// Ids of every allocated node, ascending.
    pub fn allocated_ids(&self) -> impl Iterator<Item = NodeId> + '_ {
        self.in_use
            .iter()
            .enumerate()
            .filter(|(_, u)| **u)
            .map(|(i, _)| i as NodeId)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodings_match_the_kernel() {
        // Low bytes of encoded child pointers: leaf 0x0C, range 0x14, arange 0x1C.
        assert_eq!(mk_node(0, NodeType::Leaf64) & 0xFF, 0x0C);
        assert_eq!(mk_node(0, NodeType::Range64) & 0xFF, 0x14);
        assert_eq!(mk_node(0, NodeType::Arange64) & 0xFF, 0x1C);
        let e = mk_node(7, NodeType::Range64);
        assert!(xa_is_node(mk_root(e)));
        assert_eq!(enode_type(e), NodeType::Range64);
        assert_eq!(enode_id(e), 7);
        assert_eq!(safe_root(mk_root(e)), e);
        assert!(!xa_is_node(0x402));
    }

    #[test]
    fn capacities_match_the_kernel() {
        assert_eq!(NodeType::Leaf64.slots(), 16);
        assert_eq!(NodeType::Leaf64.pivots(), 15);
        assert_eq!(NodeType::Leaf64.min_slots(), 6);
        assert_eq!(NodeType::Arange64.slots(), 10);
        assert_eq!(NodeType::Arange64.pivots(), 9);
        assert_eq!(NodeType::Arange64.min_slots(), 4);
        // Range metadata shares the word of slot 15; arange metadata follows the gaps.
        assert_eq!(
            NodeType::Range64.slot_base() + 15,
            NodeType::Range64.meta_word()
        );
        assert_eq!(GAP_BASE + 10, NodeType::Arange64.meta_word());
    }

    #[test]
    fn parent_words_round_trip() {
        let mut a = NodeArena::default();
        let p = mk_node(a.alloc().unwrap(), NodeType::Range64);
        let c = mk_node(a.alloc().unwrap(), NodeType::Leaf64);
        a.set_parent(c, p, 13);
        assert_eq!(a.parent_slot(c), 13);
        assert_eq!(a.parent_addr(c), enode_addr(p));
        assert_eq!(a.parent_type(c, false), NodeType::Range64);
        assert_eq!(a.parent_type(c, true), NodeType::Arange64);
        assert!(!a.is_dead(c));
        a.set_dead(c);
        assert!(a.is_dead(c));
    }

    #[test]
    fn data_end_reads_metadata_or_pivots() {
        let mut a = NodeArena::default();
        let n = mk_node(a.alloc().unwrap(), NodeType::Leaf64);
        a.set_pivot(n, 0, 10);
        a.set_pivot(n, 1, 20);
        a.set_meta(n, 0, 2);
        assert_eq!(a.data_end(n, 100), 2);
        a.set_pivot(n, 14, 100);
        assert_eq!(a.data_end(n, 100), 14);
        assert_eq!(a.data_end(n, 200), 15);
    }

    #[test]
    fn counters_and_double_free() {
        let mut a = NodeArena::default();
        let x = a.alloc().unwrap();
        let y = a.alloc().unwrap();
        a.free(x);
        assert_eq!(a.live(), 1);
        let z = a.alloc().unwrap();
        assert_eq!(z, x, "freed nodes are reused");
        assert_eq!(a.words(z), &[0; NODE_WORDS], "allocations are zeroed");
        a.free(y);
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| a.free(y)));
        assert!(r.is_err());
    }
}
