//! Keys, ranges, value tokens and program lengths: what every profile draws.

use super::*;

/// Short programs keep execs/s high; long ones build deep trees.
pub(super) fn op_count(rng: &mut ChaCha8Rng, cfg: &GenConfig) -> usize {
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
pub(super) enum KeyKind {
    Small,
    Cluster,
    Page,
    Near4G,
    NearMax,
    Uniform,
}

pub(super) const KEY_KINDS: [KeyKind; 6] = [
    KeyKind::Small,
    KeyKind::Cluster,
    KeyKind::Page,
    KeyKind::Near4G,
    KeyKind::NearMax,
    KeyKind::Uniform,
];

/// The program's key space: its cluster centres and its bias between key kinds.
pub(super) struct Keys {
    centres: Vec<u64>,
    /// How far cluster keys stray from their centre.
    spread: u64,
    /// Per-kind weights (see [`KEY_KINDS`]).
    weights: [u32; 6],
    total: u32,
}

impl Keys {
    pub(super) fn new(rng: &mut ChaCha8Rng) -> Keys {
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

    pub(super) fn kind(&self, rng: &mut ChaCha8Rng) -> KeyKind {
        let mut r = rng.gen_range(0..self.total);
        for (k, w) in KEY_KINDS.iter().zip(self.weights) {
            if r < w {
                return *k;
            }
            r -= w;
        }
        KeyKind::Uniform
    }

    pub(super) fn centre(&self, rng: &mut ChaCha8Rng) -> u64 {
        self.centres[rng.gen_range(0..self.centres.len())]
    }

    pub(super) fn key(&self, rng: &mut ChaCha8Rng) -> u64 {
        let kind = self.kind(rng);
        self.key_of(rng, kind)
    }

    pub(super) fn key_of(&self, rng: &mut ChaCha8Rng, kind: KeyKind) -> u64 {
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
pub(super) enum Span {
    /// Single indices and small, page-sized ranges only.
    Narrow,
    /// Everything, spanning writes included.
    Any,
    /// Mostly wide ranges that cover many entries.
    Wide,
}

/// A range `[first, last]` starting at `first`. May return `first > last`
/// rarely (an `EINVAL` case), and may move `first` for the "everything" case.
pub(super) fn range(rng: &mut ChaCha8Rng, first: u64, span: Span) -> (u64, u64) {
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
pub(super) fn token(rng: &mut ChaCha8Rng) -> u64 {
    match rng.gen_range(0..100) {
        0..=59 => rng.gen_range(1..=8),
        60..=79 => rng.gen_range(1..=64),
        80..=89 => rng.gen_range(1..=100_000),
        90..=94 => MAX_TOKEN - rng.gen_range(0..4),
        _ => rng.gen_range(1..=MAX_TOKEN),
    }
}
