// SPDX-License-Identifier: GPL-2.0-or-later
//! Gap searches on a maple state that already stands somewhere:
//! `mas_empty_area()` and `mas_empty_area_rev()` called on a state that is
//! not in start status.
//!
//! From start status both are the whole searches
//! ([`TreeOracle::empty_area`], [`TreeOracle::empty_area_rev`]). From
//! an active state the kernel does not restart: it moves the state within
//! the leaf it stands in and walks on from there, so where the search
//! begins depends on the leaf's slot offsets, which the oracle does not
//! have. What the kernel's code allows, read from Linux 6.12's
//! `lib/maple_tree.c`:
//!
//! - `mas_empty_area()`: with the state at offset 2 or more in its leaf,
//!   the search starts two slots back (`mas->offset -= 2`); at offset 0 or
//!   1, `mas_skip_node()` moves it past the leaf (in a leaf that is the
//!   root, just past the current slot) or fails with `EBUSY` when no node
//!   follows. The walk then takes the first slot from there whose NULL
//!   range, cut to `[min, max]`, holds `size` indices (`mas_anode_descend()`
//!   per node, `mas_skip_node()` between nodes), and fails with `EBUSY`
//!   past a slot reaching `max`. A leaf holds at most 16 slots, so the
//!   search starts at the slot two before the current one, or at one of
//!   the 16 slots after it: at most 17 possible answers, which is the set
//!   the oracle gives.
//! - `mas_empty_area_rev()`: at offset 2 or more, two slots back, then
//!   downward; at offset 0 or 1 `mas_rewind_node()` climbs to the first
//!   ancestor where the state's slot is not the first, steps one slot left
//!   there, and the search goes on two slots further left in that node or,
//!   when fewer are left, from that node's last slot; from the root leaf's
//!   first slot it fails with `EBUSY`. Where that lands is a matter of the
//!   node layout at every level, so the oracle admits every answer a
//!   downward search from any slot can give: the top `size` indices of any
//!   NULL range that fits, cut to `[min, max]`, or `EBUSY`.
//!
//! Both give the same window a whole search would give for the slot they
//! take, so what the oracle checks beyond the set is that the window is
//! free, fits and lies in `[min, max]`.
//!
//! The slots are the entries and the maximal holes between them (see the
//! module documentation of [`super`]).

use super::{Cursor, Status};
use crate::tree::{RootKind, Slot, TreeOracle};
use crate::Errno;

/// A leaf holds at most this many slots (`MAPLE_RANGE64_SLOTS`).
const LEAF_SLOTS: usize = 16;

impl Cursor {
    /// Every answer `mas_empty_area()` (or `mas_empty_area_rev()` with
    /// `rev`) may give on this state: one for a state in start status,
    /// the set described in the module documentation for an active one.
    /// The state is not moved; [`searched`](Self::searched) moves it to
    /// the answer the engines gave.
    ///
    /// Only start and active states are answered, and none or root ones
    /// on a tree without nodes (the kernel has no node to resume from in
    /// any other case); for the others the result is empty.
    pub fn empty_area_answers(
        &self,
        tree: &TreeOracle,
        min: u64,
        max: u64,
        size: u64,
        rev: bool,
    ) -> Vec<Result<(u64, u64), Errno>> {
        if min > max || size == 0 || max - min < size - 1 {
            return vec![Err(Errno::EINVAL)];
        }
        let whole = || {
            if rev {
                tree.empty_area_rev(min, max, size)
            } else {
                tree.empty_area(min, max, size)
            }
        };
        match self.status {
            Status::Start => return vec![whole()],
            // mas_start() left the state of a tree without nodes at offset
            // MAPLE_NODE_SLOTS: the search steps back two slots there and
            // answers from mas_sparse_area(), as a whole search does.
            Status::None | Status::Root if tree.root_kind() != RootKind::Node => {
                return vec![whole()]
            }
            Status::Active if tree.root_kind() == RootKind::Node => {}
            _ => return Vec::new(),
        }
        let mut out = Vec::new();
        let mut add = |r: Result<(u64, u64), Errno>| {
            if !out.contains(&r) {
                out.push(r);
            }
        };
        if rev {
            add(Err(Errno::EBUSY));
            for (first, last) in holes(tree) {
                if let Some(w) = fit(first, last, min, max, size, true) {
                    add(Ok(w));
                }
            }
            return out;
        }
        let cur = tree.slot(self.index);
        // Two slots back (the state at offset 2 or more in its leaf).
        if let Some(back) = prev(tree, cur).and_then(|s| prev(tree, s)) {
            add(first_fit_from(tree, back, min, max, size));
        }
        // Past the current slot: the next slot of a root leaf, or the
        // first slot of the next leaf, at most LEAF_SLOTS slots on.
        let mut at = next(tree, cur);
        for _ in 0..LEAF_SLOTS {
            match at {
                Some(s) => {
                    add(first_fit_from(tree, s, min, max, size));
                    at = next(tree, s);
                }
                None => {
                    add(Err(Errno::EBUSY));
                    break;
                }
            }
        }
        out
    }

    /// Moves the state where a gap search that answered `answer` leaves
    /// it: on the window found, active. After an error it is left alone:
    /// `EINVAL` comes before anything else, and after any other error the
    /// kernel's state is in error status (or, after a failed
    /// `mas_rewind_node()`, stands on an ancestor node), which the
    /// engines' shared rules keep every op that resumes from it away from
    /// until the state is set, reset, walked or paused.
    pub fn searched(&mut self, tree: &TreeOracle, answer: Result<(u64, u64), Errno>) {
        let Ok((first, last)) = answer else {
            return;
        };
        self.index = first;
        self.last = last;
        match tree.root_kind() {
            RootKind::Node => {
                self.status = Status::Active;
                self.node = Some(tree.generation());
            }
            // mas_sparse_area() answered: the status is what mas_start()
            // found (from start status), or stays none or root.
            RootKind::Empty => {
                self.status = Status::None;
                self.node = None;
            }
            RootKind::Pointer => {
                self.status = Status::Root;
                self.node = None;
            }
        }
    }
}

/// The slot after `s`, if any.
fn next(tree: &TreeOracle, s: Slot) -> Option<Slot> {
    s.last.checked_add(1).map(|i| tree.slot(i))
}

/// The slot before `s`, if any.
fn prev(tree: &TreeOracle, s: Slot) -> Option<Slot> {
    s.first.checked_sub(1).map(|i| tree.slot(i))
}

/// The holes (NULL slots) of a node tree, in order.
fn holes(tree: &TreeOracle) -> Vec<(u64, u64)> {
    let mut out = Vec::new();
    let mut at = Some(tree.slot(0));
    while let Some(s) = at {
        if s.value.is_none() {
            out.push((s.first, s.last));
        }
        at = next(tree, s);
    }
    out
}

/// The window of `size` indices a search takes in the hole
/// `[first, last]` cut to `[min, max]`: its lowest (or, with `top`,
/// highest) indices, if they fit.
fn fit(first: u64, last: u64, min: u64, max: u64, size: u64, top: bool) -> Option<(u64, u64)> {
    let lo = first.max(min);
    let hi = last.min(max);
    if lo > hi || hi - lo < size - 1 {
        return None;
    }
    Some(if top {
        (hi - (size - 1), hi)
    } else {
        (lo, lo + (size - 1))
    })
}

/// The first window a forward search starting at slot `s` takes, or
/// `EBUSY`: slots below `min` are passed over, and the search ends after
/// the slot that reaches `max`.
fn first_fit_from(
    tree: &TreeOracle,
    s: Slot,
    min: u64,
    max: u64,
    size: u64,
) -> Result<(u64, u64), Errno> {
    let mut at = Some(s);
    while let Some(s) = at {
        if s.last >= min && s.value.is_none() {
            if let Some(w) = fit(s.first, s.last, min, max, size, false) {
                return Ok(w);
            }
        }
        if s.last >= max {
            break;
        }
        at = next(tree, s);
    }
    Err(Errno::EBUSY)
}
