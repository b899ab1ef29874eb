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

    /// Stores `value` at one free index of `within`, handing out ids in
    /// turn (`mtree_alloc_cyclic()`): the lowest free index at or above
    /// `*next`, else (the search wraps) the lowest free one. Returns the
    /// id and whether the search wrapped, and moves `*next` past the id;
    /// the caller keeps `*next` between calls. After the id `u64::MAX`
    /// (`*next` wraps to 0) the next allocation reports the wrap.
    ///
    /// `EBUSY` if `within` is full; `EINVAL` if the map was not made by
    /// [`with_alloc_ranges`](Self::with_alloc_ranges) or `within` is
    /// empty; `ENOMEM` if the tree could not allocate a node. On error the
    /// map and `*next` are unchanged and `value` is dropped.
    ///
    /// ```
    /// use maple_tree::MapleMap;
    /// let mut pids = MapleMap::with_alloc_ranges();
    /// let mut next = 0;
    /// assert_eq!(pids.alloc_cyclic(1..=3, &mut next, "init"), Ok((1, false)));
    /// assert_eq!(pids.alloc_cyclic(1..=3, &mut next, "a"), Ok((2, false)));
    /// pids.erase(2);
    /// // Ids are not reused at once: 3 comes before the freed 2.
    /// assert_eq!(pids.alloc_cyclic(1..=3, &mut next, "b"), Ok((3, false)));
    /// assert_eq!(pids.alloc_cyclic(1..=3, &mut next, "c"), Ok((2, true)));
    /// ```
    pub fn alloc_cyclic(
        &mut self,
        within: RangeInclusive<u64>,
        next: &mut u64,
        value: T,
    ) -> Result<(u64, bool), Errno> {
        let (min, max) = bounds(&within)?;
        let t = self.add_slot(value);
        let r = self.tree.alloc_cyclic(t, min, max, next);
        match r {
            // A single free index: only the new value gained a range.
            Ok((id, _)) => {
                debug_assert_eq!(self.tree.load(id), Some(t));
                self.slot_mut(t).ranges = 1;
                self.len += 1;
            }
            Err(_) => drop(self.release(t)),
        }
        r
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
mod tests;
