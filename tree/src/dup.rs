// SPDX-License-Identifier: GPL-2.0-or-later
//! Duplicating a whole tree (`__mt_dup()` / `mtree_dup()`): the tree is
//! copied node by node in depth-first pre-order (`mas_dup_build()`), each
//! node a word-for-word copy of its source with only its parent word and
//! its child pointers renamed (`mas_copy_node()`, `mas_dup_alloc()`). If a
//! node allocation fails, the partly built copy is freed in the reverse
//! order of the build (`mas_dup_free()`).
//!
//! The copy has the same layout as the source: the same node types, pivots,
//! gaps, metadata and stale words, with node pointers leading to the
//! corresponding copies ([`structure_diff`](super::structure_diff) finds no
//! difference, [`dump`](MapleTree::dump) prints the same text). This is
//! what `dup_mmap()` builds a child's `mm_mt` from.
//!
//! ```
//! use maple_tree::{MapleTree, MT_FLAGS_ALLOC_RANGE};
//! let mut mt = MapleTree::with_flags(MT_FLAGS_ALLOC_RANGE);
//! for i in 0..100 {
//!     mt.store_range(i * 10, i * 10 + 5, Some(2 * i + 1)).unwrap();
//! }
//! let mut copy = mt.dup().unwrap();
//! assert_eq!(copy.dump(), mt.dump());
//! copy.store(3, Some(7)).unwrap();          // the copy is independent
//! assert_eq!(mt.load(3), Some(1));
//! ```

use super::node::{enode_addr, enode_id, enode_type, mk_node, mk_root, node_addr, MAPLE_NODE_MASK};
use super::state::{mas_ascend, mas_data_end, mas_descend, mas_start, Mas, Status};
use super::{Errno, MapleTree, MT_FLAGS_HEIGHT_MASK};

/// `mas_copy_node()`: the node under `new_mas` becomes a copy of the node
/// under `mas`, hanging from the node at address `parent` (0 for the root,
/// whose parent word keeps only the source's low bits until the build ends).
fn mas_copy_node(src: &MapleTree, mas: &Mas, new: &mut MapleTree, new_mas: &Mas, parent: u64) {
    let words = *src.arena.words(enode_id(mas.node));
    let id = enode_id(new_mas.node);
    new.arena.copy_node(id, &words);
    new.arena.words_mut(id)[0] = (words[0] & MAPLE_NODE_MASK) | parent;
}

/// `mas_dup_alloc()`: allocate the children of the internal node under
/// `new_mas` and point its slots at them, with the source's type bits. On
/// failure the slots that would have held them are zeroed and `mas` is set
/// to `ENOMEM`.
fn mas_dup_alloc(src: &MapleTree, mas: &mut Mas, new: &mut MapleTree, new_mas: &Mas) {
    let request = mas_data_end(&src.arena, mas) + 1;
    // mt_alloc_bulk(): the kernel's bulk slab allocation fills the whole
    // request or returns 0.
    let Some(ids) = new.arena.alloc_bulk(request) else {
        for i in 0..request {
            new.arena.set_slot(new_mas.node, i, 0);
        }
        mas.set_err(Errno::ENOMEM);
        return;
    };
    for (i, id) in ids.into_iter().enumerate() {
        let bits = src.arena.slot(mas.node, i) & MAPLE_NODE_MASK;
        new.arena.set_slot(new_mas.node, i, node_addr(id) | bits);
    }
}

/// `mas_dup_build()`: build `new` (empty, same attributes) as a copy of
/// `src` in depth-first pre-order. On failure `mas` holds the error and
/// `new_mas` the node the build stopped at (status none if the root node
/// could not be allocated).
fn mas_dup_build(src: &MapleTree, mas: &mut Mas, new: &mut MapleTree, new_mas: &mut Mas) {
    if src.attrs() != new.attrs() || !new.is_empty() {
        mas.set_err(Errno::EINVAL);
        return;
    }
    let mut root = mas_start(src, mas);
    if !(mas.is_ptr() || mas.is_none()) {
        let Some(node) = new.arena.alloc() else {
            new_mas.status = Status::None;
            mas.set_err(Errno::ENOMEM);
            return;
        };
        let r = mk_node(node, enode_type(mas.node));
        new_mas.node = r;
        new_mas.status = Status::Active;
        new_mas.min = 0;
        new_mas.max = u64::MAX;
        root = mk_root(r);
        let mut parent = 0u64;
        loop {
            mas_copy_node(src, mas, new, new_mas, parent);
            if !enode_type(mas.node).is_leaf() {
                mas_dup_alloc(src, mas, new, new_mas);
                if mas.is_err() {
                    return;
                }
            } else {
                // The last leaf: the copy is complete.
                if mas.max == u64::MAX {
                    break;
                }
                // Up to the first ancestor with a next subtree.
                loop {
                    mas_ascend(src, mas);
                    mas_ascend(new, new_mas);
                    if mas.offset != mas_data_end(&src.arena, mas) {
                        break;
                    }
                }
                mas.offset += 1;
                new_mas.offset += 1;
            }
            mas_descend(&src.arena, mas);
            parent = enode_addr(new_mas.node);
            mas_descend(&new.arena, new_mas);
            mas.offset = 0;
            new_mas.offset = 0;
        }
        // The root's parent word is the tree marker.
        let rid = enode_id(root);
        new.arena.words_mut(rid)[0] = super::node::TREE_PARENT;
    }
    // Same height, same attributes.
    new.flags = src.flags;
    new.root = root;
}

/// `mas_dup_free()`: free an incomplete copy, starting at the node the
/// build failed on (whose child slots were zeroed), in the reverse order of
/// the build: every subtree left of the path to it, bottom level first, then
/// the path itself.
fn mas_dup_free(new: &mut MapleTree, new_mas: &mut Mas) {
    if new_mas.is_none() {
        return;
    }
    while !new.arena.is_root(new_mas.node) {
        mas_ascend(new, new_mas);
        if new_mas.offset != 0 {
            new_mas.offset -= 1;
            loop {
                mas_descend(&new.arena, new_mas);
                new_mas.offset = mas_data_end(&new.arena, new_mas);
                if enode_type(new_mas.node).is_leaf() {
                    break;
                }
            }
            mas_ascend(new, new_mas);
        }
        let count = mas_data_end(&new.arena, new_mas) + 1;
        let mut ids = Vec::with_capacity(count);
        for i in 0..count {
            let w = new.arena.slot(new_mas.node, i) & !MAPLE_NODE_MASK;
            new.arena.set_slot(new_mas.node, i, w);
            ids.push(enode_id(w));
        }
        for id in ids {
            new.arena.free(id);
        }
    }
    new.arena.free(enode_id(new_mas.node));
}

impl MapleTree {
    /// `__mt_dup()`: make the empty tree `new` a copy of this one, node by
    /// node (`src/dup.rs` says how). The nodes come from `new`'s
    /// allocator, so its fault schedule applies: one allocation for the
    /// root node, then one all-or-nothing bulk per internal node for its
    /// children, in pre-order (as many allocations as the tree has nodes).
    ///
    /// `EINVAL` if the attributes differ ([`attrs`](Self::attrs)) or `new`
    /// is not empty; `ENOMEM` if an allocation fails, in which case every
    /// node of the partial copy has been freed and `new` is still empty.
    /// `new`'s fixes, counters and store statistics are its own.
    pub fn dup_into(&self, new: &mut MapleTree) -> Result<(), Errno> {
        let mut mas = Mas::new(0, 0);
        let mut new_mas = Mas::new(0, 0);
        mas_dup_build(self, &mut mas, new, &mut new_mas);
        if mas.is_err() {
            if mas.err == Errno::ENOMEM {
                mas_dup_free(new, &mut new_mas);
            }
            return Err(mas.err);
        }
        Ok(())
    }

    /// `mtree_dup()` into a fresh tree: a copy with the same attributes,
    /// height and fixes, its own allocator (no fault schedule) and zeroed
    /// store statistics. Fails only with `ENOMEM`, which needs a fault
    /// schedule; use [`dup_into`](Self::dup_into) with a tree that has one.
    pub fn dup(&self) -> Result<MapleTree, Errno> {
        let mut new = MapleTree::with_flags(self.flags & !MT_FLAGS_HEIGHT_MASK);
        new.fixes = self.fixes;
        self.dup_into(&mut new)?;
        Ok(new)
    }

    /// `mt_set_in_rcu()`: from now on, no node a reader may walk is
    /// modified in place.
    pub fn mt_set_in_rcu(&mut self) {
        self.flags |= super::MT_FLAGS_USE_RCU;
    }

    /// `mt_clear_in_rcu()`: nodes may be modified in place again (changes
    /// the store types some writes choose).
    pub fn mt_clear_in_rcu(&mut self) {
        self.flags &= !super::MT_FLAGS_USE_RCU;
    }
}

#[cfg(test)]
mod tests {
    use super::super::{structure_diff, FaultSchedule, MapleTree, MT_FLAGS_ALLOC_RANGE};
    use super::*;

    /// `j * 10 ..= j * 10 + 5` for `j < n`, as the kernel's check_mtree_dup.
    fn ranges(flags: u32, n: u64) -> MapleTree {
        let mut t = MapleTree::with_flags(flags);
        for j in 0..n {
            t.store_range(j * 10, j * 10 + 5, Some(2 * j + 1)).unwrap();
        }
        t
    }

    /// The shapes the tests copy: empty, a root entry, a single leaf,
    /// two and three levels, both flavours, and trees after erases.
    fn shapes() -> Vec<(String, MapleTree)> {
        let mut v = Vec::new();
        for flags in [0, MT_FLAGS_ALLOC_RANGE] {
            v.push((format!("empty/{flags}"), MapleTree::with_flags(flags)));
            let mut r = MapleTree::with_flags(flags);
            r.store(0, Some(0x11)).unwrap();
            v.push((format!("root entry/{flags}"), r));
            for n in [1, 5, 14, 40, 400, 3000] {
                v.push((format!("{n} ranges/{flags}"), ranges(flags, n)));
            }
            let mut e = ranges(flags, 1000);
            for j in (0..1000).step_by(3) {
                e.erase(j * 10);
            }
            for j in 200..700 {
                e.erase(j * 10);
            }
            v.push((format!("erased/{flags}"), e));
            let mut g = MapleTree::with_flags(flags);
            g.store_range(0, u64::MAX, Some(5)).unwrap();
            g.store_range(0x1000, 0x1fff, Some(7)).unwrap();
            v.push((format!("whole space/{flags}"), g));
        }
        v
    }

    /// Nodes a tree holds (what `__mt_dup` allocates).
    fn nodes(t: &MapleTree) -> u64 {
        t.node_accounting().1
    }

    #[test]
    fn a_copy_has_the_same_layout_and_validates() {
        for (name, t) in shapes() {
            let c = t.dup().unwrap_or_else(|e| panic!("{name}: {e:?}"));
            assert_eq!(structure_diff(&t, &c), None, "{name}");
            assert_eq!(c.dump(), t.dump(), "{name}");
            assert_eq!(c.flags, t.flags, "{name}: ma_flags (height) differ");
            c.validate().unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(
                c.entries().collect::<Vec<_>>(),
                t.entries().collect::<Vec<_>>(),
                "{name}"
            );
            assert_eq!(
                c.nodes_live(),
                nodes(&t),
                "{name}: one node per source node"
            );
            assert_eq!(c.node_accounting(), (nodes(&t), nodes(&t), 0), "{name}");
        }
    }

    #[test]
    fn several_levels_are_copied() {
        let t = ranges(MT_FLAGS_ALLOC_RANGE, 3000);
        assert!(t.tree_height() >= 3, "height {}", t.tree_height());
        let c = t.dup().unwrap();
        assert_eq!(c.tree_height(), t.tree_height());
        assert_eq!(structure_diff(&t, &c), None);
    }

    #[test]
    fn the_copy_is_independent() {
        for (name, t) in shapes() {
            let before = t.dump();
            let mut c = t.dup().unwrap();
            for j in 0..300u64 {
                c.store_range(j * 7 + 3, j * 7 + 4, Some(0x1001)).unwrap();
            }
            c.erase(10);
            c.validate().unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(t.dump(), before, "{name}: the source changed");
            t.validate().unwrap();
            let mut c2 = t.dup().unwrap();
            c.destroy();
            assert_eq!(c.nodes_live(), 0, "{name}");
            assert_eq!(t.dump(), before, "{name}");
            c2.destroy();
            assert_eq!(c2.nodes_live(), 0, "{name}");
        }
    }

    /// Every allocation of the copy fails in turn: ENOMEM, nothing leaked,
    /// the new tree still empty, the source untouched; one allocation past
    /// the last one the copy succeeds.
    #[test]
    fn a_failed_copy_frees_everything() {
        for (name, t) in shapes() {
            let before = t.dump();
            let n = nodes(&t);
            for k in 1..=n {
                let mut c = MapleTree::with_flags(t.attrs());
                c.set_fault_schedule(FaultSchedule::Nth(k));
                assert_eq!(
                    t.dup_into(&mut c),
                    Err(Errno::ENOMEM),
                    "{name}: fail at {k}"
                );
                assert_eq!(c.nodes_live(), 0, "{name}: fail at {k} leaked");
                assert!(c.is_empty(), "{name}: fail at {k}");
                assert_eq!(c.attrs(), t.attrs());
                assert_eq!(c.node_counters().failed, 1);
                assert_eq!(t.dump(), before, "{name}");
            }
            let mut c = MapleTree::with_flags(t.attrs());
            c.set_fault_schedule(FaultSchedule::Nth(n + 1));
            t.dup_into(&mut c).unwrap();
            assert_eq!(c.alloc_attempts(), n, "{name}: one allocation per node");
            assert_eq!(structure_diff(&t, &c), None, "{name}");
        }
    }

    /// check_mtree_dup's argument checks.
    #[test]
    fn different_attributes_or_a_non_empty_target_are_refused() {
        let t = ranges(0, 50);
        let mut other = MapleTree::with_flags(MT_FLAGS_ALLOC_RANGE);
        assert_eq!(t.dup_into(&mut other), Err(Errno::EINVAL));
        assert!(other.is_empty());
        let mut full = MapleTree::new();
        full.store(5, Some(5)).unwrap();
        assert_eq!(t.dup_into(&mut full), Err(Errno::EINVAL));
        assert_eq!(full.load(5), Some(5));
    }

    #[test]
    fn rcu_mode_is_copied_and_can_be_cleared() {
        let mut t = ranges(MT_FLAGS_ALLOC_RANGE | super::super::MT_FLAGS_USE_RCU, 100);
        let mut c = t.dup().unwrap();
        assert!(c.in_rcu());
        c.mt_clear_in_rcu();
        assert!(!c.in_rcu());
        c.mt_set_in_rcu();
        assert_eq!(c.flags, t.flags);
        t.mt_clear_in_rcu();
        assert!(!t.in_rcu());
    }
}
