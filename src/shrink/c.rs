//! The kernel reproducer: a check function in the style of Linux
//! `lib/test_maple_tree.c`, for a kernel developer to paste beside the
//! kernel's own tests (and call from `maple_tree_seed()`).
//!
//! Every op becomes the kernel call the engines model (`mtree_store_range`,
//! `mtree_erase`, `mt_find`, `mas_walk`, `mas_preallocate`, ...), and every
//! result is asserted with `MT_BUG_ON()` against the reference engine's
//! answer (what a correct maple tree returns). `mt_validate()` follows
//! every write, and the full contents are compared at the end. The
//! executor's own steps are spelled out too: the cursor pause after a write
//! (`mas_pause`), and the release of a pending preallocation before any
//! other write (`mas_destroy`).
//!
//! What has no kernel call becomes a comment saying so: `fail_allocs` (the
//! harness's fault schedule; the kernel's test module cannot fail one
//! chosen allocation, and the userspace harness's `mt_set_non_kernel()` is
//! a different knob), an op that an injected failure made do nothing (left
//! out, so the tree stays as in the program), and the harness conventions
//! answered with `EINVAL` (`empty_area` on a tree that is not an
//! allocation tree, `store_prealloc` with nothing preallocated).

use super::Reproducer;
use crate::diff::Event;
use crate::engine::{keeps_preallocation, OracleEngine, Outcome, TreeEngine};
use crate::ops::text::format_op;
use crate::ops::{Program, TreeOp};
use crate::tree::{Errno, Status};
use std::fmt::Write;

fn key(k: u64) -> String {
    if k == u64::MAX {
        "ULONG_MAX".to_string()
    } else {
        format!("{k:#x}UL")
    }
}

fn entry(v: Option<u64>) -> String {
    match v {
        Some(t) => format!("xa_mk_value({t})"),
        None => "NULL".to_string(),
    }
}

fn errno(e: Errno) -> &'static str {
    match e {
        Errno::EINVAL => "-EINVAL",
        Errno::EEXIST => "-EEXIST",
        Errno::EBUSY => "-EBUSY",
        Errno::ENOMEM => "-ENOMEM",
    }
}

fn status(s: Status) -> String {
    format!("ma_{}", format!("{s:?}").to_lowercase())
}

/// Text safe inside a C block comment.
fn comment(s: &str) -> String {
    s.replace("*/", "* /")
}

/// The function body as it is built.
#[derive(Default)]
struct Body {
    lines: Vec<String>,
    uses_cursor: bool,
    uses_writer: bool,
    uses_index: bool,
    uses_entry: bool,
}

impl Body {
    fn line(&mut self, s: impl Into<String>) {
        self.lines.push(s.into());
    }

    fn note(&mut self, s: &str) {
        self.line(format!("/* maplefuzz: {} */", comment(s)));
    }

    fn status_check(&mut self, call: String, expect: &Outcome) {
        let want = match expect {
            Outcome::Status(Ok(())) => "0".to_string(),
            Outcome::Status(Err(e)) => errno(*e).to_string(),
            other => format!("0 /* maplefuzz expected {other:?} */"),
        };
        self.line(format!("MT_BUG_ON(mt, {call} != {want});"));
    }

    fn entry_check(&mut self, call: String, expect: &Outcome) {
        let want = match expect {
            Outcome::Entry(e) => entry(*e),
            other => format!("NULL /* maplefuzz expected {other:?} */"),
        };
        self.line(format!("MT_BUG_ON(mt, {call} != {want});"));
    }

    /// A cursor op: `call` on `mas` under the RCU read lock, then its
    /// entry, range and status.
    fn cursor(&mut self, setup: Option<String>, call: String, expect: &Outcome) {
        self.uses_cursor = true;
        self.uses_entry = true;
        self.line("rcu_read_lock();");
        if let Some(s) = setup {
            self.line(s);
        }
        self.line(format!("entry = {call};"));
        self.line("rcu_read_unlock();");
        self.cursor_checks(expect, true);
    }

    /// The checks of where the cursor stands after an op (and of the entry
    /// it returned, with `entry_too`).
    fn cursor_checks(&mut self, expect: &Outcome, entry_too: bool) {
        if let Outcome::Cursor {
            entry: e,
            index,
            last,
            status: st,
        } = expect
        {
            if entry_too {
                self.line(format!("MT_BUG_ON(mt, entry != {});", entry(*e)));
            }
            self.line(format!(
                "MT_BUG_ON(mt, mas.index != {} || mas.last != {});",
                key(*index),
                key(*last)
            ));
            self.line(format!("MT_BUG_ON(mt, mas.status != {});", status(*st)));
        }
    }
}

/// The executor's record of the run that concerns the C text: pauses it
/// made and ops an injected failure made do nothing.
struct Run<'e> {
    events: &'e [Event],
}

impl Run<'_> {
    fn paused(&self, step: usize, after: bool) -> bool {
        self.events
            .iter()
            .any(|e| matches!(e, Event::Pause { step: s, after: a } if *s == step && *a == after))
    }

    fn no_effect(&self, step: usize) -> bool {
        self.events
            .iter()
            .any(|e| matches!(e, Event::Fault { step: s, no_effect: true } if *s == step))
    }
}

fn is_cursor_move(op: &TreeOp) -> bool {
    matches!(
        op,
        TreeOp::MasFind { .. }
            | TreeOp::MasFindRev { .. }
            | TreeOp::MasNext { .. }
            | TreeOp::MasPrev { .. }
    )
}

/// The check function for `r`'s program. `events` is what
/// [`crate::diff::run_observed`] reported for that program (its pauses
/// and injected failures); the expected results are the oracle's.
pub fn check_fn(r: &Reproducer<'_>, events: &[Event]) -> String {
    let p: &Program = &r.shrunk.program;
    let run = Run { events };
    let mut oracle = OracleEngine::new(p.config);
    let mut b = Body::default();
    let mut pending = false;
    for (step, op) in p.ops.iter().enumerate() {
        let text = format_op(op);
        b.line(String::new());
        b.line(format!("/* {step}: {} */", comment(&text)));
        if run.paused(step, false) {
            oracle.apply(&TreeOp::Pause);
            b.line("mas_pause(&mas);");
        }
        if pending && !keeps_preallocation(op) {
            b.note("any other write first releases the writer's preallocation");
            b.line("mas_destroy(&wr);");
            pending = false;
        }
        if run.no_effect(step) {
            b.note("an injected allocation failure made this op fail with no effect; left out");
            // The executor's reference engine does the same.
            if !crate::engine::leaves_state_alone(op) {
                oracle.apply(&TreeOp::MasDestroy);
            }
            continue;
        }
        let expect = oracle.apply(op);
        emit_op(&mut b, p, op, &expect, &mut pending);
        if op.is_write() {
            b.line("mt_validate(mt);");
        }
        let later_moves = p.ops[step + 1..].iter().any(is_cursor_move);
        if run.paused(step, true) {
            oracle.apply(&TreeOp::Pause);
            if later_moves {
                b.line("mas_pause(&mas);");
            }
        }
    }
    final_contents(&mut b, &oracle.entries());

    let mut s = String::new();
    let _ = writeln!(s, "/*");
    for line in r.summary() {
        let _ = writeln!(s, " * {}", comment(&line));
    }
    let _ = writeln!(
        s,
        " * Expected values are those of maplefuzz's reference (a correct tree);\n \
         * maplefuzz's value token t is the entry xa_mk_value(t).\n \
         * Call it from maple_tree_seed():  check_maplefuzz_{}(&tree);\n \
         */",
        r.ident()
    );
    let _ = writeln!(
        s,
        "static noinline void __init check_maplefuzz_{}(struct maple_tree *mt)\n{{",
        r.ident()
    );
    if b.uses_cursor {
        let _ = writeln!(s, "\tMA_STATE(mas, mt, 0, 0);");
    }
    if b.uses_writer {
        let _ = writeln!(
            s,
            "\tMA_STATE(wr, mt, 0, 0);\t/* the writer: preallocations and mas_store() */"
        );
    }
    if b.uses_index {
        let _ = writeln!(s, "\tunsigned long index;");
    }
    if b.uses_entry {
        let _ = writeln!(s, "\tvoid *entry;");
    }
    if b.uses_cursor || b.uses_writer || b.uses_index || b.uses_entry {
        let _ = writeln!(s);
    }
    let mut flags = Vec::new();
    if p.config.alloc {
        flags.push("MT_FLAGS_ALLOC_RANGE");
    }
    if p.config.rcu {
        flags.push("MT_FLAGS_USE_RCU");
    }
    if flags.is_empty() {
        flags.push("0");
    }
    let _ = writeln!(s, "\tmt_init_flags(mt, {});", flags.join(" | "));
    for line in &b.lines {
        if line.is_empty() {
            let _ = writeln!(s);
        } else {
            let _ = writeln!(s, "\t{line}");
        }
    }
    if b.uses_writer {
        let _ = writeln!(s, "\tmas_destroy(&wr);");
    }
    let _ = writeln!(s, "\tmtree_destroy(mt);\n}}");
    s
}

fn emit_op(b: &mut Body, p: &Program, op: &TreeOp, expect: &Outcome, pending: &mut bool) {
    match *op {
        TreeOp::Store { first, last, value } => b.status_check(
            format!(
                "mtree_store_range(mt, {}, {}, {}, GFP_KERNEL)",
                key(first),
                key(last),
                entry(value)
            ),
            expect,
        ),
        TreeOp::Insert { first, last, value } => b.status_check(
            format!(
                "mtree_insert_range(mt, {}, {}, {}, GFP_KERNEL)",
                key(first),
                key(last),
                entry(Some(value))
            ),
            expect,
        ),
        TreeOp::Erase { index } => {
            b.entry_check(format!("mtree_erase(mt, {})", key(index)), expect)
        }
        TreeOp::Load { index } => b.entry_check(format!("mtree_load(mt, {})", key(index)), expect),
        TreeOp::Find { index, max } => {
            b.uses_index = true;
            b.line(format!("index = {};", key(index)));
            if let Outcome::Found { entry: e, index: i } = expect {
                b.line(format!(
                    "MT_BUG_ON(mt, mt_find(mt, &index, {}) != {});",
                    key(max),
                    entry(*e)
                ));
                b.line(format!("MT_BUG_ON(mt, index != {});", key(*i)));
            }
        }
        TreeOp::Walk { index } => b.cursor(
            Some(format!("mas_set(&mas, {});", key(index))),
            "mas_walk(&mas)".to_string(),
            expect,
        ),
        TreeOp::MasFind { max } => b.cursor(None, format!("mas_find(&mas, {})", key(max)), expect),
        TreeOp::MasFindRev { min } => {
            b.cursor(None, format!("mas_find_rev(&mas, {})", key(min)), expect)
        }
        TreeOp::MasNext { max } => b.cursor(None, format!("mas_next(&mas, {})", key(max)), expect),
        TreeOp::MasPrev { min } => b.cursor(None, format!("mas_prev(&mas, {})", key(min)), expect),
        TreeOp::Pause => {
            b.uses_cursor = true;
            b.line("mas_pause(&mas);");
        }
        TreeOp::Set { index } => {
            b.uses_cursor = true;
            b.line(format!("mas_set(&mas, {});", key(index)));
        }
        TreeOp::Destroy => b.line("mtree_destroy(mt);"),
        TreeOp::EmptyArea { min, max, size } | TreeOp::EmptyAreaRev { min, max, size } => {
            let f = if matches!(op, TreeOp::EmptyArea { .. }) {
                "mas_empty_area"
            } else {
                "mas_empty_area_rev"
            };
            if !p.config.alloc {
                b.note(&format!(
                    "{f}() on a tree without MT_FLAGS_ALLOC_RANGE: EINVAL by the harness's convention, no kernel call"
                ));
                return;
            }
            b.line("{");
            b.line("\tMA_STATE(area, mt, 0, 0);");
            b.line(String::new());
            b.line("\trcu_read_lock();");
            let want = match expect {
                Outcome::Range(Err(e)) => errno(*e),
                _ => "0",
            };
            b.line(format!(
                "\tMT_BUG_ON(mt, {f}(&area, {}, {}, {}) != {want});",
                key(min),
                key(max),
                key(size)
            ));
            b.line("\trcu_read_unlock();");
            if let Outcome::Range(Ok((a, z))) = expect {
                b.line(format!(
                    "\tMT_BUG_ON(mt, area.index != {} || area.last != {});",
                    key(*a),
                    key(*z)
                ));
            }
            b.line("}");
        }
        TreeOp::AllocRange { .. } | TreeOp::AllocRRange { .. } => {
            let Some((rev, size, min, max, value)) = op.alloc_parts() else {
                return;
            };
            let f = if rev {
                "mtree_alloc_rrange"
            } else {
                "mtree_alloc_range"
            };
            b.uses_index = true;
            let want = match expect {
                Outcome::Alloc(Err(e)) => errno(*e),
                _ => "0",
            };
            b.line(format!(
                "MT_BUG_ON(mt, {f}(mt, &index, {}, {}, {}, {}, GFP_KERNEL) != {want});",
                entry(Some(value)),
                key(size),
                key(min),
                key(max)
            ));
            if let Outcome::Alloc(Ok(start)) = expect {
                b.line(format!("MT_BUG_ON(mt, index != {});", key(*start)));
            }
        }
        TreeOp::AllocCyclic {
            min,
            max,
            next,
            value,
        } => {
            if matches!(expect, Outcome::Unsupported) {
                b.note("alloc_cyclic: this kernel has no mtree_alloc_cyclic(), no call");
                return;
            }
            b.uses_index = true;
            let want = match expect {
                Outcome::Cyclic(Err(e)) => errno(*e),
                Outcome::Cyclic(Ok(c)) if c.wrapped => "1",
                _ => "0",
            };
            b.line("{");
            b.line(format!("\tunsigned long next = {};", key(next)));
            b.line("");
            b.line(format!(
                "\tMT_BUG_ON(mt, mtree_alloc_cyclic(mt, &index, {}, {}, {}, &next, GFP_KERNEL) != {want});",
                entry(Some(value)),
                key(min),
                key(max)
            ));
            if let Outcome::Cyclic(Ok(c)) = expect {
                b.line(format!(
                    "\tMT_BUG_ON(mt, index != {} || next != {});",
                    key(c.id),
                    key(c.next)
                ));
            }
            b.line("}");
        }
        TreeOp::Prealloc { first, last, value } => {
            b.uses_writer = true;
            b.line(format!(
                "mas_set_range(&wr, {}, {});",
                key(first),
                key(last)
            ));
            b.status_check(
                format!("mas_preallocate(&wr, {}, GFP_KERNEL)", entry(value)),
                expect,
            );
            *pending = matches!(expect, Outcome::Status(Ok(())));
        }
        TreeOp::StorePrealloc { value } => {
            if matches!(expect, Outcome::Status(Err(Errno::EINVAL))) {
                b.note(
                    "store_prealloc with no preallocation pending for it: EINVAL by the harness's convention, no kernel call",
                );
                return;
            }
            b.uses_writer = true;
            b.line(format!("mas_store_prealloc(&wr, {});", entry(value)));
            *pending = false;
        }
        TreeOp::MasStore { first, last, value } => {
            b.uses_writer = true;
            b.line(format!(
                "mas_set_range(&wr, {}, {});",
                key(first),
                key(last)
            ));
            b.line(format!("mas_store(&wr, {});", entry(value)));
            let want = match expect {
                Outcome::Status(Err(_)) => "!mas_is_err(&wr)",
                _ => "mas_is_err(&wr)",
            };
            b.line(format!("MT_BUG_ON(mt, {want});"));
        }
        TreeOp::MasDestroy => {
            b.uses_writer = true;
            b.line("mas_destroy(&wr);");
            *pending = false;
        }
        TreeOp::ExpectedEntries { count } => {
            // Runs only where the bulk rules allow it (engine/bulk.rs): a
            // run stops at a caller error, before any divergence.
            b.uses_writer = true;
            b.line("mas_reset(&wr);");
            b.status_check(format!("mas_expected_entries(&wr, {count})"), expect);
        }
        TreeOp::Reset => {
            b.uses_cursor = true;
            b.line("mas_reset(&mas);");
        }
        TreeOp::SetRange { first, last } => {
            b.uses_cursor = true;
            b.line(format!(
                "mas_set_range(&mas, {}, {});",
                key(first),
                key(last)
            ));
        }
        TreeOp::CurEmptyArea { min, max, size } | TreeOp::CurEmptyAreaRev { min, max, size } => {
            let f = if matches!(op, TreeOp::CurEmptyArea { .. }) {
                "mas_empty_area"
            } else {
                "mas_empty_area_rev"
            };
            if matches!(expect, Outcome::Unsupported) {
                b.note(&format!(
                    "{f}() on the cursor: not modelled for this kernel, no call"
                ));
                return;
            }
            if !p.config.alloc {
                b.note(&format!(
                    "{f}() on a tree without MT_FLAGS_ALLOC_RANGE: EINVAL by the harness's convention, no kernel call"
                ));
                return;
            }
            b.uses_cursor = true;
            b.line("{");
            b.line("	int ret;");
            b.line(String::new());
            b.line("	rcu_read_lock();");
            b.line(format!(
                "	ret = {f}(&mas, {}, {}, {});",
                key(min),
                key(max),
                key(size)
            ));
            b.line("	rcu_read_unlock();");
            let answers: Vec<&Outcome> = match expect {
                Outcome::OneOf(all) => all.iter().collect(),
                o => vec![o],
            };
            let conds: Vec<String> = answers
                .iter()
                .map(|o| match o {
                    Outcome::Range(Ok((a, z))) => format!(
                        "(ret == 0 && mas.index == {} && mas.last == {})",
                        key(*a),
                        key(*z)
                    ),
                    Outcome::Range(Err(e)) => format!("ret == {}", errno(*e)),
                    other => format!("0 /* maplefuzz expected {other:?} */"),
                })
                .collect();
            if conds.len() > 1 {
                b.line(
                    "	/* maplefuzz: a resumed search starts where the leaf's slot offsets put it; any of these is correct */",
                );
            }
            b.line(format!(
                "	MT_BUG_ON(mt, !({}));",
                conds.join(
                    " ||
			"
                )
            ));
            b.line("}");
        }
        TreeOp::CurStore { value } => {
            if matches!(expect, Outcome::Unsupported) {
                b.note("mas_store_gfp() on the cursor: not modelled for this kernel, no call");
                return;
            }
            b.uses_cursor = true;
            b.line("mtree_lock(mt);");
            let call = format!("mas_store_gfp(&mas, {}, GFP_KERNEL)", entry(value));
            if matches!(expect, Outcome::Cursor { .. }) {
                b.line(format!("MT_BUG_ON(mt, {call} != 0);"));
                b.line("mtree_unlock(mt);");
                b.cursor_checks(expect, false);
            } else {
                b.status_check(call, expect);
                b.line("mtree_unlock(mt);");
            }
        }
        TreeOp::CurErase => {
            if matches!(expect, Outcome::Unsupported) {
                b.note("mas_erase() on the cursor: not modelled for this kernel, no call");
                return;
            }
            b.uses_cursor = true;
            b.uses_entry = true;
            b.line("mtree_lock(mt);");
            b.line("entry = mas_erase(&mas);");
            b.line("mtree_unlock(mt);");
            b.cursor_checks(expect, true);
        }
        TreeOp::FailAllocs { schedule } => {
            let text = format_op(&TreeOp::FailAllocs { schedule });
            b.note(&format!(
                "`{text}` is the harness's fault schedule; the kernel's test module has no way to fail a chosen node allocation"
            ));
        }
    }
}

/// The reference's entries after the last op, compared one by one.
fn final_contents(b: &mut Body, entries: &[(u64, u64, u64)]) {
    b.line(String::new());
    b.line("/* What a correct tree holds now. */");
    if entries.is_empty() {
        b.line("MT_BUG_ON(mt, !mtree_empty(mt));");
        return;
    }
    b.uses_entry = true;
    b.line("{");
    b.line("\tstatic const unsigned long expect[][3] = {");
    for (first, last, t) in entries {
        b.line(format!("\t\t{{ {}, {}, {t} }},", key(*first), key(*last)));
    }
    b.line("\t};");
    b.line("\tunsigned long i = 0;");
    b.line("\tMA_STATE(all, mt, 0, 0);");
    b.line(String::new());
    b.line("\trcu_read_lock();");
    b.line("\tmas_for_each(&all, entry, ULONG_MAX) {");
    b.line("\t\tMT_BUG_ON(mt, i >= ARRAY_SIZE(expect));");
    b.line("\t\tif (i < ARRAY_SIZE(expect)) {");
    b.line("\t\t\tMT_BUG_ON(mt, all.index != expect[i][0]);");
    b.line("\t\t\tMT_BUG_ON(mt, all.last != expect[i][1]);");
    b.line("\t\t\tMT_BUG_ON(mt, entry != xa_mk_value(expect[i][2]));");
    b.line("\t\t}");
    b.line("\t\ti++;");
    b.line("\t}");
    b.line("\trcu_read_unlock();");
    b.line("\tMT_BUG_ON(mt, i != ARRAY_SIZE(expect));");
    b.line("}");
}
