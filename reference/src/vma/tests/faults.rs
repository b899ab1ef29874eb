// SPDX-License-Identifier: GPL-2.0-or-later
//! fail_at(): each allocation point of munmap, mprotect, mmap, brk and
//! touch, and the partial state the 6.12 code leaves behind.

use super::common::*;
use crate::vma::VmaErrno::ENOMEM;
use Point::*;

/// Run `op` on a fresh `setup()` with point `n` failing; return the
/// oracle after it.
fn with_failure<T>(
    setup: fn() -> VmaOracle,
    n: u32,
    op: impl Fn(&mut VmaOracle) -> T,
) -> (VmaOracle, T) {
    let mut o = setup();
    o.fail_at(n);
    let r = op(&mut o);
    (o, r)
}

fn faulted_three_pages() -> VmaOracle {
    let mut o = oracle(24);
    map_anon(&mut o, B, 3, RW_PROT);
    assert_eq!(o.touch(B, true), Ok(()));
    o
}

#[test]
fn munmap_each_point() {
    // mm/vma.c vms_gather_munmap_vmas() + do_vmi_align_munmap(): start
    // split (dup, prealloc, anon_vma_clone), end split (same), side-tree
    // store, then vma_iter_clear_gfp(). Errors reattach; splits stay.
    let all = [
        VmaAlloc, Prealloc, AnonVma, VmaAlloc, Prealloc, AnonVma, StoreGfp, StoreGfp,
    ];
    let whole = vec![(B, B + 3 * P, RW, None, pg(B), 1)];
    let one_split = vec![
        (B, B + P, RW, None, pg(B), 1),
        (B + P, B + 3 * P, RW, None, pg(B + P), 1),
    ];
    let two_splits = vec![
        (B, B + P, RW, None, pg(B), 1),
        (B + P, B + 2 * P, RW, None, pg(B + P), 1),
        (B + 2 * P, B + 3 * P, RW, None, pg(B + 2 * P), 1),
    ];
    for n in 0..all.len() {
        let (o, r) = with_failure(faulted_three_pages, n as u32, |o| o.munmap(B + P, P));
        assert_eq!(r, Err(ENOMEM), "point {n}");
        assert_eq!(o.last_points(), all[..=n].to_vec(), "point {n}");
        let want = match n {
            0..=2 => &whole,
            3..=5 => &one_split,
            _ => &two_splits,
        };
        assert_eq!(&rows(&o), want, "point {n}");
    }
    // No point 8: the op succeeds and the failure is disarmed afterwards.
    let (mut o, r) = with_failure(faulted_three_pages, 8, |o| o.munmap(B + P, P));
    assert_eq!(r, Ok(()));
    assert_eq!(o.last_points(), all.to_vec());
    assert_eq!(
        rows(&o),
        vec![
            (B, B + P, RW, None, pg(B), 1),
            (B + 2 * P, B + 3 * P, RW, None, pg(B + 2 * P), 1)
        ]
    );
    assert_eq!(o.munmap(B, P), Ok(()), "disarmed");
}

#[test]
fn mprotect_split_points() {
    // mm/vma.c vma_modify(): NOMERGE in the middle of a VMA, then
    // split_vma() below and above; a failure in the second keeps the first.
    let all = [VmaAlloc, Prealloc, AnonVma, VmaAlloc, Prealloc, AnonVma];
    for n in 0..all.len() {
        let (o, r) = with_failure(faulted_three_pages, n as u32, |o| {
            o.mprotect(B + P, P, PROT_READ)
        });
        assert_eq!(r, Err(ENOMEM), "point {n}");
        assert_eq!(o.last_points(), all[..=n].to_vec());
        let want = if n < 3 {
            vec![(B, B + 3 * P, RW, None, pg(B), 1)]
        } else {
            vec![
                (B, B + P, RW, None, pg(B), 1),
                (B + P, B + 3 * P, RW, None, pg(B + P), 1),
            ]
        };
        assert_eq!(rows(&o), want, "point {n}");
    }
    let (o, r) = with_failure(faulted_three_pages, 6, |o| o.mprotect(B + P, P, PROT_READ));
    assert_eq!(r, Ok(()));
    // A faulted anonymous VMA keeps VM_ACCOUNT when losing write.
    assert_eq!(o.vmas()[1].flags, R | VM_ACCOUNT);
}

fn three_for_merge() -> VmaOracle {
    let mut o = oracle(24);
    map_anon(&mut o, B, 1, RW_PROT);
    map_anon(&mut o, B + 2 * P, 1, RW_PROT);
    assert_eq!(o.touch(B + 2 * P, true), Ok(()));
    map_anon(&mut o, B + P, 1, PROT_READ);
    o
}

#[test]
fn mprotect_merge_points() {
    // mm/vma.c vma_merge_existing_range(): dup_anon_vma() then
    // commit_merge()'s preallocation; either failing is ERROR_NOMEM, with
    // nothing changed and no fallback to splitting (vma_modify()).
    let before = rows(&three_for_merge());
    for n in 0..2 {
        let (o, r) = with_failure(three_for_merge, n, |o| o.mprotect(B + P, P, RW_PROT));
        assert_eq!(r, Err(ENOMEM));
        assert_eq!(o.last_points(), [AnonVma, Prealloc][..=n as usize].to_vec());
        assert_eq!(rows(&o), before, "point {n}");
    }
}

fn three_unfaulted() -> VmaOracle {
    let mut o = oracle(24);
    map_anon(&mut o, B, 3, RW_PROT);
    o
}

#[test]
fn mmap_fixed_each_point() {
    // mm/mmap.c __mmap_region(): the gather (splits, side-tree store)
    // reattaches on failure; after vms_clean_up_area() a failure of the new
    // VMA's allocation or preallocation leaves a hole (vms_abort_munmap_vmas()).
    let all = [
        VmaAlloc, Prealloc, VmaAlloc, Prealloc, StoreGfp, VmaAlloc, Prealloc,
    ];
    let op = |o: &mut VmaOracle| o.mmap(B + P, P, PROT_READ, PRIV_FIXED, Backing::Anon);
    for n in 0..all.len() {
        let (o, r) = with_failure(three_unfaulted, n as u32, op);
        assert_eq!(r, Err(ENOMEM), "point {n}");
        assert_eq!(o.last_points(), all[..=n].to_vec());
        let want = match n {
            0 | 1 => vec![(B, B + 3 * P, RW, None, pg(B), 0)],
            2 | 3 => vec![
                (B, B + P, RW, None, pg(B), 0),
                (B + P, B + 3 * P, RW, None, pg(B + P), 0),
            ],
            4 => vec![
                (B, B + P, RW, None, pg(B), 0),
                (B + P, B + 2 * P, RW, None, pg(B + P), 0),
                (B + 2 * P, B + 3 * P, RW, None, pg(B + 2 * P), 0),
            ],
            _ => vec![
                (B, B + P, RW, None, pg(B), 0),
                (B + 2 * P, B + 3 * P, RW, None, pg(B + 2 * P), 0),
            ],
        };
        assert_eq!(rows(&o), want, "point {n}");
    }
}

fn one_page() -> VmaOracle {
    let mut o = oracle(24);
    map_anon(&mut o, B, 1, RW_PROT);
    o
}

#[test]
fn mmap_failed_merge_falls_back_to_new_vma() {
    // mm/mmap.c __mmap_region(): a NOMEM vma_merge_new_range() is not an
    // error: a new VMA is allocated next to the unmerged neighbour.
    let op = |o: &mut VmaOracle| o.mmap(B + P, P, RW_PROT, PRIV_FIXED, Backing::Anon);
    let (o, r) = with_failure(one_page, 0, op);
    assert_eq!(r, Ok(B + P));
    assert_eq!(o.last_points(), vec![Prealloc, VmaAlloc, Prealloc]);
    assert_eq!(
        rows(&o),
        vec![
            (B, B + P, RW, None, pg(B), 0),
            (B + P, B + 2 * P, RW, None, pg(B + P), 0)
        ]
    );
}

#[test]
fn brk_points() {
    // mm/mmap.c do_brk_flags(): a new VMA is vm_area_alloc() +
    // vma_iter_store_gfp(); an extension is commit_merge()'s prealloc; any
    // failure returns the old break.
    for n in 0..2 {
        let mut o = oracle(24);
        o.fail_at(n);
        assert_eq!(o.brk(START_BRK + P), START_BRK);
        assert_eq!(
            o.last_points(),
            [VmaAlloc, StoreGfp][..=n as usize].to_vec()
        );
        assert_eq!(o.map_count(), 0);
    }
    let mut o = oracle(24);
    assert_eq!(o.brk(START_BRK + P), START_BRK + P);
    o.fail_at(0);
    assert_eq!(o.brk(START_BRK + 2 * P), START_BRK + P);
    assert_eq!(o.last_points(), vec![Prealloc]);
    assert_eq!(
        rows(&o),
        vec![(START_BRK, START_BRK + P, RW, None, pg(START_BRK), 0)]
    );
}

#[test]
fn touch_point() {
    // mm/rmap.c __anon_vma_prepare(): one point; a failure leaves no anon_vma.
    let mut o = one_page();
    o.fail_at(0);
    assert_eq!(o.touch(B, true), Err(ENOMEM));
    assert_eq!(o.last_points(), vec![AnonVma]);
    assert_eq!(o.vmas()[0].anon, None);
    assert_eq!(o.touch(B, true), Ok(()));
    assert!(o.vmas()[0].anon.is_some());
    assert_eq!(o.touch(B, true), Ok(()));
    assert_eq!(o.last_points(), vec![], "anon_vma already there");
}
