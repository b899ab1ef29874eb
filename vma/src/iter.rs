// SPDX-License-Identifier: GPL-2.0-or-later
//! The `vma_iter_*` layer (`mm/vma.h`, `mm/internal.h`) over the maple tree
//! port, and the VMA lookups (`find_vma`, `vma_lookup`, `find_vma_prev`).
//!
//! The kernel keeps one iterator per operation and moves it around; here the
//! lookups are walks of `mm_mt` from scratch, and every write uses a maple
//! state of its own, configured to the range the kernel's iterator would be
//! configured to. The store sequence the tree sees (which ranges, which
//! entries, preallocated or allocating) is the kernel's.

use super::{Errno, Mm, Point, VmaId};
use maple_tree::{MaState, PreallocViolation};

impl Mm {
    /// `vma_lookup`: the VMA containing `addr`.
    pub(crate) fn vma_lookup(&self, addr: u64) -> Option<VmaId> {
        self.mt.load(addr).and_then(|e| self.id_of(e))
    }

    /// `find_vma`: the first VMA ending above `addr`.
    pub(crate) fn find_vma(&self, addr: u64) -> Option<VmaId> {
        let mut i = addr;
        self.mt.find(&mut i, u64::MAX).and_then(|e| self.id_of(e))
    }

    /// `find_vma_intersection`: the first VMA meeting `[start, end)`.
    pub(crate) fn find_vma_intersection(&self, start: u64, end: u64) -> Option<VmaId> {
        if start >= end {
            return None;
        }
        let mut i = start;
        self.mt.find(&mut i, end - 1).and_then(|e| self.id_of(e))
    }

    /// The last VMA starting below `x` (`vma_prev` from a position at `x`).
    pub(crate) fn prev_vma(&self, x: u64) -> Option<VmaId> {
        if x == 0 {
            return None;
        }
        let mut mas = MaState::new(x - 1, x - 1);
        mas.find_rev(&self.mt, 0).and_then(|e| self.id_of(e))
    }

    /// The VMA after `id`.
    pub(crate) fn next_of(&self, id: VmaId) -> Option<VmaId> {
        self.find_vma(self.v(id).end)
    }

    /// The VMA before `id`.
    pub(crate) fn prev_of(&self, id: VmaId) -> Option<VmaId> {
        self.prev_vma(self.v(id).start)
    }

    /// `find_vma_prev`: the first VMA ending above `addr` and the VMA
    /// before it.
    pub(crate) fn find_vma_prev(&self, addr: u64) -> (Option<VmaId>, Option<VmaId>) {
        let vma = self.find_vma(addr);
        let prev = match vma {
            Some(v) => self.prev_of(v),
            None => self.prev_vma(addr),
        };
        (vma, prev)
    }

    /// `vma_iter_config` + `vma_iter_prealloc`: reserve what a store of
    /// `entry` over `[start, end)` needs. One allocation point.
    pub(crate) fn vma_iter_prealloc(
        &mut self,
        mas: &mut MaState,
        start: u64,
        end: u64,
        entry: Option<VmaId>,
    ) -> Result<(), Errno> {
        if self.point(Point::Prealloc) {
            return Err(Errno::ENOMEM);
        }
        mas.set_range(start, end - 1);
        mas.preallocate(&mut self.mt, entry.map(Mm::entry))
            .map(|_| ())
            .map_err(|_| Errno::ENOMEM)
    }

    /// `vma_iter_free`: release an unused preallocation.
    pub(crate) fn vma_iter_free(&mut self, mas: &mut MaState) {
        mas.destroy(&mut self.mt);
    }

    /// `vma_iter_store`: store VMA `id` over its range with the nodes `mas`
    /// preallocated (`mas_store_prealloc`, which then releases the rest).
    pub(crate) fn vma_iter_store(&mut self, mas: &mut MaState, id: VmaId) {
        let (s, e) = (self.v(id).start, self.v(id).end);
        self.store_prealloc(mas, s, e, Some(Mm::entry(id)));
    }

    /// `vma_iter_clear`: store NULL over `[start, end)` with the nodes `mas`
    /// preallocated.
    pub(crate) fn vma_iter_clear(&mut self, mas: &mut MaState, start: u64, end: u64) {
        self.store_prealloc(mas, start, end, None);
    }

    fn store_prealloc(&mut self, mas: &mut MaState, start: u64, end: u64, e: Option<u64>) {
        // The kernel's __mas_set_range() keeps the state where
        // mas_preallocate() left it; every store here is over exactly the
        // preallocated range, so the state is left alone.
        if (mas.index(), mas.last()) != (start, end - 1) {
            self.faults.push(format!(
                "store {start:#x}-{:#x} on a state preallocated for {:#x}-{:#x}",
                end - 1,
                mas.index(),
                mas.last()
            ));
            mas.set_range(start, end - 1);
        }
        let t = &mut self.mt;
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| mas.store_prealloc(t, e)));
        match r {
            Ok(Ok(())) => {}
            Ok(Err(err)) => self
                .faults
                .push(format!("mas_store_prealloc {start:#x}-{end:#x}: {err:?}")),
            Err(p) => match p.downcast::<PreallocViolation>() {
                Ok(v) => {
                    self.misuse = Some(format!(
                        "store {start:#x}-{:#x} needed more nodes than its preallocation held: {}",
                        end - 1,
                        v.0
                    ));
                    mas.destroy(&mut self.mt);
                }
                Err(p) => std::panic::resume_unwind(p),
            },
        }
    }

    /// The second store of the 6.1 profile's split: `mas_store_prealloc`
    /// on a state whose preallocation the first store released. If the
    /// store needs nodes it allocates them outside any preallocation (where
    /// 6.1 could only BUG on failure): that is recorded as the misuse.
    pub(crate) fn store_after_release(&mut self, mas: &mut MaState, id: VmaId, what: &str) {
        let (s, e) = (self.v(id).start, self.v(id).end);
        let before = self.mt.node_counters();
        mas.set_range(s, e - 1);
        let r = mas.store_advanced(&mut self.mt, Some(Mm::entry(id)));
        let after = self.mt.node_counters();
        let asked = (after.allocated + after.failed) - (before.allocated + before.failed);
        if asked != 0 || r.is_err() {
            self.misuse = Some(format!(
                "{what}: the second store {s:#x}-{:#x} after one mas_preallocate needed \
                 {asked} node(s) outside the preallocation{}",
                e - 1,
                if r.is_err() {
                    " and the allocation failed (6.1 BUGs here)"
                } else {
                    ""
                }
            ));
        }
    }

    /// `vma_iter_clear_gfp`: store NULL over `[start, end)`, allocating.
    pub(crate) fn vma_iter_clear_gfp(&mut self, start: u64, end: u64) -> Result<(), Errno> {
        if self.point(Point::StoreGfp) {
            return Err(Errno::ENOMEM);
        }
        let mut mas = MaState::new(start, end - 1);
        mas.store(&mut self.mt, None).map_err(|_| Errno::ENOMEM)
    }

    /// `vma_iter_store_gfp`: store VMA `id` over its range, allocating.
    pub(crate) fn vma_iter_store_gfp(&mut self, id: VmaId) -> Result<(), Errno> {
        if self.point(Point::StoreGfp) {
            return Err(Errno::ENOMEM);
        }
        let (s, e) = (self.v(id).start, self.v(id).end);
        let mut mas = MaState::new(s, e - 1);
        mas.store(&mut self.mt, Some(Mm::entry(id)))
            .map_err(|_| Errno::ENOMEM)
    }

    /// A `__GFP_NOFAIL` store of NULL over `[start, end)` (the hole
    /// `vms_abort_munmap_vmas` leaves). It is no allocation point; a node
    /// fault schedule that fails it is noted as a fault of the run.
    pub(crate) fn clear_nofail(&mut self, start: u64, end: u64) {
        let mut mas = MaState::new(start, end - 1);
        if let Err(e) = mas.store(&mut self.mt, None) {
            self.faults.push(format!(
                "a __GFP_NOFAIL store of NULL over {start:#x}-{:#x} failed: {e:?}",
                end - 1
            ));
        }
    }
}
