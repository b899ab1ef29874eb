// SPDX-License-Identifier: GPL-2.0-or-later
//! mremap by Linux 7.1's rules (mm/mremap.c after the 2025 rework:
//! `check_mremap_params()`, `check_prep_vma()`, `remap_move()`,
//! `mremap_to()`, `mremap_at()`; `move_vma()` is in mremap.rs, with both
//! versions' rules).
//!
//! In the order 7.1 checks things: the arguments alone; the map count
//! (room for four more VMAs); for a pure move (`MREMAP_FIXED`, equal
//! lengths) every VMA of the range moved one by one; otherwise the VMA at
//! `addr` and its checks, then the move or the in-place resize.

use super::{
    env::TASK_SIZE, merge::MergeState, mremap::shared_flag, offset_in_page, page_align, uapi::*,
    Vma, VmaErrno, VmaOracle,
};

/// What the lengths say the call does.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Same,
    Shrink,
    Grow,
}

fn kind(old_len: u64, new_len: u64) -> Kind {
    match old_len.cmp(&new_len) {
        std::cmp::Ordering::Equal => Kind::Same,
        std::cmp::Ordering::Greater => Kind::Shrink,
        std::cmp::Ordering::Less => Kind::Grow,
    }
}

impl VmaOracle {
    /// The `mremap()` syscall, 7.1 rules.
    pub(crate) fn sys_mremap_7_1(
        &mut self,
        addr: u64,
        old_len: u64,
        new_len: u64,
        flags: u32,
        new_addr: u64,
    ) -> Result<u64, VmaErrno> {
        let old_len = page_align(old_len);
        let new_len = page_align(new_len);
        let to_new = flags & (MREMAP_FIXED | MREMAP_DONTUNMAP) != 0;
        // Arguments.
        if flags & !(MREMAP_FIXED | MREMAP_MAYMOVE | MREMAP_DONTUNMAP) != 0 {
            return Err(VmaErrno::EINVAL);
        }
        if offset_in_page(addr) != 0 || new_len == 0 || new_len > TASK_SIZE {
            return Err(VmaErrno::EINVAL);
        }
        if to_new {
            if new_addr > TASK_SIZE - new_len || offset_in_page(new_addr) != 0 {
                return Err(VmaErrno::EINVAL);
            }
            if flags & MREMAP_MAYMOVE == 0 {
                return Err(VmaErrno::EINVAL);
            }
            if flags & MREMAP_DONTUNMAP != 0 && old_len != new_len {
                return Err(VmaErrno::EINVAL);
            }
            let old_end = addr.wrapping_add(old_len);
            let new_end = new_addr.wrapping_add(new_len);
            if old_end > new_addr && new_end > addr {
                return Err(VmaErrno::EINVAL);
            }
        }
        // Two splits for the early unmaps, two for the move.
        if self.count() + 4 > self.max_count() {
            return Err(VmaErrno::ENOMEM);
        }
        if flags & MREMAP_FIXED != 0 && old_len == new_len {
            return self.move_each_7_1(addr, old_len, new_addr, flags);
        }
        let vma = self.source_checks_7_1(addr, old_len, new_len, flags)?;
        if to_new {
            return self.mremap_to_7_1(addr, old_len, new_addr, new_len, flags);
        }
        match kind(old_len, new_len) {
            Kind::Same => Ok(addr),
            Kind::Shrink => {
                self.do_vmi_munmap(addr.wrapping_add(new_len), old_len - new_len)?;
                Ok(addr)
            }
            Kind::Grow => {
                let delta = new_len - old_len;
                let grown = vma.end.wrapping_add(delta);
                let room = grown >= vma.end
                    && self.find_vma_intersection(vma.end, grown).is_none()
                    && self
                        .get_unmapped_area(vma.start, grown - vma.start, MAP_FIXED)
                        .is_ok();
                if vma.end - addr == old_len && room {
                    return match self.vma_merge_extend(vma, delta) {
                        MergeState::Success(_) => Ok(addr),
                        _ => Err(VmaErrno::ENOMEM),
                    };
                }
                if flags & MREMAP_MAYMOVE == 0 {
                    return Err(VmaErrno::ENOMEM);
                }
                let to = self.get_unmapped_area(0, new_len, shared_flag(&vma))?;
                self.move_vma(vma, addr, old_len, new_len, to, flags)
            }
        }
    }

    /// `check_prep_vma()`: the VMA at `addr` must exist; a call that maps
    /// new space (grows, or moves) has more conditions.
    fn source_checks_7_1(
        &self,
        addr: u64,
        old_len: u64,
        new_len: u64,
        flags: u32,
    ) -> Result<Vma, VmaErrno> {
        let vma = self.vma_lookup(addr).ok_or(VmaErrno::EFAULT)?;
        let k = kind(old_len, new_len);
        let to_new = flags & (MREMAP_FIXED | MREMAP_DONTUNMAP) != 0;
        if k != Kind::Grow && !to_new {
            return Ok(vma);
        }
        // What stays mapped must lie inside the VMA; then 6.12's checks.
        let kept = if k == Kind::Shrink { new_len } else { old_len };
        self.vma_to_resize(addr, kept, new_len, flags)
    }

    /// `remap_move()`: each VMA of `[addr, addr + len)` (none missing at
    /// the start) goes to `new_addr` plus its distance from the first one.
    fn move_each_7_1(
        &mut self,
        addr: u64,
        len: u64,
        new_addr: u64,
        flags: u32,
    ) -> Result<u64, VmaErrno> {
        let end = addr.wrapping_add(len);
        let mut first: Option<u64> = None;
        let mut target = new_addr;
        let mut prev_end = 0;
        let mut from = addr;
        // The walk goes on from the end the last VMA had when it was found
        // (a merge at the target may have grown it over that point).
        while from < end {
            let Some(vma) = self.find_vma_intersection(from, end) else {
                break;
            };
            if first.is_none() && vma.start > addr {
                return Err(VmaErrno::EFAULT);
            }
            let piece_start = vma.start.max(addr);
            let piece_len = vma.end.min(end) - piece_start;
            let dest = match first {
                None => target,
                Some(_) => target + (vma.start - prev_end),
            };
            prev_end = vma.end;
            from = vma.end;
            self.source_checks_7_1(piece_start, piece_len, piece_len, flags)?;
            let moved = self.mremap_to_7_1(piece_start, piece_len, dest, piece_len, flags)?;
            first.get_or_insert(moved);
            target = moved + piece_len;
        }
        first.ok_or(VmaErrno::EFAULT)
    }

    /// `mremap_to()`: a fixed target is unmapped first (then the source is
    /// looked up again); a shrink unmaps the tail; then the move.
    fn mremap_to_7_1(
        &mut self,
        addr: u64,
        old_len: u64,
        new_addr: u64,
        new_len: u64,
        flags: u32,
    ) -> Result<u64, VmaErrno> {
        let fixed = flags & MREMAP_FIXED != 0;
        if fixed {
            self.do_vmi_munmap(new_addr, new_len)?;
            self.vma_lookup(addr).ok_or(VmaErrno::EFAULT)?;
        }
        let mut old_len = old_len;
        if old_len > new_len {
            self.do_vmi_munmap(addr.wrapping_add(new_len), old_len - new_len)?;
            old_len = new_len;
        }
        let vma = self.vma_lookup(addr).ok_or(VmaErrno::EFAULT)?;
        let map_flags = shared_flag(&vma) | if fixed { MAP_FIXED } else { 0 };
        let to = self.get_unmapped_area(new_addr, new_len, map_flags)?;
        self.move_vma(vma, addr, old_len, new_len, to, flags)
    }
}
