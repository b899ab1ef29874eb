//! The shrinker on address-space programs, with the planted
//! `vma-merge-pgoff` bug (src/mutants.rs): a 200-op generated `vma_ops`
//! program shrinks to a handful of ops, the same way every time; the Rust
//! reproducer compiles and fails on the bug only; the C reproducer
//! compiles, and on the machine's own kernel answers what the oracle
//! answers.

use maplefuzz::engine::EngineSet;
use maplefuzz::mutants::{self, Mutant};
use maplefuzz::ops::vma::binary::build_op;
use maplefuzz::ops::vma::text::{format_program, parse_vma_program};
use maplefuzz::ops::vma::{VmaProgram, VmaSetup};
use maplefuzz::shrink::{self, Options, Shrinkable, Shrunk};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use std::path::Path;
use std::process::Command;

mod common;

const PGOFF: Option<Mutant> = Some(Mutant::VmaMergePgoff);

/// A 200-op program of the op builder the fuzz target uses that, with the
/// mutant, first fails at step 150 or later. The first such seed, so the
/// program is fixed.
fn long_failing_program() -> (u64, VmaProgram, usize) {
    mutants::with(PGOFF, || {
        for seed in 0..2000u64 {
            let mut rng = ChaCha8Rng::seed_from_u64(seed);
            let p = VmaProgram {
                setup: VmaSetup::default(),
                ops: (0..200).map(|_| build_op(&mut rng)).collect(),
            };
            if let Err(d) = p.run_fast(&EngineSet::from_env()) {
                if d.step >= 150 {
                    return (seed, p, d.step);
                }
            }
        }
        panic!("no 200-op program failing late in 2000 seeds");
    })
}

fn shrunk() -> Shrunk<VmaProgram> {
    let (_, p, _) = long_failing_program();
    // Deterministic limits: a run budget, no clock.
    let opts = Options {
        max_runs: 5_000,
        timeout: None,
        ..Options::default()
    };
    mutants::with(PGOFF, || shrink::shrink(&p, &EngineSet::from_env(), &opts)).unwrap()
}

#[test]
fn a_200_op_vma_program_shrinks_to_at_most_5_ops_deterministically() {
    let (seed, _, step) = long_failing_program();
    let s = shrunk();
    let text = format_program(&s.program);
    assert!(
        s.program.ops.len() <= 5,
        "seed {seed}: {} ops left of 200 (failing at step {step}):\n{text}",
        s.program.ops.len()
    );
    assert!(
        s.complete,
        "the search ran to its end within its run budget"
    );
    assert_eq!(s.original_ops, 200);
    eprintln!(
        "seed {seed}: 200 ops (failing at step {step}) -> {} ops in {} runs, {:.3} s:\n{text}",
        s.program.ops.len(),
        s.runs,
        s.elapsed.as_secs_f64()
    );
    // The same every time.
    let again = shrunk();
    assert_eq!(again.program, s.program);
    assert_eq!(again.runs, s.runs);
    // It still fails with the bug, the same way, and only with it.
    let d = mutants::with(PGOFF, || s.program.run_fast(&EngineSet::from_env())).unwrap_err();
    assert_eq!(d.bug_signature(), s.divergence.bug_signature());
    assert!(
        mutants::with(None, || s.program.run_fast(&EngineSet::from_env())).is_ok(),
        "clean without the bug:\n{text}"
    );
    // The text form reads back.
    assert_eq!(parse_vma_program(&text).unwrap(), s.program);
}

/// The `#[test]` that `maplefuzz shrink` writes for a VMA program, built
/// and run in the scratch crate: it fails with the bug and passes without.
#[test]
fn the_generated_vma_rust_test_fails_on_the_bug_and_passes_without_it() {
    let s = shrunk();
    let r = shrink::Reproducer {
        target: "vma_ops",
        source: "a generated 200-op program",
        shrunk: &s,
    };
    let test = shrink::rust::vma_test_fn(&r);
    let run = |m: Option<&str>| common::run_generated_test("generated_vma", &test, m);
    let clean = run(None);
    let out = String::from_utf8_lossy(&clean.stdout);
    assert!(
        clean.status.success() && out.contains("1 passed"),
        "the generated test must pass without the bug:\n{test}\n{out}{}",
        String::from_utf8_lossy(&clean.stderr)
    );
    let buggy = run(Some("vma-merge-pgoff"));
    let out = String::from_utf8_lossy(&buggy.stdout);
    assert!(!buggy.status.success(), "must fail with the bug:\n{out}");
    assert!(
        out.contains(&format!("maplefuzz_{}", r.ident())) && out.contains("1 failed"),
        "{out}"
    );
}

/// Compiles `c` with the system C compiler (`None`: there is none) and
/// runs it.
fn compile_and_run(c: &str, name: &str) -> Option<String> {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("syscalls-{name}"));
    std::fs::create_dir_all(&dir).unwrap();
    let src = dir.join(format!("{name}.c"));
    let bin = dir.join(name);
    std::fs::write(&src, c).unwrap();
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".to_string());
    let built = match Command::new(&cc)
        .args(["-Wall", "-Wextra", "-Werror", "-o"])
        .arg(&bin)
        .arg(&src)
        .output()
    {
        Ok(o) => o,
        Err(e) => {
            eprintln!("no C compiler ({cc}: {e}): the C reproducer is not checked");
            return None;
        }
    };
    assert!(
        built.status.success(),
        "the C reproducer does not compile:\n{c}\n{}",
        String::from_utf8_lossy(&built.stderr)
    );
    let run = Command::new(&bin).output().unwrap();
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    Some(String::from_utf8_lossy(&run.stdout).into_owned())
}

/// The C reproducer of a program that pins every address (MAP_FIXED, a
/// fixed mremap target): on this machine's kernel every call answers what
/// the oracle answers. A check of the oracle against a real kernel, on the
/// cases the program covers: anonymous and file merges, a pgoff mismatch
/// that must not merge (the planted bug's case), a split by mprotect, a
/// partial munmap, a duplicating mremap of a shared mapping.
#[test]
fn the_c_reproducer_answers_as_the_oracle_on_this_kernel() {
    let p = parse_vma_program(
        "config vma max_map_count=24 profile=6.12\n\
         mmap 0x10000000 0x3000 rw- private|fixed anon\n\
         mmap 0x10003000 0x2000 rw- private|fixed anon\n\
         mprotect 0x10001000 0x1000 r--\n\
         mmap 0x10010000 0x2000 r-- private|fixed file0+0x0\n\
         mmap 0x10012000 0x2000 r-- private|fixed file0+0x5\n\
         mmap 0x10020000 0x5000 rw- shared|fixed anon\n\
         mremap 0x10023000 0x0 0x1000 maymove|fixed 0x10025000\n\
         munmap 0x10001000 0x1000\n\
         madvise 0x10010000 0x1000 dontfork\n\
         mprotect 0x10030000 0x1000 r--\n",
    )
    .unwrap();
    // Any divergence will do as the header: the program runs clean.
    let d = maplefuzz::diff::Divergence {
        step: 0,
        op: maplefuzz::ops::Op::Vma(p.ops[0]),
        check: maplefuzz::diff::Check::Result,
        engine: "none".to_string(),
        detail: String::new(),
        dumps: Vec::new(),
        store_types: Vec::new(),
        fatal: None,
    };
    let s = Shrunk {
        program: p.clone(),
        divergence: Box::new(d),
        original_ops: p.ops.len(),
        runs: 0,
        kept: 0,
        complete: true,
        elapsed: std::time::Duration::ZERO,
    };
    let r = shrink::Reproducer {
        target: "vma_ops",
        source: "a test",
        shrunk: &s,
    };
    let c = shrink::syscalls::vma_program(&r);
    let Some(out) = compile_and_run(&c, "pinned") else {
        return;
    };
    let mut steps = 0;
    for line in out.lines().filter(|l| l.contains("(oracle: ")) {
        // " 3 mprotect   0 (oracle: ok)" or "... 0x10000000 (oracle: 0x10000000)"
        let fields: Vec<&str> = line.split_whitespace().collect();
        let got = fields[2];
        let want = line
            .rsplit_once("(oracle: ")
            .unwrap()
            .1
            .trim_end_matches(')');
        let same = got == want || (got == "0" && want == "ok");
        assert!(
            same,
            "the kernel and the oracle differ:\n{line}\n\n{out}\n{c}"
        );
        steps += 1;
    }
    assert_eq!(steps, p.ops.len(), "{out}");
    // The kernel's VMAs in the pinned window are the oracle's.
    let mut oracle = maplefuzz::engine::vma::OracleEngine::new(p.setup);
    use maplefuzz::engine::vma::VmaEngine;
    for op in &p.ops {
        oracle.apply(op);
    }
    let want: Vec<String> = oracle
        .vmas()
        .iter()
        .map(|v| format!("{:x}-{:x}", v.start, v.end))
        .collect();
    let got: Vec<String> = out
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .filter(|r| {
            r.split_once('-')
                .and_then(|(a, _)| u64::from_str_radix(a, 16).ok())
                .is_some_and(|a| (0x1000_0000..0x1010_0000).contains(&a))
        })
        .map(str::to_string)
        .collect();
    assert_eq!(got, want, "{out}");
}

/// One planted bug reached through mprotect and through madvise (both split
/// through `vma_modify()`) is one bug for `maplefuzz shrink`: one
/// signature, one reproducer, both files listed as its sources.
#[test]
fn one_vma_bug_through_two_syscalls_is_reported_once() {
    use maplefuzz::driver::shrink::{limits, shrink_files, ShrinkOptions};
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("shrink-vma-dedupe");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("in")).unwrap();
    // With max_map_count=2, the second split of a middle change must fail.
    let head = "config vma max_map_count=2 profile=6.12\n\
                mmap 0x10000 0x8000 rw- private|fixed anon\n";
    let files = [
        ("mprotect.txt", "mprotect 0x12000 0x1000 r--\n"),
        ("madvise.txt", "madvise 0x12000 0x1000 dontdump\n"),
    ];
    let mut paths = Vec::new();
    for (name, op) in files {
        let path = dir.join("in").join(name);
        std::fs::write(&path, format!("{head}{op}")).unwrap();
        paths.push(path);
    }
    let opts = ShrinkOptions {
        files: paths.clone(),
        target: None,
        out: dir.join("regressions"),
        snippets: dir.join("snippets"),
        limits: limits(0, 5_000),
        engines: EngineSet::from_env(),
    };
    let clean = mutants::with(None, || shrink_files(&opts)).unwrap();
    assert_eq!(clean.bugs.len(), 0, "both run clean without the bug");
    let report = mutants::with(Some(Mutant::VmaSplitLimit), || shrink_files(&opts)).unwrap();
    let sigs: Vec<&str> = report.bugs.iter().map(|b| b.signature.as_str()).collect();
    assert_eq!(sigs, ["wrong-vma_modify-rust"], "{report:?}");
    assert_eq!(report.bugs[0].sources, paths);
    assert!(report.bugs[0]
        .text_path
        .starts_with(dir.join("regressions/vma_ops")));
}

/// A `vma_ops` fuzzer input is raw bytes (no magic): outside a `vma_ops`
/// folder, `--target vma_ops` is what makes it a VMA program, and the
/// setup byte's 6.1 bit is dropped as the fuzz target drops it.
#[test]
fn a_raw_vma_input_is_read_as_its_target_says() {
    use maplefuzz::driver::shrink::load_for_target;
    use maplefuzz::driver::Target;
    use maplefuzz::ops::vma::binary::{encode, MAGIC};
    use maplefuzz::ops::vma::VmaProfile;
    use maplefuzz::ops::AnyProgram;
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("raw-vma-input");
    std::fs::create_dir_all(&dir).unwrap();
    let mut p = parse_vma_program(
        "config vma max_map_count=24 profile=6.1\n\
         mmap 0x10000 0x8000 rw- private|fixed anon\n\
         fork child\n",
    )
    .unwrap();
    let raw = dir.join("crash-raw");
    std::fs::write(&raw, &encode(&p)[MAGIC.len()..]).unwrap();
    let set = maplefuzz::engine::EngineSet::parse("oracle,rust").unwrap();
    let (read, target) = load_for_target(&raw, Some(Target::VmaOps), &set).unwrap();
    assert_eq!(target, Target::VmaOps);
    p.setup.profile = VmaProfile::V6_12;
    assert_eq!(read, AnyProgram::Vma(p));
    // Without the target it is a tree program.
    let (read, target) = load_for_target(&raw, None, &set).unwrap();
    assert!(matches!(read, AnyProgram::Tree(_)), "{target:?}");
}
