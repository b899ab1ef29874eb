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

/// Runs `op` on a fresh copy of the setup with point `n` failing, for every
/// point the unfailed run passes (and once more with none failing), and
/// checks after each: the result and VMA list `expect(n)` gives,
/// `validate_mm` (no leaked VMA, balanced node accounting), and the points
/// recorded (those of the unfailed run, cut at the failing one).
fn sweep<T: std::fmt::Debug + PartialEq>(
    setup: impl Fn() -> Mm,
    op: impl Fn(&mut Mm) -> T,
    expect: impl Fn(usize) -> (T, Vec<(u64, u64)>),
) -> Vec<Point> {
    let mut clean = setup();
    op(&mut clean);
    let all = clean.last_points();
    for n in 0..=all.len() {
        let mut m = setup();
        if n < all.len() {
            m.fail_at(n as u32);
        }
        let r = op(&mut m);
        let spans: Vec<_> = m.vmas().iter().map(|v| (v.start, v.end)).collect();
        assert_eq!((r, spans), expect(n), "failing point {n} of {all:?}");
        m.validate_mm().unwrap_or_else(|e| panic!("point {n}: {e}"));
        let want = &all[..(n + 1).min(all.len())];
        assert_eq!(m.last_points(), want, "points with point {n} failing");
        // The failure is one-shot: the next op runs clean.
        assert_eq!(m.munmap(0x10000, PAGE), Ok(()));
        assert!(m.last_points().is_empty());
    }
    all
}

const P: u64 = PAGE;

/// A faulted 4-page anonymous VMA at A.
fn faulted4() -> Mm {
    let mut m = mm();
    anon_at(&mut m, A, 4);
    m.touch(A, true).unwrap();
    m
}

/// munmap of the middle: vms_gather_munmap_vmas splits at the start
/// (__split_vma: dup, prealloc, anon_vma_clone) and at the end, stores in
/// the side tree, then vma_iter_clear_gfp. A failed first split changes
/// nothing; a failed second split keeps the first (reattach, splits
/// stay); a failed side store or clear keeps both splits.
#[test]
fn munmap_fail_at_each_point() {
    use Point::*;
    let whole = vec![(A, A + 4 * P)];
    let one = vec![(A, A + P), (A + P, A + 4 * P)];
    let two = vec![(A, A + P), (A + P, A + 3 * P), (A + 3 * P, A + 4 * P)];
    let done = vec![(A, A + P), (A + 3 * P, A + 4 * P)];
    let all = sweep(
        faulted4,
        |m| m.munmap(A + P, 2 * P),
        |n| match n {
            0..=2 => (Err(Errno::ENOMEM), whole.clone()),
            3..=5 => (Err(Errno::ENOMEM), one.clone()),
            6 | 7 => (Err(Errno::ENOMEM), two.clone()),
            _ => (Ok(()), done.clone()),
        },
    );
    assert_eq!(
        all,
        vec![VmaAlloc, Prealloc, AnonVma, VmaAlloc, Prealloc, AnonVma, StoreGfp, StoreGfp]
    );
}

/// mprotect of the middle (vma_modify: no merge, split_vma below, then
/// above): a failed second split keeps the first, flags unchanged.
#[test]
fn mprotect_fail_at_each_point() {
    use Point::*;
    let all = sweep(
        faulted4,
        |m| m.mprotect(A + P, 2 * P, PROT_READ),
        |n| match n {
            0..=2 => (Err(Errno::ENOMEM), vec![(A, A + 4 * P)]),
            3..=5 => (Err(Errno::ENOMEM), vec![(A, A + P), (A + P, A + 4 * P)]),
            _ => (
                Ok(()),
                vec![(A, A + P), (A + P, A + 3 * P), (A + 3 * P, A + 4 * P)],
            ),
        },
    );
    assert_eq!(
        all,
        vec![VmaAlloc, Prealloc, AnonVma, VmaAlloc, Prealloc, AnonVma]
    );
    // And the flags: after a failed second split nothing is read-only.
    let mut m = faulted4();
    m.fail_at(4);
    m.mprotect(A + P, 2 * P, PROT_READ).unwrap_err();
    assert!(m.vmas().iter().all(|v| v.flags == RW_ANON));
}

/// vma_merge_existing_range: a failed dup_anon_vma or commit_merge
/// preallocation aborts the merge with nothing changed; vma_modify then
/// returns ENOMEM (no fallback to splitting, unlike 6.1).
#[test]
fn mprotect_merge_failure_changes_nothing() {
    use Point::*;
    let setup = || {
        let mut m = mm();
        anon_at(&mut m, A, 1);
        m.mmap(A + P, P, PROT_READ, FIX, Backing::Anon).unwrap();
        anon_at(&mut m, A + 2 * P, 1);
        m.touch(A + 2 * P, true).unwrap();
        m
    };
    let before = vec![(A, A + P), (A + P, A + 2 * P), (A + 2 * P, A + 3 * P)];
    let all = sweep(
        setup,
        |m| m.mprotect(A + P, P, RW),
        |n| match n {
            0 | 1 => (Err(Errno::ENOMEM), before.clone()),
            _ => (Ok(()), vec![(A, A + 3 * P)]),
        },
    );
    assert_eq!(all, vec![AnonVma, Prealloc]);
    // The abandoned dup left no anon_vma behind on prev.
    let mut m = setup();
    m.fail_at(1);
    m.mprotect(A + P, P, RW).unwrap_err();
    assert_eq!(m.vmas()[0].anon, None);
}

/// mmap MAP_FIXED over the middle of a VMA (__mmap_region): a failure
/// while gathering changes nothing or keeps the splits (reattached); a
/// failure after vms_clean_up_area (vm_area_alloc, the preallocation)
/// leaves a hole where the old mapping was.
#[test]
fn mmap_fixed_fail_at_each_point() {
    use Point::*;
    let setup = || {
        let mut m = mm();
        anon_at(&mut m, A, 4);
        m
    };
    let all = sweep(
        setup,
        |m| m.mmap(A + P, 2 * P, PROT_READ, FIX, Backing::Anon),
        |n| match n {
            0 | 1 => (Err(Errno::ENOMEM), vec![(A, A + 4 * P)]),
            2 | 3 => (Err(Errno::ENOMEM), vec![(A, A + P), (A + P, A + 4 * P)]),
            4 => (
                Err(Errno::ENOMEM),
                vec![(A, A + P), (A + P, A + 3 * P), (A + 3 * P, A + 4 * P)],
            ),
            5 | 6 => (Err(Errno::ENOMEM), vec![(A, A + P), (A + 3 * P, A + 4 * P)]),
            _ => (
                Ok(A + P),
                vec![(A, A + P), (A + P, A + 3 * P), (A + 3 * P, A + 4 * P)],
            ),
        },
    );
    assert_eq!(
        all,
        vec![VmaAlloc, Prealloc, VmaAlloc, Prealloc, StoreGfp, VmaAlloc, Prealloc]
    );
}

/// __mmap_region: a merge that fails (vma_expand's preallocation) is not
/// an error: a new VMA is mapped next to the neighbour instead.
#[test]
fn mmap_merge_failure_falls_back_to_new_vma() {
    let mut m = mm();
    anon_at(&mut m, A, 1);
    m.fail_at(0);
    assert_eq!(m.mmap(A + P, P, RW, FIX, Backing::Anon), Ok(A + P));
    use Point::*;
    assert_eq!(m.last_points(), vec![Prealloc, VmaAlloc, Prealloc]);
    assert_eq!(
        ranges(&m),
        vec![anon_vma(A, A + P), anon_vma(A + P, A + 2 * P)]
    );
    ok(&m);
}

/// brk: do_brk_flags failing (vm_area_alloc, vma_iter_store_gfp; or the
/// expansion's preallocation, which sets the merge state to NOMEM) keeps
/// the old break.
#[test]
fn brk_fail_at_each_point() {
    use Point::*;
    let b = START_BRK;
    let all = sweep(
        mm,
        |m| m.brk(b + P),
        |n| match n {
            0 | 1 => (b, vec![]),
            _ => (b + P, vec![(b, b + P)]),
        },
    );
    assert_eq!(all, vec![VmaAlloc, StoreGfp]);
    let setup = || {
        let mut m = mm();
        m.brk(b + P);
        m
    };
    let all = sweep(
        setup,
        |m| m.brk(b + 2 * P),
        |n| match n {
            0 => (b + P, vec![(b, b + P)]),
            _ => (b + 2 * P, vec![(b, b + 2 * P)]),
        },
    );
    assert_eq!(all, vec![Prealloc]);
}

/// touch: anon_vma_prepare failing is ENOMEM with no anon_vma set.
#[test]
fn touch_fail_at() {
    let mut m = mm();
    anon_at(&mut m, A, 1);
    m.fail_at(0);
    assert_eq!(m.touch(A, true), Err(Errno::ENOMEM));
    assert_eq!(m.vmas()[0].anon, None);
    assert_eq!(m.last_points(), vec![Point::AnonVma]);
    m.touch(A, true).unwrap();
    assert!(m.vmas()[0].anon.is_some());
    ok(&m);
}

/// madvise: ENOMEM from vma_modify becomes EAGAIN (madvise_vma_behavior).
#[test]
fn madvise_nomem_is_eagain() {
    let mut m = faulted4();
    m.fail_at(0);
    assert_eq!(m.madvise(A + P, P, MADV_DONTDUMP), Err(Errno::EAGAIN));
    ok(&m);
}

/// validate_mm catches what it is there to catch: a VMA whose range
/// disagrees with its tree entry, a map_count off by one, a leaked VMA.
#[test]
fn validate_mm_detects_corruption() {
    let mut m = mm();
    anon_at(&mut m, A, 2);
    let id = m.vma_lookup(A).unwrap();
    m.vm(id).end += P;
    assert!(m.validate_mm().unwrap_err().contains("holds VMA"));
    m.vm(id).end -= P;
    ok(&m);
    m.map_count += 1;
    assert!(m.validate_mm().unwrap_err().contains("map_count"));
    m.map_count -= 1;
    m.vma_store_new(m.v(id).clone());
    assert!(m.validate_mm().unwrap_err().contains("vm_area_structs"));
}

/// Profile V6_1: a merge of 6.1's case 4 shape (the tail of a VMA joins
/// next: NULL over the tail, then next over its grown range, after one
/// preallocation) needs a node for its second store in an RCU tree, and
/// prealloc_misuse reports it; V6_12 on the same sequence does the one
/// preallocated store and reports nothing. The VMAs are the same.
#[test]
fn v6_1_second_store_needs_nodes() {
    let run = |profile| {
        let mut m = Mm::new(VmaConfig {
            max_map_count: 24,
            profile,
        });
        anon_at(&mut m, A, 2);
        m.mmap(A + 2 * P, 2 * P, PROT_READ, FIX, Backing::Anon)
            .unwrap();
        assert_eq!(m.prealloc_misuse(), None);
        m.mprotect(A + P, P, PROT_READ).unwrap();
        ok(&m);
        (ranges(&m), m.prealloc_misuse())
    };
    let (v12, none) = run(Profile::V6_12);
    let (v61, misuse) = run(Profile::V6_1);
    assert_eq!(v12, v61);
    assert_eq!(
        v12,
        vec![
            anon_vma(A, A + P),
            (A + P, A + 4 * P, R_ONLY, (A >> 12) + 1)
        ]
    );
    assert_eq!(none, None);
    let msg = misuse.expect("the 6.1 shape's second store allocates");
    assert!(
        msg.contains("vma_merge case 4") && msg.contains("second store"),
        "{msg}"
    );
}

/// Profile V6_1 on splits, as the contract describes them (one
/// preallocation, then the trimmed original, then the new piece): the
/// second store is an exact fit over what the first left of the original,
/// so it never needs a node. Random sequences with many splits show no
/// split misuse, while the same sequences do hit the case-4 shape.
#[test]
fn v6_1_split_second_store_is_an_exact_fit() {
    let cfg = VmaConfig {
        max_map_count: 1000,
        profile: Profile::V6_1,
    };
    let (mut splits, mut case4) = (0, 0);
    for seed in 0..100 {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut m = Mm::new(cfg);
        for _ in 0..200 {
            let before = m.map_count();
            random_op(&mut m, &mut rng);
            if m.map_count() > before {
                splits += 1;
            }
            if let Some(s) = m.prealloc_misuse() {
                assert!(!s.contains("__split_vma"), "{s}");
                case4 += 1;
            }
            m.validate_mm().unwrap();
        }
    }
    assert!(splits > 1000, "{splits}");
    assert!(case4 > 0);
}
