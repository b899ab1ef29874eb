//! Threaded readers on the kernel engine (`maplefuzz readers`,
//! `src/driver/readers.rs`): generated programs run clean on kernel@6.12
//! with readers beside the writer, every read checked; and a writer that
//! frees replaced nodes without waiting for a grace period (the planted
//! `--plant-no-grace`) makes the mode fail.
//!
//! The reads here are `load` and `walk`: `mt_find` and `mas_find` readers
//! can hit a NULL dereference in the kernel itself when a write empties the
//! tree under them (docs/findings/linux-rcu-find-emptied-tree.md), which
//! kills the process.
//!
//! Without a kernel tree these tests say so and pass, unless
//! `MAPLEFUZZ_REQUIRE_KERNEL` is set.

mod common;

use maplefuzz::driver::readers::{self, ReadersOptions};
use maplefuzz::engine::KernelChoice;
use maplefuzz_kernel::ReaderOp;

fn kernel_6_12() -> Option<KernelChoice> {
    if !common::kernel_available() {
        return None;
    }
    match KernelChoice::parse("kernel@6.12") {
        Ok(k) => Some(k),
        Err(why) => {
            assert!(
                std::env::var_os("MAPLEFUZZ_REQUIRE_GENERATIONS").is_none(),
                "{why}"
            );
            eprintln!("skipped: {why}");
            None
        }
    }
}

#[test]
fn generated_programs_run_clean_with_readers() {
    let Some(kernel) = kernel_6_12() else { return };
    let dir = common::temp_dir("readers-clean");
    let opts = ReadersOptions {
        seconds: 0,
        max_programs: Some(12),
        threads: 2,
        seed: Some(0x19),
        kernel,
        crash_dir: dir.clone(),
        reads: vec![ReaderOp::Load, ReaderOp::Walk],
        no_grace: false,
    };
    let out = readers::readers(&opts, &mut |_| {}).unwrap();
    assert!(out.failure.is_none(), "{:?}", out.failure);
    let s = &out.stats;
    assert_eq!(s.programs + s.skipped, 12);
    assert!(s.programs >= 6, "{s}");
    assert!(s.ops > 0 && s.checked > 0, "{s}");
    assert!(s.overlapping > 0, "no read overlapped a write: {s}");
    // The in-flight copy is gone after a clean run.
    assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 0);
}

#[test]
fn freeing_without_a_grace_period_fails() {
    let Some(_) = kernel_6_12() else { return };
    let dir = common::temp_dir("readers-no-grace");
    let out = common::maplefuzz(&[
        "readers",
        "--kernel",
        "6.12",
        "--seconds",
        "120",
        "--seed",
        "1",
        "--reads",
        "load,walk",
        "--plant-no-grace",
        "--quiet",
        "--crash-dir",
        dir.to_str().unwrap(),
    ]);
    let stdout = common::text(&out.stdout);
    assert!(!out.status.success(), "{stdout}");
    // Either the check saw a value no state held (a freed node's
    // poison), exit 1 with the program written; or a reader followed a
    // poisoned pointer and the process died of the signal, the program in
    // flight on disk.
    match out.status.code() {
        Some(1) => {
            assert!(stdout.contains("readers divergence"), "{stdout}");
            assert!(stdout.contains("program written to"), "{stdout}");
        }
        other => {
            assert_eq!(other, None, "{stdout}");
            let kept = std::fs::read_dir(&dir)
                .unwrap()
                .filter_map(Result::ok)
                .any(|e| {
                    e.file_name()
                        .to_string_lossy()
                        .starts_with("readers-inflight-")
                });
            assert!(kept, "no program in flight on disk");
        }
    }
}

#[test]
fn the_mode_refuses_a_kernel_it_does_not_have() {
    let out = common::maplefuzz(&["readers", "--kernel", "2.6", "--seconds", "1"]);
    assert_eq!(out.status.code(), Some(2));
}

/// Finding 12's reproducer (docs/findings/rcu-search-emptied-tree.c) in
/// the kernel's own userspace build of an unpatched tree: the reader's
/// `mas_find()` dies in `ma_dead_node()` on the NULL node (with the patch
/// of docs/findings/rcu-find-emptied-tree.patch it runs clean). Skipped
/// without a built harness (`KERNEL_SRC`, see ci/check-c-snippet.sh).
#[test]
fn finding_12_reproduces_in_the_kernels_userspace_build() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = std::process::Command::new("bash")
        .arg(root.join("ci/check-c-snippet.sh"))
        .arg(root.join("docs/findings/rcu-search-emptied-tree.c"))
        .output()
        .expect("run bash");
    if out.status.code() == Some(77) {
        eprintln!("no kernel userspace harness built: the reproducer was not run");
        return;
    }
    let text = format!("{}{}", common::text(&out.stdout), common::text(&out.stderr));
    assert!(!out.status.success(), "{text}");
    assert!(text.contains("ma_dead_node"), "{text}");
}
