//! The big node (`struct maple_big_node`): a scratch node of 34 slots into
//! which splits, rebalances and spanning stores gather data before cutting
//! it into real nodes, and the copies between it and real nodes.

use super::node::{enode_type, NodeType, MAPLE_ARANGE64_SLOTS, MAPLE_RANGE64_SLOTS};
use super::state::{safe_pivot, Mas, MA_STATE_BULK, MA_STATE_REBALANCE};
use super::write::{mas_max_gap, WrState};
use super::MapleTree;

/// `MAPLE_BIG_NODE_SLOTS`.
pub(crate) const BIG_SLOTS: usize = MAPLE_RANGE64_SLOTS * 2 + 2;
/// `MAPLE_BIG_NODE_GAPS`.
pub(crate) const BIG_GAPS: usize = MAPLE_ARANGE64_SLOTS * 2 + 1;

/// `struct maple_big_node`. The kernel overlays the gaps on the upper part of
/// the slot array; the two never overlap in use, so they are kept apart here.
#[derive(Clone, Debug)]
pub(crate) struct BigNode {
    pub pivot: [u64; BIG_SLOTS - 1],
    pub slot: [u64; BIG_SLOTS],
    pub gap: [u64; BIG_GAPS],
    pub b_end: usize,
    pub ty: NodeType,
}

impl Default for BigNode {
    fn default() -> Self {
        BigNode {
            pivot: [0; BIG_SLOTS - 1],
            slot: [0; BIG_SLOTS],
            gap: [0; BIG_GAPS],
            b_end: 0,
            ty: NodeType::Dense,
        }
    }
}

impl BigNode {
    /// `memset(b_node, 0, sizeof(*b_node))`.
    pub fn clear(&mut self) {
        *self = BigNode::default();
    }
}

/// `mab_shift_right()`: move the first `b_end` entries up by `shift`.
pub(crate) fn mab_shift_right(b: &mut BigNode, shift: usize) {
    let size = b.b_end;
    b.pivot.copy_within(0..size, shift);
    b.slot.copy_within(0..size, shift);
    if b.ty == NodeType::Arange64 {
        b.gap.copy_within(0..size, shift);
    }
}

/// `mab_middle_node()`: does the data need three nodes?
fn mab_middle_node(b: &BigNode, split: usize, slot_count: usize) -> bool {
    let size = b.b_end;
    if size >= 2 * slot_count {
        return true;
    }
    b.slot[split] == 0 && size >= 2 * slot_count - 1
}

/// `mab_no_null_split()`: never end a node on a NULL.
pub(crate) fn mab_no_null_split(b: &BigNode, split: usize, slot_count: usize) -> usize {
    if b.slot[split] == 0 {
        if split < slot_count - 1 && b.b_end - split > b.ty.min_slots() {
            return split + 1;
        }
        return split - 1;
    }
    split
}

/// `mab_calc_split()`: where to cut the big node; `mid_split` is set when a
/// third node is needed.
pub(crate) fn mab_calc_split(mas: &mut Mas, b: &BigNode, mid_split: &mut usize) -> usize {
    let b_end = b.b_end;
    let mut split = b_end / 2;
    let slot_count = b.ty.slots();
    if mas.flags & MA_STATE_BULK != 0 {
        *mid_split = 0;
        split = b_end - b.ty.min_slots();
        if !b.ty.is_leaf() {
            return split;
        }
        mas.flags |= MA_STATE_REBALANCE;
        if b.slot[split] == 0 {
            split -= 1;
        }
        return split;
    }
    if mab_middle_node(b, split, slot_count) {
        split = b_end / 3;
        *mid_split = split * 2;
    } else {
        *mid_split = 0;
    }
    split = mab_no_null_split(b, split, slot_count);
    if *mid_split != 0 {
        *mid_split = mab_no_null_split(b, *mid_split, slot_count);
    }
    split
}

/// `mas_mab_cp()`: copy slots `mas_start..=mas_end` of the state's node into
/// the big node at `mab_start`, stopping at the node's data end.
pub(crate) fn mas_mab_cp(
    t: &MapleTree,
    mas: &Mas,
    mas_start: usize,
    mas_end: usize,
    b: &mut BigNode,
    mab_start: usize,
) {
    let a = &t.arena;
    let n = mas.node;
    let ty = enode_type(n);
    let mut i = mas_start;
    let mut j = mab_start;
    let complete = 'copy: {
        if i == 0 {
            b.pivot[j] = a.pivot(n, i);
            i += 1;
            if i > mas_end {
                break 'copy true;
            }
            j += 1;
        }
        let piv_end = mas_end.min(ty.pivots());
        while i < piv_end {
            b.pivot[j] = a.pivot(n, i);
            if b.pivot[j] == 0 {
                break;
            }
            if mas.max == b.pivot[j] {
                break 'copy true;
            }
            i += 1;
            j += 1;
        }
        false
    };
    if !complete && i <= mas_end {
        b.pivot[j] = safe_pivot(a, mas, n, i);
    }
    j += 1;
    b.b_end = j;
    let count = j - mab_start;
    for k in 0..count {
        b.slot[mab_start + k] = a.slot(n, mas_start + k);
    }
    if !ty.is_leaf() && t.is_alloc() {
        for k in 0..count {
            b.gap[mab_start + k] = a.gap(n, mas_start + k);
        }
    }
}

/// `mab_mas_cp()`: fill the state's (fresh) node from big-node entries
/// `mab_start..=mab_end`, setting its metadata and, for allocation trees,
/// its gaps. With `new_max`, the state's max becomes the last pivot copied.
pub(crate) fn mab_mas_cp(
    t: &mut MapleTree,
    b: &BigNode,
    mab_start: usize,
    mut mab_end: usize,
    mas: &mut Mas,
    new_max: bool,
) {
    let n = mas.node;
    let ty = enode_type(n);
    let alloc = t.is_alloc();
    let a = &mut t.arena;
    if mab_end - mab_start > ty.pivots() {
        mab_end -= 1;
    }
    if a.pivot(n, ty.pivots() - 1) == 0 {
        a.set_slot(n, ty.pivots(), 0);
    }
    let mut i = mab_start;
    let mut j = 0;
    let id = super::node::enode_id(n);
    let pb = ty.pivot_base();
    loop {
        // For a full node the kernel writes one pivot past the pivot array,
        // into the word of slot 0, which the slot copy below overwrites.
        a.words_mut(id)[pb + j] = b.pivot[i];
        j += 1;
        i += 1;
        if !(i <= mab_end && b.pivot[i] != 0) {
            break;
        }
    }
    for k in 0..(i - mab_start) {
        a.set_slot(n, k, b.slot[mab_start + k]);
    }
    if new_max {
        mas.max = b.pivot[i - 1];
    }
    let end = j - 1;
    if !ty.is_leaf() && alloc {
        let mut max_gap = 0;
        let mut offset = 0;
        loop {
            j -= 1;
            i -= 1;
            a.set_gap(n, j, b.gap[i]);
            if b.gap[i] > max_gap {
                offset = j;
                max_gap = b.gap[i];
            }
            if j == 0 {
                break;
            }
        }
        a.set_meta(n, offset, end);
    } else {
        a.leaf_set_meta(n, end);
    }
}

/// `mab_set_b_end()`: append the state's node to the big node as a child.
pub(crate) fn mab_set_b_end(t: &MapleTree, b: &mut BigNode, mas: &Mas, entry: u64) {
    if entry == 0 {
        return;
    }
    b.slot[b.b_end] = entry;
    if t.is_alloc() {
        b.gap[b.b_end] = mas_max_gap(t, mas);
    }
    b.pivot[b.b_end] = mas.max;
    b.b_end += 1;
}

/// `mas_store_b_node()`: copy the node into the big node with the write
/// applied: the slots before it, a left remainder, the new entry, a right
/// remainder and the slots after it.
pub(crate) fn mas_store_b_node(
    t: &MapleTree,
    mas: &mut Mas,
    wr: &mut WrState,
    b: &mut BigNode,
    offset_end: usize,
) {
    b.ty = wr.ty;
    let mut b_end = 0;
    let mut slot = mas.offset;
    let piv;
    if slot != 0 {
        mas_mab_cp(t, mas, 0, slot - 1, b, 0);
        b_end = b.b_end;
        piv = b.pivot[b_end - 1];
    } else {
        piv = mas.min.wrapping_sub(1);
    }
    if piv.wrapping_add(1) < mas.index {
        b.slot[b_end] = wr.content;
        if wr.content == 0 {
            b.gap[b_end] = mas.index.wrapping_sub(1).wrapping_sub(piv);
        }
        b.pivot[b_end] = mas.index - 1;
        b_end += 1;
    }
    mas.offset = b_end;
    b.slot[b_end] = wr.entry;
    b.pivot[b_end] = mas.last;
    if mas.last >= mas.max {
        b.b_end = b_end;
        return;
    }
    let piv = safe_pivot(&t.arena, mas, wr.node, offset_end);
    if piv > mas.last {
        if piv == u64::MAX {
            super::bulk::mas_bulk_rebalance(t, mas, b.b_end, wr.ty);
        }
        if offset_end != slot {
            wr.content = t.arena.slot(wr.node, offset_end);
        }
        b_end += 1;
        b.slot[b_end] = wr.content;
        if wr.content == 0 {
            b.gap[b_end] = piv - mas.last + 1;
        }
        b.pivot[b_end] = piv;
    }
    slot = offset_end + 1;
    if slot > mas.end {
        b.b_end = b_end;
        return;
    }
    b_end += 1;
    mas_mab_cp(t, mas, slot, mas.end + 1, b, b_end);
    b.b_end -= 1;
}
