// SPDX-License-Identifier: GPL-2.0-or-later
//! Contents semantics of `TreeOracle`: stores, inserts, erases, walks.

use crate::{Errno, TreeOracle};

const A: u64 = 0x100;
const B: u64 = 0x200;
const C: u64 = 0x300;
const MAX: u64 = u64::MAX;

#[test]
fn store_trims_partly_covered_entries() {
    let mut t = TreeOracle::new();
    t.store_range(10, 20, Some(A)).unwrap();
    t.store_range(30, 40, Some(B)).unwrap();
    // Overlaps the tail of A and the head of B.
    assert_eq!(t.store_range(15, 34, Some(C)), Ok(Some(A)));
    assert_eq!(t.entries(), vec![(10, 14, A), (15, 34, C), (35, 40, B)]);
    // Overlaps the head of an entry from a hole: returns NULL (content at first).
    assert_eq!(t.store_range(5, 11, Some(B)), Ok(None));
    assert_eq!(
        t.entries(),
        vec![(5, 11, B), (12, 14, A), (15, 34, C), (35, 40, B)]
    );
}

#[test]
fn store_swallows_fully_covered_entries() {
    let mut t = TreeOracle::new();
    for i in 0..10 {
        t.store_range(i * 10, i * 10 + 5, Some(A + i * 4)).unwrap();
    }
    t.store_range(12, 77, Some(C)).unwrap();
    assert_eq!(
        t.entries(),
        vec![
            (0, 5, A),
            (10, 11, A + 4),
            (12, 77, C),
            (80, 85, A + 32),
            (90, 95, A + 36)
        ]
    );
}

#[test]
fn store_splits_a_range_in_three() {
    let mut t = TreeOracle::new();
    t.store_range(0, 100, Some(A)).unwrap();
    assert_eq!(t.store_range(40, 60, Some(B)), Ok(Some(A)));
    assert_eq!(t.entries(), vec![(0, 39, A), (40, 60, B), (61, 100, A)]);
    // A NULL store in the middle of an entry leaves both sides.
    t.store_range(50, 50, None).unwrap();
    assert_eq!(
        t.entries(),
        vec![(0, 39, A), (40, 49, B), (51, 60, B), (61, 100, A)]
    );
}

#[test]
fn adjacent_equal_ranges_stay_separate() {
    let mut t = TreeOracle::new();
    t.store_range(0, 9, Some(A)).unwrap();
    t.store_range(10, 19, Some(A)).unwrap();
    t.store_range(20, 20, Some(A)).unwrap();
    assert_eq!(t.entries(), vec![(0, 9, A), (10, 19, A), (20, 20, A)]);
    assert_eq!(t.len(), 3);
    // Erase takes one of them only.
    assert_eq!(t.erase(15), Some(A));
    assert_eq!(t.entries(), vec![(0, 9, A), (20, 20, A)]);
}

#[test]
fn store_at_both_ends_of_the_index_space() {
    let mut t = TreeOracle::new();
    t.store_range(MAX - 5, MAX, Some(A)).unwrap();
    t.store_range(0, 5, Some(B)).unwrap();
    assert_eq!(t.load(MAX), Some(A));
    assert_eq!(t.load(0), Some(B));
    t.store_range(MAX, MAX, Some(C)).unwrap();
    assert_eq!(
        t.entries(),
        vec![(0, 5, B), (MAX - 5, MAX - 1, A), (MAX, MAX, C)]
    );
    t.store_range(0, MAX, Some(A)).unwrap();
    assert_eq!(t.entries(), vec![(0, MAX, A)]);
    t.store_range(0, MAX, None).unwrap();
    assert_eq!(t.entries(), vec![]);
}

#[test]
fn store_rejects_invalid_requests() {
    let mut t = TreeOracle::new();
    t.store_range(1, 1, Some(A)).unwrap();
    let before = t.entries();
    assert_eq!(t.store_range(5, 4, Some(A)), Err(Errno::EINVAL));
    assert_eq!(t.store_range(5, 4, None), Err(Errno::EINVAL));
    assert_eq!(t.store_range(0, 4, Some(0)), Err(Errno::EINVAL));
    for internal in [2, 6, 0x402, 0x406, 0x1002] {
        assert_eq!(t.store_range(0, 4, Some(internal)), Err(Errno::EINVAL));
    }
    // Low bits 01, 11 and 00 are all fine.
    for (i, ok) in [1, 3, 4, 5, 7, MAX].into_iter().enumerate() {
        assert_eq!(t.store(100 + i as u64, Some(ok)), Ok(None));
    }
    t.store_range(100, 200, None).unwrap();
    assert_eq!(t.entries(), before);
}

#[test]
fn insert_refuses_any_overlap() {
    let mut t = TreeOracle::new();
    assert_eq!(t.insert_range(10, 20, Some(A)), Ok(()));
    for (first, last) in [(10, 20), (5, 10), (20, 25), (0, MAX), (15, 15), (12, 18)] {
        assert_eq!(t.insert_range(first, last, Some(B)), Err(Errno::EEXIST));
    }
    // Adjacent ranges are free.
    assert_eq!(t.insert_range(21, 21, Some(B)), Ok(()));
    assert_eq!(t.insert_range(0, 9, Some(C)), Ok(()));
    assert_eq!(t.entries(), vec![(0, 9, C), (10, 20, A), (21, 21, B)]);
    assert_eq!(t.insert_range(22, MAX, Some(A)), Ok(()));
    assert_eq!(t.insert(MAX, Some(A)), Err(Errno::EEXIST));
}

#[test]
fn insert_rejects_invalid_requests() {
    let mut t = TreeOracle::new();
    assert_eq!(t.insert_range(0, 0, None), Err(Errno::EINVAL));
    assert_eq!(t.insert_range(2, 1, Some(A)), Err(Errno::EINVAL));
    assert_eq!(t.insert_range(0, 0, Some(0)), Err(Errno::EINVAL));
    assert_eq!(t.insert_range(0, 0, Some(0x402)), Err(Errno::EINVAL));
    // EINVAL wins over EEXIST.
    t.insert(3, Some(A)).unwrap();
    assert_eq!(t.insert_range(3, 3, None), Err(Errno::EINVAL));
    assert_eq!(t.entries(), vec![(3, 3, A)]);
}

#[test]
fn erase_removes_the_whole_entry() {
    let mut t = TreeOracle::new();
    t.store_range(10, 20, Some(A)).unwrap();
    t.store_range(21, 30, Some(B)).unwrap();
    assert_eq!(t.erase(9), None);
    assert_eq!(t.erase(31), None);
    assert_eq!(t.erase(15), Some(A));
    assert_eq!(t.load(10), None);
    assert_eq!(t.load(20), None);
    assert_eq!(t.erase(15), None);
    assert_eq!(t.entries(), vec![(21, 30, B)]);
    assert_eq!(t.erase(30), Some(B));
    assert_eq!(t.entries(), vec![]);
}

#[test]
fn walk_reports_entries_and_maximal_holes() {
    let mut t = TreeOracle::new();
    assert_eq!(t.walk(0), (None, 0, MAX));
    assert_eq!(t.walk(MAX), (None, 0, MAX));
    t.store_range(10, 20, Some(A)).unwrap();
    t.store_range(30, 40, Some(B)).unwrap();
    assert_eq!(t.walk(0), (None, 0, 9));
    assert_eq!(t.walk(9), (None, 0, 9));
    assert_eq!(t.walk(10), (Some(A), 10, 20));
    assert_eq!(t.walk(25), (None, 21, 29));
    assert_eq!(t.walk(40), (Some(B), 30, 40));
    assert_eq!(t.walk(41), (None, 41, MAX));
    assert_eq!(t.walk(MAX), (None, 41, MAX));
    // Entries at both ends leave no hole at the ends.
    t.store_range(0, 0, Some(C)).unwrap();
    t.store_range(MAX, MAX, Some(C)).unwrap();
    assert_eq!(t.walk(0), (Some(C), 0, 0));
    assert_eq!(t.walk(1), (None, 1, 9));
    assert_eq!(t.walk(MAX - 1), (None, 41, MAX - 1));
    assert_eq!(t.walk(MAX), (Some(C), MAX, MAX));
}

#[test]
fn walk_of_a_root_pointer_tree() {
    let mut t = TreeOracle::new();
    t.store(0, Some(A)).unwrap();
    assert_eq!(t.walk(0), (Some(A), 0, 0));
    assert_eq!(t.walk(1), (None, 1, MAX));
    assert_eq!(t.walk(MAX), (None, 1, MAX));
}

#[test]
fn mt_find_returns_the_first_intersecting_entry() {
    let mut t = TreeOracle::new();
    t.store_range(10, 20, Some(A)).unwrap();
    t.store_range(MAX - 1, MAX, Some(B)).unwrap();
    let mut index = 15;
    assert_eq!(t.mt_find(&mut index, 100), Some(A));
    assert_eq!(index, 21);
    assert_eq!(t.mt_find(&mut index, 100), None);
    assert_eq!(index, 21);
    assert_eq!(t.mt_find(&mut index, MAX - 1), Some(B));
    // The index wraps past the end, as in the kernel.
    assert_eq!(index, 0);
    index = 30;
    assert_eq!(t.mt_find(&mut index, 29), None);
    assert_eq!(index, 30);
    index = 0;
    assert_eq!(t.mt_find(&mut index, 10), Some(A));
    assert_eq!(index, 21);
}

#[test]
fn destroy_empties_the_tree() {
    let mut t = TreeOracle::new();
    t.store_range(3, 9, Some(A)).unwrap();
    t.destroy();
    assert!(t.is_empty());
    assert_eq!(t.entries(), vec![]);
    assert_eq!(t.walk(5), (None, 0, MAX));
}

/// A small exhaustive cross-check of the map logic against a dense model
/// over a 12-index universe.
#[test]
fn stores_agree_with_a_dense_model() {
    const N: u64 = 12;
    let mut state = 0x2545_f491_4f6c_dd1d_u64;
    let mut rnd = move |bound: u64| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state % bound
    };
    for _ in 0..200 {
        let mut t = TreeOracle::new();
        // dense[i] = (value, id of the store that wrote it)
        let mut dense = [None::<(u64, u64)>; N as usize];
        for op in 0..30u64 {
            let a = rnd(N);
            let b = rnd(N);
            let (first, last) = (a.min(b), a.max(b));
            let value = match rnd(3) {
                0 => None,
                _ => Some(4 * (1 + rnd(3))),
            };
            if rnd(4) == 0 {
                let before = t.load(a);
                assert_eq!(t.erase(a), before);
                // The entry is the run of cells written by one store.
                if let Some(cell) = dense[a as usize] {
                    let mut lo = a as usize;
                    while lo > 0 && dense[lo - 1] == Some(cell) {
                        lo -= 1;
                    }
                    let mut hi = a as usize;
                    while hi + 1 < N as usize && dense[hi + 1] == Some(cell) {
                        hi += 1;
                    }
                    for d in &mut dense[lo..=hi] {
                        *d = None;
                    }
                }
            } else {
                assert_eq!(
                    t.store_range(first, last, value),
                    Ok(dense[first as usize].map(|d| d.0))
                );
                for d in &mut dense[first as usize..=last as usize] {
                    *d = value.map(|v| (v, op));
                }
            }
            // Rebuild the expected entries: runs of one store id.
            let mut expected = Vec::new();
            let mut i = 0;
            while i < N as usize {
                if let Some((v, id)) = dense[i] {
                    let start = i;
                    while i + 1 < N as usize && dense[i + 1] == Some((v, id)) {
                        i += 1;
                    }
                    expected.push((start as u64, i as u64, v));
                }
                i += 1;
            }
            assert_eq!(t.entries(), expected);
        }
    }
}
