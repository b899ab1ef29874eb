//! Engines: implementations of the same tree that one program runs on.
//!
//! [`TreeEngine`] covers every operation with results that compare exactly
//! across engines. [`Inspect`] is the engine-specific view (validation, node
//! accounting, store-type statistics, dump) that the oracle does not have.

use crate::ops::{entry_to_token, token_to_entry, TreeConfig, TreeOp};
use crate::tree::{Errno, Fixes, MaState, MapleTree, Status, StoreStats};
use maplefuzz_reference as oracle;

/// What an operation returned, in a form every engine can produce.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The op returns nothing (pause, set, destroy).
    Done,
    /// Store and insert: success or an errno.
    Status(Result<(), Errno>),
    /// Erase and load: the value token found, if any.
    Entry(Option<u64>),
    /// `mt_find`: the token found and the index it advanced to.
    Found { entry: Option<u64>, index: u64 },
    /// A maple-state op: the token returned and where the state stands.
    Cursor {
        entry: Option<u64>,
        index: u64,
        last: u64,
        status: Status,
    },
}

/// Node accounting of an engine that allocates nodes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NodeAccounting {
    /// Nodes allocated and not freed.
    pub live: u64,
    /// Nodes reachable from the root.
    pub reachable: u64,
    /// Nodes held by maple states (preallocations).
    pub held: u64,
}

impl NodeAccounting {
    /// Whether every live node is accounted for.
    pub fn balanced(&self) -> bool {
        self.live == self.reachable + self.held
    }
}

/// The inspection side of an engine under test.
pub trait Inspect {
    /// The engine's structural checks (the kernel's `mt_validate` and more).
    fn validate(&self) -> Result<(), String>;
    /// Allocated versus reachable nodes.
    fn accounting(&self) -> NodeAccounting;
    /// How many stores of each type ran.
    fn store_stats(&self) -> StoreStats;
    /// A canonical node dump.
    fn dump(&self) -> String;
}

/// An implementation of the maple tree's operations.
pub trait TreeEngine {
    /// A short name for reports ("oracle", "rust", "kernel").
    fn name(&self) -> &'static str;
    /// Runs one op.
    fn apply(&mut self, op: &TreeOp) -> Outcome;
    /// Every entry as `(first, last, token)`.
    fn entries(&self) -> Vec<(u64, u64, u64)>;
    /// The entries that meet `[lo, hi]`, in order.
    fn entries_in(&self, lo: u64, hi: u64) -> Vec<(u64, u64, u64)> {
        self.entries()
            .into_iter()
            .filter(|&(a, b, _)| b >= lo && a <= hi)
            .collect()
    }
    /// The inspection view, for engines that have one.
    fn inspect(&self) -> Option<&dyn Inspect> {
        None
    }
    /// Whether the engine can tell exactly where a kernel maple state would
    /// step from; `None` for engines that simply are such a state.
    fn cursor_positioned(&self) -> Option<bool> {
        None
    }
}

fn tok(e: Option<u64>) -> Option<u64> {
    e.map(entry_to_token)
}

/// The Rust port (`src/tree`).
pub struct RustEngine {
    tree: MapleTree,
    mas: MaState,
}

impl RustEngine {
    /// A fresh tree with `config`, with the fixes for the Linux 6.12 bugs
    /// this project found applied, so that campaigns look for new bugs.
    pub fn new(config: TreeConfig) -> RustEngine {
        let mut tree = MapleTree::with_flags(config.flags());
        tree.set_fixes(Fixes::all());
        RustEngine {
            tree,
            mas: MaState::new(0, 0),
        }
    }

    /// A fresh tree behaving exactly as Linux 6.12, known bugs included.
    pub fn exact(config: TreeConfig) -> RustEngine {
        RustEngine {
            tree: MapleTree::with_flags(config.flags()),
            mas: MaState::new(0, 0),
        }
    }

    /// The tree, for tests that need to reach inside.
    pub fn tree_mut(&mut self) -> &mut MapleTree {
        &mut self.tree
    }

    fn cursor(&self, entry: Option<u64>) -> Outcome {
        Outcome::Cursor {
            entry: tok(entry),
            index: self.mas.index(),
            last: self.mas.last(),
            status: self.mas.status(),
        }
    }
}

impl TreeEngine for RustEngine {
    fn name(&self) -> &'static str {
        "rust"
    }

    fn apply(&mut self, op: &TreeOp) -> Outcome {
        let t = &mut self.tree;
        match *op {
            TreeOp::Store { first, last, value } => {
                Outcome::Status(t.store_range(first, last, value.map(token_to_entry)))
            }
            TreeOp::Insert { first, last, value } => {
                Outcome::Status(t.insert_range(first, last, token_to_entry(value)))
            }
            TreeOp::Erase { index } => Outcome::Entry(tok(t.erase(index))),
            TreeOp::Load { index } => Outcome::Entry(tok(t.load(index))),
            TreeOp::Find { index, max } => {
                let mut i = index;
                let e = t.find(&mut i, max);
                Outcome::Found {
                    entry: tok(e),
                    index: i,
                }
            }
            TreeOp::Walk { index } => {
                self.mas.set(index);
                let e = self.mas.walk(&self.tree);
                self.cursor(e)
            }
            TreeOp::MasFind { max } => {
                let e = self.mas.find(&self.tree, max);
                self.cursor(e)
            }
            TreeOp::MasFindRev { min } => {
                let e = self.mas.find_rev(&self.tree, min);
                self.cursor(e)
            }
            TreeOp::MasNext { max } => {
                let e = self.mas.next(&self.tree, max);
                self.cursor(e)
            }
            TreeOp::MasPrev { min } => {
                let e = self.mas.prev(&self.tree, min);
                self.cursor(e)
            }
            TreeOp::Pause => {
                self.mas.pause();
                Outcome::Done
            }
            TreeOp::Set { index } => {
                self.mas.set(index);
                Outcome::Done
            }
            TreeOp::Destroy => {
                t.destroy();
                Outcome::Done
            }
        }
    }

    fn entries(&self) -> Vec<(u64, u64, u64)> {
        self.tree
            .entries()
            .map(|(a, b, e)| (a, b, entry_to_token(e)))
            .collect()
    }

    fn entries_in(&self, lo: u64, hi: u64) -> Vec<(u64, u64, u64)> {
        let mut out = Vec::new();
        let mut mas = MaState::new(lo, lo);
        while let Some(e) = mas.find(&self.tree, hi) {
            out.push((mas.index(), mas.last(), entry_to_token(e)));
            if mas.last() >= hi {
                break;
            }
        }
        out
    }

    fn inspect(&self) -> Option<&dyn Inspect> {
        Some(self)
    }
}

impl Inspect for RustEngine {
    fn validate(&self) -> Result<(), String> {
        self.tree.validate().map_err(|e| e.to_string())
    }

    fn accounting(&self) -> NodeAccounting {
        let (live, reachable, held) = self.tree.node_accounting();
        NodeAccounting {
            live,
            reachable,
            held,
        }
    }

    fn store_stats(&self) -> StoreStats {
        *self.tree.store_stats()
    }

    fn dump(&self) -> String {
        self.tree.dump()
    }
}

/// The naive oracle (`reference/`).
pub struct OracleEngine {
    tree: oracle::TreeOracle,
    cursor: oracle::Cursor,
}

impl OracleEngine {
    /// A fresh oracle. The configuration does not change what it computes.
    pub fn new(_config: TreeConfig) -> OracleEngine {
        OracleEngine {
            tree: oracle::TreeOracle::new(),
            cursor: oracle::Cursor::new(0, 0),
        }
    }

    /// Whether the oracle can say exactly where a kernel maple state would
    /// step from (see `maplefuzz_reference::Cursor::is_positioned`).
    pub fn cursor_positioned(&self) -> bool {
        self.cursor.is_positioned(&self.tree)
    }

    fn cursor(&self, entry: Option<u64>) -> Outcome {
        let status = match self.cursor.status {
            oracle::Status::Start => Status::Start,
            oracle::Status::Active => Status::Active,
            oracle::Status::Root => Status::Root,
            oracle::Status::None => Status::None,
            oracle::Status::Pause => Status::Pause,
            oracle::Status::Overflow => Status::Overflow,
            oracle::Status::Underflow => Status::Underflow,
        };
        Outcome::Cursor {
            entry: tok(entry),
            index: self.cursor.index,
            last: self.cursor.last,
            status,
        }
    }
}

fn oerr(e: oracle::Errno) -> Errno {
    match e {
        oracle::Errno::EINVAL => Errno::EINVAL,
        oracle::Errno::EEXIST => Errno::EEXIST,
        oracle::Errno::EBUSY => Errno::EBUSY,
        oracle::Errno::ENOMEM => Errno::ENOMEM,
    }
}

impl TreeEngine for OracleEngine {
    fn name(&self) -> &'static str {
        "oracle"
    }

    fn apply(&mut self, op: &TreeOp) -> Outcome {
        let t = &mut self.tree;
        match *op {
            TreeOp::Store { first, last, value } => Outcome::Status(
                t.store_range(first, last, value.map(token_to_entry))
                    .map(|_| ())
                    .map_err(oerr),
            ),
            TreeOp::Insert { first, last, value } => Outcome::Status(
                t.insert_range(first, last, Some(token_to_entry(value)))
                    .map_err(oerr),
            ),
            TreeOp::Erase { index } => Outcome::Entry(tok(t.erase(index))),
            TreeOp::Load { index } => Outcome::Entry(tok(t.load(index))),
            TreeOp::Find { index, max } => {
                let mut i = index;
                let e = t.mt_find(&mut i, max);
                Outcome::Found {
                    entry: tok(e),
                    index: i,
                }
            }
            TreeOp::Walk { index } => {
                self.cursor.set(index);
                let e = self.cursor.walk(&self.tree);
                self.cursor(e)
            }
            TreeOp::MasFind { max } => {
                let e = self.cursor.find(&self.tree, max);
                self.cursor(e)
            }
            TreeOp::MasFindRev { min } => {
                let e = self.cursor.find_rev(&self.tree, min);
                self.cursor(e)
            }
            TreeOp::MasNext { max } => {
                let e = self.cursor.next(&self.tree, max);
                self.cursor(e)
            }
            TreeOp::MasPrev { min } => {
                let e = self.cursor.prev(&self.tree, min);
                self.cursor(e)
            }
            TreeOp::Pause => {
                self.cursor.pause();
                Outcome::Done
            }
            TreeOp::Set { index } => {
                self.cursor.set(index);
                Outcome::Done
            }
            TreeOp::Destroy => {
                t.destroy();
                Outcome::Done
            }
        }
    }

    fn cursor_positioned(&self) -> Option<bool> {
        Some(self.cursor_positioned())
    }

    fn entries(&self) -> Vec<(u64, u64, u64)> {
        self.tree
            .entries()
            .into_iter()
            .map(|(a, b, e)| (a, b, entry_to_token(e)))
            .collect()
    }
}
