//! Deliberate bugs ("mutants") that re-create real maple tree bugs inside
//! the port, so a differential harness can be shown to catch each one.
//!
//! A mutant is selected at run time, per thread, with [`select`] (or the
//! `MAPLEFUZZ_MUTANT` environment variable, read when a thread first asks).
//! The code under test asks [`active`] at the place where the real bug
//! lived, with a comment naming the bug. Without the `mutants` cargo
//! feature (off by default) [`active`] is a constant `false`, so the checks
//! compile away and nothing can switch a bug on: a library user gets the
//! port as the kernel has it.
//!
//! The catalogue also lists the deliberate bugs of the VMA layer built on
//! this tree (`vma-*`), so that one switch selects any of them. Each
//! mutant names the fuzz targets whose programs can reach it
//! ([`Mutant::target_names`]); a mutant with none is one no op sequence can
//! reach (see its summary), detected by a unit test instead.

use std::cell::Cell;

/// The environment variable naming the mutant a thread starts with.
pub const ENV: &str = "MAPLEFUZZ_MUTANT";

macro_rules! mutants {
    ($( $(#[$doc:meta])* $variant:ident = $name:literal,
        $summary:literal, [$($target:literal),*]; )*) => {
        /// One deliberate bug.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum Mutant {
            $( $(#[$doc])* $variant, )*
        }

        impl Mutant {
            /// Every mutant, in catalogue order.
            pub const ALL: &'static [Mutant] = &[$(Mutant::$variant,)*];

            /// The mutant's command-line name.
            pub fn name(self) -> &'static str {
                match self {
                    $( Mutant::$variant => $name, )*
                }
            }

            /// One line: the real bug and where it lives in the port.
            pub fn summary(self) -> &'static str {
                match self {
                    $( Mutant::$variant => $summary, )*
                }
            }

            /// The fuzz targets (by name) whose programs can reach the
            /// mutant: the harness's `maplefuzz mutants` runs it under each.
            pub fn target_names(self) -> &'static [&'static str] {
                match self {
                    $( Mutant::$variant => &[$($target),*], )*
                }
            }
        }
    };
}

mutants! {
    /// July 2022: `mas_wr_node_store()` copies the old tail after a store
    /// that reaches the node's maximum, leaving stale slots and pivots past
    /// the node's data end.
    StaleNodeStore = "stale-node-store",
        "node store copies the old tail after a store reaching the node's max (Jul 2022, mas_wr_node_store)",
        ["tree_ops", "tree_alloc", "tree_prealloc", "tree_faults"];
    /// The withdrawn July 2022 "use metadata for mas_dead_leaves() walk"
    /// patch: the destroy walk counts a bottom internal node's children by
    /// its data end, which the walk of that era had already cleared
    /// (`mas_clear_meta` in the descend), so it frees too few leaves.
    DeadLeavesShort = "dead-leaves-short",
        "destroy walk counts leaves by the cleared metadata end and leaks the rest (withdrawn Jul 2022 mas_dead_leaves patch)",
        ["tree_ops", "tree_alloc", "tree_prealloc", "tree_faults"];
    /// 2022 `__vma_adjust()`: every store of a preallocated pair ended with
    /// `mas_destroy()`, so the first store released the nodes the second
    /// one needed (Hugh Dickins' report); the second store then allocates
    /// where it must not.
    PreallocFirstStore = "prealloc-first-store",
        "the first mas_store of a preallocated pair releases the leftovers the second store needs (2022 __vma_adjust)",
        ["tree_ops", "tree_prealloc"];
    /// October 2024 "correct tree corruption on spanning store": the right
    /// side of a spanning store is copied when the store ends exactly at
    /// the right leaf's last pivot, duplicating that entry.
    SpanningStoreDup = "spanning-store-dup",
        "spanning store copies the right leaf's last entry when the store ends on its pivot (Oct 2024, duplicate entry)",
        ["tree_ops", "tree_alloc", "tree_prealloc", "tree_faults"];
    /// April 2023 "fix a potential memory leak, OOB access": while filling
    /// a chain of `maple_alloc` nodes, `mas_alloc_nodes()` zeroes the count
    /// of the next chained node even when it already holds nodes, which
    /// are then forgotten while the total still counts them.
    AllocNodesCount = "alloc-nodes-count",
        "mas_alloc_nodes() zeroes a chained maple_alloc's count, forgetting its nodes (Apr 2023 leak); needs a top-up of a >31-node pool, which no op makes (6.12: a second mas_expected_entries adds nothing under MA_STATE_PREALLOC)",
        [];
    /// `mas_prealloc_calc()` asks for one node less than a split may use
    /// (`height * 2` instead of `height * 2 + 1`: no node for a new root).
    PreallocUndercount = "prealloc-undercount",
        "mas_prealloc_calc() asks height*2 nodes for a split that may need height*2+1 (the catalogue's under-request)",
        ["tree_ops", "tree_alloc", "tree_prealloc", "tree_faults"];
    /// August 2024 `check_nomem_writer_race`: after `mas_nomem()` (which
    /// drops the lock) the retry keeps the range `mas_wr_extend_null()`
    /// widened instead of the caller's, in `mas_store_gfp()` and
    /// `mas_erase()`.
    NomemRetryRange = "nomem-retry-range",
        "the retry after a failed allocation keeps the widened NULL range (Aug 2024 mas_nomem writer race)",
        ["tree_faults"];
    /// 2023 "make maple state reusable after mas_empty_area()": the
    /// searches leave `mas->min`/`max` at the found slot's range instead of
    /// the leaf's, so the insert that follows on the same state writes
    /// with wrong node limits (the MAP_32BIT report).
    EmptyAreaState = "empty-area-state",
        "gap searches leave mas->min/max at the slot's range, corrupting the insert on the same state (2023, MAP_32BIT)",
        ["tree_ops", "tree_alloc", "tree_faults"];
    /// 2023 "fix mas_empty_area_rev() lower bound validation": the reverse
    /// search accepts a gap without checking that `size` indices fit above
    /// the window's lower bound, returning a range starting below it.
    RevGapLowerBound = "rev-gap-lower-bound",
        "mas_rev_awalk() accepts a gap without checking size fits above the window's min (2023)",
        ["tree_ops", "tree_alloc", "tree_faults"];
    /// "Fix mas_spanning_rebalance() on insufficient data" (the CRIU
    /// report): the rebalance loop is entered without first pulling in a
    /// neighbour's data when the big node is too small for a node.
    SpanningRebalanceShort = "spanning-rebalance-short",
        "mas_spanning_rebalance() skips pulling in a neighbour when the data is below minimum (CRIU report)",
        ["tree_ops", "tree_alloc", "tree_prealloc", "tree_faults"];
    /// An exact-fit store that turns NULL into an entry (or back) does not
    /// update the parent's gap record (allocation trees).
    ExactFitGap = "exact-fit-gap",
        "exact-fit store changing NULL to an entry or back skips mas_update_gap() (gap tracking)",
        ["tree_ops", "tree_alloc", "tree_prealloc", "tree_faults"];
    /// An off-by-one in `mas_wr_store_type()`'s occupancy test (of the
    /// family of the catalogue's sufficiency and metadata-end off-by-ones):
    /// a leaf left one slot below `mt_min_slots` is node-stored instead of
    /// rebalanced.
    RebalanceThreshold = "rebalance-threshold",
        "mas_wr_store_type() node-stores a leaf left one below minimum occupancy instead of rebalancing (off-by-one)",
        ["tree_ops", "tree_alloc", "tree_prealloc", "tree_faults"];
    /// 2023 "disable mas_wr_append() when other readers are possible": an
    /// append rewrites the leaf's last pivot and its metadata in place,
    /// under readers of an RCU-mode tree. The store type is chosen as if
    /// the tree were not in RCU mode.
    RcuAppend = "rcu-append",
        "mas_wr_store_type() allows an in-place append in an RCU-mode tree (2023 'disable mas_wr_append() when other readers are possible')",
        ["tree_ops", "tree_alloc", "tree_prealloc", "tree_faults"];
    /// 2023 "fix freeing of nodes in rcu mode": a node replaced in an
    /// RCU-mode tree is freed at once instead of after a grace period,
    /// while a reader may still be in it.
    RcuFreeNow = "rcu-free-now",
        "ma_free_rcu() frees a replaced node at once instead of after the grace period (2023 'fix freeing of nodes in rcu mode')",
        ["tree_ops", "tree_alloc", "tree_prealloc", "tree_faults"];
    /// Of the 2023 "be more cautious about dead nodes" family: the RCU
    /// destroy walk frees a subtree's leaves after the grace period but
    /// never marks them dead, so a reader already in a leaf cannot tell
    /// that it left the tree.
    RcuDeadLeaves = "rcu-dead-leaves",
        "mte_dead_leaves() leaves the leaves of a dead subtree unmarked in RCU mode (2023 dead-node marking)",
        ["tree_ops", "tree_alloc", "tree_prealloc", "tree_faults"];
    /// `mas_wr_append()` writes the new pivots and slots but leaves the
    /// node's metadata end at the old end (the metadata-end family of the
    /// pre-merge fuzzer findings).
    AppendMeta = "append-meta",
        "mas_wr_append() leaves the metadata end at the old end: appended slots past the end (metadata-end family)",
        ["tree_ops", "tree_alloc", "tree_prealloc", "tree_faults"];
    /// `mas_wr_slot_store()` checks only the first of the slots it
    /// overwrites for NULL, so overwriting a NULL second slot leaves the
    /// parents' gap records stale (allocation trees).
    SlotStoreGap = "slot-store-gap",
        "mas_wr_slot_store() misses a NULL in the second slot it overwrites and skips the gap update (gap tracking)",
        ["tree_ops", "tree_alloc", "tree_prealloc", "tree_faults"];
    /// Pre-merge fuzzer finding (`check_fuzzer`): `mas_wr_extend_null()`
    /// extends a NULL store over the slot after the node's last one,
    /// reading a pivot past the data end.
    ExtendNullOverflow = "extend-null-overflow",
        "mas_wr_extend_null() extends past the node's last slot, taking a stale pivot as the range end (pre-merge fuzzer)",
        ["tree_ops", "tree_alloc", "tree_prealloc", "tree_faults"];
    /// December 2024 "maple_tree: reload mas before the second call for
    /// mas_empty_area": `mas_alloc_cyclic()` started its wrapped search
    /// (from the window's start) on the maple state its failed first search
    /// left behind instead of a reset one.
    CyclicNoReset = "cyclic-no-reset",
        "mas_alloc_cyclic() runs its wrapped second search on the state the failed first one left (Dec 2024, no mas_reset)",
        ["tree_alloc"];
    /// 2023 "maple_tree: revise limit checks in mas_empty_area{_rev}()"
    /// (Liam Howlett, suggested by Peng Zhang): both searches refused only
    /// `min >= max` (as Linux 6.1 still does), so a window of a single
    /// index was `EINVAL`, and a size of 0 or one larger than the window
    /// went on to search.
    EmptyAreaLimits = "empty-area-limits",
        "mas_empty_area{_rev}() check only min >= max: a one-index window is EINVAL, size 0 or larger than the window searches on (2023 limit checks)",
        ["tree_ops", "tree_alloc", "tree_faults"];
    /// April 2023 "maple_tree: fix allocation in mas_sparse_area()" (Peng
    /// Zhang): on a tree holding only index 0, a search whose window starts
    /// at 0 moves its lower bound to 1 without checking the size again, so
    /// a window exactly the size asked answers a range past its end.
    SparseAreaRecheck = "sparse-area-recheck",
        "mas_sparse_area() raises the lower bound past index 0's entry without re-checking the size: a range past the window (Apr 2023)",
        ["tree_alloc"];
    /// The VMA layer's merge rule for file mappings: `can_vma_merge_after()`
    /// merges a range behind `prev` without checking that the file offsets
    /// continue (`prev->vm_pgoff + vma_pages(prev) == pgoff`), so a file
    /// page is mapped at the wrong address (the class of the 2023-2024
    /// vma_merge pgoff fixes).
    VmaMergePgoff = "vma-merge-pgoff",
        "can_vma_merge_after() skips the pgoff continuity test: file mappings whose offsets do not line up merge (vma_merge pgoff fixes)",
        ["vma_ops"];
    /// The VMA layer's map count limit: `split_vma()` refuses a split only
    /// above `sysctl_max_map_count` instead of at it, so a split takes the
    /// address space one VMA past the limit (the family of the 2022
    /// `__split_vma` / munmap map_count fixes).
    VmaSplitLimit = "vma-split-limit",
        "split_vma() checks map_count > max_map_count instead of >=: one VMA past the limit (map_count off-by-one)",
        ["vma_ops"];
}

impl Mutant {
    /// The mutant called `name`.
    pub fn from_name(name: &str) -> Option<Mutant> {
        Mutant::ALL.iter().copied().find(|m| m.name() == name)
    }

    /// Every mutant's name.
    pub fn names() -> Vec<&'static str> {
        Mutant::ALL.iter().map(|m| m.name()).collect()
    }
}

impl std::fmt::Display for Mutant {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

thread_local! {
    static SELECTED: Cell<Option<Mutant>> = Cell::new(from_env());
}

fn from_env() -> Option<Mutant> {
    std::env::var(ENV).ok().and_then(|n| Mutant::from_name(&n))
}

/// Whether the mutants are compiled in (the `mutants` feature).
pub const ENABLED: bool = cfg!(feature = "mutants");

/// Selects the mutant for this thread (`None`: the port as it is). Returns
/// the previous selection. Without the `mutants` feature a selection is
/// recorded but never takes effect.
pub fn select(m: Option<Mutant>) -> Option<Mutant> {
    SELECTED.with(|s| s.replace(m))
}

/// The mutant selected for this thread.
pub fn selected() -> Option<Mutant> {
    SELECTED.with(Cell::get)
}

/// The mutant in force on this thread: the selection, if the feature is on.
pub fn in_force() -> Option<Mutant> {
    if ENABLED {
        selected()
    } else {
        None
    }
}

/// Whether `m` is in force on this thread.
#[inline]
pub fn active(m: Mutant) -> bool {
    ENABLED && selected() == Some(m)
}

/// Runs `f` with `m` selected, restoring the previous selection after.
pub fn with<R>(m: Option<Mutant>, f: impl FnOnce() -> R) -> R {
    struct Restore(Option<Mutant>);
    impl Drop for Restore {
        fn drop(&mut self) {
            select(self.0);
        }
    }
    let _restore = Restore(select(m));
    f()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for &m in Mutant::ALL {
            assert_eq!(Mutant::from_name(m.name()), Some(m));
            assert!(!m.summary().is_empty());
        }
        assert_eq!(Mutant::from_name("no-such-mutant"), None);
        let names = Mutant::names();
        let unique: std::collections::HashSet<_> = names.iter().collect();
        assert_eq!(unique.len(), names.len(), "names are unique");
    }

    #[test]
    fn selection_is_scoped() {
        let m = Mutant::StaleNodeStore;
        assert!(!active(m) || selected() == Some(m));
        with(Some(m), || assert_eq!(active(m), ENABLED));
        assert_eq!(selected(), from_env());
    }
}
