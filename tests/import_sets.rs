// SPDX-License-Identifier: GPL-2.0-or-later
//! `import-kernel-sets` on the real kernel file: the 43 captured VMA sets of
//! Linux 6.12's `tools/testing/radix-tree/maple.c`, imported and replayed on
//! every engine this build has, plus the command's error paths.
//!
//! The kernel file is found at `$LINUX_SRC`, else `/work/linux`, else it is
//! extracted from Debian's linux-source-6.12 tarball
//! (`MAPLEFUZZ_LINUX_TARBALL`, else `/usr/src/linux-source-6.12.tar.xz`).
//! Without any of them the kernel tests print why and pass, unless
//! `MAPLEFUZZ_REQUIRE_KERNEL` is set (CI sets it).

use maplefuzz::diff::{self, Event, Options};
use maplefuzz::driver::import::{import_kernel_sets, ImportedSet, MAPLE_C};
use maplefuzz::engine::{EngineSet, Outcome};
use maplefuzz::mutants::{self, Mutant};
use maplefuzz::ops::{text, Program, TreeOp};
use std::path::{Path, PathBuf};

mod common;
use common::temp_dir;
use std::process::{Command, Output};
use std::sync::OnceLock;

/// The kernel tree (or maple.c) to import from, or why there is none.
fn find_kernel() -> Result<PathBuf, String> {
    let mut tried = Vec::new();
    if let Some(dir) = std::env::var_os("LINUX_SRC").map(PathBuf::from) {
        if dir.join(MAPLE_C).is_file() {
            return Ok(dir);
        }
        tried.push(format!("LINUX_SRC={} has no {MAPLE_C}", dir.display()));
    }
    let work = Path::new("/work/linux");
    if work.join(MAPLE_C).is_file() {
        return Ok(work.to_path_buf());
    }
    tried.push(format!("{} has no {MAPLE_C}", work.display()));
    let tarball = std::env::var("MAPLEFUZZ_LINUX_TARBALL")
        .unwrap_or_else(|_| "/usr/src/linux-source-6.12.tar.xz".to_string());
    if !Path::new(&tarball).is_file() {
        tried.push(format!("no tarball {tarball} (Debian's linux-source-6.12)"));
        return Err(tried.join("; "));
    }
    // Extracted once under the target directory, and kept for later runs.
    let dest = Path::new(env!("CARGO_TARGET_TMPDIR")).join("import_sets-linux");
    if dest.join(MAPLE_C).is_file() {
        return Ok(dest);
    }
    std::fs::create_dir_all(&dest).map_err(|e| format!("{}: {e}", dest.display()))?;
    let status = Command::new("tar")
        .arg("-xJf")
        .arg(&tarball)
        .arg("-C")
        .arg(&dest)
        .arg("--strip-components=1")
        .arg("--wildcards")
        .arg(format!("*/{MAPLE_C}"))
        .status()
        .map_err(|e| format!("cannot run tar: {e}"))?;
    if !status.success() || !dest.join(MAPLE_C).is_file() {
        return Err(format!("tar could not extract {MAPLE_C} from {tarball}"));
    }
    Ok(dest)
}

/// The 43 sets, imported once into the target directory, or `None` (with the reason
/// printed) when there is no kernel source to read.
fn imported() -> Option<&'static [ImportedSet]> {
    static SETS: OnceLock<Result<Vec<ImportedSet>, String>> = OnceLock::new();
    let r = SETS.get_or_init(|| {
        let src = find_kernel()?;
        let out = Path::new(env!("CARGO_TARGET_TMPDIR")).join("import_sets-out");
        let _ = std::fs::remove_dir_all(&out);
        import_kernel_sets(&src, &out).map_err(|e| e.to_string())
    });
    match r {
        Ok(sets) => Some(sets),
        Err(why) => {
            assert!(
                std::env::var_os("MAPLEFUZZ_REQUIRE_KERNEL").is_none(),
                "MAPLEFUZZ_REQUIRE_KERNEL is set but no kernel source: {why}"
            );
            eprintln!("skipped: no kernel source to import from: {why}");
            None
        }
    }
}

/// The kernel's check on every `ERASE`: when it erases (an entry holds
/// `first`), it gets `xa_mk_value(first)` back.
fn check_erase_values(program: &Program, erased: &[(usize, Outcome)]) -> Result<(), String> {
    for (step, outcome) in erased {
        let TreeOp::Erase { index } = program.ops[*step] else {
            return Err(format!("step {step} is not an erase"));
        };
        match outcome {
            Outcome::Entry(None) => {}
            Outcome::Entry(Some(t)) if *t == index => {}
            other => {
                return Err(format!(
                    "step {step}: erase {index:#x} returned {other:?}, not v{index}"
                ))
            }
        }
    }
    Ok(())
}

/// Runs `program` on `engines` with the whole contents compared after
/// every op (the kernel walks the whole tree after every triple); returns
/// the reference engine's result for each erase.
fn replay(
    engines: &EngineSet,
    program: &Program,
) -> Result<Vec<(usize, Outcome)>, Box<diff::Divergence>> {
    let mut built = engines.build(program.config);
    let opts = Options {
        full_every: 1,
        ..Options::default()
    };
    let mut erased = Vec::new();
    diff::run_observed(program, &mut built, opts, &mut |e| {
        if let Event::Op { step, outcomes } = e {
            if matches!(program.ops[step], TreeOp::Erase { .. }) {
                erased.push((step, outcomes[0].clone()));
            }
        }
    })?;
    Ok(erased)
}

#[test]
fn all_43_sets_are_found_with_the_kernels_tree_flags() {
    let Some(sets) = imported() else { return };
    let names: Vec<&str> = sets.iter().map(|s| s.set.name.as_str()).collect();
    let want: Vec<String> = std::iter::once("set".to_string())
        .chain((2..=43).map(|i| format!("set{i}")))
        .collect();
    assert_eq!(names, want);
    for s in sets {
        // check_erase2_sets runs set, set3 and set4 on plain trees, the
        // rest on allocation trees; none in RCU mode.
        let plain = matches!(s.set.name.as_str(), "set" | "set3" | "set4");
        assert_eq!(s.program.config.alloc, !plain, "{}", s.set.name);
        assert!(!s.program.config.rcu, "{}", s.set.name);
        assert_eq!(s.program.ops.len(), s.set.steps.len());
        assert!(!s.program.ops.is_empty(), "{}", s.set.name);
    }
    let total: usize = sets.iter().map(|s| s.program.ops.len()).sum();
    println!("{} sets, {total} ops", sets.len());
}

/// Every engine this build has: the oracle, the port and the kernel's
/// `fixed` build ([`EngineSet::all_available`]), and then the kernel's
/// `exact` build (its lib/maple_tree.c unchanged), which the kernel's own
/// test runs these sets on.
fn engine_sets() -> Vec<EngineSet> {
    let all = EngineSet::all_available();
    if std::env::var_os("MAPLEFUZZ_REQUIRE_KERNEL").is_some() {
        assert!(all.has_kernel(), "the kernel engine is required");
    }
    let mut v = vec![all.clone()];
    if all.has_kernel() {
        v.push(EngineSet::parse("oracle,rust,kernel:exact").unwrap());
    }
    v
}

#[test]
fn every_imported_set_replays_clean_on_every_engine() {
    let Some(sets) = imported() else { return };
    for engines in engine_sets() {
        let mut erases = 0;
        for s in sets {
            // What was written to disk, read back: the files are the product.
            let on_disk = std::fs::read_to_string(&s.path).unwrap();
            let program = text::parse_program(&on_disk)
                .unwrap_or_else(|e| panic!("{}: {e}", s.path.display()));
            assert_eq!(program, s.program, "{}", s.path.display());
            let erased = replay(&engines, &program).unwrap_or_else(|d| {
                panic!(
                    "{} ({}) diverged on {}:\n{d}",
                    s.set.name,
                    s.path.display(),
                    engines.describe()
                )
            });
            check_erase_values(&program, &erased).unwrap_or_else(|e| panic!("{}: {e}", s.set.name));
            erases += erased
                .iter()
                .filter(|(_, o)| matches!(o, Outcome::Entry(Some(_))))
                .count();
        }
        println!(
            "clean on {}; {erases} erases returned their entry",
            engines.describe()
        );
        assert!(erases > 0, "some ERASE must find its entry");
    }
}

#[test]
fn the_erase_value_check_can_fail() {
    // An entry stored with another token than its first index, as a wrong
    // converter would: the erase returns v5, not v0x10.
    let p = text::parse_program("store 0x10 0x1f v5\nerase 0x10\nerase 0x40\n").unwrap();
    let erased = replay(&EngineSet::all_available(), &p).unwrap();
    assert_eq!(erased.len(), 2);
    let e = check_erase_values(&p, &erased).unwrap_err();
    assert!(e.contains("returned Entry(Some(5))"), "{e}");
    let ok = text::parse_program("store 0x10 0x1f v16\nerase 0x10\nerase 0x40\n").unwrap();
    check_erase_values(&ok, &replay(&EngineSet::all_available(), &ok).unwrap()).unwrap();
}

/// The first set that diverges on `engines`, and how.
fn first_caught(
    sets: &'static [ImportedSet],
    engines: &EngineSet,
) -> Option<(&'static ImportedSet, Box<diff::Divergence>)> {
    sets.iter()
        .find_map(|s| replay(engines, &s.program).err().map(|d| (s, d)))
}

#[test]
fn the_imported_sets_catch_planted_bugs() {
    // The sets were captured because they broke the tree's gap tracking
    // and node handling: with a bug of that kind planted, some set fails.
    let Some(sets) = imported() else { return };
    if mutants::ENABLED {
        let port_only = EngineSet::with_default_kernel(true, None);
        let caught = mutants::with(Some(Mutant::SlotStoreGap), || {
            first_caught(sets, &port_only)
        });
        let (s, d) = caught.expect("some set catches slot-store-gap in the port");
        println!("slot-store-gap caught by {}: {}", s.set.name, d.signature());
        assert_eq!(d.engine, "rust", "{d}");
    }
    // The July 2022 stale-tail bug planted in the kernel's own C code.
    if EngineSet::all_available().has_kernel() {
        let planted = EngineSet::parse("oracle,kernel:stale-node-store").unwrap();
        let (s, d) = first_caught(sets, &planted).expect("some set catches the planted C bug");
        println!(
            "kernel:stale-node-store caught by {}: {}",
            s.set.name,
            d.signature()
        );
        assert_eq!(d.engine, "kernel", "{d}");
    }
}

// --- the command line -------------------------------------------------

fn maplefuzz(args: &[&Path]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_maplefuzz"))
        .arg("import-kernel-sets")
        .args(args)
        .output()
        .expect("run maplefuzz")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// A small maple.c in the kernel's shape.
const SMALL: &str = "static void f(struct maple_tree *mt)\n{\n\
    static const unsigned long set[] = {\nSTORE, 4096, 8191,\nERASE, 4096, 8191,\n};\n\
    static const unsigned long set2[] = {\nSTORE, 1, 9, SNULL, 2, 3 };\n\
    mt_init_flags(mt, 0);\ncheck_erase2_testset(mt, set, ARRAY_SIZE(set));\n\
    mt_init_flags(mt, MT_FLAGS_ALLOC_RANGE);\ncheck_erase2_testset(mt, set2, ARRAY_SIZE(set2));\n}\n";

#[test]
fn the_command_writes_one_program_per_set() {
    let dir = temp_dir("cli-ok");
    let tree = dir.join("linux");
    let file = tree.join(MAPLE_C);
    std::fs::create_dir_all(file.parent().unwrap()).unwrap();
    std::fs::write(&file, SMALL).unwrap();
    let out_dir = dir.join("out/nested");
    // The kernel tree and the file itself both work.
    for path in [&tree, &file] {
        let o = maplefuzz(&[path, &out_dir]);
        let stdout = String::from_utf8_lossy(&o.stdout);
        assert_eq!(o.status.code(), Some(0), "{stdout}{}", stderr(&o));
        let lines: Vec<&str> = stdout.lines().collect();
        assert_eq!(lines.len(), 3, "{stdout}");
        assert!(
            lines[0].starts_with("set    config none      2 ops"),
            "{stdout}"
        );
        assert!(
            lines[1].starts_with("set2   config alloc     2 ops"),
            "{stdout}"
        );
        assert!(lines[2].starts_with("2 sets, 4 ops"), "{stdout}");
    }
    let set2 = std::fs::read_to_string(out_dir.join("set2.txt")).unwrap();
    let p = text::parse_program(&set2).unwrap();
    assert_eq!(
        text::format_program(&p),
        "config alloc\nstore 0x1 0x9 v1\nstore 0x2 0x3 null\n"
    );
    assert!(set2.starts_with("# set2 from "), "{set2}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn the_commands_errors_exit_2_with_a_message() {
    let dir = temp_dir("cli-err");
    let out = dir.join("out");
    let write = |name: &str, text: &str| {
        let p = dir.join(name);
        std::fs::write(&p, text).unwrap();
        p
    };
    let bad = write("bad.c", &SMALL.replace("SNULL, 2, 3", "SNULL, 2, 3, x"));
    let empty = write("empty.c", "int main(void) { return 0; }\n");
    let not_a_dir = write("file", "");
    // A kernel tree whose maple.c is a directory: unreadable.
    let unreadable = dir.join("tree");
    std::fs::create_dir_all(unreadable.join(MAPLE_C)).unwrap();
    let missing = dir.join("missing");
    let cases: Vec<(Vec<&Path>, String)> = vec![
        (
            vec![&missing, &out],
            "missing: no such file or directory".to_string(),
        ),
        (vec![&dir, &out], format!("a directory without {MAPLE_C}")),
        (vec![&unreadable, &out], "cannot read".to_string()),
        (vec![&empty, &out], "empty.c: no sets found".to_string()),
        (
            vec![&bad, &out],
            "bad.c: line 8: unexpected `x` in set `set2`".to_string(),
        ),
        (vec![&bad], "required".to_string()),
    ];
    for (args, want) in cases {
        let o = maplefuzz(&args);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stderr(&o));
        assert!(stderr(&o).contains(&want), "{args:?}: {}", stderr(&o));
        assert!(!stderr(&o).contains("panicked"), "{}", stderr(&o));
        assert!(!out.exists(), "{args:?}: nothing is written on an error");
    }
    let good = write("good.c", SMALL);
    let o = maplefuzz(&[&good, &not_a_dir]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("cannot create"), "{}", stderr(&o));
    let _ = std::fs::remove_dir_all(&dir);
}
