//! `ci/nightly.sh` end to end with the planted `stale-node-store` bug: it
//! fuzzes, shrinks every crash, reports one deduplicated reproducer and
//! exits 1; without the bug it exits 0.

mod common;

use common::text;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn nightly(out: &Path, budget: &str, libfuzzer: bool, mutant: bool) -> Output {
    nightly_on(out, budget, libfuzzer, mutant, None)
}

/// [`nightly`] with `MAPLEFUZZ_ENGINES` set to `engines` (else unset).
fn nightly_on(
    out: &Path,
    budget: &str,
    libfuzzer: bool,
    mutant: bool,
    engines: Option<&str>,
) -> Output {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut c = Command::new("bash");
    match engines {
        Some(e) => c.env("MAPLEFUZZ_ENGINES", e),
        None => c.env_remove("MAPLEFUZZ_ENGINES"),
    };
    c.arg(root.join("ci/nightly.sh"))
        .env("CI", "true")
        .env("NIGHTLY_BUDGET", budget)
        .env("NIGHTLY_TARGETS", "tree_ops tree_prealloc")
        .env("NIGHTLY_OUT", out)
        .env("NIGHTLY_KNOWN", root.join("ci/known-bugs.txt"))
        .env("MAPLEFUZZ_BIN", env!("CARGO_BIN_EXE_maplefuzz"))
        .env("NIGHTLY_LIBFUZZER", if libfuzzer { "1" } else { "0" });
    if mutant {
        c.env("MAPLEFUZZ_MUTANT", "stale-node-store");
    } else {
        c.env_remove("MAPLEFUZZ_MUTANT");
    }
    c.output().expect("run ci/nightly.sh")
}

fn out_dir(name: &str) -> PathBuf {
    let d = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("nightly-{name}"));
    let _ = std::fs::remove_dir_all(&d);
    d
}

fn check_planted(out: &Path, run: &Output) {
    let stdout = text(&run.stdout);
    assert_eq!(run.status.code(), Some(1), "{stdout}{}", text(&run.stderr));
    let bugs: Vec<&str> = stdout.lines().filter(|l| l.starts_with("bug ")).collect();
    assert_eq!(bugs.len(), 1, "{stdout}");
    assert!(
        bugs[0].starts_with("bug corrupt-node_store-rust "),
        "{stdout}"
    );
    let regs: Vec<_> = std::fs::read_dir(out.join("regressions"))
        .unwrap()
        .flat_map(|d| std::fs::read_dir(d.unwrap().path()).unwrap())
        .collect();
    assert_eq!(regs.len(), 1, "one reproducer: {regs:?}");
    let md = std::fs::read_to_string(out.join("summary.md")).unwrap();
    assert!(md.contains("distinct bugs: 1 (new: 1, known: 0)"), "{md}");
    let json = std::fs::read_to_string(out.join("summary.json")).unwrap();
    assert!(
        json.contains("\"new_bugs\": [\"corrupt-node_store-rust\"]"),
        "{json}"
    );
}

#[test]
fn the_stable_driver_lane_reports_the_planted_bug_once() {
    let out = out_dir("stable-planted");
    let run = nightly(&out, "3", false, true);
    check_planted(&out, &run);
    // Both targets found it; one reproducer.
    let md = std::fs::read_to_string(out.join("summary.md")).unwrap();
    assert!(md.contains("| tree_prealloc |"), "{md}");

    let clean = out_dir("stable-clean");
    let run = nightly(&clean, "2", false, false);
    let stdout = text(&run.stdout);
    assert_eq!(run.status.code(), Some(0), "{stdout}{}", text(&run.stderr));
    assert!(stdout.contains("distinct bugs: 0"), "{stdout}");
    assert!(!clean.join("regressions").exists());
    // A bad budget is a usage error.
    let run = nightly(&clean, "ten", false, false);
    assert_eq!(run.status.code(), Some(2));
}

/// A fatal signal in the kernel engine's C (the planted `destroy-uaf`
/// variant) kills the stable driver; the nightly shrinks the program it
/// left on disk in child processes and reports the bug once.
#[test]
fn the_nightly_reports_a_fatal_signal_in_the_c_engine_once() {
    if let Some(why) = maplefuzz::engine::kernel::unavailable_reason() {
        assert!(
            std::env::var_os("MAPLEFUZZ_REQUIRE_KERNEL").is_none(),
            "MAPLEFUZZ_REQUIRE_KERNEL is set but {why}"
        );
        return;
    }
    let out = out_dir("signal-planted");
    let run = nightly_on(
        &out,
        "5",
        false,
        false,
        Some("oracle,rust,kernel:destroy-uaf"),
    );
    let stdout = text(&run.stdout);
    assert_eq!(run.status.code(), Some(1), "{stdout}{}", text(&run.stderr));
    let bugs: Vec<&str> = stdout.lines().filter(|l| l.starts_with("bug ")).collect();
    assert_eq!(bugs.len(), 1, "{stdout}");
    assert!(bugs[0].starts_with("bug fatal-SIGSEGV-"), "{stdout}");
    let md = std::fs::read_to_string(out.join("summary.md")).unwrap();
    assert!(md.contains("distinct bugs: 1 (new: 1, known: 0)"), "{md}");
}

#[test]
#[ignore = "runs cargo fuzz (builds the fuzz targets: minutes on a fresh clone)"]
fn the_full_nightly_reports_the_planted_bug_once() {
    let out = out_dir("full-planted");
    let run = nightly(&out, "10", true, true);
    check_planted(&out, &run);
    let json = std::fs::read_to_string(out.join("summary.json")).unwrap();
    assert!(json.contains("\"libfuzzer\": {\"execs\": "), "{json}");
}
