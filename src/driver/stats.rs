//! Campaign statistics: throughput, store-type coverage, tree sizes.

use crate::diff::RunStats;
use crate::tree::{Path, PathStats, StoreStats, StoreType};
use std::fmt::Write as _;
use std::time::Duration;

/// What a campaign has run so far.
#[derive(Clone, Debug, Default)]
pub struct CampaignStats {
    /// Executions (programs) run, the failing one included.
    pub execs: u64,
    /// Ops executed by clean executions.
    pub ops: u64,
    /// Wall time.
    pub elapsed: Duration,
    /// Store types the Rust engine ran, summed over clean executions.
    pub store_stats: StoreStats,
    /// The counted kernel paths the Rust engine ran, summed over clean
    /// executions (`tree::Path`: rare branches of the gap searches and
    /// bulk loads).
    pub path_stats: PathStats,
    /// The most entries any tree held.
    pub max_entries: usize,
    /// Clean executions that stopped before their last op, and the reason
    /// of the first (a caller error: see `diff::RunStats::stopped`).
    pub stopped: u64,
    /// The reason the first stopped execution gave.
    pub first_stop: Option<String>,
    /// Ops that a group of engines answered as not in its kernel (see
    /// `diff::RunStats::unsupported`).
    pub unsupported: u64,
}

/// Every real store type (`wr_invalid` is never executed).
fn store_types() -> &'static [StoreType] {
    &StoreType::ALL[1..]
}

impl CampaignStats {
    /// Adds a clean execution.
    pub fn record(&mut self, run: &RunStats) {
        self.execs += 1;
        self.ops += run.ops as u64;
        self.store_stats.merge(&run.store_stats);
        self.path_stats.merge(&run.path_stats);
        self.max_entries = self.max_entries.max(run.max_entries);
        self.unsupported += run.unsupported;
        if let Some((_, why)) = &run.stopped {
            self.stopped += 1;
            if self.first_stop.is_none() {
                self.first_stop = Some(why.clone());
            }
        }
    }

    fn per_sec(&self, n: u64) -> f64 {
        let s = self.elapsed.as_secs_f64();
        if s > 0.0 {
            n as f64 / s
        } else {
            0.0
        }
    }

    /// Executions per second.
    pub fn execs_per_sec(&self) -> f64 {
        self.per_sec(self.execs)
    }

    /// Ops per second.
    pub fn ops_per_sec(&self) -> f64 {
        self.per_sec(self.ops)
    }

    /// `(store types reached, store types that exist)`.
    pub fn coverage(&self) -> (usize, usize) {
        let reached = store_types()
            .iter()
            .filter(|t| self.store_stats.get(**t) > 0)
            .count();
        (reached, store_types().len())
    }

    /// `(counted paths reached, paths counted)`.
    pub fn path_coverage(&self) -> (usize, usize) {
        let reached = self.path_stats.iter().filter(|(_, n)| *n > 0).count();
        (reached, Path::ALL.len())
    }

    /// The store types never reached.
    pub fn missing_store_types(&self) -> Vec<StoreType> {
        store_types()
            .iter()
            .copied()
            .filter(|t| self.store_stats.get(*t) == 0)
            .collect()
    }

    /// The progress bar's message.
    pub fn progress_line(&self) -> String {
        let (reached, total) = self.coverage();
        format!(
            "{} execs {:.0}/s | {} ops/s | {reached}/{total} store types | max {} entries",
            self.execs,
            self.execs_per_sec(),
            human(self.ops_per_sec()),
            self.max_entries
        )
    }

    /// The summary's statistics, one item a line, indented.
    pub fn report(&self) -> String {
        let (reached, total) = self.coverage();
        let mut s = String::new();
        let _ = writeln!(s, "  time         {:.1} s", self.elapsed.as_secs_f64());
        let _ = writeln!(
            s,
            "  execs        {} ({:.1}/s)",
            self.execs,
            self.execs_per_sec()
        );
        let _ = writeln!(
            s,
            "  ops          {} ({}/s)",
            self.ops,
            human(self.ops_per_sec())
        );
        let _ = writeln!(s, "  max entries  {}", self.max_entries);
        if self.stopped > 0 {
            let first = self.first_stop.as_deref().unwrap_or("");
            let _ = writeln!(
                s,
                "  stopped      {} executions ended early; the first: {first}",
                self.stopped
            );
        }
        if self.unsupported > 0 {
            let _ = writeln!(
                s,
                "  unsupported  {} ops not in an engine group's kernel or not modelled for it \
                 (alloc_cyclic before 6.10; searches and writes on the cursor on 6.1), answered \
                 so by the group's oracle and every engine of it",
                self.unsupported
            );
        }
        let _ = writeln!(s, "  store types  {reached}/{total} reached");
        for t in store_types() {
            let _ = writeln!(s, "    {:<16}{}", t.name(), self.store_stats.get(*t));
        }
        let (reached, total) = self.path_coverage();
        let _ = writeln!(s, "  paths        {reached}/{total} reached");
        for (p, n) in self.path_stats.iter() {
            let _ = writeln!(s, "    {:<30}{n}", p.name());
        }
        s
    }
}

/// `1234567.0` as `1.23M`.
fn human(x: f64) -> String {
    if x >= 1e6 {
        format!("{:.2}M", x / 1e6)
    } else if x >= 1e3 {
        format!("{:.1}k", x / 1e3)
    } else {
        format!("{x:.0}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn human_numbers() {
        assert_eq!(human(12.0), "12");
        assert_eq!(human(12_345.0), "12.3k");
        assert_eq!(human(2_500_000.0), "2.50M");
    }

    #[test]
    fn coverage_counts_real_store_types() {
        let s = CampaignStats::default();
        assert_eq!(s.coverage(), (0, 9));
        assert_eq!(s.missing_store_types().len(), 9);
        assert!(s.report().contains("0/9 reached"));
        assert!(s.progress_line().contains("0/9 store types"));
    }

    #[test]
    fn report_lists_the_counted_paths() {
        let mut t = crate::tree::MapleTree::with_flags(crate::tree::MT_FLAGS_ALLOC_RANGE);
        // An empty tree's gap search is mas_sparse_area().
        t.alloc_range(0x11, 3, 0, 10).unwrap();
        let run = RunStats {
            path_stats: t.path_stats(),
            ..RunStats::default()
        };
        let mut s = CampaignStats::default();
        assert_eq!(s.path_coverage(), (0, 7));
        assert!(s.report().contains("paths        0/7 reached"));
        s.record(&run);
        s.record(&run);
        assert_eq!(s.path_coverage(), (1, 7));
        let report = s.report();
        assert!(report.contains("paths        1/7 reached"), "{report}");
        for p in Path::ALL {
            assert!(report.contains(p.name()), "{report}");
        }
        let sparse = report
            .lines()
            .find(|l| l.trim_start().starts_with("mas_sparse_area"))
            .unwrap();
        assert!(sparse.ends_with(" 2"), "{sparse}");
        // The paths come after the store types.
        assert!(report.find("store types").unwrap() < report.find("paths ").unwrap());
    }
}
