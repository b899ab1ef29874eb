//! The operation language: what a fuzz program is.
//!
//! A [`Program`] is a tree configuration and a list of [`TreeOp`]s. Every
//! driver (libFuzzer, honggfuzz, the stable driver, `cargo test`) turns its
//! input into a `Program` through the same decoders and runs it through the
//! same executor ([`crate::diff::run`]), so a failure found by one replays
//! identically in all the others.
//!
//! Entries are written as value tokens (`v7` in the text form). Every engine
//! stores token `t` as the word `2t + 1` (the kernel's `xa_mk_value(t)`), an
//! odd word that is never one of the kernel's internal encodings, and maps it
//! back when reporting results.

pub mod binary;
pub mod gen;
pub mod text;
pub mod vma;

/// How the tree under test is created (`mt_init_flags`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct TreeConfig {
    /// `MT_FLAGS_ALLOC_RANGE`: an allocation tree (arange_64 internal nodes, gaps).
    pub alloc: bool,
    /// `MT_FLAGS_USE_RCU`: RCU mode (copy-on-write node replacement).
    pub rcu: bool,
}

impl TreeConfig {
    /// The kernel's `ma_flags` for this configuration.
    pub fn flags(self) -> u32 {
        let mut f = 0;
        if self.alloc {
            f |= crate::tree::MT_FLAGS_ALLOC_RANGE;
        }
        if self.rcu {
            f |= crate::tree::MT_FLAGS_USE_RCU;
        }
        f
    }
}

/// One operation on the tree, or on the program's maple state (cursor).
///
/// Tree-level ops mirror the kernel's normal API (`mtree_*`, `mt_find`);
/// cursor ops mirror the advanced API (`mas_*`) on one maple state that
/// lives for the whole program, and the preallocation ops on a second one,
/// the writer. After any write through the tree API the
/// executor pauses the cursor, as a kernel caller must before reusing a
/// maple state across a write made elsewhere.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum TreeOp {
    /// `mtree_store_range(first, last, value)`; `None` stores NULL.
    Store {
        first: u64,
        last: u64,
        value: Option<u64>,
    },
    /// `mtree_insert_range(first, last, value)`: `EEXIST` on any overlap.
    Insert { first: u64, last: u64, value: u64 },
    /// `mtree_erase(index)`: removes the whole entry holding `index`.
    Erase { index: u64 },
    /// `mtree_load(index)`.
    Load { index: u64 },
    /// `mt_find(&index, max)`: the first entry in `[index, max]`.
    Find { index: u64, max: u64 },
    /// `mas_set(index)` then `mas_walk()`.
    Walk { index: u64 },
    /// `mas_find(max)`.
    MasFind { max: u64 },
    /// `mas_find_rev(min)`.
    MasFindRev { min: u64 },
    /// `mas_next(max)`.
    MasNext { max: u64 },
    /// `mas_prev(min)`.
    MasPrev { min: u64 },
    /// `mas_pause()`.
    Pause,
    /// `mas_set(index)`: move the cursor to `index` and restart it.
    Set { index: u64 },
    /// `mtree_destroy()`.
    Destroy,
    /// `mas_empty_area(min, max, size)` on a fresh maple state: the lowest
    /// free range. Allocation trees only (`EINVAL` on others, a harness
    /// convention: the kernel's search needs arange_64 gaps).
    EmptyArea { min: u64, max: u64, size: u64 },
    /// `mas_empty_area_rev(min, max, size)`: the highest free range.
    EmptyAreaRev { min: u64, max: u64, size: u64 },
    /// `mtree_alloc_range(&start, value, size, min, max)`.
    AllocRange {
        size: u64,
        min: u64,
        max: u64,
        value: u64,
    },
    /// `mtree_alloc_rrange(&start, value, size, min, max)`.
    AllocRRange {
        size: u64,
        min: u64,
        max: u64,
        value: u64,
    },
    /// `mas_set_range(first, last)` then `mas_preallocate(value)` on the
    /// program's writer maple state (a second state beside the cursor; see
    /// `engine::keeps_preallocation`).
    Prealloc {
        first: u64,
        last: u64,
        value: Option<u64>,
    },
    /// `mas_store_prealloc(value)` on the state as the last `Prealloc` left
    /// it (`EINVAL`, a harness convention, if no preallocation is pending).
    StorePrealloc { value: Option<u64> },
    /// `mas_set_range(first, last)` then `mas_store(value)`: on a
    /// preallocated state it uses the nodes left over and keeps the rest.
    MasStore {
        first: u64,
        last: u64,
        value: Option<u64>,
    },
    /// `mas_destroy()`: release what the state holds, end the preallocation.
    MasDestroy,
    /// From now on, fail node allocations by this schedule.
    FailAllocs { schedule: FaultSchedule },
    /// `mas_expected_entries(count)` on the writer: bulk mode for an
    /// in-order load of `count` entries, which the writer's `mas_store`s
    /// then make, until `mas_destroy`. Valid only on an empty tree not in
    /// RCU mode, or again in bulk mode (a top-up); while bulk mode is on,
    /// anything but in-order `mas_store`s, `expected_entries`,
    /// `mas_destroy` and `fail_allocs` is a caller error that stops the
    /// run (the rules are in `engine/bulk.rs`).
    ExpectedEntries { count: u64 },
    /// `mtree_alloc_cyclic(&id, value, min, max, &next)`: the lowest free
    /// index at or above `next` (and `min`) in `[min, max]`, else the lowest
    /// free one (the search wraps). The op names the `next` its caller
    /// passes, as a kernel caller owns its cursor; every engine answers
    /// with the id, whether the search wrapped (the kernel's return 1) and
    /// the `next` the call leaves (see `engine::Outcome::Cyclic`). The wrap
    /// the tree remembers after handing out `u64::MAX`
    /// (`MT_FLAGS_ALLOC_WRAPPED`) is the engines' own state. Kernels
    /// before 6.10 (6.1) have no such call: their engines and the 6.1
    /// oracle answer `Outcome::Unsupported`.
    AllocCyclic {
        min: u64,
        max: u64,
        next: u64,
        value: u64,
    },
    /// `mas_reset()` on the cursor: status start, `index`/`last` kept; the
    /// next op walks from the root.
    Reset,
    /// `mas_set_range(first, last)` on the cursor: the range a write at the
    /// state ([`TreeOp::CurStore`]) covers, status start.
    SetRange { first: u64, last: u64 },
    /// `mas_empty_area(min, max, size)` on the cursor as it stands: from
    /// start status a whole search, as [`TreeOp::EmptyArea`]; from active
    /// status a search that resumes where the state is (two slots back in
    /// its leaf, or from the next node: `mas_skip_node()`). On success the
    /// state stands on the window found, ready for [`TreeOp::CurStore`]
    /// (`vma_iter_area_lowest()` then `vma_iter_store()`). Allocation trees
    /// only (`EINVAL` on others). Any other status is a caller error; so is
    /// a state that a failed search left in error status.
    CurEmptyArea { min: u64, max: u64, size: u64 },
    /// `mas_empty_area_rev(min, max, size)` on the cursor as it stands (a
    /// resumed search rewinds with `mas_rewind_node()`).
    CurEmptyAreaRev { min: u64, max: u64, size: u64 },
    /// `mas_store_gfp(value)` on the cursor: stores over the state's
    /// `[index, last]` as the last cursor op left it, and leaves the state
    /// where the write does (the cursor is not paused after it).
    CurStore { value: Option<u64> },
    /// `mas_erase()` on the cursor: erases the entry holding the state's
    /// `index` and leaves the state where the write does.
    CurErase,
}

pub use crate::tree::FaultSchedule;

impl TreeOp {
    /// Every op kind ([`TreeOp::kind`]), in binary opcode order.
    pub const KINDS: [&'static str; 30] = [
        "store",
        "insert",
        "erase",
        "load",
        "find",
        "walk",
        "mas_find",
        "mas_find_rev",
        "mas_next",
        "mas_prev",
        "pause",
        "set",
        "destroy",
        "empty_area",
        "empty_area_rev",
        "alloc_range",
        "alloc_rrange",
        "prealloc",
        "store_prealloc",
        "mas_store",
        "mas_destroy",
        "fail_allocs",
        "expected_entries",
        "alloc_cyclic",
        "reset",
        "set_range",
        "cur_empty_area",
        "cur_empty_area_rev",
        "cur_store",
        "cur_erase",
    ];

    /// `alloc_rrange` when `rev`, else `alloc_range`.
    pub fn alloc(rev: bool, size: u64, min: u64, max: u64, value: u64) -> TreeOp {
        if rev {
            TreeOp::AllocRRange {
                size,
                min,
                max,
                value,
            }
        } else {
            TreeOp::AllocRange {
                size,
                min,
                max,
                value,
            }
        }
    }

    /// `(rev, size, min, max, value)` of an `alloc_range` (`rev` false) or
    /// `alloc_rrange` (`rev` true): the inverse of [`TreeOp::alloc`].
    pub fn alloc_parts(&self) -> Option<(bool, u64, u64, u64, u64)> {
        match *self {
            TreeOp::AllocRange {
                size,
                min,
                max,
                value,
            } => Some((false, size, min, max, value)),
            TreeOp::AllocRRange {
                size,
                min,
                max,
                value,
            } => Some((true, size, min, max, value)),
            _ => None,
        }
    }

    /// Whether the op writes to the tree (through the tree API).
    pub fn is_write(&self) -> bool {
        matches!(
            self,
            TreeOp::Store { .. }
                | TreeOp::Insert { .. }
                | TreeOp::Erase { .. }
                | TreeOp::Destroy
                | TreeOp::AllocRange { .. }
                | TreeOp::AllocRRange { .. }
                | TreeOp::AllocCyclic { .. }
                | TreeOp::StorePrealloc { .. }
                | TreeOp::MasStore { .. }
                | TreeOp::CurStore { .. }
                | TreeOp::CurErase
        )
    }

    /// Whether the op writes through the cursor (the program's maple
    /// state), which then stands where the write left it.
    pub fn writes_at_cursor(&self) -> bool {
        matches!(self, TreeOp::CurStore { .. } | TreeOp::CurErase)
    }

    /// Whether the op is a gap search on the cursor as it stands.
    pub fn searches_at_cursor(&self) -> bool {
        matches!(
            self,
            TreeOp::CurEmptyArea { .. } | TreeOp::CurEmptyAreaRev { .. }
        )
    }

    /// Whether the op searches or writes through the cursor: the ops whose
    /// answers depend on where the kernel leaves a maple state (not
    /// modelled for Linux 6.1, whose groups answer them `Unsupported`).
    pub fn uses_cursor_state(&self) -> bool {
        self.searches_at_cursor() || self.writes_at_cursor()
    }

    /// Whether the op works on the cursor as the previous ops left it (its
    /// node, or its range: `mas_erase()` walks to its `index`), rather than
    /// setting it first (`walk` and `set` do that).
    pub fn resumes_cursor(&self) -> bool {
        matches!(
            self,
            TreeOp::MasFind { .. }
                | TreeOp::MasFindRev { .. }
                | TreeOp::MasNext { .. }
                | TreeOp::MasPrev { .. }
                | TreeOp::CurEmptyArea { .. }
                | TreeOp::CurEmptyAreaRev { .. }
                | TreeOp::CurStore { .. }
                | TreeOp::CurErase
        )
    }

    /// Whether the op may allocate nodes (and so fail with `ENOMEM` under a
    /// fault schedule).
    pub fn allocates(&self) -> bool {
        matches!(
            self,
            TreeOp::Store { .. }
                | TreeOp::Insert { .. }
                | TreeOp::Erase { .. }
                | TreeOp::AllocRange { .. }
                | TreeOp::AllocRRange { .. }
                | TreeOp::AllocCyclic { .. }
                | TreeOp::Prealloc { .. }
                | TreeOp::MasStore { .. }
                | TreeOp::ExpectedEntries { .. }
                | TreeOp::CurStore { .. }
                | TreeOp::CurErase
        )
    }

    /// The op's kind, for statistics and failure signatures.
    pub fn kind(&self) -> &'static str {
        match self {
            TreeOp::Store { .. } => "store",
            TreeOp::Insert { .. } => "insert",
            TreeOp::Erase { .. } => "erase",
            TreeOp::Load { .. } => "load",
            TreeOp::Find { .. } => "find",
            TreeOp::Walk { .. } => "walk",
            TreeOp::MasFind { .. } => "mas_find",
            TreeOp::MasFindRev { .. } => "mas_find_rev",
            TreeOp::MasNext { .. } => "mas_next",
            TreeOp::MasPrev { .. } => "mas_prev",
            TreeOp::Pause => "pause",
            TreeOp::Set { .. } => "set",
            TreeOp::Destroy => "destroy",
            TreeOp::EmptyArea { .. } => "empty_area",
            TreeOp::EmptyAreaRev { .. } => "empty_area_rev",
            TreeOp::AllocRange { .. } => "alloc_range",
            TreeOp::AllocRRange { .. } => "alloc_rrange",
            TreeOp::Prealloc { .. } => "prealloc",
            TreeOp::StorePrealloc { .. } => "store_prealloc",
            TreeOp::MasStore { .. } => "mas_store",
            TreeOp::MasDestroy => "mas_destroy",
            TreeOp::FailAllocs { .. } => "fail_allocs",
            TreeOp::ExpectedEntries { .. } => "expected_entries",
            TreeOp::AllocCyclic { .. } => "alloc_cyclic",
            TreeOp::Reset => "reset",
            TreeOp::SetRange { .. } => "set_range",
            TreeOp::CurEmptyArea { .. } => "cur_empty_area",
            TreeOp::CurEmptyAreaRev { .. } => "cur_empty_area_rev",
            TreeOp::CurStore { .. } => "cur_store",
            TreeOp::CurErase => "cur_erase",
        }
    }
}

/// A program: a tree configuration and the ops to run on it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Program {
    pub config: TreeConfig,
    pub ops: Vec<TreeOp>,
}

/// The word an engine stores for value token `t` (`xa_mk_value(t)`).
#[inline]
pub fn token_to_entry(t: u64) -> u64 {
    (t << 1) | 1
}

/// The value token behind a stored word (`xa_to_value`).
#[inline]
pub fn entry_to_token(e: u64) -> u64 {
    e >> 1
}

/// The largest value token (its entry word must fit in 64 bits).
pub const MAX_TOKEN: u64 = u64::MAX >> 1;

/// The largest `expected_entries` count the op language carries (the text
/// form rejects more; the binary form reads its count modulo one more).
/// Counts from about 150 make the writer hold more than 31 nodes.
pub const EXPECTED_ENTRIES_MAX: u64 = 1023;

/// An op of either language, as a divergence names it.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Op {
    /// A maple tree op.
    Tree(TreeOp),
    /// An address-space op.
    Vma(vma::VmaOp),
}

impl Op {
    /// The op's name in the text form and in signatures.
    pub fn kind(&self) -> &'static str {
        match self {
            Op::Tree(op) => op.kind(),
            Op::Vma(op) => op.kind(),
        }
    }

    /// The code path a bug signature names when the op ran no store the
    /// engines count: a tree op's kind; for a VMA op the kernel function
    /// family it enters ([`vma::VmaOp::family`]), so mprotect and madvise,
    /// which both split and merge through `vma_modify()`, share one.
    pub fn family(&self) -> &'static str {
        match self {
            Op::Tree(op) => op.kind(),
            Op::Vma(op) => op.family(),
        }
    }

    /// The tree op, if it is one.
    pub fn tree(&self) -> Option<&TreeOp> {
        match self {
            Op::Tree(op) => Some(op),
            Op::Vma(_) => None,
        }
    }
}

impl std::fmt::Display for Op {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Op::Tree(op) => f.write_str(&text::format_op(op)),
            Op::Vma(op) => f.write_str(&vma::text::format_op(op)),
        }
    }
}

impl From<TreeOp> for Op {
    fn from(op: TreeOp) -> Op {
        Op::Tree(op)
    }
}

/// A program of either language: what a driver generates, runs and writes.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum AnyProgram {
    /// A maple tree program.
    Tree(Program),
    /// An address-space program.
    Vma(vma::VmaProgram),
}

impl AnyProgram {
    /// The text form.
    pub fn text(&self) -> String {
        match self {
            AnyProgram::Tree(p) => text::format_program(p),
            AnyProgram::Vma(p) => vma::text::format_program(p),
        }
    }

    /// The binary form (VMA programs carry [`vma::binary::MAGIC`]).
    pub fn encode(&self) -> Vec<u8> {
        match self {
            AnyProgram::Tree(p) => binary::encode(p),
            AnyProgram::Vma(p) => vma::binary::encode(p),
        }
    }

    /// The number of ops.
    pub fn len(&self) -> usize {
        match self {
            AnyProgram::Tree(p) => p.ops.len(),
            AnyProgram::Vma(p) => p.ops.len(),
        }
    }

    /// Whether there are no ops.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl AnyProgram {
    /// The program a reproducer's binary form stands for: a VMA program if
    /// it starts with [`vma::binary::MAGIC`], else a tree program.
    pub fn decode(bytes: &[u8]) -> AnyProgram {
        if bytes.starts_with(vma::binary::MAGIC) {
            AnyProgram::Vma(vma::binary::decode(bytes))
        } else {
            AnyProgram::Tree(binary::decode(bytes))
        }
    }

    /// The tree program, if it is one.
    pub fn into_tree(self) -> Option<Program> {
        match self {
            AnyProgram::Tree(p) => Some(p),
            AnyProgram::Vma(_) => None,
        }
    }
}
