//! Iteration: `mas_next_node` / `mas_prev_node`, the slot steppers, and the
//! status machines of `mas_find`, `mas_find_rev`, `mas_next` and `mas_prev`.

use super::state::{
    mas_ascend, mas_data_end, mas_rewalk, mas_walk, safe_min, safe_pivot, Mas, Status,
};
use super::MapleTree;

/// `mas_prev_node()`: move to the previous node at the same level, or set
/// underflow. Returns true if a dead node was met.
pub(crate) fn mas_prev_node(t: &MapleTree, mas: &mut Mas, min: u64) -> bool {
    let a = &t.arena;
    if mas.min == 0 {
        mas.status = Status::Underflow;
        return false;
    }
    let max = mas.min - 1;
    if max < min {
        mas.status = Status::Underflow;
        return false;
    }
    let mut level = 0;
    loop {
        if a.is_root(mas.node) {
            mas.status = Status::Underflow;
            return false;
        }
        if mas_ascend(t, mas) {
            return true;
        }
        level += 1;
        if mas.offset != 0 {
            break;
        }
    }
    let mut offset = mas.offset - 1;
    let mut node = mas.node;
    while level > 1 {
        level -= 1;
        node = a.slot(node, offset);
        mas.node = node;
        offset = a.data_end(node, max);
    }
    mas.node = a.slot(node, offset);
    if offset != 0 {
        mas.min = a.pivot(node, offset - 1).wrapping_add(1);
    }
    mas.max = max;
    mas.offset = mas_data_end(a, mas);
    if a.is_dead(mas.node) {
        return true;
    }
    mas.end = mas.offset;
    false
}

/// `mas_prev_slot()`: step back one slot (skipping NULLs unless `empty`),
/// crossing into the previous leaf when needed.
pub(crate) fn mas_prev_slot(t: &MapleTree, mas: &mut Mas, min: u64, empty: bool) -> u64 {
    let save_point = mas.index;
    'retry: loop {
        let a = &t.arena;
        if a.is_dead(mas.node) {
            mas_rewalk(t, mas, save_point);
            continue 'retry;
        }
        if mas.min <= min {
            let pivot = safe_min(a, mas, mas.node, mas.offset);
            if pivot <= min {
                mas.status = Status::Underflow;
                return 0;
            }
        }
        loop {
            if mas.offset != 0 {
                mas.offset -= 1;
                // Linux 6.12 takes `index - 1`, which is the previous
                // slot's last only while `index` is the first of the
                // current slot; a gap search leaves it at its window
                // (docs/findings/prev-after-gap-search.md).
                mas.last = if t.fixes.prev_after_gap_search {
                    a.pivot(mas.node, mas.offset)
                } else {
                    mas.index.wrapping_sub(1)
                };
                mas.index = safe_min(a, mas, mas.node, mas.offset);
            } else {
                if mas.index <= min {
                    mas.status = Status::Underflow;
                    return 0;
                }
                if mas_prev_node(t, mas, min) {
                    mas_rewalk(t, mas, save_point);
                    continue 'retry;
                }
                if mas.status == Status::Underflow {
                    // The kernel WARNs here: the caller checked the limit.
                    return 0;
                }
                mas.last = mas.max;
                mas.index = a.pivot(mas.node, mas.offset - 1).wrapping_add(1);
            }
            let entry = a.slot(mas.node, mas.offset);
            if entry != 0 {
                return entry;
            }
            if !empty {
                if mas.index <= min {
                    mas.status = Status::Underflow;
                    return 0;
                }
                continue;
            }
            return entry;
        }
    }
}

/// `mas_next_node()`: move to the next node at the same level, or set
/// overflow. Returns true if a dead node was met.
pub(crate) fn mas_next_node(t: &MapleTree, mas: &mut Mas, max: u64) -> bool {
    let a = &t.arena;
    if mas.max >= max {
        mas.status = Status::Overflow;
        return false;
    }
    let min = mas.max + 1;
    let mut level = 0;
    loop {
        if a.is_root(mas.node) {
            mas.status = Status::Overflow;
            return false;
        }
        if mas_ascend(t, mas) {
            return true;
        }
        level += 1;
        let node_end = a.data_end(mas.node, mas.max);
        if mas.offset != node_end {
            break;
        }
    }
    let mut node = mas.node;
    mas.offset += 1;
    let mut enode = a.slot(node, mas.offset);
    if level > 1 {
        mas.offset = 0;
    }
    while level > 1 {
        level -= 1;
        node = enode;
        mas.node = enode;
        enode = a.slot(node, 0);
    }
    mas.max = safe_pivot(a, mas, node, mas.offset);
    mas.end = a.data_end(enode, mas.max);
    mas.node = enode;
    mas.min = min;
    false
}

/// `mas_next_slot()`: step forward one slot (skipping NULLs unless `empty`),
/// crossing into the next leaf when needed.
pub(crate) fn mas_next_slot(t: &MapleTree, mas: &mut Mas, max: u64, empty: bool) -> u64 {
    let save_point = mas.last;
    'retry: loop {
        let a = &t.arena;
        if a.is_dead(mas.node) {
            mas_rewalk(t, mas, save_point);
            continue 'retry;
        }
        if mas.max >= max {
            let pivot = if mas.offset < mas.end {
                a.pivot(mas.node, mas.offset)
            } else {
                mas.max
            };
            if pivot >= max {
                mas.status = Status::Overflow;
                return 0;
            }
        }
        let mut step_in_node = if mas.offset < mas.end {
            mas.index = a.pivot(mas.node, mas.offset).wrapping_add(1);
            true
        } else {
            if mas.last >= max {
                mas.status = Status::Overflow;
                return 0;
            }
            if mas_next_node(t, mas, max) {
                mas_rewalk(t, mas, save_point);
                continue 'retry;
            }
            if mas.status == Status::Overflow {
                // The kernel WARNs here: the caller checked the limit.
                return 0;
            }
            mas.offset = 0;
            mas.index = mas.min;
            mas.last = a.pivot(mas.node, 0);
            false
        };
        loop {
            if step_in_node {
                mas.offset += 1;
                mas.last = if mas.offset < mas.end {
                    a.pivot(mas.node, mas.offset)
                } else {
                    mas.max
                };
            }
            let entry = a.slot(mas.node, mas.offset);
            if entry != 0 {
                return entry;
            }
            if !empty {
                if mas.last >= max {
                    mas.status = Status::Overflow;
                    return 0;
                }
                mas.index = mas.last.wrapping_add(1);
                step_in_node = true;
                continue;
            }
            return entry;
        }
    }
}

/// `mas_next_entry()`.
pub(crate) fn mas_next_entry(t: &MapleTree, mas: &mut Mas, limit: u64) -> u64 {
    if mas.last >= limit {
        mas.status = Status::Overflow;
        return 0;
    }
    mas_next_slot(t, mas, limit, false)
}

/// `mas_next_setup()`: returns `Some(entry)` when the call is already answered.
fn mas_next_setup(t: &MapleTree, mas: &mut Mas, max: u64) -> Option<u64> {
    let was_none = mas.is_none();
    if mas.last >= max {
        mas.status = Status::Overflow;
        return Some(0);
    }
    match mas.status {
        Status::Active => return None,
        Status::None | Status::Pause | Status::Start => {
            mas.status = Status::Start;
            mas_walk(t, mas);
        }
        Status::Overflow => mas.status = Status::Active,
        Status::Underflow => {
            mas.status = Status::Active;
            let e = mas_walk(t, mas);
            if e != 0 {
                return Some(e);
            }
        }
        Status::Root => {}
        Status::Error => return Some(0),
    }
    if mas.is_active() {
        return None;
    }
    if mas.is_ptr() {
        if was_none && mas.index == 0 {
            mas.index = 0;
            mas.last = 0;
            return Some(0);
        }
        mas.index = 1;
        mas.last = u64::MAX;
        mas.status = Status::None;
        return Some(0);
    }
    if mas.is_none() {
        return Some(0);
    }
    None
}

/// `mas_next()` (`empty == false`) and `mas_next_range()` (`empty == true`).
pub(crate) fn mas_next(t: &MapleTree, mas: &mut Mas, max: u64, empty: bool) -> u64 {
    if let Some(e) = mas_next_setup(t, mas, max) {
        return e;
    }
    mas_next_slot(t, mas, max, empty)
}

/// `mas_prev_setup()`.
fn mas_prev_setup(t: &MapleTree, mas: &mut Mas, min: u64) -> Option<u64> {
    if mas.index <= min {
        mas.status = Status::Underflow;
        return Some(0);
    }
    match mas.status {
        Status::Active => return None,
        Status::Start => {}
        Status::None | Status::Pause => mas.status = Status::Start,
        Status::Underflow => mas.status = Status::Active,
        Status::Overflow => {
            mas.status = Status::Active;
            let e = mas_walk(t, mas);
            if e != 0 {
                return Some(e);
            }
        }
        Status::Root => {}
        Status::Error => return Some(0),
    }
    if mas.is_start() {
        mas_walk(t, mas);
    }
    if mas.is_ptr() {
        if mas.index == 0 {
            mas.status = Status::None;
            return Some(0);
        }
        mas.index = 0;
        mas.last = 0;
        return Some(t.root);
    }
    if mas.is_none() {
        if mas.index != 0 {
            mas.index = 0;
            mas.last = 0;
            mas.status = Status::Root;
            return Some(t.root);
        }
        return Some(0);
    }
    None
}

/// `mas_prev()` (`empty == false`) and `mas_prev_range()` (`empty == true`).
pub(crate) fn mas_prev(t: &MapleTree, mas: &mut Mas, min: u64, empty: bool) -> u64 {
    if let Some(e) = mas_prev_setup(t, mas, min) {
        return e;
    }
    mas_prev_slot(t, mas, min, empty)
}

/// `mas_find_setup()`.
fn mas_find_setup(t: &MapleTree, mas: &mut Mas, max: u64) -> Option<u64> {
    match mas.status {
        Status::Active => {
            if mas.last < max {
                return None;
            }
            return Some(0);
        }
        Status::Start => {}
        Status::Pause => {
            if mas.last >= max {
                return Some(0);
            }
            mas.last += 1;
            mas.index = mas.last;
            mas.status = Status::Start;
        }
        Status::None => {
            if mas.last >= max {
                return Some(0);
            }
            mas.index = mas.last;
            mas.status = Status::Start;
        }
        Status::Underflow => {
            if mas.index >= max {
                mas.status = Status::Overflow;
                return Some(0);
            }
            mas.status = Status::Active;
            let e = mas_walk(t, mas);
            if e != 0 {
                return Some(e);
            }
        }
        Status::Overflow => {
            if mas.last >= max {
                return Some(0);
            }
            mas.status = Status::Active;
            let e = mas_walk(t, mas);
            if e != 0 {
                return Some(e);
            }
        }
        Status::Root => {}
        Status::Error => return Some(0),
    }
    if mas.is_start() {
        if mas.index > max {
            return Some(0);
        }
        let e = mas_walk(t, mas);
        if e != 0 {
            return Some(e);
        }
    }
    if mas.is_ptr() {
        mas.status = Status::None;
        mas.index = 1;
        mas.last = u64::MAX;
        return Some(0);
    }
    if mas.is_none() {
        return Some(0);
    }
    if mas.index == max {
        return Some(0);
    }
    None
}

/// `mas_find()` (`empty == false`) and `mas_find_range()` (`empty == true`).
pub(crate) fn mas_find(t: &MapleTree, mas: &mut Mas, max: u64, empty: bool) -> u64 {
    if let Some(e) = mas_find_setup(t, mas, max) {
        return e;
    }
    let e = mas_next_slot(t, mas, max, empty);
    if !empty {
        // mas_find() ignores the overflow its last step may have set.
        mas.status = Status::Active;
    }
    e
}

/// `mas_find_rev_setup()`.
fn mas_find_rev_setup(t: &MapleTree, mas: &mut Mas, min: u64) -> Option<u64> {
    match mas.status {
        Status::Active => {
            if mas.index < min {
                return Some(0);
            }
            return None;
        }
        Status::Start => {}
        Status::Pause => {
            if mas.index <= min {
                mas.status = Status::Underflow;
                return Some(0);
            }
            mas.index -= 1;
            mas.last = mas.index;
            mas.status = Status::Start;
        }
        Status::None => {
            if mas.index <= min {
                mas.status = Status::None;
                return Some(0);
            }
            mas.last = mas.index;
            mas.status = Status::Start;
        }
        Status::Overflow => {
            if mas.index <= min {
                mas.status = Status::Underflow;
                return Some(0);
            }
            mas.status = Status::Active;
        }
        Status::Underflow => {
            if mas.index <= min {
                return Some(0);
            }
            mas.status = Status::Active;
        }
        Status::Root => {}
        Status::Error => return Some(0),
    }
    if mas.is_start() {
        if mas.index < min {
            return Some(0);
        }
        let e = mas_walk(t, mas);
        if e != 0 {
            return Some(e);
        }
    }
    if mas.is_ptr() {
        mas.status = Status::None;
        return Some(0);
    }
    if mas.is_none() {
        mas.index = 0;
        mas.last = 0;
        mas.status = Status::Root;
        return Some(t.root);
    }
    if mas.index < min {
        return Some(0);
    }
    None
}

/// `mas_find_rev()` (`empty == false`) and `mas_find_range_rev()` (`empty == true`).
pub(crate) fn mas_find_rev(t: &MapleTree, mas: &mut Mas, min: u64, empty: bool) -> u64 {
    if let Some(e) = mas_find_rev_setup(t, mas, min) {
        return e;
    }
    mas_prev_slot(t, mas, min, empty)
}

/// `mas_pause()`.
pub(crate) fn mas_pause(mas: &mut Mas) {
    mas.status = Status::Pause;
    mas.node = 0;
}

/// `mt_find()`: the first entry in `[*index, max]`; advances `*index` past it.
pub(crate) fn mt_find(t: &MapleTree, index: &mut u64, max: u64) -> Option<u64> {
    if *index > max {
        return None;
    }
    let mut mas = Mas::new(*index, *index);
    let mut entry = loop {
        let e = super::state::mas_state_walk(t, &mut mas);
        if !mas.is_start() {
            break e;
        }
    };
    if entry == 0 {
        while mas.is_active() && mas.last < max {
            entry = mas_next_entry(t, &mut mas, max);
            if entry != 0 {
                break;
            }
        }
    }
    if entry != 0 {
        *index = mas.last.wrapping_add(1);
        Some(entry)
    } else {
        None
    }
}
