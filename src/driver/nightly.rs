//! `maplefuzz nightly-summary`: the `summary.json` of `ci/nightly.sh`.
//!
//! The script fuzzes, merges and shrinks, and reads its numbers out of the
//! fuzzers' logs; it hands them to this command, which writes the JSON (the
//! script writes `summary.md` itself). The document:
//!
//! - `date`, `budget_seconds`, `cores`, `sanitizer` (`""`: libFuzzer did
//!   not run), `seed` (the stable driver's, as given), `mutant` (the
//!   planted bug, `""` for none);
//! - `targets`: per target, `libfuzzer` (`execs`, `execs_per_sec`, `cov`,
//!   `ft`, each `null` when the log did not say; `exit`, a string, since
//!   it is `skipped` when libFuzzer did not run), `stable` (`execs`,
//!   `execs_per_sec`, `store_types` as `reached/total` or `""`, `exit`),
//!   `corpus_before`, `corpus_after`;
//! - `crash_files` (how many were shrunk), `new_bugs` and `known_bugs`
//!   (signatures), `other_artifacts` (libFuzzer timeouts, OOMs, leaks: not
//!   shrunk), `shrink` (the `maplefuzz shrink --json` report, or `null`
//!   when there was nothing to shrink).

use super::shrink::ShrinkJson;
use serde::{Deserialize, Serialize};
use std::path::Path;

/// The whole `summary.json` (see the module docs).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NightlySummary {
    /// When the summary was written (UTC, `%Y-%m-%dT%H:%M:%SZ`).
    pub date: String,
    /// `NIGHTLY_BUDGET`: seconds per target.
    pub budget_seconds: u64,
    /// The machine's cores.
    pub cores: u64,
    /// libFuzzer's sanitizer (`address`, `none`), `""` if it did not run.
    pub sanitizer: String,
    /// The stable driver's campaign seed, as the script gave it.
    pub seed: String,
    /// `MAPLEFUZZ_MUTANT`, `""` for none.
    pub mutant: String,
    /// One entry per target, in the order fuzzed.
    pub targets: Vec<TargetSummary>,
    /// The crash files shrunk.
    pub crash_files: u64,
    /// Signatures of the bugs not in the known list.
    pub new_bugs: Vec<String>,
    /// Signatures of the bugs in the known list.
    pub known_bugs: Vec<String>,
    /// libFuzzer's other artifacts (timeouts, OOMs, leaks, slow units).
    pub other_artifacts: Vec<String>,
    /// The shrink report, if anything was shrunk.
    pub shrink: Option<ShrinkJson>,
}

/// One target's two fuzzers.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TargetSummary {
    /// The target's name.
    pub target: String,
    /// The libFuzzer lane.
    pub libfuzzer: LibFuzzerLane,
    /// The stable driver's lane.
    pub stable: StableLane,
    /// Files in the working corpus before the run.
    pub corpus_before: u64,
    /// Files in the working corpus after the merge.
    pub corpus_after: u64,
}

/// What libFuzzer's log said (`null`: it did not say).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LibFuzzerLane {
    /// Executions.
    pub execs: Option<u64>,
    /// Executions per second.
    pub execs_per_sec: Option<f64>,
    /// Coverage (`cov:`).
    pub cov: Option<u64>,
    /// Features (`ft:`).
    pub ft: Option<u64>,
    /// Its exit status, or `skipped`.
    pub exit: String,
}

/// What the stable driver's log said.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StableLane {
    /// Executions.
    pub execs: Option<u64>,
    /// Executions per second.
    pub execs_per_sec: Option<f64>,
    /// Store types reached, `reached/total`, or `""`.
    pub store_types: String,
    /// Its exit status.
    pub exit: i32,
}

/// The keys of [`TargetSummary::parse`], in the order written.
pub const TARGET_KEYS: [&str; 11] = [
    "libfuzzer.execs",
    "libfuzzer.execs_per_sec",
    "libfuzzer.cov",
    "libfuzzer.ft",
    "libfuzzer.exit",
    "stable.execs",
    "stable.execs_per_sec",
    "stable.store_types",
    "stable.exit",
    "corpus_before",
    "corpus_after",
];

impl TargetSummary {
    /// Reads `NAME KEY=VALUE...` (one `--target`, its words separated by
    /// white space): every key of [`TARGET_KEYS`] exactly once, named after
    /// its place in the JSON. An empty value of an optional number is
    /// `null`.
    pub fn parse(spec: &str) -> Result<TargetSummary, String> {
        let words: Vec<&str> = spec.split_whitespace().collect();
        let (name, pairs) = words
            .split_first()
            .ok_or("a --target needs the target's name")?;
        let mut values: [Option<&str>; TARGET_KEYS.len()] = [None; TARGET_KEYS.len()];
        for pair in pairs {
            let (key, value) = pair
                .split_once('=')
                .ok_or_else(|| format!("--target {name}: `{pair}` is not KEY=VALUE"))?;
            let i = TARGET_KEYS.iter().position(|k| *k == key).ok_or_else(|| {
                format!(
                    "--target {name}: unknown key `{key}` (the keys: {})",
                    TARGET_KEYS.join(" ")
                )
            })?;
            if values[i].replace(value).is_some() {
                return Err(format!("--target {name}: `{key}` given twice"));
            }
        }
        let get = |key: &str| -> Result<&str, String> {
            let i = TARGET_KEYS.iter().position(|k| *k == key).expect("a key");
            values[i].ok_or_else(|| format!("--target {name}: `{key}=` is missing"))
        };
        fn number<T: std::str::FromStr>(name: &str, key: &str, v: &str) -> Result<T, String> {
            v.parse()
                .map_err(|_| format!("--target {name}: {key}=`{v}` is not a number"))
        }
        let optional = |key: &str| -> Result<Option<&str>, String> {
            get(key).map(|v| Some(v).filter(|v| !v.is_empty()))
        };
        let opt_u64 = |key: &str| -> Result<Option<u64>, String> {
            optional(key)?.map(|v| number(name, key, v)).transpose()
        };
        let opt_rate = |key: &str| -> Result<Option<f64>, String> {
            optional(key)?
                .map(|v| {
                    number::<f64>(name, key, v).and_then(|x| {
                        x.is_finite()
                            .then_some(x)
                            .ok_or_else(|| format!("--target {name}: {key}=`{v}` is not finite"))
                    })
                })
                .transpose()
        };
        Ok(TargetSummary {
            target: name.to_string(),
            libfuzzer: LibFuzzerLane {
                execs: opt_u64("libfuzzer.execs")?,
                execs_per_sec: opt_rate("libfuzzer.execs_per_sec")?,
                cov: opt_u64("libfuzzer.cov")?,
                ft: opt_u64("libfuzzer.ft")?,
                exit: get("libfuzzer.exit")?.to_string(),
            },
            stable: StableLane {
                execs: opt_u64("stable.execs")?,
                execs_per_sec: opt_rate("stable.execs_per_sec")?,
                store_types: get("stable.store_types")?.to_string(),
                exit: number(name, "stable.exit", get("stable.exit")?)?,
            },
            corpus_before: number(name, "corpus_before", get("corpus_before")?)?,
            corpus_after: number(name, "corpus_after", get("corpus_after")?)?,
        })
    }
}

impl NightlySummary {
    /// Reads a `maplefuzz shrink --json` report for [`NightlySummary::shrink`].
    pub fn read_shrink(path: &Path) -> Result<ShrinkJson, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        serde_json::from_str(&text)
            .map_err(|e| format!("{}: not a shrink report: {e}", path.display()))
    }

    /// The document, pretty-printed, with a final newline.
    pub fn to_json(&self) -> String {
        let mut s = serde_json::to_string_pretty(self).expect("a nightly summary serializes");
        s.push('\n');
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::driver::shrink::CleanJson;

    fn tree_ops() -> Vec<String> {
        [
            "tree_ops",
            "libfuzzer.execs=",
            "libfuzzer.execs_per_sec=",
            "libfuzzer.cov=",
            "libfuzzer.ft=",
            "libfuzzer.exit=skipped",
            "stable.execs=12345",
            "stable.execs_per_sec=4115.0",
            "stable.store_types=9/10",
            "stable.exit=1",
            "corpus_before=0",
            "corpus_after=0",
        ]
        .map(String::from)
        .to_vec()
    }

    fn parse(words: &[String]) -> Result<TargetSummary, String> {
        TargetSummary::parse(&words.join(" "))
    }

    #[test]
    fn a_target_is_its_name_and_every_key() {
        let t = parse(&tree_ops()).unwrap();
        assert_eq!(t.target, "tree_ops");
        assert_eq!(t.libfuzzer.execs, None);
        assert_eq!(t.libfuzzer.exit, "skipped");
        assert_eq!(t.stable.execs, Some(12345));
        assert_eq!(t.stable.execs_per_sec, Some(4115.0));
        assert_eq!(t.stable.store_types, "9/10");
        assert_eq!(t.stable.exit, 1);
        let mut w = tree_ops();
        w.pop();
        assert!(parse(&w)
            .unwrap_err()
            .contains("`corpus_after=` is missing"));
        let mut w = tree_ops();
        w.push("corpus_before=1".to_string());
        assert!(parse(&w).unwrap_err().contains("twice"));
        let mut w = tree_ops();
        w.push("cov=1".to_string());
        assert!(parse(&w).unwrap_err().contains("unknown key `cov`"));
        let mut w = tree_ops();
        w[1] = "libfuzzer.execs=exec/s:".to_string();
        assert!(parse(&w).unwrap_err().contains("is not a number"));
        let mut w = tree_ops();
        w[10] = "corpus_before=".to_string();
        assert!(parse(&w).unwrap_err().contains("is not a number"));
        assert!(TargetSummary::parse(" ").is_err());
    }

    /// Quotes, backslashes and newlines (in a signature, a path, the
    /// embedded shrink report) come back as they went in.
    #[test]
    fn the_summary_round_trips_odd_strings() {
        let odd = "sig \"quoted\" back\\slash\nnewline\ttab \u{1}";
        let summary = NightlySummary {
            date: "2026-12-06T03:00:00Z".to_string(),
            budget_seconds: 600,
            cores: 2,
            sanitizer: String::new(),
            seed: "0x60".to_string(),
            mutant: odd.to_string(),
            targets: vec![parse(&tree_ops()).unwrap()],
            crash_files: 3,
            new_bugs: vec![odd.to_string()],
            known_bugs: vec!["corrupt-node_store-rust".to_string()],
            other_artifacts: vec![format!("/tmp/{odd}/timeout-1")],
            shrink: Some(ShrinkJson {
                bugs: Vec::new(),
                clean: vec![CleanJson {
                    file: odd.to_string(),
                    why: odd.to_string(),
                }],
                unreadable: vec![odd.to_string()],
            }),
        };
        let json = summary.to_json();
        let back: NightlySummary = serde_json::from_str(&json).unwrap();
        assert_eq!(back, summary);
        let v: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(v["new_bugs"][0], odd);
        assert_eq!(v["shrink"]["clean"][0]["file"], odd);
        assert_eq!(
            v["targets"][0]["libfuzzer"]["execs"],
            serde_json::Value::Null
        );
        assert_eq!(v["targets"][0]["libfuzzer"]["exit"], "skipped");
        assert_eq!(v["targets"][0]["stable"]["exit"], 1);
        let none = NightlySummary {
            shrink: None,
            ..summary
        };
        let v: serde_json::Value = serde_json::from_str(&none.to_json()).unwrap();
        assert_eq!(v["shrink"], serde_json::Value::Null);
    }
}
