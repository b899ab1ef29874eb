// SPDX-License-Identifier: GPL-2.0-or-later
//! A naive oracle for the Linux 6.12 VMA layer (`mm/vma.c`, `mm/mmap.c`,
//! `mm/mprotect.c`, `mm/madvise.c`, `mm/mremap.c`, `mm/rmap.c`).
//!
//! The address space is a `BTreeMap` from `vm_start` to a plain [`Vma`]
//! record. Every operation follows the kernel's decisions step by step
//! (checks in the kernel's order, the exact merge cases of
//! `vma_merge_new_range()` / `vma_merge_existing_range()`, the splits of
//! `vma_modify()`, the munmap gather, the allocator's search) but without
//! any of the kernel's data structures: there is no maple tree here, only
//! "which VMAs exist and what they contain".
//!
//! Anonymous memory is tracked as the kernel does it, naively: every
//! `struct anon_vma` is a record (root, parent, `num_children`,
//! `num_active_vmas`, the set of VMAs chained to it) and every VMA has its
//! `anon_vma_chain` as a list in kernel order (module `anon`). Each path
//! that touches chains keeps them: `__anon_vma_prepare()` (a fault),
//! `anon_vma_clone()` (a split's new piece, `copy_vma()`, a merge's
//! `dup_anon_vma()`), `unlink_anon_vmas()` (munmap, a VMA deleted by a
//! merge, mremap's DONTUNMAP source, exit), and [`VmaOracle::fork`]
//! (`dup_mmap()` with `anon_vma_fork()`, then `exit_mmap()` of the side
//! that does not survive). Chains matter to merging
//! (`is_mergeable_anon_vma()` wants a singular chain) and to anon_vma
//! reuse (`reusable_anon_vma()`, `anon_vma_clone()`'s reuse rule);
//! [`VmaView::chain_len`] shows them, and [`VmaOracle::check_anon_vmas`]
//! recomputes every counter from the VMAs to check the bookkeeping.
//!
//! Allocation points (the contract's [`Point`]) are recorded in the order
//! the kernel passes them; [`VmaOracle::fail_at`] makes one of them fail
//! and the operation then unwinds as the kernel does at that point.
//!
//! Environment (the contract's): x86-64 without randomisation, one
//! unprivileged process, unlimited rlimits, overcommit heuristic (never
//! refuses), no THP, no mseal, no userfaultfd, no mempolicy, no anon names.
//! A fork keeps one of its two mms (see [`ForkKeep`]); the anon_vma
//! records are shared by both and outlive the one that exits.

mod anon;
mod brk;
mod defs;
mod fault;
mod fork;
mod merge;
mod mmap;
mod modify;
mod mremap;
mod mremap71;
mod munmap;
mod unmapped;

#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::fmt;

use anon::AnonRegistry;

pub use defs::{env, uapi, vm};

use env::{PAGE_SIZE, START_BRK};

/// The errors the VMA syscalls return (negated kernel errno values).
///
/// `EOPNOTSUPP` is not in the contract's list; `do_mmap()` returns it for a
/// `MAP_SHARED_VALIDATE` file mapping with a flag outside
/// `LEGACY_MAP_MASK` (for instance `MAP_FIXED_NOREPLACE` or `MAP_SYNC`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum VmaErrno {
    EINVAL,
    ENOMEM,
    EEXIST,
    EACCES,
    EFAULT,
    EAGAIN,
    EPERM,
    EOVERFLOW,
    EOPNOTSUPP,
    /// Any other number: `__get_unmapped_area()` returns a MAP_FIXED
    /// address of the last page but one as it is when it looks like an
    /// error code (`IS_ERR_VALUE`), so mmap fails with errno `-addr`.
    Raw(u16),
}

impl VmaErrno {
    /// Errno `n` by its x86-64 number: named if the contract names it.
    pub fn numbered(n: u16) -> VmaErrno {
        let named = [
            (1, VmaErrno::EPERM),
            (11, VmaErrno::EAGAIN),
            (12, VmaErrno::ENOMEM),
            (13, VmaErrno::EACCES),
            (14, VmaErrno::EFAULT),
            (17, VmaErrno::EEXIST),
            (22, VmaErrno::EINVAL),
            (75, VmaErrno::EOVERFLOW),
            (95, VmaErrno::EOPNOTSUPP),
        ];
        named
            .iter()
            .find(|(k, _)| *k == n)
            .map_or(VmaErrno::Raw(n), |(_, e)| *e)
    }
}

impl fmt::Display for VmaErrno {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            VmaErrno::Raw(n) => write!(f, "E{n}"),
            e => fmt::Debug::fmt(e, f),
        }
    }
}

impl std::error::Error for VmaErrno {}

/// Which kernel's rules the oracle answers by. 6.1 answers as 6.12 (that
/// profile only changes how the model drives its tree); 7.1 has the rules
/// that changed since 6.12 (its mremap rework, fork's anon_vma order, ...).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum VmaProfile {
    #[default]
    V6_12,
    V6_1,
    V7_1,
}

/// Construction parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct VmaOracleConfig {
    /// `sysctl_max_map_count`.
    pub max_map_count: u64,
    /// Whose rules (see [`VmaProfile`]).
    pub profile: VmaProfile,
}

impl Default for VmaOracleConfig {
    fn default() -> Self {
        VmaOracleConfig {
            max_map_count: 24,
            profile: VmaProfile::V6_12,
        }
    }
}

/// What a mapping is backed by. Files are 0..=3 (see the contract); the
/// `MAP_ANONYMOUS` bit in the flags is ignored, this decides.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Backing {
    Anon,
    File { file: u8, pgoff: u64 },
}

/// The places where the 6.12 code can fail an allocation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Point {
    /// `vm_area_alloc()` / `vm_area_dup()`.
    VmaAlloc,
    /// `vma_iter_prealloc()` / `mas_preallocate()`.
    Prealloc,
    /// `mas_store_gfp()` into the munmap side tree, `vma_iter_clear_gfp()`,
    /// `vma_iter_store_gfp()`.
    StoreGfp,
    /// `anon_vma_prepare()`, `anon_vma_clone()` / `dup_anon_vma()`, and
    /// in fork `anon_vma_fork()`'s own anon_vma.
    AnonVma,
    /// `__mt_dup()` in `dup_mmap()`.
    TreeDup,
}

/// Which side of a fork the object carries on as (see
/// [`VmaOracle::fork`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ForkKeep {
    /// The child exits at once; the object stays the parent.
    Parent,
    /// The parent exits; the object becomes the child.
    Child,
}

/// One VMA as the harness sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct VmaView {
    pub start: u64,
    pub end: u64,
    pub flags: u64,
    pub file: Option<u32>,
    pub pgoff: u64,
    pub anon: Option<u64>,
    /// Length of the VMA's `anon_vma_chain` (0 without an anon_vma).
    pub chain_len: u32,
}

/// The oracle's VMA record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Vma {
    /// The identity of the `struct vm_area_struct` (unique over every mm
    /// this object had): what the anon_vma chains refer to.
    pub id: u64,
    pub start: u64,
    pub end: u64,
    pub flags: u64,
    /// 0..=3 for the contract's files, 100.. for shmem files.
    pub file: Option<u32>,
    pub pgoff: u64,
    /// `vma->anon_vma`; the chain is in [`VmaOracle::anon`].
    pub anon: Option<u64>,
}

impl Vma {
    /// `vma_pages()`.
    pub fn pages(&self) -> u64 {
        (self.end - self.start) >> env::PAGE_SHIFT
    }

    /// File 3's vm_ops has `->close`; no other mapping here has one.
    pub fn has_close(&self) -> bool {
        self.file == Some(3)
    }

    /// `vma_is_anonymous()`: no vm_ops, i.e. private anonymous memory
    /// (shmem and files have vm_ops).
    pub fn is_anonymous(&self) -> bool {
        self.file.is_none()
    }

    /// `vm_start_gap()`: stacks keep `stack_guard_gap` free below them.
    pub fn start_gap(&self) -> u64 {
        if self.flags & vm::VM_STARTGAP_FLAGS == 0 {
            return self.start;
        }
        let s = self.start.wrapping_sub(env::STACK_GUARD_GAP);
        if s > self.start {
            0
        } else {
            s
        }
    }

    /// `vm_end_gap()`: no VM_GROWSUP on x86, so simply `vm_end`.
    pub fn end_gap(&self) -> u64 {
        self.end
    }
}

/// `PAGE_ALIGN()`, with C's unsigned wrap-around.
pub(crate) fn page_align(x: u64) -> u64 {
    x.wrapping_add(PAGE_SIZE - 1) & !(PAGE_SIZE - 1)
}

/// `offset_in_page()`.
pub(crate) fn offset_in_page(x: u64) -> u64 {
    x & (PAGE_SIZE - 1)
}

/// The naive VMA oracle. See the module documentation.
#[derive(Debug, Clone)]
pub struct VmaOracle {
    cfg: VmaOracleConfig,
    pub(crate) vmas: BTreeMap<u64, Vma>,
    brk: u64,
    start_brk: u64,
    next_shmem: u32,
    /// The next `vm_area_struct` identity.
    next_vma: u64,
    /// The anon_vma objects and chains (shared by a fork's two mms).
    pub(crate) anon: AnonRegistry,
    armed: Option<u32>,
    failing: Option<u32>,
    points: Vec<Point>,
}

impl VmaOracle {
    /// An empty address space with `brk == start_brk`.
    pub fn new(cfg: VmaOracleConfig) -> Self {
        VmaOracle {
            cfg,
            vmas: BTreeMap::new(),
            brk: START_BRK,
            start_brk: START_BRK,
            next_shmem: env::FIRST_SHMEM_FILE,
            next_vma: 1,
            anon: AnonRegistry::new(),
            armed: None,
            failing: None,
            points: Vec::new(),
        }
    }

    /// The configuration this oracle was built with.
    pub fn config(&self) -> VmaOracleConfig {
        self.cfg
    }

    // ---- the contract's operations -------------------------------------

    /// `mmap()` (`do_mmap()` + `mmap_region()`).
    pub fn mmap(
        &mut self,
        addr: u64,
        len: u64,
        prot: u32,
        flags: u32,
        backing: Backing,
    ) -> Result<u64, VmaErrno> {
        self.run_op(|o| o.do_mmap(addr, len, prot, flags, backing))
    }

    /// `munmap()` (`do_vmi_munmap()`).
    pub fn munmap(&mut self, addr: u64, len: u64) -> Result<(), VmaErrno> {
        self.run_op(|o| o.do_vmi_munmap(addr, len))
    }

    /// `mprotect()` (`do_mprotect_pkey()` with pkey -1).
    pub fn mprotect(&mut self, addr: u64, len: u64, prot: u32) -> Result<(), VmaErrno> {
        self.run_op(|o| o.do_mprotect_pkey(addr, len, prot))
    }

    /// `madvise()` for the VMA-flag advices (`do_madvise()`).
    pub fn madvise(&mut self, addr: u64, len: u64, advice: u32) -> Result<(), VmaErrno> {
        self.run_op(|o| o.do_madvise(addr, len, advice))
    }

    /// `brk()`: returns `mm->brk` afterwards.
    pub fn brk(&mut self, new: u64) -> u64 {
        self.run_op(|o| o.sys_brk(new))
    }

    /// `mremap()`.
    pub fn mremap(
        &mut self,
        addr: u64,
        old_len: u64,
        new_len: u64,
        flags: u32,
        new_addr: u64,
    ) -> Result<u64, VmaErrno> {
        self.run_op(|o| o.sys_mremap(addr, old_len, new_len, flags, new_addr))
    }

    /// A page fault at `addr` (no stack expansion).
    pub fn touch(&mut self, addr: u64, write: bool) -> Result<(), VmaErrno> {
        self.run_op(|o| o.handle_fault(addr, write))
    }

    /// Arm a failure: the `nth` (0-based) allocation point of the next
    /// operation fails. One failure only; disarmed after that operation.
    pub fn fail_at(&mut self, nth: u32) {
        self.armed = Some(nth);
    }

    /// The VMAs in address order.
    pub fn vmas(&self) -> Vec<VmaView> {
        self.vmas
            .values()
            .map(|v| VmaView {
                start: v.start,
                end: v.end,
                flags: v.flags,
                file: v.file,
                pgoff: v.pgoff,
                anon: v.anon,
                chain_len: self.anon.chain(v.id).len() as u32,
            })
            .collect()
    }

    /// `mm->brk`.
    pub fn brk_value(&self) -> u64 {
        self.brk
    }

    /// `mm->map_count`.
    pub fn map_count(&self) -> u64 {
        self.vmas.len() as u64
    }

    /// The allocation points the last operation passed through, in order
    /// (a failed point included).
    pub fn last_points(&self) -> Vec<Point> {
        self.points.clone()
    }

    // ---- allocation points ---------------------------------------------

    /// Run one operation: its points are counted from 0 and the armed
    /// failure (if any) applies to it only.
    fn run_op<T>(&mut self, op: impl FnOnce(&mut Self) -> T) -> T {
        self.points.clear();
        self.failing = self.armed.take();
        let r = op(self);
        self.failing = None;
        r
    }

    /// Pass an allocation point: record it, and fail it if it is the armed
    /// one.
    pub(crate) fn alloc_point(&mut self, p: Point) -> Result<(), VmaErrno> {
        let n = self.points.len();
        self.points.push(p);
        if self.failing.map(|f| f as usize) == Some(n) {
            Err(VmaErrno::ENOMEM)
        } else {
            Ok(())
        }
    }

    // ---- lookups (mm/mmap.c find_vma() and friends) ---------------------

    /// `mm->locked_vm` as it must be: the pages of the `VM_LOCKED` VMAs
    /// (the kernel keeps a counter; the oracle counts).
    pub fn locked_vm(&self) -> u64 {
        self.vmas
            .values()
            .filter(|v| v.flags & vm::VM_LOCKED != 0)
            .map(|v| v.pages())
            .sum()
    }

    /// `mm->map_count` as the kernel's `int`, for the limit comparisons.
    pub(crate) fn count(&self) -> i64 {
        self.vmas.len() as i64
    }

    /// `sysctl_max_map_count` as an `int`.
    pub(crate) fn max_count(&self) -> i64 {
        self.cfg.max_map_count.min(i64::MAX as u64) as i64
    }

    pub(crate) fn get(&self, key: u64) -> Vma {
        self.vmas[&key]
    }

    /// `vma_lookup()`: the VMA containing `addr`.
    pub(crate) fn vma_lookup(&self, addr: u64) -> Option<Vma> {
        self.vmas
            .range(..=addr)
            .next_back()
            .map(|(_, v)| *v)
            .filter(|v| v.end > addr)
    }

    /// `find_vma()`: the VMA containing `addr`, or the first one above.
    pub(crate) fn find_vma(&self, addr: u64) -> Option<Vma> {
        self.vma_lookup(addr)
            .or_else(|| self.vmas.range(addr..).next().map(|(_, v)| *v))
    }

    /// `find_vma_intersection()` / `vma_find()`: the first VMA meeting
    /// `[start, end)`.
    pub(crate) fn find_vma_intersection(&self, start: u64, end: u64) -> Option<Vma> {
        self.find_vma(start).filter(|v| v.start < end)
    }

    /// The VMA just below the one starting at `key` (any distance away).
    pub(crate) fn prev_of(&self, key: u64) -> Option<Vma> {
        self.vmas.range(..key).next_back().map(|(_, v)| *v)
    }

    /// The VMA just above the one starting at `key` (any distance away).
    pub(crate) fn next_of(&self, key: u64) -> Option<Vma> {
        self.vmas
            .range(key.saturating_add(1)..)
            .next()
            .map(|(_, v)| *v)
            .filter(|v| v.start > key)
    }

    /// The last VMA starting below `addr`.
    pub(crate) fn last_below(&self, addr: u64) -> Option<Vma> {
        self.vmas.range(..addr).next_back().map(|(_, v)| *v)
    }

    /// The first VMA starting at or above `addr`.
    pub(crate) fn first_from(&self, addr: u64) -> Option<Vma> {
        self.vmas.range(addr..).next().map(|(_, v)| *v)
    }

    /// Replace the VMA stored at `old_key` by `v` (which may start elsewhere).
    pub(crate) fn put(&mut self, old_key: u64, v: Vma) {
        self.vmas.remove(&old_key);
        self.insert(v);
    }

    /// Insert `v`; it must not overlap anything.
    pub(crate) fn insert(&mut self, v: Vma) {
        debug_assert!(v.start < v.end, "empty VMA {v:?}");
        debug_assert!(
            self.find_vma_intersection(v.start, v.end).is_none(),
            "overlap inserting {v:?}"
        );
        self.vmas.insert(v.start, v);
    }

    /// A fresh `vm_area_struct` identity (`vm_area_alloc()` /
    /// `vm_area_dup()`).
    pub(crate) fn new_vma_id(&mut self) -> u64 {
        let id = self.next_vma;
        self.next_vma += 1;
        id
    }

    /// A fresh shmem file (`shmem_zero_setup()`).
    pub(crate) fn new_shmem(&mut self) -> u32 {
        let id = self.next_shmem;
        self.next_shmem += 1;
        id
    }

    pub(crate) fn set_brk(&mut self, b: u64) {
        self.brk = b;
    }

    pub(crate) fn start_brk(&self) -> u64 {
        self.start_brk
    }
}
