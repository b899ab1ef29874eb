//! `maplefuzz shrink FILE...`: minimise failing programs, one reproducer
//! per distinct bug.
//!
//! Each file (text or binary, a cargo-fuzz or honggfuzz crash file
//! included) is read as `replay` reads it, with its target taken from
//! `--target`, else from a path component naming a target
//! (`fuzz/artifacts/tree_alloc/crash-...`), else from its ops. A binary
//! `tree_alloc` input gets the allocation-tree config its fuzz target
//! forces. The program is shrunk ([`crate::shrink`]), then the failures
//! are grouped by [`Divergence::bug_signature`](crate::diff::Divergence::bug_signature)
//! and the simplest program of each group is written:
//!
//! - `<out>/<target>/<signature>.txt`, the text reproducer (by default
//!   `corpus/regressions/`, which `cargo test` replays);
//! - `<snippets>/<target>/<signature>.rs`, a `#[test]` to paste;
//! - `<snippets>/<target>/<signature>.c`, a `lib/test_maple_tree.c` check
//!   for a tree program, a C program of the same system calls for a VMA
//!   program.
//!
//! VMA programs (`vma_ops`) are read the same way; a raw fuzzer input gets
//! the profile its fuzz target gives it on the engine set
//! (`diff::vma::fuzz_profile`).

use super::replay::{load_any_as, Format};
use super::{DriverError, Target};
use crate::diff::{self, Check, Event};
use crate::engine::EngineSet;
use crate::ops::{AnyProgram, Program, TreeOp};
use crate::shrink::{self, Reproducer, Shrinkable, Shrunk};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// What `maplefuzz shrink` does.
#[derive(Clone, Debug)]
pub struct ShrinkOptions {
    /// The program files.
    pub files: Vec<PathBuf>,
    /// The target of every file (`None`: inferred per file).
    pub target: Option<Target>,
    /// The root of the text reproducers (`corpus/regressions`).
    pub out: PathBuf,
    /// Where the Rust test and the C snippet go.
    pub snippets: PathBuf,
    /// Limits of each file's shrink.
    pub limits: shrink::Options,
    /// The engines tree programs run on.
    pub engines: EngineSet,
}

/// One distinct bug: the simplest shrunk program of its signature.
#[derive(Debug)]
pub struct Bug {
    /// [`crate::diff::Divergence::bug_signature`].
    pub signature: String,
    /// The target of the file it was shrunk from.
    pub target: Target,
    /// The shrink kept.
    pub shrunk: Shrunk<AnyProgram>,
    /// The input file the kept shrink came from.
    pub source: PathBuf,
    /// Every input file that failed this way, in the order given.
    pub sources: Vec<PathBuf>,
    /// The files written: text, Rust test, C snippet.
    pub text_path: PathBuf,
    /// See `text_path`.
    pub rust_path: PathBuf,
    /// See `text_path`.
    pub c_path: PathBuf,
    /// The Rust test.
    pub rust: String,
    /// The C snippet.
    pub c: String,
    /// For a VMA bug, the C program on the kernel VMA engine
    /// (`ci/check-vma-snippet.sh` runs it in a kernel tree).
    pub engine_c_path: Option<PathBuf>,
}

/// What a `shrink` run found.
#[derive(Debug, Default)]
pub struct ShrinkReport {
    /// One entry per distinct bug, by signature.
    pub bugs: Vec<Bug>,
    /// Inputs that ran clean (nothing to shrink), and why.
    pub clean: Vec<(PathBuf, String)>,
    /// Inputs that could not be read as programs (the others are still
    /// shrunk).
    pub unreadable: Vec<DriverError>,
}

impl ShrinkReport {
    /// Exit status: 0 every input failed and was shrunk, 1 some input did
    /// not fail, 2 some input could not be read.
    pub fn exit_code(&self) -> i32 {
        if !self.unreadable.is_empty() {
            2
        } else {
            i32::from(!self.clean.is_empty())
        }
    }
}

/// The target of a program file: a path component naming a target, else
/// a `# target: NAME` comment line (the header of the stable driver's and
/// the shrinker's files), else the kind of ops it holds.
pub fn infer_target(path: &Path, program: &AnyProgram) -> Target {
    let program = match program {
        AnyProgram::Vma(_) => return Target::VmaOps,
        AnyProgram::Tree(p) => p,
    };
    for c in path.components().rev() {
        if let Some(t) = c.as_os_str().to_str().and_then(Target::from_name) {
            return t;
        }
    }
    if let Ok(text) = std::fs::read_to_string(path) {
        let named = text
            .lines()
            .filter_map(|l| l.strip_prefix("# target: "))
            .find_map(|rest| rest.split_whitespace().next().and_then(Target::from_name));
        if let Some(t) = named {
            return t;
        }
    }
    let any = |f: fn(&TreeOp) -> bool| program.ops.iter().any(f);
    if any(|op| matches!(op, TreeOp::FailAllocs { .. })) {
        Target::TreeFaults
    } else if any(|op| {
        matches!(
            op,
            TreeOp::Prealloc { .. }
                | TreeOp::StorePrealloc { .. }
                | TreeOp::MasStore { .. }
                | TreeOp::MasDestroy
        )
    }) {
        Target::TreePrealloc
    } else if program.config.alloc
        && any(|op| {
            matches!(
                op,
                TreeOp::EmptyArea { .. }
                    | TreeOp::EmptyAreaRev { .. }
                    | TreeOp::CurEmptyArea { .. }
                    | TreeOp::CurEmptyAreaRev { .. }
                    | TreeOp::AllocRange { .. }
                    | TreeOp::AllocRRange { .. }
                    | TreeOp::AllocCyclic { .. }
            )
        })
    {
        Target::TreeAlloc
    } else {
        Target::TreeOps
    }
}

/// Reads `path` as its target's fuzz driver would run it. A program of
/// the other language than the target's is an error (a VMA program given
/// `--target tree_ops`, a tree text program given `--target vma_ops`).
pub fn load_for_target(
    path: &Path,
    target: Option<Target>,
    engines: &EngineSet,
) -> Result<(AnyProgram, Target), DriverError> {
    let (mut program, format) = load_any_as(path, target == Some(Target::VmaOps))?;
    let target = target.unwrap_or_else(|| infer_target(path, &program));
    let mismatch = |what: &str| DriverError::Input {
        path: path.to_path_buf(),
        message: format!("{what}, but the target is {}", target.name()),
    };
    match (&mut program, format) {
        (AnyProgram::Tree(_), Format::Text) if target == Target::VmaOps => {
            return Err(mismatch("a maple tree program (no `config vma` line)"))
        }
        (AnyProgram::Vma(_), _) if target != Target::VmaOps => {
            return Err(mismatch("a VMA program (its first line is `config vma`)"))
        }
        (AnyProgram::Tree(p), Format::Binary) if target == Target::TreeAlloc => {
            // fuzz/fuzz_targets/tree_alloc.rs forces an allocation tree.
            p.config.alloc = true;
        }
        (AnyProgram::Vma(p), Format::Binary) => super::replay::as_fuzzed(path, p, engines),
        _ => {}
    }
    Ok((program, target))
}

/// What the executor did on `p` (for the C snippet: its pauses and
/// injected failures).
pub fn events_of(p: &Program, engines: &EngineSet) -> Vec<Event> {
    let mut events = Vec::new();
    let mut engines = engines.build(p.config);
    let _ = shrink::quiet_panics(|| {
        diff::run_observed(p, &mut engines, diff::Options::default(), &mut |e| {
            events.push(e)
        })
    });
    events
}

/// [`events_of`] for a program that failed with `d`, without running what
/// kills the process: before a fatal signal only the steps before the one
/// that died (each ran clean in the child); for a hang, whose step is not
/// known, nothing.
fn events_safely(p: &Program, d: &crate::diff::Divergence, engines: &EngineSet) -> Vec<Event> {
    match d.check {
        Check::Signal => {
            let mut before = p.clone();
            before.ops.truncate(d.step);
            events_of(&before, engines)
        }
        Check::Hang => Vec::new(),
        _ => events_of(p, engines),
    }
}

/// Shrinks every file, groups by bug signature, writes one reproducer per
/// bug. An unreadable file is reported and skipped; errors only for
/// unwritable output.
pub fn shrink_files(opts: &ShrinkOptions) -> Result<ShrinkReport, DriverError> {
    let mut report = ShrinkReport::default();
    // Per signature: the simplest shrink (the first of equals) and its
    // file, and every file that failed this way.
    let mut best: BTreeMap<String, (Target, Shrunk<AnyProgram>, PathBuf, Vec<PathBuf>)> =
        BTreeMap::new();
    for path in &opts.files {
        let (program, target) = match load_for_target(path, opts.target, &opts.engines) {
            Ok(p) => p,
            Err(e) => {
                report.unreadable.push(e);
                continue;
            }
        };
        match shrink::shrink_any(&program, &opts.engines, &opts.limits) {
            Err(e) => report.clean.push((path.clone(), e.to_string())),
            Ok(s) => {
                let sig = s.divergence.bug_signature();
                match best.get_mut(&sig) {
                    Some((t, kept, source, sources)) => {
                        sources.push(path.clone());
                        if s.program.cost() < kept.program.cost() {
                            *t = target;
                            *kept = s;
                            *source = path.clone();
                        }
                    }
                    None => {
                        best.insert(sig, (target, s, path.clone(), vec![path.clone()]));
                    }
                }
            }
        }
    }
    for (signature, (target, shrunk, source, sources)) in best {
        let bug = Bug {
            text_path: PathBuf::new(),
            rust_path: PathBuf::new(),
            c_path: PathBuf::new(),
            engine_c_path: None,
            rust: String::new(),
            c: String::new(),
            signature,
            target,
            shrunk,
            source,
            sources,
        };
        report.bugs.push(write_bug(opts, bug)?);
    }
    Ok(report)
}

/// Writes the three files of `bug` and records them in it.
fn write_bug(opts: &ShrinkOptions, mut bug: Bug) -> Result<Bug, DriverError> {
    let (signature, target) = (&bug.signature, bug.target);
    let stem = super::crash::sanitize(signature);
    let text_path = opts.out.join(target.name()).join(format!("{stem}.txt"));
    let snippets = opts.snippets.join(target.name());
    let rust_path = snippets.join(format!("{stem}.rs"));
    let c_path = snippets.join(format!("{stem}.c"));
    let source = bug.source.display().to_string();
    let r = Reproducer {
        target: target.name(),
        source: &source,
        shrunk: &bug.shrunk,
    };
    let text = shrink::text::regression(&r, &text_path.display().to_string());
    let (rust, c) = match &bug.shrunk.program {
        AnyProgram::Tree(p) => {
            let typed = bug.shrunk.with_program(p.clone());
            let r = r.over(&typed);
            (
                shrink::rust::test_fn(&r),
                shrink::c::check_fn(&r, &events_safely(p, &bug.shrunk.divergence, &opts.engines)),
            )
        }
        AnyProgram::Vma(p) => {
            let typed = bug.shrunk.with_program(p.clone());
            let r = r.over(&typed);
            let engine_c = snippets.join(format!("{stem}.engine.c"));
            write_file(&engine_c, &shrink::vma_engine::vma_engine_program(&r))?;
            bug.engine_c_path = Some(engine_c);
            (
                shrink::rust::vma_test_fn(&r),
                shrink::syscalls::vma_program(&r),
            )
        }
    };
    for (path, body) in [(&text_path, &text), (&rust_path, &rust), (&c_path, &c)] {
        write_file(path, body)?;
    }
    bug.text_path = text_path;
    bug.rust_path = rust_path;
    bug.c_path = c_path;
    bug.rust = rust;
    bug.c = c;
    Ok(bug)
}

fn write_file(path: &Path, body: &str) -> Result<(), DriverError> {
    let err = |e: std::io::Error| DriverError::Input {
        path: path.to_path_buf(),
        message: format!("cannot write: {e}"),
    };
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(err)?;
    }
    std::fs::write(path, body).map_err(err)
}

/// The human report: per bug a `bug` line (`bug <signature> <target>
/// <text file>`, for scripts), the summary, and with `full` the program,
/// the Rust test and the C snippet; then the inputs that ran clean.
pub fn print_report(r: &ShrinkReport, full: bool) -> String {
    let mut s = String::new();
    for b in &r.bugs {
        let _ = writeln!(
            s,
            "bug {} {} {}",
            b.signature,
            b.target.name(),
            b.text_path.display()
        );
        let _ = writeln!(
            s,
            "  {} ops from {} input(s) ({} ops in {}; {} runs, {:.3} s{})",
            b.shrunk.program.len(),
            b.sources.len(),
            b.shrunk.original_ops,
            b.source.display(),
            b.shrunk.runs,
            b.shrunk.elapsed.as_secs_f64(),
            if b.shrunk.complete {
                ""
            } else {
                ", cut short by the limits"
            }
        );
        let _ = writeln!(
            s,
            "  Rust test {}, C snippet {}",
            b.rust_path.display(),
            b.c_path.display()
        );
        if let Some(e) = &b.engine_c_path {
            let _ = writeln!(
                s,
                "  on the kernel's own VMA code: {} (ci/check-vma-snippet.sh)",
                e.display()
            );
        }
        if full {
            let _ = writeln!(s, "\n{}", b.shrunk.program.text());
            let _ = writeln!(s, "{}", b.shrunk.divergence.to_string().trim_end());
            let _ = writeln!(s, "\n// ---- Rust test ----\n{}", b.rust);
            let _ = writeln!(s, "/* ---- C snippet ---- */\n{}", b.c);
        }
    }
    for (path, why) in &r.clean {
        let _ = writeln!(s, "clean {}: {why}", path.display());
    }
    for e in &r.unreadable {
        let _ = writeln!(s, "unreadable {e}");
    }
    s
}

/// [`json_report`]'s document: `{"bugs": [...], "clean": [...],
/// "unreadable": [...]}`. `ci/nightly.sh` copies it into its summary
/// (`maplefuzz nightly-summary --shrink`), which reads it back with this
/// type.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ShrinkJson {
    /// One entry per distinct bug, by signature.
    pub bugs: Vec<BugJson>,
    /// The inputs that ran clean.
    pub clean: Vec<CleanJson>,
    /// The inputs that could not be read, each as its error message.
    pub unreadable: Vec<String>,
}

/// One [`Bug`] in [`ShrinkJson`]; paths as [`Path::display`] shows them.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BugJson {
    /// [`Bug::signature`].
    pub signature: String,
    /// The target's name.
    pub target: String,
    /// The check that fired (`Check::name`).
    pub check: String,
    /// The failing op.
    pub op: String,
    /// The engine the divergence names.
    pub engine: String,
    /// The shrunk program's op count.
    pub ops: usize,
    /// The op count of the program it was shrunk from.
    pub original_ops: usize,
    /// Candidate runs of the shrink.
    pub runs: u64,
    /// Whether the shrink finished within its limits.
    pub complete: bool,
    /// The shrink's wall time, rounded to the millisecond.
    pub seconds: f64,
    /// The text reproducer.
    pub text: String,
    /// The Rust test.
    pub rust: String,
    /// The C snippet.
    pub c: String,
    /// The input file the kept shrink came from.
    pub source: String,
    /// Every input file that failed this way.
    pub sources: Vec<String>,
    /// The shrunk program as text.
    pub program: String,
}

/// An input that ran clean, and why.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CleanJson {
    /// The input file.
    pub file: String,
    /// Why nothing was shrunk.
    pub why: String,
}

impl ShrinkJson {
    /// The JSON view of `r`.
    pub fn new(r: &ShrinkReport) -> ShrinkJson {
        let shown = |p: &Path| p.display().to_string();
        ShrinkJson {
            bugs: r
                .bugs
                .iter()
                .map(|b| {
                    let d = &b.shrunk.divergence;
                    BugJson {
                        signature: b.signature.clone(),
                        target: b.target.name().to_string(),
                        check: d.check.name().to_string(),
                        op: d.op.to_string(),
                        engine: d.engine.clone(),
                        ops: b.shrunk.program.len(),
                        original_ops: b.shrunk.original_ops,
                        runs: b.shrunk.runs,
                        complete: b.shrunk.complete,
                        seconds: (b.shrunk.elapsed.as_secs_f64() * 1e3).round() / 1e3,
                        text: shown(&b.text_path),
                        rust: shown(&b.rust_path),
                        c: shown(&b.c_path),
                        source: shown(&b.source),
                        sources: b.sources.iter().map(|p| shown(p)).collect(),
                        program: b.shrunk.program.text(),
                    }
                })
                .collect(),
            clean: r
                .clean
                .iter()
                .map(|(p, why)| CleanJson {
                    file: shown(p),
                    why: why.clone(),
                })
                .collect(),
            unreadable: r.unreadable.iter().map(|e| e.to_string()).collect(),
        }
    }

    /// The document, pretty-printed, with a final newline.
    pub fn to_json(&self) -> String {
        let mut s = serde_json::to_string_pretty(self).expect("a shrink report serializes");
        s.push('\n');
        s
    }
}

/// The report as JSON ([`ShrinkJson`]), for `maplefuzz shrink --json`.
pub fn json_report(r: &ShrinkReport) -> String {
    ShrinkJson::new(r).to_json()
}

/// Default limits of the command line: `seconds` per file.
pub fn limits(seconds: u64, max_runs: u64) -> shrink::Options {
    shrink::Options {
        max_runs,
        timeout: (seconds > 0).then(|| Duration::from_secs(seconds)),
        hang: crate::diff::isolated::DEFAULT_LIMIT,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Quotes, backslashes and newlines in any string field come back as
    /// they went in.
    #[test]
    fn the_json_report_round_trips_odd_strings() {
        let odd = "sig \"quoted\" back\\slash\nnewline\ttab \u{1}";
        let doc = ShrinkJson {
            bugs: vec![BugJson {
                signature: odd.to_string(),
                target: "tree_ops".to_string(),
                check: "validate".to_string(),
                op: "store 0x5 max v3".to_string(),
                engine: "rust".to_string(),
                ops: 2,
                original_ops: 200,
                runs: 46,
                complete: true,
                seconds: 0.001,
                text: format!("{odd}.txt"),
                rust: format!("{odd}.rs"),
                c: format!("{odd}.c"),
                source: odd.to_string(),
                sources: vec![odd.to_string(), "plain".to_string()],
                program: "store 0x10 max v2\nstore 0x5 max v3\n".to_string(),
            }],
            clean: vec![CleanJson {
                file: odd.to_string(),
                why: odd.to_string(),
            }],
            unreadable: vec![odd.to_string()],
        };
        let json = doc.to_json();
        let back: ShrinkJson = serde_json::from_str(&json).unwrap();
        assert_eq!(back, doc);
        let v: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(v["bugs"][0]["signature"], odd);
        assert_eq!(v["clean"][0]["file"], odd);
    }
}
