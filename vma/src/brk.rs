// SPDX-License-Identifier: GPL-2.0-or-later
//! brk (`mm/mmap.c`, Linux 6.12): the `brk` syscall, `check_brk_limits` and
//! `do_brk_flags`.

use super::merge::{MergeState, Vmg};
use super::uapi::MAP_FIXED;
use super::vmflags::{VM_ACCOUNT, VM_DATA_DEFAULT_FLAGS};
use super::{page_align, vm_start_gap, Errno, Mm, Point, Vma, VmaId, PAGE, STACK_GUARD_GAP};
use maple_tree::MaState;

impl Mm {
    /// The brk syscall: the new break, or the old one if it cannot move.
    pub(crate) fn sys_brk(&mut self, brk: u64) -> u64 {
        let origbrk = self.brk;
        // RLIMIT_DATA is unlimited: check_data_rlimit() passes.
        if brk < self.start_brk {
            return origbrk;
        }
        let newbrk = page_align(brk);
        let oldbrk = page_align(self.brk);
        if oldbrk == newbrk {
            self.brk = brk;
            return brk;
        }
        if brk <= self.brk {
            // Shrinking: the first VMA meeting [newbrk, oldbrk) must exist.
            let Some(brkvma) = self.find_vma_intersection(newbrk, oldbrk) else {
                return origbrk;
            };
            self.brk = brk;
            if self.do_vmi_align_munmap(brkvma, newbrk, oldbrk).is_err() {
                self.brk = origbrk;
                return origbrk;
            }
            return brk;
        }
        // Unsigned, as in C: a break near the top of the address space
        // wraps PAGE_ALIGN() to 0 and the length to a huge value, which
        // get_unmapped_area() then refuses.
        if self
            .check_brk_limits(oldbrk, newbrk.wrapping_sub(oldbrk))
            .is_err()
        {
            return origbrk;
        }
        // The iterator the kernel uses: find the next VMA within the guard
        // gap of the growth, then step back to the brk VMA (not below
        // start_brk).
        let mut vmi = MaState::new(oldbrk, oldbrk);
        let limit = newbrk.wrapping_add(PAGE).wrapping_add(STACK_GUARD_GAP);
        let next = vmi
            .find(&self.mt, limit.wrapping_sub(1))
            .and_then(|e| self.id_of(e));
        if let Some(n) = next {
            if newbrk + PAGE > vm_start_gap(self.v(n)) {
                return origbrk;
            }
        }
        let brkvma = vmi
            .prev(&self.mt, self.start_brk)
            .and_then(|e| self.id_of(e));
        if self.do_brk_flags(brkvma, oldbrk, newbrk - oldbrk).is_err() {
            return origbrk;
        }
        self.brk = brk;
        brk
    }

    /// `check_brk_limits`: a `MAP_FIXED` `get_unmapped_area` check (the
    /// mlock limit is unlimited).
    fn check_brk_limits(&self, addr: u64, len: u64) -> Result<(), Errno> {
        self.get_unmapped_area(addr, len, MAP_FIXED).map(|_| ())
    }

    /// `do_brk_flags`: extend the brk VMA over `[addr, addr + len)` if it
    /// ends at `addr` and matches, else map a new anonymous VMA there.
    fn do_brk_flags(&mut self, vma: Option<VmaId>, addr: u64, len: u64) -> Result<(), Errno> {
        let flags = VM_DATA_DEFAULT_FLAGS | VM_ACCOUNT;
        if self.map_count > self.cfg.max_map_count {
            return Err(Errno::ENOMEM);
        }
        if let Some(v) = vma {
            if self.v(v).end == addr {
                let mut vmg = Vmg::new_range(addr, addr + len, flags, addr >> 12);
                vmg.prev = Some(v);
                vmg.just_expand = true;
                if self.vma_merge_new_range(&mut vmg).is_some() {
                    return Ok(());
                }
                if vmg.state == MergeState::NoMem {
                    return Err(Errno::ENOMEM);
                }
            }
        }
        if self.point(Point::VmaAlloc) {
            return Err(Errno::ENOMEM);
        }
        let id = self.vma_store_new(Vma {
            start: addr,
            end: addr + len,
            flags,
            file: None,
            pgoff: addr >> 12,
            anon: None,
            chain: Vec::new(),
        });
        if let Err(e) = self.vma_iter_store_gfp(id) {
            self.vm_area_free(id);
            return Err(e);
        }
        self.map_count += 1;
        Ok(())
    }
}
