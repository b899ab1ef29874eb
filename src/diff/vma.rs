//! The VMA executor: one [`VmaProgram`], the oracle and the model, checks
//! after every op.
//!
//! After each op, in this order:
//!
//! 1. **crash**: an engine panicked;
//! 2. **result**: both answered the same ([`VmaOutcome`]), and passed the
//!    same allocation points ([`Point`](crate::ops::vma::Point)) in the
//!    same order, so a [`VmaOp::FailAt`](crate::ops::vma::VmaOp::FailAt)
//!    fails the same kernel call in both;
//! 3. **pages**: the page view is the same: every mapped page's flags,
//!    file and file page, and anon_vma, independent of where VMA
//!    boundaries fall (what the process can observe);
//! 4. **contents**: the VMA lists are the same (boundaries, flags, file,
//!    pgoff, anon_vma, with anon_vma and shmem identities renamed by first
//!    appearance), and so are `brk`, `map_count` and `locked_vm` (the
//!    oracle's is the pages of its `VM_LOCKED` VMAs, so a counter that
//!    drifts from the flags is caught): the merge and split decisions and
//!    the mlock accounting match;
//! 5. **prealloc**: no store of the op broke a shared preallocation (the
//!    6.1 profile's two stores after one preallocation);
//! 6. **accounting**: the model's tree nodes are all reachable or held,
//!    also after a failed op;
//! 7. **validate**: the model's `validate_mm()` (the tree's full
//!    validation, each entry's range equals its VMA's, the entry count equals
//!    `map_count`, no leaked VMA); a kernel engine's own (`mt_validate`,
//!    the same range and count checks, no leaked `vm_area_struct`, no
//!    WARN), then the port's `validate()` over the kernel's nodes;
//! 8. **structure**: the model's `mm_mt` and each kernel engine's, node by
//!    node (the same 6.12 maple tree driven by the same calls must build
//!    the same nodes).

use super::{panic_message, Check, Divergence, RunStats};
use crate::engine::vma::{engines, VmaEngine};
use crate::ops::vma::{Vma, VmaOutcome, VmaProgram};
use crate::ops::Op;
use std::collections::HashMap;
use std::panic::{catch_unwind, AssertUnwindSafe};

/// Runs `program` on the oracle and the model.
pub fn run(program: &VmaProgram) -> Result<RunStats, Box<Divergence>> {
    run_with(program, &mut engines(program.setup))
}

/// Runs `program` on the oracle, the model and the kernel VMA engines of
/// the trees in `set` ([`crate::engine::vma::engines_with`]).
pub fn run_set(
    program: &VmaProgram,
    set: &crate::engine::EngineSet,
) -> Result<RunStats, Box<Divergence>> {
    run_with(
        program,
        &mut crate::engine::vma::engines_with(program.setup, &set.vma_kernels()),
    )
}

/// Renames anon_vma and shmem identities by first appearance in address
/// order, so two engines that number them differently compare equal.
pub fn canonical(vmas: &[Vma]) -> Vec<Vma> {
    let mut anon: HashMap<u64, u64> = HashMap::new();
    let mut shmem: HashMap<u32, u32> = HashMap::new();
    vmas.iter()
        .map(|v| {
            let mut v = *v;
            if let Some(a) = v.anon {
                let n = anon.len() as u64;
                v.anon = Some(*anon.entry(a).or_insert(n));
            }
            if let Some(f) = v.file.filter(|&f| f >= 100) {
                let n = 100 + shmem.len() as u32;
                v.file = Some(*shmem.entry(f).or_insert(n));
            }
            v
        })
        .collect()
}

/// The page view: maximal runs of pages with the same attributes, where a
/// file page advances with the address. Two VMA lists that differ only in
/// where one VMA ends and an identical next one starts have the same view.
pub fn page_view(vmas: &[Vma]) -> Vec<Vma> {
    let mut runs: Vec<Vma> = Vec::new();
    for v in canonical(vmas) {
        if let Some(last) = runs.last_mut() {
            let pages = (last.end - last.start) / crate::ops::vma::uapi::PAGE;
            if last.end == v.start
                && last.flags == v.flags
                && last.file == v.file
                && last.anon == v.anon
                && (v.file.is_none() || last.pgoff.wrapping_add(pages) == v.pgoff)
            {
                last.end = v.end;
                continue;
            }
        }
        let mut v = v;
        // The chain is the VMA's, not its pages': the VMA lists compare it.
        v.chain = 0;
        if v.file.is_none() {
            // An anonymous page has no file page: pgoff is not observable.
            v.pgoff = 0;
        }
        runs.push(v);
    }
    runs
}

fn rows(vmas: &[Vma]) -> String {
    if vmas.is_empty() {
        return "  (none)\n".to_string();
    }
    vmas.iter().map(|v| format!("  {v}\n")).collect()
}

fn two_lists(what: &str, a: &str, av: &[Vma], b: &str, bv: &[Vma]) -> String {
    format!(
        "{what} differ:\n{a}:\n{}{b}:\n{}{}",
        rows(av),
        rows(bv),
        pretty_assertions::Comparison::new(av, bv)
    )
}

/// **structure**: the mm trees of the engines that have one (the model's,
/// each kernel's), node by node against the first of the same maple tree
/// generation (the port is 6.12's; 7.1's tree splits and rebalances its
/// nodes differently): same shape, node types and words, a VMA's entry
/// compared by the VMA it names (its start), not by its representation.
fn mm_structure(engines: &[Box<dyn VmaEngine>]) -> Option<(String, String)> {
    use crate::tree::MapleTree;
    // Entry -> the start of the range it is stored over, sorted by entry
    // (a few dozen VMAs: a sorted vector, no hashing).
    let starts = |t: &MapleTree| -> Vec<(u64, u64)> {
        let mut v: Vec<(u64, u64)> = t.entries().map(|(first, _, e)| (e, first)).collect();
        v.sort_unstable();
        v
    };
    let start_of = |v: &[(u64, u64)], e: u64| -> Option<u64> {
        v.binary_search_by_key(&e, |p| p.0).ok().map(|i| v[i].1)
    };
    // The first engine of each tree generation is the base of that
    // generation; the others are compared with it as they come (another
    // generation splits its nodes elsewhere).
    let mut found: Option<(usize, usize, String)> = None;
    let mut firsts: Vec<(Option<&str>, usize)> = Vec::new();
    for i in 0..engines.len() {
        let gen = engines[i].tree_generation();
        let Some(f) = firsts.iter().find(|(g, _)| *g == gen).map(|&(_, f)| f) else {
            if engines[i].with_mm_tree(&mut |_| {}) {
                firsts.push((gen, i));
            }
            continue;
        };
        engines[f].with_mm_tree(&mut |a| {
            let ka = starts(a);
            engines[i].with_mm_tree(&mut |b| {
                let kb = starts(b);
                let same = |x: u64, y: u64| match (start_of(&ka, x), start_of(&kb, y)) {
                    (Some(p), Some(q)) => p == q,
                    _ => x == y,
                };
                if let Some(d) = crate::tree::structure_diff_by(a, b, &same) {
                    found = Some((f, i, d));
                }
            });
        });
        if found.is_some() {
            break;
        }
    }
    let (first, i, d) = found?;
    Some((
        engines[i].name().to_string(),
        format!(
            "mm_mt node layouts differ ({} first, {} second): {d}",
            engines[first].name(),
            engines[i].name()
        ),
    ))
}

/// Runs `program` on `engines` (the first is the reference).
pub fn run_with(
    program: &VmaProgram,
    engines: &mut [Box<dyn VmaEngine>],
) -> Result<RunStats, Box<Divergence>> {
    let mut stats = RunStats::default();
    for (step, op) in program.ops.iter().enumerate() {
        let diverge =
            |check: Check, engine: &str, detail: String, engines: &[Box<dyn VmaEngine>]| {
                Box::new(Divergence {
                    step,
                    op: Op::Vma(*op),
                    check,
                    engine: engine.to_string(),
                    detail,
                    dumps: engines
                        .iter()
                        .filter_map(|e| e.dump().map(|d| (e.name().to_string(), d)))
                        .collect(),
                    store_types: Vec::new(),
                    fatal: None,
                })
            };
        let mut outcomes: Vec<VmaOutcome> = Vec::with_capacity(engines.len());
        for (i, e) in engines.iter_mut().enumerate() {
            maplefuzz_kernel::isolate::set_position(step, i);
            match catch_unwind(AssertUnwindSafe(|| e.apply(op))) {
                Ok(o) => outcomes.push(o),
                Err(p) => {
                    let name = e.name();
                    return Err(diverge(
                        Check::Crash,
                        name,
                        format!("engine panicked: {}", panic_message(&*p)),
                        engines,
                    ));
                }
            }
        }
        maplefuzz_kernel::isolate::set_position(step, maplefuzz_kernel::isolate::NO_ENGINE);
        stats.ops += 1;
        let (reference, rest) = engines.split_first().expect("at least one engine");
        let points0 = reference.last_points();
        let vmas0 = reference.vmas();
        for (e, o) in rest.iter().zip(&outcomes[1..]) {
            if *o != outcomes[0] {
                let detail = format!(
                    "results differ: {} answered {}, {} answered {}",
                    reference.name(),
                    outcomes[0],
                    e.name(),
                    o
                );
                return Err(diverge(Check::Result, e.name(), detail, engines));
            }
            let points = e.last_points();
            if points != points0 {
                let detail = format!(
                    "allocation points differ: {} passed {:?}, {} passed {:?}",
                    reference.name(),
                    points0,
                    e.name(),
                    points
                );
                return Err(diverge(Check::Result, e.name(), detail, engines));
            }
            let vmas = e.vmas();
            let (p0, p) = (page_view(&vmas0), page_view(&vmas));
            if p != p0 {
                let detail = two_lists("page views", reference.name(), &p0, e.name(), &p);
                return Err(diverge(Check::Pages, e.name(), detail, engines));
            }
            let (c0, c) = (canonical(&vmas0), canonical(&vmas));
            if c != c0 {
                let detail = two_lists("VMA lists", reference.name(), &c0, e.name(), &c);
                return Err(diverge(Check::Contents, e.name(), detail, engines));
            }
            let (b0, b) = (reference.brk(), e.brk());
            let (m0, m) = (reference.map_count(), e.map_count());
            let (l0, l) = (reference.locked_vm(), e.locked_vm());
            if b != b0 || m != m0 || m != vmas.len() as u64 || l != l0 {
                let detail = format!(
                    "brk / map_count / locked_vm differ: {} has brk {b0:#x}, map_count {m0}, \
                     locked_vm {l0} pages; {} has brk {b:#x}, map_count {m} over {} VMAs, \
                     locked_vm {l} pages",
                    reference.name(),
                    e.name(),
                    vmas.len()
                );
                return Err(diverge(Check::Contents, e.name(), detail, engines));
            }
        }
        for e in engines.iter() {
            if let Some(m) = e.prealloc_misuse() {
                return Err(diverge(Check::Prealloc, e.name(), m, engines));
            }
            if let Some((allocated, reachable, held)) = e.accounting() {
                if allocated != reachable + held {
                    let detail = format!(
                        "node accounting: {allocated} nodes allocated, {reachable} reachable, {held} held by maple states"
                    );
                    return Err(diverge(Check::Accounting, e.name(), detail, engines));
                }
            }
            if let Err(m) = e.validate() {
                return Err(diverge(Check::Validate, e.name(), m, engines));
            }
        }
        if let Some(m) = mm_structure(engines) {
            let (name, detail) = m;
            return Err(diverge(Check::Structure, &name, detail, engines));
        }
        stats.max_entries = stats.max_entries.max(vmas0.len());
    }
    for e in engines.iter() {
        if let Some(s) = e.store_stats() {
            stats.store_stats = s;
        }
        if let Some(s) = e.path_stats() {
            stats.path_stats = s;
        }
    }
    Ok(stats)
}

/// The body of the `vma_ops` fuzz targets: the bytes as a program on one
/// of the engine set's profiles ([`fuzz_profile`]), run, and on a
/// divergence panic with the text program.
pub fn fuzz_bytes(data: &[u8]) {
    let mut p = crate::ops::vma::binary::decode(data);
    fuzz_profile(&mut p, fuzz_engines());
    fuzz_program(&p);
}

/// The profile a fuzz target runs a decoded program on: its own if the
/// engine set runs that profile's programs
/// ([`EngineSet::vma_profiles`](crate::engine::EngineSet::vma_profiles)),
/// else the set's first. The 6.1 profile, whose finding is expected, is
/// never one of them, so coverage-guided fuzzing keeps to kernels' rules.
pub fn fuzz_profile(p: &mut VmaProgram, set: &crate::engine::EngineSet) {
    let profiles = set.vma_profiles();
    if !profiles.contains(&p.setup.profile) {
        p.setup.profile = profiles[0];
    }
}

/// The engines `MAPLEFUZZ_ENGINES` names (read once per process).
fn fuzz_engines() -> &'static crate::engine::EngineSet {
    static ENGINES: std::sync::OnceLock<crate::engine::EngineSet> = std::sync::OnceLock::new();
    ENGINES.get_or_init(crate::engine::EngineSet::from_env)
}

/// [`fuzz_bytes`] after decoding: on the engines `MAPLEFUZZ_ENGINES`
/// names, the kernel VMA engines of its trees included.
pub fn fuzz_program(p: &VmaProgram) {
    if let Err(d) = run_set(p, fuzz_engines()) {
        panic!(
            "maplefuzz divergence; the program:\n{}\n{}",
            crate::ops::vma::text::format_program(p),
            d
        );
    }
}
