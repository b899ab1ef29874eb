//! Bugs this project found in Linux 6.12 `lib/maple_tree.c`, pinned down.
//! The Rust port reproduces the kernel faithfully, bugs included; each test
//! shows the kernel's (wrong) answer in the port beside the right answer
//! from the naive oracle. When the kernel is fixed and the port follows, the
//! test is updated to expect agreement.

use maplefuzz::tree::{Errno, MapleTree, MT_FLAGS_ALLOC_RANGE};
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
    assert_eq!(o.alloc_range(true, entry, 8, 0x17d, u64::MAX, true), Ok(u64::MAX - 15));

    // A window that stops one short of ULONG_MAX does not wrap.
    assert_eq!(t.alloc_rrange(entry, 8, 0x17d, u64::MAX - 1), Ok(u64::MAX - 15));
}
