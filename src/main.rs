//! The `maplefuzz` command line.
//!
//! Exit status: 0 no divergence, 1 divergence (a reproducer was written),
//! 2 usage or input error.

use clap::builder::PossibleValuesParser;
use clap::{Parser, Subcommand};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use maplefuzz::driver::mutants::{self as dm, MutantsOptions};
use maplefuzz::driver::nightly::{NightlySummary, TargetSummary};
use maplefuzz::driver::shrink::{self, ShrinkOptions};
use maplefuzz::driver::{self, DriverError, FuzzOptions};
use maplefuzz::driver::{CampaignStats, Progress};
use maplefuzz::mutants::{self, Mutant};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Differential fuzzing of the Linux maple tree.
#[derive(Parser, Debug)]
#[command(name = "maplefuzz", version, about)]
struct Cli {
    /// Engines to run: `oracle,rust,kernel[@X.Y][:VARIANT],...` or `all`
    /// (default: every engine this build has, the `fixed` variant of each
    /// kernel tree; `MAPLEFUZZ_ENGINES` when unset).
    #[arg(long, global = true)]
    engines: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run the stable seeded driver: generated programs on every engine.
    Fuzz {
        /// The target to fuzz, or `all`.
        #[arg(long, default_value = "all", value_parser = PossibleValuesParser::new(driver::target_names()))]
        target: String,
        /// Time budget in seconds (0: no time limit).
        #[arg(long, default_value_t = 30)]
        seconds: u64,
        /// Campaign seed, decimal or 0x-hex (default: from the clock).
        #[arg(long, value_parser = parse_u64)]
        seed: Option<u64>,
        /// Stop after this many executions.
        #[arg(long)]
        max_execs: Option<u64>,
        /// Where reproducers of divergences are written.
        #[arg(long, default_value = "crashes")]
        crash_dir: PathBuf,
        /// No progress bar.
        #[arg(long, short)]
        quiet: bool,
        /// Switch on one deliberate bug (see `maplefuzz mutants`).
        #[arg(long, value_parser = PossibleValuesParser::new(Mutant::names()))]
        mutant: Option<String>,
        /// An execution running longer than this many seconds is a hang: its
        /// program is written as <crash-dir>/hang-<target>-<exec seed>.txt
        /// (and .bin), then reported, exit 1 (0: no limit).
        #[arg(long, default_value_t = driver::watchdog::DEFAULT_HANG_SECONDS)]
        hang_seconds: u64,
        /// Validate, account and compare node layouts every this many ops
        /// (and after every destroy, bulk-mode op, faulted op, and at the
        /// end); 1: after every op. A divergence is still reported at the
        /// op that caused it (the program is re-run to it with every check).
        #[arg(long, default_value_t = maplefuzz::diff::CHECK_EVERY as u64, value_parser = clap::value_parser!(u64).range(1..))]
        check_every: u64,
    },
    /// Run generated programs on an RCU-mode kernel tree while reader
    /// threads read it with the kernel's lockless API (mtree_load, mt_find,
    /// mas_walk and mas_find), and check every read against the states the
    /// tree went through while it ran (docs/kernel-engine.md, "Threaded
    /// readers"). Exit 1 at the first read no such state explains (its
    /// program is written to the crash directory first).
    Readers {
        /// Time budget in seconds (0: no time limit).
        #[arg(long, default_value_t = 30)]
        seconds: u64,
        /// Reader threads.
        #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u32).range(1..=64))]
        threads: u32,
        /// Campaign seed, decimal or 0x-hex (default: from the clock).
        #[arg(long, value_parser = parse_u64)]
        seed: Option<u64>,
        /// Stop after this many programs.
        #[arg(long)]
        max_programs: Option<u64>,
        /// The kernel tree: `6.12`, `kernel@7.1`, `7.1:exact`... (default:
        /// the first kernel of --engines, else the build's default tree).
        #[arg(long)]
        kernel: Option<String>,
        /// Where a failing program is written.
        #[arg(long, default_value = "crashes")]
        crash_dir: PathBuf,
        /// The reads the readers make, comma-separated: load (mtree_load),
        /// find (mt_find), walk (mas_walk), next (mas_find steps after a
        /// walk). Default: all.
        #[arg(long, value_delimiter = ',', value_parser = PossibleValuesParser::new(["load", "find", "walk", "next"]))]
        reads: Vec<String>,
        /// Test only: the writer frees replaced nodes without waiting for
        /// a grace period (a planted bug the readers must catch).
        #[arg(long, hide = true)]
        plant_no_grace: bool,
        /// No progress lines.
        #[arg(long, short)]
        quiet: bool,
    },
    /// Run a program once per node allocation with that allocation failing
    /// (and once with it and every later one failing), checking atomicity,
    /// node accounting and validity after every op.
    Sweep {
        /// The program file (its own fail_allocs ops are dropped).
        file: PathBuf,
        /// Switch on one deliberate bug.
        #[arg(long, value_parser = PossibleValuesParser::new(Mutant::names()))]
        mutant: Option<String>,
    },
    /// Run one program (text or binary file) and report the first divergence.
    Replay {
        /// The program file.
        file: PathBuf,
        /// Print every op and each engine's result.
        #[arg(long)]
        trace: bool,
        /// Switch on one deliberate bug.
        #[arg(long, value_parser = PossibleValuesParser::new(Mutant::names()))]
        mutant: Option<String>,
        /// Running longer than this many seconds is a hang: the program is
        /// written as <hang-dir>/hang-replay.txt (and .bin), then reported,
        /// exit 1 (0: no limit).
        #[arg(long, default_value_t = driver::watchdog::DEFAULT_HANG_SECONDS)]
        hang_seconds: u64,
        /// Where a hang's program is written.
        #[arg(long, default_value = "crashes")]
        hang_dir: PathBuf,
    },
    /// Convert the kernel's captured VMA test sets (the `set`, `set2`, ...
    /// arrays that `check_erase2_testset` replays in
    /// tools/testing/radix-tree/maple.c) into programs, one text file per
    /// set.
    ImportKernelSets {
        /// A kernel source tree, or its tools/testing/radix-tree/maple.c.
        path: PathBuf,
        /// Where `<set>.txt` files are written (created if missing).
        out_dir: PathBuf,
    },
    /// Run every deliberate bug (mutant) under every target that can reach
    /// it, each until the first divergence or the budget, and print a table
    /// (Markdown) of what was detected, how fast and by which check; also
    /// write it as JSON. Exit 1 if a reachable mutant went undetected.
    Mutants {
        /// Time budget per (mutant, target) campaign in seconds (0: none).
        #[arg(long, default_value_t = 60)]
        seconds: u64,
        /// Execution budget per campaign.
        #[arg(long)]
        max_execs: Option<u64>,
        /// Campaign seed, decimal or 0x-hex (default: from the clock).
        #[arg(long, value_parser = parse_u64)]
        seed: Option<u64>,
        /// Where the table is written as JSON.
        #[arg(long, default_value = "mutants.json")]
        json: PathBuf,
        /// Where the detections' reproducers are written.
        #[arg(long, default_value = "crashes/mutants")]
        crash_dir: PathBuf,
        /// Only these mutants (repeatable; default: all).
        #[arg(long = "only", value_parser = PossibleValuesParser::new(Mutant::names()))]
        only: Vec<String>,
        /// No per-campaign progress lines on stderr.
        #[arg(long, short)]
        quiet: bool,
    },
    /// Minimise failing programs (text or binary files, cargo-fuzz and
    /// honggfuzz crash files included) and write one reproducer per
    /// distinct bug: the text program, a Rust #[test], a kernel C snippet.
    /// Exit 0: every file failed and was shrunk; 1: some file ran clean;
    /// 2: some file could not be read (the others are still shrunk).
    Shrink {
        /// The program files.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// The target of the files (default: a path component naming a
        /// target, else the kind of ops).
        #[arg(long, value_parser = PossibleValuesParser::new(driver::target_names().into_iter().skip(1)))]
        target: Option<String>,
        /// Where the text reproducers go, as <OUT>/<target>/<signature>.txt.
        #[arg(long, default_value = "corpus/regressions")]
        out: PathBuf,
        /// Where the Rust test and the C snippet go, as
        /// <SNIPPETS>/<target>/<signature>.rs and .c.
        #[arg(long, default_value = "target/maplefuzz-shrink")]
        snippets: PathBuf,
        /// Also write the report as JSON to this file.
        #[arg(long)]
        json: Option<PathBuf>,
        /// Time limit per file in seconds (0: none).
        #[arg(long, default_value_t = 60)]
        seconds: u64,
        /// Candidate runs per file at most.
        #[arg(long, default_value_t = 50_000)]
        max_runs: u64,
        /// A candidate run in a child process (when the failure is a fatal
        /// signal or a hang) that takes longer than this many seconds is a
        /// hang.
        #[arg(long, default_value_t = driver::watchdog::DEFAULT_HANG_SECONDS)]
        hang_seconds: u64,
        /// Print only the summary lines, not the program and snippets.
        #[arg(long, short)]
        quiet: bool,
        /// Switch on one deliberate bug (to shrink a mutant's detection).
        #[arg(long, value_parser = PossibleValuesParser::new(Mutant::names()))]
        mutant: Option<String>,
    },
    /// Write the summary.json of ci/nightly.sh from what the script
    /// gathered: the run's settings, each target's numbers, the bugs, and
    /// the shrink report.
    NightlySummary {
        /// Where the summary is written.
        #[arg(long)]
        json: PathBuf,
        /// When the run ended (UTC).
        #[arg(long)]
        date: String,
        /// Seconds per target.
        #[arg(long)]
        budget: u64,
        /// The machine's cores.
        #[arg(long)]
        cores: u64,
        /// libFuzzer's sanitizer ("" when libFuzzer did not run).
        #[arg(long, default_value = "")]
        sanitizer: String,
        /// The stable driver's campaign seed, as given to it.
        #[arg(long)]
        seed: String,
        /// The planted bug, recorded (not planted; "" for none).
        #[arg(long, default_value = "")]
        mutant: String,
        /// One target's numbers (repeatable, in order), as one argument:
        /// its name, then every key once as KEY=VALUE, separated by
        /// spaces; an empty VALUE for a number the log did not give. The
        /// keys: libfuzzer.execs libfuzzer.execs_per_sec libfuzzer.cov
        /// libfuzzer.ft libfuzzer.exit stable.execs stable.execs_per_sec
        /// stable.store_types stable.exit corpus_before corpus_after.
        #[arg(long = "target", value_name = "NAME KEY=VALUE...", value_parser = TargetSummary::parse)]
        targets: Vec<TargetSummary>,
        /// The crash files shrunk.
        #[arg(long)]
        crash_files: u64,
        /// The signature of a bug not known before (repeatable).
        #[arg(long = "new-bug")]
        new_bugs: Vec<String>,
        /// The signature of a known bug (repeatable).
        #[arg(long = "known-bug")]
        known_bugs: Vec<String>,
        /// A libFuzzer artifact that was not shrunk (repeatable).
        #[arg(long = "other-artifact")]
        other_artifacts: Vec<String>,
        /// The `maplefuzz shrink --json` report to include (none: null).
        #[arg(long)]
        shrink: Option<PathBuf>,
    },
    /// Make the inputs a fuzzer kept (a merged libFuzzer corpus) committed
    /// seeds of a target: corpus/<target>/nightly-*.bin with text twins in
    /// corpus/seeds/<target>/, replacing the previous nightly-* seeds and
    /// keeping the MAX smallest.
    ImportSeeds {
        /// The target the seeds are for.
        #[arg(long, value_parser = PossibleValuesParser::new(driver::target_names().into_iter().skip(1)))]
        target: String,
        /// The folder of inputs.
        #[arg(long)]
        from: PathBuf,
        /// The committed corpus folder.
        #[arg(long, default_value = "corpus")]
        corpus: PathBuf,
        /// Seeds kept at most.
        #[arg(long, default_value_t = 64)]
        max: usize,
    },
}

/// Selects the mutant named on the command line for this (the main)
/// thread. An error if the binary was built without the `mutants` feature.
fn select_mutant(name: Option<&str>) -> Result<(), String> {
    let Some(name) = name else {
        return Ok(());
    };
    if !mutants::ENABLED {
        return Err("this maplefuzz was built without the `mutants` feature".to_string());
    }
    let m = Mutant::from_name(name).ok_or_else(|| format!("unknown mutant `{name}`"))?;
    mutants::select(Some(m));
    Ok(())
}

// One argument per flag of the command, and the engine set.
#[allow(clippy::too_many_arguments)]
fn run_mutants_command(
    seconds: u64,
    max_execs: Option<u64>,
    seed: Option<u64>,
    json: &Path,
    crash_dir: PathBuf,
    only: &[String],
    quiet: bool,
    engines: maplefuzz::engine::EngineSet,
) -> Result<i32, String> {
    if !mutants::ENABLED {
        return Err("this maplefuzz was built without the `mutants` feature".to_string());
    }
    let chosen: Vec<Mutant> = if only.is_empty() {
        Mutant::ALL.to_vec()
    } else {
        only.iter().filter_map(|n| Mutant::from_name(n)).collect()
    };
    let opts = MutantsOptions {
        mutants: chosen,
        seconds,
        max_execs,
        seed: seed.unwrap_or_else(driver::clock_seed),
        crash_dir,
        shrink: Some(driver::mutants::SHRINK_LIMITS),
        engines,
    };
    if !quiet {
        eprintln!(
            "maplefuzz mutants: seed {:#x}, budget {} s{} per campaign",
            opts.seed,
            seconds,
            max_execs.map_or_else(String::new, |n| format!(" / {n} execs"))
        );
    }
    // Engine panics are caught and reported as `crash` divergences; the
    // default hook would print each one (with a backtrace) as well.
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let rows = dm::run_mutants(&opts, &mut |r| {
        if !quiet {
            let target = r.target.map_or("(none)", |t| t.name());
            let verdict = match (r.target, r.detected) {
                (None, _) => "unreachable by any op".to_string(),
                (_, true) => format!(
                    "detected after {} execs, {:.3} s: {}",
                    r.execs,
                    r.seconds,
                    r.signature.as_deref().unwrap_or("?")
                ),
                (_, false) => format!("NOT detected in {} execs", r.execs),
            };
            eprintln!("  {:<26} {:<14} {verdict}", r.mutant.name(), target);
        }
    });
    std::panic::set_hook(hook);
    print!("{}", dm::table(&rows));
    std::fs::write(json, dm::to_json(&opts, &rows))
        .map_err(|e| format!("cannot write {}: {e}", json.display()))?;
    println!("table written as JSON to {}", json.display());
    Ok(i32::from(!dm::all_detected(&rows)))
}

/// The kernel `maplefuzz readers` runs: `--kernel` (`6.12`, `kernel@7.1`,
/// `7.1:exact`), else the first kernel of the engine set, else the build's
/// default tree.
fn kernel_choice(
    name: Option<&str>,
    engines: &maplefuzz::engine::EngineSet,
) -> Result<maplefuzz::engine::KernelChoice, String> {
    use maplefuzz::engine::KernelChoice;
    match name {
        Some(n) if n.starts_with("kernel") => KernelChoice::parse(n),
        Some(n) => KernelChoice::parse(&format!("kernel@{n}")),
        None => match engines.kernels.first() {
            Some(k) => Ok(*k),
            None => KernelChoice::parse("kernel"),
        },
    }
}

fn run_readers(opts: &driver::readers::ReadersOptions, quiet: bool) -> Result<i32, DriverError> {
    if !quiet {
        eprintln!(
            "maplefuzz readers: each program is kept in {} while it runs (a reader killed by a \
             signal leaves it there)",
            driver::readers::inflight_path(&opts.crash_dir).display()
        );
    }
    // Engine panics are caught and reported as divergences; the default
    // hook would print each one as well.
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let outcome = driver::readers::readers(opts, &mut |s| {
        if !quiet {
            eprintln!("maplefuzz readers: {s}");
        }
    });
    std::panic::set_hook(hook);
    let outcome = outcome?;
    let reads: Vec<&str> = if opts.reads.is_empty() {
        vec!["all"]
    } else {
        opts.reads.iter().map(|r| r.name()).collect()
    };
    println!(
        "maplefuzz readers: kernel@{}:{}, {} reader threads ({} reads), seed {:#x}",
        opts.kernel.tree,
        opts.kernel.variant,
        opts.threads,
        reads.join(","),
        outcome.seed
    );
    println!("{}", outcome.stats);
    if let Some(f) = &outcome.failure {
        match &f.artifact {
            Ok(a) => println!("program written to {}", a.text.display()),
            Err(e) => println!("the program could not be written: {e}"),
        }
        println!(
            "program {} (exec seed {:#x}) failed:\n{}",
            f.index, f.exec_seed, f.report
        );
    }
    Ok(outcome.exit_code())
}

fn parse_u64(s: &str) -> Result<u64, String> {
    let r = match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        Some(h) => u64::from_str_radix(h, 16),
        None => s.parse(),
    };
    r.map_err(|_| format!("`{s}` is not a 64-bit number (decimal or 0x-hex)"))
}

fn usage_error(message: &str) -> ExitCode {
    eprintln!("maplefuzz: {message}");
    ExitCode::from(2)
}

fn shrink(opts: ShrinkOptions, json: Option<PathBuf>, quiet: bool) -> Result<i32, DriverError> {
    let report = shrink::shrink_files(&opts)?;
    print!("{}", shrink::print_report(&report, !quiet));
    if let Some(path) = json {
        std::fs::write(&path, shrink::json_report(&report)).map_err(|e| DriverError::Input {
            path: path.clone(),
            message: format!("cannot write: {e}"),
        })?;
    }
    Ok(report.exit_code())
}

/// `maplefuzz nightly-summary`: the summary with the shrink report at
/// `shrink` (if any) in it, written to `json`.
fn write_nightly_summary(
    json: &Path,
    mut summary: NightlySummary,
    shrink: Option<&Path>,
) -> Result<(), String> {
    summary.shrink = shrink.map(NightlySummary::read_shrink).transpose()?;
    std::fs::write(json, summary.to_json())
        .map_err(|e| format!("cannot write {}: {e}", json.display()))
}

fn main() -> ExitCode {
    // clap prints its own usage errors and exits with status 2.
    let cli = Cli::parse();
    // The engines every command runs tree programs on: `--engines`, else
    // `MAPLEFUZZ_ENGINES`, else every engine this build has.
    let engines = match &cli.engines {
        Some(spec) => maplefuzz::engine::EngineSet::parse(spec)
            .map_err(|e| format!("maplefuzz: --engines {spec}: {e}")),
        None => {
            maplefuzz::engine::EngineSet::from_env_checked().map_err(|e| format!("maplefuzz: {e}"))
        }
    };
    let engines = match engines {
        Ok(set) => set,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    let result = match cli.command {
        Command::Fuzz {
            target,
            seconds,
            seed,
            max_execs,
            crash_dir,
            quiet,
            mutant,
            hang_seconds,
            check_every,
        } => {
            if let Err(e) = select_mutant(mutant.as_deref()) {
                return usage_error(&e);
            }
            // Named on the command line for vma_ops, a kernel without a VMA
            // engine is an error, not a silent two-way run.
            if cli.engines.is_some() && target == "vma_ops" {
                if let Some(why) = engines.vma_missing().first() {
                    return usage_error(&format!("--engines: {why}"));
                }
            }
            let opts = FuzzOptions {
                target,
                seconds,
                seed,
                max_execs,
                crash_dir,
                print: true,
                engines,
                hang_seconds,
                check_every: check_every as usize,
            };
            if quiet {
                driver::fuzz(&opts)
            } else {
                driver::fuzz_with_progress(&opts, &mut ProgressLine::new(seconds))
            }
            .map(|o| o.exit_code())
        }
        Command::Readers {
            seconds,
            threads,
            seed,
            max_programs,
            kernel,
            crash_dir,
            reads,
            plant_no_grace,
            quiet,
        } => {
            let choice = match kernel_choice(kernel.as_deref(), &engines) {
                Ok(c) => c,
                Err(e) => return usage_error(&e),
            };
            let opts = driver::readers::ReadersOptions {
                seconds,
                max_programs,
                threads,
                seed,
                kernel: choice,
                crash_dir,
                reads: reads
                    .iter()
                    .filter_map(|r| maplefuzz_kernel::ReaderOp::from_name(r))
                    .collect(),
                no_grace: plant_no_grace,
            };
            run_readers(&opts, quiet)
        }
        Command::Sweep { file, mutant } => {
            if let Err(e) = select_mutant(mutant.as_deref()) {
                return usage_error(&e);
            }
            driver::sweep::sweep(&file, &engines).map(i32::from)
        }
        Command::Replay {
            file,
            trace,
            mutant,
            hang_seconds,
            hang_dir,
        } => {
            if let Err(e) = select_mutant(mutant.as_deref()) {
                return usage_error(&e);
            }
            // The watchdog: the program is read once more for it (an
            // unreadable file is replay's error to report).
            let _dog = (hang_seconds > 0).then(|| {
                let dog = driver::watchdog::Watchdog::start(
                    std::time::Duration::from_secs(hang_seconds),
                    hang_dir,
                );
                if let Ok((program, _)) = driver::load_any(&file) {
                    dog.watch(driver::watchdog::Watched {
                        program,
                        target: None,
                        exec_seed: 0,
                        rerun: format!(
                            "maplefuzz --engines {} replay {}",
                            engines.describe(),
                            file.display()
                        ),
                    });
                }
                dog
            });
            driver::replay(&file, trace, &engines).map(|o| i32::from(o.diverged()))
        }
        Command::ImportKernelSets { path, out_dir } => {
            driver::import::import_kernel_sets(&path, &out_dir).map(|sets| {
                for s in &sets {
                    println!("{}", s.summary());
                }
                let ops: usize = sets.iter().map(|s| s.program.ops.len()).sum();
                println!(
                    "{} sets, {ops} ops, written to {}",
                    sets.len(),
                    out_dir.display()
                );
                0
            })
        }
        Command::Mutants {
            seconds,
            max_execs,
            seed,
            json,
            crash_dir,
            only,
            quiet,
        } => {
            return match run_mutants_command(
                seconds, max_execs, seed, &json, crash_dir, &only, quiet, engines,
            ) {
                Ok(code) => ExitCode::from(code as u8),
                Err(e) => usage_error(&e),
            };
        }
        Command::Shrink {
            files,
            target,
            out,
            snippets,
            json,
            seconds,
            max_runs,
            quiet,
            mutant,
            hang_seconds,
        } => {
            if let Err(e) = select_mutant(mutant.as_deref()) {
                return usage_error(&e);
            }
            shrink(
                ShrinkOptions {
                    files,
                    target: target.as_deref().and_then(driver::Target::from_name),
                    out,
                    snippets,
                    limits: maplefuzz::shrink::Options {
                        hang: std::time::Duration::from_secs(hang_seconds.max(1)),
                        ..shrink::limits(seconds, max_runs)
                    },
                    engines,
                },
                json,
                quiet,
            )
        }
        Command::NightlySummary {
            json,
            date,
            budget,
            cores,
            sanitizer,
            seed,
            mutant,
            targets,
            crash_files,
            new_bugs,
            known_bugs,
            other_artifacts,
            shrink,
        } => {
            let summary = NightlySummary {
                date,
                budget_seconds: budget,
                cores,
                sanitizer,
                seed,
                mutant,
                targets,
                crash_files,
                new_bugs,
                known_bugs,
                other_artifacts,
                shrink: None,
            };
            return match write_nightly_summary(&json, summary, shrink.as_deref()) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => usage_error(&e),
            };
        }
        Command::ImportSeeds {
            target,
            from,
            corpus,
            max,
        } => driver::resolve_targets(&target).and_then(|t| {
            let r = driver::seeds::import_seeds(&corpus, t[0], &from, max, &engines)?;
            println!(
                "{}: {} seeds written, {} previous nightly seeds removed, {} duplicate inputs",
                t[0].name(),
                r.written,
                r.removed,
                r.duplicates
            );
            Ok(0)
        }),
    };
    match result {
        Ok(code) => ExitCode::from(code as u8),
        Err(e) => {
            eprintln!("maplefuzz: {e}");
            ExitCode::from(2)
        }
    }
}

/// The progress bar of `fuzz` on stderr (not with `--quiet`): elapsed
/// seconds of the budget, or a spinner without one, and the campaign's
/// progress line.
struct ProgressLine(ProgressBar);

impl ProgressLine {
    fn new(seconds: u64) -> ProgressLine {
        let target = ProgressDrawTarget::stderr_with_hz(4);
        let bar = if seconds > 0 {
            let style =
                ProgressStyle::with_template("{spinner} [{bar:20}] {pos}/{len} s  {wide_msg}")
                    .unwrap_or_else(|_| ProgressStyle::default_bar())
                    .progress_chars("=> ");
            ProgressBar::with_draw_target(Some(seconds), target).with_style(style)
        } else {
            let style = ProgressStyle::with_template("{spinner} {elapsed}  {wide_msg}")
                .unwrap_or_else(|_| ProgressStyle::default_spinner());
            ProgressBar::with_draw_target(None, target).with_style(style)
        };
        ProgressLine(bar)
    }
}

impl Progress for ProgressLine {
    fn update(&mut self, stats: &CampaignStats) {
        self.0.set_position(stats.elapsed.as_secs());
        self.0.set_message(stats.progress_line());
    }

    fn finish(&mut self) {
        self.0.finish_and_clear();
    }
}
