//! The kernel VMA engine (#20): Linux 6.12's own mm/vma.c, run three-way
//! with the oracle and the model; and Linux 7.1's, against their 7.1
//! profile (each rule 7.1 changed pinned against both kernels).
//!
//! - every op of the contract answers as the oracle and the model do, and
//!   the kernel's own VMA list shows the kernel's decisions (splits,
//!   merges, anon_vma chains after fork);
//! - generated programs, fault injection included, agree three-way;
//! - a bug planted in the kernel's mm/vma.c (fc0c8f9089c2 re-created) and
//!   the model's VMA mutants are reported as kernel-against-model
//!   divergences;
//! - a tree without a VMA engine says why.

mod common;

use maplefuzz::diff::vma::{run_set, run_with};
use maplefuzz::diff::Check;
use maplefuzz::driver::{exec_program, Target};
use maplefuzz::engine::vma::{KernelVmaEngine, ModelEngine, OracleEngine, VmaEngine};
use maplefuzz::engine::EngineSet;
use maplefuzz::mutants::Mutant;
use maplefuzz::ops::vma::text::parse_vma_program;
use maplefuzz::ops::vma::VmaProgram;
use maplefuzz::ops::AnyProgram;

/// The 6.12 VMA engine's build `variant`, or `None` (the test then says
/// so and passes) when this build has no 6.12 tree; CI requires it.
fn kernel_6_12(variant: &str) -> Option<maplefuzz_kernel::vma::VmaEngineInfo> {
    if !common::kernel_available() {
        return None;
    }
    let found = maplefuzz_kernel::vma::vma_build("6.12", variant);
    if found.is_none() {
        assert!(
            std::env::var_os("MAPLEFUZZ_REQUIRE_KERNEL").is_none(),
            "MAPLEFUZZ_REQUIRE_KERNEL is set but this build has no 6.12 VMA engine `{variant}` \
             (refused: {:?})",
            maplefuzz_kernel::vma::vma_refused()
        );
        eprintln!("skipped: no 6.12 VMA engine `{variant}`");
    }
    found
}

fn program(text: &str) -> VmaProgram {
    parse_vma_program(text).expect("a valid VMA program")
}

/// The oracle, the model and one kernel build.
fn three(p: &VmaProgram, info: &maplefuzz_kernel::vma::VmaEngineInfo) -> Vec<Box<dyn VmaEngine>> {
    vec![
        Box::new(OracleEngine::new(p.setup)),
        Box::new(ModelEngine::new(p.setup)),
        Box::new(KernelVmaEngine::new(info, p.setup).expect("the engine starts")),
    ]
}

/// Every op of the contract, with the splits, merges, moves and fork the
/// kernel decides; the three engines must agree after each op.
const EVERY_OP: &str = "config vma max_map_count=24 profile=6.12\n\
    mmap 0x10000000 0x6000 rw- private|fixed anon\n\
    mprotect 0x10002000 0x1000 r--\n\
    touch 0x10000000 w\n\
    mprotect 0x10002000 0x1000 rw-\n\
    madvise 0x10004000 0x1000 dontfork\n\
    mmap 0x20000000 0x4000 rw- shared|fixed file1+0x10\n\
    mmap 0x20004000 0x4000 rw- shared|fixed file1+0x14\n\
    mmap 0 0x3000 r-- private file2+0x0\n\
    mmap 0x30000000 0x2000 rw- shared|fixed anon\n\
    brk 0x555556004000\n\
    brk 0x555556002000\n\
    munmap 0x10001000 0x1000\n\
    mremap 0x20000000 0x8000 0xa000 maymove 0\n\
    mremap 0x10002000 0x1000 0x1000 maymove|fixed 0x40000000\n\
    touch 0x40000000 w\n\
    fork child\n\
    touch 0x40000000 w\n\
    fail_at 0\n\
    mprotect 0x40000000 0x1000 r--\n\
    fork parent\n\
    munmap 0x10000000 0x30000000\n";

#[test]
fn every_op_answers_as_the_oracle_and_the_model_do() {
    let Some(info) = kernel_6_12("exact") else {
        return;
    };
    let p = program(EVERY_OP);
    let mut engines = three(&p, &info);
    let stats = run_with(&p, &mut engines).unwrap_or_else(|d| panic!("{d}"));
    assert_eq!(stats.ops, p.ops.len());
    // The kernel's own list: what is left after the final munmap.
    let k = &engines[2];
    assert_eq!(k.name(), "kernel@6.12");
    let v = k.vmas();
    assert_eq!(k.map_count(), v.len() as u64);
    assert!(v
        .iter()
        .all(|r| r.start >= 0x40000000 || r.end <= 0x10000000));
    // The moved, faulted VMA went through fork (keep child): its chain
    // holds its own anon_vma and its parent's.
    let moved = v
        .iter()
        .find(|r| r.start == 0x40000000)
        .expect("the mremapped VMA");
    assert!(moved.anon.is_some());
    assert_eq!(moved.chain, 2, "{moved:?}");
    assert_eq!(k.brk(), 0x5555_5600_2000);
}

/// A split by mprotect, then the merge back, as the kernel's own
/// vma_modify_flags() and vma_merge_existing_range() do them.
#[test]
fn the_kernel_splits_and_merges() {
    let Some(info) = kernel_6_12("exact") else {
        return;
    };
    let mut k = KernelVmaEngine::new(&info, Default::default()).unwrap();
    use maplefuzz::ops::vma::{Backing, VmaOp, VmaOutcome};
    let mmap = VmaOp::Mmap {
        addr: 0x1000_0000,
        len: 0x6000,
        prot: 3,
        flags: 0x12,
        backing: Backing::Anon,
    };
    assert_eq!(k.apply(&mmap), VmaOutcome::Addr(Ok(0x1000_0000)));
    let split = VmaOp::Mprotect {
        addr: 0x1000_2000,
        len: 0x1000,
        prot: 1,
    };
    assert_eq!(k.apply(&split), VmaOutcome::Status(Ok(())));
    let starts: Vec<u64> = k.vmas().iter().map(|v| v.start).collect();
    assert_eq!(starts, vec![0x1000_0000, 0x1000_2000, 0x1000_3000]);
    assert_eq!(k.map_count(), 3);
    let back = VmaOp::Mprotect {
        addr: 0x1000_2000,
        len: 0x1000,
        prot: 3,
    };
    assert_eq!(k.apply(&back), VmaOutcome::Status(Ok(())));
    assert_eq!(k.vmas().len(), 1);
    assert_eq!(k.validate(), Ok(()));
    // The failed preallocation of a split: nothing changes.
    k.apply(&VmaOp::FailAt { nth: 1 });
    assert_eq!(
        k.apply(&split),
        VmaOutcome::Status(Err(maplefuzz::ops::vma::VmaErrno::ENOMEM))
    );
    assert_eq!(k.vmas().len(), 1);
    assert_eq!(
        k.last_points(),
        vec![
            maplefuzz::ops::vma::Point::VmaAlloc,
            maplefuzz::ops::vma::Point::Prealloc
        ]
    );
}

#[test]
fn generated_programs_agree_three_way() {
    if kernel_6_12("exact").is_none() {
        return;
    }
    let set = EngineSet::parse("oracle,rust,kernel@6.12").expect("6.12 is built");
    for i in 0..400 {
        let AnyProgram::Vma(p) = exec_program(Target::VmaOps, 0x20_0612, i) else {
            unreachable!()
        };
        if let Err(d) = run_set(&p, &set) {
            panic!(
                "exec {i} diverged:\n{}\n{d}",
                maplefuzz::ops::vma::text::format_program(&p)
            );
        }
    }
}

/// fc0c8f9089c2 re-created in the kernel's mm/vma.c: a merge deletes a
/// VMA whose vm_ops has ->close (file 3). The model keeps the rule.
const CLOSE_MERGE: &str = "config vma max_map_count=24 profile=6.12\n\
    mmap 0x10000000 0x2000 rw- private|fixed file3+0x0\n\
    mmap 0x10002000 0x2000 r-- private|fixed file3+0x2\n\
    mprotect 0x10002000 0x2000 rw-\n";

#[test]
fn a_planted_vma_c_bug_is_caught() {
    let (Some(exact), Some(planted)) = (kernel_6_12("exact"), kernel_6_12("close-merge")) else {
        return;
    };
    let p = program(CLOSE_MERGE);
    run_with(&p, &mut three(&p, &exact)).unwrap_or_else(|d| panic!("exact: {d}"));
    let d = run_with(&p, &mut three(&p, &planted)).expect_err("the planted bug is caught");
    assert_eq!(d.step, 2, "{d}");
    // The merge the kernel must refuse preallocates for its store: the
    // allocation points differ before the VMA lists do.
    assert_eq!(d.check, Check::Result, "{d}");
    assert!(d.detail.contains("allocation points differ"), "{d}");
    assert_eq!(d.engine, "kernel@6.12");
    // And by fuzzing, with nothing but the generator.
    let found = (0..20_000).find(|&i| {
        let AnyProgram::Vma(p) = exec_program(Target::VmaOps, 0xc105e, i) else {
            unreachable!()
        };
        run_with(&p, &mut three(&p, &planted)).is_err()
    });
    assert!(
        found.is_some(),
        "20,000 generated programs missed the planted bug"
    );
}

/// A VMA that remove_vma() forgets to free is invisible in the VMA lists;
/// the engine's validate_mm (every vm_area_struct alive is in the tree)
/// reports it.
#[test]
fn a_leaked_vma_is_caught_by_validate() {
    let (Some(exact), Some(planted)) = (kernel_6_12("exact"), kernel_6_12("leak-vma")) else {
        return;
    };
    let p = program(
        "config vma max_map_count=24 profile=6.12\n\
         mmap 0x10000000 0x4000 rw- private|fixed anon\n\
         munmap 0x10001000 0x1000\n",
    );
    run_with(&p, &mut three(&p, &exact)).unwrap_or_else(|d| panic!("exact: {d}"));
    let d = run_with(&p, &mut three(&p, &planted)).expect_err("the leak is caught");
    assert_eq!((d.step, d.check), (1, Check::Validate), "{d}");
    assert!(d.detail.contains("vm_area_structs alive"), "{d}");
}

/// `maplefuzz sweep` on a VMA program: every allocation point of every op
/// fails in its own run, three-way; clean on the kernel as it is (6.12, and
/// 7.1 on its profile), and a leak on one error path of __split_vma()
/// (planted in 6.12) is found.
#[test]
fn the_sweep_fails_every_allocation_point_of_the_kernel() {
    let (Some(exact), Some(planted)) = (kernel_6_12("exact"), kernel_6_12("split-fail-leak"))
    else {
        return;
    };
    use maplefuzz::driver::sweep::sweep_vma_with;
    let p = program(EVERY_OP);
    let clean = sweep_vma_with(&p, &|setup| {
        three(&VmaProgram { setup, ops: vec![] }, &exact)
    })
    .unwrap_or_else(|d| panic!("{d}"));
    assert_eq!(clean.engines, ["oracle", "rust", "kernel@6.12"]);
    assert!(clean.points > 30, "{} points", clean.points);
    assert!(clean.failures.is_empty(), "{:?}", clean.failures);
    let found = sweep_vma_with(&p, &|setup| {
        three(&VmaProgram { setup, ops: vec![] }, &planted)
    })
    .unwrap_or_else(|d| panic!("{d}"));
    assert_eq!(found.points, clean.points);
    assert!(!found.failures.is_empty(), "the planted leak went unseen");
    for f in &found.failures {
        assert_eq!(f.divergence.check, Check::Validate, "{}", f.divergence);
        assert!(f.divergence.detail.contains("vm_area_structs alive"));
    }
    // The same program on the 7.1 profile and 7.1's own mm/vma.c.
    let Some(k71) = kernel_7_1() else {
        return;
    };
    let p71 = program(&EVERY_OP.replace("profile=6.12", "profile=7.1"));
    let clean71 = sweep_vma_with(&p71, &|setup| {
        three(&VmaProgram { setup, ops: vec![] }, &k71)
    })
    .unwrap_or_else(|d| panic!("{d}"));
    assert_eq!(clean71.engines, ["oracle", "rust", "kernel@7.1"]);
    assert!(clean71.points > 30, "{} points", clean71.points);
    assert!(clean71.failures.is_empty(), "{:?}", clean71.failures);
}

/// The shrinker's C program for a VMA bug runs on the kernel's own VMA
/// code in the tree's userspace build, with ASan and UBSan
/// (ci/check-vma-snippet.sh): here the model's vma-merge-pgoff mutant
/// merges two file mappings whose offsets do not line up, and the
/// kernel's code, run from the C program, keeps them apart as the oracle
/// says. The script's comparison fails when an answer differs.
#[test]
fn the_shrinkers_c_program_runs_on_the_kernels_vma_code() {
    let Some(info) = kernel_6_12("exact") else {
        return;
    };
    let dir = common::temp_dir("kernel_vma_engine_c");
    let input = dir.join("pgoff.txt");
    std::fs::write(
        &input,
        "config vma max_map_count=24 profile=6.12\n\
         mmap 0x10000000 0x2000 rw- private|fixed file0+0x0\n\
         mmap 0x10002000 0x2000 rw- private|fixed file0+0x10\n",
    )
    .unwrap();
    let out_dir = dir.join("out");
    let out = common::maplefuzz_with(
        &[
            "--engines",
            "oracle,rust,kernel@6.12",
            "shrink",
            input.to_str().unwrap(),
            "--out",
            out_dir.to_str().unwrap(),
            "--snippets",
            out_dir.to_str().unwrap(),
        ],
        &[("MAPLEFUZZ_MUTANT", "vma-merge-pgoff")],
    );
    let report = common::text(&out.stdout);
    let engine_c = report
        .lines()
        .find_map(|l| l.trim().strip_prefix("on the kernel's own VMA code: "))
        .and_then(|l| l.split(' ').next())
        .unwrap_or_else(|| {
            panic!(
                "no engine C program in:\n{report}{}",
                common::text(&out.stderr)
            )
        });
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/ci/check-vma-snippet.sh");
    let run = |file: &str| {
        std::process::Command::new("bash")
            .arg(script)
            .arg(file)
            .env("KERNEL_SRC", info.src)
            .output()
            .expect("bash runs")
    };
    let ok = run(engine_c);
    let shown = common::text(&ok.stdout);
    assert!(ok.status.success(), "{shown}{}", common::text(&ok.stderr));
    assert!(shown.contains("VMAs (2, map_count 2)"), "{shown}");
    // The same program told the oracle said otherwise: it must fail.
    let c = std::fs::read_to_string(engine_c).unwrap();
    let wrong = dir.join("wrong.engine.c");
    std::fs::write(
        &wrong,
        c.replacen("\"0x10000000\");", "\"0x20000000\");", 1),
    )
    .unwrap();
    let bad = run(wrong.to_str().unwrap());
    assert_eq!(bad.status.code(), Some(1), "{}", common::text(&bad.stdout));
    assert!(common::text(&bad.stdout).contains("<-- differs"));
}

/// The model's VMA mutants, with the kernel as the reference: each is a
/// kernel-against-model divergence on the program that shows it.
#[test]
fn the_vma_mutants_diverge_from_the_kernel() {
    let Some(info) = kernel_6_12("exact") else {
        return;
    };
    let cases = [
        (
            Mutant::VmaMergePgoff,
            "config vma max_map_count=24 profile=6.12\n\
             mmap 0x10000000 0x2000 rw- private|fixed file0+0x0\n\
             mmap 0x10002000 0x2000 rw- private|fixed file0+0x10\n",
        ),
        (
            Mutant::VmaSplitLimit,
            "config vma max_map_count=4 profile=6.12\n\
             mmap 0x10000000 0x1000 rw- private|fixed anon\n\
             mmap 0x10002000 0x1000 rw- private|fixed anon\n\
             mmap 0x10004000 0x4000 rw- private|fixed anon\n\
             mprotect 0x10005000 0x1000 r--\n\
             mprotect 0x10006000 0x1000 r--\n",
        ),
    ];
    for (m, text) in cases {
        let p = program(text);
        let clean: Vec<Box<dyn VmaEngine>> = vec![
            Box::new(KernelVmaEngine::new(&info, p.setup).unwrap()),
            Box::new(ModelEngine::new(p.setup)),
        ];
        run_with(&p, &mut { clean }).unwrap_or_else(|d| panic!("{m} unmutated: {d}"));
        let d = maplefuzz::mutants::with(Some(m), || {
            let mut engines: Vec<Box<dyn VmaEngine>> = vec![
                Box::new(KernelVmaEngine::new(&info, p.setup).unwrap()),
                Box::new(ModelEngine::new(p.setup)),
            ];
            run_with(&p, &mut engines)
        })
        .expect_err("the mutant diverges from the kernel");
        assert_eq!(d.engine, "rust", "{m}: {d}");
    }
}

/// The model, with its mm_mt shown as a tree holding the same VMAs but
/// built by other stores (each VMA stored alone, the highest first): the
/// contents agree, the nodes do not.
struct Relaid(ModelEngine);

impl VmaEngine for Relaid {
    fn name(&self) -> &'static str {
        "relaid"
    }
    fn apply(&mut self, op: &maplefuzz::ops::vma::VmaOp) -> maplefuzz::ops::vma::VmaOutcome {
        self.0.apply(op)
    }
    fn vmas(&self) -> Vec<maplefuzz::ops::vma::Vma> {
        self.0.vmas()
    }
    fn brk(&self) -> u64 {
        self.0.brk()
    }
    fn map_count(&self) -> u64 {
        self.0.map_count()
    }
    fn locked_vm(&self) -> u64 {
        self.0.locked_vm()
    }
    fn last_points(&self) -> Vec<maplefuzz::ops::vma::Point> {
        self.0.last_points()
    }
    fn tree_generation(&self) -> Option<&'static str> {
        self.0.tree_generation()
    }

    fn with_mm_tree(&self, f: &mut dyn FnMut(&maplefuzz::tree::MapleTree)) -> bool {
        let t = self.0.mm().tree();
        let mut other = maplefuzz::tree::MapleTree::with_flags(t.attr_flags());
        let mut entries: Vec<(u64, u64, u64)> = t.entries().collect();
        entries.reverse();
        for (first, last, e) in entries {
            other.store_range(first, last, Some(e)).unwrap();
        }
        f(&other);
        true
    }
}

/// The node-by-node check of the mm trees fires when two trees hold the
/// same VMAs in different nodes (here without a kernel: the model against
/// a relaid copy of itself).
#[test]
fn the_mm_tree_structure_check_fires_on_other_nodes() {
    let mut text = String::from("config vma max_map_count=40 profile=6.12\n");
    for i in 0..14u64 {
        text.push_str(&format!(
            "mmap {:#x} 0x1000 rw- private|fixed anon\n",
            0x1000_0000 + i * 0x2000
        ));
    }
    let p = program(&text);
    let clean: Vec<Box<dyn VmaEngine>> = vec![
        Box::new(OracleEngine::new(p.setup)),
        Box::new(ModelEngine::new(p.setup)),
        Box::new(ModelEngine::new(p.setup)),
    ];
    run_with(&p, &mut { clean }).unwrap_or_else(|d| panic!("{d}"));
    let mut engines: Vec<Box<dyn VmaEngine>> = vec![
        Box::new(OracleEngine::new(p.setup)),
        Box::new(ModelEngine::new(p.setup)),
        Box::new(Relaid(ModelEngine::new(p.setup))),
    ];
    let d = run_with(&p, &mut engines).expect_err("other nodes are seen");
    assert_eq!(
        (d.check, d.engine.as_str()),
        (Check::Structure, "relaid"),
        "{d}"
    );
    assert!(d.detail.contains("mm_mt node layouts differ"), "{d}");
}

/// Linux 7.1's VMA rules that differ from 6.12's, each with the commit
/// that made the difference: `(what, commit, max_map_count, ops)`.
const V7_1_DIFFERENCES: &[(&str, &str, u64, &str)] = &[
    (
        "source and target overlap: EINVAL before the VMA lookup (6.12: EFAULT after it)",
        "mm/mremap: the 2025 vma_remap_struct rework and d23cb648e365's series, check_mremap_params()",
        24,
        "mremap 0x0 0x1 0x1 maymove|fixed 0x0\n",
    ),
    (
        "every mremap checks the map count first, with room for four VMAs (6.12: only a move)",
        "mm/mremap: correct invalid map count check (2026), check_map_count_against_split_early()",
        4,
        "mmap 0x0 0x1 --- shared anon\n\
         mremap 0x0 0x1 0x1 0 0x0\n",
    ),
    (
        "MREMAP_FIXED without a resize moves every VMA of the range (6.12: EFAULT)",
        "d23cb648e365 mm/mremap: permit mremap() move of multiple VMAs",
        24,
        "mmap 0x10000000 0x2000 rw- private|fixed anon\n\
         mmap 0x10003000 0x2000 r-- private|fixed anon\n\
         mremap 0x10000000 0x5000 0x5000 maymove|fixed 0x20000000\n",
    ),
    (
        "MREMAP_DONTUNMAP leaves the emptied source's pgoff (6.12.118 resets it to its address)",
        "mm/mremap: the 2025 rework's dontunmap_complete() (6.12's reset is a stable backport)",
        24,
        "mmap 0x10000000 0x2000 rw- private|fixed anon\n\
         touch 0x10000000 w\n\
         mremap 0x10000000 0x2000 0x2000 maymove|fixed 0x20000000\n\
         mremap 0x20000000 0x2000 0x2000 maymove|dontunmap 0x30000000\n",
    ),
    (
        "a faulted range merges into an unfaulted neighbour, which takes its anon_vma \
         (6.12: no merge, a split)",
        "mm/vma: fix incorrectly disallowed anonymous VMA merges (vma_is_fork_child())",
        24,
        "brk 0x555556012000\n\
         touch 0x55555600e000 w\n\
         madvise 0x55555600b000 0x8000 sequential\n\
         brk 0x555556034000\n\
         madvise 0x55555600e000 0x6000 normal\n",
    ),
    (
        "anon_vma_fork() allocates the child's anon_vma before cloning; the clone links in \
         the other order and reuses only on fork",
        "91901a441fa1 mm/rmap: eliminate partial anon_vma tear-down in anon_vma_fork(); \
         d17f02417a33 mm/rmap: separate out fork-only logic on anon_vma_clone()",
        24,
        "brk 0x55555601e000\n\
         touch 0x555556019000 w\n\
         fork child\n\
         fork child\n\
         fork parent\n",
    ),
];

/// What a program does on one engine, step by step: each answer, the
/// allocation points passed, and the VMAs (anon_vma identities left out,
/// since they are compared up to renaming).
fn observe(e: &mut dyn VmaEngine, p: &VmaProgram) -> Vec<String> {
    p.ops
        .iter()
        .map(|op| {
            let out = e.apply(op);
            let vmas: Vec<_> = e
                .vmas()
                .iter()
                .map(|v| (v.start, v.end, v.flags, v.file, v.pgoff, v.chain))
                .collect();
            format!("{op:?} -> {out:?} {:?} {vmas:x?}", e.last_points())
        })
        .collect()
}

/// Each of 7.1's rule changes, against both kernels: with the 6.12
/// profile the program runs clean three-way on kernel@6.12, with the 7.1
/// profile three-way on kernel@7.1, and the two profiles answer
/// differently (so kernel@7.1 differs from 6.12's rules exactly there).
#[test]
fn linux_7_1_rules_are_the_7_1_profile() {
    let (Some(k612), Some(k71)) = (kernel_6_12("exact"), kernel_7_1()) else {
        return;
    };
    for (what, commit, max, ops) in V7_1_DIFFERENCES {
        let on = |profile: &str| {
            program(&format!(
                "config vma max_map_count={max} profile={profile}\n{ops}"
            ))
        };
        let (p612, p71) = (on("6.12"), on("7.1"));
        if let Err(d) = run_with(&p612, &mut three(&p612, &k612)) {
            panic!("{what}: 6.12 rules against kernel@6.12: {d}");
        }
        if let Err(d) = run_with(&p71, &mut three(&p71, &k71)) {
            panic!("{what} ({commit}): 7.1 rules against kernel@7.1: {d}");
        }
        let old = observe(&mut OracleEngine::new(p612.setup), &p612);
        let new = observe(&mut OracleEngine::new(p71.setup), &p71);
        assert_ne!(old, new, "{what}: the profiles must differ here");
    }
}

/// Finding 14 (docs/findings/mremap-dontunmap-mlock.md): 7.1's
/// `MREMAP_DONTUNMAP` of mlock()ed memory unlocks the whole source VMA
/// (6.12 split it first) and charges the new mapping to `locked_vm`
/// without uncharging the source. kernel@7.1's `exact` build (the glue as
/// 7.1's mm/mremap.c is) is caught on a partial move (it does not split,
/// so it passes other allocation points) and, on a whole one, by the
/// `locked_vm` check alone; its `fixed` build (the patch) runs both clean,
/// and so does kernel@6.12.
#[test]
fn finding_14_dontunmap_of_mlocked_memory() {
    let (Some(k612), Some(exact), Some(fixed)) = (
        kernel_6_12("exact"),
        kernel_7_1(),
        maplefuzz_kernel::vma::vma_build("7.1", "fixed"),
    ) else {
        return;
    };
    let body = |range: &str| {
        format!(
            "mmap 0x10000000 0x4000 rw- private|fixed|locked anon\n\
             touch 0x10000000 w\n\
             mremap {range} maymove|dontunmap 0x0\n\
             munmap 0x10000000 0x4000\n"
        )
    };
    for (range, check, what) in [
        (
            "0x10001000 0x1000 0x1000",
            Check::Result,
            "allocation points",
        ),
        ("0x10000000 0x4000 0x4000", Check::Contents, "locked_vm"),
    ] {
        let ops = body(range);
        let p612 = program(&format!("config vma max_map_count=24 profile=6.12\n{ops}"));
        let p71 = program(&format!("config vma max_map_count=24 profile=7.1\n{ops}"));
        run_with(&p612, &mut three(&p612, &k612)).unwrap_or_else(|d| panic!("6.12: {d}"));
        run_with(&p71, &mut three(&p71, &fixed)).unwrap_or_else(|d| panic!("7.1 fixed: {d}"));
        let d = run_with(&p71, &mut three(&p71, &exact)).expect_err("7.1 as it is");
        assert_eq!(
            (d.check, d.step, d.engine.as_str()),
            (check, 2, "kernel@7.1"),
            "{range}: {d}"
        );
        assert!(d.detail.contains(what), "{range}: {d}");
    }
    // kernel@7.1 on vma_ops is the fixed build.
    let on = maplefuzz_kernel::vma::vma_engines();
    assert!(on.iter().any(|v| v.tree == "7.1" && v.variant == "fixed"));
}

/// The 7.1 VMA engine, or `None` (the test says so and passes) when this
/// build has none; CI requires it (MAPLEFUZZ_REQUIRE_GENERATIONS=4).
fn kernel_7_1() -> Option<maplefuzz_kernel::vma::VmaEngineInfo> {
    if !common::kernel_available() {
        return None;
    }
    let found = maplefuzz_kernel::vma::vma_build("7.1", "exact");
    if found.is_none() {
        assert!(
            std::env::var("MAPLEFUZZ_REQUIRE_GENERATIONS").map_or(true, |n| n != "4"),
            "MAPLEFUZZ_REQUIRE_GENERATIONS=4 but this build has no 7.1 VMA engine (refused: {:?})",
            maplefuzz_kernel::vma::vma_refused()
        );
        eprintln!("skipped: no 7.1 VMA engine");
    }
    found
}

/// kernel@7.1 runs the 7.1 profile's programs: named alone, every
/// generated program is a 7.1 one, and a short campaign runs clean.
#[test]
fn kernel_7_1_runs_the_7_1_profile() {
    if kernel_7_1().is_none() {
        return;
    }
    use maplefuzz::ops::vma::VmaProfile;
    let set = EngineSet::parse("oracle,rust,kernel@7.1").expect("7.1 is built");
    assert_eq!(set.vma_trees(), ["7.1"]);
    assert_eq!(set.vma_profiles(), [VmaProfile::V7_1]);
    assert!(set.vma_missing().is_empty(), "{:?}", set.vma_missing());
    for i in 0..300 {
        let AnyProgram::Vma(p) =
            maplefuzz::driver::exec_program_on(Target::VmaOps, 0x71, i, &set.vma_profiles())
        else {
            unreachable!()
        };
        assert_eq!(p.setup.profile, VmaProfile::V7_1);
        if let Err(d) = run_set(&p, &set) {
            panic!(
                "program {i}:\n{}\n{d}",
                maplefuzz::ops::vma::text::format_program(&p)
            );
        }
    }
}

/// A tree without a VMA engine is named with the reason; the tree engines
/// are unaffected.
#[test]
fn trees_without_a_vma_engine_say_why() {
    if !common::kernel_available() {
        return;
    }
    for (tree, why) in maplefuzz_kernel::vma::vma_refused() {
        assert!(why.contains(tree), "{tree}: {why}");
        assert!(
            maplefuzz_kernel::trees().contains(tree),
            "kernel@{tree} still runs tree programs"
        );
    }
    if let Some((tree, _)) = maplefuzz_kernel::vma::vma_refused().first() {
        let out = common::maplefuzz(&[
            "--engines",
            &format!("oracle,rust,kernel@{tree}"),
            "fuzz",
            "--target",
            "vma_ops",
            "--seconds",
            "1",
        ]);
        let err = common::text(&out.stderr);
        assert!(!out.status.success());
        assert!(err.contains("VMA engine"), "{err}");
    }
}
