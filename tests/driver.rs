//! The stable driver on a fixed budget of seeds: clean, deterministic, and
//! its programs survive both program forms.

use maplefuzz::driver::{exec_program, exec_seed, fuzz, FuzzOptions, FuzzOutcome, Target};
use maplefuzz::ops::{binary, text};
use std::collections::HashSet;
use std::path::PathBuf;

fn crash_dir(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!("maplefuzz-driver-{}-{name}", std::process::id()))
}

fn campaign(seed: u64, execs: u64, name: &str) -> FuzzOutcome {
    let dir = crash_dir(name);
    let opts = FuzzOptions {
        target: "all".to_string(),
        seconds: 0,
        seed: Some(seed),
        max_execs: Some(execs),
        crash_dir: dir.clone(),
        quiet: true,
        print: false,
    };
    let outcome = fuzz(&opts).expect("`all` is a valid target");
    if let Some(f) = &outcome.failure {
        // Show the reproducer in the failure message; leave it on disk.
        let repro = f
            .program
            .as_ref()
            .map(text::format_program)
            .unwrap_or_default();
        panic!(
            "exec {} (seed {:#x}) failed; reproducer: {:?}\n{repro}\n{}",
            f.exec, f.exec_seed, f.artifact, f.report
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
        quiet: true,
        print: false,
        ..FuzzOptions::default()
    };
    let e = fuzz(&opts).unwrap_err();
    assert!(e.to_string().contains("unknown target `nope`"), "{e}");
    assert!(e.to_string().contains("tree_ops"), "{e}");
}

#[test]
fn exec_seeds_are_distinct_and_programs_round_trip() {
    let seeds: HashSet<u64> = (0..10_000).map(|i| exec_seed(7, i)).collect();
    assert_eq!(seeds.len(), 10_000);
    assert_ne!(exec_seed(7, 0), exec_seed(8, 0));
    for i in 0..50 {
        let p = exec_program(Target::TreeOps, 0x5eed, i);
        assert_eq!(p, exec_program(Target::TreeOps, 0x5eed, i));
        assert!(p.ops.len() <= binary::MAX_OPS);
        assert_eq!(binary::decode(&binary::encode(&p)), p, "exec {i}");
        assert_eq!(
            text::parse_program(&text::format_program(&p)).unwrap(),
            p,
            "exec {i}"
        );
    }
}
