// SPDX-License-Identifier: GPL-2.0-or-later
//! Fault injection (`fail_at` at each allocation point of munmap,
//! mprotect, mmap, ...), the 6.1 profile, and random sequences checked
//! with `validate_mm` after every operation.

use super::tests::*;
use super::uapi::*;
use super::*;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// One random operation in a 64-page window (plus brk), for the
/// sequence tests.
pub(super) fn random_op(m: &mut Mm, rng: &mut ChaCha8Rng) {
    let page = |r: &mut ChaCha8Rng| A + r.gen_range(0..64u64) * PAGE;
    let len = |r: &mut ChaCha8Rng| r.gen_range(1..10u64) * PAGE;
    let prots = [0, PROT_READ, RW, RW | PROT_EXEC];
    let prot = prots[rng.gen_range(0..prots.len())];
    if rng.gen_ratio(1, 6) {
        m.fail_at(rng.gen_range(0..6));
    }
    match rng.gen_range(0..9) {
        0 | 1 => {
            let backing = match rng.gen_range(0..6) {
                0..=2 => Backing::Anon,
                f => Backing::File {
                    file: rng.gen_range(0..4),
                    pgoff: [0, 3, (f as u64) * 4][rng.gen_range(0..3)],
                },
            };
            let kind = if rng.gen_ratio(1, 4) {
                MAP_SHARED
            } else {
                MAP_PRIVATE
            };
            let fixed = [MAP_FIXED, MAP_FIXED, 0, MAP_FIXED_NOREPLACE][rng.gen_range(0..4)];
            let (a, l) = (page(rng), len(rng));
            let _ = m.mmap(a, l, prot, kind | fixed, backing);
        }
        2 => {
            let (a, l) = (page(rng), len(rng));
            let _ = m.munmap(a, l);
        }
        3 | 4 => {
            let (a, l) = (page(rng), len(rng));
            let _ = m.mprotect(a, l, prot);
        }
        5 => {
            let adv = [
                MADV_DONTFORK,
                MADV_DOFORK,
                MADV_RANDOM,
                MADV_NORMAL,
                MADV_DONTDUMP,
            ];
            let (a, l) = (page(rng), len(rng));
            let _ = m.madvise(a, l, adv[rng.gen_range(0..adv.len())]);
        }
        6 => {
            let a = page(rng);
            let _ = m.touch(a, rng.gen_bool(0.7));
        }
        7 => {
            let (a, ol, nl) = (page(rng), len(rng), len(rng));
            let flags = [0, MREMAP_MAYMOVE, MREMAP_MAYMOVE | MREMAP_FIXED][rng.gen_range(0..3)];
            let _ = m.mremap(a, ol, nl, flags, page(rng));
        }
        _ => {
            let b = START_BRK + rng.gen_range(0..8u64) * 0x1800;
            m.brk(b);
        }
    }
}

/// Runs `steps` random operations from `seed`, validating after each.
pub(super) fn run_random(cfg: VmaConfig, seed: u64, steps: usize) -> Mm {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut m = Mm::new(cfg);
    for i in 0..steps {
        random_op(&mut m, &mut rng);
        if let Err(e) = m.validate_mm() {
            panic!("seed {seed} step {i}: {e}");
        }
    }
    m
}

#[test]
fn random_sequences_validate() {
    for seed in 0..200 {
        let m = run_random(VmaConfig::default(), seed, 200);
        assert!(m.prealloc_misuse().is_none());
    }
}
