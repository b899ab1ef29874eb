// SPDX-License-Identifier: GPL-2.0-or-later
//! The executor's throughput: the same generated programs run with every
//! check after every op (`--check-every 1`, the mode before the per-op
//! checks learned to cost what the op touched) and with the checks that
//! cost the tree's size every `CHECK_EVERY` ops (the default), side by
//! side in one run, per target and engine set.
//!
//! ```text
//! cargo bench --bench harness                 # 60 programs per cell, best of 3
//! BENCH_QUICK=1 cargo bench --bench harness   # 12 programs per cell, one run
//! ```
//!
//! Each row also gives the ratio on the programs of RCU-mode trees and on
//! the others: the copy-on-write check runs after every write of an
//! RCU-mode tree in both modes.
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

/// The time each mode took, and the ops run: all programs, then those of
/// RCU-mode trees, then the others (the copy-on-write check runs after
/// every write of an RCU-mode tree in both modes, so it weighs on the
/// ratio of those alone).
#[derive(Default, Clone, Copy)]
struct Times {
    full: Duration,
    fast: Duration,
    ops: usize,
}

/// Runs every program `reps` times in each mode, alternating, and keeps
/// each program's fastest run in each mode (a shared machine slows some
/// runs, never speeds one up): the times of all programs, of the RCU-mode
/// ones and of the others.
fn time_both(ps: &[Program], set: &EngineSet, reps: usize) -> [Times; 3] {
    let mut t = [Times::default(); 3];
    for p in ps {
        let mut full = Duration::MAX;
        let mut fast = Duration::MAX;
        for _ in 0..reps {
            for (every, best) in [(1, &mut full), (CHECK_EVERY, &mut fast)] {
                let start = Instant::now();
                let r = run_checked_every(p, set, every);
                *best = (*best).min(start.elapsed());
                if let Err(d) = r {
                    panic!("the benchmark's programs must run clean: {d}");
                }
            }
        }
        for k in [0, if p.config.rcu { 1 } else { 2 }] {
            t[k].full += full;
            t[k].fast += fast;
            t[k].ops += p.ops.len();
        }
    }
    t
}

fn main() {
    let quick = std::env::var_os("BENCH_QUICK").is_some();
    let (n, reps) = if quick { (12, 1) } else { (60, 3) };
    let mut sets = vec!["oracle,rust"];
    if maplefuzz_kernel::default_tree().is_some() {
        sets.push("oracle,rust,kernel");
    }
    println!(
        "{n} programs per row, each program's fastest of {reps} runs in each mode; checks \
         every op against every {CHECK_EVERY} ops (and per op what the op wrote)\n"
    );
    println!(
        "| target | engines | ops | every op: ops/s | programs/s | every {CHECK_EVERY}: ops/s | programs/s | speed-up | RCU-mode programs: ops, speed-up | the others: ops, speed-up |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|");
    for target in [
        Target::TreeOps,
        Target::TreeAlloc,
        Target::TreePrealloc,
        Target::TreeFaults,
    ] {
        let ps = programs(target, n);
        for s in &sets {
            let set = EngineSet::parse(s).expect("a valid engine list");
            let [all, rcu, other] = time_both(&ps, &set, reps);
            let rate = |d: Duration, k: f64| k / d.as_secs_f64();
            let ratio = |t: Times| {
                if t.ops == 0 {
                    "-".to_string()
                } else {
                    format!("{:.1}x", t.full.as_secs_f64() / t.fast.as_secs_f64())
                }
            };
            println!(
                "| {} | {s} | {} | {:.0} | {:.1} | {:.0} | {:.1} | {} | {}, {} | {}, {} |",
                target.name(),
                all.ops,
                rate(all.full, all.ops as f64),
                rate(all.full, ps.len() as f64),
                rate(all.fast, all.ops as f64),
                rate(all.fast, ps.len() as f64),
                ratio(all),
                rcu.ops,
                ratio(rcu),
                other.ops,
                ratio(other),
            );
        }
    }
}
