// SPDX-License-Identifier: GPL-2.0-or-later
//! Cursor behaviour not covered by the kernel's own tests, including the
//! kernel quirks this oracle reproduces on purpose.

use crate::{Cursor, Status, TreeOracle};

const A: u64 = 0x100;
const B: u64 = 0x200;
const C: u64 = 0x300;
const MAX: u64 = u64::MAX;

/// `[10, 19] = A`, `[20, 29] = B` (adjacent), `[40, 49] = C`.
fn abc() -> TreeOracle {
    let mut t = TreeOracle::new();
    t.store_range(10, 19, Some(A)).unwrap();
    t.store_range(20, 29, Some(B)).unwrap();
    t.store_range(40, 49, Some(C)).unwrap();
    t
}

fn at(mas: &Cursor) -> (u64, u64, Status) {
    (mas.index, mas.last, mas.status)
}

#[test]
fn next_range_and_prev_range_visit_every_slot() {
    let t = abc();
    let mut mas = Cursor::new(0, 0);
    let mut seen = vec![(mas.walk(&t), mas.index, mas.last)];
    loop {
        let e = mas.next_range(&t, MAX);
        if mas.status != Status::Active {
            break;
        }
        seen.push((e, mas.index, mas.last));
    }
    let slots = vec![
        (None, 0, 9),
        (Some(A), 10, 19),
        (Some(B), 20, 29),
        (None, 30, 39),
        (Some(C), 40, 49),
        (None, 50, MAX),
    ];
    assert_eq!(seen, slots);
    // The last slot reaches MAX: the next step overflows in place.
    assert_eq!(at(&mas), (50, MAX, Status::Overflow));

    let mut back = Vec::new();
    mas.set(MAX);
    back.push((mas.walk(&t), mas.index, mas.last));
    loop {
        let e = mas.prev_range(&t, 0);
        if mas.status != Status::Active {
            break;
        }
        back.push((e, mas.index, mas.last));
    }
    back.reverse();
    assert_eq!(back, slots);
    assert_eq!(at(&mas), (0, 9, Status::Underflow));
}

#[test]
fn find_range_stops_on_holes_and_keeps_overflow() {
    let t = abc();
    let mut mas = Cursor::new(25, 25);
    // First call: the entry at index.
    assert_eq!(mas.find_range(&t, 45), Some(B));
    assert_eq!(at(&mas), (20, 29, Status::Active));
    assert_eq!(mas.find_range(&t, 45), None);
    assert_eq!(at(&mas), (30, 39, Status::Active));
    assert_eq!(mas.find_range(&t, 45), Some(C));
    // Past the limit: find_range keeps the overflow, find would not.
    assert_eq!(mas.find_range(&t, 45), None);
    assert_eq!(at(&mas), (40, 49, Status::Active));
    // Starting in a hole that reaches past max: the step overflows.
    let mut mas2 = Cursor::new(35, 35);
    assert_eq!(mas2.find_range(&t, 36), None);
    assert_eq!(at(&mas2), (30, 39, Status::Overflow));
    assert_eq!(mas2.find_range(&t, 36), None);
    assert_eq!(at(&mas2), (30, 39, Status::Overflow));
    let mut mas3 = Cursor::new(30, 30);
    mas3.walk(&t);
    assert_eq!(mas3.find_range(&t, 45), Some(C));
    assert_eq!(mas3.next_range(&t, 45), None);
    assert_eq!(at(&mas3), (40, 49, Status::Overflow));
}

#[test]
fn find_skips_a_hole_but_not_past_max() {
    let t = abc();
    let mut mas = Cursor::new(30, 30);
    // Hole [30, 39], next entry starts at 40 > 35.
    assert_eq!(mas.find(&t, 35), None);
    assert_eq!(at(&mas), (30, 39, Status::Active));
    // A start in a hole whose first index equals max stops at once.
    let mut mas = Cursor::new(31, 31);
    assert_eq!(mas.find(&t, 30), None);
    assert_eq!(at(&mas), (31, 31, Status::Start));
    let mut mas = Cursor::new(0, 0);
    assert_eq!(mas.find(&t, 0), None);
    assert_eq!(at(&mas), (0, 9, Status::Active));
    // An entry starting exactly at max is found.
    let mut mas = Cursor::new(30, 30);
    assert_eq!(mas.find(&t, 40), Some(C));
    assert_eq!(at(&mas), (40, 49, Status::Active));
}

#[test]
fn find_rev_and_range_rev() {
    let t = abc();
    let mut mas = Cursor::new(35, 35);
    assert_eq!(mas.find_rev(&t, 0), Some(B));
    assert_eq!(at(&mas), (20, 29, Status::Active));
    assert_eq!(mas.find_rev(&t, 0), Some(A));
    assert_eq!(mas.find_rev(&t, 0), None);
    assert_eq!(at(&mas), (0, 9, Status::Underflow));
    let mut mas = Cursor::new(35, 35);
    assert_eq!(mas.find_range_rev(&t, 0), Some(B));
    assert_eq!(mas.find_range_rev(&t, 0), Some(A));
    assert_eq!(mas.find_range_rev(&t, 0), None);
    assert_eq!(at(&mas), (0, 9, Status::Active));
    assert_eq!(mas.find_range_rev(&t, 0), None);
    assert_eq!(at(&mas), (0, 9, Status::Underflow));
}

#[test]
fn pause_resumes_after_the_current_range() {
    let t = abc();
    let mut mas = Cursor::new(0, 0);
    let mut got = Vec::new();
    while let Some(e) = mas.find(&t, MAX) {
        got.push((e, mas.index, mas.last));
        mas.pause();
    }
    assert_eq!(got, vec![(A, 10, 19), (B, 20, 29), (C, 40, 49)]);
    // After the last entry, the pause moved index to 50 and walked.
    assert_eq!(at(&mas), (50, MAX, Status::Active));
    // Backwards with pauses.
    let mut mas = Cursor::new(MAX, MAX);
    let mut got = Vec::new();
    while let Some(e) = mas.find_rev(&t, 0) {
        got.push((e, mas.index, mas.last));
        mas.pause();
    }
    assert_eq!(got, vec![(C, 40, 49), (B, 20, 29), (A, 10, 19)]);
}

#[test]
fn quirk_find_rev_on_an_empty_tree_ends_in_root_status() {
    // mas_find_rev_setup(): a walk that ends in ma_none hands back the root
    // entry at [0, 0] with status ma_root, even when the root is NULL.
    let t = TreeOracle::new();
    let mut mas = Cursor::new(50, 50);
    assert_eq!(mas.find_rev(&t, 0), None);
    assert_eq!(at(&mas), (0, 0, Status::Root));
    // The next call sees ma_root and goes to ma_none.
    assert_eq!(mas.find_rev(&t, 0), None);
    assert_eq!(at(&mas), (0, 0, Status::None));
    // prev from start on an empty tree: none, [0, MAX].
    let mut mas = Cursor::new(50, 50);
    assert_eq!(mas.prev(&t, 0), None);
    assert_eq!(at(&mas), (0, MAX, Status::None));
}

#[test]
fn quirk_next_from_none_at_zero_on_a_root_pointer() {
    // mas_next_setup(): coming from ma_none with index 0, the walk finds the
    // root pointer, but mas_next() returns NULL and stays at [0, 0] with
    // status ma_root.
    let mut t = TreeOracle::new();
    t.store(0, Some(A)).unwrap();
    let mut mas = Cursor::new(0, 0);
    mas.status = Status::None;
    assert_eq!(mas.next(&t, MAX), None);
    assert_eq!(at(&mas), (0, 0, Status::Root));
    assert_eq!(mas.next(&t, MAX), None);
    assert_eq!(at(&mas), (1, MAX, Status::None));
    // Once at last == MAX, next overflows before looking at the status.
    assert_eq!(mas.next(&t, MAX), None);
    assert_eq!(at(&mas), (1, MAX, Status::Overflow));
}

#[test]
fn next_and_prev_on_an_empty_tree() {
    let t = TreeOracle::new();
    let mut mas = Cursor::new(5, 5);
    assert_eq!(mas.next(&t, MAX), None);
    assert_eq!(at(&mas), (0, MAX, Status::None));
    assert_eq!(mas.next(&t, MAX), None);
    assert_eq!(at(&mas), (0, MAX, Status::Overflow));
    let mut mas = Cursor::new(5, 5);
    assert_eq!(mas.find(&t, MAX), None);
    assert_eq!(at(&mas), (0, MAX, Status::None));
    assert_eq!(mas.walk(&t), None);
    assert_eq!(at(&mas), (0, MAX, Status::None));
}

#[test]
fn limits_are_checked_against_the_current_range() {
    let t = abc();
    let mut mas = Cursor::new(15, 15);
    mas.walk(&t);
    // last (19) >= max (19): overflow without moving.
    assert_eq!(mas.next(&t, 19), None);
    assert_eq!(at(&mas), (10, 19, Status::Overflow));
    // Overflow, then a larger limit: continue from where it stood.
    assert_eq!(mas.next(&t, 20), Some(B));
    assert_eq!(at(&mas), (20, 29, Status::Active));
    // index (20) <= min (20): underflow without moving.
    assert_eq!(mas.prev(&t, 20), None);
    assert_eq!(at(&mas), (20, 29, Status::Underflow));
    assert_eq!(mas.prev(&t, 19), Some(A));
    assert_eq!(at(&mas), (10, 19, Status::Active));
    // Skipping a hole that ends below min underflows on the hole.
    let mut mas = Cursor::new(45, 45);
    mas.walk(&t);
    assert_eq!(mas.prev(&t, 35), None);
    assert_eq!(at(&mas), (30, 39, Status::Underflow));
    // ... and next from that underflow re-walks and returns C again.
    assert_eq!(mas.next(&t, MAX), Some(C));
    assert_eq!(at(&mas), (40, 49, Status::Active));
}

#[test]
fn cursor_reused_across_writes() {
    let mut t = abc();
    let mut mas = Cursor::new(25, 25);
    assert_eq!(mas.walk(&t), Some(B));
    assert!(mas.is_positioned(&t));
    t.store_range(30, 35, Some(A)).unwrap();
    assert!(!mas.is_positioned(&t));
    // A paused or reset state re-walks and is exact.
    mas.pause();
    assert_eq!(mas.find(&t, MAX), Some(A));
    assert_eq!(at(&mas), (30, 35, Status::Active));
    assert!(mas.is_positioned(&t));
    // An active state steps from the slot containing `last`.
    t.store_range(36, 39, Some(B)).unwrap();
    assert_eq!(mas.next(&t, MAX), Some(B));
    assert_eq!(at(&mas), (36, 39, Status::Active));
    // The tree emptied under an active state: re-walk, nothing found.
    t.destroy();
    assert_eq!(mas.next(&t, MAX), None);
    assert_eq!(at(&mas), (0, MAX, Status::None));
}

#[test]
fn unpositioned_overflow_is_flagged() {
    let t = abc();
    // mas_next() straight from start with last >= max: overflow, no node.
    let mut mas = Cursor::new(15, 15);
    assert_eq!(mas.next(&t, 10), None);
    assert_eq!(at(&mas), (15, 15, Status::Overflow));
    assert!(!mas.is_positioned(&t));
    // The kernel would dereference a NULL node here; the oracle steps from
    // the slot containing last.
    assert_eq!(mas.next(&t, MAX), Some(B));
    assert!(mas.is_positioned(&t));
}
