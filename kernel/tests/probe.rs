// SPDX-License-Identifier: GPL-2.0-or-later
//! The build script's refusals (`src/probe.rs`, which `build.rs` uses as
//! its module `probe`), on fake Linux trees made here: a top Makefile with
//! `VERSION`, `PATCHLEVEL` and `SUBLEVEL`, an empty `lib/maple_tree.c`, and
//! some of the files a generation's shim needs. Each refusal must name the
//! tree's version and what is wrong or missing; a complete tree of each
//! generation must be accepted as that generation.

#[allow(dead_code)]
#[path = "../src/probe.rs"]
mod probe;

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use probe::{check_given, clang_missing, coverage_mode, probe_tree, Given};

/// Every file some generation's shim needs (besides `lib/maple_tree.c`).
const ALL_NEEDS: &[&str] = &[
    "tools/testing/shared/maple-shared.h",
    "tools/testing/radix-tree/linux/kernel.h",
    "include/linux/maple_tree.h",
    "tools/include/linux/slab.h",
    "tools/arch/x86/include/asm/atomic.h",
];

/// A fresh empty directory under the target's scratch space.
fn scratch(name: &str) -> PathBuf {
    static N: AtomicUsize = AtomicUsize::new(0);
    let d = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!(
        "probe-{}-{}-{name}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = fs::remove_dir_all(&d);
    fs::create_dir_all(&d).unwrap();
    d
}

fn touch(root: &Path, file: &str) {
    let p = root.join(file);
    fs::create_dir_all(p.parent().unwrap()).unwrap();
    fs::write(p, "").unwrap();
}

/// A fake tree of Linux `v.p.s` (the Makefile's head as a real one has
/// it) with `lib/maple_tree.c` and every file of [`ALL_NEEDS`] but
/// `without`.
fn fake_tree(v: u32, p: u32, s: u32, without: &[&str]) -> PathBuf {
    let root = scratch(&format!("linux-{v}.{p}.{s}"));
    fs::write(
        root.join("Makefile"),
        format!(
            "# SPDX-License-Identifier: GPL-2.0\nVERSION = {v}\nPATCHLEVEL = {p}\nSUBLEVEL = {s}\n\
             EXTRAVERSION =\nNAME = Baby Opossum Posse\n"
        ),
    )
    .unwrap();
    touch(&root, "lib/maple_tree.c");
    for f in ALL_NEEDS.iter().filter(|f| !without.contains(f)) {
        touch(&root, f);
    }
    root
}

fn refusal(given: &Path, built: &[(String, String)]) -> (String, String) {
    match probe_tree(given, given, built) {
        Ok(p) => panic!(
            "{} was accepted as Linux {} ({} generation)",
            given.display(),
            p.version,
            p.generation.name
        ),
        Err(e) => e,
    }
}

#[test]
fn a_path_that_does_not_exist_is_refused_by_name() {
    let gone = scratch("gone").join("linux-6.12");
    let why = check_given(&gone).unwrap_err();
    assert!(
        why.starts_with(&format!("{} does not exist", gone.display())),
        "{why}"
    );
}

#[test]
fn a_directory_without_the_maple_tree_is_refused() {
    let d = scratch("no-maple");
    touch(&d, "lib/xarray.c");
    let why = check_given(&d).unwrap_err();
    assert!(
        why.starts_with(&format!("{} has no lib/maple_tree.c", d.display())),
        "{why}"
    );
    touch(&d, "lib/maple_tree.c");
    assert_eq!(check_given(&d), Ok(Given::Tree));
    let tarball = d.join("linux-source-6.12.tar.xz");
    touch(&d, "linux-source-6.12.tar.xz");
    assert_eq!(check_given(&tarball), Ok(Given::Tarball));
}

#[test]
fn the_version_is_read_from_the_makefile() {
    let t = fake_tree(6, 12, 118, &[]);
    assert_eq!(probe::tree_version(&t), Some((6, 12, 118)));
    // A Makefile without SUBLEVEL: .0; without PATCHLEVEL: unknown.
    fs::write(t.join("Makefile"), "VERSION = 7\nPATCHLEVEL = 1\n").unwrap();
    assert_eq!(probe::tree_version(&t), Some((7, 1, 0)));
    fs::write(t.join("Makefile"), "VERSION = 7\n").unwrap();
    assert_eq!(probe::tree_version(&t), None);
    // A tree whose version cannot be read is built as 6.12, and says so.
    let p = probe_tree(&t, &t, &[]).unwrap();
    assert_eq!(
        (p.tree.as_str(), p.version.as_str(), p.generation.name),
        ("6.12", "6.12 (assumed)", "6.12")
    );
}

#[test]
fn each_supported_version_gets_its_generation() {
    for (v, p, s, gen, shim) in [
        (6, 1, 192, "6.1", "gen-6.1.c"),
        (6, 5, 0, "6.1", "gen-6.1.c"),
        (6, 12, 118, "6.12", "gen-6.12.c"),
        (6, 17, 3, "6.12", "gen-6.12.c"),
        (6, 18, 2, "6.18", "gen-6.18.c"),
        (7, 0, 9, "6.18", "gen-6.18.c"),
        (7, 1, 3, "7.1", "gen-6.18.c"),
        (8, 0, 0, "7.1", "gen-6.18.c"),
    ] {
        let t = fake_tree(v, p, s, &[]);
        let got = probe_tree(&t, &t, &[]).unwrap_or_else(|(_, why)| panic!("{why}"));
        assert_eq!(got.tree, format!("{v}.{p}"));
        assert_eq!(got.version, format!("{v}.{p}.{s}"));
        assert_eq!(
            (got.generation.name, got.generation.shim),
            (gen, shim),
            "Linux {v}.{p}.{s}"
        );
    }
}

#[test]
fn a_tree_missing_a_file_its_shim_needs_is_refused_naming_it() {
    for (v, p, s, gen, shim) in [
        (6, 1, 192, "6.1", "gen-6.1.c"),
        (6, 12, 118, "6.12", "gen-6.12.c"),
        (6, 18, 2, "6.18", "gen-6.18.c"),
        (7, 1, 3, "7.1", "gen-6.18.c"),
    ] {
        let needs = probe::generation(&fake_tree(v, p, s, &[])).unwrap().needs;
        assert!(needs.len() >= 3, "{gen}: {needs:?}");
        for missing in needs {
            let t = fake_tree(v, p, s, &[missing]);
            let (tree, why) = refusal(&t, &[]);
            assert_eq!(tree, format!("{v}.{p}"), "{why}");
            assert_eq!(
                why,
                format!(
                    "{} is Linux {v}.{p}.{s}, of the {gen} generation, but has no {missing}, \
                     which that generation's shim ({shim}) needs: give the whole tree (or its \
                     source tarball)",
                    t.display()
                )
            );
        }
    }
    // The brief's own example: Debian's 6.12 without maple-shared.h.
    let t = fake_tree(6, 12, 118, &["tools/testing/shared/maple-shared.h"]);
    let (_, why) = refusal(&t, &[]);
    assert!(
        why.contains(
            "is Linux 6.12.118, of the 6.12 generation, but has no \
             tools/testing/shared/maple-shared.h, which that generation's shim (gen-6.12.c) needs"
        ),
        "{why}"
    );
}

#[test]
fn a_version_before_the_maple_tree_is_refused() {
    for (v, p, s) in [(5, 15, 0), (6, 0, 19), (4, 19, 325)] {
        let t = fake_tree(v, p, s, &[]);
        let (tree, why) = refusal(&t, &[]);
        assert_eq!(tree, format!("{v}.{p}"));
        assert!(
            why.starts_with(&format!(
                "{}: Linux {v}.{p}.{s} at {} is not supported by this kernel engine: \
                 it predates the maple tree (Linux 6.1).",
                t.display(),
                t.display()
            )),
            "{why}"
        );
        // Even with nothing of a shim's needs: the version is what refuses it.
        let bare = fake_tree(v, p, s, ALL_NEEDS);
        assert!(refusal(&bare, &[]).1.contains("predates the maple tree"));
    }
}

#[test]
fn a_second_tree_of_the_same_version_is_refused() {
    let first = fake_tree(6, 12, 118, &[]);
    let second = fake_tree(6, 12, 5, &[]);
    let got = probe_tree(&first, &first, &[]).unwrap();
    let built = vec![(got.tree.clone(), got.version.clone())];
    let (tree, why) = refusal(&second, &built);
    assert_eq!(tree, "6.12");
    assert_eq!(
        why,
        format!(
            "{} is Linux 6.12.5, but a tree of Linux 6.12.118 is already kernel@6.12: give one \
             tree per X.Y",
            second.display()
        )
    );
    // Checked before the tree's files: an incomplete second tree is still
    // named as the duplicate it is.
    let incomplete = fake_tree(6, 12, 5, ALL_NEEDS);
    assert!(refusal(&incomplete, &built)
        .1
        .contains("already kernel@6.12"));
    // Another X.Y beside it is built.
    let other = fake_tree(6, 18, 2, &[]);
    assert_eq!(probe_tree(&other, &other, &built).unwrap().tree, "6.18");
}

/// `CARGO_ENCODED_RUSTFLAGS` as Cargo gives it to the build script.
fn encoded(flags: &str) -> String {
    flags.split_whitespace().collect::<Vec<_>>().join("\x1f")
}

#[test]
fn the_c_is_compiled_for_libfuzzer_exactly_when_the_rust_code_is() {
    // What cargo fuzz 0.13 passes (ASan on nightly, -O).
    let cargo_fuzz = encoded(
        "-Cpasses=sancov-module -Cllvm-args=-sanitizer-coverage-level=4 \
         -Cllvm-args=-sanitizer-coverage-inline-8bit-counters \
         -Cllvm-args=-sanitizer-coverage-pc-table \
         -Cllvm-args=-sanitizer-coverage-trace-compares --cfg fuzzing -Clink-dead-code \
         -Zsanitizer=address -Cllvm-args=-sanitizer-coverage-stack-depth -C codegen-units=1",
    );
    // What cargo hfuzz passes: another runtime, other hooks.
    let hfuzz = encoded(
        "--cfg fuzzing -C passes=sancov-module -C llvm-args=-sanitizer-coverage-level=4 \
         -C llvm-args=-sanitizer-coverage-trace-pc-guard \
         -C llvm-args=-sanitizer-coverage-trace-compares",
    );
    assert_eq!(coverage_mode(None, &cargo_fuzz), Ok(true));
    assert_eq!(coverage_mode(Some(""), &cargo_fuzz), Ok(true));
    assert_eq!(coverage_mode(None, &hfuzz), Ok(false));
    assert_eq!(coverage_mode(None, ""), Ok(false));
    assert_eq!(coverage_mode(None, &encoded("--cfg fuzzing")), Ok(false));
    assert_eq!(coverage_mode(Some("0"), &cargo_fuzz), Ok(false));
    assert_eq!(coverage_mode(Some("1"), ""), Ok(true));
    let why = coverage_mode(Some("yes"), "").unwrap_err();
    assert!(
        why.starts_with("MAPLEFUZZ_KERNEL_COVERAGE=yes: give 1"),
        "{why}"
    );
}

#[test]
fn a_coverage_build_without_clang_names_the_package() {
    let why = clang_missing("clang", "No such file or directory (os error 2)");
    assert!(
        why.contains("`clang` cannot be run (No such file or directory"),
        "{why}"
    );
    assert!(why.contains("apt-get install clang"), "{why}");
    assert!(why.contains("MAPLEFUZZ_KERNEL_COVERAGE=0"), "{why}");
}
