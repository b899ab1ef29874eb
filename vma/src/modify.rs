// SPDX-License-Identifier: GPL-2.0-or-later
//! Flag changes over a range: mprotect (`mm/mprotect.c`:
//! `do_mprotect_pkey`, `mprotect_fixup`) and the VMA-flag advices of
//! madvise (`mm/madvise.c`: `do_madvise`, `madvise_walk_vmas`,
//! `madvise_vma_behavior`, `madvise_update_vma`), both through
//! `vma_modify_flags`.

use super::mmap::calc_vm_prot_bits;
use super::uapi::*;
use super::vmflags::*;
use super::{is_anon, offset_in_page, page_align, Errno, Mm, VmaId};

impl Mm {
    /// `do_mprotect_pkey` with no key. Stops at the first hole with
    /// `ENOMEM`; what was changed before stays changed.
    pub(crate) fn do_mprotect_pkey(
        &mut self,
        start: u64,
        len: u64,
        prot: u32,
    ) -> Result<(), Errno> {
        let grows = prot & (PROT_GROWSDOWN | PROT_GROWSUP);
        let prot = prot & !(PROT_GROWSDOWN | PROT_GROWSUP);
        if grows == PROT_GROWSDOWN | PROT_GROWSUP {
            return Err(Errno::EINVAL);
        }
        if offset_in_page(start) {
            return Err(Errno::EINVAL);
        }
        if len == 0 {
            return Ok(());
        }
        let mut start = start;
        let end = start.wrapping_add(page_align(len));
        if end <= start {
            return Err(Errno::ENOMEM);
        }
        // arch_validate_prot().
        if prot & !(PROT_READ | PROT_WRITE | PROT_EXEC | PROT_SEM) != 0 {
            return Err(Errno::EINVAL);
        }
        let Some(vma) = self.find_vma_intersection(start, end) else {
            return Err(Errno::ENOMEM);
        };
        if grows & PROT_GROWSDOWN != 0 {
            if self.v(vma).start >= end {
                return Err(Errno::ENOMEM);
            }
            start = self.v(vma).start;
            if self.v(vma).flags & VM_GROWSDOWN == 0 {
                return Err(Errno::EINVAL);
            }
        } else {
            if self.v(vma).start > start {
                return Err(Errno::ENOMEM);
            }
            if grows & PROT_GROWSUP != 0 {
                // The range would extend to the VMA's end, but x86 has no
                // VM_GROWSUP.
                return Err(Errno::EINVAL);
            }
        }
        let mut prev = self.prev_of(vma);
        if start > self.v(vma).start {
            prev = Some(vma);
        }
        let newprot = calc_vm_prot_bits(prot);
        let mut nstart = start;
        let mut tmp = self.v(vma).start;
        let mut cur = Some(vma);
        let mut error = Ok(());
        while let Some(v) = cur {
            if self.v(v).start != tmp {
                error = Err(Errno::ENOMEM);
                break;
            }
            let newflags = newprot | (self.v(v).flags & !VM_ACCESS_FLAGS);
            // The VM_MAY* bits sit four above the VM_* bits they allow.
            if (newflags & !(newflags >> 4)) & VM_ACCESS_FLAGS != 0 {
                error = Err(Errno::EACCES);
                break;
            }
            tmp = self.v(v).end.min(end);
            match self.mprotect_fixup(v, &mut prev, nstart, tmp, newflags) {
                Err(e) => {
                    error = Err(e);
                    break;
                }
                // The iterator stands on the resulting VMA.
                Ok(r) => tmp = self.v(r).end,
            }
            nstart = tmp;
            cur = self.find_vma_intersection(tmp, end);
        }
        if error.is_ok() && tmp < end {
            error = Err(Errno::ENOMEM);
        }
        error
    }

    /// `mprotect_fixup`: give `[start, end)` of `vma` the flags `newflags`
    /// (with the `VM_ACCOUNT` rules). Returns the VMA now covering it.
    fn mprotect_fixup(
        &mut self,
        vma: VmaId,
        pprev: &mut Option<VmaId>,
        start: u64,
        end: u64,
        newflags: u64,
    ) -> Result<VmaId, Errno> {
        let oldflags = self.v(vma).flags;
        let mut newflags = newflags;
        if newflags == oldflags {
            *pprev = Some(vma);
            return Ok(vma);
        }
        if newflags & VM_WRITE != 0 {
            // Making a private mapping writable charges it.
            if oldflags & (VM_ACCOUNT | VM_WRITE | VM_HUGETLB | VM_SHARED | VM_NORESERVE) == 0 {
                newflags |= VM_ACCOUNT;
            }
        } else if oldflags & VM_ACCOUNT != 0 && is_anon(self.v(vma)) && self.v(vma).anon.is_none() {
            newflags &= !VM_ACCOUNT;
        }
        let r = self.vma_modify_flags(*pprev, vma, start, end, newflags)?;
        *pprev = Some(r);
        self.vm(r).flags = newflags;
        Ok(r)
    }

    /// `do_madvise` for the advices that change VMA flags.
    pub(crate) fn do_madvise(
        &mut self,
        start: u64,
        len_in: u64,
        behavior: u32,
    ) -> Result<(), Errno> {
        if !matches!(
            behavior,
            MADV_NORMAL
                | MADV_RANDOM
                | MADV_SEQUENTIAL
                | MADV_DONTFORK
                | MADV_DOFORK
                | MADV_DONTDUMP
                | MADV_DODUMP
                | MADV_WIPEONFORK
                | MADV_KEEPONFORK
        ) {
            return Err(Errno::EINVAL);
        }
        if offset_in_page(start) {
            return Err(Errno::EINVAL);
        }
        let len = page_align(len_in);
        if len_in != 0 && len == 0 {
            return Err(Errno::EINVAL);
        }
        let end = start.wrapping_add(len);
        if end < start {
            return Err(Errno::EINVAL);
        }
        if end == start {
            return Ok(());
        }
        self.madvise_walk_vmas(start, end, behavior)
    }

    /// `madvise_walk_vmas`: apply the advice to every mapped part of the
    /// range; holes give `ENOMEM` at the end.
    fn madvise_walk_vmas(&mut self, start: u64, end: u64, behavior: u32) -> Result<(), Errno> {
        let mut start = start;
        let (mut vma, mut prev) = self.find_vma_prev(start);
        if let Some(v) = vma {
            if start > self.v(v).start {
                prev = Some(v);
            }
        }
        let mut unmapped_error = Ok(());
        loop {
            let Some(v) = vma else {
                return Err(Errno::ENOMEM);
            };
            if start < self.v(v).start {
                unmapped_error = Err(Errno::ENOMEM);
                start = self.v(v).start;
                if start >= end {
                    break;
                }
            }
            let tmp = self.v(v).end.min(end);
            self.madvise_vma_behavior(v, &mut prev, start, tmp, behavior)?;
            start = tmp;
            if let Some(p) = prev {
                if start < self.v(p).end {
                    start = self.v(p).end;
                }
            }
            if start >= end {
                break;
            }
            vma = match prev {
                Some(p) => self.find_vma(self.v(p).end),
                None => self.find_vma(start),
            };
        }
        unmapped_error
    }

    /// `madvise_vma_behavior` for the flag advices; `ENOMEM` from the
    /// update becomes `EAGAIN`.
    fn madvise_vma_behavior(
        &mut self,
        vma: VmaId,
        prev: &mut Option<VmaId>,
        start: u64,
        end: u64,
        behavior: u32,
    ) -> Result<(), Errno> {
        let v = self.v(vma);
        let mut new_flags = v.flags;
        match behavior {
            MADV_NORMAL => new_flags &= !(VM_RAND_READ | VM_SEQ_READ),
            MADV_SEQUENTIAL => new_flags = (new_flags & !VM_RAND_READ) | VM_SEQ_READ,
            MADV_RANDOM => new_flags = (new_flags & !VM_SEQ_READ) | VM_RAND_READ,
            MADV_DONTFORK => new_flags |= VM_DONTCOPY,
            MADV_DOFORK => {
                if v.flags & VM_IO != 0 {
                    return Err(Errno::EINVAL);
                }
                new_flags &= !VM_DONTCOPY;
            }
            MADV_WIPEONFORK => {
                if v.file.is_some() || v.flags & VM_SHARED != 0 {
                    return Err(Errno::EINVAL);
                }
                new_flags |= VM_WIPEONFORK;
            }
            MADV_KEEPONFORK => {
                if v.flags & VM_DROPPABLE != 0 {
                    return Err(Errno::EINVAL);
                }
                new_flags &= !VM_WIPEONFORK;
            }
            MADV_DONTDUMP => new_flags |= VM_DONTDUMP,
            MADV_DODUMP => {
                if new_flags & VM_SPECIAL != 0 || v.flags & VM_DROPPABLE != 0 {
                    return Err(Errno::EINVAL);
                }
                new_flags &= !VM_DONTDUMP;
            }
            _ => unreachable!("checked by do_madvise"),
        }
        match self.madvise_update_vma(vma, prev, start, end, new_flags) {
            Err(Errno::ENOMEM) => Err(Errno::EAGAIN),
            r => r,
        }
    }

    /// `madvise_update_vma` (the anon name never changes here).
    fn madvise_update_vma(
        &mut self,
        vma: VmaId,
        prev: &mut Option<VmaId>,
        start: u64,
        end: u64,
        new_flags: u64,
    ) -> Result<(), Errno> {
        if new_flags == self.v(vma).flags {
            *prev = Some(vma);
            return Ok(());
        }
        let r = self.vma_modify_flags(*prev, vma, start, end, new_flags)?;
        *prev = Some(r);
        self.vm(r).flags = new_flags;
        Ok(())
    }
}
