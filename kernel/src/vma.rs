// SPDX-License-Identifier: GPL-2.0-or-later
//! The kernel VMA engine: a tree's own `mm/vma.c` on its own
//! `lib/maple_tree.c`, with our shim and syscall glue (`csrc/vma/`), behind
//! a safe API. One [`KernelVma`] is one process with one address space.

use std::ffi::{c_char, c_void};
use std::ptr::NonNull;

/// The C side's function table (`struct mfv_vtable` in
/// `csrc/vma/vma_api.h`).
#[repr(C)]
pub struct RawVmaVtable {
    abi: u32,
    create: unsafe extern "C" fn(u64, u32) -> *mut c_void,
    destroy: unsafe extern "C" fn(*mut c_void),
    apply: unsafe extern "C" fn(*mut c_void, u32, *const u64, *mut i32) -> i64,
    rows: unsafe extern "C" fn(*mut c_void, *mut RawRow, usize) -> usize,
    brk: unsafe extern "C" fn(*mut c_void) -> u64,
    map_count: unsafe extern "C" fn(*mut c_void) -> u64,
    points: unsafe extern "C" fn(*mut c_void, *mut u8, usize) -> usize,
    fail_at: unsafe extern "C" fn(*mut c_void, u32),
    validate: unsafe extern "C" fn(*mut c_void, *mut c_char, usize) -> usize,
    tree_root: unsafe extern "C" fn(*mut c_void, *mut u32, *mut u64) -> u64,
    nodes: unsafe extern "C" fn(*mut c_void, *mut u64, *mut u64, usize) -> usize,
    locked_vm: unsafe extern "C" fn(*mut c_void) -> u64,
}

/// The ABI this crate speaks (`MFV_ABI`).
const ABI: u32 = 3;

/// `struct mfv_row`.
#[repr(C)]
#[derive(Clone, Copy, Default)]
struct RawRow {
    start: u64,
    end: u64,
    flags: u64,
    pgoff: u64,
    anon: u64,
    file: u32,
    chain: u32,
}

/// One compiled VMA engine.
#[derive(Clone, Copy)]
pub struct VmaEngineInfo {
    /// `X.Y` of the tree.
    pub tree: &'static str,
    /// The engine's name, `kernel@X.Y`.
    pub engine: &'static str,
    /// The tree's full version.
    pub version: &'static str,
    /// The unpacked tree it was built from (at build time; for tests and
    /// `ci/check-vma-snippet.sh`).
    pub src: &'static str,
    /// The build: `exact` (the tree's mm/vma.c as it is), `fixed` (`exact`
    /// with the fixes of the kernel findings in the code our glue
    /// transcribes), or a planted bug.
    pub variant: &'static str,
    /// What the build is.
    pub about: &'static str,
    /// The fixes the glue applies (`MFV_FIX_*` in `csrc/vma/vma_base.h`).
    pub fixes: u32,
    vtable: &'static RawVmaVtable,
}

mod generated {
    use super::{RawVmaVtable, VmaEngineInfo};
    include!(concat!(env!("OUT_DIR"), "/vma_engines.rs"));
}

/// Every compiled VMA engine build, in the order the trees were given.
pub fn vma_builds() -> Vec<VmaEngineInfo> {
    generated::vma_compiled()
}

/// The build `kernel@X.Y` names on `vma_ops`, for every tree with a VMA
/// engine: `fixed` where the tree has one (it carries the fixes of kernel
/// findings, as the tree engines' `fixed` builds do), else `exact`.
pub fn vma_engines() -> Vec<VmaEngineInfo> {
    let builds = vma_builds();
    builds
        .iter()
        .filter(|v| v.variant == "exact")
        .map(|e| {
            *builds
                .iter()
                .find(|v| v.tree == e.tree && v.variant == "fixed")
                .unwrap_or(e)
        })
        .collect()
}

/// The build `variant` of tree `tree`'s VMA engine, if compiled.
pub fn vma_build(tree: &str, variant: &str) -> Option<VmaEngineInfo> {
    vma_builds()
        .into_iter()
        .find(|v| v.tree == tree && v.variant == variant)
}

/// The trees built without a VMA engine, and why: (`X.Y`, reason).
pub fn vma_refused() -> &'static [(&'static str, &'static str)] {
    generated::VMA_REFUSED
}

/// One VMA as the kernel engine reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KernelVmaRow {
    pub start: u64,
    pub end: u64,
    pub flags: u64,
    pub pgoff: u64,
    /// The anon_vma's identity (0: none).
    pub anon: u64,
    /// The file's id (0..=3, or 100 and up for shmem files).
    pub file: Option<u32>,
    /// The length of the VMA's anon_vma_chain.
    pub chain: u32,
}

/// The ops the C side runs (`enum mfv_op`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u32)]
pub enum KernelVmaOp {
    Mmap = 0,
    Munmap = 1,
    Mprotect = 2,
    Madvise = 3,
    Brk = 4,
    Mremap = 5,
    Touch = 6,
    Fork = 7,
}

/// One process on a tree's VMA code.
pub struct KernelVma {
    vt: &'static RawVmaVtable,
    h: NonNull<c_void>,
    /// The engine's name.
    pub engine: &'static str,
}

impl KernelVma {
    /// A process with an empty address space and the given
    /// `sysctl_max_map_count`.
    pub fn new(info: &VmaEngineInfo, max_map_count: u64) -> Result<Self, String> {
        if info.vtable.abi != ABI {
            return Err(format!(
                "{}: the C side speaks VMA ABI {}, this crate {ABI}",
                info.engine, info.vtable.abi
            ));
        }
        // SAFETY: the vtable is the C side's; create returns an owned handle.
        let h = unsafe { (info.vtable.create)(max_map_count, info.fixes) };
        let h = NonNull::new(h).ok_or_else(|| format!("{}: no memory", info.engine))?;
        Ok(KernelVma {
            vt: info.vtable,
            h,
            engine: info.engine,
        })
    }

    /// Runs one syscall with raw arguments (see `mfv_apply`): `None` if
    /// this engine cannot run the op, else the kernel's answer (negative
    /// errno on failure; brk answers the break).
    pub fn apply(&mut self, op: KernelVmaOp, args: [u64; 6]) -> Option<i64> {
        let mut unsupported = 0i32;
        // SAFETY: the handle is live and ours; args has the six words the
        // C side reads.
        let r =
            unsafe { (self.vt.apply)(self.h.as_ptr(), op as u32, args.as_ptr(), &mut unsupported) };
        (unsupported == 0).then_some(r)
    }

    /// The VMAs in address order.
    pub fn rows(&self) -> Vec<KernelVmaRow> {
        let mut buf = vec![RawRow::default(); 64];
        loop {
            // SAFETY: buf has buf.len() rows; the C side writes at most that.
            let n = unsafe { (self.vt.rows)(self.h.as_ptr(), buf.as_mut_ptr(), buf.len()) };
            if n <= buf.len() {
                buf.truncate(n);
                break;
            }
            buf = vec![RawRow::default(); n];
        }
        buf.iter()
            .map(|r| KernelVmaRow {
                start: r.start,
                end: r.end,
                flags: r.flags,
                pgoff: r.pgoff,
                anon: r.anon,
                file: (r.file != u32::MAX).then_some(r.file),
                chain: r.chain,
            })
            .collect()
    }

    /// `mm->brk`.
    pub fn brk(&self) -> u64 {
        // SAFETY: live handle.
        unsafe { (self.vt.brk)(self.h.as_ptr()) }
    }

    /// `mm->map_count`.
    pub fn map_count(&self) -> u64 {
        // SAFETY: live handle.
        unsafe { (self.vt.map_count)(self.h.as_ptr()) }
    }

    /// `mm->locked_vm`, in pages.
    pub fn locked_vm(&self) -> u64 {
        // SAFETY: live handle.
        unsafe { (self.vt.locked_vm)(self.h.as_ptr()) }
    }

    /// The allocation points the last op passed (the Rust `Point` order).
    pub fn points(&self) -> Vec<u8> {
        let mut buf = vec![0u8; 512];
        // SAFETY: buf has 512 bytes; the C side writes at most that.
        let n = unsafe { (self.vt.points)(self.h.as_ptr(), buf.as_mut_ptr(), buf.len()) };
        buf.truncate(n.min(512));
        buf
    }

    /// The `nth` allocation point of the next op fails.
    pub fn fail_at(&mut self, nth: u32) {
        // SAFETY: live handle.
        unsafe { (self.vt.fail_at)(self.h.as_ptr(), nth) }
    }

    /// `validate_mm()` in the shim's words and the WARNs since the last
    /// call: `Err` with the report if anything was found.
    pub fn validate(&self) -> Result<(), String> {
        let mut buf = vec![0u8; 4096];
        // SAFETY: buf has 4096 bytes; the C side NUL-terminates within it.
        let n = unsafe { (self.vt.validate)(self.h.as_ptr(), buf.as_mut_ptr().cast(), buf.len()) };
        if n == 0 {
            return Ok(());
        }
        let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
        Err(String::from_utf8_lossy(&buf[..end]).trim_end().to_string())
    }
}

impl KernelVma {
    /// The mm's tree: `(ma_root, ma_flags, the tree's address)` (a root
    /// node's parent word points at the tree).
    pub fn mm_tree(&self) -> (u64, u32, u64) {
        let (mut flags, mut tree_addr) = (0u32, 0u64);
        // SAFETY: live handle; the C side writes the two words.
        let root = unsafe { (self.vt.tree_root)(self.h.as_ptr(), &mut flags, &mut tree_addr) };
        (root, flags, tree_addr)
    }

    /// Every node the mm's tree reaches from its root (through node
    /// pointers), by address: its 32 words.
    pub fn nodes(&self) -> std::collections::HashMap<u64, [u64; 32]> {
        // An mm of a few dozen VMAs has a handful of nodes.
        let mut cap = 8usize;
        loop {
            let mut addrs = vec![0u64; cap];
            let mut words = vec![0u64; 32 * cap];
            // SAFETY: live handle; addrs has cap words and words 32 * cap,
            // and the C side writes at most cap nodes.
            let n = unsafe {
                (self.vt.nodes)(self.h.as_ptr(), addrs.as_mut_ptr(), words.as_mut_ptr(), cap)
            };
            if n > cap {
                cap = n;
                continue;
            }
            return (0..n)
                .map(|i| {
                    let mut w = [0u64; 32];
                    w.copy_from_slice(&words[32 * i..32 * i + 32]);
                    (addrs[i], w)
                })
                .collect();
        }
    }
}

impl Drop for KernelVma {
    fn drop(&mut self) {
        // SAFETY: the handle is ours and dropped once.
        unsafe { (self.vt.destroy)(self.h.as_ptr()) }
    }
}

// SAFETY: a handle is used by one thread at a time (&mut for every change);
// the C side's per-thread context is set on every call.
unsafe impl Send for KernelVma {}
