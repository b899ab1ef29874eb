//! Value simplification: simpler keys, shorter ranges, renumbered tokens,
//! narrower fault schedules. Every candidate is a valid program with the
//! same op kinds; ranges keep `first <= last` (and a reversed range stays
//! reversed), windows keep `min <= max`, sizes stay non-zero.

use crate::ops::{FaultSchedule, Program, TreeOp};
use std::collections::{BTreeMap, BTreeSet};

const PAGE: u64 = 0x1000;

/// How complex a number reads: 0 and `u64::MAX` cost nothing; others cost
/// their bit length plus their set bits, so smaller and rounder (page
/// aligned) numbers are cheaper.
pub(super) fn num_cost(n: u64) -> u64 {
    if n == 0 || n == u64::MAX {
        0
    } else {
        u64::from(64 - n.leading_zeros()) + u64::from(n.count_ones())
    }
}

fn schedule_cost(s: FaultSchedule) -> u64 {
    // `nth` fails one allocation, `next` a few, `from` and `every` many.
    let (rank, n) = match s {
        FaultSchedule::Never => (0, 0),
        FaultSchedule::Nth(k) => (1, k),
        FaultSchedule::Next(n) => (2, n),
        FaultSchedule::From(k) => (3, k),
        FaultSchedule::Every(n) => (4, n),
    };
    rank * 128 + num_cost(n)
}

fn token_cost(v: Option<u64>) -> u64 {
    v.map_or(0, |t| t.saturating_add(1))
}

/// An op's cost: (keys, sizes and fault counts; value tokens).
pub(super) fn op_cost(op: &TreeOp) -> (u64, u64) {
    let mut nums = 0u64;
    let mut keys = op.clone();
    map_keys(&mut keys, &mut |k| {
        nums = nums.saturating_add(num_cost(k));
        k
    });
    let mut tokens = 0u64;
    let mut toks = op.clone();
    map_tokens(&mut toks, &mut |t| {
        tokens = tokens.saturating_add(token_cost(t));
        t
    });
    match *op {
        TreeOp::EmptyArea { size, .. }
        | TreeOp::EmptyAreaRev { size, .. }
        | TreeOp::CurEmptyArea { size, .. }
        | TreeOp::CurEmptyAreaRev { size, .. }
        | TreeOp::AllocRange { size, .. }
        | TreeOp::AllocRRange { size, .. } => nums = nums.saturating_add(num_cost(size)),
        TreeOp::FailAllocs { schedule } => nums = nums.saturating_add(schedule_cost(schedule)),
        TreeOp::ExpectedEntries { count } => nums = nums.saturating_add(num_cost(count)),
        _ => {}
    }
    (nums, tokens)
}

/// Applies `f` to every index-like field of `op` (range ends, indices,
/// search limits, windows), not to sizes or counts.
fn map_keys(op: &mut TreeOp, f: &mut dyn FnMut(u64) -> u64) {
    match op {
        TreeOp::Store { first, last, .. }
        | TreeOp::Insert { first, last, .. }
        | TreeOp::Prealloc { first, last, .. }
        | TreeOp::MasStore { first, last, .. }
        | TreeOp::SetRange { first, last } => {
            *first = f(*first);
            *last = f(*last);
        }
        TreeOp::Erase { index }
        | TreeOp::Load { index }
        | TreeOp::Walk { index }
        | TreeOp::Set { index } => *index = f(*index),
        TreeOp::Find { index, max } => {
            *index = f(*index);
            *max = f(*max);
        }
        TreeOp::MasFind { max } | TreeOp::MasNext { max } => *max = f(*max),
        TreeOp::MasFindRev { min } | TreeOp::MasPrev { min } => *min = f(*min),
        TreeOp::EmptyArea { min, max, .. }
        | TreeOp::EmptyAreaRev { min, max, .. }
        | TreeOp::CurEmptyArea { min, max, .. }
        | TreeOp::CurEmptyAreaRev { min, max, .. }
        | TreeOp::AllocRange { min, max, .. }
        | TreeOp::AllocRRange { min, max, .. } => {
            *min = f(*min);
            *max = f(*max);
        }
        TreeOp::AllocCyclic { min, max, next, .. } => {
            *min = f(*min);
            *max = f(*max);
            *next = f(*next);
        }
        TreeOp::Pause
        | TreeOp::Destroy
        | TreeOp::StorePrealloc { .. }
        | TreeOp::MasDestroy
        | TreeOp::FailAllocs { .. }
        | TreeOp::ExpectedEntries { .. }
        | TreeOp::Reset
        | TreeOp::CurStore { .. }
        | TreeOp::CurErase => {}
    }
}

/// Applies `f` to every value token of `op` (`None` is NULL).
fn map_tokens(op: &mut TreeOp, f: &mut dyn FnMut(Option<u64>) -> Option<u64>) {
    match op {
        TreeOp::Store { value, .. }
        | TreeOp::Prealloc { value, .. }
        | TreeOp::MasStore { value, .. }
        | TreeOp::StorePrealloc { value }
        | TreeOp::CurStore { value } => *value = f(*value),
        TreeOp::Insert { value, .. }
        | TreeOp::AllocRange { value, .. }
        | TreeOp::AllocRRange { value, .. }
        | TreeOp::AllocCyclic { value, .. } => {
            // These ops cannot store NULL; a token stays a token.
            *value = f(Some(*value)).unwrap_or(*value);
        }
        _ => {}
    }
}

/// Whole-program rewrites, simplest first: tokens renumbered, then keys
/// moved closer together.
pub(super) fn global_candidates(p: &Program) -> Vec<Program> {
    let mut out = vec![renumber_tokens(p)];
    let mut keys = BTreeSet::new();
    for op in &p.ops {
        let mut o = op.clone();
        map_keys(&mut o, &mut |k| {
            keys.insert(k);
            k
        });
    }
    let keys: Vec<u64> = keys.into_iter().collect();
    // All keys toward 0, gaps capped.
    for cap in [1, 2, 4, 0x10, 0x100, PAGE] {
        out.push(remap(p, &compress_low(&keys, cap, |k| k != u64::MAX)));
    }
    // Page numbers toward 0, offsets in the page kept (VMA-like programs).
    let paged = keys
        .iter()
        .any(|&k| k != 0 && k != u64::MAX && (k % PAGE == 0 || k % PAGE == PAGE - 1));
    if paged {
        for cap in [1, 2, 4, 0x10] {
            out.push(remap(p, &compress_pages(&keys, cap)));
        }
    }
    // The lower half toward 0 and the upper half toward `u64::MAX`.
    for cap in [1, 0x10, PAGE] {
        let mut map = compress_low(&keys, cap, |k| k < 1 << 63);
        let high: Vec<u64> = keys
            .iter()
            .filter(|&&k| k >= 1 << 63)
            .map(|&k| u64::MAX - k)
            .rev()
            .collect();
        for (k, v) in compress_low(&high, cap, |_| true) {
            map.insert(u64::MAX - k, u64::MAX - v);
        }
        out.push(remap(p, &map));
    }
    out.retain(|c| c != p);
    out.dedup();
    out
}

/// Maps the sorted distinct `keys` that `pick` selects toward 0: the
/// first to at most `cap`, each next one at most `cap` above the one
/// before (a gap of 1 stays 1, so adjacent ranges stay adjacent).
fn compress_low(keys: &[u64], cap: u64, pick: impl Fn(u64) -> bool) -> BTreeMap<u64, u64> {
    let mut map = BTreeMap::new();
    let mut prev: Option<(u64, u64)> = None;
    for &k in keys.iter().filter(|&&k| pick(k)) {
        let v = match prev {
            None => k.min(cap),
            Some((pk, pv)) => pv + (k - pk).min(cap),
        };
        map.insert(k, v);
        prev = Some((k, v));
    }
    map
}

/// Compresses the page numbers of `keys` (`u64::MAX` and the top page
/// stay), keeping each key's offset inside its page.
fn compress_pages(keys: &[u64], cap: u64) -> BTreeMap<u64, u64> {
    let top = u64::MAX / PAGE;
    let pages: Vec<u64> = keys
        .iter()
        .map(|k| k / PAGE)
        .filter(|&pg| pg != top)
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let pmap = compress_low(&pages, cap, |_| true);
    keys.iter()
        .map(|&k| {
            let v = match pmap.get(&(k / PAGE)) {
                Some(pg) => pg * PAGE + k % PAGE,
                None => k,
            };
            (k, v)
        })
        .collect()
}

fn remap(p: &Program, map: &BTreeMap<u64, u64>) -> Program {
    let mut q = p.clone();
    for op in &mut q.ops {
        map_keys(op, &mut |k| map.get(&k).copied().unwrap_or(k));
    }
    q
}

/// Tokens renumbered 1, 2, 3, ... in order of first appearance (NULL
/// stays NULL; equal tokens stay equal).
fn renumber_tokens(p: &Program) -> Program {
    let mut map: BTreeMap<u64, u64> = BTreeMap::new();
    let mut q = p.clone();
    for op in &mut q.ops {
        map_tokens(op, &mut |v| {
            v.map(|t| {
                let next = map.len() as u64 + 1;
                *map.entry(t).or_insert(next)
            })
        });
    }
    q
}

/// Smaller values for a key: 0, page-aligned down, half, one less.
pub(super) fn smaller(k: u64) -> Vec<u64> {
    if k == u64::MAX {
        return Vec::new();
    }
    let mut v = vec![0, k - k % PAGE, k / 2, k.saturating_sub(1)];
    v.retain(|&x| x < k);
    v.dedup();
    v
}

/// Simpler `(first, last)` pairs for a range: shorter, moved toward 0,
/// ends rounder. A reversed range (an `EINVAL` case) becomes `(1, 0)`.
fn simpler_ranges(first: u64, last: u64) -> Vec<(u64, u64)> {
    if first > last {
        return vec![(1, 0)];
    }
    let len = last - first;
    let mut out = vec![(first, first), (last, last)];
    if len > 1 {
        out.push((first, first + len / 2));
    }
    for f in smaller(first) {
        out.push((f, f + len)); // moved, same length
        out.push((f, last)); // longer to the left, a simpler start
    }
    for l in smaller(last) {
        if l >= first {
            out.push((first, l));
        }
    }
    out.retain(|&r| r != (first, last));
    out
}

/// A window `[min, max]` with a simpler end.
fn simpler_windows(min: u64, max: u64) -> Vec<(u64, u64)> {
    let mut out: Vec<(u64, u64)> = smaller(min).into_iter().map(|m| (m, max)).collect();
    for m in smaller(max) {
        if m >= min {
            out.push((min, m));
        }
    }
    out
}

/// Smaller non-zero sizes (0 is its own `EINVAL` case and stays 0).
fn smaller_sizes(size: u64) -> Vec<u64> {
    let mut v = smaller(size);
    v.retain(|&s| s > 0);
    if size > 1 && !v.contains(&1) {
        v.insert(0, 1);
    }
    v
}

fn narrower_schedules(s: FaultSchedule) -> Vec<FaultSchedule> {
    let counts = |n: u64| -> Vec<u64> {
        let mut v = smaller(n);
        v.retain(|&c| c >= 1);
        if n > 1 && !v.contains(&1) {
            v.insert(0, 1);
        }
        v
    };
    match s {
        FaultSchedule::Never => Vec::new(),
        FaultSchedule::Nth(k) => counts(k).into_iter().map(FaultSchedule::Nth).collect(),
        FaultSchedule::Next(n) => std::iter::once(FaultSchedule::Nth(1))
            .chain(counts(n).into_iter().map(FaultSchedule::Next))
            .collect(),
        FaultSchedule::From(k) => std::iter::once(FaultSchedule::Nth(k))
            .chain(counts(k).into_iter().map(FaultSchedule::From))
            .collect(),
        FaultSchedule::Every(n) => std::iter::once(FaultSchedule::Nth(n))
            .chain(
                counts(n)
                    .into_iter()
                    .filter(|&c| c >= 2)
                    .map(FaultSchedule::Every),
            )
            .collect(),
    }
}

/// Simpler versions of one op, same kind, in the order they are tried.
pub(super) fn op_candidates(op: &TreeOp) -> Vec<TreeOp> {
    let mut out = Vec::new();
    match *op {
        TreeOp::Store { first, last, value } => {
            for (first, last) in simpler_ranges(first, last) {
                out.push(TreeOp::Store { first, last, value });
            }
        }
        TreeOp::Insert { first, last, value } => {
            for (first, last) in simpler_ranges(first, last) {
                out.push(TreeOp::Insert { first, last, value });
            }
        }
        TreeOp::Prealloc { first, last, value } => {
            for (first, last) in simpler_ranges(first, last) {
                out.push(TreeOp::Prealloc { first, last, value });
            }
        }
        TreeOp::MasStore { first, last, value } => {
            for (first, last) in simpler_ranges(first, last) {
                out.push(TreeOp::MasStore { first, last, value });
            }
        }
        TreeOp::Erase { index } => {
            out.extend(
                smaller(index)
                    .into_iter()
                    .map(|index| TreeOp::Erase { index }),
            );
        }
        TreeOp::Load { index } => {
            out.extend(
                smaller(index)
                    .into_iter()
                    .map(|index| TreeOp::Load { index }),
            );
        }
        TreeOp::Walk { index } => {
            out.extend(
                smaller(index)
                    .into_iter()
                    .map(|index| TreeOp::Walk { index }),
            );
        }
        TreeOp::Set { index } => {
            out.extend(
                smaller(index)
                    .into_iter()
                    .map(|index| TreeOp::Set { index }),
            );
        }
        TreeOp::MasFind { max } => {
            out.extend(smaller(max).into_iter().map(|max| TreeOp::MasFind { max }));
        }
        TreeOp::MasNext { max } => {
            out.extend(smaller(max).into_iter().map(|max| TreeOp::MasNext { max }));
        }
        TreeOp::MasFindRev { min } => {
            out.extend(
                smaller(min)
                    .into_iter()
                    .map(|min| TreeOp::MasFindRev { min }),
            );
        }
        TreeOp::MasPrev { min } => {
            out.extend(smaller(min).into_iter().map(|min| TreeOp::MasPrev { min }));
        }
        TreeOp::Find { index, max } => {
            for (index, max) in simpler_windows(index, max) {
                out.push(TreeOp::Find { index, max });
            }
        }
        TreeOp::EmptyArea { min, max, size }
        | TreeOp::EmptyAreaRev { min, max, size }
        | TreeOp::CurEmptyArea { min, max, size }
        | TreeOp::CurEmptyAreaRev { min, max, size } => {
            let mk = |min, max, size| match op {
                TreeOp::EmptyArea { .. } => TreeOp::EmptyArea { min, max, size },
                TreeOp::EmptyAreaRev { .. } => TreeOp::EmptyAreaRev { min, max, size },
                TreeOp::CurEmptyArea { .. } => TreeOp::CurEmptyArea { min, max, size },
                _ => TreeOp::CurEmptyAreaRev { min, max, size },
            };
            for size in smaller_sizes(size) {
                out.push(mk(min, max, size));
            }
            for (min, max) in simpler_windows(min, max) {
                out.push(mk(min, max, size));
            }
        }
        TreeOp::AllocRange { .. } | TreeOp::AllocRRange { .. } => {
            let Some((rev, size, min, max, value)) = op.alloc_parts() else {
                return out;
            };
            for size in smaller_sizes(size) {
                out.push(TreeOp::alloc(rev, size, min, max, value));
            }
            for (min, max) in simpler_windows(min, max) {
                out.push(TreeOp::alloc(rev, size, min, max, value));
            }
        }
        TreeOp::AllocCyclic {
            min,
            max,
            next,
            value,
        } => {
            for next in smaller(next) {
                out.push(TreeOp::AllocCyclic {
                    min,
                    max,
                    next,
                    value,
                });
            }
            for (min, max) in simpler_windows(min, max) {
                out.push(TreeOp::AllocCyclic {
                    min,
                    max,
                    next,
                    value,
                });
            }
        }
        TreeOp::FailAllocs { schedule } => {
            for schedule in narrower_schedules(schedule) {
                out.push(TreeOp::FailAllocs { schedule });
            }
        }
        TreeOp::ExpectedEntries { count } => {
            for count in smaller_sizes(count) {
                out.push(TreeOp::ExpectedEntries { count });
            }
        }
        TreeOp::SetRange { first, last } => {
            for (first, last) in simpler_ranges(first, last) {
                out.push(TreeOp::SetRange { first, last });
            }
        }
        TreeOp::Pause
        | TreeOp::Destroy
        | TreeOp::StorePrealloc { .. }
        | TreeOp::MasDestroy
        | TreeOp::Reset
        | TreeOp::CurStore { .. }
        | TreeOp::CurErase => {}
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::text::{format_program, parse_program};

    #[test]
    fn cost_prefers_small_round_numbers() {
        assert_eq!(num_cost(0), 0);
        assert_eq!(num_cost(u64::MAX), 0);
        assert!(num_cost(0x1000) < num_cost(0xfff));
        assert!(num_cost(0x10) < num_cost(0x1000));
    }

    #[test]
    fn candidates_are_valid_and_keep_kinds() {
        let p = parse_program(
            "store 0x1000 0x1fff v7\nstore 0x3 0x1 null\ninsert 0x2000 0x2fff v9\n\
             find 0x10 0x20\nempty_area 0x10 0x100 0x8\nalloc_rrange 0x8 0x0 max v3\n\
             fail_allocs from 0x5\nfail_allocs every 0x3\nfail_allocs next 0x4\n\
             mas_store 0x5 0x5 v2\nprealloc 0x0 max null\nerase 0x1234\n",
        )
        .unwrap();
        for op in &p.ops {
            for c in op_candidates(op) {
                assert_eq!(c.kind(), op.kind(), "{c:?} from {op:?}");
                assert_ne!(c, *op);
                match (&c, op) {
                    (
                        TreeOp::Store { first, last, .. },
                        TreeOp::Store {
                            first: f0,
                            last: l0,
                            ..
                        },
                    ) => assert_eq!(first <= last, f0 <= l0, "{c:?}"),
                    (TreeOp::Find { index, max }, _) => assert!(index <= max, "{c:?}"),
                    (TreeOp::EmptyArea { min, max, size }, _) => {
                        assert!(min <= max && *size > 0, "{c:?}")
                    }
                    _ => {}
                }
                // Every candidate is a program the text form round-trips.
                let q = Program {
                    config: p.config,
                    ops: vec![c.clone()],
                };
                assert_eq!(parse_program(&format_program(&q)).unwrap(), q);
            }
        }
        assert!(op_candidates(&TreeOp::FailAllocs {
            schedule: FaultSchedule::From(5)
        })
        .contains(&TreeOp::FailAllocs {
            schedule: FaultSchedule::Nth(5)
        }));
    }

    #[test]
    fn renumbering_keeps_order_adjacency_and_equal_tokens() {
        let p = parse_program(
            "store 0x5000 0x5fff v40\nstore 0x6000 0x6fff v41\nstore 0x9000 max v40\nload 0x6000\n",
        )
        .unwrap();
        let cands = global_candidates(&p);
        assert_eq!(
            format_program(&cands[0]),
            "config none\nstore 0x5000 0x5fff v1\nstore 0x6000 0x6fff v2\nstore 0x9000 max v1\nload 0x6000\n"
        );
        // Gaps capped at 1: adjacent ranges stay adjacent, max stays max.
        assert_eq!(
            format_program(&cands[1]),
            "config none\nstore 0x1 0x2 v40\nstore 0x3 0x4 v41\nstore 0x5 max v40\nload 0x3\n"
        );
        // Page compression keeps the page structure.
        assert!(cands.iter().any(|c| format_program(c)
            == "config none\nstore 0x1000 0x1fff v40\nstore 0x2000 0x2fff v41\nstore 0x3000 max v40\nload 0x2000\n"));
    }
}
