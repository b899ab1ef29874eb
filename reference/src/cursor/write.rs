// SPDX-License-Identifier: GPL-2.0-or-later
//! Writes through a cursor: `mas_store_gfp()` and `mas_erase()`.
//!
//! The contents change exactly as for the tree's own
//! [`store_range`](TreeOracle::store_range) and
//! [`erase`](TreeOracle::erase); what this module adds is where the kernel
//! leaves the state afterwards.
//!
//! - A write into an empty or root-pointer tree (`mas_store_root()`) keeps
//!   `index`/`last`. The status is start after a new root pointer, active
//!   after `mas_root_expand()`, and otherwise what `mas_start()` set (none
//!   for an empty tree, root for a root pointer), even when a NULL store
//!   just emptied a root-pointer tree. A state already in root status is
//!   not reset by `mas_wr_prealloc_setup()` and keeps it, unless it stores
//!   NULL up to `u64::MAX`.
//! - A write into a node tree leaves the state active on the written slot:
//!   the stored range for a value; for NULL, the NULL range after it
//!   absorbed its NULL neighbours (`mas_wr_extend_null()`,
//!   `mas_extend_spanning_null()`). If that NULL covers everything and the
//!   tree became empty (`mas_new_root()`), the state is start over
//!   `[0, u64::MAX]`.
//!
//! After a store that built a new root node from scratch
//! (`mas_root_expand()`, or `mas_new_root()` with a value) the kernel leaves
//! `mas->end` (and for `mas_new_root()` also `mas->offset`) as they were
//! before the store, so the next step from that state depends on earlier
//! history. The oracle reports such a state as not
//! [`is_positioned`](Cursor::is_positioned); reset it before stepping.
//!
//! A state whose node predates a write by someone else (active and not
//! [`is_positioned`](Cursor::is_positioned), or root on a tree that is no
//! longer a root pointer) would make the kernel write through a stale node
//! or root; the oracle writes as if the state had been reset, keeping only
//! a root status on an empty or root-pointer tree.

use super::{Cursor, Status};
use crate::tree::{RootKind, TreeOracle};
use crate::Errno;

impl Cursor {
    /// `mas_store_gfp()`: store `value` (or NULL) over `[index, last]`.
    ///
    /// Errors: `EINVAL` if `index > last` (the kernel checks this only
    /// with `CONFIG_DEBUG_MAPLE_TREE`) or for a value the normal API
    /// refuses, as [`TreeOracle::store_range`]; the state is then left
    /// alone. The oracle never fails with `ENOMEM`.
    pub fn store(&mut self, tree: &mut TreeOracle, value: Option<u64>) -> Result<(), Errno> {
        let kind = tree.root_kind();
        let (first, last) = (self.index, self.last);
        let new_root = first == 0 && last == u64::MAX && !tree.is_single_full_slot();
        tree.store_range(first, last, value)?;
        self.node = None;
        match kind {
            // After mas_root_expand() the state is active but its cached
            // data end (`mas->end`) is left over from earlier operations, so
            // the next forward step depends on history: not positioned.
            RootKind::Empty | RootKind::Pointer => self.after_root_store(kind, first, last, value),
            RootKind::Node => {
                self.after_node_store(tree, value.is_none());
                if new_root && value.is_some() {
                    // mas_new_root() sets neither `mas->offset` nor
                    // `mas->end`: same as above.
                    self.node = None;
                }
            }
        }
        Ok(())
    }

    /// `mas_erase()`: erase the whole entry containing `index` and return
    /// it; `None` if `index` is in a hole.
    ///
    /// Always starts with a fresh walk. Afterwards (assuming, as the oracle
    /// always does, that node allocation succeeds; after an `-ENOMEM` retry
    /// the kernel sets `index = last = index` before walking again, which
    /// shows only in the root-pointer case):
    /// - hole in a node tree: active on the hole;
    /// - empty tree: status none, `index`/`last` kept;
    /// - root pointer, `index > 0`: status root, `index`/`last` kept;
    /// - root pointer, `index == 0`: the root is cleared (NULL stored over
    ///   `[0, last]`), status root, `index`/`last` kept;
    /// - entry in a node tree: as a NULL [`store`](Self::store) over the
    ///   entry's range.
    pub fn erase(&mut self, tree: &mut TreeOracle) -> Option<u64> {
        self.reset();
        match tree.root_kind() {
            RootKind::Empty => {
                self.status = Status::None;
                None
            }
            RootKind::Pointer => {
                self.status = Status::Root;
                if self.index != 0 {
                    return None;
                }
                tree.erase(0)
            }
            RootKind::Node => {
                let slot = tree.slot(self.index);
                self.stand_on(slot);
                self.status = Status::Active;
                self.node = Some(tree.generation());
                let value = slot.value?;
                tree.erase(slot.first);
                self.after_node_store(tree, true);
                Some(value)
            }
        }
    }

    /// The state after `mas_store_root()` on a tree of kind `kind`.
    fn after_root_store(&mut self, kind: RootKind, first: u64, last: u64, value: Option<u64>) {
        // What mas_start() reports for this tree. mas_wr_prealloc_setup()
        // does not reset a root status, except for a NULL store reaching
        // the state's max (u64::MAX for a state that saw the root).
        let keeps_root = self.status == Status::Root && (value.is_some() || last != u64::MAX);
        let started = if kind == RootKind::Pointer || keeps_root {
            Status::Root
        } else {
            Status::None
        };
        self.status = match value {
            None => started,
            // A new root pointer: mas_store_root() resets the state.
            Some(_) if first == 0 && last == 0 => Status::Start,
            // mas_root_expand(): the state stands on the new entry.
            Some(_) => Status::Active,
        };
    }

    /// The state after a store into a node tree; `null` for a NULL store.
    fn after_node_store(&mut self, tree: &TreeOracle, null: bool) {
        if tree.root_kind() == RootKind::Empty {
            // mas_new_root(NULL).
            self.index = 0;
            self.last = u64::MAX;
            self.status = Status::Start;
            self.node = None;
            return;
        }
        if null {
            // The NULL absorbed its neighbours; the state covers the result.
            let hole = tree.slot(self.index);
            self.stand_on(hole);
        }
        self.status = Status::Active;
        self.node = Some(tree.generation());
    }
}
