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
        quiet: true,
        print: false,
        engines: opts.engines.clone(),
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

fn json_str(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn json_opt_str(s: Option<&str>) -> String {
    s.map_or_else(|| "null".to_string(), json_str)
}

/// The rows as a JSON document: the run's settings and one object per row.
pub fn to_json(opts: &MutantsOptions, rows: &[MutantRow]) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "{{");
    let _ = writeln!(s, "  \"seed\": {},", opts.seed);
    let _ = writeln!(s, "  \"seconds_per_campaign\": {},", opts.seconds);
    let _ = writeln!(
        s,
        "  \"max_execs_per_campaign\": {},",
        opts.max_execs
            .map_or_else(|| "null".to_string(), |n| n.to_string())
    );
    let _ = writeln!(s, "  \"rows\": [");
    for (i, r) in rows.iter().enumerate() {
        let reachable = r.target.is_some();
        let fields = [
            format!("\"mutant\": {}", json_str(r.mutant.name())),
            format!("\"summary\": {}", json_str(r.mutant.summary())),
            format!("\"target\": {}", json_opt_str(r.target.map(|t| t.name()))),
            format!("\"reachable\": {reachable}"),
            format!("\"detected\": {}", r.detected),
            format!("\"execs\": {}", r.execs),
            format!("\"seconds\": {:.6}", r.seconds),
            format!("\"check\": {}", json_opt_str(r.check.as_deref())),
            format!("\"signature\": {}", json_opt_str(r.signature.as_deref())),
            format!(
                "\"exec_seed\": {}",
                r.exec_seed
                    .map_or_else(|| "null".to_string(), |n| n.to_string())
            ),
            format!(
                "\"reproducer\": {}",
                json_opt_str(r.reproducer.as_ref().and_then(|p| p.to_str()))
            ),
            format!(
                "\"shrunk_ops\": {}",
                r.shrunk_ops
                    .map_or_else(|| "null".to_string(), |n| n.to_string())
            ),
        ];
        let comma = if i + 1 < rows.len() { "," } else { "" };
        let _ = writeln!(s, "    {{{}}}{comma}", fields.join(", "));
    }
    let _ = writeln!(s, "  ]");
    let _ = writeln!(s, "}}");
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
        let j = to_json(&opts(), &rows);
        assert_eq!(j.matches("\"mutant\":").count(), 3);
        assert!(j.contains("\"target\": null, \"reachable\": false"));
        assert!(j.contains("\"signature\": \"validate-store-rust\""));
        assert!(!all_detected(&rows[1..]), "a reachable mutant was missed");
        assert!(all_detected(&rows[..1]) && all_detected(&rows[2..]));
    }

    #[test]
    fn json_strings_are_escaped() {
        assert_eq!(json_str("a\"b\\c\nd\u{1}"), "\"a\\\"b\\\\c\\nd\\u0001\"");
    }
}
