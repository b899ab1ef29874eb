// SPDX-License-Identifier: GPL-2.0-or-later
//! Random operation sequences: the oracle never panics (debug builds trap
//! arithmetic overflow), its VMA list stays well formed and its anon_vma
//! bookkeeping agrees with a recomputation from scratch.

use super::common::*;
use crate::vma::ForkKeep;

struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }
    fn pick(&mut self, xs: &[u64]) -> u64 {
        xs[(self.next() % xs.len() as u64) as usize]
    }
}

fn check(o: &VmaOracle) {
    let vs = o.vmas();
    assert_eq!(vs.len() as u64, o.map_count());
    let mut last_end = 0;
    for v in &vs {
        assert!(v.start < v.end && v.end <= TASK_SIZE, "{v:?}");
        assert_eq!(v.start % P, 0);
        assert_eq!(v.end % P, 0);
        assert!(v.start >= last_end, "overlap at {v:?}");
        assert_eq!(v.anon.is_some(), v.chain_len > 0, "{v:?}");
        last_end = v.end;
    }
    if let Err(e) = o.check_anon_vmas() {
        panic!("anon_vma bookkeeping: {e}");
    }
}

#[test]
fn random_sequences_stay_well_formed() {
    random_sequences(0x5eed, false);
}

#[test]
fn random_sequences_with_fork_stay_well_formed() {
    let longest = random_sequences(0xf0e4, true);
    // The sequences do reach forked chains (not only singular ones).
    assert!(longest >= 3, "longest chain {longest}");
}

/// 500 rounds of 100 random operations (with fork among them if `fork`).
/// Returns the longest anon_vma chain seen.
fn random_sequences(seed: u64, fork: bool) -> u32 {
    let mut longest = 0;
    let mut r = Lcg(seed);
    let addrs = [
        0,
        1,
        B,
        B + P,
        B + 2 * P,
        B + 3 * P + 7,
        B + 8 * P,
        START_BRK,
        MMAP_BASE - 4 * P,
        TASK_SIZE,
        u64::MAX - P + 1,
    ];
    let lens = [0, 1, P, 2 * P, 3 * P, 8 * P, TASK_SIZE, u64::MAX];
    let prots = [0, 1, 2, 3, 4, 7, 8, 0x10, u64::from(PROT_GROWSDOWN | 1)];
    let flags = [
        MAP_PRIVATE,
        MAP_PRIVATE | MAP_FIXED,
        MAP_SHARED | MAP_FIXED,
        MAP_SHARED,
        MAP_PRIVATE | MAP_FIXED_NOREPLACE,
        MAP_PRIVATE | MAP_GROWSDOWN,
        MAP_SHARED_VALIDATE | MAP_FIXED,
        MAP_DROPPABLE,
        0,
    ];
    for round in 0..500 {
        let mut o = oracle(r.next() % 12);
        for _ in 0..100 {
            if r.next() % 4 == 0 {
                o.fail_at((r.next() % 8) as u32);
            }
            let a = r.pick(&addrs);
            let l = r.pick(&lens);
            let ops = if fork { 10 } else { 8 };
            match r.next() % ops {
                0 | 1 => {
                    let b = match r.next() % 5 {
                        4 => Backing::Anon,
                        f => file(f as u8, r.next() % 4),
                    };
                    let _ = o.mmap(
                        a,
                        l,
                        r.pick(&prots) as u32,
                        r.pick(&flags.map(u64::from)) as u32,
                        b,
                    );
                }
                2 => drop(o.munmap(a, l)),
                3 => drop(o.mprotect(a, l, r.pick(&prots) as u32)),
                4 => drop(o.madvise(a, l, (r.next() % 20) as u32)),
                5 => drop(o.brk(START_BRK + r.next() % 8 * P + r.next() % 2)),
                6 => drop(o.mremap(a, l, r.pick(&lens), (r.next() % 8) as u32, r.pick(&addrs))),
                8 => drop(o.fork(ForkKeep::Child)),
                9 => drop(o.fork(ForkKeep::Parent)),
                _ => drop(o.touch(a.wrapping_add(r.next() % 3 * P), r.next() % 2 == 0)),
            }
            check(&o);
            longest = o.vmas().iter().map(|v| v.chain_len).fold(longest, u32::max);
        }
        let _ = round;
    }
    longest
}
