//! The VMA engines: the model (`vma/`, the Linux 6.12 VMA code on the
//! Rust maple tree) and the naive oracle (`reference/`), behind one trait so
//! the executor (`crate::diff::vma`) runs a [`VmaProgram`](crate::ops::vma::VmaProgram)
//! on both and compares them after every op.

use crate::ops::vma::{
    Backing, ForkKeep, Point, Vma, VmaErrno, VmaOp, VmaOutcome, VmaProfile, VmaSetup,
};
use crate::vma as model;
use maplefuzz_reference as oracle;
use std::convert::identity;

/// An address space the executor can drive and observe.
pub trait VmaEngine {
    /// The engine's name in reports.
    fn name(&self) -> &'static str;
    /// Runs one op.
    fn apply(&mut self, op: &VmaOp) -> VmaOutcome;
    /// The VMAs in address order.
    fn vmas(&self) -> Vec<Vma>;
    /// `mm->brk`.
    fn brk(&self) -> u64;
    /// `mm->map_count`.
    fn map_count(&self) -> u64;
    /// `mm->locked_vm`, in pages (the oracle: the pages of its `VM_LOCKED`
    /// VMAs, what the counter must say).
    fn locked_vm(&self) -> u64;
    /// The allocation points the last op passed, in order.
    fn last_points(&self) -> Vec<Point>;
    /// The engine's own consistency checks (`validate_mm`, node
    /// accounting); `Ok` for an engine without internals.
    fn validate(&self) -> Result<(), String> {
        Ok(())
    }
    /// Node accounting `(allocated, reachable, held)`, for engines with nodes.
    fn accounting(&self) -> Option<(u64, u64, u64)> {
        None
    }
    /// A store of the last op that broke a shared preallocation.
    fn prealloc_misuse(&self) -> Option<String> {
        None
    }
    /// A dump of the engine's tree, for reports.
    fn dump(&self) -> Option<String> {
        None
    }
    /// The store types the engine's tree ran so far.
    fn store_stats(&self) -> Option<crate::tree::StoreStats> {
        None
    }
    /// The counted kernel paths the engine's tree ran so far.
    fn path_stats(&self) -> Option<crate::tree::PathStats> {
        None
    }
    /// Runs `f` on the engine's `mm_mt` as a port tree (the kernel's nodes
    /// imported word for word); `false` for an engine without one.
    fn with_mm_tree(&self, _f: &mut dyn FnMut(&crate::tree::MapleTree)) -> bool {
        false
    }
    /// The maple tree generation of the engine's `mm_mt` (engines of one
    /// generation build the same nodes; see `TreeEngine::generation`).
    fn tree_generation(&self) -> Option<&'static str> {
        None
    }
}

/// Runs `op` on an address space whose methods follow the contract's
/// names (`mmap`, `munmap`, ..., `fail_at`): the model and the oracle have
/// the same API over their own types (`$ns::Backing`, errors of type `$err`
/// mapped by `$errno`).
macro_rules! syscall {
    ($mm:expr, $op:expr, $ns:ident, $err:ty, $errno:ident) => {{
        let mm = &mut $mm;
        let st = |r: Result<(), $err>| VmaOutcome::Status(r.map_err($errno));
        match *$op {
            VmaOp::Mmap {
                addr,
                len,
                prot,
                flags,
                backing,
            } => {
                let b = match backing {
                    Backing::Anon => $ns::Backing::Anon,
                    Backing::File { file, pgoff } => $ns::Backing::File { file, pgoff },
                };
                VmaOutcome::Addr(mm.mmap(addr, len, prot, flags, b).map_err($errno))
            }
            VmaOp::Munmap { addr, len } => st(mm.munmap(addr, len)),
            VmaOp::Mprotect { addr, len, prot } => st(mm.mprotect(addr, len, prot)),
            VmaOp::Madvise { addr, len, advice } => st(mm.madvise(addr, len, advice)),
            VmaOp::Brk { addr } => VmaOutcome::Brk(mm.brk(addr)),
            VmaOp::Mremap {
                addr,
                old_len,
                new_len,
                flags,
                new_addr,
            } => VmaOutcome::Addr(
                mm.mremap(addr, old_len, new_len, flags, new_addr)
                    .map_err($errno),
            ),
            VmaOp::Touch { addr, write } => st(mm.touch(addr, write)),
            VmaOp::FailAt { nth } => {
                mm.fail_at(nth);
                VmaOutcome::Armed
            }
            VmaOp::Fork { keep } => st(mm.fork(match keep {
                ForkKeep::Parent => $ns::ForkKeep::Parent,
                ForkKeep::Child => $ns::ForkKeep::Child,
            })),
        }
    }};
}

/// The contract's observations (`vmas`, `brk_value`, `map_count`,
/// `locked_vm`, `last_points`) as [`VmaEngine`] methods, for an adapter whose address
/// space is the field `$mm`, whose VMA rows map through `$vma` and whose
/// points map through `$point`; the two APIs share the names but not the
/// types.
macro_rules! observe {
    ($mm:ident, $vma:expr, $point:ident) => {
        fn vmas(&self) -> Vec<Vma> {
            self.$mm.vmas().into_iter().map($vma).collect()
        }

        fn brk(&self) -> u64 {
            self.$mm.brk_value()
        }

        fn map_count(&self) -> u64 {
            self.$mm.map_count()
        }

        fn locked_vm(&self) -> u64 {
            self.$mm.locked_vm()
        }

        fn last_points(&self) -> Vec<Point> {
            self.$mm.last_points().into_iter().map($point).collect()
        }
    };
}

/// The VMA layer on the Rust maple tree.
pub struct ModelEngine {
    mm: model::Mm,
}

impl ModelEngine {
    pub fn new(setup: VmaSetup) -> Self {
        ModelEngine {
            mm: model::Mm::new(model::VmaConfig {
                max_map_count: setup.max_map_count,
                profile: setup.profile,
            }),
        }
    }

    /// The address space under test.
    pub fn mm(&self) -> &model::Mm {
        &self.mm
    }

    /// The address space under test, for tests that break it on purpose.
    pub fn mm_mut(&mut self) -> &mut model::Mm {
        &mut self.mm
    }
}

impl VmaEngine for ModelEngine {
    fn name(&self) -> &'static str {
        "rust"
    }

    fn apply(&mut self, op: &VmaOp) -> VmaOutcome {
        // The op language's types are the model's: nothing to translate.
        syscall!(self.mm, op, model, model::Errno, identity)
    }

    observe!(mm, identity, identity);

    fn validate(&self) -> Result<(), String> {
        self.mm.validate_mm()
    }

    fn accounting(&self) -> Option<(u64, u64, u64)> {
        Some(self.mm.node_accounting())
    }

    fn prealloc_misuse(&self) -> Option<String> {
        self.mm.prealloc_misuse()
    }

    fn dump(&self) -> Option<String> {
        Some(self.mm.tree().dump())
    }

    fn store_stats(&self) -> Option<crate::tree::StoreStats> {
        Some(*self.mm.tree().store_stats())
    }

    fn path_stats(&self) -> Option<crate::tree::PathStats> {
        Some(self.mm.tree().path_stats())
    }

    fn with_mm_tree(&self, f: &mut dyn FnMut(&crate::tree::MapleTree)) -> bool {
        f(self.mm.tree());
        true
    }

    fn tree_generation(&self) -> Option<&'static str> {
        Some(super::PORT_GENERATION)
    }
}

/// The naive oracle.
pub struct OracleEngine {
    o: oracle::VmaOracle,
}

impl OracleEngine {
    pub fn new(setup: VmaSetup) -> Self {
        OracleEngine {
            o: oracle::VmaOracle::new(oracle::VmaOracleConfig {
                max_map_count: setup.max_map_count,
                profile: match setup.profile {
                    VmaProfile::V6_12 => oracle::VmaProfile::V6_12,
                    VmaProfile::V6_1 => oracle::VmaProfile::V6_1,
                    VmaProfile::V7_1 => oracle::VmaProfile::V7_1,
                },
            }),
        }
    }
}

fn oracle_errno(e: oracle::VmaErrno) -> VmaErrno {
    match e {
        oracle::VmaErrno::EINVAL => VmaErrno::EINVAL,
        oracle::VmaErrno::ENOMEM => VmaErrno::ENOMEM,
        oracle::VmaErrno::EEXIST => VmaErrno::EEXIST,
        oracle::VmaErrno::EACCES => VmaErrno::EACCES,
        oracle::VmaErrno::EFAULT => VmaErrno::EFAULT,
        oracle::VmaErrno::EAGAIN => VmaErrno::EAGAIN,
        oracle::VmaErrno::EPERM => VmaErrno::EPERM,
        oracle::VmaErrno::EOVERFLOW => VmaErrno::EOVERFLOW,
        oracle::VmaErrno::EOPNOTSUPP => VmaErrno::EOPNOTSUPP,
        oracle::VmaErrno::Raw(n) => VmaErrno::Raw(n),
    }
}

fn oracle_point(p: oracle::Point) -> Point {
    match p {
        oracle::Point::VmaAlloc => Point::VmaAlloc,
        oracle::Point::Prealloc => Point::Prealloc,
        oracle::Point::StoreGfp => Point::StoreGfp,
        oracle::Point::AnonVma => Point::AnonVma,
        oracle::Point::TreeDup => Point::TreeDup,
    }
}

impl VmaEngine for OracleEngine {
    fn name(&self) -> &'static str {
        "oracle"
    }

    fn apply(&mut self, op: &VmaOp) -> VmaOutcome {
        syscall!(self.o, op, oracle, oracle::VmaErrno, oracle_errno)
    }

    observe!(
        o,
        |v: oracle::VmaView| Vma {
            start: v.start,
            end: v.end,
            flags: v.flags,
            file: v.file,
            pgoff: v.pgoff,
            anon: v.anon,
            chain: v.chain_len,
        },
        oracle_point
    );
}

/// The engines of a VMA run: the oracle first (the reference), then the model.
pub fn engines(setup: VmaSetup) -> Vec<Box<dyn VmaEngine>> {
    vec![
        Box::new(OracleEngine::new(setup)),
        Box::new(ModelEngine::new(setup)),
    ]
}

/// The profile whose VMA rules a tree's kernel VMA engine follows, if the
/// model and the oracle have one: only these kernels' VMA engines run
/// `vma_ops` programs, each on the programs of its profile. (The 6.1
/// profile is a way of driving the model's tree, not a kernel of this
/// build: 6.1 has no mm/vma.c.)
pub fn tree_profile(tree: &str) -> Option<VmaProfile> {
    match tree {
        "6.12" => Some(VmaProfile::V6_12),
        "7.1" => Some(VmaProfile::V7_1),
        _ => None,
    }
}

/// The profiles of generated `vma_ops` programs when the engine set has
/// no kernel VMA engine: each kernel whose rules the model follows.
pub const DEFAULT_PROFILES: &[VmaProfile] = &[VmaProfile::V6_12, VmaProfile::V7_1];

/// Why `tree`'s VMA engine does not run `vma_ops` programs, if it is
/// built but has no profile.
pub fn unprofiled_reason(tree: &str) -> Option<String> {
    tree_profile(tree).is_none().then(|| {
        format!(
            "its VMA engine is built, but the model and the oracle have no Linux {tree} \
             profile (see docs/kernel-vma.md#versions)"
        )
    })
}

/// The oracle, the model, and each kernel VMA engine build of `kernels`
/// (`EngineSet::vma_kernels`) whose profile is the program's.
pub fn engines_with(
    setup: VmaSetup,
    kernels: &[maplefuzz_kernel::vma::VmaEngineInfo],
) -> Vec<Box<dyn VmaEngine>> {
    let mut v = engines(setup);
    for info in kernels {
        if tree_profile(info.tree) == Some(setup.profile) {
            match KernelVmaEngine::new(info, setup) {
                Ok(e) => v.push(Box::new(e)),
                Err(why) => panic!("{why}"),
            }
        }
    }
    v
}

/// A tree's own mm/vma.c (`maplefuzz_kernel::vma`).
pub struct KernelVmaEngine {
    k: maplefuzz_kernel::vma::KernelVma,
    /// The kernel's `mm_mt` imported since the last op (validate and the
    /// structure check both read it; an op clears it).
    imported: std::cell::RefCell<Option<crate::tree::MapleTree>>,
    /// The maple tree generation of the tree's `lib/maple_tree.c` (that
    /// of its tree engine).
    generation: Option<&'static str>,
}

impl KernelVmaEngine {
    /// The kernel's `mm_mt` copied node by node into a port tree (the lock
    /// bits of `ma_flags`, which the port has no use for, cleared).
    /// Runs `f` on the kernel's `mm_mt` imported as a port tree (once per
    /// op).
    fn on_mm_tree<R>(&self, f: impl FnOnce(&crate::tree::MapleTree) -> R) -> R {
        let mut cached = self.imported.borrow_mut();
        let t = cached.get_or_insert_with(|| {
            let (root, flags, tree_addr) = self.k.mm_tree();
            let nodes = self.k.nodes();
            let src = |addr: u64| nodes.get(&addr).copied();
            crate::tree::MapleTree::from_raw(root, flags & !MT_FLAGS_LOCK_MASK, tree_addr, &src)
        });
        f(t)
    }

    pub fn new(
        info: &maplefuzz_kernel::vma::VmaEngineInfo,
        setup: VmaSetup,
    ) -> Result<Self, String> {
        Ok(KernelVmaEngine {
            k: maplefuzz_kernel::vma::KernelVma::new(info, setup.max_map_count)?,
            imported: std::cell::RefCell::new(None),
            generation: maplefuzz_kernel::variants()
                .iter()
                .find(|v| v.tree == info.tree)
                .map(|v| v.generation),
        })
    }
}

/// The kernel VMA engine's call for `op` (`mfv_apply`'s op and six
/// arguments); `None` for `fail_at`, which arms the engine instead.
pub fn kernel_call(op: &VmaOp) -> Option<(maplefuzz_kernel::vma::KernelVmaOp, [u64; 6])> {
    use maplefuzz_kernel::vma::KernelVmaOp as K;
    Some(match *op {
        VmaOp::Mmap {
            addr,
            len,
            prot,
            flags,
            backing,
        } => {
            let (file, pgoff) = match backing {
                Backing::Anon => (u64::from(u32::MAX), 0),
                Backing::File { file, pgoff } => (u64::from(file), pgoff),
            };
            (
                K::Mmap,
                [addr, len, u64::from(prot), u64::from(flags), file, pgoff],
            )
        }
        VmaOp::Munmap { addr, len } => (K::Munmap, [addr, len, 0, 0, 0, 0]),
        VmaOp::Mprotect { addr, len, prot } => (K::Mprotect, [addr, len, u64::from(prot), 0, 0, 0]),
        VmaOp::Madvise { addr, len, advice } => {
            (K::Madvise, [addr, len, u64::from(advice), 0, 0, 0])
        }
        VmaOp::Brk { addr } => (K::Brk, [addr, 0, 0, 0, 0, 0]),
        VmaOp::Mremap {
            addr,
            old_len,
            new_len,
            flags,
            new_addr,
        } => (
            K::Mremap,
            [addr, old_len, new_len, u64::from(flags), new_addr, 0],
        ),
        VmaOp::Touch { addr, write } => (K::Touch, [addr, u64::from(write), 0, 0, 0, 0]),
        VmaOp::Fork { keep } => (K::Fork, [u64::from(keep == ForkKeep::Child), 0, 0, 0, 0, 0]),
        VmaOp::FailAt { .. } => return None,
    })
}

/// A kernel answer as the contract's errno.
fn kernel_errno(r: i64) -> Result<u64, VmaErrno> {
    if (-4095..0).contains(&r) {
        Err(VmaErrno::from_number((-r) as u16))
    } else {
        Ok(r as u64)
    }
}

impl VmaEngine for KernelVmaEngine {
    fn name(&self) -> &'static str {
        self.k.engine
    }

    fn apply(&mut self, op: &VmaOp) -> VmaOutcome {
        self.imported.get_mut().take();
        let Some((kind, args)) = kernel_call(op) else {
            if let VmaOp::FailAt { nth } = *op {
                self.k.fail_at(nth);
            }
            return VmaOutcome::Armed;
        };
        let r = self
            .k
            .apply(kind, args)
            .unwrap_or_else(|| panic!("{} cannot run {}", self.k.engine, op.kind()));
        match op {
            VmaOp::Mmap { .. } | VmaOp::Mremap { .. } => VmaOutcome::Addr(kernel_errno(r)),
            VmaOp::Brk { .. } => VmaOutcome::Brk(r as u64),
            _ => VmaOutcome::Status(kernel_errno(r).map(|_| ())),
        }
    }

    fn vmas(&self) -> Vec<Vma> {
        self.k
            .rows()
            .into_iter()
            .map(|r| Vma {
                start: r.start,
                end: r.end,
                flags: r.flags,
                file: r.file,
                pgoff: r.pgoff,
                anon: (r.anon != 0).then_some(r.anon),
                chain: r.chain,
            })
            .collect()
    }

    fn brk(&self) -> u64 {
        self.k.brk()
    }

    fn map_count(&self) -> u64 {
        self.k.map_count()
    }

    fn locked_vm(&self) -> u64 {
        self.k.locked_vm()
    }

    fn last_points(&self) -> Vec<Point> {
        self.k
            .points()
            .into_iter()
            .map(|p| match p {
                0 => Point::VmaAlloc,
                1 => Point::Prealloc,
                2 => Point::StoreGfp,
                3 => Point::AnonVma,
                _ => Point::TreeDup,
            })
            .collect()
    }

    /// The C side's validate_mm (mt_validate, entry ranges, map_count,
    /// leaks, WARNs), then the port's own validate() over the kernel's
    /// nodes (every mt_validate check and the stricter ones: no stale slot
    /// or pivot past a node's end, ...).
    fn validate(&self) -> Result<(), String> {
        self.k.validate()?;
        self.on_mm_tree(|t| t.validate())
            .map_err(|e| format!("the port's validate() over the kernel's mm_mt: {e:?}"))
    }

    fn with_mm_tree(&self, f: &mut dyn FnMut(&crate::tree::MapleTree)) -> bool {
        self.on_mm_tree(|t| f(t));
        true
    }

    fn tree_generation(&self) -> Option<&'static str> {
        self.generation
    }
}

/// `MT_FLAGS_LOCK_MASK`: how the tree is locked (the mm's is
/// `MT_FLAGS_LOCK_EXTERN`).
const MT_FLAGS_LOCK_MASK: u32 = 0x300;
