//! The program generator of the stable driver.
//!
//! [`generate_profile`] turns a seeded [`ChaCha8Rng`] into a [`Program`] of
//! one [`Profile`] (one per fuzz target); the same rng state always gives
//! the same program. The generator chooses the program's length itself
//! (from tens to a few thousand ops) and shapes it to reach the maple
//! tree's interesting states:
//!
//! - **keys** are biased per program: small indices, clusters around a few
//!   random centres, page-aligned addresses (VMA-like), the neighbourhood of
//!   2^32 and of `u64::MAX`, and uniform words;
//! - **range lengths** go from a single index through small and page-sized
//!   ranges to huge ones (half the space, everything), with an occasional
//!   reversed range (`first > last`, an `EINVAL` path);
//! - **values** are mostly small tokens, so that equal neighbours and
//!   exact refits happen, plus large tokens and NULL;
//! - **phases** (grow, churn, shrink, read) alternate, so trees grow four
//!   levels deep, get rewritten by spanning stores, and shrink back through
//!   erases and NULL stores;
//! - every [`TreeOp`] kind appears, cursor ops in bursts after a `set` or
//!   `walk`; `destroy` is rare;
//! - the tree configuration is one of the four alloc/rcu combinations.
//!
//! Each [`Profile`] is a weight table (a `Recipe`: `TREE_OPS`,
//! `TREE_ALLOC`, `TREE_PREALLOC`, `TREE_FAULTS`): the trees it runs on,
//! the growth phase its programs may open with, the chance of a destroy
//! at a phase boundary, fault schedules, and its phases (growth, churn,
//! shrink, reads, holes, searches, preallocation, faulty and spanning
//! writes), each with its weight; one function, `generate_recipe`, draws
//! programs from any of them. The ops within a phase are drawn in that
//! phase's function (`phases.rs`, `prealloc.rs`).

use super::{FaultSchedule, Program, TreeConfig, TreeOp, EXPECTED_ENTRIES_MAX, MAX_TOKEN};
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use std::ops::{Range, RangeInclusive};

const PAGE: u64 = 4096;

/// Knobs of the generator.
#[derive(Clone, Copy, Debug)]
pub struct GenConfig {
    /// The fewest ops in a program.
    pub min_ops: usize,
    /// The most ops in a program.
    pub max_ops: usize,
    /// Chance, in 1/1000, that a phase boundary destroys the tree.
    pub destroy_per_mille: u32,
}

impl Default for GenConfig {
    fn default() -> Self {
        GenConfig {
            min_ops: 10,
            max_ops: 4000,
            destroy_per_mille: 30,
        }
    }
}

/// A generator profile: the kind of program one fuzz target runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Profile {
    /// Every tree op, all four configurations; the op mix of the first
    /// harness (growth, churn, shrink and read phases), with the newer ops
    /// (gap searches, allocations, preallocation) sprinkled in rarely.
    TreeOps,
    /// Allocation trees: trees of every height with holes of many sizes,
    /// and gap searches / allocations over edge-case windows.
    TreeAlloc,
    /// Preallocation as the kernel's callers use it: `prealloc` +
    /// `store_prealloc`, one preallocation with several `mas_store`s, and
    /// the odd misuse the engines must answer with `EINVAL`.
    TreePrealloc,
    /// Fault injection: `fail_allocs` schedules over runs of every
    /// allocating op, growth phases included.
    TreeFaults,
}

impl Profile {
    /// Every profile.
    pub const ALL: [Profile; 4] = [
        Profile::TreeOps,
        Profile::TreeAlloc,
        Profile::TreePrealloc,
        Profile::TreeFaults,
    ];

    /// The op kinds ([`TreeOp::kind`]) this profile generates, in binary
    /// opcode order for `tree_ops`.
    pub fn op_kinds(self) -> Vec<&'static str> {
        let kinds: &[&'static str] = match self {
            // Everything but fault schedules, bulk loads and cyclic
            // allocation.
            Profile::TreeOps => {
                return TreeOp::KINDS
                    .iter()
                    .copied()
                    .filter(|k| !matches!(*k, "fail_allocs" | "expected_entries" | "alloc_cyclic"))
                    .collect()
            }
            Profile::TreeAlloc => &[
                "store",
                "insert",
                "erase",
                "load",
                "find",
                "walk",
                "mas_next",
                "mas_prev",
                "destroy",
                "empty_area",
                "empty_area_rev",
                "alloc_range",
                "alloc_rrange",
                "alloc_cyclic",
                "mas_find",
                "mas_find_rev",
                "pause",
                "set",
            ],
            Profile::TreePrealloc => &[
                "store",
                "insert",
                "erase",
                "load",
                "find",
                "walk",
                "mas_next",
                "mas_prev",
                "destroy",
                "prealloc",
                "store_prealloc",
                "mas_store",
                "mas_destroy",
                "expected_entries",
            ],
            Profile::TreeFaults => &[
                "store",
                "insert",
                "erase",
                "load",
                "find",
                "empty_area",
                "empty_area_rev",
                "alloc_range",
                "alloc_rrange",
                "prealloc",
                "store_prealloc",
                "mas_store",
                "mas_destroy",
                "fail_allocs",
                "walk",
                "mas_find",
                "mas_next",
                "mas_prev",
                "pause",
                "set",
            ],
        };
        // Every profile but tree_prealloc also searches and writes on the
        // cursor (the last six kinds).
        let state = match self {
            Profile::TreePrealloc => &[][..],
            _ => &TreeOp::KINDS[24..],
        };
        [kinds, state].concat()
    }
}

/// A program of `profile` from the default [`GenConfig`].
pub fn generate_profile(profile: Profile, rng: &mut ChaCha8Rng) -> Program {
    generate_recipe(profile.recipe(), rng, &GenConfig::default())
}

/// A `tree_ops` program from the default [`GenConfig`].
pub fn generate(rng: &mut ChaCha8Rng) -> Program {
    generate_with(rng, &GenConfig::default())
}

/// A `tree_ops` program from `cfg`. Deterministic in the rng.
pub fn generate_with(rng: &mut ChaCha8Rng, cfg: &GenConfig) -> Program {
    generate_recipe(&TREE_OPS, rng, cfg)
}

/// A `tree_alloc` program from `cfg`. Deterministic in the rng.
pub fn generate_alloc(rng: &mut ChaCha8Rng, cfg: &GenConfig) -> Program {
    generate_recipe(&TREE_ALLOC, rng, cfg)
}

/// A `tree_prealloc` program from `cfg`. Deterministic in the rng.
pub fn generate_prealloc(rng: &mut ChaCha8Rng, cfg: &GenConfig) -> Program {
    generate_recipe(&TREE_PREALLOC, rng, cfg)
}

/// A `tree_faults` program from `cfg`. Deterministic in the rng.
pub fn generate_faults(rng: &mut ChaCha8Rng, cfg: &GenConfig) -> Program {
    generate_recipe(&TREE_FAULTS, rng, cfg)
}

impl Profile {
    /// The weight table this profile generates from.
    fn recipe(self) -> &'static Recipe {
        match self {
            Profile::TreeOps => &TREE_OPS,
            Profile::TreeAlloc => &TREE_ALLOC,
            Profile::TreePrealloc => &TREE_PREALLOC,
            Profile::TreeFaults => &TREE_FAULTS,
        }
    }
}

// ---- The profiles as weight tables ----

/// `tree_ops`: every op on every tree configuration; long programs are
/// grown four levels deep first, then churned, shrunk and read, with the
/// newer op families (gap searches, allocations, preallocation) rare.
const TREE_OPS: Recipe = Recipe {
    alloc_only: false,
    extras: Extras {
        gap: 3,
        prealloc: 3,
    },
    two_stores: true,
    bulk: false,
    opening: Opening {
        min_len: 1000,
        percent: 80,
        share: 50..=85,
    },
    destroys: Destroys {
        divisor: 1,
        before_first: false,
    },
    faults: None,
    lengths: PHASE_LENGTHS,
    phases: &[
        (Phase::Grow, 35),
        (Phase::Churn, 25),
        (Phase::Shrink, 28),
        (Phase::Read, 12),
        (Phase::State, 4),
    ],
};

/// `tree_alloc`: allocation trees of every height with holes of many
/// sizes, gap searches and allocations over edge-case windows, cyclic
/// allocation (ids handed out in turn until a window fills and wraps), and
/// searches of empty and single-entry trees (`mas_sparse_area`).
const TREE_ALLOC: Recipe = Recipe {
    alloc_only: true,
    extras: Extras {
        gap: 60,
        prealloc: 0,
    },
    two_stores: true,
    bulk: false,
    opening: Opening {
        min_len: 300,
        percent: 70,
        share: 30..=70,
    },
    destroys: Destroys {
        divisor: 2,
        before_first: true,
    },
    faults: None,
    lengths: PHASE_LENGTHS,
    phases: &[
        (Phase::Grow, 30),
        (Phase::Holes, 20),
        (Phase::Search(AllocShare::Drawn(10, 60)), 30),
        (Phase::Churn, 10),
        (Phase::Shrink, 10),
        (Phase::Cyclic, 12),
        (Phase::State, 12),
        (Phase::Sparse, 4),
    ],
};

/// `tree_prealloc`: preallocation as the kernel's callers use it, on trees
/// built by plain writes, bulk loads on trees without RCU, and the odd
/// misuse the engines must answer with `EINVAL`.
const TREE_PREALLOC: Recipe = Recipe {
    alloc_only: false,
    extras: Extras {
        gap: 0,
        prealloc: 50,
    },
    two_stores: true,
    bulk: true,
    opening: Opening {
        min_len: 300,
        percent: 60,
        share: 30..=60,
    },
    destroys: Destroys {
        divisor: 2,
        before_first: true,
    },
    faults: None,
    lengths: PHASE_LENGTHS,
    phases: &[
        (Phase::Grow, 25),
        (Phase::Prealloc, 45),
        (Phase::Churn, 15),
        (Phase::Shrink, 15),
    ],
};

/// `tree_faults`: every allocating op under `fail_allocs` schedules, long
/// growth phases included, so that splits, rebalances and spanning stores
/// fail; sometimes a fault-free phase after a faulty one.
const TREE_FAULTS: Recipe = Recipe {
    alloc_only: false,
    extras: Extras {
        gap: 10,
        prealloc: 30,
    },
    two_stores: false,
    bulk: false,
    opening: Opening {
        min_len: 300,
        percent: 50,
        share: 20..=50,
    },
    destroys: Destroys {
        divisor: 3,
        before_first: true,
    },
    faults: Some(Faults {
        calm_percent: 40,
        calm_len: 4..100,
    }),
    lengths: &[(200..1500, 4), (4..200, 6)],
    phases: &[
        (Phase::Grow, 35),
        (Phase::FaultyWrites, 25),
        (Phase::Spanning, 10),
        (Phase::Shrink, 15),
        (Phase::Prealloc, 10),
        (Phase::Search(AllocShare::Fixed(80)), 5),
        (Phase::State, 4),
    ],
};

/// Phase lengths of the profiles without fault injection: a few, tens to
/// hundreds, hundreds to thousands of ops.
const PHASE_LENGTHS: &[(Range<usize>, u32)] = &[(4..40, 4), (40..300, 4), (300..2000, 2)];

/// A generator profile as data: the trees its programs run on, how they
/// open, and the phases they are made of, each with its weight.
struct Recipe {
    /// Every program on an allocation tree (else `alloc` is drawn, as
    /// `rcu` always is).
    alloc_only: bool,
    /// How often growth phases sprinkle gap ops and preallocation groups.
    extras: Extras,
    /// See [`Gen::two_stores`].
    two_stores: bool,
    /// Bulk loads in preallocation phases, on trees without RCU.
    bulk: bool,
    /// The growth phase a program may open with.
    opening: Opening,
    /// Destroys at phase boundaries.
    destroys: Destroys,
    /// A fault schedule before every phase.
    faults: Option<Faults>,
    /// Phase lengths: a range of op counts, drawn uniformly, by weight.
    lengths: &'static [(Range<usize>, u32)],
    /// The phases by weight.
    phases: &'static [(Phase, u32)],
}

/// A growth phase before everything else, so that trees get deep before
/// the other phases work on them.
struct Opening {
    /// Programs shorter than this do not open with it.
    min_len: usize,
    /// The chance, in percent, that a long enough program opens with it.
    percent: u32,
    /// Its length, in percent of the program's.
    share: RangeInclusive<usize>,
}

/// Destroys at phase boundaries.
struct Destroys {
    /// The chance is [`GenConfig::destroy_per_mille`] divided by this.
    divisor: u32,
    /// Whether a program may start with one.
    before_first: bool,
}

/// Fault injection: a `fail_allocs` schedule before every phase.
struct Faults {
    /// The chance, in percent, that `fail_allocs never` and a fault-free
    /// growth or churn phase follow a phase.
    calm_percent: u32,
    /// That fault-free phase's length.
    calm_len: Range<usize>,
}

/// Draws an entry of a weight table: a number below the weights' sum,
/// walked through the entries in order.
fn pick<'t, T>(rng: &mut ChaCha8Rng, table: &'t [(T, u32)]) -> &'t T {
    let total: u32 = table.iter().map(|&(_, w)| w).sum();
    let mut r = rng.gen_range(0..total);
    for (item, w) in table {
        if r < *w {
            return item;
        }
        r -= w;
    }
    unreachable!("a draw below the sum of the weights")
}

/// A program of `recipe` from `cfg`. Deterministic in the rng.
fn generate_recipe(recipe: &Recipe, rng: &mut ChaCha8Rng, cfg: &GenConfig) -> Program {
    let config = TreeConfig {
        alloc: recipe.alloc_only || rng.gen(),
        rcu: rng.gen(),
    };
    let len = op_count(rng, cfg);
    let mut g = Gen::new(rng, len);
    g.extras = recipe.extras;
    g.two_stores = recipe.two_stores;
    g.bulk = recipe.bulk && !config.rcu;
    let opening = &recipe.opening;
    if len >= opening.min_len && g.rng.gen_range(0..100) < opening.percent {
        let n = len * g.rng.gen_range(opening.share.clone()) / 100;
        g.run(Phase::Grow, n);
    }
    while g.ops.len() < len {
        let destroys = &recipe.destroys;
        if (destroys.before_first || !g.ops.is_empty())
            && g.rng.gen_range(0..1000) < cfg.destroy_per_mille / destroys.divisor
        {
            g.ops.push(TreeOp::Destroy);
        }
        if recipe.faults.is_some() {
            let schedule = g.schedule();
            g.ops.push(TreeOp::FailAllocs { schedule });
        }
        let lengths = pick(g.rng, recipe.lengths).clone();
        let n = g.rng.gen_range(lengths).min(g.left().max(1));
        let phase = *pick(g.rng, recipe.phases);
        g.run(phase, n);
        if let Some(faults) = &recipe.faults {
            if g.rng.gen_range(0..100) < faults.calm_percent {
                g.ops.push(TreeOp::FailAllocs {
                    schedule: FaultSchedule::Never,
                });
                let n = g
                    .rng
                    .gen_range(faults.calm_len.clone())
                    .min(g.left().max(1));
                let phase = if g.rng.gen_bool(0.5) {
                    Phase::Grow
                } else {
                    Phase::Churn
                };
                g.run(phase, n);
            }
        }
    }
    g.ops.truncate(len);
    Program { config, ops: g.ops }
}

mod keys;
mod phases;
mod prealloc;
mod state;

use keys::*;

/// The phases of a program.
#[derive(Clone, Copy, Debug)]
enum Phase {
    /// Many small writes: the tree gets wide and tall.
    Grow,
    /// Mixed writes of every width, spanning stores, reads.
    Churn,
    /// Erases and NULL stores: the tree rebalances and loses height.
    Shrink,
    /// Loads, finds and cursor walks.
    Read,
    /// Holes of many sizes punched into the tree (`holes_phase`).
    Holes,
    /// Gap searches and allocations with the holes they look for
    /// (`search_phase`).
    Search(AllocShare),
    /// Preallocation groups among plain writes (`prealloc_phase`).
    Prealloc,
    /// Writes of every kind, for a fault schedule (`faulty_writes`).
    FaultyWrites,
    /// Wide writes over a grown tree (`spanning_phase`).
    Spanning,
    /// Cyclic allocation over one window at a time (`cyclic_phase`).
    Cyclic,
    /// Searches and writes on the cursor among its moves (`state_phase`).
    State,
    /// Gap searches of an empty or single-entry tree, windows of every
    /// small size (`sparse_phase`).
    Sparse,
}

/// The share of a search phase's gap ops that allocate, in percent.
#[derive(Clone, Copy, Debug)]
enum AllocShare {
    /// Drawn per phase, uniformly from `lo..=hi`.
    Drawn(u32, u32),
    /// Always this.
    Fixed(u32),
}

/// How a grow phase lays out its writes.
#[derive(Clone, Copy, Debug)]
enum Layout {
    Ascending,
    Descending,
    Scattered,
    Strided,
}

struct Gen<'a> {
    rng: &'a mut ChaCha8Rng,
    keys: Keys,
    /// Recently written ranges, so erases, loads and refits hit entries.
    recent: Vec<(u64, u64)>,
    recent_next: usize,
    /// Ranges recently left NULL (grow gaps, erased entries, NULL stores),
    /// so gap searches can ask for exactly their size.
    holes: Vec<(u64, u64)>,
    holes_next: usize,
    /// How often growth phases sprinkle the newer op families.
    extras: Extras,
    /// Whether preallocation groups may store twice on one preallocation
    /// (not under fault injection: the plain stores that lay out the
    /// entries may fail, and the later stores then need nodes).
    two_stores: bool,
    /// Whether preallocation phases may run bulk loads (`tree_prealloc`
    /// on a tree without RCU only).
    bulk: bool,
    ops: Vec<TreeOp>,
    target: usize,
}

const RECENT: usize = 512;
const HOLES: usize = 256;

/// Per mille of growth-phase steps that emit one of the newer op families
/// (a gap search or allocation; a preallocation group) instead of a write.
#[derive(Clone, Copy, Debug, Default)]
struct Extras {
    gap: u32,
    prealloc: u32,
}

impl<'a> Gen<'a> {
    fn new(rng: &'a mut ChaCha8Rng, target: usize) -> Gen<'a> {
        let keys = Keys::new(rng);
        Gen {
            rng,
            keys,
            recent: Vec::new(),
            recent_next: 0,
            holes: Vec::new(),
            holes_next: 0,
            extras: Extras::default(),
            two_stores: true,
            bulk: false,
            ops: Vec::with_capacity(target + 32),
            target,
        }
    }

    fn remember_hole(&mut self, first: u64, last: u64) {
        if first > last {
            return;
        }
        if self.holes.len() < HOLES {
            self.holes.push((first, last));
        } else {
            self.holes[self.holes_next] = (first, last);
            self.holes_next = (self.holes_next + 1) % HOLES;
        }
    }

    /// A range that was probably left NULL, else a recent entry's range.
    fn hole(&mut self) -> Option<(u64, u64)> {
        if !self.holes.is_empty() && self.rng.gen_range(0..4) != 0 {
            return Some(self.holes[self.rng.gen_range(0..self.holes.len())]);
        }
        self.recent_range()
    }

    fn left(&self) -> usize {
        self.target.saturating_sub(self.ops.len())
    }

    fn remember(&mut self, first: u64, last: u64) {
        if first > last {
            return;
        }
        if self.recent.len() < RECENT {
            self.recent.push((first, last));
        } else {
            self.recent[self.recent_next] = (first, last);
            self.recent_next = (self.recent_next + 1) % RECENT;
        }
    }

    fn recent_range(&mut self) -> Option<(u64, u64)> {
        if self.recent.is_empty() {
            None
        } else {
            Some(self.recent[self.rng.gen_range(0..self.recent.len())])
        }
    }

    /// An index that often hits something written before.
    fn index(&mut self) -> u64 {
        if self.rng.gen_bool(0.5) {
            if let Some((a, b)) = self.recent_range() {
                return match self.rng.gen_range(0..4) {
                    0 => a,
                    1 => b,
                    2 => a.saturating_sub(1),
                    _ => a + (b - a) / 2,
                };
            }
        }
        self.keys.key(self.rng)
    }

    fn value(&mut self, null_percent: u32) -> Option<u64> {
        if self.rng.gen_range(0..100) < null_percent {
            None
        } else {
            Some(token(self.rng))
        }
    }

    fn store(&mut self, first: u64, last: u64, value: Option<u64>) {
        if value.is_some() {
            self.remember(first, last);
        }
        self.ops.push(TreeOp::Store { first, last, value });
    }

    fn insert(&mut self, first: u64, last: u64) {
        let value = token(self.rng);
        self.remember(first, last);
        self.ops.push(TreeOp::Insert { first, last, value });
    }

    /// A write somewhere in the key space.
    fn random_write(&mut self, span: Span, null_percent: u32, insert_percent: u32) {
        let r = self.rng.gen_range(0..100);
        // Sometimes rewrite a recent range exactly (exact fit, slot store).
        if r < 10 {
            if let Some((a, b)) = self.recent_range() {
                let v = self.value(null_percent);
                self.store(a, b, v);
                return;
            }
        }
        let first = self.keys.key(self.rng);
        let (a, b) = range(self.rng, first, span);
        if r >= 100 - insert_percent.min(90) {
            if a <= b {
                self.insert(a, b);
            } else {
                let value = token(self.rng);
                self.ops.push(TreeOp::Insert {
                    first: a,
                    last: b,
                    value,
                });
            }
        } else {
            let v = self.value(null_percent);
            self.store(a, b, v);
        }
    }

    fn erase(&mut self) {
        let index = self.index();
        self.ops.push(TreeOp::Erase { index });
    }

    fn load(&mut self) {
        let index = self.index();
        self.ops.push(TreeOp::Load { index });
    }

    fn find(&mut self) {
        let index = self.index();
        let max = match self.rng.gen_range(0..4) {
            0 | 1 => u64::MAX,
            2 => index.saturating_add(range(self.rng, index, Span::Any).1.wrapping_sub(index)),
            _ => self.keys.key(self.rng),
        };
        self.ops.push(TreeOp::Find { index, max });
    }

    /// An upper limit for forward cursor moves.
    fn max_limit(&mut self) -> u64 {
        match self.rng.gen_range(0..10) {
            0..=6 => u64::MAX,
            _ => self.index(),
        }
    }

    /// A lower limit for backward cursor moves.
    fn min_limit(&mut self) -> u64 {
        match self.rng.gen_range(0..10) {
            0..=6 => 0,
            _ => self.index(),
        }
    }

    /// A burst of maple-state ops: position the cursor, then step it.
    fn cursor_burst(&mut self) {
        let index = self.index();
        match self.rng.gen_range(0..3) {
            0 => self.ops.push(TreeOp::Set { index }),
            1 => self.ops.push(TreeOp::Walk { index }),
            _ => {}
        }
        let n = self.rng.gen_range(1..=24).min(self.left().max(1));
        let forward = self.rng.gen_bool(0.5);
        for _ in 0..n {
            // Mostly keep one direction, so walks cover runs of entries.
            let dir = if self.rng.gen_range(0..100) < 80 {
                forward
            } else {
                !forward
            };
            let op = match self.rng.gen_range(0..100) {
                0..=4 => TreeOp::Pause,
                5..=7 => TreeOp::Set {
                    index: self.index(),
                },
                8..=11 => TreeOp::Walk {
                    index: self.index(),
                },
                12..=55 if dir => TreeOp::MasNext {
                    max: self.max_limit(),
                },
                12..=55 => TreeOp::MasPrev {
                    min: self.min_limit(),
                },
                _ if dir => TreeOp::MasFind {
                    max: self.max_limit(),
                },
                _ => TreeOp::MasFindRev {
                    min: self.min_limit(),
                },
            };
            self.ops.push(op);
        }
    }

    fn run(&mut self, phase: Phase, n: usize) {
        let end = self.ops.len() + n;
        match phase {
            Phase::Grow => self.grow(end),
            Phase::Churn => self.churn(end),
            Phase::Shrink => self.shrink(end),
            Phase::Read => self.read(end),
            Phase::Holes => self.holes_phase(end),
            Phase::Search(share) => {
                let alloc_percent = match share {
                    AllocShare::Drawn(lo, hi) => self.rng.gen_range(lo..=hi),
                    AllocShare::Fixed(percent) => percent,
                };
                self.search_phase(end, alloc_percent);
            }
            Phase::Prealloc => self.prealloc_phase(end),
            Phase::FaultyWrites => self.faulty_writes(end),
            Phase::Spanning => self.spanning_phase(end),
            Phase::Cyclic => self.cyclic_phase(end),
            Phase::State => self.state_phase(end),
            Phase::Sparse => self.sparse_phase(end),
        }
    }

    /// Reads and cursor bursts sprinkled into a growth phase (a burst is
    /// about a dozen ops, so it is rare).
    fn sprinkle(&mut self) -> bool {
        let r = self.rng.gen_range(0..1000);
        match r {
            0..=29 => self.load(),
            30..=49 => self.find(),
            50..=57 => self.cursor_burst(),
            _ if r - 58 < self.extras.gap => self.gap_op(40),
            _ if r - 58 - self.extras.gap < self.extras.prealloc => self.prealloc_group(),
            _ => return false,
        }
        true
    }
}

#[cfg(test)]
mod tests;
