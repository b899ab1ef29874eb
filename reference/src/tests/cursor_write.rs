// SPDX-License-Identifier: GPL-2.0-or-later
//! Writes through a cursor (`mas_store_gfp()`, `mas_erase()`): the contents
//! change as for the tree's own API, and the state ends where the kernel
//! leaves it. Each expectation here was also checked against the kernel's
//! userspace build of `lib/maple_tree.c`.

use crate::{Cursor, Errno, RootKind, Status, TreeOracle};

const A: u64 = 0x100;
const B: u64 = 0x200;
const MAX: u64 = u64::MAX;

fn at(mas: &Cursor) -> (u64, u64, Status) {
    (mas.index, mas.last, mas.status)
}

#[test]
fn store_into_an_empty_tree() {
    // [0, 0]: a root pointer, the state goes back to start.
    let mut t = TreeOracle::new();
    let mut mas = Cursor::new(0, 0);
    mas.store(&mut t, Some(A)).unwrap();
    assert_eq!(t.root_kind(), RootKind::Pointer);
    assert_eq!(at(&mas), (0, 0, Status::Start));

    // Anything else: mas_root_expand(), active on the stored range but not
    // positioned (stale cached data end).
    let mut t = TreeOracle::new();
    let mut mas = Cursor::new(5, 9);
    mas.store(&mut t, Some(A)).unwrap();
    assert_eq!(t.root_kind(), RootKind::Node);
    assert_eq!(at(&mas), (5, 9, Status::Active));
    assert!(!mas.is_positioned(&t));

    // NULL: nothing happens, the state reports the empty tree.
    let mut t = TreeOracle::new();
    let mut mas = Cursor::new(5, 9);
    mas.store(&mut t, None).unwrap();
    assert_eq!(at(&mas), (5, 9, Status::None));
}

#[test]
fn store_into_a_root_pointer_tree() {
    let mut t = TreeOracle::new();
    t.store(0, Some(A)).unwrap();
    // NULL above 0: no change, status root.
    let mut mas = Cursor::new(1, MAX);
    mas.store(&mut t, None).unwrap();
    assert_eq!(t.entries(), vec![(0, 0, A)]);
    assert_eq!(at(&mas), (1, MAX, Status::Root));
    // NULL from 0: the tree is emptied, the status stays root.
    mas.set_range(0, 7);
    mas.store(&mut t, None).unwrap();
    assert_eq!(t.root_kind(), RootKind::Empty);
    assert_eq!(at(&mas), (0, 7, Status::Root));
    // From that root status, a NULL store ending before u64::MAX keeps it;
    // one reaching u64::MAX resets and finds the empty tree.
    mas.set_range(3, 4);
    mas.status = Status::Root;
    mas.store(&mut t, None).unwrap();
    assert_eq!(at(&mas), (3, 4, Status::Root));
    mas.last = MAX;
    mas.store(&mut t, None).unwrap();
    assert_eq!(at(&mas), (3, MAX, Status::None));
}

#[test]
fn store_into_a_node_tree() {
    let mut t = TreeOracle::new();
    t.store_range(10, 19, Some(A)).unwrap();
    t.store_range(30, 39, Some(B)).unwrap();
    // A value: active on the stored range.
    let mut mas = Cursor::new(12, 14);
    mas.store(&mut t, Some(B)).unwrap();
    assert_eq!(at(&mas), (12, 14, Status::Active));
    assert!(mas.is_positioned(&t));
    assert_eq!(mas.next(&t, MAX), Some(A));
    assert_eq!(at(&mas), (15, 19, Status::Active));
    // NULL: active on the NULL range after it joined its neighbours.
    mas.set_range(15, 19);
    mas.store(&mut t, None).unwrap();
    assert_eq!(at(&mas), (15, 29, Status::Active));
    assert!(mas.is_positioned(&t));
    assert_eq!(mas.prev(&t, 0), Some(B));
    assert_eq!(at(&mas), (12, 14, Status::Active));
}

#[test]
fn store_that_makes_a_new_root() {
    let mut t = TreeOracle::new();
    t.store_range(10, 19, Some(A)).unwrap();
    t.store_range(30, 39, Some(B)).unwrap();
    // A value over everything: mas_new_root(), not positioned.
    let mut mas = Cursor::new(0, MAX);
    mas.store(&mut t, Some(A)).unwrap();
    assert_eq!(at(&mas), (0, MAX, Status::Active));
    assert!(!mas.is_positioned(&t));
    // Over the single slot again: an exact fit, positioned.
    mas.set_range(0, MAX);
    mas.store(&mut t, Some(B)).unwrap();
    assert_eq!(at(&mas), (0, MAX, Status::Active));
    assert!(mas.is_positioned(&t));
    // NULL emptying a node tree: start over everything.
    let mut t = TreeOracle::new();
    t.store_range(10, 19, Some(A)).unwrap();
    let mut mas = Cursor::new(12, 19);
    mas.store(&mut t, None).unwrap();
    assert_eq!(t.root_kind(), RootKind::Node);
    assert_eq!(at(&mas), (12, MAX, Status::Active));
    mas.set_range(10, 11);
    mas.store(&mut t, None).unwrap();
    assert_eq!(t.root_kind(), RootKind::Empty);
    assert_eq!(at(&mas), (0, MAX, Status::Start));
}

#[test]
fn store_errors_leave_the_state_alone() {
    let mut t = TreeOracle::new();
    let mut mas = Cursor::new(9, 3);
    assert_eq!(mas.store(&mut t, Some(A)), Err(Errno::EINVAL));
    assert_eq!(at(&mas), (9, 3, Status::Start));
    mas.set(3);
    assert_eq!(mas.store(&mut t, Some(0x402)), Err(Errno::EINVAL));
    assert_eq!(at(&mas), (3, 3, Status::Start));
    assert!(t.is_empty());
}

#[test]
fn erase_through_the_cursor() {
    // Empty tree: status none, range kept.
    let mut t = TreeOracle::new();
    let mut mas = Cursor::new(4, 8);
    assert_eq!(mas.erase(&mut t), None);
    assert_eq!(at(&mas), (4, 8, Status::None));

    // Root pointer: the erase is a NULL store over [0, last]; the state
    // stays root with its range.
    t.store(0, Some(A)).unwrap();
    mas.set(3);
    assert_eq!(mas.erase(&mut t), None);
    assert_eq!(at(&mas), (3, 3, Status::Root));
    mas.set_range(0, 100);
    assert_eq!(mas.erase(&mut t), Some(A));
    assert_eq!(t.root_kind(), RootKind::Empty);
    assert_eq!(at(&mas), (0, 100, Status::Root));

    // Node tree: a hole leaves the state on the hole; an entry is erased
    // and the state covers the NULL range it joined.
    t.store_range(10, 19, Some(A)).unwrap();
    t.store_range(30, 39, Some(B)).unwrap();
    mas.set(25);
    assert_eq!(mas.erase(&mut t), None);
    assert_eq!(at(&mas), (20, 29, Status::Active));
    mas.set(15);
    assert_eq!(mas.erase(&mut t), Some(A));
    assert_eq!(at(&mas), (0, 29, Status::Active));
    assert!(mas.is_positioned(&t));
    // The last entry: a new, empty root.
    mas.set(30);
    assert_eq!(mas.erase(&mut t), Some(B));
    assert_eq!(t.root_kind(), RootKind::Empty);
    assert_eq!(at(&mas), (0, MAX, Status::Start));
}
