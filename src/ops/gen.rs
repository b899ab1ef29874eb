//! The program generator of the stable driver.
//!
//! [`generate`] turns a seeded [`ChaCha8Rng`] into a [`Program`]; the same
//! rng state always gives the same program. The generator chooses the
//! program's length itself (from tens to a few thousand ops) and shapes it to
//! reach the maple tree's interesting states:
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

use super::{Program, TreeConfig, TreeOp, MAX_TOKEN};
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

/// A program from the default [`GenConfig`].
pub fn generate(rng: &mut ChaCha8Rng) -> Program {
    generate_with(rng, &GenConfig::default())
}

/// A program from `cfg`. Deterministic in the rng.
pub fn generate_with(rng: &mut ChaCha8Rng, cfg: &GenConfig) -> Program {
    let config = TreeConfig {
        alloc: rng.gen(),
        rcu: rng.gen(),
    };
    let len = op_count(rng, cfg);
    let mut g = Gen::new(rng, len);
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
    ops: Vec<TreeOp>,
    target: usize,
}

const RECENT: usize = 512;

impl<'a> Gen<'a> {
    fn new(rng: &'a mut ChaCha8Rng, target: usize) -> Gen<'a> {
        let keys = Keys::new(rng);
        Gen {
            rng,
            keys,
            recent: Vec::new(),
            recent_next: 0,
            ops: Vec::with_capacity(target + 32),
            target,
        }
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

    /// One phase of a few to a few hundred ops.
    fn phase(&mut self, cfg: &GenConfig) {
        if !self.ops.is_empty() && self.rng.gen_range(0..1000) < cfg.destroy_per_mille {
            self.ops.push(TreeOp::Destroy);
        }
        let n = match self.rng.gen_range(0..10) {
            0..=3 => self.rng.gen_range(4..40),
            4..=7 => self.rng.gen_range(40..300),
            _ => self.rng.gen_range(300..2000),
        }
        .min(self.left().max(1));
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
        match self.rng.gen_range(0..1000) {
            0..=29 => self.load(),
            30..=49 => self.find(),
            50..=57 => self.cursor_burst(),
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
                    (first, last)
                }
                Layout::Descending => {
                    let last = cur;
                    let first = last.saturating_sub(len);
                    cur = first.saturating_sub(1).saturating_sub(gap);
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
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tree::MapleTree;
    use rand::SeedableRng;
    use std::collections::HashSet;

    fn program(seed: u64) -> Program {
        generate(&mut ChaCha8Rng::seed_from_u64(seed))
    }

    #[test]
    fn deterministic() {
        for seed in 0..20 {
            assert_eq!(program(seed), program(seed));
        }
        assert_ne!(program(1), program(2));
    }

    #[test]
    fn lengths_vary_and_stay_in_bounds() {
        let lens: Vec<usize> = (0..200).map(|s| program(s).ops.len()).collect();
        assert!(lens.iter().all(|&n| (10..=4000).contains(&n)), "{lens:?}");
        assert!(lens.iter().any(|&n| n < 100));
        assert!(lens.iter().any(|&n| n >= 1000));
    }

    #[test]
    fn every_op_kind_and_config_appears() {
        let mut kinds = HashSet::new();
        let mut configs = HashSet::new();
        let mut null_store = false;
        for seed in 0..100 {
            let p = program(seed);
            configs.insert((p.config.alloc, p.config.rcu));
            for op in &p.ops {
                kinds.insert(op.kind());
                null_store |= matches!(op, TreeOp::Store { value: None, .. });
            }
        }
        let all = [
            "store",
            "insert",
            "erase",
            "load",
            "find",
            "walk",
            "mas_find",
            "mas_find_rev",
            "mas_next",
            "mas_prev",
            "pause",
            "set",
            "destroy",
        ];
        for k in all {
            assert!(kinds.contains(k), "op kind {k} never generated");
        }
        assert_eq!(configs.len(), 4, "{configs:?}");
        assert!(null_store);
    }

    #[test]
    fn keys_cover_the_biases() {
        let (mut small, mut page, mut near4g, mut nearmax, mut everything) =
            (false, false, false, false, false);
        for seed in 0..100 {
            for op in program(seed).ops {
                if let TreeOp::Store { first, last, .. } = op {
                    small |= first < 16;
                    page |= first > 0 && first % PAGE == 0 && last.wrapping_add(1) % PAGE == 0;
                    near4g |= first.abs_diff(1 << 32) < 16;
                    nearmax |= first > u64::MAX - 16;
                    everything |= first == 0 && last == u64::MAX;
                }
            }
        }
        assert!(small && page && near4g && nearmax && everything);
    }

    /// Replays the program's writes on a bare tree: its greatest height, and
    /// whether the height ever went down without a destroy.
    fn heights(p: &Program) -> (u32, bool) {
        let mut t = MapleTree::with_flags(p.config.flags());
        let (mut max, mut fell) = (0, false);
        for op in &p.ops {
            let before = t.tree_height();
            match *op {
                TreeOp::Store { first, last, value } => {
                    let _ = t.store_range(first, last, value.map(crate::ops::token_to_entry));
                }
                TreeOp::Insert { first, last, value } => {
                    let _ = t.insert_range(first, last, crate::ops::token_to_entry(value));
                }
                TreeOp::Erase { index } => {
                    t.erase(index);
                }
                TreeOp::Destroy => t.destroy(),
                _ => {}
            }
            let h = t.tree_height();
            max = max.max(h);
            fell |= h < before && !matches!(op, TreeOp::Destroy);
        }
        (max, fell)
    }

    #[test]
    fn trees_grow_four_levels_deep_and_shrink() {
        let (mut deep, mut fell) = (0, 0);
        for seed in 0..100 {
            let (h, f) = heights(&program(seed));
            deep += usize::from(h >= 4);
            fell += usize::from(f);
        }
        assert!(deep >= 3, "only {deep} of 100 programs reached height 4");
        assert!(fell >= 5, "only {fell} of 100 programs lost height");
    }
}
