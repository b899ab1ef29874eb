// SPDX-License-Identifier: GPL-2.0-or-later
//! Merging (`mm/vma.c`, Linux 6.12): the mergeability predicates,
//! `commit_merge`, `vma_merge_existing_range`, `vma_merge_new_range`,
//! `vma_expand`, `vma_modify` and `vma_merge_extend`.

use super::vmflags::VM_SPECIAL;
use super::{file_has_close, Errno, Mm, Profile, VmaId};
use maple_tree::MaState;

/// `enum vma_merge_state`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum MergeState {
    Start,
    NoMerge,
    NoMem,
    Success,
}

/// `struct vma_merge_struct`, without the fields that are always equal
/// here (policy, userfaultfd context, anon name).
#[derive(Clone, Debug)]
pub(crate) struct Vmg {
    pub(crate) prev: Option<VmaId>,
    pub(crate) next: Option<VmaId>,
    pub(crate) vma: Option<VmaId>,
    pub(crate) start: u64,
    pub(crate) end: u64,
    pub(crate) pgoff: u64,
    pub(crate) flags: u64,
    pub(crate) file: Option<u32>,
    pub(crate) anon: Option<u64>,
    /// `VMG_FLAG_JUST_EXPAND`.
    pub(crate) just_expand: bool,
    /// Linux 7.1's `copied_from`: the VMA mremap copies the range from.
    pub(crate) copied_from: Option<VmaId>,
    pub(crate) state: MergeState,
}

impl Vmg {
    /// `VMG_STATE`: a new range.
    pub(crate) fn new_range(start: u64, end: u64, flags: u64, pgoff: u64) -> Vmg {
        Vmg {
            prev: None,
            next: None,
            vma: None,
            start,
            end,
            pgoff,
            flags,
            file: None,
            anon: None,
            just_expand: false,
            copied_from: None,
            state: MergeState::Start,
        }
    }
}

impl Mm {
    /// `VMG_VMA_STATE`: a range of an existing VMA with its attributes.
    pub(crate) fn vmg_vma_state(
        &self,
        prev: Option<VmaId>,
        vma: VmaId,
        start: u64,
        end: u64,
    ) -> Vmg {
        let v = self.v(vma);
        Vmg {
            prev,
            next: None,
            vma: Some(vma),
            start,
            end,
            pgoff: v.pgoff.wrapping_add(start.wrapping_sub(v.start) >> 12),
            flags: v.flags,
            file: v.file,
            anon: v.anon,
            just_expand: false,
            copied_from: None,
            state: MergeState::Start,
        }
    }

    /// `is_mergeable_vma`: same flags (no soft-dirty here) and file; the
    /// policy, userfaultfd context and anon name are always equal.
    fn is_mergeable_vma(&self, vmg: &Vmg, other: VmaId) -> bool {
        let o = self.v(other);
        o.flags == vmg.flags && o.file == vmg.file
    }

    /// `is_mergeable_anon_vma`: an anon_vma may be missing on one side
    /// only if `vma`'s chain is singular (a VMA inherited through fork,
    /// whose chain holds its ancestors' anon_vmas too, does not merge with
    /// an unfaulted range).
    fn is_mergeable_anon_vma(&self, a1: Option<u64>, a2: Option<u64>, vma: Option<VmaId>) -> bool {
        if (a1.is_none() || a2.is_none()) && vma.map_or(true, |v| self.chain_is_singular(v)) {
            return true;
        }
        a1 == a2
    }

    /// Linux 7.1's `is_mergeable_anon_vma(vmg, merge_next)`: the range
    /// (of `vmg.anon`, coming from `vmg.vma` or `vmg.copied_from`) and the
    /// neighbour `tgt`. An unfaulted side is fine unless the faulted side
    /// was forked (its chain is not singular); two faulted sides must
    /// share their anon_vma. Since 6.12 this allows a faulted range to
    /// merge into an unfaulted neighbour, which takes its anon_vma
    /// (`dup_anon_vma()`).
    fn is_mergeable_anon_vma_v7_1(&self, vmg: &Vmg, tgt: VmaId) -> bool {
        let fork_child = |v: Option<VmaId>| {
            v.is_some_and(|v| self.v(v).anon.is_some() && !self.chain_is_singular(v))
        };
        match (self.v(tgt).anon, vmg.anon) {
            (None, Some(_)) => !fork_child(vmg.vma) && !fork_child(vmg.copied_from),
            (Some(_), None) => !fork_child(Some(tgt)),
            (t, s) => t == s,
        }
    }

    /// The anon_vma test of the profile's kernel between the range and
    /// its neighbour `tgt`.
    fn anon_mergeable(&self, vmg: &Vmg, tgt: VmaId) -> bool {
        if self.cfg.profile.v7() {
            self.is_mergeable_anon_vma_v7_1(vmg, tgt)
        } else {
            self.is_mergeable_anon_vma(vmg.anon, self.v(tgt).anon, Some(tgt))
        }
    }

    /// `can_vma_merge_before`: the range can go in front of `vmg.next`.
    fn can_vma_merge_before(&self, vmg: &Vmg) -> bool {
        let next = vmg.next.expect("next");
        let pglen = (vmg.end - vmg.start) >> 12;
        self.is_mergeable_vma(vmg, next)
            && self.anon_mergeable(vmg, next)
            && self.v(next).pgoff == vmg.pgoff.wrapping_add(pglen)
    }

    /// `can_vma_merge_after`: the range can go behind `vmg.prev`.
    fn can_vma_merge_after(&self, vmg: &Vmg) -> bool {
        let prev = vmg.prev.expect("prev");
        let p = self.v(prev);
        // Mutant vma-merge-pgoff: the offset continuity test is skipped
        // for file mappings.
        let pgoff_ok = p.pgoff.wrapping_add(p.pages()) == vmg.pgoff
            || (p.file.is_some()
                && maple_tree::mutants::active(maple_tree::mutants::Mutant::VmaMergePgoff));
        self.is_mergeable_vma(vmg, prev) && self.anon_mergeable(vmg, prev) && pgoff_ok
    }

    /// `can_vma_merge_left`.
    fn can_vma_merge_left(&self, vmg: &Vmg) -> bool {
        vmg.prev
            .is_some_and(|p| self.v(p).end == vmg.start && self.can_vma_merge_after(vmg))
    }

    /// `can_vma_merge_right`: also, when merging both ways, prev's and
    /// next's anon_vmas must be compatible with each other.
    fn can_vma_merge_right(&self, vmg: &Vmg, can_merge_left: bool) -> bool {
        let Some(next) = vmg.next else {
            return false;
        };
        if vmg.end != self.v(next).start || !self.can_vma_merge_before(vmg) {
            return false;
        }
        if !can_merge_left {
            return true;
        }
        let prev = vmg.prev.expect("prev");
        self.is_mergeable_anon_vma(self.v(prev).anon, self.v(next).anon, None)
    }

    /// `can_merge_remove_vma`: no `vm_ops->close`.
    fn can_merge_remove_vma(&self, id: VmaId) -> bool {
        !file_has_close(self.v(id).file)
    }

    /// `dup_anon_vma`: if `src` has an anon_vma and `dst` none, `dst`
    /// takes it and `src`'s chain (`anon_vma_clone`, an allocation point;
    /// on failure it resets `dst`'s anon_vma). Returns the VMA to unlink
    /// if the merge is abandoned later.
    fn dup_anon_vma(&mut self, dst: VmaId, src: VmaId) -> Result<Option<VmaId>, Errno> {
        let sa = self.v(src).anon;
        if sa.is_some() && self.v(dst).anon.is_none() {
            self.vm(dst).anon = sa;
            let chain = self.v(src).chain.clone();
            self.anon_vma_clone(dst, sa, &chain)?;
            return Ok(Some(dst));
        }
        Ok(None)
    }

    /// `commit_merge`: one preallocation, one store. `vmg.vma` takes
    /// `[vmg.start, vmg.end)`; `adjust` moves its start by `adj_start`;
    /// `remove` and `remove2` are freed.
    fn commit_merge(
        &mut self,
        vmg: &Vmg,
        adjust: Option<VmaId>,
        remove: Option<VmaId>,
        remove2: Option<VmaId>,
        adj_start: i64,
        expanded: bool,
    ) -> Result<(), Errno> {
        let vma = vmg.vma.expect("vmg.vma");
        let (cs, ce) = if expanded {
            (vmg.start, vmg.end)
        } else {
            let a = self.v(adjust.expect("adjust"));
            (a.start.wrapping_add(adj_start as u64), a.end)
        };
        // The 6.1 profile's shape of this case (6.1's vma_merge case 4):
        // NULL over the part of vma that next takes, then next over its
        // new range, after one preallocation for the first store.
        let v61_case4 = self.cfg.profile == Profile::V6_1 && adj_start < 0;
        let mut mas = MaState::new(0, 0);
        if v61_case4 {
            let old_end = self.v(vma).end;
            self.vma_iter_prealloc(&mut mas, vmg.end, old_end, None)?;
        } else {
            self.vma_iter_prealloc(&mut mas, cs, ce, Some(vma))?;
        }
        let old_end = self.v(vma).end;
        {
            let v = self.vm(vma);
            v.start = vmg.start;
            v.end = vmg.end;
            v.pgoff = vmg.pgoff;
        }
        if expanded {
            self.vma_iter_store(&mut mas, vma);
        }
        if adj_start != 0 {
            let a = adjust.expect("adjust");
            let v = self.vm(a);
            v.start = v.start.wrapping_add(adj_start as u64);
            v.pgoff = v.pgoff.wrapping_add((adj_start >> 12) as u64);
            if v61_case4 {
                self.vma_iter_clear(&mut mas, vmg.end, old_end);
                self.store_after_release(&mut mas, a, "vma_merge case 4");
            } else if adj_start < 0 {
                self.vma_iter_store(&mut mas, a);
            }
        }
        // vma_complete: the removed VMAs go (anon_vma_merge unlinks them).
        for r in [remove, remove2].into_iter().flatten() {
            if self.v(r).anon.is_some() {
                self.unlink_anon_vmas(r);
            }
            self.map_count -= 1;
            self.vm_area_free(r);
        }
        Ok(())
    }

    /// `vma_merge_existing_range`: the attributes of `[vmg.start, vmg.end)`
    /// of `vmg.vma` change; merge it with its neighbours if they match.
    pub(crate) fn vma_merge_existing_range(&mut self, vmg: &mut Vmg) -> Option<VmaId> {
        let vma = vmg.vma.expect("vmg.vma");
        let prev = vmg.prev;
        let (start, end) = (vmg.start, vmg.end);
        let (vs, ve) = (self.v(vma).start, self.v(vma).end);
        let left_side = start == vs;
        let right_side = end == ve;
        vmg.state = MergeState::NoMerge;
        if vmg.flags & VM_SPECIAL != 0 || (!left_side && !right_side) {
            return None;
        }
        let merge_left = left_side && self.can_vma_merge_left(vmg);
        let mut merge_right = false;
        let mut next = None;
        if right_side {
            next = self.next_of(vma);
            vmg.next = next;
            merge_right = self.can_vma_merge_right(vmg, merge_left);
        }
        if !merge_left && !merge_right {
            return None;
        }
        let mut merge_both = merge_left && merge_right;
        let will_delete_vma = left_side && right_side;
        if will_delete_vma && !self.can_merge_remove_vma(vma) {
            return None;
        }
        let mut will_delete_next = merge_both;
        if will_delete_next && !self.can_merge_remove_vma(next.expect("next")) {
            will_delete_next = false;
            merge_right = false;
            merge_both = false;
        }
        let mut adjust = None;
        let mut adj_start: i64 = 0;
        let dup;
        if merge_both {
            let (p, n) = (prev.expect("prev"), next.expect("next"));
            vmg.vma = Some(p);
            vmg.start = self.v(p).start;
            vmg.end = self.v(n).end;
            vmg.pgoff = self.v(p).pgoff;
            let src = if self.v(n).anon.is_some() { n } else { vma };
            dup = self.dup_anon_vma(p, src);
        } else if merge_left {
            let p = prev.expect("prev");
            vmg.vma = Some(p);
            vmg.start = self.v(p).start;
            vmg.pgoff = self.v(p).pgoff;
            if !will_delete_vma {
                adjust = Some(vma);
                adj_start = (vmg.end - vs) as i64;
            }
            dup = self.dup_anon_vma(p, vma);
        } else {
            let n = next.expect("next");
            let pglen = (vmg.end - vmg.start) >> 12;
            if will_delete_vma {
                vmg.vma = Some(n);
                vmg.end = self.v(n).end;
                vmg.pgoff = self.v(n).pgoff.wrapping_sub(pglen);
            } else {
                // The one case where the result is next, not vmg.vma.
                vmg.start = vs;
                vmg.end = start;
                vmg.pgoff = self.v(vma).pgoff;
                adjust = Some(n);
                adj_start = -((ve - start) as i64);
            }
            dup = self.dup_anon_vma(n, vma);
        }
        let expanded = !merge_right || will_delete_vma;
        let anon_dup = match dup {
            Ok(d) => d,
            Err(_) => {
                vmg.state = MergeState::NoMem;
                return None;
            }
        };
        let ok = self
            .commit_merge(
                vmg,
                adjust,
                will_delete_vma.then_some(vma),
                if will_delete_next { next } else { None },
                adj_start,
                expanded,
            )
            .is_ok();
        if !ok {
            if let Some(d) = anon_dup {
                self.unlink_anon_vmas(d);
            }
            vmg.state = MergeState::NoMem;
            return None;
        }
        vmg.state = MergeState::Success;
        if merge_left {
            prev
        } else {
            next
        }
    }

    /// `vma_merge_new_range`: a new range `[vmg.start, vmg.end)` goes
    /// between `vmg.prev` and `vmg.next`; expand a neighbour over it if one
    /// matches.
    pub(crate) fn vma_merge_new_range(&mut self, vmg: &mut Vmg) -> Option<VmaId> {
        let (prev, next) = (vmg.prev, vmg.next);
        let (start, end, pgoff) = (vmg.start, vmg.end, vmg.pgoff);
        let pglen = (end - start) >> 12;
        vmg.state = MergeState::NoMerge;
        if vmg.flags & VM_SPECIAL != 0 || (prev.is_none() && next.is_none()) {
            return None;
        }
        let can_merge_left = self.can_vma_merge_left(vmg);
        let can_merge_right = !vmg.just_expand && self.can_vma_merge_right(vmg, can_merge_left);
        if can_merge_right {
            let n = next.expect("next");
            vmg.end = self.v(n).end;
            vmg.vma = Some(n);
            vmg.pgoff = self.v(n).pgoff.wrapping_sub(pglen);
        }
        if can_merge_left {
            let p = prev.expect("prev");
            vmg.start = self.v(p).start;
            vmg.vma = Some(p);
            vmg.pgoff = self.v(p).pgoff;
            if can_merge_right && !self.can_merge_remove_vma(next.expect("next")) {
                vmg.end = end;
            }
        }
        if let Some(v) = vmg.vma {
            if self.vma_expand(vmg).is_ok() {
                vmg.state = MergeState::Success;
                return Some(v);
            }
        }
        if !vmg.just_expand {
            vmg.vma = None;
            vmg.start = start;
            vmg.end = end;
            vmg.pgoff = pgoff;
        }
        None
    }

    /// `vma_expand`: grow `vmg.vma` to `[vmg.start, vmg.end)`, absorbing
    /// `vmg.next` if the range ends where it ends.
    pub(crate) fn vma_expand(&mut self, vmg: &mut Vmg) -> Result<(), Errno> {
        let vma = vmg.vma.expect("vmg.vma");
        let next = vmg.next;
        let mut remove_next = false;
        let mut anon_dup = None;
        if let Some(n) = next {
            if n != vma && vmg.end == self.v(n).end {
                remove_next = true;
                // An error here returns before the state is set.
                anon_dup = self.dup_anon_vma(vma, n)?;
            }
        }
        // 7.1: a range mremap copies takes its source's anon_vma along.
        if let Some(src) = vmg.copied_from.filter(|_| self.cfg.profile.v7()) {
            if let Some(d) = self.dup_anon_vma(vma, src)? {
                anon_dup = Some(d);
            }
        }
        let remove = if remove_next { next } else { None };
        if let Err(e) = self.commit_merge(vmg, None, remove, None, 0, true) {
            if let Some(d) = anon_dup {
                self.unlink_anon_vmas(d);
            }
            vmg.state = MergeState::NoMem;
            return Err(e);
        }
        Ok(())
    }

    /// `vma_modify`: merge the changed range, or split it out of its VMA
    /// (at the start, then at the end; a first split stays if the second
    /// fails).
    pub(crate) fn vma_modify(&mut self, vmg: &mut Vmg) -> Result<VmaId, Errno> {
        let vma = vmg.vma.expect("vmg.vma");
        let (start, end) = (vmg.start, vmg.end);
        if let Some(m) = self.vma_merge_existing_range(vmg) {
            return Ok(m);
        }
        if vmg.state == MergeState::NoMem {
            return Err(Errno::ENOMEM);
        }
        if self.v(vma).start < start {
            self.split_vma(vma, start, true)?;
        }
        if self.v(vma).end > end {
            self.split_vma(vma, end, false)?;
        }
        Ok(vma)
    }

    /// `vma_modify_flags`.
    pub(crate) fn vma_modify_flags(
        &mut self,
        prev: Option<VmaId>,
        vma: VmaId,
        start: u64,
        end: u64,
        new_flags: u64,
    ) -> Result<VmaId, Errno> {
        let mut vmg = self.vmg_vma_state(prev, vma, start, end);
        vmg.flags = new_flags;
        self.vma_modify(&mut vmg)
    }

    /// `vma_merge_extend`: grow `vma` by `delta` bytes, merging with the
    /// next VMA if it becomes adjacent and matches.
    pub(crate) fn vma_merge_extend(&mut self, vma: VmaId, delta: u64) -> Option<VmaId> {
        let end = self.v(vma).end;
        let mut vmg = self.vmg_vma_state(Some(vma), vma, end, end + delta);
        vmg.next = self.find_vma(end);
        vmg.vma = None;
        self.vma_merge_new_range(&mut vmg)
    }
}
