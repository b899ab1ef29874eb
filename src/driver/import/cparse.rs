// SPDX-License-Identifier: GPL-2.0-or-later
//! Just enough C to read the kernel's captured VMA test sets.
//!
//! The kernel's userspace maple tree test (`maple.c`) replays arrays of
//! `(STORE|SNULL|ERASE, first, last)` triples through
//! `check_erase2_testset(tree, set, ARRAY_SIZE(set))`. This module tokenises
//! the C file (comments, string and character literals, line splices) and
//! finds every such call, the array it names (in the calling function, else
//! at file scope) and the flags the tree was created with: the last
//! `mt_init_flags(tree, FLAGS)` (or `mt_init(tree)`) before the call in the
//! same function, else, when the tree is the function's parameter, the one
//! before the function's call sites in their callers.
//!
//! It is not a C compiler: it ignores the preprocessor and control flow, and
//! everything outside the calls, the `mt_init_flags` calls and the named
//! arrays. Inside an array initialiser every token is checked: anything but
//! the three macros, a number, `ULONG_MAX`, commas and the closing brace is
//! an error naming the line.

use crate::ops::TreeConfig;
use std::collections::HashMap;

/// What the kernel test does with one triple.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SetOp {
    /// `STORE`: `mtree_store_range(first, last, xa_mk_value(first))`.
    Store,
    /// `SNULL`: `mtree_store_range(first, last, NULL)`.
    Snull,
    /// `ERASE`: `mtree_erase(first)` when an entry holds `first`.
    Erase,
}

impl SetOp {
    /// The macro's name in the C source.
    pub fn name(self) -> &'static str {
        match self {
            SetOp::Store => "STORE",
            SetOp::Snull => "SNULL",
            SetOp::Erase => "ERASE",
        }
    }
}

/// One triple of a set, with the line its op macro is on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SetStep {
    pub op: SetOp,
    pub first: u64,
    pub last: u64,
    pub line: usize,
}

/// One array passed to `check_erase2_testset`, with the tree it ran on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KernelSet {
    /// The array's name (`set`, `set2`, ...).
    pub name: String,
    /// The line of the array's definition.
    pub line: usize,
    /// The line of the `check_erase2_testset` call.
    pub call_line: usize,
    /// The flags the tree was created with.
    pub config: TreeConfig,
    /// The triples, in order.
    pub steps: Vec<SetStep>,
}

/// A parse error at a 1-based line (0: the file as a whole).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CError {
    pub line: usize,
    pub message: String,
}

impl std::fmt::Display for CError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.line == 0 {
            f.write_str(&self.message)
        } else {
            write!(f, "line {}: {}", self.line, self.message)
        }
    }
}

fn err<T>(line: usize, message: impl Into<String>) -> Result<T, CError> {
    Err(CError {
        line,
        message: message.into(),
    })
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Ident,
    Number,
    /// A string or character literal (its text is not kept).
    Literal,
    Punct,
}

#[derive(Clone, Copy, Debug)]
struct Tok<'a> {
    kind: Kind,
    text: &'a str,
    line: usize,
}

/// Splits C source into tokens. Multi-character operators come out one
/// character at a time, which is all the matching below needs.
fn lex(src: &str) -> Result<Vec<Tok<'_>>, CError> {
    let b = src.as_bytes();
    let mut toks = Vec::new();
    let mut i = 0;
    let mut line = 1;
    while i < b.len() {
        let c = b[i];
        match c {
            b'\n' => {
                line += 1;
                i += 1;
            }
            b' ' | b'\t' | b'\r' | b'\x0c' | b'\x0b' => i += 1,
            b'\\' if b.get(i + 1) == Some(&b'\n') => {
                line += 1;
                i += 2;
            }
            b'/' if b.get(i + 1) == Some(&b'/') => {
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
            }
            b'/' if b.get(i + 1) == Some(&b'*') => {
                let start = line;
                i += 2;
                loop {
                    match b.get(i) {
                        None => return err(start, "comment `/*` is never closed"),
                        Some(b'*') if b.get(i + 1) == Some(&b'/') => {
                            i += 2;
                            break;
                        }
                        Some(b'\n') => line += 1,
                        Some(_) => {}
                    }
                    i += 1;
                }
            }
            b'"' | b'\'' => {
                let start = line;
                let from = i;
                i += 1;
                loop {
                    match b.get(i) {
                        None => return err(start, "string or character literal is never closed"),
                        Some(b'\\') => {
                            if b.get(i + 1) == Some(&b'\n') {
                                line += 1;
                            }
                            i += 2;
                            continue;
                        }
                        Some(b'\n') => line += 1,
                        Some(&q) if q == c => {
                            i += 1;
                            break;
                        }
                        Some(_) => {}
                    }
                    i += 1;
                }
                toks.push(Tok {
                    kind: Kind::Literal,
                    text: &src[from..i.min(b.len())],
                    line: start,
                });
            }
            _ if c.is_ascii_alphabetic() || c == b'_' => {
                let from = i;
                while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_') {
                    i += 1;
                }
                toks.push(Tok {
                    kind: Kind::Ident,
                    text: &src[from..i],
                    line,
                });
            }
            _ if c.is_ascii_digit() => {
                let from = i;
                while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_' || b[i] == b'.')
                {
                    i += 1;
                }
                toks.push(Tok {
                    kind: Kind::Number,
                    text: &src[from..i],
                    line,
                });
            }
            _ => {
                // One character, whole: a non-ASCII one is several bytes.
                let len = src[i..].chars().next().map_or(1, char::len_utf8);
                toks.push(Tok {
                    kind: Kind::Punct,
                    text: &src[i..i + len],
                    line,
                });
                i += len;
            }
        }
    }
    Ok(toks)
}

/// A C integer literal (decimal, `0x` hex or octal, with `u`/`l` suffixes)
/// as a 64-bit `unsigned long`.
pub fn parse_c_number(text: &str) -> Option<u64> {
    let digits = text.trim_end_matches(['u', 'U', 'l', 'L']);
    if digits.is_empty() {
        return None;
    }
    if let Some(h) = digits
        .strip_prefix("0x")
        .or_else(|| digits.strip_prefix("0X"))
    {
        return u64::from_str_radix(h, 16).ok();
    }
    if digits.len() > 1 && digits.starts_with('0') {
        return u64::from_str_radix(&digits[1..], 8).ok();
    }
    digits.parse().ok()
}

/// A token range `[from, to)`, e.g. one argument of a call.
type Span = (usize, usize);

/// The tokens with their nesting: for each token, the index of the
/// outermost `{` around it (the function body, at file scope `None`).
struct Source<'a> {
    toks: Vec<Tok<'a>>,
    block: Vec<Option<usize>>,
}

impl<'a> Source<'a> {
    fn new(src: &'a str) -> Result<Source<'a>, CError> {
        let toks = lex(src)?;
        let mut block = Vec::with_capacity(toks.len());
        let mut open: Vec<usize> = Vec::new();
        for (i, t) in toks.iter().enumerate() {
            if t.text == "}" && t.kind == Kind::Punct && open.pop().is_none() {
                return err(t.line, "`}` without a matching `{`");
            }
            block.push(open.first().copied());
            if t.text == "{" && t.kind == Kind::Punct {
                open.push(i);
            }
        }
        if let Some(&o) = open.last() {
            return err(toks[o].line, "`{` is never closed");
        }
        Ok(Source { toks, block })
    }

    fn is(&self, i: usize, text: &str) -> bool {
        self.toks.get(i).is_some_and(|t| t.text == text)
    }

    /// The arguments of the call whose `(` is at `open`, each as a token
    /// range, and the index of the closing `)`.
    fn args(&self, open: usize) -> Result<(Vec<Span>, usize), CError> {
        let mut nest: Vec<usize> = Vec::new();
        let mut args = Vec::new();
        let mut from = open + 1;
        for i in open..self.toks.len() {
            let closer = match self.toks[i].text {
                "(" | "[" | "{" => {
                    nest.push(i);
                    continue;
                }
                ")" => "(",
                "]" => "[",
                "}" => "{",
                "," if nest.len() == 1 => {
                    args.push((from, i));
                    from = i + 1;
                    continue;
                }
                _ => continue,
            };
            let o = nest.pop().expect("the call's `(` is open");
            if self.toks[o].text != closer {
                return err(
                    self.toks[o].line,
                    format!(
                        "`{}` opened at line {} is closed by `{}` at line {}",
                        self.toks[o].text, self.toks[o].line, self.toks[i].text, self.toks[i].line
                    ),
                );
            }
            if nest.is_empty() {
                if i > from || !args.is_empty() {
                    args.push((from, i));
                }
                return Ok((args, i));
            }
        }
        err(self.toks[open].line, "`(` is never closed")
    }

    /// A token range as text, tokens separated by one space.
    fn text(&self, (from, to): Span) -> String {
        let words: Vec<&str> = self.toks[from..to].iter().map(|t| t.text).collect();
        words.join(" ")
    }

    /// Every call of `name` inside a function body: the name's index and
    /// the arguments.
    fn calls(&self, name: &str) -> Result<Vec<(usize, Vec<Span>)>, CError> {
        let mut out = Vec::new();
        for (i, t) in self.toks.iter().enumerate() {
            if t.kind == Kind::Ident
                && t.text == name
                && self.block[i].is_some()
                && self.is(i + 1, "(")
            {
                out.push((i, self.args(i + 1)?.0));
            }
        }
        Ok(out)
    }

    /// The name and parameters of the function whose body opens at `body`.
    fn function_at(&self, body: usize) -> Option<(&'a str, Vec<Span>)> {
        if body == 0 || !self.is(body - 1, ")") {
            return None;
        }
        let mut depth = 0usize;
        let mut i = body - 1;
        loop {
            match self.toks[i].text {
                ")" => depth += 1,
                "(" => {
                    depth -= 1;
                    if depth == 0 {
                        break;
                    }
                }
                _ => {}
            }
            i = i.checked_sub(1)?;
        }
        let name = self.toks.get(i.checked_sub(1)?)?;
        let params = self.args(i).ok()?.0;
        (name.kind == Kind::Ident).then_some((name.text, params))
    }

    /// The flags of the last `mt_init_flags(tree, ...)` or `mt_init(tree)`
    /// before token `at` in the same function body.
    fn flags_before(&self, at: usize, tree: &str) -> Result<Option<TreeConfig>, CError> {
        let Some(body) = self.block[at] else {
            return Ok(None);
        };
        for i in (body..at).rev() {
            let t = self.toks[i];
            if t.kind != Kind::Ident || !self.is(i + 1, "(") {
                continue;
            }
            match t.text {
                "mt_init_flags" => {
                    let (args, _) = self.args(i + 1)?;
                    if args.len() == 2 && self.text(args[0]) == tree {
                        return self.flags(args[1]).map(Some);
                    }
                }
                "mt_init" => {
                    let (args, _) = self.args(i + 1)?;
                    if args.len() == 1 && self.text(args[0]) == tree {
                        return Ok(Some(TreeConfig::default()));
                    }
                }
                _ => {}
            }
        }
        Ok(None)
    }

    /// A flags expression: `0` or flag names joined by `|`.
    fn flags(&self, (from, to): Span) -> Result<TreeConfig, CError> {
        let mut c = TreeConfig::default();
        for (k, t) in self.toks[from..to].iter().enumerate() {
            let want_flag = k % 2 == 0;
            match (want_flag, t.kind, t.text) {
                (true, Kind::Number, n) if parse_c_number(n) == Some(0) => {}
                (true, Kind::Ident, "MT_FLAGS_ALLOC_RANGE") => c.alloc = true,
                (true, Kind::Ident, "MT_FLAGS_USE_RCU") => c.rcu = true,
                // Locking flags do not change the tree's behaviour here.
                (true, Kind::Ident, "MT_FLAGS_LOCK_IRQ" | "MT_FLAGS_LOCK_BH")
                | (true, Kind::Ident, "MT_FLAGS_LOCK_EXTERN")
                | (false, Kind::Punct, "|") => {}
                _ => {
                    return err(
                        t.line,
                        format!(
                            "unexpected `{}` in tree flags `{}` (expected 0, \
                             MT_FLAGS_ALLOC_RANGE, MT_FLAGS_USE_RCU or MT_FLAGS_LOCK_*, \
                             joined by `|`)",
                            t.text,
                            self.text((from, to))
                        ),
                    )
                }
            }
        }
        if from == to || (to - from) % 2 == 0 {
            let line = self.toks[from.min(self.toks.len() - 1)].line;
            return err(
                line,
                format!("tree flags `{}` are incomplete", self.text((from, to))),
            );
        }
        Ok(c)
    }

    /// The flags of the tree `tree` at the call at `at`: in the same body,
    /// else at the call sites of the enclosing function when `tree` is one
    /// of its parameters (one level up).
    fn tree_flags(&self, at: usize, tree: &str, set: &str) -> Result<TreeConfig, CError> {
        if let Some(c) = self.flags_before(at, tree)? {
            return Ok(c);
        }
        let line = self.toks[at].line;
        let missing = || {
            err(
                line,
                format!(
                    "cannot tell how the tree `{tree}` that set `{set}` runs on was created \
                     (no mt_init_flags({tree}, ...) before the call, here or in the callers)"
                ),
            )
        };
        let Some((func, params)) = self.block[at].and_then(|b| self.function_at(b)) else {
            return missing();
        };
        let Some(k) = params
            .iter()
            .position(|&(from, to)| to > from && self.toks[to - 1].text == tree)
        else {
            return missing();
        };
        let mut found: Option<TreeConfig> = None;
        for (site, args) in self.calls(func)? {
            let Some(&arg) = args.get(k) else { continue };
            let Some(c) = self.flags_before(site, &self.text(arg))? else {
                continue;
            };
            if found.is_some_and(|f| f != c) {
                return err(
                    line,
                    format!("`{func}` is called on trees with different flags: set `{set}` is ambiguous"),
                );
            }
            found = Some(c);
        }
        match found {
            Some(c) => Ok(c),
            None => missing(),
        }
    }

    /// Every array definition `NAME[...] = {`: (name, body) -> index of `{`.
    fn arrays(&self) -> HashMap<(&'a str, Option<usize>), Vec<usize>> {
        let mut out: HashMap<_, Vec<usize>> = HashMap::new();
        for (i, t) in self.toks.iter().enumerate() {
            if t.kind != Kind::Ident || !self.is(i + 1, "[") {
                continue;
            }
            let mut j = i + 2;
            while j < self.toks.len() && !self.is(j, "]") && !self.is(j, ";") {
                j += 1;
            }
            if self.is(j, "]") && self.is(j + 1, "=") && self.is(j + 2, "{") {
                out.entry((t.text, self.block[i])).or_default().push(j + 2);
            }
        }
        out
    }

    /// The triples of the initialiser that opens at `open`.
    fn triples(&self, open: usize, set: &str) -> Result<Vec<SetStep>, CError> {
        let mut steps = Vec::new();
        // The triple being read: its op and line, then its numbers.
        let mut op: Option<(SetOp, usize)> = None;
        let mut nums: Vec<u64> = Vec::new();
        let mut i = open + 1;
        loop {
            let Some(&t) = self.toks.get(i) else {
                return err(
                    self.toks[open].line,
                    format!("the initialiser of set `{set}` is never closed"),
                );
            };
            if t.text == "}" {
                break;
            }
            let k = op.map_or(0, |_| 1 + nums.len());
            match (k, t.kind, t.text) {
                (0, Kind::Ident, "STORE") => op = Some((SetOp::Store, t.line)),
                (0, Kind::Ident, "SNULL") => op = Some((SetOp::Snull, t.line)),
                (0, Kind::Ident, "ERASE") => op = Some((SetOp::Erase, t.line)),
                (1 | 2, Kind::Ident, "ULONG_MAX") => nums.push(u64::MAX),
                (1 | 2, Kind::Number, n) => match parse_c_number(n) {
                    Some(v) => nums.push(v),
                    None => {
                        return err(
                            t.line,
                            format!("`{n}` in set `{set}` is not a 64-bit unsigned number"),
                        )
                    }
                },
                _ => {
                    let wanted = match k {
                        0 => "STORE, SNULL or ERASE",
                        1 => "the first index, a number",
                        _ => "the last index, a number",
                    };
                    return err(
                        t.line,
                        format!(
                            "unexpected `{}` in set `{set}` (element {} of a triple: \
                             expected {wanted})",
                            t.text,
                            k + 1
                        ),
                    );
                }
            }
            if let (Some((o, line)), [first, last]) = (op, nums.as_slice()) {
                steps.push(SetStep {
                    op: o,
                    first: *first,
                    last: *last,
                    line,
                });
                op = None;
                nums.clear();
            }
            i += 1;
            match self.toks.get(i) {
                Some(t) if t.text == "," => i += 1,
                Some(&t) if t.text != "}" => {
                    return err(
                        t.line,
                        format!(
                            "unexpected `{}` in set `{set}` (expected `,` or `}}`)",
                            t.text
                        ),
                    )
                }
                _ => {}
            }
        }
        if op.is_some() {
            return err(
                self.toks[i].line,
                format!(
                    "set `{set}` ends in the middle of a triple ({} of 3 elements)",
                    1 + nums.len()
                ),
            );
        }
        Ok(steps)
    }
}

/// Every set passed to `check_erase2_testset` in `src`, in call order (a
/// set called twice on the same kind of tree is listed once).
pub fn parse_testsets(src: &str) -> Result<Vec<KernelSet>, CError> {
    let s = Source::new(src)?;
    let arrays = s.arrays();
    let mut sets: Vec<KernelSet> = Vec::new();
    for (at, args) in s.calls("check_erase2_testset")? {
        let line = s.toks[at].line;
        if args.len() != 3 {
            return err(
                line,
                format!(
                    "check_erase2_testset takes (tree, set, size); this call has {} arguments",
                    args.len()
                ),
            );
        }
        let (from, to) = args[1];
        if to != from + 1 || s.toks[from].kind != Kind::Ident {
            return err(
                line,
                format!(
                    "expected the name of a set array as the second argument of \
                     check_erase2_testset, found `{}`",
                    s.text(args[1])
                ),
            );
        }
        let name = s.toks[from].text;
        // The array is the one in the calling function, else a global.
        let defs = arrays
            .get(&(name, s.block[at]))
            .filter(|d| !d.is_empty())
            .or_else(|| arrays.get(&(name, None)));
        let open = match defs.map(Vec::as_slice) {
            Some([open]) => *open,
            Some([a, b, ..]) => {
                return err(
                    s.toks[*b].line,
                    format!(
                        "set `{name}` is defined twice in one scope (lines {} and {})",
                        s.toks[*a].line, s.toks[*b].line
                    ),
                )
            }
            _ => {
                return err(
                    line,
                    format!("set `{name}` is passed to check_erase2_testset but never defined"),
                )
            }
        };
        let config = s.tree_flags(at, &s.text(args[0]), name)?;
        if let Some(prev) = sets.iter().find(|k| k.name == name) {
            let why = if prev.line != s.toks[open].line {
                format!(
                    "two different arrays called `{name}` are replayed (defined at lines {} and {})",
                    prev.line,
                    s.toks[open].line
                )
            } else if prev.config != config {
                format!(
                    "set `{name}` runs on trees with different flags (see line {})",
                    prev.call_line
                )
            } else {
                continue;
            };
            return err(line, why);
        }
        sets.push(KernelSet {
            name: name.to_string(),
            line: s.toks[open].line,
            call_line: line,
            config,
            steps: s.triples(open, name)?,
        });
    }
    Ok(sets)
}
