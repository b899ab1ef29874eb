// SPDX-License-Identifier: GPL-2.0-or-later
//! Unit tests of the oracles, and ports of the kernel's own tests from
//! `lib/test_maple_tree.c` with the kernel's expected values.

mod cursor;
mod cursor_write;
mod kernel_iteration;
mod kernel_state_handling;
mod root_kind;
mod tree;

use crate::TreeOracle;

/// `xa_mk_value()`: the kernel tests' way of making a storable value.
pub(super) fn xa_mk_value(v: u64) -> u64 {
    (v << 1) | 1
}

/// `mtree_insert_index()`: insert `xa_mk_value(index & LONG_MAX)` at `index`.
pub(super) fn insert_index(tree: &mut TreeOracle, index: u64) {
    let value = xa_mk_value(index & (i64::MAX as u64));
    assert_eq!(tree.insert(index, Some(value)), Ok(()), "insert {index}");
}

/// `mtree_erase_index()`: erase `index`, which must hold its index value.
pub(super) fn erase_index(tree: &mut TreeOracle, index: u64) {
    let value = xa_mk_value(index & (i64::MAX as u64));
    assert_eq!(tree.erase(index), Some(value), "erase {index}");
    assert_eq!(tree.load(index), None);
}

/// `check_seq()`: insert `0..=max` one index at a time, checking loads.
pub(super) fn check_seq(tree: &mut TreeOracle, max: u64) {
    assert!(tree.is_empty());
    for i in 0..=max {
        insert_index(tree, i);
        for j in 0..=i {
            assert_eq!(tree.load(j), Some(xa_mk_value(j)));
        }
        assert_eq!(tree.load(i + 1), None);
    }
}

/// The fixture of `check_rev_find()` and `next_prev_test()`:
/// `[i * 10, i * 10 + 5] = xa_mk_value(i)` for `i` in `0..=nr`.
pub(super) fn tens(nr: u64) -> TreeOracle {
    let mut tree = TreeOracle::new();
    for i in 0..=nr {
        tree.store_range(i * 10, i * 10 + 5, Some(xa_mk_value(i)))
            .unwrap();
    }
    tree
}
