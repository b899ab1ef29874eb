// SPDX-License-Identifier: GPL-2.0-or-later
//! `get_unmapped_area()` (mm/mmap.c): `__get_unmapped_area()`,
//! `generic_get_unmapped_area_topdown()` with its bottom-up fallback, and
//! `unmapped_area()` / `unmapped_area_topdown()` with their guard-gap
//! retries, over the holes between the VMAs of the map.
//!
//! The maple tree's `mas_empty_area()` / `mas_empty_area_rev()` are
//! computed from the holes: the lowest (highest) run of unmapped addresses
//! inside `[min, max]` holding `size` addresses; `-EINVAL` if the window
//! cannot hold `size` at all, `-EBUSY` if no hole does. Both are `-ENOMEM`
//! to the callers.

use super::{
    env::{MMAP_BASE, MMAP_MIN_ADDR, PAGE_SIZE, TASK_SIZE, TASK_UNMAPPED_BASE},
    offset_in_page, page_align,
    uapi::MAP_FIXED,
    Vma, VmaErrno, VmaOracle,
};

impl VmaOracle {
    /// The unmapped runs of the whole `u64` space, as inclusive
    /// `(first, last)`.
    fn holes(&self) -> Vec<(u64, u64)> {
        let mut out = Vec::new();
        let mut next = Some(0u64);
        for v in self.vmas.values() {
            if let Some(n) = next {
                if v.start > n {
                    out.push((n, v.start - 1));
                }
            }
            next = Some(v.end);
        }
        if let Some(n) = next {
            out.push((n, u64::MAX));
        }
        out
    }

    /// `mas_empty_area()`: the first `size` free addresses in `[min, max]`.
    fn empty_area(&self, min: u64, max: u64, size: u64) -> Option<u64> {
        if min > max || size == 0 || max - min < size - 1 {
            return None;
        }
        self.holes().into_iter().find_map(|(a, b)| {
            let (lo, hi) = (a.max(min), b.min(max));
            (lo <= hi && hi - lo >= size - 1).then_some(lo)
        })
    }

    /// `mas_empty_area_rev()`: the last `size` free addresses in
    /// `[min, max]`; returns the last of them.
    fn empty_area_rev(&self, min: u64, max: u64, size: u64) -> Option<u64> {
        if min > max || size == 0 || max - min < size - 1 {
            return None;
        }
        self.holes().into_iter().rev().find_map(|(a, b)| {
            let (lo, hi) = (a.max(min), b.min(max));
            (lo <= hi && hi - lo >= size - 1).then_some(hi)
        })
    }

    /// The first VMA starting above `addr`.
    fn vma_after(&self, addr: u64) -> Option<Vma> {
        self.vmas
            .range(addr.saturating_add(1)..)
            .next()
            .map(|(_, v)| *v)
            .filter(|v| v.start > addr)
    }

    /// `unmapped_area()`: bottom-up in `[low, high)`. A stack above the
    /// candidate whose guard gap reaches into it moves the search past the
    /// stack; otherwise a previous VMA's end gap above the candidate moves
    /// it up (never on x86: no VM_GROWSUP).
    fn unmapped_area(&self, length: u64, low: u64, high: u64) -> Result<u64, VmaErrno> {
        let mut low = low.max(MMAP_MIN_ADDR);
        loop {
            let gap = self
                .empty_area(low, high.wrapping_sub(1), length)
                .ok_or(VmaErrno::ENOMEM)?;
            let next = self.vma_after(gap);
            if let Some(n) = next.filter(|n| n.flags & super::vm::VM_STARTGAP_FLAGS != 0) {
                if n.start_gap() < gap.wrapping_add(length).wrapping_sub(1) {
                    low = n.end;
                    continue;
                }
            } else if let Some(p) = self.last_below(gap) {
                if p.end_gap() > gap {
                    low = p.end_gap();
                    continue;
                }
            }
            return Ok(gap);
        }
    }

    /// `unmapped_area_topdown()`: top-down in `[low, high)`. A stack just
    /// above the candidate whose guard gap reaches into it lowers `high` to
    /// the gap; otherwise a previous VMA's end gap above the candidate
    /// lowers `high` to that VMA.
    fn unmapped_area_topdown(&self, length: u64, low: u64, high: u64) -> Result<u64, VmaErrno> {
        let low = low.max(MMAP_MIN_ADDR);
        let mut high = high;
        loop {
            let last = self
                .empty_area_rev(low, high.wrapping_sub(1), length)
                .ok_or(VmaErrno::ENOMEM)?;
            let gap_end = last.wrapping_add(1);
            let gap = gap_end.wrapping_sub(length);
            let next = self.vma_after(last);
            if let Some(n) = next.filter(|n| n.flags & super::vm::VM_STARTGAP_FLAGS != 0) {
                if n.start_gap() < gap_end {
                    high = n.start_gap();
                    continue;
                }
            } else if let Some(p) = self.last_below(gap) {
                if p.end_gap() > gap {
                    high = p.start;
                    continue;
                }
            }
            return Ok(gap);
        }
    }

    /// `generic_get_unmapped_area_topdown()`: MAP_FIXED takes the address
    /// as is; a hint is taken if it fits with the guard gaps; otherwise
    /// search top-down below `mmap_base`, then bottom-up from
    /// TASK_UNMAPPED_BASE.
    fn generic_get_unmapped_area_topdown(
        &self,
        addr: u64,
        len: u64,
        flags: u32,
    ) -> Result<u64, VmaErrno> {
        let mmap_end = TASK_SIZE;
        if len > mmap_end - MMAP_MIN_ADDR {
            return Err(VmaErrno::ENOMEM);
        }
        if flags & MAP_FIXED != 0 {
            return Ok(addr);
        }
        if addr != 0 {
            let addr = page_align(addr);
            // find_vma_prev(): the VMA at/after addr and the one before it.
            let vma = self.find_vma(addr);
            let prev = match vma {
                Some(v) => self.prev_of(v.start),
                None => self.vmas.values().next_back().copied(),
            };
            if mmap_end - len >= addr
                && addr >= MMAP_MIN_ADDR
                && vma.map_or(true, |v| addr + len <= v.start_gap())
                && prev.map_or(true, |p| addr >= p.end_gap())
            {
                return Ok(addr);
            }
        }
        match self.unmapped_area_topdown(len, PAGE_SIZE, MMAP_BASE) {
            Ok(a) => Ok(a),
            Err(_) => self.unmapped_area(len, TASK_UNMAPPED_BASE, mmap_end),
        }
    }

    /// `__get_unmapped_area()`: none of the contract's files has its own
    /// allocator and there is no THP, so files, anon and shmem all use the
    /// mm's (top-down) one; then the range and permission checks.
    pub(crate) fn get_unmapped_area(
        &self,
        addr: u64,
        len: u64,
        flags: u32,
    ) -> Result<u64, VmaErrno> {
        if len > TASK_SIZE {
            return Err(VmaErrno::ENOMEM);
        }
        let addr = self.generic_get_unmapped_area_topdown(addr, len, flags)?;
        // IS_ERR_VALUE(): a MAP_FIXED address in the last 4095 bytes of the
        // address space is taken for an error code and returned as one.
        if addr > u64::MAX - 4095 {
            return Err(VmaErrno::numbered((u64::MAX - addr + 1) as u16));
        }
        if addr > TASK_SIZE - len {
            return Err(VmaErrno::ENOMEM);
        }
        if offset_in_page(addr) != 0 {
            return Err(VmaErrno::EINVAL);
        }
        // security_mmap_addr() -> cap_mmap_addr(): no CAP_SYS_RAWIO.
        if addr < MMAP_MIN_ADDR {
            return Err(VmaErrno::EPERM);
        }
        Ok(addr)
    }
}
