// SPDX-License-Identifier: GPL-2.0-or-later
//! Free-range search on the oracle, computed naively from the holes between
//! entries: `mas_empty_area()` (lowest fit), `mas_empty_area_rev()` (highest
//! fit) and `mtree_alloc_range()` / `mtree_alloc_rrange()` built on them.
//! Nothing here walks nodes: a hole is simply a maximal run of NULL indices.

use crate::tree::{RootKind, TreeOracle};
use crate::{Errno, TreeProfile};

impl TreeOracle {
    /// The holes (maximal NULL runs) as `(first, last)`, in order.
    fn holes(&self) -> Vec<(u64, u64)> {
        let mut out = Vec::new();
        let mut next: Option<u64> = Some(0); // first index not yet covered
        for (first, last, _) in self.entries() {
            if let Some(n) = next {
                if first > n {
                    out.push((n, first - 1));
                }
            }
            next = last.checked_add(1);
        }
        if let Some(n) = next {
            out.push((n, u64::MAX));
        }
        out
    }

    /// The checks both searches start with, and the answer for a tree that
    /// is empty or a single root entry (`mas_sparse_area()`).
    fn sparse(
        &self,
        min: u64,
        max: u64,
        size: u64,
        fwd: bool,
    ) -> Option<Result<(u64, u64), Errno>> {
        if min > max || size == 0 || max - min < size - 1 {
            return Some(Err(Errno::EINVAL));
        }
        let mut min = min;
        match self.root_kind() {
            RootKind::Node => return None,
            RootKind::Pointer if min == 0 => {
                // Index 0 holds the root entry.
                min = 1;
                if min > max || max - min + 1 < size {
                    return Some(Err(Errno::EBUSY));
                }
            }
            _ => {}
        }
        Some(Ok(if fwd {
            (min, min + (size - 1))
        } else {
            (max - (size - 1), max)
        }))
    }

    /// `mas_empty_area(min, max, size)`: the lowest `size` NULL indices
    /// inside `[min, max]`, as `(first, last)`. `EINVAL` for a window that
    /// cannot hold `size` (or `size == 0`, or `min > max`), `EBUSY` when no
    /// hole fits.
    pub fn empty_area(&self, min: u64, max: u64, size: u64) -> Result<(u64, u64), Errno> {
        if let Some(r) = self.sparse(min, max, size, true) {
            return r;
        }
        for (a, b) in self.holes() {
            let lo = a.max(min);
            let hi = b.min(max);
            if lo <= hi && hi - lo >= size - 1 {
                return Ok((lo, lo + (size - 1)));
            }
        }
        Err(Errno::EBUSY)
    }

    /// `mas_empty_area_rev(min, max, size)`: the highest such range.
    pub fn empty_area_rev(&self, min: u64, max: u64, size: u64) -> Result<(u64, u64), Errno> {
        if let Some(r) = self.sparse(min, max, size, false) {
            return r;
        }
        for (a, b) in self.holes().into_iter().rev() {
            let lo = a.max(min);
            let hi = b.min(max);
            if lo <= hi && hi - lo >= size - 1 {
                return Ok((hi - (size - 1), hi));
            }
        }
        Err(Errno::EBUSY)
    }

    /// `mtree_alloc_range()` (`rev == false`) or `mtree_alloc_rrange()`:
    /// find a range as above and insert `value` there; returns its first
    /// index. `alloc_tree` is whether the tree was created with
    /// `MT_FLAGS_ALLOC_RANGE` (`EINVAL` otherwise).
    ///
    /// [`TreeProfile::Linux6_1`]: 6.1's `mtree_alloc_range()` and
    /// `mtree_alloc_rrange()` first check their arguments on their own, and
    /// refuse with `EINVAL` some windows the searches would take:
    /// forward, `max < size` (a window `[0, size - 1]` is refused);
    /// reverse, `min >= max` (a one-index window is refused) and
    /// `max < size - 1`. Those checks went with "maple_tree: Rework
    /// mtree_alloc_{range,rrange}()" (Peng Zhang, Linux 6.5; short hash
    /// not confirmed here), which made both functions a gap search and an
    /// insert. 6.1 searched and stored through `mas_alloc()`,
    /// `mas_rev_alloc()` and `mas_fill_gap()`, which have bugs (see
    /// docs/findings/linux-6.1-alloc.md); the oracle models the search and
    /// insert that a fixed 6.1 build backports, behind 6.1's own checks.
    pub fn alloc_range(
        &mut self,
        alloc_tree: bool,
        value: u64,
        size: u64,
        min: u64,
        max: u64,
        rev: bool,
    ) -> Result<u64, Errno> {
        if !alloc_tree || value == 0 || value & 3 == 2 {
            return Err(Errno::EINVAL);
        }
        if self.profile() == TreeProfile::Linux6_1 {
            let refused = if rev {
                min >= max || max < size.wrapping_sub(1) || size == 0
            } else {
                min > max || max < size || size == 0
            };
            if refused {
                return Err(Errno::EINVAL);
            }
        }
        let (first, last) = if rev {
            self.empty_area_rev(min, max, size)?
        } else {
            self.empty_area(min, max, size)?
        };
        self.insert_range(first, last, Some(value))?;
        Ok(first)
    }
}

/// A successful cyclic allocation: the index used, whether the search had
/// to wrap (or reports an earlier wrap), and the caller's next index after
/// it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CyclicAlloc {
    /// The index the value went to.
    pub id: u64,
    /// The kernel's return value 1 (0 is `false`).
    pub wrapped: bool,
    /// `*next` after the call: `id + 1`, 0 after `u64::MAX`.
    pub next: u64,
}

impl TreeOracle {
    /// `mtree_alloc_cyclic(mt, &id, value, min, max, &next)`, from its
    /// documentation: hand out ids of `[min, max]` in turn. The id is the
    /// lowest free index at or above `next` (and at or above `min`);
    /// when there is none, the lowest free index of the whole window, and
    /// the call reports that it wrapped. The caller's `next` becomes the id
    /// plus one. Handing out `u64::MAX` wraps `next` to 0; the tree then
    /// remembers the wrap and the next allocation that does not wrap by
    /// itself reports it (and forgets it; one that wraps by itself reports
    /// its own wrap and leaves the remembered one). `destroy()` keeps the
    /// remembered wrap: it is one of the tree's attribute flags
    /// (`MT_FLAGS_ALLOC_WRAPPED`).
    ///
    /// Errors, with nothing changed (neither the tree, the remembered wrap,
    /// nor the caller's `next`): `EINVAL` if the tree is not an allocation
    /// tree, for a reserved value, and when `min > max` (no window to
    /// search; from `next` beyond `max` the search wraps at once); `EBUSY`
    /// when every index of `[min, max]` is taken.
    ///
    /// Returns `None` for a [`TreeProfile`] whose kernel has no such call
    /// ([`TreeProfile::has_alloc_cyclic`]); nothing changes then.
    pub fn alloc_cyclic(
        &mut self,
        alloc_tree: bool,
        value: u64,
        min: u64,
        max: u64,
        next: u64,
    ) -> Option<Result<CyclicAlloc, Errno>> {
        if !self.profile().has_alloc_cyclic() {
            return None;
        }
        if !alloc_tree || value == 0 || value & 3 == 2 {
            return Some(Err(Errno::EINVAL));
        }
        // The first index free from `from` to `max`, if the window is one.
        let first_free = |t: &TreeOracle, from: u64| -> Result<u64, Errno> {
            if from > max {
                return Err(Errno::EINVAL);
            }
            t.empty_area(from, max, 1).map(|(id, _)| id)
        };
        let from = min.max(next);
        let (id, mut wrapped) = match first_free(self, from) {
            Ok(id) => (id, false),
            Err(_) if from > min => match first_free(self, min) {
                Ok(id) => (id, true),
                Err(e) => return Some(Err(e)),
            },
            Err(e) => return Some(Err(e)),
        };
        if let Err(e) = self.insert_range(id, id, Some(value)) {
            return Some(Err(e));
        }
        if !wrapped && self.wrap_pending {
            self.wrap_pending = false;
            wrapped = true;
        }
        let next = id.wrapping_add(1);
        if next == 0 {
            self.wrap_pending = true;
        }
        Some(Ok(CyclicAlloc { id, wrapped, next }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn holes_and_windows() {
        let mut t = TreeOracle::new();
        assert_eq!(t.empty_area(10, 20, 5), Ok((10, 14)));
        assert_eq!(t.empty_area_rev(10, 20, 5), Ok((16, 20)));
        t.store_range(0, 9, Some(1)).unwrap();
        t.store_range(15, 19, Some(3)).unwrap();
        t.store_range(30, u64::MAX, Some(5)).unwrap();
        // Holes: [10, 14], [20, 29].
        assert_eq!(t.empty_area(0, u64::MAX, 5), Ok((10, 14)));
        assert_eq!(t.empty_area(0, u64::MAX, 6), Ok((20, 25)));
        assert_eq!(t.empty_area_rev(0, u64::MAX, 5), Ok((25, 29)));
        assert_eq!(t.empty_area_rev(0, 27, 5), Ok((23, 27)));
        assert_eq!(
            t.empty_area(12, 14, 3),
            Ok((12, 14)),
            "a window of exactly the size"
        );
        assert_eq!(
            t.empty_area(12, 14, 4),
            Err(Errno::EINVAL),
            "window smaller than size"
        );
        assert_eq!(t.empty_area(0, u64::MAX, 11), Err(Errno::EBUSY));
        assert_eq!(t.empty_area(5, 4, 1), Err(Errno::EINVAL));
        assert_eq!(t.empty_area(5, 9, 0), Err(Errno::EINVAL));
    }

    #[test]
    fn root_pointer_takes_index_zero() {
        let mut t = TreeOracle::new();
        t.store_range(0, 0, Some(1)).unwrap();
        assert_eq!(t.empty_area(0, 10, 3), Ok((1, 3)));
        assert_eq!(t.empty_area(0, 0, 1), Err(Errno::EBUSY));
        assert_eq!(t.empty_area_rev(0, 10, 3), Ok((8, 10)));
    }

    #[test]
    fn alloc_inserts_where_found() {
        let mut t = TreeOracle::new();
        t.store_range(0, 99, Some(1)).unwrap();
        assert_eq!(t.alloc_range(true, 5, 10, 0, 1000, false), Ok(100));
        assert_eq!(t.alloc_range(true, 7, 10, 0, 1000, true), Ok(991));
        assert_eq!(t.load(105), Some(5));
        assert_eq!(
            t.alloc_range(false, 7, 10, 0, 1000, true),
            Err(Errno::EINVAL)
        );
        assert_eq!(
            t.alloc_range(true, 2, 10, 0, 1000, true),
            Err(Errno::EINVAL)
        );
    }

    fn cyc(t: &mut TreeOracle, min: u64, max: u64, next: &mut u64) -> Result<(u64, bool), Errno> {
        let r = t
            .alloc_cyclic(true, 5, min, max, *next)
            .expect("6.12 has it")?;
        *next = r.next;
        Ok((r.id, r.wrapped))
    }

    /// alloc_cyclic_testing() of lib/test_maple_tree.c (6.12, and 7.1's
    /// exhausted window), as its documentation reads.
    #[test]
    fn alloc_cyclic_hands_out_ids_in_turn() {
        let mut t = TreeOracle::new();
        let mut next = 0;
        for i in 0..1023u64 {
            assert_eq!(cyc(&mut t, 2, 1024, &mut next), Ok((i + 2, false)));
            assert_eq!(next, i + 3);
        }
        t.erase(123);
        assert_eq!(cyc(&mut t, 2, 1024, &mut next), Ok((123, true)));
        assert_eq!(next, 124);
        assert_eq!(cyc(&mut t, 2, 1024, &mut next), Err(Errno::EBUSY));
        assert_eq!(next, 124);
        let mut t = TreeOracle::new();
        let mut next = u64::MAX - 1;
        assert_eq!(
            cyc(&mut t, 2, u64::MAX, &mut next),
            Ok((u64::MAX - 1, false))
        );
        assert_eq!(cyc(&mut t, 2, u64::MAX, &mut next), Ok((u64::MAX, false)));
        assert_eq!(next, 0);
        t.destroy();
        assert_eq!(cyc(&mut t, 2, u64::MAX, &mut next), Ok((2, true)));
        assert_eq!(cyc(&mut t, 2, u64::MAX, &mut next), Ok((3, false)));
    }

    #[test]
    fn alloc_cyclic_errors_and_profiles() {
        let mut t = TreeOracle::new();
        let mut next = 20;
        assert_eq!(cyc(&mut t, 10, 5, &mut next), Err(Errno::EINVAL));
        assert_eq!(t.alloc_cyclic(false, 5, 0, 9, 0), Some(Err(Errno::EINVAL)));
        assert_eq!(t.alloc_cyclic(true, 6, 0, 9, 0), Some(Err(Errno::EINVAL)));
        // From beyond the window: straight to the wrapped search.
        assert_eq!(cyc(&mut t, 0, 9, &mut next), Ok((0, true)));
        let mut old = TreeOracle::with_profile(TreeProfile::Linux6_1);
        assert_eq!(old.alloc_cyclic(true, 5, 0, 9, 0), None);
        assert!(old.entries().is_empty());
    }
}
