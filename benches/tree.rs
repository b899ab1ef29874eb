// SPDX-License-Identifier: GPL-2.0-or-later
//! Side-by-side benchmark of the maple tree port against two ordinary range
//! maps: `BTreeMap<u64, (u64, u64)>` (start -> (last, value)) and
//! `rangemap::RangeInclusiveMap<u64, u64>`.
//!
//! A plain `Instant` harness: the three structures run interleaved in one
//! process (maple, BTreeMap, rangemap, maple, BTreeMap, rangemap, ...), every
//! operation stream is generated from a fixed seed before any timing, and
//! after every workload the three structures must hold the same entries.
//!
//! ```text
//! cargo bench --bench tree                        # 1e3 .. 1e6, 5 rounds
//! BENCH_QUICK=1 cargo bench --bench tree          # 1e3 and 1e4, 3 rounds
//! BENCH_SIZES=1000,1e5 cargo bench --bench tree   # chosen sizes
//! BENCH_ROUNDS=7 cargo bench --bench tree         # more rounds
//! ```
//!
//! Run without `--bench` (as `cargo test --benches` does) it only does a
//! small one-round smoke run, so that test runs stay short.

use std::collections::BTreeMap;
use std::hint::black_box;
use std::time::Instant;

use maplefuzz::tree::MapleTree;
use rangemap::RangeInclusiveMap;

const PAGE: u64 = 4096;
/// Where the first range starts (an ordinary user-space text address).
const BASE: u64 = 0x40_0000;
const SEED: u64 = 0x6d61_706c_6531_3233;

// ---------------------------------------------------------------------------
// Random numbers and operation streams (all generated before timing).

/// splitmix64.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (`n > 0`).
    fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }

    /// Uniform in `lo..=hi`.
    fn between(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.below(hi - lo + 1)
    }

    fn shuffle<T>(&mut self, v: &mut [T]) {
        for i in (1..v.len()).rev() {
            let j = self.below(i as u64 + 1) as usize;
            v.swap(i, j);
        }
    }
}

/// The entry stored for id `id`: odd, so never NULL and never one of the
/// maple tree's internal encodings (low bits `10`). Every store gets its own
/// id, so rangemap never coalesces two ranges.
fn value(id: u64) -> u64 {
    (id << 2) | 1
}

/// `n` VMA-like ranges in ascending order: 1..=64 pages long, separated by
/// holes of 0..=16 pages. Returns the ranges and the end of the span.
fn vma_layout(n: usize, rng: &mut Rng) -> (Vec<(u64, u64)>, u64) {
    let mut v = Vec::with_capacity(n);
    let mut addr = BASE;
    for _ in 0..n {
        let len = rng.between(1, 64) * PAGE;
        v.push((addr, addr + len - 1));
        addr += len + rng.between(0, 16) * PAGE;
    }
    (v, addr)
}

#[derive(Clone, Copy)]
enum Op {
    /// Store `value(id)` over `[first, last]`.
    Store(u64, u64, u64),
    /// Erase the range containing the index, if any.
    Erase(u64),
}

// ---------------------------------------------------------------------------
// The three structures behind one small interface.

trait RangeStore {
    const NAME: &'static str;
    fn create() -> Self;
    /// Overwrite `[first, last]` with `v`.
    fn put(&mut self, first: u64, last: u64, v: u64);
    fn get(&self, x: u64) -> Option<u64>;
    /// Remove the whole range containing `x`; returns its value.
    fn remove_at(&mut self, x: u64) -> Option<u64>;
    /// `(first, last, value)` in index order.
    fn contents(&self) -> Vec<(u64, u64, u64)>;
    /// Structural self-check (only the maple tree has one).
    fn check(&self) {}
}

impl RangeStore for MapleTree {
    const NAME: &'static str = "maple";

    fn create() -> Self {
        MapleTree::new()
    }

    #[inline]
    fn put(&mut self, first: u64, last: u64, v: u64) {
        self.store_range(first, last, Some(v))
            .expect("maple store_range failed");
    }

    #[inline]
    fn get(&self, x: u64) -> Option<u64> {
        self.load(x)
    }

    #[inline]
    fn remove_at(&mut self, x: u64) -> Option<u64> {
        self.erase(x)
    }

    fn contents(&self) -> Vec<(u64, u64, u64)> {
        self.entries().collect()
    }

    fn check(&self) {
        if let Err(e) = self.validate() {
            panic!("maple tree failed validate(): {e:?}");
        }
    }
}

/// Start -> (last, value); ranges never overlap.
type BTree = BTreeMap<u64, (u64, u64)>;

impl RangeStore for BTree {
    const NAME: &'static str = "BTreeMap";

    fn create() -> Self {
        BTreeMap::new()
    }

    #[inline]
    fn put(&mut self, first: u64, last: u64, v: u64) {
        // A range starting before `first` that reaches into [first, last]:
        // keep its head, and its tail if it reaches past `last`.
        let mut tail = None;
        if let Some((_, (l, pv))) = self.range_mut(..first).next_back() {
            if *l >= first {
                if *l > last {
                    tail = Some((*l, *pv));
                }
                *l = first - 1;
            }
        }
        if let Some((l, pv)) = tail {
            // That range covered all of [first, last]: nothing else can.
            self.insert(last + 1, (l, pv));
        } else {
            // Ranges starting inside [first, last]: drop them, keeping the
            // tail of the last one if it sticks out.
            while let Some((&s, &(l, pv))) = self.range(first..=last).next() {
                self.remove(&s);
                if l > last {
                    self.insert(last + 1, (l, pv));
                    break;
                }
            }
        }
        self.insert(first, (last, v));
    }

    #[inline]
    fn get(&self, x: u64) -> Option<u64> {
        match self.range(..=x).next_back() {
            Some((_, &(l, v))) if l >= x => Some(v),
            _ => None,
        }
    }

    #[inline]
    fn remove_at(&mut self, x: u64) -> Option<u64> {
        let s = match self.range(..=x).next_back() {
            Some((&s, &(l, _))) if l >= x => s,
            _ => return None,
        };
        self.remove(&s).map(|(_, v)| v)
    }

    fn contents(&self) -> Vec<(u64, u64, u64)> {
        self.iter().map(|(&s, &(l, v))| (s, l, v)).collect()
    }
}

type RMap = RangeInclusiveMap<u64, u64>;

impl RangeStore for RMap {
    const NAME: &'static str = "rangemap";

    fn create() -> Self {
        RangeInclusiveMap::new()
    }

    #[inline]
    fn put(&mut self, first: u64, last: u64, v: u64) {
        self.insert(first..=last, v);
    }

    #[inline]
    fn get(&self, x: u64) -> Option<u64> {
        RangeInclusiveMap::get(self, &x).copied()
    }

    #[inline]
    fn remove_at(&mut self, x: u64) -> Option<u64> {
        let (r, v) = self.get_key_value(&x)?;
        let (r, v) = (r.clone(), *v);
        self.remove(r);
        Some(v)
    }

    fn contents(&self) -> Vec<(u64, u64, u64)> {
        self.iter()
            .map(|(r, &v)| (*r.start(), *r.end(), v))
            .collect()
    }
}

// ---------------------------------------------------------------------------
// Timed kernels. Each returns (nanoseconds, checksum); nothing but the
// operations themselves is inside the timed region.

#[inline]
fn fold(acc: u64, v: Option<u64>) -> u64 {
    (acc.rotate_left(7) ^ v.unwrap_or(0)).wrapping_add(v.is_some() as u64)
}

fn build<M: RangeStore>(layout: &[(u64, u64)]) -> M {
    let mut m = M::create();
    for (i, &(f, l)) in layout.iter().enumerate() {
        m.put(f, l, value(i as u64));
    }
    m
}

#[inline(never)]
fn time_append<M: RangeStore>(layout: &[(u64, u64)]) -> (M, u64) {
    let t = Instant::now();
    let mut m = M::create();
    for (i, &(f, l)) in layout.iter().enumerate() {
        m.put(f, l, value(i as u64));
    }
    let ns = t.elapsed().as_nanos() as u64;
    (black_box(m), ns)
}

#[inline(never)]
fn time_loads<M: RangeStore>(m: &M, queries: &[u64]) -> (u64, u64) {
    let t = Instant::now();
    let mut acc = 0u64;
    for &x in queries {
        acc = fold(acc, black_box(m.get(x)));
    }
    let ns = t.elapsed().as_nanos() as u64;
    (ns, black_box(acc))
}

#[inline(never)]
fn time_erases<M: RangeStore>(m: &mut M, points: &[u64]) -> (u64, u64) {
    let t = Instant::now();
    let mut acc = 0u64;
    for &x in points {
        acc = fold(acc, black_box(m.remove_at(x)));
    }
    let ns = t.elapsed().as_nanos() as u64;
    (ns, black_box(acc))
}

#[inline(never)]
fn time_ops<M: RangeStore>(m: &mut M, ops: &[Op]) -> (u64, u64) {
    let t = Instant::now();
    let mut acc = 0u64;
    for op in ops {
        match *op {
            Op::Store(f, l, id) => m.put(f, l, value(id)),
            Op::Erase(x) => acc = fold(acc, black_box(m.remove_at(x))),
        }
    }
    let ns = t.elapsed().as_nanos() as u64;
    (ns, black_box(acc))
}

// ---------------------------------------------------------------------------
// Cross-checks.

fn assert_same(what: &str, n: usize, a: &MapleTree, b: &BTree, c: &RMap) {
    let (ea, eb, ec) = (a.contents(), b.contents(), c.contents());
    for (name, other) in [(BTree::NAME, &eb), (RMap::NAME, &ec)] {
        if ea != *other {
            let i = ea
                .iter()
                .zip(other.iter())
                .position(|(x, y)| x != y)
                .unwrap_or(ea.len().min(other.len()));
            panic!(
                "{what} N={n}: maple and {name} differ: {} vs {} entries, \
                 first difference at #{i}: {:x?} vs {:x?}",
                ea.len(),
                other.len(),
                ea.get(i),
                other.get(i)
            );
        }
    }
}

fn assert_sums(what: &str, n: usize, sums: [u64; 3]) {
    assert!(
        sums[0] == sums[1] && sums[0] == sums[2],
        "{what} N={n}: checksums differ: maple {:#x}, BTreeMap {:#x}, rangemap {:#x}",
        sums[0],
        sums[1],
        sums[2]
    );
}

/// The maple tree's store-type counts, e.g. "append 990, split_store 9".
fn store_types(t: &MapleTree) -> String {
    let parts: Vec<String> = t
        .store_stats()
        .iter()
        .filter(|&(_, k)| k > 0)
        .map(|(ty, k)| format!("{} {}", ty.name(), k))
        .collect();
    format!("store types: {}", parts.join(", "))
}

// ---------------------------------------------------------------------------
// Results.

struct Row {
    workload: usize,
    n: usize,
    /// Per structure, ns/op for each round.
    ns: [Vec<f64>; 3],
    note: String,
}

impl Row {
    fn new(workload: usize, n: usize) -> Row {
        Row {
            workload,
            n,
            ns: [Vec::new(), Vec::new(), Vec::new()],
            note: String::new(),
        }
    }

    fn push(&mut self, ns: [u64; 3], ops: u64) {
        for (k, t) in ns.iter().enumerate() {
            self.ns[k].push(*t as f64 / ops as f64);
        }
    }
}

const WORKLOADS: [&str; 4] = [
    "random point load",
    "sequential append",
    "random overwrite + erase",
    "erase all, random order",
];

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    let m = v.len() / 2;
    if v.len() % 2 == 1 {
        v[m]
    } else {
        (v[m - 1] + v[m]) / 2.0
    }
}

// ---------------------------------------------------------------------------
// Configuration.

struct Config {
    sizes: Vec<usize>,
    rounds: usize,
    /// Point loads per structure per round.
    loads: usize,
    /// Overwrite-workload operations (stores plus erases) per round.
    overwrite_ops: usize,
    /// Minimum appends (and erases) per structure per round; small N repeat
    /// the build to reach it.
    min_build_ops: usize,
    mode: &'static str,
}

fn parse_size(s: &str) -> usize {
    let s = s.trim().replace('_', "");
    s.parse::<usize>()
        .ok()
        .or_else(|| {
            s.parse::<f64>()
                .ok()
                .filter(|f| *f >= 1.0)
                .map(|f| f as usize)
        })
        .unwrap_or_else(|| panic!("BENCH_SIZES: cannot parse {s:?}"))
}

fn config() -> Config {
    let env_on = |k: &str| std::env::var(k).is_ok_and(|v| !v.is_empty() && v != "0");
    // `cargo bench` passes --bench; `cargo test --benches` does not.
    let bench = std::env::args().any(|a| a == "--bench");
    let mut c = if !bench {
        Config {
            sizes: vec![1000],
            rounds: 1,
            loads: 10_000,
            overwrite_ops: 10_000,
            min_build_ops: 1000,
            mode: "smoke (run without --bench)",
        }
    } else if env_on("BENCH_QUICK") {
        Config {
            sizes: vec![1_000, 10_000],
            rounds: 3,
            loads: 200_000,
            overwrite_ops: 100_000,
            min_build_ops: 100_000,
            mode: "quick (BENCH_QUICK=1)",
        }
    } else {
        Config {
            sizes: vec![1_000, 10_000, 100_000, 1_000_000],
            rounds: 5,
            loads: 1_000_000,
            overwrite_ops: 200_000,
            min_build_ops: 200_000,
            mode: "full",
        }
    };
    if let Ok(s) = std::env::var("BENCH_SIZES") {
        if !s.trim().is_empty() {
            c.sizes = s
                .split(',')
                .filter(|x| !x.trim().is_empty())
                .map(parse_size)
                .collect();
        }
    }
    if let Ok(s) = std::env::var("BENCH_ROUNDS") {
        c.rounds = s.trim().parse().expect("BENCH_ROUNDS: not a number");
        assert!(c.rounds > 0, "BENCH_ROUNDS must be at least 1");
    }
    c
}

// ---------------------------------------------------------------------------
// Workloads. Each runs maple, BTreeMap, rangemap interleaved per round.

/// Workload 1: random point loads over a tree built from `layout`.
fn bench_loads(c: &Config, n: usize, layout: &[(u64, u64)], end: u64, rng: &mut Rng) -> Row {
    let queries: Vec<u64> = (0..c.loads).map(|_| rng.between(BASE, end - 1)).collect();
    let a: MapleTree = build(layout);
    let b: BTree = build(layout);
    let r: RMap = build(layout);
    assert_same(WORKLOADS[0], n, &a, &b, &r);
    a.check();
    let mut row = Row::new(0, n);
    let mut hits = 0;
    for _ in 0..c.rounds {
        let (ta, sa) = time_loads(&a, &queries);
        let (tb, sb) = time_loads(&b, &queries);
        let (tc, sc) = time_loads(&r, &queries);
        assert_sums(WORKLOADS[0], n, [sa, sb, sc]);
        row.push([ta, tb, tc], queries.len() as u64);
    }
    for &q in &queries {
        hits += a.get(q).is_some() as usize;
    }
    row.note = format!(
        "{:.0}% of loads hit, tree height {}",
        100.0 * hits as f64 / queries.len() as f64,
        a.tree_height()
    );
    row
}

/// Workloads 2 and 4: sequential append of `layout`, then erase of every range in
/// random order, each timed separately; small N repeat the pair.
fn bench_append_erase(c: &Config, n: usize, layout: &[(u64, u64)], rng: &mut Rng) -> (Row, Row) {
    let mut points: Vec<u64> = layout.iter().map(|&(f, l)| rng.between(f, l)).collect();
    rng.shuffle(&mut points);
    let reps = c.min_build_ops.div_ceil(n).max(1);
    let mut append = Row::new(1, n);
    let mut erase = Row::new(3, n);
    let mut height = 0;
    let mut stats = String::new();
    for round in 0..c.rounds {
        let mut t_app = [0u64; 3];
        let mut t_era = [0u64; 3];
        for rep in 0..reps {
            let last = round + 1 == c.rounds && rep + 1 == reps;
            let (mut a, ta) = time_append::<MapleTree>(layout);
            let (mut b, tb) = time_append::<BTree>(layout);
            let (mut r, tc) = time_append::<RMap>(layout);
            for (acc, t) in t_app.iter_mut().zip([ta, tb, tc]) {
                *acc += t;
            }
            if rep == 0 {
                assert_same(WORKLOADS[1], n, &a, &b, &r);
            }
            if last {
                a.check();
                height = a.tree_height();
                stats = store_types(&a);
            }
            let (ta, sa) = time_erases(&mut a, &points);
            let (tb, sb) = time_erases(&mut b, &points);
            let (tc, sc) = time_erases(&mut r, &points);
            for (acc, t) in t_era.iter_mut().zip([ta, tb, tc]) {
                *acc += t;
            }
            assert_sums(WORKLOADS[3], n, [sa, sb, sc]);
            if rep == 0 {
                assert_same(WORKLOADS[3], n, &a, &b, &r);
                assert!(
                    a.is_empty(),
                    "maple tree not empty after erasing every range"
                );
            }
            if last {
                a.check();
            }
            // The three are dropped here, outside the timed regions.
        }
        append.push(t_app, (reps * n) as u64);
        erase.push(t_era, (reps * n) as u64);
    }
    append.note = format!("{reps} build(s) per round, final height {height}; maple {stats}");
    erase.note = format!("{reps} build(s) per round, erase at a random index of each range");
    (append, erase)
}

/// Workload 3: random overwrite at steady state: stores of 1..=64 pages at random
/// page-aligned addresses, alternating with erases at random indices.
fn bench_overwrite(c: &Config, n: usize, layout: &[(u64, u64)], end: u64, rng: &mut Rng) -> Row {
    let per_round = c.overwrite_ops.max(2) & !1;
    // One untimed warm-up chunk, then one chunk per round.
    let total = per_round * (c.rounds + 1);
    let pages = (end - BASE) / PAGE;
    let mut next_id = n as u64;
    let ops: Vec<Op> = (0..total)
        .map(|i| {
            if i % 2 == 0 {
                let first = BASE + rng.below(pages) * PAGE;
                let last = first + rng.between(1, 64) * PAGE - 1;
                next_id += 1;
                Op::Store(first, last, next_id)
            } else {
                Op::Erase(rng.between(BASE, end - 1))
            }
        })
        .collect();
    let mut a: MapleTree = build(layout);
    let mut b: BTree = build(layout);
    let mut r: RMap = build(layout);
    let (warm, chunks) = ops.split_at(per_round);
    let (_, sa) = time_ops(&mut a, warm);
    let (_, sb) = time_ops(&mut b, warm);
    let (_, sc) = time_ops(&mut r, warm);
    assert_sums(WORKLOADS[2], n, [sa, sb, sc]);
    let start_len = b.len();
    let mut row = Row::new(2, n);
    for chunk in chunks.chunks(per_round) {
        let (ta, sa) = time_ops(&mut a, chunk);
        let (tb, sb) = time_ops(&mut b, chunk);
        let (tc, sc) = time_ops(&mut r, chunk);
        assert_sums(WORKLOADS[2], n, [sa, sb, sc]);
        row.push([ta, tb, tc], chunk.len() as u64);
    }
    assert_same(WORKLOADS[2], n, &a, &b, &r);
    a.check();
    row.note = format!(
        "ns per store or erase; {n} -> {start_len} -> {} ranges (start, after warm-up, end); \
         maple {} (whole life, erases included)",
        b.len(),
        store_types(&a)
    );
    row
}

// ---------------------------------------------------------------------------
// Header: machine and date.

fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, v)| v.trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".to_string())
}

/// Today's UTC date as YYYY-MM-DD (civil-from-days, proleptic Gregorian).
fn utc_date() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let z = (secs / 86_400) as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}")
}

fn main() {
    let c = config();
    let started = Instant::now();
    let nproc = std::thread::available_parallelism().map_or(0, |n| n.get());
    let load = std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default();

    let mut rows = Vec::new();
    for &n in &c.sizes {
        assert!(n > 0, "sizes must be positive");
        eprintln!("tree bench: N = {n} ...");
        let mut rng = Rng::new(SEED ^ (n as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15));
        let (layout, end) = vma_layout(n, &mut rng);
        rows.push(bench_loads(&c, n, &layout, end, &mut rng));
        let (append, erase) = bench_append_erase(&c, n, &layout, &mut rng);
        rows.push(append);
        rows.push(bench_overwrite(&c, n, &layout, end, &mut rng));
        rows.push(erase);
    }
    rows.sort_by_key(|r| (r.workload, r.n));

    println!("## maple tree vs BTreeMap vs rangemap");
    println!();
    println!(
        "- machine: {} ({} CPUs), load average at start {}",
        cpu_model(),
        nproc,
        load
    );
    println!("- date: {} (UTC)", utc_date());
    println!(
        "- mode: {}, {} round(s), structures interleaved maple, BTreeMap, rangemap per round; \
         medians over rounds",
        c.mode, c.rounds
    );
    println!(
        "- ranges: 1-64 pages of 4096 long, holes of 0-16 pages; {} loads and {} overwrite ops \
         per round",
        c.loads, c.overwrite_ops
    );
    println!();
    println!("| workload | N | maple ns/op | BTreeMap ns/op | rangemap ns/op | maple/BTreeMap |");
    println!("|---|---:|---:|---:|---:|---:|");
    for r in &rows {
        let ratios: Vec<f64> = r.ns[0].iter().zip(&r.ns[1]).map(|(a, b)| a / b).collect();
        println!(
            "| {} | {} | {:.1} | {:.1} | {:.1} | {:.2} |",
            WORKLOADS[r.workload],
            r.n,
            median(r.ns[0].clone()),
            median(r.ns[1].clone()),
            median(r.ns[2].clone()),
            median(ratios)
        );
    }
    println!();
    println!("Notes:");
    for r in &rows {
        println!("- {} N={}: {}", WORKLOADS[r.workload], r.n, r.note);
    }
    println!();
    println!(
        "All three structures held the same entries after every workload; took {:.1} s.",
        started.elapsed().as_secs_f64()
    );
}
