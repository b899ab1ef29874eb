//! The Rust reproducer: a `#[test]` to paste into `tests/`. It builds the
//! program as `TreeOp` literals and runs it through `diff::run`; it passes
//! when the bug is gone. It selects nothing itself: a deliberate bug
//! (`src/mutants.rs`) is switched on from the environment
//! (`MAPLEFUZZ_MUTANT=<name> cargo test`), so the same test shows the bug
//! and its absence.

use super::{Reproducer, Shrinkable};
use crate::diff::Check;
use crate::ops::vma::text::format_program as format_vma_program;
use crate::ops::vma::VmaProgram;
use crate::ops::{FaultSchedule, TreeOp};
use std::fmt::Write;

fn num(n: u64) -> String {
    if n == u64::MAX {
        "u64::MAX".to_string()
    } else {
        format!("{n:#x}")
    }
}

fn val(v: Option<u64>) -> String {
    match v {
        Some(t) => format!("Some({t})"),
        None => "None".to_string(),
    }
}

fn schedule(s: FaultSchedule) -> String {
    match s {
        FaultSchedule::Never => "FaultSchedule::Never".to_string(),
        FaultSchedule::Nth(k) => format!("FaultSchedule::Nth({k})"),
        FaultSchedule::Next(n) => format!("FaultSchedule::Next({n})"),
        FaultSchedule::Every(n) => format!("FaultSchedule::Every({n})"),
        FaultSchedule::From(k) => format!("FaultSchedule::From({k})"),
    }
}

/// One op as a Rust expression.
pub fn op_literal(op: &TreeOp) -> String {
    let range = |name: &str, first: u64, last: u64, value: String| {
        format!(
            "TreeOp::{name} {{ first: {}, last: {}, value: {value} }}",
            num(first),
            num(last)
        )
    };
    let window = |name: &str, min: u64, max: u64, size: u64| {
        format!(
            "TreeOp::{name} {{ min: {}, max: {}, size: {} }}",
            num(min),
            num(max),
            num(size)
        )
    };
    let alloc = |name: &str, size: u64, min: u64, max: u64, value: u64| {
        format!(
            "TreeOp::{name} {{ size: {}, min: {}, max: {}, value: {value} }}",
            num(size),
            num(min),
            num(max)
        )
    };
    match *op {
        TreeOp::Store { first, last, value } => range("Store", first, last, val(value)),
        TreeOp::Insert { first, last, value } => range("Insert", first, last, value.to_string()),
        TreeOp::Prealloc { first, last, value } => range("Prealloc", first, last, val(value)),
        TreeOp::MasStore { first, last, value } => range("MasStore", first, last, val(value)),
        TreeOp::Erase { index } => format!("TreeOp::Erase {{ index: {} }}", num(index)),
        TreeOp::Load { index } => format!("TreeOp::Load {{ index: {} }}", num(index)),
        TreeOp::Walk { index } => format!("TreeOp::Walk {{ index: {} }}", num(index)),
        TreeOp::Set { index } => format!("TreeOp::Set {{ index: {} }}", num(index)),
        TreeOp::Find { index, max } => format!(
            "TreeOp::Find {{ index: {}, max: {} }}",
            num(index),
            num(max)
        ),
        TreeOp::MasFind { max } => format!("TreeOp::MasFind {{ max: {} }}", num(max)),
        TreeOp::MasNext { max } => format!("TreeOp::MasNext {{ max: {} }}", num(max)),
        TreeOp::MasFindRev { min } => format!("TreeOp::MasFindRev {{ min: {} }}", num(min)),
        TreeOp::MasPrev { min } => format!("TreeOp::MasPrev {{ min: {} }}", num(min)),
        TreeOp::Pause => "TreeOp::Pause".to_string(),
        TreeOp::Destroy => "TreeOp::Destroy".to_string(),
        TreeOp::MasDestroy => "TreeOp::MasDestroy".to_string(),
        TreeOp::ExpectedEntries { count } => {
            format!("TreeOp::ExpectedEntries {{ count: {count} }}")
        }
        TreeOp::EmptyArea { min, max, size } => window("EmptyArea", min, max, size),
        TreeOp::EmptyAreaRev { min, max, size } => window("EmptyAreaRev", min, max, size),
        TreeOp::AllocRange { .. } | TreeOp::AllocRRange { .. } => match op.alloc_parts() {
            Some((rev, size, min, max, value)) => {
                let name = if rev { "AllocRRange" } else { "AllocRange" };
                alloc(name, size, min, max, value)
            }
            None => unreachable!("alloc_parts covers both alloc ops"),
        },
        TreeOp::AllocCyclic {
            min,
            max,
            next,
            value,
        } => format!(
            "TreeOp::AllocCyclic {{ min: {}, max: {}, next: {}, value: {value} }}",
            num(min),
            num(max),
            num(next)
        ),
        TreeOp::Reset => "TreeOp::Reset".to_string(),
        TreeOp::SetRange { first, last } => format!(
            "TreeOp::SetRange {{ first: {}, last: {} }}",
            num(first),
            num(last)
        ),
        TreeOp::CurEmptyArea { min, max, size } => window("CurEmptyArea", min, max, size),
        TreeOp::CurEmptyAreaRev { min, max, size } => window("CurEmptyAreaRev", min, max, size),
        TreeOp::CurStore { value } => format!("TreeOp::CurStore {{ value: {} }}", val(value)),
        TreeOp::CurErase => "TreeOp::CurErase".to_string(),
        TreeOp::StorePrealloc { value } => {
            format!("TreeOp::StorePrealloc {{ value: {} }}", val(value))
        }
        TreeOp::FailAllocs { schedule: s } => {
            format!("TreeOp::FailAllocs {{ schedule: {} }}", schedule(s))
        }
    }
}

/// The doc comment and the first line of the `#[test]` function, named
/// `maplefuzz_<signature>`.
fn test_head<P: Shrinkable>(r: &Reproducer<'_, P>) -> String {
    let mut s = String::new();
    for line in r.summary() {
        let _ = writeln!(s, "/// {line}");
    }
    let _ = writeln!(
        s,
        "/// Passes once the bug is fixed; `MAPLEFUZZ_MUTANT=<name> cargo test` runs it\n\
         /// against a deliberate bug of `src/mutants.rs`."
    );
    let _ = writeln!(s, "#[test]\nfn maplefuzz_{}() {{", r.ident());
    s
}

/// The `#[test]` function, named `maplefuzz_<signature>`.
pub fn test_fn(r: &Reproducer<'_>) -> String {
    let p = &r.shrunk.program;
    let mut s = test_head(r);
    let faults = p
        .ops
        .iter()
        .any(|op| matches!(op, TreeOp::FailAllocs { .. }));
    let _ = writeln!(
        s,
        "    use maplefuzz::ops::{{{}Program, TreeConfig, TreeOp}};",
        if faults { "FaultSchedule, " } else { "" }
    );
    let _ = writeln!(s, "    let program = Program {{");
    let _ = writeln!(
        s,
        "        config: TreeConfig {{ alloc: {}, rcu: {} }},",
        p.config.alloc, p.config.rcu
    );
    let _ = writeln!(s, "        ops: vec![");
    for op in &p.ops {
        let _ = writeln!(s, "            {},", op_literal(op));
    }
    let _ = writeln!(s, "        ],\n    }};");
    s.push_str(&run_and_check(
        r.shrunk.divergence.check,
        "maplefuzz::diff::run(&program, &maplefuzz::engine::EngineSet::from_env())",
        "maplefuzz::ops::AnyProgram::Tree(program)",
    ));
    s
}

/// The end of a test: run the program, panic with the divergence. A bug
/// that kills the process (a fatal signal) or never ends runs in a child
/// process, so that the test fails instead of taking the test binary down.
fn run_and_check(check: Check, in_process: &str, any_program: &str) -> String {
    if matches!(check, Check::Signal | Check::Hang) {
        format!(
            "    // The bug kills the process: run the program in a child process.\n    \
             let program = {any_program};\n    \
             let engines = maplefuzz::engine::EngineSet::from_env();\n    \
             let limit = maplefuzz::diff::isolated::DEFAULT_LIMIT;\n    \
             if let Err(d) = maplefuzz::diff::isolated::run_isolated(&program, &engines, limit) {{\n        \
             panic!(\"{{d}}\");\n    }}\n}}\n"
        )
    } else {
        format!("    if let Err(d) = {in_process} {{\n        panic!(\"{{d}}\");\n    }}\n}}\n")
    }
}

/// The `#[test]` for an address-space program, named
/// `maplefuzz_<signature>`: the program is embedded in its text form
/// (readable, and as stable as the text format) and run on the oracle and
/// the model.
pub fn vma_test_fn(r: &Reproducer<'_, VmaProgram>) -> String {
    let mut s = test_head(r);
    let _ = writeln!(
        s,
        "    let program = maplefuzz::ops::vma::text::parse_vma_program("
    );
    let _ = writeln!(s, "        \"\\");
    for line in format_vma_program(&r.shrunk.program).lines() {
        let escaped = line.replace('\\', "\\\\").replace('"', "\\\"");
        let _ = writeln!(s, "         {escaped}\\n\\");
    }
    let _ = writeln!(
        s,
        "        \",\n    )\n    .expect(\"the reproducer parses\");"
    );
    s.push_str(&run_and_check(
        r.shrunk.divergence.check,
        "maplefuzz::diff::vma::run(&program)",
        "maplefuzz::ops::AnyProgram::Vma(program)",
    ));
    s
}
