//! A fatal signal in the kernel engine's C is a failure like any other, end
//! to end. The `destroy-uaf` variant plants a use after free in
//! `mte_destroy_walk()` (it reads the first child of the node it has just
//! freed; freed nodes are poisoned, so the read goes through a wild
//! pointer): a campaign finds it and leaves the program in flight on disk;
//! `replay` dies of the signal and says at which step, `replay --trace`
//! ends with that op; `shrink` runs every candidate in a child process and
//! cuts a program of more than 1,000 ops to at most 10, with a Rust test
//! that runs the program in a child process and a C snippet.
//!
//! Without a Linux source at build time these tests say so and pass, unless
//! `MAPLEFUZZ_REQUIRE_KERNEL` is set (CI sets it).

mod common;

use maplefuzz::diff::{self, isolated, Check};
use maplefuzz::engine::kernel::variants;
use maplefuzz::engine::EngineSet;
use maplefuzz::ops::text::{format_op, parse_program};
use maplefuzz::ops::{AnyProgram, Program};
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};

use common::{maplefuzz, text};

/// The kernel engine, with the planted variant this file needs.
fn available() -> bool {
    if !common::kernel_available() {
        return false;
    }
    assert!(
        variants().iter().any(|v| v.name == "destroy-uaf"),
        "the planted variant applies to this tree"
    );
    true
}

const PLANTED: &str = "oracle,rust,kernel:destroy-uaf";

/// The signal the planted use after free dies of: a wild pointer's SIGSEGV,
/// or under AddressSanitizer (`MAPLEFUZZ_KERNEL_SANITIZE`) the report's
/// abort, since the freed node is poisoned.
fn planted_signal() -> i32 {
    if maplefuzz_kernel::sanitizers().contains(&"address") {
        libc::SIGABRT
    } else {
        libc::SIGSEGV
    }
}

fn isolate_name(signal: i32) -> String {
    maplefuzz_kernel::isolate::signal_name(signal)
}

/// The step a dying process said it was at.
fn died_at(stderr: &str) -> usize {
    let rest = stderr
        .split("died during step ")
        .nth(1)
        .unwrap_or_else(|| panic!("no step named: {stderr}"));
    rest.split(|c: char| !c.is_ascii_digit())
        .next()
        .unwrap()
        .parse()
        .unwrap()
}

/// Runs `p` on the engines of `spec` in a child process.
fn run_in_child(spec: &str, p: &Program) -> Result<diff::RunStats, Box<diff::Divergence>> {
    let set = EngineSet::parse(spec).unwrap();
    isolated::run_isolated(&AnyProgram::Tree(p.clone()), &set, isolated::DEFAULT_LIMIT)
}

#[test]
fn a_wild_pointer_in_the_c_engine_is_found_replayed_named_and_shrunk() {
    if !available() {
        return;
    }
    let dir = common::temp_dir("fatal-whole-path");
    let crashes = dir.join("crashes");

    // The campaign dies of the signal, the program in flight on disk.
    let out = maplefuzz(&[
        "--engines",
        PLANTED,
        "fuzz",
        "--target",
        "tree_ops",
        "--seconds",
        "60",
        "--seed",
        "1",
        "--crash-dir",
        crashes.to_str().unwrap(),
        "--quiet",
    ]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.signal(), Some(planted_signal()), "{stderr}");
    let files: Vec<PathBuf> = std::fs::read_dir(&crashes)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(files.len(), 1, "{files:?}");
    let file = &files[0];
    assert!(file
        .file_name()
        .unwrap()
        .to_str()
        .unwrap()
        .starts_with("crash-signal-"));
    let step = died_at(&stderr);
    let AnyProgram::Tree(program) = AnyProgram::decode(&std::fs::read(file).unwrap()) else {
        panic!("a tree program")
    };
    // A generated program, long enough that shrinking it is real work (583
    // ops with seed 1 since the state phase joined tree_ops' stream).
    assert!(program.ops.len() >= 100, "{} ops", program.ops.len());
    let op = format_op(&program.ops[step]);

    // replay dies of it too, and says where; the trace ends with the op.
    let out = maplefuzz(&["--engines", PLANTED, "replay", file.to_str().unwrap()]);
    assert_eq!(out.status.signal(), Some(planted_signal()));
    assert_eq!(died_at(&text(&out.stderr)), step);
    let out = maplefuzz(&[
        "--engines",
        PLANTED,
        "replay",
        "--trace",
        file.to_str().unwrap(),
    ]);
    assert_eq!(out.status.signal(), Some(planted_signal()));
    let stdout = text(&out.stdout);
    let last = stdout.lines().last().unwrap();
    assert!(
        last.trim_start().starts_with(&format!("{step}  {op}")),
        "the last line names the op that crashed ({step}: {op}): {last}"
    );

    // shrink: every candidate in a child process, one bug, at most 10 ops.
    let reg = dir.join("regressions");
    let snippets = dir.join("snippets");
    let out = maplefuzz(&[
        "--engines",
        PLANTED,
        "shrink",
        "--out",
        reg.to_str().unwrap(),
        "--snippets",
        snippets.to_str().unwrap(),
        "--seconds",
        "300",
        "--quiet",
        file.to_str().unwrap(),
    ]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}{}", text(&out.stderr));
    let bugs: Vec<&str> = stdout.lines().filter(|l| l.starts_with("bug ")).collect();
    assert_eq!(bugs.len(), 1, "{stdout}");
    let signature = bugs[0].split_whitespace().nth(1).unwrap();
    let prefix = format!("fatal-{}-", isolate_name(planted_signal()));
    assert!(signature.starts_with(&prefix), "{signature}");
    assert!(signature.ends_with("-kernel"), "{signature}");
    let text_file = bugs[0].split_whitespace().nth(3).unwrap();
    let shrunk = parse_program(&std::fs::read_to_string(text_file).unwrap()).unwrap();
    assert!(
        shrunk.ops.len() <= 10,
        "{} ops: {shrunk:?}",
        shrunk.ops.len()
    );

    // The shrunk program dies the same way, in a child; the fixed build
    // runs it clean.
    let d = run_in_child(PLANTED, &shrunk).expect_err("it still dies");
    assert_eq!(d.check, Check::Signal, "{d}");
    assert_eq!(d.bug_signature(), signature);
    assert_eq!(d.step, shrunk.ops.len() - 1, "cut after the op that dies");
    run_in_child("oracle,rust,kernel:fixed", &shrunk).unwrap();

    // The C snippet and the Rust test, which runs the program in a child
    // process: it fails with the planted variant and passes without it.
    let target_dir = Path::new(text_file).parent().unwrap();
    let target = target_dir.file_name().unwrap().to_str().unwrap();
    let stem = Path::new(text_file).file_stem().unwrap().to_str().unwrap();
    let c = std::fs::read_to_string(snippets.join(target).join(format!("{stem}.c"))).unwrap();
    assert!(
        c.contains("static noinline void __init check_maplefuzz_"),
        "{c}"
    );
    let rust = std::fs::read_to_string(snippets.join(target).join(format!("{stem}.rs"))).unwrap();
    assert!(rust.contains("isolated::run_isolated"), "{rust}");
    let failing =
        common::run_generated_test_with("fatal", &rust, None, &[("MAPLEFUZZ_ENGINES", PLANTED)]);
    let report = text(&failing.stdout) + &text(&failing.stderr);
    assert!(!failing.status.success(), "{report}");
    assert!(report.contains("signal check failed"), "{report}");
    let passing = common::run_generated_test_with(
        "fatal",
        &rust,
        None,
        &[("MAPLEFUZZ_ENGINES", "oracle,rust,kernel:fixed")],
    );
    assert!(
        passing.status.success(),
        "{}{}",
        text(&passing.stdout),
        text(&passing.stderr)
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// The watchdog: the `erase-spin` variant plants an endless loop in
/// `mtree_erase()`. A campaign stops at the first program that reaches it,
/// writes it as a hang file and exits 1; replaying the file hangs the same
/// way (and writes `hang-replay.txt`); the fixed build runs it clean.
#[test]
fn an_endless_loop_in_the_c_engine_is_a_hang_on_disk() {
    if !common::kernel_available() {
        return;
    }
    assert!(variants().iter().any(|v| v.name == "erase-spin"));
    let dir = common::temp_dir("fatal-hang");
    let crashes = dir.join("crashes");
    let engines = "oracle,rust,kernel:erase-spin";
    let out = maplefuzz(&[
        "--engines",
        engines,
        "fuzz",
        "--target",
        "tree_ops",
        "--seconds",
        "120",
        "--seed",
        "1",
        "--crash-dir",
        crashes.to_str().unwrap(),
        "--quiet",
        "--hang-seconds",
        "2",
    ]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("HANG: an execution ran longer than 2.0s"),
        "{stderr}"
    );
    let hang: Vec<PathBuf> = std::fs::read_dir(&crashes)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "txt"))
        .collect();
    assert_eq!(hang.len(), 1, "{hang:?}");
    let name = hang[0].file_name().unwrap().to_str().unwrap().to_string();
    assert!(name.starts_with("hang-tree_ops-"), "{name}");
    let program = parse_program(&std::fs::read_to_string(&hang[0]).unwrap()).unwrap();
    assert!(
        program
            .ops
            .iter()
            .any(|op| matches!(op, maplefuzz::ops::TreeOp::Erase { .. })),
        "the program reaches mtree_erase()"
    );

    let again = dir.join("again");
    let out = maplefuzz(&[
        "--engines",
        engines,
        "replay",
        hang[0].to_str().unwrap(),
        "--hang-seconds",
        "2",
        "--hang-dir",
        again.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(again.join("hang-replay.txt").exists());
    let out = maplefuzz(&[
        "--engines",
        "oracle,rust,kernel:fixed",
        "replay",
        hang[0].to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
}
