// SPDX-License-Identifier: GPL-2.0-or-later
//! vma_merge_existing_range() and vma_modify() through mprotect.

use super::common::*;

const RX: u64 = VM_READ | VM_EXEC | MAY;
const RX_PROT: u32 = PROT_READ | PROT_EXEC;

#[test]
fn existing_range_merges_both() {
    // mm/vma.c vma_merge_existing_range(): the whole middle VMA becomes
    // equal to prev and next: prev grows over both, middle and next are
    // deleted. mm/mprotect.c mprotect_fixup() adds VM_ACCOUNT when the
    // unaccounted middle becomes writable, so the flags match.
    let mut o = oracle(24);
    map_anon(&mut o, B, 1, RW_PROT);
    map_anon(&mut o, B + 2 * P, 1, RW_PROT);
    map_anon(&mut o, B + P, 1, PROT_READ);
    assert_eq!(o.map_count(), 3);
    assert_eq!(o.mprotect(B + P, P, RW_PROT), Ok(()));
    assert_eq!(rows(&o), vec![(B, B + 3 * P, RW, None, pg(B), 0)]);
    assert_eq!(o.last_points(), vec![Point::Prealloc]);
}

#[test]
fn existing_range_merges_both_dups_next_anon_into_prev() {
    // mm/vma.c vma_merge_existing_range(), merge_both: an unfaulted prev
    // takes next's anon_vma (dup_anon_vma(prev, next) - an AnonVma point);
    // prev and next are compatible because prev's is NULL.
    let mut o = oracle(24);
    map_anon(&mut o, B, 1, RW_PROT);
    map_anon(&mut o, B + 2 * P, 1, RW_PROT);
    assert_eq!(o.touch(B + 2 * P, true), Ok(()));
    map_anon(&mut o, B + P, 1, PROT_READ);
    assert_eq!(o.mprotect(B + P, P, RW_PROT), Ok(()));
    assert_eq!(rows(&o), vec![(B, B + 3 * P, RW, None, pg(B), 1)]);
    assert_eq!(o.last_points(), vec![Point::AnonVma, Point::Prealloc]);
}

#[test]
fn existing_range_merges_left_whole() {
    // mm/vma.c vma_merge_existing_range(): merge_left over the whole VMA:
    // prev grows to its end, the VMA is deleted. The unfaulted anonymous
    // VMA losing write drops VM_ACCOUNT (mprotect_fixup()).
    let mut o = oracle(24);
    map_anon(&mut o, B, 1, PROT_READ);
    map_anon(&mut o, B + P, 1, RW_PROT);
    assert_eq!(o.mprotect(B + P, P, PROT_READ), Ok(()));
    assert_eq!(rows(&o), vec![(B, B + 2 * P, R, None, pg(B), 0)]);
    assert_eq!(o.last_points(), vec![Point::Prealloc]);
}

#[test]
fn existing_range_merges_left_partial() {
    // mm/vma.c vma_merge_existing_range(): merge_left, left side only: prev
    // grows to `end`, the VMA starts at `end` with its pgoff advanced.
    let mut o = oracle(24);
    map_anon(&mut o, B, 1, PROT_READ);
    map_anon(&mut o, B + P, 2, RW_PROT);
    assert_eq!(o.mprotect(B + P, P, PROT_READ), Ok(()));
    assert_eq!(
        rows(&o),
        vec![
            (B, B + 2 * P, R, None, pg(B), 0),
            (B + 2 * P, B + 3 * P, RW, None, pg(B + 2 * P), 0)
        ]
    );
    assert_eq!(o.last_points(), vec![Point::Prealloc]);
}

#[test]
fn existing_range_merges_right_whole() {
    // mm/vma.c vma_merge_existing_range(): merge_right over the whole VMA:
    // next grows down to its start (pgoff = next.pgoff - pglen), the VMA is
    // deleted.
    let mut o = oracle(24);
    map_anon(&mut o, B, 1, RW_PROT);
    map_anon(&mut o, B + P, 1, PROT_READ);
    assert_eq!(o.mprotect(B, P, PROT_READ), Ok(()));
    assert_eq!(rows(&o), vec![(B, B + 2 * P, R, None, pg(B), 0)]);
}

#[test]
fn existing_range_merges_right_partial() {
    // mm/vma.c vma_merge_existing_range(): merge_right, right side only: the
    // VMA shrinks to [start, range start) and next grows down to the range
    // start (the one case where the result is next and the VMA survives).
    let mut o = oracle(24);
    map_anon(&mut o, B, 2, RW_PROT);
    map_anon(&mut o, B + 2 * P, 1, PROT_READ);
    assert_eq!(o.mprotect(B + P, P, PROT_READ), Ok(()));
    assert_eq!(
        rows(&o),
        vec![
            (B, B + P, RW, None, pg(B), 0),
            (B + P, B + 3 * P, R, None, pg(B + P), 0)
        ]
    );
    assert_eq!(o.last_points(), vec![Point::Prealloc]);
}

#[test]
fn existing_range_middle_of_vma_never_merges() {
    // mm/vma.c vma_merge_existing_range(): neither side of the VMA: NOMERGE;
    // vma_modify() splits at start (new below) then at end.
    let mut o = oracle(24);
    map_anon(&mut o, B, 3, RW_PROT);
    assert_eq!(o.mprotect(B + P, P, PROT_READ), Ok(()));
    assert_eq!(
        rows(&o),
        vec![
            (B, B + P, RW, None, pg(B), 0),
            (B + P, B + 2 * P, R, None, pg(B + P), 0),
            (B + 2 * P, B + 3 * P, RW, None, pg(B + 2 * P), 0),
        ]
    );
    use Point::*;
    assert_eq!(
        o.last_points(),
        vec![VmaAlloc, Prealloc, VmaAlloc, Prealloc]
    );
}

#[test]
fn existing_range_faulted_vma_cannot_join_unfaulted_prev() {
    // mm/vma.c is_mergeable_anon_vma(): the proposed anon_vma (the VMA's)
    // is set and prev's chain is empty: refused (the 6.12 "Y/NULL" rule).
    // mprotect_fixup() keeps VM_ACCOUNT on a file mapping, so flags match.
    let mut o = oracle(24);
    map_file(&mut o, B, 2, RW_PROT, MAP_PRIVATE, 0, 0);
    assert_eq!(o.mprotect(B, P, PROT_READ), Ok(()));
    assert_eq!(o.touch(B + P, true), Ok(()));
    assert_eq!(o.mprotect(B + P, P, PROT_READ), Ok(()));
    let racc = R | VM_ACCOUNT;
    assert_eq!(
        rows(&o),
        vec![
            (B, B + P, racc, Some(0), 0, 0),
            (B + P, B + 2 * P, racc, Some(0), 1, 1)
        ]
    );
}

#[test]
fn existing_range_close_vma_cannot_be_deleted() {
    // mm/vma.c vma_merge_existing_range(): merge_will_delete_vma and the
    // VMA has ->close: NOMERGE; the flags change in place (no split needed).
    let mut o = oracle(24);
    map_file(&mut o, B, 1, PROT_READ, MAP_PRIVATE, 3, 0);
    map_file(&mut o, B + P, 1, RX_PROT, MAP_PRIVATE, 3, 1);
    assert_eq!(o.mprotect(B + P, P, PROT_READ), Ok(()));
    assert_eq!(
        rows(&o),
        vec![
            (B, B + P, R, Some(3), 0, 0),
            (B + P, B + 2 * P, R, Some(3), 1, 0)
        ]
    );
    assert_eq!(o.last_points(), vec![]);
    // Control: file 0 has no ->close and merges.
    let mut o = oracle(24);
    map_file(&mut o, B, 1, PROT_READ, MAP_PRIVATE, 0, 0);
    map_file(&mut o, B + P, 1, RX_PROT, MAP_PRIVATE, 0, 1);
    assert_eq!(o.mprotect(B + P, P, PROT_READ), Ok(()));
    assert_eq!(rows(&o), vec![(B, B + 2 * P, R, Some(0), 0, 0)]);
}

#[test]
fn existing_range_close_vma_partial_merge_is_allowed() {
    // mm/vma.c vma_merge_existing_range(): left side only: the ->close VMA
    // only shrinks, so the merge goes ahead.
    let mut o = oracle(24);
    map_file(&mut o, B, 1, PROT_READ, MAP_PRIVATE, 3, 0);
    map_file(&mut o, B + P, 2, RX_PROT, MAP_PRIVATE, 3, 1);
    assert_eq!(o.mprotect(B + P, P, PROT_READ), Ok(()));
    assert_eq!(
        rows(&o),
        vec![
            (B, B + 2 * P, R, Some(3), 0, 0),
            (B + 2 * P, B + 3 * P, RX, Some(3), 2, 0)
        ]
    );
}

#[test]
fn mprotect_walk_continues_after_merge() {
    // mm/mprotect.c do_mprotect_pkey(): after each mprotect_fixup() the walk
    // resumes at vma_iter_end() of the VMA now covering the range start;
    // two VMAs changed in one call, the second merging with the first.
    let mut o = oracle(24);
    map_anon(&mut o, B, 1, PROT_READ);
    map_anon(&mut o, B + P, 1, RX_PROT);
    assert_eq!(o.mprotect(B, 2 * P, RW_PROT), Ok(()));
    assert_eq!(rows(&o), vec![(B, B + 2 * P, RW, None, pg(B), 0)]);
}

#[test]
fn touch_reuses_compatible_neighbour_anon_vma() {
    // mm/vma.c find_mergeable_anon_vma(): next first, then prev; flags may
    // differ only in the access bits (anon_vma_compatible()). Then the two
    // VMAs share an anon_vma and mprotect can merge them.
    let mut o = oracle(24);
    map_anon(&mut o, B, 1, RW_PROT);
    map_anon(&mut o, B + P, 1, PROT_WRITE);
    assert_eq!(o.touch(B, true), Ok(()));
    assert_eq!(o.last_points(), vec![Point::AnonVma]);
    assert_eq!(o.touch(B + P, true), Ok(()));
    let w = VM_WRITE | MAY | VM_ACCOUNT;
    assert_eq!(
        rows(&o),
        vec![
            (B, B + P, RW, None, pg(B), 1),
            (B + P, B + 2 * P, w, None, pg(B + P), 1)
        ]
    );
    assert_eq!(o.mprotect(B + P, P, RW_PROT), Ok(()));
    assert_eq!(rows(&o), vec![(B, B + 2 * P, RW, None, pg(B), 1)]);
}
