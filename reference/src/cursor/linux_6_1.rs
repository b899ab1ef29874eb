// SPDX-License-Identifier: GPL-2.0-or-later
//! The read cursor of Linux 6.1 ([`TreeProfile::Linux6_1`]).
//!
//! 6.1 keeps a maple state's status in `mas->node` (`MAS_START`,
//! `MAS_ROOT`, `MAS_NONE`, `MAS_PAUSE`, or a node: active); it has no
//! overflow or underflow. Its iterators step with `mas_next_entry()` and
//! `mas_prev_entry()`, which, when nothing is found within the limit, set
//! `index = last = limit` and leave the state where it is. Linux 6.5 to 6.8
//! rewrote all of this:
//! - "maple_tree: introduce mas_next_slot() interface" and
//!   "maple_tree: introduce mas_prev_slot() interface" (Liam R. Howlett,
//!   Linux 6.5) replaced `mas_next_entry()`/`mas_prev_entry()`;
//! - "maple_tree: add MAS_UNDERFLOW and MAS_OVERFLOW states" (Linux 6.6)
//!   gave the end of an iteration a status of its own and rewrote the
//!   status handling of `mas_next()`, `mas_prev()`, `mas_find()` and
//!   `mas_find_rev()` (their `*_setup()` helpers);
//! - "maple_tree: separate ma_state node from status" (Linux 6.8) moved the
//!   status out of `mas->node` (`enum maple_status`).
//!
//! The short hashes of these commits were not confirmed here (no upstream
//! history at hand); the titles are those of the upstream series.
//!
//! Each function below follows its 6.1 namesake; every place where the
//! answer differs from the 6.12 model in [`super`] says so.
//!
//! Where 6.1 leaves the state on a node position that `index`/`last` do not
//! describe (after an unsuccessful `mas_next_entry()`/`mas_prev_entry()`,
//! which keeps the last node and offset it looked at), the cursor is not
//! [`is_positioned`](Cursor::is_positioned): which slot 6.1 would step from
//! depends on the node layout, as for a stale 6.12 state.

use super::{Cursor, Status};
use crate::tree::{RootKind, TreeOracle};

impl Cursor {
    /// 6.1's `mas_walk()` from a fresh state (`mas_set()` or status start).
    ///
    /// As 6.12's, except on a root pointer with `index > 0`: 6.1 keeps the
    /// status `MAS_ROOT` (with `index = 1`, `last = u64::MAX`) where 6.12
    /// reports none.
    pub(super) fn walk_6_1(&mut self, tree: &TreeOracle) -> Option<u64> {
        self.reset();
        match tree.root_kind() {
            RootKind::Empty => {
                self.status = Status::None;
                self.index = 0;
                self.last = u64::MAX;
                None
            }
            RootKind::Pointer => {
                self.status = Status::Root;
                if self.index == 0 {
                    self.last = 0;
                    tree.root_entry()
                } else {
                    self.index = 1;
                    self.last = u64::MAX;
                    None
                }
            }
            RootKind::Node => {
                let slot = tree.slot(self.index);
                self.stand_on(slot);
                self.status = Status::Active;
                self.node = Some(tree.generation());
                slot.value
            }
        }
    }

    /// 6.1's `mas_next_entry(limit)` from an active state: the first entry
    /// after the current slot that starts at or below `limit`.
    ///
    /// Not found: `index = last = limit`, still active (6.1 puts back the
    /// last node it looked at), and not positioned. A state whose `index`
    /// is already above `limit` is paused with `index = last = limit`.
    /// (6.12: overflow, with the range where the step stopped.)
    fn next_entry_6_1(&mut self, tree: &TreeOracle, limit: u64) -> Option<u64> {
        if self.index > limit {
            self.index = limit;
            self.last = limit;
            self.pause();
            return None;
        }
        let mut slot = self.current_slot(tree, self.last)?;
        while slot.last != u64::MAX {
            slot = tree.slot(slot.last + 1);
            if slot.first > limit {
                break;
            }
            if slot.value.is_some() {
                self.stand_on(slot);
                self.status = Status::Active;
                self.node = Some(tree.generation());
                return slot.value;
            }
        }
        self.index = limit;
        self.last = limit;
        self.status = Status::Active;
        self.node = None;
        None
    }

    /// 6.1's `mas_prev_entry(min)` from an active state: the first entry
    /// before the current slot, if it ends at or above `min`.
    ///
    /// Not found: `index = last = min`, not positioned, and the status is
    /// none, except where 6.1 met the entry below `min` inside the node it
    /// was scanning (`mas_prev_nentry()` returns it and `mas_prev_entry()`
    /// then gives up, still on that node): active. That is the case when
    /// the range right after that entry reaches `min` and the scan did not
    /// have to cross a node boundary below `min`; the oracle has no nodes
    /// and answers active whenever the range after the entry reaches `min`
    /// (exact for a tree whose root is a leaf). (6.12: underflow.)
    fn prev_entry_6_1(&mut self, tree: &TreeOracle, min: u64) -> Option<u64> {
        if self.index < min {
            self.index = min;
            self.last = min;
            self.status = Status::None;
            self.node = None;
            return None;
        }
        let mut slot = self.current_slot(tree, self.index)?;
        let mut status = Status::None;
        while slot.first != 0 {
            let after = slot;
            slot = tree.slot(slot.first - 1);
            if slot.value.is_some() {
                if slot.last >= min {
                    self.stand_on(slot);
                    self.status = Status::Active;
                    self.node = Some(tree.generation());
                    return slot.value;
                }
                if after.last >= min {
                    // Active if the scan met this entry in its own node,
                    // none if it crossed a node boundary to get here.
                    status = Status::Active;
                    self.also = Some(Status::None);
                }
                break;
            }
            if slot.last < min {
                // mas_prev_nentry() stops at a NULL slot below `min`.
                break;
            }
        }
        self.index = min;
        self.last = min;
        self.status = status;
        self.node = None;
        None
    }

    /// 6.1's `mas_next()`.
    pub(super) fn next_6_1(&mut self, tree: &TreeOracle, max: u64) -> Option<u64> {
        if matches!(self.status, Status::None | Status::Pause) {
            self.reset();
        }
        if self.status == Status::Start {
            self.walk_6_1(tree);
        }
        if self.status == Status::Root {
            // The root pointer: nothing follows it. 6.12 reports none.
            if self.index == 0 {
                self.index = 1;
                self.last = u64::MAX;
            }
            return None;
        }
        // An empty tree walks to [0, u64::MAX]; 6.12 reports overflow.
        if self.last == u64::MAX {
            return None;
        }
        self.next_entry_6_1(tree, max)
    }

    /// 6.1's `mas_prev()`.
    pub(super) fn prev_6_1(&mut self, tree: &TreeOracle, min: u64) -> Option<u64> {
        if self.index == 0 {
            // "Nothing comes before 0": none, whatever the limit (6.12:
            // underflow, `last` kept).
            self.last = 0;
            self.status = Status::None;
            self.node = None;
            return None;
        }
        if self.status == Status::Root {
            return None;
        }
        if matches!(self.status, Status::None | Status::Pause) {
            self.reset();
        }
        if self.status == Status::Start {
            self.walk_6_1(tree);
            if self.index == 0 {
                return None;
            }
        }
        if self.status == Status::Root {
            // Walked above a root pointer: the previous entry is the root.
            self.index = 0;
            self.last = 0;
            return tree.root_entry();
        }
        if self.status == Status::None {
            return None;
        }
        self.prev_entry_6_1(tree, min)
    }

    /// 6.1's `mas_find()`.
    pub(super) fn find_6_1(&mut self, tree: &TreeOracle, max: u64) -> Option<u64> {
        if self.status == Status::Pause {
            if self.last == u64::MAX {
                self.status = Status::None;
                return None;
            }
            self.reset();
            self.last += 1;
            self.index = self.last;
        }
        if self.status == Status::None {
            self.reset();
        }
        if self.status == Status::Start {
            // A start state above the limit stays a start state.
            if self.index > max {
                return None;
            }
            let entry = self.walk_6_1(tree);
            if entry.is_some() {
                return entry;
            }
        }
        // A root pointer or an empty tree: nothing more (6.12 moves a root
        // state to none over [1, u64::MAX]).
        if matches!(self.status, Status::None | Status::Root) {
            return None;
        }
        self.next_entry_6_1(tree, max)
    }

    /// 6.1's `mas_find_rev()`.
    pub(super) fn find_rev_6_1(&mut self, tree: &TreeOracle, min: u64) -> Option<u64> {
        if self.status == Status::Pause {
            // 6.1 tests `last`, not `index`, for the end of the space, and
            // steps `index` down without a check: a paused state at index 0
            // wraps to u64::MAX.
            if self.last == u64::MAX {
                self.status = Status::None;
                return None;
            }
            self.reset();
            self.index = self.index.wrapping_sub(1);
            self.last = self.index;
        }
        if self.status == Status::Start {
            if self.index < min {
                return None;
            }
            let entry = self.walk_6_1(tree);
            if entry.is_some() {
                return entry;
            }
        }
        // 6.1 does not restart a state that is none, nor look at the root
        // pointer from above it (6.12 returns the root entry).
        if matches!(self.status, Status::None | Status::Root) {
            return None;
        }
        if self.index < min {
            return None;
        }
        self.prev_entry_6_1(tree, min)
    }
}
