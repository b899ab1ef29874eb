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
}
