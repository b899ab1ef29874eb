// SPDX-License-Identifier: GPL-2.0-or-later
//! Merging and splitting (mm/vma.c): the mergeability predicates,
//! `vma_merge_new_range()` + `vma_expand()`, `vma_merge_existing_range()`,
//! `vma_modify()`, `split_vma()` / `__split_vma()`, `dup_anon_vma()`.
//!
//! Each kernel function that can fail an allocation does all of its
//! allocation points first and only then changes the map, because that is
//! what the kernel guarantees too: `commit_merge()` preallocates before
//! touching a VMA and every failure before it is undone.

use super::{env::PAGE_SHIFT, vm, Point, Vma, VmaErrno, VmaOracle};

/// The parts of `struct vma_merge_struct` that matter here (policy, uffd
/// context and anon name are always equal in this environment).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Vmg {
    pub start: u64,
    pub end: u64,
    pub flags: u64,
    pub file: Option<u32>,
    pub anon: Option<u64>,
    pub pgoff: u64,
    /// The VMA the range comes from (the one being modified, or the one
    /// mremap copies), if any: Linux 7.1 checks whether it was forked.
    pub src: Option<Vma>,
}

impl Vmg {
    fn pglen(&self) -> u64 {
        (self.end - self.start) >> PAGE_SHIFT
    }
}

/// `vmg->state` after a merge attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum MergeState {
    /// VMA_MERGE_SUCCESS: the key (start) of the VMA now covering the range.
    Success(u64),
    /// VMA_MERGE_NOMERGE.
    NoMerge,
    /// VMA_MERGE_ERROR_NOMEM: nothing changed.
    NoMem,
}

/// `is_mergeable_vma()`: flags (minus soft-dirty) and file equal.
fn is_mergeable_vma(vmg: &Vmg, v: &Vma) -> bool {
    (v.flags ^ vmg.flags) & !vm::VM_SOFTDIRTY == 0 && v.file == vmg.file
}

/// `is_mergeable_anon_vma(a1, a2, vma)`: a NULL side is fine only if
/// `vma` (when given) has a singular chain (`vma_singular`), i.e. has an
/// anon_vma that did not come through a fork.
fn is_mergeable_anon_vma(a1: Option<u64>, a2: Option<u64>, vma_singular: Option<bool>) -> bool {
    if (a1.is_none() || a2.is_none()) && vma_singular.unwrap_or(true) {
        return true;
    }
    a1 == a2
}

/// `can_merge_remove_vma()`: a VMA with `->close` cannot be deleted by a
/// merge.
fn can_merge_remove_vma(v: &Vma) -> bool {
    !v.has_close()
}

impl VmaOracle {
    /// Whether the range's anon_vma and its neighbour `other`'s allow a
    /// merge. 6.12: `is_mergeable_anon_vma()` above, asked about `other`.
    /// 7.1: one side may lack an anon_vma unless the other side's VMA was
    /// forked (its chain is not singular), so a faulted range now merges
    /// into an unfaulted neighbour, which takes its anon_vma.
    fn anon_ok(&self, vmg: &Vmg, other: &Vma) -> bool {
        if self.cfg.profile != super::VmaProfile::V7_1 {
            return is_mergeable_anon_vma(
                vmg.anon,
                other.anon,
                Some(self.chain_is_singular(other)),
            );
        }
        let forked = |v: &Vma| v.anon.is_some() && !self.chain_is_singular(v);
        match (vmg.anon, other.anon) {
            (Some(_), None) => !vmg.src.is_some_and(|s| forked(&s)),
            (None, Some(_)) => !forked(other),
            (a, b) => a == b,
        }
    }

    /// `can_vma_merge_before()`: the range can go in front of `next`.
    fn can_vma_merge_before(&self, vmg: &Vmg, next: &Vma) -> bool {
        is_mergeable_vma(vmg, next)
            && self.anon_ok(vmg, next)
            && next.pgoff == vmg.pgoff.wrapping_add(vmg.pglen())
    }

    /// `can_vma_merge_after()`: the range can go after `prev`.
    fn can_vma_merge_after(&self, vmg: &Vmg, prev: &Vma) -> bool {
        is_mergeable_vma(vmg, prev)
            && self.anon_ok(vmg, prev)
            && prev.pgoff.wrapping_add(prev.pages()) == vmg.pgoff
    }

    /// `can_vma_merge_left()`.
    fn can_vma_merge_left(&self, vmg: &Vmg, prev: Option<&Vma>) -> bool {
        prev.is_some_and(|p| p.end == vmg.start && self.can_vma_merge_after(vmg, p))
    }

    /// `can_vma_merge_right()`: also, when merging both sides, prev's and
    /// next's anon_vmas must agree (`are_anon_vmas_compatible()`).
    fn can_vma_merge_right(
        &self,
        vmg: &Vmg,
        prev: Option<&Vma>,
        next: Option<&Vma>,
        left: bool,
    ) -> bool {
        let Some(next) = next else { return false };
        if vmg.end != next.start || !self.can_vma_merge_before(vmg, next) {
            return false;
        }
        if !left {
            return true;
        }
        let prev = prev.expect("left merge without prev");
        is_mergeable_anon_vma(prev.anon, next.anon, None)
    }

    /// `dup_anon_vma(dst, src)`: `dst` takes `src`'s anon_vma and a copy of
    /// its chain if it has none (an `anon_vma_clone()`, one allocation
    /// point). Returns the anon_vma `dst` ends up with and whether it was
    /// duplicated (the caller's `anon_dup`, to unlink if the merge fails
    /// later).
    fn dup_anon_vma(&mut self, dst: &Vma, src: &Vma) -> Result<(Option<u64>, bool), VmaErrno> {
        if src.anon.is_some() && dst.anon.is_none() {
            let with = Vma {
                anon: src.anon,
                ..*dst
            };
            self.anon_vma_clone(&with, src)?;
            return Ok((src.anon, true));
        }
        Ok((dst.anon, false))
    }

    /// `commit_merge()`'s preallocation; on failure the anon_vma a merge
    /// step duplicated into `dst` is unlinked again (the abort paths of
    /// `vma_expand()` and `vma_merge_existing_range()`).
    fn merge_prealloc(&mut self, dst: &Vma, anon: Option<u64>, dup: bool) -> Result<(), VmaErrno> {
        let r = self.alloc_point(Point::Prealloc);
        if r.is_err() && dup {
            self.anon.unlink_anon_vmas(dst.id, anon);
        }
        r
    }

    /// A VMA deleted by a merge (`vma_complete()`): `anon_vma_merge()`
    /// unlinks its chain, then it leaves the mm.
    fn merge_remove(&mut self, v: &Vma) {
        if v.anon.is_some() {
            self.unlink_anon_vmas(v);
        }
        self.vmas.remove(&v.start).expect("merged-away VMA");
    }

    /// `vma_merge_new_range()`: a new range `[vmg.start, vmg.end)` that is
    /// empty (or about to be) goes between `prev` and `next`; extend one of
    /// them, possibly deleting `next`. `just_expand` is
    /// VMG_FLAG_JUST_EXPAND (brk: never merge with next).
    pub(crate) fn vma_merge_new_range(
        &mut self,
        vmg: &Vmg,
        prev: Option<Vma>,
        next: Option<Vma>,
        just_expand: bool,
    ) -> MergeState {
        if vmg.flags & vm::VM_SPECIAL != 0 || (prev.is_none() && next.is_none()) {
            return MergeState::NoMerge;
        }
        let left = self.can_vma_merge_left(vmg, prev.as_ref());
        let right =
            !just_expand && self.can_vma_merge_right(vmg, prev.as_ref(), next.as_ref(), left);

        let (mut start, mut end, mut pgoff) = (vmg.start, vmg.end, vmg.pgoff);
        let mut target = None;
        if right {
            let n = next.unwrap();
            end = n.end;
            target = Some(n);
            pgoff = n.pgoff.wrapping_sub(vmg.pglen());
        }
        if left {
            let p = prev.unwrap();
            start = p.start;
            target = Some(p);
            pgoff = p.pgoff;
            // next cannot be deleted: only extend prev.
            if right && !can_merge_remove_vma(next.as_ref().unwrap()) {
                end = vmg.end;
            }
        }
        let Some(target) = target else {
            return MergeState::NoMerge;
        };
        // 7.1: what mremap copies brings its source's anon_vma along.
        let copied_from = vmg
            .src
            .filter(|_| self.cfg.profile == super::VmaProfile::V7_1);
        match self.vma_expand(target, start, end, pgoff, next, copied_from) {
            Ok(key) => MergeState::Success(key),
            Err(_) => MergeState::NoMem,
        }
    }

    /// `vma_expand()`: grow `vma` to `[start, end)` with `pgoff`, deleting
    /// `next` if the new end is next's end. `commit_merge()` preallocates
    /// first; a failure undoes the anon_vma dup.
    fn vma_expand(
        &mut self,
        vma: Vma,
        start: u64,
        end: u64,
        pgoff: u64,
        next: Option<Vma>,
        copied_from: Option<Vma>,
    ) -> Result<u64, VmaErrno> {
        let remove_next = next.filter(|n| n.start != vma.start && end == n.end);
        let (mut anon, mut dup) = (vma.anon, false);
        if let Some(n) = &remove_next {
            (anon, dup) = self.dup_anon_vma(&vma, n)?;
        }
        if let Some(src) = &copied_from {
            let (a, d) = self.dup_anon_vma(&Vma { anon, ..vma }, src)?;
            anon = a;
            dup |= d;
        }
        // commit_merge(): vma_iter_prealloc().
        self.merge_prealloc(&vma, anon, dup)?;
        if let Some(n) = remove_next {
            self.merge_remove(&n);
        }
        let merged = Vma {
            start,
            end,
            pgoff,
            anon,
            ..vma
        };
        self.put(vma.start, merged);
        Ok(start)
    }

    /// `vma_merge_existing_range()`: the attributes of `[start, end)` inside
    /// `vma` change to `vmg`; merge with prev and/or next where possible.
    /// `prev` is the VMA just below `vma` (the callers' `*pprev` always is).
    pub(crate) fn vma_merge_existing_range(&mut self, vma: Vma, vmg: &Vmg) -> MergeState {
        let vmg = &Vmg {
            src: Some(vma),
            ..*vmg
        };
        let (start, end) = (vmg.start, vmg.end);
        let left_side = start == vma.start;
        let right_side = end == vma.end;
        if vmg.flags & vm::VM_SPECIAL != 0 || (!left_side && !right_side) {
            return MergeState::NoMerge;
        }
        let prev = self.prev_of(vma.start);
        let merge_left = left_side && self.can_vma_merge_left(vmg, prev.as_ref());
        let (next, mut merge_right) = if right_side {
            // vma_iter_next_range(): the range right after vma, which is a
            // VMA only if it is adjacent.
            let next = self.next_of(vma.start).filter(|n| n.start == vma.end);
            let r = self.can_vma_merge_right(vmg, prev.as_ref(), next.as_ref(), merge_left);
            (next, r)
        } else {
            (None, false)
        };
        if !merge_left && !merge_right {
            return MergeState::NoMerge;
        }
        let mut merge_both = merge_left && merge_right;
        let delete_vma = left_side && right_side;
        if delete_vma && !can_merge_remove_vma(&vma) {
            return MergeState::NoMerge;
        }
        let mut delete_next = merge_both;
        if delete_next && !can_merge_remove_vma(next.as_ref().unwrap()) {
            // next cannot go: only merge prev with (all of) vma.
            delete_next = false;
            merge_right = false;
            merge_both = false;
        }

        // Work out the result, then pass the allocation points
        // (dup_anon_vma, then commit_merge's preallocation), then apply.
        if merge_both {
            // prev grows over vma and next; both are deleted.
            let (p, n) = (prev.unwrap(), next.unwrap());
            let src = if n.anon.is_some() { n } else { vma };
            let Ok((anon, dup)) = self.dup_anon_vma(&p, &src) else {
                return MergeState::NoMem;
            };
            if self.merge_prealloc(&p, anon, dup).is_err() {
                return MergeState::NoMem;
            }
            debug_assert!(delete_next && delete_vma);
            self.merge_remove(&vma);
            self.merge_remove(&n);
            self.put(
                p.start,
                Vma {
                    end: n.end,
                    anon,
                    ..p
                },
            );
            MergeState::Success(p.start)
        } else if merge_left {
            // prev grows to `end`; vma shrinks from below or is deleted.
            let p = prev.unwrap();
            let Ok((anon, dup)) = self.dup_anon_vma(&p, &vma) else {
                return MergeState::NoMem;
            };
            if self.merge_prealloc(&p, anon, dup).is_err() {
                return MergeState::NoMem;
            }
            if delete_vma {
                self.merge_remove(&vma);
            } else {
                self.vmas.remove(&vma.start);
                let moved = (end - vma.start) >> PAGE_SHIFT;
                self.insert(Vma {
                    start: end,
                    pgoff: vma.pgoff.wrapping_add(moved),
                    ..vma
                });
            }
            self.put(p.start, Vma { end, anon, ..p });
            MergeState::Success(p.start)
        } else {
            debug_assert!(merge_right);
            // merge_right: next grows down to `start`; vma is deleted or
            // shrinks from above (the one case where the result is next
            // while vma survives).
            let n = next.unwrap();
            let Ok((anon, dup)) = self.dup_anon_vma(&n, &vma) else {
                return MergeState::NoMem;
            };
            if self.merge_prealloc(&n, anon, dup).is_err() {
                return MergeState::NoMem;
            }
            if delete_vma {
                self.merge_remove(&vma);
            } else {
                self.vmas.remove(&vma.start);
                self.insert(Vma { end: start, ..vma });
            }
            let grown = Vma {
                start,
                pgoff: n.pgoff.wrapping_sub(vmg.pglen()),
                anon,
                ..n
            };
            self.put(n.start, grown);
            MergeState::Success(start)
        }
    }

    /// `vma_modify()`: merge, or else split so that a VMA covers exactly
    /// `[start, end)`. Returns its key. A failed second split leaves the
    /// first one in place.
    pub(crate) fn vma_modify(&mut self, vma: Vma, vmg: &Vmg) -> Result<u64, VmaErrno> {
        match self.vma_merge_existing_range(vma, vmg) {
            MergeState::Success(key) => return Ok(key),
            MergeState::NoMem => return Err(VmaErrno::ENOMEM),
            MergeState::NoMerge => {}
        }
        let mut key = vma.start;
        if vma.start < vmg.start {
            self.split_vma(key, vmg.start, true)?;
            key = vmg.start;
        }
        if self.get(key).end > vmg.end {
            self.split_vma(key, vmg.end, false)?;
        }
        Ok(key)
    }

    /// `vma_modify_flags()`: the vmg of `VMG_VMA_STATE()` with new flags.
    pub(crate) fn vma_modify_flags(
        &mut self,
        vma: Vma,
        start: u64,
        end: u64,
        flags: u64,
    ) -> Result<u64, VmaErrno> {
        let vmg = Vmg {
            start,
            end,
            flags,
            file: vma.file,
            anon: vma.anon,
            pgoff: vma_pgoff_offset(&vma, start),
            src: None,
        };
        self.vma_modify(vma, &vmg)
    }

    /// `split_vma()`: `__split_vma()` behind the map count limit.
    pub(crate) fn split_vma(
        &mut self,
        key: u64,
        addr: u64,
        new_below: bool,
    ) -> Result<(), VmaErrno> {
        if self.count() >= self.max_count() {
            return Err(VmaErrno::ENOMEM);
        }
        self.__split_vma(key, addr, new_below)
    }

    /// `__split_vma()`: cut the VMA at `key` in two at `addr`, ignoring the
    /// map count limit. Points: `vm_area_dup()`, `vma_iter_prealloc()`,
    /// then `anon_vma_clone()` if there is an anon_vma to clone. Both halves
    /// keep the anon_vma and the chain; the upper half's pgoff moves on.
    /// The new struct is the lower half if `new_below`, else the upper.
    #[allow(non_snake_case)]
    pub(crate) fn __split_vma(
        &mut self,
        key: u64,
        addr: u64,
        new_below: bool,
    ) -> Result<(), VmaErrno> {
        let v = self.get(key);
        debug_assert!(
            v.start < addr && addr < v.end,
            "bad split of {v:?} at {addr:#x}"
        );
        self.alloc_point(Point::VmaAlloc)?;
        self.alloc_point(Point::Prealloc)?;
        let new_id = self.new_vma_id();
        self.anon_vma_clone(&Vma { id: new_id, ..v }, &v)?;
        let (low_id, high_id) = if new_below {
            (new_id, v.id)
        } else {
            (v.id, new_id)
        };
        let low = Vma {
            id: low_id,
            end: addr,
            ..v
        };
        let high = Vma {
            id: high_id,
            start: addr,
            pgoff: vma_pgoff_offset(&v, addr),
            ..v
        };
        self.vmas.remove(&key);
        self.insert(low);
        self.insert(high);
        Ok(())
    }
}

/// `vma_pgoff_offset()`: the file page at `addr` inside `v`.
pub(crate) fn vma_pgoff_offset(v: &Vma, addr: u64) -> u64 {
    v.pgoff.wrapping_add((addr - v.start) >> PAGE_SHIFT)
}
