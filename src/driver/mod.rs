//! The stable seeded driver: campaigns of generated programs, and replay.
//!
//! A campaign ([`fuzz`]) runs executions until its time budget or exec limit
//! is spent, or until the first divergence. Execution `i` of a campaign with
//! seed `s` is fully determined by `(s, i)`: its seed is
//! [`exec_seed`]`(s, i)`, its program is the target's generator
//! ([`generate_profile`] or
//! [`vma::binary::generate`](crate::ops::vma::binary::generate)) on a
//! `ChaCha8Rng` seeded with that, and it runs through [`diff::run`]. So
//! `maplefuzz fuzz --seed S --max-execs N` repeats a campaign exactly,
//! and a failing execution also leaves its program on disk
//! (`<crash_dir>/<signature>-<exec seed>.txt` and `.bin`) before anything
//! is printed.
//!
//! [`replay`] runs one program from a text or binary file; [`shrink`]
//! minimises failing ones and writes their reproducers.

mod crash;
pub use crash::{crash_at, segfault, CRASH_AT_ENV};
pub mod import;
pub mod mutants;
pub mod nightly;
pub mod readers;
mod replay;
pub mod seeds;
pub mod shrink;
mod stats;
pub mod sweep;
mod trace;
pub mod watchdog;

pub use crash::Artifact;
pub use replay::{load_any, load_program, replay, replay_to, Format, ReplayOutcome};
pub use stats::CampaignStats;

use crate::diff::panic_message;
use crate::diff::{self, Divergence};
use crate::ops::gen::{generate_profile, Profile};
use crate::ops::vma::VmaProfile;
use crate::ops::AnyProgram;
use maplefuzz_kernel::inflight;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use std::fmt;
use std::io::Write;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// A fuzz target: a kind of program the driver generates and runs. Each
/// is a generator [`Profile`]; `all` runs them round-robin, one program
/// each.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Target {
    /// Maple tree ops (`TreeOp`) on the oracle and the Rust port.
    TreeOps,
    /// Allocation trees: gap searches and allocations over trees with holes.
    TreeAlloc,
    /// Preallocation: `prealloc`, `store_prealloc`, `mas_store`, `mas_destroy`.
    TreePrealloc,
    /// Fault injection: `fail_allocs` schedules over allocating ops.
    TreeFaults,
    /// Address-space ops (`VmaOp`) on the VMA oracle and the VMA layer on
    /// the Rust tree.
    VmaOps,
}

impl Target {
    /// Every target, in the order `all` runs them.
    pub const ALL: [Target; 5] = [
        Target::TreeOps,
        Target::TreeAlloc,
        Target::TreePrealloc,
        Target::TreeFaults,
        Target::VmaOps,
    ];

    /// The maple tree targets (their programs are `Program`s).
    pub const TREE: [Target; 4] = [
        Target::TreeOps,
        Target::TreeAlloc,
        Target::TreePrealloc,
        Target::TreeFaults,
    ];

    /// The target's name on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Target::TreeOps => "tree_ops",
            Target::TreeAlloc => "tree_alloc",
            Target::TreePrealloc => "tree_prealloc",
            Target::TreeFaults => "tree_faults",
            Target::VmaOps => "vma_ops",
        }
    }

    /// The target called `name`.
    pub fn from_name(name: &str) -> Option<Target> {
        Target::ALL.into_iter().find(|t| t.name() == name)
    }

    /// The tree generator profile of this target (`None`: a VMA target).
    pub fn profile(self) -> Option<Profile> {
        match self {
            Target::TreeOps => Some(Profile::TreeOps),
            Target::TreeAlloc => Some(Profile::TreeAlloc),
            Target::TreePrealloc => Some(Profile::TreePrealloc),
            Target::TreeFaults => Some(Profile::TreeFaults),
            Target::VmaOps => None,
        }
    }

    /// This target's program for one execution (a VMA program on one of
    /// `vma_profiles`).
    fn program(self, rng: &mut ChaCha8Rng, vma_profiles: &[VmaProfile]) -> AnyProgram {
        match self.profile() {
            Some(profile) => AnyProgram::Tree(generate_profile(profile, rng)),
            None => AnyProgram::Vma(crate::ops::vma::binary::generate(rng, vma_profiles)),
        }
    }
}

/// Every name `--target` accepts: `all`, then each target's name.
pub fn target_names() -> Vec<&'static str> {
    std::iter::once("all")
        .chain(Target::ALL.iter().map(|t| t.name()))
        .collect()
}

/// The targets a `--target` name stands for (`all`: every target).
pub fn resolve_targets(name: &str) -> Result<Vec<Target>, DriverError> {
    if name == "all" {
        return Ok(Target::ALL.to_vec());
    }
    Target::from_name(name)
        .map(|t| vec![t])
        .ok_or_else(|| DriverError::UnknownTarget(name.to_string()))
}

/// A usage or input error: the command cannot run (exit status 2).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DriverError {
    /// `--target` names no target.
    UnknownTarget(String),
    /// A file could not be read or is not a valid program.
    Input {
        /// The file.
        path: PathBuf,
        /// What is wrong (for a text program: `line N: ...`).
        message: String,
    },
}

impl fmt::Display for DriverError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DriverError::UnknownTarget(name) => write!(
                f,
                "unknown target `{name}` (expected one of: {})",
                target_names().join(", ")
            ),
            DriverError::Input { path, message } => write!(f, "{}: {message}", path.display()),
        }
    }
}

impl std::error::Error for DriverError {}

/// What a campaign runs.
#[derive(Clone, Debug)]
pub struct FuzzOptions {
    /// A target name, or `all`.
    pub target: String,
    /// Time budget in seconds; 0 means no time limit.
    pub seconds: u64,
    /// The campaign seed; `None` takes one from the clock.
    pub seed: Option<u64>,
    /// Stop after this many executions.
    pub max_execs: Option<u64>,
    /// Where reproducers of divergences go.
    pub crash_dir: PathBuf,
    /// Print the summary (and a divergence report) to stdout.
    pub print: bool,
    /// The engines every tree program runs on.
    pub engines: crate::engine::EngineSet,
    /// An execution longer than this many seconds is a hang: written as
    /// `hang-<target>-<exec seed>.txt` and reported, exit 1 (0: no limit;
    /// see [`watchdog`]).
    pub hang_seconds: u64,
    /// The checks that cost the tree's size run every this many ops
    /// ([`diff::Options::check_every`]; 1: after every op). A divergence is
    /// placed at its op either way ([`diff::run_checked_every`]).
    pub check_every: usize,
}

impl Default for FuzzOptions {
    fn default() -> Self {
        FuzzOptions {
            target: "all".to_string(),
            seconds: 30,
            seed: None,
            max_execs: None,
            crash_dir: PathBuf::from("crashes"),
            print: true,
            engines: crate::engine::EngineSet::all_available(),
            hang_seconds: watchdog::DEFAULT_HANG_SECONDS,
            check_every: diff::CHECK_EVERY,
        }
    }
}

/// An execution that failed: a divergence, or a panic in the harness itself.
#[derive(Debug)]
pub struct Failure {
    /// The target that ran.
    pub target: Target,
    /// Index of the execution in the campaign.
    pub exec: u64,
    /// The execution's seed ([`exec_seed`]).
    pub exec_seed: u64,
    /// Deduplication signature (`Divergence::signature`, or `harness-panic`).
    pub signature: String,
    /// The divergence, when the executor reported one.
    pub divergence: Option<Box<Divergence>>,
    /// The full report (the divergence's `Display`, or the panic message).
    pub report: String,
    /// The program, unless generating it was what failed.
    pub program: Option<AnyProgram>,
    /// The reproducer files, or why they could not be written.
    pub artifact: Result<Artifact, String>,
}

/// How a campaign ended.
#[derive(Debug)]
pub struct FuzzOutcome {
    /// The campaign seed (given or taken from the clock).
    pub seed: u64,
    /// The targets that ran.
    pub targets: Vec<Target>,
    /// What ran, including the failing execution if any.
    pub stats: CampaignStats,
    /// The first failure; `None` for a clean campaign.
    pub failure: Option<Failure>,
}

impl FuzzOutcome {
    /// The process exit status: 0 clean, 1 divergence.
    pub fn exit_code(&self) -> i32 {
        if self.failure.is_some() {
            1
        } else {
            0
        }
    }
}

/// `splitmix64`: a bijective mixer of 64-bit words.
fn splitmix64(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// The seed of execution `index` of a campaign seeded `campaign`: the
/// `index`-th output of a splitmix64 stream started at `campaign`.
pub fn exec_seed(campaign: u64, index: u64) -> u64 {
    const GAMMA: u64 = 0x9e37_79b9_7f4a_7c15;
    splitmix64(campaign.wrapping_add(index.wrapping_add(1).wrapping_mul(GAMMA)))
}

/// The program execution `index` of campaign `campaign` runs on `target`
/// with an engine set that has no kernel VMA engine, or those of every
/// profile (see [`exec_program_on`]).
pub fn exec_program(target: Target, campaign: u64, index: u64) -> AnyProgram {
    exec_program_on(
        target,
        campaign,
        index,
        crate::engine::vma::DEFAULT_PROFILES,
    )
}

/// The program execution `index` of campaign `campaign` runs on `target`
/// when VMA programs are drawn on `vma_profiles`
/// ([`EngineSet::vma_profiles`](crate::engine::EngineSet::vma_profiles)).
pub fn exec_program_on(
    target: Target,
    campaign: u64,
    index: u64,
    vma_profiles: &[VmaProfile],
) -> AnyProgram {
    let mut rng = ChaCha8Rng::seed_from_u64(exec_seed(campaign, index));
    target.program(&mut rng, vma_profiles)
}

/// A campaign seed from the clock and the process id.
pub fn clock_seed() -> u64 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0);
    splitmix64(nanos ^ (u64::from(std::process::id()) << 32))
}

/// What one execution did.
enum Exec {
    Clean(diff::RunStats),
    Diverged(AnyProgram, Box<Divergence>),
    /// A panic outside the executor's engines (a harness bug).
    HarnessPanic(Option<AnyProgram>, String),
}

fn execute(
    target: Target,
    seed: u64,
    artifact: &Path,
    crash_here: bool,
    engines: &crate::engine::EngineSet,
    check_every: usize,
    dog: Option<&watchdog::Watchdog>,
) -> Exec {
    let generated = catch_unwind(|| {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        target.program(&mut rng, &engines.vma_profiles())
    });
    let program = match generated {
        Ok(p) => p,
        Err(p) => {
            return Exec::HarnessPanic(
                None,
                format!("the generator panicked: {}", panic_message(&*p)),
            )
        }
    };
    // On disk first if a signal kills the process during the run.
    inflight::arm(artifact, program.encode());
    if let Some(dog) = dog {
        dog.watch(watchdog::Watched {
            program: program.clone(),
            target: Some(target),
            exec_seed: seed,
            rerun: format!("maplefuzz --engines {} replay FILE", engines.describe()),
        });
    }
    if crash_here {
        crash::segfault();
    }
    let result = catch_unwind(AssertUnwindSafe(|| match &program {
        AnyProgram::Tree(p) => diff::run_checked_every(p, engines, check_every),
        AnyProgram::Vma(_) => diff::run_any(&program, engines),
    }));
    if let Some(dog) = dog {
        dog.idle();
    }
    match result {
        Ok(Ok(stats)) => Exec::Clean(stats),
        Ok(Err(d)) => Exec::Diverged(program, d),
        Err(p) => Exec::HarnessPanic(
            Some(program),
            format!("the executor panicked: {}", panic_message(&*p)),
        ),
    }
}

/// What a campaign shows while it runs. The library draws nothing: the
/// `maplefuzz` binary draws its progress bar through this.
pub trait Progress {
    /// The campaign so far (`stats.elapsed` is up to date), about four
    /// times a second.
    fn update(&mut self, stats: &CampaignStats);
    /// The campaign is over: called once, before the summary is printed.
    fn finish(&mut self) {}
}

/// No progress display.
impl Progress for () {
    fn update(&mut self, _: &CampaignStats) {}
}

/// Runs a campaign (see the module documentation), showing no progress.
///
/// Returns `Err` only for a usage error (an unknown target); a divergence
/// is a normal outcome with [`FuzzOutcome::failure`] set and exit code 1.
pub fn fuzz(opts: &FuzzOptions) -> Result<FuzzOutcome, DriverError> {
    fuzz_with_progress(opts, &mut ())
}

/// [`fuzz`], reporting its progress to `progress`.
pub fn fuzz_with_progress(
    opts: &FuzzOptions,
    progress: &mut dyn Progress,
) -> Result<FuzzOutcome, DriverError> {
    let targets = resolve_targets(&opts.target)?;
    let seed = opts.seed.unwrap_or_else(clock_seed);
    let mut stats = CampaignStats::default();
    let start = Instant::now();
    let budget = (opts.seconds > 0).then(|| Duration::from_secs(opts.seconds));
    let mut last_draw = start;
    let mut failure = None;

    let artifact = inflight::artifact_path(&opts.crash_dir);
    let crash_at = crash::crash_at();
    let dog = (opts.hang_seconds > 0).then(|| {
        watchdog::Watchdog::start(
            Duration::from_secs(opts.hang_seconds),
            opts.crash_dir.clone(),
        )
    });
    let mut index = 0u64;
    loop {
        if opts.max_execs.is_some_and(|m| index >= m) {
            break;
        }
        let now = Instant::now();
        if budget.is_some_and(|b| now.duration_since(start) >= b) {
            break;
        }
        if now.duration_since(last_draw) >= Duration::from_millis(250) {
            last_draw = now;
            stats.elapsed = now.duration_since(start);
            progress.update(&stats);
        }
        let target = targets[(index % targets.len() as u64) as usize];
        let s = exec_seed(seed, index);
        match execute(
            target,
            s,
            &artifact,
            crash_at == Some(index),
            &opts.engines,
            opts.check_every,
            dog.as_ref(),
        ) {
            Exec::Clean(run) => stats.record(&run),
            Exec::Diverged(program, d) => {
                stats.execs += 1;
                failure = Some(fail(
                    opts,
                    seed,
                    target,
                    index,
                    s,
                    Some(program),
                    Some(d),
                    None,
                ));
                break;
            }
            Exec::HarnessPanic(program, message) => {
                stats.execs += 1;
                failure = Some(fail(
                    opts,
                    seed,
                    target,
                    index,
                    s,
                    program,
                    None,
                    Some(message),
                ));
                break;
            }
        }
        index += 1;
    }
    inflight::disarm();
    stats.elapsed = start.elapsed();
    progress.finish();

    let outcome = FuzzOutcome {
        seed,
        targets,
        stats,
        failure,
    };
    if opts.print {
        let mut out = std::io::stdout().lock();
        if let Some(f) = &outcome.failure {
            let _ = print_failure(&mut out, f);
        }
        let _ = write!(out, "{}", summary(opts, &outcome));
        let _ = out.flush();
    }
    Ok(outcome)
}

/// Records a failed execution: writes the reproducer first, then builds
/// the report.
#[allow(clippy::too_many_arguments)]
fn fail(
    opts: &FuzzOptions,
    campaign: u64,
    target: Target,
    exec: u64,
    exec_seed: u64,
    program: Option<AnyProgram>,
    divergence: Option<Box<Divergence>>,
    panic: Option<String>,
) -> Failure {
    let (signature, report) = match (&divergence, panic) {
        (Some(d), _) => (d.signature(), d.to_string()),
        (None, Some(m)) => ("harness-panic".to_string(), m),
        (None, None) => ("harness-panic".to_string(), "unknown failure".to_string()),
    };
    let first_line = report.lines().next().unwrap_or("").to_string();
    let mutant = mutant_flag();
    let mut header = vec![
        "maplefuzz reproducer".to_string(),
        format!("target: {}", target.name()),
        format!("campaign seed: {campaign:#x}"),
        format!("exec: {exec} (exec seed {exec_seed:#x})"),
        format!("signature: {signature}"),
        first_line,
        format!(
            "the whole exec again: maplefuzz fuzz --target {} --seed {campaign:#x} --max-execs {}{mutant}",
            target.name(),
            exec + 1
        ),
    ];
    if let Some(m) = crate::mutants::in_force() {
        header.insert(2, format!("mutant: {m} (replay with --mutant {m})"));
    }
    if program.is_none() {
        header.push("no program: generating it was what failed".to_string());
    }
    let stem = format!("{}-{exec_seed:016x}", crash::sanitize(&signature));
    let empty = AnyProgram::Tree(crate::ops::Program::default());
    let artifact = crash::write_reproducer(
        &opts.crash_dir,
        &stem,
        &header,
        program.as_ref().unwrap_or(&empty),
    )
    .map_err(|e| e.to_string());
    Failure {
        target,
        exec,
        exec_seed,
        signature,
        divergence,
        report,
        program,
        artifact,
    }
}

fn print_failure(out: &mut dyn Write, f: &Failure) -> std::io::Result<()> {
    if let Some(p) = &f.program {
        writeln!(
            out,
            "# program of exec {} (seed {:#x})",
            f.exec, f.exec_seed
        )?;
        write!(out, "{}", p.text())?;
        writeln!(out)?;
    }
    writeln!(out, "{}", f.report.trim_end())?;
    writeln!(out)?;
    match &f.artifact {
        Ok(a) => {
            writeln!(
                out,
                "reproducer written: {} and {}",
                a.text.display(),
                a.binary.display()
            )?;
            writeln!(
                out,
                "replay it with: maplefuzz replay {}{}",
                a.text.display(),
                mutant_flag()
            )?;
        }
        Err(e) => writeln!(out, "could not write the reproducer: {e}")?,
    }
    Ok(())
}

/// The end-of-campaign summary.
pub fn summary(opts: &FuzzOptions, o: &FuzzOutcome) -> String {
    let names: Vec<&str> = o.targets.iter().map(|t| t.name()).collect();
    let verdict = match &o.failure {
        None => "no divergence".to_string(),
        Some(f) => format!("DIVERGENCE ({}) in exec {}", f.signature, f.exec),
    };
    let engines = opts.engines.describe();
    // VMA programs run on the VMA oracle, the VMA layer, and the kernel
    // VMA engines of the set's trees.
    let vma: Vec<String> = ["oracle".to_string(), "rust".to_string()]
        .into_iter()
        .chain(opts.engines.vma_kernels().iter().map(|v| {
            let default = maplefuzz_kernel::vma::vma_engines()
                .iter()
                .any(|d| d.tree == v.tree && d.variant == v.variant);
            if default {
                format!("kernel@{}", v.tree)
            } else {
                format!("kernel@{}:{}", v.tree, v.variant)
            }
        }))
        .collect();
    let shown = if o.targets.iter().all(|t| *t == Target::VmaOps) {
        format!("{} (VMA layer)", vma.join(","))
    } else if o.targets.contains(&Target::VmaOps) {
        format!("{engines}; vma_ops: {} (VMA layer)", vma.join(","))
    } else {
        engines.clone()
    };
    let mut s = format!(
        "maplefuzz fuzz: {verdict}\n  targets      {}\n  engines      {shown}\n  seed         {:#x}\n",
        names.join(", "),
        o.seed
    );
    s.push_str(&o.stats.report());
    if let Some(m) = crate::mutants::in_force() {
        s.push_str(&format!("  mutant       {m}\n"));
    }
    if o.failure.is_none() {
        s.push_str(&format!(
            "  reproduce    maplefuzz --engines {engines} fuzz --target {} --seed {:#x} --max-execs {}{}\n",
            opts.target,
            o.seed,
            o.stats.execs,
            mutant_flag()
        ));
    }
    s
}

/// ` --mutant NAME` for the mutant in force on this thread, or nothing.
fn mutant_flag() -> String {
    crate::mutants::in_force().map_or_else(String::new, |m| format!(" --mutant {m}"))
}
