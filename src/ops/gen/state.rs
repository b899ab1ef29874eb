//! The program's maple state used across ops, as the kernel's callers keep
//! one: the VMA iterator walks, searches and stores on one state
//! (`vma_iter_area_lowest()` then `vma_iter_store()`), `mas_find()` loops
//! store or erase on the state they iterate, and a search can resume from
//! where the state stands (`mas_empty_area()` on an active state).

use super::*;

impl Gen<'_> {
    /// Cursor moves interleaved with searches and writes on the same state.
    pub(super) fn state_phase(&mut self, end: usize) {
        while self.ops.len() < end {
            match self.rng.gen_range(0..100) {
                0..=29 => self.iter_search_store(),
                30..=49 => self.find_loop_writes(),
                50..=69 => self.resumed_searches(),
                70..=84 => self.range_store(),
                _ => self.cursor_burst(),
            }
        }
    }

    /// Puts the cursor somewhere a search can start or resume from: reset
    /// (a whole search), set, a walk, or a step.
    fn position_cursor(&mut self) {
        let index = self.index();
        let op = match self.rng.gen_range(0..10) {
            0 | 1 => TreeOp::Reset,
            2 => TreeOp::Set { index },
            3..=6 => TreeOp::Walk { index },
            7 => {
                let (a, b) = range(self.rng, index, Span::Narrow);
                TreeOp::SetRange {
                    first: a.min(b),
                    last: a.max(b),
                }
            }
            8 => TreeOp::MasFind {
                max: self.max_limit(),
            },
            _ => TreeOp::MasPrev {
                min: self.min_limit(),
            },
        };
        self.ops.push(op);
    }

    /// A search window for a search on the cursor: mostly windows that
    /// fit somewhere (so that the state rarely ends in error status), now
    /// and then any window [`gap_window`](Self::gap_window) draws.
    fn state_window(&mut self) -> (u64, u64, u64) {
        match self.rng.gen_range(0..10) {
            0..=4 => (0, u64::MAX, self.rng.gen_range(1..=16)),
            5 | 6 => {
                let min = self.index();
                (min, u64::MAX, self.rng.gen_range(1..=4) * PAGE)
            }
            _ => self.gap_window(),
        }
    }

    /// A search on the cursor, forward or reverse.
    fn state_search(&mut self) {
        let (min, max, size) = self.state_window();
        self.ops.push(if self.rng.gen_bool(0.6) {
            TreeOp::CurEmptyArea { min, max, size }
        } else {
            TreeOp::CurEmptyAreaRev { min, max, size }
        });
    }

    /// The VMA iterator's way: position, search, store the window found on
    /// the same state, then step or erase from there.
    fn iter_search_store(&mut self) {
        self.position_cursor();
        self.state_search();
        if self.rng.gen_range(0..100) < 80 {
            let value = self.value(10);
            self.ops.push(TreeOp::CurStore { value });
        }
        match self.rng.gen_range(0..6) {
            0 => self.step(true),
            1 => self.step(false),
            2 => self.ops.push(TreeOp::CurErase),
            _ => {}
        }
    }

    /// `mas_for_each()` that writes on the state it iterates: each entry
    /// found is overwritten, cleared or erased, or left.
    fn find_loop_writes(&mut self) {
        let index = self.index();
        self.ops.push(TreeOp::Set { index });
        let max = self.max_limit();
        let n = self.rng.gen_range(1..=12).min(self.left().max(1));
        let clear_percent = self.rng.gen_range(0..=100);
        for _ in 0..n {
            self.ops.push(TreeOp::MasFind { max });
            let r = self.rng.gen_range(0..100);
            if r < clear_percent / 2 {
                self.ops.push(TreeOp::CurErase);
            } else if r < clear_percent {
                self.ops.push(TreeOp::CurStore { value: None });
            } else if r < clear_percent + (100 - clear_percent) / 2 {
                let value = self.value(0);
                self.ops.push(TreeOp::CurStore { value });
            }
        }
    }

    /// Searches that resume from where the state stands: after a walk or
    /// a step, and one after another.
    fn resumed_searches(&mut self) {
        let index = self.index();
        self.ops.push(TreeOp::Walk { index });
        for _ in 0..self.rng.gen_range(1..=3) {
            if self.rng.gen_bool(0.3) {
                let forward = self.rng.gen_bool(0.5);
                self.step(forward);
            }
            self.state_search();
        }
        if self.rng.gen_bool(0.5) {
            let value = self.value(0);
            self.ops.push(TreeOp::CurStore { value });
        }
    }

    /// `mas_set_range()` then `mas_store_gfp()` on the cursor, and a step
    /// from where the write left it.
    fn range_store(&mut self) {
        let index = self.index();
        // Ordered: a write over an inverted range is the caller's error
        // (mas_store_gfp() does not check it), which would end the run.
        let (a, b) = range(self.rng, index, Span::Any);
        let (first, last) = (a.min(b), a.max(b));
        self.ops.push(TreeOp::SetRange { first, last });
        let value = self.value(30);
        self.ops.push(TreeOp::CurStore { value });
        self.remember(first, last);
        match self.rng.gen_range(0..4) {
            0 => self.step(true),
            1 => self.step(false),
            2 => self.state_search(),
            _ => {}
        }
    }

    /// `mas_next()` (`forward`) or `mas_prev()` from where the cursor is.
    fn step(&mut self, forward: bool) {
        let op = if forward {
            TreeOp::MasNext {
                max: self.max_limit(),
            }
        } else {
            TreeOp::MasPrev {
                min: self.min_limit(),
            }
        };
        self.ops.push(op);
    }
}
