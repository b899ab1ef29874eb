// SPDX-License-Identifier: GPL-2.0-or-later
//! brk (mm/mmap.c): the `brk()` syscall, `check_brk_limits()` and
//! `do_brk_flags()`.

use super::{
    env::{PAGE_SHIFT, PAGE_SIZE, STACK_GUARD_GAP},
    merge::{MergeState, Vmg},
    page_align,
    uapi::MAP_FIXED,
    vm, Point, Vma, VmaErrno, VmaOracle,
};

impl VmaOracle {
    /// The `brk()` syscall: returns the new break, or the old one on any
    /// failure (it never returns an errno).
    pub(crate) fn sys_brk(&mut self, brk: u64) -> u64 {
        let origbrk = self.brk_value();
        if brk < self.start_brk() {
            return origbrk;
        }
        // RLIMIT_DATA is unlimited.
        let newbrk = page_align(brk);
        let oldbrk = page_align(origbrk);
        if oldbrk == newbrk {
            self.set_brk(brk);
            return brk;
        }
        if brk <= origbrk {
            // Shrinking: there must be something mapped in
            // [newbrk, oldbrk) to unmap; all of it goes.
            if self.find_vma_intersection(newbrk, oldbrk).is_none() {
                return origbrk;
            }
            self.set_brk(brk);
            if self.do_vmi_align_munmap(newbrk, oldbrk).is_err() {
                self.set_brk(origbrk);
                return origbrk;
            }
            return brk;
        }
        let len = newbrk.wrapping_sub(oldbrk);
        if self.check_brk_limits(oldbrk, len).is_err() {
            return origbrk;
        }
        // At least one page (plus a stack's guard gap) must stay free
        // above the new break.
        let limit = newbrk + PAGE_SIZE + STACK_GUARD_GAP;
        if let Some(next) = self.find_vma_intersection(oldbrk, limit) {
            if newbrk + PAGE_SIZE > next.start_gap() {
                return origbrk;
            }
        }
        // vma_prev_limit(&vmi, start_brk): the VMA below the free range
        // holding oldbrk, unless that range starts at or below start_brk.
        let brkvma = self.last_below(oldbrk).filter(|p| p.end > self.start_brk());
        if self.do_brk_flags(brkvma, oldbrk, len).is_err() {
            return origbrk;
        }
        self.set_brk(brk);
        brk
    }

    /// `check_brk_limits()`: a MAP_FIXED `get_unmapped_area()` of the
    /// growth (mlock limits are unlimited).
    fn check_brk_limits(&self, addr: u64, len: u64) -> Result<(), VmaErrno> {
        self.get_unmapped_area(addr, len, MAP_FIXED).map(|_| ())
    }

    /// `do_brk_flags()`: refused over the map count limit even when it would
    /// only extend; extend `brkvma` if it ends at `addr` and is compatible
    /// (never merge with the next VMA), else a new VMA stored with
    /// `vma_iter_store_gfp()`.
    fn do_brk_flags(&mut self, brkvma: Option<Vma>, addr: u64, len: u64) -> Result<(), VmaErrno> {
        let flags = vm::VM_DATA_DEFAULT_FLAGS | vm::VM_ACCOUNT;
        if self.count() > self.max_count() {
            return Err(VmaErrno::ENOMEM);
        }
        if let Some(prev) = brkvma.filter(|v| v.end == addr) {
            let vmg = Vmg {
                start: addr,
                end: addr + len,
                flags,
                file: None,
                anon: None,
                pgoff: addr >> PAGE_SHIFT,
                src: None,
            };
            match self.vma_merge_new_range(&vmg, Some(prev), None, true) {
                MergeState::Success(_) => return Ok(()),
                MergeState::NoMem => return Err(VmaErrno::ENOMEM),
                MergeState::NoMerge => {}
            }
        }
        self.alloc_point(Point::VmaAlloc)?;
        self.alloc_point(Point::StoreGfp)?;
        let id = self.new_vma_id();
        self.insert(Vma {
            id,
            start: addr,
            end: addr + len,
            flags,
            file: None,
            pgoff: addr >> PAGE_SHIFT,
            anon: None,
        });
        Ok(())
    }
}
