// SPDX-License-Identifier: GPL-2.0-or-later
//! The status handling that precedes every step: `mas_next_setup()`,
//! `mas_prev_setup()`, `mas_find_setup()` and `mas_find_rev_setup()`.
//!
//! Each returns `Break(entry)` when the status alone decides the answer of
//! the call, and `Continue(())` when the caller must step through the slots.

use std::ops::ControlFlow;

use super::{Cursor, Status};
use crate::tree::TreeOracle;

impl Cursor {
    /// `mas_next_setup()`: `Break(entry)` when the status alone decides the
    /// answer, `Continue` when `mas_next_slot()` must step.
    pub(super) fn next_setup(&mut self, tree: &TreeOracle, max: u64) -> ControlFlow<Option<u64>> {
        let was_none = self.status == Status::None;
        if self.last >= max {
            self.status = Status::Overflow;
            return ControlFlow::Break(None);
        }
        match self.status {
            Status::Active => return ControlFlow::Continue(()),
            Status::None | Status::Pause | Status::Start => {
                // The walk's answer is dropped: next never returns the
                // entry at index.
                self.walk(tree);
            }
            // The limit changed: step on from where the state stands.
            Status::Overflow => self.status = Status::Active,
            Status::Underflow => {
                // The state stands one before where the caller expects it.
                self.status = Status::Active;
                let entry = self.walk(tree);
                if entry.is_some() {
                    return ControlFlow::Break(entry);
                }
            }
            Status::Root => {}
        }
        match self.status {
            Status::Active => ControlFlow::Continue(()),
            Status::Root => {
                if was_none && self.index == 0 {
                    self.index = 0;
                    self.last = 0;
                } else {
                    self.index = 1;
                    self.last = u64::MAX;
                    self.status = Status::None;
                }
                ControlFlow::Break(None)
            }
            _ => ControlFlow::Break(None),
        }
    }

    /// `mas_prev_setup()`.
    pub(super) fn prev_setup(&mut self, tree: &TreeOracle, min: u64) -> ControlFlow<Option<u64>> {
        if self.index <= min {
            self.status = Status::Underflow;
            return ControlFlow::Break(None);
        }
        match self.status {
            Status::Active => return ControlFlow::Continue(()),
            Status::Start | Status::None | Status::Pause => self.status = Status::Start,
            // The limit changed: step on from where the state stands.
            Status::Underflow => self.status = Status::Active,
            Status::Overflow => {
                // The state stands one after where the caller expects it.
                self.status = Status::Active;
                let entry = self.walk(tree);
                if entry.is_some() {
                    return ControlFlow::Break(entry);
                }
            }
            Status::Root => {}
        }
        if self.status == Status::Start {
            self.walk(tree);
        }
        match self.status {
            Status::Root => {
                if self.index == 0 {
                    self.status = Status::None;
                    return ControlFlow::Break(None);
                }
                self.index = 0;
                self.last = 0;
                ControlFlow::Break(tree.root_entry())
            }
            Status::None => {
                if self.index != 0 {
                    // Walked beyond a root pointer: the previous entry is
                    // the one at index 0.
                    self.index = 0;
                    self.last = 0;
                    self.status = Status::Root;
                    return ControlFlow::Break(tree.root_entry());
                }
                ControlFlow::Break(None)
            }
            _ => ControlFlow::Continue(()),
        }
    }

    /// `mas_find_setup()`.
    pub(super) fn find_setup(&mut self, tree: &TreeOracle, max: u64) -> ControlFlow<Option<u64>> {
        match self.status {
            Status::Active => {
                return if self.last < max {
                    ControlFlow::Continue(())
                } else {
                    ControlFlow::Break(None)
                };
            }
            Status::Start => {}
            Status::Pause => {
                if self.last >= max {
                    return ControlFlow::Break(None);
                }
                self.last += 1;
                self.index = self.last;
                self.status = Status::Start;
            }
            Status::None => {
                if self.last >= max {
                    return ControlFlow::Break(None);
                }
                self.index = self.last;
                self.status = Status::Start;
            }
            Status::Underflow => {
                if self.index >= max {
                    self.status = Status::Overflow;
                    return ControlFlow::Break(None);
                }
                self.status = Status::Active;
                let entry = self.walk(tree);
                if entry.is_some() {
                    return ControlFlow::Break(entry);
                }
            }
            Status::Overflow => {
                if self.last >= max {
                    return ControlFlow::Break(None);
                }
                self.status = Status::Active;
                let entry = self.walk(tree);
                if entry.is_some() {
                    return ControlFlow::Break(entry);
                }
            }
            Status::Root => {}
        }
        if self.status == Status::Start {
            // First run, or continuing after a pause.
            if self.index > max {
                return ControlFlow::Break(None);
            }
            let entry = self.walk(tree);
            if entry.is_some() {
                return ControlFlow::Break(entry);
            }
        }
        match self.status {
            Status::Root => {
                // The root pointer was already returned: nothing follows.
                self.status = Status::None;
                self.index = 1;
                self.last = u64::MAX;
                ControlFlow::Break(None)
            }
            Status::None => ControlFlow::Break(None),
            _ if self.index == max => ControlFlow::Break(None),
            _ => ControlFlow::Continue(()),
        }
    }

    /// `mas_find_rev_setup()`.
    pub(super) fn find_rev_setup(
        &mut self,
        tree: &TreeOracle,
        min: u64,
    ) -> ControlFlow<Option<u64>> {
        match self.status {
            Status::Active => return self.rev_limit(min),
            Status::Start => {}
            Status::Pause => {
                if self.index <= min {
                    self.status = Status::Underflow;
                    return ControlFlow::Break(None);
                }
                self.index -= 1;
                self.last = self.index;
                self.status = Status::Start;
            }
            Status::None => {
                if self.index <= min {
                    self.status = Status::None;
                    return ControlFlow::Break(None);
                }
                self.last = self.index;
                self.status = Status::Start;
            }
            Status::Overflow => {
                if self.index <= min {
                    self.status = Status::Underflow;
                    return ControlFlow::Break(None);
                }
                self.status = Status::Active;
            }
            Status::Underflow => {
                if self.index <= min {
                    return ControlFlow::Break(None);
                }
                self.status = Status::Active;
            }
            Status::Root => {}
        }
        if self.status == Status::Start {
            // First run, or continuing after a pause.
            if self.index < min {
                return ControlFlow::Break(None);
            }
            let entry = self.walk(tree);
            if entry.is_some() {
                return ControlFlow::Break(entry);
            }
        }
        match self.status {
            Status::Root => {
                self.status = Status::None;
                ControlFlow::Break(None)
            }
            Status::None => {
                // Nothing at or above the walked index: what is left is the
                // root entry at 0 (NULL for an empty tree, whose state still
                // ends up with status root).
                self.index = 0;
                self.last = 0;
                self.status = Status::Root;
                ControlFlow::Break(tree.root_entry())
            }
            _ => self.rev_limit(min),
        }
    }

    /// The last test of `mas_find_rev_setup()` for an active state.
    pub(super) fn rev_limit(&self, min: u64) -> ControlFlow<Option<u64>> {
        if self.index < min {
            ControlFlow::Break(None)
        } else {
            ControlFlow::Continue(())
        }
    }
}
