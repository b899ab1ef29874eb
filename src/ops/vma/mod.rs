//! The VMA op language: what a `vma_ops` program is.
//!
//! A [`VmaProgram`] is an address-space setup and a list of [`VmaOp`]s, the
//! system calls of Linux 6.12's memory map (mmap, munmap, mprotect, madvise,
//! brk, mremap), fork ([`VmaOp::Fork`]: `dup_mmap()`, then one of the two
//! processes exits), a page fault ([`VmaOp::Touch`]) and a fault-injection
//! op ([`VmaOp::FailAt`]). Every engine (the VMA layer on the Rust tree in
//! `vma/`, the naive oracle in `reference/`) answers each op with a
//! [`VmaOutcome`] and exposes its VMAs as [`Vma`] rows; the executor in
//! `crate::diff::vma` compares them after every op.
//!
//! Arguments are raw syscall values (addresses and lengths may be unaligned
//! or huge); the constants are the Linux uapi ones ([`uapi`]) and the VM_*
//! bits of `include/linux/mm.h` ([`vm`]).

pub mod binary;
pub mod text;

use std::fmt;

/// The contract's types are the VMA layer's (`vma/`), written once: what
/// backs a mapping, the allocation points an op passes, which process goes
/// on after a fork, the errors, and the kernel version profile. (The
/// oracle keeps its own copies on purpose: it shares no code with what it
/// checks.)
pub use crate::vma::{
    Backing, Errno as VmaErrno, ForkKeep, Point, Profile as VmaProfile, VmaView as Vma,
};

/// Linux uapi constants the op language uses, and the fixed environment
/// of both engines: those of the VMA layer (`vma/`), the one place they
/// are written in this crate (the oracle keeps its own).
pub mod uapi {
    pub use crate::vma::uapi::*;
    pub use crate::vma::{MMAP_BASE, MMAP_MIN_ADDR, PAGE, START_BRK, TASK_SIZE};
}

/// VM_* flag bits (`include/linux/mm.h`), for printing: the VMA layer's
/// names table.
pub mod vm {
    pub use crate::vma::vmflags::{format, NAMES};
}

/// How the address space is created.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct VmaSetup {
    /// `sysctl_max_map_count`: small, so that the limits are reached.
    pub max_map_count: u64,
    /// Which kernel's pattern of tree calls the model uses.
    pub profile: VmaProfile,
}

impl Default for VmaSetup {
    fn default() -> Self {
        VmaSetup {
            max_map_count: 24,
            profile: VmaProfile::V6_12,
        }
    }
}

/// One operation on the address space.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum VmaOp {
    /// `mmap(addr, len, prot, flags, fd, offset)`.
    Mmap {
        addr: u64,
        len: u64,
        prot: u32,
        flags: u32,
        backing: Backing,
    },
    /// `munmap(addr, len)`.
    Munmap { addr: u64, len: u64 },
    /// `mprotect(addr, len, prot)`.
    Mprotect { addr: u64, len: u64, prot: u32 },
    /// `madvise(addr, len, advice)` (the VMA-flag advices).
    Madvise { addr: u64, len: u64, advice: u32 },
    /// `brk(addr)`: answers the program break afterwards.
    Brk { addr: u64 },
    /// `mremap(addr, old_len, new_len, flags, new_addr)`.
    Mremap {
        addr: u64,
        old_len: u64,
        new_len: u64,
        flags: u32,
        new_addr: u64,
    },
    /// A page fault at `addr` (a write fault creates the anon_vma).
    Touch { addr: u64, write: bool },
    /// The `nth` allocation point of the next op fails.
    FailAt { nth: u32 },
    /// `fork()`: `dup_mmap()` copies the address space into a child; then
    /// the process `keep` does not name exits (`exit_mmap()`), so the
    /// program goes on in `keep`. A failed fork leaves the parent.
    Fork { keep: ForkKeep },
}

impl VmaOp {
    /// The op's name in the text form and in signatures.
    pub fn kind(&self) -> &'static str {
        match self {
            VmaOp::Mmap { .. } => "mmap",
            VmaOp::Munmap { .. } => "munmap",
            VmaOp::Mprotect { .. } => "mprotect",
            VmaOp::Madvise { .. } => "madvise",
            VmaOp::Brk { .. } => "brk",
            VmaOp::Mremap { .. } => "mremap",
            VmaOp::Touch { .. } => "touch",
            VmaOp::FailAt { .. } => "fail_at",
            VmaOp::Fork { .. } => "fork",
        }
    }
}

impl VmaOp {
    /// The 6.12 function family the op enters, for bug signatures: ops that
    /// share the code where VMAs are split, merged and stored share a
    /// family.
    pub fn family(&self) -> &'static str {
        match self {
            VmaOp::Mmap { .. } => "mmap_region",
            VmaOp::Munmap { .. } => "do_vmi_munmap",
            VmaOp::Mprotect { .. } | VmaOp::Madvise { .. } => "vma_modify",
            VmaOp::Brk { .. } => "do_brk_flags",
            VmaOp::Mremap { .. } => "mremap",
            VmaOp::Touch { .. } => "anon_vma_prepare",
            VmaOp::FailAt { .. } => "fail_at",
            VmaOp::Fork { .. } => "dup_mmap",
        }
    }
}

impl fmt::Display for VmaOp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&text::format_op(self))
    }
}

/// A VMA program: the setup and the ops.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct VmaProgram {
    pub setup: VmaSetup,
    pub ops: Vec<VmaOp>,
}

/// What an op answered.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum VmaOutcome {
    /// mmap, mremap: an address or an error.
    Addr(Result<u64, VmaErrno>),
    /// munmap, mprotect, madvise, touch: success or an error.
    Status(Result<(), VmaErrno>),
    /// brk: the break afterwards.
    Brk(u64),
    /// fail_at: armed.
    Armed,
}

impl fmt::Display for VmaOutcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            VmaOutcome::Addr(Ok(a)) | VmaOutcome::Brk(a) => write!(f, "{a:#x}"),
            VmaOutcome::Status(Ok(())) => f.write_str("ok"),
            VmaOutcome::Addr(Err(e)) | VmaOutcome::Status(Err(e)) => write!(f, "-{e}"),
            VmaOutcome::Armed => f.write_str("armed"),
        }
    }
}
