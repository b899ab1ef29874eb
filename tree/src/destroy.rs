//! Destroying a subtree (`mt_destroy_walk()`): an iterative post-order
//! walk that finds its way back up only through the dead-node overlay it
//! writes into each node, as the kernel's does, and `mtree_destroy()`.

use super::node::{enode_type, mk_node, xa_is_node, NodeType};
use super::MapleTree;
use crate::mutants::{active, Mutant};

// The dead-node overlay (`struct maple_node`'s second view): word 3 holds the
// parent's encoded pointer, word 4 the parent slot (byte 0) and the node type
// (bytes 4..8), word 5 the number of leaves freed below (byte 0). These words
// are pivots of a live node: a destroy walk overwrites them, as in the kernel.
const DEAD_PIV_PARENT: usize = 3;
const DEAD_SLOT_TYPE: usize = 4;
const DEAD_SLOT_LEN: usize = 5;

fn dead_set(
    t: &mut MapleTree,
    id: u32,
    piv_parent: Option<u64>,
    parent_slot: Option<usize>,
    ty: NodeType,
) {
    let w = t.arena.words_mut(id);
    if let Some(p) = piv_parent {
        w[DEAD_PIV_PARENT] = p;
    }
    let slot = match parent_slot {
        Some(s) => s as u64,
        None => w[DEAD_SLOT_TYPE] & 0xFF,
    };
    w[DEAD_SLOT_TYPE] = (w[DEAD_SLOT_TYPE] & 0x0000_0000_FFFF_FF00) | slot | ((ty as u64) << 32);
}

/// `mte_dead_leaves()`: mark the leaf children of a bottom internal node dead
/// and count them. It stops at the first slot that does not decode as a node
/// (address or type zero), which is how the metadata in the last slot of a
/// non-full node is told apart from a child.
///
/// Mutant dead-leaves-short: the withdrawn July 2022 patch ("use metadata
/// for mas_dead_leaves() walk") bounded the loop by the node's data end
/// instead. During a destroy walk that end is read from a node whose
/// metadata the descend has just cleared and whose max is not tracked, so
/// for any node that is not full it is 0: one leaf is freed, the rest leak.
fn mte_dead_leaves(t: &mut MapleTree, enode: u64) -> usize {
    let ty = enode_type(enode);
    let short = active(Mutant::DeadLeavesShort);
    let count = if short {
        t.arena.data_end(enode, u64::MAX) + 1
    } else {
        ty.slots()
    };
    let mut offset = 0;
    while offset < count {
        let entry = t.arena.slot(enode, offset);
        let ety = enode_type(entry);
        let id = match super::node::addr_to_id(entry) {
            Some(id) if ety != NodeType::Dense => id,
            // The patch trusted its bound: a non-node there is a wild
            // pointer in C.
            _ if short => panic!("maple tree: destroy walk met {entry:#x} as a leaf"),
            _ => break,
        };
        t.arena.set_dead(mk_node(id, ety));
        dead_set(t, id, None, None, ety);
        t.arena.set_slot(enode, offset, super::node::node_addr(id));
        offset += 1;
    }
    offset
}

/// `mas_clear_meta()` of the 2022 destroy descend (removed in Feb 2023):
/// zero the metadata of an internal node unless its last slot holds a child.
fn mas_clear_meta(t: &mut MapleTree, enode: u64) {
    let ty = enode_type(enode);
    if ty == NodeType::Range64 {
        let last = t.arena.slot(enode, ty.slots() - 1);
        if t.arena.pivot(enode, ty.pivots() - 1) != 0
            && super::node::addr_to_id(last).is_some()
            && enode_type(last) != NodeType::Dense
        {
            return;
        }
    } else if ty != NodeType::Arange64 {
        return;
    }
    t.arena.set_meta(enode, 0, 0);
}

/// `mte_destroy_descend()`: go down the left-most live children, marking
/// each node dead and recording how to come back up. Returns the bottom
/// internal node whose slots hold leaves.
fn mte_destroy_descend(t: &mut MapleTree, enode: &mut u64, mut prev: u64, mut offset: usize) {
    let mut next = *enode;
    let mut next_offset = 0;
    loop {
        *enode = next;
        let ty = enode_type(*enode);
        next = t.arena.slot(*enode, next_offset);
        if t.arena.is_dead(next) {
            next_offset += 1;
            next = t.arena.slot(*enode, next_offset);
        }
        t.arena.set_dead(*enode);
        let id = super::node::enode_id(*enode);
        dead_set(t, id, Some(prev), Some(offset), ty);
        if active(Mutant::DeadLeavesShort) {
            mas_clear_meta(t, *enode);
        }
        offset = next_offset;
        next_offset = 0;
        prev = *enode;
        if enode_type(next).is_leaf() {
            return;
        }
    }
}

/// `mt_destroy_walk()`: free a whole subtree, iteratively and post-order,
/// using only the dead-node overlay to find the way back up. A node's
/// children are freed by `mte_dead_leaves()` once the walk returns to it.
pub(crate) fn mt_destroy_walk(t: &mut MapleTree, enode: u64) {
    use super::node::{addr_to_id, enode_addr, enode_id};
    if enode_type(enode).is_leaf() {
        t.arena.set_dead(enode);
        t.arena.free(enode_id(enode));
        return;
    }
    let start = enode;
    let mut enode = enode;
    mte_destroy_descend(t, &mut enode, start, 0);
    let mut node = enode_id(enode);
    loop {
        let slot_len = mte_dead_leaves(t, enode);
        t.arena.words_mut(node)[DEAD_SLOT_LEN] = slot_len as u64;
        free_bulk(t, enode, slot_len);
        let w = t.arena.words(node);
        let offset = (w[DEAD_SLOT_TYPE] & 0xFF) as usize + 1;
        let parent = w[DEAD_PIV_PARENT];
        if enode_addr(parent) == super::node::node_addr(node) {
            // The start of the walk records itself as its parent.
            t.arena.free(node);
            return;
        }
        enode = parent;
        let pty = enode_type(parent);
        if offset < pty.slots() {
            let tmp = t.arena.slot(parent, offset);
            if enode_type(tmp) != NodeType::Dense && addr_to_id(tmp).is_some() {
                enode = tmp;
                mte_destroy_descend(t, &mut enode, parent, offset);
            }
        }
        node = enode_id(enode);
        if enode == start {
            break;
        }
    }
    let slot_len = mte_dead_leaves(t, enode);
    t.arena.words_mut(node)[DEAD_SLOT_LEN] = slot_len as u64;
    free_bulk(t, enode, slot_len);
    t.arena.free(node);
}

/// `mt_free_bulk()` over the first `n` slots of `enode` (bare addresses).
fn free_bulk(t: &mut MapleTree, enode: u64, n: usize) {
    for i in 0..n {
        let addr = t.arena.slot(enode, i);
        let id = super::node::enode_id(addr);
        t.arena.free(id);
    }
}

/// `mte_destroy_walk()`. In RCU mode the kernel defers the frees to an RCU
/// callback; with no concurrent readers here they happen at once.
pub(crate) fn mte_destroy_walk(t: &mut MapleTree, enode: u64) {
    mt_destroy_walk(t, enode);
}

/// `__mt_destroy()`.
pub(crate) fn mt_destroy(t: &mut MapleTree) {
    let root = t.root;
    t.root = 0;
    if xa_is_node(root) {
        mte_destroy_walk(t, super::node::safe_root(root));
    }
    t.flags &= !super::MT_FLAGS_HEIGHT_MASK;
}
