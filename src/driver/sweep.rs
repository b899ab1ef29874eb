//! `maplefuzz sweep FILE`: the kernel's `mt_set_non_kernel()` loops, made
//! exhaustive. The program runs once cleanly to count its node
//! allocations; then, for every allocation point k, once with exactly the
//! k-th allocation failing and once with the k-th and every later one
//! failing. Every run goes through the executor, whose checks include
//! atomicity (an op hit by a failure takes full effect or none, and then
//! answers `ENOMEM`), node accounting and validation after every op.

use super::replay::load_program;
use super::DriverError;
use crate::diff::{run_with, Divergence, Options};
use crate::engine::EngineSet;
use crate::ops::{FaultSchedule, Program, TreeOp};
use std::path::Path;

/// One failed run of a sweep.
#[derive(Debug)]
pub struct SweepFailure {
    /// The schedule the run started with.
    pub schedule: FaultSchedule,
    /// The first divergence it hit.
    pub divergence: Box<Divergence>,
}

/// What a sweep found.
#[derive(Debug)]
pub struct SweepOutcome {
    /// Node allocations the program makes when nothing fails.
    pub points: u64,
    /// Runs made (two per allocation point).
    pub runs: u64,
    /// Runs that diverged.
    pub failures: Vec<SweepFailure>,
}

/// The program without its own fault schedules.
fn without_faults(p: &Program) -> Program {
    Program {
        config: p.config,
        ops: p
            .ops
            .iter()
            .filter(|op| !matches!(op, TreeOp::FailAllocs { .. }))
            .cloned()
            .collect(),
    }
}

/// Node allocations `p` makes in the Rust engine when none fails, or the
/// divergence the clean run hits.
pub fn allocation_points(p: &Program, set: &EngineSet) -> Result<u64, Box<Divergence>> {
    let mut engines = set.build(p.config);
    run_with(p, &mut engines, Options::default())?;
    Ok(engines
        .iter()
        .filter_map(|e| e.inspect())
        .map(|i| i.alloc_attempts())
        .max()
        .unwrap_or(0))
}

/// Sweeps `program` (its own `fail_allocs` ops are dropped first).
pub fn sweep_program(program: &Program, set: &EngineSet) -> Result<SweepOutcome, Box<Divergence>> {
    let base = without_faults(program);
    let points = allocation_points(&base, set)?;
    let mut out = SweepOutcome {
        points,
        runs: 0,
        failures: Vec::new(),
    };
    for k in 1..=points {
        for schedule in [FaultSchedule::Nth(k), FaultSchedule::From(k)] {
            let mut p = base.clone();
            p.ops.insert(0, TreeOp::FailAllocs { schedule });
            out.runs += 1;
            let mut engines = set.build(p.config);
            if let Err(d) = run_with(&p, &mut engines, Options::default()) {
                out.failures.push(SweepFailure {
                    schedule,
                    divergence: d,
                });
            }
        }
    }
    Ok(out)
}

/// `maplefuzz sweep FILE`: prints a report; returns whether anything broke.
pub fn sweep(path: &Path, engines: &EngineSet) -> Result<bool, DriverError> {
    let (program, _) = load_program(path)?;
    match sweep_program(&program, engines) {
        Err(d) => {
            println!("the program diverges without any injected failure:\n{d}");
            Ok(true)
        }
        Ok(o) => {
            println!(
                "sweep {}: {} allocation points, {} runs (each point failing alone, and from there on)",
                path.display(),
                o.points,
                o.runs
            );
            for f in &o.failures {
                println!("\n== with {:?}:\n{}", f.schedule, f.divergence);
            }
            if o.failures.is_empty() {
                println!("clean: every injected failure left the tree atomic, accounted and valid");
            } else {
                println!("{} of {} runs diverged", o.failures.len(), o.runs);
            }
            Ok(!o.failures.is_empty())
        }
    }
}
