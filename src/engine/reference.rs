//! The naive oracle (`reference/`) as an engine.

use super::*;

/// The naive oracle (`reference/`).
#[derive(Clone)]
pub struct OracleEngine {
    tree: oracle::TreeOracle,
    cursor: oracle::Cursor,
    alloc_tree: bool,
    /// The range and entry a `store_prealloc` may store now, if one may.
    pending: Option<(u64, u64, Option<u64>)>,
    rcu: bool,
    /// The writer's bulk mode (see `bulk`).
    bulk: BulkBook,
    /// The cursor's error status (see `CursorBook`).
    cur: CursorBook,
    /// The cursor before a gap search that had several answers, until the
    /// engines say which one ([`TreeEngine::follow`]).
    before_search: Option<oracle::Cursor>,
}

impl OracleEngine {
    /// A fresh oracle of Linux 6.12. The configuration does not change what
    /// it computes.
    pub fn new(config: TreeConfig) -> OracleEngine {
        OracleEngine::with_profile(config, oracle::TreeProfile::Linux6_12)
    }

    /// A fresh oracle that answers as the kernel of `profile` (named
    /// `oracle` for 6.12, `oracle@6.1` for 6.1).
    pub fn with_profile(config: TreeConfig, profile: oracle::TreeProfile) -> OracleEngine {
        OracleEngine {
            tree: oracle::TreeOracle::with_profile(profile),
            cursor: oracle::Cursor::new(0, 0),
            alloc_tree: config.alloc,
            pending: None,
            rcu: config.rcu,
            bulk: BulkBook::default(),
            cur: CursorBook::default(),
            before_search: None,
        }
    }

    /// Whether the oracle can say exactly where a kernel maple state would
    /// step from (see `maplefuzz_reference::Cursor::is_positioned`).
    pub fn cursor_positioned(&self) -> bool {
        self.cursor.is_positioned(&self.tree)
    }

    fn cursor(&self, entry: Option<u64>) -> Outcome {
        let status = status_of(self.cursor.status);
        let cursor = Outcome::Cursor {
            entry: tok(entry),
            index: self.cursor.index,
            last: self.cursor.last,
            status,
        };
        match self.cursor.also.map(status_of) {
            Some(other) => Outcome::Either(Box::new([cursor.clone(), cursor.with_status(other)])),
            None => cursor,
        }
    }
}

fn status_of(s: oracle::Status) -> Status {
    match s {
        oracle::Status::Start => Status::Start,
        oracle::Status::Active => Status::Active,
        oracle::Status::Root => Status::Root,
        oracle::Status::None => Status::None,
        oracle::Status::Pause => Status::Pause,
        oracle::Status::Overflow => Status::Overflow,
        oracle::Status::Underflow => Status::Underflow,
    }
}

/// The oracle profile that answers as a kernel tree of version `tree`
/// (`X.Y`, as `kernel@X.Y` names it): 6.1 to 6.11 answer as 6.1 (the
/// first maple tree generation, whose iterators and allocation API 6.5 to
/// 6.8 rewrote), everything else as 6.12. A name that is not `X.Y` gets
/// 6.12.
pub fn profile_of_tree(tree: &str) -> oracle::TreeProfile {
    let mut parts = tree.split('.').map(|p| p.parse::<u32>().ok());
    match (parts.next().flatten(), parts.next().flatten()) {
        (Some(6), Some(minor)) if (1..=11).contains(&minor) => oracle::TreeProfile::Linux6_1,
        _ => oracle::TreeProfile::Linux6_12,
    }
}

fn to_oerr(e: Errno) -> oracle::Errno {
    match e {
        Errno::EINVAL => oracle::Errno::EINVAL,
        Errno::EEXIST => oracle::Errno::EEXIST,
        Errno::EBUSY => oracle::Errno::EBUSY,
        Errno::ENOMEM => oracle::Errno::ENOMEM,
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
        match self.tree.profile() {
            oracle::TreeProfile::Linux6_12 => "oracle",
            oracle::TreeProfile::Linux6_1 => "oracle@6.1",
        }
    }

    fn is_reference(&self) -> bool {
        true
    }

    fn apply(&mut self, op: &TreeOp) -> Outcome {
        self.cursor.also = None;
        self.before_search = None;
        let linux_6_1 = self.tree.profile() == oracle::TreeProfile::Linux6_1;
        if linux_6_1 && op.uses_cursor_state() {
            // Not modelled: 6.1's maple states stand on node pointers
            // whose statuses after a write or a resumed search the 6.1
            // profile does not follow (see reference/src/cursor).
            return Outcome::Unsupported;
        }
        let c = &self.cursor;
        let nodes = self.tree.root_kind() == oracle::RootKind::Node;
        if let Err(m) = self
            .cur
            .check(op, status_of(c.status), c.index, c.last, nodes)
        {
            return Outcome::CallerError(m);
        }
        if op.searches_at_cursor()
            && self.cursor.status == oracle::Status::Active
            && !self.cursor_positioned()
        {
            return Outcome::CallerError(format!(
                "{} on a cursor whose node a write replaced (or whose cached node end it left \
                 stale): the kernel would resume the search from that node; reset the state \
                 first",
                op.kind()
            ));
        }
        let outcome = self.apply_op(op);
        self.cur.after(op, &outcome);
        outcome
    }

    fn follow(&mut self, op: &TreeOp, answer: &Outcome) {
        let (Some(before), Outcome::Range(r)) = (self.before_search.take(), answer) else {
            return;
        };
        self.cursor = before;
        self.cursor.searched(&self.tree, r.map_err(to_oerr));
        self.cur = CursorBook::default();
        self.cur.after(op, answer);
    }

    fn cursor_positioned(&self) -> Option<bool> {
        // A cursor a failure left in error status is not paused for the
        // next step: the shared rules refuse that step (a caller error),
        // as the kernel's callers must reset such a state themselves.
        Some(self.cur.failed() || self.cursor_positioned())
    }

    fn snapshot(&self) -> Option<Box<dyn TreeEngine>> {
        Some(Box::new(self.clone()))
    }

    fn entries(&self) -> Vec<(u64, u64, u64)> {
        self.tree
            .entries()
            .into_iter()
            .map(|(a, b, e)| (a, b, entry_to_token(e)))
            .collect()
    }

    fn entries_in(&self, lo: u64, hi: u64) -> Vec<(u64, u64, u64)> {
        self.tree
            .entries_in(lo, hi)
            .into_iter()
            .map(|(a, b, e)| (a, b, entry_to_token(e)))
            .collect()
    }
}

impl OracleEngine {
    /// One op, once the shared rules let it run.
    fn apply_op(&mut self, op: &TreeOp) -> Outcome {
        // The oracle holds no nodes; it only tracks whether a store_prealloc
        // may run (see leaves_state_alone).
        let ready = self.pending.take();
        if leaves_state_alone(op) {
            self.pending = ready;
        }
        if let Err(m) = self.bulk.check(op, self.rcu, || self.tree.is_empty()) {
            return Outcome::CallerError(m);
        }
        self.bulk.enter(op);
        let t = &mut self.tree;
        match *op {
            TreeOp::Store { first, last, value } => Outcome::Status(
                t.store_range(first, last, value.map(token_to_entry))
                    .map(|_| ())
                    .map_err(oerr),
            ),
            TreeOp::EmptyArea { min, max, size } => {
                if !self.alloc_tree {
                    return Outcome::Range(Err(Errno::EINVAL));
                }
                Outcome::Range(t.empty_area(min, max, size).map_err(oerr))
            }
            TreeOp::EmptyAreaRev { min, max, size } => {
                if !self.alloc_tree {
                    return Outcome::Range(Err(Errno::EINVAL));
                }
                Outcome::Range(t.empty_area_rev(min, max, size).map_err(oerr))
            }
            TreeOp::AllocRange {
                size,
                min,
                max,
                value,
            } => Outcome::Alloc(
                t.alloc_range(
                    self.alloc_tree,
                    token_to_entry(value),
                    size,
                    min,
                    max,
                    false,
                )
                .map_err(oerr),
            ),
            TreeOp::AllocRRange {
                size,
                min,
                max,
                value,
            } => Outcome::Alloc(
                t.alloc_range(self.alloc_tree, token_to_entry(value), size, min, max, true)
                    .map_err(oerr),
            ),
            TreeOp::AllocCyclic {
                min,
                max,
                next,
                value,
            } => match t.alloc_cyclic(self.alloc_tree, token_to_entry(value), min, max, next) {
                None => Outcome::Unsupported,
                Some(r) => Outcome::Cyclic(r.map_err(oerr).map(|c| super::Cyclic {
                    id: c.id,
                    wrapped: c.wrapped,
                    next: c.next,
                })),
            },
            TreeOp::Prealloc { first, last, value } => {
                if first > last {
                    return Outcome::Status(Err(Errno::EINVAL));
                }
                self.pending = Some((first, last, value));
                Outcome::Status(Ok(()))
            }
            TreeOp::StorePrealloc { value } => match ready {
                Some((first, last, v)) if v == value => Outcome::Status(
                    t.store_range(first, last, value.map(token_to_entry))
                        .map(|_| ())
                        .map_err(oerr),
                ),
                _ => Outcome::Status(Err(Errno::EINVAL)),
            },
            TreeOp::MasStore { first, last, value } => Outcome::Status(
                t.store_range(first, last, value.map(token_to_entry))
                    .map(|_| ())
                    .map_err(oerr),
            ),
            TreeOp::MasDestroy => {
                self.pending = None;
                Outcome::Done
            }
            // Bulk mode holds nodes the oracle does not have: it succeeds
            // (ENOMEM under a fault schedule is the executor's business).
            TreeOp::ExpectedEntries { .. } => {
                self.bulk.reserved(true);
                Outcome::Status(Ok(()))
            }
            TreeOp::FailAllocs { .. } => Outcome::Done,
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
                // The profile stays: destroy empties the tree.
                t.destroy();
                if t.profile() == oracle::TreeProfile::Linux6_1 {
                    // 6.1's __mt_destroy() sets ma_flags to 0: no longer an
                    // allocation tree, nor in RCU mode. 6.12 keeps the
                    // attributes (`mt->ma_flags = mt_attr(mt)`); the upstream
                    // commit that changed it was not identified here.
                    self.alloc_tree = false;
                    self.rcu = false;
                }
                Outcome::Done
            }
            TreeOp::Reset => {
                self.cursor.reset();
                Outcome::Done
            }
            TreeOp::SetRange { first, last } => {
                self.cursor.set_range(first, last);
                Outcome::Done
            }
            TreeOp::CurEmptyArea { min, max, size }
            | TreeOp::CurEmptyAreaRev { min, max, size } => {
                if !self.alloc_tree {
                    return Outcome::Range(Err(Errno::EINVAL));
                }
                let rev = matches!(op, TreeOp::CurEmptyAreaRev { .. });
                let answers = self
                    .cursor
                    .empty_area_answers(&self.tree, min, max, size, rev);
                // The first answer stands until the engines say which one
                // they gave (follow).
                let Some(&first) = answers.first() else {
                    return Outcome::CallerError(format!(
                        "{} on a cursor the oracle cannot resume from",
                        op.kind()
                    ));
                };
                if answers.len() > 1 {
                    self.before_search = Some(self.cursor.clone());
                }
                self.cursor.searched(&self.tree, first);
                let mut all: Vec<Outcome> = answers
                    .into_iter()
                    .map(|r| Outcome::Range(r.map_err(oerr)))
                    .collect();
                if all.len() == 1 {
                    all.pop().expect("one answer")
                } else {
                    Outcome::OneOf(all)
                }
            }
            TreeOp::CurStore { value } => {
                match self.cursor.store(&mut self.tree, value.map(token_to_entry)) {
                    Ok(()) => self.cursor(None),
                    Err(e) => Outcome::Status(Err(oerr(e))),
                }
            }
            TreeOp::CurErase => {
                let e = self.cursor.erase(&mut self.tree);
                self.cursor(e)
            }
        }
    }
}
