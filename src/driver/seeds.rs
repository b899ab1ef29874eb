//! `maplefuzz import-seeds`: the bounded committed corpus. Inputs a fuzzer
//! kept (a libFuzzer corpus after `-merge=1`, as `ci/nightly.sh` leaves it)
//! become committed seeds of a target: `corpus/<target>/nightly-<hash>.bin`
//! (the canonical encoding of the program the target runs) beside its text
//! twin `corpus/seeds/<target>/nightly-<hash>.txt`, as every committed seed
//! has one (`tests/codec.rs`). The import replaces the target's previous
//! `nightly-*` seeds with the `max` smallest programs of the new set (pass
//! the committed corpus to the merge, and seeds worth keeping carry over),
//! so the committed corpus stays bounded however long nightly runs go on.

use super::shrink::load_for_target;
use super::{DriverError, Target};
use std::path::{Path, PathBuf};

/// The prefix of imported seeds' file names.
pub const PREFIX: &str = "nightly-";

/// FNV-1a: a stable name for a seed's bytes.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    })
}

fn io_err(path: &Path) -> impl Fn(std::io::Error) -> DriverError + '_ {
    move |e| DriverError::Input {
        path: path.to_path_buf(),
        message: e.to_string(),
    }
}

/// What an import did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Imported {
    /// Seeds written (distinct programs, at most `max`).
    pub written: usize,
    /// Previous `nightly-*` seed pairs removed.
    pub removed: usize,
    /// Input files that decode to a program already taken.
    pub duplicates: usize,
}

/// Imports every file of `from` as a seed of `target` under `corpus`
/// (the `corpus/` folder), keeping the `max` smallest programs.
pub fn import_seeds(
    corpus: &Path,
    target: Target,
    from: &Path,
    max: usize,
    engines: &crate::engine::EngineSet,
) -> Result<Imported, DriverError> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(from)
        .map_err(io_err(from))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    let mut seeds: Vec<(Vec<u8>, String)> = Vec::new();
    let mut imported = Imported::default();
    for f in &files {
        let (program, _) = load_for_target(f, Some(target), engines)?;
        let bytes = program.encode();
        if seeds.iter().any(|(b, _)| *b == bytes) {
            imported.duplicates += 1;
            continue;
        }
        let text = format!(
            "# Seed kept by ci/nightly.sh's corpus merge (target {}); maplefuzz import-seeds\n{}",
            target.name(),
            program.text()
        );
        seeds.push((bytes, text));
    }
    // The smallest first; equal sizes by their bytes, so the choice is
    // the same whatever order the files came in.
    seeds.sort();
    seeds.sort_by_key(|(b, _)| b.len());
    seeds.truncate(max);

    let bin_dir = corpus.join(target.name());
    let txt_dir = corpus.join("seeds").join(target.name());
    for dir in [&bin_dir, &txt_dir] {
        std::fs::create_dir_all(dir).map_err(io_err(dir))?;
        for e in std::fs::read_dir(dir).map_err(io_err(dir))?.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if name.starts_with(PREFIX) {
                std::fs::remove_file(e.path()).map_err(io_err(&e.path()))?;
                if dir == &bin_dir {
                    imported.removed += 1;
                }
            }
        }
    }
    for (bytes, text) in &seeds {
        let stem = format!("{PREFIX}{:016x}", fnv1a(bytes));
        let bin = bin_dir.join(format!("{stem}.bin"));
        std::fs::write(&bin, bytes).map_err(io_err(&bin))?;
        let txt = txt_dir.join(format!("{stem}.txt"));
        std::fs::write(&txt, text).map_err(io_err(&txt))?;
    }
    imported.written = seeds.len();
    Ok(imported)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::binary::decode;
    use crate::ops::text::parse_program;

    #[test]
    fn imports_are_canonical_twins_and_bounded() {
        let root =
            std::env::temp_dir().join(format!("maplefuzz-seeds-unit-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        let from = root.join("merged");
        std::fs::create_dir_all(&from).unwrap();
        // Three inputs, two of them the same program (a non-canonical
        // encoding: an over-long varint), of tree_alloc.
        std::fs::write(from.join("a"), [0u8, 3, 8]).unwrap();
        std::fs::write(from.join("b"), [0u8, 0, 2, 2, 2, 0, 3, 4]).unwrap();
        std::fs::write(from.join("c"), [0u8, 3, 0x88, 0x00]).unwrap();
        let corpus = root.join("corpus");
        // A previous nightly seed and a hand-written one.
        std::fs::create_dir_all(corpus.join("tree_alloc")).unwrap();
        std::fs::write(
            corpus.join("tree_alloc/nightly-0000000000000001.bin"),
            [1u8],
        )
        .unwrap();
        std::fs::write(corpus.join("tree_alloc/mine.bin"), [1u8]).unwrap();
        let r = import_seeds(
            &corpus,
            Target::TreeAlloc,
            &from,
            1,
            &crate::engine::EngineSet::from_env(),
        )
        .unwrap();
        assert_eq!(
            r,
            Imported {
                written: 1,
                removed: 1,
                duplicates: 1
            }
        );
        assert!(corpus.join("tree_alloc/mine.bin").exists());
        let bins: Vec<PathBuf> = std::fs::read_dir(corpus.join("tree_alloc"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.file_name().unwrap().to_string_lossy().starts_with(PREFIX))
            .collect();
        assert_eq!(bins.len(), 1);
        let bin = std::fs::read(&bins[0]).unwrap();
        let p = decode(&bin);
        // The smaller program, with the allocation tree its target forces.
        assert_eq!(p.ops.len(), 1);
        assert!(p.config.alloc);
        assert_eq!(crate::ops::binary::encode(&p), bin);
        let stem = bins[0].file_stem().unwrap().to_string_lossy().into_owned();
        let txt =
            std::fs::read_to_string(corpus.join(format!("seeds/tree_alloc/{stem}.txt"))).unwrap();
        assert_eq!(parse_program(&txt).unwrap(), p);
        let _ = std::fs::remove_dir_all(&root);
    }
}
