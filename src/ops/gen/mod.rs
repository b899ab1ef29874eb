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
//! The profiles (op mixes measured over 1000 programs, mean length ~730):
//!
//! - [`Profile::TreeOps`] ([`generate`]): the mix above — stores 40%,
//!   inserts 16%, cursor moves 34%, erases 4%, reads 5% — with gap
//!   searches, allocations and preallocation groups sprinkled into growth
//!   phases (together about 0.5% of ops); no fault injection.
//! - [`Profile::TreeAlloc`] ([`generate_alloc`]): always an allocation tree.
//!   Growth phases that leave gaps, phases that punch holes of many sizes
//!   (erases, NULL stores), and search phases: `empty_area`/`_rev` 10%,
//!   `alloc_range`/`alloc_rrange` 7%, over windows with every edge (min 0,
//!   max `u64::MAX`, a known hole exactly, windows exactly the size, one
//!   smaller than it, `min > max`, size 0 to `u64::MAX`).
//! - [`Profile::TreePrealloc`] ([`generate_prealloc`]): `prealloc` (9%)
//!   mostly followed at once by `store_prealloc` of the same value (7%),
//!   aimed at every store type; one preallocation with two or three
//!   `mas_store`s (5%) and `mas_destroy` (3%), the 2022 VMA pattern; the
//!   odd bare `mas_store`, `mas_destroy` with nothing held, and
//!   `store_prealloc` with nothing pending; plain writes build the trees;
//!   on trees without RCU, in 2% of the preallocation phase's picks, a
//!   bulk load (`destroy`, `expected_entries N`, in-order `mas_store`s,
//!   sometimes fewer than N or with a second `expected_entries`, then
//!   `mas_destroy`).
//! - [`Profile::TreeFaults`] ([`generate_faults`]): every phase starts with
//!   a `fail_allocs` schedule (nth 1..=50, next 1..=5, every 2..=20,
//!   from 1..=50, never) and runs stores, inserts, erases, allocations,
//!   `prealloc` + `store_prealloc` and `mas_store` under it, long growth
//!   phases included (splits, rebalances and spanning stores fail).

use super::{FaultSchedule, Program, TreeConfig, TreeOp, EXPECTED_ENTRIES_MAX, MAX_TOKEN};
use rand::Rng;
use rand_chacha::ChaCha8Rng;

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

    /// The op kinds ([`TreeOp::kind`]) this profile generates.
    pub fn op_kinds(self) -> &'static [&'static str] {
        match self {
            // Everything but fault schedules.
            Profile::TreeOps => &TreeOp::KINDS[..21],
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
            ],
        }
    }
}

/// A program of `profile` from the default [`GenConfig`].
pub fn generate_profile(profile: Profile, rng: &mut ChaCha8Rng) -> Program {
    let cfg = GenConfig::default();
    match profile {
        Profile::TreeOps => generate_with(rng, &cfg),
        Profile::TreeAlloc => generate_alloc(rng, &cfg),
        Profile::TreePrealloc => generate_prealloc(rng, &cfg),
        Profile::TreeFaults => generate_faults(rng, &cfg),
    }
}

/// A `tree_ops` program from the default [`GenConfig`].
pub fn generate(rng: &mut ChaCha8Rng) -> Program {
    generate_with(rng, &GenConfig::default())
}

/// A `tree_ops` program from `cfg`. Deterministic in the rng.
pub fn generate_with(rng: &mut ChaCha8Rng, cfg: &GenConfig) -> Program {
    let config = TreeConfig {
        alloc: rng.gen(),
        rcu: rng.gen(),
    };
    let len = op_count(rng, cfg);
    let mut g = Gen::new(rng, len);
    g.extras = Extras {
        gap: 3,
        prealloc: 3,
    };
    // Most long programs open with a long growth phase, so that the tree
    // gets four levels deep before churn and shrink phases work on it.
    if len >= 1000 && g.rng.gen_range(0..100) < 80 {
        let n = len * g.rng.gen_range(50..=85) / 100;
        g.run(Phase::Grow, n);
    }
    while g.ops.len() < len {
        g.phase(cfg);
    }
    g.ops.truncate(len);
    Program { config, ops: g.ops }
}

/// A `tree_alloc` program: an allocation tree (RCU or not) grown to any
/// height, holes punched into it, and gap searches and allocations over
/// windows with every edge. Phases: grow 30% (gap ops sprinkled at 6%),
/// holes 20%, search 30%, churn 10%, shrink 10%.
pub fn generate_alloc(rng: &mut ChaCha8Rng, cfg: &GenConfig) -> Program {
    let config = TreeConfig {
        alloc: true,
        rcu: rng.gen(),
    };
    let len = op_count(rng, cfg);
    let mut g = Gen::new(rng, len);
    g.extras = Extras {
        gap: 60,
        prealloc: 0,
    };
    if len >= 300 && g.rng.gen_range(0..100) < 70 {
        let n = len * g.rng.gen_range(30..=70) / 100;
        g.run(Phase::Grow, n);
    }
    while g.ops.len() < len {
        if g.rng.gen_range(0..1000) < cfg.destroy_per_mille / 2 {
            g.ops.push(TreeOp::Destroy);
        }
        let n = g.phase_len();
        let end = g.ops.len() + n;
        match g.rng.gen_range(0..100) {
            0..=29 => g.run(Phase::Grow, n),
            30..=49 => g.holes_phase(end),
            50..=79 => {
                let alloc_percent = g.rng.gen_range(10..=60);
                g.search_phase(end, alloc_percent);
            }
            80..=89 => g.run(Phase::Churn, n),
            _ => g.run(Phase::Shrink, n),
        }
    }
    g.ops.truncate(len);
    Program { config, ops: g.ops }
}

/// A `tree_prealloc` program, any configuration: trees built by plain
/// writes, with preallocation groups (see `prealloc_group`) among them.
/// Phases: grow 25% (groups sprinkled at 5%), preallocation 45%, churn
/// 15%, shrink 15%.
pub fn generate_prealloc(rng: &mut ChaCha8Rng, cfg: &GenConfig) -> Program {
    let config = TreeConfig {
        alloc: rng.gen(),
        rcu: rng.gen(),
    };
    let len = op_count(rng, cfg);
    let mut g = Gen::new(rng, len);
    g.extras = Extras {
        gap: 0,
        prealloc: 50,
    };
    g.bulk = !config.rcu;
    if len >= 300 && g.rng.gen_range(0..100) < 60 {
        let n = len * g.rng.gen_range(30..=60) / 100;
        g.run(Phase::Grow, n);
    }
    while g.ops.len() < len {
        if g.rng.gen_range(0..1000) < cfg.destroy_per_mille / 2 {
            g.ops.push(TreeOp::Destroy);
        }
        let n = g.phase_len();
        let end = g.ops.len() + n;
        match g.rng.gen_range(0..100) {
            0..=24 => g.run(Phase::Grow, n),
            25..=69 => g.prealloc_phase(end),
            70..=84 => g.run(Phase::Churn, n),
            _ => g.run(Phase::Shrink, n),
        }
    }
    g.ops.truncate(len);
    Program { config, ops: g.ops }
}

/// A `tree_faults` program, any configuration: a fault schedule set before
/// each phase (nth 1..=50, next 1..=5, every 2..=20, from 1..=50, never),
/// often a fault-free build-up first, and sometimes `fail_allocs never`
/// with a fault-free phase after a faulty one. Faulty phases: grow 35%
/// (gap ops and preallocation groups sprinkled at 1% and 3%), mixed writes
/// 25%, spanning writes 10%, shrink 15%, preallocation 10%, search 5%.
pub fn generate_faults(rng: &mut ChaCha8Rng, cfg: &GenConfig) -> Program {
    let config = TreeConfig {
        alloc: rng.gen(),
        rcu: rng.gen(),
    };
    let len = op_count(rng, cfg);
    let mut g = Gen::new(rng, len);
    g.extras = Extras {
        gap: 10,
        prealloc: 30,
    };
    g.two_stores = false;
    if len >= 300 && g.rng.gen_range(0..100) < 50 {
        let n = len * g.rng.gen_range(20..=50) / 100;
        g.run(Phase::Grow, n);
    }
    while g.ops.len() < len {
        if g.rng.gen_range(0..1000) < cfg.destroy_per_mille / 3 {
            g.ops.push(TreeOp::Destroy);
        }
        let schedule = g.schedule();
        g.ops.push(TreeOp::FailAllocs { schedule });
        // Long phases (growth especially) so splits, rebalances and
        // spanning stores run under the schedule.
        let n = match g.rng.gen_range(0..10) {
            0..=3 => g.rng.gen_range(200..1500),
            _ => g.rng.gen_range(4..200),
        }
        .min(g.left().max(1));
        let end = g.ops.len() + n;
        match g.rng.gen_range(0..100) {
            0..=34 => g.run(Phase::Grow, n),
            35..=59 => g.faulty_writes(end),
            60..=69 => g.spanning_phase(end),
            70..=84 => g.run(Phase::Shrink, n),
            85..=94 => g.prealloc_phase(end),
            _ => g.search_phase(end, 80),
        }
        if g.rng.gen_range(0..100) < 40 {
            g.ops.push(TreeOp::FailAllocs {
                schedule: FaultSchedule::Never,
            });
            let n = g.rng.gen_range(4..100).min(g.left().max(1));
            let phase = if g.rng.gen_bool(0.5) {
                Phase::Grow
            } else {
                Phase::Churn
            };
            g.run(phase, n);
        }
    }
    g.ops.truncate(len);
    Program { config, ops: g.ops }
}

mod keys;
mod phases;
mod prealloc;

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

    /// The length of one phase: a few to a few hundred ops.
    fn phase_len(&mut self) -> usize {
        match self.rng.gen_range(0..10) {
            0..=3 => self.rng.gen_range(4..40),
            4..=7 => self.rng.gen_range(40..300),
            _ => self.rng.gen_range(300..2000),
        }
        .min(self.left().max(1))
    }

    /// One phase of a few to a few hundred ops.
    fn phase(&mut self, cfg: &GenConfig) {
        if !self.ops.is_empty() && self.rng.gen_range(0..1000) < cfg.destroy_per_mille {
            self.ops.push(TreeOp::Destroy);
        }
        let n = self.phase_len();
        let phase = match self.rng.gen_range(0..100) {
            0..=34 => Phase::Grow,
            35..=59 => Phase::Churn,
            60..=87 => Phase::Shrink,
            _ => Phase::Read,
        };
        self.run(phase, n);
    }

    fn run(&mut self, phase: Phase, n: usize) {
        let end = self.ops.len() + n;
        match phase {
            Phase::Grow => self.grow(end),
            Phase::Churn => self.churn(end),
            Phase::Shrink => self.shrink(end),
            Phase::Read => self.read(end),
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
