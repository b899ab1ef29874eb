// SPDX-License-Identifier: GPL-2.0-or-later
//! Unit tests of the VMA oracle. Every expected VMA list below was derived
//! by reading the named kernel function, not by running the oracle.

mod common;
mod errors;
mod faults;
mod fork;
mod merge_existing;
mod merge_new;
mod placement;
mod smoke;
