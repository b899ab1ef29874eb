//! Free-range search in allocation trees: `mas_empty_area()` (lowest fit),
//! `mas_empty_area_rev()` (highest fit), and the walks under them, which
//! descend along the largest-gap records of arange_64 nodes.

use super::node::{enode_id, enode_type, NodeType, MAPLE_NODE_SLOTS};
use super::state::{mas_ascend, mas_data_end, mas_start, safe_min, safe_pivot, Mas};
use super::{Errno, MapleTree, Path};
use crate::mutants::{active, Mutant};

/// `mas_rev_awalk()`: search one node right to left for a gap of `size`
/// inside `[mas.index, mas.last]`. Returns true when done (found in a leaf,
/// or an error); false to go on (descended, or the caller must rewind).
fn mas_rev_awalk(
    t: &MapleTree,
    mas: &mut Mas,
    size: u64,
    gap_min: &mut u64,
    gap_max: &mut u64,
) -> bool {
    let a = &t.arena;
    let n = mas.node;
    let ty = enode_type(n);
    if mas.is_err() {
        return true;
    }
    let gaps = ty == NodeType::Arange64;
    let mut offset = mas.offset;
    let mut min = safe_min(a, mas, n, offset);
    let mut ascend = false;
    while mas.last < min {
        // A search resumed above its window can find every slot of the
        // node above it. Linux 6.12 steps on below offset 0: its unsigned
        // char offset wraps and the pivots read lie past the node (the
        // port's index check panics there). Fixed: on to the node before
        // (docs/findings/resumed-gap-search.md).
        if offset == 0 && t.fixes.resumed_search_window {
            ascend = true;
            break;
        }
        offset -= 1;
        min = safe_min(a, mas, n, offset);
    }
    let mut max = safe_pivot(a, mas, n, offset);
    let mut gap = 0;
    while !ascend && mas.index <= max {
        gap = 0;
        if gaps {
            gap = a.gap(n, offset);
        } else if a.slot(n, offset) == 0 {
            gap = max.wrapping_sub(min).wrapping_add(1);
            if gap == 0 && t.fixes.whole_space_gap {
                gap = u64::MAX;
            }
        }
        if gap != 0 {
            // Linux 6.12 writes `size <= last - min + 1`, which wraps to 0
            // for min == 0 and last == ULONG_MAX (Fixes::rev_gap_window).
            let window_fits = if t.fixes.rev_gap_window {
                size - 1 <= mas.last.wrapping_sub(min)
            } else {
                size <= mas.last.wrapping_sub(min).wrapping_add(1)
            };
            if size <= gap && window_fits {
                break;
            }
            if !gaps {
                // Skip the slot before this NULL too: NULLs never touch.
                if offset < 2 {
                    ascend = true;
                    break;
                }
                offset -= 2;
                max = a.pivot(n, offset);
                min = safe_min(a, mas, n, offset);
                continue;
            }
        }
        if offset == 0 {
            ascend = true;
            break;
        }
        offset -= 1;
        max = min.wrapping_sub(1);
        min = safe_min(a, mas, n, offset);
    }
    if !ascend {
        // Mutant rev-gap-lower-bound (2023, "fix mas_empty_area_rev() lower
        // bound validation"): without the size check a gap reaching below
        // the window is taken, and the range found starts below its min.
        if mas.index > max || (size - 1 > max - mas.index && !active(Mutant::RevGapLowerBound)) {
            mas.set_err(Errno::EBUSY);
            return false;
        }
        if ty.is_leaf() {
            mas.offset = offset;
            *gap_min = min;
            // A leaf's gap is the slot itself, so this is `max`; with the
            // whole-space fix the saturated size would make it one short.
            *gap_max = if t.fixes.whole_space_gap {
                max
            } else {
                min.wrapping_add(gap).wrapping_sub(1)
            };
            return true;
        }
        mas.node = a.slot(n, offset);
        mas.min = min;
        mas.max = max;
        mas.offset = mas_data_end(a, mas);
        return false;
    }
    if !a.is_root(mas.node) {
        return false;
    }
    mas.set_err(Errno::EBUSY);
    false
}

/// `mas_anode_descend()`: search one node left to right for a gap of
/// `size`; descend into the first child whose gap fits.
fn mas_anode_descend(t: &MapleTree, mas: &mut Mas, size: u64) -> bool {
    let a = &t.arena;
    let n = mas.node;
    let ty = enode_type(n);
    let gaps = ty == NodeType::Arange64;
    let mut offset = mas.offset;
    // When resumed past the last slot the kernel reads one pivot beyond the
    // array (the next word of the node) and then never uses it.
    let mut min = if offset == 0 {
        mas.min
    } else {
        a.words(enode_id(n))[ty.pivot_base() + offset - 1].wrapping_add(1)
    };
    let data_end = a.data_end(n, mas.max);
    while offset <= data_end {
        let pivot = safe_pivot(a, mas, n, offset);
        let skip = 'slot: {
            if mas.index > pivot {
                break 'slot true;
            }
            // A search resumed past its window meets slots that start
            // above it. Linux 6.12 computes the NULL slot's size from the
            // window's end all the same, which wraps, and takes the slot:
            // the range found lies above `max`. Fixed: nothing fits from
            // here (docs/findings/resumed-gap-search.md).
            if min > mas.last && t.fixes.resumed_search_window {
                mas.set_err(Errno::EBUSY);
                return true;
            }
            let gap = if gaps {
                a.gap(n, offset)
            } else if a.slot(n, offset) == 0 {
                // The size of a whole-space hole wraps to 0 in Linux 6.12
                // (Fixes::whole_space_gap).
                let g = pivot
                    .min(mas.last)
                    .wrapping_sub(mas.index.max(min))
                    .wrapping_add(1);
                if g == 0 && t.fixes.whole_space_gap {
                    u64::MAX
                } else {
                    g
                }
            } else {
                break 'slot true;
            };
            if gap >= size {
                if ty.is_leaf() {
                    mas.offset = offset;
                    return true;
                }
                if mas.index <= pivot {
                    mas.node = a.slot(n, offset);
                    mas.min = min;
                    mas.max = pivot;
                    mas.offset = 0;
                    return false;
                }
            }
            true
        };
        debug_assert!(skip);
        min = pivot.wrapping_add(1);
        if mas.last <= pivot {
            mas.set_err(Errno::EBUSY);
            return true;
        }
        offset += 1;
    }
    mas.offset = offset;
    a.is_root(mas.node)
}

/// `mas_rewind_node()`: step to the previous slot, ascending as needed.
fn mas_rewind_node(t: &MapleTree, mas: &mut Mas) -> bool {
    t.paths.bump(Path::RewindNode);
    loop {
        let slot;
        if t.arena.is_root(mas.node) {
            slot = mas.offset;
            if slot == 0 {
                return false;
            }
        } else {
            mas_ascend(t, mas);
            slot = mas.offset;
        }
        if slot != 0 {
            mas.offset = slot - 1;
            return true;
        }
    }
}

/// `mas_skip_node()`: step to the next slot, ascending as needed.
fn mas_skip_node(t: &MapleTree, mas: &mut Mas) -> bool {
    if mas.is_err() {
        return false;
    }
    t.paths.bump(Path::SkipNode);
    loop {
        if t.arena.is_root(mas.node) {
            if mas.offset >= mas_data_end(&t.arena, mas) {
                mas.set_err(Errno::EBUSY);
                return false;
            }
        } else {
            mas_ascend(t, mas);
        }
        if mas.offset < mas_data_end(&t.arena, mas) {
            break;
        }
    }
    mas.offset += 1;
    true
}

/// `mas_awalk()`: the forward search loop.
fn mas_awalk(t: &MapleTree, mas: &mut Mas, size: u64) {
    let mut last = 0;
    while !mas.is_err() && !mas_anode_descend(t, mas, size) {
        if last == mas.node {
            mas_skip_node(t, mas);
        } else {
            last = mas.node;
        }
    }
}

/// `mas_sparse_area()`: the answer for an empty or single-entry tree.
fn mas_sparse_area(
    t: &MapleTree,
    mas: &mut Mas,
    mut min: u64,
    max: u64,
    size: u64,
    fwd: bool,
) -> Result<(), Errno> {
    // Linux 6.12 takes a state in none status for an empty tree; a search
    // resumed from one that walked past a root pointer's index 0 is none
    // too, and then hands out index 0 over the entry. Fixed: ask the tree
    // (docs/findings/resumed-gap-search.md).
    let occupied = if t.fixes.resumed_search_window {
        t.root != 0
    } else {
        !mas.is_none()
    };
    if occupied && min == 0 {
        min += 1;
        // Mutant sparse-area-recheck (Apr 2023, "maple_tree: fix allocation
        // in mas_sparse_area()", Peng Zhang): before the fix the raised
        // lower bound was not checked against the size again, so a window
        // at 0 exactly as large as the size asked answered a range one
        // index past its end.
        if (min > max || (max - min).wrapping_add(1) < size) && !active(Mutant::SparseAreaRecheck) {
            return Err(Errno::EBUSY);
        }
    }
    if fwd {
        mas.index = min;
        mas.last = min.wrapping_add(size).wrapping_sub(1);
    } else {
        mas.last = max;
        mas.index = max.wrapping_sub(size).wrapping_add(1);
    }
    Ok(())
}

/// The argument checks both searches start with: `EINVAL` unless
/// `[min, max]` can hold `size` indices.
fn check_window(min: u64, max: u64, size: u64) -> Result<(), Errno> {
    // Mutant empty-area-limits (2023, "maple_tree: revise limit checks in
    // mas_empty_area{_rev}()", Liam Howlett, suggested by Peng Zhang):
    // before it both searches refused only `min >= max` (Linux 6.1 has
    // that test), so a window of one index was EINVAL and a size of 0 or
    // larger than the window went on to search.
    if active(Mutant::EmptyAreaLimits) {
        return if min >= max {
            Err(Errno::EINVAL)
        } else {
            Ok(())
        };
    }
    if min > max || size == 0 || max - min < size - 1 {
        return Err(Errno::EINVAL);
    }
    Ok(())
}

/// `mas_empty_area()`: the lowest range of `size` NULL indices within
/// `[min, max]`; on success `mas.index`/`mas.last` hold it.
pub(crate) fn mas_empty_area(
    t: &MapleTree,
    mas: &mut Mas,
    min: u64,
    max: u64,
    size: u64,
) -> Result<(), Errno> {
    check_window(min, max, size)?;
    if mas.is_start() {
        mas_start(t, mas);
    } else {
        t.paths.bump(Path::EmptyAreaResume);
        if mas.offset >= 2 {
            mas.offset -= 2;
        } else if !mas_skip_node(t, mas) {
            return Err(Errno::EBUSY);
        }
    }
    if mas.is_none() || mas.is_ptr() {
        t.paths.bump(Path::SparseArea);
        return mas_sparse_area(t, mas, min, max, size, true);
    }
    mas.index = min;
    mas.last = max;
    mas_awalk(t, mas, size);
    if mas.is_err() {
        return Err(mas.err);
    }
    let offset = mas.offset;
    if offset == MAPLE_NODE_SLOTS {
        return Err(Errno::EBUSY);
    }
    let slot_min = safe_min(&t.arena, mas, mas.node, offset);
    // Mutant empty-area-state (2023, "make maple state reusable after
    // mas_empty_area()"): the search used to narrow mas->min/max to the
    // slot found, so a store on the same state (mtree_alloc_range's
    // mas_insert) took the slot's limits for the leaf's.
    if active(Mutant::EmptyAreaState) {
        mas.min = slot_min;
        if offset < enode_type(mas.node).pivots() {
            mas.max = t.arena.pivot(mas.node, offset);
        }
    }
    if mas.index < slot_min {
        mas.index = slot_min;
    }
    mas.last = mas.index.wrapping_add(size).wrapping_sub(1);
    mas.end = t.arena.data_end(mas.node, mas.max);
    Ok(())
}

/// `mas_empty_area_rev()`: the highest range of `size` NULL indices within
/// `[min, max]`.
pub(crate) fn mas_empty_area_rev(
    t: &MapleTree,
    mas: &mut Mas,
    min: u64,
    max: u64,
    size: u64,
) -> Result<(), Errno> {
    let mut last = mas.node;
    check_window(min, max, size)?;
    if mas.is_start() {
        mas_start(t, mas);
    } else {
        t.paths.bump(Path::EmptyAreaRevResume);
        if mas.offset < 2 && !mas_rewind_node(t, mas) {
            return Err(Errno::EBUSY);
        }
    }
    if mas.is_none() || mas.is_ptr() {
        t.paths.bump(Path::SparseArea);
        return mas_sparse_area(t, mas, min, max, size, false);
    } else if mas.offset >= 2 {
        mas.offset -= 2;
    } else {
        mas.offset = mas_data_end(&t.arena, mas);
    }
    mas.index = min;
    mas.last = max;
    let (mut gmin, mut gmax) = (min, max);
    while !mas_rev_awalk(t, mas, size, &mut gmin, &mut gmax) {
        if last == mas.node {
            if !mas_rewind_node(t, mas) {
                return Err(Errno::EBUSY);
            }
        } else {
            last = mas.node;
        }
    }
    if mas.is_err() {
        return Err(mas.err);
    }
    if mas.offset == MAPLE_NODE_SLOTS {
        return Err(Errno::EBUSY);
    }
    if active(Mutant::EmptyAreaState) {
        // Before the 2023 fix mas_rev_awalk() narrowed min/max to the gap.
        mas.min = gmin;
        mas.max = gmax;
    }
    if gmax < mas.last {
        mas.last = gmax;
    }
    mas.index = mas.last.wrapping_sub(size).wrapping_add(1);
    mas.end = mas_data_end(&t.arena, mas);
    Ok(())
}

/// `mas_alloc_cyclic()`: store `entry` at the lowest free index at or above
/// `*next` within `[range_lo, range_hi]`, or, when none is free there, at
/// the lowest free index from `range_lo` on (the search wraps). On success
/// `*next` becomes the index after the one used and the answer is that
/// index and whether the search wrapped; `EBUSY` when the window is full
/// and `EINVAL` for a window no search accepts (from `mas_empty_area()`).
///
/// The tree remembers an allocation of the last index (`*next` wrapping to
/// zero) in [`MT_FLAGS_ALLOC_WRAPPED`](super::MT_FLAGS_ALLOC_WRAPPED): the
/// next allocation found without wrapping reports the wrap then, and clears
/// the flag. Linux 6.12 clears it only once the insert succeeded; the state
/// is released (`mas_destroy()`) whatever the answer.
pub(crate) fn mas_alloc_cyclic(
    t: &mut MapleTree,
    mas: &mut Mas,
    entry: u64,
    range_lo: u64,
    range_hi: u64,
    next: &mut u64,
) -> Result<(u64, bool), Errno> {
    let min = range_lo;
    let found: Result<bool, Errno> = loop {
        // First from the caller's cursor, then from the window's start.
        let from = min.max(*next);
        let mut wrapped = mas_empty_area(t, mas, from, range_hi, 1).map(|()| false);
        if wrapped.is_err() && from > min {
            // The second search starts afresh, not from wherever the
            // failed first one left the state. Mutant cyclic-no-reset
            // (Dec 2024, "reload mas before the second call for
            // mas_empty_area"): before that fix it did not.
            if !active(Mutant::CyclicNoReset) {
                mas.reset();
            }
            t.paths.bump(Path::CyclicWrap);
            wrapped = mas_empty_area(t, mas, min, range_hi, 1).map(|()| true);
        }
        let wrapped = match wrapped {
            Ok(w) => w,
            Err(e) => break Err(e),
        };
        super::write::mas_insert(t, mas, entry);
        // A failed node allocation retries the whole search once nodes
        // are at hand, as the kernel does after dropping its lock.
        if super::alloc::mas_nomem(t, mas) {
            continue;
        }
        break if mas.is_err() {
            Err(mas.err)
        } else {
            Ok(wrapped)
        };
    };
    let answer = found.map(|mut wrapped| {
        let flag = super::MT_FLAGS_ALLOC_WRAPPED;
        if t.flags & flag != 0 && !wrapped {
            t.flags &= !flag;
            wrapped = true;
        }
        let id = mas.index;
        *next = id.wrapping_add(1);
        if *next == 0 {
            t.flags |= flag;
        }
        (id, wrapped)
    });
    super::alloc::mas_destroy(t, mas);
    answer
}

#[cfg(test)]
mod cyclic_tests {
    use crate::mutants::{self, Mutant};
    use crate::{Errno, FaultSchedule, MaState, MapleTree};
    use crate::{MT_FLAGS_ALLOC_RANGE, MT_FLAGS_ALLOC_WRAPPED};

    const E: u64 = 0x11;

    fn alloc_tree() -> MapleTree {
        MapleTree::with_flags(MT_FLAGS_ALLOC_RANGE)
    }

    /// `alloc_cyclic_testing()` of lib/test_maple_tree.c, first part: one
    /// maple state reused for 100 calls (each search resumes from where the
    /// last one left the state).
    #[test]
    fn kernel_one_state_hundred_ids() {
        let mut mt = alloc_tree();
        let mut mas = MaState::new(0, 0);
        let mut next = 0;
        for i in 0..100u64 {
            let got = mas.alloc_cyclic(&mut mt, E, 2, u64::MAX, &mut next);
            assert_eq!(got, Ok((i + 2, false)));
            assert_eq!((mas.index(), mas.last(), next), (i + 2, i + 2, i + 3));
        }
        mt.validate().unwrap();
        assert_eq!(mt.entries().count(), 100);
    }

    /// Second part: `mtree_alloc_cyclic()` 100 times, each id loadable.
    #[test]
    fn kernel_tree_api_hundred_ids() {
        let mut mt = alloc_tree();
        let mut next = 0;
        for i in 0..100u64 {
            assert_eq!(
                mt.alloc_cyclic(E, 2, u64::MAX, &mut next),
                Ok((i + 2, false))
            );
            assert_eq!(next, i + 3);
            assert_eq!(mt.load(i + 2), Some(E));
        }
        mt.validate().unwrap();
    }

    /// The 7.1 suite's case (the mas_reset() fix): fill [2, 1024], free
    /// 123, and the wrapped search finds it; then 100 after freeing it.
    #[test]
    fn kernel_exhausted_window_wraps_to_freed_id() {
        let mut mt = alloc_tree();
        let mut next = 0;
        for i in 0..1023u64 {
            assert_eq!(mt.alloc_cyclic(E, 2, 1024, &mut next), Ok((i + 2, false)));
            assert_eq!(next, i + 3);
        }
        assert_eq!(mt.erase(123), Some(E));
        assert_eq!(mt.alloc_cyclic(E, 2, 1024, &mut next), Ok((123, true)));
        assert_eq!(next, 124);
        assert_eq!(mt.load(123), Some(E));
        assert_eq!(mt.erase(100), Some(E));
        assert_eq!(mt.alloc_cyclic(E, 2, 1024, &mut next), Ok((100, true)));
        assert_eq!(next, 101);
        assert_eq!(mt.alloc_cyclic(E, 2, 1024, &mut next), Err(Errno::EBUSY));
        assert_eq!(next, 101, "a failed allocation leaves next alone");
        mt.validate().unwrap();
    }

    /// The suite's overflow test: the allocation of `u64::MAX` makes `next`
    /// wrap to 0, and the next allocation reports the wrap.
    #[test]
    fn kernel_overflow_reports_wrap_once() {
        let mut mt = alloc_tree();
        let mut next = u64::MAX - 1;
        assert_eq!(
            mt.alloc_cyclic(E, 2, u64::MAX, &mut next),
            Ok((u64::MAX - 1, false))
        );
        assert_eq!(
            mt.alloc_cyclic(E, 2, u64::MAX, &mut next),
            Ok((u64::MAX, false))
        );
        assert_eq!(next, 0);
        assert_ne!(mt.attrs() & MT_FLAGS_ALLOC_WRAPPED, 0);
        assert_eq!(mt.alloc_cyclic(E, 2, u64::MAX, &mut next), Ok((2, true)));
        assert_eq!(mt.attrs() & MT_FLAGS_ALLOC_WRAPPED, 0);
        assert_eq!(mt.alloc_cyclic(E, 2, u64::MAX, &mut next), Ok((3, false)));
    }

    /// The wrap flag is tree state: `mtree_destroy()` keeps it (it keeps
    /// every attribute), and a search that wraps by itself reports 1
    /// without clearing it, so the flag is reported again later.
    #[test]
    fn wrap_flag_survives_destroy_and_self_wrapping_searches() {
        let mut mt = alloc_tree();
        let mut next = u64::MAX;
        assert_eq!(
            mt.alloc_cyclic(E, 0, u64::MAX, &mut next),
            Ok((u64::MAX, false))
        );
        mt.destroy();
        assert_ne!(mt.attrs() & MT_FLAGS_ALLOC_WRAPPED, 0);
        // From 10 in [0, 5]: an invalid first window, then the wrapped one.
        let mut next = 10;
        assert_eq!(mt.alloc_cyclic(E, 0, 5, &mut next), Ok((0, true)));
        assert_ne!(
            mt.attrs() & MT_FLAGS_ALLOC_WRAPPED,
            0,
            "kept by a wrapping search"
        );
        assert_eq!(mt.alloc_cyclic(E, 0, 5, &mut next), Ok((1, true)));
        assert_eq!(mt.attrs() & MT_FLAGS_ALLOC_WRAPPED, 0);
        assert_eq!(mt.alloc_cyclic(E, 0, 5, &mut next), Ok((2, false)));
    }

    #[test]
    fn argument_errors() {
        let mut plain = MapleTree::new();
        let mut next = 0;
        assert_eq!(plain.alloc_cyclic(E, 0, 10, &mut next), Err(Errno::EINVAL));
        let mut mt = alloc_tree();
        assert_eq!(mt.alloc_cyclic(0x2, 0, 10, &mut next), Err(Errno::EINVAL));
        // min > max: both searches refuse the window.
        assert_eq!(mt.alloc_cyclic(E, 10, 5, &mut next), Err(Errno::EINVAL));
        next = 20;
        assert_eq!(mt.alloc_cyclic(E, 10, 5, &mut next), Err(Errno::EINVAL));
        assert_eq!(next, 20);
        assert!(mt.is_empty());
    }

    /// An injected allocation failure the retry cannot cure: nothing
    /// stored, `next` and the wrap flag as before, no node leaked; the same
    /// call without the failure then reports the wrap.
    #[test]
    fn enomem_changes_nothing() {
        let mut mt = alloc_tree();
        let mut next = u64::MAX;
        assert_eq!(
            mt.alloc_cyclic(E, 0, u64::MAX, &mut next),
            Ok((u64::MAX, false))
        );
        mt.destroy();
        // An entry away from index 0 needs a leaf node.
        let mut next = 5;
        mt.set_fault_schedule(FaultSchedule::From(1));
        assert_eq!(
            mt.alloc_cyclic(E, 0, u64::MAX, &mut next),
            Err(Errno::ENOMEM)
        );
        assert_eq!(next, 5);
        assert!(mt.is_empty());
        assert_eq!(mt.nodes_live(), 0);
        assert_ne!(mt.attrs() & MT_FLAGS_ALLOC_WRAPPED, 0);
        mt.set_fault_schedule(FaultSchedule::Never);
        assert_eq!(mt.alloc_cyclic(E, 0, u64::MAX, &mut next), Ok((5, true)));
        assert_eq!(next, 6);
        mt.validate().unwrap();
    }

    /// The mutant re-creates the state the second search started from
    /// before the fix: a full window above `next`, a free id below it.
    #[test]
    fn no_reset_mutant_changes_the_wrapped_search() {
        let run = || {
            let mut mt = alloc_tree();
            let mut next = 0;
            for _ in 0..200 {
                mt.alloc_cyclic(E, 0, 199, &mut next).unwrap();
            }
            mt.erase(7);
            let mut next = 150;
            mt.alloc_cyclic(E, 0, 199, &mut next)
        };
        assert_eq!(run(), Ok((7, true)));
        if mutants::ENABLED {
            let got = mutants::with(Some(Mutant::CyclicNoReset), run);
            assert_eq!(
                got,
                Err(Errno::EBUSY),
                "the wrapped search from the failed state"
            );
        }
    }
}

#[cfg(test)]
mod path_tests {
    use crate::{Errno, MaState, MapleTree, Path, MT_FLAGS_ALLOC_RANGE};

    const E: u64 = 0x11;

    /// An allocation tree holding every index of `0..=n` but `holes`.
    fn filled(n: u64, holes: std::ops::RangeInclusive<u64>) -> MapleTree {
        let mut t = MapleTree::with_flags(MT_FLAGS_ALLOC_RANGE);
        for i in (0..=n).filter(|i| !holes.contains(i)) {
            t.store(i, Some(E)).unwrap();
        }
        t
    }

    /// Each counter moves when its path runs, and only then.
    #[test]
    fn path_counters_move() {
        let mut t = MapleTree::with_flags(MT_FLAGS_ALLOC_RANGE);
        assert!(t.path_stats().iter().all(|(_, n)| n == 0));
        // Empty, then a single entry at 0 (a root pointer).
        assert_eq!(t.alloc_range(E, 1, 0, 0), Ok(0));
        assert_eq!(t.alloc_rrange(E, 4, 0, 3), Err(Errno::EBUSY));
        assert_eq!(t.path_stats().get(Path::SparseArea), 2);

        // The hole 3..=5 meets a window starting at 4 only in 2 indices:
        // the descent enters its leaf, finds nothing and skips on.
        let t = filled(300, 3..=5);
        let mut m = MaState::new(0, 0);
        assert_eq!(m.empty_area(&t, 4, u64::MAX, 3), Ok(()));
        assert_eq!(m.index(), 301);
        assert!(t.path_stats().get(Path::SkipNode) > 0);
        assert_eq!(t.path_stats().get(Path::EmptyAreaResume), 0);
        // Searching again on the same state resumes where it stood.
        let _ = m.empty_area(&t, 0, u64::MAX, 1);
        assert_eq!(t.path_stats().get(Path::EmptyAreaResume), 1);

        // The mirror image: the hole 296..=298 holds 2 indices below 297.
        let t = filled(400, 296..=298);
        let mut m = MaState::new(0, 0);
        assert_eq!(m.empty_area_rev(&t, 0, 297, 3), Err(Errno::EBUSY));
        assert!(t.path_stats().get(Path::RewindNode) > 0);
        assert_eq!(t.path_stats().get(Path::EmptyAreaRevResume), 0);
        let mut m = MaState::new(0, 0);
        assert_eq!(m.empty_area_rev(&t, 0, u64::MAX, 1), Ok(()));
        let _ = m.empty_area_rev(&t, 0, u64::MAX, 1);
        assert_eq!(t.path_stats().get(Path::EmptyAreaRevResume), 1);

        // A full window above `next`: the second search wraps.
        let mut t = filled(10, 1..=1);
        let mut next = 5;
        assert_eq!(t.alloc_cyclic(E, 0, 10, &mut next), Ok((1, true)));
        assert_eq!(t.path_stats().get(Path::CyclicWrap), 1);
        assert_eq!(t.path_stats().get(Path::DestroyRebalance), 0);
    }

    /// `mas_destroy_rebalance()` runs only for a last leaf a bulk load left
    /// short, which an in-order load never does (`tests/bulk.rs`); a bulk
    /// store of NULL over most of the last leaf makes one.
    #[test]
    fn destroy_rebalance_is_counted() {
        let load = |stored: u64, keep: u64| {
            let mut t = MapleTree::new();
            let mut mas = MaState::new(0, 0);
            mas.expected_entries(&mut t, 300).unwrap();
            for i in 0..stored {
                mas.set_range(i, i);
                mas.store_advanced(&mut t, Some(E + 4 * i)).unwrap();
            }
            // The last leaf's first index, from the dump's last node
            // header (`  MIN-MAX: node ...`); keep `keep` entries of it.
            let dump = t.dump();
            let header = dump.lines().rfind(|l| l.contains(": node ")).unwrap();
            let range = header.trim_start().split(':').next().unwrap();
            let min = u64::from_str_radix(range.split('-').next().unwrap(), 16).unwrap();
            mas.set_range(min + keep, u64::MAX);
            mas.store_advanced(&mut t, None).unwrap();
            mas.destroy(&mut t);
            t.validate().unwrap();
            t.path_stats().get(Path::DestroyRebalance)
        };
        assert_eq!(load(20, 1), 1);
        assert_eq!(load(33, 3), 1);
    }

    /// The two mutants of the searches' argument and sparse-tree checks
    /// change the answers the fixes gave.
    #[test]
    fn limit_and_sparse_mutants_change_the_answers() {
        use crate::mutants::{self, Mutant};
        let one_index = || {
            let mut t = MapleTree::with_flags(MT_FLAGS_ALLOC_RANGE);
            t.store(9, Some(E)).unwrap();
            t.alloc_range(E, 1, 5, 5)
        };
        let full_window_at_0 = || {
            let mut t = MapleTree::with_flags(MT_FLAGS_ALLOC_RANGE);
            t.store(0, Some(E)).unwrap();
            t.alloc_range(E, 4, 0, 3)
        };
        assert_eq!(one_index(), Ok(5));
        assert_eq!(full_window_at_0(), Err(Errno::EBUSY));
        if mutants::ENABLED {
            let m = Some(Mutant::EmptyAreaLimits);
            assert_eq!(mutants::with(m, one_index), Err(Errno::EINVAL));
            let m = Some(Mutant::SparseAreaRecheck);
            // [1, 4]: one index past the window.
            assert_eq!(mutants::with(m, full_window_at_0), Ok(1));
        }
    }
}
