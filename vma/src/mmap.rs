// SPDX-License-Identifier: GPL-2.0-or-later
//! mmap (`mm/mmap.c`, Linux 6.12): `do_mmap`, `mmap_region` /
//! `__mmap_region`, and `get_unmapped_area` with the generic top-down
//! allocator (`generic_get_unmapped_area_topdown`, `unmapped_area_topdown`,
//! the bottom-up fallback `unmapped_area`).

use super::merge::Vmg;
use super::munmap::Vms;
use super::uapi::*;
use super::vmflags::*;
use super::{
    offset_in_page, page_align, vm_end_gap, vm_start_gap, Backing, Errno, Mm, Point, Vma,
    MAX_LFS_FILESIZE, MMAP_BASE, MMAP_MIN_ADDR, PAGE, TASK_SIZE, TASK_UNMAPPED_BASE,
};
use maple_tree::MaState;

/// `calc_vm_prot_bits` (no protection keys).
pub(crate) fn calc_vm_prot_bits(prot: u32) -> u64 {
    let mut f = 0;
    if prot & PROT_READ != 0 {
        f |= VM_READ;
    }
    if prot & PROT_WRITE != 0 {
        f |= VM_WRITE;
    }
    if prot & PROT_EXEC != 0 {
        f |= VM_EXEC;
    }
    f
}

/// `calc_vm_flag_bits` (no THP, so `MAP_STACK` adds nothing).
fn calc_vm_flag_bits(flags: u32) -> u64 {
    let mut f = 0;
    if flags & MAP_GROWSDOWN != 0 {
        f |= VM_GROWSDOWN;
    }
    if flags & MAP_LOCKED != 0 {
        f |= VM_LOCKED;
    }
    if flags & MAP_SYNC != 0 {
        f |= VM_SYNC;
    }
    f
}

/// `round_hint_to_min`.
fn round_hint_to_min(hint: u64) -> u64 {
    let hint = hint & !(PAGE - 1);
    if hint != 0 && hint < MMAP_MIN_ADDR {
        return page_align(MMAP_MIN_ADDR);
    }
    hint
}

/// `accountable_mapping`: private, writable, not `VM_NORESERVE`.
fn accountable_mapping(vm_flags: u64) -> bool {
    vm_flags & (VM_NORESERVE | VM_SHARED | VM_WRITE) == VM_WRITE
}

impl Mm {
    /// `do_mmap`.
    pub(crate) fn do_mmap(
        &mut self,
        addr: u64,
        len: u64,
        prot: u32,
        flags: u32,
        backing: Backing,
    ) -> Result<u64, Errno> {
        if len == 0 {
            return Err(Errno::EINVAL);
        }
        let mut flags = flags;
        if flags & MAP_FIXED_NOREPLACE != 0 {
            flags |= MAP_FIXED;
        }
        let mut addr = addr;
        if flags & MAP_FIXED == 0 {
            addr = round_hint_to_min(addr);
        }
        let len = page_align(len);
        if len == 0 {
            return Err(Errno::ENOMEM);
        }
        let (file, mut pgoff) = match backing {
            Backing::Anon => (None, 0),
            Backing::File { file, pgoff } => (Some(u32::from(file)), pgoff),
        };
        if pgoff.wrapping_add(len >> 12) < pgoff {
            return Err(Errno::EOVERFLOW);
        }
        if self.map_count > self.cfg.max_map_count {
            return Err(Errno::ENOMEM);
        }
        let mut vm_flags = calc_vm_prot_bits(prot)
            | calc_vm_flag_bits(flags)
            | VM_MAYREAD
            | VM_MAYWRITE
            | VM_MAYEXEC;
        addr = self.get_unmapped_area(addr, len, flags)?;
        if flags & MAP_FIXED_NOREPLACE != 0
            && self.find_vma_intersection(addr, addr + len).is_some()
        {
            return Err(Errno::EEXIST);
        }
        // MAP_LOCKED: RLIMIT_MEMLOCK is unlimited, so can_do_mlock() and
        // mlock_future_ok() pass.
        if let Some(f) = file {
            // file_mmap_ok() for a regular file.
            if pgoff > (MAX_LFS_FILESIZE - len) >> 12 {
                return Err(Errno::EOVERFLOW);
            }
            let writable = f != 2;
            match flags & MAP_TYPE {
                MAP_SHARED | MAP_SHARED_VALIDATE => {
                    if flags & MAP_TYPE == MAP_SHARED {
                        flags &= LEGACY_MAP_MASK;
                    }
                    if flags & !LEGACY_MAP_MASK != 0 {
                        return Err(Errno::EOPNOTSUPP);
                    }
                    if prot & PROT_WRITE != 0 && !writable {
                        return Err(Errno::EACCES);
                    }
                    vm_flags |= VM_SHARED | VM_MAYSHARE;
                    if !writable {
                        vm_flags &= !(VM_MAYWRITE | VM_SHARED);
                    }
                    if vm_flags & VM_GROWSDOWN != 0 {
                        return Err(Errno::EINVAL);
                    }
                }
                MAP_PRIVATE => {
                    if vm_flags & VM_GROWSDOWN != 0 {
                        return Err(Errno::EINVAL);
                    }
                }
                _ => return Err(Errno::EINVAL),
            }
        } else {
            match flags & MAP_TYPE {
                MAP_SHARED => {
                    if vm_flags & VM_GROWSDOWN != 0 {
                        return Err(Errno::EINVAL);
                    }
                    pgoff = 0;
                    vm_flags |= VM_SHARED | VM_MAYSHARE;
                }
                MAP_DROPPABLE => {
                    if flags & (MAP_LOCKED | MAP_HUGETLB) != 0 || vm_flags & VM_GROWSDOWN != 0 {
                        return Err(Errno::EINVAL);
                    }
                    vm_flags |= VM_DROPPABLE | VM_NORESERVE | VM_WIPEONFORK | VM_DONTDUMP;
                    pgoff = addr >> 12;
                }
                MAP_PRIVATE => pgoff = addr >> 12,
                _ => return Err(Errno::EINVAL),
            }
        }
        // Overcommit is not OVERCOMMIT_NEVER: MAP_NORESERVE is honoured.
        if flags & MAP_NORESERVE != 0 {
            vm_flags |= VM_NORESERVE;
        }
        self.mmap_region(file, addr, len, vm_flags, pgoff)
    }

    /// `mmap_region`: no MDWE, no arch flag checks, and mapping a regular
    /// file writable cannot fail, so this is `__mmap_region`.
    fn mmap_region(
        &mut self,
        file: Option<u32>,
        addr: u64,
        len: u64,
        vm_flags: u64,
        pgoff: u64,
    ) -> Result<u64, Errno> {
        self.__mmap_region(file, addr, len, vm_flags, pgoff)
    }

    /// `__mmap_region`: gather what the range overlaps (it stays in the
    /// tree), try to expand a neighbour over the range, else insert a new
    /// VMA over it; then free the gathered VMAs. A failure after the old
    /// mappings were cleaned up leaves a hole.
    fn __mmap_region(
        &mut self,
        file: Option<u32>,
        addr: u64,
        len: u64,
        mut vm_flags: u64,
        pgoff: u64,
    ) -> Result<u64, Errno> {
        let end = addr + len;
        let mut vmg = Vmg::new_range(addr, end, vm_flags, pgoff);
        vmg.file = file;
        let vma = self.find_vma_intersection(addr, end);
        let mut vms = Vms::new(vma, addr, end);
        if vma.is_some() {
            self.vms_gather_munmap_vmas(&mut vms)?;
            vmg.next = vms.next;
            vmg.prev = vms.prev;
        } else {
            vmg.next = self.find_vma(addr);
            vmg.prev = self.prev_vma(addr);
        }
        // may_expand_vm() and the commit charge cannot fail here.
        if accountable_mapping(vm_flags) {
            vms.nr_accounted = 0;
            vm_flags |= VM_ACCOUNT;
            vmg.flags = vm_flags;
        }
        self.vms_clean_up_area(&mut vms);
        if self.vma_merge_new_range(&mut vmg).is_some() {
            self.vms_complete_munmap_vmas(&mut vms);
            self.charge_locked(vm_flags, len);
            return Ok(addr);
        }
        if self.point(Point::VmaAlloc) {
            self.vms_abort_munmap_vmas(&mut vms);
            return Err(Errno::ENOMEM);
        }
        let id = self.vma_store_new(Vma {
            start: addr,
            end,
            flags: vm_flags,
            file,
            pgoff,
            anon: None,
            chain: Vec::new(),
        });
        let mut mas = MaState::new(0, 0);
        if let Err(e) = self.vma_iter_prealloc(&mut mas, addr, end, Some(id)) {
            self.vm_area_free(id);
            self.vms_abort_munmap_vmas(&mut vms);
            return Err(e);
        }
        if file.is_none() && vm_flags & VM_SHARED != 0 {
            // shmem_zero_setup(): a fresh shmem file.
            let f = self.next_shmem;
            self.next_shmem += 1;
            self.vm(id).file = Some(f);
        }
        self.vma_iter_store(&mut mas, id);
        self.map_count += 1;
        self.vms_complete_munmap_vmas(&mut vms);
        self.charge_locked(vm_flags, len);
        Ok(addr)
    }

    /// `mmap_region`'s end: an mlock()ed mapping charges its pages to
    /// `locked_vm` (`vma_supports_mlock()` holds: no mapping here is
    /// special, DAX or hugetlb).
    pub(crate) fn charge_locked(&mut self, vm_flags: u64, len: u64) {
        if vm_flags & VM_LOCKED != 0 {
            self.locked_vm += len >> 12;
        }
    }

    /// `get_unmapped_area` (`__get_unmapped_area` with the mm's top-down
    /// allocator; files and shmem use the same one).
    pub(crate) fn get_unmapped_area(&self, addr: u64, len: u64, flags: u32) -> Result<u64, Errno> {
        if len > TASK_SIZE {
            return Err(Errno::ENOMEM);
        }
        let addr = self.generic_get_unmapped_area_topdown(addr, len, flags)?;
        // IS_ERR_VALUE(addr): returned as the error it looks like.
        if addr >= 0u64.wrapping_sub(4095) {
            return Err(Errno::from_number(addr.wrapping_neg() as u16));
        }
        if addr > TASK_SIZE - len {
            return Err(Errno::ENOMEM);
        }
        if offset_in_page(addr) {
            return Err(Errno::EINVAL);
        }
        // security_mmap_addr(): no CAP_SYS_RAWIO.
        if addr < MMAP_MIN_ADDR {
            return Err(Errno::EPERM);
        }
        Ok(addr)
    }

    /// `generic_get_unmapped_area_topdown`.
    fn generic_get_unmapped_area_topdown(
        &self,
        addr: u64,
        len: u64,
        flags: u32,
    ) -> Result<u64, Errno> {
        let mmap_end = TASK_SIZE;
        if len > mmap_end - MMAP_MIN_ADDR {
            return Err(Errno::ENOMEM);
        }
        if flags & MAP_FIXED != 0 {
            return Ok(addr);
        }
        if addr != 0 {
            let addr = page_align(addr);
            let (vma, prev) = self.find_vma_prev(addr);
            if mmap_end - len >= addr
                && addr >= MMAP_MIN_ADDR
                && vma.map_or(true, |v| addr + len <= vm_start_gap(self.v(v)))
                && prev.map_or(true, |p| addr >= vm_end_gap(self.v(p)))
            {
                return Ok(addr);
            }
        }
        match self.unmapped_area_topdown(len, PAGE, MMAP_BASE) {
            Ok(a) => Ok(a),
            Err(_) => self.unmapped_area(len, TASK_UNMAPPED_BASE, mmap_end),
        }
    }

    /// `unmapped_area` (bottom-up), no alignment, no start gap.
    fn unmapped_area(&self, length: u64, low: u64, high: u64) -> Result<u64, Errno> {
        let mut low = low.max(MMAP_MIN_ADDR);
        loop {
            let mut mas = MaState::new(0, 0);
            if high == 0 || mas.empty_area(&self.mt, low, high - 1, length).is_err() {
                return Err(Errno::ENOMEM);
            }
            let gap = mas.index();
            match self.find_vma(gap) {
                Some(t) if self.v(t).flags & VM_GROWSDOWN != 0 => {
                    if vm_start_gap(self.v(t)) < gap + length - 1 {
                        low = self.v(t).end;
                        continue;
                    }
                }
                _ => {
                    if let Some(p) = self.prev_vma(gap) {
                        if vm_end_gap(self.v(p)) > gap {
                            low = vm_end_gap(self.v(p));
                            continue;
                        }
                    }
                }
            }
            return Ok(gap);
        }
    }

    /// `unmapped_area_topdown`, no alignment, no start gap.
    fn unmapped_area_topdown(&self, length: u64, low: u64, high: u64) -> Result<u64, Errno> {
        let low = low.max(MMAP_MIN_ADDR);
        let mut high = high;
        loop {
            let mut mas = MaState::new(0, 0);
            if high == 0 || mas.empty_area_rev(&self.mt, low, high - 1, length).is_err() {
                return Err(Errno::ENOMEM);
            }
            let gap_end = mas.last() + 1;
            let gap = gap_end - length;
            match self.find_vma(gap_end) {
                Some(t) if self.v(t).flags & VM_GROWSDOWN != 0 => {
                    if vm_start_gap(self.v(t)) < gap_end {
                        high = vm_start_gap(self.v(t));
                        continue;
                    }
                }
                _ => {
                    if let Some(p) = self.prev_vma(gap) {
                        if vm_end_gap(self.v(p)) > gap {
                            high = self.v(p).start;
                            continue;
                        }
                    }
                }
            }
            return Ok(gap);
        }
    }
}
