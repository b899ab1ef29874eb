//! `maplefuzz sweep FILE`: the kernel's `mt_set_non_kernel()` loops, made
//! exhaustive. The program runs once cleanly to count its node
//! allocations; then, for every allocation point k, once with exactly the
//! k-th allocation failing and once with the k-th and every later one
//! failing. Every run goes through the executor, whose checks include
//! atomicity (an op hit by a failure takes full effect or none, and then
//! answers `ENOMEM`), node accounting and validation after every op.
//!
//! A VMA program (`vma_ops`) is swept at its own allocation points
//! ([`crate::ops::vma::Point`]: `vm_area_alloc`, the preallocations, the
//! gfp stores, the anon_vma calls, `__mt_dup`): for every op and every
//! point it passes when nothing fails, once with `fail_at` that point
//! before it, on the oracle, the model and the kernel VMA engines of the
//! set, so every allocation of the kernel's own VMA code fails in turn.

use super::replay::load_program;
use super::DriverError;
use crate::diff::{run_with, Divergence, Options};
use crate::engine::EngineSet;
use crate::ops::vma::{VmaOp, VmaProgram};
use crate::ops::{AnyProgram, FaultSchedule, Program, TreeOp};
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

/// One failed run of a VMA sweep: `fail_at point` before op `step`.
#[derive(Debug)]
pub struct VmaSweepFailure {
    pub step: usize,
    pub point: u32,
    pub divergence: Box<Divergence>,
}

/// What a VMA sweep found.
#[derive(Debug)]
pub struct VmaSweepOutcome {
    /// Allocation points the program passes when nothing fails (each one
    /// run failing).
    pub points: u64,
    /// The engines every run compared.
    pub engines: Vec<String>,
    pub failures: Vec<VmaSweepFailure>,
}

/// Sweeps a VMA program (its own `fail_at` ops are dropped first): the
/// points each op passes come from the reference engine (the executor
/// already requires every engine to pass the same ones).
pub fn sweep_vma_program(
    program: &VmaProgram,
    set: &EngineSet,
) -> Result<VmaSweepOutcome, Box<Divergence>> {
    let kernels = set.vma_kernels();
    sweep_vma_with(program, &|setup| {
        crate::engine::vma::engines_with(setup, &kernels)
    })
}

/// [`sweep_vma_program`] on the engines `make` builds (the first is the
/// reference).
pub fn sweep_vma_with(
    program: &VmaProgram,
    make: &dyn Fn(crate::ops::vma::VmaSetup) -> Vec<Box<dyn crate::engine::vma::VmaEngine>>,
) -> Result<VmaSweepOutcome, Box<Divergence>> {
    let base = VmaProgram {
        setup: program.setup,
        ops: program
            .ops
            .iter()
            .filter(|op| !matches!(op, VmaOp::FailAt { .. }))
            .copied()
            .collect(),
    };
    crate::diff::vma::run_with(&base, &mut make(base.setup))?;
    let mut engines = make(base.setup);
    let names: Vec<String> = engines.iter().map(|e| e.name().to_string()).collect();
    let mut per_op = Vec::with_capacity(base.ops.len());
    for op in &base.ops {
        for e in engines.iter_mut() {
            e.apply(op);
        }
        per_op.push(engines[0].last_points().len() as u32);
    }
    let mut out = VmaSweepOutcome {
        points: per_op.iter().map(|&n| u64::from(n)).sum(),
        engines: names,
        failures: Vec::new(),
    };
    for (step, &n) in per_op.iter().enumerate() {
        for point in 0..n {
            let mut p = base.clone();
            p.ops.insert(step, VmaOp::FailAt { nth: point });
            if let Err(divergence) = crate::diff::vma::run_with(&p, &mut make(p.setup)) {
                out.failures.push(VmaSweepFailure {
                    step,
                    point,
                    divergence,
                });
            }
        }
    }
    Ok(out)
}

fn sweep_vma(path: &Path, p: &VmaProgram, engines: &EngineSet) -> bool {
    match sweep_vma_program(p, engines) {
        Err(d) => {
            println!("the program diverges without any injected failure:\n{d}");
            true
        }
        Ok(o) => {
            println!(
                "sweep {}: {} allocation points on {}, each failing in its own run",
                path.display(),
                o.points,
                o.engines.join(",")
            );
            for f in &o.failures {
                println!(
                    "\n== with fail_at {} before op {}:\n{}",
                    f.point, f.step, f.divergence
                );
            }
            if o.failures.is_empty() {
                println!(
                    "clean: every injected failure was answered and unwound alike, and every \
                     address space stayed valid"
                );
            } else {
                println!("{} of {} runs diverged", o.failures.len(), o.points);
            }
            !o.failures.is_empty()
        }
    }
}

/// `maplefuzz sweep FILE`: prints a report; returns whether anything broke.
pub fn sweep(path: &Path, engines: &EngineSet) -> Result<bool, DriverError> {
    if let (AnyProgram::Vma(p), _) = super::replay::load_any(path)? {
        return Ok(sweep_vma(path, &p, engines));
    }
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
