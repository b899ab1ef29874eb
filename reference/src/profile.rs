// SPDX-License-Identifier: GPL-2.0-or-later
//! Which kernel's answers the oracle gives where kernel versions differ.

/// The kernel version whose observable answers the oracle gives.
///
/// The oracle's default is Linux 6.12. Where an older kernel legitimately
/// answers differently (the API of its time, not a bug), the
/// [`Linux6_1`](TreeProfile::Linux6_1) profile gives that kernel's answer;
/// each difference is documented where it is modelled, with the kernel
/// function and the upstream commit that later changed it. Bugs are never
/// modelled: a kernel build under test carries fixes for them instead.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum TreeProfile {
    /// Linux 6.12 (and the port): the maple state's status is an enum of
    /// its own, with overflow and underflow; allocation goes through
    /// `mas_empty_area(_rev)()`.
    #[default]
    Linux6_12,
    /// Linux 6.1 (the LTS line; 6.2 to 6.11 are taken as the same): the
    /// status lives in the node pointer, the iterators are the
    /// `mas_next_entry()`/`mas_prev_entry()` generation, and a NULL store
    /// that leaves nothing empties the root. Differences:
    /// - the read cursor ([`crate::Cursor`], `linux_6_1.rs`);
    /// - the root kind after a NULL store over everything
    ///   ([`crate::TreeOracle::store_range`]);
    /// - the argument checks of `mtree_alloc_range()` and
    ///   `mtree_alloc_rrange()` ([`crate::TreeOracle::alloc_range`]);
    /// - no `mtree_alloc_cyclic()` ([`TreeProfile::has_alloc_cyclic`]).
    Linux6_1,
}

impl TreeProfile {
    /// Whether the kernel has `mtree_alloc_cyclic()`. It came with Linux
    /// 6.10 ("maple_tree: Add mtree_alloc_cyclic()", for libfs' directory
    /// offsets); the 6.1 line never had it, so that profile has no answer
    /// for the call ([`crate::TreeOracle::alloc_cyclic`] refuses to give
    /// one).
    pub fn has_alloc_cyclic(self) -> bool {
        match self {
            TreeProfile::Linux6_12 => true,
            TreeProfile::Linux6_1 => false,
        }
    }

    /// The profile's name: `6.12` or `6.1`.
    pub fn name(self) -> &'static str {
        match self {
            TreeProfile::Linux6_12 => "6.12",
            TreeProfile::Linux6_1 => "6.1",
        }
    }
}
