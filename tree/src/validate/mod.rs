// SPDX-License-Identifier: GPL-2.0-or-later
//! Tree validation: every check of the kernel's `mt_validate()` (Linux 6.12,
//! `CONFIG_DEBUG_MAPLE_TREE`) plus stricter checks of this project.
//!
//! The kernel visits the nodes bottom-up with `mas_dfs_postorder()` and runs,
//! per node, the dead-node check, the occupancy check,
//! `mas_validate_parent_slot()`, `mas_validate_limits()`,
//! `mas_validate_child_slot()` and (allocation trees) `mas_validate_gaps()`,
//! then `mt_validate_nulls()` over the leaves. Here the tree is walked
//! top-down from the root, carrying each node's `[min, max]` and depth, and a
//! node's child pointers are checked before the walk follows them, so that a
//! corrupt tree is reported instead of crashing the validator. Every condition
//! the kernel reports with `MT_BUG_ON` or `MAS_WARN_ON` is a violation here,
//! decided with the kernel's rules and exemptions (for example the occupancy
//! check skips nodes whose max is `ULONG_MAX`, and the kernel lets the last
//! physical slot hold something past the data end because the metadata of a
//! range node lives there).
//!
//! On top of that ([`Invariant`] lists which checks are which):
//!
//! * nothing past the data end at all: no slot, no pivot, and in the slot-15
//!   word of a leaf_64/range_64 node nothing but the two metadata bytes; the
//!   metadata end equals the data end whenever the node has metadata;
//! * pivots strictly increasing;
//! * every leaf at depth `height`, the height flag right, node types right for
//!   their position and the tree's flavour, the root's parent the tree;
//! * no reachable node dead or freed, none reachable twice;
//! * no leaf but the right-most ends in NULL;
//! * in allocation trees, each gap equals the largest NULL run of its child's
//!   subtree, recomputed from the leaves;
//! * node accounting: allocated nodes = reachable nodes + pooled nodes.
//!
//! [`validate`] returns the first violation found. The order is: the root
//! word and the height flag; then every node top-down, left to right (for
//! each node: dead, type and depth, occupancy, parent slot, limits and stale
//! data, child pointers, gaps); then the NULL rules over the leaf sequence;
//! then the recomputed gaps; then node accounting.

use std::fmt;

use super::node::{
    addr_to_id, enode_addr, enode_id, enode_type, safe_root, xa_is_internal, xa_is_node, IdSet,
    NodeArena, NodeType, GAP_BASE, MAPLE_PARENT_RANGE64, MAPLE_PARENT_SLOT_SHIFT, NODE_WORDS,
    TREE_PARENT,
};
use super::{MapleTree, MAPLE_HEIGHT_MAX};

mod checks;

/// The check a [`ValidationError`] failed.
///
/// Variants marked *kernel* are checks of `mt_validate()`; the others are this
/// project's stricter checks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Invariant {
    /// *Kernel* (`MAS_WARN_ON(mte_dead_node)`): a node in the tree is dead
    /// (its parent word points at itself).
    Dead,
    /// *Kernel* ("Invalid size"): a node whose max is not `ULONG_MAX` has a
    /// data end below `mt_min_slots` of its type.
    MinOccupancy,
    /// *Kernel* (`mas_validate_parent_slot`): the parent's slot named by the
    /// node's parent word does not hold the node, another slot of the parent
    /// holds it too, or the parent word is not the exact encoding expected.
    ParentSlot,
    /// *Kernel* ("Missing node limit pivot"): a zero pivot after slot 0 before
    /// the node's limit.
    MissingPivot,
    /// *Kernel* for decreasing pivots; equal pivots are this project's
    /// addition (pivots must be strictly increasing).
    PivotOrder,
    /// *Kernel*: a pivot below the node's min or above its max.
    PivotLimit,
    /// *Kernel*: `mas_data_end()` differs from the offset of the pivot equal
    /// to the node's max.
    DataEnd,
    /// *Kernel* for slots past the end other than the last physical slot;
    /// the rest (the last slot of an arange_64 node, anything but the
    /// metadata bytes in slot 15 of a leaf_64/range_64 node) is this
    /// project's addition.
    StaleSlot,
    /// *Kernel* for pivots past the end below the last pivot; the last pivot
    /// is this project's addition.
    StalePivot,
    /// The metadata end of a leaf_64/range_64 node whose data end is below 15
    /// differs from the data end computed from its pivots.
    MetaEnd,
    /// *Kernel* ("Non-leaf node lacks child"): an internal slot up to the end
    /// is NULL.
    MissingChild,
    /// *Kernel* ("Slot error"): a child's parent word names another slot.
    ChildSlot,
    /// *Kernel*: a child's parent word names another node.
    ChildParent,
    /// A non-NULL slot of an internal node that is not an encoded node
    /// pointer (the kernel would dereference it).
    BadPointer,
    /// A reachable node is not allocated (freed).
    Freed,
    /// A node is reachable through two slots.
    Duplicate,
    /// A node's type is not valid for its position: the type bits name no
    /// node type, or an internal node is range_64 in an allocation tree or
    /// arange_64 in a normal tree.
    NodeType,
    /// A leaf is not at depth `height`, or an internal node is at depth
    /// `height` or below.
    LeafDepth,
    /// The height flag differs from the depth of the leaves, or is not 0
    /// for a tree without nodes.
    Height,
    /// The root node's parent word is not the tree marker.
    RootParent,
    /// The tree's root word is a single entry with internal low bits.
    RootEntry,
    /// *Kernel* (`mas_validate_gaps`): a gap larger than the range of its
    /// slot, or a node's largest gap larger than its max.
    GapTooLarge,
    /// *Kernel*: the metadata gap offset of an arange_64 node is past its end.
    GapOffset,
    /// *Kernel*: the gap at the metadata gap offset is not the node's largest.
    MaxGap,
    /// *Kernel*: a gap past the end of an arange_64 node is not zero.
    StaleGap,
    /// *Kernel*: the parent's gap for this node differs from the node's
    /// largest gap.
    ParentGap,
    /// A gap of an arange_64 node differs from the largest run of NULL
    /// indices in its child's subtree, recomputed from the leaves.
    GapRecompute,
    /// *Kernel* (`mt_validate_nulls`): two NULL slots in a row in the leaf
    /// sequence (across leaf boundaries too).
    AdjacentNulls,
    /// A leaf other than the right-most ends in NULL.
    TrailingNull,
    /// Allocated nodes differ from the nodes reachable from the root plus the
    /// nodes held by maple states (a leak, or a node counted twice).
    Leak,
}

impl Invariant {
    /// A short human-readable name.
    pub fn name(&self) -> &'static str {
        match self {
            Invariant::Dead => "dead node in the tree",
            Invariant::MinOccupancy => "node below minimum occupancy",
            Invariant::ParentSlot => "parent slot does not hold this node",
            Invariant::MissingPivot => "missing node limit pivot",
            Invariant::PivotOrder => "pivots not strictly increasing",
            Invariant::PivotLimit => "pivot outside the node's range",
            Invariant::DataEnd => "data end differs from the limit pivot",
            Invariant::StaleSlot => "stale slot past data end",
            Invariant::StalePivot => "stale pivot past data end",
            Invariant::MetaEnd => "metadata end differs from data end",
            Invariant::MissingChild => "internal node lacks a child",
            Invariant::ChildSlot => "child's parent slot is wrong",
            Invariant::ChildParent => "child's parent is another node",
            Invariant::BadPointer => "slot is not a node pointer",
            Invariant::Freed => "freed node reachable",
            Invariant::Duplicate => "node reachable twice",
            Invariant::NodeType => "wrong node type",
            Invariant::LeafDepth => "leaf depth differs from tree height",
            Invariant::Height => "height flag is wrong",
            Invariant::RootParent => "root parent is not the tree",
            Invariant::RootEntry => "root entry is an internal value",
            Invariant::GapTooLarge => "gap larger than its range",
            Invariant::GapOffset => "metadata gap offset past data end",
            Invariant::MaxGap => "metadata gap is not the largest gap",
            Invariant::StaleGap => "gap past data end is not zero",
            Invariant::ParentGap => "parent gap differs from the node's largest gap",
            Invariant::GapRecompute => "gap differs from the largest NULL run below it",
            Invariant::AdjacentNulls => "two adjacent NULLs",
            Invariant::TrailingNull => "non-right-most leaf ends in NULL",
            Invariant::Leak => "node accounting",
        }
    }
}

impl fmt::Display for Invariant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The node a violation was found at.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct NodeRef {
    /// The node's address word (the encoded pointer without its low byte).
    pub addr: u64,
    /// The node's type, from the pointer that led to it.
    pub ty: NodeType,
    /// The first index the node covers (from its parent's pivots).
    pub min: u64,
    /// The last index the node covers (from its parent's pivots).
    pub max: u64,
    /// The node's depth: 1 for the root, `height` for the leaves.
    pub depth: u32,
}

impl fmt::Display for NodeRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} node {:#x} [{:#x}, {:#x}] depth {}",
            self.ty.name(),
            self.addr,
            self.min,
            self.max,
            self.depth
        )
    }
}

/// A broken invariant: which check failed, where, and the details.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ValidationError {
    /// The check that failed.
    pub invariant: Invariant,
    /// The node it failed at (`None` for whole-tree checks).
    pub node: Option<NodeRef>,
    /// What exactly is wrong.
    pub detail: String,
}

impl fmt::Display for ValidationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.node {
            Some(n) => write!(f, "{}: {}: {}", n, self.invariant.name(), self.detail),
            None => write!(f, "tree: {}: {}", self.invariant.name(), self.detail),
        }
    }
}

impl std::error::Error for ValidationError {}

type VResult<T> = Result<T, ValidationError>;

fn fail<T>(invariant: Invariant, node: Option<NodeRef>, detail: String) -> VResult<T> {
    Err(ValidationError {
        invariant,
        node,
        detail,
    })
}

/// The largest run of NULL indices in a subtree, with what is needed to join
/// runs across the boundaries of neighbouring subtrees. Lengths are exact
/// (`u128`): the whole index space is 2^64 indices long.
#[derive(Clone, Copy, Debug)]
struct NullRuns {
    /// The subtree holds only NULLs.
    all_null: bool,
    /// Length of the NULL run at the start.
    prefix: u128,
    /// Length of the NULL run at the end.
    suffix: u128,
    /// Length of the longest NULL run.
    best: u128,
}

impl NullRuns {
    const EMPTY: NullRuns = NullRuns {
        all_null: true,
        prefix: 0,
        suffix: 0,
        best: 0,
    };

    fn slot(is_null: bool, len: u128) -> NullRuns {
        if is_null {
            NullRuns {
                all_null: true,
                prefix: len,
                suffix: len,
                best: len,
            }
        } else {
            NullRuns {
                all_null: false,
                prefix: 0,
                suffix: 0,
                best: 0,
            }
        }
    }

    /// `self` followed by `next`.
    fn then(self, next: NullRuns) -> NullRuns {
        NullRuns {
            all_null: self.all_null && next.all_null,
            prefix: if self.all_null {
                self.prefix + next.prefix
            } else {
                self.prefix
            },
            suffix: if next.all_null {
                self.suffix + next.suffix
            } else {
                next.suffix
            },
            best: self.best.max(next.best).max(self.suffix + next.prefix),
        }
    }
}

/// A leaf, remembered for the checks over the leaf sequence.
struct Leaf {
    enode: u64,
    node: NodeRef,
    end: usize,
}

/// A gap to compare with its recomputation once the NULL rules have run.
struct GapCheck {
    node: NodeRef,
    slot: usize,
    gap: u64,
    runs: u128,
}

struct Validator<'a> {
    t: &'a MapleTree,
    a: &'a NodeArena,
    height: u32,
    alloc: bool,
    /// The type every internal node must have.
    internal: NodeType,
    visited: IdSet,
    leaves: Vec<Leaf>,
    gap_checks: Vec<GapCheck>,
    /// For a partial validation ([`validate_around`]): the key ranges whose
    /// nodes are visited; a child meeting none of them is not.
    around: Option<Vec<(u64, u64)>>,
}

/// The buffers of a [`Validator`], kept between validations on one thread:
/// the executor validates what each op wrote after every op, and would
/// otherwise allocate them each time. A validator takes them when it is
/// made and gives them back when it is dropped.
#[derive(Default)]
struct Scratch {
    visited: IdSet,
    leaves: Vec<Leaf>,
    gap_checks: Vec<GapCheck>,
    around: Vec<(u64, u64)>,
}

thread_local! {
    static SCRATCH: std::cell::Cell<Scratch> = std::cell::Cell::new(Scratch::default());
}

/// One node's words read through the type of the pointer that led to it:
/// the loops over a node's slots, pivots and gaps decode the pointer once
/// instead of once a word (the same words as [`NodeArena::slot`],
/// [`NodeArena::pivot`] and [`NodeArena::gap`] read).
#[derive(Clone, Copy)]
struct NodeView<'a> {
    ty: NodeType,
    w: &'a [u64; NODE_WORDS],
}

impl NodeView<'_> {
    #[inline]
    fn slot(&self, i: usize) -> u64 {
        self.w[self.ty.slot_base() + i]
    }

    #[inline]
    fn pivot(&self, i: usize) -> u64 {
        self.w[self.ty.pivot_base() + i]
    }

    /// `mas_safe_pivot()`: pivot `i`, or the node's max past the pivot array.
    #[inline]
    fn safe_pivot(&self, i: usize, max: u64) -> u64 {
        if i >= self.ty.pivots() {
            max
        } else {
            self.pivot(i)
        }
    }

    /// Gap `i` (arange_64 nodes only).
    #[inline]
    fn gap(&self, i: usize) -> u64 {
        self.w[GAP_BASE + i]
    }
}

/// The node `enode` points at, read through the pointer's type.
#[inline]
fn view(a: &NodeArena, enode: u64) -> NodeView<'_> {
    NodeView {
        ty: enode_type(enode),
        w: a.words(enode_id(enode)),
    }
}

/// Whether `word` is shaped like an encoded child pointer: a node address
/// with the type bits and `MAPLE_ENODE_NULL` set and nothing else in the low
/// byte. The type bits are judged separately.
#[inline]
fn looks_like_enode(word: u64) -> bool {
    word & 0x87 == 0x04 && addr_to_id(word).is_some()
}

/// The raw 4-bit type field of an encoded pointer.
#[inline]
fn type_bits(enode: u64) -> u64 {
    (enode >> 3) & 0xF
}

fn node_ref(enode: u64, min: u64, max: u64, depth: u32) -> NodeRef {
    NodeRef {
        addr: enode_addr(enode),
        ty: enode_type(enode),
        min,
        max,
        depth,
    }
}

/// `mt_validate()` plus this project's stricter checks: `Ok` if the tree is
/// sound, else the first violation found (see the module documentation for
/// the order).
pub(crate) fn validate(t: &MapleTree) -> Result<(), ValidationError> {
    Validator::new(t, None).run()
}

/// The checks of [`validate`] on the nodes on the way to the keys of
/// `around` (each node whose range meets one of the ranges, with every
/// child pointer of those nodes): what an operation that wrote only there
/// can have broken, at the cost of a few root-to-leaf paths. The checks
/// that need the whole tree are left to a full [`validate`]: node
/// accounting, the NULL rules between leaves that are not neighbours, and
/// the recomputed gaps of subtrees not walked whole.
pub(crate) fn validate_around(
    t: &MapleTree,
    around: &mut dyn Iterator<Item = (u64, u64)>,
) -> Result<(), ValidationError> {
    Validator::new(t, Some(around)).run()
}

impl<'a> Validator<'a> {
    /// A validator of `t`: of the whole tree, or with `around` of the
    /// nodes on the way to those key ranges only ([`validate_around`]).
    fn new(
        t: &'a MapleTree,
        around: Option<&mut dyn Iterator<Item = (u64, u64)>>,
    ) -> Validator<'a> {
        let mut s = SCRATCH.with(std::cell::Cell::take);
        s.visited.clear_for_arena(&t.arena);
        s.leaves.clear();
        s.gap_checks.clear();
        let around = around.map(|keys| {
            s.around.clear();
            s.around.extend(keys);
            s.around.sort_unstable();
            s.around.dedup();
            s.around
        });
        let alloc = t.is_alloc();
        Validator {
            t,
            a: &t.arena,
            height: t.height(),
            alloc,
            internal: if alloc {
                NodeType::Arange64
            } else {
                NodeType::Range64
            },
            visited: s.visited,
            leaves: s.leaves,
            gap_checks: s.gap_checks,
            around,
        }
    }
}

impl Drop for Validator<'_> {
    fn drop(&mut self) {
        let s = Scratch {
            visited: std::mem::take(&mut self.visited),
            leaves: std::mem::take(&mut self.leaves),
            gap_checks: std::mem::take(&mut self.gap_checks),
            around: self.around.take().unwrap_or_default(),
        };
        SCRATCH.with(|c| c.set(s));
    }
}

impl Validator<'_> {
    fn run(&mut self) -> VResult<()> {
        let root = self.t.root;
        if xa_is_node(root) {
            let enode = self.check_root(root)?;
            self.visit(enode, 0, u64::MAX, 1)?;
            self.check_nulls()?;
            self.check_recomputed_gaps()?;
        } else {
            if xa_is_internal(root) {
                return fail(
                    Invariant::RootEntry,
                    None,
                    format!("the root word {root:#x} is internal but not a node pointer"),
                );
            }
            if self.height != 0 {
                return fail(
                    Invariant::Height,
                    None,
                    format!(
                        "height flag {} but the tree has no nodes (root {root:#x})",
                        self.height
                    ),
                );
            }
        }
        if self.around.is_some() {
            return Ok(());
        }
        self.check_accounting()
    }

    // ---- the root and the height -------------------------------------------

    /// Checks the root word, the root node's parent word and the height flag;
    /// returns the root node's encoded pointer.
    fn check_root(&self, root: u64) -> VResult<u64> {
        let enode = safe_root(root);
        let rref = node_ref(enode, 0, u64::MAX, 1);
        if !looks_like_enode(enode) {
            return fail(
                Invariant::BadPointer,
                None,
                format!("the root word {root:#x} is not an encoded root node pointer"),
            );
        }
        let id = enode_id(enode);
        if !self.a.is_allocated(id) {
            return fail(
                Invariant::Freed,
                Some(rref),
                format!("the root word {root:#x} names a node that is not allocated"),
            );
        }
        if self.a.is_dead(enode) {
            return fail(
                Invariant::Dead,
                Some(rref),
                format!(
                    "parent word {:#x} points at the node itself",
                    self.a.parent_word(enode)
                ),
            );
        }
        let pw = self.a.parent_word(enode);
        if pw != TREE_PARENT {
            return fail(
                Invariant::RootParent,
                Some(rref),
                format!("parent word {pw:#x}, expected the tree marker {TREE_PARENT:#x}"),
            );
        }
        if self.height == 0 {
            return fail(
                Invariant::Height,
                Some(rref),
                "height flag 0 in a tree with a root node".to_string(),
            );
        }
        if let Some(depth) = self.leftmost_depth(enode) {
            if depth != self.height {
                return fail(
                    Invariant::Height,
                    Some(rref),
                    format!(
                        "height flag {} but the left-most leaf is at depth {depth}",
                        self.height
                    ),
                );
            }
        }
        Ok(enode)
    }

    /// The depth of the left-most leaf, following slot 0 down from the root as
    /// `mt_validate()` does; `None` if the path is broken (the walk reports
    /// why).
    fn leftmost_depth(&self, root: u64) -> Option<u32> {
        let mut enode = root;
        let mut depth = 1;
        loop {
            match type_bits(enode) {
                1 => return Some(depth),
                2 | 3 => {}
                _ => return None,
            }
            if depth > MAPLE_HEIGHT_MAX {
                return Some(depth);
            }
            let child = self.a.slot(enode, 0);
            if !looks_like_enode(child) || !self.a.is_allocated(enode_id(child)) {
                return None;
            }
            enode = child;
            depth += 1;
        }
    }

    // ---- the walk ------------------------------------------------------------

    /// Validates the node `enode` covering `[min, max]` at `depth`, then its
    /// subtree. The caller has checked that `enode` is an allocated node not
    /// visited before and that its parent word names the caller's node.
    /// Returns the NULL runs of the subtree, `None` if a partial validation
    /// left part of it out or the tree is not an allocation tree (whose
    /// gaps alone are recomputed from the runs).
    fn visit(&mut self, enode: u64, min: u64, max: u64, depth: u32) -> VResult<Option<NullRuns>> {
        let me = node_ref(enode, min, max, depth);
        self.visited.insert(enode_id(enode));

        // MAS_WARN_ON(mte_dead_node()).
        if self.a.is_dead(enode) {
            return fail(
                Invariant::Dead,
                Some(me),
                format!(
                    "parent word {:#x} points at the node itself",
                    self.a.parent_word(enode)
                ),
            );
        }

        let ty = self.check_type(enode, me)?;
        let end = self.mas_data_end(enode, max);

        // The occupancy check, with the kernel's exemption for nodes ending
        // at ULONG_MAX (which covers the root).
        if end < ty.min_slots() && max != u64::MAX {
            return fail(
                Invariant::MinOccupancy,
                Some(me),
                format!(
                    "data end {end} is below the minimum {} of a {} node",
                    ty.min_slots(),
                    ty.name()
                ),
            );
        }

        self.validate_parent_slot(enode, me)?;
        let end = self.validate_limits(enode, me, end)?;
        self.validate_child_slots(enode, me, end)?;
        if self.alloc {
            self.validate_gaps(enode, me)?;
        }

        if ty.is_leaf() && !self.alloc {
            // Only the gaps of an allocation tree are recomputed from the
            // NULL runs.
            self.leaves.push(Leaf {
                enode,
                node: me,
                end,
            });
            return Ok(None);
        }
        let n = view(self.a, enode);
        if ty.is_leaf() {
            let mut runs = NullRuns::EMPTY;
            let mut start = min;
            for i in 0..=end {
                let stop = n.safe_pivot(i, max);
                let len = u128::from(stop.wrapping_sub(start)) + 1;
                runs = runs.then(NullRuns::slot(n.slot(i) == 0, len));
                start = stop.wrapping_add(1);
            }
            self.leaves.push(Leaf {
                enode,
                node: me,
                end,
            });
            return Ok(Some(runs));
        }

        let mut runs = Some(NullRuns::EMPTY);
        let mut start = min;
        for i in 0..=end {
            let stop = n.safe_pivot(i, max);
            let child = n.slot(i);
            let wanted = self.around.as_ref().map_or(true, |r| {
                r.iter().any(|&(lo, hi)| lo <= stop && start <= hi)
            });
            let child_runs = if wanted {
                self.visit(child, start, stop, depth + 1)?
            } else {
                None
            };
            if let (NodeType::Arange64, Some(c)) = (ty, child_runs) {
                self.gap_checks.push(GapCheck {
                    node: me,
                    slot: i,
                    gap: n.gap(i),
                    runs: c.best,
                });
            }
            runs = runs.zip(child_runs).map(|(r, c)| r.then(c));
            start = stop.wrapping_add(1);
        }
        Ok(runs)
    }

    /// The type bits must name a node type that fits the depth and the tree's
    /// flavour. Returns the type.
    fn check_type(&self, enode: u64, me: NodeRef) -> VResult<NodeType> {
        let bits = type_bits(enode);
        if !(1..=3).contains(&bits) {
            return fail(
                Invariant::NodeType,
                Some(me),
                format!("pointer {enode:#x} has type bits {bits}, which name no tree node type"),
            );
        }
        let ty = enode_type(enode);
        if ty.is_leaf() {
            if me.depth != self.height {
                return fail(
                    Invariant::LeafDepth,
                    Some(me),
                    format!(
                        "leaf at depth {} in a tree of height {}",
                        me.depth, self.height
                    ),
                );
            }
        } else {
            if me.depth >= self.height {
                return fail(
                    Invariant::LeafDepth,
                    Some(me),
                    format!(
                        "internal node at depth {} in a tree of height {}: its leaves are too deep",
                        me.depth, self.height
                    ),
                );
            }
            if ty != self.internal {
                return fail(
                    Invariant::NodeType,
                    Some(me),
                    format!(
                        "{} internal node in {} tree (expected {})",
                        ty.name(),
                        if self.alloc {
                            "an allocation"
                        } else {
                            "a normal"
                        },
                        self.internal.name()
                    ),
                );
            }
        }
        Ok(ty)
    }

    /// `mas_data_end()`: the metadata end for arange_64, 0 for a dead node,
    /// else `ma_data_end()` against the node's max.
    fn mas_data_end(&self, enode: u64, max: u64) -> usize {
        if enode_type(enode) == NodeType::Arange64 {
            return self.a.meta_end(enode);
        }
        if self.a.is_dead(enode) {
            return 0;
        }
        self.a.data_end(enode, max)
    }

    /// `mas_safe_pivot()`: pivot `i`, or the node's max past the pivot array.
    #[inline]
    fn safe_pivot(&self, enode: u64, i: usize, max: u64) -> u64 {
        view(self.a, enode).safe_pivot(i, max)
    }
}

#[cfg(test)]
mod tests;
