//! [`MapleMap<T>`]: a typed, owning range map over the faithful core.
//!
//! The core [`MapleTree`] maps inclusive ranges of `u64` indices to opaque,
//! non-zero `u64` words, as the kernel's maple tree maps them to pointers.
//! `MapleMap<T>` keeps the values themselves: each value stored lives once in
//! a slab inside the map, and the core holds a token naming its slot.
//!
//! # Ownership of split ranges
//!
//! Like the kernel's tree, the core splits a range when part of it is
//! overwritten: after `store(10..=20, a)` and `store(15..=15, b)`, the ranges
//! `10..=14` and `16..=20` both still refer to `a`. `MapleMap` keeps one `a`
//! for both and counts the ranges that refer to it; the value is dropped
//! when the last of them is overwritten or erased, never before and exactly
//! once. [`get_mut`](MapleMap::get_mut) therefore changes the value of every
//! range split from the same store, and [`erase`](MapleMap::erase) hands the
//! value back only when no other range still refers to it.
//!
//! ```
//! use maple_tree::{Errno, MapleMap};
//! let mut map = MapleMap::new();
//! map.store(10..=20, String::from("a")).unwrap();
//! map.store(15..=15, String::from("b")).unwrap(); // splits 10..=20
//! let v: Vec<_> = map.iter().map(|(r, s)| (r, s.as_str())).collect();
//! assert_eq!(v, [(10..=14, "a"), (15..=15, "b"), (16..=20, "a")]);
//! assert_eq!(map.insert(0..=10, String::from("c")), Err(Errno::EEXIST));
//! // "a" stays while 16..=20 refers to it, and comes back with that range.
//! assert_eq!(map.erase(12).unwrap().value, None);
//! assert_eq!(map.erase(20).unwrap().value.as_deref(), Some("a"));
//!
//! // Allocation trees hand out the lowest (or highest) free range.
//! let mut ids = MapleMap::with_alloc_ranges();
//! assert_eq!(ids.alloc_range(1, 1..=u64::from(u32::MAX), "first"), Ok(1));
//! assert_eq!(ids.alloc_range(4, 1..=u64::from(u32::MAX), "next four"), Ok(2));
//! assert_eq!(ids.get(5), Some(&"next four"));
//! ```
//!
//! The core's fixes for the Linux 6.12 bugs this project found
//! ([`Fixes::all`]) are on in every `MapleMap`, so that, for example,
//! [`insert`](MapleMap::insert) over the whole index space never overwrites.
//!
//! Tokens are `(slot << 1) | 1`, the kernel's `xa_mk_value()` encoding: never
//! zero (NULL) and never one of the core's reserved internal words.

#![deny(missing_docs)]

use std::fmt;
use std::iter::FusedIterator;
use std::ops::{Bound, RangeBounds, RangeInclusive};

use crate::{Errno, Fixes, MaState, MapleTree, MT_FLAGS_ALLOC_RANGE};

/// A map from non-overlapping inclusive ranges of `u64` indices to values of
/// type `T`, stored in a maple tree.
///
/// Values are owned by the map and dropped exactly once: when the last range
/// referring to them is overwritten or erased, on [`clear`](Self::clear), or
/// when the map is dropped (see the [module documentation](self) for ranges
/// that a partial overwrite splits).
///
/// ```
/// use maple_tree::MapleMap;
/// let mut map = MapleMap::new();
/// map.store(0x1000..=0x1fff, "text").unwrap();
/// map.store(0x4000..=0x4fff, "data").unwrap();
/// assert_eq!(map.get(0x1234), Some(&"text"));
/// assert_eq!(map.get(0x3000), None);
/// assert_eq!(map.len(), 2);
/// ```
pub struct MapleMap<T> {
    tree: MapleTree,
    /// The values, indexed by slot; a token names slot `token >> 1`.
    slots: Vec<Option<Slot<T>>>,
    /// Free slots, reused last-in first-out.
    free: Vec<usize>,
    /// Ranges in the tree (the sum of every slot's `ranges`).
    len: usize,
}

/// One value and the number of ranges in the tree that refer to it.
struct Slot<T> {
    value: T,
    ranges: usize,
}

/// What [`MapleMap::erase`] removed.
///
/// ```
/// use maple_tree::{Erased, MapleMap};
/// let mut map = MapleMap::new();
/// map.store(1..=9, String::from("a")).unwrap();
/// map.store(5..=5, String::from("b")).unwrap(); // splits 1..=9
/// // 1..=4 goes; 6..=9 still refers to "a", so the map keeps it.
/// assert_eq!(map.erase(2), Some(Erased { range: 1..=4, value: None }));
/// // 6..=9 was the last range referring to "a": it is handed back.
/// let e = map.erase(7).unwrap();
/// assert_eq!((e.range, e.value), (6..=9, Some(String::from("a"))));
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Erased<T> {
    /// The whole range that held the index.
    pub range: RangeInclusive<u64>,
    /// The value, if no other range refers to it any more; `None` while a
    /// range split from the same store still does (the map keeps it then).
    pub value: Option<T>,
}

fn token(slot: usize) -> u64 {
    ((slot as u64) << 1) | 1
}

fn slot_of(token: u64) -> usize {
    (token >> 1) as usize
}

/// `[first, last]` of a non-empty inclusive range, else `EINVAL`.
fn bounds(r: &RangeInclusive<u64>) -> Result<(u64, u64), Errno> {
    if r.is_empty() {
        return Err(Errno::EINVAL);
    }
    Ok((*r.start(), *r.end()))
}

/// `[first, last]` of any range of indices, or `None` if it is empty.
fn inclusive(r: &impl RangeBounds<u64>) -> Option<(u64, u64)> {
    let first = match r.start_bound() {
        Bound::Included(&a) => a,
        Bound::Excluded(&a) => a.checked_add(1)?,
        Bound::Unbounded => 0,
    };
    let last = match r.end_bound() {
        Bound::Included(&b) => b,
        Bound::Excluded(&b) => b.checked_sub(1)?,
        Bound::Unbounded => u64::MAX,
    };
    (first <= last).then_some((first, last))
}

impl<T> MapleMap<T> {
    /// An empty map.
    ///
    /// ```
    /// use maple_tree::MapleMap;
    /// let map: MapleMap<u32> = MapleMap::new();
    /// assert!(map.is_empty());
    /// ```
    pub fn new() -> MapleMap<T> {
        MapleMap::from_tree(MapleTree::new())
    }

    /// An empty map that tracks free gaps (`MT_FLAGS_ALLOC_RANGE`), for
    /// [`alloc_range`](Self::alloc_range) and
    /// [`alloc_rrange`](Self::alloc_rrange).
    ///
    /// ```
    /// use maple_tree::MapleMap;
    /// let mut ids = MapleMap::with_alloc_ranges();
    /// assert_eq!(ids.alloc_range(1, 1..=u64::MAX, "first"), Ok(1));
    /// assert_eq!(ids.alloc_range(1, 1..=u64::MAX, "second"), Ok(2));
    /// ```
    pub fn with_alloc_ranges() -> MapleMap<T> {
        MapleMap::from_tree(MapleTree::with_flags(MT_FLAGS_ALLOC_RANGE))
    }

    fn from_tree(mut tree: MapleTree) -> MapleMap<T> {
        tree.set_fixes(Fixes::all());
        MapleMap {
            tree,
            slots: Vec::new(),
            free: Vec::new(),
            len: 0,
        }
    }

    /// Whether this map tracks free gaps (made by
    /// [`with_alloc_ranges`](Self::with_alloc_ranges)).
    ///
    /// ```
    /// use maple_tree::MapleMap;
    /// assert!(MapleMap::<()>::with_alloc_ranges().is_alloc());
    /// assert!(!MapleMap::<()>::new().is_alloc());
    /// ```
    pub fn is_alloc(&self) -> bool {
        self.tree.attrs() & MT_FLAGS_ALLOC_RANGE != 0
    }

    /// The number of ranges in the map (what [`iter`](Self::iter) yields).
    /// A partial overwrite can split one stored range in two, so this may
    /// exceed the number of values held.
    ///
    /// ```
    /// use maple_tree::MapleMap;
    /// let mut map = MapleMap::new();
    /// map.store(0..=99, 'a').unwrap();
    /// assert_eq!(map.len(), 1);
    /// map.store(50..=50, 'b').unwrap(); // 0..=49, 50..=50, 51..=99
    /// assert_eq!(map.len(), 3);
    /// ```
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the map holds no range.
    ///
    /// ```
    /// use maple_tree::MapleMap;
    /// let mut map = MapleMap::new();
    /// assert!(map.is_empty());
    /// map.store(7..=7, ()).unwrap();
    /// assert!(!map.is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The faithful core underneath, read-only: its entries are this map's
    /// tokens. Useful to [`validate`](MapleTree::validate) or
    /// [`dump`](MapleTree::dump) the tree.
    ///
    /// ```
    /// use maple_tree::MapleMap;
    /// let mut map = MapleMap::new();
    /// for i in 0..1000u64 {
    ///     map.store(i * 10..=i * 10 + 4, i).unwrap();
    /// }
    /// map.core().validate().unwrap();
    /// assert!(map.core().tree_height() > 1);
    /// ```
    pub fn core(&self) -> &MapleTree {
        &self.tree
    }

    /// The value at `index`.
    ///
    /// ```
    /// use maple_tree::MapleMap;
    /// let mut map = MapleMap::new();
    /// map.store(10..=20, "x").unwrap();
    /// assert_eq!(map.get(10), Some(&"x"));
    /// assert_eq!(map.get(20), Some(&"x"));
    /// assert_eq!(map.get(21), None);
    /// ```
    pub fn get(&self, index: u64) -> Option<&T> {
        self.tree.load(index).map(|t| self.value(t))
    }

    /// The value at `index`, mutably. It is shared by every range split
    /// from the same store, so the change shows in all of them.
    ///
    /// ```
    /// use maple_tree::MapleMap;
    /// let mut map = MapleMap::new();
    /// map.store(10..=20, 1).unwrap();
    /// map.store(15..=15, 2).unwrap();
    /// *map.get_mut(10).unwrap() += 100;
    /// assert_eq!(map.get(20), Some(&101)); // 16..=20 shares the value
    /// assert_eq!(map.get(15), Some(&2));
    /// ```
    pub fn get_mut(&mut self, index: u64) -> Option<&mut T> {
        let t = self.tree.load(index)?;
        Some(&mut self.slot_mut(t).value)
    }

    /// The whole range holding `index`, and its value.
    ///
    /// ```
    /// use maple_tree::MapleMap;
    /// let mut map = MapleMap::new();
    /// map.store(0x1000..=0x1fff, "page").unwrap();
    /// assert_eq!(map.get_range(0x1234), Some((0x1000..=0x1fff, &"page")));
    /// assert_eq!(map.get_range(0x2000), None);
    /// ```
    pub fn get_range(&self, index: u64) -> Option<(RangeInclusive<u64>, &T)> {
        let mut mas = MaState::new(index, index);
        let t = mas.walk(&self.tree)?;
        Some((mas.index()..=mas.last(), self.value(t)))
    }

    /// Stores `value` over `range`, overwriting whatever was there: ranges
    /// wholly inside are removed, ranges that stick out are trimmed (one
    /// that sticks out on both sides is split in two). A value no range
    /// refers to any more is dropped before this returns.
    ///
    /// `EINVAL` for an empty range (`start > end`), `ENOMEM` if the tree
    /// could not allocate a node; on error the map is unchanged and `value`
    /// is dropped.
    ///
    /// ```
    /// use maple_tree::{Errno, MapleMap};
    /// let mut map = MapleMap::new();
    /// map.store(0..=9, 'a').unwrap();
    /// map.store(5..=14, 'b').unwrap();
    /// let v: Vec<_> = map.iter().collect();
    /// assert_eq!(v, [(0..=4, &'a'), (5..=14, &'b')]);
    /// let empty = 3..=2;
    /// assert_eq!(map.store(empty, 'c'), Err(Errno::EINVAL));
    /// ```
    pub fn store(&mut self, range: RangeInclusive<u64>, value: T) -> Result<(), Errno> {
        let (first, last) = bounds(&range)?;
        let t = self.add_slot(value);
        let (r, dropped) = self.rewrite(first, last, Some(t), |tree| {
            tree.store_range(first, last, Some(t))
        });
        drop(dropped);
        r
    }

    /// Stores `value` over `range` only if no index of `range` holds a
    /// value.
    ///
    /// `EEXIST` if one does, `EINVAL` for an empty range, `ENOMEM` if the
    /// tree could not allocate a node; on error the map is unchanged and
    /// `value` is dropped.
    ///
    /// ```
    /// use maple_tree::{Errno, MapleMap};
    /// let mut map = MapleMap::new();
    /// map.insert(10..=19, "a").unwrap();
    /// assert_eq!(map.insert(19..=29, "b"), Err(Errno::EEXIST));
    /// map.insert(20..=29, "b").unwrap();
    /// assert_eq!(map.len(), 2);
    /// ```
    pub fn insert(&mut self, range: RangeInclusive<u64>, value: T) -> Result<(), Errno> {
        let (first, last) = bounds(&range)?;
        let t = self.add_slot(value);
        let (r, dropped) = self.rewrite(first, last, Some(t), |tree| {
            tree.insert_range(first, last, t)
        });
        drop(dropped);
        r
    }

    /// Removes every value from `range`, trimming ranges that stick out of
    /// it, and drops the values no range refers to any more. `EINVAL` for an
    /// empty range, `ENOMEM` if the tree could not allocate a node (the map
    /// is then unchanged).
    ///
    /// ```
    /// use maple_tree::MapleMap;
    /// let mut map = MapleMap::new();
    /// map.store(0..=99, "block").unwrap();
    /// map.remove_range(10..=89).unwrap();
    /// let v: Vec<_> = map.iter().collect();
    /// assert_eq!(v, [(0..=9, &"block"), (90..=99, &"block")]);
    /// ```
    pub fn remove_range(&mut self, range: RangeInclusive<u64>) -> Result<(), Errno> {
        let (first, last) = bounds(&range)?;
        let (r, dropped) = self.rewrite(first, last, None, |tree| {
            tree.store_range(first, last, None)
        });
        drop(dropped);
        r
    }

    /// Removes the whole range holding `index` (`mtree_erase()`), returning
    /// it and, if no other range refers to it, its value (see [`Erased`]).
    /// `None` if `index` holds nothing.
    ///
    /// ```
    /// use maple_tree::MapleMap;
    /// let mut map = MapleMap::new();
    /// map.store(100..=199, vec![1, 2, 3]).unwrap();
    /// let e = map.erase(150).unwrap();
    /// assert_eq!(e.range, 100..=199);
    /// assert_eq!(e.value, Some(vec![1, 2, 3]));
    /// assert!(map.erase(150).is_none());
    /// assert!(map.is_empty());
    /// ```
    pub fn erase(&mut self, index: u64) -> Option<Erased<T>> {
        let mut mas = MaState::new(index, index);
        let t = mas.walk(&self.tree)?;
        let (first, last) = (mas.index(), mas.last());
        let (erased, mut dropped) = self.rewrite(first, last, None, |tree| tree.erase(index));
        debug_assert_eq!(erased, Some(t));
        // Only the erased value can have lost its last range.
        debug_assert!(dropped.len() <= 1);
        Some(Erased {
            range: first..=last,
            value: dropped.pop(),
        })
    }

    /// Stores `value` over the lowest free range of `size` indices within
    /// `within` and returns its first index (`mtree_alloc_range()`).
    ///
    /// `EBUSY` if no free range fits; `EINVAL` if the map was not made by
    /// [`with_alloc_ranges`](Self::with_alloc_ranges), if `size` is 0 or if
    /// `within` cannot hold `size` indices; `ENOMEM` if the tree could not
    /// allocate a node. On error the map is unchanged and `value` is
    /// dropped.
    ///
    /// ```
    /// use maple_tree::{Errno, MapleMap};
    /// let mut heap = MapleMap::with_alloc_ranges();
    /// let a = heap.alloc_range(0x100, 0x1000..=0x1fff, "a").unwrap();
    /// let b = heap.alloc_range(0x100, 0x1000..=0x1fff, "b").unwrap();
    /// assert_eq!((a, b), (0x1000, 0x1100));
    /// assert_eq!(heap.alloc_range(0x1000, 0x1000..=0x1fff, "c"), Err(Errno::EBUSY));
    /// ```
    pub fn alloc_range(
        &mut self,
        size: u64,
        within: RangeInclusive<u64>,
        value: T,
    ) -> Result<u64, Errno> {
        self.alloc(size, within, value, false)
    }

    /// Like [`alloc_range`](Self::alloc_range), but the highest free range
    /// (`mtree_alloc_rrange()`).
    ///
    /// ```
    /// use maple_tree::MapleMap;
    /// let mut stack = MapleMap::with_alloc_ranges();
    /// assert_eq!(stack.alloc_rrange(0x10, 0..=0xff, "top"), Ok(0xf0));
    /// assert_eq!(stack.alloc_rrange(0x10, 0..=0xff, "next"), Ok(0xe0));
    /// ```
    pub fn alloc_rrange(
        &mut self,
        size: u64,
        within: RangeInclusive<u64>,
        value: T,
    ) -> Result<u64, Errno> {
        self.alloc(size, within, value, true)
    }

    fn alloc(
        &mut self,
        size: u64,
        within: RangeInclusive<u64>,
        value: T,
        rev: bool,
    ) -> Result<u64, Errno> {
        let (min, max) = bounds(&within)?;
        let t = self.add_slot(value);
        let r = if rev {
            self.tree.alloc_rrange(t, size, min, max)
        } else {
            self.tree.alloc_range(t, size, min, max)
        };
        match r {
            // The range found was all free: only the new value gained a
            // range, and nothing else changed.
            Ok(first) => {
                debug_assert_eq!(self.tree.load(first), Some(t));
                self.slot_mut(t).ranges = 1;
                self.len += 1;
            }
            Err(_) => drop(self.release(t)),
        }
        r
    }

    /// The lowest range of `size` free indices within `within`
    /// (`mas_empty_area()`), without storing anything.
    ///
    /// `EBUSY` if none fits; `EINVAL` if the map was not made by
    /// [`with_alloc_ranges`](Self::with_alloc_ranges) (the search descends
    /// by the gap records only such trees keep), if `size` is 0 or if
    /// `within` cannot hold `size` indices.
    ///
    /// ```
    /// use maple_tree::{Errno, MapleMap};
    /// let mut map = MapleMap::with_alloc_ranges();
    /// map.store(0..=9, ()).unwrap();
    /// map.store(12..=20, ()).unwrap();
    /// assert_eq!(map.empty_area(2, 0..=100), Ok(10..=11));
    /// assert_eq!(map.empty_area(3, 0..=100), Ok(21..=23));
    /// assert_eq!(map.empty_area(90, 0..=100), Err(Errno::EBUSY));
    /// let plain: MapleMap<()> = MapleMap::new();
    /// assert_eq!(plain.empty_area(1, 0..=100), Err(Errno::EINVAL));
    /// ```
    pub fn empty_area(
        &self,
        size: u64,
        within: RangeInclusive<u64>,
    ) -> Result<RangeInclusive<u64>, Errno> {
        let (min, max) = self.search_window(&within)?;
        let mut mas = MaState::new(0, 0);
        mas.empty_area(&self.tree, min, max, size)?;
        Ok(mas.index()..=mas.last())
    }

    /// The highest range of `size` free indices within `within`
    /// (`mas_empty_area_rev()`); errors as [`empty_area`](Self::empty_area).
    ///
    /// ```
    /// use maple_tree::MapleMap;
    /// let mut map = MapleMap::with_alloc_ranges();
    /// map.store(90..=100, ()).unwrap();
    /// assert_eq!(map.empty_area_rev(5, 0..=100), Ok(85..=89));
    /// ```
    pub fn empty_area_rev(
        &self,
        size: u64,
        within: RangeInclusive<u64>,
    ) -> Result<RangeInclusive<u64>, Errno> {
        let (min, max) = self.search_window(&within)?;
        let mut mas = MaState::new(0, 0);
        mas.empty_area_rev(&self.tree, min, max, size)?;
        Ok(mas.index()..=mas.last())
    }

    /// The window of a gap search: `EINVAL` unless this is an allocation
    /// tree and the window is not empty.
    fn search_window(&self, within: &RangeInclusive<u64>) -> Result<(u64, u64), Errno> {
        if !self.is_alloc() {
            return Err(Errno::EINVAL);
        }
        bounds(within)
    }

    /// Removes every range and drops every value; the map stays usable.
    ///
    /// ```
    /// use maple_tree::MapleMap;
    /// let mut map = MapleMap::new();
    /// map.store(1..=2, String::from("x")).unwrap();
    /// map.clear();
    /// assert!(map.is_empty());
    /// assert_eq!(map.get(1), None);
    /// ```
    pub fn clear(&mut self) {
        self.tree.destroy();
        self.free.clear();
        self.len = 0;
        // Drop the values last, with the map already consistent, in case a
        // value's destructor panics.
        drop(std::mem::take(&mut self.slots));
    }

    /// Every range and its value, in index order.
    ///
    /// ```
    /// use maple_tree::MapleMap;
    /// let mut map = MapleMap::new();
    /// map.store(20..=29, 'b').unwrap();
    /// map.store(0..=9, 'a').unwrap();
    /// let v: Vec<_> = map.iter().collect();
    /// assert_eq!(v, [(0..=9, &'a'), (20..=29, &'b')]);
    /// ```
    pub fn iter(&self) -> Iter<'_, T> {
        Iter {
            map: self,
            mas: MaState::new(0, 0),
            max: u64::MAX,
            done: false,
        }
    }

    /// The ranges that overlap `range`, in index order, each whole (a range
    /// that starts before `range` is yielded with its own start).
    ///
    /// ```
    /// use maple_tree::MapleMap;
    /// let mut map = MapleMap::new();
    /// map.store(0..=9, 'a').unwrap();
    /// map.store(10..=19, 'b').unwrap();
    /// map.store(30..=39, 'c').unwrap();
    /// let v: Vec<_> = map.range(5..25).collect();
    /// assert_eq!(v, [(0..=9, &'a'), (10..=19, &'b')]);
    /// assert_eq!(map.range(20..30).count(), 0);
    /// assert_eq!(map.range(..).count(), 3);
    /// ```
    pub fn range(&self, range: impl RangeBounds<u64>) -> Iter<'_, T> {
        let (first, last, done) = match inclusive(&range) {
            Some((a, b)) => (a, b, false),
            None => (0, 0, true),
        };
        Iter {
            map: self,
            mas: MaState::new(first, first),
            max: last,
            done,
        }
    }

    /// A cursor at `index`, to move from range to range in either
    /// direction.
    ///
    /// ```
    /// use maple_tree::MapleMap;
    /// let mut map = MapleMap::new();
    /// map.store(0..=9, 'a').unwrap();
    /// map.store(20..=29, 'b').unwrap();
    /// let mut c = map.cursor(15);
    /// assert_eq!(c.current(), None);
    /// assert_eq!(c.move_next(), Some((20..=29, &'b')));
    /// assert_eq!(c.move_prev(), Some((0..=9, &'a')));
    /// assert_eq!(c.move_prev(), None);
    /// ```
    pub fn cursor(&self, index: u64) -> Cursor<'_, T> {
        Cursor { map: self, index }
    }

    fn value(&self, token: u64) -> &T {
        &self.slots[slot_of(token)]
            .as_ref()
            .expect("the tree holds only tokens of live slots")
            .value
    }

    fn slot_mut(&mut self, token: u64) -> &mut Slot<T> {
        self.slots[slot_of(token)]
            .as_mut()
            .expect("the tree holds only tokens of live slots")
    }

    /// Puts `value` in a free slot, with no range yet, and returns its token.
    fn add_slot(&mut self, value: T) -> u64 {
        let slot = Some(Slot { value, ranges: 0 });
        let i = match self.free.pop() {
            Some(i) => {
                self.slots[i] = slot;
                i
            }
            None => {
                self.slots.push(slot);
                self.slots.len() - 1
            }
        };
        token(i)
    }

    /// Empties the slot of `token` and returns its value.
    fn release(&mut self, token: u64) -> T {
        let i = slot_of(token);
        let slot = self.slots[i].take().expect("a live slot");
        debug_assert_eq!(slot.ranges, 0);
        self.free.push(i);
        slot.value
    }

    /// The tokens of the ranges that overlap `[first, last]`, one per range.
    fn tokens_in(&self, first: u64, last: u64) -> Vec<u64> {
        let mut v = Vec::new();
        let mut mas = MaState::new(first, first);
        while let Some(t) = mas.find(&self.tree, last) {
            v.push(t);
            if mas.last() >= last {
                break;
            }
        }
        v
    }

    /// Runs `write`, which changes only indices in `[first, last]`, and
    /// brings the range counts up to date: the ranges overlapping
    /// `[first - 1, last + 1]` (the write's own indices and the neighbours
    /// it may trim, split or join) are counted before and after, and each
    /// token's count moves by the difference. Returns `write`'s result and
    /// the values no range refers to any more (including `new`, the token
    /// of the value being written, if the write failed); the caller drops
    /// them once the map is consistent again.
    fn rewrite<R>(
        &mut self,
        first: u64,
        last: u64,
        new: Option<u64>,
        write: impl FnOnce(&mut MapleTree) -> R,
    ) -> (R, Vec<T>) {
        let (lo, hi) = (first.saturating_sub(1), last.saturating_add(1));
        let before = self.tokens_in(lo, hi);
        let r = write(&mut self.tree);
        let after = self.tokens_in(lo, hi);
        // Count the gains first, so that no count passes through zero on
        // its way to a positive value.
        for &t in &after {
            self.slot_mut(t).ranges += 1;
        }
        self.len += after.len();
        self.len -= before.len();
        let mut gone = Vec::new();
        for &t in &before {
            let slot = self.slot_mut(t);
            slot.ranges -= 1;
            if slot.ranges == 0 {
                gone.push(self.release(t));
            }
        }
        if let Some(t) = new {
            if self.slot_mut(t).ranges == 0 {
                gone.push(self.release(t));
            }
        }
        (r, gone)
    }
}

impl<T> Default for MapleMap<T> {
    fn default() -> MapleMap<T> {
        MapleMap::new()
    }
}

impl<T: fmt::Debug> fmt::Debug for MapleMap<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

impl<'a, T> IntoIterator for &'a MapleMap<T> {
    type Item = (RangeInclusive<u64>, &'a T);
    type IntoIter = Iter<'a, T>;

    fn into_iter(self) -> Iter<'a, T> {
        self.iter()
    }
}

/// An iterator over ranges and their values in index order, made by
/// [`MapleMap::iter`] and [`MapleMap::range`].
///
/// ```
/// use maple_tree::{typed::Iter, MapleMap};
/// let mut map = MapleMap::new();
/// map.store(1..=1, "one").unwrap();
/// let mut it: Iter<'_, &str> = map.iter();
/// assert_eq!(it.next(), Some((1..=1, &"one")));
/// assert_eq!(it.next(), None);
/// ```
pub struct Iter<'a, T> {
    map: &'a MapleMap<T>,
    mas: MaState,
    /// The last index of interest.
    max: u64,
    done: bool,
}

impl<'a, T> Iterator for Iter<'a, T> {
    type Item = (RangeInclusive<u64>, &'a T);

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let Some(t) = self.mas.find(&self.map.tree, self.max) else {
            self.done = true;
            return None;
        };
        let (first, last) = (self.mas.index(), self.mas.last());
        if last >= self.max {
            self.done = true;
        }
        Some((first..=last, self.map.value(t)))
    }
}

impl<T> FusedIterator for Iter<'_, T> {}

impl<T> fmt::Debug for Iter<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Iter")
            .field("index", &self.mas.index())
            .field("max", &self.max)
            .field("done", &self.done)
            .finish_non_exhaustive()
    }
}

/// A position in a [`MapleMap`], made by [`MapleMap::cursor`]: it moves to
/// the next or previous range and reads the range it is in.
///
/// ```
/// use maple_tree::MapleMap;
/// let mut map = MapleMap::new();
/// for (i, name) in ["a", "b", "c"].into_iter().enumerate() {
///     let i = i as u64 * 10;
///     map.store(i..=i + 4, name).unwrap();
/// }
/// let mut c = map.cursor(0);
/// let mut names = vec![c.current().unwrap().1];
/// while let Some((_, name)) = c.move_next() {
///     names.push(name);
/// }
/// assert_eq!(names, [&"a", &"b", &"c"]);
/// ```
pub struct Cursor<'a, T> {
    map: &'a MapleMap<T>,
    index: u64,
}

impl<'a, T> Cursor<'a, T> {
    /// The index the cursor is at: where it was made, or the first index of
    /// the range it last moved to.
    ///
    /// ```
    /// use maple_tree::MapleMap;
    /// let mut map = MapleMap::new();
    /// map.store(40..=49, ()).unwrap();
    /// let mut c = map.cursor(7);
    /// assert_eq!(c.index(), 7);
    /// c.move_next();
    /// assert_eq!(c.index(), 40);
    /// ```
    pub fn index(&self) -> u64 {
        self.index
    }

    /// The range the cursor is in and its value, or `None` if its index
    /// holds nothing.
    ///
    /// ```
    /// use maple_tree::MapleMap;
    /// let mut map = MapleMap::new();
    /// map.store(40..=49, 'x').unwrap();
    /// assert_eq!(map.cursor(45).current(), Some((40..=49, &'x')));
    /// assert_eq!(map.cursor(50).current(), None);
    /// ```
    pub fn current(&self) -> Option<(RangeInclusive<u64>, &'a T)> {
        self.map.get_range(self.index)
    }

    /// Moves to the first range after the one (or the free indices) the
    /// cursor is in, and returns it. At the end it returns `None` and stays
    /// where it is.
    ///
    /// ```
    /// use maple_tree::MapleMap;
    /// let mut map = MapleMap::new();
    /// map.store(0..=9, 'a').unwrap();
    /// map.store(10..=19, 'b').unwrap();
    /// let mut c = map.cursor(3);
    /// assert_eq!(c.move_next(), Some((10..=19, &'b')));
    /// assert_eq!(c.move_next(), None);
    /// assert_eq!(c.index(), 10);
    /// ```
    pub fn move_next(&mut self) -> Option<(RangeInclusive<u64>, &'a T)> {
        let tree = &self.map.tree;
        let mut mas = MaState::new(self.index, self.index);
        mas.walk(tree);
        let from = mas.last().checked_add(1)?;
        let mut mas = MaState::new(from, from);
        let t = mas.find(tree, u64::MAX)?;
        self.index = mas.index();
        Some((mas.index()..=mas.last(), self.map.value(t)))
    }

    /// Moves to the last range before the one (or the free indices) the
    /// cursor is in, and returns it. At the start it returns `None` and
    /// stays where it is.
    ///
    /// ```
    /// use maple_tree::MapleMap;
    /// let mut map = MapleMap::new();
    /// map.store(0..=9, 'a').unwrap();
    /// map.store(10..=19, 'b').unwrap();
    /// let mut c = map.cursor(u64::MAX);
    /// assert_eq!(c.move_prev(), Some((10..=19, &'b')));
    /// assert_eq!(c.move_prev(), Some((0..=9, &'a')));
    /// assert_eq!(c.move_prev(), None);
    /// ```
    pub fn move_prev(&mut self) -> Option<(RangeInclusive<u64>, &'a T)> {
        let tree = &self.map.tree;
        let mut mas = MaState::new(self.index, self.index);
        mas.walk(tree);
        let from = mas.index().checked_sub(1)?;
        let mut mas = MaState::new(from, from);
        let t = mas.find_rev(tree, 0)?;
        self.index = mas.index();
        Some((mas.index()..=mas.last(), self.map.value(t)))
    }
}

impl<T> fmt::Debug for Cursor<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Cursor")
            .field("index", &self.index)
            .finish_non_exhaustive()
    }
}

impl<T> Clone for Cursor<'_, T> {
    fn clone(&self) -> Self {
        Cursor {
            map: self.map,
            index: self.index,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;
    use std::cell::RefCell;
    use std::collections::{BTreeMap, BTreeSet, HashMap};
    use std::rc::Rc;

    /// How many times each value was dropped, by id.
    #[derive(Clone, Default)]
    struct Log(Rc<RefCell<Drops>>);

    #[derive(Default)]
    struct Drops {
        counts: Vec<u32>,
        total: usize,
        twice: Vec<u32>,
    }

    impl Log {
        fn val(&self, id: u32) -> Tracked {
            Tracked {
                id,
                log: self.clone(),
            }
        }

        /// The ids dropped so far, in order, each as often as it was.
        fn dropped(&self) -> Vec<u32> {
            let d = self.0.borrow();
            let mut v = Vec::new();
            for (id, &n) in d.counts.iter().enumerate() {
                v.extend(std::iter::repeat(id as u32).take(n as usize));
            }
            v
        }

        fn count(&self, id: u32) -> u32 {
            self.0
                .borrow()
                .counts
                .get(id as usize)
                .copied()
                .unwrap_or(0)
        }
    }

    /// A value that records its drop. Deliberately not `Clone`: the map
    /// must never duplicate a value.
    struct Tracked {
        id: u32,
        log: Log,
    }

    impl fmt::Debug for Tracked {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            write!(f, "#{}", self.id)
        }
    }

    impl Drop for Tracked {
        fn drop(&mut self) {
            let mut d = self.log.0.borrow_mut();
            let i = self.id as usize;
            if d.counts.len() <= i {
                d.counts.resize(i + 1, 0);
            }
            d.counts[i] += 1;
            d.total += 1;
            if d.counts[i] > 1 {
                d.twice.push(self.id);
            }
        }
    }

    /// The map's bookkeeping against a recount of the core: every range's
    /// token names a live slot, every live slot's count is the number of
    /// ranges naming it and is positive (no value kept that nothing refers
    /// to), the free list is exactly the empty slots, and the tree is valid.
    fn check<T>(m: &MapleMap<T>) {
        let mut counts: HashMap<usize, usize> = HashMap::new();
        let mut n = 0;
        for (_, _, t) in m.tree.entries() {
            assert_eq!(t & 1, 1, "token {t:#x} is not a value word");
            *counts.entry(slot_of(t)).or_default() += 1;
            n += 1;
        }
        assert_eq!(m.len, n, "len");
        for (i, s) in m.slots.iter().enumerate() {
            match s {
                Some(s) => {
                    assert!(s.ranges > 0, "slot {i} is live with no range");
                    assert_eq!(Some(&s.ranges), counts.get(&i), "slot {i}");
                }
                None => assert!(!counts.contains_key(&i), "slot {i} is free but named"),
            }
        }
        let free: BTreeSet<usize> = m.free.iter().copied().collect();
        assert_eq!(free.len(), m.free.len(), "a slot is free twice");
        let empty: BTreeSet<usize> = (0..m.slots.len())
            .filter(|&i| m.slots[i].is_none())
            .collect();
        assert_eq!(free, empty, "free list");
        m.tree.validate().unwrap();
    }

    fn ranges<T>(m: &MapleMap<T>) -> Vec<(RangeInclusive<u64>, u32)>
    where
        T: std::borrow::Borrow<Tracked>,
    {
        m.iter().map(|(r, v)| (r, v.borrow().id)).collect()
    }

    #[test]
    fn a_split_value_is_dropped_with_its_last_range() {
        let log = Log::default();
        let mut m = MapleMap::new();
        m.store(10..=20, log.val(1)).unwrap();
        m.store(15..=15, log.val(2)).unwrap();
        assert_eq!(ranges(&m), [(10..=14, 1), (15..=15, 2), (16..=20, 1)]);
        assert_eq!(m.len(), 3);
        check(&m);
        assert!(log.dropped().is_empty());
        m.store(10..=14, log.val(3)).unwrap();
        // 16..=20 still refers to #1.
        assert!(log.dropped().is_empty());
        m.store(16..=20, log.val(4)).unwrap();
        assert_eq!(log.dropped(), [1]);
        // Trims #3 and #4, removes #2.
        m.store(12..=18, log.val(5)).unwrap();
        assert_eq!(log.dropped(), [1, 2]);
        assert_eq!(ranges(&m), [(10..=11, 3), (12..=18, 5), (19..=20, 4)]);
        check(&m);
        drop(m);
        assert_eq!(log.dropped(), [1, 2, 3, 4, 5]);
    }

    #[test]
    fn an_overwrite_drops_every_value_it_covers_once() {
        let log = Log::default();
        let mut m = MapleMap::new();
        for i in 0..500u32 {
            let a = u64::from(i) * 8;
            m.store(a..=a + 5, log.val(i)).unwrap();
        }
        // Split a few so that some values have two ranges.
        for i in 0..50u32 {
            let a = u64::from(i) * 8 + 2;
            m.store(a..=a, log.val(1000 + i)).unwrap();
        }
        check(&m);
        assert_eq!(m.len(), 600);
        assert!(log.dropped().is_empty());
        m.store(0..=u64::MAX, log.val(9999)).unwrap();
        check(&m);
        let mut want: Vec<u32> = (0..500).chain(1000..1050).collect();
        want.sort();
        assert_eq!(log.dropped(), want);
        assert_eq!(ranges(&m), [(0..=u64::MAX, 9999)]);
        m.store(0..=u64::MAX, log.val(10000)).unwrap();
        assert_eq!(log.count(9999), 1);
        drop(m);
        assert_eq!(log.count(10000), 1);
        assert!(log.0.borrow().twice.is_empty());
    }

    #[test]
    fn erase_hands_back_the_value_with_its_last_range() {
        let log = Log::default();
        let mut m = MapleMap::new();
        m.store(0..=99, log.val(1)).unwrap();
        m.store(50..=59, log.val(2)).unwrap();
        let e = m.erase(10).unwrap();
        assert_eq!(e.range, 0..=49);
        assert!(e.value.is_none());
        assert!(log.dropped().is_empty());
        let e = m.erase(99).unwrap();
        assert_eq!(e.range, 60..=99);
        let v = e.value.expect("the last range of #1");
        assert_eq!(v.id, 1);
        assert!(log.dropped().is_empty(), "handed back, not dropped");
        drop(v);
        assert_eq!(log.dropped(), [1]);
        assert!(m.erase(10).is_none());
        check(&m);
        let e = m.erase(55).unwrap();
        assert_eq!(
            (e.range.clone(), e.value.as_ref().map(|v| v.id)),
            (50..=59, Some(2))
        );
        drop(e);
        assert_eq!(log.dropped(), [1, 2]);
        assert!(m.is_empty());
        check(&m);
    }

    #[test]
    fn remove_range_trims_and_drops() {
        let log = Log::default();
        let mut m = MapleMap::new();
        m.store(0..=9, log.val(1)).unwrap();
        m.store(10..=19, log.val(2)).unwrap();
        m.store(20..=29, log.val(3)).unwrap();
        m.remove_range(5..=24).unwrap();
        assert_eq!(log.dropped(), [2]);
        assert_eq!(ranges(&m), [(0..=4, 1), (25..=29, 3)]);
        m.remove_range(0..=u64::MAX).unwrap();
        assert_eq!(log.dropped(), [1, 2, 3]);
        assert!(m.is_empty());
        check(&m);
    }

    #[test]
    fn clear_and_drop_drop_everything_once() {
        let log = Log::default();
        let mut m = MapleMap::with_alloc_ranges();
        m.store(0..=99, log.val(1)).unwrap();
        m.store(40..=40, log.val(2)).unwrap();
        m.insert(200..=299, log.val(3)).unwrap();
        assert_eq!(m.alloc_range(10, 0..=1000, log.val(4)), Ok(100));
        assert_eq!(m.alloc_rrange(10, 0..=1000, log.val(5)), Ok(991));
        check(&m);
        m.clear();
        assert_eq!(log.dropped(), [1, 2, 3, 4, 5]);
        assert!(m.is_empty());
        assert_eq!(m.get(0).map(|v| v.id), None);
        check(&m);
        // The map is usable after clear, and its drop drops the rest.
        m.store(5..=10, log.val(6)).unwrap();
        m.store(7..=7, log.val(7)).unwrap();
        assert_eq!(m.alloc_range(1, 0..=1000, log.val(8)), Ok(0));
        check(&m);
        drop(m);
        assert_eq!(log.dropped(), [1, 2, 3, 4, 5, 6, 7, 8]);
    }

    #[test]
    fn a_refused_value_is_dropped_at_once_and_the_map_is_unchanged() {
        let log = Log::default();
        let mut m = MapleMap::new();
        m.store(10..=19, log.val(1)).unwrap();
        assert_eq!(m.insert(0..=10, log.val(2)), Err(Errno::EEXIST));
        assert_eq!(m.insert(0..=u64::MAX, log.val(3)), Err(Errno::EEXIST));
        #[allow(clippy::reversed_empty_ranges)]
        let empty = 5..=4;
        assert_eq!(m.store(empty.clone(), log.val(4)), Err(Errno::EINVAL));
        assert_eq!(m.insert(empty.clone(), log.val(5)), Err(Errno::EINVAL));
        assert_eq!(m.remove_range(empty), Err(Errno::EINVAL));
        // Not an allocation tree.
        assert_eq!(m.alloc_range(1, 0..=9, log.val(6)), Err(Errno::EINVAL));
        assert_eq!(m.alloc_rrange(1, 0..=9, log.val(7)), Err(Errno::EINVAL));
        assert_eq!(m.empty_area(1, 0..=9), Err(Errno::EINVAL));
        assert_eq!(log.dropped(), [2, 3, 4, 5, 6, 7]);
        assert_eq!(ranges(&m), [(10..=19, 1)]);
        check(&m);

        let mut a = MapleMap::with_alloc_ranges();
        a.store(0..=9, log.val(10)).unwrap();
        assert_eq!(a.alloc_range(5, 0..=12, log.val(11)), Err(Errno::EBUSY));
        assert_eq!(a.alloc_rrange(0, 0..=100, log.val(12)), Err(Errno::EINVAL));
        assert_eq!(a.alloc_range(20, 0..=9, log.val(13)), Err(Errno::EINVAL));
        assert_eq!(log.count(11) + log.count(12) + log.count(13), 3);
        assert_eq!(log.count(10), 0);
        check(&a);
        // Slots of refused values are reused.
        assert_eq!(a.slots.len(), 2);
    }

    #[test]
    fn slots_are_reused() {
        let mut m = MapleMap::with_alloc_ranges();
        for i in 0..1000u64 {
            m.store(0..=9, i).unwrap();
            let at = m.alloc_range(3, 0..=100, i).unwrap();
            m.erase(at).unwrap();
        }
        check(&m);
        assert!(m.slots.len() <= 3, "{} slots", m.slots.len());
    }

    #[test]
    fn maps_and_their_iterators_are_send_and_sync() {
        fn send_sync<X: Send + Sync>() {}
        send_sync::<MapleMap<String>>();
        send_sync::<Iter<'_, String>>();
        send_sync::<Cursor<'_, String>>();
        send_sync::<Erased<String>>();
    }

    #[test]
    fn tokens_are_value_words() {
        for slot in [0usize, 1, 2, 12345, (u64::MAX >> 2) as usize] {
            let t = token(slot);
            assert_ne!(t, 0);
            assert!(!crate::node::xa_is_internal(t), "{t:#x}");
            assert_eq!(slot_of(t), slot);
        }
    }

    /// The expected map: first index -> (last index, value id).
    #[derive(Default)]
    struct Model(BTreeMap<u64, (u64, u32)>);

    impl Model {
        fn overlapping(&self, a: u64, b: u64) -> Vec<(u64, u64, u32)> {
            let mut v: Vec<_> = self
                .0
                .range(..=b)
                .rev()
                .take_while(|(_, &(l, _))| l >= a)
                .map(|(&f, &(l, id))| (f, l, id))
                .collect();
            v.reverse();
            v
        }

        fn store(&mut self, a: u64, b: u64, id: Option<u32>) {
            for (f, l, i) in self.overlapping(a, b) {
                self.0.remove(&f);
                if f < a {
                    self.0.insert(f, (a - 1, i));
                }
                if l > b {
                    self.0.insert(b + 1, (l, i));
                }
            }
            if let Some(id) = id {
                self.0.insert(a, (b, id));
            }
        }

        fn get(&self, x: u64) -> Option<(u64, u64, u32)> {
            let (&f, &(l, id)) = self.0.range(..=x).next_back()?;
            (l >= x).then_some((f, l, id))
        }

        fn holds(&self, id: u32) -> bool {
            self.0.values().any(|&(_, i)| i == id)
        }

        fn live(&self) -> BTreeSet<u32> {
            self.0.values().map(|&(_, i)| i).collect()
        }

        /// The free runs clipped to `[min, max]`, in order.
        fn free_runs(&self, min: u64, max: u64) -> Vec<(u64, u64)> {
            let mut runs = Vec::new();
            let mut at = Some(min);
            for (f, l, _) in self.overlapping(min, max) {
                if let Some(s) = at {
                    if f > s {
                        runs.push((s, f - 1));
                    }
                }
                at = l.checked_add(1).filter(|&n| n <= max);
            }
            if let Some(s) = at {
                runs.push((s, max));
            }
            runs
        }

        fn empty_area(
            &self,
            size: u64,
            min: u64,
            max: u64,
            rev: bool,
        ) -> Result<(u64, u64), Errno> {
            if size == 0 || min > max || max - min < size - 1 {
                return Err(Errno::EINVAL);
            }
            let fits = |&(s, e): &(u64, u64)| e - s >= size - 1;
            let runs = self.free_runs(min, max);
            let found = if rev {
                runs.iter()
                    .rev()
                    .find(|r| fits(r))
                    .map(|&(_, e)| (e - (size - 1), e))
            } else {
                runs.iter()
                    .find(|r| fits(r))
                    .map(|&(s, _)| (s, s + (size - 1)))
            };
            found.ok_or(Errno::EBUSY)
        }

        fn entries(&self) -> Vec<(RangeInclusive<u64>, u32)> {
            self.0.iter().map(|(&f, &(l, id))| (f..=l, id)).collect()
        }
    }

    /// An index: mostly below `span`, sometimes next to `u64::MAX` or
    /// anywhere.
    fn index(rng: &mut ChaCha8Rng, span: u64) -> u64 {
        match rng.gen_range(0..40) {
            0 => u64::MAX - rng.gen_range(0..40),
            1 => rng.gen(),
            _ => rng.gen_range(0..span),
        }
    }

    /// A range: mostly a few indices, sometimes (if `span` is not a
    /// power of two) wide, rarely everything.
    fn range(rng: &mut ChaCha8Rng, span: u64) -> (u64, u64) {
        let wide = !span.is_power_of_two();
        if wide && rng.gen_range(0..2000) == 0 {
            return (0, u64::MAX);
        }
        let a = index(rng, span);
        let len = match rng.gen_range(0..100) {
            0 if wide => rng.gen(),
            1..=9 if wide => rng.gen_range(0..span / 10),
            _ => rng.gen_range(0..6),
        };
        (a, a.saturating_add(len))
    }

    fn size(rng: &mut ChaCha8Rng) -> u64 {
        match rng.gen_range(0..10) {
            0 => 0,
            1 => rng.gen_range(1..1000),
            2 => u64::MAX - rng.gen_range(0..3),
            _ => rng.gen_range(1..8),
        }
    }

    fn bound(rng: &mut ChaCha8Rng, span: u64) -> Bound<u64> {
        match rng.gen_range(0..5) {
            0 => Bound::Unbounded,
            1 | 2 => Bound::Included(index(rng, span)),
            _ => Bound::Excluded(index(rng, span)),
        }
    }

    /// Random stores, inserts, erases, range removals, allocations, gap
    /// searches, lookups, range queries and cursor moves on a `MapleMap`
    /// and on a `BTreeMap` model, compared after every step; after every
    /// step, too, each value no range holds has been dropped exactly once
    /// and none that a range holds has been dropped.
    fn random_ops(seed: u64, alloc: bool, span: u64, steps: usize) {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let log = Log::default();
        let mut m = if alloc {
            MapleMap::with_alloc_ranges()
        } else {
            MapleMap::new()
        };
        let mut model = Model::default();
        // Values handed to the map so far; value ids are step numbers.
        let mut created = 0usize;
        for step in 0..steps {
            let id = step as u32;
            let what = rng.gen_range(0..100);
            let ctx = format!("seed {seed} alloc {alloc} span {span} step {step} op {what}");
            match what {
                0..=34 => {
                    let (a, b) = range(&mut rng, span);
                    created += 1;
                    m.store(a..=b, log.val(id)).unwrap();
                    model.store(a, b, Some(id));
                }
                35..=49 => {
                    let (a, b) = range(&mut rng, span);
                    let want = if model.overlapping(a, b).is_empty() {
                        model.store(a, b, Some(id));
                        Ok(())
                    } else {
                        Err(Errno::EEXIST)
                    };
                    created += 1;
                    assert_eq!(m.insert(a..=b, log.val(id)), want, "{ctx}");
                }
                50..=59 => {
                    let x = match model.0.keys().nth(rng.gen_range(0..=model.0.len())) {
                        Some(&f) if rng.gen_bool(0.8) => f,
                        _ => index(&mut rng, span),
                    };
                    let want = model.get(x);
                    let got = m.erase(x);
                    match (want, got) {
                        (None, None) => {}
                        (Some((f, l, i)), Some(e)) => {
                            model.0.remove(&f);
                            assert_eq!(e.range, f..=l, "{ctx}");
                            let last = !model.holds(i);
                            assert_eq!(e.value.as_ref().map(|v| v.id), last.then_some(i), "{ctx}");
                        }
                        (w, g) => panic!("{ctx}: erase({x}): want {w:?}, got {g:?}"),
                    }
                }
                60..=64 => {
                    let (a, b) = range(&mut rng, span);
                    m.remove_range(a..=b).unwrap();
                    model.store(a, b, None);
                }
                65..=76 => {
                    let (min, max) = range(&mut rng, span);
                    let sz = size(&mut rng);
                    let rev = rng.gen_bool(0.5);
                    let want = if !alloc {
                        Err(Errno::EINVAL)
                    } else {
                        model.empty_area(sz, min, max, rev)
                    };
                    created += 1;
                    let got = if rev {
                        m.alloc_rrange(sz, min..=max, log.val(id))
                    } else {
                        m.alloc_range(sz, min..=max, log.val(id))
                    };
                    assert_eq!(
                        got,
                        want.map(|(s, _)| s),
                        "{ctx}: alloc {sz} in {min}..={max}"
                    );
                    if let Ok((s, e)) = want {
                        model.store(s, e, Some(id));
                    }
                }
                77..=82 => {
                    let (min, max) = range(&mut rng, span);
                    let sz = size(&mut rng);
                    let rev = rng.gen_bool(0.5);
                    let want = if !alloc {
                        Err(Errno::EINVAL)
                    } else {
                        model.empty_area(sz, min, max, rev)
                    };
                    let got = if rev {
                        m.empty_area_rev(sz, min..=max)
                    } else {
                        m.empty_area(sz, min..=max)
                    };
                    let got = got.map(|r| (*r.start(), *r.end()));
                    assert_eq!(
                        got, want,
                        "{ctx}: empty_area {sz} in {min}..={max} rev {rev}"
                    );
                }
                83..=87 => {
                    for _ in 0..4 {
                        let x = index(&mut rng, span);
                        let want = model.get(x);
                        assert_eq!(m.get(x).map(|v| v.id), want.map(|w| w.2), "{ctx}: get({x})");
                        let got = m.get_range(x).map(|(r, v)| (*r.start(), *r.end(), v.id));
                        assert_eq!(got, want, "{ctx}: get_range({x})");
                    }
                }
                88..=92 => {
                    let (s, e) = (bound(&mut rng, span), bound(&mut rng, span));
                    let want: Vec<_> = match inclusive(&(s, e)) {
                        Some((a, b)) => model
                            .overlapping(a, b)
                            .into_iter()
                            .map(|(f, l, i)| (f..=l, i))
                            .collect(),
                        None => Vec::new(),
                    };
                    let got: Vec<_> = m.range((s, e)).map(|(r, v)| (r, v.id)).collect();
                    assert_eq!(got, want, "{ctx}: range({s:?}, {e:?})");
                }
                93..=98 => {
                    let x = index(&mut rng, span);
                    let mut c = m.cursor(x);
                    let mut at = x;
                    for _ in 0..6 {
                        let here = model.get(at);
                        let cur = c.current().map(|(r, v)| (*r.start(), *r.end(), v.id));
                        assert_eq!(cur, here, "{ctx}: cursor at {at}");
                        let fwd = rng.gen_bool(0.5);
                        let want = if fwd {
                            let from = here.map_or(Some(at), |h| Some(h.1)).unwrap();
                            model
                                .0
                                .range(from..)
                                .find(|(&f, _)| f > from || (here.is_none() && f > at))
                                .map(|(&f, &(l, i))| (f, l, i))
                        } else {
                            let to = here.map_or(at, |h| h.0);
                            model
                                .0
                                .range(..to)
                                .next_back()
                                .map(|(&f, &(l, i))| (f, l, i))
                        };
                        let got = if fwd { c.move_next() } else { c.move_prev() };
                        let got = got.map(|(r, v)| (*r.start(), *r.end(), v.id));
                        assert_eq!(got, want, "{ctx}: cursor from {at} fwd {fwd}");
                        if let Some(w) = want {
                            at = w.0;
                        }
                        assert_eq!(c.index(), at, "{ctx}");
                    }
                }
                _ => {
                    if rng.gen_range(0..10) == 0 && !span.is_power_of_two() {
                        m.clear();
                        model.0.clear();
                    }
                }
            }
            assert_eq!(m.len(), model.0.len(), "{ctx}");
            assert_eq!(m.is_empty(), model.0.is_empty(), "{ctx}");
            let d = log.0.borrow();
            assert!(d.twice.is_empty(), "{ctx}: dropped twice: {:?}", d.twice);
            // The whole-map checks cost O(len): every step while the map
            // is small, then every 64th.
            if m.len() < 400 || step % 64 == 0 {
                assert_eq!(ranges(&m), model.entries(), "{ctx}");
                check(&m);
                let live = model.live();
                for &i in &live {
                    let n = d.counts.get(i as usize).copied().unwrap_or(0);
                    assert_eq!(n, 0, "{ctx}: #{i} dropped while held");
                }
                // No id is dropped twice and none held is dropped, so this
                // says every id not held was dropped exactly once.
                assert_eq!(d.total, created - live.len(), "{ctx}: drops");
            }
        }
        let held = model.live().len();
        let before = log.0.borrow().total;
        drop(m);
        let d = log.0.borrow();
        assert_eq!(d.total, before + held);
        assert!(d.twice.is_empty());
        assert_eq!(d.total, created);
    }

    #[test]
    fn random_ops_match_a_btreemap() {
        for (seed, span) in [(0, 300), (1, 3000), (2, 30_000), (3, (1 << 40) + 1)] {
            random_ops(seed, false, span, 6000);
        }
        // A power-of-two span: no wide ranges, no clear, so the tree grows.
        random_ops(8, false, 1 << 16, 12_000);
    }

    #[test]
    fn random_ops_match_a_btreemap_in_allocation_trees() {
        for (seed, span) in [(4, 300), (5, 3000), (6, 30_000), (7, (1 << 40) + 1)] {
            random_ops(seed, true, span, 6000);
        }
        random_ops(9, true, 1 << 16, 12_000);
    }
}
