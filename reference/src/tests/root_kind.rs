// SPDX-License-Identifier: GPL-2.0-or-later
//! Root kind transitions: `mas_store_root()`, `mas_root_expand()`,
//! `mas_new_root()` and the exact-fit exception of `mas_wr_store_type()`.

use crate::{Cursor, RootKind, Status, TreeOracle};

const A: u64 = 0x100;
const B: u64 = 0x200;
const MAX: u64 = u64::MAX;

fn pointer_tree() -> TreeOracle {
    let mut t = TreeOracle::new();
    t.store(0, Some(A)).unwrap();
    assert_eq!(t.root_kind(), RootKind::Pointer);
    t
}

#[test]
fn empty_tree_stores() {
    let mut t = TreeOracle::new();
    assert_eq!(t.root_kind(), RootKind::Empty);
    // NULL stores on an empty tree change nothing.
    t.store_range(0, 10, None).unwrap();
    assert_eq!(t.root_kind(), RootKind::Empty);
    t.store_range(5, MAX, None).unwrap();
    assert_eq!(t.root_kind(), RootKind::Empty);
    // [0, 0] becomes the root pointer.
    t.store(0, Some(A)).unwrap();
    assert_eq!(t.root_kind(), RootKind::Pointer);
    // Replacing the root pointer keeps it a pointer.
    assert_eq!(t.store(0, Some(B)), Ok(Some(A)));
    assert_eq!(t.root_kind(), RootKind::Pointer);
    assert_eq!(t.entries(), vec![(0, 0, B)]);
}

#[test]
fn any_other_value_store_expands_into_a_node() {
    for (first, last) in [(1, 1), (0, 1), (0, MAX), (5, 9), (MAX, MAX)] {
        let mut t = TreeOracle::new();
        t.store_range(first, last, Some(B)).unwrap();
        assert_eq!(t.root_kind(), RootKind::Node, "[{first}, {last}] on empty");
        let mut t = pointer_tree();
        t.store_range(first, last, Some(B)).unwrap();
        assert_eq!(
            t.root_kind(),
            RootKind::Node,
            "[{first}, {last}] on pointer"
        );
        // mas_root_expand() keeps the old root entry when index > 0.
        assert_eq!(t.load(0), if first == 0 { Some(B) } else { Some(A) });
    }
}

#[test]
fn null_stores_on_a_root_pointer() {
    // A NULL store above 0 leaves the root pointer alone.
    let mut t = pointer_tree();
    assert_eq!(t.store_range(1, MAX, None), Ok(None));
    assert_eq!(t.root_kind(), RootKind::Pointer);
    assert_eq!(t.entries(), vec![(0, 0, A)]);
    // A NULL store starting at 0 clears the root, however far it reaches.
    for last in [0, 1, MAX] {
        let mut t = pointer_tree();
        assert_eq!(t.store_range(0, last, None), Ok(Some(A)));
        assert_eq!(t.root_kind(), RootKind::Empty);
    }
    // Erase goes the same way.
    let mut t = pointer_tree();
    assert_eq!(t.erase(1), None);
    assert_eq!(t.root_kind(), RootKind::Pointer);
    assert_eq!(t.erase(0), Some(A));
    assert_eq!(t.root_kind(), RootKind::Empty);
}

#[test]
fn insert_follows_the_same_rules() {
    let mut t = TreeOracle::new();
    t.insert(0, Some(A)).unwrap();
    assert_eq!(t.root_kind(), RootKind::Pointer);
    t.insert(1, Some(B)).unwrap();
    assert_eq!(t.root_kind(), RootKind::Node);
    let mut t = TreeOracle::new();
    t.insert_range(0, 3, Some(A)).unwrap();
    assert_eq!(t.root_kind(), RootKind::Node);
    // A failed insert changes nothing.
    let mut t = pointer_tree();
    assert!(t.insert_range(0, 5, Some(B)).is_err());
    assert_eq!(t.root_kind(), RootKind::Pointer);
}

#[test]
fn a_node_tree_never_goes_back_to_a_pointer() {
    let mut t = TreeOracle::new();
    t.store(0, Some(A)).unwrap();
    t.store(1, Some(B)).unwrap();
    assert_eq!(t.root_kind(), RootKind::Node);
    // Leave only [0, 0]: still a node.
    t.erase(1);
    assert_eq!(t.entries(), vec![(0, 0, A)]);
    assert_eq!(t.root_kind(), RootKind::Node);
    // Storing [0, 0] again: still a node.
    t.store(0, Some(B)).unwrap();
    assert_eq!(t.root_kind(), RootKind::Node);
    // Erasing the last entry: the NULL extends to [0, MAX], new root NULL.
    t.erase(0);
    assert_eq!(t.root_kind(), RootKind::Empty);
}

#[test]
fn null_store_covering_everything_after_extension_empties_a_node_tree() {
    let mut t = TreeOracle::new();
    t.store_range(5, 10, Some(A)).unwrap();
    t.store_range(20, 30, Some(B)).unwrap();
    t.store_range(5, 10, None).unwrap();
    assert_eq!(t.root_kind(), RootKind::Node);
    // Only [20, 30] is written, but the NULLs on both sides join it.
    t.store_range(20, 30, None).unwrap();
    assert_eq!(t.root_kind(), RootKind::Empty);

    // The same with a partial overlap and a write reaching MAX.
    let mut t = TreeOracle::new();
    t.store_range(5, 10, Some(A)).unwrap();
    t.store_range(7, MAX, None).unwrap();
    assert_eq!(t.root_kind(), RootKind::Node);
    t.store_range(3, 5, None).unwrap();
    assert_eq!(t.root_kind(), RootKind::Node);
    t.store_range(6, 6, None).unwrap();
    assert_eq!(t.root_kind(), RootKind::Empty);
}

#[test]
fn exact_fit_of_the_single_root_slot_keeps_the_node() {
    // One entry over everything, erased: an exact-fit NULL write, the node
    // stays and holds a single NULL slot.
    let mut t = TreeOracle::new();
    t.store_range(0, MAX, Some(A)).unwrap();
    assert_eq!(t.root_kind(), RootKind::Node);
    assert_eq!(t.erase(12345), Some(A));
    assert_eq!(t.root_kind(), RootKind::Node);
    assert!(!t.is_empty());
    assert_eq!(t.len(), 0);
    // Any NULL store on that node is an exact fit again.
    for (first, last) in [(0, 0), (5, 10), (0, MAX), (MAX, MAX)] {
        t.store_range(first, last, None).unwrap();
        assert_eq!(t.root_kind(), RootKind::Node);
    }
    // Reads see a node: status active over the whole range.
    let mut mas = Cursor::new(77, 77);
    assert_eq!(mas.walk(&t), None);
    assert_eq!((mas.index, mas.last, mas.status), (0, MAX, Status::Active));
    // A value store over everything is an exact fit too.
    t.store_range(0, MAX, Some(B)).unwrap();
    assert_eq!(t.root_kind(), RootKind::Node);
    // Erasing part of the single entry, then the rest: a new root.
    t.store_range(0, 9, None).unwrap();
    assert_eq!(t.root_kind(), RootKind::Node);
    t.store_range(10, MAX, None).unwrap();
    assert_eq!(t.root_kind(), RootKind::Empty);
}

#[test]
fn value_store_over_everything_keeps_a_node() {
    let mut t = TreeOracle::new();
    t.store_range(3, 4, Some(A)).unwrap();
    t.store_range(0, MAX, Some(B)).unwrap();
    assert_eq!(t.root_kind(), RootKind::Node);
    assert_eq!(t.entries(), vec![(0, MAX, B)]);
    // ... and a NULL store over everything of a tree with several entries
    // is a new root.
    t.store_range(3, 4, Some(A)).unwrap();
    t.store_range(0, MAX, None).unwrap();
    assert_eq!(t.root_kind(), RootKind::Empty);
}

#[test]
fn destroy_resets_to_empty() {
    let mut t = TreeOracle::new();
    t.store_range(3, 4, Some(A)).unwrap();
    t.destroy();
    assert_eq!(t.root_kind(), RootKind::Empty);
    t.store(0, Some(A)).unwrap();
    assert_eq!(t.root_kind(), RootKind::Pointer);
}
