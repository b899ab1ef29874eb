//! Replays every committed program: the seed corpora under `corpus/<target>/`
//! and the minimised reproducers under `corpus/regressions/`, text (`.txt`)
//! and binary (`.bin`) alike, through the same decoders and executor as every
//! fuzz driver. A regression that fails here is a bug that came back.

use maplefuzz::diff;
use maplefuzz::driver::load_any;
use maplefuzz::engine::EngineSet;
use maplefuzz::ops::{text, AnyProgram, Program};
use maplefuzz::tree::{self, PathStats, StoreStats, StoreType};
use std::path::{Path, PathBuf};

fn files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    for e in rd.flatten() {
        let p = e.path();
        if p.is_dir() {
            files(&p, out);
        } else if matches!(p.extension().and_then(|x| x.to_str()), Some("txt" | "bin")) {
            out.push(p);
        }
    }
}

/// A committed program of either language, read as every driver reads it.
fn load_any_file(p: &Path) -> AnyProgram {
    load_any(p).unwrap_or_else(|e| panic!("{e}")).0
}

fn load(p: &Path) -> Program {
    let s = std::fs::read_to_string(p).unwrap();
    text::parse_program(&s).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

#[test]
fn every_committed_program_replays_clean() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus");
    let mut all = Vec::new();
    files(&root, &mut all);
    all.sort();
    assert!(!all.is_empty(), "no corpus found under {}", root.display());
    for p in &all {
        let program = load_any_file(p);
        if let Err(d) = diff::run_any(&program, &EngineSet::from_env()) {
            panic!("{} diverged:\n{}", p.display(), d);
        }
    }
}

/// What the text seeds of `target` ran, summed: the store types and the
/// counted kernel paths of the Rust engine.
fn seed_stats(target: &str) -> (StoreStats, PathStats) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("corpus/seeds")
        .join(target);
    let mut all = Vec::new();
    files(&dir, &mut all);
    let mut seen = (StoreStats::default(), PathStats::default());
    for p in all
        .iter()
        .filter(|p| p.extension().and_then(|x| x.to_str()) == Some("txt"))
    {
        let stats = diff::run(&load(p), &EngineSet::from_env()).unwrap();
        seen.0.merge(&stats.store_stats);
        seen.1.merge(&stats.path_stats);
    }
    seen
}

#[test]
fn the_tree_ops_seeds_reach_every_store_type() {
    let (seen, _) = seed_stats("tree_ops");
    for ty in StoreType::ALL.iter().skip(1) {
        assert!(seen.get(*ty) > 0, "no seed reaches {}", ty.name());
    }
}

/// The `tree_alloc` seeds reach the gap searches' rare paths that the op
/// language can (not the resumed starts, which need a search on a state
/// left by another, nor `mas_destroy_rebalance`, which no in-order bulk
/// load needs: `tests/bulk.rs`).
#[test]
fn the_tree_alloc_seeds_reach_the_gap_search_paths() {
    let (_, seen) = seed_stats("tree_alloc");
    for path in [
        tree::Path::SkipNode,
        tree::Path::RewindNode,
        tree::Path::EmptyAreaResume,
        tree::Path::EmptyAreaRevResume,
        tree::Path::SparseArea,
        tree::Path::CyclicWrap,
    ] {
        assert!(seen.get(path) > 0, "no seed reaches {}", path.name());
    }
}
