// SPDX-License-Identifier: GPL-2.0-or-later
//! The Linux 6.12 VMA layer (`mm/vma.c`, `mm/mmap.c`, `mm/mprotect.c`,
//! `mm/mremap.c`, `mm/madvise.c`, the anon_vma code of `mm/rmap.c`, and
//! `dup_mmap` / `exit_mmap` for fork) on the maple tree port.
//!
//! An [`Mm`] is one address space: an `mm_mt` ([`MapleTree`] with
//! [`MM_MT_FLAGS`]: `MT_FLAGS_ALLOC_RANGE | MT_FLAGS_USE_RCU`) mapping each VMA's `[start, end - 1]` to a handle
//! (the odd word `2 * id + 1`) into an arena of VMAs. Every change to the
//! tree goes through the calls the kernel makes (`mas_preallocate` then
//! `mas_store_prealloc`, `mas_store_gfp`, ...), so a program of syscalls
//! drives the tree exactly as the kernel's VMA code drives `lib/maple_tree.c`.
//!
//! The syscalls follow the VMA contract the harness compares (docs/vma.md):
//! raw syscall arguments in, the kernel's
//! result out; [`Mm::vmas`] gives the VMAs in address order; [`Mm::fail_at`]
//! makes the n-th allocation point ([`Point`]) of the next operation fail, and
//! the operation then unwinds as 6.12 does.
//!
//! The contract's environment has no mseal, MDWE, userfaultfd, mempolicy,
//! anon names or mlock; it has fork since the fork addendum:
//! [`Mm::fork`] runs `dup_mmap` (the child's tree built by `__mt_dup`,
//! [`MapleTree::dup_into`]) and `exit_mmap` of whichever mm does not stay
//! ([`ForkKeep`]). anon_vmas are objects (root, parent, `num_children`,
//! `num_active_vmas`, the VMAs chained to each) shared by the mms that
//! coexist, and each VMA has its `anon_vma_chain` in the kernel's list
//! order; [`VmaView::chain`] shows its length. Without fork every chain
//! is empty or singular and the results are those of the chain-less model.
//!
//! Module layout, one job per file: [`iter`](self) (the `vma_iter_*` layer
//! and lookups), `merge`, `split`, `munmap`, `mmap` (with
//! `get_unmapped_area`), `modify` (mprotect, madvise), `mremap`, `brk`,
//! `fault` (touch, `find_mergeable_anon_vma`), `anon` (the anon_vma
//! hierarchy: `anon_vma_prepare`, `anon_vma_clone`, `anon_vma_fork`,
//! `unlink_anon_vmas`), `fork` (`dup_mmap`, `exit_mmap`), `validate`
//! (`validate_mm`).

mod anon;
mod brk;
mod fault;
mod fork;
mod iter;
mod merge;
mod mmap;
mod modify;
mod mremap;
mod mremap71;
mod munmap;
mod split;
mod validate;

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_faults;
#[cfg(test)]
mod tests_fork;
#[cfg(test)]
mod tests_merge;

use maple_tree::{MapleTree, MT_FLAGS_ALLOC_RANGE, MT_FLAGS_USE_RCU};

/// Page size.
pub const PAGE: u64 = 4096;
/// `TASK_SIZE` (x86-64, 4-level paging): `2^47 - PAGE`.
pub const TASK_SIZE: u64 = 0x7fff_ffff_f000;
/// `mmap_min_addr`.
pub const MMAP_MIN_ADDR: u64 = 0x10000;
/// `mm->mmap_base`: fixed, no randomisation.
pub const MMAP_BASE: u64 = 0x7f00_0000_0000;
/// `TASK_UNMAPPED_BASE`: the page-aligned third of `TASK_SIZE`.
pub const TASK_UNMAPPED_BASE: u64 = (TASK_SIZE / 3) & !(PAGE - 1);
/// `stack_guard_gap`: 256 pages.
pub const STACK_GUARD_GAP: u64 = 256 * PAGE;
/// `mm->start_brk` (and the initial `mm->brk`).
pub const START_BRK: u64 = 0x5555_5600_0000;
/// File ids the shmem files of anonymous shared mappings get, in order.
pub const SHMEM_FILE_BASE: u32 = 100;
/// `MM_MT_FLAGS`: an allocation tree in RCU mode (the lock flag has no
/// meaning here).
pub const MM_MT_FLAGS: u32 = MT_FLAGS_ALLOC_RANGE | MT_FLAGS_USE_RCU;
/// `MAX_LFS_FILESIZE` on 64-bit.
const MAX_LFS_FILESIZE: u64 = i64::MAX as u64;

/// The uapi constants the syscalls take.
pub mod uapi {
    pub const PROT_READ: u32 = 0x1;
    pub const PROT_WRITE: u32 = 0x2;
    pub const PROT_EXEC: u32 = 0x4;
    pub const PROT_SEM: u32 = 0x8;
    pub const PROT_GROWSDOWN: u32 = 0x0100_0000;
    pub const PROT_GROWSUP: u32 = 0x0200_0000;

    pub const MAP_SHARED: u32 = 0x01;
    pub const MAP_PRIVATE: u32 = 0x02;
    pub const MAP_SHARED_VALIDATE: u32 = 0x03;
    pub const MAP_DROPPABLE: u32 = 0x08;
    pub const MAP_TYPE: u32 = 0x0f;
    pub const MAP_FIXED: u32 = 0x10;
    pub const MAP_ANONYMOUS: u32 = 0x20;
    pub const MAP_GROWSDOWN: u32 = 0x100;
    pub const MAP_DENYWRITE: u32 = 0x800;
    pub const MAP_EXECUTABLE: u32 = 0x1000;
    pub const MAP_LOCKED: u32 = 0x2000;
    pub const MAP_NORESERVE: u32 = 0x4000;
    pub const MAP_POPULATE: u32 = 0x8000;
    pub const MAP_NONBLOCK: u32 = 0x10000;
    pub const MAP_STACK: u32 = 0x20000;
    pub const MAP_HUGETLB: u32 = 0x40000;
    pub const MAP_SYNC: u32 = 0x80000;
    pub const MAP_FIXED_NOREPLACE: u32 = 0x100000;
    pub const MAP_UNINITIALIZED: u32 = 0x400_0000;
    /// x86 `MAP_32BIT`.
    pub const MAP_32BIT: u32 = 0x40;
    /// x86 `MAP_ABOVE4G`.
    pub const MAP_ABOVE4G: u32 = 0x80;
    /// `MAP_HUGE_2MB` and `MAP_HUGE_1GB` (size encodings).
    pub const MAP_HUGE_2MB: u32 = 21 << 26;
    pub const MAP_HUGE_1GB: u32 = 30 << 26;
    /// `LEGACY_MAP_MASK`: what `MAP_SHARED_VALIDATE` accepts for a file
    /// without `FOP_MMAP_SYNC`.
    pub const LEGACY_MAP_MASK: u32 = MAP_SHARED
        | MAP_PRIVATE
        | MAP_FIXED
        | MAP_ANONYMOUS
        | MAP_DENYWRITE
        | MAP_EXECUTABLE
        | MAP_UNINITIALIZED
        | MAP_GROWSDOWN
        | MAP_LOCKED
        | MAP_NORESERVE
        | MAP_POPULATE
        | MAP_NONBLOCK
        | MAP_STACK
        | MAP_HUGETLB
        | MAP_32BIT
        | MAP_ABOVE4G
        | MAP_HUGE_2MB
        | MAP_HUGE_1GB;

    pub const MADV_NORMAL: u32 = 0;
    pub const MADV_RANDOM: u32 = 1;
    pub const MADV_SEQUENTIAL: u32 = 2;
    pub const MADV_DONTFORK: u32 = 10;
    pub const MADV_DOFORK: u32 = 11;
    pub const MADV_DONTDUMP: u32 = 16;
    pub const MADV_DODUMP: u32 = 17;
    pub const MADV_WIPEONFORK: u32 = 18;
    pub const MADV_KEEPONFORK: u32 = 19;

    pub const MREMAP_MAYMOVE: u32 = 1;
    pub const MREMAP_FIXED: u32 = 2;
    pub const MREMAP_DONTUNMAP: u32 = 4;
}

/// The `VM_*` flag bits of `include/linux/mm.h` (x86-64).
pub mod vmflags {
    pub const VM_READ: u64 = 0x1;
    pub const VM_WRITE: u64 = 0x2;
    pub const VM_EXEC: u64 = 0x4;
    pub const VM_SHARED: u64 = 0x8;
    pub const VM_MAYREAD: u64 = 0x10;
    pub const VM_MAYWRITE: u64 = 0x20;
    pub const VM_MAYEXEC: u64 = 0x40;
    pub const VM_MAYSHARE: u64 = 0x80;
    pub const VM_GROWSDOWN: u64 = 0x100;
    pub const VM_PFNMAP: u64 = 0x400;
    pub const VM_LOCKED: u64 = 0x2000;
    pub const VM_IO: u64 = 0x4000;
    pub const VM_SEQ_READ: u64 = 0x8000;
    pub const VM_RAND_READ: u64 = 0x10000;
    pub const VM_DONTCOPY: u64 = 0x20000;
    pub const VM_DONTEXPAND: u64 = 0x40000;
    pub const VM_LOCKONFAULT: u64 = 0x80000;
    pub const VM_ACCOUNT: u64 = 0x100000;
    pub const VM_NORESERVE: u64 = 0x200000;
    pub const VM_HUGETLB: u64 = 0x400000;
    pub const VM_SYNC: u64 = 0x800000;
    pub const VM_WIPEONFORK: u64 = 0x2000000;
    pub const VM_DONTDUMP: u64 = 0x4000000;
    pub const VM_MIXEDMAP: u64 = 0x10000000;
    pub const VM_DROPPABLE: u64 = 1 << 40;
    /// `VM_ACCESS_FLAGS`.
    pub const VM_ACCESS_FLAGS: u64 = VM_READ | VM_WRITE | VM_EXEC;
    /// `VM_SPECIAL`: never merged.
    pub const VM_SPECIAL: u64 = VM_IO | VM_DONTEXPAND | VM_PFNMAP | VM_MIXEDMAP;
    /// `VM_DATA_DEFAULT_FLAGS` on x86-64 without READ_IMPLIES_EXEC.
    pub const VM_DATA_DEFAULT_FLAGS: u64 =
        VM_READ | VM_WRITE | VM_MAYREAD | VM_MAYWRITE | VM_MAYEXEC;
    /// `VM_STACK` on x86.
    pub const VM_STACK: u64 = VM_GROWSDOWN;

    /// The names of the bits, in printing order.
    pub const NAMES: &[(u64, &str)] = &[
        (VM_READ, "read"),
        (VM_WRITE, "write"),
        (VM_EXEC, "exec"),
        (VM_SHARED, "shared"),
        (VM_MAYREAD, "mayread"),
        (VM_MAYWRITE, "maywrite"),
        (VM_MAYEXEC, "mayexec"),
        (VM_MAYSHARE, "mayshare"),
        (VM_GROWSDOWN, "growsdown"),
        (VM_LOCKED, "locked"),
        (VM_SEQ_READ, "seq_read"),
        (VM_RAND_READ, "rand_read"),
        (VM_DONTCOPY, "dontcopy"),
        (VM_DONTEXPAND, "dontexpand"),
        (VM_ACCOUNT, "account"),
        (VM_NORESERVE, "noreserve"),
        (VM_WIPEONFORK, "wipeonfork"),
        (VM_DONTDUMP, "dontdump"),
    ];

    /// `read|write|...` for a flag word; unnamed bits in hex.
    pub fn format(flags: u64) -> String {
        let mut rest = flags;
        let mut parts = Vec::new();
        for &(bit, name) in NAMES {
            if flags & bit != 0 {
                parts.push(name.to_string());
                rest &= !bit;
            }
        }
        if rest != 0 {
            parts.push(format!("{rest:#x}"));
        }
        if parts.is_empty() {
            "none".to_string()
        } else {
            parts.join("|")
        }
    }
}

use vmflags::*;

/// Syscall errors.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Errno {
    EINVAL,
    ENOMEM,
    EEXIST,
    EACCES,
    EFAULT,
    EAGAIN,
    EPERM,
    EOVERFLOW,
    /// `MAP_SHARED_VALIDATE` with a flag the file does not support (not in
    /// the contract's list; generators do not produce it).
    EOPNOTSUPP,
    /// Any other number: `__get_unmapped_area()` hands back a MAP_FIXED
    /// address in the last 4095 bytes of the address space unchanged,
    /// because it looks like an error code (`IS_ERR_VALUE`), and mmap
    /// fails with errno `-addr` (found by the kernel VMA engine).
    Raw(u16),
}

impl Errno {
    /// The errno numbered `n` (Linux x86-64 numbers): a named one of the
    /// contract's, else [`Errno::Raw`].
    pub fn from_number(n: u16) -> Errno {
        match n {
            22 => Errno::EINVAL,
            12 => Errno::ENOMEM,
            17 => Errno::EEXIST,
            13 => Errno::EACCES,
            14 => Errno::EFAULT,
            11 => Errno::EAGAIN,
            1 => Errno::EPERM,
            75 => Errno::EOVERFLOW,
            95 => Errno::EOPNOTSUPP,
            n => Errno::Raw(n),
        }
    }
}

impl std::fmt::Display for Errno {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Errno::Raw(n) => write!(f, "E{n}"),
            e => std::fmt::Debug::fmt(e, f),
        }
    }
}

/// What a mapping maps.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Backing {
    /// Anonymous memory (`MAP_ANONYMOUS`; the bit in `flags` is ignored).
    Anon,
    /// File `file` (0..=3) from page `pgoff`.
    File { file: u8, pgoff: u64 },
}

/// One VMA as the harness sees it (the row every VMA engine reports and the
/// executor compares).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct VmaView {
    pub start: u64,
    pub end: u64,
    pub flags: u64,
    /// 0..=3 for the files, 100.. for shmem files in creation order.
    pub file: Option<u32>,
    pub pgoff: u64,
    /// The anon_vma's identity (compare up to renaming).
    pub anon: Option<u64>,
    /// The length of the VMA's `anon_vma_chain` (0 when it has no
    /// anon_vma; more than 1 for a VMA inherited through fork: the chain
    /// links every ancestor's anon_vma, and decides merges and anon_vma
    /// reuse).
    pub chain: u32,
}

impl std::fmt::Display for VmaView {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "[{:#x}, {:#x}) {} pgoff {:#x}",
            self.start,
            self.end,
            vmflags::format(self.flags),
            self.pgoff
        )?;
        if let Some(file) = self.file {
            write!(f, " file {file}")?;
        }
        if let Some(a) = self.anon {
            write!(f, " anon {a}")?;
        }
        if self.chain > 1 {
            write!(f, " chain {}", self.chain)?;
        }
        Ok(())
    }
}

/// The places where the 6.12 code can fail with `-ENOMEM` from an
/// allocation, recorded in the order an operation passes them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Point {
    /// `vm_area_alloc` / `vm_area_dup`.
    VmaAlloc,
    /// `vma_iter_prealloc` / `mas_preallocate`.
    Prealloc,
    /// `mas_store_gfp` (the munmap side tree), `vma_iter_clear_gfp`,
    /// `vma_iter_store_gfp`.
    StoreGfp,
    /// `anon_vma_prepare`, `anon_vma_clone`, `dup_anon_vma`, and
    /// `anon_vma_fork`'s own anon_vma.
    AnonVma,
    /// `__mt_dup` in `dup_mmap`.
    TreeDup,
}

/// Which mm [`Mm::fork`] leaves in the object.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ForkKeep {
    /// The child exits at once; the object stays the parent.
    Parent,
    /// The parent exits; the object becomes the child.
    Child,
}

/// Which kernel the model follows: its VMA rules and how it drives the tree.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Profile {
    /// Linux 6.12: one preallocation, then one store.
    #[default]
    V6_12,
    /// Every split as Linux 6.1's `__vma_adjust` did it: one preallocation,
    /// then two stores (the trimmed original, then the new piece). VMA
    /// results are those of 6.12.
    V6_1,
    /// Linux 7.1: 6.12's tree calls, and the VMA rules that changed since
    /// (docs/kernel-vma.md#versions lists each with its kernel commit).
    V7_1,
}

impl Profile {
    /// Every profile, by name.
    pub const ALL: [Profile; 3] = [Profile::V6_12, Profile::V6_1, Profile::V7_1];

    /// The kernel version, as the text form writes it (`6.12`).
    pub fn name(self) -> &'static str {
        match self {
            Profile::V6_12 => "6.12",
            Profile::V6_1 => "6.1",
            Profile::V7_1 => "7.1",
        }
    }

    /// The profile named `name` (`6.12`, `6.1`, `7.1`).
    pub fn from_name(name: &str) -> Option<Profile> {
        Profile::ALL.into_iter().find(|p| p.name() == name)
    }

    /// Linux 7.1's rules (mremap after its 2025 rework, fork's anon_vma
    /// order, ...) rather than 6.12's.
    pub(crate) fn v7(self) -> bool {
        self == Profile::V7_1
    }
}

/// The configuration of an [`Mm`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct VmaConfig {
    /// `sysctl_max_map_count`.
    pub max_map_count: u64,
    pub profile: Profile,
}

impl Default for VmaConfig {
    fn default() -> VmaConfig {
        VmaConfig {
            max_map_count: 24,
            profile: Profile::V6_12,
        }
    }
}

/// Index of a VMA in the arena.
pub(crate) type VmaId = usize;

/// A `vm_area_struct`, reduced to what the modelled code reads.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Vma {
    pub(crate) start: u64,
    pub(crate) end: u64,
    pub(crate) flags: u64,
    /// The file's identity (`vm_file`); `None` for anonymous memory.
    pub(crate) file: Option<u32>,
    pub(crate) pgoff: u64,
    /// `vma->anon_vma`.
    pub(crate) anon: Option<u64>,
    /// `vma->anon_vma_chain`: the anon_vmas it is chained to, in the
    /// kernel's list order (newest first). Empty exactly when `anon` is
    /// `None`; singular unless inherited through fork.
    pub(crate) chain: Vec<u64>,
}

impl Vma {
    pub(crate) fn pages(&self) -> u64 {
        (self.end - self.start) >> 12
    }
}

/// Whether file `f` has a `vm_ops->close` (file 3 only).
pub(crate) fn file_has_close(f: Option<u32>) -> bool {
    f == Some(3)
}

/// `vma_is_anonymous`: no `vm_file` (shmem-backed shared anon has one).
pub(crate) fn is_anon(v: &Vma) -> bool {
    v.file.is_none()
}

/// One address space.
pub struct Mm {
    pub(crate) cfg: VmaConfig,
    /// `mm->mm_mt`.
    pub(crate) mt: MapleTree,
    /// The VMA arena; `None` slots are free.
    pub(crate) arena: Vec<Option<Vma>>,
    pub(crate) free_ids: Vec<VmaId>,
    pub(crate) map_count: u64,
    /// `mm->locked_vm`: pages charged as mlock()ed.
    pub(crate) locked_vm: u64,
    pub(crate) brk: u64,
    pub(crate) start_brk: u64,
    /// The anon_vma registry, shared by a parent and its child during fork.
    pub(crate) anon: anon::AnonVmas,
    /// This mm's identity in the registry (names its chained VMAs).
    pub(crate) mm_id: u64,
    pub(crate) next_shmem: u32,
    /// `fail_at` armed for the next operation.
    armed: Option<u32>,
    /// The point number that fails in the current operation.
    fail_now: Option<u32>,
    pub(crate) points: Vec<Point>,
    pub(crate) misuse: Option<String>,
    /// Inconsistencies the operations noticed (leaked side-tree nodes, a
    /// tree store that failed where the kernel cannot fail, ...), reported
    /// by [`Mm::validate_mm`].
    pub(crate) faults: Vec<String>,
}

impl Mm {
    /// An empty address space.
    pub fn new(cfg: VmaConfig) -> Mm {
        Mm {
            cfg,
            mt: MapleTree::with_flags(MM_MT_FLAGS),
            arena: Vec::new(),
            free_ids: Vec::new(),
            map_count: 0,
            locked_vm: 0,
            brk: START_BRK,
            start_brk: START_BRK,
            anon: anon::AnonVmas::default(),
            mm_id: 0,
            next_shmem: SHMEM_FILE_BASE,
            armed: None,
            fail_now: None,
            points: Vec::new(),
            misuse: None,
            faults: Vec::new(),
        }
    }

    /// The configuration.
    pub fn config(&self) -> VmaConfig {
        self.cfg
    }

    /// `mm->mm_mt`.
    pub fn tree(&self) -> &MapleTree {
        &self.mt
    }

    /// The tree, for tests and the harness (node fault schedules).
    pub fn tree_mut(&mut self) -> &mut MapleTree {
        &mut self.mt
    }

    /// Node accounting of `mm_mt`: `(allocated, reachable, held)`.
    pub fn node_accounting(&self) -> (u64, u64, u64) {
        self.mt.node_accounting()
    }

    /// Model-only: forward a node fault schedule to `mm_mt`. The oracle
    /// cannot predict its effect; differential runs use [`Mm::fail_at`].
    pub fn fail_nodes(&mut self, schedule: maple_tree::FaultSchedule) {
        self.mt.set_fault_schedule(schedule);
    }

    /// The store that broke a shared preallocation in the last operation
    /// (the 6.1 profile's expected finding), if any.
    pub fn prealloc_misuse(&self) -> Option<String> {
        self.misuse.clone()
    }

    /// The allocation points the last operation passed, in order.
    pub fn last_points(&self) -> Vec<Point> {
        self.points.clone()
    }

    /// Arms a failure at the `nth` (0-based) allocation point of the next
    /// operation.
    pub fn fail_at(&mut self, nth: u32) {
        self.armed = Some(nth);
    }

    /// The VMAs in address order (from the tree).
    pub fn vmas(&self) -> Vec<VmaView> {
        self.mt
            .entries()
            .filter_map(|(_, _, e)| self.id_of(e))
            .map(|id| {
                let v = self.v(id);
                VmaView {
                    start: v.start,
                    end: v.end,
                    flags: v.flags,
                    file: v.file,
                    pgoff: v.pgoff,
                    anon: v.anon,
                    chain: v.chain.len() as u32,
                }
            })
            .collect()
    }

    /// `mm->brk`.
    pub fn brk_value(&self) -> u64 {
        self.brk
    }

    /// `mm->map_count`.
    pub fn map_count(&self) -> u64 {
        self.map_count
    }

    /// `mm->locked_vm`, in pages.
    pub fn locked_vm(&self) -> u64 {
        self.locked_vm
    }

    /// mmap(2).
    pub fn mmap(
        &mut self,
        addr: u64,
        len: u64,
        prot: u32,
        flags: u32,
        backing: Backing,
    ) -> Result<u64, Errno> {
        self.begin_op();
        let r = self.do_mmap(addr, len, prot, flags, backing);
        self.end_op();
        r
    }

    /// munmap(2).
    pub fn munmap(&mut self, addr: u64, len: u64) -> Result<(), Errno> {
        self.begin_op();
        let r = self.do_vmi_munmap(addr, len);
        self.end_op();
        r
    }

    /// mprotect(2).
    pub fn mprotect(&mut self, addr: u64, len: u64, prot: u32) -> Result<(), Errno> {
        self.begin_op();
        let r = self.do_mprotect_pkey(addr, len, prot);
        self.end_op();
        r
    }

    /// madvise(2), for the advices that change VMA flags.
    pub fn madvise(&mut self, addr: u64, len: u64, advice: u32) -> Result<(), Errno> {
        self.begin_op();
        let r = self.do_madvise(addr, len, advice);
        self.end_op();
        r
    }

    /// brk(2): returns `mm->brk` afterwards.
    pub fn brk(&mut self, new: u64) -> u64 {
        self.begin_op();
        let r = self.sys_brk(new);
        self.end_op();
        r
    }

    /// mremap(2).
    pub fn mremap(
        &mut self,
        addr: u64,
        old_len: u64,
        new_len: u64,
        flags: u32,
        new_addr: u64,
    ) -> Result<u64, Errno> {
        self.begin_op();
        let r = self.sys_mremap(addr, old_len, new_len, flags, new_addr);
        self.end_op();
        r
    }

    /// A page fault at `addr` (no stack expansion).
    pub fn touch(&mut self, addr: u64, write: bool) -> Result<(), Errno> {
        self.begin_op();
        let r = self.handle_fault(addr, write);
        self.end_op();
        r
    }

    fn begin_op(&mut self) {
        self.fail_now = self.armed.take();
        self.points.clear();
        self.misuse = None;
    }

    /// After every operation: no maple state may still hold nodes and the
    /// tree's nodes must all be accounted for.
    fn end_op(&mut self) {
        let (live, reachable, held) = self.mt.node_accounting();
        if live != reachable + held || held != 0 {
            self.faults.push(format!(
                "node accounting after the operation: {live} allocated, {reachable} \
                 reachable, {held} held by maple states"
            ));
        }
    }

    /// Passes allocation point `p`: records it and says whether it fails.
    pub(crate) fn point(&mut self, p: Point) -> bool {
        let n = self.points.len() as u32;
        self.points.push(p);
        self.fail_now == Some(n)
    }

    pub(crate) fn v(&self, id: VmaId) -> &Vma {
        self.arena[id].as_ref().expect("live vma")
    }

    pub(crate) fn vm(&mut self, id: VmaId) -> &mut Vma {
        self.arena[id].as_mut().expect("live vma")
    }

    /// The tree entry naming VMA `id`.
    pub(crate) fn entry(id: VmaId) -> u64 {
        2 * id as u64 + 1
    }

    /// The VMA a tree entry names, if it names a live one.
    pub(crate) fn id_of(&self, e: u64) -> Option<VmaId> {
        if e & 1 == 0 {
            return None;
        }
        let id = (e >> 1) as usize;
        self.arena.get(id).and_then(|s| s.as_ref()).map(|_| id)
    }

    /// `vm_area_alloc` / `vm_area_dup` after its allocation point passed.
    pub(crate) fn vma_store_new(&mut self, v: Vma) -> VmaId {
        match self.free_ids.pop() {
            Some(id) => {
                self.arena[id] = Some(v);
                id
            }
            None => {
                self.arena.push(Some(v));
                self.arena.len() - 1
            }
        }
    }

    /// `vm_area_free`. A VMA freed while still chained to anon_vmas is
    /// noted as a fault (its chain links would leak).
    pub(crate) fn vm_area_free(&mut self, id: VmaId) {
        let v = self.arena[id].take();
        let Some(v) = v else {
            panic!("double free of vma {id}");
        };
        if !v.chain.is_empty() {
            self.faults.push(format!(
                "VMA {:#x}-{:#x} freed while chained to anon_vmas {:?}",
                v.start, v.end, v.chain
            ));
        }
        self.free_ids.push(id);
    }

    /// VMAs live in the arena.
    pub(crate) fn live_vmas(&self) -> u64 {
        self.arena.iter().filter(|s| s.is_some()).count() as u64
    }
}

/// `PAGE_ALIGN` with the kernel's wrap-around.
pub(crate) fn page_align(x: u64) -> u64 {
    x.wrapping_add(PAGE - 1) & !(PAGE - 1)
}

/// `offset_in_page`.
pub(crate) fn offset_in_page(x: u64) -> bool {
    x & (PAGE - 1) != 0
}

/// `vm_start_gap`.
pub(crate) fn vm_start_gap(v: &Vma) -> u64 {
    if v.flags & VM_GROWSDOWN != 0 {
        let s = v.start.wrapping_sub(STACK_GUARD_GAP);
        if s > v.start {
            0
        } else {
            s
        }
    } else {
        v.start
    }
}

/// `vm_end_gap` (no `VM_GROWSUP` on x86).
pub(crate) fn vm_end_gap(v: &Vma) -> u64 {
    v.end
}
