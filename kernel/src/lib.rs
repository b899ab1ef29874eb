// SPDX-License-Identifier: GPL-2.0-or-later
//! The Linux kernel's own `lib/maple_tree.c`, compiled in userspace from a
//! Linux source tree (see `build.rs`), behind a small safe API.
//!
//! Each [`KernelTree`] is one kernel `struct maple_tree` with two maple
//! states (a cursor and a writer), its own node allocator (counted, with a
//! fault schedule, every address checkable), its own deferred RCU callbacks
//! (run when each op ends) and its own BUG/WARN report. All the unsafe code
//! of the project's kernel engine is in this file, and in [`inflight`] (the
//! fatal-signal handler that puts the program in flight on disk: C code
//! dies by signal, not by panic).
//!
//! The engine is optional: without a Linux source at build time
//! [`unavailable`] says why and [`variants`] is empty.

use std::ffi::{c_char, c_int, c_uint, c_void};
use std::ptr::NonNull;

#[path = "edits.rs"]
mod edits;
pub mod inflight;
pub mod isolate;
pub mod vma;
pub use edits::{Edit, VariantDef, EDITS, VARIANTS};

/// The C side's function table (`struct mfk_vtable` in `csrc/api.h`).
#[repr(C)]
pub struct RawVtable {
    abi: u32,
    new_tree: unsafe extern "C" fn(c_uint) -> *mut c_void,
    free_handle: unsafe extern "C" fn(*mut c_void),
    apply: unsafe extern "C" fn(*mut c_void, c_int, u64, u64, u64, u64, *mut RawResult) -> c_int,
    report: unsafe extern "C" fn(*mut c_void, *mut c_char, usize, *mut c_char, usize) -> c_int,
    clear_report: unsafe extern "C" fn(*mut c_void),
    counters: unsafe extern "C" fn(*mut c_void, *mut u64),
    set_faults: unsafe extern "C" fn(*mut c_void, c_int, u64),
    read_node: unsafe extern "C" fn(*mut c_void, u64, *mut u64) -> c_int,
    root: unsafe extern "C" fn(*const c_void) -> u64,
    flags: unsafe extern "C" fn(*const c_void) -> c_uint,
    tree_addr: unsafe extern "C" fn(*const c_void) -> u64,
    held: unsafe extern "C" fn(*mut c_void) -> u64,
    entries: unsafe extern "C" fn(*mut c_void, u64, u64, *mut u64, usize, *mut usize) -> c_int,
    suspend_faults: unsafe extern "C" fn(*mut c_void, c_int),
    readers_start:
        unsafe extern "C" fn(*mut c_void, u32, *const u64, usize, u64, usize, u32) -> c_int,
    readers_stop: unsafe extern "C" fn(*mut c_void),
    readers_drain: unsafe extern "C" fn(
        *mut c_void,
        *mut Observation,
        usize,
        *mut u64,
        *mut c_char,
        usize,
    ) -> usize,
    readers_seq: unsafe extern "C" fn(*mut c_void) -> u64,
    changed: unsafe extern "C" fn(*mut c_void, *mut u64, usize) -> usize,
}

/// The C side's interface version (`mfk_vtable.abi`).
pub const ABI: u32 = 8;

/// What a reader thread did (`enum mfk_rd_kind`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ReaderOp {
    /// `mtree_load(key)`: `value`.
    Load,
    /// `mt_find(&key, ULONG_MAX)`: `value`, and `last` (the index it moved
    /// to, less one); the entry's first index is not known.
    Find,
    /// `mas_set(key); mas_walk()`: `value` and its range `[index, last]`.
    Walk,
    /// `mas_find(ULONG_MAX)` after a walk or an earlier step, searching from
    /// `key` (the previous range's end + 1): `value` and `[index, last]`.
    Next,
    /// The kernel BUGged or WARNed in this reader (see [`ReaderLog::bug`]).
    Bug,
}

impl ReaderOp {
    /// The reads readers can be asked to make (not [`ReaderOp::Bug`]).
    pub const READS: [ReaderOp; 4] = [
        ReaderOp::Load,
        ReaderOp::Find,
        ReaderOp::Walk,
        ReaderOp::Next,
    ];

    /// The name `maplefuzz readers --reads` takes.
    pub fn name(self) -> &'static str {
        match self {
            ReaderOp::Load => "load",
            ReaderOp::Find => "find",
            ReaderOp::Walk => "walk",
            ReaderOp::Next => "next",
            ReaderOp::Bug => "bug",
        }
    }

    /// The read called `name`.
    pub fn from_name(name: &str) -> Option<ReaderOp> {
        ReaderOp::READS.into_iter().find(|r| r.name() == name)
    }

    fn bit(self) -> u32 {
        1 << (self as u32)
    }
}

/// One reader observation (`struct mfk_obs`): one op in one read-side
/// section, between two reads of the writer's sequence number.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Observation {
    kind: u32,
    /// The reader thread.
    pub thread: u32,
    /// The key asked (for [`ReaderOp::Next`], where the search began).
    pub key: u64,
    /// The entry seen (0 for NULL).
    pub value: u64,
    /// The first index of the entry's range, where the op gives it.
    pub index: u64,
    /// The last index of the entry's range, where the op gives it.
    pub last: u64,
    /// The sequence number before the section.
    pub seq_before: u64,
    /// The sequence number after it.
    pub seq_after: u64,
}

impl Observation {
    /// A synthetic observation (for tests of a checker).
    pub fn new(op: ReaderOp, key: u64, value: u64, range: (u64, u64), seq: (u64, u64)) -> Self {
        let kind = match op {
            ReaderOp::Load => 0,
            ReaderOp::Find => 1,
            ReaderOp::Walk => 2,
            ReaderOp::Next => 3,
            ReaderOp::Bug => 4,
        };
        Observation {
            kind,
            thread: 0,
            key,
            value,
            index: range.0,
            last: range.1,
            seq_before: seq.0,
            seq_after: seq.1,
        }
    }

    /// What the reader did.
    pub fn op(&self) -> ReaderOp {
        match self.kind {
            0 => ReaderOp::Load,
            1 => ReaderOp::Find,
            2 => ReaderOp::Walk,
            3 => ReaderOp::Next,
            _ => ReaderOp::Bug,
        }
    }
}

/// What stopped readers left ([`KernelTree::readers_drain`]).
#[derive(Clone, Debug, Default)]
pub struct ReaderLog {
    /// The observations logged, thread by thread.
    pub observations: Vec<Observation>,
    /// Observations made.
    pub made: u64,
    /// Observations not kept: a full log keeps a uniform sample of those
    /// made (reservoir sampling).
    pub dropped: u64,
    /// Observations not logged because they overlapped no op (one in 64
    /// such is logged).
    pub quiet: u64,
    /// The writer's sequence number at the end.
    pub seq: u64,
    /// A BUG or WARN the kernel hit in a reader thread, if one did.
    pub bug: Option<String>,
}

/// `struct mfk_result`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RawResult {
    /// 0 or a negative errno.
    pub ret: i64,
    /// The entry returned (0 for NULL).
    pub entry: u64,
    /// The index returned, or the cursor's index.
    pub index: u64,
    /// The cursor's last (or the end of a free range).
    pub last: u64,
    /// The cursor's `enum maple_status`.
    pub status: i32,
    /// 1 when a refill that gained nothing ended the op with ENOMEM (see
    /// `mfk_alloc` in `csrc/common.h`).
    pub aborted: i32,
    /// The cursor's `index` after the op, whatever the op.
    pub cur_index: u64,
    /// The cursor's `last` after the op, whatever the op.
    pub cur_last: u64,
}

/// A compiled variant.
#[derive(Clone, Copy)]
pub struct VariantInfo {
    /// The `X.Y` of its tree's version: the engine `kernel@X.Y`.
    pub tree: &'static str,
    /// `kernel@X.Y`.
    pub engine: &'static str,
    /// Its tree's full version (`6.12.118`).
    pub version: &'static str,
    /// Its name (`fixed`, `exact`, or a planted bug's name).
    pub name: &'static str,
    /// Its maple tree generation, named by its first kernel version
    /// (`6.12`: maple_alloc chains; see `build.rs`).
    pub generation: &'static str,
    /// The preallocation rule its `mas_preallocate()` follows, read from
    /// the tree's source at build time: `height` (Linux 6.1: the worst case
    /// for the tree's height), `store-type` (6.12: by store type and
    /// height), `vacant-height` (6.15 and later: by the lowest nodes with
    /// room); empty if the tree follows none of these.
    pub prealloc_rule: &'static str,
    /// What it is.
    pub about: &'static str,
    /// The edits applied to lib/maple_tree.c.
    pub applied: &'static [&'static str],
    /// The edits of its definition that did not apply to this tree.
    pub skipped: &'static [&'static str],
    vtable: &'static RawVtable,
}

impl std::fmt::Debug for VariantInfo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VariantInfo")
            .field("tree", &self.tree)
            .field("name", &self.name)
            .field("applied", &self.applied)
            .field("skipped", &self.skipped)
            .finish()
    }
}

mod generated {
    // Unused when the engine is built without a kernel source.
    #[allow(unused_imports)]
    use super::{RawVtable, VariantInfo};
    include!(concat!(env!("OUT_DIR"), "/variants.rs"));
}

/// Why the engine was not built at all, if it was not.
pub fn unavailable() -> Option<String> {
    if !variants().is_empty() {
        return None;
    }
    Some(
        generated::REFUSED
            .iter()
            .map(|(_, why)| *why)
            .collect::<Vec<_>>()
            .join("; "),
    )
}

/// The sanitizers the kernel's C was compiled with
/// (`MAPLEFUZZ_KERNEL_SANITIZE=address,undefined`; empty normally).
pub fn sanitizers() -> &'static [&'static str] {
    generated::SANITIZE
}

/// The compiler and flags that compiled the kernel's C for libFuzzer's
/// coverage (`clang -fsanitize=fuzzer-no-link ...`: a `cargo fuzz` build, or
/// `MAPLEFUZZ_KERNEL_COVERAGE=1`), or `None` (the default compiler, no
/// coverage; or no C at all).
pub fn coverage() -> Option<&'static str> {
    generated::COVERAGE
}

/// The trees the build left out: (`X.Y` when known, why).
pub fn refused() -> &'static [(&'static str, &'static str)] {
    generated::REFUSED
}

/// Every compiled variant of every tree (empty when the engine is
/// unavailable), the default tree's first.
pub fn variants() -> Vec<VariantInfo> {
    generated::compiled()
}

/// The `X.Y` of each compiled tree, the default first.
pub fn trees() -> Vec<&'static str> {
    let mut v: Vec<&'static str> = Vec::new();
    for x in variants() {
        if !v.contains(&x.tree) {
            v.push(x.tree);
        }
    }
    v
}

/// The tree plain `kernel` names: the first tree of `LINUX_SRC`, else
/// Debian's 6.12.
pub fn default_tree() -> Option<&'static str> {
    generated::DEFAULT_TREE
}

/// The default tree's variant called `name`.
pub fn variant(name: &str) -> Option<VariantInfo> {
    variant_of(default_tree()?, name)
}

/// The variant called `name` of the tree `X.Y`.
pub fn variant_of(tree: &str, name: &str) -> Option<VariantInfo> {
    variants()
        .into_iter()
        .find(|v| v.tree == tree && v.name == name)
}

/// The ops of `mfk_apply` (`enum mfk_op`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(i32)]
pub enum OpCode {
    /// `mtree_store_range(a, b, c)`.
    Store = 0,
    /// `mtree_insert_range(a, b, c)`.
    Insert,
    /// `mtree_erase(a)`.
    Erase,
    /// `mtree_load(a)`.
    Load,
    /// `mt_find(&a, b)`.
    Find,
    /// `mtree_alloc_range(size a, min b, max c, entry d)`.
    AllocRange,
    /// `mtree_alloc_rrange(size a, min b, max c, entry d)`.
    AllocRRange,
    /// `mas_empty_area(min a, max b, size c)` on a fresh state.
    EmptyArea,
    /// `mas_empty_area_rev(min a, max b, size c)` on a fresh state.
    EmptyAreaRev,
    /// Cursor: `mas_set(a); mas_walk()`.
    Walk,
    /// Cursor: `mas_find(a)`.
    MasFind,
    /// Cursor: `mas_find_rev(a)`.
    MasFindRev,
    /// Cursor: `mas_next(a)`.
    MasNext,
    /// Cursor: `mas_prev(a)`.
    MasPrev,
    /// Cursor: `mas_pause()`.
    Pause,
    /// Cursor: `mas_set(a)`.
    Set,
    /// Writer: `mas_set_range(a, b); mas_preallocate(c)`.
    Prealloc,
    /// Writer: `mas_store_prealloc(c)`.
    StorePrealloc,
    /// Writer: `mas_set_range(a, b); mas_store(c)`.
    MasStore,
    /// Writer: `mas_destroy()`.
    MasDestroy,
    /// `mtree_destroy()`.
    Destroy,
    /// `mt_validate()`.
    Validate,
    /// Writer: `mas_reset(); mas_expected_entries(a)` (bulk mode).
    ExpectedEntries,
    /// `mtree_alloc_cyclic(&id, entry d, min a, max b, &next)` with `next`
    /// starting at `c`: the id in `index`, `next` after the call in `last`,
    /// the kernel's return (1: wrapped) in `ret`. [`ENOSYS`] from a kernel
    /// that has no such call (6.1), which then changes nothing.
    AllocCyclic,
    /// Cursor: `mas_reset()`.
    Reset,
    /// Cursor: `mas_set_range(a, b)`.
    SetRange,
    /// Cursor: `mas_empty_area(min a, max b, size c)` as it stands.
    CurEmptyArea,
    /// Cursor: `mas_empty_area_rev(min a, max b, size c)` as it stands.
    CurEmptyAreaRev,
    /// Cursor: `mas_store_gfp(c)` (the state's range), after saving the
    /// cursor for [`OpCode::CurRestore`].
    CurStore,
    /// Cursor: `mas_erase()`, after saving the cursor.
    CurErase,
    /// Cursor: back to where the last `CurStore`/`CurErase` found it.
    CurRestore,
    /// `a != 0`: RCU callbacks (the frees of replaced nodes) wait for
    /// [`OpCode::RcuBarrier`] instead of running at the end of each op.
    RcuHold,
    /// A grace period ends: every queued RCU callback runs.
    RcuBarrier,
    /// `mt_validate()`'s checks of each node on the nodes at the `b`
    /// addresses of the array at address `a` that the tree still reaches,
    /// and on the nodes on the way to them
    /// ([`KernelTree::validate_changed`]).
    ValidateChanged,
}

/// `-ENOSYS`: the answer of an op the kernel tree has no function for.
pub const ENOSYS: i64 = -38;

/// What went wrong inside the kernel code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReportKind {
    /// A `BUG_ON` or a debug `MT_BUG_ON` (the op was unwound; the tree is
    /// unusable after it).
    Bug,
    /// A `WARN_ON` (also unwound: the code after one dereferences what it
    /// found missing).
    Warn,
    /// A free of something that is not a live node (a double free).
    BadFree,
}

/// A BUG, WARN or bad free, with the kernel's printk output before it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Report {
    /// What happened.
    pub kind: ReportKind,
    /// One line: the condition and where.
    pub what: String,
    /// The kernel's messages before it (mt_validate's, for example).
    pub log: String,
}

impl std::fmt::Display for Report {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "kernel {:?}: {}", self.kind, self.what)?;
        let log = self.log.trim();
        if !log.is_empty() {
            write!(f, "\n{log}")?;
        }
        Ok(())
    }
}

/// Node allocator counters.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counters {
    /// Nodes allocated and not freed.
    pub live: u64,
    /// Allocations that succeeded.
    pub allocated: u64,
    /// Frees.
    pub freed: u64,
    /// Allocations refused by the fault schedule.
    pub failed: u64,
    /// Allocation attempts since the schedule was set.
    pub attempts: u64,
}

/// The fault schedule (as `maplefuzz::tree::FaultSchedule`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Faults {
    /// Allocations never fail.
    Never,
    /// Only the k-th allocation from now fails.
    Nth(u64),
    /// The next n allocations fail.
    Next(u64),
    /// Every n-th allocation fails.
    Every(u64),
    /// The k-th allocation and every later one fail.
    From(u64),
}

/// One kernel maple tree.
pub struct KernelTree {
    vt: &'static RawVtable,
    h: NonNull<c_void>,
    variant: &'static str,
    /// `changed_nodes`' buffer, kept between calls.
    changed: Vec<u64>,
}

// SAFETY: the C side keeps all state in the handle and sets its
// thread-local "current handle" on every call, so a tree may move between
// threads. It is not Sync: calls must not overlap.
unsafe impl Send for KernelTree {}

impl KernelTree {
    /// A fresh tree with `flags` (`mt_init_flags`) of the given variant.
    pub fn new(variant: &VariantInfo, flags: u32) -> KernelTree {
        let vt = variant.vtable;
        assert_eq!(vt.abi, ABI, "kernel engine ABI mismatch");
        // SAFETY: new_tree returns a fresh handle or NULL.
        let h = unsafe { (vt.new_tree)(flags) };
        KernelTree {
            vt,
            h: NonNull::new(h).expect("kernel engine: out of memory"),
            variant: variant.name,
            changed: Vec::new(),
        }
    }

    /// The variant this tree was built from.
    pub fn variant(&self) -> &'static str {
        self.variant
    }

    /// Runs one op. A BUG or WARN unwinds the op and is returned as an
    /// error (further ops then fail with the same report); a bad free is
    /// reported after the op completes.
    pub fn apply(
        &mut self,
        op: OpCode,
        a: u64,
        b: u64,
        c: u64,
        d: u64,
    ) -> Result<RawResult, Report> {
        self.call(op, a, b, c, d)
    }

    // Takes &self: the C side keeps its state behind the handle pointer, and
    // the type is not Sync, so calls never overlap.
    fn call(&self, op: OpCode, a: u64, b: u64, c: u64, d: u64) -> Result<RawResult, Report> {
        let mut r = RawResult::default();
        // SAFETY: the handle is live; r is a valid out pointer.
        let kind = unsafe { (self.vt.apply)(self.h.as_ptr(), op as c_int, a, b, c, d, &mut r) };
        match self.take_report(kind) {
            Some(rep) => Err(rep),
            None => Ok(r),
        }
    }

    fn take_report(&self, kind: c_int) -> Option<Report> {
        let kind = match kind {
            0 => return None,
            1 => ReportKind::Bug,
            2 => ReportKind::Warn,
            _ => ReportKind::BadFree,
        };
        let mut what = vec![0u8; 512];
        let mut log = vec![0u8; 4096];
        // SAFETY: the buffers are as long as passed.
        unsafe {
            (self.vt.report)(
                self.h.as_ptr(),
                what.as_mut_ptr().cast(),
                what.len(),
                log.as_mut_ptr().cast(),
                log.len(),
            );
        }
        let text = |v: Vec<u8>| {
            let end = v.iter().position(|&b| b == 0).unwrap_or(v.len());
            String::from_utf8_lossy(&v[..end]).into_owned()
        };
        let rep = Report {
            kind,
            what: text(what),
            log: text(log),
        };
        if kind == ReportKind::BadFree {
            // The op completed; the next op starts with a clean report.
            // SAFETY: the handle is live.
            unsafe { (self.vt.clear_report)(self.h.as_ptr()) };
        }
        Some(rep)
    }

    /// The kernel's `mt_validate()`; its complaint if it has one.
    pub fn mt_validate(&self) -> Result<(), Report> {
        self.call(OpCode::Validate, 0, 0, 0, 0).map(|_| ())
    }

    /// `mt_validate()`'s checks of each node (parent slot, limits, child
    /// slots, gaps, occupancy, no dead node), by the kernel's own static
    /// validators, on the nodes of `nodes` (as
    /// [`changed_nodes`](Self::changed_nodes) names them) that the tree
    /// reaches, and on the nodes on the way to them: what ops wrote, at the
    /// cost of what they wrote. Addresses that are not live nodes are
    /// passed over.
    pub fn validate_changed(&self, nodes: &[u64]) -> Result<(), Report> {
        let at = nodes.as_ptr() as u64;
        self.call(OpCode::ValidateChanged, at, nodes.len() as u64, 0, 0)
            .map(|_| ())
    }

    /// Every entry as `(first, last, entry)`, found by the kernel's own
    /// `mas_for_each()`.
    pub fn entries(&self) -> Result<Vec<(u64, u64, u64)>, Report> {
        self.entries_in(0, u64::MAX)
    }

    /// The entries that meet `[lo, hi]`, as `(first, last, entry)`: the
    /// kernel's `mas_for_each()` from `lo` up to `hi`.
    pub fn entries_in(&self, lo: u64, hi: u64) -> Result<Vec<(u64, u64, u64)>, Report> {
        let mut cap = 64usize;
        loop {
            let mut buf = vec![0u64; 3 * cap];
            let mut n = 0usize;
            // SAFETY: buf holds 3 * cap words; n is a valid out pointer.
            let kind = unsafe {
                (self.vt.entries)(self.h.as_ptr(), lo, hi, buf.as_mut_ptr(), cap, &mut n)
            };
            if let Some(rep) = self.take_report(kind) {
                return Err(rep);
            }
            if n <= cap {
                return Ok(buf[..3 * n].chunks(3).map(|c| (c[0], c[1], c[2])).collect());
            }
            cap = n;
        }
    }

    /// Allocator counters.
    pub fn counters(&self) -> Counters {
        let mut c = [0u64; 5];
        // SAFETY: the handle is live; c has five words.
        unsafe { (self.vt.counters)(self.h.as_ptr(), c.as_mut_ptr()) };
        Counters {
            live: c[0],
            allocated: c[1],
            freed: c[2],
            failed: c[3],
            attempts: c[4],
        }
    }

    /// Suspends (`true`) or resumes the fault schedule: while suspended,
    /// allocations neither fail nor count against it.
    pub fn suspend_faults(&mut self, on: bool) {
        // SAFETY: the handle is live.
        unsafe { (self.vt.suspend_faults)(self.h.as_ptr(), c_int::from(on)) };
    }

    /// Sets the fault schedule and restarts its count.
    pub fn set_faults(&mut self, f: Faults) {
        let (k, a) = match f {
            Faults::Never => (0, 0),
            Faults::Nth(k) => (1, k),
            Faults::Next(n) => (2, n),
            Faults::Every(n) => (3, n),
            Faults::From(k) => (4, k),
        };
        // SAFETY: the handle is live.
        unsafe { (self.vt.set_faults)(self.h.as_ptr(), k, a) };
    }

    /// The 32 words of the live node at `addr`, or `None` if no live node
    /// of this tree's allocator is there (so corrupt pointers are safe).
    pub fn read_node(&self, addr: u64) -> Option<[u64; 32]> {
        let mut w = [0u64; 32];
        // SAFETY: the C side checks addr against its own chunks first.
        let ok = unsafe { (self.vt.read_node)(self.h.as_ptr(), addr, w.as_mut_ptr()) };
        (ok != 0).then_some(w)
    }

    /// The addresses of the nodes allocated, freed or written since the
    /// last call (the first call names every live node): the C side keeps
    /// a copy of every live node and compares. `None` if more than `cap`
    /// changed (the copies are taken all the same).
    pub fn changed_nodes(&mut self, cap: usize) -> Option<Vec<u64>> {
        self.changed.resize(cap.max(self.changed.len()), 0);
        // SAFETY: the handle is live and the buffer holds `cap` words.
        let n = unsafe { (self.vt.changed)(self.h.as_ptr(), self.changed.as_mut_ptr(), cap) };
        (n <= cap).then(|| self.changed[..n].to_vec())
    }

    /// `mt->ma_root`.
    pub fn root(&self) -> u64 {
        // SAFETY: the handle is live.
        unsafe { (self.vt.root)(self.h.as_ptr()) }
    }

    /// `mt->ma_flags`.
    pub fn flags(&self) -> u32 {
        // SAFETY: the handle is live.
        unsafe { (self.vt.flags)(self.h.as_ptr()) }
    }

    /// The address of the `struct maple_tree` (what a root node's parent
    /// word points at).
    pub fn tree_addr(&self) -> u64 {
        // SAFETY: the handle is live.
        unsafe { (self.vt.tree_addr)(self.h.as_ptr()) }
    }

    /// Nodes the writer state holds (`mas_allocated()`).
    pub fn held(&self) -> u64 {
        // SAFETY: the handle is live.
        unsafe { (self.vt.held)(self.h.as_ptr()) }
    }
}

impl KernelTree {
    /// Starts `threads` reader threads on this tree (which must be in RCU
    /// mode), each reading keys of `keys` at random (seeded by `seed`) with
    /// the kernel's lockless read API until [`readers_stop`], making the
    /// reads of `reads` (empty: all; [`ReaderOp::Next`] is steps after a
    /// walk); each logs up to `cap` observations. While they run, every op waits for a grace
    /// period before it frees what it replaced, unless `no_grace` (a
    /// planted bug for tests: nodes freed under the readers). The error is
    /// the C side's errno (`-EINVAL`: not in RCU mode, already running, or
    /// nothing to do).
    ///
    /// [`readers_stop`]: KernelTree::readers_stop
    pub fn readers_start(
        &mut self,
        threads: u32,
        keys: &[u64],
        seed: u64,
        cap: usize,
        reads: &[ReaderOp],
        no_grace: bool,
    ) -> Result<(), i32> {
        let mask = reads.iter().fold(0u32, |m, r| m | r.bit()) & 0xf;
        let flags = u32::from(no_grace) | (mask << 8);
        // SAFETY: the handle is live; keys is copied by the C side.
        let r = unsafe {
            (self.vt.readers_start)(
                self.h.as_ptr(),
                threads,
                keys.as_ptr(),
                keys.len(),
                seed,
                cap,
                flags,
            )
        };
        if r == 0 {
            Ok(())
        } else {
            Err(r)
        }
    }

    /// Stops and joins the reader threads (nothing if none run).
    pub fn readers_stop(&mut self) {
        // SAFETY: the handle is live.
        unsafe { (self.vt.readers_stop)(self.h.as_ptr()) }
    }

    /// The writer's sequence number: two steps per C op run while readers
    /// ran (odd while an op runs).
    pub fn readers_seq(&self) -> u64 {
        // SAFETY: the handle is live; the C side reads it atomically.
        unsafe { (self.vt.readers_seq)(self.h.as_ptr()) }
    }

    /// Stops the readers if they run, and takes what they logged.
    pub fn readers_drain(&mut self) -> ReaderLog {
        self.readers_stop();
        let mut cap = 0usize;
        loop {
            let mut buf = vec![Observation::default(); cap];
            let mut stats = [0u64; 6];
            let mut what = vec![0u8; 512];
            // SAFETY: buf holds cap observations, stats six words, what
            // what.len() bytes.
            let n = unsafe {
                (self.vt.readers_drain)(
                    self.h.as_ptr(),
                    buf.as_mut_ptr(),
                    cap,
                    stats.as_mut_ptr(),
                    what.as_mut_ptr().cast(),
                    what.len(),
                )
            };
            if n > cap {
                cap = n;
                continue;
            }
            buf.truncate(n);
            let end = what.iter().position(|&b| b == 0).unwrap_or(what.len());
            return ReaderLog {
                observations: buf,
                made: stats[0],
                dropped: stats[2],
                quiet: stats[3],
                seq: stats[4],
                bug: (stats[5] != 0).then(|| String::from_utf8_lossy(&what[..end]).into_owned()),
            };
        }
    }
}

impl Drop for KernelTree {
    fn drop(&mut self) {
        // SAFETY: the handle is live and not used after this.
        unsafe { (self.vt.free_handle)(self.h.as_ptr()) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixed() -> Option<VariantInfo> {
        if let Some(why) = unavailable() {
            eprintln!("kernel engine unavailable: {why}");
            assert!(
                std::env::var_os("MAPLEFUZZ_REQUIRE_KERNEL").is_none(),
                "MAPLEFUZZ_REQUIRE_KERNEL is set but the engine is unavailable: {why}"
            );
            return None;
        }
        Some(variant("fixed").expect("the fixed variant is always built"))
    }

    #[test]
    fn store_load_and_count_nodes() {
        let Some(v) = fixed() else { return };
        let mut t = KernelTree::new(&v, 0);
        for i in 0..100u64 {
            let r = t
                .apply(OpCode::Store, i * 10, i * 10 + 5, 2 * i + 1, 0)
                .unwrap();
            assert_eq!(r.ret, 0);
        }
        let r = t.apply(OpCode::Load, 503, 0, 0, 0).unwrap();
        assert_eq!(r.entry, 2 * 50 + 1);
        let r = t.apply(OpCode::Load, 507, 0, 0, 0).unwrap();
        assert_eq!(r.entry, 0);
        assert!(t.counters().live > 1);
        t.mt_validate().unwrap();
        t.apply(OpCode::Destroy, 0, 0, 0, 0).unwrap();
        assert_eq!(t.counters().live, 0);
    }

    #[test]
    fn fault_schedule_fails_the_store() {
        let Some(v) = fixed() else { return };
        let mut t = KernelTree::new(&v, 0);
        // An empty tree needs a node for a range away from 0.
        t.set_faults(Faults::From(1));
        let r = t.apply(OpCode::Store, 10, 20, 5, 0).unwrap();
        assert_eq!(r.ret, -12, "ENOMEM");
        assert!(t.counters().failed > 0);
        assert_eq!(t.counters().live, 0, "nothing leaked");
        t.set_faults(Faults::Never);
        assert_eq!(t.apply(OpCode::Store, 10, 20, 5, 0).unwrap().ret, 0);
    }

    #[test]
    fn readers_run_beside_the_writer() {
        let Some(v) = fixed() else { return };
        const USE_RCU: u32 = 0x02;
        let keys: Vec<u64> = (0..64u64).map(|i| i * 7).collect();
        let mut plain = KernelTree::new(&v, 0);
        assert_eq!(plain.readers_start(2, &keys, 1, 1024, &[], false), Err(-22));
        let mut t = KernelTree::new(&v, USE_RCU);
        t.readers_start(2, &keys, 1, 1 << 16, &[], false).unwrap();
        let mut ops = 0u64;
        for round in 0..30u64 {
            for i in 0..60u64 {
                let value = 2 * (round * 100 + i) + 1;
                t.apply(OpCode::Store, i * 7, i * 7 + 3, value, 0).unwrap();
                ops += 1;
            }
            for i in (0..60u64).step_by(3) {
                t.apply(OpCode::Erase, i * 7, 0, 0, 0).unwrap();
                ops += 1;
            }
        }
        t.mt_validate().unwrap();
        ops += 1;
        let log = t.readers_drain();
        assert!(log.bug.is_none(), "{:?}", log.bug);
        assert_eq!(log.seq, 2 * ops);
        assert!(!log.observations.is_empty());
        for o in &log.observations {
            assert!(o.seq_before <= o.seq_after && o.seq_after <= log.seq);
            // Only values the writer stored, or NULL.
            assert!(
                o.value == 0 || (o.value & 1 == 1 && o.value < 2 * 3000 + 1),
                "{o:?}"
            );
        }
        // Stopped: ops no longer move the sequence number.
        t.apply(OpCode::Store, 1, 1, 3, 0).unwrap();
        assert_eq!(t.readers_seq(), log.seq);
    }

    /// `changed_nodes` names what was allocated, freed or written, and
    /// nothing else: checked against copies of every live node taken here.
    #[test]
    fn changed_nodes_names_every_node_written_and_no_other() {
        let Some(v) = fixed() else { return };
        let mut t = KernelTree::new(&v, 0);
        for i in 0..200u64 {
            t.apply(OpCode::Store, i * 4, i * 4 + 1, 2 * i + 1, 0)
                .unwrap();
        }
        // The first call names every live node.
        let first = t.changed_nodes(1 << 16).unwrap();
        assert_eq!(first.len() as u64, t.counters().live);
        assert_eq!(t.changed_nodes(1 << 16), Some(Vec::new()));
        let snapshot = |t: &KernelTree, addrs: &[u64]| -> Vec<(u64, Option<[u64; 32]>)> {
            addrs.iter().map(|&a| (a, t.read_node(a))).collect()
        };
        let mut known: Vec<u64> = first;
        let mut x: u64 = 0x2545_f491;
        for step in 0..400u64 {
            let before = snapshot(&t, &known);
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let first = x % 900;
            let last = first + (x >> 20) % if step % 9 == 0 { 90 } else { 3 };
            if step % 5 == 0 {
                t.apply(OpCode::Erase, first, 0, 0, 0).unwrap();
            } else {
                t.apply(OpCode::Store, first, last, 2 * step + 1, 0)
                    .unwrap();
            }
            let mut changed = t.changed_nodes(1 << 16).unwrap();
            changed.sort_unstable();
            // Every node we knew of that differs now is named...
            for (a, was) in &before {
                if t.read_node(*a) != *was {
                    assert!(changed.binary_search(a).is_ok(), "step {step}: {a:#x}");
                }
            }
            // ...and every node named differs, or is new.
            for a in &changed {
                match before.iter().find(|(b, _)| b == a) {
                    Some((_, was)) => assert_ne!(t.read_node(*a), *was, "step {step}"),
                    None => assert!(t.read_node(*a).is_some(), "step {step}: {a:#x}"),
                }
            }
            for a in changed {
                if !known.contains(&a) {
                    known.push(a);
                }
            }
        }
        // A call with too little room takes the copies all the same.
        t.apply(OpCode::Store, 3, 900, 7, 0).unwrap();
        assert_eq!(t.changed_nodes(0), None);
        assert_eq!(t.changed_nodes(1 << 16), Some(Vec::new()));
    }

    #[test]
    fn read_node_refuses_what_is_not_a_node() {
        let Some(v) = fixed() else { return };
        let mut t = KernelTree::new(&v, 0);
        for i in 0..20u64 {
            t.apply(OpCode::Store, i * 4, i * 4 + 1, 2 * i + 1, 0)
                .unwrap();
        }
        let root = t.root();
        assert!(t.read_node(root & !0xff).is_some());
        assert!(t.read_node(0x1000).is_none());
        assert!(t.read_node((root & !0xff) + 8).is_none());
    }
}
