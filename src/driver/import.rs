// SPDX-License-Identifier: GPL-2.0-or-later
//! `maplefuzz import-kernel-sets`: the kernel's captured VMA activity as
//! programs.
//!
//! The kernel's userspace maple tree test (`tools/testing/radix-tree/maple.c`)
//! keeps real VMA trees captured from running systems as arrays of
//! `(op, first, last)` triples (`set`, `set2`, ...) and replays each with
//! `check_erase2_testset()` on a fresh tree. That function does, per triple:
//!
//! - `STORE`: `mtree_store_range(first, last, xa_mk_value(first))`, so the
//!   program stores value token `first` ([`crate::ops`] maps token `t` to
//!   `xa_mk_value(t)` in every engine);
//! - `SNULL`: `mtree_store_range(first, last, NULL)`;
//! - `ERASE`: when an entry holds `first`, `mtree_erase(first)`, expecting
//!   `xa_mk_value(first)` back. The program erases `first` unconditionally:
//!   `mtree_erase` of an empty index returns NULL and changes nothing, so
//!   the tree goes through the same states;
//!
//! and after each one `mt_validate()`, a count of the entries by
//! `mt_for_each` and by `mas_for_each`, and `mtree_load(0) == NULL`. The
//! executor's own checks after every op (validation, contents against the
//! oracle) cover these; run with `full_every = 1` they compare the whole
//! contents after every op, as the kernel's walks do.
//!
//! The tree flags are the ones `check_erase2_sets()` (or its caller, for the
//! first set) gives `mt_init_flags()` before the set runs. The follow-up
//! checks `check_erase2_sets()` makes after some sets (gap searches, loads)
//! are not imported.
//!
//! The kernel's data is read from a kernel source tree at import time; none
//! of it is part of this repository.

mod cparse;

pub use cparse::{parse_c_number, parse_testsets, CError, KernelSet, SetOp, SetStep};

use super::DriverError;
use crate::ops::text::format_program;
use crate::ops::{Program, TreeOp, MAX_TOKEN};
use std::path::{Path, PathBuf};

/// Where the sets live in a kernel source tree.
pub const MAPLE_C: &str = "tools/testing/radix-tree/maple.c";

/// The program `check_erase2_testset` runs for `set` (see the module
/// documentation). An error if a `STORE`'s first index is too large to be
/// a value token (`xa_mk_value` would lose its top bit).
pub fn set_program(set: &KernelSet) -> Result<Program, CError> {
    let mut ops = Vec::with_capacity(set.steps.len());
    for s in &set.steps {
        ops.push(match s.op {
            SetOp::Store => {
                if s.first > MAX_TOKEN {
                    return Err(CError {
                        line: s.line,
                        message: format!(
                            "set `{}`: STORE at {:#x} cannot be stored as xa_mk_value({:#x}) \
                             (tokens go up to {MAX_TOKEN:#x})",
                            set.name, s.first, s.first
                        ),
                    });
                }
                TreeOp::Store {
                    first: s.first,
                    last: s.last,
                    value: Some(s.first),
                }
            }
            SetOp::Snull => TreeOp::Store {
                first: s.first,
                last: s.last,
                value: None,
            },
            SetOp::Erase => TreeOp::Erase { index: s.first },
        });
    }
    Ok(Program {
        config: set.config,
        ops,
    })
}

/// The `maple.c` to read: `path` itself if it is a file, else the one in
/// the kernel tree at `path`.
pub fn maple_c_path(path: &Path) -> Result<PathBuf, DriverError> {
    let input = |message: String| DriverError::Input {
        path: path.to_path_buf(),
        message,
    };
    if path.is_dir() {
        let f = path.join(MAPLE_C);
        if f.exists() {
            Ok(f)
        } else {
            Err(input(format!(
                "a directory without {MAPLE_C}: give a kernel source tree or the maple.c file"
            )))
        }
    } else if path.exists() {
        Ok(path.to_path_buf())
    } else {
        Err(input(
            "no such file or directory (give a kernel source tree or its maple.c)".to_string(),
        ))
    }
}

/// Reads every set from the `maple.c` at (or in) `path` and converts it.
pub fn read_sets(path: &Path) -> Result<Vec<(KernelSet, Program)>, DriverError> {
    let file = maple_c_path(path)?;
    let input = |message: String| DriverError::Input {
        path: file.clone(),
        message,
    };
    let bytes = std::fs::read(&file).map_err(|e| input(format!("cannot read: {e}")))?;
    let src = String::from_utf8_lossy(&bytes);
    let sets = parse_testsets(&src).map_err(|e| input(e.to_string()))?;
    if sets.is_empty() {
        return Err(input(
            "no sets found (no check_erase2_testset(tree, set, size) call)".to_string(),
        ));
    }
    sets.into_iter()
        .map(|s| {
            let p = set_program(&s).map_err(|e| input(e.to_string()))?;
            Ok((s, p))
        })
        .collect()
}

/// One imported set: where it came from and where it went.
#[derive(Clone, Debug)]
pub struct ImportedSet {
    pub set: KernelSet,
    pub program: Program,
    pub path: PathBuf,
}

impl ImportedSet {
    /// One line for the command's output: name, flags, op counts, file.
    pub fn summary(&self) -> String {
        let count = |op: SetOp| self.set.steps.iter().filter(|s| s.op == op).count();
        let c = self.program.config;
        let flags = match (c.alloc, c.rcu) {
            (false, false) => "none",
            (true, false) => "alloc",
            (false, true) => "rcu",
            (true, true) => "alloc rcu",
        };
        format!(
            "{:<6} config {:<5} {:>5} ops (STORE {}, SNULL {}, ERASE {}) -> {}",
            self.set.name,
            flags,
            self.program.ops.len(),
            count(SetOp::Store),
            count(SetOp::Snull),
            count(SetOp::Erase),
            self.path.display()
        )
    }
}

/// The text file for one set: a header naming its origin, then the program.
fn set_file(set: &KernelSet, program: &Program, source: &Path) -> String {
    format!(
        "# {} from {} (defined at line {}, run by check_erase2_testset at line {})\n\
         # STORE a b -> store a b va; SNULL a b -> store a b null; ERASE a b -> erase a\n{}",
        set.name,
        source.display(),
        set.line,
        set.call_line,
        format_program(program)
    )
}

/// `maplefuzz import-kernel-sets PATH OUT_DIR`: writes `OUT_DIR/<set>.txt`
/// for every set. Nothing is written unless every set parses.
pub fn import_kernel_sets(path: &Path, out_dir: &Path) -> Result<Vec<ImportedSet>, DriverError> {
    let source = maple_c_path(path)?;
    let sets = read_sets(path)?;
    let output = |message: String| DriverError::Input {
        path: out_dir.to_path_buf(),
        message,
    };
    std::fs::create_dir_all(out_dir).map_err(|e| output(format!("cannot create: {e}")))?;
    let mut done = Vec::with_capacity(sets.len());
    for (set, program) in sets {
        let file = out_dir.join(format!("{}.txt", set.name));
        std::fs::write(&file, set_file(&set, &program, &source)).map_err(|e| {
            DriverError::Input {
                path: file.clone(),
                message: format!("cannot write: {e}"),
            }
        })?;
        done.push(ImportedSet {
            set,
            program,
            path: file,
        });
    }
    Ok(done)
}

#[cfg(test)]
mod tests;
