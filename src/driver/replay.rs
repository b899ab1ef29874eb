//! Replay: run one program from a file, optionally printing every step
//! (`--trace`, see `trace.rs`).
//!
//! A file is read as **text** (`ops::text`) when it is valid UTF-8 without
//! control characters other than tab, newline and carriage return, and as
//! **binary** (`ops::binary::decode`) otherwise, or when its name ends in
//! `.bin`, or when it is named as the fuzzers name their inputs (libFuzzer's
//! `crash-*`, `oom-*`, `timeout-*`, `leak-*`, `slow-unit-*`,
//! `minimized-from-*`; honggfuzz's `*.fuzz`), which the fuzzer decoded as
//! binary whatever bytes they hold. A name ending in `.txt` is always text:
//! the stable driver writes its reproducers as `crash-<sig>.txt` beside the
//! binary `crash-<sig>.bin`. A text file that does not parse is an
//! input error naming the line; it is never reinterpreted as binary.

use super::DriverError;
use crate::diff::{self, Divergence, RunStats};
use crate::engine::EngineSet;
use crate::ops::text::parse_program;
use crate::ops::{vma, AnyProgram, Program};
use std::io::Write;
use std::path::{Path, PathBuf};

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
    pub program: AnyProgram,
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

/// Reads a maple tree program file (see the module documentation for the
/// format). A VMA program is an input error here: the commands that call
/// this (shrink, sweep) take tree programs; `replay` takes both
/// ([`load_any`]).
pub fn load_program(path: &Path) -> Result<(Program, Format), DriverError> {
    match load_any(path)? {
        (AnyProgram::Tree(p), format) => Ok((p, format)),
        (AnyProgram::Vma(_), _) => Err(DriverError::Input {
            path: path.to_path_buf(),
            message: "a VMA program (target vma_ops): this command takes maple tree programs \
                      only; replay it with `maplefuzz replay`"
                .to_string(),
        }),
    }
}

/// Reads a program file of either language: text starting with
/// `config vma` is a VMA program, and so is binary that starts with the VMA
/// magic or lies under a folder named `vma_ops` (a fuzzer's input).
pub fn load_any(path: &Path) -> Result<(AnyProgram, Format), DriverError> {
    load_any_as(path, false)
}

/// [`load_any`], with binary input read as a VMA program whatever its
/// path when `vma_binary` (a `vma_ops` fuzzer input given `--target
/// vma_ops`: fuzzer inputs carry no magic).
pub fn load_any_as(path: &Path, vma_binary: bool) -> Result<(AnyProgram, Format), DriverError> {
    let input = |message: String| DriverError::Input {
        path: path.to_path_buf(),
        message,
    };
    let bytes = std::fs::read(path).map_err(|e| input(format!("cannot read: {e}")))?;
    let ext = path.extension().and_then(|e| e.to_str());
    let is_bin = matches!(ext, Some("bin" | "fuzz"))
        || ext != Some("txt")
            && path.file_name().and_then(|n| n.to_str()).is_some_and(|n| {
                [
                    "crash-",
                    "oom-",
                    "timeout-",
                    "leak-",
                    "slow-unit-",
                    "minimized-from-",
                ]
                .iter()
                .any(|p| n.starts_with(p))
            });
    match looks_like_text(&bytes) {
        Some(text) if !is_bin && vma::text::is_vma_text(text) => vma::text::parse_vma_program(text)
            .map(|p| (AnyProgram::Vma(p), Format::Text))
            .map_err(|e| input(e.to_string())),
        Some(text) if !is_bin => parse_program(text)
            .map(|p| (AnyProgram::Tree(p), Format::Text))
            .map_err(|e| input(e.to_string())),
        _ if vma_binary || path.components().any(|c| c.as_os_str() == "vma_ops") => {
            Ok((AnyProgram::Vma(vma::binary::decode(&bytes)), Format::Binary))
        }
        _ => Ok((AnyProgram::decode(&bytes), Format::Binary)),
    }
}

/// A VMA program read from a fuzzer's raw input (binary without the
/// magic) runs on the profile the fuzz target gave it
/// ([`fuzz_profile`](crate::diff::vma::fuzz_profile)); a program the
/// harness encoded keeps its own.
pub(crate) fn as_fuzzed(path: &Path, p: &mut vma::VmaProgram, engines: &EngineSet) {
    let raw = std::fs::read(path).is_ok_and(|b| !b.starts_with(vma::binary::MAGIC));
    if raw {
        crate::diff::vma::fuzz_profile(p, engines);
    }
}

/// Replays `path`, printing to stdout (see [`replay_to`]).
pub fn replay(path: &Path, trace: bool, engines: &EngineSet) -> Result<ReplayOutcome, DriverError> {
    let mut out = std::io::stdout().lock();
    replay_to(path, trace, engines, &mut out)
}

/// Replays `path` and writes what happened to `out`: a header, with
/// `trace` every step's op and each engine's outcome, then the divergence
/// (or a clean verdict).
pub fn replay_to(
    path: &Path,
    trace: bool,
    engines: &EngineSet,
    out: &mut dyn Write,
) -> Result<ReplayOutcome, DriverError> {
    let out_err = |e: std::io::Error| DriverError::Input {
        path: PathBuf::from("<stdout>"),
        message: e.to_string(),
    };
    let (any, format) = load_any(path)?;
    // A program that kills the process (a wild pointer in the kernel
    // engine's C) still says at which step it died.
    maplefuzz_kernel::inflight::watch();
    let program = match any {
        AnyProgram::Tree(p) => p,
        AnyProgram::Vma(mut p) => {
            if format == Format::Binary {
                as_fuzzed(path, &mut p, engines);
            }
            let result = replay_vma(path, &p, format, trace, engines, out).map_err(out_err)?;
            return Ok(ReplayOutcome {
                format,
                program: AnyProgram::Vma(p),
                result,
            });
        }
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

    let mut names: Vec<&'static str> = Vec::new();
    let mut events = Vec::new();
    let result = if trace {
        let set = engines;
        let mut engines = set.build(program.config);
        names = engines.iter().map(|e| e.name()).collect();
        let mut tracer = super::trace::Tracer::new(&mut *out, &program, names.clone());
        let result =
            diff::run_observed(&program, &mut engines, diff::Options::default(), &mut |e| {
                tracer.event(&e);
                events.push(e)
            });
        tracer.finish().map_err(out_err)?;
        result
    } else {
        diff::run(&program, engines)
    };

    match &result {
        Ok(stats) => match &stats.stopped {
            Some((step, why)) => writeln!(
                out,
                "no divergence; the run stopped at step {step} (not a tree bug): {why}"
            ),
            None => writeln!(
                out,
                "no divergence: {} ops, at most {} entries",
                stats.ops, stats.max_entries
            ),
        },
        Err(d) if trace => super::trace::print_divergence(out, d, &names, &events),
        Err(d) => write!(out, "{d}"),
    }
    .map_err(out_err)?;
    Ok(ReplayOutcome {
        format,
        program: AnyProgram::Tree(program),
        result,
    })
}

/// Replays a VMA program: with `trace`, every step's op and each engine's
/// answer and VMA count; then the divergence or a clean verdict.
fn replay_vma(
    path: &Path,
    p: &vma::VmaProgram,
    format: Format,
    trace: bool,
    engines: &EngineSet,
    out: &mut dyn Write,
) -> std::io::Result<Result<RunStats, Box<Divergence>>> {
    writeln!(
        out,
        "replaying {} ({}, {} ops, {})",
        path.display(),
        match format {
            Format::Text => "text",
            Format::Binary => "binary",
        },
        p.ops.len(),
        vma::text::format_setup(&p.setup)
    )?;
    if trace {
        super::trace::print_vma_trace(out, p, engines)?;
    }
    let result = diff::vma::run_set(p, engines);
    match &result {
        Ok(stats) => writeln!(
            out,
            "no divergence: {} ops, at most {} VMAs",
            stats.ops, stats.max_entries
        )?,
        Err(d) => write!(out, "{d}")?,
    }
    Ok(result)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_trace_shows_what_the_executor_did() {
        let dir = std::env::temp_dir().join(format!("maplefuzz-trace-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("p.txt");
        std::fs::write(
            &path,
            // Eight ranges fill the root leaf; the store at 0x300 must split.
            "config alloc\nstore 0x0 0x9 v1\nstore 0x10 0x19 v2\nstore 0x20 0x29 v3\n\
             store 0x30 0x39 v4\nstore 0x40 0x49 v5\nstore 0x50 0x59 v6\n\
             store 0x60 0x69 v7\nstore 0x70 0x79 v8\nmas_next max\n\
             fail_allocs next 1000\nstore 0x300 0x305 v9\nload 0x300\n",
        )
        .unwrap();
        let mut out = Vec::new();
        let r = replay_to(&path, true, &EngineSet::from_env(), &mut out).unwrap();
        assert!(!r.diverged());
        let text = String::from_utf8(out).unwrap();
        // The write pauses the cursor; the failed store shows both answers.
        assert!(
            text.contains("(the executor pauses the cursor after the write)"),
            "{text}"
        );
        assert!(text.contains("rust     ENOMEM"), "{text}");
        // Beside it, what the op would have done, labelled as such.
        assert!(
            text.contains("oracle   ok  (what the op does; injected failure: no effect)"),
            "{text}"
        );
        assert!(text.contains("load 0x300"), "{text}");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn fuzzer_inputs_are_binary_whatever_they_hold() {
        let dir = std::env::temp_dir().join(format!("maplefuzz-names-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        for name in [
            "crash-0a1b",
            "SIGABRT.PC.0.fuzz",
            "p.bin",
            "p.txt",
            "p",
            "crash-store-rust-0a1b.txt",
            "crash-store-rust-0a1b.bin",
        ] {
            let path = dir.join(name);
            std::fs::write(&path, "load 0x1\n").unwrap();
            let (_, format) = load_program(&path).unwrap();
            let want = if name.ends_with(".txt") || name == "p" {
                Format::Text
            } else {
                Format::Binary
            };
            assert_eq!(format, want, "{name}");
        }
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn text_detection() {
        assert!(looks_like_text(b"store 1 2 v1\r\n\tload 1\n").is_some());
        assert!(looks_like_text(b"").is_some());
        assert!(looks_like_text(b"\x00\x01").is_none());
        assert!(looks_like_text(&[0xff, 0xfe]).is_none());
    }
}
