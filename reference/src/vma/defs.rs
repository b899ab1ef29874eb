// SPDX-License-Identifier: GPL-2.0-or-later
//! The constants of the VMA contract: the kernel's `VM_*` flag bits
//! (`include/linux/mm.h`, x86-64 values) and the uapi values of `PROT_*`,
//! `MAP_*`, `MADV_*` and `MREMAP_*` (`include/uapi/asm-generic/mman*.h`,
//! `include/uapi/linux/mman.h`), plus the fixed environment of the contract.

/// `vm_area_struct::vm_flags` bits (include/linux/mm.h, 64-bit x86).
pub mod vm {
    pub const VM_NONE: u64 = 0;
    pub const VM_READ: u64 = 0x1;
    pub const VM_WRITE: u64 = 0x2;
    pub const VM_EXEC: u64 = 0x4;
    pub const VM_SHARED: u64 = 0x8;
    pub const VM_MAYREAD: u64 = 0x10;
    pub const VM_MAYWRITE: u64 = 0x20;
    pub const VM_MAYEXEC: u64 = 0x40;
    pub const VM_MAYSHARE: u64 = 0x80;
    pub const VM_GROWSDOWN: u64 = 0x100;
    pub const VM_UFFD_MISSING: u64 = 0x200;
    pub const VM_PFNMAP: u64 = 0x400;
    pub const VM_UFFD_WP: u64 = 0x1000;
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
    pub const VM_ARCH_1: u64 = 0x0100_0000;
    pub const VM_WIPEONFORK: u64 = 0x0200_0000;
    pub const VM_DONTDUMP: u64 = 0x0400_0000;
    /// Soft-dirty tracking: never set by this model (contract).
    pub const VM_SOFTDIRTY: u64 = 0x0800_0000;
    pub const VM_MIXEDMAP: u64 = 0x1000_0000;
    pub const VM_HUGEPAGE: u64 = 0x2000_0000;
    pub const VM_NOHUGEPAGE: u64 = 0x4000_0000;
    pub const VM_MERGEABLE: u64 = 0x8000_0000;
    /// `VM_DROPPABLE` is bit 40 on 64-bit kernels.
    pub const VM_DROPPABLE: u64 = 1 << 40;
    /// x86 has no `VM_GROWSUP` (it is `VM_NONE`).
    pub const VM_GROWSUP: u64 = VM_NONE;

    /// `VM_ACCESS_FLAGS`.
    pub const VM_ACCESS_FLAGS: u64 = VM_READ | VM_WRITE | VM_EXEC;
    /// `VM_SPECIAL`: never merged, never expanded.
    pub const VM_SPECIAL: u64 = VM_IO | VM_DONTEXPAND | VM_PFNMAP | VM_MIXEDMAP;
    /// `VM_LOCKED_MASK`.
    pub const VM_LOCKED_MASK: u64 = VM_LOCKED | VM_LOCKONFAULT;
    /// `VM_STARTGAP_FLAGS` (no shadow stacks here).
    pub const VM_STARTGAP_FLAGS: u64 = VM_GROWSDOWN;
    /// x86 `VM_DATA_DEFAULT_FLAGS` = `VM_DATA_FLAGS_TSK_EXEC` without
    /// READ_IMPLIES_EXEC: what `do_brk_flags()` gives the heap.
    pub const VM_DATA_DEFAULT_FLAGS: u64 =
        VM_READ | VM_WRITE | VM_MAYREAD | VM_MAYWRITE | VM_MAYEXEC;
}

/// uapi values of the syscalls' arguments.
pub mod uapi {
    pub const PROT_NONE: u32 = 0x0;
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
    /// x86 only.
    pub const MAP_32BIT: u32 = 0x40;
    /// x86 only.
    pub const MAP_ABOVE4G: u32 = 0x80;
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
    pub const MAP_HUGE_2MB: u32 = 21 << 26;
    pub const MAP_HUGE_1GB: u32 = 30 << 26;
    /// `LEGACY_MAP_MASK` (include/linux/mman.h): what MAP_SHARED silently
    /// keeps and MAP_SHARED_VALIDATE accepts on a file without
    /// `->mmap_validate`.
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
    pub const MADV_WILLNEED: u32 = 3;
    pub const MADV_DONTNEED: u32 = 4;
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

/// The fixed environment of the contract.
pub mod env {
    pub const PAGE_SHIFT: u32 = 12;
    pub const PAGE_SIZE: u64 = 1 << PAGE_SHIFT;
    /// `TASK_SIZE` = 2^47 - PAGE_SIZE.
    pub const TASK_SIZE: u64 = (1 << 47) - PAGE_SIZE;
    /// `mmap_min_addr`.
    pub const MMAP_MIN_ADDR: u64 = 0x10000;
    /// `mm->mmap_base` (no randomisation).
    pub const MMAP_BASE: u64 = 0x7f00_0000_0000;
    /// `TASK_UNMAPPED_BASE` = PAGE_ALIGN(TASK_SIZE / 3).
    pub const TASK_UNMAPPED_BASE: u64 = (TASK_SIZE / 3 + PAGE_SIZE - 1) & !(PAGE_SIZE - 1);
    /// `stack_guard_gap` = 256 pages.
    pub const STACK_GUARD_GAP: u64 = 256 << PAGE_SHIFT;
    /// `mm->start_brk` and the initial `mm->brk`.
    pub const START_BRK: u64 = 0x5555_5600_0000;
    /// First id given to a shmem file created by an anonymous MAP_SHARED.
    pub const FIRST_SHMEM_FILE: u32 = 100;
}
