//! The deliberate bugs' hook, as the harness sees it: the tree crate owns
//! it ([`maple_tree::mutants`]: the catalogue, and which mutant is in force
//! on this thread, asked by the tree and by the VMA layer). Re-exported here
//! so that `maplefuzz::mutants::Mutant` and `--mutant NAME` keep one
//! meaning. What only the harness needs lives with the driver: the fuzz
//! targets that reach each mutant ([`crate::driver::mutants::targets`]) and
//! the stable driver's deliberate crash ([`crate::driver::crash_at`]).

pub use maple_tree::mutants::*;
