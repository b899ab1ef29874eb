//! The program's maple state used across ops (issue state-reuse): gap
//! searches that resume from where the cursor stands, writes at the
//! cursor, `mas_reset()` and `mas_set_range()`, on every engine of the
//! build. Each expected answer below was checked on the kernel engines
//! (6.12, 6.18 and 7.1 answer alike; 6.1 answers `Unsupported` beside its
//! own oracle: its states are not modelled), and every kernel engine of
//! the build must give it again. The oracle admits a set of answers for a
//! resumed search (the start depends on slot offsets it has not); each
//! test also checks that set holds the kernel's answer.

mod common;

use maplefuzz::diff::{self, Options};
use maplefuzz::engine::{EngineSet, Outcome};
use maplefuzz::ops::gen::{generate_profile, Profile};
use maplefuzz::ops::text::{format_program, parse_program};
use maplefuzz::ops::{Program, TreeOp};
use maplefuzz::tree::{Errno, Status};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// Each step's answers: `(engine, outcome)`.
type Steps = Vec<Vec<(&'static str, Outcome)>>;

/// Runs `text` through the executor on every engine of the build (every
/// check on, after every op) and returns each step's answers and the run's
/// early stop, if any.
fn run_all(text: &str) -> (Steps, Option<(usize, String)>) {
    let p = parse_program(text).expect("test program parses");
    let set = EngineSet::from_env();
    let mut engines = set.build(p.config);
    let names: Vec<&'static str> = engines.iter().map(|e| e.name()).collect();
    let mut steps = vec![Vec::new(); p.ops.len()];
    let opts = Options {
        check_every: 1,
        ..Options::default()
    };
    let r = diff::run_observed(&p, &mut engines, opts, &mut |e| {
        if let diff::Event::Op { step, outcomes } = e {
            steps[step] = names.iter().copied().zip(outcomes).collect();
        }
    });
    match r {
        Ok(stats) => (steps, stats.stopped),
        Err(d) => panic!("{}\n{d}", format_program(&p)),
    }
}

fn on_6_1(name: &str) -> bool {
    name == "oracle@6.1" || name == "kernel@6.1" || name.starts_with("kernel@6.1:")
}

/// Checks step `step` on every engine: `want` exactly on the port and the
/// kernel engines of 6.12 and later, admitted by the 6.12 oracle,
/// `Unsupported` on the 6.1 group when `new_op`. Returns how many engines
/// answered `want` exactly.
fn expect(steps: &Steps, step: usize, want: &Outcome, new_op: bool) -> usize {
    let mut exact = 0;
    for (name, got) in &steps[step] {
        if on_6_1(name) {
            if new_op {
                assert_eq!(got, &Outcome::Unsupported, "step {step} on {name}");
            }
        } else if *name == "oracle" {
            assert!(
                got.admits(want),
                "step {step}: the oracle's {got:?} lacks {want:?}"
            );
        } else {
            assert_eq!(got, want, "step {step} on {name}");
            exact += 1;
        }
    }
    exact
}

/// The engines that answer exactly: the port, and each kernel engine of
/// 6.12 or later where it is built.
fn exact_engines() -> usize {
    1 + common::kernels_from_6_12()
}

fn range(a: u64, b: u64) -> Outcome {
    Outcome::Range(Ok((a, b)))
}

fn at(entry: Option<u64>, index: u64, last: u64) -> Outcome {
    Outcome::Cursor {
        entry,
        index,
        last,
        status: Status::Active,
    }
}

/// Three entries with holes between them, all in the root leaf: slots
/// `[0, 0xf]` null, `[0x10, 0x1f]` v1, `[0x20, 0x2f]` null, `[0x30, 0x3f]`
/// v2, `[0x40, 0x4f]` null, `[0x50, 0x5f]` v3, `[0x60, max]` null.
const THREE: &str = "config alloc\nstore 0x10 0x1f v1\nstore 0x30 0x3f v2\nstore 0x50 0x5f v3\n";

/// `mas_empty_area()` on a state at offset 2 or more of its leaf starts two
/// slots back: from `[0x30, 0x3f]` (offset 3) at offset 1, so the first
/// fit is the hole at offset 2, where a whole search takes the hole at 0.
/// Then `mas_store_gfp()` on the same state fills the window found
/// (`vma_iter_area_lowest()` + `vma_iter_store()`).
#[test]
fn a_resumed_search_starts_two_slots_back() {
    let (steps, stop) = run_all(&format!(
        "{THREE}walk 0x35\ncur_empty_area 0x0 max 0x4\ncur_store v9\nempty_area 0x0 max 0x4\n"
    ));
    assert_eq!(stop, None);
    let n = expect(&steps, 4, &range(0x20, 0x23), true);
    expect(&steps, 5, &at(None, 0x20, 0x23), true);
    // The fresh search, after the store, for comparison.
    expect(&steps, 6, &range(0, 3), false);
    assert_eq!(n, exact_engines());
}

/// At offset 0 or 1 the search moves past the current slot
/// (`mas_skip_node()`; in a root leaf, to the next slot): from the hole
/// `[0, 0xf]` the hole itself is skipped although it fits.
#[test]
fn a_resumed_search_at_the_leaf_start_skips_ahead() {
    let (steps, stop) = run_all(&format!(
        "{THREE}walk 0x5\ncur_empty_area 0x0 max 0x4\nreset\ncur_empty_area 0x0 max 0x4\n"
    ));
    assert_eq!(stop, None);
    let n = expect(&steps, 4, &range(0x20, 0x23), true);
    // After mas_reset() the search is a whole one again.
    expect(&steps, 6, &range(0, 3), true);
    assert_eq!(n, exact_engines());
}

/// `mas_empty_area_rev()` resumed from offset 5 starts at offset 3 and
/// goes down: the highest fit at or below `[0x30, 0x3f]` is the top of
/// the hole `[0x20, 0x2f]`, not the hole just below the state.
#[test]
fn a_resumed_reverse_search_starts_two_slots_back() {
    let (steps, stop) = run_all(&format!(
        "{THREE}walk 0x55\ncur_empty_area_rev 0x0 max 0x4\ncur_store v9\nmas_prev 0x0\n"
    ));
    assert_eq!(stop, None);
    let n = expect(&steps, 4, &range(0x2c, 0x2f), true);
    expect(&steps, 5, &at(None, 0x2c, 0x2f), true);
    // The state stands on the new entry: the step goes to the hole below
    // it and on to v1 (mas_prev skips NULL).
    expect(&steps, 6, &at(Some(1), 0x10, 0x1f), false);
    assert_eq!(n, exact_engines());
}

/// A resumed search that finds nothing leaves the state in error status:
/// the next op that resumes from it is a caller error that ends the run;
/// after `mas_reset()` the same search succeeds.
#[test]
fn a_failed_search_leaves_the_state_in_error() {
    let (steps, stop) = run_all(&format!(
        "{THREE}walk 0x55\ncur_empty_area 0x0 0x45 0x10\nreset\ncur_empty_area 0x0 0x45 0x10\n\
         walk 0x55\ncur_empty_area 0x0 0x45 0x10\nmas_next max\n"
    ));
    expect(&steps, 4, &Outcome::Range(Err(Errno::EBUSY)), true);
    expect(&steps, 6, &range(0, 0xf), true);
    expect(&steps, 8, &Outcome::Range(Err(Errno::EBUSY)), true);
    let (step, why) = stop.expect("the step from an error state stops the run");
    assert_eq!(step, 9);
    assert!(why.contains("error status"), "{why}");
}

/// A search may not resume from a state that stands on no node: the
/// cursor is paused after a tree write, and overflowed after a step past
/// its limit.
#[test]
fn a_search_from_a_paused_state_is_a_caller_error() {
    let (_, stop) = run_all(&format!("{THREE}cur_empty_area 0x0 max 0x4\n"));
    let (step, why) = stop.expect("a caller error");
    assert_eq!(step, 3);
    assert!(why.contains("Pause status"), "{why}");
    let (_, stop) = run_all(&format!(
        "{THREE}walk 0x55\nmas_next 0x58\ncur_empty_area_rev 0x0 max 0x4\n"
    ));
    let (step, why) = stop.expect("a caller error");
    assert_eq!(step, 5);
    assert!(why.contains("Overflow status"), "{why}");
}

/// On a tree without nodes the state `mas_start()` left (none, or root
/// for a root pointer) sits at offset `MAPLE_NODE_SLOTS`, and a search
/// from it answers from `mas_sparse_area()`, which the fixed builds make
/// ask the tree whether index 0 is taken: a walk past a root pointer's
/// index 0 leaves the state none, and Linux 6.12 to 7.1 then hand out index
/// 0 over the entry (docs/findings/resumed-gap-search.md).
#[test]
fn a_search_from_a_state_beside_a_root_pointer_skips_index_0() {
    let (steps, stop) = run_all(
        "config alloc\nstore 0x0 0x0 v1\nwalk 0x5\ncur_empty_area 0x0 max 0x1\n\
         walk 0x0\ncur_empty_area_rev 0x0 0x3 0x2\nset 0x0\nwalk 0x0\n",
    );
    assert_eq!(stop, None);
    let n = expect(&steps, 2, &range(1, 1), true);
    expect(&steps, 4, &range(2, 3), true);
    assert_eq!(n, exact_engines());
}

/// A write at a state whose range is inverted is the caller's error:
/// `mas_store_gfp()` does not check it (only `mas_store()` does, under
/// `CONFIG_DEBUG_MAPLE_TREE`).
#[test]
fn a_write_over_an_inverted_range_is_a_caller_error() {
    let (_, stop) = run_all(&format!("{THREE}set_range 0x21 0x20\ncur_store v4\n"));
    let (step, why) = stop.expect("a caller error");
    assert_eq!(step, 4);
    assert!(why.contains("inverted"), "{why}");
}

/// Writes at the state: `mas_reset()` keeps the range a walk found,
/// `mas_set_range()` sets one; a `mas_find()` loop erases and stores on
/// the state it iterates, and each NULL write leaves the state on the
/// merged hole (`mas_wr_extend_null()`), from which the loop goes on.
#[test]
fn writes_at_the_state_and_a_find_loop_over_them() {
    let (steps, stop) = run_all(&format!(
        "{THREE}walk 0x35\nreset\ncur_store v7\nset_range 0x20 0x2f\ncur_store v8\nset 0x0\n\
         mas_find max\ncur_erase\nmas_find max\ncur_store null\nmas_find max\ncur_store v11\n"
    ));
    assert_eq!(stop, None);
    let n = expect(&steps, 5, &at(None, 0x30, 0x3f), true);
    expect(&steps, 7, &at(None, 0x20, 0x2f), true);
    expect(&steps, 9, &at(Some(1), 0x10, 0x1f), false);
    expect(&steps, 10, &at(Some(1), 0, 0x1f), true);
    expect(&steps, 11, &at(Some(8), 0x20, 0x2f), false);
    expect(&steps, 12, &at(None, 0, 0x2f), true);
    expect(&steps, 13, &at(Some(7), 0x30, 0x3f), false);
    expect(&steps, 14, &at(None, 0x30, 0x3f), true);
    assert_eq!(n, exact_engines());
}

/// Generated programs hold every op on the state, and run clean on every
/// engine of the build.
#[test]
fn generated_programs_use_the_state_and_run_clean() {
    // The ops on the state, the last six kinds.
    let kinds = &TreeOp::KINDS[24..];
    let mut seen = [0usize; 6];
    for seed in 0..12 {
        for profile in [Profile::TreeAlloc, Profile::TreeOps] {
            let mut rng = ChaCha8Rng::seed_from_u64(0x5747e + seed);
            let p: Program = generate_profile(profile, &mut rng);
            for op in &p.ops {
                if let Some(i) = kinds.iter().position(|k| *k == op.kind()) {
                    seen[i] += 1;
                }
            }
            if seed % 4 == 0 {
                if let Err(d) = diff::run(&p, &EngineSet::from_env()) {
                    panic!("{}\n{d}", format_program(&p));
                }
            }
        }
    }
    assert!(seen.iter().all(|&n| n > 0), "{kinds:?}: {seen:?}");
}
