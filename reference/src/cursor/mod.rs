// SPDX-License-Identifier: GPL-2.0-or-later
//! The cursor oracle: `struct ma_state` as the API exposes it.
//!
//! The kernel's state also holds `node`, `offset`, `min`, `max` and `end`,
//! which locate the current leaf slot. They are not observable, and in this
//! oracle they are not needed: the kernel never leaves two NULL slots side by
//! side, so the leaf slots of a node tree are exactly the entries and the
//! maximal holes between them ([`TreeOracle::slot`]), and the slot an active
//! state stands on is the one whose range is `[index, last]`. Stepping
//! across a node boundary is then the same as stepping inside a node.
//!
//! Each public read method follows the control flow of its kernel function:
//! a `*_setup()` part that deals with the status ([`setup`]), then, if the
//! setup did not already answer, a step through the slots
//! (`mas_next_slot()` or `mas_prev_slot()`, [`step`]). Writes through the
//! cursor live in [`write`], gap searches that resume from the state in
//! [`search`].
//!
//! A tree made with [`TreeProfile::Linux6_1`] answers the read API as Linux
//! 6.1 does ([`linux_6_1`]); the `*_range()` calls, which 6.1 does not
//! have, and the writes through the cursor (which the engines do not
//! compare for 6.1) keep the 6.12 model.

use std::ops::ControlFlow;

use crate::tree::{RootKind, TreeOracle};
use crate::TreeProfile;

mod linux_6_1;
mod search;
mod setup;
mod step;
mod write;

/// `enum maple_status`, minus `ma_error` (the read API never sets it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Status {
    /// `ma_start`: the next operation walks from the root.
    Start,
    /// `ma_active`: the state stands on the leaf slot `[index, last]`.
    Active,
    /// `ma_root`: the tree is a root pointer and the state looked at it.
    Root,
    /// `ma_none`: the tree is empty, or the state is beyond a root pointer.
    None,
    /// `ma_pause`: the caller dropped the lock; the next call re-walks.
    Pause,
    /// `ma_overflow`: an iteration reached its upper limit.
    Overflow,
    /// `ma_underflow`: an iteration reached its lower limit.
    Underflow,
}

/// A maple state (`struct ma_state`) reduced to its observable fields.
///
/// The fields are public, like the kernel's: the kernel's own tests set
/// `mas.status`, `mas.index` and `mas.last` by hand, and so may a harness.
///
/// The cursor does not borrow the tree; every operation takes it. It may be
/// used across writes to the tree, but only the states the kernel itself
/// re-walks are modelled exactly: a status of start, pause or none, and the
/// root pointer cases. A state that was active (or overflowed/underflowed
/// from active) before a write holds, in the kernel, a node that the write
/// may have changed in place or freed; the oracle then behaves as the
/// kernel does for a node that died under RCU (`mas_rewalk()`): it steps
/// forward from the slot that contains `last` and backward from the slot
/// that contains `index`. [`is_positioned`](Cursor::is_positioned) tells
/// whether that fallback applies.
#[derive(Debug, Clone)]
pub struct Cursor {
    /// `mas->index`: the requested index, or the first index of the range
    /// found.
    pub index: u64,
    /// `mas->last`: the requested last index, or the last index of the
    /// range found.
    pub last: u64,
    /// `mas->status`.
    pub status: Status,
    /// Another status the kernel may answer instead of `status` for the
    /// last step, where its choice follows node boundaries the oracle does
    /// not have (6.1's `mas_prev()` that gives up below its limit: active
    /// when it met the entry below the limit in the node it was scanning,
    /// none when it crossed into another). Set by the step that has the
    /// choice; the caller clears it before each step.
    pub also: Option<Status>,
    /// The tree generation at which the kernel's `mas->node` (and its cached
    /// `offset`/`end`) last described a leaf exactly, or `None` while it is
    /// NULL or its cached fields are stale.
    node: Option<u64>,
}

impl Default for Cursor {
    /// `MA_STATE(mas, mt, 0, 0)`.
    fn default() -> Cursor {
        Cursor::new(0, 0)
    }
}

impl Cursor {
    /// `MA_STATE(mas, mt, first, last)`: status start, no node.
    pub fn new(first: u64, last: u64) -> Cursor {
        Cursor {
            index: first,
            last,
            status: Status::Start,
            also: None,
            node: None,
        }
    }

    /// `mas_set()`: `index = last = index`, status start.
    pub fn set(&mut self, index: u64) {
        self.set_range(index, index);
    }

    /// `mas_set_range()`: `index = first`, `last = last`, status start.
    pub fn set_range(&mut self, first: u64, last: u64) {
        self.reset();
        self.index = first;
        self.last = last;
    }

    /// `mas_reset()`: status start, no node; index and last are kept.
    pub fn reset(&mut self) {
        self.status = Status::Start;
        self.node = None;
    }

    /// `mas_pause()`: status pause, no node; index and last are kept.
    pub fn pause(&mut self) {
        self.status = Status::Pause;
        self.node = None;
    }

    /// Whether the kernel's `mas->node` (with its cached `offset` and
    /// `end`) would describe a leaf that no write has touched since the
    /// state was positioned on it. Not a kernel API.
    ///
    /// Steps taken from an active status, and some taken from overflow or
    /// underflow (`mas_next*()` from overflow, `mas_prev*()` from underflow,
    /// `mas_find*_rev()` from either, unless the limit check answers
    /// first), use that node. When this is false such a step is not
    /// reproducible from the contents: the kernel dereferences a NULL node
    /// (for instance after an overflow set by `mas_next()` straight from a
    /// start status), reads a node a write changed or freed, or trusts a
    /// stale cached `end` (after a store through the cursor that expanded
    /// the root, see [`store`](Self::store)). The oracle then re-derives the
    /// position from `index`/`last` (see the type documentation). Walks,
    /// and steps from start, pause or none, are always exact.
    pub fn is_positioned(&self, tree: &TreeOracle) -> bool {
        self.node == Some(tree.generation()) && tree.root_kind() == RootKind::Node
    }

    /// `mas_walk()`: look up `index`, whatever the status.
    ///
    /// - node tree: status active, `[index, last]` = the entry's range or
    ///   the maximal hole around `index`;
    /// - empty tree: status none, `index = 0`, `last = u64::MAX`;
    /// - root pointer, `index == 0`: the entry, status root, `last = 0`;
    /// - root pointer, `index > 0`: NULL, status none, `index = 1`,
    ///   `last = u64::MAX`.
    pub fn walk(&mut self, tree: &TreeOracle) -> Option<u64> {
        if tree.profile() == TreeProfile::Linux6_1 {
            return self.walk_6_1(tree);
        }
        // mas_walk() always restarts from the root.
        self.reset();
        match tree.root_kind() {
            RootKind::Empty => {
                self.status = Status::None;
                self.index = 0;
                self.last = u64::MAX;
                None
            }
            RootKind::Pointer if self.index == 0 => {
                self.status = Status::Root;
                self.last = 0;
                tree.root_entry()
            }
            RootKind::Pointer => {
                self.status = Status::None;
                self.index = 1;
                self.last = u64::MAX;
                None
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

    /// `mas_find()`: on the first call (status start) the first entry at or
    /// after `index`, then the entry after the current one, up to an entry
    /// starting at `max`. Ends active even when the step overflowed.
    pub fn find(&mut self, tree: &TreeOracle, max: u64) -> Option<u64> {
        if tree.profile() == TreeProfile::Linux6_1 {
            return self.find_6_1(tree, max);
        }
        if let ControlFlow::Break(entry) = self.find_setup(tree, max) {
            return entry;
        }
        let entry = self.next_slot(tree, max, false);
        // mas_find() ignores an overflow of the step.
        self.status = Status::Active;
        entry
    }

    /// `mas_find_range()`: like [`find`](Self::find) but NULL ranges are
    /// returned too, and an overflow of the step is kept.
    pub fn find_range(&mut self, tree: &TreeOracle, max: u64) -> Option<u64> {
        if let ControlFlow::Break(entry) = self.find_setup(tree, max) {
            return entry;
        }
        self.next_slot(tree, max, true)
    }

    /// `mas_find_rev()`: on the first call the entry at or below `index`,
    /// then the entry before the current one, down to an entry ending at
    /// `min`.
    pub fn find_rev(&mut self, tree: &TreeOracle, min: u64) -> Option<u64> {
        if tree.profile() == TreeProfile::Linux6_1 {
            return self.find_rev_6_1(tree, min);
        }
        if let ControlFlow::Break(entry) = self.find_rev_setup(tree, min) {
            return entry;
        }
        self.prev_slot(tree, min, false)
    }

    /// `mas_find_range_rev()`: like [`find_rev`](Self::find_rev) but NULL
    /// ranges are returned too.
    pub fn find_range_rev(&mut self, tree: &TreeOracle, min: u64) -> Option<u64> {
        if let ControlFlow::Break(entry) = self.find_rev_setup(tree, min) {
            return entry;
        }
        self.prev_slot(tree, min, true)
    }

    /// `mas_next()`: the next entry after the current range, never the
    /// current one; overflow once the current range reaches `max`.
    pub fn next(&mut self, tree: &TreeOracle, max: u64) -> Option<u64> {
        if tree.profile() == TreeProfile::Linux6_1 {
            return self.next_6_1(tree, max);
        }
        if let ControlFlow::Break(entry) = self.next_setup(tree, max) {
            return entry;
        }
        self.next_slot(tree, max, false)
    }

    /// `mas_next_range()`: the next range after the current one, NULL ranges
    /// included.
    pub fn next_range(&mut self, tree: &TreeOracle, max: u64) -> Option<u64> {
        if let ControlFlow::Break(entry) = self.next_setup(tree, max) {
            return entry;
        }
        self.next_slot(tree, max, true)
    }

    /// `mas_prev()`: the previous entry before the current range; underflow
    /// once the current range starts at or below `min`.
    pub fn prev(&mut self, tree: &TreeOracle, min: u64) -> Option<u64> {
        if tree.profile() == TreeProfile::Linux6_1 {
            return self.prev_6_1(tree, min);
        }
        if let ControlFlow::Break(entry) = self.prev_setup(tree, min) {
            return entry;
        }
        self.prev_slot(tree, min, false)
    }

    /// `mas_prev_range()`: the previous range before the current one, NULL
    /// ranges included.
    pub fn prev_range(&mut self, tree: &TreeOracle, min: u64) -> Option<u64> {
        if let ControlFlow::Break(entry) = self.prev_setup(tree, min) {
            return entry;
        }
        self.prev_slot(tree, min, true)
    }
}
