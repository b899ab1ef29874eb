// SPDX-License-Identifier: GPL-2.0-or-later
//! `__split_vma` and `split_vma` (`mm/vma.c`).

use super::{Errno, Mm, Point, Profile, VmaId};
use maple_tree::MaState;

impl Mm {
    /// `__split_vma`: cut VMA `id` at `addr`. The new VMA is the lower
    /// piece if `new_below`, else the upper one; `id` keeps the rest.
    /// No map-count check. Returns the new VMA. On error nothing changed.
    ///
    /// Allocation points, in order: the `vm_area_dup`, the preallocation
    /// for the new VMA's range, the `anon_vma_clone` (only if the VMA has
    /// an anon_vma, since cloning an empty chain allocates nothing). The
    /// new VMA is chained to every anon_vma of the original's chain.
    pub(crate) fn __split_vma(
        &mut self,
        id: VmaId,
        addr: u64,
        new_below: bool,
    ) -> Result<VmaId, Errno> {
        let old = self.v(id).clone();
        debug_assert!(old.start < addr && addr < old.end);
        // None of the modelled files has vm_ops->may_split.
        if self.point(Point::VmaAlloc) {
            return Err(Errno::ENOMEM);
        }
        // vm_area_dup: the copy's chain starts empty.
        let mut new = old.clone();
        new.chain = Vec::new();
        if new_below {
            new.end = addr;
        } else {
            new.start = addr;
            new.pgoff += (addr - old.start) >> 12;
        }
        let (ns, ne) = (new.start, new.end);
        let nid = self.vma_store_new(new);
        // What this store sequence is preallocated for: 6.12 preallocates
        // for the new VMA (the one store); the 6.1 profile preallocates for
        // its first store, the trimmed original.
        let (ps, pe, pentry) = match self.cfg.profile {
            Profile::V6_12 | Profile::V7_1 => (ns, ne, nid),
            Profile::V6_1 if new_below => (addr, old.end, id),
            Profile::V6_1 => (old.start, addr, id),
        };
        let mut mas = MaState::new(0, 0);
        if let Err(e) = self.vma_iter_prealloc(&mut mas, ps, pe, Some(pentry)) {
            self.vm_area_free(nid);
            return Err(e);
        }
        if let Err(e) = self.anon_vma_clone(nid, old.anon, &old.chain) {
            self.vma_iter_free(&mut mas);
            self.vm_area_free(nid);
            return Err(e);
        }
        {
            let v = self.vm(id);
            if new_below {
                v.start = addr;
                v.pgoff += (addr - ns) >> 12;
            } else {
                v.end = addr;
            }
        }
        match self.cfg.profile {
            // vma_complete stores the new VMA: one store.
            Profile::V6_12 | Profile::V7_1 => self.vma_iter_store(&mut mas, nid),
            // 6.1's __vma_adjust: the original over its new range, then the
            // inserted piece.
            Profile::V6_1 => {
                self.vma_iter_store(&mut mas, id);
                self.store_after_release(&mut mas, nid, "__split_vma");
            }
        }
        self.map_count += 1;
        Ok(nid)
    }

    /// `split_vma`: `__split_vma` unless the map count is at its limit.
    pub(crate) fn split_vma(
        &mut self,
        id: VmaId,
        addr: u64,
        new_below: bool,
    ) -> Result<VmaId, Errno> {
        // Mutant vma-split-limit: the limit test is off by one.
        let at_limit = if maple_tree::mutants::active(maple_tree::mutants::Mutant::VmaSplitLimit) {
            self.map_count > self.cfg.max_map_count
        } else {
            self.map_count >= self.cfg.max_map_count
        };
        if at_limit {
            return Err(Errno::ENOMEM);
        }
        self.__split_vma(id, addr, new_below)
    }
}
