//! Preallocation (`prealloc` + `store_prealloc`, one preallocation with
//! several `mas_store`s, bulk loads) and fault injection.

use super::*;

impl Gen<'_> {
    // ---- Preallocation ----

    /// The range and entry of a preallocated store, by the store type it
    /// aims at: exact fit, a part of an entry (slot/node store, split), an
    /// append, a wide (spanning) store, NULL over an entry, the root, the
    /// whole space, VMA-like page ranges.
    pub(super) fn prealloc_target(&mut self) -> (u64, u64, Option<u64>) {
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
    pub(super) fn prealloc_pair(&mut self) {
        let (first, last, value) = self.prealloc_target();
        self.ops.push(TreeOp::Prealloc { first, last, value });
        self.ops.push(TreeOp::StorePrealloc { value });
        if value.is_some() {
            self.remember(first, last);
        } else {
            self.remember_hole(first, last);
        }
    }

    pub(super) fn mas_store(&mut self, first: u64, last: u64, value: Option<u64>) {
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
    pub(super) fn prealloc_two_stores(&mut self) {
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
    pub(super) fn prealloc_one_store(&mut self) {
        let (first, last, value) = self.prealloc_target();
        self.ops.push(TreeOp::Prealloc { first, last, value });
        self.mas_store(first, last, value);
        self.ops.push(TreeOp::MasDestroy);
    }

    /// A group of preallocation ops: mostly `prealloc` + `store_prealloc`,
    /// then one preallocation with several `mas_store`s, and the odd uses:
    /// a preallocation abandoned, a bare `mas_store`, `mas_destroy` with
    /// nothing held, `store_prealloc` with nothing pending.
    pub(super) fn prealloc_group(&mut self) {
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
    pub(super) fn bulk_load(&mut self) {
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
    pub(super) fn prealloc_phase(&mut self, end: usize) {
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
    pub(super) fn schedule(&mut self) -> FaultSchedule {
        match self.rng.gen_range(0..100) {
            0..=34 => FaultSchedule::Nth(self.rng.gen_range(1..=50)),
            35..=54 => FaultSchedule::Next(self.rng.gen_range(1..=5)),
            55..=79 => FaultSchedule::Every(self.rng.gen_range(2..=20)),
            80..=87 => FaultSchedule::From(self.rng.gen_range(1..=50)),
            _ => FaultSchedule::Never,
        }
    }

    /// Writes of every kind under a fault schedule.
    pub(super) fn faulty_writes(&mut self, end: usize) {
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
    pub(super) fn spanning_phase(&mut self, end: usize) {
        while self.ops.len() < end {
            match self.rng.gen_range(0..100) {
                0..=49 => self.random_write(Span::Wide, 30, 5),
                50..=79 => self.random_write(Span::Narrow, 5, 20),
                _ => self.erase(),
            }
        }
    }
}
