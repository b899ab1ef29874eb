//! What `maplefuzz replay --trace` prints: every step with every engine's
//! result, the executor's own pauses and injected failures, then the first
//! divergence with a diff of what differs and the dumps of the nodes around
//! it. Generic over the engines: it prints whatever engines
//! [`diff::run_observed`] ran, the first being the reference.

use crate::diff::{self, Check, Divergence};
use crate::engine::Outcome;
use crate::ops::text::format_op;
use crate::ops::{vma, Op, Program, TreeOp};
use std::io::{self, Write};

/// A dump at most this long is printed whole.
const SHORT_DUMP: usize = 40;

/// Writes each step as the executor runs it: the op first, flushed before
/// the engines run it (so that a process the op kills still shows it, as the
/// trace's last line), then each engine's outcome (one line when they
/// agree), and the pauses the executor makes on its own. An op that an
/// injected allocation failure made do nothing shows the reference's
/// outcome as what the op would have done.
pub(crate) struct Tracer<'a> {
    out: &'a mut dyn Write,
    program: &'a Program,
    names: Vec<&'static str>,
    width: usize,
    /// A step's line is waiting for its outcome or a note.
    open: bool,
    /// The engines' outcomes of a step where they differ, held back until
    /// it is known whether an injected failure fired (the note goes on the
    /// first engine's line).
    pending: Vec<String>,
    /// The first write error, reported by [`Tracer::finish`].
    error: Option<io::Error>,
}

impl<'a> Tracer<'a> {
    pub(crate) fn new(
        out: &'a mut dyn Write,
        program: &'a Program,
        names: Vec<&'static str>,
    ) -> Self {
        let width = program.ops.len().to_string().len();
        Tracer {
            out,
            program,
            names,
            width,
            open: false,
            pending: Vec::new(),
            error: None,
        }
    }

    /// Writes what `e` says (a write error is kept for [`Tracer::finish`]).
    pub(crate) fn event(&mut self, e: &diff::Event) {
        if self.error.is_none() {
            if let Err(err) = self.write_event(e) {
                self.error = Some(err);
            }
        }
    }

    /// Ends the last line; the first write error, if any.
    pub(crate) fn finish(mut self) -> io::Result<()> {
        if let Some(e) = self.error.take() {
            return Err(e);
        }
        self.end_line()
    }

    fn end_line(&mut self) -> io::Result<()> {
        if self.open {
            self.open = false;
            writeln!(self.out)?;
        }
        self.write_pending(None)
    }

    /// The held-back per-engine lines, `note` on the first.
    fn write_pending(&mut self, note: Option<&str>) -> io::Result<()> {
        let width = self.width;
        for (i, line) in std::mem::take(&mut self.pending).into_iter().enumerate() {
            match (i, note) {
                (0, Some(n)) => writeln!(self.out, "{:>width$}    {line}  {n}", "")?,
                _ => writeln!(self.out, "{:>width$}    {line}", "")?,
            }
        }
        Ok(())
    }

    fn write_event(&mut self, e: &diff::Event) -> io::Result<()> {
        let width = self.width;
        match e {
            diff::Event::Pause { after, .. } => {
                self.end_line()?;
                let when = if *after {
                    "after the write"
                } else {
                    "before a cursor op"
                };
                writeln!(
                    self.out,
                    "{:>width$}  (the executor pauses the cursor {when})",
                    ""
                )?;
            }
            diff::Event::Begin { step } => {
                self.end_line()?;
                let op = format_op(&self.program.ops[*step]);
                write!(self.out, "{step:>width$}  {op:<48}  ")?;
                self.out.flush()?;
                self.open = true;
            }
            diff::Event::Op { outcomes, .. } => {
                if outcomes.iter().all(|o| *o == outcomes[0]) {
                    write!(self.out, "{}", fmt_outcome(&outcomes[0]))?;
                } else {
                    self.end_line()?;
                    self.pending = self
                        .names
                        .iter()
                        .zip(outcomes)
                        .map(|(name, o)| format!("{name:<8} {}", fmt_outcome(o)))
                        .collect();
                }
            }
            diff::Event::Fault { no_effect, .. } => {
                let note = if *no_effect {
                    "(injected failure: no effect)"
                } else {
                    "(injected failure; the retry succeeded)"
                };
                if self.open {
                    write!(self.out, "  {note}")?;
                } else if *no_effect {
                    self.write_pending(Some("(what the op does; injected failure: no effect)"))?;
                } else {
                    self.write_pending(None)?;
                    writeln!(self.out, "{:>width$}    {note}", "")?;
                }
            }
        }
        self.out.flush()
    }
}

/// The divergence after a trace: the failed check, a diff of the
/// reference's and the blamed engine's answers (or the check's own
/// evidence), then each engine's nodes around the op.
pub(crate) fn print_divergence(
    out: &mut dyn Write,
    d: &Divergence,
    names: &[&'static str],
    events: &[diff::Event],
) -> io::Result<()> {
    writeln!(
        out,
        "divergence at step {}: {} check failed in engine {} after `{}`",
        d.step, d.check, d.engine, d.op
    )?;
    writeln!(out, "signature: {}", d.bug_signature())?;
    if !d.store_types.is_empty() {
        let t: Vec<&str> = d.store_types.iter().map(|t| t.name()).collect();
        writeln!(out, "the op ran: {}", t.join(", "))?;
    }
    let outcomes = events.iter().rev().find_map(|e| match e {
        diff::Event::Op { step, outcomes } if *step == d.step => Some(outcomes),
        _ => None,
    });
    let blamed = names.iter().position(|n| *n == d.engine);
    match (d.check, outcomes, blamed) {
        (Check::Result, Some(o), Some(i)) if i > 0 => {
            writeln!(
                out,
                "{} (left) and {} (right) returned:",
                names[0], names[i]
            )?;
            let left = vec![fmt_outcome(&o[0])];
            let right = vec![fmt_outcome(&o[i])];
            writeln!(out, "{}", pretty_assertions::Comparison::new(&left, &right))?;
        }
        _ => writeln!(out, "{}", d.detail)?,
    }
    let focus = focus(&d.op, &d.detail);
    for (name, dump) in &d.dumps {
        let (shown, total) = match focus {
            Some((lo, hi)) => (dump_around(dump, lo, hi), dump.lines().count()),
            None => (dump.clone(), dump.lines().count()),
        };
        if shown.lines().count() < total {
            let (lo, hi) = focus.unwrap_or((0, u64::MAX));
            writeln!(
                out,
                "--- {name}: the nodes around [{}, {}] ({} of {total} dump lines; \
                 `maplefuzz replay` without --trace prints the whole dump)",
                fmt_index(lo),
                fmt_index(hi),
                shown.lines().count(),
            )?;
        } else {
            writeln!(out, "--- {name} dump")?;
        }
        write!(out, "{shown}")?;
    }
    Ok(())
}

/// The indices an op names, as one span.
fn op_span(op: &TreeOp) -> Option<(u64, u64)> {
    match *op {
        TreeOp::Store { first, last, .. }
        | TreeOp::Insert { first, last, .. }
        | TreeOp::Prealloc { first, last, .. }
        | TreeOp::MasStore { first, last, .. }
        | TreeOp::SetRange { first, last } => Some((first.min(last), first.max(last))),
        TreeOp::Erase { index }
        | TreeOp::Load { index }
        | TreeOp::Walk { index }
        | TreeOp::Set { index } => Some((index, index)),
        TreeOp::Find { index, max } => Some((index.min(max), index.max(max))),
        TreeOp::EmptyArea { min, max, .. }
        | TreeOp::EmptyAreaRev { min, max, .. }
        | TreeOp::CurEmptyArea { min, max, .. }
        | TreeOp::CurEmptyAreaRev { min, max, .. }
        | TreeOp::AllocRange { min, max, .. }
        | TreeOp::AllocRRange { min, max, .. }
        | TreeOp::AllocCyclic { min, max, .. } => Some((min.min(max), min.max(max))),
        _ => None,
    }
}

/// A `[0x.., 0x..]` range named in a check's evidence (a node's limits).
fn detail_span(detail: &str) -> Option<(u64, u64)> {
    let line = detail.lines().next()?;
    let start = line.find('[')?;
    let end = start + line[start..].find(']')?;
    let mut parts = line[start + 1..end].split(',').map(|s| s.trim());
    let parse = |s: &str| u64::from_str_radix(s.strip_prefix("0x")?, 16).ok();
    let lo = parse(parts.next()?)?;
    let hi = parse(parts.next()?)?;
    (lo <= hi).then_some((lo, hi))
}

/// The span of indices to show the nodes of: the op's, joined with one
/// named in the evidence.
fn focus(op: &Op, detail: &str) -> Option<(u64, u64)> {
    match (op.tree().and_then(op_span), detail_span(detail)) {
        (Some(a), Some(b)) => Some((a.0.min(b.0), a.1.max(b.1))),
        (a, b) => a.or(b),
    }
}

/// One line of a dump: its depth (indent / 2), its range, whether it is a
/// node line.
fn dump_line(line: &str) -> Option<(usize, u64, u64, bool)> {
    let indent = line.len() - line.trim_start().len();
    let body = line.trim_start();
    let (range, rest) = body.split_once(": ")?;
    let (a, b) = match range.split_once('-') {
        Some((a, b)) => (a, b),
        None => (range, range),
    };
    let a = u64::from_str_radix(a, 16).ok()?;
    let b = u64::from_str_radix(b, 16).ok()?;
    Some((indent / 2, a, b, rest.starts_with("node ")))
}

/// The lines of a `mt_dump`-style dump for the nodes whose range meets
/// `[lo - 1, hi + 1]` (so the neighbours of a touched range show): the
/// path from the root and the leaves there with their entries. Skipped
/// runs are marked. A short dump, or one not in that format, comes back
/// whole.
pub(crate) fn dump_around(dump: &str, lo: u64, hi: u64) -> String {
    let lines: Vec<&str> = dump.lines().collect();
    if lines.len() <= SHORT_DUMP || lines.len() < 2 {
        return dump.to_string();
    }
    let (lo, hi) = (lo.saturating_sub(1), hi.saturating_add(1));
    let mut keep = vec![false; lines.len()];
    keep[0] = true;
    // Whether the node owning the following entry lines is kept.
    let mut owner_kept: Vec<bool> = Vec::new();
    for (i, line) in lines.iter().enumerate().skip(1) {
        let Some((depth, a, b, is_node)) = dump_line(line) else {
            // A line of another shape (a complaint): keep it.
            keep[i] = true;
            continue;
        };
        let meets = a <= hi && b >= lo;
        if is_node {
            owner_kept.truncate(depth);
            owner_kept.resize(depth, false);
            owner_kept.push(meets);
            keep[i] = meets;
        } else {
            let parent = depth.checked_sub(1).and_then(|d| owner_kept.get(d));
            keep[i] = parent.copied().unwrap_or(true);
        }
    }
    let mut out = String::new();
    let mut skipped = 0;
    for (line, k) in lines.iter().zip(&keep) {
        if *k {
            if skipped > 0 {
                out.push_str(&format!("  ... ({skipped} lines of other nodes)\n"));
                skipped = 0;
            }
            out.push_str(line);
            out.push('\n');
        } else {
            skipped += 1;
        }
    }
    if skipped > 0 {
        out.push_str(&format!("  ... ({skipped} lines of other nodes)\n"));
    }
    out
}

/// Steps a VMA program one op at a time on fresh VMA engines, writing each
/// op (flushed, before the engines run it) and each engine's answer and VMA
/// count; the checked executor runs the program afterwards.
pub(crate) fn print_vma_trace(
    out: &mut dyn Write,
    p: &vma::VmaProgram,
    set: &crate::engine::EngineSet,
) -> io::Result<()> {
    let mut engines = crate::engine::vma::engines_with(p.setup, &set.vma_kernels());
    for (i, op) in p.ops.iter().enumerate() {
        write!(out, "{i:>3}  {:<50} ", vma::text::format_op(op))?;
        out.flush()?;
        let answers: Vec<String> = engines
            .iter_mut()
            .map(|e| {
                let o = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| e.apply(op)));
                match o {
                    Ok(o) => format!("{}: {o} ({} vmas)", e.name(), e.vmas().len()),
                    Err(_) => format!("{}: panicked", e.name()),
                }
            })
            .collect();
        writeln!(out, "{}", answers.join("  "))?;
    }
    Ok(())
}

fn fmt_token(t: Option<u64>) -> String {
    match t {
        Some(t) => format!("v{t}"),
        None => "null".to_string(),
    }
}

pub(crate) fn fmt_index(i: u64) -> String {
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
        Outcome::Cyclic(Ok(c)) => format!(
            "at {}{}, next -> {}",
            fmt_index(c.id),
            if c.wrapped { " (wrapped)" } else { "" },
            fmt_index(c.next)
        ),
        Outcome::Cyclic(Err(e)) => e.to_string(),
        Outcome::Unsupported => "not in this kernel".to_string(),
        Outcome::CallerError(m) => format!("caller error: {m}"),
        Outcome::Either(both) => format!("{} or {}", fmt_outcome(&both[0]), fmt_outcome(&both[1])),
        Outcome::OneOf(all) => all.iter().map(fmt_outcome).collect::<Vec<_>>().join(" or "),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_dump_is_cut_to_the_nodes_around() {
        let mut dump = String::from("maple_tree flags 8, height 2 root n0\n");
        dump.push_str("0-ffffffffffffffff: node n0 depth 0 type 2 parent tree contents: ...\n");
        for leaf in 0..4u64 {
            let (a, b) = (leaf * 0x100, leaf * 0x100 + 0xff);
            let b = if leaf == 3 { u64::MAX } else { b };
            dump.push_str(&format!(
                "  {a:x}-{b:x}: node n{} depth 1 type 1 parent n0:{leaf} contents: ...\n",
                leaf + 1
            ));
            for e in 0..12u64 {
                let ea = a + e * 0x10;
                dump.push_str(&format!("    {ea:x}-{:x}: 0x{:x}\n", ea + 0xf, 2 * e + 1));
            }
        }
        let cut = dump_around(&dump, 0x150, 0x160);
        assert!(cut.contains("node n0 "), "{cut}");
        assert!(cut.contains("node n2 "), "{cut}");
        assert!(cut.contains("    150-15f: 0xb"), "{cut}");
        assert!(!cut.contains("node n1 "), "{cut}");
        assert!(!cut.contains("node n4 "), "{cut}");
        assert!(cut.contains("... (13 lines of other nodes)"), "{cut}");
        // A span at a leaf boundary shows both leaves.
        let edge = dump_around(&dump, 0x200, 0x200);
        assert!(
            edge.contains("node n2 ") && edge.contains("node n3 "),
            "{edge}"
        );
        // Short dumps come back whole.
        assert_eq!(dump_around("a\nb\n", 1, 2), "a\nb\n");
    }

    #[test]
    fn the_focus_joins_the_op_and_the_evidence() {
        let op = TreeOp::Store {
            first: 0x135,
            last: u64::MAX,
            value: Some(1),
        };
        let detail = "leaf_64 node 0x1500 [0xfa, 0xffffffffffffffff] depth 2: stale slot";
        assert_eq!(focus(&op.into(), detail), Some((0xfa, u64::MAX)));
        assert_eq!(focus(&TreeOp::Pause.into(), "no range"), None);
        assert_eq!(focus(&TreeOp::Pause.into(), detail), Some((0xfa, u64::MAX)));
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
