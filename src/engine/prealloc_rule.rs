// SPDX-License-Identifier: GPL-2.0-or-later
//! How many nodes `mas_preallocate()` asks for, in each kernel version.
//!
//! The rule changed twice since the maple tree went in, and each engine
//! follows its own kernel's: the executor checks every preallocation
//! against the rule of the engine that made it ([`PreallocRule::request`]
//! on the engine's [`StorePlan`], made from its tree before the store).
//! The rules are written here from each version's source, not taken from
//! the port, so the port's own rule (6.12) is checked too.

use crate::tree::{StorePlan, StoreType};

/// A kernel version's preallocation rule.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PreallocRule {
    /// Linux 6.1: `mas_preallocate()` asks for the worst case of any store
    /// at the tree's height, `1 + 3 * height` nodes, whatever the store.
    Height,
    /// Linux 6.12 (`mas_prealloc_calc()` of the store-type series): by
    /// store type and height; a split needs two nodes a level and a new
    /// root, a spanning store three a level, a rebalance two a level but
    /// the root's, an in-place store none (a node store one in RCU mode,
    /// which must not change a node readers see).
    StoreType,
    /// Linux 6.18 and 7.1 (Sidhartha Kumar's 2025 series, "maple_tree: use
    /// vacant nodes to reduce worst case allocations" and "maple_tree: add
    /// sufficient height"): as [`StoreType`](Self::StoreType), but a change
    /// climbs only to the lowest internal node of the walk with a free
    /// slot; a spanning store or rebalance, which can take that node below
    /// its minimum in turn, climbs to the lowest node with occupancy to
    /// spare instead when that one is higher.
    VacantHeight,
}

impl PreallocRule {
    /// The rule of a kernel engine, by the name its build gave it
    /// (`maplefuzz_kernel::VariantInfo::prealloc_rule`); `None` for a tree
    /// that follows none of them.
    pub fn from_name(name: &str) -> Option<PreallocRule> {
        match name {
            "height" => Some(PreallocRule::Height),
            "store-type" => Some(PreallocRule::StoreType),
            "vacant-height" => Some(PreallocRule::VacantHeight),
            _ => None,
        }
    }

    /// The kernel versions that follow it, for reports.
    pub fn versions(self) -> &'static str {
        match self {
            PreallocRule::Height => "Linux 6.1",
            PreallocRule::StoreType => "Linux 6.12",
            PreallocRule::VacantHeight => "Linux 6.18 and 7.1",
        }
    }

    /// How many nodes a preallocation for the store `p` asks for.
    pub fn request(self, p: &StorePlan) -> u64 {
        let h = u64::from(p.height);
        if self == PreallocRule::Height {
            return 1 + 3 * h;
        }
        // Both later rules agree on every store type that does not depend
        // on the walk's heights.
        match p.store_type {
            StoreType::Append | StoreType::ExactFit | StoreType::SlotStore => return 0,
            StoreType::NodeStore => return u64::from(p.in_rcu),
            StoreType::NewRoot => return 1,
            // An empty tree or a lone root entry: a node unless the store
            // keeps a single entry at index 0 that is not node-like.
            StoreType::StoreRoot => {
                let node_like = p.entry & 3 == 2;
                return u64::from(p.index != 0 || p.last != 0 || node_like);
            }
            // The kernel WARNs; the worst case stands.
            StoreType::Invalid => return 3 * h + 1,
            StoreType::SpanningStore | StoreType::SplitStore | StoreType::Rebalance => {}
        }
        if self == PreallocRule::StoreType {
            return match p.store_type {
                StoreType::SpanningStore => 3 * h + 1,
                StoreType::SplitStore => 2 * h + 1,
                _ => (2 * h).saturating_sub(1),
            };
        }
        let vacant = u64::from(p.vacant_height);
        let sufficient = u64::from(p.sufficient_height);
        // Levels the change may climb: to the vacant node, or for a
        // spanning store or rebalance to the sufficient node when that is
        // higher (a smaller height).
        let climb = if sufficient < vacant && p.store_type != StoreType::SplitStore {
            h - sufficient
        } else {
            h - vacant
        };
        match p.store_type {
            StoreType::SpanningStore => 3 * climb + 1,
            _ => 2 * climb + 1,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tree::MapleTree;

    fn plan(store_type: StoreType, height: u32, vacant: u32, sufficient: u32) -> StorePlan {
        StorePlan {
            store_type,
            height,
            vacant_height: vacant,
            sufficient_height: sufficient,
            in_rcu: false,
            index: 10,
            last: 20,
            entry: 0x1000,
        }
    }

    #[test]
    fn six_one_asks_for_the_worst_case_of_the_height() {
        for ty in StoreType::ALL {
            assert_eq!(PreallocRule::Height.request(&plan(ty, 3, 2, 1)), 10);
        }
    }

    #[test]
    fn six_twelve_sizes_by_store_type_and_height() {
        let r = PreallocRule::StoreType;
        assert_eq!(r.request(&plan(StoreType::SplitStore, 3, 2, 1)), 7);
        assert_eq!(r.request(&plan(StoreType::SpanningStore, 3, 2, 1)), 10);
        assert_eq!(r.request(&plan(StoreType::Rebalance, 3, 2, 1)), 5);
        assert_eq!(r.request(&plan(StoreType::SlotStore, 3, 2, 1)), 0);
        let mut p = plan(StoreType::NodeStore, 3, 0, 0);
        assert_eq!(r.request(&p), 0);
        p.in_rcu = true;
        assert_eq!(r.request(&p), 1);
    }

    #[test]
    fn later_kernels_climb_only_to_the_vacant_or_sufficient_node() {
        let r = PreallocRule::VacantHeight;
        // The leaves' parent has room: the split needs two leaves and the
        // parent's replacement.
        assert_eq!(r.request(&plan(StoreType::SplitStore, 3, 2, 0)), 3);
        // No room anywhere: a new root, as in 6.12.
        assert_eq!(r.request(&plan(StoreType::SplitStore, 3, 0, 0)), 7);
        // A rebalance or spanning store whose sufficient node is at or below
        // the vacant one climbs to the vacant one...
        assert_eq!(r.request(&plan(StoreType::Rebalance, 3, 2, 2)), 3);
        assert_eq!(r.request(&plan(StoreType::SpanningStore, 3, 2, 3)), 4);
        // ...and to the sufficient one when that is higher; a split never.
        assert_eq!(r.request(&plan(StoreType::Rebalance, 3, 2, 1)), 5);
        assert_eq!(r.request(&plan(StoreType::SpanningStore, 3, 2, 1)), 7);
        assert_eq!(r.request(&plan(StoreType::SplitStore, 3, 2, 1)), 3);
        assert_eq!(r.request(&plan(StoreType::Rebalance, 3, 2, 0)), 7);
    }

    #[test]
    fn a_store_on_an_empty_tree_needs_a_node_unless_it_is_a_lone_root_entry() {
        let t = MapleTree::new();
        for r in [PreallocRule::StoreType, PreallocRule::VacantHeight] {
            assert_eq!(r.request(&t.plan_store(5, 10, Some(0x1000))), 1);
            assert_eq!(r.request(&t.plan_store(0, 0, Some(0x1000))), 0);
        }
    }

    #[test]
    fn the_port_asks_for_what_the_six_twelve_rule_says() {
        // Build trees of several heights and compare the port's own request
        // (its mas_prealloc_calc) with the rule written here.
        let mut t = MapleTree::new();
        let mut checked = 0;
        for i in 0..2000u64 {
            t.store_range(i * 10, i * 10 + 4, Some(0x1000 + i * 8))
                .unwrap();
            if i % 37 != 0 {
                continue;
            }
            for (a, b) in [(i * 10 + 5, i * 10 + 6), (3, 4), (7, 200), (0, i * 5)] {
                let p = t.plan_store(a, b, Some(0x2000));
                let mut mas = crate::tree::MaState::new(a, b);
                let asked = mas.preallocate(&mut t, Some(0x2000)).unwrap();
                mas.destroy(&mut t);
                assert_eq!(asked as u64, PreallocRule::StoreType.request(&p), "{p:?}");
                checked += 1;
            }
        }
        assert!(t.plan_store(0, 0, None).height >= 3 && checked > 200);
    }
}
