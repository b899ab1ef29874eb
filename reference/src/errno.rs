// SPDX-License-Identifier: GPL-2.0-or-later
//! Error values, named after the kernel errno constants the maple tree API
//! returns (negated) from `mtree_store_range()`, `mtree_insert_range()` and
//! friends.

use std::fmt;

/// The errors a maple tree operation can report.
///
/// Mirrors the negative `errno` values of the kernel API. The oracle itself
/// only ever produces [`Errno::EINVAL`] and [`Errno::EEXIST`]: it never runs
/// out of memory and has no free-range search. The other two exist so that a
/// harness can use one error type for every engine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Errno {
    /// `-EINVAL`: `first > last`, or an entry the normal API refuses.
    EINVAL,
    /// `-EEXIST`: `mtree_insert_range()` found the range (partly) occupied.
    EEXIST,
    /// `-EBUSY`: no free range fits (`mas_empty_area*`, `mtree_alloc_*`).
    EBUSY,
    /// `-ENOMEM`: a node allocation failed.
    ENOMEM,
}

impl fmt::Display for Errno {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

impl std::error::Error for Errno {}
