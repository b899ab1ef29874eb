//! maplefuzz: a differential fuzzing harness for the Linux maple tree and the
//! VMA logic built on it.
//!
//! - [`tree`]: a faithful port of Linux 6.12 `lib/maple_tree.c`, usable on
//!   its own as a range map.
//! - [`ops`]: the operation language (programs), its binary and text forms.
//! - [`engine`]: the engines a program runs on (the oracle, the Rust port).
//! - [`diff`]: the differential executor and its per-step checks.
//! - [`shrink`]: the structured shrinker and the reproducer writers (text,
//!   Rust test, kernel C snippet).
//! - [`mutants`]: deliberate bugs (the `mutants` feature) that show the
//!   harness catches each kind of real maple tree bug.
//!
//! # Features
//!
//! `mutants` (default): the run-time selectable deliberate bugs
//! (`maplefuzz --mutant NAME`, `maplefuzz mutants`). It is a default
//! feature because the binary needs it; to use the tree without any mutant
//! hook, depend on the crate with `default-features = false`:
//!
//! ```toml
//! maplefuzz = { version = "0.1", default-features = false }
//! ```

#![forbid(unsafe_code)]

pub mod diff;
pub mod driver;
pub mod engine;
pub mod mutants;
pub mod ops;
pub mod shrink;
pub mod tree;
pub mod vma;
