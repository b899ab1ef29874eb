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
//! ```
//!
//! Numbers are hexadecimal with `0x`, decimal without, or `max` for
//! `u64::MAX`. The printer always writes hexadecimal, so `format` then
//! `parse` gives back the same program.

use super::{Program, TreeConfig, TreeOp, MAX_TOKEN};
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
        other => return Err(format!("unknown op `{other}`")),
    };
    Ok(op)
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
            ],
        };
        let text = format_program(&p);
        assert_eq!(parse_program(&text).unwrap(), p);
        assert!(text.contains("store 0x1000 0x1fff v7\n"));
        assert!(text.contains("store 0x0 max null\n"));
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
        let words = [
            "store",
            "insert",
            "erase",
            "load",
            "find",
            "walk",
            "mas_find",
            "mas_find_rev",
            "mas_next",
            "mas_prev",
            "pause",
            "set",
            "destroy",
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
        ];
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
        ];
        for (text, line, msg) in cases {
            let e = parse_program(text).unwrap_err();
            assert_eq!(e.line, line, "{text:?}");
            assert!(e.message.contains(msg), "{text:?}: {}", e.message);
            assert!(e.to_string().starts_with(&format!("line {line}: ")));
        }
    }
}
