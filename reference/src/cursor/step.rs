// SPDX-License-Identifier: GPL-2.0-or-later
//! Stepping through leaf slots: `mas_next_slot()` and `mas_prev_slot()`.
//!
//! The slots of a node tree are its entries and the maximal holes between
//! them, so a step is a move to the neighbouring range, whichever node it
//! lives in. With `empty == false` a NULL slot is stepped over; there is
//! never more than one in a row.

use super::{Cursor, Status};
use crate::tree::{RootKind, Slot, TreeOracle};

impl Cursor {
    /// Stand on `slot`: its range becomes `[index, last]`.
    pub(super) fn stand_on(&mut self, slot: Slot) {
        self.index = slot.first;
        self.last = slot.last;
    }

    /// The slot an active state stands on, found from `save_point` (`last`
    /// going forward, `index` going backward, as `mas_rewalk()` would).
    /// `None` when the tree has no node, where the kernel's step would
    /// dereference a NULL or freed node.
    pub(super) fn current_slot(&mut self, tree: &TreeOracle, save_point: u64) -> Option<Slot> {
        if tree.root_kind() != RootKind::Node {
            // Undefined in the kernel; re-walk so that the state at least
            // describes the tree as it is.
            self.set(save_point);
            self.walk(tree);
            return None;
        }
        let slot = tree.slot(save_point);
        self.stand_on(slot);
        self.node = Some(tree.generation());
        Some(slot)
    }

    /// The state's `[index, last]`, if a step that stops at its limit
    /// leaves them as they are: on a positioned state the kernel's step
    /// checks the limit against the node's pivots and returns without
    /// touching them, which shows when they are not the slot's own range
    /// (a gap search leaves them at the window it found). A state that is
    /// not positioned is re-walked first (`mas_rewalk()`).
    fn kept_range(&self, tree: &TreeOracle) -> Option<(u64, u64)> {
        self.is_positioned(tree).then_some((self.index, self.last))
    }

    /// Puts back the range [`kept_range`](Self::kept_range) kept.
    fn keep(&mut self, kept: Option<(u64, u64)>) {
        if let Some((index, last)) = kept {
            self.index = index;
            self.last = last;
        }
    }

    /// `mas_next_slot()`: step to the next slot; with `empty == false`, skip
    /// a NULL slot (there is never more than one in a row).
    pub(super) fn next_slot(&mut self, tree: &TreeOracle, max: u64, empty: bool) -> Option<u64> {
        let kept = self.kept_range(tree);
        let current = self.current_slot(tree, self.last)?;
        if current.last >= max {
            // The current range already reaches the limit.
            self.status = Status::Overflow;
            self.keep(kept);
            return None;
        }
        let mut slot = tree.slot(current.last + 1);
        loop {
            self.stand_on(slot);
            if slot.value.is_some() || empty {
                return slot.value;
            }
            if slot.last >= max {
                self.status = Status::Overflow;
                return None;
            }
            slot = tree.slot(slot.last + 1);
        }
    }

    /// `mas_prev_slot()`: step to the previous slot; with `empty == false`,
    /// skip a NULL slot.
    pub(super) fn prev_slot(&mut self, tree: &TreeOracle, min: u64, empty: bool) -> Option<u64> {
        let kept = self.kept_range(tree);
        let current = self.current_slot(tree, self.index)?;
        if current.first <= min {
            // The current range already starts at the limit.
            self.status = Status::Underflow;
            self.keep(kept);
            return None;
        }
        let mut slot = tree.slot(current.first - 1);
        loop {
            self.stand_on(slot);
            if slot.value.is_some() || empty {
                return slot.value;
            }
            if slot.first <= min {
                self.status = Status::Underflow;
                return None;
            }
            slot = tree.slot(slot.first - 1);
        }
    }
}
