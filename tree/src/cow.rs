//! The copy-on-write contract of an RCU-mode tree, checked from outside:
//! what a write may do to the nodes readers can reach.
//!
//! Readers walk an RCU-mode tree (`MT_FLAGS_USE_RCU`) under
//! `rcu_read_lock()` while a writer changes it. The writer may store into a
//! node a reader can reach only where every intermediate state reads as
//! the value before or after the write; everything else builds new nodes,
//! links them in with one pointer store, marks each replaced node dead (its
//! parent pointer points at itself, so a reader that lands there restarts)
//! and frees it only after a grace period.
//!
//! [`RcuImage::capture`] records every node reachable from the root, with
//! its words and range; [`RcuImage::check_write`] compares that image,
//! taken before a write, with the nodes after it and before the grace
//! period ends. Each node of the image must be
//! - still allocated (nothing a reader could hold is freed before the
//!   grace period);
//! - if it left the tree, marked dead;
//! - if it is still in the tree, not dead, and changed only by the in-place
//!   writes the kernel allows under readers, each below with its place in
//!   `lib/maple_tree.c` (the same in 6.1, 6.12, 6.18 and 7.1: checked in
//!   each tree's `mas_wr_store_type()` / `mas_wr_modify()`,
//!   `mas_wr_slot_store()`, `mas_put_in_tree()`, `mas_adopt_children()` and
//!   `mas_update_gap()`):
//!   - a leaf: one slot rewritten (`wr_exact_fit`: `rcu_assign_pointer()`
//!     of the slot), or one slot and the pivot between it and its
//!     neighbour (`wr_slot_store` over two adjacent slots, the only slot
//!     store allowed in RCU mode); its data end and metadata unchanged.
//!     An append (`wr_append`, never in RCU mode since 2023) moves the end
//!     and rewrites the metadata, so it fails here;
//!   - an internal node: one child pointer replaced by a new node, the old
//!     child having left the tree (`mas_put_in_tree()`, the single store
//!     that publishes a replacement);
//!   - an allocation tree's internal node: its gaps and the metadata's gap
//!     slot (`mas_update_gap()` / `mas_parent_gap()`: only writers, under
//!     the lock, read gaps);
//!   - any node: its parent pointer, when a new parent adopts it
//!     (`mas_adopt_children()` / `mas_set_parent()`).

use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasherDefault, Hasher};

/// A hasher for node addresses (256-aligned words): a multiply and a
/// shift, where SipHash would cost more than the rest of a lookup.
#[derive(Default)]
struct AddrHasher(u64);

impl Hasher for AddrHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 << 8 | u64::from(b)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
    }
    fn write_u64(&mut self, v: u64) {
        self.0 = (v >> 8).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}

type AddrMap<V> = HashMap<u64, V, BuildHasherDefault<AddrHasher>>;
type AddrSet = HashSet<u64, BuildHasherDefault<AddrHasher>>;

use super::import::NodeSource;
use super::node::{
    enode_addr, enode_type, safe_root, xa_is_node, NodeType, Store, GAP_BASE, NODE_WORDS,
};

/// One node of an [`RcuImage`].
#[derive(Clone, Debug)]
struct ImageNode {
    /// The encoded pointer the parent (or the root) holds.
    enode: u64,
    min: u64,
    max: u64,
    words: [u64; NODE_WORDS],
    /// The parent's address (0 for the root).
    parent: u64,
}

/// The nodes reachable from a tree's root, as a reader starting a walk now
/// could find them.
#[derive(Clone, Debug, Default)]
pub struct RcuImage {
    root: u64,
    nodes: AddrMap<ImageNode>,
}

/// Whether `w` is an encoded child pointer (address, node bit, type bits).
fn is_child(w: u64) -> bool {
    w >= super::node::MAPLE_RESERVED_RANGE && w & 0x87 == 0x04 && enode_type(w) != NodeType::Dense
}

/// `ma_data_end()` on raw words: the offset of the last slot in use.
fn data_end(words: &[u64; NODE_WORDS], ty: NodeType, max: u64) -> usize {
    let meta_end = (words[ty.meta_word()] & 0xFF) as usize;
    if ty == NodeType::Arange64 {
        return meta_end.min(ty.slots() - 1);
    }
    let last = words[ty.pivot_base() + ty.pivots() - 1];
    if last == 0 {
        meta_end.min(ty.slots() - 1)
    } else if last == max {
        ty.pivots() - 1
    } else {
        ty.pivots()
    }
}

/// Whether a node's parent word marks it dead (`ma_dead_node()`).
fn is_dead(addr: u64, words: &[u64; NODE_WORDS]) -> bool {
    enode_addr(words[0]) == addr
}

impl RcuImage {
    /// The nodes reachable from `root` (a tree's `ma_root`), read from
    /// `src`. The walk follows only child pointers to nodes `src` has, and
    /// each node once.
    pub fn capture(root: u64, src: &dyn NodeSource) -> RcuImage {
        let mut img = RcuImage {
            root,
            ..RcuImage::default()
        };
        if !xa_is_node(root) {
            return img;
        }
        img.walk(
            &mut vec![(safe_root(root), 0u64, u64::MAX, 0u64)],
            src,
            &mut |_, _, _, _| false,
        );
        img
    }

    /// Adds to the image the nodes reachable from `stack`'s entries
    /// (`enode`, its range, its parent's address), read from `src`; a node
    /// for which `keep` (address, range, parent) says so is not read nor
    /// descended into (it stands in the image already).
    fn walk(
        &mut self,
        stack: &mut Vec<(u64, u64, u64, u64)>,
        src: &dyn NodeSource,
        keep: &mut dyn FnMut(u64, u64, u64, u64) -> bool,
    ) {
        let mut seen = AddrSet::default();
        while let Some((enode, min, max, parent)) = stack.pop() {
            let addr = enode_addr(enode);
            if !seen.insert(addr) || seen.len() > 1 << 20 || keep(addr, min, max, parent) {
                continue;
            }
            let Some(words) = src.node(addr) else {
                continue;
            };
            self.nodes.insert(
                addr,
                ImageNode {
                    enode,
                    min,
                    max,
                    words,
                    parent,
                },
            );
            let ty = enode_type(enode);
            if ty.is_leaf() || ty == NodeType::Dense {
                continue;
            }
            let end = data_end(&words, ty, max);
            let mut lo = min;
            for i in 0..=end {
                let hi = if i < end && i < ty.pivots() {
                    words[ty.pivot_base() + i]
                } else {
                    max
                };
                let child = words[ty.slot_base() + i];
                if is_child(child) {
                    stack.push((child, lo, hi, addr));
                }
                lo = hi.wrapping_add(1);
            }
        }
    }

    /// How many nodes the image holds.
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    /// Whether the image holds no node.
    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    /// Checks one write against the copy-on-write contract (see the module
    /// documentation): `self` is the image before the write, `after` the
    /// image after it, `src` reads the nodes now (`None` for a freed node);
    /// no grace period may have ended in between. The error names the
    /// node, what changed and which rule it breaks.
    pub fn check_write(&self, after: &RcuImage, src: &dyn NodeSource) -> Result<(), String> {
        let reached = |a: u64| after.nodes.contains_key(&a);
        for n in self.nodes.values() {
            self.check_node(n, &reached, &|a| after.nodes.get(&a), src)?;
        }
        Ok(())
    }

    /// The contract for one node of the image: `reached` says whether an
    /// address is in the tree after the write, `after` gives such a node's
    /// image after it.
    fn check_node<'a>(
        &self,
        n: &ImageNode,
        reached: &dyn Fn(u64) -> bool,
        after: &dyn Fn(u64) -> Option<&'a ImageNode>,
        src: &dyn NodeSource,
    ) -> Result<(), String> {
        {
            let addr = enode_addr(n.enode);
            let ty = enode_type(n.enode);
            let what = || format!("{} node {addr:#x} [{:#x}, {:#x}]", ty.name(), n.min, n.max);
            let Some(now) = src.node(addr) else {
                return Err(format!(
                    "{} was reachable before the write and is freed before a grace period",
                    what()
                ));
            };
            match after(addr) {
                None if !is_dead(addr, &now) => {
                    return Err(format!(
                        "{} left the tree without being marked dead: a reader in it cannot tell",
                        what()
                    ));
                }
                None => {}
                Some(_) if is_dead(addr, &now) => {
                    return Err(format!("{} is marked dead but still in the tree", what()));
                }
                Some(a) => {
                    if let Err(why) = in_place(n, a, reached) {
                        return Err(format!(
                            "{} changed in place under readers: {why}; {}",
                            what(),
                            word_diff(ty, &n.words, &now)
                        ));
                    }
                }
            }
        }
        Ok(())
    }
}

impl RcuImage {
    /// The entries of the image's leaves, `(first, last, entry)` in
    /// order, NULL ranges included: of every leaf, or (`only`) of the
    /// leaves at those addresses.
    fn ranges(&self, only: Option<&mut dyn Iterator<Item = u64>>) -> Vec<(u64, u64, u64)> {
        if !xa_is_node(self.root) {
            let mut v = vec![(0, 0, self.root)];
            v.push((1, u64::MAX, 0));
            return v;
        }
        // The leaves in index order: each gives its ranges in order, so the
        // list is sorted without sorting it (unless the tree is not sound,
        // which the sort at the end mends).
        let mut leaves: Vec<&ImageNode> = match only {
            Some(addrs) => addrs.filter_map(|a| self.nodes.get(&a)).collect(),
            None => self.nodes.values().collect(),
        };
        leaves.retain(|n| enode_type(n.enode).is_leaf());
        leaves.sort_unstable_by_key(|n| (n.min, n.max, n.enode));
        let mut out = Vec::with_capacity(16 * leaves.len());
        for n in leaves {
            let ty = enode_type(n.enode);
            let end = data_end(&n.words, ty, n.max);
            let mut lo = n.min;
            for i in 0..=end {
                let hi = if i < end && i < ty.pivots() {
                    n.words[ty.pivot_base() + i]
                } else {
                    n.max
                };
                out.push((lo, hi, n.words[ty.slot_base() + i]));
                if hi == u64::MAX {
                    break;
                }
                lo = hi + 1;
            }
        }
        if out.windows(2).any(|w| w[0] > w[1]) {
            out.sort_unstable();
        }
        out
    }

    /// Checks what readers walking beside a write could see: `self` is the
    /// image before the write, `stores` the writer's stores in order
    /// ([`crate::MapleTree::take_store_journal`]), `after` the image after
    /// it. After each store that a reader could observe (to the root, or
    /// to a node of the image that is not dead), a reader's lookup
    /// (`mtree_range_walk()`: pivots up to the data end its metadata gives,
    /// then the dead-node test) of each index where the contents changed,
    /// and of the indices beside them, must find the value before the
    /// write or the value after it; a reader that meets a dead node
    /// restarts and is not judged. New nodes are read as they are after
    /// the write (a writer builds a node before publishing it).
    pub fn check_readers(&self, stores: &[Store], after: &RcuImage) -> Result<(), String> {
        let touched = self.touched(stores);
        let probes = self.probes(&touched, after);
        self.replay_readers(stores, after, &probes)
    }

    /// The nodes of the image that `stores` write or free.
    fn touched(&self, stores: &[Store]) -> AddrSet {
        stores
            .iter()
            .filter_map(|s| match s {
                Store::Word { addr, .. } | Store::Freed(addr) => Some(*addr),
                Store::Root(_) => None,
            })
            .filter(|a| self.nodes.contains_key(a))
            .collect()
    }

    /// The indices to look up for the reader check: only the leaves the
    /// write touched, or made, can hold changed ranges (the touched ones of
    /// the image before; the touched or new ones of `after`, which may hold
    /// just those).
    fn probes(&self, touched: &AddrSet, after: &RcuImage) -> Vec<u64> {
        if self.root == after.root || xa_is_node(self.root) && xa_is_node(after.root) {
            let mut after_leaves = after
                .nodes
                .keys()
                .copied()
                .filter(|a| touched.contains(a) || !self.nodes.contains_key(a));
            changed_indices(
                &self.ranges(Some(&mut touched.iter().copied())),
                &after.ranges(Some(&mut after_leaves)),
            )
        } else {
            changed_indices(&self.ranges(None), &after.ranges(None))
        }
    }

    /// The reader check's replay: after each store readers could observe,
    /// each of `probes` must read as before the write or as after it (the
    /// tree whose root is `after_root`, read from `now`).
    fn replay_readers(
        &self,
        stores: &[Store],
        after: &RcuImage,
        probes: &[u64],
    ) -> Result<(), String> {
        if probes.is_empty() {
            return Ok(());
        }
        let before_read = |a: u64| self.nodes.get(&a).map(|n| &n.words);
        // After the write: the nodes read again (all of them, or those of
        // the touched paths), the others as they were.
        let after_read = |a: u64| {
            after
                .nodes
                .get(&a)
                .or_else(|| self.nodes.get(&a))
                .map(|n| &n.words)
        };
        // The two values each probe may show: before the write and after.
        let expect: Vec<(Option<u64>, Option<u64>)> = probes
            .iter()
            .map(|&k| {
                (
                    reader_lookup(self.root, k, &before_read).ok().flatten(),
                    reader_lookup(after.root, k, &after_read).ok().flatten(),
                )
            })
            .collect();
        let mut shadow: AddrMap<[u64; NODE_WORDS]> = AddrMap::default();
        let mut root = self.root;
        for (n, st) in stores.iter().enumerate() {
            match *st {
                Store::Root(r) => root = r,
                // A free is the copy-on-write check's business.
                Store::Freed(_) => continue,
                Store::Word { addr, word, value } => {
                    let Some(n) = self.nodes.get(&addr) else {
                        continue;
                    };
                    let w = shadow.entry(addr).or_insert(n.words);
                    let was_dead = is_dead(addr, w);
                    w[word] = value;
                    // A lookup reads neither the parent pointer (a dead
                    // mark makes it restart, an adoption changes nothing
                    // it reads) nor the gaps.
                    let ty = enode_type(n.enode);
                    let gap = ty == NodeType::Arange64
                        && (GAP_BASE..GAP_BASE + ty.slots()).contains(&word);
                    if was_dead || word == 0 || gap {
                        continue;
                    }
                }
            }
            let read = |a: u64| {
                shadow
                    .get(&a)
                    .or_else(|| self.nodes.get(&a).map(|n| &n.words))
                    .or_else(|| after.nodes.get(&a).map(|n| &n.words))
            };
            for (&k, &(old, new)) in probes.iter().zip(&expect) {
                let Ok(seen) = reader_lookup(root, k, &read) else {
                    continue;
                };
                if seen != old && seen != new {
                    let what = match *st {
                        Store::Root(r) => format!("the root pointer became {r:#x}"),
                        Store::Freed(a) => format!("node {a:#x} was freed"),
                        Store::Word { addr, word, value } => {
                            format!("word {word} of node {addr:#x} became {value:#x}")
                        }
                    };
                    return Err(format!(
                        "after store {} of {} ({what}), a reader looking up {k:#x} finds \
                         {seen:#x?}; before the write it held {old:#x?}, after it {new:#x?}",
                        n + 1,
                        stores.len()
                    ));
                }
            }
        }
        Ok(())
    }

    /// For a writer that journals its stores (the port): the checks of
    /// [`check_write`](Self::check_write) and
    /// [`check_readers`](Self::check_readers) for the write `stores`
    /// made, at the cost of what it touched, and the image becomes the
    /// image after it. Only the nodes the write stored to or freed, their
    /// ancestors, and the nodes the tree reaches through them are read
    /// again; a subtree with none of those below it (and its range
    /// unchanged) stands as it was.
    pub fn advance(&mut self, stores: &[Store], now: &dyn NodeSource) -> Result<(), String> {
        let touched = self.touched(stores);
        let new_root = stores
            .iter()
            .rev()
            .find_map(|s| match s {
                Store::Root(r) => Some(*r),
                _ => None,
            })
            .unwrap_or(self.root);
        self.advance_touched(touched, new_root, now, Some(stores))
    }

    /// For a writer that does not journal its stores but can name the
    /// nodes it changed (the kernel engine, whose shim compares every live
    /// node with its copy: `changed` holds the nodes allocated, freed or
    /// written since the image was taken, in any order, and may name nodes
    /// outside the image): the checks of [`check_write`](Self::check_write)
    /// at the cost of what changed, and the image becomes the image after
    /// the write, `new_root` the tree's root now. Without the stores'
    /// order there is no reader replay; the end state is checked as
    /// [`check_write`](Self::check_write) checks it.
    pub fn advance_changed(
        &mut self,
        changed: &[u64],
        new_root: u64,
        now: &dyn NodeSource,
    ) -> Result<(), String> {
        let touched: AddrSet = changed
            .iter()
            .copied()
            .filter(|a| self.nodes.contains_key(a))
            .collect();
        self.advance_touched(touched, new_root, now, None)
    }

    /// The common part of [`advance`](Self::advance) and
    /// [`advance_changed`](Self::advance_changed): `touched` are the
    /// image's nodes the write stored to or freed; with `stores`, readers
    /// are replayed beside them.
    fn advance_touched(
        &mut self,
        touched: AddrSet,
        new_root: u64,
        now: &dyn NodeSource,
        stores: Option<&[Store]>,
    ) -> Result<(), String> {
        if touched.is_empty() && new_root == self.root {
            return Ok(());
        }
        // The touched nodes and their ancestors, and the old root node if
        // the root moved: every node whose subtree may have changed.
        let mut dirty = AddrSet::default();
        let mut seeds: Vec<u64> = touched.iter().copied().collect();
        if new_root != self.root && xa_is_node(self.root) {
            seeds.push(enode_addr(safe_root(self.root)));
        }
        for a in seeds {
            let mut x = a;
            while x != 0 && dirty.insert(x) {
                x = self.nodes.get(&x).map_or(0, |n| n.parent);
            }
        }
        // The tree after the write, but for the clean subtrees it reaches.
        let mut after = RcuImage {
            root: new_root,
            nodes: AddrMap::with_capacity_and_hasher(2 * dirty.len() + 8, Default::default()),
        };
        let mut kept: Vec<(u64, u64)> = Vec::new();
        if xa_is_node(new_root) {
            let nodes = &self.nodes;
            after.walk(
                &mut vec![(safe_root(new_root), 0, u64::MAX, 0)],
                now,
                &mut |addr, min, max, parent| {
                    let clean = !dirty.contains(&addr)
                        && nodes
                            .get(&addr)
                            .is_some_and(|n| (n.min, n.max) == (min, max));
                    if clean {
                        kept.push((addr, parent));
                    }
                    clean
                },
            );
        }
        let kept_set: AddrSet = kept.iter().map(|&(a, _)| a).collect();
        let reached = |a: u64| after.nodes.contains_key(&a) || kept_set.contains(&a);
        let after_node = |a: u64| after.nodes.get(&a);
        for &a in &dirty {
            let Some(n) = self.nodes.get(&a) else {
                continue;
            };
            self.check_node(n, &reached, &after_node, now)?;
            // A clean child of a changed node that the tree no longer
            // reaches left it unmarked (it was not written).
            let ty = enode_type(n.enode);
            if ty.is_leaf() || ty == NodeType::Dense {
                continue;
            }
            let end = data_end(&n.words, ty, n.max);
            for i in 0..=end {
                let c = n.words[ty.slot_base() + i];
                let ca = enode_addr(c);
                if is_child(c) && !dirty.contains(&ca) && !reached(ca) {
                    if let Some(cn) = self.nodes.get(&ca) {
                        self.check_node(cn, &reached, &after_node, now)?;
                    }
                }
            }
        }
        if let Some(stores) = stores {
            let probes = self.probes(&touched, &after);
            self.replay_readers(stores, &after, &probes)?;
        }
        // The image after: the clean subtrees stay, the rest is replaced.
        for a in &dirty {
            self.nodes.remove(a);
        }
        for (a, parent) in kept {
            if let Some(n) = self.nodes.get_mut(&a) {
                n.parent = parent;
            }
        }
        self.nodes.extend(after.nodes);
        self.root = new_root;
        Ok(())
    }
}

/// The indices where two range lists differ, and those beside them: the
/// first and last index of every range of either list that does not occur
/// in the other, plus one on each side, at most 64 of them.
fn changed_indices(a: &[(u64, u64, u64)], b: &[(u64, u64, u64)]) -> Vec<u64> {
    // Both lists are sorted: walk them side by side.
    let mut out: Vec<u64> = Vec::new();
    let (mut i, mut j) = (0, 0);
    let mut differs = |(lo, hi, _): (u64, u64, u64)| {
        out.extend([lo.saturating_sub(1), lo, hi, hi.saturating_add(1)]);
    };
    while i < a.len() || j < b.len() {
        match (a.get(i), b.get(j)) {
            (Some(x), Some(y)) if x == y => {
                i += 1;
                j += 1;
            }
            (Some(x), Some(y)) if x < y => {
                differs(*x);
                i += 1;
            }
            (Some(_), Some(y)) => {
                differs(*y);
                j += 1;
            }
            (Some(x), None) => {
                differs(*x);
                i += 1;
            }
            (None, Some(y)) => {
                differs(*y);
                j += 1;
            }
            (None, None) => break,
        }
    }
    out.sort_unstable();
    out.dedup();
    if out.len() > 64 {
        let step = out.len().div_ceil(64);
        out = out.into_iter().step_by(step).collect();
    }
    out
}

/// A reader's lookup of `index` from `root` over the nodes `read` gives,
/// as `mtree_range_walk()` does it: in each node, the pivots up to the data
/// end (from the node's metadata or its last pivot), then the slot, then
/// the dead-node test. `Err` when the reader meets a dead node (it would
/// restart) or a node that is not there.
fn reader_lookup<'a>(
    root: u64,
    index: u64,
    read: &dyn Fn(u64) -> Option<&'a [u64; NODE_WORDS]>,
) -> Result<Option<u64>, ()> {
    if !xa_is_node(root) {
        return Ok((index == 0 && root != 0).then_some(root));
    }
    let mut enode = safe_root(root);
    let mut max = u64::MAX;
    for _ in 0..64 {
        let addr = enode_addr(enode);
        let w = read(addr).ok_or(())?;
        let ty = enode_type(enode);
        let end = data_end(w, ty, max);
        let mut off = 0;
        while off < end && off < ty.pivots() && w[ty.pivot_base() + off] < index {
            off += 1;
        }
        if off < end && off < ty.pivots() {
            max = w[ty.pivot_base() + off];
        }
        let next = w[ty.slot_base() + off.min(ty.slots() - 1)];
        if is_dead(addr, w) {
            return Err(());
        }
        if ty.is_leaf() || ty == NodeType::Dense {
            return Ok((next != 0).then_some(next));
        }
        if !is_child(next) {
            // Not a node where a child should be: what the reader returns
            // when it takes the word for a leaf's entry.
            return Ok(Some(next));
        }
        enode = next;
    }
    Err(())
}

/// Whether the changes to a node that stayed in the tree are in-place writes
/// readers may see (the rules of the module documentation).
fn in_place(
    before: &ImageNode,
    now: &ImageNode,
    reached: &dyn Fn(u64) -> bool,
) -> Result<(), String> {
    let ty = enode_type(before.enode);
    let (b, w) = (&before.words, &now.words);
    if b == w {
        return Ok(());
    }
    let end_b = data_end(b, ty, before.max);
    let end_w = data_end(w, ty, now.max);
    if end_b != end_w {
        return Err(format!("its data end moved from {end_b} to {end_w}"));
    }
    let end = end_b;
    let pb = ty.pivot_base();
    let sb = ty.slot_base();
    let meta_is_word = ty == NodeType::Arange64 || end < ty.slots() - 1;
    let mut slots = Vec::new();
    let mut pivots = Vec::new();
    for k in 1..NODE_WORDS {
        if b[k] == w[k] {
            continue;
        }
        if k == ty.meta_word() && meta_is_word {
            // Only an allocation tree's gap slot may change.
            if ty == NodeType::Arange64 && (b[k] ^ w[k]) & !0xFF00 == 0 {
                continue;
            }
            return Err("its metadata changed".into());
        }
        if ty == NodeType::Arange64 && (GAP_BASE..GAP_BASE + ty.slots()).contains(&k) {
            continue;
        }
        if k >= sb && k < sb + ty.slots() {
            let i = k - sb;
            if i > end {
                return Err(format!("slot {i}, past the data end {end}, changed"));
            }
            slots.push(i);
        } else if k >= pb && k < pb + ty.pivots() {
            let i = k - pb;
            if i >= end {
                return Err(format!("pivot {i}, at or past the data end {end}, changed"));
            }
            pivots.push(i);
        } else {
            return Err(format!("word {k} changed"));
        }
    }
    if !ty.is_leaf() {
        if !pivots.is_empty() {
            return Err("an internal node's pivots changed (only a new node may)".into());
        }
        if slots.len() > 1 {
            return Err(format!(
                "{} child pointers changed in one write",
                slots.len()
            ));
        }
        if let Some(&i) = slots.first() {
            let (old, new) = (b[sb + i], w[sb + i]);
            let old_left = is_child(old) && !reached(enode_addr(old));
            if !old_left || !is_child(new) {
                return Err(format!(
                    "child {i} changed from {old:#x} to {new:#x}, not a replaced child \
                     swapped for a new node"
                ));
            }
        }
        return Ok(());
    }
    match (slots.as_slice(), pivots.as_slice()) {
        ([], []) | ([], [_]) | ([_], []) => Ok(()),
        ([s], [p]) if *s == *p || *s == *p + 1 => Ok(()),
        _ => Err(format!(
            "slots {slots:?} and pivots {pivots:?} changed: more than an exact fit or a \
             two-slot slot store"
        )),
    }
}

/// The words that changed, named by their role in a node of type `ty`.
fn word_diff(ty: NodeType, b: &[u64; NODE_WORDS], w: &[u64; NODE_WORDS]) -> String {
    let name = |k: usize| -> String {
        if k == 0 {
            "parent".into()
        } else if k == ty.meta_word() && ty == NodeType::Arange64 {
            "meta".into()
        } else if k >= ty.slot_base() && k < ty.slot_base() + ty.slots() {
            format!("slot {}", k - ty.slot_base())
        } else if k >= ty.pivot_base() && k < ty.pivot_base() + ty.pivots() {
            format!("pivot {}", k - ty.pivot_base())
        } else if ty == NodeType::Arange64 && k >= GAP_BASE && k < GAP_BASE + ty.slots() {
            format!("gap {}", k - GAP_BASE)
        } else {
            format!("word {k}")
        }
    };
    let parts: Vec<String> = (0..NODE_WORDS)
        .filter(|&k| b[k] != w[k])
        .map(|k| format!("{} {:#x} -> {:#x}", name(k), b[k], w[k]))
        .collect();
    format!("changed: {}", parts.join(", "))
}

#[cfg(test)]
mod tests {
    use super::super::{MapleTree, StoreType, MT_FLAGS_ALLOC_RANGE, MT_FLAGS_USE_RCU};
    use super::RcuImage;

    fn tree(flags: u32, n: u64) -> MapleTree {
        let mut t = MapleTree::with_flags(MT_FLAGS_USE_RCU | flags);
        for i in 0..n {
            t.store_range(10 * i, 10 * i + 5, Some(0x1000 + 8 * i))
                .unwrap();
        }
        t.hold_grace_periods(true);
        t
    }

    /// Runs `write` between two images and checks it; returns the check's
    /// verdict and the store types the write used.
    fn checked(
        t: &mut MapleTree,
        write: impl FnOnce(&mut MapleTree),
    ) -> (Result<(), String>, Vec<StoreType>) {
        let before_stats = *t.store_stats();
        let src = |a: u64| t.raw_node(a);
        let before = RcuImage::capture(t.raw_root(), &src);
        write(t);
        let src = |a: u64| t.raw_node(a);
        let after = RcuImage::capture(t.raw_root(), &src);
        let verdict = before.check_write(&after, &src);
        let used = StoreType::ALL
            .into_iter()
            .filter(|&ty| t.store_stats().get(ty) > before_stats.get(ty))
            .collect();
        t.rcu_barrier();
        (verdict, used)
    }

    #[test]
    fn each_allowed_in_place_write_passes() {
        // Exact fit: one slot rewritten in place.
        let mut t = tree(0, 100);
        let (v, used) = checked(&mut t, |t| t.store_range(20, 25, Some(0x7000)).unwrap());
        assert_eq!((v, used), (Ok(()), vec![StoreType::ExactFit]));
        // Two-slot slot store: a slot and the pivot between it and the next.
        let (v, used) = checked(&mut t, |t| t.store_range(30, 37, Some(0x7008)).unwrap());
        assert_eq!((v, used), (Ok(()), vec![StoreType::SlotStore]));
        // Node store (three slots to three, not a slot store in RCU mode):
        // a new leaf, the parent's child pointer replaced.
        let (v, used) = checked(&mut t, |t| t.store_range(41, 52, Some(0x7010)).unwrap());
        assert_eq!((v, used), (Ok(()), vec![StoreType::NodeStore]));
        // Split: new nodes up to a new parent, the siblings adopted.
        let (v, used) = checked(&mut t, |t| {
            for i in 0..8 {
                t.store_range(500 + 2 * i, 500 + 2 * i, Some(0x8000 + 8 * i))
                    .unwrap();
            }
        });
        assert_eq!(v, Ok(()));
        assert!(used.contains(&StoreType::SplitStore), "{used:?}");
        // A spanning store and its rebalance.
        let (v, used) = checked(&mut t, |t| t.store_range(100, 700, None).unwrap());
        assert_eq!(v, Ok(()));
        assert!(used.contains(&StoreType::SpanningStore), "{used:?}");
        // Destroy: every node dead, none freed yet.
        let (v, _) = checked(&mut t, |t| t.destroy());
        assert_eq!(v, Ok(()));
        assert_eq!(t.nodes_live(), 0);
    }

    #[test]
    fn gaps_change_in_place_in_an_allocation_tree() {
        let mut t = tree(MT_FLAGS_ALLOC_RANGE, 100);
        // An exact fit filling a NULL range updates the gaps above.
        let (v, used) = checked(&mut t, |t| t.store_range(206, 209, Some(0x10)).unwrap());
        assert_eq!((v, used), (Ok(()), vec![StoreType::ExactFit]));
        // And an exact fit back to NULL (merged with its NULL neighbours:
        // a node store).
        let (v, _) = checked(&mut t, |t| t.store_range(206, 209, None).unwrap());
        assert_eq!(v, Ok(()));
    }

    /// Planted disallowed writes: each trips the check.
    #[test]
    fn a_disallowed_write_trips_the_check() {
        let leaf_of = |t: &MapleTree, index: u64| -> u32 {
            let mut mas = super::super::state::Mas::new(index, index);
            super::super::state::mas_start(t, &mut mas);
            super::super::state::mtree_range_walk(t, &mut mas);
            super::super::node::enode_id(mas.node)
        };
        // An append done in place: a new slot after the end, the old last
        // pivot moved, the metadata end bumped.
        let mut t = tree(0, 100);
        let id = leaf_of(&t, 20);
        let (v, _) = checked(&mut t, |t| {
            let w = t.arena.words_mut(id);
            let end = (w[31] & 0xFF) as usize;
            w[16 + end + 1] = 0x7000;
            w[1 + end + 1] = w[1 + end];
            w[1 + end] -= 1;
            w[31] += 1;
        });
        let why = v.unwrap_err();
        assert!(why.contains("changed in place under readers"), "{why}");
        // A pivot moved with no slot beside it... in an internal node.
        let mut t = tree(0, 100);
        let root = super::super::node::enode_id(super::super::node::safe_root(t.raw_root()));
        let (v, _) = checked(&mut t, |t| t.arena.words_mut(root)[1] += 1);
        assert!(v.unwrap_err().contains("pivots changed"));
        // A replaced leaf freed before the grace period.
        let mut t = tree(0, 100);
        let id = leaf_of(&t, 20);
        let (v, _) = checked(&mut t, |t| {
            t.store_range(21, 22, Some(0x7000)).unwrap();
            t.arena.free(id);
            t.rcu.pending.clear();
        });
        assert!(v.unwrap_err().contains("freed before a grace period"));
        // A replaced leaf left live (not marked dead).
        let mut t = tree(0, 100);
        let id = leaf_of(&t, 20);
        let (v, _) = checked(&mut t, |t| {
            t.store_range(21, 22, Some(0x7000)).unwrap();
            let parent_word = t.arena.words(id)[0];
            t.arena.words_mut(id)[0] = parent_word ^ 0x100;
        });
        assert!(v.unwrap_err().contains("without being marked dead"));
    }

    /// Runs `write` with a store journal and checks what readers beside it
    /// could see.
    fn readers(
        t: &mut MapleTree,
        write: impl FnOnce(&mut MapleTree),
    ) -> (Result<(), String>, Vec<super::Store>) {
        let src = |a: u64| t.raw_node(a);
        let before = RcuImage::capture(t.raw_root(), &src);
        t.keep_store_journal(true);
        write(t);
        let stores = t.take_store_journal().unwrap();
        t.keep_store_journal(false);
        let src = |a: u64| t.raw_node(a);
        let after = RcuImage::capture(t.raw_root(), &src);
        let v = before.check_readers(&stores, &after);
        t.rcu_barrier();
        (v, stores)
    }

    #[test]
    fn readers_see_before_or_after_at_every_store() {
        let mut t = tree(0, 100);
        for (first, last, v) in [
            (20, 25, Some(0x7000)), // exact fit
            (30, 37, Some(0x7008)), // slot store
            (41, 52, Some(0x7010)), // node store
            (100, 700, None),       // spanning store
        ] {
            let (verdict, stores) = readers(&mut t, |t| t.store_range(first, last, v).unwrap());
            assert_eq!(verdict, Ok(()), "{first:#x}-{last:#x}");
            assert!(!stores.is_empty());
        }
        for i in 0..12 {
            let (verdict, _) = readers(&mut t, |t| {
                t.store_range(800 + 2 * i, 800 + 2 * i, Some(0x8000 + 8 * i))
                    .unwrap()
            });
            assert_eq!(verdict, Ok(()));
        }
        let (verdict, _) = readers(&mut t, |t| t.destroy());
        assert_eq!(verdict, Ok(()));
    }

    /// The slot store writes the slot, then the pivot (the kernel's
    /// mas_wr_slot_store() order); the other order shows a reader a value
    /// the index never held.
    #[test]
    fn a_slot_store_in_the_wrong_order_shows_readers_a_third_value() {
        let mut t = tree(0, 100);
        let (verdict, stores) = readers(&mut t, |t| t.store_range(30, 37, Some(0x7008)).unwrap());
        assert_eq!(verdict, Ok(()));
        let mut t = tree(0, 100);
        let src = |a: u64| t.raw_node(a);
        let before = RcuImage::capture(t.raw_root(), &src);
        t.store_range(30, 37, Some(0x7008)).unwrap();
        // The slot first, then the pivot: swap them.
        let pos = stores
            .windows(2)
            .position(|w| match (w[0], w[1]) {
                (
                    super::Store::Word {
                        addr: a, word: s, ..
                    },
                    super::Store::Word {
                        addr: b, word: p, ..
                    },
                ) => a == b && s >= 16 && (1..16).contains(&p),
                _ => false,
            })
            .expect("the slot store: a slot, then a pivot");
        let mut swapped = stores.clone();
        swapped.swap(pos, pos + 1);
        let src = |a: u64| t.raw_node(a);
        let after = RcuImage::capture(t.raw_root(), &src);
        assert_eq!(before.check_readers(&stores, &after), Ok(()));
        let why = before.check_readers(&swapped, &after).unwrap_err();
        assert!(why.contains("a reader looking up"), "{why}");
    }

    /// The image `advance()` keeps is the image a full capture takes, write
    /// after write, and the journal-driven check passes where the full one
    /// does.
    #[test]
    fn advancing_the_image_matches_a_full_capture() {
        use super::super::MT_FLAGS_ALLOC_RANGE;
        for flags in [0, MT_FLAGS_ALLOC_RANGE] {
            let mut t = tree(flags, 0);
            t.keep_store_journal(true);
            let src = |a: u64| t.raw_node(a);
            let mut img = RcuImage::capture(t.raw_root(), &src);
            // The same image advanced by the nodes changed alone, named
            // in another order and with addresses outside the image.
            let mut by_nodes = img.clone();
            let mut x: u64 = 0x9e37_79b9;
            for step in 0..3000u64 {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                let first = x % 4000;
                let len = (x >> 20) % if step % 7 == 0 { 400 } else { 12 };
                let value = ((x >> 40) % 3 != 0).then_some(0x1000 + 8 * (step % 100));
                if step % 997 == 996 {
                    t.destroy();
                } else {
                    t.store_range(first, first + len, value).unwrap();
                }
                let stores = t.take_store_journal().unwrap();
                let src = |a: u64| t.raw_node(a);
                let full = RcuImage::capture(t.raw_root(), &src);
                let before = img.clone();
                assert_eq!(before.check_write(&full, &src), Ok(()), "step {step}");
                assert_eq!(img.advance(&stores, &src), Ok(()), "step {step}");
                let mut changed: Vec<u64> = stores
                    .iter()
                    .filter_map(|s| match s {
                        super::Store::Word { addr, .. } | super::Store::Freed(addr) => Some(*addr),
                        super::Store::Root(_) => None,
                    })
                    .rev()
                    .collect();
                changed.extend([0x40, 0xdead_0000, !0xff]);
                assert_eq!(
                    by_nodes.advance_changed(&changed, t.raw_root(), &src),
                    Ok(()),
                    "step {step}"
                );
                for got in [&img, &by_nodes] {
                    assert_eq!(got.root, full.root, "step {step}");
                    assert_eq!(got.nodes.len(), full.nodes.len(), "step {step}");
                    for (a, n) in &full.nodes {
                        let m = &got.nodes[a];
                        assert_eq!(
                            (m.enode, m.min, m.max, m.words, m.parent),
                            (n.enode, n.min, n.max, n.words, n.parent),
                            "step {step}: node {a:#x}"
                        );
                    }
                }
                t.rcu_barrier();
            }
        }
    }
}
