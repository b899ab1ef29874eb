//! The Rust port (`tree/`, the crate `maple-tree`) as an engine: the tree, its cursor and its
//! writer, with the preallocation and bulk contracts checked from the
//! tree's side.

use super::*;

/// The Rust port (`tree/`, the crate `maple-tree`).
pub struct RustEngine {
    tree: MapleTree,
    /// The cursor.
    mas: MaState,
    /// The writer (preallocations and advanced stores).
    wmas: MaState,
    book: PreallocBook,
    /// The writer's bulk mode (see `bulk`).
    bulk: BulkBook,
    /// The cursor's error status (see `CursorBook`).
    cur: CursorBook,
    /// The cursor as the last write through it found it, for a redo of
    /// that write without injected failures.
    cur_before: Option<crate::tree::MaPosition>,
    rcu: bool,
}

impl RustEngine {
    /// A fresh tree with `config`, with the fixes for the Linux 6.12 bugs
    /// this project found applied, so that campaigns look for new bugs.
    pub fn new(config: TreeConfig) -> RustEngine {
        let mut e = RustEngine::exact(config);
        e.tree.set_fixes(Fixes::all());
        e
    }

    /// A fresh tree behaving exactly as Linux 6.12, known bugs included.
    pub fn exact(config: TreeConfig) -> RustEngine {
        let mut tree = MapleTree::with_flags(config.flags());
        // Replaced nodes wait for grace_period(): the executor looks at the
        // tree as readers see it first.
        tree.hold_grace_periods(config.rcu);
        // And every store is journaled: the reader check replays them.
        tree.keep_store_journal(config.rcu);
        RustEngine {
            tree,
            mas: MaState::new(0, 0),
            wmas: MaState::new(0, 0),
            book: PreallocBook::default(),
            bulk: BulkBook::default(),
            cur: CursorBook::default(),
            cur_before: None,
            rcu: config.rcu,
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

    /// `mas_set_range()` then `mas_store()` on the writer.
    fn mas_store(&mut self, first: u64, last: u64, value: Option<u64>) -> Outcome {
        let t = &mut self.tree;
        self.wmas.set_range(first, last);
        let other_store = self.book.is_other_store(first, last, value) || self.bulk.is_on();
        if !other_store {
            return Outcome::Status(
                self.wmas
                    .store_advanced(t, value.map(token_to_entry))
                    .map(|_| ()),
            );
        }
        // A store the preallocation was not made for: if it needs
        // more than the writer holds, the caller broke the contract.
        let wmas = &mut self.wmas;
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            wmas.store_advanced(t, value.map(token_to_entry))
                .map(|_| ())
        }));
        match r {
            Ok(r) => Outcome::Status(r),
            Err(p) => match p.downcast::<crate::tree::PreallocViolation>() {
                Ok(v) if self.bulk.is_on() => Outcome::CallerError(format!(
                    "bulk mas_store {first:#x}-{last:#x} needed more nodes than \
                         mas_expected_entries() reserved: {}",
                    v.0
                )),
                Ok(v) => Outcome::CallerError(format!(
                    "mas_store {first:#x}-{last:#x} on a writer preallocated for {:?} \
                     needed more nodes than it held: {}",
                    self.book.pending, v.0
                )),
                Err(p) => std::panic::resume_unwind(p),
            },
        }
    }

    /// The preallocation contract, from the tree's side: a `mas_store()`
    /// on a preallocated writer allocates nothing (the kernel's callers
    /// hold locks under which allocating may fail; since MA_STATE_PREALLOC
    /// it WARNs) and keeps what is left for the writer's further stores
    /// until `mas_destroy()`. A breach is the tree's fault, reported as a
    /// [`PreallocViolation`](crate::tree::PreallocViolation) (the
    /// executor's `prealloc` check).
    fn check_preallocated_store(
        &self,
        pending: (u64, u64, Option<u64>),
        allocs_before: u64,
        outcome: &Outcome,
    ) {
        if matches!(outcome, Outcome::CallerError(_)) {
            return;
        }
        let allocated = allocations(&self.tree) - allocs_before;
        let problem = if allocated != 0 {
            format!("allocated {allocated} node(s)")
        } else if !self.wmas.is_preallocated() {
            "released the preallocation (only mas_destroy may)".to_string()
        } else {
            return;
        };
        std::panic::panic_any(crate::tree::PreallocViolation(format!(
            "mas_store on a writer preallocated for {pending:?} {problem}"
        )));
    }

    /// `mas_expected_entries()` on the writer (bulk mode; again in bulk
    /// mode, a used-up reservation is the caller's error).
    fn expected_entries(&mut self, count: u64) -> Outcome {
        self.wmas.reset();
        if self.bulk.is_on() {
            // Again in bulk mode: see KernelEngine (a used-up pool
            // makes mas_alloc_nodes() BUG, the caller's error).
            let (wmas, t) = (&mut self.wmas, &mut self.tree);
            let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                wmas.expected_entries(t, count)
            }));
            return match r {
                Ok(r) => {
                    self.bulk.reserved(r.is_ok());
                    Outcome::Status(r)
                }
                Err(p) => match p.downcast::<crate::tree::PreallocViolation>() {
                    Ok(v) => Outcome::CallerError(format!(
                        "expected_entries {count} on a bulk writer whose reservation \
                         is used up: {}",
                        v.0
                    )),
                    Err(p) => std::panic::resume_unwind(p),
                },
            };
        }
        let r = self.wmas.expected_entries(&mut self.tree, count);
        self.bulk.reserved(r.is_ok());
        Outcome::Status(r)
    }
}

/// Node allocations the tree has attempted (granted or refused) so far.
fn allocations(t: &MapleTree) -> u64 {
    let c = t.node_counters();
    c.allocated + c.failed
}

impl TreeEngine for RustEngine {
    fn name(&self) -> &'static str {
        "rust"
    }

    fn generation(&self) -> Option<&'static str> {
        Some(PORT_GENERATION)
    }

    fn prealloc_rule(&self) -> Option<super::PreallocRule> {
        Some(super::PreallocRule::StoreType)
    }

    fn apply_unfaulted(&mut self, op: &TreeOp) -> Outcome {
        if op.writes_at_cursor() && self.cur.failed() {
            // The write failed whole and left the cursor in error status;
            // the tree is as before it, so the cursor it started from
            // still stands (a caller retrying would re-position it).
            if let Some(p) = self.cur_before.take() {
                self.mas.restore(p);
                self.cur = CursorBook::default();
            }
        }
        self.tree.suspend_faults(true);
        let out = self.apply(op);
        self.tree.suspend_faults(false);
        out
    }

    fn apply(&mut self, op: &TreeOp) -> Outcome {
        // What the op writes, for validate_written; the executor's own
        // pauses (after every write, before the checks) write nothing.
        if !matches!(op, TreeOp::Pause) {
            self.tree.clear_written();
        }
        if let Err(m) = self.bulk.check(op, self.rcu, || self.tree.is_empty()) {
            return Outcome::CallerError(m);
        }
        if let Err(m) = self.cur.check(
            op,
            self.mas.status(),
            self.mas.index(),
            self.mas.last(),
            self.tree.tree_height() > 0,
        ) {
            return Outcome::CallerError(m);
        }
        if op.writes_at_cursor() {
            self.cur_before = Some(self.mas.position());
        }
        let outcome = self.apply_op(op);
        self.cur.after(op, &outcome);
        outcome
    }

    fn entries(&self) -> Vec<(u64, u64, u64)> {
        self.tree
            .entries()
            .map(|(a, b, e)| (a, b, entry_to_token(e)))
            .collect()
    }

    fn entries_in(&self, lo: u64, hi: u64) -> Vec<(u64, u64, u64)> {
        self.entries_in_port(lo, hi)
    }

    fn inspect(&self) -> Option<&dyn Inspect> {
        Some(self)
    }

    fn grace_period(&mut self) {
        self.tree.rcu_barrier();
    }

    fn take_store_journal(&mut self) -> Option<Vec<crate::tree::Store>> {
        self.tree.take_store_journal()
    }
}

impl RustEngine {
    /// One op, once the shared rules let it run.
    fn apply_op(&mut self, op: &TreeOp) -> Outcome {
        self.bulk.enter(op);
        let (release, ready) = self.book.before(op);
        if release {
            self.wmas.destroy(&mut self.tree);
        }
        let alloc_tree = self.tree.attrs() & crate::tree::MT_FLAGS_ALLOC_RANGE != 0;
        let t = &mut self.tree;
        match *op {
            TreeOp::Store { first, last, value } => {
                Outcome::Status(t.store_range(first, last, value.map(token_to_entry)))
            }
            TreeOp::EmptyArea { min, max, size } | TreeOp::EmptyAreaRev { min, max, size } => {
                if !alloc_tree {
                    return Outcome::Range(Err(Errno::EINVAL));
                }
                let mut m = MaState::new(0, 0);
                let r = if matches!(op, TreeOp::EmptyArea { .. }) {
                    m.empty_area(t, min, max, size)
                } else {
                    m.empty_area_rev(t, min, max, size)
                };
                Outcome::Range(r.map(|()| (m.index(), m.last())))
            }
            TreeOp::AllocRange {
                size,
                min,
                max,
                value,
            } => Outcome::Alloc(t.alloc_range(token_to_entry(value), size, min, max)),
            TreeOp::AllocRRange {
                size,
                min,
                max,
                value,
            } => Outcome::Alloc(t.alloc_rrange(token_to_entry(value), size, min, max)),
            TreeOp::AllocCyclic {
                min,
                max,
                next,
                value,
            } => {
                let mut next = next;
                let r = t.alloc_cyclic(token_to_entry(value), min, max, &mut next);
                Outcome::Cyclic(r.map(|(id, wrapped)| super::Cyclic { id, wrapped, next }))
            }
            TreeOp::Prealloc { first, last, value } => {
                self.wmas.set_range(first, last);
                self.book.calling_preallocate(t.node_accounting().2);
                let r = self.wmas.preallocate(t, value.map(token_to_entry));
                if r.is_ok() {
                    self.book.preallocated(first, last, value);
                }
                Outcome::Status(r.map(|_| ()))
            }
            TreeOp::StorePrealloc { value } => {
                if ready != Some(value) {
                    return Outcome::Status(Err(Errno::EINVAL));
                }
                self.book.pending = None;
                Outcome::Status(self.wmas.store_prealloc(t, value.map(token_to_entry)))
            }
            TreeOp::ExpectedEntries { count } => self.expected_entries(count),
            TreeOp::MasStore { first, last, value } => {
                let held = self
                    .book
                    .pending
                    .or(self.bulk.is_on().then_some((first, last, value)));
                let allocs_before = allocations(&self.tree);
                let outcome = self.mas_store(first, last, value);
                if let Some(p) = held {
                    self.check_preallocated_store(p, allocs_before, &outcome);
                }
                outcome
            }
            TreeOp::MasDestroy => {
                self.wmas.destroy(t);
                self.book.pending = None;
                Outcome::Done
            }
            TreeOp::FailAllocs { schedule } => {
                t.set_fault_schedule(schedule);
                Outcome::Done
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
            TreeOp::Reset => {
                self.mas.reset();
                Outcome::Done
            }
            TreeOp::SetRange { first, last } => {
                self.mas.set_range(first, last);
                Outcome::Done
            }
            TreeOp::CurEmptyArea { min, max, size }
            | TreeOp::CurEmptyAreaRev { min, max, size } => {
                if !alloc_tree {
                    return Outcome::Range(Err(Errno::EINVAL));
                }
                let m = &mut self.mas;
                let r = if matches!(op, TreeOp::CurEmptyArea { .. }) {
                    m.empty_area(t, min, max, size)
                } else {
                    m.empty_area_rev(t, min, max, size)
                };
                Outcome::Range(r.map(|()| (m.index(), m.last())))
            }
            TreeOp::CurStore { value } => match self.mas.store(t, value.map(token_to_entry)) {
                Ok(()) => self.cursor(None),
                Err(e) => Outcome::Status(Err(e)),
            },
            TreeOp::CurErase => {
                let e = self.mas.erase(t);
                self.cursor(e)
            }
        }
    }

    fn entries_in_port(&self, lo: u64, hi: u64) -> Vec<(u64, u64, u64)> {
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
}

impl Inspect for RustEngine {
    fn validate(&self) -> Result<(), String> {
        self.tree.validate().map_err(|e| e.to_string())
    }

    fn validate_written(&self, range: Option<(u64, u64)>) -> Result<(), String> {
        self.tree.validate_written(range).map_err(|e| e.to_string())
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

    fn path_stats(&self) -> crate::tree::PathStats {
        self.tree.path_stats()
    }

    fn held_at_prealloc(&self) -> Option<u64> {
        self.book.held_at_prealloc
    }

    fn dump(&self) -> String {
        self.tree.dump()
    }

    fn failed_allocs(&self) -> u64 {
        self.tree.node_counters().failed
    }

    fn alloc_attempts(&self) -> u64 {
        self.tree.alloc_attempts()
    }

    fn node_traffic(&self) -> Option<(u64, u64)> {
        let c = self.tree.node_counters();
        Some((c.allocated, c.freed))
    }

    fn raw_root(&self) -> Option<u64> {
        Some(self.tree.raw_root())
    }

    fn raw_node(&self, addr: u64) -> Option<[u64; 32]> {
        self.tree.raw_node(addr)
    }

    fn rcu_mode(&self) -> bool {
        self.tree.attrs() & crate::tree::MT_FLAGS_USE_RCU != 0
    }

    fn with_nodes(&self, f: &mut dyn FnMut(&MapleTree)) -> bool {
        f(&self.tree);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tree::PreallocViolation;
    use std::panic::{catch_unwind, AssertUnwindSafe};

    /// An RCU tree (where a node store needs a node) with two entries, and
    /// the writer preallocated for `prealloc`.
    fn engine(prealloc: TreeOp) -> RustEngine {
        let mut e = RustEngine::new(TreeConfig {
            alloc: false,
            rcu: true,
        });
        for (first, last, v) in [(0, 100, 1), (200, 300, 2)] {
            let value = Some(v);
            assert_eq!(
                e.apply(&TreeOp::Store { first, last, value }),
                Outcome::Status(Ok(()))
            );
        }
        assert_eq!(e.apply(&prealloc), Outcome::Status(Ok(())));
        e
    }

    /// The preallocation check's message for `op`, if it fired.
    fn violation(e: &mut RustEngine, op: TreeOp) -> Option<String> {
        match catch_unwind(AssertUnwindSafe(|| e.apply(&op))) {
            Ok(_) => None,
            Err(p) => Some(
                p.downcast::<PreallocViolation>()
                    .expect("a PreallocViolation")
                    .0,
            ),
        }
    }

    #[test]
    fn preallocated_stores_pass_the_check() {
        let value = Some(3);
        let mut e = engine(TreeOp::Prealloc {
            first: 10,
            last: 20,
            value,
        });
        let op = TreeOp::MasStore {
            first: 10,
            last: 20,
            value,
        };
        assert_eq!(violation(&mut e, op), None);
        assert!(e.wmas.is_preallocated());
    }

    #[test]
    fn a_store_allocating_under_a_preallocation_is_reported() {
        let mut e = engine(TreeOp::Prealloc {
            first: 500,
            last: 600,
            value: Some(9),
        });
        // The writer loses its nodes behind the engine's back, as a tree
        // releasing them early would make it.
        e.wmas.destroy(&mut e.tree);
        let op = TreeOp::MasStore {
            first: 10,
            last: 20,
            value: Some(3),
        };
        let msg = violation(&mut e, op).expect("the check fires");
        assert!(msg.contains("allocated 1 node(s)"), "{msg}");
    }

    #[test]
    fn a_preallocation_released_by_a_store_is_reported() {
        let value = Some(5);
        let mut e = engine(TreeOp::Prealloc {
            first: 0,
            last: 100,
            value,
        });
        e.wmas.destroy(&mut e.tree);
        // An exact fit: no node needed, so only the release shows.
        let op = TreeOp::MasStore {
            first: 0,
            last: 100,
            value,
        };
        let msg = violation(&mut e, op).expect("the check fires");
        assert!(msg.contains("released the preallocation"), "{msg}");
    }
}
