// SPDX-License-Identifier: GPL-2.0-or-later
//! Raw node graphs in and out of the port's representation.
//!
//! The kernel engine's tree lives in C memory with real addresses. Because
//! the port keeps nodes in the kernel's exact 32-word layout, a C tree can
//! be copied node by node into a [`MapleTree`] (addresses renumbered), and
//! then the port's own `validate()` (every `mt_validate` check and the
//! stricter ones) and `dump()` run over the kernel's nodes unchanged.
//!
//! [`structure_diff`] compares two trees node by node: same shape, same
//! node types, same words (pivots, slots, gaps, metadata, parent slots),
//! with node pointers compared by position rather than by address. It is
//! how the harness shows exactly where the port stops being faithful.

use std::collections::HashMap;

use super::node::{
    addr_to_id, enode_type, safe_root, xa_is_node, NodeId, NodeType, MAPLE_NODE_MASK, NODE_WORDS,
    TREE_PARENT,
};
use super::{MapleTree, MAPLE_HEIGHT_MAX};

/// A source of raw nodes: the 32 words of the live node at an address, or
/// `None` if no live node is there.
pub trait NodeSource {
    /// The node at `addr` (256-aligned).
    fn node(&self, addr: u64) -> Option<[u64; NODE_WORDS]>;
}

impl<F: Fn(u64) -> Option<[u64; NODE_WORDS]>> NodeSource for F {
    fn node(&self, addr: u64) -> Option<[u64; NODE_WORDS]> {
        self(addr)
    }
}

/// Whether a slot word of an internal node is a child pointer (an encoded
/// node: a real address, the node-pointer bit, type bits, bit 7 clear)
/// rather than NULL or the metadata that shares the last slot.
fn is_child_word(w: u64) -> bool {
    w >= super::node::MAPLE_RESERVED_RANGE && w & 0x87 == 0x04
}

/// The id a pointer to no live node is renumbered to: never allocated in
/// an imported tree, so the port's checks report it as a bad pointer.
const DANGLING: NodeId = NodeId::MAX >> 1;

impl MapleTree {
    /// A tree copied from a foreign node graph: `root` and `flags` are the
    /// foreign `ma_root` and `ma_flags`, `tree_addr` the address root nodes'
    /// parent words point at, `src` reads the nodes. Node pointers are
    /// renumbered to the port's addresses; a pointer to nothing live
    /// becomes a pointer to a node that does not exist. The copy has no
    /// fixes, an empty pool and fresh counters.
    pub fn from_raw(root: u64, flags: u32, tree_addr: u64, src: &dyn NodeSource) -> MapleTree {
        let mut t = MapleTree {
            flags,
            ..MapleTree::default()
        };
        if !xa_is_node(root) {
            t.root = root;
            return t;
        }
        // First pass: find every node reachable through node pointers
        // (pre-order, each once) and give it an id.
        let mut ids: HashMap<u64, NodeId> = HashMap::new();
        let mut found: Vec<(u64, NodeType, [u64; NODE_WORDS])> = Vec::new();
        let mut stack = vec![(safe_root(root), 0usize)];
        while let Some((enode, depth)) = stack.pop() {
            let addr = enode & !MAPLE_NODE_MASK;
            if ids.contains_key(&addr) || depth > MAPLE_HEIGHT_MAX as usize {
                continue;
            }
            let Some(words) = src.node(addr) else {
                continue;
            };
            let ty = enode_type(enode);
            let id = t.arena.alloc().expect("a fresh arena does not fail");
            ids.insert(addr, id);
            if !ty.is_leaf() {
                let base = ty.slot_base();
                for i in (0..ty.slots()).rev() {
                    let w = words[base + i];
                    if is_child_word(w) {
                        stack.push((w, depth + 1));
                    }
                }
            }
            found.push((addr, ty, words));
        }
        let renumber = |w: u64| -> u64 {
            let id = ids
                .get(&(w & !MAPLE_NODE_MASK))
                .copied()
                .unwrap_or(DANGLING);
            super::node::node_addr(id) | (w & MAPLE_NODE_MASK)
        };
        // Second pass: copy the words with every pointer renumbered.
        for (addr, ty, mut words) in found {
            let id = ids[&addr];
            let parent = words[0];
            words[0] = if parent & !1 == tree_addr {
                TREE_PARENT
            } else {
                renumber(parent)
            };
            if !ty.is_leaf() {
                let base = ty.slot_base();
                for w in &mut words[base..base + ty.slots()] {
                    if is_child_word(*w) {
                        *w = renumber(*w);
                    }
                }
            }
            *t.arena.words_mut(id) = words;
        }
        t.root = renumber(root);
        t
    }

    /// Nodes reachable from the root.
    pub fn reachable_nodes(&self) -> u64 {
        self.node_accounting().1
    }
}

/// Where a word of a node sits, for reports.
fn word_name(ty: NodeType, i: usize) -> String {
    let pb = ty.pivot_base();
    let sb = ty.slot_base();
    if i == 0 {
        "parent".to_string()
    } else if i >= pb && i < pb + ty.pivots() {
        format!("pivot {}", i - pb)
    } else if i >= sb && i < sb + ty.slots() {
        format!("slot {}", i - sb)
    } else if ty == NodeType::Arange64 && i >= super::node::GAP_BASE && i < ty.meta_word() {
        format!("gap {}", i - super::node::GAP_BASE)
    } else if i == ty.meta_word() {
        "metadata".to_string()
    } else {
        format!("word {i}")
    }
}

/// The first structural difference between two trees, described, or
/// `None` when they have the same nodes: same shape and types, and every
/// word equal, node pointers compared by position (a child pointer must
/// lead to the corresponding child, a parent word to the node it hangs
/// from, with the same slot and type bits).
pub fn structure_diff(a: &MapleTree, b: &MapleTree) -> Option<String> {
    structure_diff_by(a, b, &|x, y| x == y)
}

/// [`structure_diff`] for trees whose entries differ by representation
/// (the same VMA is a pointer in one tree and a handle in the other):
/// entries (a leaf's slots, a root entry) are compared by `same_entry`,
/// which must also accept two equal words that are not entries (a leaf's
/// metadata shares its last slot).
pub fn structure_diff_by(
    a: &MapleTree,
    b: &MapleTree,
    same_entry: &dyn Fn(u64, u64) -> bool,
) -> Option<String> {
    if a.flags != b.flags {
        return Some(format!(
            "ma_flags differ: {:#x} and {:#x}",
            a.flags, b.flags
        ));
    }
    let (ra, rb) = (a.root, b.root);
    if xa_is_node(ra) != xa_is_node(rb) {
        return Some(format!(
            "root: {ra:#x} and {rb:#x} (one is a node, one is not)"
        ));
    }
    if !xa_is_node(ra) {
        return (!same_entry(ra, rb)).then(|| format!("root entry: {ra:#x} and {rb:#x}"));
    }
    if ra & MAPLE_NODE_MASK != rb & MAPLE_NODE_MASK {
        return Some(format!(
            "root pointer bits: {:#x} and {:#x}",
            ra & 0xff,
            rb & 0xff
        ));
    }
    // (enode in a, enode in b, parent enode in a and b, path from the root)
    let mut stack = vec![(safe_root(ra), safe_root(rb), None, String::from("root"))];
    let mut seen = 0usize;
    while let Some((ea, eb, parents, path)) = stack.pop() {
        seen += 1;
        if seen > 1 << 20 {
            return Some("more than 2^20 nodes (a cycle?)".to_string());
        }
        let (ia, ib) = match (addr_to_id(ea), addr_to_id(eb)) {
            (Some(x), Some(y)) if a.arena.is_allocated(x) && b.arena.is_allocated(y) => (x, y),
            _ => return Some(format!("{path}: a node pointer leads to no live node")),
        };
        let ty = enode_type(ea);
        if enode_type(eb) != ty {
            return Some(format!(
                "{path}: node types differ: {} and {}",
                ty.name(),
                enode_type(eb).name()
            ));
        }
        let (wa, wb) = (a.arena.words(ia), b.arena.words(ib));
        let in_slots = |i: usize| i >= ty.slot_base() && i < ty.slot_base() + ty.slots();
        let is_slot = |i: usize| !ty.is_leaf() && in_slots(i);
        let mut children = Vec::new();
        for i in 0..NODE_WORDS {
            let (x, y) = (wa[i], wb[i]);
            let same = if i == 0 {
                let canon = |w: u64, parent: Option<u64>| -> (u64, u8) {
                    let tag = if w & !1 == 0 || w == TREE_PARENT {
                        0
                    } else if parent.is_some_and(|p| w & !MAPLE_NODE_MASK == p & !MAPLE_NODE_MASK) {
                        1
                    } else {
                        2
                    };
                    (w & MAPLE_NODE_MASK, tag)
                };
                let (ca, cb) = (
                    canon(x, parents.map(|p: (u64, u64)| p.0)),
                    canon(y, parents.map(|p| p.1)),
                );
                ca == cb && ca.1 != 2
            } else if is_slot(i) && (is_child_word(x) || is_child_word(y)) {
                if is_child_word(x)
                    && is_child_word(y)
                    && x & MAPLE_NODE_MASK == y & MAPLE_NODE_MASK
                {
                    children.push((
                        x,
                        y,
                        Some((ea, eb)),
                        format!("{path}/{}", i - ty.slot_base()),
                    ));
                    true
                } else {
                    false
                }
            } else if ty.is_leaf() && in_slots(i) {
                same_entry(x, y)
            } else {
                x == y
            };
            if !same {
                return Some(format!(
                    "{path} ({}): {} differs: {x:#x} and {y:#x}",
                    ty.name(),
                    word_name(ty, i)
                ));
            }
        }
        stack.extend(children.into_iter().rev());
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(n: u64, flags: u32) -> MapleTree {
        let mut t = MapleTree::with_flags(flags);
        for i in 0..n {
            t.store_range(i * 10, i * 10 + 4, Some(2 * i + 1)).unwrap();
        }
        t
    }

    /// The port's own nodes, read as a foreign source.
    fn reimport(t: &MapleTree) -> MapleTree {
        let src = |addr: u64| {
            addr_to_id(addr)
                .filter(|&id| t.arena.is_allocated(id))
                .map(|id| *t.arena.words(id))
        };
        MapleTree::from_raw(t.root, t.flags, 0, &src)
    }

    #[test]
    fn a_reimported_tree_is_the_same_tree() {
        for (n, flags) in [
            (0, 0),
            (1, 0),
            (40, 0),
            (400, 0),
            (300, super::super::MT_FLAGS_ALLOC_RANGE),
        ] {
            let t = sample(n, flags);
            let c = reimport(&t);
            assert_eq!(structure_diff(&t, &c), None);
            c.validate().unwrap();
            assert_eq!(c.dump(), t.dump());
            assert_eq!(
                c.entries().collect::<Vec<_>>(),
                t.entries().collect::<Vec<_>>()
            );
            assert_eq!(c.reachable_nodes(), t.reachable_nodes());
        }
    }

    #[test]
    fn structure_diff_names_the_word() {
        let t = sample(400, 0);
        let mut c = reimport(&t);
        // Change one pivot of the last leaf: contents and shape differ there.
        let last = c.arena.live() as NodeId - 1;
        let ty = NodeType::Leaf64;
        c.arena.words_mut(last)[ty.pivot_base()] += 1;
        let d = structure_diff(&t, &c).expect("a difference");
        assert!(d.contains("pivot 0 differs"), "{d}");
        // A stale slot past the data end is a difference too.
        let mut c = reimport(&t);
        c.arena.words_mut(last)[ty.slot_base() + 14] = 0x4243;
        let d = structure_diff(&t, &c).expect("a difference");
        assert!(d.contains("slot 14 differs"), "{d}");
    }

    #[test]
    fn dangling_pointers_are_reported_not_followed() {
        let t = sample(400, 0);
        // Every node but the root's second child is readable.
        let hidden = addr_to_id(t.arena.slot(safe_root(t.root), 1)).unwrap();
        let src = |addr: u64| {
            addr_to_id(addr)
                .filter(|&id| t.arena.is_allocated(id) && id != hidden)
                .map(|id| *t.arena.words(id))
        };
        let c = MapleTree::from_raw(t.root, t.flags, 0, &src);
        assert!(c.validate().is_err());
        assert!(structure_diff(&t, &c).is_some());
    }
}
