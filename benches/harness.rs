// SPDX-License-Identifier: GPL-2.0-or-later
//! The executor's throughput: the same generated programs run with every
//! check after every op (`--check-every 1`, the mode before the per-op
//! checks learned to cost what the op touched) and with the checks that
//! cost the tree's size every `CHECK_EVERY` ops (the default), side by
//! side in one run, per target and engine set.
//!
//! ```text
//! cargo bench --bench harness                 # 60 programs per cell
//! BENCH_QUICK=1 cargo bench --bench harness   # 12 programs per cell
//! ```
//!
//! Both modes find the same divergences at the same ops (tests/mutants.rs
//! `a_late_full_pass_reports_the_op_that_broke_the_tree`); this measures
//! only the time. The kernel rows need the kernel engine in the build.

use std::time::{Duration, Instant};

use maplefuzz::diff::{run_checked_every, CHECK_EVERY};
use maplefuzz::driver::{exec_program, Target};
use maplefuzz::engine::EngineSet;
use maplefuzz::ops::{AnyProgram, Program};

fn programs(target: Target, n: u64) -> Vec<Program> {
    (0..n)
        .map(|i| match exec_program(target, 0xbe9c, i) {
            AnyProgram::Tree(p) => p,
            AnyProgram::Vma(_) => unreachable!("tree targets make tree programs"),
        })
        .collect()
}

/// Runs every program once in each mode, alternating, and returns the
/// time each mode took.
fn time_both(ps: &[Program], set: &EngineSet) -> (Duration, Duration) {
    let (mut full, mut fast) = (Duration::ZERO, Duration::ZERO);
    for p in ps {
        for (every, total) in [(1, &mut full), (CHECK_EVERY, &mut fast)] {
            let t = Instant::now();
            let r = run_checked_every(p, set, every);
            *total += t.elapsed();
            if let Err(d) = r {
                panic!("the benchmark's programs must run clean: {d}");
            }
        }
    }
    (full, fast)
}

fn main() {
    let quick = std::env::var_os("BENCH_QUICK").is_some();
    let n = if quick { 12 } else { 60 };
    let mut sets = vec!["oracle,rust"];
    if maplefuzz_kernel::default_tree().is_some() {
        sets.push("oracle,rust,kernel");
    }
    println!(
        "{n} programs per row; checks every op against every {CHECK_EVERY} ops (and per op \
         what the op wrote)\n"
    );
    println!(
        "| target | engines | ops | every op: ops/s | programs/s | every {CHECK_EVERY}: ops/s | programs/s | speed-up |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    for target in [
        Target::TreeOps,
        Target::TreeAlloc,
        Target::TreePrealloc,
        Target::TreeFaults,
    ] {
        let ps = programs(target, n);
        let ops: usize = ps.iter().map(|p| p.ops.len()).sum();
        for s in &sets {
            let set = EngineSet::parse(s).expect("a valid engine list");
            let (full, fast) = time_both(&ps, &set);
            let rate = |d: Duration, k: f64| k / d.as_secs_f64();
            println!(
                "| {} | {s} | {ops} | {:.0} | {:.1} | {:.0} | {:.1} | {:.1}x |",
                target.name(),
                rate(full, ops as f64),
                rate(full, ps.len() as f64),
                rate(fast, ops as f64),
                rate(fast, ps.len() as f64),
                full.as_secs_f64() / fast.as_secs_f64()
            );
        }
    }
}
