//! The maple state (`struct ma_state`) and the walks every operation starts with.
//!
//! [`Mas`] is the plain-data part of the kernel's `ma_state`: the kernel
//! copies it freely (`l_mas = *mas`) and so does this port. The nodes a state
//! holds for a write (`mas->alloc`) live in a `NodePool` beside it; while a
//! write runs, the pool is parked in the tree so that every node the write
//! pops comes from the caller's state, as in the kernel (see `alloc.rs`).

use super::node::{
    enode_addr, enode_type, mk_node, safe_root, xa_is_node, NodeArena, NodeType, MAPLE_NODE_SLOTS,
};
use super::{Errno, MapleTree, StoreType};

/// `enum maple_status`: where a maple state stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Status {
    /// `ma_active`: `node`/`offset` point at the current entry.
    Active,
    /// `ma_start`: the next operation walks from the root.
    Start,
    /// `ma_root`: the tree is a single entry kept in the root pointer.
    Root,
    /// `ma_none`: the tree is empty or the search found nothing.
    None,
    /// `ma_pause`: the caller dropped the lock; the next call re-walks.
    Pause,
    /// `ma_overflow`: an iteration went past its upper limit.
    Overflow,
    /// `ma_underflow`: an iteration went below its lower limit.
    Underflow,
    /// `ma_error`: the last operation failed.
    Error,
}

/// `MA_STATE_BULK`.
pub(crate) const MA_STATE_BULK: u8 = 1;
/// `MA_STATE_REBALANCE`.
pub(crate) const MA_STATE_REBALANCE: u8 = 2;
/// `MA_STATE_PREALLOC`.
pub(crate) const MA_STATE_PREALLOC: u8 = 4;

/// The copyable part of the kernel's `struct ma_state`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Mas {
    pub index: u64,
    pub last: u64,
    /// Encoded pointer of the current node (0 when there is none).
    pub node: u64,
    pub min: u64,
    pub max: u64,
    pub depth: u32,
    pub offset: usize,
    /// Cached data end of `node`.
    pub end: usize,
    pub flags: u8,
    pub store_type: StoreType,
    pub status: Status,
    /// The error when `status == Error`.
    pub err: Errno,
}

impl Mas {
    /// `MA_STATE(name, mt, first, end)`.
    pub fn new(index: u64, last: u64) -> Mas {
        Mas {
            index,
            last,
            node: 0,
            min: 0,
            max: u64::MAX,
            depth: 0,
            offset: 0,
            end: 0,
            flags: 0,
            store_type: StoreType::Invalid,
            status: Status::Start,
            err: Errno::EINVAL,
        }
    }

    #[inline]
    pub fn is_active(&self) -> bool {
        self.status == Status::Active
    }
    #[inline]
    pub fn is_start(&self) -> bool {
        self.status == Status::Start
    }
    #[inline]
    pub fn is_none(&self) -> bool {
        self.status == Status::None
    }
    #[inline]
    pub fn is_ptr(&self) -> bool {
        self.status == Status::Root
    }
    #[inline]
    pub fn is_err(&self) -> bool {
        self.status == Status::Error
    }

    /// `mas_set_err()`: `mas->node` becomes `MA_ERROR(-errno)`, an internal
    /// word distinct from NULL and from every node (code compares it).
    #[inline]
    pub fn set_err(&mut self, err: Errno) {
        let errno: i64 = match err {
            Errno::EINVAL => -22,
            Errno::EEXIST => -17,
            Errno::EBUSY => -16,
            Errno::ENOMEM => -12,
        };
        self.node = ((errno << 2) as u64) | 2;
        self.status = Status::Error;
        self.err = err;
    }

    /// `mas_reset()`.
    #[inline]
    pub fn reset(&mut self) {
        self.status = Status::Start;
        self.node = 0;
    }

    /// `mas_set_range()`.
    #[inline]
    pub fn set_range(&mut self, index: u64, last: u64) {
        self.index = index;
        self.last = last;
        self.reset();
    }

    /// `mas_is_root_limits()`.
    #[inline]
    pub fn is_root_limits(&self) -> bool {
        self.min == 0 && self.max == u64::MAX
    }

    /// `mas_node_or_none()`.
    #[inline]
    pub fn node_or_none(&mut self, enode: u64) {
        if enode != 0 {
            self.node = enode;
            self.status = Status::Active;
        } else {
            self.node = 0;
            self.status = Status::None;
        }
    }
}

impl MapleTree {
    #[inline]
    pub(crate) fn is_alloc(&self) -> bool {
        self.flags & super::MT_FLAGS_ALLOC_RANGE != 0
    }

    #[inline]
    pub(crate) fn in_rcu(&self) -> bool {
        self.flags & super::MT_FLAGS_USE_RCU != 0
    }

    /// `mt_height()`.
    #[inline]
    pub(crate) fn height(&self) -> u32 {
        (self.flags & super::MT_FLAGS_HEIGHT_MASK) >> super::MT_FLAGS_HEIGHT_OFFSET
    }

    /// `mas_set_height()`.
    #[inline]
    pub(crate) fn set_height(&mut self, depth: u32) {
        assert!(
            depth <= super::MAPLE_HEIGHT_MAX,
            "maple tree: height overflow"
        );
        self.flags =
            (self.flags & !super::MT_FLAGS_HEIGHT_MASK) | (depth << super::MT_FLAGS_HEIGHT_OFFSET);
    }

    /// `mas_parent_type()`.
    #[inline]
    pub(crate) fn parent_type(&self, enode: u64) -> NodeType {
        self.arena.parent_type(enode, self.is_alloc())
    }

    /// The parent of `enode`, encoded.
    #[inline]
    pub(crate) fn parent_enode(&self, enode: u64) -> u64 {
        self.arena.parent_enode(enode, self.is_alloc())
    }
}

/// `mas_safe_pivot()`: pivot `piv`, or the node max past the pivot array.
#[inline]
pub(crate) fn safe_pivot(a: &NodeArena, mas: &Mas, enode: u64, piv: usize) -> u64 {
    if piv >= enode_type(enode).pivots() {
        mas.max
    } else {
        a.pivot(enode, piv)
    }
}

/// `mas_safe_min()`: the first index covered by slot `offset`.
#[inline]
pub(crate) fn safe_min(a: &NodeArena, mas: &Mas, enode: u64, offset: usize) -> u64 {
    if offset != 0 {
        a.pivot(enode, offset - 1).wrapping_add(1)
    } else {
        mas.min
    }
}

/// `mas_data_end()`: the data end of the state's node against its max.
#[inline]
pub(crate) fn mas_data_end(a: &NodeArena, mas: &Mas) -> usize {
    let ty = enode_type(mas.node);
    if ty == NodeType::Arange64 {
        return a.meta_end(mas.node);
    }
    if a.is_dead(mas.node) {
        return 0;
    }
    a.data_end(mas.node, mas.max)
}

/// `mas_start()`: set the state up at the root. Returns the root entry when
/// the tree is a single entry at index 0 and the state asks for index 0.
pub(crate) fn mas_start(t: &MapleTree, mas: &mut Mas) -> u64 {
    if !mas.is_start() {
        return 0;
    }
    mas.min = 0;
    mas.max = u64::MAX;
    mas.depth = 0;
    let root = t.root;
    if xa_is_node(root) {
        mas.depth = 1;
        mas.status = Status::Active;
        mas.node = safe_root(root);
        mas.offset = 0;
        return 0;
    }
    mas.node = 0;
    if root == 0 {
        mas.status = Status::None;
        mas.offset = MAPLE_NODE_SLOTS;
        return 0;
    }
    mas.status = Status::Root;
    mas.offset = MAPLE_NODE_SLOTS;
    if mas.index > 0 {
        return 0;
    }
    root
}

/// `mas_descend()`: step into the child at `mas.offset`.
#[inline]
pub(crate) fn mas_descend(a: &NodeArena, mas: &mut Mas) {
    let node = mas.node;
    if mas.offset != 0 {
        mas.min = a.pivot(node, mas.offset - 1).wrapping_add(1);
    }
    mas.max = safe_pivot(a, mas, node, mas.offset);
    mas.node = a.slot(node, mas.offset);
}

/// `mas_ascend()`: step to the parent, recomputing min and max from the
/// ancestors' pivots. Returns true if a dead node was met (the caller re-walks).
pub(crate) fn mas_ascend(t: &MapleTree, mas: &mut Mas) -> bool {
    let a = &t.arena;
    if a.is_root(mas.node) {
        mas.offset = 0;
        return false;
    }
    let p_addr = a.parent_addr(mas.node);
    if p_addr == enode_addr(mas.node) {
        return true;
    }
    let a_type = t.parent_type(mas.node);
    mas.offset = a.parent_slot(mas.node);
    let mut a_enode = mk_node_from_addr(p_addr, a_type);
    mas.node = a_enode;
    if a.is_root(a_enode) {
        mas.max = u64::MAX;
        mas.min = 0;
        return false;
    }
    let mut min = 0;
    let mut max = u64::MAX;
    let mut set_min = false;
    let mut set_max = false;
    if mas.offset == 0 {
        min = mas.min;
        set_min = true;
    }
    if mas.max == u64::MAX {
        set_max = true;
    }
    loop {
        let p_enode = a_enode;
        let a_type = t.parent_type(p_enode);
        let a_addr = a.parent_addr(p_enode);
        let a_slot = a.parent_slot(p_enode);
        a_enode = mk_node_from_addr(a_addr, a_type);
        if a.is_dead(a_enode) {
            return true;
        }
        if !set_min && a_slot != 0 {
            set_min = true;
            min = a.pivot(a_enode, a_slot - 1).wrapping_add(1);
        }
        if !set_max && a_slot < a_type.pivots() {
            set_max = true;
            max = a.pivot(a_enode, a_slot);
        }
        if a.is_root(a_enode) {
            break;
        }
        if set_min && set_max {
            break;
        }
    }
    mas.max = max;
    mas.min = min;
    false
}

/// Encodes a bare node address with a type.
#[inline]
pub(crate) fn mk_node_from_addr(addr: u64, ty: NodeType) -> u64 {
    mk_node(super::node::enode_id(addr), ty)
}

/// `mtree_range_walk()`: descend from `mas.node` to the leaf slot holding
/// `mas.index`, setting index/last to that slot's range and min/max to the
/// leaf's limits. Returns the slot's entry.
pub(crate) fn mtree_range_walk(t: &MapleTree, mas: &mut Mas) -> u64 {
    let a = &t.arena;
    let mut next = mas.node;
    let mut min = mas.min;
    let mut max = mas.max;
    loop {
        let last = next;
        let ty = enode_type(next);
        let end = a.data_end(next, max);
        let prev_min = min;
        let prev_max = max;
        let offset;
        if a.pivot(next, 0) >= mas.index {
            offset = 0;
            max = a.pivot(next, 0);
        } else {
            let mut off = 1;
            while off < end {
                let p = a.pivot(next, off);
                if p >= mas.index {
                    max = p;
                    break;
                }
                off += 1;
            }
            offset = off;
            min = a.pivot(next, offset - 1).wrapping_add(1);
        }
        let child = a.slot(next, offset);
        if a.is_dead(last) {
            mas.reset();
            return 0;
        }
        if ty.is_leaf() {
            mas.end = end;
            mas.offset = offset;
            mas.index = min;
            mas.last = max;
            mas.min = prev_min;
            mas.max = prev_max;
            mas.node = last;
            return child;
        }
        next = child;
    }
}

/// `mtree_lookup_walk()`: the lock-free lookup, scanning pivots without
/// metadata and without tracking the range.
#[inline]
pub(crate) fn mtree_lookup_walk(a: &NodeArena, mut next: u64, index: u64) -> u64 {
    loop {
        let ty = enode_type(next);
        let id = super::node::enode_id(next);
        let w = a.words(id);
        let pb = ty.pivot_base();
        let end = ty.pivots();
        let mut offset = 0;
        while offset < end && w[pb + offset] < index {
            offset += 1;
        }
        let child = w[ty.slot_base() + offset];
        if ty.is_leaf() {
            return child;
        }
        next = child;
    }
}

/// `mas_state_walk()`.
pub(crate) fn mas_state_walk(t: &MapleTree, mas: &mut Mas) -> u64 {
    let entry = mas_start(t, mas);
    if mas.is_none() {
        return 0;
    }
    if mas.is_ptr() {
        return entry;
    }
    mtree_range_walk(t, mas)
}

/// `mas_walk()`: the entry at `mas.index`, with index/last set to its range
/// (or to the range of the NULL around it).
pub(crate) fn mas_walk(t: &MapleTree, mas: &mut Mas) -> u64 {
    if !mas.is_active() || !mas.is_start() {
        mas.status = Status::Start;
    }
    let entry = loop {
        let e = mas_state_walk(t, mas);
        if !mas.is_start() {
            break e;
        }
    };
    if mas.is_none() {
        mas.index = 0;
        mas.last = u64::MAX;
    } else if mas.is_ptr() {
        if mas.index == 0 {
            mas.last = 0;
            return entry;
        }
        mas.index = 1;
        mas.last = u64::MAX;
        mas.status = Status::None;
        return 0;
    }
    entry
}

/// `mas_rewalk()`.
pub(crate) fn mas_rewalk(t: &MapleTree, mas: &mut Mas, index: u64) {
    loop {
        mas.set_range(index, index);
        mas_state_walk(t, mas);
        if !mas.is_start() {
            return;
        }
    }
}

/// `mas_prev_sibling()`: move to the previous child of the same parent.
pub(crate) fn mas_prev_sibling(t: &MapleTree, mas: &mut Mas) -> bool {
    let p_slot = t.arena.parent_slot(mas.node);
    if t.arena.is_root(mas.node) {
        return false;
    }
    if p_slot == 0 {
        return false;
    }
    mas_ascend(t, mas);
    mas.offset = p_slot - 1;
    mas_descend(&t.arena, mas);
    true
}

/// `mas_next_sibling()`: move to the next child of the same parent.
pub(crate) fn mas_next_sibling(t: &MapleTree, mas: &mut Mas) -> bool {
    if t.arena.is_root(mas.node) {
        return false;
    }
    let mut parent = *mas;
    mas_ascend(t, &mut parent);
    parent.offset = t.arena.parent_slot(mas.node) + 1;
    if parent.offset > mas_data_end(&t.arena, &parent) {
        return false;
    }
    *mas = parent;
    mas_descend(&t.arena, mas);
    true
}
