// SPDX-License-Identifier: GPL-2.0-or-later
//! Page faults as far as VMAs see them: the access check of the x86 fault
//! handler and `find_mergeable_anon_vma` (`mm/vma.c`); `anon_vma_prepare`
//! is in `anon`.

use super::vmflags::{VM_ACCESS_FLAGS, VM_SHARED, VM_WRITE};
use super::{Errno, Mm, VmaId};

impl Mm {
    /// A fault at `addr`: `EFAULT` with no VMA there (no stack expansion),
    /// `EACCES` when the VMA does not allow the access; a write fault on a
    /// private VMA runs `anon_vma_prepare`.
    pub(crate) fn handle_fault(&mut self, addr: u64, write: bool) -> Result<(), Errno> {
        let Some(vma) = self.vma_lookup(addr) else {
            return Err(Errno::EFAULT);
        };
        let flags = self.v(vma).flags;
        if write {
            if flags & VM_WRITE == 0 {
                return Err(Errno::EACCES);
            }
        } else if flags & VM_ACCESS_FLAGS == 0 {
            return Err(Errno::EACCES);
        }
        if write && flags & VM_SHARED == 0 {
            self.anon_vma_prepare(vma)?;
        }
        Ok(())
    }

    /// `anon_vma_compatible`: `a` directly below `b`, same file, flags
    /// equal but for the access bits, linear pgoff.
    fn anon_vma_compatible(&self, a: VmaId, b: VmaId) -> bool {
        let (a, b) = (self.v(a), self.v(b));
        a.end == b.start
            && a.file == b.file
            && (a.flags ^ b.flags) & !VM_ACCESS_FLAGS == 0
            && b.pgoff == a.pgoff.wrapping_add((b.start - a.start) >> 12)
    }

    /// `reusable_anon_vma`: `old`'s anon_vma if `a` and `b` are
    /// compatible and `old`'s chain is singular (a VMA inherited through
    /// fork has its ancestors' anon_vmas in its chain too).
    fn reusable_anon_vma(&self, old: VmaId, a: VmaId, b: VmaId) -> Option<u64> {
        if self.anon_vma_compatible(a, b) && self.chain_is_singular(old) {
            return self.v(old).anon;
        }
        None
    }

    /// `find_mergeable_anon_vma`: next first, then prev.
    pub(crate) fn find_mergeable_anon_vma(&self, vma: VmaId) -> Option<u64> {
        if let Some(next) = self.vma_lookup(self.v(vma).end) {
            if let Some(a) = self.reusable_anon_vma(next, vma, next) {
                return Some(a);
            }
        }
        let prev = self.prev_of(vma)?;
        self.reusable_anon_vma(prev, prev, vma)
    }
}
