// SPDX-License-Identifier: GPL-2.0-or-later
//! A text dump of the tree shaped like the kernel's `mt_dump(mt, mt_dump_hex)`
//! (`mt_dump_node`, `mt_dump_range64`, `mt_dump_arange64`, `mt_dump_entry`),
//! made canonical so that two implementations with different node addresses
//! print the same text for the same structure:
//!
//! * nodes are named `n0, n1, ...` in the order their lines are printed
//!   (pre-order, children in slot order), and a node pointer in a slot of an
//!   internal node prints as its name;
//! * a parent word prints as `tree` when it marks the root, else as the
//!   parent's name and the slot it records (`n3:7`);
//! * the tree's own address is left out of the first line.
//!
//! Everything else follows the kernel: the raw words of each node (so stale
//! slots, stale pivots and the metadata word show), the same walk over the
//! slots with the same stopping rules, and the same "last > max" complaint.
//! Entries print as `(nil)` or `0x...`; the kernel's special formats for
//! value and zero entries are not used.
//!
//! The dump also has to survive corrupt trees: a pointer that names no
//! allocated node prints as `bad node`, a node reached a second time is not
//! walked again, and the walk stops at the kernel's maximum height.

use std::collections::HashMap;
use std::fmt::Write;

use super::node::{
    addr_to_id, safe_root, xa_is_node, NodeArena, NodeId, GAP_BASE, MAPLE_ARANGE64_SLOTS,
    MAPLE_NODE_SLOTS, MAPLE_RANGE64_SLOTS, MA_ROOT_PARENT,
};
use super::{MapleTree, MAPLE_HEIGHT_MAX};

/// One step of the kernel's walk over a node's slots.
enum Step {
    /// A leaf entry (NULL included) covering `[first, last]`.
    Entry { first: u64, last: u64, entry: u64 },
    /// A non-NULL child of an internal node covering `[first, last]`.
    Child { first: u64, last: u64, enode: u64 },
    /// The kernel's `pr_err` about a pivot past the node's max.
    Overflow { last: u64, max: u64, pivot: usize },
}

/// The raw 4-bit type field of an encoded pointer (`mte_node_type`).
#[inline]
fn type_bits(enode: u64) -> u64 {
    (enode >> 3) & 0xF
}

/// The allocated node behind a pointer word, if there is one.
fn live_node(a: &NodeArena, word: u64) -> Option<NodeId> {
    addr_to_id(word).filter(|&id| a.is_allocated(id))
}

/// The slots of a leaf_64/range_64 (`mt_dump_range64`) or arange_64
/// (`mt_dump_arange64`) node, walked as the kernel walks them.
fn steps(w: &[u64; 32], bits: u64, min: u64, max: u64) -> Vec<Step> {
    let arange = bits == 3;
    let leaf = bits == 1;
    let (slots, slot_base) = if arange {
        (MAPLE_ARANGE64_SLOTS, 1 + MAPLE_ARANGE64_SLOTS - 1)
    } else {
        (MAPLE_RANGE64_SLOTS, 1 + MAPLE_RANGE64_SLOTS - 1)
    };
    let mut out = Vec::new();
    let mut first = min;
    for i in 0..slots {
        let slot = w[slot_base + i];
        let mut last = max;
        if i < slots - 1 {
            last = w[1 + i];
        } else if slot == 0 && (arange || max != u64::MAX) {
            // mt_node_max() is ULONG_MAX for every 64-bit range node type.
            break;
        }
        if last == 0 && i > 0 {
            break;
        }
        if leaf {
            out.push(Step::Entry {
                first,
                last,
                entry: slot,
            });
        } else if slot != 0 {
            out.push(Step::Child {
                first,
                last,
                enode: slot,
            });
        }
        if last == max {
            break;
        }
        if last > max {
            out.push(Step::Overflow {
                last,
                max,
                pivot: i,
            });
        }
        first = last.wrapping_add(1);
    }
    out
}

struct Dumper<'a> {
    a: &'a NodeArena,
    /// Node id -> its name number, in print order.
    names: HashMap<NodeId, usize>,
    out: String,
}

impl Dumper<'_> {
    /// First pass: name every node that will be printed, in print order.
    fn name_nodes(&mut self, enode: u64, min: u64, max: u64, depth: u32) {
        let Some(id) = live_node(self.a, enode) else {
            return;
        };
        if self.names.contains_key(&id) {
            return;
        }
        let k = self.names.len();
        self.names.insert(id, k);
        let bits = type_bits(enode);
        if !(1..=3).contains(&bits) || depth > MAPLE_HEIGHT_MAX {
            return;
        }
        let w = *self.a.words(id);
        for s in steps(&w, bits, min, max) {
            if let Step::Child { first, last, enode } = s {
                self.name_nodes(enode, first, last, depth + 1);
            }
        }
    }

    /// The name of the node at `word`'s address, if it has one.
    fn name_of(&self, word: u64) -> Option<usize> {
        addr_to_id(word).and_then(|id| self.names.get(&id).copied())
    }

    /// A slot word: NULL, a named child (internal nodes only), or raw hex.
    fn slot_word(&self, word: u64, internal: bool) -> String {
        if word == 0 {
            return "(nil)".to_string();
        }
        if internal && word & 0x87 == 0x04 {
            if let Some(k) = self.name_of(word) {
                return format!("n{k}");
            }
        }
        format!("{word:#x}")
    }

    /// A parent word: the tree marker, a named node and slot, or raw hex.
    fn parent_word(&self, word: u64) -> String {
        if word & MA_ROOT_PARENT != 0 {
            return "tree".to_string();
        }
        match self.name_of(word) {
            Some(k) => {
                // mte_parent_slot(): the 64-bit layout keeps the slot in
                // bits 3-7 when bit 1 is set, else in bits 2-7.
                let shift = if word & 0x2 != 0 { 3 } else { 2 };
                format!("n{k}:{}", (word & 0xFC) >> shift)
            }
            None => format!("{word:#x}"),
        }
    }

    /// `mt_dump_range()`: the indented range prefix.
    fn range(&mut self, min: u64, max: u64, depth: u32) {
        let indent = depth as usize * 2;
        if min == max {
            let _ = write!(self.out, "{:indent$}{min:x}: ", "");
        } else {
            let _ = write!(self.out, "{:indent$}{min:x}-{max:x}: ", "");
        }
    }

    /// `mt_dump_entry()`.
    fn entry(&mut self, entry: u64, min: u64, max: u64, depth: u32) {
        self.range(min, max, depth);
        if entry == 0 {
            self.out.push_str("(nil)\n");
        } else {
            let _ = writeln!(self.out, "{entry:#x}");
        }
    }

    /// `mt_dump_node()`.
    fn node(&mut self, enode: u64, min: u64, max: u64, depth: u32, seen: &mut Vec<bool>) {
        self.range(min, max, depth);
        let id = match live_node(self.a, enode) {
            Some(id) => id,
            None => {
                let _ = writeln!(self.out, "bad node {enode:#x}");
                return;
            }
        };
        let k = self.names[&id];
        if seen[k] {
            let _ = writeln!(self.out, "node n{k} again");
            return;
        }
        seen[k] = true;
        let bits = type_bits(enode);
        let w = *self.a.words(id);
        let _ = write!(
            self.out,
            "node n{k} depth {depth} type {bits} parent {}",
            self.parent_word(w[0])
        );
        match bits {
            0 => {
                // maple_dense: never built by the write paths; printed as the
                // kernel does, one entry per index at the node's own depth.
                self.out.push('\n');
                for i in 0..MAPLE_NODE_SLOTS {
                    let index = min.wrapping_add(i as u64);
                    if index > max {
                        self.out.push_str("OUT OF RANGE: ");
                    }
                    self.entry(w[1 + i], index, index, depth);
                }
            }
            1..=3 => {
                self.contents(&w, bits);
                if depth > MAPLE_HEIGHT_MAX {
                    let _ = writeln!(self.out, "node n{k} is deeper than the maximum height");
                    return;
                }
                for s in steps(&w, bits, min, max) {
                    match s {
                        Step::Entry { first, last, entry } => {
                            self.entry(entry, first, last, depth + 1)
                        }
                        Step::Child { first, last, enode } => {
                            self.node(enode, first, last, depth + 1, seen)
                        }
                        Step::Overflow { last, max, pivot } => {
                            let _ = writeln!(
                                self.out,
                                "node n{k} last ({last:x}) > max ({max:x}) at pivot {pivot}!"
                            );
                        }
                    }
                }
            }
            _ => self.out.push_str(" UNKNOWN TYPE\n"),
        }
    }

    /// The " contents: " part of a node line, raw words included.
    fn contents(&mut self, w: &[u64; 32], bits: u64) {
        let internal = bits != 1;
        let mut s = String::from(" contents: ");
        if bits == 3 {
            for i in 0..MAPLE_ARANGE64_SLOTS {
                let _ = write!(s, "{:x} ", w[GAP_BASE + i]);
            }
            let meta = w[GAP_BASE + MAPLE_ARANGE64_SLOTS];
            let _ = write!(s, "| {:02X} {:02X}| ", meta & 0xFF, (meta >> 8) & 0xFF);
            let base = 1 + MAPLE_ARANGE64_SLOTS - 1;
            for i in 0..MAPLE_ARANGE64_SLOTS - 1 {
                let _ = write!(
                    s,
                    "{} {:X} ",
                    self.slot_word(w[base + i], internal),
                    w[1 + i]
                );
            }
            let _ = writeln!(
                s,
                "{}",
                self.slot_word(w[base + MAPLE_ARANGE64_SLOTS - 1], internal)
            );
        } else {
            let base = 1 + MAPLE_RANGE64_SLOTS - 1;
            for i in 0..MAPLE_RANGE64_SLOTS - 1 {
                let _ = write!(
                    s,
                    "{} {:X} ",
                    self.slot_word(w[base + i], internal),
                    w[1 + i]
                );
            }
            let _ = writeln!(
                s,
                "{}",
                self.slot_word(w[base + MAPLE_RANGE64_SLOTS - 1], internal)
            );
        }
        self.out.push_str(&s);
    }
}

/// `mt_dump(mt, mt_dump_hex)`, canonicalised (see the module documentation).
pub(crate) fn dump(t: &MapleTree) -> String {
    let mut d = Dumper {
        a: &t.arena,
        names: HashMap::new(),
        out: String::new(),
    };
    let root = t.root;
    let node_root = xa_is_node(root);
    let enode = safe_root(root);
    // mt_node_max(): ULONG_MAX for the range types, the slot count for dense.
    let max = if type_bits(enode) == 0 {
        MAPLE_NODE_SLOTS as u64
    } else {
        u64::MAX
    };
    if node_root {
        d.name_nodes(enode, 0, max, 0);
    }
    let r = if root == 0 {
        "(nil)".to_string()
    } else if node_root && live_node(d.a, enode).is_some() {
        "n0".to_string()
    } else {
        format!("{root:#x}")
    };
    let _ = writeln!(
        d.out,
        "maple_tree flags {:X}, height {} root {r}",
        t.flags,
        t.height()
    );
    if node_root {
        let mut seen = vec![false; d.names.len()];
        d.node(enode, 0, max, 0, &mut seen);
    } else if root != 0 {
        d.entry(root, 0, 0, 0);
    }
    d.out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::MT_FLAGS_ALLOC_RANGE;

    #[test]
    fn empty_tree() {
        let t = MapleTree::new();
        assert_eq!(dump(&t), "maple_tree flags 0, height 0 root (nil)\n");
        let t = MapleTree::with_flags(MT_FLAGS_ALLOC_RANGE);
        assert_eq!(dump(&t), "maple_tree flags 1, height 0 root (nil)\n");
    }

    #[test]
    fn root_entry() {
        let mut t = MapleTree::new();
        t.store(0, Some(0x51)).unwrap();
        assert_eq!(
            dump(&t),
            "maple_tree flags 0, height 0 root 0x51\n\
             0: 0x51\n"
        );
    }

    #[test]
    fn one_leaf() {
        let mut t = MapleTree::new();
        t.store_range(10, 19, Some(0x11)).unwrap();
        t.store_range(30, 39, Some(0x21)).unwrap();
        let expected = concat!(
            "maple_tree flags 4, height 1 root n0\n",
            "0-ffffffffffffffff: node n0 depth 0 type 1 parent tree contents: ",
            "(nil) 9 0x11 13 (nil) 1D 0x21 27 (nil) FFFFFFFFFFFFFFFF ",
            "(nil) 0 (nil) 0 (nil) 0 (nil) 0 (nil) 0 (nil) 0 (nil) 0 (nil) 0 (nil) 0 (nil) 0 ",
            "0x4\n",
            "  0-9: (nil)\n",
            "  a-13: 0x11\n",
            "  14-1d: (nil)\n",
            "  1e-27: 0x21\n",
            "  28-ffffffffffffffff: (nil)\n",
        );
        assert_eq!(dump(&t), expected);
        assert_eq!(t.dump(), expected);
    }

    #[test]
    fn single_index_ranges_print_one_number() {
        let mut t = MapleTree::new();
        t.store(5, Some(0x31)).unwrap();
        let d = dump(&t);
        assert!(d.contains("\n  5: 0x31\n"), "{d}");
        assert!(d.contains("\n  0-4: (nil)\n"), "{d}");
    }

    /// Checks the structure shared by every dump of a node tree: node lines
    /// named in order, each once, children referenced by name in their
    /// parent's contents, and parents named back.
    fn check_node_lines(d: &str, nodes_expected: usize) {
        let node_lines: Vec<&str> = d.lines().filter(|l| l.contains(": node n")).collect();
        assert_eq!(node_lines.len(), nodes_expected, "{d}");
        for (k, l) in node_lines.iter().enumerate() {
            let tag = format!(": node n{k} depth ");
            assert!(l.contains(&tag), "line {k} is not n{k}: {l}");
            assert_eq!(d.matches(&tag).count(), 1, "n{k} printed more than once");
            if k == 0 {
                assert!(l.contains(" parent tree contents: "), "{l}");
            } else {
                let p = l.split(" parent n").nth(1).expect("a named parent");
                let (pk, rest) = p.split_once(':').unwrap();
                let pk: usize = pk.parse().unwrap();
                let slot: usize = rest.split_once(' ').unwrap().0.parse().unwrap();
                assert!(pk < k);
                // The parent's contents name this node in that slot.
                let contents = node_lines[pk].split(" contents: ").nth(1).unwrap();
                let words: Vec<&str> = contents.split(' ').collect();
                let first_slot = if node_lines[pk].contains(" type 3 ") {
                    13
                } else {
                    0
                };
                assert_eq!(words[first_slot + 2 * slot], format!("n{k}"), "{l}");
            }
        }
    }

    #[test]
    fn two_level_tree() {
        let mut t = MapleTree::new();
        for i in 0..40u64 {
            t.store_range(i * 10, i * 10 + 5, Some((i << 4) | 1))
                .unwrap();
        }
        assert_eq!(t.height(), 2);
        let d = dump(&t);
        let lines: Vec<&str> = d.lines().collect();
        assert_eq!(lines[0], "maple_tree flags 8, height 2 root n0");
        assert!(
            lines[1].starts_with(
                "0-ffffffffffffffff: node n0 depth 0 type 2 parent tree contents: n1 "
            ),
            "{}",
            lines[1]
        );
        assert!(lines[2].starts_with("  0-"), "{}", lines[2]);
        assert!(lines[2].contains(": node n1 depth 1 type 1 parent n0:0 contents: "));
        assert_eq!(lines[3], "    0-5: 0x1");
        assert_eq!(lines[4], "    6-9: (nil)");
        let live = t.arena.live() as usize;
        check_node_lines(&d, live);
        // Every entry is printed once, at leaf depth.
        for i in 0..40u64 {
            let line = format!("\n    {:x}-{:x}: {:#x}\n", i * 10, i * 10 + 5, (i << 4) | 1);
            assert_eq!(d.matches(&line).count(), 1, "{line}");
        }
    }

    #[test]
    fn allocation_tree_prints_gaps_and_metadata() {
        let mut t = MapleTree::with_flags(MT_FLAGS_ALLOC_RANGE);
        for i in 0..200u64 {
            t.store_range(i * 10, i * 10 + 5, Some((i << 4) | 1))
                .unwrap();
        }
        let d = dump(&t);
        let lines: Vec<&str> = d.lines().collect();
        assert!(lines[0].starts_with("maple_tree flags "));
        assert!(lines[1].contains(" node n0 depth 0 type 3 parent tree contents: "));
        assert!(lines[1].contains("| "), "{}", lines[1]);
        check_node_lines(&d, t.arena.live() as usize);
    }

    #[test]
    fn identical_structure_prints_identically() {
        // The same stores in trees whose nodes sit at different addresses.
        let mut a = MapleTree::new();
        let mut b = MapleTree::new();
        for _ in 0..7 {
            b.arena.alloc().unwrap();
        }
        for i in 0..300u64 {
            a.store_range(i * 3, i * 3 + 1, Some((i << 4) | 1)).unwrap();
            b.store_range(i * 3, i * 3 + 1, Some((i << 4) | 1)).unwrap();
        }
        assert_eq!(dump(&a), dump(&b));
    }

    #[test]
    fn pivot_past_max_is_reported() {
        let mut t = MapleTree::new();
        for i in 0..40u64 {
            t.store_range(i * 10, i * 10 + 5, Some((i << 4) | 1))
                .unwrap();
        }
        let root = safe_root(t.root);
        let leaf = t.arena.slot(root, 0);
        let lmax = t.arena.pivot(root, 0);
        // Make pivot 0 of the first leaf point past the leaf's max.
        t.arena.set_pivot(leaf, 0, lmax + 1);
        let d = dump(&t);
        let want = format!(
            "node n1 last ({:x}) > max ({lmax:x}) at pivot 0!\n",
            lmax + 1
        );
        assert!(d.contains(&want), "{d}");
    }

    #[test]
    fn corrupt_child_pointers_do_not_crash() {
        let mut t = MapleTree::new();
        for i in 0..40u64 {
            t.store_range(i * 10, i * 10 + 5, Some((i << 4) | 1))
                .unwrap();
        }
        let root = safe_root(t.root);
        let first = t.arena.slot(root, 0);
        t.arena.set_slot(root, 1, first);
        t.arena.set_slot(root, 2, 0x35);
        let d = dump(&t);
        assert!(d.contains(": node n1 again\n"), "{d}");
        assert!(d.contains(": bad node 0x35\n"), "{d}");
    }
}
