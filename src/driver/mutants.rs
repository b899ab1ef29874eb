//! `maplefuzz mutants`: every mutant under every target that can reach it,
//! each a campaign of the stable driver ([`fuzz`]) that stops
//! at the first divergence or when its budget is spent.
//!
//! A row of the table is one (mutant, target) campaign: whether it
//! detected the mutant, the executions and seconds to the first detection,
//! the check that fired, the divergence signature, and the length of the
//! detecting program once [`crate::shrink`] has minimised it (with the
//! mutant in force; a bounded, deterministic run budget). Mutants no op
//! can reach get one row with no target (see [`targets`]).

use super::{fuzz, FuzzOptions, FuzzOutcome, Target};
use crate::mutants::{self, Mutant};
use crate::shrink;
use serde::Serialize;
use std::fmt::Write as _;
use std::path::PathBuf;

/// The fuzz targets whose programs can reach `m` (the tree crate's
/// catalogue names them).
pub fn targets(m: Mutant) -> Vec<Target> {
    m.target_names()
        .iter()
        .map(|n| {
            Target::from_name(n).unwrap_or_else(|| panic!("mutant {m} names an unknown target {n}"))
        })
        .collect()
}

/// What a mutants run does.
#[derive(Clone, Debug)]
pub struct MutantsOptions {
    /// The mutants to run, in order.
    pub mutants: Vec<Mutant>,
    /// Time budget of each (mutant, target) campaign in seconds; 0: none.
    pub seconds: u64,
    /// Execution budget of each campaign.
    pub max_execs: Option<u64>,
    /// The campaign seed every campaign uses.
    pub seed: u64,
    /// Where the reproducers of the detections go.
    pub crash_dir: PathBuf,
    /// Limits of the shrink of each detecting program (`None`: no shrink,
    /// the column stays empty).
    pub shrink: Option<shrink::Options>,
    /// The engines the tree programs run on.
    pub engines: crate::engine::EngineSet,
}

/// The shrink limits of `maplefuzz mutants`: runs only, so the column is
/// the same on every machine.
pub const SHRINK_LIMITS: shrink::Options = shrink::Options {
    max_runs: 20_000,
    timeout: None,
    hang: crate::diff::isolated::DEFAULT_LIMIT,
};

/// One (mutant, target) campaign.
#[derive(Clone, Debug)]
pub struct MutantRow {
    /// The mutant.
    pub mutant: Mutant,
    /// The target, or `None` for a mutant no target reaches.
    pub target: Option<Target>,
    /// Whether a divergence (or harness panic) was found.
    pub detected: bool,
    /// Executions run, the detecting one included.
    pub execs: u64,
    /// Wall time of the campaign.
    pub seconds: f64,
    /// The check that fired (`Check::name`, or `harness-panic`).
    pub check: Option<String>,
    /// The divergence signature.
    pub signature: Option<String>,
    /// The detecting execution's seed.
    pub exec_seed: Option<u64>,
    /// The reproducer's text file.
    pub reproducer: Option<PathBuf>,
    /// The shrunk reproducer's op count (when shrinking was asked for).
    pub shrunk_ops: Option<usize>,
}

impl MutantRow {
    fn unreachable(mutant: Mutant) -> MutantRow {
        MutantRow {
            mutant,
            target: None,
            detected: false,
            execs: 0,
            seconds: 0.0,
            check: None,
            signature: None,
            exec_seed: None,
            reproducer: None,
            shrunk_ops: None,
        }
    }

    fn from_outcome(mutant: Mutant, target: Target, o: &FuzzOutcome) -> MutantRow {
        let f = o.failure.as_ref();
        MutantRow {
            mutant,
            target: Some(target),
            detected: f.is_some(),
            execs: o.stats.execs,
            seconds: o.stats.elapsed.as_secs_f64(),
            check: f.map(|f| match &f.divergence {
                Some(d) => d.check.name().to_string(),
                None => "harness-panic".to_string(),
            }),
            signature: f.map(|f| f.signature.clone()),
            exec_seed: f.map(|f| f.exec_seed),
            reproducer: f.and_then(|f| f.artifact.as_ref().ok().map(|a| a.text.clone())),
            shrunk_ops: None,
        }
    }
}

/// Runs the campaign of `mutant` on `target` (see the module docs).
pub fn run_one(opts: &MutantsOptions, mutant: Mutant, target: Target) -> MutantRow {
    let fopts = FuzzOptions {
        target: target.name().to_string(),
        seconds: opts.seconds,
        seed: Some(opts.seed),
        max_execs: opts.max_execs,
        crash_dir: opts.crash_dir.clone(),
        print: false,
        engines: opts.engines.clone(),
        hang_seconds: super::watchdog::DEFAULT_HANG_SECONDS,
        check_every: crate::diff::CHECK_EVERY,
    };
    let outcome = mutants::with(Some(mutant), || fuzz(&fopts))
        .expect("a target's own name is a valid --target");
    let mut row = MutantRow::from_outcome(mutant, target, &outcome);
    let program = outcome.failure.as_ref().and_then(|f| f.program.as_ref());
    if let (Some(limits), Some(program)) = (&opts.shrink, program) {
        row.shrunk_ops = mutants::with(Some(mutant), || {
            shrink::shrink(program, &opts.engines, limits)
        })
        .ok()
        .map(|s| s.program.len());
    }
    row
}

/// Runs every campaign, calling `done` after each row.
pub fn run_mutants(opts: &MutantsOptions, done: &mut dyn FnMut(&MutantRow)) -> Vec<MutantRow> {
    let mut rows = Vec::new();
    for &m in &opts.mutants {
        if targets(m).is_empty() {
            let row = MutantRow::unreachable(m);
            done(&row);
            rows.push(row);
        }
        for t in targets(m) {
            let row = run_one(opts, m, t);
            done(&row);
            rows.push(row);
        }
    }
    rows
}

/// Whether every mutant some target reaches was detected under at least
/// one of its targets.
pub fn all_detected(rows: &[MutantRow]) -> bool {
    Mutant::ALL.iter().all(|m| {
        let mine: Vec<&MutantRow> = rows.iter().filter(|r| r.mutant == *m).collect();
        mine.is_empty()
            || mine.iter().all(|r| r.target.is_none())
            || mine.iter().any(|r| r.detected)
    })
}

/// The header of [`table`].
const COLUMNS: [&str; 8] = [
    "mutant",
    "target",
    "detected",
    "execs",
    "seconds",
    "check",
    "signature",
    "shrunk ops",
];

/// One row as table cells.
fn cells(r: &MutantRow) -> [String; 8] {
    let dash = || "-".to_string();
    [
        r.mutant.name().to_string(),
        r.target
            .map_or("(none)".to_string(), |t| t.name().to_string()),
        match (r.target, r.detected) {
            (None, _) => "unreachable".to_string(),
            (_, true) => "yes".to_string(),
            (_, false) => "no".to_string(),
        },
        if r.target.is_some() {
            r.execs.to_string()
        } else {
            dash()
        },
        if r.target.is_some() {
            format!("{:.3}", r.seconds)
        } else {
            dash()
        },
        r.check.clone().unwrap_or_else(dash),
        r.signature.clone().unwrap_or_else(dash),
        r.shrunk_ops.map_or_else(dash, |n| n.to_string()),
    ]
}

/// The table as Markdown (what the README shows).
pub fn table(rows: &[MutantRow]) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "| {} |", COLUMNS.join(" | "));
    let _ = writeln!(s, "|{}", COLUMNS.iter().map(|_| "---|").collect::<String>());
    for r in rows {
        let _ = writeln!(s, "| {} |", cells(r).join(" | "));
    }
    s
}

/// The JSON document of a run: its settings and one object per row.
#[derive(Serialize)]
struct MutantsJson<'a> {
    seed: u64,
    seconds_per_campaign: u64,
    max_execs_per_campaign: Option<u64>,
    rows: Vec<RowJson<'a>>,
}

/// One row as JSON.
#[derive(Serialize)]
struct RowJson<'a> {
    mutant: &'a str,
    summary: &'a str,
    /// `null` for a mutant no target reaches.
    target: Option<&'a str>,
    reachable: bool,
    detected: bool,
    execs: u64,
    /// Rounded to the microsecond.
    seconds: f64,
    check: Option<&'a str>,
    signature: Option<&'a str>,
    exec_seed: Option<u64>,
    /// `null` also for a path that is not UTF-8.
    reproducer: Option<&'a str>,
    shrunk_ops: Option<usize>,
}

impl<'a> RowJson<'a> {
    fn new(r: &'a MutantRow) -> RowJson<'a> {
        RowJson {
            mutant: r.mutant.name(),
            summary: r.mutant.summary(),
            target: r.target.map(|t| t.name()),
            reachable: r.target.is_some(),
            detected: r.detected,
            execs: r.execs,
            seconds: (r.seconds * 1e6).round() / 1e6,
            check: r.check.as_deref(),
            signature: r.signature.as_deref(),
            exec_seed: r.exec_seed,
            reproducer: r.reproducer.as_ref().and_then(|p| p.to_str()),
            shrunk_ops: r.shrunk_ops,
        }
    }
}

/// The rows as a JSON document: the run's settings (`seed`,
/// `seconds_per_campaign`, `max_execs_per_campaign`) and `rows`, one
/// object per row.
pub fn to_json(opts: &MutantsOptions, rows: &[MutantRow]) -> String {
    let doc = MutantsJson {
        seed: opts.seed,
        seconds_per_campaign: opts.seconds,
        max_execs_per_campaign: opts.max_execs,
        rows: rows.iter().map(RowJson::new).collect(),
    };
    let mut s = serde_json::to_string_pretty(&doc).expect("the mutants table serializes");
    s.push('\n');
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts() -> MutantsOptions {
        MutantsOptions {
            mutants: Mutant::ALL.to_vec(),
            seconds: 0,
            max_execs: Some(1),
            seed: 7,
            crash_dir: PathBuf::from("unused"),
            shrink: None,
            engines: crate::engine::EngineSet::from_env(),
        }
    }

    #[test]
    fn table_and_json_show_every_row() {
        let mut hit = MutantRow::unreachable(Mutant::StaleNodeStore);
        hit.target = Some(Target::TreeOps);
        hit.detected = true;
        hit.execs = 3;
        hit.check = Some("validate".to_string());
        hit.signature = Some("validate-store-rust".to_string());
        let missed = MutantRow {
            target: Some(Target::TreeAlloc),
            detected: false,
            check: None,
            signature: None,
            ..hit.clone()
        };
        let none = MutantRow::unreachable(Mutant::AllocNodesCount);
        let rows = vec![hit, missed, none];
        let t = table(&rows);
        assert_eq!(t.lines().count(), 2 + rows.len());
        assert!(t.contains("| stale-node-store | tree_ops | yes | 3 |"));
        assert!(t.contains("| stale-node-store | tree_alloc | no |"));
        assert!(t.contains("| alloc-nodes-count | (none) | unreachable | - |"));
        let j: serde_json::Value = serde_json::from_str(&to_json(&opts(), &rows)).unwrap();
        assert_eq!(j["seed"], 7);
        assert_eq!(j["max_execs_per_campaign"], 1);
        let rows_json = j["rows"].as_array().unwrap();
        assert_eq!(rows_json.len(), 3);
        assert_eq!(rows_json[0]["signature"], "validate-store-rust");
        assert_eq!(rows_json[0]["execs"], 3);
        assert_eq!(rows_json[1]["signature"], serde_json::Value::Null);
        assert_eq!(rows_json[2]["mutant"], "alloc-nodes-count");
        assert_eq!(rows_json[2]["target"], serde_json::Value::Null);
        assert_eq!(rows_json[2]["reachable"], false);
        assert!(!all_detected(&rows[1..]), "a reachable mutant was missed");
        assert!(all_detected(&rows[..1]) && all_detected(&rows[2..]));
    }

    #[test]
    fn json_strings_round_trip() {
        let mut row = MutantRow::unreachable(Mutant::StaleNodeStore);
        row.target = Some(Target::TreeOps);
        let odd = "quote \" backslash \\ newline \n tab \t nul \u{1}";
        row.signature = Some(odd.to_string());
        row.reproducer = Some(PathBuf::from(odd));
        let j: serde_json::Value = serde_json::from_str(&to_json(&opts(), &[row])).unwrap();
        assert_eq!(j["rows"][0]["signature"], odd);
        assert_eq!(j["rows"][0]["reproducer"], odd);
    }
}
