//! The stable driver on a fixed budget of seeds: clean on every target,
//! deterministic, and its programs survive both program forms.

use maplefuzz::driver::{exec_program, exec_seed, fuzz, FuzzOptions, FuzzOutcome, Target};
use maplefuzz::ops::{binary, text, vma, AnyProgram};
use std::collections::HashSet;
use std::path::PathBuf;

fn crash_dir(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!("maplefuzz-driver-{}-{name}", std::process::id()))
}

fn campaign(seed: u64, execs: u64, name: &str) -> FuzzOutcome {
    target_campaign("all", seed, execs, name)
}

fn target_campaign(target: &str, seed: u64, execs: u64, name: &str) -> FuzzOutcome {
    let dir = crash_dir(name);
    let opts = FuzzOptions {
        target: target.to_string(),
        seconds: 0,
        seed: Some(seed),
        max_execs: Some(execs),
        crash_dir: dir.clone(),
        print: false,
        engines: maplefuzz::engine::EngineSet::from_env(),
        hang_seconds: maplefuzz::driver::watchdog::DEFAULT_HANG_SECONDS,
        check_every: maplefuzz::diff::CHECK_EVERY,
    };
    let outcome = fuzz(&opts).expect("a valid target");
    if let Some(f) = &outcome.failure {
        // Show the reproducer in the failure message; leave it on disk.
        let repro = f.program.as_ref().map(|p| p.text()).unwrap_or_default();
        panic!(
            "{} exec {} (seed {:#x}) failed; reproducer: {:?}\n{repro}\n{}",
            f.target.name(),
            f.exec,
            f.exec_seed,
            f.artifact,
            f.report
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
    outcome
}

#[test]
fn fixed_seeds_find_no_divergence() {
    let o = campaign(0x5eed, 200, "fixed");
    assert_eq!(o.stats.execs, 200);
    assert!(o.stats.ops > 200 * 10);
    assert_eq!(o.exit_code(), 0);
    let (reached, total) = o.stats.coverage();
    assert_eq!(
        reached,
        total,
        "store types never reached: {:?}",
        o.stats.missing_store_types()
    );
}

/// Each target on its own fixed seeds: no divergence.
#[test]
fn every_target_is_clean_on_fixed_seeds() {
    for (i, t) in Target::ALL.iter().enumerate() {
        let o = target_campaign(t.name(), 0x7a26_0000 + i as u64, 60, t.name());
        assert_eq!(o.targets, [*t]);
        assert_eq!(o.stats.execs, 60, "{}", t.name());
        assert_eq!(o.exit_code(), 0);
    }
}

#[test]
fn all_runs_every_target_round_robin() {
    let o = campaign(3, 8, "all");
    assert_eq!(o.targets, Target::ALL);
    for (i, t) in Target::ALL.iter().enumerate() {
        assert_eq!(Target::from_name(t.name()), Some(*t));
        // Execution i of the campaign is target i's program for (3, i).
        let p = exec_program(*t, 3, i as u64);
        assert!(!p.is_empty());
    }
    // The profiles differ: the same exec seed gives different programs.
    let programs: HashSet<_> = Target::ALL
        .iter()
        .map(|t| exec_program(*t, 3, 0).text())
        .collect();
    assert_eq!(programs.len(), Target::ALL.len());
}

#[test]
fn target_programs_have_their_profile() {
    for i in 0..40 {
        let p = exec_program(Target::TreeAlloc, 9, i).into_tree().unwrap();
        assert!(
            p.config.alloc,
            "tree_alloc exec {i} is not an allocation tree"
        );
    }
    let kinds = |t: Target| -> HashSet<&'static str> {
        (0..40)
            .flat_map(|i| exec_program(t, 9, i).into_tree().unwrap().ops)
            .map(|o| o.kind())
            .collect()
    };
    let alloc = kinds(Target::TreeAlloc);
    assert!(alloc.contains("empty_area") && alloc.contains("alloc_rrange"));
    let prealloc = kinds(Target::TreePrealloc);
    assert!(prealloc.contains("store_prealloc") && prealloc.contains("mas_destroy"));
    let faults = kinds(Target::TreeFaults);
    assert!(faults.contains("fail_allocs"));
    assert!(!kinds(Target::TreeOps).contains("fail_allocs"));
}

#[test]
fn same_seed_same_campaign() {
    let a = campaign(42, 30, "det-a");
    let b = campaign(42, 30, "det-b");
    assert_eq!(a.seed, 42);
    assert_eq!(a.stats.execs, b.stats.execs);
    assert_eq!(a.stats.ops, b.stats.ops);
    assert_eq!(a.stats.store_stats, b.stats.store_stats);
    assert_eq!(a.stats.max_entries, b.stats.max_entries);
}

#[test]
fn unknown_target_is_an_error() {
    let opts = FuzzOptions {
        target: "nope".to_string(),
        max_execs: Some(1),
        print: false,
        engines: maplefuzz::engine::EngineSet::from_env(),
        hang_seconds: maplefuzz::driver::watchdog::DEFAULT_HANG_SECONDS,
        ..FuzzOptions::default()
    };
    let e = fuzz(&opts).unwrap_err();
    assert!(e.to_string().contains("unknown target `nope`"), "{e}");
    for t in Target::ALL {
        assert!(e.to_string().contains(t.name()), "{e}");
    }
}

#[test]
fn exec_seeds_are_distinct_and_programs_round_trip() {
    let seeds: HashSet<u64> = (0..10_000).map(|i| exec_seed(7, i)).collect();
    assert_eq!(seeds.len(), 10_000);
    assert_ne!(exec_seed(7, 0), exec_seed(8, 0));
    for t in Target::ALL {
        for i in 0..30 {
            let p = exec_program(t, 0x5eed, i);
            assert_eq!(p, exec_program(t, 0x5eed, i));
            assert!(p.len() <= binary::MAX_OPS);
            assert_eq!(AnyProgram::decode(&p.encode()), p, "{} exec {i}", t.name());
            let back = match &p {
                AnyProgram::Tree(_) => AnyProgram::Tree(text::parse_program(&p.text()).unwrap()),
                AnyProgram::Vma(_) => {
                    AnyProgram::Vma(vma::text::parse_vma_program(&p.text()).unwrap())
                }
            };
            assert_eq!(back, p, "{} exec {i}", t.name());
        }
    }
}

/// A fatal signal in the middle of a campaign (a real `SIGSEGV`, as from a
/// wild pointer in the kernel engine's C code, planted with
/// `MAPLEFUZZ_CRASH_AT`): the process still dies by that signal, but the
/// program it was running is on disk first, exactly the one the campaign
/// generated at that index, and stderr names the file. The same campaign
/// without the planted crash exits 0 and writes no such file.
#[cfg(all(unix, feature = "mutants"))]
#[test]
fn a_fatal_signal_leaves_the_program_in_flight_on_disk() {
    use std::os::unix::process::ExitStatusExt;
    use std::process::{Command, Stdio};
    for (target, seed, at) in [(Target::TreeOps, 9u64, 3u64), (Target::VmaOps, 7, 5)] {
        let dir = crash_dir(&format!("signal-{}", target.name()));
        let _ = std::fs::remove_dir_all(&dir);
        let run = |crash: bool| {
            let mut c = Command::new(env!("CARGO_BIN_EXE_maplefuzz"));
            c.args(["fuzz", "--target", target.name(), "--quiet"])
                .args(["--seed", &seed.to_string(), "--max-execs", "8"])
                .arg("--crash-dir")
                .arg(&dir)
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .env_remove(maplefuzz::mutants::ENV)
                .env_remove(maplefuzz::driver::CRASH_AT_ENV);
            if crash {
                c.env(maplefuzz::driver::CRASH_AT_ENV, at.to_string());
            }
            let child = c.spawn().expect("run maplefuzz");
            let pid = child.id();
            (pid, child.wait_with_output().expect("wait"))
        };
        let (pid, out) = run(false);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let file = dir.join(format!("crash-signal-{pid}.bin"));
        assert!(!file.exists());

        let (pid, out) = run(true);
        assert_eq!(out.status.signal(), Some(11), "killed by SIGSEGV");
        let file = dir.join(format!("crash-signal-{pid}.bin"));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(&file.display().to_string()), "{stderr}");
        let bytes = std::fs::read(&file).expect("the program in flight is on disk");
        assert_eq!(AnyProgram::decode(&bytes), exec_program(target, seed, at));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
