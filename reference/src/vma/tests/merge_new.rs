// SPDX-License-Identifier: GPL-2.0-or-later
//! vma_merge_new_range() through mmap (and the anon_vma it propagates).

use super::common::*;

#[test]
fn new_range_merges_left() {
    // mm/vma.c vma_merge_new_range(): can_vma_merge_left only (prev ends at
    // the new start, same flags/file, pgoff linear): vma_expand() grows prev.
    let mut o = oracle(24);
    map_anon(&mut o, B, 2, RW_PROT);
    map_anon(&mut o, B + 2 * P, 1, RW_PROT);
    assert_eq!(rows(&o), vec![(B, B + 3 * P, RW, None, pg(B), 0)]);
    assert_eq!(o.last_points(), vec![Point::Prealloc], "commit_merge only");
    assert_eq!(o.map_count(), 1);
}

#[test]
fn new_range_merges_right() {
    // mm/vma.c vma_merge_new_range(): can_vma_merge_right only: next is the
    // target, its start moves down and pgoff = next.pgoff - pglen.
    let mut o = oracle(24);
    map_anon(&mut o, B + 2 * P, 1, RW_PROT);
    map_anon(&mut o, B, 2, RW_PROT);
    assert_eq!(rows(&o), vec![(B, B + 3 * P, RW, None, pg(B), 0)]);
    assert_eq!(o.last_points(), vec![Point::Prealloc]);
}

#[test]
fn new_range_merges_both_sides() {
    // mm/vma.c vma_merge_new_range(): left and right: prev grows to
    // next.end and next is deleted (vma_expand() remove_next).
    let mut o = oracle(24);
    map_anon(&mut o, B, 1, RW_PROT);
    map_anon(&mut o, B + 2 * P, 1, RW_PROT);
    map_anon(&mut o, B + P, 1, RW_PROT);
    assert_eq!(rows(&o), vec![(B, B + 3 * P, RW, None, pg(B), 0)]);
    assert_eq!(o.map_count(), 1);
    assert_eq!(
        o.last_points(),
        vec![Point::Prealloc],
        "next has no anon_vma: no dup"
    );
}

#[test]
fn new_range_merges_neither() {
    // mm/vma.c vma_merge_new_range(): flags differ on both sides: NOMERGE;
    // __mmap_region() then allocates and preallocates a new VMA.
    let mut o = oracle(24);
    map_anon(&mut o, B, 1, PROT_READ);
    map_anon(&mut o, B + 2 * P, 1, PROT_READ);
    map_anon(&mut o, B + P, 1, RW_PROT);
    assert_eq!(
        rows(&o),
        vec![
            (B, B + P, R, None, pg(B), 0),
            (B + P, B + 2 * P, RW, None, pg(B + P), 0),
            (B + 2 * P, B + 3 * P, R, None, pg(B + 2 * P), 0),
        ]
    );
    assert_eq!(o.last_points(), vec![Point::VmaAlloc, Point::Prealloc]);
}

#[test]
fn new_range_file_pgoff_must_be_linear() {
    // mm/vma.c can_vma_merge_after(): prev.pgoff + pages(prev) == pgoff.
    let mut o = oracle(24);
    map_file(&mut o, B, 1, PROT_READ, MAP_PRIVATE, 0, 0);
    map_file(&mut o, B + P, 1, PROT_READ, MAP_PRIVATE, 0, 5);
    map_file(&mut o, B + 2 * P, 1, PROT_READ, MAP_PRIVATE, 0, 6);
    assert_eq!(
        rows(&o),
        vec![
            (B, B + P, R, Some(0), 0, 0),
            (B + P, B + 3 * P, R, Some(0), 5, 0)
        ]
    );
}

#[test]
fn new_range_next_with_close_only_extends_prev() {
    // mm/vma.c vma_merge_new_range(): both sides mergeable but next has
    // ->close (can_merge_remove_vma() false): only prev is extended, to the
    // original end.
    let mut o = oracle(24);
    map_file(&mut o, B, 1, PROT_READ, MAP_PRIVATE, 3, 0);
    map_file(&mut o, B + 2 * P, 1, PROT_READ, MAP_PRIVATE, 3, 2);
    map_file(&mut o, B + P, 1, PROT_READ, MAP_PRIVATE, 3, 1);
    assert_eq!(
        rows(&o),
        vec![
            (B, B + 2 * P, R, Some(3), 0, 0),
            (B + 2 * P, B + 3 * P, R, Some(3), 2, 0)
        ]
    );
    // The same with file 0 (no ->close) merges all three.
    let mut o = oracle(24);
    map_file(&mut o, B, 1, PROT_READ, MAP_PRIVATE, 0, 0);
    map_file(&mut o, B + 2 * P, 1, PROT_READ, MAP_PRIVATE, 0, 2);
    map_file(&mut o, B + P, 1, PROT_READ, MAP_PRIVATE, 0, 1);
    assert_eq!(rows(&o), vec![(B, B + 3 * P, R, Some(0), 0, 0)]);
}

#[test]
fn new_range_right_merge_into_close_vma_is_allowed() {
    // mm/vma.c vma_merge_new_range(): right only: next is expanded, not
    // removed, so its ->close does not matter (vma_expand() with vma == next).
    let mut o = oracle(24);
    map_file(&mut o, B + P, 1, PROT_READ, MAP_PRIVATE, 3, 1);
    map_file(&mut o, B, 1, PROT_READ, MAP_PRIVATE, 3, 0);
    assert_eq!(rows(&o), vec![(B, B + 2 * P, R, Some(3), 0, 0)]);
}

#[test]
fn new_range_unfaulted_prev_faulted_next_all_merge() {
    // mm/vma.c vma_merge_new_range() (6.12 rule, kernel-vma.md 3.8): the new
    // range proposes no anon_vma, so it may join an unfaulted prev and a
    // faulted next; prev and next are compatible (one is NULL); vma_expand()
    // dup_anon_vma()s next's anon_vma into prev (an AnonVma point).
    let mut o = oracle(24);
    map_anon(&mut o, B, 1, RW_PROT);
    map_anon(&mut o, B + 2 * P, 1, RW_PROT);
    assert_eq!(o.touch(B + 2 * P, true), Ok(()));
    map_anon(&mut o, B + P, 1, RW_PROT);
    assert_eq!(rows(&o), vec![(B, B + 3 * P, RW, None, pg(B), 1)]);
    assert_eq!(o.last_points(), vec![Point::AnonVma, Point::Prealloc]);
}

#[test]
fn new_range_two_different_anon_vmas_merge_left_only() {
    // mm/vma.c can_vma_merge_right(): each side accepts the new range, but
    // are_anon_vmas_compatible(prev, next) fails (two different anon_vmas):
    // only the left merge happens.
    let mut o = oracle(24);
    map_anon(&mut o, B, 1, RW_PROT);
    map_anon(&mut o, B + 2 * P, 1, RW_PROT);
    assert_eq!(o.touch(B, true), Ok(()));
    assert_eq!(o.touch(B + 2 * P, true), Ok(()));
    map_anon(&mut o, B + P, 1, RW_PROT);
    assert_eq!(
        rows(&o),
        vec![
            (B, B + 2 * P, RW, None, pg(B), 1),
            (B + 2 * P, B + 3 * P, RW, None, pg(B + 2 * P), 2)
        ]
    );
}

#[test]
fn shared_anon_never_merges() {
    // mm/mmap.c do_mmap() anon MAP_SHARED: pgoff 0, VM_SHARED|VM_MAYSHARE;
    // __mmap_region() merges with file NULL (no neighbour matches), then
    // shmem_zero_setup() gives each mapping its own file.
    let mut o = oracle(24);
    let f = MAP_SHARED | MAP_FIXED;
    assert_eq!(o.mmap(B, P, RW_PROT, f, Backing::Anon), Ok(B));
    assert_eq!(o.mmap(B + P, P, RW_PROT, f, Backing::Anon), Ok(B + P));
    assert_eq!(
        rows(&o),
        vec![
            (B, B + P, RW_SHARED, Some(100), 0, 0),
            (B + P, B + 2 * P, RW_SHARED, Some(101), 0, 0)
        ]
    );
}
