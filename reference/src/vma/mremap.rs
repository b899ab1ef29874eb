// SPDX-License-Identifier: GPL-2.0-or-later
//! mremap (mm/mremap.c): the syscall, `vma_to_resize()`, `mremap_to()`,
//! `vma_expandable()`, `move_vma()`; and from mm/vma.c `copy_vma()` and
//! `vma_merge_extend()`.

use super::{
    env::{PAGE_SHIFT, TASK_SIZE},
    merge::{vma_pgoff_offset, MergeState, Vmg},
    offset_in_page, page_align,
    uapi::*,
    vm, Point, Vma, VmaErrno, VmaOracle,
};

impl VmaOracle {
    /// The `mremap()` syscall.
    pub(crate) fn sys_mremap(
        &mut self,
        addr: u64,
        old_len: u64,
        new_len: u64,
        flags: u32,
        new_addr: u64,
    ) -> Result<u64, VmaErrno> {
        if self.cfg.profile == super::VmaProfile::V7_1 {
            return self.sys_mremap_7_1(addr, old_len, new_len, flags, new_addr);
        }
        if flags & !(MREMAP_FIXED | MREMAP_MAYMOVE | MREMAP_DONTUNMAP) != 0 {
            return Err(VmaErrno::EINVAL);
        }
        if flags & MREMAP_FIXED != 0 && flags & MREMAP_MAYMOVE == 0 {
            return Err(VmaErrno::EINVAL);
        }
        // DONTUNMAP always moves and never resizes (raw lengths compared).
        if flags & MREMAP_DONTUNMAP != 0 && (flags & MREMAP_MAYMOVE == 0 || old_len != new_len) {
            return Err(VmaErrno::EINVAL);
        }
        if offset_in_page(addr) != 0 {
            return Err(VmaErrno::EINVAL);
        }
        let old_len = page_align(old_len);
        let new_len = page_align(new_len);
        if new_len == 0 {
            return Err(VmaErrno::EINVAL);
        }
        if self.vma_lookup(addr).is_none() {
            return Err(VmaErrno::EFAULT);
        }
        if flags & (MREMAP_FIXED | MREMAP_DONTUNMAP) != 0 {
            return self.mremap_to(addr, old_len, new_addr, new_len, flags);
        }
        // Shrinking only unmaps the tail (which may cross VMAs).
        if old_len >= new_len {
            if old_len == new_len {
                return Ok(addr);
            }
            self.do_vmi_munmap(addr.wrapping_add(new_len), old_len - new_len)?;
            return Ok(addr);
        }
        let vma = self.vma_to_resize(addr, old_len, new_len, flags)?;
        if old_len == vma.end - addr {
            let delta = new_len - old_len;
            if self.vma_expandable(&vma, delta) {
                // VM_ACCOUNT charge: never refused.
                return match self.vma_merge_extend(vma, delta) {
                    MergeState::Success(_) => Ok(addr),
                    _ => Err(VmaErrno::ENOMEM),
                };
            }
        }
        if flags & MREMAP_MAYMOVE != 0 {
            let new_addr = self.get_unmapped_area(0, new_len, shared_flag(&vma))?;
            return self.move_vma(vma, addr, old_len, new_len, new_addr, flags);
        }
        Err(VmaErrno::ENOMEM)
    }

    /// `vma_to_resize()`: the old range must lie in one VMA; checks for a
    /// growing mapping.
    pub(crate) fn vma_to_resize(
        &self,
        addr: u64,
        old_len: u64,
        new_len: u64,
        flags: u32,
    ) -> Result<Vma, VmaErrno> {
        let vma = self.vma_lookup(addr).ok_or(VmaErrno::EFAULT)?;
        if old_len == 0 && vma.flags & (vm::VM_SHARED | vm::VM_MAYSHARE) == 0 {
            return Err(VmaErrno::EINVAL);
        }
        if flags & MREMAP_DONTUNMAP != 0 && vma.flags & (vm::VM_DONTEXPAND | vm::VM_PFNMAP) != 0 {
            return Err(VmaErrno::EINVAL);
        }
        if old_len > vma.end - addr {
            return Err(VmaErrno::EFAULT);
        }
        if new_len == old_len {
            return Ok(vma);
        }
        let pgoff = vma_pgoff_offset(&vma, addr);
        if pgoff.wrapping_add(new_len >> PAGE_SHIFT) < pgoff {
            return Err(VmaErrno::EINVAL);
        }
        if vma.flags & (vm::VM_DONTEXPAND | vm::VM_PFNMAP) != 0 {
            return Err(VmaErrno::EFAULT);
        }
        // mlock_future_ok() and may_expand_vm() pass (no limits).
        Ok(vma)
    }

    /// `mremap_to()`: MREMAP_FIXED and/or MREMAP_DONTUNMAP.
    fn mremap_to(
        &mut self,
        addr: u64,
        old_len: u64,
        new_addr: u64,
        new_len: u64,
        flags: u32,
    ) -> Result<u64, VmaErrno> {
        if offset_in_page(new_addr) != 0 {
            return Err(VmaErrno::EINVAL);
        }
        if new_len > TASK_SIZE || new_addr > TASK_SIZE - new_len {
            return Err(VmaErrno::EINVAL);
        }
        if addr.wrapping_add(old_len) > new_addr && new_addr.wrapping_add(new_len) > addr {
            return Err(VmaErrno::EINVAL);
        }
        // Room for both ranges to be split in three.
        if self.count() + 2 >= self.max_count() - 3 {
            return Err(VmaErrno::ENOMEM);
        }
        if flags & MREMAP_FIXED != 0 {
            self.do_vmi_munmap(new_addr, new_len)?;
        }
        let mut old_len = old_len;
        if old_len > new_len {
            self.do_vmi_munmap(addr.wrapping_add(new_len), old_len - new_len)?;
            old_len = new_len;
        }
        let vma = self.vma_to_resize(addr, old_len, new_len, flags)?;
        let mut map_flags = shared_flag(&vma);
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

    /// `vma_expandable()`: nothing in the way and a MAP_FIXED
    /// `get_unmapped_area()` accepts the grown range.
    fn vma_expandable(&self, vma: &Vma, delta: u64) -> bool {
        let end = vma.end.wrapping_add(delta);
        if end < vma.end {
            return false;
        }
        if self.find_vma_intersection(vma.end, end).is_some() {
            return false;
        }
        self.get_unmapped_area(vma.start, end - vma.start, MAP_FIXED)
            .is_ok()
    }

    /// `vma_merge_extend()`: a new range `[vma.end, vma.end + delta)` with
    /// vma's attributes, merged into vma (and maybe the next VMA).
    pub(crate) fn vma_merge_extend(&mut self, vma: Vma, delta: u64) -> MergeState {
        let vmg = Vmg {
            start: vma.end,
            end: vma.end + delta,
            flags: vma.flags,
            file: vma.file,
            anon: vma.anon,
            pgoff: vma_pgoff_offset(&vma, vma.end),
            src: None,
        };
        let next = self.first_from(vma.end);
        self.vma_merge_new_range(&vmg, Some(vma), next, false)
    }

    /// `copy_vma()`: the destination `[addr, addr + len)` gets `vma`'s
    /// attributes, merged with its neighbours if possible, else as a new
    /// VMA sharing vma's anon_vma. An unfaulted anonymous VMA gets the pgoff
    /// of its new address. Returns `(key of the new VMA, key of the source
    /// VMA)`; the source changes when it merged with the destination.
    pub(crate) fn copy_vma(
        &mut self,
        vma: Vma,
        addr: u64,
        len: u64,
        pgoff: u64,
        keep_source: bool,
    ) -> Option<(u64, u64)> {
        let mut pgoff = pgoff;
        let mut faulted_in_anon_vma = true;
        if vma.is_anonymous() && vma.anon.is_none() {
            pgoff = addr >> PAGE_SHIFT;
            faulted_in_anon_vma = false;
        }
        if self.find_vma_intersection(addr, addr + len).is_some() {
            return None;
        }
        let mut prev = self.last_below(addr);
        let mut next = self.first_from(addr);
        if !faulted_in_anon_vma && keep_source {
            // No self-merge when the source stays.
            if prev.is_some_and(|p| p.start == vma.start) {
                prev = None;
            }
            if next.is_some_and(|n| n.start == vma.start) {
                next = None;
            }
        }
        let vmg = Vmg {
            start: addr,
            end: addr + len,
            flags: vma.flags,
            file: vma.file,
            anon: vma.anon,
            pgoff,
            src: Some(vma),
        };
        if let MergeState::Success(key) = self.vma_merge_new_range(&vmg, prev, next, false) {
            let new = self.get(key);
            let source = if vma.start >= new.start && vma.start < new.end {
                key
            } else {
                vma.start
            };
            return Some((key, source));
        }
        // vm_area_dup(), anon_vma_clone(), vma_link()'s preallocation
        // (whose failure unlinks the cloned chain again).
        self.alloc_point(Point::VmaAlloc).ok()?;
        let new = Vma {
            id: self.new_vma_id(),
            start: addr,
            end: addr + len,
            pgoff,
            ..vma
        };
        self.anon_vma_clone(&new, &vma).ok()?;
        if self.alloc_point(Point::Prealloc).is_err() {
            self.unlink_anon_vmas(&new);
            return None;
        }
        self.insert(new);
        Some((addr, vma.start))
    }

    /// `move_vma()`: copy, then unmap the old range. VM_ACCOUNT is taken off
    /// the source before the unmap and put back on what is left of it on
    /// either side (not if the unmap failed, which still reports success).
    /// With MREMAP_DONTUNMAP the source stays, without its mlock (an
    /// mlock()ed one is split first, so only the moved range loses it) and
    /// without its anon_vma if it moved whole. 7.1 (with the fix of finding
    /// 14, docs/findings/mremap-dontunmap-mlock.md) wants room for two VMAs
    /// where 6.12 wants four, lets the copy merge into the source it keeps
    /// (which then keeps its lock), and leaves an emptied source's pgoff.
    pub(crate) fn move_vma(
        &mut self,
        vma: Vma,
        old_addr: u64,
        old_len: u64,
        new_len: u64,
        new_addr: u64,
        flags: u32,
    ) -> Result<u64, VmaErrno> {
        let v7 = self.cfg.profile == super::VmaProfile::V7_1;
        let room = if v7 {
            self.count() + 2 <= self.max_count()
        } else {
            self.count() < self.max_count() - 3
        };
        if !room {
            return Err(VmaErrno::ENOMEM);
        }
        let dontunmap = flags & MREMAP_DONTUNMAP != 0;
        let mut vma = vma;
        if dontunmap && vma.flags & vm::VM_LOCKED != 0 {
            vma = self.split_out(vma, old_addr, old_len)?;
        }
        let new_pgoff = vma_pgoff_offset(&vma, old_addr);
        // 6.12 keeps a DONTUNMAP source apart from its copy.
        let (new_key, source) = self
            .copy_vma(vma, new_addr, new_len, new_pgoff, dontunmap && !v7)
            .ok_or(VmaErrno::ENOMEM)?;
        // move_page_tables() succeeds; no ->mremap hook.
        if dontunmap {
            let src = self.vmas.get_mut(&source).expect("mremap source");
            let apart = new_key != source;
            if apart {
                src.flags &= !vm::VM_LOCKED_MASK;
            }
            if apart && src.start == old_addr && src.end == old_addr + old_len {
                // unlink_anon_vmas(); in 6.12 an unfaulted anonymous VMA's
                // pgoff follows its address.
                let before = *src;
                src.anon = None;
                if !v7 && src.file.is_none() {
                    src.pgoff = src.start >> PAGE_SHIFT;
                }
                self.unlink_anon_vmas(&before);
            }
            return Ok(new_addr);
        }
        self.unmap_source(source, old_addr, old_len);
        Ok(new_addr)
    }

    /// Splits `[addr, addr + len)` out of `vma` and returns the VMA that is
    /// exactly that range (a `MREMAP_DONTUNMAP` move out of an mlock()ed
    /// VMA: 6.12, and 7.1 with the fix of finding 14).
    pub(crate) fn split_out(&mut self, vma: Vma, addr: u64, len: u64) -> Result<Vma, VmaErrno> {
        let mut vma = vma;
        if vma.start != addr {
            self.split_vma(vma.start, addr, true)?;
            vma = self.get(addr);
        }
        if vma.end != addr + len {
            self.split_vma(vma.start, addr + len, false)?;
            vma = self.get(vma.start);
        }
        Ok(vma)
    }

    /// The end of a move: unmap `[addr, addr + len)` of the source (the VMA
    /// at key `source`) with VM_ACCOUNT taken off, and put the flag back on
    /// what is left of it on either side (not if the unmap failed, which
    /// the move still reports as success).
    pub(crate) fn unmap_source(&mut self, source: u64, addr: u64, len: u64) {
        let src = self.get(source);
        let accounted = src.flags & vm::VM_ACCOUNT != 0;
        if accounted {
            self.vmas.get_mut(&source).unwrap().flags &= !vm::VM_ACCOUNT;
        }
        if self.do_vmi_munmap(addr, len).is_err() || !accounted {
            return;
        }
        if src.start < addr {
            let k = self
                .last_below(addr)
                .expect("lower rest of the source")
                .start;
            self.vmas.get_mut(&k).unwrap().flags |= vm::VM_ACCOUNT;
        }
        if src.end > addr + len {
            let k = self
                .first_from(addr + len)
                .expect("upper rest of the source")
                .start;
            self.vmas.get_mut(&k).unwrap().flags |= vm::VM_ACCOUNT;
        }
    }
}

/// `MAP_SHARED` for a `VM_MAYSHARE` VMA.
pub(crate) fn shared_flag(v: &Vma) -> u32 {
    if v.flags & vm::VM_MAYSHARE != 0 {
        MAP_SHARED
    } else {
        0
    }
}
