//! The text form of a program: one op per line, readable and editable.
//!
//! ```text
//! # comments and blank lines are ignored
//! config alloc rcu          # optional, first: tree flags (none, alloc, rcu)
//! store 0x1000 0x1fff v7    # mtree_store_range; `null` stores NULL
//! insert 0x2000 0x2fff v8   # mtree_insert_range
//! erase 0x1800              # mtree_erase
//! load 0x1800               # mtree_load
//! find 0x0 max              # mt_find(index, max)
//! walk 0x1800               # mas_set + mas_walk
//! mas_find max              # mas_find(max)
//! mas_find_rev 0x0          # mas_find_rev(min)
//! mas_next max              # mas_next(max)
//! mas_prev 0x0              # mas_prev(min)
//! pause                     # mas_pause
//! set 0x1800                # mas_set
//! destroy                   # mtree_destroy
//! empty_area 0x0 max 0x10   # mas_empty_area(min, max, size)
//! empty_area_rev 0x0 max 16 # mas_empty_area_rev(min, max, size)
//! alloc_range 0x10 0x0 max v9   # mtree_alloc_range(size, min, max, v9)
//! alloc_rrange 0x10 0x0 max v9  # mtree_alloc_rrange(size, min, max, v9)
//! prealloc 0x1000 0x1fff v7 # mas_set_range + mas_preallocate; `null` too
//! store_prealloc v7         # mas_store_prealloc; `null` too
//! mas_store 0x1000 0x17ff v7    # mas_set_range + mas_store; `null` too
//! mas_destroy               # mas_destroy
//! expected_entries 200      # mas_expected_entries (bulk mode), count <= 1023
//! alloc_cyclic 0x2 max 0x10 v9  # mtree_alloc_cyclic(min, max, next, v9)
//! reset                     # mas_reset on the cursor
//! set_range 0x1000 0x1fff   # mas_set_range on the cursor
//! cur_empty_area 0x0 max 16 # mas_empty_area on the cursor as it stands
//! cur_empty_area_rev 0x0 max 16 # mas_empty_area_rev on the cursor as it stands
//! cur_store v7              # mas_store_gfp on the cursor; `null` too
//! cur_erase                 # mas_erase on the cursor
//! fail_allocs nth 3         # fail the 3rd node allocation from now
//! fail_allocs next 2        # fail the next 2 node allocations
//! fail_allocs every 5       # fail every 5th node allocation
//! fail_allocs from 4        # fail the 4th node allocation and all after it
//! fail_allocs never         # stop failing allocations
//! ```
//!
//! Numbers are hexadecimal with `0x`, decimal without, or `max` for
//! `u64::MAX`. The printer always writes hexadecimal (sizes and fault
//! counts too), so `format` then `parse` gives back the same program.

use super::{FaultSchedule, Program, TreeConfig, TreeOp, MAX_TOKEN};
use std::fmt;
use std::fmt::Write as _;

/// A parse error, with the 1-based line it was found on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseError {
    /// 1-based line number.
    pub line: usize,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

impl std::error::Error for ParseError {}

fn num(n: u64) -> String {
    if n == u64::MAX {
        "max".to_string()
    } else {
        format!("{n:#x}")
    }
}

fn val(v: Option<u64>) -> String {
    match v {
        Some(t) => format!("v{t}"),
        None => "null".to_string(),
    }
}

/// One op as a line of text (without a newline).
pub fn format_op(op: &TreeOp) -> String {
    match *op {
        TreeOp::Store { first, last, value } => {
            format!("store {} {} {}", num(first), num(last), val(value))
        }
        TreeOp::Insert { first, last, value } => {
            format!("insert {} {} {}", num(first), num(last), val(Some(value)))
        }
        TreeOp::Erase { index } => format!("erase {}", num(index)),
        TreeOp::Load { index } => format!("load {}", num(index)),
        TreeOp::Find { index, max } => format!("find {} {}", num(index), num(max)),
        TreeOp::Walk { index } => format!("walk {}", num(index)),
        TreeOp::MasFind { max } => format!("mas_find {}", num(max)),
        TreeOp::MasFindRev { min } => format!("mas_find_rev {}", num(min)),
        TreeOp::MasNext { max } => format!("mas_next {}", num(max)),
        TreeOp::MasPrev { min } => format!("mas_prev {}", num(min)),
        TreeOp::Pause => "pause".to_string(),
        TreeOp::Set { index } => format!("set {}", num(index)),
        TreeOp::Destroy => "destroy".to_string(),
        TreeOp::EmptyArea { min, max, size } => {
            format!("empty_area {} {} {}", num(min), num(max), num(size))
        }
        TreeOp::EmptyAreaRev { min, max, size } => {
            format!("empty_area_rev {} {} {}", num(min), num(max), num(size))
        }
        TreeOp::AllocRange {
            size,
            min,
            max,
            value,
        } => format!(
            "alloc_range {} {} {} {}",
            num(size),
            num(min),
            num(max),
            val(Some(value))
        ),
        TreeOp::AllocRRange {
            size,
            min,
            max,
            value,
        } => format!(
            "alloc_rrange {} {} {} {}",
            num(size),
            num(min),
            num(max),
            val(Some(value))
        ),
        TreeOp::Prealloc { first, last, value } => {
            format!("prealloc {} {} {}", num(first), num(last), val(value))
        }
        TreeOp::StorePrealloc { value } => format!("store_prealloc {}", val(value)),
        TreeOp::MasStore { first, last, value } => {
            format!("mas_store {} {} {}", num(first), num(last), val(value))
        }
        TreeOp::MasDestroy => "mas_destroy".to_string(),
        TreeOp::FailAllocs { schedule } => format!("fail_allocs {}", schedule_text(schedule)),
        TreeOp::ExpectedEntries { count } => format!("expected_entries {}", num(count)),
        TreeOp::AllocCyclic {
            min,
            max,
            next,
            value,
        } => format!(
            "alloc_cyclic {} {} {} {}",
            num(min),
            num(max),
            num(next),
            val(Some(value))
        ),
        TreeOp::Reset => "reset".to_string(),
        TreeOp::SetRange { first, last } => format!("set_range {} {}", num(first), num(last)),
        TreeOp::CurEmptyArea { min, max, size } => {
            format!("cur_empty_area {} {} {}", num(min), num(max), num(size))
        }
        TreeOp::CurEmptyAreaRev { min, max, size } => {
            format!("cur_empty_area_rev {} {} {}", num(min), num(max), num(size))
        }
        TreeOp::CurStore { value } => format!("cur_store {}", val(value)),
        TreeOp::CurErase => "cur_erase".to_string(),
    }
}

/// A fault schedule as the words after `fail_allocs`.
fn schedule_text(s: FaultSchedule) -> String {
    match s {
        FaultSchedule::Never => "never".to_string(),
        FaultSchedule::Nth(k) => format!("nth {}", num(k)),
        FaultSchedule::Next(n) => format!("next {}", num(n)),
        FaultSchedule::Every(n) => format!("every {}", num(n)),
        FaultSchedule::From(k) => format!("from {}", num(k)),
    }
}

/// The whole program as text, ending in a newline.
pub fn format_program(p: &Program) -> String {
    let mut s = String::new();
    let mut flags = Vec::new();
    if p.config.alloc {
        flags.push("alloc");
    }
    if p.config.rcu {
        flags.push("rcu");
    }
    if flags.is_empty() {
        flags.push("none");
    }
    let _ = writeln!(s, "config {}", flags.join(" "));
    for op in &p.ops {
        s.push_str(&format_op(op));
        s.push('\n');
    }
    s
}

fn parse_num(w: &str) -> Result<u64, String> {
    if w == "max" {
        return Ok(u64::MAX);
    }
    let r = if let Some(h) = w.strip_prefix("0x").or_else(|| w.strip_prefix("0X")) {
        u64::from_str_radix(h, 16)
    } else {
        w.parse::<u64>()
    };
    r.map_err(|_| format!("`{w}` is not a number (hex with 0x, decimal, or max)"))
}

fn parse_val(w: &str) -> Result<Option<u64>, String> {
    if w == "null" {
        return Ok(None);
    }
    let t = w
        .strip_prefix('v')
        .ok_or_else(|| format!("`{w}` is not a value (v<token> or null)"))?;
    let t = t
        .parse::<u64>()
        .map_err(|_| format!("`{w}` is not a value (v<token> or null)"))?;
    if t > MAX_TOKEN {
        return Err(format!("value token {t} is larger than {MAX_TOKEN}"));
    }
    Ok(Some(t))
}

fn parse_op(words: &[&str]) -> Result<TreeOp, String> {
    let arity = |n: usize| -> Result<(), String> {
        if words.len() == n + 1 {
            Ok(())
        } else {
            Err(format!(
                "`{}` takes {n} argument{}, found {}",
                words[0],
                if n == 1 { "" } else { "s" },
                words.len() - 1
            ))
        }
    };
    let op = match words[0] {
        "store" => {
            arity(3)?;
            TreeOp::Store {
                first: parse_num(words[1])?,
                last: parse_num(words[2])?,
                value: parse_val(words[3])?,
            }
        }
        "insert" => {
            arity(3)?;
            TreeOp::Insert {
                first: parse_num(words[1])?,
                last: parse_num(words[2])?,
                value: parse_val(words[3])?.ok_or("insert needs a value, not null")?,
            }
        }
        "erase" => {
            arity(1)?;
            TreeOp::Erase {
                index: parse_num(words[1])?,
            }
        }
        "load" => {
            arity(1)?;
            TreeOp::Load {
                index: parse_num(words[1])?,
            }
        }
        "find" => {
            arity(2)?;
            TreeOp::Find {
                index: parse_num(words[1])?,
                max: parse_num(words[2])?,
            }
        }
        "walk" => {
            arity(1)?;
            TreeOp::Walk {
                index: parse_num(words[1])?,
            }
        }
        "mas_find" => {
            arity(1)?;
            TreeOp::MasFind {
                max: parse_num(words[1])?,
            }
        }
        "mas_find_rev" => {
            arity(1)?;
            TreeOp::MasFindRev {
                min: parse_num(words[1])?,
            }
        }
        "mas_next" => {
            arity(1)?;
            TreeOp::MasNext {
                max: parse_num(words[1])?,
            }
        }
        "mas_prev" => {
            arity(1)?;
            TreeOp::MasPrev {
                min: parse_num(words[1])?,
            }
        }
        "pause" => {
            arity(0)?;
            TreeOp::Pause
        }
        "set" => {
            arity(1)?;
            TreeOp::Set {
                index: parse_num(words[1])?,
            }
        }
        "destroy" => {
            arity(0)?;
            TreeOp::Destroy
        }
        "empty_area" | "empty_area_rev" | "cur_empty_area" | "cur_empty_area_rev" => {
            arity(3)?;
            let (min, max, size) = (
                parse_num(words[1])?,
                parse_num(words[2])?,
                parse_num(words[3])?,
            );
            match words[0] {
                "empty_area" => TreeOp::EmptyArea { min, max, size },
                "empty_area_rev" => TreeOp::EmptyAreaRev { min, max, size },
                "cur_empty_area" => TreeOp::CurEmptyArea { min, max, size },
                _ => TreeOp::CurEmptyAreaRev { min, max, size },
            }
        }
        "reset" => {
            arity(0)?;
            TreeOp::Reset
        }
        "set_range" => {
            arity(2)?;
            TreeOp::SetRange {
                first: parse_num(words[1])?,
                last: parse_num(words[2])?,
            }
        }
        "cur_store" => {
            arity(1)?;
            TreeOp::CurStore {
                value: parse_val(words[1])?,
            }
        }
        "cur_erase" => {
            arity(0)?;
            TreeOp::CurErase
        }
        "alloc_range" | "alloc_rrange" => {
            arity(4)?;
            let size = parse_num(words[1])?;
            let min = parse_num(words[2])?;
            let max = parse_num(words[3])?;
            let value = parse_val(words[4])?
                .ok_or_else(|| format!("{} needs a value, not null", words[0]))?;
            TreeOp::alloc(words[0] != "alloc_range", size, min, max, value)
        }
        "prealloc" => {
            arity(3)?;
            TreeOp::Prealloc {
                first: parse_num(words[1])?,
                last: parse_num(words[2])?,
                value: parse_val(words[3])?,
            }
        }
        "store_prealloc" => {
            arity(1)?;
            TreeOp::StorePrealloc {
                value: parse_val(words[1])?,
            }
        }
        "mas_store" => {
            arity(3)?;
            TreeOp::MasStore {
                first: parse_num(words[1])?,
                last: parse_num(words[2])?,
                value: parse_val(words[3])?,
            }
        }
        "mas_destroy" => {
            arity(0)?;
            TreeOp::MasDestroy
        }
        "fail_allocs" => TreeOp::FailAllocs {
            schedule: parse_schedule(&words[1..])?,
        },
        "expected_entries" => {
            arity(1)?;
            let count = parse_num(words[1])?;
            if count > super::EXPECTED_ENTRIES_MAX {
                return Err(format!(
                    "expected_entries count {count} is above {}",
                    super::EXPECTED_ENTRIES_MAX
                ));
            }
            TreeOp::ExpectedEntries { count }
        }
        "alloc_cyclic" => {
            arity(4)?;
            TreeOp::AllocCyclic {
                min: parse_num(words[1])?,
                max: parse_num(words[2])?,
                next: parse_num(words[3])?,
                value: parse_val(words[4])?
                    .ok_or_else(|| "alloc_cyclic needs a value, not null".to_string())?,
            }
        }
        other => return Err(format!("unknown op `{other}`")),
    };
    Ok(op)
}

/// The words after `fail_allocs`: `never`, `nth K`, `next N`, `every N` or
/// `from K`.
fn parse_schedule(words: &[&str]) -> Result<FaultSchedule, String> {
    const EXPECTED: &str = "expected never, nth K, next N, every N or from K";
    let (kind, count) = match words {
        ["never"] => return Ok(FaultSchedule::Never),
        [kind, count] if *kind != "never" => (*kind, *count),
        [] => return Err(format!("`fail_allocs` needs a schedule ({EXPECTED})")),
        [kind, ..] if !matches!(*kind, "never" | "nth" | "next" | "every" | "from") => {
            return Err(format!("unknown fault schedule `{kind}` ({EXPECTED})"))
        }
        [kind, ..] => {
            let n = usize::from(*kind != "never");
            return Err(format!(
                "`fail_allocs {kind}` takes {n} argument{}, found {}",
                if n == 1 { "" } else { "s" },
                words.len() - 1
            ));
        }
    };
    let n = parse_num(count)?;
    match kind {
        "nth" => Ok(FaultSchedule::Nth(n)),
        "next" => Ok(FaultSchedule::Next(n)),
        "every" => Ok(FaultSchedule::Every(n)),
        "from" => Ok(FaultSchedule::From(n)),
        other => Err(format!("unknown fault schedule `{other}` ({EXPECTED})")),
    }
}

/// Parses a program. The first error stops the parse and names its line.
pub fn parse_program(text: &str) -> Result<Program, ParseError> {
    let mut p = Program::default();
    let mut seen_op = false;
    for (i, raw) in text.lines().enumerate() {
        let line = i + 1;
        let code = raw.split('#').next().unwrap_or("");
        let words: Vec<&str> = code.split_whitespace().collect();
        if words.is_empty() {
            continue;
        }
        let err = |message: String| ParseError { line, message };
        if words[0] == "config" {
            if seen_op {
                return Err(err("`config` must come before the first op".to_string()));
            }
            let mut c = TreeConfig::default();
            for w in &words[1..] {
                match *w {
                    "alloc" => c.alloc = true,
                    "rcu" => c.rcu = true,
                    "none" => {}
                    other => {
                        return Err(err(format!(
                            "unknown tree flag `{other}` (expected alloc, rcu or none)"
                        )))
                    }
                }
            }
            p.config = c;
            continue;
        }
        seen_op = true;
        p.ops.push(parse_op(&words).map_err(err)?);
    }
    Ok(p)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let p = Program {
            config: TreeConfig {
                alloc: true,
                rcu: false,
            },
            ops: vec![
                TreeOp::Store {
                    first: 0x1000,
                    last: 0x1fff,
                    value: Some(7),
                },
                TreeOp::Store {
                    first: 0,
                    last: u64::MAX,
                    value: None,
                },
                TreeOp::Insert {
                    first: 5,
                    last: 9,
                    value: MAX_TOKEN,
                },
                TreeOp::Erase { index: 3 },
                TreeOp::Load { index: 4 },
                TreeOp::Find { index: 1, max: 2 },
                TreeOp::Walk { index: 6 },
                TreeOp::MasFind { max: 7 },
                TreeOp::MasFindRev { min: 8 },
                TreeOp::MasNext { max: 9 },
                TreeOp::MasPrev { min: 10 },
                TreeOp::Pause,
                TreeOp::Set { index: 11 },
                TreeOp::Destroy,
                TreeOp::EmptyArea {
                    min: 0,
                    max: u64::MAX,
                    size: 0x10,
                },
                TreeOp::EmptyAreaRev {
                    min: 12,
                    max: 13,
                    size: u64::MAX,
                },
                TreeOp::AllocRange {
                    size: 1,
                    min: 0,
                    max: u64::MAX,
                    value: 9,
                },
                TreeOp::AllocRRange {
                    size: 0,
                    min: 14,
                    max: 15,
                    value: 0,
                },
                TreeOp::Prealloc {
                    first: 0x2000,
                    last: 0x2fff,
                    value: Some(3),
                },
                TreeOp::StorePrealloc { value: Some(3) },
                TreeOp::Prealloc {
                    first: 16,
                    last: 17,
                    value: None,
                },
                TreeOp::StorePrealloc { value: None },
                TreeOp::MasStore {
                    first: 18,
                    last: u64::MAX,
                    value: Some(4),
                },
                TreeOp::MasStore {
                    first: 19,
                    last: 20,
                    value: None,
                },
                TreeOp::MasDestroy,
                TreeOp::ExpectedEntries { count: 300 },
                TreeOp::AllocCyclic {
                    min: 2,
                    max: u64::MAX,
                    next: 0x10,
                    value: 9,
                },
                TreeOp::FailAllocs {
                    schedule: FaultSchedule::Nth(3),
                },
                TreeOp::FailAllocs {
                    schedule: FaultSchedule::Next(2),
                },
                TreeOp::FailAllocs {
                    schedule: FaultSchedule::Every(u64::MAX),
                },
                TreeOp::FailAllocs {
                    schedule: FaultSchedule::From(1),
                },
                TreeOp::FailAllocs {
                    schedule: FaultSchedule::Never,
                },
            ],
        };
        let text = format_program(&p);
        assert_eq!(parse_program(&text).unwrap(), p);
        assert!(text.contains("store 0x1000 0x1fff v7\n"));
        assert!(text.contains("store 0x0 max null\n"));
        for line in [
            "empty_area 0x0 max 0x10",
            "empty_area_rev 0xc 0xd max",
            "alloc_range 0x1 0x0 max v9",
            "alloc_rrange 0x0 0xe 0xf v0",
            "alloc_cyclic 0x2 max 0x10 v9",
            "prealloc 0x2000 0x2fff v3",
            "store_prealloc v3",
            "prealloc 0x10 0x11 null",
            "store_prealloc null",
            "mas_store 0x12 max v4",
            "mas_store 0x13 0x14 null",
            "mas_destroy",
            "expected_entries 0x12c",
            "fail_allocs nth 0x3",
            "fail_allocs next 0x2",
            "fail_allocs every max",
            "fail_allocs from 0x1",
            "fail_allocs never",
        ] {
            assert!(text.contains(&format!("{line}\n")), "{line}\n{text}");
        }
    }

    #[test]
    fn parses_the_new_ops_written_by_hand() {
        let p = parse_program(
            "config alloc\n\
             empty_area 0 max 4096\n\
             alloc_rrange 16 0x100 max v5\n\
             prealloc 10 20 v6\n\
             store_prealloc v6\n\
             fail_allocs  every\t20  # trailing comment\n\
             fail_allocs never\n",
        )
        .unwrap();
        assert_eq!(
            p.ops,
            vec![
                TreeOp::EmptyArea {
                    min: 0,
                    max: u64::MAX,
                    size: 4096
                },
                TreeOp::AllocRRange {
                    size: 16,
                    min: 0x100,
                    max: u64::MAX,
                    value: 5
                },
                TreeOp::Prealloc {
                    first: 10,
                    last: 20,
                    value: Some(6)
                },
                TreeOp::StorePrealloc { value: Some(6) },
                TreeOp::FailAllocs {
                    schedule: FaultSchedule::Every(20)
                },
                TreeOp::FailAllocs {
                    schedule: FaultSchedule::Never
                },
            ]
        );
    }

    #[test]
    fn accepts_decimal_comments_and_blank_lines() {
        let p = parse_program("# a comment\n\nstore 16 31 v1 # trailing\nerase 0x10\n").unwrap();
        assert_eq!(
            p.ops,
            vec![
                TreeOp::Store {
                    first: 16,
                    last: 31,
                    value: Some(1)
                },
                TreeOp::Erase { index: 16 }
            ]
        );
        assert_eq!(p.config, TreeConfig::default());
    }

    #[test]
    fn random_text_never_panics_and_round_trips() {
        // A deterministic little generator over the parser's vocabulary and
        // noise, so that both valid and invalid lines are common.
        let mut words: Vec<&str> = TreeOp::KINDS.to_vec();
        words.extend([
            "never",
            "nth",
            "next",
            "every",
            "from",
            "config",
            "alloc",
            "rcu",
            "none",
            "0x10",
            "16",
            "max",
            "v3",
            "null",
            "v",
            "0x",
            "#",
            "-1",
            "\u{e9}",
            "0xfffffffffffffffff",
        ]);
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let (mut parsed, mut rejected) = (0, 0);
        for _ in 0..20_000 {
            let mut text = String::new();
            for _ in 0..next() % 6 {
                for _ in 0..next() % 5 {
                    let x = next();
                    text.push_str(words[(x % words.len() as u64) as usize]);
                    text.push(if x % 9 == 0 { '\t' } else { ' ' });
                }
                text.push('\n');
            }
            match parse_program(&text) {
                Ok(p) => {
                    parsed += 1;
                    assert_eq!(parse_program(&format_program(&p)).unwrap(), p, "{text:?}");
                }
                Err(e) => {
                    rejected += 1;
                    assert!(
                        e.line >= 1 && e.line <= text.lines().count(),
                        "{text:?}: {e}"
                    );
                }
            }
        }
        assert!(
            parsed > 1000 && rejected > 1000,
            "{parsed} parsed, {rejected} rejected"
        );
    }

    #[test]
    fn errors_name_the_line() {
        let cases = [
            ("store 1 2 v1\nstroe 1 2 v1\n", 2, "unknown op `stroe`"),
            ("\n\nerase\n", 3, "takes 1 argument"),
            ("store 1 zz v1\n", 1, "`zz` is not a number"),
            ("store 1 2 7\n", 1, "is not a value"),
            ("insert 1 2 null\n", 1, "insert needs a value"),
            ("load 1\nconfig alloc\n", 2, "must come before"),
            ("config big\n", 1, "unknown tree flag"),
            ("store 1 2 v99999999999999999999\n", 1, "is not a value"),
            (
                "store 1 2 v1\nfail_allocs sometimes\n",
                2,
                "unknown fault schedule `sometimes`",
            ),
            ("fail_allocs\n", 1, "needs a schedule"),
            (
                "fail_allocs nth\n",
                1,
                "`fail_allocs nth` takes 1 argument, found 0",
            ),
            (
                "fail_allocs never 3\n",
                1,
                "`fail_allocs never` takes 0 arguments, found 1",
            ),
            ("fail_allocs every 2 3\n", 1, "takes 1 argument, found 2"),
            ("fail_allocs next many\n", 1, "`many` is not a number"),
            (
                "empty_area 0 max\n",
                1,
                "`empty_area` takes 3 arguments, found 2",
            ),
            (
                "empty_area_rev 0 max 1 2\n",
                1,
                "takes 3 arguments, found 4",
            ),
            (
                "\nalloc_range 1 0 max null\n",
                2,
                "alloc_range needs a value",
            ),
            (
                "alloc_rrange 1 0 max null\n",
                1,
                "alloc_rrange needs a value",
            ),
            ("alloc_range 1 0 max\n", 1, "takes 4 arguments"),
            ("prealloc 1 2\n", 1, "takes 3 arguments"),
            ("store_prealloc\n", 1, "takes 1 argument, found 0"),
            ("store_prealloc 5\n", 1, "is not a value"),
            ("mas_store 1 x v1\n", 1, "`x` is not a number"),
            ("mas_destroy now\n", 1, "takes 0 arguments"),
            ("expected_entries 1024\n", 1, "above 1023"),
            ("expected_entries\n", 1, "takes 1 argument"),
        ];
        for (text, line, msg) in cases {
            let e = parse_program(text).unwrap_err();
            assert_eq!(e.line, line, "{text:?}");
            assert!(e.message.contains(msg), "{text:?}: {}", e.message);
            assert!(e.to_string().starts_with(&format!("line {line}: ")));
        }
    }
}
