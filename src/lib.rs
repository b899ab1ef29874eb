//! maplefuzz: a differential fuzzing harness for the Linux maple tree and the
//! VMA logic built on it.
//!
//! - [`tree`]: the crate `maple-tree` (`tree/`), a faithful port of Linux
//!   6.12 `lib/maple_tree.c`, re-exported; it depends on nothing of the
//!   harness. [`tree::MapleMap`] is its typed API.
//! - [`vma`]: the crate `maple-vma` (`vma/`), the Linux 6.12 VMA layer
//!   (mmap, munmap, mprotect, madvise, brk, mremap, fork; merge and split)
//!   on that tree, re-exported; it depends on the tree crate alone.
//! - [`ops`]: the operation languages (tree and VMA programs), their binary
//!   and text forms, and the generators.
//! - [`engine`]: the engines a program runs on: the oracle
//!   (`maplefuzz-reference`), the Rust port, and the kernel's own C
//!   (`maplefuzz-kernel`), for trees and for address spaces.
//! - [`diff`]: the differential executor and its per-step checks; programs
//!   run in a child process ([`diff::isolated`]) when a failure can kill it.
//! - [`shrink`]: the structured shrinker and the reproducer writers (text,
//!   Rust test, kernel C snippet, system-call C program).
//! - [`driver`]: the commands (`fuzz`, `replay`, `shrink`, `sweep`,
//!   `mutants`, imports) behind the `maplefuzz` binary.
//! - [`mutants`]: the deliberate bugs' hook (owned by the tree crate), which
//!   shows the harness catches each kind of real maple tree bug.
//!
//! # Features
//!
//! `mutants` (default): the run-time selectable deliberate bugs
//! (`maplefuzz --mutant NAME`, `maplefuzz mutants`), switched on in the
//! tree crate too. A Rust user who wants only the maple tree depends on
//! `maple-tree` (`tree/`), whose `mutants` feature is off by default.
//!
//! `cli` (default): the `maplefuzz` binary (`src/main.rs`) and what only
//! it uses, clap (arguments) and indicatif (the progress bar, drawn
//! through [`driver::Progress`]). The library uses neither; the fuzz
//! crates depend on it without this feature.

#![forbid(unsafe_code)]

pub mod diff;
pub mod driver;
pub mod engine;
pub mod mutants;
pub mod ops;
pub mod shrink;

pub use maple_tree as tree;
pub use maple_vma as vma;

/// The Rust examples of `docs/tree.md`, run as doctests so that they stay
/// true.
#[cfg(doctest)]
#[doc = include_str!("../docs/tree.md")]
struct DocsTreeMd;
