// SPDX-License-Identifier: GPL-2.0-or-later
//! mmap (mm/mmap.c): `do_mmap()`, `mmap_region()` / `__mmap_region()`.

use super::{
    env::{MMAP_MIN_ADDR, PAGE_SHIFT},
    merge::{MergeState, Vmg},
    page_align,
    uapi::*,
    vm, Backing, Point, Vma, VmaErrno, VmaOracle,
};

/// `MAX_LFS_FILESIZE` on 64-bit.
const MAX_LFS_FILESIZE: u64 = i64::MAX as u64;

/// Whether the contract's file `f` was opened with FMODE_WRITE (file 2 is
/// read-only).
fn file_writable(f: u32) -> bool {
    f != 2
}

/// `calc_vm_prot_bits()` (no pkeys).
pub(crate) fn calc_vm_prot_bits(prot: u32) -> u64 {
    let mut f = 0;
    if prot & PROT_READ != 0 {
        f |= vm::VM_READ;
    }
    if prot & PROT_WRITE != 0 {
        f |= vm::VM_WRITE;
    }
    if prot & PROT_EXEC != 0 {
        f |= vm::VM_EXEC;
    }
    f
}

/// `calc_vm_flag_bits()` (MAP_STACK means nothing without THP).
fn calc_vm_flag_bits(flags: u32) -> u64 {
    let mut f = 0;
    if flags & MAP_GROWSDOWN != 0 {
        f |= vm::VM_GROWSDOWN;
    }
    if flags & MAP_LOCKED != 0 {
        f |= vm::VM_LOCKED;
    }
    if flags & MAP_SYNC != 0 {
        f |= vm::VM_SYNC;
    }
    f
}

/// `round_hint_to_min()`.
fn round_hint_to_min(hint: u64) -> u64 {
    let hint = hint & !(super::env::PAGE_SIZE - 1);
    if hint != 0 && hint < MMAP_MIN_ADDR {
        return page_align(MMAP_MIN_ADDR);
    }
    hint
}

/// `file_mmap_ok()` for a regular file.
fn file_mmap_ok(pgoff: u64, len: u64) -> bool {
    let maxsize = MAX_LFS_FILESIZE;
    if len > maxsize {
        return false;
    }
    pgoff <= (maxsize - len) >> PAGE_SHIFT
}

/// `accountable_mapping()`: private, writable and not NORESERVE.
pub(crate) fn accountable_mapping(vm_flags: u64) -> bool {
    vm_flags & (vm::VM_NORESERVE | vm::VM_SHARED | vm::VM_WRITE) == vm::VM_WRITE
}

impl VmaOracle {
    /// `do_mmap()`, checks in the kernel's order.
    pub(crate) fn do_mmap(
        &mut self,
        addr: u64,
        len: u64,
        prot: u32,
        flags: u32,
        backing: Backing,
    ) -> Result<u64, VmaErrno> {
        let mut flags = flags;
        let mut addr = addr;
        if len == 0 {
            return Err(VmaErrno::EINVAL);
        }
        if flags & MAP_FIXED_NOREPLACE != 0 {
            flags |= MAP_FIXED;
        }
        if flags & MAP_FIXED == 0 {
            addr = round_hint_to_min(addr);
        }
        let len = page_align(len);
        if len == 0 {
            return Err(VmaErrno::ENOMEM);
        }
        let (file, mut pgoff) = match backing {
            Backing::Anon => (None, 0),
            Backing::File { file, pgoff } => (Some(u32::from(file)), pgoff),
        };
        if pgoff.wrapping_add(len >> PAGE_SHIFT) < pgoff {
            return Err(VmaErrno::EOVERFLOW);
        }
        if self.count() > self.max_count() {
            return Err(VmaErrno::ENOMEM);
        }
        let mut vm_flags = calc_vm_prot_bits(prot)
            | calc_vm_flag_bits(flags)
            | vm::VM_MAYREAD
            | vm::VM_MAYWRITE
            | vm::VM_MAYEXEC;

        let addr = self.get_unmapped_area(addr, len, flags)?;

        if flags & MAP_FIXED_NOREPLACE != 0
            && self.find_vma_intersection(addr, addr + len).is_some()
        {
            return Err(VmaErrno::EEXIST);
        }
        // MAP_LOCKED: can_do_mlock() and mlock_future_ok() pass with an
        // unlimited RLIMIT_MEMLOCK.

        if let Some(f) = file {
            if !file_mmap_ok(pgoff, len) {
                return Err(VmaErrno::EOVERFLOW);
            }
            let ty = flags & MAP_TYPE;
            if ty == MAP_SHARED || ty == MAP_SHARED_VALIDATE {
                if ty == MAP_SHARED {
                    // Unknown flags are silently dropped with MAP_SHARED.
                    flags &= LEGACY_MAP_MASK;
                }
                if flags & !LEGACY_MAP_MASK != 0 {
                    return Err(VmaErrno::EOPNOTSUPP);
                }
                if prot & PROT_WRITE != 0 && !file_writable(f) {
                    return Err(VmaErrno::EACCES);
                }
                vm_flags |= vm::VM_SHARED | vm::VM_MAYSHARE;
                if !file_writable(f) {
                    vm_flags &= !(vm::VM_MAYWRITE | vm::VM_SHARED);
                }
            } else if ty != MAP_PRIVATE {
                return Err(VmaErrno::EINVAL);
            }
            // The MAP_PRIVATE part, which MAP_SHARED falls through to: every
            // file is readable, none is noexec, all have ->mmap.
            if vm_flags & (vm::VM_GROWSDOWN | vm::VM_GROWSUP) != 0 {
                return Err(VmaErrno::EINVAL);
            }
        } else {
            match flags & MAP_TYPE {
                MAP_SHARED => {
                    if vm_flags & (vm::VM_GROWSDOWN | vm::VM_GROWSUP) != 0 {
                        return Err(VmaErrno::EINVAL);
                    }
                    pgoff = 0;
                    vm_flags |= vm::VM_SHARED | vm::VM_MAYSHARE;
                }
                MAP_DROPPABLE | MAP_PRIVATE => {
                    if flags & MAP_TYPE == MAP_DROPPABLE {
                        if flags & (MAP_LOCKED | MAP_HUGETLB) != 0 {
                            return Err(VmaErrno::EINVAL);
                        }
                        if vm_flags & (vm::VM_GROWSDOWN | vm::VM_GROWSUP) != 0 {
                            return Err(VmaErrno::EINVAL);
                        }
                        vm_flags |= vm::VM_DROPPABLE
                            | vm::VM_NORESERVE
                            | vm::VM_WIPEONFORK
                            | vm::VM_DONTDUMP;
                    }
                    pgoff = addr >> PAGE_SHIFT;
                }
                _ => return Err(VmaErrno::EINVAL),
            }
        }
        if flags & MAP_NORESERVE != 0 {
            // Heuristic overcommit honours MAP_NORESERVE.
            vm_flags |= vm::VM_NORESERVE;
        }
        // mmap_region(): no MDWE, arch_validate_flags() passes, and
        // mapping_map_writable() cannot fail for these files.
        self.mmap_region(file, addr, len, vm_flags, pgoff)
    }

    /// `__mmap_region()`: gather what the range overlaps (a failure there
    /// reattaches, keeping splits), account, then merge with a neighbour
    /// or create a new VMA. The old VMAs' page tables are cleared before
    /// the merge (`vms_clean_up_area()`), so any later failure leaves a
    /// hole where they were.
    fn mmap_region(
        &mut self,
        file: Option<u32>,
        addr: u64,
        len: u64,
        vm_flags: u64,
        pgoff: u64,
    ) -> Result<u64, VmaErrno> {
        let end = addr + len;
        let mut vm_flags = vm_flags;
        let gathered = if self.find_vma_intersection(addr, end).is_some() {
            self.vms_gather_munmap_vmas(addr, end)?
        } else {
            Vec::new()
        };
        // may_expand_vm() and security_vm_enough_memory_mm() always pass.
        if accountable_mapping(vm_flags) {
            vm_flags |= vm::VM_ACCOUNT;
        }
        // vms_clean_up_area(): past this point the old mappings are gone
        // whatever happens (vms_abort_munmap_vmas() stores a hole).
        self.vms_complete_munmap_vmas(&gathered);

        let prev = self.last_below(addr);
        let next = self.first_from(end);
        let vmg = Vmg {
            start: addr,
            end,
            flags: vm_flags,
            // An anonymous shared mapping has no file until
            // shmem_zero_setup() runs on the new VMA.
            file,
            anon: None,
            pgoff,
            src: None,
        };
        if let MergeState::Success(_) = self.vma_merge_new_range(&vmg, prev, next, false) {
            return Ok(addr);
        }
        // A NOMEM merge falls through to a new VMA.
        self.alloc_point(Point::VmaAlloc)?;
        self.alloc_point(Point::Prealloc)?;
        let file = match file {
            Some(f) => Some(f),
            None if vm_flags & vm::VM_SHARED != 0 => Some(self.new_shmem()),
            None => None,
        };
        let id = self.new_vma_id();
        self.insert(Vma {
            id,
            start: addr,
            end,
            flags: vm_flags,
            file,
            pgoff,
            anon: None,
        });
        Ok(addr)
    }
}
