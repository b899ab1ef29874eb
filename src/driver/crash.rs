//! Reproducer files: a failing program in text and binary form, on disk
//! (and synced) before the failure is reported anywhere else.

use crate::ops::AnyProgram;
use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// The two files of a reproducer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Artifact {
    /// The text form, with a `#` comment header.
    pub text: PathBuf,
    /// The binary form (`AnyProgram::encode`).
    pub binary: PathBuf,
}

/// A signature made safe as a file name: letters, digits, `-` and `_`.
pub(crate) fn sanitize(s: &str) -> String {
    let out: String = s
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if out.is_empty() {
        "crash".to_string()
    } else {
        out
    }
}

fn write_synced(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let mut f = File::create(path)?;
    f.write_all(bytes)?;
    f.sync_all()
}

/// Writes `<dir>/<stem>.txt` (the header as `#` comments, then the program)
/// and `<dir>/<stem>.bin`, creating `dir` if needed, and syncs both.
pub(crate) fn write_reproducer(
    dir: &Path,
    stem: &str,
    header: &[String],
    program: &AnyProgram,
) -> io::Result<Artifact> {
    fs::create_dir_all(dir)?;
    let mut text = String::new();
    for line in header {
        // One comment line per header line, whatever the line holds.
        for part in line.lines() {
            text.push_str("# ");
            text.push_str(part);
            text.push('\n');
        }
    }
    text.push_str(&program.text());
    let artifact = Artifact {
        text: dir.join(format!("{stem}.txt")),
        binary: dir.join(format!("{stem}.bin")),
    };
    write_synced(&artifact.text, text.as_bytes())?;
    write_synced(&artifact.binary, &program.encode())?;
    // Make the new directory entries durable too (best effort).
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(artifact)
}

/// The environment variable that makes the stable driver crash the
/// process with a real `SIGSEGV` at one execution (its index), to show that
/// the program in flight reaches the disk first (`kernel/src/inflight.rs`).
pub const CRASH_AT_ENV: &str = "MAPLEFUZZ_CRASH_AT";

/// The execution index [`CRASH_AT_ENV`] names (never without the
/// `mutants` feature).
pub fn crash_at() -> Option<u64> {
    if !crate::mutants::ENABLED {
        return None;
    }
    std::env::var(CRASH_AT_ENV).ok()?.parse().ok()
}

/// A deliberate invalid memory access: the process gets a real `SIGSEGV`,
/// as from a wild pointer in the kernel engine's C code.
pub fn segfault() {
    if crate::mutants::ENABLED {
        maplefuzz_kernel::inflight::segfault();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::text::parse_program;
    use crate::ops::TreeOp;

    #[test]
    fn sanitize_keeps_signatures() {
        assert_eq!(sanitize("result-store-rust"), "result-store-rust");
        assert_eq!(sanitize("a/b c"), "a_b_c");
        assert_eq!(sanitize(""), "crash");
    }

    #[test]
    fn reproducer_parses_back() {
        let dir = std::env::temp_dir().join(format!("maplefuzz-crash-unit-{}", std::process::id()));
        let p = AnyProgram::Tree(crate::ops::Program {
            config: Default::default(),
            ops: vec![TreeOp::Store {
                first: 1,
                last: 2,
                value: Some(3),
            }],
        });
        let header = vec!["two\nlines".to_string(), "x `y`".to_string()];
        let a = write_reproducer(&dir, "sig-00", &header, &p).unwrap();
        let text = fs::read_to_string(&a.text).unwrap();
        assert!(text.starts_with("# two\n# lines\n# x `y`\n"));
        assert_eq!(AnyProgram::Tree(parse_program(&text).unwrap()), p);
        assert!(a.binary.exists());
        let _ = fs::remove_dir_all(&dir);
    }
}
