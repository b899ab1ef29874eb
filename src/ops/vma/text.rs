//! The text form of VMA programs, one op a line:
//!
//! ```text
//! config vma max_map_count=24 profile=6.12
//! mmap 0x10000 0x3000 rw- private|fixed anon
//! mmap 0x0 0x2000 r-- shared file2+0x3
//! munmap 0x11000 0x1000
//! mprotect 0x10000 0x2000 r-x
//! madvise 0x10000 0x2000 dontfork
//! brk 0x555556002000
//! mremap 0x10000 0x1000 0x3000 maymove|fixed 0x40000
//! touch 0x10000 w
//! fail_at 2
//! fork child
//! ```
//!
//! Numbers are decimal or `0x`-hex. Protections are `rwx` letters (`-` for
//! a missing one) or a number; flag sets are names joined by `|`, `0` for
//! none, any other bits as a number in the set. `#` starts a comment. The
//! first line must be the `config vma` line: it tells VMA programs from
//! tree programs.

use super::uapi::*;
use super::{Backing, ForkKeep, VmaOp, VmaProfile, VmaProgram, VmaSetup};
use std::fmt;

/// A text program that does not parse: the line (1-based) and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VmaParseError {
    pub line: usize,
    pub message: String,
}

impl fmt::Display for VmaParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

impl std::error::Error for VmaParseError {}

const MAP_FLAGS: &[(u32, &str)] = &[
    (MAP_SHARED_VALIDATE, "shared_validate"),
    (MAP_SHARED, "shared"),
    (MAP_PRIVATE, "private"),
    (MAP_FIXED, "fixed"),
    (MAP_ANONYMOUS, "anonymous"),
    (MAP_GROWSDOWN, "growsdown"),
    (MAP_NORESERVE, "noreserve"),
    (MAP_LOCKED, "locked"),
    (MAP_FIXED_NOREPLACE, "noreplace"),
];

const MREMAP_FLAGS: &[(u32, &str)] = &[
    (MREMAP_MAYMOVE, "maymove"),
    (MREMAP_FIXED, "fixed"),
    (MREMAP_DONTUNMAP, "dontunmap"),
];

const ADVICE: &[(u32, &str)] = &[
    (MADV_NORMAL, "normal"),
    (MADV_RANDOM, "random"),
    (MADV_SEQUENTIAL, "sequential"),
    (MADV_DONTFORK, "dontfork"),
    (MADV_DOFORK, "dofork"),
    (MADV_DONTDUMP, "dontdump"),
    (MADV_DODUMP, "dodump"),
    (MADV_WIPEONFORK, "wipeonfork"),
    (MADV_KEEPONFORK, "keeponfork"),
];

fn hex(v: u64) -> String {
    format!("{v:#x}")
}

fn format_prot(prot: u32) -> String {
    if prot & !7 != 0 {
        return hex(u64::from(prot));
    }
    let bit = |b: u32, c: char| if prot & b != 0 { c } else { '-' };
    [
        bit(PROT_READ, 'r'),
        bit(PROT_WRITE, 'w'),
        bit(PROT_EXEC, 'x'),
    ]
    .iter()
    .collect()
}

/// A flag word as names; the two-bit map type is matched as a whole.
fn format_flags(flags: u32, table: &[(u32, &str)], map_type: bool) -> String {
    let mut rest = flags;
    let mut parts = Vec::new();
    if map_type {
        let ty = flags & 3;
        if let Some(&(_, name)) = table.iter().find(|(v, _)| *v == ty && ty != 0) {
            parts.push(name.to_string());
        }
        rest &= !3;
    }
    for &(bit, name) in table {
        if (map_type && bit <= 3) || rest & bit == 0 {
            continue;
        }
        parts.push(name.to_string());
        rest &= !bit;
    }
    if rest != 0 {
        parts.push(hex(u64::from(rest)));
    }
    if parts.is_empty() {
        "0".to_string()
    } else {
        parts.join("|")
    }
}

fn format_advice(advice: u32) -> String {
    ADVICE
        .iter()
        .find(|(v, _)| *v == advice)
        .map_or_else(|| hex(u64::from(advice)), |(_, n)| n.to_string())
}

/// One op in the text form.
pub fn format_op(op: &VmaOp) -> String {
    match *op {
        VmaOp::Mmap {
            addr,
            len,
            prot,
            flags,
            backing,
        } => {
            let b = match backing {
                Backing::Anon => "anon".to_string(),
                Backing::File { file, pgoff } => format!("file{file}+{pgoff:#x}"),
            };
            format!(
                "mmap {} {} {} {} {b}",
                hex(addr),
                hex(len),
                format_prot(prot),
                format_flags(flags, MAP_FLAGS, true)
            )
        }
        VmaOp::Munmap { addr, len } => format!("munmap {} {}", hex(addr), hex(len)),
        VmaOp::Mprotect { addr, len, prot } => {
            format!("mprotect {} {} {}", hex(addr), hex(len), format_prot(prot))
        }
        VmaOp::Madvise { addr, len, advice } => {
            format!(
                "madvise {} {} {}",
                hex(addr),
                hex(len),
                format_advice(advice)
            )
        }
        VmaOp::Brk { addr } => format!("brk {}", hex(addr)),
        VmaOp::Mremap {
            addr,
            old_len,
            new_len,
            flags,
            new_addr,
        } => format!(
            "mremap {} {} {} {} {}",
            hex(addr),
            hex(old_len),
            hex(new_len),
            format_flags(flags, MREMAP_FLAGS, false),
            hex(new_addr)
        ),
        VmaOp::Touch { addr, write } => {
            format!("touch {} {}", hex(addr), if write { "w" } else { "r" })
        }
        VmaOp::FailAt { nth } => format!("fail_at {nth}"),
        VmaOp::Fork { keep } => match keep {
            ForkKeep::Parent => "fork parent".to_string(),
            ForkKeep::Child => "fork child".to_string(),
        },
    }
}

/// The `config vma` line.
pub fn format_setup(s: &VmaSetup) -> String {
    format!(
        "config vma max_map_count={} profile={}",
        s.max_map_count,
        s.profile.name()
    )
}

/// A whole program in the text form.
pub fn format_program(p: &VmaProgram) -> String {
    let mut s = format_setup(&p.setup);
    s.push('\n');
    for op in &p.ops {
        s.push_str(&format_op(op));
        s.push('\n');
    }
    s
}

fn number(tok: &str) -> Result<u64, String> {
    let r = match tok.strip_prefix("0x").or_else(|| tok.strip_prefix("0X")) {
        Some(h) => u64::from_str_radix(h, 16),
        None => tok.parse(),
    };
    r.map_err(|_| format!("`{tok}` is not a number"))
}

fn number32(tok: &str) -> Result<u32, String> {
    let v = number(tok)?;
    u32::try_from(v).map_err(|_| format!("`{tok}` does not fit in 32 bits"))
}

fn parse_prot(tok: &str) -> Result<u32, String> {
    let b = tok.as_bytes();
    if b.len() == 3 && b.iter().all(|c| b"rwx-".contains(c)) {
        let mut p = 0;
        for (i, (c, bit)) in [(b'r', PROT_READ), (b'w', PROT_WRITE), (b'x', PROT_EXEC)]
            .into_iter()
            .enumerate()
        {
            match b[i] {
                x if x == c => p |= bit,
                b'-' => {}
                _ => return Err(format!("`{tok}`: expected a protection like r-x")),
            }
        }
        return Ok(p);
    }
    number32(tok)
}

fn parse_flags(tok: &str, table: &[(u32, &str)]) -> Result<u32, String> {
    let mut flags = 0;
    for part in tok.split('|') {
        flags |= match table.iter().find(|(_, n)| *n == part) {
            Some(&(v, _)) => v,
            None => number32(part).map_err(|_| format!("unknown flag `{part}`"))?,
        };
    }
    Ok(flags)
}

fn parse_backing(tok: &str) -> Result<Backing, String> {
    if tok == "anon" {
        return Ok(Backing::Anon);
    }
    let rest = tok
        .strip_prefix("file")
        .ok_or_else(|| format!("`{tok}`: expected anon or fileN+PGOFF"))?;
    let (f, off) = rest.split_once('+').unwrap_or((rest, "0"));
    let file: u8 = f
        .parse()
        .ok()
        .filter(|&n: &u8| n < 4)
        .ok_or_else(|| format!("`{tok}`: the files are file0 to file3"))?;
    Ok(Backing::File {
        file,
        pgoff: number(off)?,
    })
}

fn parse_setup(words: &[&str]) -> Result<VmaSetup, String> {
    let mut s = VmaSetup::default();
    for w in words {
        match w.split_once('=') {
            Some(("max_map_count", v)) => s.max_map_count = number(v)?,
            Some(("profile", v)) => {
                s.profile = VmaProfile::from_name(v)
                    .ok_or_else(|| format!("unknown profile `{v}` (6.12, 6.1 or 7.1)"))?
            }
            _ => {
                return Err(format!(
                    "unknown setting `{w}` (max_map_count=N, profile=6.12|6.1|7.1)"
                ))
            }
        }
    }
    Ok(s)
}

fn parse_op(words: &[&str]) -> Result<VmaOp, String> {
    let want = |n: usize| {
        if words.len() == n + 1 {
            Ok(())
        } else {
            Err(format!(
                "`{}` takes {n} argument(s), got {}",
                words[0],
                words.len() - 1
            ))
        }
    };
    let w = |i: usize| words[i];
    Ok(match words[0] {
        "mmap" => {
            want(5)?;
            VmaOp::Mmap {
                addr: number(w(1))?,
                len: number(w(2))?,
                prot: parse_prot(w(3))?,
                flags: parse_flags(w(4), MAP_FLAGS)?,
                backing: parse_backing(w(5))?,
            }
        }
        "munmap" => {
            want(2)?;
            VmaOp::Munmap {
                addr: number(w(1))?,
                len: number(w(2))?,
            }
        }
        "mprotect" => {
            want(3)?;
            VmaOp::Mprotect {
                addr: number(w(1))?,
                len: number(w(2))?,
                prot: parse_prot(w(3))?,
            }
        }
        "madvise" => {
            want(3)?;
            VmaOp::Madvise {
                addr: number(w(1))?,
                len: number(w(2))?,
                advice: match ADVICE.iter().find(|(_, n)| *n == w(3)) {
                    Some(&(v, _)) => v,
                    None => number32(w(3))?,
                },
            }
        }
        "brk" => {
            want(1)?;
            VmaOp::Brk {
                addr: number(w(1))?,
            }
        }
        "mremap" => {
            want(5)?;
            VmaOp::Mremap {
                addr: number(w(1))?,
                old_len: number(w(2))?,
                new_len: number(w(3))?,
                flags: parse_flags(w(4), MREMAP_FLAGS)?,
                new_addr: number(w(5))?,
            }
        }
        "touch" => {
            want(2)?;
            VmaOp::Touch {
                addr: number(w(1))?,
                write: match w(2) {
                    "w" => true,
                    "r" => false,
                    o => return Err(format!("`{o}`: expected r or w")),
                },
            }
        }
        "fail_at" => {
            want(1)?;
            VmaOp::FailAt {
                nth: number32(w(1))?,
            }
        }
        "fork" => {
            want(1)?;
            VmaOp::Fork {
                keep: match w(1) {
                    "parent" => ForkKeep::Parent,
                    "child" => ForkKeep::Child,
                    o => return Err(format!("`{o}`: expected parent or child")),
                },
            }
        }
        o => return Err(format!("unknown VMA op `{o}`")),
    })
}

/// Whether `text` is a VMA program (its first meaningful line is `config vma`).
pub fn is_vma_text(text: &str) -> bool {
    text.lines()
        .map(|l| l.split('#').next().unwrap_or("").trim())
        .find(|l| !l.is_empty())
        .is_some_and(|l| l.split_whitespace().take(2).eq(["config", "vma"]))
}

/// Parses a VMA program.
pub fn parse_vma_program(text: &str) -> Result<VmaProgram, VmaParseError> {
    let mut setup = None;
    let mut ops = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = raw.split('#').next().unwrap_or("").trim();
        if line.is_empty() {
            continue;
        }
        let words: Vec<&str> = line.split_whitespace().collect();
        let err = |message: String| VmaParseError {
            line: i + 1,
            message,
        };
        if words[0] == "config" {
            if setup.is_some() || !ops.is_empty() || words.get(1) != Some(&"vma") {
                return Err(err("`config vma ...` must be the first line, once".into()));
            }
            setup = Some(parse_setup(&words[2..]).map_err(err)?);
            continue;
        }
        if setup.is_none() {
            return Err(err("a VMA program starts with `config vma ...`".into()));
        }
        ops.push(parse_op(&words).map_err(err)?);
    }
    Ok(VmaProgram {
        setup: setup.ok_or(VmaParseError {
            line: 1,
            message: "no `config vma` line".into(),
        })?,
        ops,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_op_round_trips() {
        let text = "config vma max_map_count=7 profile=6.1\n\
                    mmap 0x10000 0x3000 rw- private|fixed anon\n\
                    mmap 0x0 0x2001 0x9 shared|noreplace|0x40 file2+0x3\n\
                    munmap 0x11000 0x1000\n\
                    mprotect 0x10000 0x2000 r-x\n\
                    madvise 0x10000 0x2000 dontfork\n\
                    madvise 0x10000 0x2000 0x63\n\
                    brk 0x555556002000\n\
                    mremap 0x10000 0x1000 0x3000 maymove|fixed 0x40000\n\
                    mremap 0x10000 0x1000 0x3000 0 0x0\n\
                    touch 0x10000 w\n\
                    fail_at 2\n";
        let p = parse_vma_program(text).unwrap();
        assert_eq!(p.ops.len(), 11);
        assert_eq!(p.setup.max_map_count, 7);
        assert_eq!(p.setup.profile, VmaProfile::V6_1);
        assert_eq!(format_program(&p), text);
        assert!(is_vma_text(text));
        assert!(!is_vma_text("config alloc\nstore 1 2 v1\n"));
    }

    #[test]
    fn errors_name_the_line() {
        for (text, line, what) in [
            ("mmap 0 1 rw- private anon\n", 1, "starts with"),
            ("config vma\nmmap 0 1 rw- private\n", 2, "takes 5"),
            ("config vma\n\nmunmap 0x1 zz\n", 3, "not a number"),
            (
                "config vma\nmmap 0 1 rw- private file7\n",
                2,
                "file0 to file3",
            ),
            ("config vma\nmmap 0 1 rq- private anon\n", 2, "not a number"),
            ("config vma bogus=1\n", 1, "unknown setting"),
            ("config vma\nfrob\n", 2, "unknown VMA op"),
            ("config vma\nconfig vma\n", 2, "first line"),
        ] {
            let e = parse_vma_program(text).unwrap_err();
            assert_eq!(e.line, line, "{text:?}: {e}");
            assert!(e.message.contains(what), "{text:?}: {e}");
        }
    }
}
