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
        // Mutant rcu-dead-leaves: the leaves of an RCU destroy stay unmarked.
        if !(active(Mutant::RcuDeadLeaves) && t.in_rcu()) {
            t.arena.set_dead(mk_node(id, ety));
        }
        dead_set(t, id, None, None, ety);
        t.arena.set_slot(enode, offset, super::node::node_addr(id));
        offset += 1;
    }
    offset
}

/// `mt_clear_meta()`: zero the metadata of an internal node unless its
/// last slot holds a child (a slot word that decodes as a node: address and
/// type bits). The RCU destroy walk runs it on the walk's start node, and
/// the 2022 destroy descend (`mas_clear_meta()`, removed in Feb 2023) on
/// every node it went through.
fn mt_clear_meta(t: &mut MapleTree, enode: u64) {
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
/// each node dead and recording how to come back up. Leaves `enode` at the
/// bottom internal node whose slots hold leaves; returns how many nodes it
/// marked.
fn mte_destroy_descend(
    t: &mut MapleTree,
    enode: &mut u64,
    mut prev: u64,
    mut offset: usize,
) -> u64 {
    let mut next = *enode;
    let mut next_offset = 0;
    let mut marked = 0;
    loop {
        marked += 1;
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
            mt_clear_meta(t, *enode);
        }
        offset = next_offset;
        next_offset = 0;
        prev = *enode;
        if enode_type(next).is_leaf() {
            return marked;
        }
    }
}

/// `mt_destroy_walk()`: walk a whole subtree iteratively and post-order,
/// marking every node dead and using only the dead-node overlay to find the
/// way back up. With `free`, a node's children are freed by
/// `mte_dead_leaves()` once the walk returns to it, and the node after
/// them. Without (RCU mode), nothing is freed: the walk leaves the overlay
/// `mt_free_walk()` follows after the grace period, and clears the start
/// node's metadata. Returns how many nodes it marked dead.
pub(crate) fn mt_destroy_walk(t: &mut MapleTree, enode: u64, free: bool) -> u64 {
    use super::node::{addr_to_id, enode_addr, enode_id};
    if enode_type(enode).is_leaf() {
        t.arena.set_dead(enode);
        dead_set(t, enode_id(enode), None, None, enode_type(enode));
        if free {
            t.arena.free(enode_id(enode));
        }
        return 1;
    }
    let start = enode;
    let mut enode = enode;
    let mut marked = mte_destroy_descend(t, &mut enode, start, 0);
    let mut node = enode_id(enode);
    loop {
        let slot_len = mte_dead_leaves(t, enode);
        marked += slot_len as u64;
        t.arena.words_mut(node)[DEAD_SLOT_LEN] = slot_len as u64;
        if free {
            free_bulk(t, enode, slot_len);
        }
        let w = t.arena.words(node);
        let offset = (w[DEAD_SLOT_TYPE] & 0xFF) as usize + 1;
        let parent = w[DEAD_PIV_PARENT];
        if enode_addr(parent) == super::node::node_addr(node) {
            // The start of the walk records itself as its parent.
            finish_walk(t, enode, free);
            return marked;
        }
        enode = parent;
        let pty = enode_type(parent);
        if offset < pty.slots() {
            let tmp = t.arena.slot(parent, offset);
            if enode_type(tmp) != NodeType::Dense && addr_to_id(tmp).is_some() {
                enode = tmp;
                marked += mte_destroy_descend(t, &mut enode, parent, offset);
            }
        }
        node = enode_id(enode);
        if enode == start {
            break;
        }
    }
    let slot_len = mte_dead_leaves(t, enode);
    marked += slot_len as u64;
    t.arena.words_mut(node)[DEAD_SLOT_LEN] = slot_len as u64;
    if free {
        free_bulk(t, enode, slot_len);
    }
    finish_walk(t, enode, free);
    marked
}

/// The end of `mt_destroy_walk()` at its start node: free it, or (RCU mode)
/// clear its metadata. That clear is finding 4: on a full `maple_range_64`
/// start node the last slot is a child whose type bits
/// `mte_dead_leaves()` has just stripped, so the clear writes over the
/// child's address; [`Fixes::rcu_free_walk`](super::Fixes) drops it.
fn finish_walk(t: &mut MapleTree, enode: u64, free: bool) {
    if free {
        t.arena.free(super::node::enode_id(enode));
    } else if !t.fixes.rcu_free_walk {
        mt_clear_meta(t, enode);
    }
}

/// `mt_free_bulk()` over the first `n` slots of `enode` (bare addresses).
fn free_bulk(t: &mut MapleTree, enode: u64, n: usize) {
    for i in 0..n {
        let addr = t.arena.slot(enode, i);
        let id = dead_node_id(t, addr, "mt_free_bulk()");
        t.arena.free(id);
    }
}

/// The node a dead walk follows a pointer to. The kernel dereferences
/// whatever the slot holds; a pointer to no node is a wild access there, a
/// crash here.
fn dead_node_id(t: &MapleTree, addr: u64, by: &str) -> u32 {
    match super::node::addr_to_id(addr) {
        Some(id) if t.arena.is_allocated(id) => id,
        _ => panic!("maple tree: {by} follows {addr:#x}, which is no allocated node"),
    }
}

/// The node type a destroy walk recorded in a dead node's overlay.
fn dead_type(t: &MapleTree, id: u32) -> NodeType {
    NodeType::from_bits(t.arena.words(id)[DEAD_SLOT_TYPE] >> 32)
}

/// `mte_dead_walk()`: from a dead node, go down through the child at
/// `offset` and then first children to the last level above the leaves.
/// Returns that node (as an encoded pointer of its recorded type).
fn mte_dead_walk(t: &MapleTree, start: u32, mut offset: usize) -> u64 {
    let mut next = start;
    loop {
        let node = next;
        let enode = mk_node(node, dead_type(t, node));
        let child = t.arena.slot(enode, offset);
        next = dead_node_id(t, child, "mte_dead_walk()");
        offset = 0;
        if dead_type(t, next).is_leaf() {
            return enode;
        }
    }
}

/// `mt_free_walk()`, the RCU callback of an RCU-mode destroy: walk the dead
/// subtree again by its overlay and free every node. Coming back up to a
/// parent, the kernel takes a non-NULL next slot for another child, which
/// on a `maple_range_64` node with 15 children is the metadata in slot 15
/// (finding 7: a wild pointer). [`Fixes::rcu_free_walk`](super::Fixes)
/// bounds it by the children the destroy walk counted.
pub(crate) fn mt_free_walk(t: &mut MapleTree, start: u32) {
    let mut node = start;
    if !dead_type(t, start).is_leaf() {
        let mut enode = mte_dead_walk(t, start, 0);
        node = super::node::enode_id(enode);
        loop {
            let slot_len = t.arena.words(node)[DEAD_SLOT_LEN] as usize;
            free_bulk(t, enode, slot_len);
            let w = t.arena.words(node);
            let offset = (w[DEAD_SLOT_TYPE] & 0xFF) as usize + 1;
            let parent = w[DEAD_PIV_PARENT];
            let pid = dead_node_id(t, parent, "mt_free_walk()");
            if pid == node {
                break;
            }
            let pty = enode_type(parent);
            let more = if t.fixes.rcu_free_walk {
                offset < t.arena.words(pid)[DEAD_SLOT_LEN] as usize
            } else {
                offset < pty.slots() && t.arena.slot(mk_node(pid, pty), offset) != 0
            };
            enode = if more {
                mte_dead_walk(t, pid, offset)
            } else {
                mk_node(pid, pty)
            };
            node = super::node::enode_id(enode);
            let len = t.arena.words(node)[DEAD_SLOT_LEN] as usize;
            if node == start && len >= offset {
                let enode = mk_node(node, dead_type(t, node));
                free_bulk(t, enode, len);
                break;
            }
        }
    }
    t.arena.free(node);
}

/// `mte_destroy_walk()`: free a subtree now, or in RCU mode mark it dead
/// now and free it after a grace period (`mt_free_walk()`).
pub(crate) fn mte_destroy_walk(t: &mut MapleTree, enode: u64) {
    if t.in_rcu() {
        let nodes = mt_destroy_walk(t, enode, false);
        let start = super::node::enode_id(enode);
        super::rcu::call_rcu(t, super::rcu::RcuCallback::FreeWalk { start, nodes });
    } else {
        mt_destroy_walk(t, enode, true);
    }
}

/// `__mt_destroy()`.
pub(crate) fn mt_destroy(t: &mut MapleTree) {
    let root = t.root;
    t.set_root(0);
    if xa_is_node(root) {
        mte_destroy_walk(t, super::node::safe_root(root));
    }
    t.flags &= !super::MT_FLAGS_HEIGHT_MASK;
}
