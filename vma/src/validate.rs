// SPDX-License-Identifier: GPL-2.0-or-later
//! `validate_mm` (`mm/vma.c`, `CONFIG_DEBUG_VM_MAPLE_TREE`) and this
//! model's stricter checks.

use super::{Mm, PAGE, TASK_SIZE};
use std::collections::HashSet;

impl Mm {
    /// The kernel's `validate_mm` (the tree's full validation, each entry's
    /// range equal to its VMA's `[start, end - 1]`, the entry count equal
    /// to `map_count`) plus: each VMA page aligned with `start < end <=
    /// TASK_SIZE`, named by one entry only; the arena holding exactly
    /// `map_count` live VMAs (none leaked); `mm_mt`'s nodes all reachable
    /// or held, none held between operations; and no fault noticed during
    /// an operation (a side tree that leaked nodes, a store that failed
    /// where the kernel cannot fail); and the anon_vma hierarchy agreeing
    /// with the VMAs' chains (`validate_anon_vmas`).
    pub fn validate_mm(&self) -> Result<(), String> {
        if let Some(f) = self.faults.first() {
            return Err(f.clone());
        }
        self.mt
            .validate()
            .map_err(|e| format!("mt_validate: {e}"))?;
        let mut count = 0u64;
        let mut seen = HashSet::new();
        for (first, last, e) in self.mt.entries() {
            let Some(id) = self.id_of(e) else {
                return Err(format!(
                    "entry {e:#x} at {first:#x}-{last:#x} names no live VMA"
                ));
            };
            if !seen.insert(id) {
                return Err(format!(
                    "VMA {id} is in the tree twice ({first:#x}-{last:#x})"
                ));
            }
            let v = self.v(id);
            if v.start != first || v.end.wrapping_sub(1) != last {
                return Err(format!(
                    "tree range {first:#x}-{last:#x} holds VMA {:#x}-{:#x}",
                    v.start, v.end
                ));
            }
            if v.start % PAGE != 0 || v.end % PAGE != 0 || v.start >= v.end || v.end > TASK_SIZE {
                return Err(format!("bad VMA range {:#x}-{:#x}", v.start, v.end));
            }
            count += 1;
        }
        if count != self.map_count {
            return Err(format!(
                "map_count {} but the tree holds {count} VMAs",
                self.map_count
            ));
        }
        let live = self.live_vmas();
        if live != self.map_count {
            return Err(format!(
                "{live} vm_area_structs live for map_count {}",
                self.map_count
            ));
        }
        self.validate_anon_vmas()
            .map_err(|e| format!("anon_vma hierarchy: {e}"))?;
        let (alloc, reachable, held) = self.mt.node_accounting();
        if alloc != reachable + held || held != 0 {
            return Err(format!(
                "node accounting: {alloc} allocated, {reachable} reachable, {held} held"
            ));
        }
        Ok(())
    }
}
