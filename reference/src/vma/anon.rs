// SPDX-License-Identifier: GPL-2.0-or-later
//! The anon_vma hierarchy (mm/rmap.c): `struct anon_vma` objects with their
//! root, parent and counters, each VMA's `anon_vma_chain` in kernel list
//! order, and the functions that change them: `anon_vma_chain_assign()`,
//! `anon_vma_clone()`, `anon_vma_fork()`, `unlink_anon_vmas()` and the
//! creation half of `__anon_vma_prepare()`.
//!
//! Naive on purpose: the kernel's per-anon_vma interval tree (`rb_root`)
//! is a set of VMA ids here (only its emptiness and membership matter),
//! a chain is a `Vec` whose element 0 is the list head (the newest link,
//! since `list_add()` inserts at the head), and an anon_vma is never
//! freed: once its set is empty nothing can reach it again, so it just
//! stays in the registry as a dead record.
//!
//! VMA ids are the identity of a `struct vm_area_struct`; they are unique
//! across every mm this oracle ever had (parent and child of a fork
//! included), so the kernel's "(mm, vma)" is just the id.

use std::collections::{BTreeMap, BTreeSet};

use super::{Point, Vma, VmaErrno, VmaOracle};

/// One `struct anon_vma`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct AnonVma {
    /// `anon_vma->root`: itself for a root.
    pub root: u64,
    /// `anon_vma->parent`: itself for a root.
    pub parent: u64,
    /// `num_children`: live anon_vmas whose parent this is (a root counts
    /// its self-parent link).
    pub num_children: u64,
    /// `num_active_vmas`: VMAs whose `vma->anon_vma` is this.
    pub num_active_vmas: u64,
    /// The `rb_root` interval tree: the VMAs chained to this anon_vma.
    pub chained: BTreeSet<u64>,
}

/// Every anon_vma and every VMA's chain, shared by all mms of the object
/// (a fork's parent and child use the same objects).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct AnonRegistry {
    pub anon_vmas: BTreeMap<u64, AnonVma>,
    /// VMA id -> its chain, head first. Absent means an empty list.
    pub chains: BTreeMap<u64, Vec<u64>>,
    next_anon: u64,
}

impl AnonRegistry {
    pub fn new() -> Self {
        AnonRegistry {
            anon_vmas: BTreeMap::new(),
            chains: BTreeMap::new(),
            next_anon: 1,
        }
    }

    /// The chain of VMA `vma`, head first (empty when it has none).
    pub fn chain(&self, vma: u64) -> &[u64] {
        self.chains.get(&vma).map_or(&[], Vec::as_slice)
    }

    /// `anon_vma_alloc()`: a new root-shaped anon_vma with zero counters.
    fn anon_vma_alloc(&mut self) -> u64 {
        let id = self.next_anon;
        self.next_anon += 1;
        self.anon_vmas.insert(
            id,
            AnonVma {
                root: id,
                parent: id,
                num_children: 0,
                num_active_vmas: 0,
                chained: BTreeSet::new(),
            },
        );
        id
    }

    fn get_mut(&mut self, anon: u64) -> &mut AnonVma {
        self.anon_vmas.get_mut(&anon).expect("unknown anon_vma")
    }

    /// `anon_vma_chain_assign()` + `anon_vma_interval_tree_insert()`: link
    /// `vma` to `anon` at the head of its chain.
    fn anon_vma_chain_link(&mut self, vma: u64, anon: u64) {
        self.chains.entry(vma).or_default().insert(0, anon);
        let inserted = self.get_mut(anon).chained.insert(vma);
        debug_assert!(inserted, "vma {vma} chained twice to anon_vma {anon}");
    }

    /// The successful part of `__anon_vma_prepare()`: `vma` gets `reuse`
    /// (a neighbour's anon_vma) or a new root with its self-parent link.
    pub fn anon_vma_prepare_link(&mut self, vma: u64, reuse: Option<u64>) -> u64 {
        let anon = match reuse {
            Some(a) => a,
            None => {
                let a = self.anon_vma_alloc();
                self.get_mut(a).num_children += 1;
                a
            }
        };
        self.anon_vma_chain_link(vma, anon);
        self.get_mut(anon).num_active_vmas += 1;
        anon
    }

    /// The successful part of `anon_vma_clone(dst, src)`: walk `src`'s
    /// chain from its tail (the oldest link), linking `dst` to each
    /// anon_vma at the head of its own chain, so `dst` ends up with the
    /// same order. When `dst` has no anon_vma but `src` has (only
    /// `anon_vma_fork()` calls it that way), the first anon_vma met with
    /// fewer than two children and no active VMA becomes `dst`'s. Returns
    /// `dst`'s anon_vma afterwards, whose `num_active_vmas` went up.
    pub fn anon_vma_clone_link(
        &mut self,
        dst: u64,
        dst_anon: Option<u64>,
        src: u64,
        src_anon: Option<u64>,
    ) -> Option<u64> {
        let mut dst_anon = dst_anon;
        let src_chain = self.chain(src).to_vec();
        for &anon in src_chain.iter().rev() {
            self.anon_vma_chain_link(dst, anon);
            let a = &self.anon_vmas[&anon];
            if dst_anon.is_none()
                && src_anon.is_some()
                && a.num_children < 2
                && a.num_active_vmas == 0
            {
                dst_anon = Some(anon);
            }
        }
        if let Some(a) = dst_anon {
            self.get_mut(a).num_active_vmas += 1;
        }
        dst_anon
    }

    /// [`anon_vma_clone_link`](Self::anon_vma_clone_link) as Linux 7.1
    /// links: `src`'s chain walked from its head, each link added at the
    /// head of `dst`'s chain (so `dst`'s order is `src`'s reversed); then
    /// `dst`'s chain walked from its tail, and on `fork` (the only caller
    /// that reuses in 7.1) the first anon_vma met with at most one child
    /// and no active VMA becomes `dst`'s. Otherwise `dst`'s anon_vma (which
    /// is `src`'s) gains an active VMA.
    pub fn anon_vma_clone_link_7_1(
        &mut self,
        dst: u64,
        dst_anon: Option<u64>,
        src: u64,
        fork: bool,
    ) -> Option<u64> {
        let src_chain = self.chain(src).to_vec();
        for &anon in &src_chain {
            self.anon_vma_chain_link(dst, anon);
        }
        let mut dst_anon = dst_anon;
        if fork {
            let dst_chain = self.chain(dst).to_vec();
            dst_anon = dst_chain.iter().rev().copied().find(|a| {
                let a = &self.anon_vmas[a];
                a.num_active_vmas == 0 && a.num_children <= 1
            });
        }
        if let Some(a) = dst_anon {
            self.get_mut(a).num_active_vmas += 1;
        }
        dst_anon
    }

    /// The second half of `anon_vma_fork()`: a new anon_vma below
    /// `parent` (whose root it shares) becomes `vma`'s, at the head of its
    /// chain.
    pub fn anon_vma_fork_new(&mut self, vma: u64, parent: u64) -> u64 {
        let anon = self.anon_vma_alloc();
        let root = self.anon_vmas[&parent].root;
        {
            let a = self.get_mut(anon);
            a.num_active_vmas += 1;
            a.root = root;
            a.parent = parent;
        }
        self.anon_vma_chain_link(vma, anon);
        self.get_mut(parent).num_children += 1;
        anon
    }

    /// `unlink_anon_vmas()`: take `vma` off every anon_vma of its chain
    /// (head first); an anon_vma left without VMAs drops its parent's
    /// `num_children` (a root its own). Then `vma`'s own anon_vma loses an
    /// active VMA. The chain is gone afterwards.
    pub fn unlink_anon_vmas(&mut self, vma: u64, anon: Option<u64>) {
        let chain = self.chains.remove(&vma).unwrap_or_default();
        for a in chain {
            let av = self.get_mut(a);
            let removed = av.chained.remove(&vma);
            debug_assert!(removed, "vma {vma} not in anon_vma {a}'s tree");
            if av.chained.is_empty() {
                let parent = av.parent;
                let p = self.get_mut(parent);
                p.num_children = p
                    .num_children
                    .checked_sub(1)
                    .expect("num_children underflow");
            }
        }
        if let Some(a) = anon {
            let av = self.get_mut(a);
            av.num_active_vmas = av
                .num_active_vmas
                .checked_sub(1)
                .expect("num_active_vmas underflow");
        }
    }

    /// The anon_vmas some VMA still reaches (non-empty tree), in id order.
    pub fn live(&self) -> Vec<(u64, &AnonVma)> {
        self.anon_vmas
            .iter()
            .filter(|(_, a)| !a.chained.is_empty())
            .map(|(&id, a)| (id, a))
            .collect()
    }
}

impl VmaOracle {
    /// `list_is_singular(&vma->anon_vma_chain)`.
    pub(crate) fn chain_is_singular(&self, v: &Vma) -> bool {
        self.anon.chain(v.id).len() == 1
    }

    /// `anon_vma_clone(dst, src)` for the callers that want an exact copy
    /// (`__split_vma()`, `copy_vma()`, `dup_anon_vma()`): `dst` already
    /// carries `src`'s anon_vma. One allocation point when `src`'s chain
    /// is not empty (each link is an allocation; the contract counts the
    /// call once). A failure unlinks what was linked, which changes no
    /// counter since `src` stays chained to every one of them, so the
    /// oracle fails before linking anything.
    pub(crate) fn anon_vma_clone(&mut self, dst: &Vma, src: &Vma) -> Result<(), VmaErrno> {
        if self.anon.chain(src.id).is_empty() {
            return Ok(());
        }
        self.alloc_point(Point::AnonVma)?;
        let got = if self.cfg.profile == super::VmaProfile::V7_1 {
            self.anon
                .anon_vma_clone_link_7_1(dst.id, dst.anon, src.id, false)
        } else {
            self.anon
                .anon_vma_clone_link(dst.id, dst.anon, src.id, src.anon)
        };
        debug_assert_eq!(got, dst.anon, "exact clone changed the anon_vma");
        Ok(())
    }

    /// `unlink_anon_vmas(vma)` for a VMA of the current mm (or one about to
    /// leave it).
    pub(crate) fn unlink_anon_vmas(&mut self, v: &Vma) {
        self.anon.unlink_anon_vmas(v.id, v.anon);
    }

    /// Check the registry against the live mm: each counter equals what
    /// the VMAs imply and every chain agrees with the trees. `Err`
    /// describes the first mismatch. (The counters are kept step by step
    /// as the kernel does; this recomputes them from scratch.)
    pub fn check_anon_vmas(&self) -> Result<(), String> {
        let mut want_chained: BTreeMap<u64, BTreeSet<u64>> = BTreeMap::new();
        let mut want_active: BTreeMap<u64, u64> = BTreeMap::new();
        for v in self.vmas.values() {
            let chain = self.anon.chain(v.id);
            match v.anon {
                None if !chain.is_empty() => {
                    return Err(format!("VMA {v:?} has a chain {chain:?} but no anon_vma"));
                }
                Some(a) if !chain.contains(&a) => {
                    return Err(format!(
                        "VMA {v:?}: anon_vma {a} not in its chain {chain:?}"
                    ));
                }
                _ => {}
            }
            let mut seen = BTreeSet::new();
            for &a in chain {
                if !seen.insert(a) {
                    return Err(format!("VMA {v:?}: anon_vma {a} twice in {chain:?}"));
                }
                want_chained.entry(a).or_default().insert(v.id);
            }
            if let Some(a) = v.anon {
                *want_active.entry(a).or_default() += 1;
            }
        }
        let known: BTreeSet<u64> = self.vmas.values().map(|v| v.id).collect();
        if let Some(stale) = self.anon.chains.keys().find(|id| !known.contains(id)) {
            return Err(format!("chain of VMA id {stale}, which is not in the mm"));
        }
        let mut want_children: BTreeMap<u64, u64> = BTreeMap::new();
        for (id, a) in self.anon.live() {
            *want_children.entry(a.parent).or_default() += 1;
            let root = &self.anon.anon_vmas[&a.root];
            if root.root != a.root {
                return Err(format!("anon_vma {id}: root {} is not a root", a.root));
            }
            if self.anon.anon_vmas[&a.parent].root != a.root {
                return Err(format!("anon_vma {id}: parent in another hierarchy"));
            }
        }
        for (id, a) in &self.anon.anon_vmas {
            let chained = want_chained.remove(id).unwrap_or_default();
            if a.chained != chained {
                return Err(format!(
                    "anon_vma {id}: tree {:?}, chains say {chained:?}",
                    a.chained
                ));
            }
            if a.chained.is_empty() {
                continue; // dead: nothing can reach it
            }
            let active = want_active.get(id).copied().unwrap_or(0);
            if a.num_active_vmas != active {
                return Err(format!(
                    "anon_vma {id}: num_active_vmas {} but {active} VMAs use it",
                    a.num_active_vmas
                ));
            }
            let children = want_children.get(id).copied().unwrap_or(0);
            if a.num_children != children {
                return Err(format!(
                    "anon_vma {id}: num_children {} but {children} live children",
                    a.num_children
                ));
            }
        }
        if let Some((id, _)) = want_chained.into_iter().next() {
            return Err(format!("a chain names unknown anon_vma {id}"));
        }
        Ok(())
    }
}
