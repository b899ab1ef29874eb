//! Tests of `MapleMap` (`tree/src/typed.rs`): every value dropped exactly
//! once, and random operations against a `BTreeMap` model.

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

    fn empty_area(&self, size: u64, min: u64, max: u64, rev: bool) -> Result<(u64, u64), Errno> {
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

#[test]
fn alloc_cyclic_keeps_values_and_drops_refused_ones() {
    let log = Log::default();
    let mut m = MapleMap::with_alloc_ranges();
    let mut next = 0;
    for i in 0..4u32 {
        assert_eq!(
            m.alloc_cyclic(10..=13, &mut next, log.val(i)),
            Ok((10 + u64::from(i), false))
        );
    }
    assert_eq!(next, 14);
    assert_eq!(
        m.alloc_cyclic(10..=13, &mut next, log.val(4)),
        Err(Errno::EBUSY)
    );
    assert_eq!(next, 14, "a refused allocation leaves next alone");
    assert_eq!(m.erase(11).unwrap().value.map(|v| v.id), Some(1));
    assert_eq!(
        m.alloc_cyclic(10..=13, &mut next, log.val(5)),
        Ok((11, true))
    );
    #[allow(clippy::reversed_empty_ranges)]
    let empty = 5..=4;
    assert_eq!(
        m.alloc_cyclic(empty, &mut next, log.val(6)),
        Err(Errno::EINVAL)
    );
    let mut plain = MapleMap::new();
    assert_eq!(
        plain.alloc_cyclic(0..=9, &mut next, log.val(7)),
        Err(Errno::EINVAL)
    );
    assert_eq!(log.dropped(), [1, 4, 6, 7]);
    assert_eq!(
        ranges(&m),
        [(10..=10, 0), (11..=11, 5), (12..=12, 2), (13..=13, 3)]
    );
    check(&m);
    check(&plain);
}
