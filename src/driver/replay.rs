//! Replay: run one program from a file, optionally printing every step.
//!
//! A file is read as **text** (`ops::text`) when it is valid UTF-8 without
//! control characters other than tab, newline and carriage return, and as
//! **binary** (`ops::binary::decode`) otherwise, or when its name ends in
//! `.bin`. A text file that does not parse is an input error naming the
//! line; it is never reinterpreted as binary.

use super::DriverError;
use crate::diff::{self, Divergence, RunStats};
use crate::engine::{Inspect, Outcome, TreeEngine};
use crate::ops::binary::decode;
use crate::ops::text::{format_op, parse_program};
use crate::ops::{Program, TreeOp};
use std::cell::RefCell;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::rc::Rc;

/// How a program file was read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// The text form.
    Text,
    /// The binary form.
    Binary,
}

/// What a replay found.
#[derive(Debug)]
pub struct ReplayOutcome {
    /// How the file was read.
    pub format: Format,
    /// The program.
    pub program: Program,
    /// The executor's verdict.
    pub result: Result<RunStats, Box<Divergence>>,
}

impl ReplayOutcome {
    /// Whether the program diverged.
    pub fn diverged(&self) -> bool {
        self.result.is_err()
    }
}

fn looks_like_text(bytes: &[u8]) -> Option<&str> {
    let s = std::str::from_utf8(bytes).ok()?;
    s.chars()
        .all(|c| !c.is_control() || matches!(c, '\t' | '\n' | '\r'))
        .then_some(s)
}

/// Reads a program file (see the module documentation for the format).
pub fn load_program(path: &Path) -> Result<(Program, Format), DriverError> {
    let input = |message: String| DriverError::Input {
        path: path.to_path_buf(),
        message,
    };
    let bytes = std::fs::read(path).map_err(|e| input(format!("cannot read: {e}")))?;
    let is_bin = path.extension().is_some_and(|e| e == "bin");
    match looks_like_text(&bytes) {
        Some(text) if !is_bin => parse_program(text)
            .map(|p| (p, Format::Text))
            .map_err(|e| input(e.to_string())),
        _ => Ok((decode(&bytes), Format::Binary)),
    }
}

/// Replays `path`, printing to stdout (see [`replay_to`]).
pub fn replay(path: &Path, trace: bool) -> Result<ReplayOutcome, DriverError> {
    let mut out = std::io::stdout().lock();
    replay_to(path, trace, &mut out)
}

/// Replays `path` and writes what happened to `out`: a header, with
/// `trace` every step's op and each engine's outcome, then the divergence
/// (or a clean verdict).
pub fn replay_to(
    path: &Path,
    trace: bool,
    out: &mut dyn Write,
) -> Result<ReplayOutcome, DriverError> {
    let (program, format) = load_program(path)?;
    let out_err = |e: std::io::Error| DriverError::Input {
        path: PathBuf::from("<stdout>"),
        message: e.to_string(),
    };
    let config = crate::ops::text::format_program(&Program {
        config: program.config,
        ops: Vec::new(),
    });
    writeln!(
        out,
        "replaying {} ({}, {} ops, {})",
        path.display(),
        match format {
            Format::Text => "text",
            Format::Binary => "binary",
        },
        program.ops.len(),
        config.trim_end()
    )
    .map_err(out_err)?;

    let result = if trace {
        let log = Rc::new(RefCell::new(Vec::new()));
        let mut engines: Vec<Box<dyn TreeEngine>> = diff::default_engines(&program)
            .into_iter()
            .enumerate()
            .map(|(i, inner)| {
                Box::new(Traced {
                    inner,
                    index: i,
                    log: Rc::clone(&log),
                }) as Box<dyn TreeEngine>
            })
            .collect();
        let names: Vec<&'static str> = engines.iter().map(|e| e.name()).collect();
        let result = diff::run_with(&program, &mut engines, diff::Options::default());
        drop(engines);
        let events = std::mem::take(&mut *log.borrow_mut());
        print_trace(out, &program, &names, events).map_err(out_err)?;
        result
    } else {
        diff::run(&program)
    };

    match &result {
        Ok(stats) => writeln!(
            out,
            "no divergence: {} ops, at most {} entries",
            stats.ops, stats.max_entries
        ),
        Err(d) => write!(out, "{d}"),
    }
    .map_err(out_err)?;
    Ok(ReplayOutcome {
        format,
        program,
        result,
    })
}

/// One op an engine ran, as the executor called it.
struct Event {
    engine: usize,
    op: TreeOp,
    outcome: Outcome,
}

/// An engine that records every op it runs.
struct Traced {
    inner: Box<dyn TreeEngine>,
    index: usize,
    log: Rc<RefCell<Vec<Event>>>,
}

impl TreeEngine for Traced {
    fn name(&self) -> &'static str {
        self.inner.name()
    }

    fn apply(&mut self, op: &TreeOp) -> Outcome {
        let outcome = self.inner.apply(op);
        self.log.borrow_mut().push(Event {
            engine: self.index,
            op: op.clone(),
            outcome: outcome.clone(),
        });
        outcome
    }

    fn entries(&self) -> Vec<(u64, u64, u64)> {
        self.inner.entries()
    }

    fn entries_in(&self, lo: u64, hi: u64) -> Vec<(u64, u64, u64)> {
        self.inner.entries_in(lo, hi)
    }

    fn inspect(&self) -> Option<&dyn Inspect> {
        self.inner.inspect()
    }

    fn cursor_positioned(&self) -> Option<bool> {
        self.inner.cursor_positioned()
    }
}

/// Where an event belongs: a step of the program, or a pause the executor
/// made on its own (after every write, and before a cursor op it cannot
/// position).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Slot {
    Step(usize),
    /// An executor pause before this step.
    PauseBefore(usize),
    /// An executor pause after a write.
    PauseAfterWrite,
}

/// Assigns one engine's events to steps, following the executor's pause rules.
fn slots(program: &Program, ops: &[&TreeOp]) -> Vec<Slot> {
    let mut k = 0;
    let mut after_write = false;
    ops.iter()
        .map(|op| {
            if **op == TreeOp::Pause && after_write {
                after_write = false;
                Slot::PauseAfterWrite
            } else if **op == TreeOp::Pause && program.ops.get(k) != Some(&TreeOp::Pause) {
                Slot::PauseBefore(k)
            } else {
                let s = Slot::Step(k);
                after_write = op.is_write();
                k += 1;
                s
            }
        })
        .collect()
}

fn print_trace(
    out: &mut dyn Write,
    program: &Program,
    names: &[&'static str],
    events: Vec<Event>,
) -> std::io::Result<()> {
    // outcomes[step][engine]
    let mut outcomes: Vec<Vec<Option<Outcome>>> = Vec::new();
    let mut paused_before = vec![false; program.ops.len()];
    for (e, _) in names.iter().enumerate() {
        let mine: Vec<&Event> = events.iter().filter(|ev| ev.engine == e).collect();
        let ops: Vec<&TreeOp> = mine.iter().map(|ev| &ev.op).collect();
        for (ev, slot) in mine.iter().zip(slots(program, &ops)) {
            match slot {
                Slot::Step(k) => {
                    if outcomes.len() <= k {
                        outcomes.resize(k + 1, vec![None; names.len()]);
                    }
                    outcomes[k][e] = Some(ev.outcome.clone());
                }
                Slot::PauseBefore(k) => {
                    if let Some(p) = paused_before.get_mut(k) {
                        *p = true;
                    }
                }
                Slot::PauseAfterWrite => {}
            }
        }
    }
    let width = program.ops.len().to_string().len();
    for (k, per_engine) in outcomes.iter().enumerate() {
        if paused_before[k] {
            writeln!(out, "{:>width$}  (the executor pauses the cursor)", "")?;
        }
        let op = format_op(&program.ops[k]);
        let first = &per_engine[0];
        if per_engine.iter().all(|o| o == first) {
            let o = first.as_ref().map(fmt_outcome).unwrap_or_default();
            writeln!(out, "{k:>width$}  {op:<48}  {o}")?;
        } else {
            writeln!(out, "{k:>width$}  {op}")?;
            for (name, o) in names.iter().zip(per_engine) {
                let o = o
                    .as_ref()
                    .map(fmt_outcome)
                    .unwrap_or_else(|| "(no result: panicked or did not run)".to_string());
                writeln!(out, "{:>width$}    {name:<8} {o}", "")?;
            }
        }
    }
    Ok(())
}

fn fmt_token(t: Option<u64>) -> String {
    match t {
        Some(t) => format!("v{t}"),
        None => "null".to_string(),
    }
}

fn fmt_index(i: u64) -> String {
    if i == u64::MAX {
        "max".to_string()
    } else {
        format!("{i:#x}")
    }
}

/// An outcome in the text form's vocabulary.
pub(crate) fn fmt_outcome(o: &Outcome) -> String {
    match o {
        Outcome::Done => "done".to_string(),
        Outcome::Status(Ok(())) => "ok".to_string(),
        Outcome::Status(Err(e)) => e.to_string(),
        Outcome::Entry(t) => fmt_token(*t),
        Outcome::Found { entry, index } => {
            format!("{}, index -> {}", fmt_token(*entry), fmt_index(*index))
        }
        Outcome::Cursor {
            entry,
            index,
            last,
            status,
        } => format!(
            "{} at [{}, {}] {:?}",
            fmt_token(*entry),
            fmt_index(*index),
            fmt_index(*last),
            status
        ),
        Outcome::Range(Ok((a, b))) => format!("[{}, {}]", fmt_index(*a), fmt_index(*b)),
        Outcome::Range(Err(e)) | Outcome::Alloc(Err(e)) => e.to_string(),
        Outcome::Alloc(Ok(start)) => format!("at {}", fmt_index(*start)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prog(text: &str) -> Program {
        parse_program(text).unwrap()
    }

    #[test]
    fn slots_follow_the_executor_pauses() {
        let p = prog("store 1 2 v1\npause\nmas_next max\n");
        let ops = [
            TreeOp::Store {
                first: 1,
                last: 2,
                value: Some(1),
            },
            TreeOp::Pause,
            TreeOp::Pause,
            TreeOp::Pause,
            TreeOp::MasNext { max: u64::MAX },
        ];
        let refs: Vec<&TreeOp> = ops.iter().collect();
        assert_eq!(
            slots(&p, &refs),
            vec![
                Slot::Step(0),
                Slot::PauseAfterWrite,
                Slot::Step(1),
                Slot::PauseBefore(2),
                Slot::Step(2)
            ]
        );
    }

    #[test]
    fn text_detection() {
        assert!(looks_like_text(b"store 1 2 v1\r\n\tload 1\n").is_some());
        assert!(looks_like_text(b"").is_some());
        assert!(looks_like_text(b"\x00\x01").is_none());
        assert!(looks_like_text(&[0xff, 0xfe]).is_none());
    }

    #[test]
    fn outcomes_print_in_text_vocabulary() {
        assert_eq!(fmt_outcome(&Outcome::Status(Ok(()))), "ok");
        assert_eq!(fmt_outcome(&Outcome::Entry(Some(7))), "v7");
        assert_eq!(
            fmt_outcome(&Outcome::Found {
                entry: None,
                index: u64::MAX
            }),
            "null, index -> max"
        );
    }
}
