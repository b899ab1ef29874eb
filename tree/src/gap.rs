//! Free-range search in allocation trees: `mas_empty_area()` (lowest fit),
//! `mas_empty_area_rev()` (highest fit), and the walks under them, which
//! descend along the largest-gap records of arange_64 nodes.

use super::node::{enode_id, enode_type, NodeType, MAPLE_NODE_SLOTS};
use super::state::{mas_ascend, mas_data_end, mas_start, safe_min, safe_pivot, Mas};
use super::{Errno, MapleTree};
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
    while mas.last < min {
        offset -= 1;
        min = safe_min(a, mas, n, offset);
    }
    let mut max = safe_pivot(a, mas, n, offset);
    let mut gap = 0;
    let mut ascend = false;
    while mas.index <= max {
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
    mas: &mut Mas,
    mut min: u64,
    max: u64,
    size: u64,
    fwd: bool,
) -> Result<(), Errno> {
    if !mas.is_none() && min == 0 {
        min += 1;
        if min > max || (max - min).wrapping_add(1) < size {
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
    } else if mas.offset >= 2 {
        mas.offset -= 2;
    } else if !mas_skip_node(t, mas) {
        return Err(Errno::EBUSY);
    }
    if mas.is_none() || mas.is_ptr() {
        return mas_sparse_area(mas, min, max, size, true);
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
    } else if mas.offset < 2 && !mas_rewind_node(t, mas) {
        return Err(Errno::EBUSY);
    }
    if mas.is_none() || mas.is_ptr() {
        return mas_sparse_area(mas, min, max, size, false);
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
