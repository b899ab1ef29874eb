// SPDX-License-Identifier: GPL-2.0-or-later
//! The bulk-mode protocol (`expected_entries`), the same for every engine.
//!
//! The op language lets a program do only what the kernel's own bulk
//! loaders do (`dup_mmap()` before 6.8 through `vma_iter_bulk_alloc()` and
//! `vma_iter_bulk_store()`; `check_dup_gaps()` and `bench_forking()` in
//! lib/test_maple_tree.c): reserve with `mas_expected_entries()` on a tree
//! nobody else can see yet, store every entry in ascending order through the
//! same maple state, then `mas_destroy()`.
//!
//! - `expected_entries N` is valid on an empty tree (`mtree_empty()`: no
//!   root at all, e.g. fresh or after `destroy`) that is not in RCU mode,
//!   or again while the writer is already in bulk mode. (Callers may ask
//!   again, but in 6.12 a second call adds no node: `MA_STATE_PREALLOC`,
//!   set by the first, makes `mas_alloc_nodes()` return at once when the
//!   pool holds any node, and BUG when it holds none, which the engines
//!   report as the caller's error.)
//! - While bulk mode is on, the only ops allowed are `mas_store` of a range
//!   that starts strictly above the previous bulk store's last index (an
//!   in-order append; any range for the first store), `expected_entries`
//!   again, `mas_destroy` (which ends bulk mode and runs the deferred
//!   rebalance of the last leaf), and `fail_allocs` and `pause` (a harness
//!   directive and the cursor's `mas_pause()`, neither a tree call).
//! - Anything else is the caller's error: every engine answers
//!   [`Outcome::CallerError`](super::Outcome::CallerError), and the
//!   executor stops the run at that step (`RunStats::stopped`). The kernel
//!   code has no defined behaviour for it (a deferred rebalance of a leaf
//!   that is not the last one, or of the root, overruns a node).
//! - An `expected_entries` that fails (`ENOMEM`) ends bulk mode: the kernel
//!   releases everything with `mas_destroy()`.

use crate::ops::TreeOp;

/// What an engine remembers of its writer's bulk mode.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct BulkBook {
    /// Whether the writer is in bulk mode (`expected_entries` succeeded
    /// and no `mas_destroy` has run since).
    on: bool,
    /// The last index of the previous bulk store, if one ran.
    last: Option<u64>,
}

impl BulkBook {
    /// Whether the writer is in bulk mode.
    pub(crate) fn is_on(&self) -> bool {
        self.on
    }

    /// Before `op`: the caller error it makes, if it breaks the protocol
    /// (see the module docs). `empty` tells whether the tree has no root;
    /// it is asked only for an `expected_entries` that starts bulk mode.
    pub(crate) fn check(
        &self,
        op: &TreeOp,
        rcu: bool,
        empty: impl FnOnce() -> bool,
    ) -> Result<(), String> {
        match *op {
            TreeOp::ExpectedEntries { .. } if self.on => Ok(()),
            TreeOp::ExpectedEntries { .. } if rcu => Err(
                "expected_entries on a tree in RCU mode: bulk mode is for a tree no reader \
                 can see yet"
                    .to_string(),
            ),
            TreeOp::ExpectedEntries { .. } if !empty() => Err(
                "expected_entries on a tree that is not empty: bulk mode loads a fresh tree"
                    .to_string(),
            ),
            TreeOp::ExpectedEntries { .. } => Ok(()),
            _ if !self.on => Ok(()),
            TreeOp::MasStore { first, last, .. } => match self.last {
                _ if first > last => Err(format!(
                    "bulk mas_store of an inverted range {first:#x}-{last:#x}"
                )),
                Some(prev) if first <= prev => Err(format!(
                    "bulk mas_store {first:#x}-{last:#x} is not an in-order append (the \
                     previous bulk store ended at {prev:#x})"
                )),
                _ => Ok(()),
            },
            TreeOp::MasDestroy | TreeOp::FailAllocs { .. } | TreeOp::Pause => Ok(()),
            _ => Err(format!(
                "{} while the writer is in bulk mode (only in-order mas_store, \
                 expected_entries, mas_destroy, fail_allocs and pause may run until \
                 mas_destroy)",
                op.kind()
            )),
        }
    }

    /// Records `op` (it passed [`check`](Self::check)) before it runs;
    /// an `expected_entries` is recorded by [`reserved`](Self::reserved)
    /// once its result is known.
    pub(crate) fn enter(&mut self, op: &TreeOp) {
        match *op {
            TreeOp::MasStore { last, .. } if self.on => self.last = Some(last),
            TreeOp::MasDestroy | TreeOp::Destroy => *self = BulkBook::default(),
            _ => {}
        }
    }

    /// An `expected_entries` returned: bulk mode is on if it succeeded (a
    /// top-up keeps the load's position), off if it failed.
    pub(crate) fn reserved(&mut self, ok: bool) {
        if !ok || !self.on {
            self.last = None;
        }
        self.on = ok;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store(first: u64, last: u64) -> TreeOp {
        TreeOp::MasStore {
            first,
            last,
            value: Some(1),
        }
    }

    #[test]
    fn bulk_mode_starts_only_on_an_empty_tree_without_rcu() {
        let b = BulkBook::default();
        let ee = TreeOp::ExpectedEntries { count: 10 };
        assert!(b.check(&ee, false, || true).is_ok());
        assert!(b.check(&ee, true, || true).unwrap_err().contains("RCU"));
        assert!(b
            .check(&ee, false, || false)
            .unwrap_err()
            .contains("not empty"));
        // Not in bulk mode, every other op is left to the other rules.
        assert!(b.check(&TreeOp::Load { index: 1 }, false, || false).is_ok());
        assert!(b.check(&store(5, 3), false, || false).is_ok());
    }

    #[test]
    fn bulk_mode_allows_in_order_appends_a_top_up_and_mas_destroy() {
        let mut b = BulkBook::default();
        let ee = TreeOp::ExpectedEntries { count: 10 };
        b.reserved(true);
        assert!(b.is_on());
        assert!(b.check(&store(10, 15), false, || false).is_ok());
        b.enter(&store(10, 15));
        for bad in [store(15, 20), store(3, 4), store(30, 20)] {
            assert!(b.check(&bad, false, || false).is_err(), "{bad:?}");
        }
        assert!(b.check(&store(16, 16), false, || false).is_ok());
        // A second reservation keeps the load's position.
        assert!(b.check(&ee, true, || false).is_ok());
        b.reserved(true);
        assert!(b.check(&store(12, 20), false, || false).is_err());
        let other = TreeOp::Load { index: 3 };
        let e = b.check(&other, false, || false).unwrap_err();
        assert!(e.contains("load while the writer is in bulk mode"), "{e}");
        assert!(b.check(&TreeOp::MasDestroy, false, || false).is_ok());
        b.enter(&TreeOp::MasDestroy);
        assert!(!b.is_on());
        assert!(b.check(&other, false, || false).is_ok());
        assert!(b.check(&store(0, 1), false, || false).is_ok());
    }

    #[test]
    fn a_failed_reservation_ends_bulk_mode() {
        let mut b = BulkBook::default();
        b.reserved(true);
        b.enter(&store(1, 2));
        b.reserved(false);
        assert!(!b.is_on());
        assert!(b.check(&TreeOp::Load { index: 3 }, false, || false).is_ok());
        b.reserved(true);
        assert!(b.check(&store(0, 0), false, || false).is_ok());
    }
}
