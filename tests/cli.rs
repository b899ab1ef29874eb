//! The `maplefuzz` binary: exit statuses and messages.

mod common;

use common::{maplefuzz, temp_dir, text};

#[test]
fn fuzz_runs_clean_and_prints_a_summary() {
    let dir = temp_dir("fuzz");
    let crashes = dir.join("crashes");
    let out = maplefuzz(&[
        "fuzz",
        "--max-execs",
        "50",
        "--seed",
        "1",
        "--quiet",
        "--crash-dir",
        crashes.to_str().unwrap(),
    ]);
    let stdout = text(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}\n{}",
        text(&out.stderr)
    );
    assert!(stdout.contains("no divergence"), "{stdout}");
    assert!(stdout.contains("execs        50 "), "{stdout}");
    assert!(stdout.contains("seed         0x1"), "{stdout}");
    assert!(stdout.contains("store types"), "{stdout}");
    assert!(!crashes.exists(), "a clean campaign writes no reproducer");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn every_target_runs_from_the_command_line() {
    let dir = temp_dir("targets");
    let crashes = dir.join("crashes");
    let help = text(&maplefuzz(&["fuzz", "--help"]).stdout);
    for target in [
        "tree_ops",
        "tree_alloc",
        "tree_prealloc",
        "tree_faults",
        "all",
    ] {
        assert!(
            help.contains(target),
            "{target} missing from --help:\n{help}"
        );
        let out = maplefuzz(&[
            "fuzz",
            "--target",
            target,
            "--max-execs",
            "8",
            "--seed",
            "5",
            "--quiet",
            "--crash-dir",
            crashes.to_str().unwrap(),
        ]);
        let stdout = text(&out.stdout);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{target}: {stdout}\n{}",
            text(&out.stderr)
        );
        assert!(stdout.contains("no divergence"), "{target}: {stdout}");
        assert!(stdout.contains("execs        8 "), "{target}: {stdout}");
        if target != "all" {
            assert!(
                stdout.contains(&format!("targets      {target}\n")),
                "{stdout}"
            );
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn replay_of_the_new_ops_in_text() {
    let dir = temp_dir("newops");
    let path = dir.join("new_ops.txt");
    std::fs::write(
        &path,
        "config alloc\nstore 0x1000 0x1fff v1\nempty_area 0x0 max 0x1000\n\
         alloc_rrange 0x10 0x0 0xffff v2\nprealloc 0x3000 0x3fff v3\nstore_prealloc v3\n\
         fail_allocs next 1\nload 0x3000\nfail_allocs never\nmas_destroy\n",
    )
    .unwrap();
    let out = maplefuzz(&["replay", "--trace", path.to_str().unwrap()]);
    let stdout = text(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}\n{}",
        text(&out.stderr)
    );
    for line in [
        "empty_area 0x0 max 0x1000",
        "alloc_rrange 0x10 0x0 0xffff v2",
        "prealloc 0x3000 0x3fff v3",
        "store_prealloc v3",
        "fail_allocs next 0x1",
        "mas_destroy",
    ] {
        assert!(stdout.contains(line), "{line}: {stdout}");
    }
    let path = dir.join("bad.txt");
    std::fs::write(&path, "config alloc\nfail_allocs sometimes\n").unwrap();
    let out = maplefuzz(&["replay", path.to_str().unwrap()]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("line 2"), "{stderr}");
    assert!(stderr.contains("sometimes"), "{stderr}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn usage_errors_exit_2() {
    for args in [
        &["fuzz", "--no-such-flag"][..],
        &["fuzz", "--target", "no_such_target"],
        &["fuzz", "--seed", "banana"],
        &["replay"],
        &["frobnicate"],
    ] {
        let out = maplefuzz(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(!out.stderr.is_empty(), "{args:?}");
    }
}

/// A kernel tree the build does not have, a tree named twice, an unknown
/// engine: exit 2, the message naming what is wrong and what the build has.
#[test]
fn bad_engine_lists_exit_2_with_the_reason() {
    let cases: &[(&str, &str)] = &[
        ("oracle,rust,kernel@2.6", "2.6"),
        ("oracle,rust,krnl", "unknown engine `krnl`"),
        ("rust", "must include `oracle`"),
    ];
    for (spec, says) in cases {
        let out = maplefuzz(&["--engines", spec, "fuzz", "--seconds", "1"]);
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{spec}: {stderr}");
        assert!(stderr.contains(says), "{spec}: {stderr}");
    }
    if let Some(tree) = maplefuzz::engine::kernel::variants()
        .first()
        .map(|v| v.tree)
    {
        let spec = format!("oracle,kernel@{tree},kernel@{tree}:exact");
        let out = maplefuzz(&["--engines", &spec, "fuzz", "--seconds", "1"]);
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{stderr}");
        assert!(stderr.contains("named twice"), "{stderr}");
        let out = maplefuzz(&["--engines", "oracle,kernel@2.6", "fuzz", "--seconds", "1"]);
        let stderr = text(&out.stderr);
        assert!(stderr.contains(&format!("kernel@{tree}")), "{stderr}");
    }
}

#[test]
fn replay_of_a_missing_file_exits_2_naming_it() {
    let dir = temp_dir("missing");
    let path = dir.join("does-not-exist.txt");
    let out = maplefuzz(&["replay", path.to_str().unwrap()]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("does-not-exist.txt"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn replay_of_a_corrupt_text_file_names_the_line() {
    let dir = temp_dir("corrupt");
    let path = dir.join("corrupt.txt");
    std::fs::write(&path, "config alloc\nstore 1 2 v1\nstroe 1 2 v1\nload 1\n").unwrap();
    let out = maplefuzz(&["replay", path.to_str().unwrap()]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("line 3"), "{stderr}");
    assert!(stderr.contains("stroe"), "{stderr}");
    assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn replay_of_a_clean_program_exits_0() {
    let dir = temp_dir("clean");
    let path = dir.join("clean.txt");
    std::fs::write(
        &path,
        "# a clean program\nconfig alloc rcu\nstore 0x1000 0x1fff v1\ninsert 0x3000 0x3fff v2\n\
         load 0x1800\nwalk 0x1000\nmas_next max\nmas_prev 0x0\nerase 0x1000\nfind 0x0 max\n",
    )
    .unwrap();
    let out = maplefuzz(&["replay", path.to_str().unwrap()]);
    let stdout = text(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}\n{}",
        text(&out.stderr)
    );
    assert!(stdout.contains("no divergence"), "{stdout}");

    let out = maplefuzz(&["replay", "--trace", path.to_str().unwrap()]);
    let stdout = text(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}\n{}",
        text(&out.stderr)
    );
    assert!(stdout.contains("store 0x1000 0x1fff v1"), "{stdout}");
    assert!(stdout.contains("load 0x1800"), "{stdout}");
    assert!(stdout.contains(" v1\n"), "{stdout}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn replay_reads_binary_files() {
    let dir = temp_dir("binary");
    let path = dir.join("input.bin");
    std::fs::write(&path, [0u8, 0, 1, 2, 3, 0xff, 0x80, 7, 7, 7]).unwrap();
    let out = maplefuzz(&["replay", path.to_str().unwrap()]);
    let stdout = text(&out.stdout);
    assert!(
        matches!(out.status.code(), Some(0 | 1)),
        "{stdout}\n{}",
        text(&out.stderr)
    );
    assert!(stdout.contains("binary"), "{stdout}");
    let _ = std::fs::remove_dir_all(&dir);
}
