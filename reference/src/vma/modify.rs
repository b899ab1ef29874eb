// SPDX-License-Identifier: GPL-2.0-or-later
//! Flag changes over a range: mprotect (mm/mprotect.c
//! `do_mprotect_pkey()`, `mprotect_fixup()`) and madvise (mm/madvise.c
//! `do_madvise()`, `madvise_walk_vmas()`, `madvise_vma_behavior()`,
//! `madvise_update_vma()`), both through `vma_modify_flags()`.

use super::{
    mmap::calc_vm_prot_bits, offset_in_page, page_align, uapi::*, vm, Vma, VmaErrno, VmaOracle,
};

/// The advices the contract models (`madvise_behavior_valid()` restricted
/// to the VMA-flag ones; everything else is `-EINVAL` by contract).
fn madvise_behavior_valid(advice: u32) -> bool {
    matches!(
        advice,
        MADV_NORMAL
            | MADV_RANDOM
            | MADV_SEQUENTIAL
            | MADV_DONTFORK
            | MADV_DOFORK
            | MADV_DONTDUMP
            | MADV_DODUMP
            | MADV_WIPEONFORK
            | MADV_KEEPONFORK
    )
}

impl VmaOracle {
    /// `do_mprotect_pkey()`: walk the VMAs of the range in order; a hole
    /// stops the walk with `-ENOMEM`, keeping what was already changed.
    pub(crate) fn do_mprotect_pkey(
        &mut self,
        start: u64,
        len: u64,
        prot: u32,
    ) -> Result<(), VmaErrno> {
        let grows = prot & (PROT_GROWSDOWN | PROT_GROWSUP);
        let prot = prot & !(PROT_GROWSDOWN | PROT_GROWSUP);
        if grows == PROT_GROWSDOWN | PROT_GROWSUP {
            return Err(VmaErrno::EINVAL);
        }
        if offset_in_page(start) != 0 {
            return Err(VmaErrno::EINVAL);
        }
        if len == 0 {
            return Ok(());
        }
        let len = page_align(len);
        let end = start.wrapping_add(len);
        if end <= start {
            return Err(VmaErrno::ENOMEM);
        }
        // arch_validate_prot(): only R, W, X and SEM.
        if prot & !(PROT_READ | PROT_WRITE | PROT_EXEC | PROT_SEM) != 0 {
            return Err(VmaErrno::EINVAL);
        }
        let Some(first) = self.find_vma_intersection(start, end) else {
            return Err(VmaErrno::ENOMEM);
        };
        let mut start = start;
        if grows & PROT_GROWSDOWN != 0 {
            if first.start >= end {
                return Err(VmaErrno::ENOMEM);
            }
            start = first.start;
            if first.flags & vm::VM_GROWSDOWN == 0 {
                return Err(VmaErrno::EINVAL);
            }
        } else {
            if first.start > start {
                return Err(VmaErrno::ENOMEM);
            }
            if grows & PROT_GROWSUP != 0 {
                // The range would stretch to first.end, but VM_GROWSUP is
                // VM_NONE on x86: no VMA has it.
                return Err(VmaErrno::EINVAL);
            }
        }

        let mut nstart = start;
        let mut tmp = first.start;
        let mut cur = Some(first);
        let mut error = Ok(());
        while let Some(vma) = cur {
            if vma.start != tmp {
                error = Err(VmaErrno::ENOMEM);
                break;
            }
            let newflags = calc_vm_prot_bits(prot) | (vma.flags & !vm::VM_ACCESS_FLAGS);
            // The VM_MAY* bits, shifted onto VM_*, must allow the request.
            if (newflags & !(newflags >> 4)) & vm::VM_ACCESS_FLAGS != 0 {
                error = Err(VmaErrno::EACCES);
                break;
            }
            tmp = vma.end.min(end);
            let key = match self.mprotect_fixup(vma, nstart, tmp, newflags) {
                Ok(k) => k,
                Err(e) => {
                    error = Err(e);
                    break;
                }
            };
            // vma_iter_end(): the end of the VMA now covering nstart.
            tmp = self.get(key).end;
            nstart = tmp;
            cur = self.first_from(tmp).filter(|v| v.start < end);
        }
        if error.is_ok() && tmp < end {
            return Err(VmaErrno::ENOMEM);
        }
        error
    }

    /// `mprotect_fixup()`: VM_ACCOUNT is charged when a private mapping
    /// first becomes writable and dropped from a never-faulted anonymous
    /// one losing write; then `vma_modify_flags()` and the new flags.
    /// Returns the key of the VMA now covering `start`.
    fn mprotect_fixup(
        &mut self,
        vma: Vma,
        start: u64,
        end: u64,
        newflags: u64,
    ) -> Result<u64, VmaErrno> {
        let oldflags = vma.flags;
        if newflags == oldflags {
            return Ok(vma.start);
        }
        let mut newflags = newflags;
        if newflags & vm::VM_WRITE != 0 {
            let no_charge =
                vm::VM_ACCOUNT | vm::VM_WRITE | vm::VM_HUGETLB | vm::VM_SHARED | vm::VM_NORESERVE;
            if oldflags & no_charge == 0 {
                newflags |= vm::VM_ACCOUNT;
            }
        } else if oldflags & vm::VM_ACCOUNT != 0 && vma.is_anonymous() && vma.anon.is_none() {
            newflags &= !vm::VM_ACCOUNT;
        }
        let key = self.vma_modify_flags(vma, start, end, newflags)?;
        self.vmas.get_mut(&key).expect("modified VMA").flags = newflags;
        Ok(key)
    }

    /// `do_madvise()` for the flag advices.
    pub(crate) fn do_madvise(
        &mut self,
        start: u64,
        len_in: u64,
        advice: u32,
    ) -> Result<(), VmaErrno> {
        if !madvise_behavior_valid(advice) {
            return Err(VmaErrno::EINVAL);
        }
        if offset_in_page(start) != 0 {
            return Err(VmaErrno::EINVAL);
        }
        let len = page_align(len_in);
        if len_in != 0 && len == 0 {
            return Err(VmaErrno::EINVAL);
        }
        let end = start.wrapping_add(len);
        if end < start {
            return Err(VmaErrno::EINVAL);
        }
        if end == start {
            return Ok(());
        }
        self.madvise_walk_vmas(start, end, advice)
    }

    /// `madvise_walk_vmas()`: apply to every mapped part of the range,
    /// skipping holes, and report `-ENOMEM` for the holes at the end. An
    /// error from a VMA stops the walk at once.
    fn madvise_walk_vmas(&mut self, start: u64, end: u64, advice: u32) -> Result<(), VmaErrno> {
        let mut start = start;
        let mut unmapped_error = Ok(());
        let mut cur = self.find_vma(start);
        loop {
            let Some(vma) = cur else {
                return Err(VmaErrno::ENOMEM);
            };
            if start < vma.start {
                unmapped_error = Err(VmaErrno::ENOMEM);
                start = vma.start;
                if start >= end {
                    break;
                }
            }
            let tmp = vma.end.min(end);
            let prev = self.madvise_vma_behavior(vma, start, tmp, advice)?;
            let prev_end = self.get(prev).end;
            start = tmp.max(prev_end);
            if start >= end {
                break;
            }
            cur = self.find_vma(prev_end);
        }
        unmapped_error
    }

    /// `madvise_vma_behavior()` + `madvise_update_vma()`: the new flags,
    /// the per-advice refusals, and `vma_modify_flags()` unless nothing
    /// changes. `-ENOMEM` from the modify becomes `-EAGAIN`. Returns the
    /// key of the VMA now covering `start` (the walk's `*prev`).
    fn madvise_vma_behavior(
        &mut self,
        vma: Vma,
        start: u64,
        end: u64,
        advice: u32,
    ) -> Result<u64, VmaErrno> {
        let mut new_flags = vma.flags;
        match advice {
            MADV_NORMAL => new_flags &= !(vm::VM_RAND_READ | vm::VM_SEQ_READ),
            MADV_SEQUENTIAL => new_flags = (new_flags & !vm::VM_RAND_READ) | vm::VM_SEQ_READ,
            MADV_RANDOM => new_flags = (new_flags & !vm::VM_SEQ_READ) | vm::VM_RAND_READ,
            MADV_DONTFORK => new_flags |= vm::VM_DONTCOPY,
            MADV_DOFORK => {
                if vma.flags & vm::VM_IO != 0 {
                    return Err(VmaErrno::EINVAL);
                }
                new_flags &= !vm::VM_DONTCOPY;
            }
            MADV_WIPEONFORK => {
                // Anonymous private memory only (shmem has a file).
                if vma.file.is_some() || vma.flags & vm::VM_SHARED != 0 {
                    return Err(VmaErrno::EINVAL);
                }
                new_flags |= vm::VM_WIPEONFORK;
            }
            MADV_KEEPONFORK => {
                if vma.flags & vm::VM_DROPPABLE != 0 {
                    return Err(VmaErrno::EINVAL);
                }
                new_flags &= !vm::VM_WIPEONFORK;
            }
            MADV_DONTDUMP => new_flags |= vm::VM_DONTDUMP,
            MADV_DODUMP => {
                if new_flags & vm::VM_SPECIAL != 0 || vma.flags & vm::VM_DROPPABLE != 0 {
                    return Err(VmaErrno::EINVAL);
                }
                new_flags &= !vm::VM_DONTDUMP;
            }
            _ => unreachable!("advice {advice} passed madvise_behavior_valid"),
        }
        // madvise_update_vma()
        if new_flags == vma.flags {
            return Ok(vma.start);
        }
        let key = self
            .vma_modify_flags(vma, start, end, new_flags)
            .map_err(|e| {
                if e == VmaErrno::ENOMEM {
                    VmaErrno::EAGAIN
                } else {
                    e
                }
            })?;
        self.vmas.get_mut(&key).expect("modified VMA").flags = new_flags;
        Ok(key)
    }
}
