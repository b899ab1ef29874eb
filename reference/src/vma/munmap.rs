// SPDX-License-Identifier: GPL-2.0-or-later
//! munmap (mm/vma.c): `do_vmi_munmap()`, `do_vmi_align_munmap()` and the
//! gather step `vms_gather_munmap_vmas()` that `__mmap_region()` shares.

use super::{env::TASK_SIZE, offset_in_page, page_align, Point, VmaErrno, VmaOracle};

impl VmaOracle {
    /// `do_vmi_munmap()`: validate, then unmap `[start, start + len)`.
    /// Unmapping a hole succeeds.
    pub(crate) fn do_vmi_munmap(&mut self, start: u64, len: u64) -> Result<(), VmaErrno> {
        if offset_in_page(start) != 0 || start > TASK_SIZE || len > TASK_SIZE - start {
            return Err(VmaErrno::EINVAL);
        }
        let end = start + page_align(len);
        if end == start {
            return Err(VmaErrno::EINVAL);
        }
        if self.find_vma_intersection(start, end).is_none() {
            return Ok(());
        }
        self.do_vmi_align_munmap(start, end)
    }

    /// `do_vmi_align_munmap()`: gather, clear the range in the tree
    /// (`vma_iter_clear_gfp()`, a StoreGfp point), then free. A failure
    /// after the gather reattaches the VMAs; splits already made stay.
    pub(crate) fn do_vmi_align_munmap(&mut self, start: u64, end: u64) -> Result<(), VmaErrno> {
        let gathered = self.vms_gather_munmap_vmas(start, end)?;
        self.alloc_point(Point::StoreGfp)?;
        self.vms_complete_munmap_vmas(&gathered);
        Ok(())
    }

    /// `vms_gather_munmap_vmas()`: split the first VMA at `start` if the
    /// range begins inside it (refused when that would be a three-way
    /// split at the map count limit), then walk the range: split the last
    /// VMA at `end` if it sticks out, and store each VMA in the side tree
    /// (`mas_store_gfp()`, a StoreGfp point). Returns the keys of the VMAs
    /// to remove. On error the splits already made stay.
    pub(crate) fn vms_gather_munmap_vmas(
        &mut self,
        start: u64,
        end: u64,
    ) -> Result<Vec<u64>, VmaErrno> {
        let first = self
            .find_vma_intersection(start, end)
            .expect("gather without a VMA");
        if start > first.start {
            if end < first.end && self.count() >= self.max_count() {
                return Err(VmaErrno::ENOMEM);
            }
            self.__split_vma(first.start, start, true)?;
        }
        let mut keys = Vec::new();
        let mut cursor = start;
        while let Some(v) = self.find_vma_intersection(cursor, end) {
            if v.end > end {
                self.__split_vma(v.start, end, false)?;
            }
            self.alloc_point(Point::StoreGfp)?;
            keys.push(v.start);
            cursor = v.end.min(end);
            if cursor >= end {
                break;
            }
        }
        Ok(keys)
    }

    /// `vms_complete_munmap_vmas()` (or `vms_clean_up_area()` for mmap):
    /// `free_pgtables()` unlinks each gathered VMA's anon_vmas, then the
    /// VMAs leave the mm.
    pub(crate) fn vms_complete_munmap_vmas(&mut self, keys: &[u64]) {
        for k in keys {
            let v = self.vmas.remove(k).expect("gathered VMA vanished");
            self.unlink_anon_vmas(&v);
        }
    }
}
