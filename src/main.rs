//! The `maplefuzz` command line.
//!
//! Exit status: 0 no divergence, 1 divergence (a reproducer was written),
//! 2 usage or input error.

use clap::builder::PossibleValuesParser;
use clap::{Parser, Subcommand};
use maplefuzz::driver::shrink::{self, ShrinkOptions};
use maplefuzz::driver::{self, DriverError, FuzzOptions};
use std::path::PathBuf;
use std::process::ExitCode;

/// Differential fuzzing of the Linux maple tree.
#[derive(Parser, Debug)]
#[command(name = "maplefuzz", version, about)]
struct Cli {
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
    },
    /// Run a program once per node allocation with that allocation failing
    /// (and once with it and every later one failing), checking atomicity,
    /// node accounting and validity after every op.
    Sweep {
        /// The program file (its own fail_allocs ops are dropped).
        file: PathBuf,
    },
    /// Run one program (text or binary file) and report the first divergence.
    Replay {
        /// The program file.
        file: PathBuf,
        /// Print every op and each engine's result.
        #[arg(long)]
        trace: bool,
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
        /// Print only the summary lines, not the program and snippets.
        #[arg(long, short)]
        quiet: bool,
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

fn parse_u64(s: &str) -> Result<u64, String> {
    let r = match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        Some(h) => u64::from_str_radix(h, 16),
        None => s.parse(),
    };
    r.map_err(|_| format!("`{s}` is not a 64-bit number (decimal or 0x-hex)"))
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

fn main() -> ExitCode {
    // clap prints its own usage errors and exits with status 2.
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Fuzz {
            target,
            seconds,
            seed,
            max_execs,
            crash_dir,
            quiet,
        } => {
            let opts = FuzzOptions {
                target,
                seconds,
                seed,
                max_execs,
                crash_dir,
                quiet,
                print: true,
            };
            driver::fuzz(&opts).map(|o| o.exit_code())
        }
        Command::Sweep { file } => driver::sweep::sweep(&file).map(i32::from),
        Command::Replay { file, trace } => {
            driver::replay(&file, trace).map(|o| i32::from(o.diverged()))
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
        } => shrink(
            ShrinkOptions {
                files,
                target: target.as_deref().and_then(driver::Target::from_name),
                out,
                snippets,
                limits: shrink::limits(seconds, max_runs),
            },
            json,
            quiet,
        ),
        Command::ImportSeeds {
            target,
            from,
            corpus,
            max,
        } => driver::resolve_targets(&target).and_then(|t| {
            let r = driver::seeds::import_seeds(&corpus, t[0], &from, max)?;
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
