// SPDX-License-Identifier: GPL-2.0-or-later
//! mremap as Linux 7.1 has it (the 7.1 profile): `mm/mremap.c` after its
//! 2025 rework around `struct vma_remap_struct`. What changed from 6.12
//! that a caller sees:
//!
//! - every argument is checked before the VMA is looked up
//!   (`check_mremap_params()`), so an overlapping target is `EINVAL` even
//!   where no VMA is mapped;
//! - the map count is checked on every call, before the lookup, with room
//!   for the two splits of an early unmap and two of the move
//!   (`check_map_count_against_split_early()`);
//! - the VMA's checks run once, before the target is unmapped
//!   (`check_prep_vma()`), where 6.12 ran them again after;
//! - `MREMAP_FIXED` without a resize moves every VMA of the range, keeping
//!   the gaps between them (`remap_move()`);
//! - `MREMAP_DONTUNMAP` no longer resets the pgoff of a source it
//!   emptied.
//!
//! 7.1 also no longer splits an mlock()ed source before a `MREMAP_DONTUNMAP`
//! move, so the whole source VMA loses `VM_LOCKED`, and it charges the new
//! mapping to `locked_vm` without uncharging the source: a kernel bug
//! (docs/findings/mremap-dontunmap-mlock.md). The profile follows the fix
//! (`kernel@7.1:fixed`), which is 6.12's split and transfer.
//!
//! Page tables are not modelled, so moving them never fails.

use super::uapi::*;
use super::vmflags::*;
use super::{offset_in_page, page_align, Errno, Mm, VmaId, TASK_SIZE};

/// `enum mremap_type`.
#[derive(Clone, Copy, PartialEq, Eq)]
enum RemapType {
    NoResize,
    Shrink,
    Expand,
}

/// `struct vma_remap_struct`, as far as the model reads it.
struct Vrm {
    vma: Option<VmaId>,
    addr: u64,
    old_len: u64,
    new_len: u64,
    new_addr: u64,
    flags: u32,
    delta: u64,
    remap_type: RemapType,
}

impl Vrm {
    /// `vrm_implies_new_addr()`.
    fn implies_new_addr(&self) -> bool {
        self.flags & (MREMAP_FIXED | MREMAP_DONTUNMAP) != 0
    }
}

/// An error as the syscall returns it.
type Res = Result<u64, Errno>;

impl Mm {
    /// The mremap syscall: `do_mremap()`.
    pub(crate) fn sys_mremap_v7_1(
        &mut self,
        addr: u64,
        old_len: u64,
        new_len: u64,
        flags: u32,
        new_addr: u64,
    ) -> Res {
        let mut vrm = Vrm {
            vma: None,
            addr,
            old_len: page_align(old_len),
            new_len: page_align(new_len),
            new_addr,
            flags,
            delta: 0,
            remap_type: RemapType::NoResize,
        };
        check_mremap_params(&vrm)?;
        if !self.map_count_against_split(true) {
            return Err(Errno::ENOMEM);
        }
        // vrm_move_only()
        if vrm.flags & MREMAP_FIXED != 0 && vrm.old_len == vrm.new_len {
            return self.remap_move(&mut vrm);
        }
        vrm.vma = self.vma_lookup(vrm.addr);
        self.check_prep_vma(&mut vrm)?;
        if vrm.implies_new_addr() {
            self.mremap_to_v7_1(&mut vrm)
        } else {
            self.mremap_at(&mut vrm)
        }
    }

    /// `__check_map_count_against_split()`: room for the two VMAs a move
    /// may add, and two more if an unmap comes first (int arithmetic).
    fn map_count_against_split(&self, before_unmaps: bool) -> bool {
        let mut count = self.map_count as i64;
        if before_unmaps {
            count += 2;
        }
        count + 2 <= self.cfg.max_map_count as i64
    }

    /// `check_prep_vma()`: the source VMA's checks, once the kind of remap
    /// is known.
    fn check_prep_vma(&self, vrm: &mut Vrm) -> Result<(), Errno> {
        let Some(vma) = vrm.vma else {
            return Err(Errno::EFAULT);
        };
        vrm.delta = vrm.old_len.abs_diff(vrm.new_len);
        vrm.remap_type = if vrm.delta == 0 {
            RemapType::NoResize
        } else if vrm.old_len > vrm.new_len {
            RemapType::Shrink
        } else {
            RemapType::Expand
        };
        if !vrm.implies_new_addr() {
            vrm.new_addr = vrm.addr;
        }
        // vrm_will_map_new()
        if vrm.remap_type != RemapType::Expand && !vrm.implies_new_addr() {
            return Ok(());
        }
        // A shrink may cross VMA ends in what it unmaps; then 6.12's checks
        // (`vma_to_resize`) on what stays.
        let old_len = if vrm.remap_type == RemapType::Shrink {
            vrm.new_len
        } else {
            vrm.old_len
        };
        debug_assert_eq!(self.vma_lookup(vrm.addr), Some(vma));
        self.vma_to_resize(vrm.addr, old_len, vrm.new_len, vrm.flags)
            .map(|_| ())
    }

    /// `remap_move()`: every VMA of `[addr, addr + old_len)` moved in turn,
    /// each to the target's start plus its distance from the first. A gap
    /// at the start is `EFAULT`; the answer is where the first VMA went.
    /// (Our files have no `->get_unmapped_area`, so `vma_multi_allowed()`
    /// holds for every VMA.)
    fn remap_move(&mut self, vrm: &mut Vrm) -> Res {
        let (start, end) = (vrm.addr, vrm.addr.wrapping_add(vrm.old_len));
        let mut target = vrm.new_addr;
        let mut res = Err(Errno::EFAULT);
        let mut last_end = 0;
        let mut at = start;
        let mut seen = false;
        // for_each_vma_range(): the walk resumes where the last VMA found
        // ended (as it was when found: a merge may have grown it since),
        // and stops once that is past the range.
        while let Some(vma) = self
            .find_vma(at)
            .filter(|&v| at < end && self.v(v).start < end)
        {
            let (vs, ve) = (self.v(vma).start, self.v(vma).end);
            if !seen && start < vs {
                return Err(Errno::EFAULT);
            }
            let addr = vs.max(start);
            let len = end.min(ve) - addr;
            let offset = if seen { vs - last_end } else { 0 };
            last_end = ve;
            vrm.vma = Some(vma);
            vrm.addr = addr;
            vrm.new_addr = target + offset;
            vrm.old_len = len;
            vrm.new_len = len;
            self.check_prep_vma(vrm)?;
            let moved = self.mremap_to_v7_1(vrm)?;
            if !seen {
                res = Ok(moved);
            }
            seen = true;
            target = moved + vrm.new_len;
            at = ve;
        }
        res
    }

    /// `mremap_to()`: unmap a fixed target, shrink first if asked, find the
    /// target, move.
    fn mremap_to_v7_1(&mut self, vrm: &mut Vrm) -> Res {
        if vrm.flags & MREMAP_FIXED != 0 {
            self.do_vmi_munmap(vrm.new_addr, vrm.new_len)?;
            vrm.vma = Some(self.vma_lookup(vrm.addr).ok_or(Errno::EFAULT)?);
        }
        if vrm.remap_type == RemapType::Shrink {
            self.shrink_vma(vrm, false)?;
            vrm.old_len = vrm.new_len;
        }
        // may_expand_vm() for MREMAP_DONTUNMAP: unlimited.
        self.vrm_set_new_addr(vrm)?;
        self.move_vma_v7_1(vrm)
    }

    /// `shrink_vma()`: unmap the tail, then (if the lock is kept) find the
    /// VMA again.
    fn shrink_vma(&mut self, vrm: &mut Vrm, drop_lock: bool) -> Result<(), Errno> {
        self.do_vmi_munmap(vrm.addr.wrapping_add(vrm.new_len), vrm.delta)?;
        vrm.vma = None;
        if !drop_lock {
            vrm.vma = Some(self.vma_lookup(vrm.addr).ok_or(Errno::EFAULT)?);
        }
        Ok(())
    }

    /// `vrm_set_new_addr()`: `get_unmapped_area()` for the target (fixed,
    /// hinted, or anywhere).
    fn vrm_set_new_addr(&mut self, vrm: &mut Vrm) -> Result<(), Errno> {
        let vma = vrm.vma.expect("a VMA to move");
        let hint = if vrm.implies_new_addr() {
            vrm.new_addr
        } else {
            0
        };
        let mut map_flags = self.map_shared_flag(vma);
        if vrm.flags & MREMAP_FIXED != 0 {
            map_flags |= MAP_FIXED;
        }
        vrm.new_addr = self.get_unmapped_area(hint, vrm.new_len, map_flags)?;
        Ok(())
    }

    /// `mremap_at()`: resize in place, or move where there is room.
    fn mremap_at(&mut self, vrm: &mut Vrm) -> Res {
        match vrm.remap_type {
            RemapType::NoResize => Ok(vrm.addr),
            RemapType::Shrink => {
                self.shrink_vma(vrm, true)?;
                Ok(vrm.addr)
            }
            RemapType::Expand => self.expand_vma(vrm),
        }
    }

    /// `expand_vma()`: in place with `vma_merge_extend()` if the range ends
    /// the VMA and nothing is in the way, else a move if allowed.
    fn expand_vma(&mut self, vrm: &mut Vrm) -> Res {
        let vma = vrm.vma.expect("checked");
        if self.v(vma).end - vrm.addr == vrm.old_len && self.vma_expandable(vma, vrm.delta) {
            return match self.vma_merge_extend(vma, vrm.delta) {
                Some(v) => {
                    // vrm_stat_account()
                    let flags = self.v(v).flags;
                    self.charge_locked(flags, vrm.delta);
                    Ok(vrm.addr)
                }
                None => Err(Errno::ENOMEM),
            };
        }
        if vrm.flags & MREMAP_MAYMOVE == 0 {
            return Err(Errno::ENOMEM);
        }
        self.vrm_set_new_addr(vrm)?;
        self.move_vma_v7_1(vrm)
    }

    /// `move_vma()`: `prep_move_vma()`'s map count check, `copy_vma()` at
    /// the target, then `dontunmap_complete()` or `unmap_source_vma()`.
    fn move_vma_v7_1(&mut self, vrm: &mut Vrm) -> Res {
        if !self.map_count_against_split(false) {
            return Err(Errno::ENOMEM);
        }
        let mut vma = vrm.vma.expect("a VMA to move");
        let dontunmap = vrm.flags & MREMAP_DONTUNMAP != 0;
        // The fix of finding 14: split the moved range out of an mlock()ed
        // source, which then alone loses its mlock.
        if dontunmap && self.v(vma).flags & VM_LOCKED != 0 {
            self.split_out(vma, vrm.addr, vrm.old_len)?;
        }
        let v = self.v(vma);
        let new_pgoff = v.pgoff.wrapping_add((vrm.addr - v.start) >> 12);
        let Some(new_vma) = self.copy_vma(&mut vma, vrm.new_addr, vrm.new_len, new_pgoff, false)
        else {
            return Err(Errno::ENOMEM);
        };
        vrm.vma = Some(vma);
        // vrm_stat_account(): the new mapping's pages are charged.
        let flags = self.v(vma).flags;
        self.charge_locked(flags, vrm.new_len);
        if dontunmap {
            // dontunmap_complete(): the source loses its mlock (and, with
            // the fix, its charge: the locked pages moved; a source the
            // copy merged into stays locked with it), and its anon_vma
            // links if it was copied whole.
            let (start, end) = (vrm.addr, vrm.addr + vrm.old_len);
            if new_vma != vma {
                if flags & VM_LOCKED != 0 {
                    self.locked_vm -= vrm.old_len >> 12;
                }
                self.vm(vma).flags &= !(VM_LOCKED | VM_LOCKONFAULT);
            }
            let v = self.v(vma);
            if new_vma != vma && start == v.start && end == v.end {
                self.unlink_anon_vmas(vma);
            }
        } else {
            self.unmap_source_vma(vma, vrm.addr, vrm.old_len);
        }
        Ok(vrm.new_addr)
    }
}

/// `check_mremap_params()`: the arguments alone.
fn check_mremap_params(vrm: &Vrm) -> Result<(), Errno> {
    let flags = vrm.flags;
    if flags & !(MREMAP_FIXED | MREMAP_MAYMOVE | MREMAP_DONTUNMAP) != 0
        || offset_in_page(vrm.addr)
        || vrm.new_len == 0
        || vrm.new_len > TASK_SIZE
    {
        return Err(Errno::EINVAL);
    }
    if !vrm.implies_new_addr() {
        return Ok(());
    }
    let overlaps = vrm.addr.wrapping_add(vrm.old_len) > vrm.new_addr
        && vrm.new_addr.wrapping_add(vrm.new_len) > vrm.addr;
    if vrm.new_addr > TASK_SIZE - vrm.new_len
        || offset_in_page(vrm.new_addr)
        || flags & MREMAP_MAYMOVE == 0
        || flags & MREMAP_DONTUNMAP != 0 && vrm.old_len != vrm.new_len
        || overlaps
    {
        return Err(Errno::EINVAL);
    }
    Ok(())
}
