// SPDX-License-Identifier: GPL-2.0-or-later
//! Bulk mode (Linux 6.12, removed in 6.18): `mas_expected_entries()`
//! reserves, in one go, the nodes an in-order load of a known number of
//! entries into a fresh tree needs (the pre-6.8 fork path, and the kernel's
//! own tests). While `MA_STATE_BULK` is set, splits leave the right-hand
//! node at its minimum (`mab_calc_split`), deficient leaves are node-stored
//! instead of rebalanced (`mas_wr_store_type`), and `MA_STATE_REBALANCE`
//! remembers that the last leaf may end up under-filled; `mas_destroy()`
//! then rebalances it against its left sibling (`mas_destroy_rebalance`).
//!
//! This is the only 6.12 call that makes a maple state hold more than 31
//! nodes, i.e. a chain of several `maple_alloc` (see `alloc.rs`).

use super::alloc::{mas_node_count, mas_pop_node};
use super::node::{enode_id, enode_type, mk_node, NodeType, MAPLE_ARANGE64_SLOTS};
use super::node::{MAPLE_RANGE64_SLOTS, NODE_WORDS};
use super::rebalance::{mas_adopt_children, mas_replace_node};
use super::state::{
    mas_ascend, mas_data_end, mas_prev_sibling, Mas, MA_STATE_BULK, MA_STATE_PREALLOC,
    MA_STATE_REBALANCE,
};
use super::write::{mas_leaf_max_gap, mas_update_gap};
use super::{Errno, MapleTree, Path};

/// The largest `nr_entries` the port accepts: beyond it the kernel's `int`
/// node count overflows (and no caller asks for that many).
pub const MAX_EXPECTED_ENTRIES: u64 = (i32::MAX as u64 - 1) / 2 - 64;

/// `mas_expected_entries()`: enter bulk mode and reserve the nodes an
/// in-order load of `nr_entries` entries needs: one leaf per 14 slots of
/// `2 * nr_entries + 1` (a gap before every entry and a trailing NULL),
/// internal nodes over those, and 3 nodes of working room. The state is
/// then preallocated (`MA_STATE_PREALLOC`): a store needing more BUGs. On
/// `ENOMEM` everything is released (`mas_destroy()`) and bulk mode ends.
pub(crate) fn mas_expected_entries(
    t: &mut MapleTree,
    mas: &mut Mas,
    nr_entries: u64,
) -> Result<(), Errno> {
    if nr_entries > MAX_EXPECTED_ENTRIES {
        return Err(Errno::EINVAL);
    }
    let nonleaf_cap = if t.is_alloc() {
        MAPLE_ARANGE64_SLOTS - 2
    } else {
        MAPLE_RANGE64_SLOTS - 2
    };
    let enode = mas.node;
    mas.flags |= MA_STATE_BULK;
    let slots_needed = nr_entries.max(nr_entries * 2 + 1) as usize;
    let leaves = slots_needed.div_ceil(MAPLE_RANGE64_SLOTS - 2);
    let nr_nodes = leaves + leaves.div_ceil(nonleaf_cap);
    mas_node_count(t, mas, nr_nodes + 3);
    mas.flags |= MA_STATE_PREALLOC;
    if !mas.is_err() {
        return Ok(());
    }
    let err = mas.err;
    // The node pointer comes back, the error status stays (6.10+ status).
    mas.node = enode;
    super::alloc::mas_destroy(t, mas);
    Err(err)
}

/// `mas_bulk_rebalance()`: a bulk write at the right edge left this node
/// with more than the minimum, so the deferred rebalance is not needed.
pub(crate) fn mas_bulk_rebalance(t: &MapleTree, mas: &mut Mas, end: usize, ty: NodeType) {
    if mas.flags & MA_STATE_BULK == 0 {
        return;
    }
    if t.arena.is_root(mas.node) {
        return;
    }
    if end > ty.min_slots() {
        mas.flags &= !MA_STATE_REBALANCE;
    }
}

/// Copies `n` words from `src[from..]` to `dst[to..]` (a `memcpy` of slots
/// or pivots, which in C may run past an array into the next field).
fn copy_words(
    dst: &mut [u64; NODE_WORDS],
    to: usize,
    src: &[u64; NODE_WORDS],
    from: usize,
    n: usize,
) {
    dst[to..to + n].copy_from_slice(&src[from..from + n]);
}

/// `mas_destroy_rebalance()`: the last leaf of a bulk load holds only `end`
/// entries; move the top half of its left sibling into it (in place, or
/// into fresh nodes and a fresh parent in RCU mode), then fix the parent's
/// pivot and gaps.
pub(crate) fn mas_destroy_rebalance(t: &mut MapleTree, mas: &mut Mas, end: usize) {
    t.paths.bump(Path::DestroyRebalance);
    let mt = enode_type(mas.node);
    let in_rcu = t.in_rcu();
    let mut split = mt.slots() / 2;
    let pb = mt.pivot_base();
    let sb = mt.slot_base();
    let max_p = mt.pivots();
    let max_s = mt.slots();

    let mut l_mas = *mas;
    mas_prev_sibling(t, &mut l_mas);

    let rcu_node = in_rcu.then(|| mas_pop_node(t));
    let node = enode_id(mas.node);
    let left = enode_id(l_mas.node);
    let mut newnode = [0u64; NODE_WORDS];
    newnode[0] = t.arena.words(node)[0];
    let lw = *t.arena.words(left);
    if lw[sb + split] == 0 {
        split += 1;
    }
    let l_end = mas_data_end(&t.arena, &l_mas);
    let mut tmp = l_end
        .checked_sub(split)
        .expect("mas_destroy_rebalance: the left sibling ends before its split point");
    copy_words(&mut newnode, sb, &lw, sb + split + 1, tmp);
    copy_words(&mut newnode, pb, &lw, pb + split + 1, tmp);
    newnode[pb + tmp] = l_mas.max;
    let nw = *t.arena.words(node);
    copy_words(&mut newnode, sb + tmp, &nw, sb, end);
    copy_words(&mut newnode, pb + tmp, &nw, pb, end);

    l_mas.max = t.arena.words(left)[pb + split];
    mas.min = l_mas.max.wrapping_add(1);
    let old_eparent = t.parent_enode(l_mas.node);
    tmp += end;
    let eparent;
    if let Some(new_id) = rcu_node {
        // RCU: a new leaf, a new left leaf and a new parent.
        *t.arena.words_mut(new_id) = newnode;
        mas.node = mk_node(new_id, mt);
        t.arena.set_meta(mas.node, 0, tmp);
        let new_left = mas_pop_node(t);
        let lt = enode_type(l_mas.node);
        let left_now = *t.arena.words(left);
        let nl = t.arena.words_mut(new_left);
        nl[0] = left_now[0];
        nl[lt.slot_base()..lt.slot_base() + split]
            .copy_from_slice(&left_now[lt.slot_base()..lt.slot_base() + split]);
        nl[lt.pivot_base()..lt.pivot_base() + split]
            .copy_from_slice(&left_now[lt.pivot_base()..lt.pivot_base() + split]);
        l_mas.node = mk_node(new_left, lt);
        t.arena.set_meta(l_mas.node, 0, split);
        let offset = t.arena.parent_slot(mas.node);
        let pt = t.parent_type(l_mas.node);
        let parent = mas_pop_node(t);
        *t.arena.words_mut(parent) = *t.arena.words(enode_id(old_eparent));
        eparent = mk_node(parent, pt);
        t.arena.set_slot(eparent, offset, mas.node);
        t.arena.set_slot(eparent, offset - 1, l_mas.node);
        t.arena.set_pivot(eparent, offset - 1, l_mas.max);
    } else {
        if tmp < max_p {
            newnode[pb + tmp..pb + max_p].fill(0);
        }
        if tmp < max_s {
            newnode[sb + tmp..sb + max_s].fill(0);
        }
        *t.arena.words_mut(node) = newnode;
        t.arena.set_meta(mas.node, 0, tmp - 1);
        let p_slot = t.arena.parent_slot(l_mas.node);
        let piv = t.arena.words(left)[pb + split];
        t.arena.set_pivot(old_eparent, p_slot, piv);
        // Remove what moved from the left leaf.
        let keep = split + 1;
        let lw = t.arena.words_mut(left);
        lw[pb + keep..pb + max_p].fill(0);
        lw[sb + keep..sb + max_s].fill(0);
        t.arena.set_meta(l_mas.node, 0, split);
        eparent = old_eparent;
    }
    let gap = mas_leaf_max_gap(t, mas);
    let slot = t.arena.parent_slot(mas.node);
    t.arena.set_gap(eparent, slot, gap);
    let gap = mas_leaf_max_gap(t, &l_mas);
    let slot = t.arena.parent_slot(l_mas.node);
    t.arena.set_gap(eparent, slot, gap);
    mas_ascend(t, mas);
    if in_rcu {
        mas_replace_node(t, mas, old_eparent);
        let parent = mas.node;
        mas_adopt_children(t, mas, parent);
    }
    mas_update_gap(t, mas);
}

/// The deferred rebalance at `mas_destroy()` time: walk to where the state
/// stands (the last stored index, from the node it last wrote) and
/// rebalance that leaf if it is below `min - 1` entries.
pub(crate) fn mas_destroy_bulk(t: &mut MapleTree, mas: &mut Mas) {
    if mas.flags & MA_STATE_REBALANCE == 0 {
        return;
    }
    if mas.is_err() {
        mas.reset();
    }
    super::state::mas_start(t, mas);
    super::state::mtree_range_walk(t, mas);
    let end = mas.end + 1;
    if end < enode_type(mas.node).min_slots() - 1 {
        mas_destroy_rebalance(t, mas, end);
    }
    mas.flags &= !MA_STATE_REBALANCE;
}
