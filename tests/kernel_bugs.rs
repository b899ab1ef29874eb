//! Bugs this project found in Linux 6.12 `lib/maple_tree.c`, pinned down.
//! The Rust port reproduces the kernel faithfully, bugs included; each test
//! shows the kernel's (wrong) answer in the port beside the right answer
//! from the naive oracle. When the kernel is fixed and the port follows, the
//! test is updated to expect agreement.

use maplefuzz::tree::{Errno, Fixes, MaState, MapleTree, MT_FLAGS_ALLOC_RANGE};
use maplefuzz_reference::TreeOracle;

/// `mas_rev_awalk()` accepts a gap only if `size <= mas->last - min + 1`.
/// With the search window ending at `ULONG_MAX` and the gap in a slot (or
/// subtree) that starts at index 0 this wraps to 0 and a fitting gap is
/// rejected: `mtree_alloc_rrange(.., 0x17d, ULONG_MAX)` fails with `EBUSY`
/// although `[2^64 - 16, 2^64 - 9]` is free. Found by the differential
/// oracle; reproduced in the kernel's userspace build (tools/testing/radix-tree).
#[test]
fn rev_gap_search_up_to_ulong_max_misses_a_gap_starting_at_zero() {
    let entry = (0x8883 << 1) | 1;
    let mut t = MapleTree::with_flags(MT_FLAGS_ALLOC_RANGE);
    t.store_range(u64::MAX - 7, u64::MAX, Some(entry)).unwrap();
    // Linux 6.12 (and the port): no room.
    assert_eq!(t.alloc_rrange(entry, 8, 0x17d, u64::MAX), Err(Errno::EBUSY));

    let mut o = TreeOracle::new();
    o.store_range(u64::MAX - 7, u64::MAX, Some(entry)).unwrap();
    // The right answer: the 8 indices just below the entry.
    assert_eq!(
        o.alloc_range(true, entry, 8, 0x17d, u64::MAX, true),
        Ok(u64::MAX - 15)
    );

    // A window that stops one short of ULONG_MAX does not wrap.
    assert_eq!(
        t.alloc_rrange(entry, 8, 0x17d, u64::MAX - 1),
        Ok(u64::MAX - 15)
    );
}

/// A hole covering the whole index space has size `ULONG_MAX - 0 + 1`,
/// which wraps to 0 in `mas_anode_descend()` / `mas_rev_awalk()` (and in
/// `mas_leaf_max_gap()`). Storing an entry over `[0, ULONG_MAX]` and then
/// NULL over the same range is an exact fit, so the tree keeps a leaf whose
/// one slot is NULL: the tree is empty, yet every search and allocation
/// fails with `EBUSY`. Reproduced in the kernel's userspace build.
#[test]
fn an_emptied_allocation_tree_has_no_room() {
    let entry = (0x11 << 1) | 1;
    let mut t = MapleTree::with_flags(MT_FLAGS_ALLOC_RANGE);
    t.store_range(0, u64::MAX, Some(entry)).unwrap();
    t.store_range(0, u64::MAX, None).unwrap();
    assert_eq!(t.entries().count(), 0);
    assert!(!t.is_empty(), "a node holding one NULL slot remains");
    // Linux 6.12 (and the port): nothing fits anywhere.
    assert_eq!(t.alloc_range(entry, 1, 0, u64::MAX), Err(Errno::EBUSY));
    assert_eq!(t.alloc_rrange(entry, 1, 0, u64::MAX), Err(Errno::EBUSY));

    let mut o = TreeOracle::new();
    o.store_range(0, u64::MAX, Some(entry)).unwrap();
    o.store_range(0, u64::MAX, None).unwrap();
    assert_eq!(o.alloc_range(true, entry, 1, 0, u64::MAX, false), Ok(0));
}

/// `mas_insert()` checks for occupied slots only when the store type is not
/// `wr_new_root`; an insert over `[0, ULONG_MAX]` into a tree whose root is a
/// leaf is classified new-root before anything is checked, and replaces
/// every entry. (With a taller tree it is a spanning store and correctly
/// fails with `EEXIST`.) Found by the stable driver; reproduced in the
/// kernel's userspace build.
#[test]
fn insert_over_the_whole_space_overwrites_a_single_leaf_tree() {
    let (v1, v2) = ((1 << 1) | 1, (2 << 1) | 1);
    let mut t = MapleTree::new();
    t.store_range(5, 0x10, Some(v1)).unwrap();
    // Linux 6.12 (and the port): the insert succeeds and the entry is gone.
    assert_eq!(t.insert_range(0, u64::MAX, v2), Ok(()));
    assert_eq!(t.entries().collect::<Vec<_>>(), vec![(0, u64::MAX, v2)]);

    let mut o = TreeOracle::new();
    o.store_range(5, 0x10, Some(v1)).unwrap();
    assert_eq!(
        o.insert_range(0, u64::MAX, Some(v2)),
        Err(maplefuzz_reference::Errno::EEXIST)
    );
}

/// With the fixes on, the port gives the oracle's answers.
#[test]
fn the_fixes_give_the_right_answers() {
    let e = (0x11 << 1) | 1;
    let mut t = MapleTree::with_flags(MT_FLAGS_ALLOC_RANGE);
    t.set_fixes(Fixes::all());
    t.store_range(u64::MAX - 7, u64::MAX, Some(e)).unwrap();
    assert_eq!(t.alloc_rrange(e, 8, 0x17d, u64::MAX), Ok(u64::MAX - 15));

    let mut t = MapleTree::with_flags(MT_FLAGS_ALLOC_RANGE);
    t.set_fixes(Fixes::all());
    t.store_range(0, u64::MAX, Some(e)).unwrap();
    t.store_range(0, u64::MAX, None).unwrap();
    assert_eq!(t.alloc_range(e, 1, 0, u64::MAX), Ok(0));

    let mut t = MapleTree::new();
    t.set_fixes(Fixes::all());
    t.store_range(5, 0x10, Some(e)).unwrap();
    assert_eq!(t.insert_range(0, u64::MAX, e), Err(Errno::EEXIST));
    assert_eq!(t.entries().count(), 1);
}

/// The whole-space fix must also place a reverse allocation at the very top.
#[test]
fn the_whole_space_fix_allocates_up_to_ulong_max() {
    let e = (0x11 << 1) | 1;
    let mut t = MapleTree::with_flags(MT_FLAGS_ALLOC_RANGE);
    t.set_fixes(Fixes::all());
    t.store_range(0, u64::MAX, Some(e)).unwrap();
    t.store_range(0, u64::MAX, None).unwrap();
    assert_eq!(
        t.alloc_rrange(e, 1, 0xffff_ffff_ff53_ffd5, u64::MAX),
        Ok(u64::MAX)
    );
}

/// `mas_prev_slot()` takes the previous slot's last index as
/// `mas->index - 1`. After `mas_empty_area()` the state's `index` is the
/// first index of the window found, which need not be the first of its
/// slot: `mas_prev()` then reports the entry below with its range running
/// up to the window (here `[0x10, 0x21]` for an entry over `[0x10, 0x1f]`),
/// and a store on the state would write over the two NULL indices as well.
/// After `mas_empty_area_rev()` the window is at the top of its slot and the
/// range can run up to `ULONG_MAX - 1`. Found by the stable driver through
/// the searches on the program's maple state (docs/findings/
/// prev-after-gap-search.md); Linux 6.12, 6.18 and 7.1 alike.
#[test]
fn mas_prev_after_a_gap_search_reports_a_range_past_the_entry() {
    let e = (1 << 1) | 1;
    for fixed in [false, true] {
        let mut t = MapleTree::with_flags(MT_FLAGS_ALLOC_RANGE);
        if fixed {
            t.set_fixes(Fixes::all());
        }
        t.store_range(0x10, 0x1f, Some(e)).unwrap();
        let mut mas = MaState::new(0, 0);
        mas.empty_area(&t, 0x22, u64::MAX, 4).unwrap();
        assert_eq!((mas.index(), mas.last()), (0x22, 0x25));
        assert_eq!(mas.prev(&t, 0), Some(e));
        let last = if fixed { 0x1f } else { 0x21 };
        assert_eq!((mas.index(), mas.last()), (0x10, last), "fixed: {fixed}");

        let mut mas = MaState::new(0, 0);
        mas.empty_area_rev(&t, 0, u64::MAX, 1).unwrap();
        assert_eq!((mas.index(), mas.last()), (u64::MAX, u64::MAX));
        assert_eq!(mas.prev(&t, 0), Some(e));
        let last = if fixed { 0x1f } else { u64::MAX - 1 };
        assert_eq!((mas.index(), mas.last()), (0x10, last), "fixed: {fixed}");
    }
    // The oracle's answer: the entry's own range.
    let mut o = TreeOracle::new();
    o.store_range(0x10, 0x1f, Some(e)).unwrap();
    assert_eq!(o.walk(0x15), (Some(e), 0x10, 0x1f));
}
