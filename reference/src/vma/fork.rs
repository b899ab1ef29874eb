// SPDX-License-Identifier: GPL-2.0-or-later
//! fork: `dup_mmap()` (kernel/fork.c), `anon_vma_fork()` (mm/rmap.c) and
//! the VMA part of `exit_mmap()` (mm/mmap.c).
//!
//! The oracle has no maple tree, so `__mt_dup()` is only its allocation
//! point ([`Point::TreeDup`]) and the child's address space is built VMA
//! by VMA. Which VMAs the child's teardown reaches after a failure (the
//! copies made before the failing parent VMA; `dup_mmap()` marks that VMA
//! with `XA_ZERO_ENTRY` and `exit_mmap()` stops there) is simply the list
//! of copies built so far.

use std::collections::BTreeMap;

use super::{vm, ForkKeep, Point, Vma, VmaErrno, VmaOracle};

impl VmaOracle {
    /// `fork()` as far as the VMAs go: `dup_mmap()` from this mm into a new
    /// one, then one of the two exits (`keep` says which survives as this
    /// object). On `-ENOMEM` the partial child has exited and the object is
    /// still the parent, unchanged, whatever `keep` says.
    pub fn fork(&mut self, keep: ForkKeep) -> Result<(), VmaErrno> {
        self.run_op(|o| {
            let child = o.dup_mmap()?;
            match keep {
                ForkKeep::Parent => o.exit_mmap(child.into_values()),
                ForkKeep::Child => {
                    let parent = std::mem::replace(&mut o.vmas, child);
                    o.exit_mmap(parent.into_values());
                }
            }
            Ok(())
        })
    }

    /// `dup_mmap()`: the child's VMAs, in the parent's address order. A
    /// `VM_DONTCOPY` VMA is cleared from the child's copy of the tree
    /// (`vma_iter_clear_gfp()`); every other one is `vm_area_dup()`ed, gets
    /// a clean anon_vma slate if `VM_WIPEONFORK` or else
    /// `anon_vma_fork()`, and loses `VM_LOCKED_MASK`. The brk values, the
    /// configuration and the shmem counter belong to the object and carry
    /// over as they are. On a failure the copies made so far go through
    /// `exit_mmap()`.
    fn dup_mmap(&mut self) -> Result<BTreeMap<u64, Vma>, VmaErrno> {
        // __mt_dup(): an empty tree allocates nothing.
        if !self.vmas.is_empty() {
            self.alloc_point(Point::TreeDup)?;
        }
        let parent: Vec<Vma> = self.vmas.values().copied().collect();
        let mut child = BTreeMap::new();
        for mpnt in parent {
            if let Err(e) = self.dup_one(&mpnt, &mut child) {
                self.exit_mmap(child.into_values());
                return Err(e);
            }
        }
        Ok(child)
    }

    /// One turn of `dup_mmap()`'s loop for the parent VMA `mpnt`. On a
    /// failure nothing of `mpnt`'s copy is left (`vm_area_free(tmp)`,
    /// `anon_vma_fork()` having unlinked its partial chain).
    fn dup_one(&mut self, mpnt: &Vma, child: &mut BTreeMap<u64, Vma>) -> Result<(), VmaErrno> {
        if mpnt.flags & vm::VM_DONTCOPY != 0 {
            // vma_iter_clear_gfp() over the range in the child's tree.
            return self.alloc_point(Point::StoreGfp);
        }
        // VM_ACCOUNT: security_vm_enough_memory_mm() never refuses here.
        self.alloc_point(Point::VmaAlloc)?;
        let mut tmp = Vma {
            id: self.new_vma_id(),
            ..*mpnt
        };
        if tmp.flags & vm::VM_WIPEONFORK != 0 {
            // A clean slate: no anon_vma until the child faults.
            tmp.anon = None;
        } else {
            tmp.anon = self.anon_vma_fork(&tmp, mpnt)?;
        }
        tmp.flags &= !vm::VM_LOCKED_MASK;
        // vma_iter_bulk_store() into the duplicated tree: no allocation.
        child.insert(tmp.start, tmp);
        Ok(())
    }

    /// `anon_vma_fork(vma, pvma)`: nothing if the parent VMA has no
    /// anon_vma. Otherwise `anon_vma_clone()` links `vma` to every anon_vma
    /// of `pvma`'s chain and may reuse one of them (an allocation point);
    /// if none was reused, a new anon_vma below `pvma`'s (its root shared)
    /// goes at the head of the chain (a second point: the anon_vma and its
    /// chain link). A failure of that second point unlinks the clone.
    /// Linux 7.1 takes the second point first. Returns `vma`'s anon_vma.
    fn anon_vma_fork(&mut self, vma: &Vma, pvma: &Vma) -> Result<Option<u64>, VmaErrno> {
        let Some(parent_anon) = pvma.anon else {
            return Ok(None);
        };
        if self.cfg.profile == super::VmaProfile::V7_1 {
            // 7.1 allocates the child's own anon_vma (and its link) first,
            // then clones, dropping the new one if the clone reused.
            self.alloc_point(Point::AnonVma)?;
            self.alloc_point(Point::AnonVma)?;
            let reused = self
                .anon
                .anon_vma_clone_link_7_1(vma.id, None, pvma.id, true);
            if reused.is_some() {
                return Ok(reused);
            }
            return Ok(Some(self.anon.anon_vma_fork_new(vma.id, parent_anon)));
        }
        // The inherited pointer is dropped first: vma->anon_vma = NULL.
        // anon_vma_clone(): a failure leaves nothing linked (see
        // VmaOracle::anon_vma_clone for why the oracle fails it up front).
        self.alloc_point(Point::AnonVma)?;
        let reused = self
            .anon
            .anon_vma_clone_link(vma.id, None, pvma.id, pvma.anon);
        if reused.is_some() {
            return Ok(reused);
        }
        if self.alloc_point(Point::AnonVma).is_err() {
            self.anon.unlink_anon_vmas(vma.id, None);
            return Err(VmaErrno::ENOMEM);
        }
        Ok(Some(self.anon.anon_vma_fork_new(vma.id, parent_anon)))
    }

    /// `exit_mmap()` for the given VMAs of an mm that goes away:
    /// `free_pgtables()` unlinks each one's anon_vmas, then
    /// `remove_vma()` frees it.
    fn exit_mmap(&mut self, vmas: impl IntoIterator<Item = Vma>) {
        for v in vmas {
            self.unlink_anon_vmas(&v);
        }
    }
}
