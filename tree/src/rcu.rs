//! RCU mode's deferred frees: nodes a reader may still be walking are
//! queued (`call_rcu()`) and freed only after a grace period.
//!
//! The kernel frees a node replaced in an RCU-mode tree with
//! `ma_free_rcu()` (one node, `mt_free_rcu()` after the grace period) and a
//! dead subtree with `mte_destroy_walk()`: `mt_destroy_walk(free = false)`
//! under the lock marks every node dead and records in each the overlay a
//! second walk needs, then `call_rcu(mt_free_walk)` frees the lot after the
//! grace period.
//!
//! A Rust caller holding `&mut MapleTree` has no concurrent reader, so by
//! default a grace period ends at once and the callbacks run as they are
//! queued. [`MapleTree::hold_grace_periods`] keeps them queued until
//! [`MapleTree::rcu_barrier`] instead: a harness then sees the tree as a
//! reader would between the write and the grace period (replaced nodes
//! dead but not freed), and node accounting counts the queued nodes as
//! held.

use super::destroy::mt_free_walk;
use super::node::{enode_id, NodeId};
use super::MapleTree;

/// A callback waiting for a grace period.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum RcuCallback {
    /// `mt_free_rcu()`: free one dead node.
    FreeNode(NodeId),
    /// `mt_free_walk()`: free the dead subtree under a node, which held
    /// `nodes` nodes when the destroy walk marked them.
    FreeWalk { start: NodeId, nodes: u64 },
}

/// The callbacks queued and not yet run.
#[derive(Clone, Debug, Default)]
pub(crate) struct RcuQueue {
    pub(crate) pending: Vec<RcuCallback>,
    /// Keep callbacks until [`MapleTree::rcu_barrier`].
    pub(crate) hold: bool,
}

/// `call_rcu()`: queue `cb`; it runs at once unless grace periods are held.
pub(crate) fn call_rcu(t: &mut MapleTree, cb: RcuCallback) {
    t.rcu.pending.push(cb);
    if !t.rcu.hold {
        t.rcu_barrier();
    }
}

/// `ma_free_rcu()`: free a node that left an RCU-mode tree after the grace
/// period. The node must have been marked dead first (the kernel WARNs
/// otherwise: a reader could not tell it was replaced).
pub(crate) fn ma_free_rcu(t: &mut MapleTree, enode: u64) {
    assert!(
        t.arena.is_dead(enode),
        "maple tree: WARN in ma_free_rcu(): node {enode:#x} freed through RCU without being marked dead"
    );
    if crate::mutants::active(crate::mutants::Mutant::RcuFreeNow) {
        // Mutant rcu-free-now: the node is freed before the grace period
        // ends, while a reader may still be walking it.
        t.arena.free(enode_id(enode));
        return;
    }
    call_rcu(t, RcuCallback::FreeNode(enode_id(enode)));
}

impl MapleTree {
    /// Keeps RCU callbacks (the frees of nodes replaced in RCU mode)
    /// queued until [`rcu_barrier`](Self::rcu_barrier) when `on`; when
    /// off (the default), each runs as it is queued. Turning it off runs
    /// the queue.
    pub fn hold_grace_periods(&mut self, on: bool) {
        self.rcu.hold = on;
        if !on {
            self.rcu_barrier();
        }
    }

    /// `rcu_barrier()`: a grace period ends and every queued callback runs,
    /// freeing the nodes replaced since the last one.
    pub fn rcu_barrier(&mut self) {
        while !self.rcu.pending.is_empty() {
            let queued = std::mem::take(&mut self.rcu.pending);
            for cb in queued {
                match cb {
                    RcuCallback::FreeNode(id) => self.arena.free(id),
                    RcuCallback::FreeWalk { start, .. } => mt_free_walk(self, start),
                }
            }
        }
    }

    /// Nodes waiting for a grace period to be freed.
    pub fn rcu_pending_nodes(&self) -> u64 {
        self.rcu
            .pending
            .iter()
            .map(|cb| match cb {
                RcuCallback::FreeNode(_) => 1,
                RcuCallback::FreeWalk { nodes, .. } => *nodes,
            })
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use super::super::{Fixes, MapleTree, MT_FLAGS_USE_RCU};

    /// `n` ordered stores of `[10 i, 10 i + 5]` into an RCU-mode tree.
    fn ordered(n: u64, fixes: Fixes) -> MapleTree {
        let mut t = MapleTree::with_flags(MT_FLAGS_USE_RCU);
        t.set_fixes(fixes);
        for i in 0..n {
            t.store_range(10 * i, 10 * i + 5, Some(0x1000 + 8 * i))
                .unwrap();
        }
        t
    }

    fn destroy_panics(mut t: MapleTree) -> Option<String> {
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || {
            t.destroy();
            t.rcu_barrier();
        }));
        r.err().map(|e| {
            e.downcast_ref::<String>()
                .cloned()
                .or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default()
        })
    }

    #[test]
    fn replaced_nodes_wait_for_the_grace_period() {
        let mut t = ordered(40, Fixes::all());
        t.hold_grace_periods(true);
        let live = t.nodes_live();
        // A node store in RCU mode builds a new leaf: the old one waits.
        t.store_range(12, 13, Some(0x9000)).unwrap();
        assert!(t.rcu_pending_nodes() >= 1);
        let (alloc, reach, held) = t.node_accounting();
        assert_eq!(alloc, reach + held, "pending nodes count as held");
        assert!(t.nodes_live() > live);
        t.rcu_barrier();
        assert_eq!(t.rcu_pending_nodes(), 0);
        let (alloc, reach, held) = t.node_accounting();
        assert_eq!((alloc, held), (reach, 0));
        // A destroy queues the whole tree for one free walk.
        t.destroy();
        assert_eq!(t.rcu_pending_nodes(), t.nodes_live());
        t.rcu_barrier();
        assert_eq!(t.nodes_live(), 0);
        t.validate().unwrap();
    }

    #[test]
    fn without_holding_the_frees_run_at_once() {
        let mut t = ordered(40, Fixes::all());
        t.store_range(12, 13, Some(0x9000)).unwrap();
        assert_eq!(t.rcu_pending_nodes(), 0);
        t.destroy();
        assert_eq!(t.nodes_live(), 0);
    }

    /// Finding 4: 120 ordered stores give the root 16 children; the RCU
    /// destroy then frees a node twice (or one that is no node) in the
    /// exact port, as in the kernel engine's `exact` builds.
    #[test]
    fn rcu_destroy_of_a_full_root_breaks_exact_6_12() {
        let t = ordered(120, Fixes::default());
        let why = destroy_panics(t).expect("the exact port's RCU destroy must fail");
        assert!(
            why.contains("double free") || why.contains("no allocated node"),
            "{why}"
        );
        let t = ordered(120, Fixes::all());
        assert_eq!(destroy_panics(t), None);
    }

    /// Finding 7: a four-level RCU tree whose dead subtree has a node with
    /// 15 children: the exact free walk follows the metadata word.
    #[test]
    fn rcu_free_walk_follows_metadata_in_exact_6_12() {
        // The kernel's own 6.12.118 build: 3,007 stores are clean, 3,008
        // crash (docs/findings/rcu-free-walk.md). The port agrees.
        assert_eq!(destroy_panics(ordered(3007, Fixes::default())), None);
        let t = ordered(3008, Fixes::default());
        let why = destroy_panics(t).expect("the exact port's free walk must fail");
        assert!(why.contains("no allocated node"), "{why}");
        let mut t = ordered(3008, Fixes::all());
        t.destroy();
        t.rcu_barrier();
        assert_eq!(t.nodes_live(), 0);
    }
}
