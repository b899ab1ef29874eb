//! `ci/nightly.sh` end to end with the planted `stale-node-store` bug: it
//! fuzzes, shrinks every crash, reports one deduplicated reproducer and
//! exits 1; without the bug it exits 0.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn nightly(out: &Path, budget: &str, libfuzzer: bool, mutant: bool) -> Output {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut c = Command::new("bash");
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

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
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

#[test]
#[ignore = "runs cargo fuzz (builds the fuzz targets: minutes on a fresh clone)"]
fn the_full_nightly_reports_the_planted_bug_once() {
    let out = out_dir("full-planted");
    let run = nightly(&out, "10", true, true);
    check_planted(&out, &run);
    let json = std::fs::read_to_string(out.join("summary.json")).unwrap();
    assert!(json.contains("\"libfuzzer\": {\"execs\": "), "{json}");
}
