//! A program run in a child process, so that the one failure an engine
//! cannot report from inside, a fatal signal, is a divergence like the
//! others.
//!
//! The kernel engine is C: a wild pointer there kills the process (the RCU
//! destroy walk of Linux 6.12 and 7.1 does, docs/findings/rcu-free-walk.md).
//! [`run_isolated`] forks ([`maplefuzz_kernel::isolate::run_in_child`]),
//! runs the program on the engines in force in the child, and sends the
//! result back. When the child dies of a signal, the divergence is a
//! [`Check::Signal`] at the step the executor had marked, blamed on the
//! engine it was running, naming the signal and the function it hit, so the
//! shrinker keeps a candidate only if it dies the same way; past the time
//! limit it is a [`Check::Hang`]. Node dumps and store-type counts of a
//! clean run do not cross the process boundary.

use super::{Check, Divergence, Fatal, RunStats};
use crate::engine::EngineSet;
use crate::ops::{AnyProgram, Op};
use crate::tree::StoreType;
use maplefuzz_kernel::isolate::{self, ChildEnd};
use std::time::Duration;

/// How long a run may take before it is a hang, in seconds: isolated runs
/// here, and the watchdog of the stable driver and `replay`.
pub const DEFAULT_HANG_SECONDS: u64 = 10;

/// [`DEFAULT_HANG_SECONDS`] as a duration.
pub const DEFAULT_LIMIT: Duration = Duration::from_secs(DEFAULT_HANG_SECONDS);

/// A run function, as the shrinker takes one.
pub type RunFn<'a> = dyn FnMut(&AnyProgram) -> Result<RunStats, Box<Divergence>> + 'a;

/// Runs `program` on `engines` (a tree program; a VMA program runs on the
/// VMA engines), in a child process.
pub fn run_isolated(
    program: &AnyProgram,
    engines: &EngineSet,
    limit: Duration,
) -> Result<RunStats, Box<Divergence>> {
    let names = engine_names(program, engines);
    let r = run_isolated_with(program, limit, &names, &mut |p| super::run_any(p, engines));
    match (r, program) {
        (Err(d), AnyProgram::Tree(p)) if d.check == Check::Signal && d.step > 0 => {
            Err(earliest_signal(d, p, engines, limit, &names))
        }
        (r, _) => r,
    }
}

/// A fatal signal at step `d.step` of a tree program may have come from a
/// corruption an earlier op made, which the checks that run every
/// [`super::CHECK_EVERY`] ops (validation, the structural check, the full
/// contents) would have met first had they run after every op; a pass of
/// them may also be what dies. The program is run again to that step, in a
/// child, with every check after every op: a divergence it finds at or
/// before the step is the report (so the shrinker and the reproducer name
/// the op that did it), else the signal stands.
fn earliest_signal(
    d: Box<Divergence>,
    p: &crate::ops::Program,
    engines: &EngineSet,
    limit: Duration,
    names: &[String],
) -> Box<Divergence> {
    let upto = AnyProgram::Tree(crate::ops::Program {
        config: p.config,
        ops: p.ops[..=d.step.min(p.ops.len() - 1)].to_vec(),
    });
    let again = run_isolated_with(&upto, limit, names, &mut |q| match q {
        AnyProgram::Tree(t) => super::run_checked_every(t, engines, 1),
        other => super::run_any(other, engines),
    });
    match again {
        Err(e) if e.step <= d.step && e.check != Check::Hang => e,
        _ => d,
    }
}

/// The names of the engines `program` runs on, in executor order.
pub fn engine_names(program: &AnyProgram, engines: &EngineSet) -> Vec<String> {
    match program {
        AnyProgram::Tree(p) => engines
            .build(p.config)
            .iter()
            .map(|e| e.name().to_string())
            .collect(),
        AnyProgram::Vma(p) => crate::engine::vma::engines_with(p.setup, &engines.vma_kernels())
            .iter()
            .map(|e| e.name().to_string())
            .collect(),
    }
}

/// Runs `program` through `run` in a child process; `names` are the
/// engines `run` uses, in order (a signal names the engine by number).
pub fn run_isolated_with(
    program: &AnyProgram,
    limit: Duration,
    names: &[String],
    run: &mut RunFn<'_>,
) -> Result<RunStats, Box<Divergence>> {
    isolate::clear_position();
    let end = isolate::run_in_child(limit, || {
        let r = run(program);
        isolate::clear_position();
        encode(&r).into_bytes()
    });
    let op_at = |step: usize| -> Op {
        match program {
            AnyProgram::Tree(p) => Op::Tree(p.ops[step.min(p.ops.len().saturating_sub(1))].clone()),
            AnyProgram::Vma(p) => Op::Vma(p.ops[step.min(p.ops.len().saturating_sub(1))]),
        }
    };
    let last = program.len().saturating_sub(1);
    let failure = |step: usize, check: Check, engine: String, detail: String| {
        Box::new(Divergence {
            step,
            op: op_at(step),
            check,
            engine,
            detail,
            dumps: Vec::new(),
            store_types: Vec::new(),
            fatal: None,
        })
    };
    match end {
        Err(e) => Err(failure(
            0,
            Check::Crash,
            "executor".into(),
            format!("the program could not be run in a child process: {e}"),
        )),
        Ok(ChildEnd::Returned(bytes)) => decode(&String::from_utf8_lossy(&bytes), &op_at)
            .unwrap_or_else(|| {
                Err(failure(
                    last,
                    Check::Crash,
                    "executor".into(),
                    "the child process returned an unreadable result".into(),
                ))
            }),
        Ok(ChildEnd::Signaled(s)) => {
            let step = s.step.map_or(last, |n| n as usize).min(last);
            let engine = match s.engine {
                Some(i) => names
                    .get(i as usize)
                    .cloned()
                    .unwrap_or_else(|| format!("engine{i}")),
                // Between engines: the checks after the op.
                None => "checks".to_string(),
            };
            let mut d = failure(
                step,
                Check::Signal,
                engine,
                format!("the process died of {}", s.describe()),
            );
            d.fatal = Some(Fatal {
                signal: s.signal_name(),
                function: s.function().map(str::to_string),
            });
            Err(d)
        }
        Ok(ChildEnd::TimedOut(t)) => Err(failure(
            last,
            Check::Hang,
            "executor".into(),
            format!("the program ran longer than {t:.1?} and was killed"),
        )),
        Ok(ChildEnd::Exited(code)) => Err(failure(
            last,
            Check::Crash,
            "executor".into(),
            format!("the child process exited with status {code} without a result"),
        )),
    }
}

/// The result as lines: `ok`, ops, most entries, the stop's step (or `-`),
/// its message; or `err`, step, check, engine, store types, detail.
fn encode(r: &Result<RunStats, Box<Divergence>>) -> String {
    match r {
        Ok(s) => {
            let (step, why) = match &s.stopped {
                Some((step, why)) => (step.to_string(), why.as_str()),
                None => ("-".to_string(), ""),
            };
            format!("ok\n{}\n{}\n{step}\n{why}", s.ops, s.max_entries)
        }
        Err(d) => {
            let types: Vec<&str> = d.store_types.iter().map(|t| t.name()).collect();
            format!(
                "err\n{}\n{}\n{}\n{}\n{}",
                d.step,
                d.check.name(),
                d.engine,
                types.join(","),
                d.detail
            )
        }
    }
}

fn decode(text: &str, op_at: &dyn Fn(usize) -> Op) -> Option<Result<RunStats, Box<Divergence>>> {
    let mut it = text.splitn(6, '\n');
    match it.next()? {
        "ok" => {
            let mut it = text.splitn(5, '\n').skip(1);
            let ops = it.next()?.parse().ok()?;
            let max_entries = it.next()?.parse().ok()?;
            let stopped = match it.next()? {
                "-" => None,
                n => Some((n.parse().ok()?, it.next().unwrap_or("").to_string())),
            };
            Some(Ok(RunStats {
                stopped,
                ops,
                max_entries,
                ..RunStats::default()
            }))
        }
        "err" => {
            let step: usize = it.next()?.parse().ok()?;
            let check = Check::from_name(it.next()?)?;
            let engine = it.next()?.to_string();
            let store_types = it
                .next()?
                .split(',')
                .filter(|n| !n.is_empty())
                .map(|n| StoreType::ALL.into_iter().find(|t| t.name() == n))
                .collect::<Option<Vec<_>>>()?;
            let detail = it.next().unwrap_or("").to_string();
            Some(Err(Box::new(Divergence {
                step,
                op: op_at(step),
                check,
                engine,
                detail,
                dumps: Vec::new(),
                store_types,
                fatal: None,
            })))
        }
        _ => None,
    }
}
