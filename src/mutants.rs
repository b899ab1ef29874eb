//! Deliberate bugs ("mutants") that re-create real maple tree bugs inside
//! the Rust port, so the harness can be shown to catch each one.
//!
//! A mutant is selected at run time, per thread, with [`select`] (or the
//! `MAPLEFUZZ_MUTANT` environment variable, read when a thread first asks).
//! The code under test asks [`active`] at the place where the real bug
//! lived. Without the `mutants` cargo feature [`active`] is a constant
//! `false`, so library users pay nothing and cannot switch a bug on.

use std::cell::Cell;

/// The environment variable naming the mutant a thread starts with.
pub const ENV: &str = "MAPLEFUZZ_MUTANT";

macro_rules! mutants {
    ($( $(#[$doc:meta])* $variant:ident = $name:literal, )*) => {
        /// One deliberate bug.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum Mutant {
            $( $(#[$doc])* $variant, )*
        }

        impl Mutant {
            /// Every mutant, in catalogue order.
            pub const ALL: &'static [Mutant] = &[$(Mutant::$variant,)*];

            /// The mutant's command-line name.
            pub fn name(self) -> &'static str {
                match self {
                    $( Mutant::$variant => $name, )*
                }
            }
        }
    };
}

mutants! {
    /// July 2022: `mas_wr_node_store()` copies the old tail after a store
    /// that reaches the node's maximum, leaving stale slots and pivots past
    /// the node's data end.
    StaleNodeStore = "stale-node-store",
}

impl Mutant {
    /// The mutant called `name`.
    pub fn from_name(name: &str) -> Option<Mutant> {
        Mutant::ALL.iter().copied().find(|m| m.name() == name)
    }

    /// Every mutant's name.
    pub fn names() -> Vec<&'static str> {
        Mutant::ALL.iter().map(|m| m.name()).collect()
    }
}

thread_local! {
    static SELECTED: Cell<Option<Mutant>> = Cell::new(from_env());
}

fn from_env() -> Option<Mutant> {
    std::env::var(ENV).ok().and_then(|n| Mutant::from_name(&n))
}

/// Whether the mutants are compiled in (the `mutants` feature).
pub const ENABLED: bool = cfg!(feature = "mutants");

/// Selects the mutant for this thread (`None`: the port as it is). Returns
/// the previous selection. Without the `mutants` feature a selection is
/// recorded but never takes effect.
pub fn select(m: Option<Mutant>) -> Option<Mutant> {
    SELECTED.with(|s| s.replace(m))
}

/// The mutant selected for this thread.
pub fn selected() -> Option<Mutant> {
    SELECTED.with(Cell::get)
}

/// Whether `m` is in force on this thread.
#[inline]
pub fn active(m: Mutant) -> bool {
    ENABLED && selected() == Some(m)
}

/// Runs `f` with `m` selected, restoring the previous selection after.
pub fn with<R>(m: Option<Mutant>, f: impl FnOnce() -> R) -> R {
    struct Restore(Option<Mutant>);
    impl Drop for Restore {
        fn drop(&mut self) {
            select(self.0);
        }
    }
    let _restore = Restore(select(m));
    f()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for &m in Mutant::ALL {
            assert_eq!(Mutant::from_name(m.name()), Some(m));
        }
        assert_eq!(Mutant::from_name("no-such-mutant"), None);
    }

    #[test]
    fn selection_is_scoped() {
        let m = Mutant::StaleNodeStore;
        assert!(!active(m) || selected() == Some(m));
        with(Some(m), || assert_eq!(active(m), ENABLED));
        assert_eq!(selected(), from_env());
    }
}
