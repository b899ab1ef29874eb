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

/// Short programs keep execs/s high; long ones build deep trees.
fn op_count(rng: &mut ChaCha8Rng, cfg: &GenConfig) -> usize {
    let lo = cfg.min_ops.max(1);
    let hi = cfg.max_ops.max(lo);
    let n = match rng.gen_range(0..100) {
        0..=44 => rng.gen_range(10..100),
        45..=74 => rng.gen_range(100..600),
        _ => rng.gen_range(600..=4000),
    };
    n.clamp(lo, hi)
}

/// What kind of key to draw.
#[derive(Clone, Copy, Debug)]
enum KeyKind {
    Small,
    Cluster,
    Page,
    Near4G,
    NearMax,
    Uniform,
}

const KEY_KINDS: [KeyKind; 6] = [
    KeyKind::Small,
    KeyKind::Cluster,
    KeyKind::Page,
    KeyKind::Near4G,
    KeyKind::NearMax,
    KeyKind::Uniform,
];

/// The program's key space: its cluster centres and its bias between key kinds.
struct Keys {
    centres: Vec<u64>,
    /// How far cluster keys stray from their centre.
    spread: u64,
    /// Per-kind weights (see [`KEY_KINDS`]).
    weights: [u32; 6],
    total: u32,
}

impl Keys {
    fn new(rng: &mut ChaCha8Rng) -> Keys {
        let n = rng.gen_range(1..=4);
        let centres = (0..n)
            .map(|_| match rng.gen_range(0..10) {
                0..=1 => rng.gen_range(0..4096),
                2..=5 => rng.gen_range(1..0x0007_ffff_ffff) * PAGE,
                6 => (1u64 << 32) - rng.gen_range(0..0x10_0000),
                7 => u64::MAX - rng.gen_range(0..0x100_0000),
                _ => rng.gen(),
            })
            .collect();
        let spread = match rng.gen_range(0..4) {
            0 => 64,
            1 => 4096,
            2 => 1 << 20,
            _ => 1 << 28,
        };
        // A per-program emphasis: each kind scaled by 0..=3, clusters never off.
        let base = [10, 40, 25, 5, 5, 15];
        let mut weights = [0u32; 6];
        for (w, b) in weights.iter_mut().zip(base) {
            *w = b * rng.gen_range(0..=3);
        }
        weights[1] = weights[1].max(base[1]);
        let total = weights.iter().sum();
        Keys {
            centres,
            spread,
            weights,
            total,
        }
    }

    fn kind(&self, rng: &mut ChaCha8Rng) -> KeyKind {
        let mut r = rng.gen_range(0..self.total);
        for (k, w) in KEY_KINDS.iter().zip(self.weights) {
            if r < w {
                return *k;
            }
            r -= w;
        }
        KeyKind::Uniform
    }

    fn centre(&self, rng: &mut ChaCha8Rng) -> u64 {
        self.centres[rng.gen_range(0..self.centres.len())]
    }

    fn key(&self, rng: &mut ChaCha8Rng) -> u64 {
        let kind = self.kind(rng);
        self.key_of(rng, kind)
    }

    fn key_of(&self, rng: &mut ChaCha8Rng, kind: KeyKind) -> u64 {
        match kind {
            KeyKind::Small => rng.gen_range(0..16),
            KeyKind::Cluster => {
                let c = self.centre(rng);
                let off = rng.gen_range(0..self.spread);
                if rng.gen_bool(0.5) {
                    c.saturating_add(off)
                } else {
                    c.saturating_sub(off)
                }
            }
            KeyKind::Page => {
                let c = self.centre(rng) & !(PAGE - 1);
                let k = rng.gen_range(0..(self.spread / PAGE).max(64));
                c.saturating_add(k * PAGE) & !(PAGE - 1)
            }
            KeyKind::Near4G => ((1u64 << 32) - 8).wrapping_add(rng.gen_range(0..16)),
            KeyKind::NearMax => u64::MAX - rng.gen_range(0..16),
            KeyKind::Uniform => rng.gen(),
        }
    }
}

/// Range lengths, from a single index to everything.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Span {
    /// Single indices and small, page-sized ranges only.
    Narrow,
    /// Everything, spanning writes included.
    Any,
    /// Mostly wide ranges that cover many entries.
    Wide,
}

/// A range `[first, last]` starting at `first`. May return `first > last`
/// rarely (an `EINVAL` case), and may move `first` for the "everything" case.
fn range(rng: &mut ChaCha8Rng, first: u64, span: Span) -> (u64, u64) {
    let r = rng.gen_range(0..1000);
    let r = match span {
        Span::Narrow => r % 870,
        Span::Any => r,
        Span::Wide => 750 + r % 250,
    };
    let len = match r {
        0..=299 => 0,
        300..=549 => rng.gen_range(1..16),
        550..=749 => rng.gen_range(1..=16) * PAGE - 1,
        750..=869 => rng.gen_range(16..0x1_0000),
        870..=939 => rng.gen_range(0x1_0000..1u64 << 40),
        940..=959 => u64::MAX / 2,
        960..=979 => return (first, u64::MAX),
        980..=989 => return (0, u64::MAX),
        _ => {
            // Reversed: EINVAL in every engine.
            if first == 0 {
                return (1, 0);
            }
            return (first, first - rng.gen_range(1..=first.min(16)));
        }
    };
    (first, first.saturating_add(len))
}

/// A value token: mostly small so repeats happen.
fn token(rng: &mut ChaCha8Rng) -> u64 {
    match rng.gen_range(0..100) {
        0..=59 => rng.gen_range(1..=8),
        60..=79 => rng.gen_range(1..=64),
        80..=89 => rng.gen_range(1..=100_000),
        90..=94 => MAX_TOKEN - rng.gen_range(0..4),
        _ => rng.gen_range(1..=MAX_TOKEN),
    }
}

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

    fn grow(&mut self, end: usize) {
        let layout = match self.rng.gen_range(0..4) {
            0 => Layout::Ascending,
            1 => Layout::Descending,
            2 => Layout::Scattered,
            _ => Layout::Strided,
        };
        let insert_percent = self.rng.gen_range(0..=60);
        let kind = match self.rng.gen_range(0..10) {
            0..=5 => KeyKind::Cluster,
            6..=8 => KeyKind::Page,
            _ => KeyKind::Small,
        };
        let mut cur = self.keys.key_of(self.rng, kind);
        let page = self.rng.gen_bool(0.4);
        let gap_percent = match self.rng.gen_range(0..3) {
            0 => self.rng.gen_range(0..=100),
            _ => self.rng.gen_range(50..=100),
        };
        // Scattered writes fall in a window wide enough to keep missing
        // each other, so every write adds entries.
        let base = self.keys.key_of(self.rng, kind);
        let unit = if page { 8 * PAGE } else { 256 };
        let window: u64 = match self.rng.gen_range(0..3) {
            0 => 1 << 16,
            1 => 1 << 26,
            _ => 1 << 40,
        };
        let window = window.max((end - self.ops.len()) as u64 * unit * 8);
        let base = base.min(u64::MAX - window);
        let stride = match self.rng.gen_range(0..3) {
            0 => self.rng.gen_range(2..16),
            1 => PAGE * self.rng.gen_range(1..4),
            _ => self.rng.gen_range(16..1 << 20),
        };
        while self.ops.len() < end {
            if self.sprinkle() {
                continue;
            }
            let len = if page {
                self.rng.gen_range(1..=8) * PAGE - 1
            } else {
                match self.rng.gen_range(0..3) {
                    0 => 0,
                    1 => self.rng.gen_range(1..8),
                    _ => self.rng.gen_range(8..256),
                }
            };
            let gap = if self.rng.gen_range(0..100) < gap_percent {
                if page {
                    self.rng.gen_range(1..4) * PAGE
                } else {
                    self.rng.gen_range(1..64)
                }
            } else {
                0
            };
            let (first, last) = match layout {
                Layout::Ascending => {
                    let first = cur;
                    let last = first.saturating_add(len);
                    cur = last.saturating_add(1).saturating_add(gap);
                    if gap > 0 && last < u64::MAX {
                        self.remember_hole(last + 1, cur - 1);
                    }
                    (first, last)
                }
                Layout::Descending => {
                    let last = cur;
                    let first = last.saturating_sub(len);
                    cur = first.saturating_sub(1).saturating_sub(gap);
                    if gap > 0 && first > 0 {
                        self.remember_hole(cur + 1, first - 1);
                    }
                    (first, last)
                }
                Layout::Scattered => {
                    let mut first = base + self.rng.gen_range(0..window);
                    if page {
                        first &= !(PAGE - 1);
                    }
                    (first, first.saturating_add(len))
                }
                Layout::Strided => {
                    let first = cur;
                    cur = cur.saturating_add(stride);
                    (first, first.saturating_add(len.min(stride - 1)))
                }
            };
            if self.rng.gen_range(0..100) < 2 {
                // An odd write among the regular ones.
                self.random_write(Span::Any, 10, insert_percent);
            } else if self.rng.gen_range(0..100) < insert_percent {
                self.insert(first, last);
            } else {
                let v = self.value(3);
                self.store(first, last, v);
            }
        }
    }

    fn churn(&mut self, end: usize) {
        let null_percent = self.rng.gen_range(5..=40);
        while self.ops.len() < end {
            match self.rng.gen_range(0..100) {
                0..=39 => self.random_write(Span::Any, null_percent, 15),
                40..=49 => self.random_write(Span::Wide, null_percent, 5),
                50..=64 => self.erase(),
                65..=74 => self.load(),
                75..=82 => self.find(),
                _ => self.cursor_burst(),
            }
        }
    }

    fn shrink(&mut self, end: usize) {
        while self.ops.len() < end {
            match self.rng.gen_range(0..100) {
                0..=44 => self.erase(),
                45..=64 => {
                    let index = self.index();
                    let (a, b) = range(self.rng, index, Span::Narrow);
                    self.store(a, b, None);
                }
                65..=72 => {
                    // Clear a whole recent region at once.
                    let index = self.index();
                    let (a, b) = range(self.rng, index, Span::Wide);
                    self.store(a, b, None);
                }
                73..=77 => self.random_write(Span::Narrow, 20, 10),
                78..=83 => self.load(),
                84..=88 => self.find(),
                _ => self.cursor_burst(),
            }
        }
    }

    fn read(&mut self, end: usize) {
        while self.ops.len() < end {
            match self.rng.gen_range(0..100) {
                0..=24 => self.load(),
                25..=44 => self.find(),
                _ => self.cursor_burst(),
            }
        }
    }

    // ---- Gap searches and allocations (allocation trees) ----

    /// A gap size: mostly small, page multiples, the size of a recent
    /// range, and huge ones up to `u64::MAX`.
    fn gap_size(&mut self) -> u64 {
        match self.rng.gen_range(0..100) {
            0..=24 => 1,
            25..=44 => self.rng.gen_range(2..=16),
            45..=59 => self.rng.gen_range(17..=4096),
            60..=74 => self.rng.gen_range(1..=64) * PAGE,
            75..=84 => match self.hole() {
                Some((a, b)) => (b - a).saturating_add(1),
                None => 1,
            },
            85..=89 => self.rng.gen_range(1u64 << 32..1 << 48),
            90..=94 => [1 << 63, u64::MAX / 2, u64::MAX - 1, u64::MAX][self.rng.gen_range(0..4)],
            _ => self.rng.gen(),
        }
    }

    /// A search window and size `(min, max, size)`, edges included: the
    /// whole space, windows from 0 or up to `u64::MAX`, a known hole (exact,
    /// with margins, one too small), windows exactly the size, windows
    /// smaller than the size and `min > max` (both `EINVAL`), size 0.
    fn gap_window(&mut self) -> (u64, u64, u64) {
        match self.rng.gen_range(0..100) {
            0..=14 => (0, u64::MAX, self.gap_size()),
            15..=21 => {
                let max = self.index();
                (0, max, self.gap_size())
            }
            22..=28 => {
                let min = self.index();
                (min, u64::MAX, self.gap_size())
            }
            29..=48 => {
                let Some((a, b)) = self.hole() else {
                    return (0, u64::MAX, 1);
                };
                let size = (b - a).saturating_add(1);
                match self.rng.gen_range(0..6) {
                    // Exactly the hole.
                    0 | 1 => (a, b, size),
                    // The hole's size, searched for around it.
                    2 => {
                        let m = self.rng.gen_range(0..=64);
                        (a.saturating_sub(m), b.saturating_add(m), size)
                    }
                    // The hole's size, anywhere.
                    3 => (0, u64::MAX, size),
                    // One index more than the hole holds.
                    4 => (a, b, size.saturating_add(1)),
                    // Part of the hole.
                    _ => (a, b, self.rng.gen_range(1..=size)),
                }
            }
            49..=58 => {
                // A window exactly the size asked.
                let size = self.gap_size().max(1);
                let min = self.index();
                match min.checked_add(size - 1) {
                    Some(max) => (min, max, size),
                    None => (u64::MAX - (size - 1), u64::MAX, size),
                }
            }
            59..=65 => {
                // A window one smaller than the size: EINVAL.
                let size = self.gap_size().max(2);
                let min = self.index();
                match min.checked_add(size - 2) {
                    Some(max) => (min, max, size),
                    None => (u64::MAX - (size - 2), u64::MAX, size),
                }
            }
            66..=70 => {
                // min > max: EINVAL.
                let max = self.index().min(u64::MAX - 1);
                let min = max + self.rng.gen_range(1..=16).min(u64::MAX - max);
                (min, max, self.gap_size())
            }
            71..=78 => {
                // Near the top of the space.
                let min = u64::MAX - self.rng.gen_range(0..1 << 20);
                let max = if self.rng.gen_bool(0.6) {
                    u64::MAX
                } else {
                    u64::MAX - self.rng.gen_range(0..16)
                };
                (min, max, self.rng.gen_range(1..=64))
            }
            79..=81 => {
                let (min, max) = (self.index(), u64::MAX);
                (min.min(max), max, 0)
            }
            _ => {
                let (a, b) = (self.index(), self.index());
                (a.min(b), a.max(b), self.gap_size())
            }
        }
    }

    /// A gap search, or (`alloc_percent` of the time) an allocation.
    fn gap_op(&mut self, alloc_percent: u32) {
        let (min, max, size) = self.gap_window();
        let rev = self.rng.gen_bool(0.5);
        let op = if self.rng.gen_range(0..100) < alloc_percent {
            let value = token(self.rng);
            if rev {
                TreeOp::AllocRRange {
                    size,
                    min,
                    max,
                    value,
                }
            } else {
                TreeOp::AllocRange {
                    size,
                    min,
                    max,
                    value,
                }
            }
        } else if rev {
            TreeOp::EmptyAreaRev { min, max, size }
        } else {
            TreeOp::EmptyArea { min, max, size }
        };
        self.ops.push(op);
    }

    /// An allocation that fills a known hole exactly.
    fn fill_hole(&mut self) {
        let Some((a, b)) = self.hole() else {
            return self.gap_op(100);
        };
        let size = (b - a).saturating_add(1);
        let value = token(self.rng);
        let (min, max) = match self.rng.gen_range(0..3) {
            0 => (a, b),
            1 => (0, u64::MAX),
            _ => (a.saturating_sub(self.rng.gen_range(0..4096)), b),
        };
        self.ops.push(TreeOp::alloc(
            !self.rng.gen_bool(0.5),
            size,
            min,
            max,
            value,
        ));
    }

    /// Makes a hole: erases a recent entry or stores NULL over part of it.
    fn punch(&mut self) {
        let Some((a, b)) = self.recent_range() else {
            return self.erase();
        };
        match self.rng.gen_range(0..3) {
            0 => {
                let index = a + (b - a) / 2;
                self.ops.push(TreeOp::Erase { index });
                self.remember_hole(a, b);
            }
            1 => {
                self.store(a, b, None);
                self.remember_hole(a, b);
            }
            _ => {
                let x = a + self.rng.gen_range(0..=(b - a).min(1 << 20));
                let y = x + self.rng.gen_range(0..=(b - x).min(1 << 20));
                self.store(x, y, None);
                self.remember_hole(x, y);
            }
        }
    }

    /// Holes of many sizes in the tree built so far.
    fn holes_phase(&mut self, end: usize) {
        while self.ops.len() < end {
            match self.rng.gen_range(0..100) {
                0..=59 => self.punch(),
                60..=69 => {
                    let index = self.index();
                    let (a, b) = range(self.rng, index, Span::Wide);
                    self.store(a, b, None);
                    self.remember_hole(a, b);
                }
                70..=84 => self.gap_op(30),
                _ => self.random_write(Span::Narrow, 0, 10),
            }
        }
    }

    /// Gap searches and allocations, with the holes they look for.
    fn search_phase(&mut self, end: usize, alloc_percent: u32) {
        while self.ops.len() < end {
            match self.rng.gen_range(0..100) {
                0..=54 => self.gap_op(alloc_percent),
                55..=64 => self.fill_hole(),
                65..=77 => self.punch(),
                78..=87 => self.random_write(Span::Narrow, 5, 10),
                88..=92 => self.load(),
                _ => self.find(),
            }
        }
    }

    // ---- Preallocation ----

    /// The range and entry of a preallocated store, by the store type it
    /// aims at: exact fit, a part of an entry (slot/node store, split), an
    /// append, a wide (spanning) store, NULL over an entry, the root, the
    /// whole space, VMA-like page ranges.
    fn prealloc_target(&mut self) -> (u64, u64, Option<u64>) {
        let v = self.value(15);
        let recent = self.recent_range();
        let r = self.rng.gen_range(0..100);
        let (f, l) = match (r, recent) {
            (0..=14, Some((a, b))) => (a, b),
            (15..=29, Some((a, b))) => {
                let x = a + self.rng.gen_range(0..=(b - a).min(1 << 20));
                let y = x + self.rng.gen_range(0..=(b - x).min(1 << 20));
                (x, y)
            }
            (30..=39, Some((_, b))) => {
                let len = self.rng.gen_range(0..16);
                (b.saturating_add(1), b.saturating_add(1 + len))
            }
            (40..=49, Some((a, _))) => range(self.rng, a, Span::Wide),
            (50..=54, _) => (0, 0),
            (55..=57, _) => (0, u64::MAX),
            (58..=79, _) | (0..=49, None) => {
                let first = self.keys.key(self.rng);
                range(self.rng, first, Span::Any)
            }
            _ => {
                let first = self.keys.key_of(self.rng, KeyKind::Page);
                let pages = self.rng.gen_range(1..=16);
                (first, first.saturating_add(pages * PAGE - 1))
            }
        };
        if matches!((r, recent), (50..=54, Some(_))) && self.rng.gen_bool(0.5) {
            // Sometimes NULL over an existing entry instead of the root.
            if let Some((a, b)) = recent {
                return (a, b, None);
            }
        }
        (f, l, v)
    }

    /// `prealloc` then `store_prealloc` of the same store.
    fn prealloc_pair(&mut self) {
        let (first, last, value) = self.prealloc_target();
        self.ops.push(TreeOp::Prealloc { first, last, value });
        self.ops.push(TreeOp::StorePrealloc { value });
        if value.is_some() {
            self.remember(first, last);
        } else {
            self.remember_hole(first, last);
        }
    }

    fn mas_store(&mut self, first: u64, last: u64, value: Option<u64>) {
        if value.is_some() {
            self.remember(first, last);
        }
        self.ops.push(TreeOp::MasStore { first, last, value });
    }

    /// One preallocation, then two or three advanced stores on nearby
    /// ranges, then `mas_destroy`: the 2022 VMA pattern (`__vma_adjust`)
    /// that stores a VMA and then its adjusted neighbours on one
    /// preallocation. Plain stores first lay out the entries it works on,
    /// so that, as in the kernel's callers, the preallocation is computed
    /// for the first store and every later store is an exact fit of what
    /// the first one left of an entry (a store that needs no node).
    /// Without that layout a later store may need nodes nobody
    /// preallocated, which the kernel's contract forbids (it crashes).
    fn prealloc_two_stores(&mut self) {
        let page = self.rng.gen_bool(0.5);
        let step = if page { PAGE } else { 1 };
        // [a, b] and the entry after it, [b + 1, d]: n1 and n2 steps long.
        let n1 = self.rng.gen_range(1..=64u64);
        let n2 = self.rng.gen_range(2..=64u64);
        let mut a = if page {
            self.keys.key_of(self.rng, KeyKind::Page)
        } else {
            self.keys.key(self.rng)
        };
        a = a.min(u64::MAX - (n1 + n2 + 1) * step);
        if page {
            a &= !(PAGE - 1);
        }
        let b = a + n1 * step - 1;
        let d = b + n2 * step;
        let v0 = token(self.rng);
        self.store(a, b, Some(v0));
        let v = self.value(5);
        let w = token(self.rng);
        if self.rng.gen_bool(0.5) {
            // Split: a part of [a, b] first, then what is left of it on
            // either side (the rest of a VMA split in three).
            let u1 = self.rng.gen_range(0..n1);
            let u2 = self.rng.gen_range(u1..n1);
            let (m1, m2) = (a + u1 * step, a + (u2 + 1) * step - 1);
            self.ops.push(TreeOp::Prealloc {
                first: m1,
                last: m2,
                value: v,
            });
            self.mas_store(m1, m2, v);
            let tail = m2 < b && self.rng.gen_range(0..4) != 0;
            if tail {
                self.mas_store(m2 + 1, b, Some(w));
            }
            if m1 > a && (!tail || self.rng.gen_bool(0.5)) {
                let w2 = token(self.rng);
                self.mas_store(a, m1 - 1, Some(w2));
            }
        } else {
            // Expand [a, b] over the start of the next entry, then store
            // the next entry's remainder (vma_merge's "next shrinks").
            let v1 = token(self.rng);
            self.store(b + 1, d, Some(v1));
            let c = b + self.rng.gen_range(1..n2) * step;
            self.ops.push(TreeOp::Prealloc {
                first: a,
                last: c,
                value: v,
            });
            self.mas_store(a, c, v);
            self.mas_store(c + 1, d, Some(w));
        }
        self.ops.push(TreeOp::MasDestroy);
    }

    /// `prealloc`, one `mas_store` of the same store, `mas_destroy`.
    fn prealloc_one_store(&mut self) {
        let (first, last, value) = self.prealloc_target();
        self.ops.push(TreeOp::Prealloc { first, last, value });
        self.mas_store(first, last, value);
        self.ops.push(TreeOp::MasDestroy);
    }

    /// A group of preallocation ops: mostly `prealloc` + `store_prealloc`,
    /// then one preallocation with several `mas_store`s, and the odd uses:
    /// a preallocation abandoned, a bare `mas_store`, `mas_destroy` with
    /// nothing held, `store_prealloc` with nothing pending.
    fn prealloc_group(&mut self) {
        match self.rng.gen_range(0..100) {
            0..=59 => self.prealloc_pair(),
            60..=77 if self.two_stores => self.prealloc_two_stores(),
            60..=82 => self.prealloc_one_store(),
            83..=85 => {
                let (first, last, value) = self.prealloc_target();
                self.ops.push(TreeOp::Prealloc { first, last, value });
                if self.rng.gen_bool(0.5) {
                    // Reads leave the preallocation alone.
                    self.load();
                    self.ops.push(TreeOp::StorePrealloc { value });
                } else {
                    self.ops.push(TreeOp::MasDestroy);
                }
            }
            86..=91 => {
                let (first, last, value) = self.prealloc_target();
                self.mas_store(first, last, value);
            }
            92..=95 => self.ops.push(TreeOp::MasDestroy),
            _ => {
                let value = self.value(20);
                self.ops.push(TreeOp::StorePrealloc { value });
            }
        }
    }

    /// A bulk load as the kernel's callers make one (`dup_mmap` before
    /// 6.8, `check_dup_gaps`, `bench_forking`): a fresh tree (`destroy`),
    /// `expected_entries N`, then `mas_store`s of ascending ranges, gapped
    /// like a VMA tree or the tests' `[i*10, i*10+5]`, or back to back;
    /// sometimes fewer than announced (an interrupted copy), sometimes a
    /// second `expected_entries` midway; then `mas_destroy`. Nothing else
    /// runs in between (the protocol of `engine/bulk.rs`). Counts from 150
    /// make the writer hold more than 31 nodes.
    fn bulk_load(&mut self) {
        self.ops.push(TreeOp::Destroy);
        self.recent.clear();
        self.recent_next = 0;
        let n = if self.rng.gen_bool(0.6) {
            self.rng.gen_range(150..=500u64)
        } else {
            self.rng.gen_range(0..150u64)
        };
        self.ops.push(TreeOp::ExpectedEntries { count: n });
        let stored = if self.rng.gen_range(0..100) < 35 {
            self.rng.gen_range(0..=n)
        } else {
            n
        };
        let again = if self.rng.gen_range(0..100) < 15 {
            Some(self.rng.gen_range(0..=stored))
        } else {
            None
        };
        let (step, len, gap) = match self.rng.gen_range(0..3) {
            0 => (10, 5, true),
            1 => (PAGE, PAGE * self.rng.gen_range(1..=8), true),
            _ => (1, 1, false),
        };
        let mut first = if self.rng.gen_bool(0.5) {
            0
        } else {
            step * self.rng.gen_range(1..=16)
        };
        for i in 0..stored {
            if again == Some(i) {
                let count = (n + self.rng.gen_range(0..=200)).min(EXPECTED_ENTRIES_MAX);
                self.ops.push(TreeOp::ExpectedEntries { count });
            }
            let last = if gap {
                first + len.min(step * 4) - 1
            } else {
                first
            };
            let v = Some(token(self.rng));
            self.mas_store(first, last, v);
            first = if gap {
                last + 1 + step * self.rng.gen_range(0..=2)
            } else {
                last + 1
            };
        }
        self.ops.push(TreeOp::MasDestroy);
    }

    /// Preallocation groups among plain writes.
    fn prealloc_phase(&mut self, end: usize) {
        while self.ops.len() < end {
            match self.rng.gen_range(0..100) {
                0..=1 if self.bulk => self.bulk_load(),
                0..=64 => self.prealloc_group(),
                65..=79 => self.random_write(Span::Narrow, 10, 10),
                80..=87 => self.erase(),
                88..=92 => self.load(),
                93..=95 => self.find(),
                _ => self.cursor_burst(),
            }
        }
    }

    // ---- Fault injection ----

    /// A fault schedule: `nth 1..=50`, `next 1..=5`, `every 2..=20`,
    /// `from 1..=50`, `never`.
    fn schedule(&mut self) -> FaultSchedule {
        match self.rng.gen_range(0..100) {
            0..=34 => FaultSchedule::Nth(self.rng.gen_range(1..=50)),
            35..=54 => FaultSchedule::Next(self.rng.gen_range(1..=5)),
            55..=79 => FaultSchedule::Every(self.rng.gen_range(2..=20)),
            80..=87 => FaultSchedule::From(self.rng.gen_range(1..=50)),
            _ => FaultSchedule::Never,
        }
    }

    /// Writes of every kind under a fault schedule.
    fn faulty_writes(&mut self, end: usize) {
        while self.ops.len() < end {
            match self.rng.gen_range(0..100) {
                0..=29 => self.random_write(Span::Narrow, 10, 30),
                30..=39 => self.random_write(Span::Any, 10, 20),
                40..=54 => self.erase(),
                55..=64 => self.gap_op(80),
                65..=79 => self.prealloc_pair(),
                80..=84 => self.prealloc_one_store(),
                85..=89 => {
                    let (first, last, value) = self.prealloc_target();
                    self.mas_store(first, last, value);
                }
                90..=94 => self.load(),
                _ => self.find(),
            }
        }
    }

    /// Wide writes (spanning stores) over a grown tree.
    fn spanning_phase(&mut self, end: usize) {
        while self.ops.len() < end {
            match self.rng.gen_range(0..100) {
                0..=49 => self.random_write(Span::Wide, 30, 5),
                50..=79 => self.random_write(Span::Narrow, 5, 20),
                _ => self.erase(),
            }
        }
    }
}

#[cfg(test)]
mod tests;
