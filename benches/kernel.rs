// SPDX-License-Identifier: GPL-2.0-or-later
//! The Rust port against the kernel's own C maple tree of every tree this
//! build has, one column each (the kernel engine's `fixed` builds: -O2, no
//! sanitizers, CONFIG_DEBUG_MAPLE_TREE on as in the kernel's userspace
//! tests; build with several trees in `LINUX_SRC` for a column per kernel
//! generation) and against `BTreeMap`, on the same operation streams:
//! appends, loads, overwrites, erase-all and gap searches.
//!
//! ```text
//! cargo bench --bench kernel                  # N = 1e3, 1e4, 1e5; 5 rounds
//! BENCH_QUICK=1 cargo bench --bench kernel    # N = 1e3, 1e4; 3 rounds
//! ```
//!
//! Every C op goes through one FFI call that also arms the BUG/WARN unwind
//! and runs pending RCU callbacks (a few nanoseconds the kernel itself does
//! not pay); the ratios include that. Without a Linux source at build time
//! the kernel column is left out.

use std::collections::BTreeMap;
use std::hint::black_box;
use std::time::Instant;

use maplefuzz::tree::{MaState, MapleTree, MT_FLAGS_ALLOC_RANGE};
use maplefuzz_kernel::{KernelTree, OpCode};

/// splitmix64.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// VMA-like ranges: 1-64 pages long, holes of 0-16 pages.
fn layout(n: usize, rng: &mut Rng) -> Vec<(u64, u64)> {
    let mut at = 0x40_0000u64;
    (0..n)
        .map(|_| {
            let len = (1 + rng.below(64)) * 4096;
            let r = (at, at + len - 1);
            at += len + rng.below(17) * 4096;
            r
        })
        .collect()
}

trait Bench {
    fn put(&mut self, a: u64, b: u64, v: u64);
    fn get(&mut self, x: u64) -> u64;
    fn remove(&mut self, x: u64) -> u64;
    /// The lowest `[s, s + size - 1]` free within `[min, max]`.
    fn gap(&mut self, min: u64, max: u64, size: u64) -> u64;
}

impl Bench for MapleTree {
    fn put(&mut self, a: u64, b: u64, v: u64) {
        self.store_range(a, b, Some(v)).unwrap();
    }
    fn get(&mut self, x: u64) -> u64 {
        self.load(x).unwrap_or(0)
    }
    fn remove(&mut self, x: u64) -> u64 {
        self.erase(x).unwrap_or(0)
    }
    fn gap(&mut self, min: u64, max: u64, size: u64) -> u64 {
        let mut m = MaState::new(0, 0);
        m.empty_area(self, min, max, size).map_or(0, |()| m.index())
    }
}

impl Bench for KernelTree {
    fn put(&mut self, a: u64, b: u64, v: u64) {
        assert_eq!(self.apply(OpCode::Store, a, b, v, 0).unwrap().ret, 0);
    }
    fn get(&mut self, x: u64) -> u64 {
        self.apply(OpCode::Load, x, 0, 0, 0).unwrap().entry
    }
    fn remove(&mut self, x: u64) -> u64 {
        self.apply(OpCode::Erase, x, 0, 0, 0).unwrap().entry
    }
    fn gap(&mut self, min: u64, max: u64, size: u64) -> u64 {
        let r = self.apply(OpCode::EmptyArea, min, max, size, 0).unwrap();
        if r.ret == 0 {
            r.index
        } else {
            0
        }
    }
}

/// start -> (last, value).
impl Bench for BTreeMap<u64, (u64, u64)> {
    fn put(&mut self, a: u64, b: u64, v: u64) {
        // Trim or split whatever overlaps [a, b], then insert.
        let over: Vec<(u64, (u64, u64))> = self
            .range(..=b)
            .rev()
            .take_while(|(_, (l, _))| *l >= a)
            .map(|(k, x)| (*k, *x))
            .collect();
        for (s, (l, val)) in over {
            self.remove(&s);
            if s < a {
                self.insert(s, (a - 1, val));
            }
            if l > b {
                self.insert(b + 1, (l, val));
            }
        }
        self.insert(a, (b, v));
    }
    fn get(&mut self, x: u64) -> u64 {
        match self.range(..=x).next_back() {
            Some((_, (l, v))) if *l >= x => *v,
            _ => 0,
        }
    }
    fn remove(&mut self, x: u64) -> u64 {
        let k = match self.range(..=x).next_back() {
            Some((k, (l, _))) if *l >= x => *k,
            _ => return 0,
        };
        self.remove(&k).map_or(0, |(_, v)| v)
    }
    fn gap(&mut self, min: u64, max: u64, size: u64) -> u64 {
        let mut at = min;
        if let Some((_, (l, _))) = self.range(..=min).next_back() {
            if *l >= min {
                at = l + 1;
            }
        }
        for (s, (l, _)) in self.range(min..) {
            if *s > at && s - at >= size {
                break;
            }
            at = at.max(l + 1);
        }
        if at <= max && max - at + 1 >= size {
            at
        } else {
            0
        }
    }
}

const WORKLOADS: [&str; 5] = ["append", "loads", "overwrite", "empty_area", "erase all"];

/// Nanoseconds per op for each workload, and a checksum.
fn run<B: Bench>(
    mut t: B,
    ranges: &[(u64, u64)],
    queries: &[u64],
    gaps: &[(u64, u64)],
) -> ([f64; 5], u64) {
    let mut ns = [0.0; 5];
    let mut sum = 0u64;
    let t0 = Instant::now();
    for (i, &(a, b)) in ranges.iter().enumerate() {
        t.put(a, b, 2 * i as u64 + 1);
    }
    ns[0] = t0.elapsed().as_nanos() as f64 / ranges.len() as f64;
    let t0 = Instant::now();
    for &q in queries {
        sum = sum.wrapping_add(t.get(q));
    }
    ns[1] = t0.elapsed().as_nanos() as f64 / queries.len() as f64;
    let t0 = Instant::now();
    for (k, &q) in queries.iter().enumerate() {
        let (a, b) = ranges[q as usize % ranges.len()];
        t.put(a, b, 2 * k as u64 + 3);
    }
    ns[2] = t0.elapsed().as_nanos() as f64 / queries.len() as f64;
    let t0 = Instant::now();
    for &(min, size) in gaps {
        sum = sum.wrapping_add(t.gap(min, u64::MAX - 1, size));
    }
    ns[3] = t0.elapsed().as_nanos() as f64 / gaps.len() as f64;
    let t0 = Instant::now();
    for &(a, _) in ranges {
        sum = sum.wrapping_add(t.remove(a));
    }
    ns[4] = t0.elapsed().as_nanos() as f64 / ranges.len() as f64;
    (ns, black_box(sum))
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}

fn main() {
    let bench_mode = std::env::args().any(|a| a == "--bench");
    let quick = std::env::var_os("BENCH_QUICK").is_some() || !bench_mode;
    let sizes: &[usize] = if !bench_mode {
        &[200]
    } else if quick {
        &[1_000, 10_000]
    } else {
        &[1_000, 10_000, 100_000]
    };
    let rounds = if !bench_mode {
        1
    } else if quick {
        3
    } else {
        5
    };
    // One column per kernel tree of this build (`kernel@X.Y`, its `fixed`
    // variant), the default tree first.
    let kernels: Vec<maplefuzz_kernel::VariantInfo> = maplefuzz_kernel::trees()
        .into_iter()
        .filter_map(|t| maplefuzz_kernel::variant_of(t, "fixed"))
        .collect();
    if kernels.is_empty() {
        eprintln!(
            "kernel engine unavailable ({}); kernel columns left out",
            maplefuzz_kernel::unavailable().unwrap_or_default()
        );
    }
    println!("## Rust port vs kernel C vs BTreeMap (ns/op, medians of {rounds} rounds)");
    println!();
    let mut head = "| workload | N | rust |".to_string();
    let mut rule = "|---|---:|---:|".to_string();
    for k in &kernels {
        head += &format!(" C {} |", k.version);
        rule += "---:|";
    }
    head += " BTreeMap |";
    rule += "---:|";
    for k in &kernels {
        head += &format!(" rust/C {} |", k.tree);
        rule += "---:|";
    }
    head += " rust/BTreeMap |";
    rule += "---:|";
    println!("{head}");
    println!("{rule}");
    for &n in sizes {
        let mut rng = Rng(0x6b65_726e ^ n as u64);
        let ranges = layout(n, &mut rng);
        let end = ranges.last().unwrap().1;
        let queries: Vec<u64> = (0..4 * n)
            .map(|_| 0x40_0000 + rng.below(end - 0x40_0000))
            .collect();
        let gaps: Vec<(u64, u64)> = (0..n)
            .map(|_| {
                (
                    0x40_0000 + rng.below(end - 0x40_0000),
                    (1 + rng.below(8)) * 4096,
                )
            })
            .collect();
        // rust, BTreeMap, then one column per kernel tree.
        let mut cols: Vec<Vec<[f64; 5]>> = vec![vec![]; 2 + kernels.len()];
        for _ in 0..rounds {
            let (r, s1) = run(
                MapleTree::with_flags(MT_FLAGS_ALLOC_RANGE),
                &ranges,
                &queries,
                &gaps,
            );
            cols[0].push(r);
            let (b, s3) = run(BTreeMap::new(), &ranges, &queries, &gaps);
            cols[1].push(b);
            assert_eq!(s1, s3, "the port and BTreeMap computed the same answers");
            for (i, v) in kernels.iter().enumerate() {
                let (k, s2) = run(
                    KernelTree::new(v, MT_FLAGS_ALLOC_RANGE),
                    &ranges,
                    &queries,
                    &gaps,
                );
                cols[2 + i].push(k);
                assert_eq!(
                    s1, s2,
                    "the port and kernel {} computed the same answers",
                    v.version
                );
            }
        }
        for (w, name) in WORKLOADS.iter().enumerate() {
            let m = |c: &Vec<[f64; 5]>| median(c.iter().map(|r| r[w]).collect());
            let r = m(&cols[0]);
            let b = m(&cols[1]);
            let ks: Vec<f64> = cols[2..].iter().map(m).collect();
            let mut row = format!("| {name} | {n} | {r:.1} |");
            for k in &ks {
                row += &format!(" {k:.1} |");
            }
            row += &format!(" {b:.1} |");
            for k in &ks {
                row += &format!(" {:.2} |", r / k);
            }
            row += &format!(" {:.2} |", r / b);
            println!("{row}");
        }
    }
}
