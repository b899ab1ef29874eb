// SPDX-License-Identifier: GPL-2.0-or-later
//! A page fault (the parts of mm/memory.c and arch/x86/mm/fault.c that
//! decide the VMA-level outcome) and `anon_vma_prepare()` (mm/rmap.c) with
//! `find_mergeable_anon_vma()` (mm/vma.c).

use super::{env::PAGE_SHIFT, vm, Point, Vma, VmaErrno, VmaOracle};

/// `anon_vma_compatible(a, b)`: adjacent, same file, flags equal except the
/// access bits (and soft-dirty), pgoff linear.
fn anon_vma_compatible(a: &Vma, b: &Vma) -> bool {
    a.end == b.start
        && a.file == b.file
        && (a.flags ^ b.flags) & !(vm::VM_ACCESS_FLAGS | vm::VM_SOFTDIRTY) == 0
        && b.pgoff == a.pgoff.wrapping_add((b.start - a.start) >> PAGE_SHIFT)
}

impl VmaOracle {
    /// `reusable_anon_vma(old, a, b)`: `old`'s anon_vma, if the two are
    /// compatible and `old`'s chain is singular (an anon_vma that came
    /// through a fork is never shared this way).
    fn reusable_anon_vma(&self, old: &Vma, a: &Vma, b: &Vma) -> Option<u64> {
        if anon_vma_compatible(a, b) && old.anon.is_some() && self.chain_is_singular(old) {
            return old.anon;
        }
        None
    }

    /// A fault at `addr`: no VMA there is `-EFAULT` (no stack expansion); a
    /// write needs VM_WRITE and a read any access bit (x86
    /// `access_error()`), else `-EACCES`. A write fault in a private VMA
    /// without an anon_vma runs `anon_vma_prepare()`.
    pub(crate) fn handle_fault(&mut self, addr: u64, write: bool) -> Result<(), VmaErrno> {
        let Some(vma) = self.vma_lookup(addr) else {
            return Err(VmaErrno::EFAULT);
        };
        if write && vma.flags & vm::VM_WRITE == 0 {
            return Err(VmaErrno::EACCES);
        }
        if !write && vma.flags & vm::VM_ACCESS_FLAGS == 0 {
            return Err(VmaErrno::EACCES);
        }
        if write && vma.flags & vm::VM_SHARED == 0 && vma.anon.is_none() {
            self.anon_vma_prepare(vma)?;
        }
        Ok(())
    }

    /// `__anon_vma_prepare()`: one allocation point (the chain entry comes
    /// first; the contract counts the whole function as one point), then
    /// reuse a neighbour's anon_vma or make a new root, and link the VMA.
    fn anon_vma_prepare(&mut self, vma: Vma) -> Result<(), VmaErrno> {
        self.alloc_point(Point::AnonVma)?;
        let reuse = self.find_mergeable_anon_vma(&vma);
        let anon = self.anon.anon_vma_prepare_link(vma.id, reuse);
        self.vmas.get_mut(&vma.start).expect("faulting VMA").anon = Some(anon);
        Ok(())
    }

    /// `find_mergeable_anon_vma()`: the next VMA's anon_vma if compatible,
    /// else the previous one's.
    fn find_mergeable_anon_vma(&self, vma: &Vma) -> Option<u64> {
        // vma_iter_load() at vm_end: only a VMA starting exactly there.
        if let Some(next) = self.vma_lookup(vma.end) {
            if let Some(a) = self.reusable_anon_vma(&next, vma, &next) {
                return Some(a);
            }
        }
        let prev = self.prev_of(vma.start)?;
        self.reusable_anon_vma(&prev, &prev, vma)
    }
}
