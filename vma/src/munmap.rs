// SPDX-License-Identifier: GPL-2.0-or-later
//! munmap (`mm/vma.c`, Linux 6.12): the `vma_munmap_struct` state machine
//! (`vms_gather_munmap_vmas`, `vms_complete_munmap_vmas`,
//! `vms_abort_munmap_vmas`), `do_vmi_align_munmap` and `do_vmi_munmap`.
//!
//! Gathered VMAs stay in `mm_mt` and are also stored, indexed 0, 1, 2, ...,
//! in a detached side tree (a maple tree of its own, destroyed at the end).

use super::vmflags::{VM_ACCOUNT, VM_LOCKED};
use super::{offset_in_page, page_align, Errno, Mm, Point, VmaId, TASK_SIZE};
use maple_tree::{MaState, MapleTree};

/// `struct vma_munmap_struct` with its detached tree.
pub(crate) struct Vms {
    /// The first VMA of the range.
    pub(crate) vma: Option<VmaId>,
    pub(crate) start: u64,
    pub(crate) end: u64,
    pub(crate) prev: Option<VmaId>,
    pub(crate) next: Option<VmaId>,
    /// The gathered VMAs, in order (what the side tree holds).
    pub(crate) detached: Vec<VmaId>,
    /// `mt_detach`.
    side: MapleTree,
    pub(crate) nr_pages: u64,
    /// Pages of gathered `VM_LOCKED` VMAs (uncharged from `locked_vm`).
    pub(crate) locked_vm: u64,
    pub(crate) nr_accounted: u64,
    pub(crate) clear_ptes: bool,
}

impl Vms {
    /// `init_vma_munmap`.
    pub(crate) fn new(vma: Option<VmaId>, start: u64, end: u64) -> Vms {
        let (start, end) = if vma.is_some() { (start, end) } else { (0, 0) };
        Vms {
            vma,
            start,
            end,
            prev: None,
            next: None,
            detached: Vec::new(),
            side: MapleTree::new(),
            nr_pages: 0,
            locked_vm: 0,
            nr_accounted: 0,
            clear_ptes: false,
        }
    }
}

impl Mm {
    /// `__mt_destroy` of the side tree, checking it gave every node back.
    fn destroy_side(&mut self, vms: &mut Vms) {
        vms.side.destroy();
        let live = vms.side.nodes_live();
        if live != 0 {
            self.faults
                .push(format!("the detached tree leaked {live} node(s)"));
        }
    }

    /// `reattach_vmas`: the gathered VMAs were never taken out of `mm_mt`;
    /// only the side tree goes.
    pub(crate) fn reattach_vmas(&mut self, vms: &mut Vms) {
        vms.detached.clear();
        self.destroy_side(vms);
    }

    /// `vms_gather_munmap_vmas`: split the VMAs at the range's edges and
    /// collect those inside. On error the splits stay and nothing is
    /// detached.
    pub(crate) fn vms_gather_munmap_vmas(&mut self, vms: &mut Vms) -> Result<(), Errno> {
        let vma = vms.vma.expect("vms.vma");
        if vms.start > self.v(vma).start {
            // Only a split into three can push the count over the limit
            // for good; the edges may take it one above temporarily.
            if vms.end < self.v(vma).end && self.map_count >= self.cfg.max_map_count {
                return Err(Errno::ENOMEM);
            }
            self.__split_vma(vma, vms.start, true)?;
        }
        vms.prev = self.prev_vma(vms.start);
        let mut cur = vms.start;
        while let Some(n) = self.find_vma_intersection(cur, vms.end) {
            if self.v(n).end > vms.end {
                if let Err(e) = self.__split_vma(n, vms.end, false) {
                    self.reattach_vmas(vms);
                    return Err(e);
                }
            }
            let idx = vms.detached.len() as u64;
            if self.point(Point::StoreGfp) {
                self.reattach_vmas(vms);
                return Err(Errno::ENOMEM);
            }
            let mut mas = MaState::new(idx, idx);
            if mas.store(&mut vms.side, Some(Mm::entry(n))).is_err() {
                self.reattach_vmas(vms);
                return Err(Errno::ENOMEM);
            }
            vms.detached.push(n);
            let v = self.v(n);
            vms.nr_pages += v.pages();
            if v.flags & VM_LOCKED != 0 {
                vms.locked_vm += v.pages();
            }
            if v.flags & VM_ACCOUNT != 0 {
                vms.nr_accounted += v.pages();
            }
            cur = v.end;
        }
        vms.next = self.find_vma(vms.end);
        vms.clear_ptes = true;
        Ok(())
    }

    /// `vms_clear_ptes`: the page tables go; `free_pgtables` unlinks each
    /// gathered VMA from its anon_vmas, in address order.
    fn vms_clear_ptes(&mut self, vms: &mut Vms) {
        if !vms.clear_ptes {
            return;
        }
        for i in 0..vms.detached.len() {
            self.unlink_anon_vmas(vms.detached[i]);
        }
        vms.clear_ptes = false;
    }

    /// `vms_clean_up_area`: the page tables go and `->close` runs; from
    /// here an abort cannot put the old VMAs back.
    pub(crate) fn vms_clean_up_area(&mut self, vms: &mut Vms) {
        if vms.nr_pages == 0 {
            return;
        }
        self.vms_clear_ptes(vms);
    }

    /// `vms_complete_munmap_vmas`: the gathered VMAs, already out of
    /// `mm_mt` (erased or overwritten), are freed.
    pub(crate) fn vms_complete_munmap_vmas(&mut self, vms: &mut Vms) {
        self.map_count -= vms.detached.len() as u64;
        self.locked_vm -= vms.locked_vm;
        if vms.nr_pages != 0 {
            self.vms_clear_ptes(vms);
        }
        for id in std::mem::take(&mut vms.detached) {
            self.vm_area_free(id);
        }
        self.destroy_side(vms);
    }

    /// `vms_abort_munmap_vmas`: reattach if the page tables are still
    /// there, else leave a hole over the range and complete the munmap.
    pub(crate) fn vms_abort_munmap_vmas(&mut self, vms: &mut Vms) {
        if vms.nr_pages == 0 {
            self.destroy_side(vms);
            return;
        }
        if vms.clear_ptes {
            self.reattach_vmas(vms);
            return;
        }
        self.clear_nofail(vms.start, vms.end);
        self.vms_complete_munmap_vmas(vms);
    }

    /// `do_vmi_align_munmap`: unmap the page-aligned `[start, end)`, whose
    /// first VMA is `vma`.
    pub(crate) fn do_vmi_align_munmap(
        &mut self,
        vma: VmaId,
        start: u64,
        end: u64,
    ) -> Result<(), Errno> {
        let mut vms = Vms::new(Some(vma), start, end);
        self.vms_gather_munmap_vmas(&mut vms)?;
        if let Err(e) = self.vma_iter_clear_gfp(start, end) {
            self.reattach_vmas(&mut vms);
            return Err(e);
        }
        self.vms_complete_munmap_vmas(&mut vms);
        Ok(())
    }

    /// `do_vmi_munmap` (the munmap syscall's body): unmapping nothing
    /// succeeds.
    pub(crate) fn do_vmi_munmap(&mut self, start: u64, len: u64) -> Result<(), Errno> {
        if offset_in_page(start) || start > TASK_SIZE || len > TASK_SIZE - start {
            return Err(Errno::EINVAL);
        }
        let end = start + page_align(len);
        if end == start {
            return Err(Errno::EINVAL);
        }
        match self.find_vma_intersection(start, end) {
            None => Ok(()),
            Some(vma) => self.do_vmi_align_munmap(vma, start, end),
        }
    }
}
