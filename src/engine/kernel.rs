// SPDX-License-Identifier: GPL-2.0-or-later
//! The kernel engine: the real `lib/maple_tree.c` (crate
//! `maplefuzz-kernel`), driven exactly as [`RustEngine`](super::RustEngine)
//! drives the port, so that the two give the same answers, hold the same
//! nodes and build the same node layouts.
//!
//! Its nodes are copied into a port [`MapleTree`] after each op (addresses
//! renumbered) so that the port's validation (every `mt_validate` check and
//! the stricter ones) and dump run over the kernel's nodes, and so that the
//! executor's structural check can compare the two node graphs.

use std::cell::RefCell;

use maplefuzz_kernel::{Faults, KernelTree, OpCode, RawResult, Report, ReportKind, VariantInfo};

use super::{
    tok, BulkBook, CursorBook, Inspect, NodeAccounting, Outcome, PreallocBook, TreeEngine,
};
use crate::ops::{token_to_entry, TreeConfig, TreeOp};
use crate::tree::{Errno, FaultSchedule, MapleTree, PreallocViolation, Status, StoreStats};

/// The real kernel maple tree.
pub struct KernelEngine {
    tree: KernelTree,
    /// `kernel` for the build's default tree, else `kernel@X.Y`.
    name: &'static str,
    /// The tree's maple tree generation.
    generation: &'static str,
    /// The tree's preallocation rule, by name (`VariantInfo::prealloc_rule`).
    prealloc_rule: &'static str,
    book: PreallocBook,
    /// The writer's bulk mode (see `engine::bulk`).
    bulk: BulkBook,
    /// The cursor's error status (see `engine::CursorBook`).
    cur: CursorBook,
    /// The cursor's status after the last op.
    cur_status: Status,
    /// The cursor's `[index, last]` after the last op.
    cur_range: (u64, u64),
    alloc_tree: bool,
    rcu: bool,
    /// The kernel's nodes as a port tree, made when first asked for after
    /// an op.
    image: RefCell<Option<MapleTree>>,
    /// The nodes the C ops changed since the last validation, for the
    /// per-op one (`None`: more than [`CHANGED_CAP`]; the next per-op
    /// validation is the kernel's whole `mt_validate()`).
    written: RefCell<Option<Vec<u64>>>,
    /// The nodes changed since the copy-on-write check last took them, in
    /// an RCU-mode program (`None`: too many; the check reads the whole
    /// tree again).
    rcu_changed: Option<Vec<u64>>,
}

/// How many changed nodes the engine lists between two checks; beyond, the
/// checks read the whole tree (a destroy, a bulk load).
const CHANGED_CAP: usize = 1 << 14;

/// Whether the C op `op` only reads the tree (by the kernel's contract).
fn reads_only(op: OpCode) -> bool {
    use OpCode::*;
    matches!(
        op,
        Load | Find
            | Walk
            | MasFind
            | MasFindRev
            | MasNext
            | MasPrev
            | Pause
            | Set
            | Reset
            | SetRange
            | EmptyArea
            | EmptyAreaRev
            | CurEmptyArea
            | CurEmptyAreaRev
            | CurRestore
            | Validate
            | RcuHold
    )
}

/// Adds `changed` to the list `into`; a list that would grow past
/// [`CHANGED_CAP`], or an unknown change, makes it `None`.
fn note_changed(into: &mut Option<Vec<u64>>, changed: Option<&[u64]>) {
    match (into.as_mut(), changed) {
        (Some(v), Some(c)) if v.len() + c.len() <= CHANGED_CAP => v.extend_from_slice(c),
        _ => *into = None,
    }
}

/// Why a kernel engine cannot be made.
pub fn unavailable_reason() -> Option<String> {
    maplefuzz_kernel::unavailable().map(|why| {
        format!(
            "the kernel engine was not built: {why}. Install Debian's linux-source-6.12 \
             (apt-get install linux-source-6.12) or set LINUX_SRC to an unpacked Linux tree, \
             then rebuild"
        )
    })
}

/// The compiled kernel variants.
pub fn variants() -> Vec<VariantInfo> {
    maplefuzz_kernel::variants()
}

fn errno(ret: i64) -> Result<(), Errno> {
    match ret {
        0 => Ok(()),
        -22 => Err(Errno::EINVAL),
        -17 => Err(Errno::EEXIST),
        -16 => Err(Errno::EBUSY),
        -12 => Err(Errno::ENOMEM),
        other => panic!("kernel returned an errno the harness does not model: {other}"),
    }
}

fn status(s: i32) -> Status {
    match s {
        0 => Status::Active,
        1 => Status::Start,
        2 => Status::Root,
        3 => Status::None,
        4 => Status::Pause,
        5 => Status::Overflow,
        6 => Status::Underflow,
        _ => Status::Error,
    }
}

fn entry(value: Option<u64>) -> u64 {
    value.map_or(0, token_to_entry)
}

fn nonzero(e: u64) -> Option<u64> {
    (e != 0).then_some(e)
}

impl KernelEngine {
    /// A fresh kernel tree of `variant` (see [`variants`]) with `config`.
    pub fn new(variant: &VariantInfo, config: TreeConfig) -> KernelEngine {
        let default = maplefuzz_kernel::default_tree() == Some(variant.tree);
        let mut e = KernelEngine {
            tree: KernelTree::new(variant, config.flags()),
            name: if default { "kernel" } else { variant.engine },
            generation: variant.generation,
            prealloc_rule: variant.prealloc_rule,
            book: PreallocBook::default(),
            bulk: BulkBook::default(),
            cur: CursorBook::default(),
            cur_status: Status::Start,
            cur_range: (0, 0),
            alloc_tree: config.alloc,
            rcu: config.rcu,
            image: RefCell::new(None),
            written: RefCell::new(Some(Vec::new())),
            rcu_changed: Some(Vec::new()),
        };
        if config.rcu {
            // Replaced nodes wait for grace_period(): the executor looks at
            // the tree as readers see it first.
            e.call(OpCode::RcuHold, 1, 0, 0, 0);
        }
        e
    }

    /// The variant this engine runs.
    pub fn variant(&self) -> &'static str {
        self.tree.variant()
    }

    /// Starts reader threads on the kernel's tree (an RCU-mode tree only):
    /// see `maplefuzz_kernel::KernelTree::readers_start` and
    /// `driver::readers`.
    pub fn readers_start(
        &mut self,
        threads: u32,
        keys: &[u64],
        seed: u64,
        cap: usize,
        reads: &[maplefuzz_kernel::ReaderOp],
        no_grace: bool,
    ) -> Result<(), i32> {
        self.tree
            .readers_start(threads, keys, seed, cap, reads, no_grace)
    }

    /// The writer's sequence number (two steps per C op while readers run).
    pub fn readers_seq(&self) -> u64 {
        self.tree.readers_seq()
    }

    /// Stops the reader threads and takes their observations.
    pub fn readers_drain(&mut self) -> maplefuzz_kernel::ReaderLog {
        self.tree.readers_drain()
    }

    /// Runs one C op, the kernel's BUG, WARN or bad free as an error.
    fn try_call(
        &mut self,
        op: OpCode,
        a: u64,
        b: u64,
        c: u64,
        d: u64,
    ) -> Result<RawResult, Report> {
        self.image.replace(None);
        let r = self.tree.apply(op, a, b, c, d)?;
        // The nodes the op changed, for the per-op validation and the
        // copy-on-write check. A search or a cursor move writes no node
        // (if one did, the next write's list would name it: the shim
        // compares with its copies from the last time it was asked).
        if !reads_only(op) {
            let changed = self.tree.changed_nodes(CHANGED_CAP);
            note_changed(self.written.get_mut(), changed.as_deref());
            if self.rcu {
                note_changed(&mut self.rcu_changed, changed.as_deref());
            }
        }
        self.cur_status = status(r.status);
        self.cur_range = (r.cur_index, r.cur_last);
        Ok(r)
    }

    /// Runs one C op; a BUG, WARN or bad free inside the kernel code becomes
    /// a panic the executor reports (a preallocation BUG as the
    /// preallocation check's [`PreallocViolation`]).
    fn call(&mut self, op: OpCode, a: u64, b: u64, c: u64, d: u64) -> RawResult {
        match self.try_call(op, a, b, c, d) {
            Ok(r) => r,
            Err(rep) => {
                let in_alloc =
                    rep.what.contains("mas_alloc_nodes") || rep.what.contains("mas_pop_node");
                if in_alloc && rep.kind != ReportKind::BadFree {
                    std::panic::panic_any(PreallocViolation(format!(
                        "the kernel ran out of preallocated nodes: {rep}"
                    )));
                }
                panic!("{rep}");
            }
        }
    }

    fn cursor(r: &RawResult) -> Outcome {
        Outcome::Cursor {
            entry: tok(nonzero(r.entry)),
            index: r.index,
            last: r.last,
            status: status(r.status),
        }
    }

    fn image(&self) -> std::cell::Ref<'_, MapleTree> {
        if self.image.borrow().is_none() {
            let t = &self.tree;
            let read = |addr: u64| t.read_node(addr);
            let gapless = if self.generation == "6.1" {
                gapless_6_1_nodes(t.root(), &read)
            } else {
                Vec::new()
            };
            let read = |addr: u64| {
                let mut words = t.read_node(addr)?;
                if gapless.contains(&addr) {
                    // See gapless_6_1_nodes: 6.1's "no gap" is 6.12's gap
                    // offset at the data end.
                    let end = words[ARANGE_META] & 0xff;
                    words[ARANGE_META] = (words[ARANGE_META] & !0xff00) | (end << 8);
                }
                Some(words)
            };
            let img = MapleTree::from_raw(t.root(), t.flags(), t.tree_addr(), &read);
            self.image.replace(Some(img));
        }
        std::cell::Ref::map(self.image.borrow(), |i| i.as_ref().expect("image made"))
    }

    /// `mas_expected_entries()` on the writer, as a fresh `MA_STATE` would
    /// start it (bulk mode; again in bulk mode, a used-up reservation is
    /// the caller's error).
    fn expected_entries(&mut self, count: u64) -> Outcome {
        let r = if self.bulk.is_on() {
            // Again in bulk mode: MA_STATE_PREALLOC is still set, so
            // mas_alloc_nodes() adds nothing to a pool that holds
            // nodes and BUGs on an empty one (the caller's error).
            match self.try_call(OpCode::ExpectedEntries, count, 0, 0, 0) {
                Ok(r) => r,
                Err(rep)
                    if rep.kind != ReportKind::BadFree && rep.what.contains("mas_alloc_nodes") =>
                {
                    return Outcome::CallerError(format!(
                        "expected_entries {count} on a bulk writer whose reservation \
                         is used up: {rep}"
                    ));
                }
                Err(rep) => panic!("{rep}"),
            }
        } else {
            self.call(OpCode::ExpectedEntries, count, 0, 0, 0)
        };
        let res = errno(r.ret);
        self.bulk.reserved(res.is_ok());
        Outcome::Status(res)
    }

    /// `mas_store()` on the writer: checked against the bulk reservation or
    /// the pending preallocation, whose overrun is the caller's error.
    fn mas_store(&mut self, first: u64, last: u64, value: Option<u64>) -> Outcome {
        if first > last {
            // The kernel WARNs (debug builds) and fails the store.
            return Outcome::Status(Err(Errno::EINVAL));
        }
        if self.bulk.is_on() {
            // A bulk store: running out of what mas_expected_entries()
            // reserved BUGs in the allocator (the caller's error).
            return match self.try_call(OpCode::MasStore, first, last, entry(value), 0) {
                Ok(r) => Outcome::Status(errno(r.ret)),
                Err(rep)
                    if rep.kind != ReportKind::BadFree
                        && (rep.what.contains("mas_alloc_nodes")
                            || rep.what.contains("mas_pop_node")) =>
                {
                    Outcome::CallerError(format!(
                        "bulk mas_store {first:#x}-{last:#x} needed more nodes than \
                         mas_expected_entries() reserved: {rep}"
                    ))
                }
                Err(rep) => panic!("{rep}"),
            };
        }
        let other_store = self.book.is_other_store(first, last, value);
        if !other_store {
            let r = self.call(OpCode::MasStore, first, last, entry(value), 0);
            return Outcome::Status(errno(r.ret));
        }
        let pending = self.book.pending;
        match self.try_call(OpCode::MasStore, first, last, entry(value), 0) {
            Ok(r) => Outcome::Status(errno(r.ret)),
            Err(rep) => Outcome::CallerError(format!(
                "mas_store {first:#x}-{last:#x} on a writer preallocated for {pending:?} \
                 needed more nodes than it held: {rep}"
            )),
        }
    }
}

impl TreeEngine for KernelEngine {
    fn name(&self) -> &'static str {
        self.name
    }

    fn generation(&self) -> Option<&'static str> {
        Some(self.generation)
    }

    fn prealloc_rule(&self) -> Option<super::PreallocRule> {
        super::PreallocRule::from_name(self.prealloc_rule)
    }

    fn apply_unfaulted(&mut self, op: &TreeOp) -> Outcome {
        if op.writes_at_cursor() && self.cur.failed() {
            // The write failed whole and left the cursor in error status;
            // the tree is as before it, so the cursor it started from
            // still stands (a caller retrying would re-position it).
            self.call(OpCode::CurRestore, 0, 0, 0, 0);
            self.cur = CursorBook::default();
        }
        self.tree.suspend_faults(true);
        let out = self.apply(op);
        self.tree.suspend_faults(false);
        out
    }

    fn apply(&mut self, op: &TreeOp) -> Outcome {
        if let Err(m) = self.bulk.check(op, self.rcu, || self.tree.root() == 0) {
            return Outcome::CallerError(m);
        }
        if op.uses_cursor_state() && self.generation == "6.1" {
            // As the 6.1 oracle: not modelled (see reference/src/cursor).
            return Outcome::Unsupported;
        }
        let (index, last) = self.cur_range;
        // xa_is_node(): an internal entry above the reserved values.
        let root = self.tree.root();
        let nodes = root & 3 == 2 && root > 4096;
        if let Err(m) = self.cur.check(op, self.cur_status, index, last, nodes) {
            return Outcome::CallerError(m);
        }
        let outcome = self.apply_op(op);
        self.cur.after(op, &outcome);
        outcome
    }

    fn entries(&self) -> Vec<(u64, u64, u64)> {
        self.entries_in(0, u64::MAX)
    }

    fn entries_in(&self, lo: u64, hi: u64) -> Vec<(u64, u64, u64)> {
        self.entries_in_kernel(lo, hi)
    }

    fn inspect(&self) -> Option<&dyn Inspect> {
        Some(self)
    }

    fn take_changed_nodes(&mut self) -> Option<Vec<u64>> {
        if !self.rcu {
            return None;
        }
        self.rcu_changed.replace(Vec::new())
    }

    fn grace_period(&mut self) {
        // Whether or not the tree is still in RCU mode (a 6.1 destroy
        // clears it after queueing the free walk).
        self.call(OpCode::RcuBarrier, 0, 0, 0, 0);
    }
}

impl KernelEngine {
    /// One op, once the shared rules let it run.
    fn apply_op(&mut self, op: &TreeOp) -> Outcome {
        self.bulk.enter(op);
        let (release, ready) = self.book.before(op);
        if release {
            self.call(OpCode::MasDestroy, 0, 0, 0, 0);
        }
        match *op {
            TreeOp::Store { first, last, value } => {
                let r = self.call(OpCode::Store, first, last, entry(value), 0);
                Outcome::Status(errno(r.ret))
            }
            TreeOp::Insert { first, last, value } => {
                let r = self.call(OpCode::Insert, first, last, token_to_entry(value), 0);
                Outcome::Status(errno(r.ret))
            }
            TreeOp::Erase { index } => {
                let r = self.call(OpCode::Erase, index, 0, 0, 0);
                Outcome::Entry(tok(nonzero(r.entry)))
            }
            TreeOp::Load { index } => {
                let r = self.call(OpCode::Load, index, 0, 0, 0);
                Outcome::Entry(tok(nonzero(r.entry)))
            }
            TreeOp::Find { index, max } => {
                let r = self.call(OpCode::Find, index, max, 0, 0);
                Outcome::Found {
                    entry: tok(nonzero(r.entry)),
                    index: r.index,
                }
            }
            TreeOp::EmptyArea { min, max, size } | TreeOp::EmptyAreaRev { min, max, size } => {
                if !self.alloc_tree {
                    // As the port's engine: gap search is for allocation trees.
                    return Outcome::Range(Err(Errno::EINVAL));
                }
                let code = if matches!(op, TreeOp::EmptyArea { .. }) {
                    OpCode::EmptyArea
                } else {
                    OpCode::EmptyAreaRev
                };
                let r = self.call(code, min, max, size, 0);
                Outcome::Range(errno(r.ret).map(|()| (r.index, r.last)))
            }
            TreeOp::AllocRange {
                size,
                min,
                max,
                value,
            }
            | TreeOp::AllocRRange {
                size,
                min,
                max,
                value,
            } => {
                let code = if matches!(op, TreeOp::AllocRange { .. }) {
                    OpCode::AllocRange
                } else {
                    OpCode::AllocRRange
                };
                let r = self.call(code, size, min, max, token_to_entry(value));
                Outcome::Alloc(errno(r.ret).map(|()| r.index))
            }
            TreeOp::AllocCyclic {
                min,
                max,
                next,
                value,
            } => {
                let r = self.call(OpCode::AllocCyclic, min, max, next, token_to_entry(value));
                if r.ret == maplefuzz_kernel::ENOSYS {
                    return Outcome::Unsupported;
                }
                // 1: the allocation succeeded after wrapping.
                let wrapped = r.ret == 1;
                let ret = if wrapped { 0 } else { r.ret };
                Outcome::Cyclic(errno(ret).map(|()| super::Cyclic {
                    id: r.index,
                    wrapped,
                    next: r.last,
                }))
            }
            TreeOp::Prealloc { first, last, value } => {
                if first > last {
                    return Outcome::Status(Err(Errno::EINVAL));
                }
                self.book.calling_preallocate(self.tree.held());
                let r = self.call(OpCode::Prealloc, first, last, entry(value), 0);
                let res = errno(r.ret);
                if res.is_ok() {
                    self.book.preallocated(first, last, value);
                }
                Outcome::Status(res)
            }
            TreeOp::StorePrealloc { value } => {
                if ready != Some(value) {
                    return Outcome::Status(Err(Errno::EINVAL));
                }
                self.book.pending = None;
                self.call(OpCode::StorePrealloc, 0, 0, entry(value), 0);
                Outcome::Status(Ok(()))
            }
            TreeOp::ExpectedEntries { count } => self.expected_entries(count),
            TreeOp::MasStore { first, last, value } => self.mas_store(first, last, value),
            TreeOp::MasDestroy => {
                self.call(OpCode::MasDestroy, 0, 0, 0, 0);
                self.book.pending = None;
                Outcome::Done
            }
            TreeOp::FailAllocs { schedule } => {
                self.tree.set_faults(match schedule {
                    FaultSchedule::Never => Faults::Never,
                    FaultSchedule::Nth(k) => Faults::Nth(k),
                    FaultSchedule::Next(n) => Faults::Next(n),
                    FaultSchedule::Every(n) => Faults::Every(n),
                    FaultSchedule::From(k) => Faults::From(k),
                });
                Outcome::Done
            }
            TreeOp::Walk { index } => Self::cursor(&self.call(OpCode::Walk, index, 0, 0, 0)),
            TreeOp::MasFind { max } => Self::cursor(&self.call(OpCode::MasFind, max, 0, 0, 0)),
            TreeOp::MasFindRev { min } => {
                Self::cursor(&self.call(OpCode::MasFindRev, min, 0, 0, 0))
            }
            TreeOp::MasNext { max } => Self::cursor(&self.call(OpCode::MasNext, max, 0, 0, 0)),
            TreeOp::MasPrev { min } => Self::cursor(&self.call(OpCode::MasPrev, min, 0, 0, 0)),
            TreeOp::Pause => {
                self.call(OpCode::Pause, 0, 0, 0, 0);
                Outcome::Done
            }
            TreeOp::Set { index } => {
                self.call(OpCode::Set, index, 0, 0, 0);
                Outcome::Done
            }
            TreeOp::Destroy => {
                self.call(OpCode::Destroy, 0, 0, 0, 0);
                // Linux 6.1's mtree_destroy() clears ma_flags: the tree is no
                // longer an allocation tree, nor in RCU mode (6.12 keeps
                // them). Follow the tree's own flags.
                let flags = self.tree.flags();
                self.alloc_tree = flags & MT_FLAGS_ALLOC_RANGE != 0;
                self.rcu = flags & MT_FLAGS_USE_RCU != 0;
                Outcome::Done
            }
            TreeOp::Reset => {
                self.call(OpCode::Reset, 0, 0, 0, 0);
                Outcome::Done
            }
            TreeOp::SetRange { first, last } => {
                self.call(OpCode::SetRange, first, last, 0, 0);
                Outcome::Done
            }
            TreeOp::CurEmptyArea { min, max, size }
            | TreeOp::CurEmptyAreaRev { min, max, size } => {
                if !self.alloc_tree {
                    return Outcome::Range(Err(Errno::EINVAL));
                }
                let code = if matches!(op, TreeOp::CurEmptyArea { .. }) {
                    OpCode::CurEmptyArea
                } else {
                    OpCode::CurEmptyAreaRev
                };
                let r = self.call(code, min, max, size, 0);
                Outcome::Range(errno(r.ret).map(|()| (r.index, r.last)))
            }
            TreeOp::CurStore { value } => {
                let r = self.call(OpCode::CurStore, 0, 0, entry(value), 0);
                match errno(r.ret) {
                    Ok(()) => Self::cursor(&r),
                    Err(e) => Outcome::Status(Err(e)),
                }
            }
            TreeOp::CurErase => Self::cursor(&self.call(OpCode::CurErase, 0, 0, 0, 0)),
        }
    }

    fn entries_in_kernel(&self, lo: u64, hi: u64) -> Vec<(u64, u64, u64)> {
        match self.tree.entries_in(lo, hi) {
            Ok(v) => v
                .into_iter()
                .map(|(a, b, e)| (a, b, crate::ops::entry_to_token(e)))
                .collect(),
            Err(rep) => panic!("{rep}"),
        }
    }
}

impl Inspect for KernelEngine {
    fn validate(&self) -> Result<(), String> {
        self.written.replace(Some(Vec::new()));
        self.tree
            .mt_validate()
            .map_err(|rep| format!("the kernel's mt_validate(): {rep}"))?;
        self.image()
            .validate()
            .map_err(|e| format!("over the kernel's nodes: {e}"))
    }

    /// The kernel's own checks of each node (`mt_validate()`'s), on the
    /// nodes the ops since the last validation changed and the paths to
    /// them; the port's stricter checks over the kernel's nodes wait for
    /// the full pass, which imports the whole tree.
    fn validate_written(&self, _range: Option<(u64, u64)>) -> Result<(), String> {
        match self.written.replace(Some(Vec::new())) {
            Some(nodes) if nodes.is_empty() => Ok(()),
            Some(nodes) => self.tree.validate_changed(&nodes).map_err(|rep| {
                format!(
                    "the kernel's mt_validate() checks, on the {} nodes the op changed and \
                     the paths to them: {rep}",
                    nodes.len()
                )
            }),
            None => self
                .tree
                .mt_validate()
                .map_err(|rep| format!("the kernel's mt_validate(): {rep}")),
        }
    }

    fn accounting(&self) -> NodeAccounting {
        NodeAccounting {
            live: self.tree.counters().live,
            reachable: self.image().reachable_nodes(),
            held: self.tree.held(),
        }
    }

    fn store_stats(&self) -> StoreStats {
        // The C code does not report its store types; the port's count.
        StoreStats::default()
    }

    fn held_at_prealloc(&self) -> Option<u64> {
        self.book.held_at_prealloc
    }

    fn dump(&self) -> String {
        self.image().dump()
    }

    fn failed_allocs(&self) -> u64 {
        self.tree.counters().failed
    }

    fn alloc_attempts(&self) -> u64 {
        self.tree.counters().attempts
    }

    fn node_traffic(&self) -> Option<(u64, u64)> {
        let c = self.tree.counters();
        Some((c.allocated, c.freed))
    }

    fn with_nodes(&self, f: &mut dyn FnMut(&MapleTree)) -> bool {
        f(&self.image());
        true
    }

    fn raw_root(&self) -> Option<u64> {
        Some(self.tree.root())
    }

    fn raw_node(&self, addr: u64) -> Option<[u64; 32]> {
        self.tree.read_node(addr & !0xFF)
    }

    fn rcu_mode(&self) -> bool {
        self.tree.flags() & MT_FLAGS_USE_RCU != 0
    }
}

/// `MT_FLAGS_ALLOC_RANGE` and `MT_FLAGS_USE_RCU` in `ma_flags`.
const MT_FLAGS_ALLOC_RANGE: u32 = 0x01;
const MT_FLAGS_USE_RCU: u32 = 0x02;

/// The metadata word of a `maple_arange_64` node (parent, 9 pivots, 10
/// slots, 10 gaps, then `struct maple_metadata { end, gap }`).
const ARANGE_META: usize = 30;

/// The addresses of the `maple_arange_64` nodes of a Linux 6.1 tree that
/// mark "this node has no gap" the 6.1 way: every gap 0 and the metadata
/// gap offset `MAPLE_ARANGE64_META_MAX` (15), which 6.1's `mab_mas_cp()`
/// writes and its `ma_max_gap()` readers test for. 6.12 has no such mark
/// (its nodes name a real offset, and the port's validation demands one
/// within the data end), so the image reads the offset of those nodes as
/// the data end, which is what 6.1's own `ma_max_gap()` finds for a node
/// of zero gaps. A 15 beside a non-zero gap is left as it is, for the
/// validation to catch.
fn gapless_6_1_nodes(root: u64, read: &dyn Fn(u64) -> Option<[u64; 32]>) -> Vec<u64> {
    const META_MAX: u64 = 15;
    const ARANGE_64: u64 = 3;
    let is_node = |w: u64| w & 3 == 2 && w > 4096;
    let is_child = |w: u64| w > 4096 && w & 3 == 0 && w & 4 != 0;
    let mut out = Vec::new();
    if !is_node(root) {
        return out;
    }
    let mut stack = vec![(root & !2, 0)];
    while let Some((enode, depth)) = stack.pop() {
        let (addr, ty) = (enode & !0xff, (enode >> 3) & 0xf);
        if depth > 16 || ty < 2 {
            continue;
        }
        let Some(words) = read(addr) else { continue };
        let (slot_base, slots) = if ty == ARANGE_64 { (10, 10) } else { (16, 16) };
        for &w in &words[slot_base..slot_base + slots] {
            if is_child(w) {
                stack.push((w, depth + 1));
            }
        }
        if ty == ARANGE_64
            && (words[ARANGE_META] >> 8) & 0xff == META_MAX
            && words[20..30].iter().all(|&g| g == 0)
        {
            out.push(addr);
        }
    }
    out
}
