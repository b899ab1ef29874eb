//! The write path: classifying a store (`mas_wr_store_type`) and the store
//! types that change one node in place (exact fit, append, slot store, node
//! store), the root stores, and the API
//! entry points built on them (`mas_store_gfp`, `mas_erase`, `mas_insert`).
//! Splits, rebalances and spanning stores live in `rebalance.rs`, the
//! destroy walk in `destroy.rs`.

use super::alloc::{mas_destroy, mas_node_count, mas_nomem, mas_pop_node};
use super::bignode::{mas_store_b_node, BigNode};
use super::node::{enode_type, mk_node, mk_root, xa_is_node, NodeType, NODE_WORDS, TREE_PARENT};
use super::rebalance::{mas_commit_b_node, mas_wr_spanning_store};
use super::state::{mas_start, mas_state_walk, safe_min, Mas, Status, MA_STATE_BULK};
use super::{Errno, MapleTree, StoreType};
use crate::mutants::{active, Mutant};

/// The kernel's `struct ma_wr_state`: what a write learnt on its way down.
#[derive(Clone, Copy, Debug)]
pub(crate) struct WrState {
    /// The node being written (encoded).
    pub node: u64,
    pub r_min: u64,
    pub r_max: u64,
    pub ty: NodeType,
    pub offset_end: usize,
    pub end_piv: u64,
    /// The entry the write overwrites at `mas.offset`.
    pub content: u64,
    /// The entry being written (0 for NULL).
    pub entry: u64,
    /// The height, counted from the leaves' parents' level up as the
    /// kernel counts it (the root is `depth` 1), of the lowest internal
    /// node the walk passed that has a free slot; 0 if none. Linux 6.15
    /// and later record it in the write walk and size preallocations by
    /// it; 6.12, which the port follows, does not use it.
    pub vacant_height: u32,
    /// The same for the lowest internal node with more than its minimum
    /// occupancy plus one (the root: more than two children), which a
    /// rebalance or spanning store can stop at; 0 if none (6.15 and later).
    pub sufficient_height: u32,
}

impl WrState {
    /// `MA_WR_STATE(name, mas, entry)`.
    pub fn new(entry: u64) -> WrState {
        WrState {
            node: 0,
            r_min: 0,
            r_max: 0,
            ty: NodeType::Dense,
            offset_end: 0,
            end_piv: 0,
            content: 0,
            entry,
            vacant_height: 0,
            sufficient_height: 0,
        }
    }
}

// ---- gaps ---------------------------------------------------------------

/// `mas_leaf_max_gap()`: the largest NULL range in a leaf.
pub(crate) fn mas_leaf_max_gap(t: &MapleTree, mas: &Mas) -> u64 {
    let a = &t.arena;
    let n = mas.node;
    let mut max_gap = 0u64;
    let mut i;
    if a.slot(n, 0) == 0 {
        max_gap = a.pivot(n, 0).wrapping_sub(mas.min).wrapping_add(1);
        i = 2;
    } else {
        i = 1;
    }
    let max_piv = a.data_end(n, mas.max).wrapping_sub(1);
    if mas.max == u64::MAX && a.slot(n, max_piv.wrapping_add(1)) == 0 {
        let gap = u64::MAX - a.pivot(n, max_piv);
        if gap > max_gap {
            max_gap = gap;
        }
        if max_gap > a.pivot(n, max_piv).wrapping_sub(mas.min) {
            return max_gap;
        }
    }
    while i <= max_piv {
        if a.slot(n, i) != 0 {
            i += 1;
            continue;
        }
        let gap = a.pivot(n, i).wrapping_sub(a.pivot(n, i - 1));
        if gap > max_gap {
            max_gap = gap;
        }
        i += 2;
    }
    max_gap
}

/// `ma_max_gap()`: the largest gap of an arange node and its offset.
pub(crate) fn ma_max_gap(t: &MapleTree, enode: u64) -> (u64, usize) {
    let a = &t.arena;
    let mut i = a.meta_end(enode);
    let mut offset = i;
    let mut max_gap = 0;
    loop {
        let g = a.gap(enode, i);
        if g > max_gap {
            max_gap = g;
            offset = i;
        }
        if i == 0 {
            break;
        }
        i -= 1;
    }
    (max_gap, offset)
}

/// `mas_max_gap()`.
pub(crate) fn mas_max_gap(t: &MapleTree, mas: &Mas) -> u64 {
    let ty = enode_type(mas.node);
    if ty.is_leaf() {
        return mas_leaf_max_gap(t, mas);
    }
    assert_eq!(
        ty,
        NodeType::Arange64,
        "maple tree: gap of a non-arange node"
    );
    let off = t.arena.meta_gap(mas.node);
    t.arena.gap(mas.node, off)
}

/// `mas_parent_gap()`: record `new` as the gap of `offset` in the parent and
/// propagate a change of the parent's largest gap upwards.
fn mas_parent_gap(t: &mut MapleTree, mas: &Mas, mut offset: usize, mut new: u64) {
    let mut penode = t.parent_enode(mas.node);
    loop {
        assert_eq!(
            enode_type(penode),
            NodeType::Arange64,
            "maple tree: gap in a non-arange parent"
        );
        let meta_offset = t.arena.meta_gap(penode);
        let meta_gap = t.arena.gap(penode, meta_offset);
        t.arena.set_gap(penode, offset, new);
        if meta_gap == new {
            return;
        }
        if offset != meta_offset {
            if meta_gap > new {
                return;
            }
            t.arena.set_meta_gap(penode, offset);
        } else if new < meta_gap {
            let (g, off) = ma_max_gap(t, penode);
            new = g;
            t.arena.set_meta_gap(penode, off);
        }
        if t.arena.is_root(penode) {
            return;
        }
        offset = t.arena.parent_slot(penode);
        penode = t.parent_enode(penode);
    }
}

/// `mas_update_gap()`: refresh the parent's record of this node's largest gap.
pub(crate) fn mas_update_gap(t: &mut MapleTree, mas: &Mas) {
    if !t.is_alloc() {
        return;
    }
    if t.arena.is_root(mas.node) {
        return;
    }
    let max_gap = mas_max_gap(t, mas);
    let pslot = t.arena.parent_slot(mas.node);
    let p_gap = t.arena.gap(t.parent_enode(mas.node), pslot);
    if p_gap != max_gap {
        mas_parent_gap(t, mas, pslot, max_gap);
    }
}

/// `mas_new_ma_node()`: a fresh node of type `ty`, encoded.
#[inline]
pub(crate) fn mas_new_node(t: &mut MapleTree, ty: NodeType) -> u64 {
    mk_node(mas_pop_node(t), ty)
}

// ---- root stores ------------------------------------------------------------

/// `mas_root_expand()`: turn an empty or single-entry tree into a leaf.
fn mas_root_expand(t: &mut MapleTree, mas: &mut Mas, entry: u64) -> usize {
    let contents = t.root;
    let node = mas_new_node(t, NodeType::Leaf64);
    t.arena.set_parent_word(node, TREE_PARENT);
    mas.node = node;
    mas.status = Status::Active;
    let mut slot = 0;
    if mas.index != 0 {
        if contents != 0 {
            t.arena.set_slot(node, slot, contents);
            if mas.index > 1 {
                slot += 1;
            }
        }
        t.arena.set_pivot(node, slot, mas.index - 1);
        slot += 1;
    }
    t.arena.set_slot(node, slot, entry);
    mas.offset = slot;
    t.arena.set_pivot(node, slot, mas.last);
    if mas.last != u64::MAX {
        slot += 1;
        t.arena.set_pivot(node, slot, u64::MAX);
    }
    mas.depth = 1;
    t.set_height(1);
    t.arena.set_meta(node, 0, slot);
    t.set_root(mk_root(node));
    slot
}

/// `mas_store_root()`: a write to an empty tree or a single root entry.
fn mas_store_root(t: &mut MapleTree, mas: &mut Mas, entry: u64) {
    if entry == 0 {
        if mas.index == 0 {
            t.set_root(0);
        }
    } else if mas.last != 0 || mas.index != 0 || entry & 3 == 2 {
        mas_root_expand(t, mas, entry);
    } else {
        t.set_root(entry);
        mas.status = Status::Start;
    }
}

/// `mas_new_root()`: a write covering the whole index space.
pub(crate) fn mas_new_root(t: &mut MapleTree, mas: &mut Mas, entry: u64) {
    let root = t.root;
    if entry == 0 && mas.index == 0 && mas.last == u64::MAX {
        mas.depth = 0;
        t.set_height(0);
        t.set_root(0);
        mas.status = Status::Start;
    } else {
        let node = mas_new_node(t, NodeType::Leaf64);
        t.arena.set_parent_word(node, TREE_PARENT);
        mas.node = node;
        mas.status = Status::Active;
        t.arena.set_slot(node, 0, entry);
        t.arena.set_pivot(node, 0, mas.last);
        mas.depth = 1;
        t.set_height(1);
        t.set_root(mk_root(node));
    }
    if xa_is_node(root) {
        super::destroy::mte_destroy_walk(t, super::node::safe_root(root));
    }
}

// ---- walking down for a write ------------------------------------------------

/// `mas_wr_node_walk()`: find the slot of `mas.index` in the current node.
pub(crate) fn mas_wr_node_walk(t: &MapleTree, mas: &mut Mas, wr: &mut WrState) {
    let a = &t.arena;
    wr.node = mas.node;
    let count = a.data_end(mas.node, mas.max);
    mas.end = count;
    let mut offset = mas.offset;
    while offset < count && mas.index > a.pivot(mas.node, offset) {
        offset += 1;
    }
    wr.r_max = if offset < count {
        a.pivot(mas.node, offset)
    } else {
        mas.max
    };
    wr.r_min = safe_min(a, mas, mas.node, offset);
    wr.offset_end = offset;
    mas.offset = offset;
}

/// `mas_is_span_wr()`: does the write reach past this node?
fn mas_is_span_wr(mas: &Mas, wr: &WrState) -> bool {
    let mut max = wr.r_max;
    let last = mas.last;
    if last < max {
        return false;
    }
    if wr.ty.is_leaf() {
        max = mas.max;
        if last < max {
            return false;
        }
    }
    if last == max && (wr.entry != 0 || last == u64::MAX) {
        return false;
    }
    true
}

/// `mas_wr_walk_descend()`.
#[inline]
pub(crate) fn mas_wr_walk_descend(t: &MapleTree, mas: &mut Mas, wr: &mut WrState) {
    wr.ty = enode_type(mas.node);
    mas_wr_node_walk(t, mas, wr);
}

/// `mas_wr_walk_traverse()`.
#[inline]
fn mas_wr_walk_traverse(mas: &mut Mas, wr: &WrState) {
    mas.max = wr.r_max;
    mas.min = wr.r_min;
    mas.node = wr.content;
    mas.offset = 0;
    mas.depth += 1;
}

/// `mas_wr_walk()`: descend to the leaf; false if the write spans nodes.
fn mas_wr_walk(t: &MapleTree, mas: &mut Mas, wr: &mut WrState) -> bool {
    loop {
        mas_wr_walk_descend(t, mas, wr);
        if mas_is_span_wr(mas, wr) {
            return false;
        }
        wr.content = t.arena.slot(mas.node, mas.offset);
        if wr.ty.is_leaf() {
            return true;
        }
        record_heights(t, mas, wr);
        mas_wr_walk_traverse(mas, wr);
    }
}

/// What Linux 6.15 and later note of each internal node the write walk
/// passes (the port's `mas.depth` is 1 at the root, so it is already the
/// height those kernels record as `depth + 1`).
fn record_heights(t: &MapleTree, mas: &Mas, wr: &mut WrState) {
    if mas.end + 1 < wr.ty.slots() {
        wr.vacant_height = mas.depth;
    }
    if t.arena.is_root(mas.node) {
        if mas.end > 2 {
            wr.sufficient_height = 1;
        }
    } else if mas.end > wr.ty.min_slots() + 1 {
        wr.sufficient_height = mas.depth;
    }
}

/// `mas_wr_walk_index()`: descend to the leaf holding `mas.index`.
pub(crate) fn mas_wr_walk_index(t: &MapleTree, mas: &mut Mas, wr: &mut WrState) {
    loop {
        mas_wr_walk_descend(t, mas, wr);
        wr.content = t.arena.slot(mas.node, mas.offset);
        if wr.ty.is_leaf() {
            return;
        }
        mas_wr_walk_traverse(mas, wr);
    }
}

/// `mas_wr_end_piv()`: find the slot holding `mas.last`.
pub(crate) fn mas_wr_end_piv(t: &MapleTree, mas: &Mas, wr: &mut WrState) {
    let a = &t.arena;
    while wr.offset_end < mas.end && mas.last > a.pivot(wr.node, wr.offset_end) {
        wr.offset_end += 1;
    }
    wr.end_piv = if wr.offset_end < mas.end {
        a.pivot(wr.node, wr.offset_end)
    } else {
        mas.max
    };
}

/// `mas_wr_new_end()`: the data end after the write.
/// The kernel computes this in `unsigned char` for every store type, also
/// where the fields are stale (root stores); it is only used where they are
/// valid, so the arithmetic wraps like a u8.
pub(crate) fn mas_wr_new_end(mas: &Mas, wr: &WrState) -> usize {
    let mut new_end = (mas.end as u8).wrapping_add(2);
    new_end = new_end.wrapping_sub((wr.offset_end as u8).wrapping_sub(mas.offset as u8));
    if wr.r_min == mas.index {
        new_end = new_end.wrapping_sub(1);
    }
    if wr.end_piv == mas.last {
        new_end = new_end.wrapping_sub(1);
    }
    new_end as usize
}

/// `mas_wr_extend_null()`: widen a NULL write over neighbouring NULLs so
/// that no two NULL ranges are ever adjacent.
fn mas_wr_extend_null(t: &MapleTree, mas: &mut Mas, wr: &mut WrState) {
    let a = &t.arena;
    if a.slot(wr.node, wr.offset_end) == 0 {
        mas.last = wr.end_piv;
    } else if mas.last == wr.end_piv
        // Mutant extend-null-overflow (a pre-merge fuzzer finding): without
        // this bound the NULL is extended over the slot after the node's
        // last one, and the pivot past the data end becomes `last`.
        && (mas.end != wr.offset_end || active(Mutant::ExtendNullOverflow))
        && a.slot(wr.node, wr.offset_end + 1) == 0
    {
        wr.offset_end += 1;
        mas.last = if wr.offset_end == mas.end {
            mas.max
        } else {
            a.pivot(wr.node, wr.offset_end)
        };
        wr.end_piv = mas.last;
    }
    if wr.content == 0 {
        mas.index = wr.r_min;
    } else if mas.index == wr.r_min && mas.offset != 0 && a.slot(wr.node, mas.offset - 1) == 0 {
        mas.offset -= 1;
        wr.r_min = safe_min(a, mas, wr.node, mas.offset);
        mas.index = wr.r_min;
        wr.r_max = a.pivot(wr.node, mas.offset);
    }
}

/// `mas_wr_prealloc_setup()`: decide whether the state can be reused as it
/// stands or must walk from the root.
pub(crate) fn mas_wr_prealloc_setup(t: &MapleTree, mas: &mut Mas, wr: &mut WrState) {
    let reset = if !mas.is_active() {
        !mas.is_start()
    } else {
        mas.last > mas.max
            || (wr.entry == 0 && enode_type(mas.node).is_leaf() && mas.last == mas.max)
    };
    if reset {
        mas.reset();
    }
    wr.content = mas_start(t, mas);
}

/// `mas_wr_store_type()`: classify the write.
pub(crate) fn mas_wr_store_type(t: &MapleTree, mas: &mut Mas, wr: &mut WrState) {
    if mas.is_none() || mas.is_ptr() {
        mas.store_type = StoreType::StoreRoot;
        return;
    }
    if !mas_wr_walk(t, mas, wr) {
        mas.store_type = StoreType::SpanningStore;
        return;
    }
    mas_wr_end_piv(t, mas, wr);
    if wr.entry == 0 {
        mas_wr_extend_null(t, mas, wr);
    }
    let new_end = mas_wr_new_end(mas, wr);
    if wr.r_min == mas.index && wr.r_max == mas.last {
        mas.store_type = StoreType::ExactFit;
        return;
    }
    if mas.index == 0 && mas.last == u64::MAX {
        mas.store_type = StoreType::NewRoot;
        return;
    }
    let is_root = t.arena.is_root(mas.node);
    // Mutant rebalance-threshold: one too lenient, a leaf ending at
    // min_slots - 1 is kept as it is.
    let deficient = if active(Mutant::RebalanceThreshold) {
        new_end + 1 < wr.ty.min_slots()
    } else {
        new_end < wr.ty.min_slots()
    };
    if deficient {
        mas.store_type = if !is_root && mas.flags & MA_STATE_BULK == 0 {
            StoreType::Rebalance
        } else {
            StoreType::NodeStore
        };
        return;
    }
    if new_end >= wr.ty.slots() {
        mas.store_type = StoreType::SplitStore;
        return;
    }
    // Mutant rcu-append: the 2023 fix's RCU test left out.
    let rcu = t.in_rcu() && !active(Mutant::RcuAppend);
    if !rcu && mas.offset == mas.end {
        mas.store_type = StoreType::Append;
        return;
    }
    if new_end == mas.end && (!t.in_rcu() || wr.offset_end - mas.offset == 1) {
        mas.store_type = StoreType::SlotStore;
        return;
    }
    // new_end >= min_slots here, so the kernel's final condition always holds.
    mas.store_type = StoreType::NodeStore;
}

/// `mas_prealloc_calc()`: the nodes a store of this type may need (6.12).
pub(crate) fn mas_prealloc_calc(t: &MapleTree, mas: &Mas, entry: u64) -> usize {
    let h = t.height() as usize;
    match mas.store_type {
        StoreType::Invalid => h * 3 + 1,
        StoreType::NewRoot => 1,
        StoreType::StoreRoot => {
            if mas.last != 0 || mas.index != 0 || entry & 3 == 2 {
                1
            } else {
                0
            }
        }
        StoreType::SpanningStore => h * 3 + 1,
        // Mutant prealloc-undercount: a split that cascades to a new root
        // needs two nodes per level and the root; asking for one less
        // leaves the store a node short (the catalogue's under-request).
        StoreType::SplitStore if active(Mutant::PreallocUndercount) => h * 2,
        StoreType::SplitStore => h * 2 + 1,
        StoreType::Rebalance => (h * 2).saturating_sub(1),
        StoreType::NodeStore => usize::from(t.in_rcu()),
        StoreType::Append | StoreType::ExactFit | StoreType::SlotStore => 0,
    }
}

/// `mas_wr_preallocate()`: classify and allocate what the store needs.
pub(crate) fn mas_wr_preallocate(t: &mut MapleTree, mas: &mut Mas, wr: &mut WrState) {
    mas_wr_prealloc_setup(t, mas, wr);
    mas_wr_store_type(t, mas, wr);
    let request = mas_prealloc_calc(t, mas, wr.entry);
    if request == 0 {
        return;
    }
    mas_node_count(t, mas, request);
}

// ---- the in-place store types ---------------------------------------------------

/// `mas_wr_slot_store()`: overwrite one or two slots without changing the
/// node's size.
fn mas_wr_slot_store(t: &mut MapleTree, mas: &mut Mas, wr: &WrState) {
    let offset = mas.offset;
    let n = wr.node;
    let in_rcu = t.in_rcu();
    let a = &mut t.arena;
    let mut gap = a.slot(n, offset) == 0;
    // Mutant slot-store-gap: a NULL in the second slot overwritten is not
    // noticed, so the parents keep a gap that is gone.
    if !active(Mutant::SlotStoreGap) {
        gap |= a.slot(n, offset + 1) == 0;
    }
    if wr.offset_end - offset == 1 {
        if mas.index == wr.r_min {
            a.set_slot(n, offset, wr.entry);
            a.set_pivot(n, offset, mas.last);
        } else {
            a.set_slot(n, offset + 1, wr.entry);
            a.set_pivot(n, offset, mas.index - 1);
            mas.offset += 1;
        }
    } else if !in_rcu {
        gap |= a.slot(n, offset + 2) == 0;
        a.set_slot(n, offset + 1, wr.entry);
        a.set_pivot(n, offset, mas.index - 1);
        a.set_pivot(n, offset + 1, mas.last);
        mas.offset += 1;
    } else {
        return;
    }
    if wr.entry == 0 || gap {
        mas_update_gap(t, mas);
    }
}

/// `mas_wr_node_store()`: rebuild the node with the new entry (on the side,
/// then copied over the old node; a fresh node in RCU mode).
fn mas_wr_node_store(t: &mut MapleTree, mas: &mut Mas, wr: &WrState, new_end: usize) {
    let mut offset_end = wr.offset_end;
    let node_pivots = wr.ty.pivots();
    let in_rcu = t.in_rcu();
    if mas.last == wr.end_piv {
        offset_end += 1;
    } else if wr.r_max == u64::MAX {
        super::bulk::mas_bulk_rebalance(t, mas, mas.end, wr.ty);
    }
    let ty = wr.ty;
    let old = *t.arena.words(super::node::enode_id(wr.node));
    let mut new = [0u64; NODE_WORDS];
    new[0] = old[0];
    let pb = ty.pivot_base();
    let sb = ty.slot_base();
    new[pb..pb + mas.offset].copy_from_slice(&old[pb..pb + mas.offset]);
    new[sb..sb + mas.offset].copy_from_slice(&old[sb..sb + mas.offset]);
    if wr.r_min < mas.index {
        new[sb + mas.offset] = wr.content;
        new[pb + mas.offset] = mas.index - 1;
        mas.offset += 1;
    }
    if mas.offset < node_pivots {
        new[pb + mas.offset] = mas.last;
    }
    new[sb + mas.offset] = wr.entry;
    // Mutant stale-node-store: before the July 2022 fix a store reaching the
    // node's maximum still copied the old tail from the slot `last` landed
    // in, past the new data end.
    if active(Mutant::StaleNodeStore) && mas.last >= mas.max {
        offset_end = wr.offset_end;
    }
    if offset_end <= mas.end {
        let dst_offset = mas.offset + 1;
        // Only the stale-node-store mutant can ask for more than the node
        // holds (or for nothing, when the entry took the last slot); the
        // bound keeps its damage inside the node, as the C edit does.
        let copy_size = (mas.end - offset_end + 1).min(ty.slots().saturating_sub(dst_offset));
        if copy_size > 0 {
            new[sb + dst_offset..sb + dst_offset + copy_size]
                .copy_from_slice(&old[sb + offset_end..sb + offset_end + copy_size]);
            new[pb + dst_offset..pb + dst_offset + copy_size - 1]
                .copy_from_slice(&old[pb + offset_end..pb + offset_end + copy_size - 1]);
            if new_end < node_pivots {
                new[pb + new_end] = mas.max;
            }
        }
    }
    // mas_leaf_set_meta(newnode, maple_leaf_64, new_end)
    if new_end < NodeType::Leaf64.slots() - 1 {
        let mw = NodeType::Leaf64.meta_word();
        new[mw] = (new[mw] & !0xFFFF) | (new_end as u64 & 0xFF);
    }
    if in_rcu {
        let old_enode = mas.node;
        let id = mas_pop_node(t);
        t.arena.copy_node(id, &new);
        mas.node = mk_node(id, ty);
        super::rebalance::mas_replace_node(t, mas, old_enode);
    } else {
        t.arena.copy_node(super::node::enode_id(wr.node), &new);
    }
    mas_update_gap(t, mas);
    mas.end = new_end;
}

/// `mas_wr_append()`: add the entry after the node's last slot.
fn mas_wr_append(t: &mut MapleTree, mas: &mut Mas, wr: &WrState, new_end: usize) {
    let end = mas.end;
    let n = wr.node;
    let a = &mut t.arena;
    if new_end < wr.ty.pivots() {
        let p = a.pivot(n, end);
        a.set_pivot(n, new_end, p);
        // Mutant append-meta: the metadata end is left at the old end, so
        // every reader that trusts it stops before the appended slots.
        if !active(Mutant::AppendMeta) {
            a.set_meta(n, 0, new_end);
        }
    }
    if new_end == end + 1 {
        if mas.last == wr.r_max {
            a.set_slot(n, new_end, wr.entry);
            a.set_pivot(n, end, mas.index - 1);
            mas.offset = new_end;
        } else {
            a.set_slot(n, new_end, wr.content);
            a.set_pivot(n, end, mas.last);
            a.set_slot(n, end, wr.entry);
        }
    } else {
        a.set_slot(n, new_end, wr.content);
        a.set_pivot(n, end + 1, mas.last);
        a.set_slot(n, end + 1, wr.entry);
        a.set_pivot(n, end, mas.index - 1);
        mas.offset = end + 1;
    }
    if wr.content == 0 || wr.entry == 0 {
        mas_update_gap(t, mas);
    }
    mas.end = new_end;
}

/// `mas_wr_bnode()`: a split or rebalance through a big node.
fn mas_wr_bnode(t: &mut MapleTree, mas: &mut Mas, wr: &mut WrState) {
    let mut b = BigNode::default();
    let offset_end = wr.offset_end;
    mas_store_b_node(t, mas, wr, &mut b, offset_end);
    mas_commit_b_node(t, mas, &mut b);
}

/// `mas_wr_store_entry()`: run the store type chosen by `mas_wr_store_type`.
pub(crate) fn mas_wr_store_entry(t: &mut MapleTree, mas: &mut Mas, wr: &mut WrState) {
    let new_end = mas_wr_new_end(mas, wr);
    t.stats.bump(mas.store_type);
    match mas.store_type {
        StoreType::Invalid => panic!("maple tree: store of invalid type"),
        StoreType::NewRoot => mas_new_root(t, mas, wr.entry),
        StoreType::StoreRoot => mas_store_root(t, mas, wr.entry),
        StoreType::ExactFit => {
            t.arena.set_slot(wr.node, mas.offset, wr.entry);
            // Mutant exact-fit-gap: an exact fit that turns NULL into an
            // entry (or back) changes the leaf's largest gap; skipping the
            // update leaves the parents' gap records stale.
            if (wr.entry != 0) != (wr.content != 0) && !active(Mutant::ExactFitGap) {
                mas_update_gap(t, mas);
            }
        }
        StoreType::Append => mas_wr_append(t, mas, wr, new_end),
        StoreType::SlotStore => mas_wr_slot_store(t, mas, wr),
        StoreType::NodeStore => mas_wr_node_store(t, mas, wr, new_end),
        StoreType::SpanningStore => mas_wr_spanning_store(t, mas, wr),
        StoreType::SplitStore | StoreType::Rebalance => mas_wr_bnode(t, mas, wr),
    }
}

// ---- API entry points ------------------------------------------------------------

/// `mas_store_gfp()`: allocate what the store needs (retrying after
/// `ENOMEM` through `mas_nomem`), store, and release the leftovers.
pub(crate) fn mas_store_gfp(t: &mut MapleTree, mas: &mut Mas, entry: u64) -> Result<(), Errno> {
    let index = mas.index;
    let last = mas.last;
    let mut wr = WrState::new(entry);
    loop {
        mas_wr_preallocate(t, mas, &mut wr);
        if mas_nomem(t, mas) {
            // Mutant nomem-retry-range (Aug 2024, check_nomem_writer_race):
            // mas_nomem() may have dropped the lock, so the NULL range that
            // mas_wr_extend_null() widened may no longer be NULL; before
            // the fix the retry stored over it anyway.
            if entry == 0 && !active(Mutant::NomemRetryRange) {
                mas.index = index;
                mas.last = last;
            }
            continue;
        }
        break;
    }
    let ret = if mas.is_err() {
        Err(mas.err)
    } else {
        mas_wr_store_entry(t, mas, &mut wr);
        Ok(())
    };
    mas_destroy(t, mas);
    ret
}

/// `mas_erase()`: erase the entry at `mas.index`, returning it.
pub(crate) fn mas_erase(t: &mut MapleTree, mas: &mut Mas) -> u64 {
    let index = mas.index;
    if !mas.is_active() || !mas.is_start() {
        mas.status = Status::Start;
    }
    let mut wr = WrState::new(0);
    let entry = loop {
        let entry = mas_state_walk(t, mas);
        if entry == 0 {
            return 0;
        }
        mas.reset();
        mas_wr_preallocate(t, mas, &mut wr);
        if mas_nomem(t, mas) {
            // Mutant nomem-retry-range: before the Aug 2024 fix the retry
            // walked from the range the NULL extension had widened.
            if !active(Mutant::NomemRetryRange) {
                mas.index = index;
                mas.last = index;
            }
            continue;
        }
        break entry;
    };
    if !mas.is_err() {
        mas_wr_store_entry(t, mas, &mut wr);
    }
    mas_destroy(t, mas);
    entry
}

/// `mas_insert()`: store only into NULL; `EEXIST` otherwise.
pub(crate) fn mas_insert(t: &mut MapleTree, mas: &mut Mas, entry: u64) {
    let mut wr = WrState::new(entry);
    wr.content = mas_start(t, mas);
    if wr.content != 0 {
        mas.set_err(Errno::EEXIST);
        return;
    }
    mas_wr_preallocate(t, mas, &mut wr);
    if mas.is_err() {
        return;
    }
    if mas.store_type == StoreType::SpanningStore {
        mas.set_err(Errno::EEXIST);
        return;
    }
    // Linux 6.12 checks nothing more for a new-root store, so an insert over
    // [0, ULONG_MAX] replaces a single-leaf tree (Fixes::insert_whole_space).
    if mas.store_type == StoreType::NewRoot
        && t.fixes.insert_whole_space
        && super::iter::mt_find(t, &mut 0, u64::MAX).is_some()
    {
        mas.set_err(Errno::EEXIST);
        return;
    }
    if mas.store_type != StoreType::NewRoot && mas.store_type != StoreType::StoreRoot {
        wr.offset_end = mas.offset;
        wr.end_piv = wr.r_max;
        if wr.content != 0 || mas.last > wr.r_max {
            mas.set_err(Errno::EEXIST);
            return;
        }
    }
    mas_wr_store_entry(t, mas, &mut wr);
}

/// `mtree_insert_range()`'s body.
pub(crate) fn mtree_insert(t: &mut MapleTree, mas: &mut Mas, entry: u64) -> Result<(), Errno> {
    loop {
        mas_insert(t, mas, entry);
        if mas_nomem(t, mas) {
            continue;
        }
        break;
    }
    let ret = if mas.is_err() { Err(mas.err) } else { Ok(()) };
    mas_destroy(t, mas);
    ret
}
