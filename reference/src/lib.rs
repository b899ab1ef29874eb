// SPDX-License-Identifier: GPL-2.0-or-later
//! Naive oracles for maplefuzz.
//!
//! [`TreeOracle`] models the observable semantics of the Linux 6.12 maple
//! tree (`lib/maple_tree.c`) on a `std::collections::BTreeMap`: the
//! contents (non-overlapping inclusive ranges of `u64` mapped to non-zero
//! `u64` values, NULL everywhere else), the results and errors of the normal
//! API, and the kind of root ([`RootKind`]), which is the one structural
//! fact the read API exposes. [`Cursor`] models `struct ma_state` as seen
//! from outside: `index`, `last`, `status` and the entry each call returns,
//! for the read API (`mas_walk()`, `mas_find*()`, `mas_next*()`,
//! `mas_prev*()`, `mas_pause()`, ...) and for writes through a state
//! (`mas_store_gfp()`, `mas_erase()`).
//!
//! The kernel's state also carries a node position that the oracle does
//! not have. Where the kernel's next step would depend on it in a way the
//! contents cannot tell (a state that predates a write by someone else, or
//! one the kernel left with stale cached fields),
//! [`Cursor::is_positioned`] is false; reset or pause such a cursor before
//! stepping it if the results are to be compared.
//!
//! [`VmaOracle`] models the Linux 6.12 VMA layer (mmap, munmap, mprotect,
//! madvise, brk, mremap, page faults, fork) on a `BTreeMap` of VMAs and a
//! registry of anon_vma objects, reproducing the kernel's merge decisions,
//! anon_vma sharing, errors and allocation points.
//!
//! Where an older kernel legitimately answers differently, a
//! [`TreeProfile`] given to [`TreeOracle::with_profile`] selects its answers
//! (the cursor reads the profile of the tree it is given).
//!
//! The oracle is meant to be obviously correct rather than fast. It shares
//! no code with the engines it is compared with and depends on `std` only.

mod cursor;
mod errno;
mod gaps;
mod profile;
mod tree;
mod vma;

#[cfg(test)]
mod tests;

pub use cursor::{Cursor, Status};
pub use errno::Errno;
pub use gaps::CyclicAlloc;
pub use profile::TreeProfile;
pub use tree::{RootKind, Slot, TreeOracle};
pub use vma::{
    env as vma_env, uapi, vm, Backing, ForkKeep, Point, VmaErrno, VmaOracle, VmaOracleConfig,
    VmaProfile, VmaView,
};
