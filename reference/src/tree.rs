// SPDX-License-Identifier: GPL-2.0-or-later
//! The tree oracle: the observable contents of a Linux 6.12 maple tree kept
//! in a `BTreeMap`, plus the one piece of structure that leaks through the
//! API, the kind of the root (empty, single root pointer, or node).
//!
//! Contents are a set of non-overlapping inclusive ranges, each mapped to a
//! non-zero value. Every index not covered by a range maps to NULL. Ranges
//! are never merged: two adjacent ranges holding the same value stay two
//! entries, exactly as the kernel keeps them in two slots.

use std::collections::BTreeMap;

use crate::{Errno, TreeProfile};

/// What `mt->ma_root` holds, the only structural fact the read API exposes.
///
/// The kernel keeps a lone entry stored over exactly `[0, 0]` in the root
/// pointer itself (`mas_store_root()`); reads of such a tree report status
/// `ma_root`, reads of an empty tree `ma_none`, and reads of any tree with a
/// node `ma_active`. Which one a tree is depends on its history, not only on
/// its contents (see [`TreeOracle::store_range`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum RootKind {
    /// `ma_root == NULL`: `mtree_empty()` is true.
    #[default]
    Empty,
    /// `ma_root` is the entry at index 0 (the only entry, range `[0, 0]`).
    Pointer,
    /// `ma_root` is a tagged node pointer (possibly a leaf holding only NULL).
    Node,
}

/// One leaf slot as the kernel's iterators see it: an entry, or a maximal
/// run of NULL indices.
///
/// The kernel never leaves two adjacent NULL slots (writes of NULL absorb
/// their NULL neighbours), so the slots of a node tree are exactly the
/// entries and the maximal holes between them. That is what lets this
/// oracle model `mas_next_slot()`/`mas_prev_slot()` without nodes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Slot {
    /// First index of the range.
    pub first: u64,
    /// Last index of the range (inclusive).
    pub last: u64,
    /// The entry, or `None` for a hole.
    pub value: Option<u64>,
}

/// The naive oracle of a maple tree (`struct maple_tree` seen from outside).
#[derive(Debug, Clone, Default)]
pub struct TreeOracle {
    /// `first -> (last, value)`; ranges never overlap.
    map: BTreeMap<u64, (u64, u64)>,
    /// The kind of `ma_root`, tracked with the kernel's rules.
    kind: RootKind,
    /// Bumped by every successful write; lets a cursor tell whether the
    /// position it holds predates a write (see `Cursor::is_positioned`).
    generation: u64,
    /// Whose answers the oracle gives where kernel versions differ.
    profile: TreeProfile,
    /// A cyclic allocation handed out the last index (`u64::MAX`) and no
    /// allocation since has reported the wrap (see
    /// [`TreeOracle::alloc_cyclic`]). Part of the tree, not of the caller.
    pub(crate) wrap_pending: bool,
}

/// Rejects the entries the oracle's API refuses with `-EINVAL`.
///
/// The kernel's normal API refuses `xa_is_advanced()` entries (internal
/// values up to `XA_RETRY_ENTRY`). This project never stores any value
/// whose low two bits are `10` (the kernel's internal/node encoding), so the
/// oracle refuses all of them, and zero, which is the kernel's NULL.
fn check_value(value: Option<u64>) -> Result<(), Errno> {
    match value {
        Some(v) if v == 0 || v & 3 == 2 => Err(Errno::EINVAL),
        _ => Ok(()),
    }
}

impl TreeOracle {
    /// An empty tree (`DEFINE_MTREE()` / `mt_init()`).
    pub fn new() -> TreeOracle {
        TreeOracle::default()
    }

    /// An empty tree that answers as the kernel of `profile` does.
    pub fn with_profile(profile: TreeProfile) -> TreeOracle {
        TreeOracle {
            profile,
            ..TreeOracle::default()
        }
    }

    /// The profile given to [`with_profile`](Self::with_profile).
    pub fn profile(&self) -> TreeProfile {
        self.profile
    }

    /// The kind of the root: empty, root pointer or node.
    ///
    /// Mirrors what `mas_start()` finds in `mt->ma_root`.
    pub fn root_kind(&self) -> RootKind {
        self.kind
    }

    /// `mtree_empty()`: true only when `ma_root` is NULL.
    ///
    /// A tree whose root is a node holding only NULL is *not* empty in the
    /// kernel's sense (see [`RootKind::Node`]); use [`len`](Self::len) to
    /// count entries.
    pub fn is_empty(&self) -> bool {
        self.kind == RootKind::Empty
    }

    /// The number of entries (non-NULL ranges).
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// A counter bumped by every successful write (store, insert, erase of
    /// an entry, destroy). Not a kernel concept.
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// `mtree_load()`: the entry at `index`, `None` for NULL.
    pub fn load(&self, index: u64) -> Option<u64> {
        self.entry_at(index).map(|(_, _, value)| value)
    }

    /// Every entry as `(first, last, value)`, sorted by `first`.
    ///
    /// What a `mas_for_each(&mas, entry, ULONG_MAX)` loop would visit,
    /// ranges included.
    pub fn entries(&self) -> Vec<(u64, u64, u64)> {
        self.map
            .iter()
            .map(|(&first, &(last, value))| (first, last, value))
            .collect()
    }

    /// The entries that meet `[lo, hi]`, sorted by `first`: what a
    /// `mas_for_each()` from `lo` up to `hi` visits.
    pub fn entries_in(&self, lo: u64, hi: u64) -> Vec<(u64, u64, u64)> {
        if lo > hi {
            return Vec::new();
        }
        // The entry covering `lo`, if it starts below it, then every entry
        // starting in the window.
        let before = self
            .map
            .range(..lo)
            .next_back()
            .filter(|(_, &(last, _))| last >= lo);
        before
            .into_iter()
            .chain(self.map.range(lo..=hi))
            .map(|(&first, &(last, value))| (first, last, value))
            .collect()
    }

    /// `mas_walk()` on a fresh state at `index`, as `(entry, index, last)`.
    ///
    /// Inside an entry: the entry and its range. Inside a hole: `None` and
    /// the maximal NULL range around `index` (bounded by the neighbouring
    /// entries or by 0 / `u64::MAX`). An empty tree gives
    /// `(None, 0, u64::MAX)`; a root-pointer tree walked above 0 gives
    /// `(None, 1, u64::MAX)`, which is the same rule.
    pub fn walk(&self, index: u64) -> (Option<u64>, u64, u64) {
        let slot = self.slot(index);
        (slot.value, slot.first, slot.last)
    }

    /// The slot (entry or maximal hole) that contains `index`.
    ///
    /// For a node tree this is the leaf slot `mtree_range_walk()` stops at.
    pub fn slot(&self, index: u64) -> Slot {
        if let Some((first, last, value)) = self.entry_at(index) {
            return Slot {
                first,
                last,
                value: Some(value),
            };
        }
        // No entry contains `index`, so an entry starting below it also
        // ends below it.
        let first = match self.map.range(..index).next_back() {
            Some((_, &(prev_last, _))) => prev_last + 1,
            None => 0,
        };
        let last = match self.map.range(index..).next() {
            Some((&next_first, _)) => next_first - 1,
            None => u64::MAX,
        };
        Slot {
            first,
            last,
            value: None,
        }
    }

    /// `mt_find()`: the first entry intersecting `[*index, max]`.
    ///
    /// On success `*index` becomes the index after that entry, wrapping to 0
    /// after `u64::MAX` as in the kernel. Returns `None` (and leaves
    /// `*index` alone) if `*index > max` or nothing is found.
    pub fn mt_find(&self, index: &mut u64, max: u64) -> Option<u64> {
        if *index > max {
            return None;
        }
        let found = self.entry_at(*index).or_else(|| {
            self.map
                .range(*index..=max)
                .next()
                .map(|(&first, &(last, value))| (first, last, value))
        });
        let (_, last, value) = found?;
        *index = last.wrapping_add(1);
        Some(value)
    }

    /// `mtree_store_range()`: store `value` over `[first, last]`; `None`
    /// punches a hole.
    ///
    /// Entries partly covered keep only what lies outside the range; an
    /// entry covering the range on both sides is split in three. Returns
    /// what the kernel's `mas_store()` returns for a write contained in one
    /// leaf: the entry at `first` before the store.
    ///
    /// Errors: `EINVAL` if `first > last`, or if `value` is `Some(0)` or an
    /// internal-looking value (`v & 3 == 2`).
    ///
    /// The root kind follows the kernel:
    /// - empty or root-pointer tree (`mas_store_root()`): a NULL store that
    ///   starts at 0 empties the tree, one that starts above 0 does nothing;
    ///   a value over exactly `[0, 0]` becomes the root pointer; any other
    ///   value expands the root into a node (`mas_root_expand()`);
    /// - node tree: a NULL store whose range, after absorbing the
    ///   neighbouring NULL ranges, covers `[0, u64::MAX]` empties the tree
    ///   (`mas_new_root()`), unless the root leaf held a single slot
    ///   covering everything, in which case it is an exact-fit write and the
    ///   node stays, holding NULL (`mas_wr_store_type()` tests exact fit
    ///   before new root). Every other store keeps a node root: a node tree
    ///   never goes back to a root pointer.
    ///
    /// [`TreeProfile::Linux6_1`]: there is no exact-fit exception. 6.1's
    /// `mas_wr_store_entry()` (and `mas_wr_spanning_store()`) sends any
    /// store over `[0, u64::MAX]` after NULL extension to `mas_new_root()`,
    /// which empties the root for NULL. The exact-fit test came with the
    /// store-type rewrite ("maple_tree: introduce mas_wr_store_type()",
    /// Linux 6.12; short hash not confirmed here).
    pub fn store_range(
        &mut self,
        first: u64,
        last: u64,
        value: Option<u64>,
    ) -> Result<Option<u64>, Errno> {
        check_value(value)?;
        if first > last {
            return Err(Errno::EINVAL);
        }
        Ok(self.write(first, last, value))
    }

    /// `mtree_store()`: [`store_range`](Self::store_range) over one index.
    pub fn store(&mut self, index: u64, value: Option<u64>) -> Result<Option<u64>, Errno> {
        self.store_range(index, index, value)
    }

    /// `mtree_insert_range()`: store `value` over `[first, last]` only if no
    /// entry intersects the range.
    ///
    /// Errors: `EINVAL` as for [`store_range`](Self::store_range), and also
    /// for `None`; `EEXIST` if any entry intersects `[first, last]`. A
    /// successful insert changes the root kind as a store of the same value
    /// would.
    pub fn insert_range(&mut self, first: u64, last: u64, value: Option<u64>) -> Result<(), Errno> {
        if value.is_none() {
            return Err(Errno::EINVAL);
        }
        check_value(value)?;
        if first > last {
            return Err(Errno::EINVAL);
        }
        if self.intersects(first, last) {
            return Err(Errno::EEXIST);
        }
        self.write(first, last, value);
        Ok(())
    }

    /// `mtree_insert()`: [`insert_range`](Self::insert_range) over one index.
    pub fn insert(&mut self, index: u64, value: Option<u64>) -> Result<(), Errno> {
        self.insert_range(index, index, value)
    }

    /// `mtree_erase()`: remove the whole entry containing `index` and
    /// return it; `None` (and no change) if `index` is in a hole.
    ///
    /// The kernel implements this as a NULL store over the entry's range
    /// (`mas_erase()`), so the root kind changes as for that store.
    pub fn erase(&mut self, index: u64) -> Option<u64> {
        let (first, last, value) = self.entry_at(index)?;
        self.write(first, last, None);
        Some(value)
    }

    /// `mtree_destroy()`: remove everything; the root becomes NULL. The
    /// tree's attributes stay, the pending wrap of
    /// [`alloc_cyclic`](Self::alloc_cyclic) among them.
    pub fn destroy(&mut self) {
        self.map.clear();
        self.kind = RootKind::Empty;
        self.generation += 1;
    }

    /// What `mas_root()` reads when a state in `ma_root`/`ma_none` hands
    /// back the root entry: the root pointer, or NULL for an empty tree.
    ///
    /// For a node tree the kernel would hand back the encoded node pointer
    /// (only reachable with a state that predates a write); the oracle
    /// answers with the entry at index 0 instead.
    pub(crate) fn root_entry(&self) -> Option<u64> {
        self.load(0)
    }

    /// The entry containing `index`, as `(first, last, value)`.
    fn entry_at(&self, index: u64) -> Option<(u64, u64, u64)> {
        let (&first, &(last, value)) = self.map.range(..=index).next_back()?;
        (last >= index).then_some((first, last, value))
    }

    /// Whether any entry intersects `[first, last]`.
    fn intersects(&self, first: u64, last: u64) -> bool {
        self.entry_at(first).is_some() || self.map.range(first..=last).next().is_some()
    }

    /// Whether the root is a node holding one slot over `[0, u64::MAX]`:
    /// either one entry covering everything or nothing but NULL. A write of
    /// `[0, u64::MAX]` into such a node is an exact fit, into any other node
    /// tree a new root.
    pub(crate) fn is_single_full_slot(&self) -> bool {
        if self.kind != RootKind::Node {
            return false;
        }
        match self.map.len() {
            0 => true,
            1 => self.map.get(&0).is_some_and(|&(last, _)| last == u64::MAX),
            _ => false,
        }
    }

    /// Overwrite `[first, last]` with `value` (already validated) and track
    /// the root kind. Returns the entry that was at `first`.
    fn write(&mut self, first: u64, last: u64, value: Option<u64>) -> Option<u64> {
        let old = self.load(first);
        let was_single_full_slot = self.is_single_full_slot();
        self.punch(first, last);
        if let Some(v) = value {
            self.map.insert(first, (last, v));
        }
        self.kind = match (self.kind, value) {
            // mas_store_root(): NULL at index 0 clears the root pointer,
            // NULL above 0 leaves the root alone.
            (RootKind::Empty | RootKind::Pointer, None) if first == 0 => RootKind::Empty,
            (kind @ (RootKind::Empty | RootKind::Pointer), None) => kind,
            (RootKind::Empty | RootKind::Pointer, Some(_)) if first == 0 && last == 0 => {
                RootKind::Pointer
            }
            // mas_root_expand().
            (RootKind::Empty | RootKind::Pointer, Some(_)) => RootKind::Node,
            // mas_new_root(NULL), reached when the NULL-extended write is
            // not an exact fit of the single root slot.
            (RootKind::Node, None)
                if self.map.is_empty()
                    && (!was_single_full_slot || self.profile == TreeProfile::Linux6_1) =>
            {
                RootKind::Empty
            }
            (RootKind::Node, _) => RootKind::Node,
        };
        self.generation += 1;
        old
    }

    /// Remove `[first, last]` from every entry it touches, keeping the
    /// parts of those entries that lie outside it.
    fn punch(&mut self, first: u64, last: u64) {
        // Entries starting at or before `last`, walked downwards, end in
        // decreasing order; stop at the first one ending before `first`.
        let hits: Vec<(u64, u64, u64)> = self
            .map
            .range(..=last)
            .rev()
            .map(|(&f, &(l, v))| (f, l, v))
            .take_while(|&(_, l, _)| l >= first)
            .collect();
        for (f, l, v) in hits {
            self.map.remove(&f);
            if f < first {
                self.map.insert(f, (first - 1, v));
            }
            if l > last {
                self.map.insert(last + 1, (l, v));
            }
        }
    }
}
