//! Tests of `tree/src/validate/`.

use super::*;
use crate::node::MAPLE_RANGE64_SLOTS;
use crate::MT_FLAGS_ALLOC_RANGE;

/// A storable entry: non-zero, low bits `01`.
fn val(i: u64) -> u64 {
    (i << 4) | 1
}

/// `n` ranges of 10 indices, back to back.
fn build_dense(flags: u32, n: u64) -> MapleTree {
    let mut t = MapleTree::with_flags(flags);
    for i in 0..n {
        t.store_range(i * 10, i * 10 + 9, Some(val(i))).unwrap();
    }
    t
}

/// `n` ranges of 8 indices with a hole of 8 after each, so that leaves
/// alternate entries and NULLs.
fn build(flags: u32, n: u64) -> MapleTree {
    let mut t = MapleTree::with_flags(flags);
    for i in 0..n {
        t.store_range(i * 16, i * 16 + 7, Some(val(i))).unwrap();
    }
    t
}

type Node = (u64, u64, u64, u32);

/// Every node of the tree as (encoded pointer, min, max, depth), top-down.
fn nodes(t: &MapleTree) -> Vec<Node> {
    fn rec(t: &MapleTree, e: u64, min: u64, max: u64, d: u32, out: &mut Vec<Node>) {
        out.push((e, min, max, d));
        let ty = enode_type(e);
        if ty.is_leaf() {
            return;
        }
        let end = t.arena.data_end(e, max);
        let mut start = min;
        for i in 0..=end {
            let stop = if i < ty.pivots() {
                t.arena.pivot(e, i)
            } else {
                max
            };
            rec(t, t.arena.slot(e, i), start, stop, d + 1, out);
            start = stop.wrapping_add(1);
        }
    }
    let mut out = Vec::new();
    rec(t, safe_root(t.root), 0, u64::MAX, 1, &mut out);
    out
}

fn leaves(t: &MapleTree) -> Vec<Node> {
    nodes(t)
        .into_iter()
        .filter(|n| enode_type(n.0).is_leaf())
        .collect()
}

/// The index of a leaf that is neither the left-most nor the right-most
/// and has room past its end, in `leaves(t)`.
fn middle_leaf_index(t: &MapleTree) -> usize {
    let l = leaves(t);
    assert!(l.len() >= 3);
    (1..l.len() - 1)
        .find(|&i| t.arena.data_end(l[i].0, l[i].2) < MAPLE_RANGE64_SLOTS - 3)
        .expect("a leaf with room")
}

/// The node whose slot holds `enode`.
fn parent_of(t: &MapleTree, enode: u64) -> Node {
    let all = nodes(t);
    let p = all
        .iter()
        .position(|n| n.0 == enode)
        .and_then(|k| all[..k].iter().rev().find(|n| n.3 + 1 == all[k].3))
        .expect("a parent");
    *p
}

fn middle_leaf(t: &MapleTree) -> Node {
    leaves(t)[middle_leaf_index(t)]
}

/// Asserts that validation fails with `inv` at the node `(enode, min,
/// max)` (or at no node), and that the message names it.
fn expect(t: &MapleTree, inv: Invariant, node: Option<(u64, u64, u64)>) -> ValidationError {
    let e = t.validate().expect_err("the corruption must be found");
    assert_eq!(e.invariant, inv, "{e}");
    let text = e.to_string();
    assert!(text.contains(inv.name()), "{text}");
    match node {
        Some((enode, min, max)) => {
            let n = e.node.expect("a node");
            assert_eq!((n.addr, n.min, n.max), (enode_addr(enode), min, max), "{e}");
            assert!(text.contains(&format!("[{min:#x}, {max:#x}]")), "{text}");
            assert!(
                text.contains(&format!("node {:#x} ", enode_addr(enode))),
                "{text}"
            );
        }
        None => assert!(e.node.is_none(), "{e}"),
    }
    e
}

#[test]
fn valid_trees_of_height_1_2_3() {
    for (n, h) in [(10, 1), (200, 2), (3000, 3)] {
        let t = build_dense(0, n);
        assert_eq!(t.height(), h, "{n} ranges");
        t.validate().unwrap();
        let t = build_dense(MT_FLAGS_ALLOC_RANGE, n);
        t.validate().unwrap();
        for flags in [0, MT_FLAGS_ALLOC_RANGE] {
            let t = build(flags, n);
            assert!(t.height() >= h);
            t.validate().unwrap();
        }
    }
}

#[test]
fn empty_and_root_entry_trees() {
    let mut t = MapleTree::new();
    t.validate().unwrap();
    t.store(0, Some(0x11)).unwrap();
    assert!(!xa_is_node(t.root));
    t.validate().unwrap();
    t.root = 0x402;
    expect(&t, Invariant::RootEntry, None);
}

#[test]
fn erase_and_overwrite_keep_trees_valid() {
    for flags in [0, MT_FLAGS_ALLOC_RANGE] {
        let mut t = build(flags, 3000);
        for i in (0..3000).step_by(3) {
            t.erase(i * 16);
            t.validate().unwrap();
        }
        t.store_range(1000, 30000, Some(val(7))).unwrap();
        t.validate().unwrap();
        t.store_range(0, 40000, None).unwrap();
        t.validate().unwrap();
        t.store_range(0, u64::MAX, None).unwrap();
        t.validate().unwrap();
    }
}

#[test]
fn display_names_node_and_invariant() {
    let e = ValidationError {
        invariant: Invariant::StaleSlot,
        node: Some(NodeRef {
            addr: 0x1400,
            ty: NodeType::Leaf64,
            min: 0x1000,
            max: 0x1fff,
            depth: 2,
        }),
        detail: "slot 7 holds 0x35 (data end 5)".into(),
    };
    assert_eq!(
        e.to_string(),
        "leaf_64 node 0x1400 [0x1000, 0x1fff] depth 2: stale slot past data end: \
         slot 7 holds 0x35 (data end 5)"
    );
}

#[test]
fn a_stale_slot_past_the_end() {
    let mut t = build(0, 200);
    let (leaf, min, max, _) = middle_leaf(&t);
    let end = t.arena.data_end(leaf, max);
    t.arena.set_slot(leaf, end + 2, 0x35);
    let e = expect(&t, Invariant::StaleSlot, Some((leaf, min, max)));
    assert!(
        e.detail.contains(&format!("slot {} holds 0x35", end + 2)),
        "{e}"
    );
}

#[test]
fn a_stale_bits_in_slot_15_beyond_the_metadata() {
    let mut t = build(0, 200);
    let (leaf, min, max, _) = middle_leaf(&t);
    let w = t.arena.slot(leaf, 15);
    t.arena.set_slot(leaf, 15, w | 0x1_0000);
    expect(&t, Invariant::StaleSlot, Some((leaf, min, max)));
}

#[test]
fn b_stale_pivot_past_the_end() {
    let mut t = build(0, 200);
    let (leaf, min, max, _) = middle_leaf(&t);
    let end = t.arena.data_end(leaf, max);
    t.arena.set_pivot(leaf, end + 2, 0x1234);
    let e = expect(&t, Invariant::StalePivot, Some((leaf, min, max)));
    assert!(e.detail.contains("0x1234"), "{e}");
}

#[test]
fn b_meta_end_disagrees() {
    // A full-but-one leaf (end 14) keeps its end in the metadata too.
    let mut t = MapleTree::new();
    for i in 0..14 {
        t.store_range(i * 10, i * 10 + 9, Some(val(i))).unwrap();
    }
    let root = safe_root(t.root);
    assert_eq!(t.arena.data_end(root, u64::MAX), 14);
    t.validate().unwrap();
    t.arena.set_meta(root, 0, 13);
    expect(&t, Invariant::MetaEnd, Some((root, 0, u64::MAX)));
}

#[test]
fn c_wrong_parent_slot_in_a_child() {
    let mut t = build(0, 200);
    let (leaf, min, max, _) = middle_leaf(&t);
    let pw = t.arena.parent_word(leaf);
    let slot = t.arena.parent_slot(leaf) as u64;
    let other = if slot == 0 { 1 } else { slot - 1 };
    t.arena
        .set_parent_word(leaf, (pw & !0xF8) | (other << MAPLE_PARENT_SLOT_SHIFT));
    let e = expect(&t, Invariant::ChildSlot, Some((leaf, min, max)));
    assert!(e.detail.contains(&format!("says slot {other}")), "{e}");
}

#[test]
fn d_under_full_leaf() {
    let mut t = build(0, 200);
    let (leaf, min, max, _) = middle_leaf(&t);
    assert!(t.arena.data_end(leaf, max) >= 6);
    // Keep slots 0..=4 and end the node at slot 5, which ends at the max.
    for i in 6..15 {
        t.arena.set_pivot(leaf, i, 0);
    }
    for i in 6..16 {
        t.arena.set_slot(leaf, i, 0);
    }
    t.arena.set_pivot(leaf, 5, max);
    t.arena.set_slot(leaf, 5, val(99));
    t.arena.set_meta(leaf, 0, 5);
    let e = expect(&t, Invariant::MinOccupancy, Some((leaf, min, max)));
    assert!(e.detail.contains("data end 5"), "{e}");
}

#[test]
fn d_under_full_right_most_leaf_is_exempt() {
    let mut t = build(0, 200);
    let (leaf, _, max, _) = *leaves(&t).last().unwrap();
    assert_eq!(max, u64::MAX);
    assert!(t.arena.data_end(leaf, max) >= 2);
    // Shrink to two slots: [min, pivot 0] and [pivot 0 + 1, max].
    for i in 1..15 {
        t.arena.set_pivot(leaf, i, 0);
    }
    for i in 2..16 {
        t.arena.set_slot(leaf, i, 0);
    }
    t.arena.set_pivot(leaf, 1, max);
    t.arena.set_slot(leaf, 1, val(98));
    t.arena.set_meta(leaf, 0, 1);
    t.validate().unwrap();
}

#[test]
fn e_leaked_node() {
    let mut t = build(0, 200);
    let live = t.arena.live();
    let _ = t.arena.alloc().unwrap();
    let e = expect(&t, Invariant::Leak, None);
    assert!(
        e.detail.contains(&format!("{} nodes allocated", live + 1)),
        "{e}"
    );
    assert!(e.detail.contains(&format!("{live} reachable")), "{e}");
    assert!(e.detail.contains("0 pooled"), "{e}");
    assert!(e.to_string().starts_with("tree: node accounting: "), "{e}");
}

#[test]
fn f_adjacent_nulls() {
    let mut t = build(0, 200);
    let (leaf, min, max, _) = middle_leaf(&t);
    let end = t.arena.data_end(leaf, max);
    // Clear an entry that is followed by a NULL inside the node.
    let i = (0..end)
        .find(|&i| t.arena.slot(leaf, i) != 0 && t.arena.slot(leaf, i + 1) == 0)
        .unwrap();
    t.arena.set_slot(leaf, i, 0);
    let e = expect(&t, Invariant::AdjacentNulls, Some((leaf, min, max)));
    // Holes and entries alternate: the cleared slot follows a NULL too,
    // unless it is slot 0 (then the previous leaf ends in an entry).
    let first = if i == 0 { 1 } else { i };
    assert!(e.detail.contains(&format!("slot {first} is NULL")), "{e}");
}

#[test]
fn f_adjacent_nulls_across_leaves() {
    let mut t = build(0, 200);
    let k = middle_leaf_index(&t);
    let l = leaves(&t);
    let (leaf, _, max, _) = l[k];
    let (next, nmin, nmax, _) = l[k + 1];
    let end = t.arena.data_end(leaf, max);
    assert_eq!(
        t.arena.slot(next, 0),
        0,
        "the hole after the leaf's last entry"
    );
    t.arena.set_slot(leaf, end - 1, val(77));
    t.arena.set_slot(leaf, end, 0);
    let e = expect(&t, Invariant::AdjacentNulls, Some((next, nmin, nmax)));
    assert!(e.detail.contains("previous leaf"), "{e}");
}

#[test]
fn trailing_null_in_a_middle_leaf() {
    let mut t = build(0, 200);
    let k = middle_leaf_index(&t);
    let l = leaves(&t);
    let (leaf, min, max, _) = l[k];
    let next = l[k + 1].0;
    let end = t.arena.data_end(leaf, max);
    t.arena.set_slot(leaf, end - 1, val(77));
    t.arena.set_slot(leaf, end, 0);
    t.arena.set_slot(next, 0, val(78));
    expect(&t, Invariant::TrailingNull, Some((leaf, min, max)));
}

#[test]
fn g_decreasing_pivots() {
    let mut t = build(0, 200);
    let (leaf, min, max, _) = middle_leaf(&t);
    let p1 = t.arena.pivot(leaf, 1);
    t.arena.set_pivot(leaf, 2, p1 - 1);
    let e = expect(&t, Invariant::PivotOrder, Some((leaf, min, max)));
    assert!(e.detail.contains("below"), "{e}");
    // Equal pivots: the kernel lets them pass, this validator does not.
    t.arena.set_pivot(leaf, 2, p1);
    let e = expect(&t, Invariant::PivotOrder, Some((leaf, min, max)));
    assert!(e.detail.contains("equal"), "{e}");
}

#[test]
fn h_child_pointer_to_another_parents_node() {
    let mut t = build_dense(0, 3000);
    assert_eq!(t.height(), 3);
    // Two internal nodes at depth 2: point slot 0 of the second at the
    // first's child 0.
    let internal: Vec<_> = nodes(&t).into_iter().filter(|n| n.3 == 2).collect();
    let (p, pmin, pmax, _) = internal[1];
    let q = internal[0].0;
    let stolen = t.arena.slot(q, 0);
    t.arena.set_slot(p, 0, stolen);
    let e = expect(&t, Invariant::ChildParent, Some((p, pmin, pmax)));
    assert!(e.detail.contains(&format!("{stolen:#x}")), "{e}");
}

#[test]
fn missing_child_and_bad_pointer() {
    let mut t = build(0, 200);
    let root = safe_root(t.root);
    t.arena.set_slot(root, 1, 0);
    expect(&t, Invariant::MissingChild, Some((root, 0, u64::MAX)));
    t.arena.set_slot(root, 1, 0x35);
    expect(&t, Invariant::BadPointer, Some((root, 0, u64::MAX)));
}

#[test]
fn dead_and_freed_nodes() {
    let mut t = build(0, 200);
    let (leaf, min, max, _) = middle_leaf(&t);
    t.arena.set_dead(leaf);
    expect(&t, Invariant::Dead, Some((leaf, min, max)));

    let mut t = build(0, 200);
    let (leaf, _, _, _) = middle_leaf(&t);
    let (p, pmin, pmax, _) = parent_of(&t, leaf);
    let slot = t.arena.parent_slot(leaf);
    t.arena.free(enode_id(leaf));
    let e = expect(&t, Invariant::Freed, Some((p, pmin, pmax)));
    assert!(e.detail.contains(&format!("slot {slot} ")), "{e}");
}

#[test]
fn height_flag_and_leaf_depth() {
    let mut t = build_dense(0, 200);
    assert_eq!(t.height(), 2);
    let root = safe_root(t.root);
    t.set_height(3);
    expect(&t, Invariant::Height, Some((root, 0, u64::MAX)));
    t.set_height(0);
    expect(&t, Invariant::Height, Some((root, 0, u64::MAX)));
    t.set_height(2);
    // Hang a leaf where an internal node belongs.
    let mut u = build_dense(0, 3000);
    let internal: Vec<_> = nodes(&u).into_iter().filter(|n| n.3 == 2).collect();
    let (p, pmin, pmax, _) = internal[0];
    let old = *u.arena.words(enode_id(u.arena.slot(p, 0)));
    let id = u.arena.alloc().unwrap();
    u.arena.copy_node(id, &old);
    let child = super::super::node::mk_node(id, NodeType::Leaf64);
    let root = safe_root(u.root);
    u.arena.set_slot(root, 1, child);
    u.arena.set_parent(child, root, 1);
    let (cmin, cmax) = (u.arena.pivot(root, 0) + 1, u.arena.pivot(root, 1));
    let e = expect(&u, Invariant::LeafDepth, Some((child, cmin, cmax)));
    assert!(e.detail.contains("depth 2"), "{e} {pmin} {pmax}");

    let mut t = MapleTree::new();
    t.set_height(2);
    expect(&t, Invariant::Height, None);
}

#[test]
fn wrong_node_type_and_root_parent() {
    // range_64 internal nodes in a tree flagged as an allocation tree.
    let mut t = build(0, 200);
    t.flags |= MT_FLAGS_ALLOC_RANGE;
    expect(
        &t,
        Invariant::NodeType,
        Some((safe_root(t.root), 0, u64::MAX)),
    );

    let mut t = build(0, 5);
    assert_eq!(t.height(), 1);
    let root = safe_root(t.root);
    t.validate().unwrap();
    t.arena.set_parent_word(root, 0x5);
    expect(&t, Invariant::RootParent, Some((root, 0, u64::MAX)));
}

#[test]
fn gaps_are_checked_in_allocation_trees() {
    let mut t = build(MT_FLAGS_ALLOC_RANGE, 200);
    let root = safe_root(t.root);
    assert_eq!(enode_type(root), NodeType::Arange64);
    let g = t.arena.gap(root, 1);
    t.arena.set_gap(root, 1, g + 1);
    let e = t.validate().unwrap_err();
    assert!(
        matches!(e.invariant, Invariant::ParentGap | Invariant::MaxGap),
        "{e}"
    );

    let mut t = build(MT_FLAGS_ALLOC_RANGE, 200);
    let root = safe_root(t.root);
    let end = t.arena.meta_end(root);
    assert!(end + 1 < 10);
    t.arena.set_gap(root, end + 1, 5);
    expect(&t, Invariant::StaleGap, Some((root, 0, u64::MAX)));
}

#[test]
fn leaf_gaps_include_merged_nulls() {
    // In an allocation tree, two NULLs in a row make a larger NULL run
    // than any single slot. The kernel's per-slot check misses that; the
    // NULL rule reports it before the recomputed gaps do.
    let mut t = build(MT_FLAGS_ALLOC_RANGE, 200);
    let (leaf, min, max, _) = middle_leaf(&t);
    let end = t.arena.data_end(leaf, max);
    let i = (0..end)
        .find(|&i| t.arena.slot(leaf, i) != 0 && t.arena.slot(leaf, i + 1) == 0)
        .unwrap();
    t.arena.set_slot(leaf, i, 0);
    let e = t.validate().unwrap_err();
    // Clearing an entry grows the largest NULL slot only if it was larger.
    assert!(
        matches!(e.invariant, Invariant::ParentGap | Invariant::AdjacentNulls),
        "{e} [{min:#x}, {max:#x}]"
    );
}

#[test]
fn null_runs_join_across_children() {
    let a = NullRuns::slot(true, 3).then(NullRuns::slot(false, 1));
    let b = NullRuns::slot(true, 4).then(NullRuns::slot(true, 5));
    let c = a
        .then(b)
        .then(NullRuns::slot(false, 2))
        .then(NullRuns::slot(true, 1));
    assert_eq!(c.best, 9);
    assert_eq!(c.prefix, 3);
    assert_eq!(c.suffix, 1);
    assert!(!c.all_null);
    assert_eq!(NullRuns::slot(true, 1 << 64).best as u64, 0);
}

#[test]
fn gap_recompute_is_checked_after_the_null_rules() {
    // With the NULL rules satisfied the recomputed gaps always agree with
    // the kernel's per-node checks, so drive the steps directly.
    let mut t = build(MT_FLAGS_ALLOC_RANGE, 200);
    let (leaf, _, max, _) = middle_leaf(&t);
    let (p, pmin, pmax, _) = parent_of(&t, leaf);
    let end = t.arena.data_end(leaf, max);
    let i = (1..end)
        .find(|&i| t.arena.slot(leaf, i) != 0 && t.arena.slot(leaf, i + 1) == 0)
        .unwrap();
    t.arena.set_slot(leaf, i, 0);
    let mut v = Validator::new(&t, None);
    v.visit(safe_root(t.root), 0, u64::MAX, 1).unwrap();
    assert_eq!(
        v.check_nulls().unwrap_err().invariant,
        Invariant::AdjacentNulls
    );
    let e = v.check_recomputed_gaps().unwrap_err();
    assert_eq!(e.invariant, Invariant::GapRecompute, "{e}");
    let n = e.node.unwrap();
    assert_eq!((n.addr, n.min, n.max), (enode_addr(p), pmin, pmax), "{e}");
}

/// A small deterministic generator for the random test.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

#[test]
fn random_operations_keep_trees_valid() {
    use crate::MT_FLAGS_USE_RCU;
    let rcu_alloc = MT_FLAGS_USE_RCU | MT_FLAGS_ALLOC_RANGE;
    for flags in [0, MT_FLAGS_ALLOC_RANGE, MT_FLAGS_USE_RCU, rcu_alloc] {
        for seed in 1..=4u64 {
            let mut rng = XorShift(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15));
            let mut t = MapleTree::with_flags(flags);
            let mut highest = 0;
            for step in 0..1500u64 {
                let first = rng.next() % 6000;
                let len = match rng.next() % 4 {
                    0 => 0,
                    1 => rng.next() % 8,
                    2 => rng.next() % 64,
                    _ => rng.next() % 600,
                };
                match rng.next() % 5 {
                    0 => {
                        t.erase(first);
                    }
                    1 => t.store_range(first, first + len, None).unwrap(),
                    _ => t
                        .store_range(first, first + len, Some(val(step + 1)))
                        .unwrap(),
                }
                if let Err(e) = t.validate() {
                    panic!("flags {flags} seed {seed} step {step}: {e}\n{}", t.dump());
                }
                highest = highest.max(t.height());
            }
            assert!(highest >= 2, "the random trees grow past one leaf");
        }
    }
}
