//! The VMA executor: the model and the oracle agree on generated programs;
//! each check fires on an engine broken on purpose; the 6.1 profile shows
//! the July 2022 pattern (one preallocation, two stores) as a prealloc
//! finding, with the same address space as 6.12.

use maplefuzz::diff::vma::{run, run_with};
use maplefuzz::diff::Check;
use maplefuzz::driver::{exec_program, Target};
use maplefuzz::engine::vma::{ModelEngine, OracleEngine, VmaEngine};
use maplefuzz::ops::vma::text::parse_vma_program;
use maplefuzz::ops::vma::{Point, Vma, VmaOp, VmaOutcome, VmaProgram};
use maplefuzz::ops::AnyProgram;

/// The 6.1 `vma_merge()` case 4 (prev grows over part of next): 6.1 made
/// one preallocation and then two stores; the second needs a node.
const CASE4: &str = "config vma max_map_count=24 profile=6.1\n\
    mmap 0x10000000 0x2000 rw- private|fixed anon\n\
    mmap 0x10002000 0x2000 r-- private|fixed anon\n\
    mprotect 0x10001000 0x1000 r--\n";

#[test]
fn the_model_and_the_oracle_agree_on_generated_programs() {
    for i in 0..150 {
        let AnyProgram::Vma(p) = exec_program(Target::VmaOps, 0x7a11, i) else {
            unreachable!()
        };
        if let Err(d) = run(&p) {
            panic!(
                "exec {i} diverged:\n{}\n{d}",
                maplefuzz::ops::vma::text::format_program(&p)
            );
        }
    }
}

#[test]
fn the_6_1_profile_reports_the_second_store() {
    let p = parse_vma_program(CASE4).unwrap();
    let d = run(&p).expect_err("6.1's second store needs a node");
    assert_eq!(
        (d.check, d.step, d.engine.as_str()),
        (Check::Prealloc, 2, "rust"),
        "{d}"
    );
    assert!(d.detail.contains("second store"), "{d}");
    // The same program on the 6.12 profile: one store, clean.
    let mut p12 = p.clone();
    p12.setup.profile = Default::default();
    run(&p12).unwrap();
}

/// What a broken engine gets wrong.
#[derive(Clone, Copy)]
enum Defect {
    /// Answers success for a failed op.
    Result,
    /// Reports one extra allocation point.
    Points,
    /// Reports the first VMA without write permission.
    Pages,
    /// Reports the first VMA split in two (same pages).
    Split,
    /// Reports one VMA more in map_count.
    MapCount,
    /// Reports one page more in locked_vm.
    LockedVm,
    /// Fails its own validation.
    Validate,
    /// Counts a node that is neither reachable nor held.
    Leak,
}

struct Broken {
    inner: ModelEngine,
    defect: Defect,
}

impl VmaEngine for Broken {
    fn name(&self) -> &'static str {
        "broken"
    }
    fn apply(&mut self, op: &VmaOp) -> VmaOutcome {
        let o = self.inner.apply(op);
        match (self.defect, o) {
            (Defect::Result, VmaOutcome::Status(Err(_))) => VmaOutcome::Status(Ok(())),
            _ => o,
        }
    }
    fn vmas(&self) -> Vec<Vma> {
        let mut v = self.inner.vmas();
        match self.defect {
            Defect::Pages => {
                if let Some(first) = v.first_mut() {
                    first.flags &= !0x2;
                }
            }
            Defect::Split => {
                if let Some(first) = v.first().copied() {
                    if first.end - first.start >= 0x2000 {
                        let mut a = first;
                        let mut b = first;
                        a.end = first.start + 0x1000;
                        b.start = a.end;
                        b.pgoff += 1;
                        v.splice(0..1, [a, b]);
                    }
                }
            }
            _ => {}
        }
        v
    }
    fn brk(&self) -> u64 {
        self.inner.brk()
    }
    fn map_count(&self) -> u64 {
        let n = self.inner.map_count();
        match self.defect {
            Defect::MapCount => n + 1,
            Defect::Split => self.vmas().len() as u64,
            _ => n,
        }
    }
    fn locked_vm(&self) -> u64 {
        self.inner.locked_vm() + u64::from(matches!(self.defect, Defect::LockedVm))
    }
    fn last_points(&self) -> Vec<Point> {
        let mut p = self.inner.last_points();
        if matches!(self.defect, Defect::Points) && !p.is_empty() {
            p.push(Point::AnonVma);
        }
        p
    }
    fn accounting(&self) -> Option<(u64, u64, u64)> {
        let (a, r, h) = self.inner.accounting()?;
        Some(match self.defect {
            Defect::Leak => (a + 1, r, h),
            _ => (a, r, h),
        })
    }
    fn validate(&self) -> Result<(), String> {
        match self.defect {
            Defect::Validate if self.inner.map_count() > 0 => Err("broken on purpose".into()),
            _ => self.inner.validate(),
        }
    }
}

fn run_broken(p: &VmaProgram, defect: Defect) -> Box<maplefuzz::diff::Divergence> {
    let mut engines: Vec<Box<dyn VmaEngine>> = vec![
        Box::new(OracleEngine::new(p.setup)),
        Box::new(Broken {
            inner: ModelEngine::new(p.setup),
            defect,
        }),
    ];
    run_with(p, &mut engines).expect_err("the broken engine is caught")
}

#[test]
fn every_check_fires_on_a_broken_engine() {
    let p = parse_vma_program(
        "config vma max_map_count=24 profile=6.12\n\
         mmap 0x10000 0x4000 rw- private|fixed anon\n\
         munmap 0x10001 0x1000\n",
    )
    .unwrap();
    // The same program on the real engines is clean.
    run(&p).unwrap();
    for (defect, check, step) in [
        (Defect::Result, Check::Result, 1),
        (Defect::Points, Check::Result, 0),
        (Defect::Pages, Check::Pages, 0),
        (Defect::Split, Check::Contents, 0),
        (Defect::MapCount, Check::Contents, 0),
        (Defect::LockedVm, Check::Contents, 0),
        (Defect::Validate, Check::Validate, 0),
        (Defect::Leak, Check::Accounting, 0),
    ] {
        let d = run_broken(&p, defect);
        assert_eq!(
            (d.check, d.step, d.engine.as_str()),
            (check, step, "broken"),
            "{d}"
        );
    }
}
