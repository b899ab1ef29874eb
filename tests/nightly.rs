//! `ci/nightly.sh` end to end with the planted `stale-node-store` bug: it
//! fuzzes, shrinks every crash, reports one deduplicated reproducer and
//! exits 1; without the bug it exits 0. And `maplefuzz nightly-summary`,
//! which writes the script's `summary.json`.

mod common;

use common::text;
use maplefuzz::driver::nightly::NightlySummary;
use maplefuzz::driver::shrink::ShrinkJson;
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
        // The trees and sanitizers this test binary was built with.
        .env("NIGHTLY_LINUX_SRC", "")
        .env("NIGHTLY_KERNEL_SANITIZE", "")
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
    let s = summary(out);
    assert_eq!(s.new_bugs, ["corrupt-node_store-rust"], "{s:#?}");
    assert!(s.known_bugs.is_empty(), "{s:#?}");
    assert_eq!(s.mutant, "stale-node-store");
    let targets: Vec<&str> = s.targets.iter().map(|t| t.target.as_str()).collect();
    assert_eq!(targets, ["tree_ops", "tree_prealloc"]);
    assert!(s.crash_files >= 1, "{s:#?}");
    for t in &s.targets {
        assert_eq!(t.stable.exit, 1, "{s:#?}");
    }
    // The shrink report, as maplefuzz shrink wrote it.
    let shrink: ShrinkJson =
        serde_json::from_str(&std::fs::read_to_string(out.join("shrink.json")).unwrap()).unwrap();
    assert_eq!(s.shrink.as_ref(), Some(&shrink));
    assert_eq!(shrink.bugs[0].signature, "corrupt-node_store-rust");
}

/// `summary.json`, read back.
fn summary(out: &Path) -> NightlySummary {
    let json = std::fs::read_to_string(out.join("summary.json")).unwrap();
    serde_json::from_str(&json).unwrap_or_else(|e| panic!("{e}: {json}"))
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
    let s = summary(&clean);
    assert!(s.new_bugs.is_empty() && s.known_bugs.is_empty(), "{s:#?}");
    assert_eq!((s.crash_files, s.shrink), (0, None));
    assert_eq!((s.budget_seconds, s.mutant.as_str()), (2, ""));
    // libFuzzer did not run: its numbers are null.
    for t in &s.targets {
        assert_eq!(t.libfuzzer.exit, "skipped");
        assert_eq!(t.libfuzzer.execs, None);
        assert_eq!(t.stable.exit, 0);
    }
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
    let s = summary(&out);
    for t in &s.targets {
        assert!(t.libfuzzer.execs.is_some(), "{s:#?}");
        assert_ne!(t.libfuzzer.exit, "skipped", "{s:#?}");
    }
}

/// What the script hands `maplefuzz nightly-summary`, with a quote, a
/// backslash and a newline in a signature, an artifact's path, the
/// mutant and the shrink report's folder, comes back from summary.json
/// as it went in.
#[test]
fn the_summary_round_trips_quotes_backslashes_and_newlines() {
    let odd = "a \"quoted\" back\\slash\nnew line";
    let dir = out_dir("odd").join(odd);
    std::fs::create_dir_all(&dir).unwrap();
    let shrink = ShrinkJson {
        unreadable: vec![format!("{odd}: cannot read")],
        ..ShrinkJson::default()
    };
    let shrink_path = dir.join("shrink.json");
    std::fs::write(&shrink_path, shrink.to_json()).unwrap();
    let json = dir.join("summary.json");
    let tree_ops = "tree_ops libfuzzer.execs=100 libfuzzer.execs_per_sec=50 libfuzzer.cov=7 \
                    libfuzzer.ft=9 libfuzzer.exit=0 stable.execs= stable.execs_per_sec= \
                    stable.store_types= stable.exit=2 corpus_before=1 corpus_after=3";
    let artifact = format!("{odd}/timeout-1");
    let run = common::maplefuzz(&[
        "nightly-summary",
        "--json",
        json.to_str().unwrap(),
        "--date",
        "2026-12-06T03:00:00Z",
        "--budget",
        "600",
        "--cores",
        "2",
        "--sanitizer",
        "address",
        "--seed",
        "0x60",
        "--mutant",
        odd,
        "--crash-files",
        "4",
        "--target",
        tree_ops,
        "--new-bug",
        odd,
        "--new-bug",
        "plain",
        "--known-bug",
        odd,
        "--other-artifact",
        &artifact,
        "--shrink",
        shrink_path.to_str().unwrap(),
    ]);
    assert_eq!(run.status.code(), Some(0), "{}", text(&run.stderr));
    let s = summary(&dir);
    assert_eq!(s.new_bugs, [odd, "plain"]);
    assert_eq!(s.known_bugs, [odd]);
    assert_eq!(s.other_artifacts, [artifact]);
    assert_eq!(s.mutant, odd);
    assert_eq!(s.shrink, Some(shrink));
    assert_eq!((s.seed.as_str(), s.cores, s.crash_files), ("0x60", 2, 4));
    let t = &s.targets[0];
    assert_eq!(t.libfuzzer.execs, Some(100));
    assert_eq!(t.libfuzzer.execs_per_sec, Some(50.0));
    assert_eq!(t.stable.execs, None);
    assert_eq!((t.stable.exit, t.corpus_after), (2, 3));
    // Written again, the same text.
    let written = std::fs::read_to_string(&json).unwrap();
    assert_eq!(s.to_json(), written);
    // A target without every key is refused, and nothing is written.
    let bad = dir.join("bad.json");
    let run = common::maplefuzz(&[
        "nightly-summary",
        "--json",
        bad.to_str().unwrap(),
        "--date",
        "d",
        "--budget",
        "1",
        "--cores",
        "1",
        "--seed",
        "1",
        "--crash-files",
        "0",
        "--target",
        "tree_ops corpus_before=1",
    ]);
    assert_eq!(run.status.code(), Some(2));
    assert!(text(&run.stderr).contains("`libfuzzer.execs=` is missing"));
    assert!(!bad.exists());
}
