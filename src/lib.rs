//! maplefuzz: a differential fuzzing harness for the Linux maple tree and the
//! VMA logic built on it.
//!
//! The [`tree`] module is a faithful port of Linux 6.12 `lib/maple_tree.c`,
//! usable on its own as a range map.

#![forbid(unsafe_code)]

pub mod tree;
