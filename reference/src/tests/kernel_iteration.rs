// SPDX-License-Identifier: GPL-2.0-or-later
//! Ports of the iteration tests of `lib/test_maple_tree.c` (Linux 6.12):
//! `check_rev_find`, `check_find`, `check_find_2`, `check_next_entry`,
//! `check_prev_entry`, `next_prev_test` and `check_root_expand`, with the
//! kernel's expected values. Assertions that look at nodes (`mas.node`,
//! tree height) are left out; a few assertions of our own are marked.

use super::{check_seq, erase_index, insert_index, tens, xa_mk_value};
use crate::{Cursor, Errno, RootKind, Status, TreeOracle};

const MAX: u64 = u64::MAX;

/// `mt_for_each(tree, entry, index, max)`: `mt_find()`, then
/// `mt_find_after()` (which stops once `index` wrapped to 0).
fn mt_for_each(tree: &TreeOracle, index: &mut u64, max: u64, mut f: impl FnMut(u64)) {
    let mut entry = tree.mt_find(index, max);
    while let Some(e) = entry {
        f(e);
        entry = if *index == 0 {
            None
        } else {
            tree.mt_find(index, max)
        };
    }
}

#[test]
fn check_rev_find() {
    let mt = tens(200);
    let mut mas = Cursor::new(0, 0);

    mas.set(1000);
    assert_eq!(mas.find_rev(&mt, 1000), Some(xa_mk_value(100)));
    assert_eq!(mas.find_rev(&mt, 1000), None);

    mas.set(999);
    assert_eq!(mas.find_rev(&mt, 997), None);

    mas.set(1000);
    assert_eq!(mas.find_rev(&mt, 900), Some(xa_mk_value(100)));
    assert_eq!(mas.find_rev(&mt, 900), Some(xa_mk_value(99)));

    mas.set(20);
    assert_eq!(mas.find_rev(&mt, 0), Some(xa_mk_value(2)));
    assert_eq!(mas.find_rev(&mt, 0), Some(xa_mk_value(1)));
    assert_eq!(mas.find_rev(&mt, 0), Some(xa_mk_value(0)));
    assert_eq!(mas.find_rev(&mt, 0), None);
}

/// `check_find()`. The kernel stores `XA_ZERO_ENTRY` at 64, which
/// `mt_find()` hides; this project never stores internal values, so a
/// plain stand-in is used and the `mt_for_each` loops expect to see it.
#[test]
fn check_find() {
    const ZERO: u64 = 0x4000; // stand-in for XA_ZERO_ENTRY
    let top: u64 = 4398046511104;
    let mut mt = TreeOracle::new();
    let mut mas = Cursor::new(0, 0);
    let expect = |val: u64, entry: u64| {
        if val == 64 {
            assert_eq!(entry, ZERO);
        } else if val == top {
            assert_eq!(entry, xa_mk_value(i64::MAX as u64));
        } else {
            assert_eq!(entry, xa_mk_value(val), "val {val}");
        }
    };

    let mut val: u64 = 0;
    insert_index(&mut mt, val);
    val += 1;
    for _ in 0..=20 {
        if val != 64 {
            insert_index(&mut mt, val);
        } else {
            mt.insert(val, Some(ZERO)).unwrap();
        }
        val <<= 2;
    }

    val = 0;
    mas.set(val);
    while let Some(entry) = mas.find(&mt, 268435456) {
        expect(val, entry);
        val <<= 2;
        if val == 0 {
            val = 1;
        }
    }
    // Ours: the loop stopped after the entry at 4^14 == 268435456.
    assert_eq!(val, 1 << 30);

    val = 0;
    mas.set(val);
    while let Some(entry) = mas.find(&mt, MAX) {
        expect(val, entry);
        val <<= 2;
        if val == 0 {
            val = 1;
        }
    }
    assert_eq!(val, 1 << 42); // ours

    // mas_pause() between every step.
    val = 0;
    mas.set(val);
    while let Some(entry) = mas.find(&mt, MAX) {
        expect(val, entry);
        val <<= 2;
        if val == 0 {
            val = 1;
        }
        mas.pause();
    }
    assert_eq!(val, 1 << 42); // ours

    val = 0;
    let mut index = 0;
    mt_for_each(&mt, &mut index, 300, |entry| {
        expect(val, entry);
        val <<= 2;
        if val == 0 {
            val = 1;
        }
    });
    assert_eq!(val, 1024); // ours: 0, 1, 4, 16, 64, 256

    val = 0;
    index = 0;
    let mut count = 0;
    insert_index(&mut mt, MAX);
    mt_for_each(&mt, &mut index, MAX, |entry| {
        expect(val, entry);
        val = if (val << 2) < val { MAX } else { val << 2 };
        if val == 0 {
            val = 1;
        }
        count += 1;
        assert!(count <= 25);
    });
    assert_eq!(count, 23); // ours: 0, 4^0 ..= 4^20, ULONG_MAX
    erase_index(&mut mt, MAX);

    // The kernel finds xa_mk_value(256) here because mt_find() hides the
    // zero entry at 64; the stand-in is a real entry, found first.
    mas.reset();
    index = 17;
    assert_eq!(mt.mt_find(&mut index, 512), Some(ZERO));
    assert_eq!(mt.mt_find(&mut index, 512), Some(xa_mk_value(256)));

    mas.reset();
    index = 17;
    assert_eq!(mt.mt_find(&mut index, 20), None);

    // Range check: insert ULONG_MAX again and walk with pauses.
    insert_index(&mut mt, MAX);
    val = 0;
    mas.set(0);
    while let Some(entry) = mas.find(&mt, MAX) {
        expect(val, entry);
        val = if (val << 2) < val { MAX } else { val << 2 };
        if val == 0 {
            val = 1;
        }
        mas.pause();
    }

    mas.set(1048576);
    assert!(mas.find(&mt, 1048576).is_some());

    // Find the last value: first the expected result, using the entry at
    // ULONG_MAX ...
    mas.reset();
    mas.index = MAX;
    let _ = mas.find(&mt, MAX);
    let entry = mas.prev(&mt, 0);
    let (index, last) = (mas.index, mas.last);

    // ... then erase it and find the last value from a start state.
    mas.reset();
    mas.index = MAX;
    mas.last = MAX;
    assert_eq!(mas.erase(&mut mt), Some(xa_mk_value(i64::MAX as u64)));
    // Ours: the erase left the state on the NULL range it created.
    assert_eq!(
        (mas.index, mas.last, mas.status),
        ((1 << 40) + 1, MAX, Status::Active)
    );
    mas.reset();
    let entry2 = mas.prev(&mt, 0);
    assert_eq!(entry, entry2);
    assert_eq!(index, mas.index);
    assert_eq!(last, mas.last);

    mas.status = Status::None;
    mas.index = MAX;
    mas.last = MAX;
    let entry2 = mas.prev(&mt, 0);
    assert_eq!(entry, entry2);

    mas.set(0);
    assert_eq!(mas.prev(&mt, 0), None);

    mt.destroy();
}

#[test]
fn check_find_2() {
    let mut mt = TreeOracle::new();
    let mut mas = Cursor::new(0, 0);
    assert_eq!(mas.find(&mt, MAX), None);

    for i in 0..256 {
        insert_index(&mut mt, i);
        let mut j = 0;
        mas.set(0);
        while let Some(entry) = mas.find(&mt, MAX) {
            assert_eq!(entry, xa_mk_value(j));
            j += 1;
        }
        assert_eq!(j, i + 1);
    }

    for i in 0..256 {
        erase_index(&mut mt, i);
        let mut j = i + 1;
        mas.set(0);
        while let Some(entry) = mas.find(&mt, MAX) {
            assert_eq!(entry, xa_mk_value(j));
            j += 1;
        }
        assert_eq!(j, 256);
    }
    // Ours: everything was erased from a node tree, so the last erase's
    // NULL store covered everything and made a new, empty root.
    assert_eq!(mt.root_kind(), RootKind::Empty);
}

#[test]
fn check_next_entry() {
    let limit = 30;
    let mut mt = TreeOracle::new();
    let mut mas = Cursor::new(0, 0);
    check_seq(&mut mt, limit);

    let mut i = 0;
    assert_eq!(mas.walk(&mt), Some(xa_mk_value(i)));
    i += 1;
    while i <= limit + 1 {
        let entry = mas.next(&mt, limit);
        if i > limit {
            assert_eq!(entry, None);
        } else {
            assert_eq!(entry, Some(xa_mk_value(i)));
        }
        i += 1;
    }
    mt.destroy();
}

#[test]
fn check_prev_entry() {
    let index = 16;
    let mut mt = TreeOracle::new();
    let mut mas = Cursor::new(index, index);
    check_seq(&mut mt, 30);

    assert_eq!(mas.find(&mt, MAX), Some(xa_mk_value(index)));
    assert_eq!(mas.prev(&mt, 0), Some(xa_mk_value(index - 1)));
    mt.destroy();

    // Check limits on prev.
    for i in 0..=index {
        mas.set_range(i * 10, i * 10 + 5);
        mas.store(&mut mt, Some(xa_mk_value(i))).unwrap();
    }

    mas.set(20);
    assert_eq!(mas.walk(&mt), Some(xa_mk_value(2)));
    assert_eq!(mas.prev(&mt, 19), None);

    mas.set(80);
    assert_eq!(mas.walk(&mt), Some(xa_mk_value(8)));
    assert_eq!(mas.prev(&mt, 76), None);
}

#[test]
fn next_prev_test() {
    // 64-bit values of the kernel test.
    let nr_entries = 200;
    let level2 = [707, 1000, 710, 715, 720, 725];
    let last_index = 0x7d6;

    let mut mt = tens(nr_entries);
    let mut mas = Cursor::new(0, 0);

    for _ in 0..=nr_entries / 2 {
        mas.next(&mt, 1000);
        if mas.status == Status::None {
            break;
        }
    }
    mas.reset();
    mas.set(0);
    let mut i = 0;
    while mas.find(&mt, 1000).is_some() {
        i += 1;
    }
    assert_eq!(i, 101); // ours

    mas.reset();
    mas.set(0);
    i = 0;
    while mas.find(&mt, 1000).is_some() {
        mas.pause();
        i += 1;
    }
    assert_eq!(i, 101); // ours

    // 680 - 685 = value, 686 - 689 = NULL, 690 - 695 = value.
    mas.set(686);
    assert_eq!(mas.walk(&mt), None);

    assert_eq!(mas.next(&mt, 1000), Some(xa_mk_value(69)));
    assert_eq!((mas.index, mas.last), (690, 695));

    assert_eq!(mas.prev(&mt, 0), Some(xa_mk_value(68)));
    assert_eq!((mas.index, mas.last), (680, 685));

    assert_eq!(mas.next(&mt, 1000), Some(xa_mk_value(69)));
    assert_eq!((mas.index, mas.last), (690, 695));

    assert_eq!(mas.next(&mt, 1000), Some(xa_mk_value(70)));
    assert_eq!((mas.index, mas.last), (700, 705));

    // Across node boundaries of the tree.
    mas.set(70);
    assert_eq!(mas.walk(&mt), Some(xa_mk_value(7)));
    assert_eq!((mas.index, mas.last), (70, 75));

    assert_eq!(mas.next(&mt, 1000), Some(xa_mk_value(8)));
    assert_eq!((mas.index, mas.last), (80, 85));

    assert_eq!(mas.prev(&mt, 70), Some(xa_mk_value(7)));
    assert_eq!((mas.index, mas.last), (70, 75));

    // Across two levels of the tree.
    mas.reset();
    mas.set(level2[0]);
    assert_eq!(mas.walk(&mt), None);
    assert_eq!(mas.next(&mt, level2[1]), Some(xa_mk_value(level2[2] / 10)));
    assert_eq!((mas.index, mas.last), (level2[2], level2[3]));

    assert_eq!(mas.next(&mt, level2[1]), Some(xa_mk_value(level2[4] / 10)));
    assert_eq!((mas.index, mas.last), (level2[4], level2[5]));

    assert_eq!(mas.prev(&mt, 0), Some(xa_mk_value(level2[2] / 10)));
    assert_eq!((mas.index, mas.last), (level2[2], level2[3]));

    // Running off the end and back on.
    mas.set(nr_entries * 10);
    assert_eq!(mas.walk(&mt), Some(xa_mk_value(nr_entries)));
    assert_eq!(
        (mas.index, mas.last),
        (nr_entries * 10, nr_entries * 10 + 5)
    );

    assert_eq!(mas.next(&mt, MAX), None);
    assert_eq!((mas.index, mas.last), (last_index, MAX));

    assert_eq!(mas.prev(&mt, 0), Some(xa_mk_value(nr_entries)));
    assert_eq!(
        (mas.index, mas.last),
        (nr_entries * 10, nr_entries * 10 + 5)
    );

    // Running off the start and back on.
    mas.reset();
    mas.set(10);
    assert_eq!(mas.walk(&mt), Some(xa_mk_value(1)));
    assert_eq!((mas.index, mas.last), (10, 15));

    assert_eq!(mas.prev(&mt, 0), Some(xa_mk_value(0)));
    assert_eq!((mas.index, mas.last), (0, 5));

    assert_eq!(mas.prev(&mt, 0), None);
    assert_eq!((mas.index, mas.last), (0, 5));
    assert_eq!(mas.status, Status::Underflow);

    mas.index = 0;
    mas.last = 5;
    mas.store(&mut mt, None).unwrap();
    mas.reset();
    mas.set(10);
    mas.walk(&mt);

    assert_eq!(mas.prev(&mt, 0), None);
    assert_eq!((mas.index, mas.last), (0, 9));

    mt.destroy();

    mt.store_range(0, 0, Some(xa_mk_value(0))).unwrap();
    mt.store_range(5, 5, Some(xa_mk_value(5))).unwrap();
    mas.set(5);
    assert_eq!(mas.prev(&mt, 4), None);
}

#[test]
fn check_root_expand() {
    const PTR: u64 = 0x5555_0040;
    let mut mt = TreeOracle::new();
    let mut mas = Cursor::new(0, 0);

    mas.set(3);
    assert_eq!(mas.walk(&mt), None);
    assert_eq!((mas.index, mas.last), (0, MAX));

    mas.set(1);
    mas.store(&mut mt, Some(PTR)).unwrap();
    assert_eq!(mt.root_kind(), RootKind::Node); // ours: mas_root_expand()

    mas.set(0);
    assert_eq!(mas.walk(&mt), None);
    mas.set(1);
    assert_eq!(mas.walk(&mt), Some(PTR));
    mas.set(2);
    assert_eq!(mas.walk(&mt), None);
    mt.destroy();

    mas.set(0);
    mas.store(&mut mt, Some(PTR)).unwrap();
    assert_eq!(mt.root_kind(), RootKind::Pointer); // ours
    mas.set(5);
    assert_eq!(mas.walk(&mt), None);
    assert_eq!((mas.index, mas.last), (1, MAX));

    mas.set_range(0, 100);
    assert_eq!(mas.walk(&mt), Some(PTR));
    assert_eq!(mas.last, 0);
    mt.destroy();

    // A pointer with bit 0 set can live in the root.
    let ptr1 = PTR | 1;
    mas.set(0);
    mas.store(&mut mt, Some(ptr1)).unwrap();
    assert_eq!(mt.root_kind(), RootKind::Pointer); // ours
                                                   // Ours: mas_store_root() leaves the state at ma_start.
    assert_eq!((mas.index, mas.last, mas.status), (0, 0, Status::Start));
    assert_eq!(mas.next(&mt, MAX), None);
    assert_eq!((mas.index, mas.last), (1, MAX));

    mas.set(1);
    assert_eq!(mas.prev(&mt, 0), Some(ptr1));
    assert_eq!((mas.index, mas.last), (0, 0));
    mt.destroy();

    // The kernel's last block stores `ptr | 2` through the advanced API,
    // which forces a node. The normal API of this project refuses such
    // values.
    mas.set(0);
    assert_eq!(mas.store(&mut mt, Some(PTR | 2)), Err(Errno::EINVAL));
    assert!(mt.is_empty());
}
