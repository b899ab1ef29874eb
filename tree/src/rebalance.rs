//! Writes that replace whole subtrees: split (`mas_split`), rebalance
//! (`mas_rebalance`), spanning store (`mas_wr_spanning_store`) and the
//! shared `mas_spanning_rebalance`, plus the "topiary" that puts the new
//! subtree in place and frees the old one.

use super::alloc::{mas_free, mas_push_node};
use super::bignode::{
    mab_calc_split, mab_mas_cp, mab_no_null_split, mab_set_b_end, mab_shift_right, mas_mab_cp,
    mas_store_b_node, BigNode,
};
use super::node::{enode_addr, enode_type, mk_root, NodeType, TREE_PARENT};
use super::state::{
    mas_ascend, mas_data_end, mas_descend, mas_next_sibling, mas_prev_sibling, mtree_range_walk,
    Mas, Status,
};
use super::write::{
    mas_new_node, mas_new_root, mas_update_gap, mas_wr_node_walk, mas_wr_walk_index, WrState,
};
use super::{MapleTree, StoreType};
use crate::mutants::{active, Mutant};

/// `struct maple_subtree_state`: the old left and right edges of the
/// subtree being replaced and the new left, middle and right nodes.
#[derive(Clone, Copy, Debug)]
struct Mast {
    orig_l: Mas,
    orig_r: Mas,
    l: Mas,
    m: Mas,
    r: Mas,
}

impl Mast {
    fn new(orig_l: Mas, orig_r: Mas) -> Mast {
        let none = Mas::new(0, 0);
        Mast {
            orig_l,
            orig_r,
            l: none,
            m: none,
            r: none,
        }
    }
}

// ---- putting new nodes in the tree -------------------------------------------

/// `mas_put_in_tree()`: link the state's new node where `old` was and mark
/// `old` dead.
fn mas_put_in_tree(t: &mut MapleTree, mas: &Mas, old: u64) {
    if t.arena.is_root(mas.node) {
        t.arena.set_parent_word(mas.node, TREE_PARENT);
        t.set_root(mk_root(mas.node));
        t.set_height(mas.depth);
    } else {
        let offset = t.arena.parent_slot(mas.node);
        let parent = t.parent_enode(mas.node);
        t.arena.set_slot(parent, offset, mas.node);
    }
    t.arena.set_dead(old);
}

/// `mas_replace_node()`.
pub(crate) fn mas_replace_node(t: &mut MapleTree, mas: &Mas, old: u64) {
    mas_put_in_tree(t, mas, old);
    mas_free(t, old);
}

/// `mas_find_child()`: the next child (from `mas.offset`) whose parent is
/// this node, i.e. a child created by this write.
fn mas_find_child(t: &MapleTree, mas: &mut Mas, child: &mut Mas) -> bool {
    let a = &t.arena;
    let end = a.data_end(mas.node, mas.max);
    let node_addr = enode_addr(mas.node);
    let mut offset = mas.offset;
    while offset <= end {
        let entry = a.slot(mas.node, offset);
        if a.parent_addr(entry) == node_addr {
            *child = *mas;
            mas.offset = offset + 1;
            child.offset = offset;
            mas_descend(a, child);
            child.offset = 0;
            return true;
        }
        offset += 1;
    }
    false
}

/// `mas_adopt_children()`: point every child of `parent` back at it.
pub(crate) fn mas_adopt_children(t: &mut MapleTree, mas: &Mas, parent: u64) {
    let mut offset = t.arena.data_end(parent, mas.max);
    loop {
        let child = t.arena.slot(parent, offset);
        t.arena.set_parent(child, parent, offset);
        if offset == 0 {
            break;
        }
        offset -= 1;
    }
}

/// `mas_topiary_node()`: retire one old node.
fn mas_topiary_node(t: &mut MapleTree, tmp: &Mas, in_rcu: bool) {
    if tmp.is_none() {
        return;
    }
    t.arena.set_dead(tmp.node);
    if in_rcu {
        super::rcu::ma_free_rcu(t, tmp.node);
    } else {
        mas_push_node(t, super::node::enode_id(tmp.node));
    }
}

/// `mas_topiary_replace()`: link the new subtree in, adopt the children it
/// reuses, then retire the old nodes: subtrees wholly inside the written
/// range are destroyed, the edges are freed one by one.
fn mas_topiary_replace(t: &mut MapleTree, mas: &Mas, old_enode: u64) {
    mas_put_in_tree(t, mas, old_enode);
    let none = {
        let mut n = Mas::new(0, 0);
        n.status = Status::None;
        n
    };
    let mut tmp = [*mas, none, none];
    tmp[0].offset = 0;
    let mut tmp_next = [none; 3];
    while !enode_type(tmp[0].node).is_leaf() {
        let mut n = 0;
        for cur in tmp.iter_mut() {
            if cur.is_none() {
                continue;
            }
            while n < 3 {
                if !mas_find_child(t, cur, &mut tmp_next[n]) {
                    break;
                }
                n += 1;
            }
            let node = cur.node;
            mas_adopt_children(t, cur, node);
        }
        if n == 0 {
            // MAS_WARN_ON in the kernel.
            break;
        }
        while n < 3 {
            tmp_next[n].status = Status::None;
            n += 1;
        }
        tmp = tmp_next;
    }

    if enode_type(old_enode).is_leaf() {
        mas_free(t, old_enode);
        return;
    }

    let mut subtrees: Vec<u64> = Vec::new();
    let in_rcu = t.in_rcu();
    tmp = [*mas, none, none];
    tmp[0].offset = 0;
    tmp[0].node = old_enode;
    loop {
        let mut n = 0;
        for cur in tmp.iter_mut() {
            if cur.is_none() {
                continue;
            }
            while n < 3 {
                if !mas_find_child(t, cur, &mut tmp_next[n]) {
                    break;
                }
                // The kernel compares against tmp_next[0]'s range (`tmp_next->index`).
                if tmp_next[n].min >= tmp_next[0].index && tmp_next[n].max <= tmp_next[0].last {
                    // mat_add(): mark dead and queue for a destroy walk.
                    t.arena.set_dead(tmp_next[n].node);
                    subtrees.push(tmp_next[n].node);
                    tmp_next[n].status = Status::None;
                } else {
                    n += 1;
                }
            }
        }
        if n == 0 {
            break;
        }
        while n < 3 {
            tmp_next[n].status = Status::None;
            n += 1;
        }
        for i in 0..3 {
            let old = tmp[i];
            mas_topiary_node(t, &old, in_rcu);
            tmp[i] = tmp_next[i];
        }
        if enode_type(tmp[0].node).is_leaf() {
            break;
        }
    }
    for old in tmp {
        mas_topiary_node(t, &old, in_rcu);
    }
    // mas_mat_destroy(): in RCU mode each dead subtree is freed after the
    // grace period (the same two walks as mte_destroy_walk()).
    for s in subtrees {
        super::destroy::mte_destroy_walk(t, s);
    }
}

/// `mas_wmb_replace()`.
fn mas_wmb_replace(t: &mut MapleTree, mas: &Mas, old_enode: u64) {
    mas_topiary_replace(t, mas, old_enode);
    if enode_type(mas.node).is_leaf() {
        return;
    }
    mas_update_gap(t, mas);
}

// ---- the subtree state ---------------------------------------------------------

/// `mast_rebalance_next()`: append the right neighbour's data.
fn mast_rebalance_next(t: &MapleTree, mast: &mut Mast, b: &mut BigNode) {
    let b_end = b.b_end;
    let slots = enode_type(mast.orig_r.node).slots();
    mas_mab_cp(t, &mast.orig_r, 0, slots, b, b_end);
    mast.orig_r.last = mast.orig_r.max;
}

/// `mast_rebalance_prev()`: prepend the left neighbour's data.
fn mast_rebalance_prev(t: &MapleTree, mast: &mut Mast, b: &mut BigNode) {
    let end = mas_data_end(&t.arena, &mast.orig_l) + 1;
    let b_end = b.b_end;
    mab_shift_right(b, end);
    mas_mab_cp(t, &mast.orig_l, 0, end - 1, b, 0);
    mast.l.min = mast.orig_l.min;
    mast.orig_l.index = mast.orig_l.min;
    b.b_end = end + b_end;
    mast.l.offset += end;
}

/// `mast_spanning_rebalance()`: pull in the nearest cousin's data (right
/// preferred) when the big node is too small to stand on its own.
fn mast_spanning_rebalance(t: &MapleTree, mast: &mut Mast, b: &mut BigNode) -> bool {
    let r_tmp = mast.orig_r;
    let l_tmp = mast.orig_l;
    let mut depth = 0;
    loop {
        mas_ascend(t, &mut mast.orig_r);
        mas_ascend(t, &mut mast.orig_l);
        depth += 1;
        if mast.orig_r.offset < mas_data_end(&t.arena, &mast.orig_r) {
            mast.orig_r.offset += 1;
            loop {
                mas_descend(&t.arena, &mut mast.orig_r);
                mast.orig_r.offset = 0;
                depth -= 1;
                if depth == 0 {
                    break;
                }
            }
            mast_rebalance_next(t, mast, b);
            mast.orig_l = l_tmp;
            return true;
        } else if mast.orig_l.offset != 0 {
            mast.orig_l.offset -= 1;
            loop {
                mas_descend(&t.arena, &mut mast.orig_l);
                mast.orig_l.offset = mas_data_end(&t.arena, &mast.orig_l);
                depth -= 1;
                if depth == 0 {
                    break;
                }
            }
            mast_rebalance_prev(t, mast, b);
            mast.orig_r = r_tmp;
            return true;
        }
        if t.arena.is_root(mast.orig_r.node) {
            break;
        }
    }
    mast.orig_r = r_tmp;
    mast.orig_l = l_tmp;
    false
}

/// `mast_ascend()`: move the old edges up a level and find where the new
/// nodes' range falls in the parents.
fn mast_ascend(t: &MapleTree, mast: &mut Mast, b: &mut BigNode) {
    let mut wr = WrState::new(0);
    mas_ascend(t, &mut mast.orig_l);
    mas_ascend(t, &mut mast.orig_r);
    mast.orig_r.offset = 0;
    mast.orig_r.index = mast.r.max;
    if mast.orig_r.last < mast.orig_r.index {
        mast.orig_r.last = mast.orig_r.index;
    }
    wr.ty = enode_type(mast.orig_r.node);
    mas_wr_node_walk(t, &mut mast.orig_r, &mut wr);
    mast.orig_l.offset = 0;
    mast.orig_l.index = mast.l.min;
    wr.ty = enode_type(mast.orig_l.node);
    mas_wr_node_walk(t, &mut mast.orig_l, &mut wr);
    b.ty = wr.ty;
}

/// `mas_mab_to_node()`: allocate the nodes the big node will be cut into.
fn mas_mab_to_node(
    t: &mut MapleTree,
    mas: &mut Mas,
    b: &BigNode,
    left: &mut u64,
    right: &mut u64,
    middle: &mut u64,
    mid_split: &mut usize,
) -> usize {
    let slot_count = b.ty.slots();
    *left = mas_new_node(t, b.ty);
    *right = 0;
    *middle = 0;
    *mid_split = 0;
    let split = if b.b_end < slot_count {
        b.b_end
    } else {
        let s = mab_calc_split(mas, b, mid_split);
        *right = mas_new_node(t, b.ty);
        s
    };
    if *mid_split != 0 {
        *middle = mas_new_node(t, b.ty);
    }
    split
}

/// `mas_set_split_parent()`.
fn mas_set_split_parent(
    t: &mut MapleTree,
    mas: &Mas,
    left: u64,
    right: u64,
    slot: &mut usize,
    split: usize,
) {
    if mas.is_none() {
        return;
    }
    if *slot <= split {
        t.arena.set_parent(mas.node, left, *slot);
    } else if right != 0 {
        t.arena.set_parent(mas.node, right, *slot - split - 1);
    }
    *slot += 1;
}

/// `mte_mid_split_check()`.
fn mte_mid_split_check(
    l: &mut u64,
    r: &mut u64,
    right: u64,
    slot: usize,
    split: &mut usize,
    mid_split: usize,
) {
    if *r == right {
        return;
    }
    if slot < mid_split {
        return;
    }
    *l = *r;
    *r = right;
    *split = mid_split;
}

/// `mast_set_split_parents()`: point the children (the previous level's new
/// nodes) at the new nodes of this level.
fn mast_set_split_parents(
    t: &mut MapleTree,
    mast: &Mast,
    left: u64,
    middle: u64,
    right: u64,
    mut split: usize,
    mid_split: usize,
) {
    if mast.l.is_none() {
        return;
    }
    let mut l = left;
    let mut r = right;
    if middle != 0 {
        r = middle;
    }
    let mut slot = mast.l.offset;
    mte_mid_split_check(&mut l, &mut r, right, slot, &mut split, mid_split);
    mas_set_split_parent(t, &mast.l, l, r, &mut slot, split);
    mte_mid_split_check(&mut l, &mut r, right, slot, &mut split, mid_split);
    mas_set_split_parent(t, &mast.m, l, r, &mut slot, split);
    mte_mid_split_check(&mut l, &mut r, right, slot, &mut split, mid_split);
    mas_set_split_parent(t, &mast.r, l, r, &mut slot, split);
}

/// `mast_cp_to_nodes()`: cut the big node into the new nodes.
#[allow(clippy::too_many_arguments)]
fn mast_cp_to_nodes(
    t: &mut MapleTree,
    mast: &mut Mast,
    b: &BigNode,
    left: u64,
    middle: u64,
    right: u64,
    mut split: usize,
    mid_split: usize,
) {
    let mut new_lmax = true;
    mast.l.node_or_none(left);
    mast.m.node_or_none(middle);
    mast.r.node_or_none(right);
    mast.l.min = mast.orig_l.min;
    if split == b.b_end {
        mast.l.max = mast.orig_r.max;
        new_lmax = false;
    }
    mab_mas_cp(t, b, 0, split, &mut mast.l, new_lmax);
    if middle != 0 {
        mab_mas_cp(t, b, 1 + split, mid_split, &mut mast.m, true);
        mast.m.min = b.pivot[split] + 1;
        split = mid_split;
    }
    mast.r.max = mast.orig_r.max;
    if right != 0 {
        mab_mas_cp(t, b, 1 + split, b.b_end, &mut mast.r, false);
        mast.r.min = b.pivot[split] + 1;
    }
}

/// `mast_combine_cp_left()`.
fn mast_combine_cp_left(t: &MapleTree, mast: &Mast, b: &mut BigNode) {
    let l_slot = mast.orig_l.offset;
    if l_slot == 0 {
        return;
    }
    mas_mab_cp(t, &mast.orig_l, 0, l_slot - 1, b, 0);
}

/// `mast_combine_cp_right()`.
fn mast_combine_cp_right(t: &MapleTree, mast: &mut Mast, b: &mut BigNode) {
    if b.pivot[b.b_end - 1] >= mast.orig_r.max {
        return;
    }
    let slots = enode_type(mast.orig_r.node).slots();
    let b_end = b.b_end;
    mas_mab_cp(t, &mast.orig_r, mast.orig_r.offset + 1, slots, b, b_end);
    mast.orig_r.last = mast.orig_r.max;
}

/// `mast_sufficient()`.
fn mast_sufficient(mast: &Mast, b: &BigNode) -> bool {
    b.b_end > enode_type(mast.orig_l.node).min_slots()
}

/// `mast_overflow()`.
fn mast_overflow(mast: &Mast, b: &BigNode) -> bool {
    b.b_end >= enode_type(mast.orig_l.node).slots()
}

// ---- spanning rebalance, rebalance, split ------------------------------------------

/// `mas_spanning_rebalance()`: rebuild the subtree between `orig_l` and
/// `orig_r` level by level from the big node, ascending at most `count` times.
fn mas_spanning_rebalance(
    t: &mut MapleTree,
    mas: &mut Mas,
    mast: &mut Mast,
    b: &mut BigNode,
    mut count: u32,
) {
    let mut slot = 0;
    let (mut left, mut middle, mut right) = (0u64, 0u64, 0u64);
    mast.l = Mas::new(mas.index, mas.index);
    mast.r = Mas::new(mas.index, mas.last);
    mast.m = Mas::new(mas.index, mas.index);
    mast.l.status = Status::None;
    mast.r.status = Status::None;
    mast.m.status = Status::None;

    // Mutant spanning-rebalance-short ("Fix mas_spanning_rebalance() on
    // insufficient data", the CRIU report): without this step the loop
    // starts on too little data and builds a node below minimum occupancy.
    if (mast.orig_l.min != 0 || mast.orig_r.max != u64::MAX)
        && b.b_end <= b.ty.min_slots()
        && !active(Mutant::SpanningRebalanceShort)
    {
        mast_spanning_rebalance(t, mast, b);
    }
    mast.l.depth = 0;

    let mut new_root = false;
    while count > 0 {
        count -= 1;
        b.b_end -= 1;
        b.ty = enode_type(mast.orig_l.node);
        let mut mid_split = 0;
        let split = mas_mab_to_node(
            t,
            mas,
            b,
            &mut left,
            &mut right,
            &mut middle,
            &mut mid_split,
        );
        mast_set_split_parents(t, mast, left, middle, right, split, mid_split);
        mast_cp_to_nodes(t, mast, b, left, middle, right, split, mid_split);
        b.clear();
        b.ty = enode_type(left);
        mast.l.depth += 1;
        if mast.l.is_root_limits() {
            new_root = true;
            break;
        }
        mast_ascend(t, mast, b);
        mast_combine_cp_left(t, mast, b);
        mast.l.offset = b.b_end;
        let (l, m, r) = (mast.l, mast.m, mast.r);
        mab_set_b_end(t, b, &l, left);
        mab_set_b_end(t, b, &m, middle);
        mab_set_b_end(t, b, &r, right);
        mast_combine_cp_right(t, mast, b);
        mast.orig_l.last = mast.orig_l.max;
        if mast_sufficient(mast, b) {
            continue;
        }
        if mast_overflow(mast, b) {
            continue;
        }
        if mast.orig_l.is_root_limits() {
            break;
        }
        mast_spanning_rebalance(t, mast, b);
        if count == 0 {
            count += 1;
        }
    }

    if !new_root {
        let top = mas_new_node(t, enode_type(mast.orig_l.node));
        mast.l.node = top;
        mast.l.depth += 1;
        let end = b.ty.slots() - 1;
        mab_mas_cp(t, b, 0, end, &mut mast.l, true);
        t.arena.set_parent(left, top, slot);
        if middle != 0 {
            slot += 1;
            t.arena.set_parent(middle, top, slot);
        }
        if right != 0 {
            slot += 1;
            t.arena.set_parent(right, top, slot);
        }
    }
    if new_root || mast.l.is_root_limits() {
        t.arena.set_parent_word(mast.l.node, TREE_PARENT);
        while !t.arena.is_root(mast.orig_l.node) {
            mast_ascend(t, mast, b);
        }
    } else {
        let p = t.arena.parent_word(mast.orig_l.node);
        t.arena.set_parent_word(mast.l.node, p);
    }
    let old_enode = mast.orig_l.node;
    mas.depth = mast.l.depth;
    mas.node = mast.l.node;
    mas.min = mast.l.min;
    mas.max = mast.l.max;
    mas.offset = mast.l.offset;
    mas_wmb_replace(t, mas, old_enode);
    mtree_range_walk(t, mas);
}

/// `mas_rebalance()`: a leaf fell below minimum occupancy; combine it with a
/// sibling (the next one if there is one) and rebuild upwards.
fn mas_rebalance(t: &mut MapleTree, mas: &mut Mas, b: &mut BigNode) {
    let empty_count = t.height();
    b.b_end += 1;
    let b_end = b.b_end;
    b.ty = enode_type(mas.node);
    let mut l_mas = *mas;
    let mut r_mas = *mas;
    if mas_next_sibling(t, &mut r_mas) {
        let slots = enode_type(r_mas.node).slots();
        mas_mab_cp(t, &r_mas, 0, slots, b, b_end);
        r_mas.last = r_mas.max;
        r_mas.index = r_mas.max;
    } else {
        mas_prev_sibling(t, &mut l_mas);
        let shift = mas_data_end(&t.arena, &l_mas) + 1;
        mab_shift_right(b, shift);
        mas.offset += shift;
        mas_mab_cp(t, &l_mas, 0, shift - 1, b, 0);
        b.b_end = shift + b_end;
        l_mas.index = l_mas.min;
        l_mas.last = l_mas.min;
    }
    let mut mast = Mast::new(l_mas, r_mas);
    mas_spanning_rebalance(t, mas, &mut mast, b, empty_count);
}

/// `mas_split_final_node()`: the level where the data fits in one node.
fn mas_split_final_node(
    t: &mut MapleTree,
    mast: &mut Mast,
    mas: &mut Mas,
    b: &mut BigNode,
    height: u32,
) {
    if t.arena.is_root(mas.node) {
        b.ty = if t.is_alloc() {
            NodeType::Arange64
        } else {
            NodeType::Range64
        };
        mas.depth = height;
    }
    let ancestor = mas_new_node(t, b.ty);
    t.arena.set_parent(mast.l.node, ancestor, mast.l.offset);
    t.arena.set_parent(mast.r.node, ancestor, mast.r.offset);
    let p = t.arena.parent_word(mas.node);
    t.arena.set_parent_word(ancestor, p);
    mast.l.node = ancestor;
    let end = b.ty.slots() - 1;
    mab_mas_cp(t, b, 0, end, &mut mast.l, true);
    mas.offset = b.b_end - 1;
}

/// `mast_fill_bnode()`: build the parent's big node: the parent's slots
/// before the old node, the two new nodes, then the parent's slots after
/// the `skip` nodes replaced.
fn mast_fill_bnode(t: &MapleTree, mast: &mut Mast, mas: &mut Mas, b: &mut BigNode, skip: usize) {
    let mut cp = true;
    b.gap = [0; super::bignode::BIG_GAPS];
    b.slot = [0; super::bignode::BIG_SLOTS];
    b.pivot = [0; super::bignode::BIG_SLOTS - 1];
    b.b_end = 0;
    if t.arena.is_root(mas.node) {
        cp = false;
    } else {
        mas_ascend(t, mas);
        mas.offset = t.arena.parent_slot(mas.node);
    }
    if cp && mast.l.offset != 0 {
        mas_mab_cp(t, mas, 0, mast.l.offset - 1, b, 0);
    }
    let split = b.b_end;
    let (l, r) = (mast.l, mast.r);
    mab_set_b_end(t, b, &l, l.node);
    mast.r.offset = b.b_end;
    mab_set_b_end(t, b, &r, r.node);
    if b.pivot[b.b_end - 1] == mas.max {
        cp = false;
    }
    if cp {
        let slots = enode_type(mas.node).slots();
        let b_end = b.b_end;
        mas_mab_cp(t, mas, split + skip, slots - 1, b, b_end);
    }
    b.b_end -= 1;
    b.ty = enode_type(mas.node);
}

/// `mast_split_data()`: cut the big node into the new left and right nodes.
fn mast_split_data(t: &mut MapleTree, mast: &mut Mast, mas: &Mas, b: &BigNode, split: usize) {
    mab_mas_cp(t, b, 0, split, &mut mast.l, true);
    let rmax = mast.r.max;
    t.arena.set_pivot(mast.r.node, 0, rmax);
    mab_mas_cp(t, b, split + 1, b.b_end, &mut mast.r, false);
    mast.l.offset = t.arena.parent_slot(mas.node);
    mast.l.max = b.pivot[split];
    mast.r.min = mast.l.max + 1;
    if enode_type(mas.node).is_leaf() {
        return;
    }
    let mut p_slot = mast.orig_l.offset;
    let (ln, rn) = (mast.l.node, mast.r.node);
    let (ol, or) = (mast.orig_l, mast.orig_r);
    mas_set_split_parent(t, &ol, ln, rn, &mut p_slot, split);
    mas_set_split_parent(t, &or, ln, rn, &mut p_slot, split);
}

/// `mas_push_data()`: instead of splitting, try to move data into the left
/// (or right) sibling and split the pair in two.
fn mas_push_data(
    t: &mut MapleTree,
    mas: &mut Mas,
    height: u32,
    mast: &mut Mast,
    b: &mut BigNode,
    left: bool,
) -> bool {
    let mut slot_total = b.b_end;
    let mut tmp = *mas;
    tmp.depth = mast.l.depth;
    let found = if left {
        mas_prev_sibling(t, &mut tmp)
    } else {
        mas_next_sibling(t, &mut tmp)
    };
    if !found {
        return false;
    }
    let end = mas_data_end(&t.arena, &tmp);
    slot_total += end;
    let mut space = 2 * enode_type(mas.node).slots() - 2;
    if b.ty.is_leaf() {
        space -= 1;
    }
    if mas.max == u64::MAX {
        space -= 1;
    }
    if slot_total >= space {
        return false;
    }
    b.b_end += 1;
    if left {
        mab_shift_right(b, end + 1);
        mas_mab_cp(t, &tmp, 0, end, b, 0);
        b.b_end = slot_total + 1;
    } else {
        let b_end = b.b_end;
        mas_mab_cp(t, &tmp, 0, end, b, b_end);
    }
    let mut split = b.ty.slots() - 2;
    if left {
        *mas = tmp;
        tmp.node = mast.l.node;
        mast.l = tmp;
    } else {
        tmp.node = mast.r.node;
        mast.r = tmp;
        split = slot_total - split;
    }
    split = mab_no_null_split(b, split, b.ty.slots());
    if left {
        mast.orig_l.offset += end + 1;
    }
    mast_split_data(t, mast, mas, b, split);
    mast_fill_bnode(t, mast, mas, b, 2);
    mas_split_final_node(t, mast, mas, b, height + 1);
    true
}

/// `mas_split()`: the leaf overflowed; split it (or push into a sibling) and
/// carry the new nodes up until a level has room.
fn mas_split(t: &mut MapleTree, mas: &mut Mas, b: &mut BigNode) {
    let mut height = 0;
    mas.depth = t.height();
    let fresh = Mas::new(mas.index, mas.last);
    let mut mast = Mast::new(fresh, fresh);
    mast.l = fresh;
    mast.r = fresh;
    loop {
        let h = height;
        height += 1;
        if h > mas.depth {
            break;
        }
        if b.ty.slots() > b.b_end {
            mas_split_final_node(t, &mut mast, mas, b, height);
            break;
        }
        mast.l = *mas;
        mast.r = *mas;
        mast.l.node = mas_new_node(t, b.ty);
        mast.r.node = mas_new_node(t, b.ty);
        if mas_push_data(t, mas, height, &mut mast, b, true) {
            break;
        }
        if mas_push_data(t, mas, height, &mut mast, b, false) {
            break;
        }
        let mut mid_split = 0;
        let split = mab_calc_split(mas, b, &mut mid_split);
        mast_split_data(t, &mut mast, mas, b, split);
        mast.r.max = mas.max;
        mast_fill_bnode(t, &mut mast, mas, b, 1);
        mast.orig_l = mast.l;
        mast.orig_r = mast.r;
    }
    let old = mas.node;
    mas.node = mast.l.node;
    mas_wmb_replace(t, mas, old);
    mtree_range_walk(t, mas);
}

/// `mas_commit_b_node()`.
pub(crate) fn mas_commit_b_node(t: &mut MapleTree, mas: &mut Mas, b: &mut BigNode) {
    match mas.store_type {
        StoreType::Rebalance => mas_rebalance(t, mas, b),
        StoreType::SplitStore => mas_split(t, mas, b),
        other => panic!("maple tree: big-node commit for store type {other:?}"),
    }
}

/// `mas_extend_spanning_null()`: widen a NULL spanning store over the NULLs
/// on both sides.
fn mas_extend_spanning_null(
    t: &MapleTree,
    l_mas: &mut Mas,
    l_wr: &WrState,
    r_mas: &mut Mas,
    r_wr: &WrState,
) {
    let a = &t.arena;
    let l_slot = l_mas.offset;
    if l_wr.content == 0 {
        l_mas.index = l_wr.r_min;
    }
    if l_mas.index == l_wr.r_min && l_slot != 0 && a.slot(l_wr.node, l_slot - 1) == 0 {
        l_mas.index = if l_slot > 1 {
            a.pivot(l_wr.node, l_slot - 2) + 1
        } else {
            l_mas.min
        };
        l_mas.offset = l_slot - 1;
    }
    if r_wr.content == 0 {
        if r_mas.last < r_wr.r_max {
            r_mas.last = r_wr.r_max;
        }
        r_mas.offset += 1;
    } else if r_mas.last == r_wr.r_max
        && r_mas.last < r_mas.max
        && a.slot(r_wr.node, r_mas.offset + 1) == 0
    {
        // Linux 6.12 calls mas_safe_pivot() here with its `piv` and `type`
        // arguments swapped. The branch cannot be reached: r_mas was walked
        // to last + 1, so r_max > last unless last == ULONG_MAX, and then
        // last < max fails. Reaching it means that reasoning is wrong.
        panic!("maple tree: reached the unreachable branch of mas_extend_spanning_null()");
    }
}

/// `mas_wr_spanning_store()`: a write across node boundaries. The left and
/// right leaves are found, their surviving data and the new entry gathered
/// into a big node, and the subtree rebuilt.
pub(crate) fn mas_wr_spanning_store(t: &mut MapleTree, mas: &mut Mas, wr: &WrState) {
    if mas.index == 0 && mas.last == u64::MAX {
        mas_new_root(t, mas, wr.entry);
        return;
    }
    let height = t.height();
    let mut r_mas = *mas;
    let mut r_wr = WrState::new(wr.entry);
    if r_mas.last.wrapping_add(1) != 0 {
        r_mas.last += 1;
    }
    r_mas.index = r_mas.last;
    mas_wr_walk_index(t, &mut r_mas, &mut r_wr);
    r_mas.last = mas.last;
    r_mas.index = mas.last;

    let mut l_mas = *mas;
    let mut l_wr = WrState::new(wr.entry);
    mas_wr_walk_index(t, &mut l_mas, &mut l_wr);

    if wr.entry == 0 {
        mas_extend_spanning_null(t, &mut l_mas, &l_wr, &mut r_mas, &r_wr);
        mas.offset = l_mas.offset;
        mas.index = l_mas.index;
        mas.last = r_mas.last;
        l_mas.last = r_mas.last;
    }
    if l_mas.index == 0 && r_mas.last == u64::MAX {
        mas.set_range(0, u64::MAX);
        mas_new_root(t, mas, wr.entry);
        return;
    }
    let mut b = BigNode::default();
    let l_end = l_mas.end;
    mas_store_b_node(t, &mut l_mas, &mut l_wr, &mut b, l_end);
    // Mutant spanning-store-dup (Oct 2024, "correct tree corruption on
    // spanning store"): the old guard `r_mas.offset <= r_mas.end` also held
    // when the store ends exactly on the right leaf's last pivot, where the
    // walk to `last + 1` stopped on that leaf's last entry, so the entry
    // was copied after the new one: a duplicate range.
    let copy_right = if active(Mutant::SpanningStoreDup) {
        r_mas.offset <= r_mas.end
    } else {
        r_mas.max > r_mas.last
    };
    if copy_right {
        let start = b.b_end + 1;
        mas_mab_cp(t, &r_mas, r_mas.offset, r_mas.end, &mut b, start);
    } else {
        b.b_end += 1;
    }
    l_mas.index = mas.index;
    l_mas.last = mas.index;
    let mut mast = Mast::new(l_mas, r_mas);
    mas_spanning_rebalance(t, mas, &mut mast, &mut b, height + 1);
}
