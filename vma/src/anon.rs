// SPDX-License-Identifier: GPL-2.0-or-later
//! The anon_vma hierarchy (`mm/rmap.c`): anon_vma objects with their root,
//! parent and counters, the VMAs chained to each (the kernel's interval
//! tree, of which only emptiness and membership matter here), and each
//! VMA's `anon_vma_chain` in the kernel's list order (newest first:
//! `anon_vma_chain_assign` adds at the head).
//!
//! The registry is shared by every mm that exists at once (a parent and
//! its child during `fork`), so a chained VMA is named by its mm and its
//! arena index. anon_vmas are freed when the last VMA leaves them
//! (`unlink_anon_vmas`); their identities are never reused.
//!
//! Allocation points: `__anon_vma_prepare` and `anon_vma_clone` (when the
//! source chain is not empty) are one [`Point::AnonVma`] each.

use super::{Errno, Mm, Point, VmaId};
use std::collections::{BTreeMap, BTreeSet};

/// `struct anon_vma`, without the lock and refcount.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct AnonVma {
    pub(crate) root: u64,
    pub(crate) parent: u64,
    /// Children (anon_vmas whose parent this is) with VMAs; a root counts
    /// itself.
    pub(crate) num_children: u64,
    /// VMAs whose `anon_vma` this is.
    pub(crate) num_active_vmas: u64,
    /// `rb_root`: the VMAs whose chain holds this anon_vma, as (mm, VMA).
    pub(crate) rb: BTreeSet<(u64, VmaId)>,
}

/// Every live anon_vma, by identity.
#[derive(Clone, Debug, Default)]
pub(crate) struct AnonVmas {
    pub(crate) map: BTreeMap<u64, AnonVma>,
    /// The next identity handed out.
    pub(crate) next: u64,
    /// The next mm identity handed out (mms name chained VMAs).
    pub(crate) next_mm: u64,
}

impl AnonVmas {
    /// `anon_vma_alloc`: a new anon_vma that is its own root and parent.
    pub(crate) fn anon_vma_alloc(&mut self) -> u64 {
        self.next += 1;
        let a = self.next;
        self.map.insert(
            a,
            AnonVma {
                root: a,
                parent: a,
                num_children: 0,
                num_active_vmas: 0,
                rb: BTreeSet::new(),
            },
        );
        a
    }

    pub(crate) fn get(&self, a: u64) -> &AnonVma {
        self.map.get(&a).expect("live anon_vma")
    }

    pub(crate) fn get_mut(&mut self, a: u64) -> &mut AnonVma {
        self.map.get_mut(&a).expect("live anon_vma")
    }
}

impl Mm {
    /// `anon_vma_chain_assign` plus the interval tree insert: `a` goes at
    /// the head of `vma`'s chain.
    fn anon_vma_chain_link(&mut self, vma: VmaId, a: u64) {
        let key = (self.mm_id, vma);
        self.vm(vma).chain.insert(0, a);
        self.anon.get_mut(a).rb.insert(key);
    }

    /// `__anon_vma_prepare`: the VMA gets a neighbour's anon_vma if
    /// `find_mergeable_anon_vma` finds one, else a new root (its own
    /// parent, one child: itself). One allocation point (the chain link
    /// is allocated first).
    pub(crate) fn anon_vma_prepare(&mut self, vma: VmaId) -> Result<(), Errno> {
        if self.v(vma).anon.is_some() {
            return Ok(());
        }
        if self.point(Point::AnonVma) {
            return Err(Errno::ENOMEM);
        }
        let a = match self.find_mergeable_anon_vma(vma) {
            Some(a) => a,
            None => {
                let a = self.anon.anon_vma_alloc();
                self.anon.get_mut(a).num_children += 1;
                a
            }
        };
        self.vm(vma).anon = Some(a);
        self.anon_vma_chain_link(vma, a);
        self.anon.get_mut(a).num_active_vmas += 1;
        Ok(())
    }

    /// `anon_vma_clone`: chain `dst` to every anon_vma of the source chain
    /// `src_chain` (walked from its tail, so `dst`'s chain ends up in the
    /// same order). When `dst` has no anon_vma but the source has one
    /// (`anon_vma_fork`), the first anon_vma met with fewer than two
    /// children and no VMA of its own is reused as `dst`'s. `dst`'s
    /// anon_vma then counts one more VMA.
    ///
    /// One allocation point when the source chain is not empty; on
    /// failure `dst` has no anon_vma and an empty chain (what the kernel's
    /// unwinding leaves, wherever in the walk it fails).
    pub(crate) fn anon_vma_clone(
        &mut self,
        dst: VmaId,
        src_anon: Option<u64>,
        src_chain: &[u64],
    ) -> Result<(), Errno> {
        if src_chain.is_empty() {
            if let Some(a) = self.v(dst).anon {
                self.anon.get_mut(a).num_active_vmas += 1;
            }
            return Ok(());
        }
        if self.point(Point::AnonVma) {
            self.vm(dst).anon = None;
            self.unlink_anon_vmas(dst);
            return Err(Errno::ENOMEM);
        }
        if self.cfg.profile.v7() {
            self.anon_vma_clone_links_v7_1(dst, src_anon, src_chain);
            return Ok(());
        }
        for &a in src_chain.iter().rev() {
            self.anon_vma_chain_link(dst, a);
            let o = self.anon.get(a);
            if self.v(dst).anon.is_none()
                && src_anon.is_some()
                && o.num_children < 2
                && o.num_active_vmas == 0
            {
                self.vm(dst).anon = Some(a);
            }
        }
        if let Some(a) = self.v(dst).anon {
            self.anon.get_mut(a).num_active_vmas += 1;
        }
        Ok(())
    }

    /// Linux 7.1's linking half of `anon_vma_clone`: the links are made in
    /// the source chain's order, each at the head of `dst`'s (so `dst`'s
    /// chain is the source's reversed), then walked from `dst`'s tail; a
    /// fork (`dst` without an anon_vma, 7.1's only reusing caller) reuses
    /// the first anon_vma met with at most one child and no active VMA.
    fn anon_vma_clone_links_v7_1(&mut self, dst: VmaId, src_anon: Option<u64>, src_chain: &[u64]) {
        for &a in src_chain {
            self.anon_vma_chain_link(dst, a);
        }
        let fork = self.v(dst).anon.is_none() && src_anon.is_some();
        if fork {
            let reuse = self.v(dst).chain.iter().rev().copied().find(|&a| {
                let o = self.anon.get(a);
                o.num_active_vmas == 0 && o.num_children <= 1
            });
            self.vm(dst).anon = reuse;
        }
        if let Some(a) = self.v(dst).anon {
            self.anon.get_mut(a).num_active_vmas += 1;
        }
    }

    /// `anon_vma_fork`: chain the child's VMA `vma` to the parent VMA's
    /// anon_vmas (`anon_vma_clone`, reusing one if it can), else give it a
    /// new anon_vma below the parent VMA's (root: that one's root). Two
    /// allocation points at most: the clone, then the new anon_vma with
    /// its chain link (7.1: always both, the new anon_vma first). On
    /// failure the child VMA's chain is unlinked.
    pub(crate) fn anon_vma_fork(
        &mut self,
        vma: VmaId,
        pvma_anon: Option<u64>,
        pvma_chain: &[u64],
    ) -> Result<(), Errno> {
        let Some(pa) = pvma_anon else {
            return Ok(());
        };
        self.vm(vma).anon = None;
        // Linux 7.1 allocates the child's own anon_vma (and its link)
        // before the clone, and drops it if the clone reuses one.
        if self.cfg.profile.v7() && self.point(Point::AnonVma) {
            return Err(Errno::ENOMEM);
        }
        self.anon_vma_clone(vma, pvma_anon, pvma_chain)?;
        if self.v(vma).anon.is_some() {
            return Ok(());
        }
        if !self.cfg.profile.v7() && self.point(Point::AnonVma) {
            self.unlink_anon_vmas(vma);
            return Err(Errno::ENOMEM);
        }
        let a = self.anon.anon_vma_alloc();
        let root = self.anon.get(pa).root;
        {
            let o = self.anon.get_mut(a);
            o.num_active_vmas += 1;
            o.root = root;
            o.parent = pa;
        }
        self.vm(vma).anon = Some(a);
        self.anon_vma_chain_link(vma, a);
        self.anon.get_mut(pa).num_children += 1;
        Ok(())
    }

    /// `unlink_anon_vmas`: take the VMA out of every anon_vma of its chain;
    /// an anon_vma left with no VMA stops counting as its parent's child
    /// and is freed. The VMA's anon_vma counts one VMA less and is dropped.
    pub(crate) fn unlink_anon_vmas(&mut self, vma: VmaId) {
        let key = (self.mm_id, vma);
        let chain = std::mem::take(&mut self.vm(vma).chain);
        let mut empty = Vec::new();
        for &a in &chain {
            let Some(o) = self.anon.map.get_mut(&a) else {
                self.faults.push(format!(
                    "VMA {vma} is chained to anon_vma {a}, which is freed"
                ));
                continue;
            };
            if !o.rb.remove(&key) {
                self.faults.push(format!(
                    "VMA {vma} has anon_vma {a} in its chain but is not in its tree"
                ));
            }
            if o.rb.is_empty() {
                let p = o.parent;
                match self.anon.map.get_mut(&p) {
                    Some(po) if po.num_children > 0 => po.num_children -= 1,
                    _ => self.faults.push(format!(
                        "anon_vma {a} emptied: its parent {p} is freed or has no children"
                    )),
                }
                empty.push(a);
            }
        }
        if let Some(a) = self.vm(vma).anon.take() {
            match self.anon.map.get_mut(&a) {
                Some(o) if o.num_active_vmas > 0 => o.num_active_vmas -= 1,
                _ => self.faults.push(format!(
                    "VMA {vma}'s anon_vma {a} is freed or counts no active VMA"
                )),
            }
        }
        for a in empty {
            let o = self.anon.map.remove(&a).expect("emptied anon_vma");
            // The kernel's VM_WARN_ONs before put_anon_vma.
            if o.num_children != 0 || o.num_active_vmas != 0 {
                self.faults.push(format!(
                    "anon_vma {a} freed with {} children and {} active VMAs",
                    o.num_children, o.num_active_vmas
                ));
            }
        }
    }

    /// `list_is_singular(&vma->anon_vma_chain)`.
    pub(crate) fn chain_is_singular(&self, vma: VmaId) -> bool {
        self.v(vma).chain.len() == 1
    }

    /// The anon_vma bookkeeping against this mm's VMAs (the only mm left
    /// between operations): every live anon_vma has VMAs, exactly those
    /// whose chains hold it; it counts as active VMAs those whose anon_vma
    /// it is and as children the live anon_vmas naming it as parent; a
    /// VMA's anon_vma is in its chain, and its chain has no repeats and is
    /// empty exactly when it has no anon_vma.
    pub(crate) fn validate_anon_vmas(&self) -> Result<(), String> {
        let mut rb: BTreeMap<u64, BTreeSet<(u64, VmaId)>> = BTreeMap::new();
        let mut active: BTreeMap<u64, u64> = BTreeMap::new();
        for (id, v) in self.arena.iter().enumerate() {
            let Some(v) = v else { continue };
            if v.anon.is_some() == v.chain.is_empty() {
                return Err(format!(
                    "VMA {:#x}-{:#x}: anon_vma {:?} with a chain of {}",
                    v.start,
                    v.end,
                    v.anon,
                    v.chain.len()
                ));
            }
            let distinct: BTreeSet<_> = v.chain.iter().collect();
            if distinct.len() != v.chain.len() {
                return Err(format!(
                    "VMA {:#x}-{:#x}: chain {:?} repeats an anon_vma",
                    v.start, v.end, v.chain
                ));
            }
            if let Some(a) = v.anon {
                if !v.chain.contains(&a) {
                    return Err(format!(
                        "VMA {:#x}-{:#x}: anon_vma {a} is not in its chain {:?}",
                        v.start, v.end, v.chain
                    ));
                }
                *active.entry(a).or_default() += 1;
            }
            for &a in &v.chain {
                rb.entry(a).or_default().insert((self.mm_id, id));
            }
        }
        let mut children: BTreeMap<u64, u64> = BTreeMap::new();
        for o in self.anon.map.values() {
            *children.entry(o.parent).or_default() += 1;
        }
        for (&a, o) in &self.anon.map {
            let want_rb = rb.remove(&a).unwrap_or_default();
            if o.rb.is_empty() {
                return Err(format!("anon_vma {a} is live with no VMA (leaked)"));
            }
            if o.rb != want_rb {
                return Err(format!(
                    "anon_vma {a}: chained VMAs {:?}, expected {want_rb:?}",
                    o.rb
                ));
            }
            let want_active = active.get(&a).copied().unwrap_or(0);
            if o.num_active_vmas != want_active {
                return Err(format!(
                    "anon_vma {a}: num_active_vmas {}, expected {want_active}",
                    o.num_active_vmas
                ));
            }
            let want_children = children.get(&a).copied().unwrap_or(0);
            if o.num_children != want_children {
                return Err(format!(
                    "anon_vma {a}: num_children {}, expected {want_children}",
                    o.num_children
                ));
            }
            if !self.anon.map.contains_key(&o.root) || !self.anon.map.contains_key(&o.parent) {
                return Err(format!(
                    "anon_vma {a}: root {} or parent {} is freed",
                    o.root, o.parent
                ));
            }
        }
        if let Some((a, _)) = rb.into_iter().next() {
            return Err(format!("a VMA is chained to anon_vma {a}, which is freed"));
        }
        Ok(())
    }
}
