//! The phases of a program: growth, churn, shrinking, reads, holes, and
//! the gap searches and allocations of allocation trees.

use super::*;

impl Gen<'_> {
    pub(super) fn grow(&mut self, end: usize) {
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

    pub(super) fn churn(&mut self, end: usize) {
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

    pub(super) fn shrink(&mut self, end: usize) {
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

    pub(super) fn read(&mut self, end: usize) {
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
    pub(super) fn gap_size(&mut self) -> u64 {
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
    pub(super) fn gap_window(&mut self) -> (u64, u64, u64) {
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
    pub(super) fn gap_op(&mut self, alloc_percent: u32) {
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
    pub(super) fn fill_hole(&mut self) {
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
    pub(super) fn punch(&mut self) {
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
    pub(super) fn holes_phase(&mut self, end: usize) {
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
    pub(super) fn search_phase(&mut self, end: usize, alloc_percent: u32) {
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

    /// A window of ids handed out in turn (`cyclic_phase`): small ones
    /// that fill up and wrap, the top of the space (the id `u64::MAX`, the
    /// tree's remembered wrap), the whole space, a reversed one (`EINVAL`).
    fn cyclic_window(&mut self) -> (u64, u64) {
        match self.rng.gen_range(0..10) {
            0..=3 => {
                let min = self.index();
                (min, min.saturating_add(self.rng.gen_range(0..64)))
            }
            4..=5 => (u64::MAX - self.rng.gen_range(0..16), u64::MAX),
            6 => (self.rng.gen_range(0..4), u64::MAX),
            7 => {
                let max = self.index().min(u64::MAX - 1);
                (max + 1, max)
            }
            _ => {
                let (a, b) = (self.index(), self.index());
                (a.min(b), a.max(b))
            }
        }
    }

    /// A caller's `next` for `[min, max]`: mostly the window's start or
    /// inside it, sometimes past its end (the search wraps at once).
    fn cyclic_next(&mut self, min: u64, max: u64) -> u64 {
        match self.rng.gen_range(0..10) {
            0..=2 => min,
            3..=6 => min + self.rng.gen_range(0..=(max.saturating_sub(min)).min(64)),
            7 => max,
            8 => max.saturating_add(self.rng.gen_range(1..4)),
            _ => self.rng.gen_range(0..=3),
        }
    }

    /// Cyclic allocation as its callers use it: one window and one `next`
    /// that follows the ids handed out (the generator assumes each id is
    /// `next`, as it is until the window above fills), among erases of ids
    /// handed out (holes the wrapped search finds), plain writes into the
    /// window and reads; a new window now and then.
    pub(super) fn cyclic_phase(&mut self, end: usize) {
        let (mut min, mut max) = self.cyclic_window();
        let mut next = self.cyclic_next(min, max);
        while self.ops.len() < end {
            match self.rng.gen_range(0..100) {
                0..=59 => {
                    let value = token(self.rng);
                    self.ops.push(TreeOp::AllocCyclic {
                        min,
                        max,
                        next,
                        value,
                    });
                    next = next.wrapping_add(1);
                }
                60..=71 => {
                    // An id handed out lately.
                    let back = self.rng.gen_range(1..=16);
                    let index = next.wrapping_sub(back).max(min);
                    self.ops.push(TreeOp::Erase { index });
                    self.remember_hole(index, index);
                }
                72..=79 => {
                    (min, max) = self.cyclic_window();
                    next = self.cyclic_next(min, max);
                }
                80..=87 => {
                    let first = min + self.rng.gen_range(0..=(max.saturating_sub(min)).min(64));
                    let last = first.saturating_add(self.rng.gen_range(0..4));
                    let value = self.value(30);
                    self.store(first, last, value);
                }
                88..=93 => self.fill_hole(),
                _ => self.load(),
            }
        }
    }

    /// Gap searches of an empty tree or one holding only index 0 (a root
    /// pointer), where `mas_sparse_area()` answers: the tree destroyed,
    /// most times an entry stored at 0, then windows of every small size
    /// near 0, many exactly as large as the size asked (at 0 with an entry
    /// there, one index too small: `EBUSY`); an allocation now and then
    /// (the tree then grows a node), and a fresh start now and then.
    pub(super) fn sparse_phase(&mut self, end: usize) {
        let mut fresh = true;
        while self.ops.len() < end {
            if fresh {
                self.ops.push(TreeOp::Destroy);
                if self.rng.gen_range(0..100) < 60 {
                    let value = token(self.rng);
                    self.store(0, 0, Some(value));
                }
            }
            let min = if self.rng.gen_range(0..100) < 70 {
                0
            } else {
                self.rng.gen_range(1..4)
            };
            let max = min + self.rng.gen_range(0..16);
            let room = max - min + 1;
            let size = if self.rng.gen_bool(0.5) {
                room
            } else {
                self.rng.gen_range(1..=room)
            };
            let rev = self.rng.gen_bool(0.5);
            let op = match self.rng.gen_range(0..100) {
                0..=79 if rev => TreeOp::EmptyAreaRev { min, max, size },
                0..=79 => TreeOp::EmptyArea { min, max, size },
                _ => TreeOp::alloc(rev, size, min, max, token(self.rng)),
            };
            fresh = matches!(op, TreeOp::AllocRange { .. } | TreeOp::AllocRRange { .. })
                || self.rng.gen_range(0..100) < 15;
            self.ops.push(op);
        }
    }
}
