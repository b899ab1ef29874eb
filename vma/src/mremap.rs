// SPDX-License-Identifier: GPL-2.0-or-later
//! mremap (`mm/mremap.c`, Linux 6.12): the syscall, `vma_to_resize`,
//! `vma_expandable`, `mremap_to`, `move_vma`, and `copy_vma` (`mm/vma.c`).
//! Page tables are not modelled, so moving them never fails.

use super::merge::Vmg;
use super::uapi::*;
use super::vmflags::*;
use super::{is_anon, offset_in_page, page_align, Errno, Mm, Point, VmaId, TASK_SIZE};
use maple_tree::MaState;

impl Mm {
    /// The mremap syscall.
    pub(crate) fn sys_mremap(
        &mut self,
        addr: u64,
        old_len: u64,
        new_len: u64,
        flags: u32,
        new_addr: u64,
    ) -> Result<u64, Errno> {
        if self.cfg.profile.v7() {
            return self.sys_mremap_v7_1(addr, old_len, new_len, flags, new_addr);
        }
        if flags & !(MREMAP_FIXED | MREMAP_MAYMOVE | MREMAP_DONTUNMAP) != 0 {
            return Err(Errno::EINVAL);
        }
        if flags & MREMAP_FIXED != 0 && flags & MREMAP_MAYMOVE == 0 {
            return Err(Errno::EINVAL);
        }
        if flags & MREMAP_DONTUNMAP != 0 && (flags & MREMAP_MAYMOVE == 0 || old_len != new_len) {
            return Err(Errno::EINVAL);
        }
        if offset_in_page(addr) {
            return Err(Errno::EINVAL);
        }
        let old_len = page_align(old_len);
        let new_len = page_align(new_len);
        if new_len == 0 {
            return Err(Errno::EINVAL);
        }
        if self.vma_lookup(addr).is_none() {
            return Err(Errno::EFAULT);
        }
        if flags & (MREMAP_FIXED | MREMAP_DONTUNMAP) != 0 {
            return self.mremap_to(addr, old_len, new_addr, new_len, flags);
        }
        if old_len >= new_len {
            if old_len == new_len {
                return Ok(addr);
            }
            self.do_vmi_munmap(addr.wrapping_add(new_len), old_len - new_len)?;
            return Ok(addr);
        }
        let vma = self.vma_to_resize(addr, old_len, new_len, flags)?;
        if old_len == self.v(vma).end - addr {
            let delta = new_len - old_len;
            if self.vma_expandable(vma, delta) {
                return match self.vma_merge_extend(vma, delta) {
                    Some(v) => {
                        let flags = self.v(v).flags;
                        self.charge_locked(flags, delta);
                        Ok(addr)
                    }
                    None => Err(Errno::ENOMEM),
                };
            }
        }
        if flags & MREMAP_MAYMOVE == 0 {
            return Err(Errno::ENOMEM);
        }
        let map_flags = self.map_shared_flag(vma);
        let new_addr = self.get_unmapped_area(0, new_len, map_flags)?;
        self.move_vma(vma, addr, old_len, new_len, new_addr, flags)
    }

    /// `MAP_SHARED` for a `VM_MAYSHARE` VMA.
    pub(crate) fn map_shared_flag(&self, vma: VmaId) -> u32 {
        if self.v(vma).flags & VM_MAYSHARE != 0 {
            MAP_SHARED
        } else {
            0
        }
    }

    /// `vma_to_resize`: the checks on the VMA being resized.
    pub(crate) fn vma_to_resize(
        &self,
        addr: u64,
        old_len: u64,
        new_len: u64,
        flags: u32,
    ) -> Result<VmaId, Errno> {
        let Some(vma) = self.vma_lookup(addr) else {
            return Err(Errno::EFAULT);
        };
        let v = self.v(vma);
        if old_len == 0 && v.flags & (VM_SHARED | VM_MAYSHARE) == 0 {
            return Err(Errno::EINVAL);
        }
        if flags & MREMAP_DONTUNMAP != 0 && v.flags & (VM_DONTEXPAND | VM_PFNMAP) != 0 {
            return Err(Errno::EINVAL);
        }
        if old_len > v.end - addr {
            return Err(Errno::EFAULT);
        }
        if new_len == old_len {
            return Ok(vma);
        }
        let pgoff = v.pgoff.wrapping_add((addr - v.start) >> 12);
        if pgoff.wrapping_add(new_len >> 12) < pgoff {
            return Err(Errno::EINVAL);
        }
        if v.flags & (VM_DONTEXPAND | VM_PFNMAP) != 0 {
            return Err(Errno::EFAULT);
        }
        // The mlock and address-space limits are unlimited.
        Ok(vma)
    }

    /// `vma_expandable`: nothing in the way of growing `vma` by `delta`.
    pub(crate) fn vma_expandable(&self, vma: VmaId, delta: u64) -> bool {
        let (start, vend) = (self.v(vma).start, self.v(vma).end);
        let Some(end) = vend.checked_add(delta) else {
            return false;
        };
        if self.find_vma_intersection(vend, end).is_some() {
            return false;
        }
        self.get_unmapped_area(start, end - start, MAP_FIXED)
            .is_ok()
    }

    /// `mremap_to`: move to a fixed address (or, with `MREMAP_DONTUNMAP`
    /// alone, to a hinted one).
    fn mremap_to(
        &mut self,
        addr: u64,
        old_len: u64,
        new_addr: u64,
        new_len: u64,
        flags: u32,
    ) -> Result<u64, Errno> {
        let mut old_len = old_len;
        if offset_in_page(new_addr) {
            return Err(Errno::EINVAL);
        }
        if new_len > TASK_SIZE || new_addr > TASK_SIZE - new_len {
            return Err(Errno::EINVAL);
        }
        if addr.wrapping_add(old_len) > new_addr && new_addr + new_len > addr {
            return Err(Errno::EINVAL);
        }
        // int arithmetic in the kernel.
        if self.map_count as i64 + 2 >= self.cfg.max_map_count as i64 - 3 {
            return Err(Errno::ENOMEM);
        }
        if flags & MREMAP_FIXED != 0 {
            self.do_vmi_munmap(new_addr, new_len)?;
        }
        if old_len > new_len {
            self.do_vmi_munmap(addr + new_len, old_len - new_len)?;
            old_len = new_len;
        }
        let vma = self.vma_to_resize(addr, old_len, new_len, flags)?;
        let mut map_flags = self.map_shared_flag(vma);
        if flags & MREMAP_FIXED != 0 {
            map_flags |= MAP_FIXED;
        }
        let ret = self.get_unmapped_area(new_addr, new_len, map_flags)?;
        let new_addr = if flags & MREMAP_FIXED != 0 {
            new_addr
        } else {
            ret
        };
        self.move_vma(vma, addr, old_len, new_len, new_addr, flags)
    }

    /// `move_vma`: copy the VMA to `new_addr` (merging there if it can),
    /// then unmap the old range, keeping `VM_ACCOUNT` on what is left of
    /// the old VMA.
    fn move_vma(
        &mut self,
        vma: VmaId,
        old_addr: u64,
        old_len: u64,
        new_len: u64,
        new_addr: u64,
        flags: u32,
    ) -> Result<u64, Errno> {
        let dontunmap = flags & MREMAP_DONTUNMAP != 0;
        let vm_flags = self.v(vma).flags;
        if self.map_count as i64 >= self.cfg.max_map_count as i64 - 3 {
            return Err(Errno::ENOMEM);
        }
        let mut vma = vma;
        if dontunmap && vm_flags & VM_LOCKED != 0 {
            self.split_out(vma, old_addr, old_len)?;
        }
        let v = self.v(vma);
        let new_pgoff = v.pgoff.wrapping_add((old_addr - v.start) >> 12);
        let Some(_new_vma) = self.copy_vma(&mut vma, new_addr, new_len, new_pgoff, dontunmap)
        else {
            return Err(Errno::ENOMEM);
        };
        if dontunmap {
            let v = self.vm(vma);
            v.flags &= !(VM_LOCKED | VM_LOCKONFAULT);
            if v.start == old_addr && v.end == old_addr + old_len {
                if v.file.is_none() {
                    v.pgoff = v.start >> 12;
                }
                self.unlink_anon_vmas(vma);
            }
            return Ok(new_addr);
        }
        self.unmap_source_vma(vma, old_addr, old_len);
        // The moved pages are charged again; the unmap uncharged the old
        // ones (a DONTUNMAP move, above, transfers them instead).
        self.charge_locked(vm_flags, new_len);
        Ok(new_addr)
    }

    /// Splits `[addr, addr + len)` out of `vma`, which keeps that range
    /// (a `MREMAP_DONTUNMAP` move out of an mlock()ed VMA: 6.12, and 7.1
    /// with the fix of finding 14).
    pub(crate) fn split_out(&mut self, vma: VmaId, addr: u64, len: u64) -> Result<(), Errno> {
        if self.v(vma).start != addr {
            self.split_vma(vma, addr, true)?;
        }
        if self.v(vma).end != addr + len {
            self.split_vma(vma, addr + len, false)?;
        }
        Ok(())
    }

    /// `unmap_source_vma()` (the end of 6.12's `move_vma`): unmap
    /// `[addr, addr + len)` of the source `vma` with `VM_ACCOUNT` cleared,
    /// and give the flag back to what is left of it on either side (not if
    /// the unmap failed, which the move still reports as success).
    pub(crate) fn unmap_source_vma(&mut self, vma: VmaId, addr: u64, len: u64) {
        let accountable = self.v(vma).flags & VM_ACCOUNT != 0;
        let (vs, ve) = (self.v(vma).start, self.v(vma).end);
        if accountable {
            self.vm(vma).flags &= !VM_ACCOUNT;
        }
        if self.do_vmi_munmap(addr, len).is_err() || !accountable {
            return;
        }
        if vs < addr {
            if let Some(p) = self.prev_vma(addr) {
                self.vm(p).flags |= VM_ACCOUNT;
            }
        }
        if ve > addr + len {
            if let Some(n) = self.find_vma(addr + len) {
                self.vm(n).flags |= VM_ACCOUNT;
            }
        }
    }

    /// `copy_vma`: a copy of `*vmap`'s attributes over `[addr, addr +
    /// len)`, merged with the neighbours there if possible, else a new
    /// VMA. If the source itself absorbed the copy, `*vmap` becomes the
    /// merged VMA.
    pub(crate) fn copy_vma(
        &mut self,
        vmap: &mut VmaId,
        addr: u64,
        len: u64,
        pgoff: u64,
        keep_source: bool,
    ) -> Option<VmaId> {
        let vma = *vmap;
        let src = self.v(vma).clone();
        let mut pgoff = pgoff;
        let mut faulted_in_anon_vma = true;
        if is_anon(&src) && src.anon.is_none() {
            pgoff = addr >> 12;
            faulted_in_anon_vma = false;
        }
        let (found, prev) = self.find_vma_prev(addr);
        if found.is_some_and(|f| self.v(f).start < addr + len) {
            return None;
        }
        let mut vmg = Vmg::new_range(addr, addr + len, src.flags, pgoff);
        vmg.file = src.file;
        vmg.anon = src.anon;
        vmg.prev = prev;
        vmg.next = self.find_vma(addr);
        if self.cfg.profile.v7() {
            vmg.copied_from = Some(vma);
        }
        if !faulted_in_anon_vma && keep_source {
            if vmg.prev == Some(vma) {
                vmg.prev = None;
            }
            if vmg.next == Some(vma) {
                vmg.next = None;
            }
        }
        if let Some(new_vma) = self.vma_merge_new_range(&mut vmg) {
            let n = self.v(new_vma);
            if src.start >= n.start && src.start < n.end {
                *vmap = new_vma;
            }
            return Some(new_vma);
        }
        if self.point(Point::VmaAlloc) {
            return None;
        }
        let mut copy = src.clone();
        copy.chain = Vec::new();
        copy.start = addr;
        copy.end = addr + len;
        copy.pgoff = pgoff;
        let id = self.vma_store_new(copy);
        if self.anon_vma_clone(id, src.anon, &src.chain).is_err() {
            self.vm_area_free(id);
            return None;
        }
        if self.vma_link(id).is_err() {
            self.unlink_anon_vmas(id);
            self.vm_area_free(id);
            return None;
        }
        Some(id)
    }

    /// `vma_link`: insert a VMA over its (empty) range.
    fn vma_link(&mut self, id: VmaId) -> Result<(), Errno> {
        let (s, e) = (self.v(id).start, self.v(id).end);
        let mut mas = MaState::new(0, 0);
        self.vma_iter_prealloc(&mut mas, s, e, Some(id))?;
        self.vma_iter_store(&mut mas, id);
        self.map_count += 1;
        Ok(())
    }
}
