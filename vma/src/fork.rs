// SPDX-License-Identifier: GPL-2.0-or-later
//! fork as far as VMAs see it: `dup_mmap` (`kernel/fork.c`) builds the
//! child's `mm_mt` with `__mt_dup` and then walks it, replacing each parent
//! VMA by its copy (or clearing it, for `VM_DONTCOPY`); `exit_mmap`
//! (`mm/mmap.c`) tears an mm down, stopping at the `XA_ZERO_ENTRY` a
//! failed `dup_mmap` leaves.
//!
//! Both mms share the anon_vma registry while they coexist; the child's
//! VMAs live in its own arena and are named in the registry by the child's
//! mm identity.

use super::vmflags::{VM_DONTCOPY, VM_LOCKED, VM_LOCKONFAULT, VM_WIPEONFORK};
use super::{Errno, ForkKeep, Mm, Point, VmaId};
use maple_tree::{node::XA_ZERO_ENTRY, FaultSchedule, MaState};

impl Mm {
    /// fork(2) of this mm (see [`ForkKeep`]): on success the object is the
    /// parent or the child as `keep` says, and the other mm has exited. On
    /// failure (`ENOMEM` at an allocation point) the partial child has
    /// exited and the object is the unchanged parent.
    pub fn fork(&mut self, keep: ForkKeep) -> Result<(), Errno> {
        self.begin_op();
        let r = match self.dup_mmap() {
            Err(e) => Err(e),
            Ok(mut child) => {
                match keep {
                    ForkKeep::Parent => self.exit_other(&mut child),
                    ForkKeep::Child => {
                        // The node fault schedule (a model-only knob) now
                        // applies to the child's tree.
                        child.mt.set_fault_schedule(self.mt.fault_schedule());
                        child.points = std::mem::take(&mut self.points);
                        child.fail_now = self.fail_now;
                        child.anon = std::mem::take(&mut self.anon);
                        std::mem::swap(self, &mut child);
                        self.exit_other(&mut child);
                    }
                }
                Ok(())
            }
        };
        self.end_op();
        r
    }

    /// Runs `exit_mmap` on `other` with the shared registry, which then
    /// comes back here with whatever `other` noticed.
    fn exit_other(&mut self, other: &mut Mm) {
        other.anon = std::mem::take(&mut self.anon);
        other.exit_mmap();
        self.anon = std::mem::take(&mut other.anon);
        self.faults.append(&mut other.faults);
    }

    /// `dup_mmap`: a child mm with this mm's VMAs, as the kernel builds it.
    /// The allocation points are recorded in this mm's list. On failure
    /// the partial child has exited and this mm is unchanged.
    fn dup_mmap(&mut self) -> Result<Mm, Errno> {
        let mut child = Mm::new(self.cfg);
        child.brk = self.brk;
        child.start_brk = self.start_brk;
        child.next_shmem = self.next_shmem;
        child.mt.set_fixes(self.mt.fixes());
        child.anon = std::mem::take(&mut self.anon);
        child.anon.next_mm += 1;
        child.mm_id = child.anon.next_mm;
        child.points = std::mem::take(&mut self.points);
        child.fail_now = self.fail_now;
        let r = self.dup_mmap_into(&mut child);
        self.points = std::mem::take(&mut child.points);
        if r.is_err() {
            child.exit_mmap();
        }
        self.anon = std::mem::take(&mut child.anon);
        if r.is_err() {
            self.faults.append(&mut child.faults);
        }
        r.map(|()| child)
    }

    /// The body of `dup_mmap` once the child exists: `__mt_dup`, then one
    /// pass over the parent's VMAs. On failure after the tree copy, the
    /// failing VMA's range is marked with `XA_ZERO_ENTRY` in the child.
    fn dup_mmap_into(&mut self, child: &mut Mm) -> Result<(), Errno> {
        // An empty tree is copied without allocating: no point then. The
        // one failure that counts is the copy's last node allocation, so
        // that mas_dup_free has a partial tree to free.
        let fail = !self.mt.is_empty() && child.point(Point::TreeDup);
        let nodes = self.mt.node_accounting().1;
        child.mt.set_fault_schedule(if fail {
            FaultSchedule::Nth(nodes)
        } else {
            FaultSchedule::Never
        });
        let r = self.mt.dup_into(&mut child.mt);
        child.mt.set_fault_schedule(FaultSchedule::Never);
        if let Err(e) = r {
            if !fail {
                child.faults.push(format!("__mt_dup failed unasked: {e:?}"));
            }
            return Err(Errno::ENOMEM);
        }
        if fail {
            child
                .faults
                .push("__mt_dup succeeded with its last node allocation failing".to_string());
        }
        child.mt.mt_clear_in_rcu();
        let parents: Vec<VmaId> = self
            .mt
            .entries()
            .filter_map(|(_, _, e)| self.id_of(e))
            .collect();
        for mpnt in parents {
            if let Err(e) = self.dup_one_vma(child, mpnt) {
                let (s, e_) = (self.v(mpnt).start, self.v(mpnt).end);
                child.mark_dup_failure(s, e_);
                return Err(e);
            }
        }
        child.mt.mt_set_in_rcu();
        Ok(())
    }

    /// One iteration of `dup_mmap`'s loop over parent VMA `mpnt`.
    fn dup_one_vma(&self, child: &mut Mm, mpnt: VmaId) -> Result<(), Errno> {
        let pv = self.v(mpnt);
        if pv.flags & VM_DONTCOPY != 0 {
            return child.vma_iter_clear_gfp(pv.start, pv.end);
        }
        if child.point(Point::VmaAlloc) {
            return Err(Errno::ENOMEM);
        }
        let mut tmp = pv.clone();
        tmp.chain = Vec::new();
        let id = child.vma_store_new(tmp);
        if pv.flags & VM_WIPEONFORK != 0 {
            child.vm(id).anon = None;
        } else if let Err(e) = child.anon_vma_fork(id, pv.anon, &pv.chain) {
            child.vm_area_free(id);
            return Err(e);
        }
        child.vm(id).flags &= !(VM_LOCKED | VM_LOCKONFAULT);
        child.vma_iter_bulk_store(id);
        child.map_count += 1;
        Ok(())
    }

    /// `vma_iter_bulk_store`: overwrite the copied entry over VMA `id`'s
    /// range in place. After `__mt_dup` it needs no node; a store that
    /// allocates or fails is noted as a fault.
    fn vma_iter_bulk_store(&mut self, id: VmaId) {
        let (s, e) = (self.v(id).start, self.v(id).end);
        let before = self.mt.node_counters();
        let mut mas = MaState::new(s, e - 1);
        let r = mas.store_advanced(&mut self.mt, Some(Mm::entry(id)));
        let after = self.mt.node_counters();
        if r.is_err() || after.allocated + after.failed != before.allocated + before.failed {
            self.faults.push(format!(
                "vma_iter_bulk_store {s:#x}-{:#x} in the child allocated ({} node(s), {r:?})",
                e - 1,
                after.allocated + after.failed - before.allocated - before.failed
            ));
        }
    }

    /// The `XA_ZERO_ENTRY` over `[start, end)` marking where a failed
    /// `dup_mmap` stopped (a `mas_store` that replaces one entry).
    fn mark_dup_failure(&mut self, start: u64, end: u64) {
        let before = self.mt.node_counters();
        let mut mas = MaState::new(start, end - 1);
        let r = mas.store_zero_entry(&mut self.mt);
        let after = self.mt.node_counters();
        if r.is_err() || after.allocated + after.failed != before.allocated + before.failed {
            self.faults.push(format!(
                "the XA_ZERO_ENTRY store over {start:#x}-{:#x} allocated ({r:?})",
                end - 1
            ));
        }
    }

    /// `exit_mmap`: unlink every VMA up to the `XA_ZERO_ENTRY` (if any)
    /// from its anon_vmas, free them, check the count against `map_count`,
    /// and destroy the tree. Leaks (VMAs, tree nodes) are noted as faults.
    pub(crate) fn exit_mmap(&mut self) {
        let mut vmas = Vec::new();
        for (_, _, e) in self.mt.entries() {
            if e == XA_ZERO_ENTRY {
                break;
            }
            match self.id_of(e) {
                Some(id) => vmas.push(id),
                None => {
                    self.faults
                        .push(format!("exit_mmap met entry {e:#x}, no VMA of this mm"));
                    break;
                }
            }
        }
        // free_pgtables: unlink_anon_vmas in address order.
        for &id in &vmas {
            self.unlink_anon_vmas(id);
        }
        // remove_vma.
        for &id in &vmas {
            self.vm_area_free(id);
        }
        if vmas.len() as u64 != self.map_count {
            self.faults.push(format!(
                "exit_mmap freed {} VMAs for map_count {}",
                vmas.len(),
                self.map_count
            ));
        }
        self.map_count = 0;
        self.mt.destroy();
        let live = self.mt.nodes_live();
        if live != 0 {
            self.faults
                .push(format!("the exited mm's tree leaked {live} node(s)"));
        }
        let left = self.live_vmas();
        if left != 0 {
            self.faults
                .push(format!("{left} vm_area_struct(s) leaked by the exited mm"));
        }
    }
}
