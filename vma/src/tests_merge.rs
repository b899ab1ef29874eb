// SPDX-License-Identifier: GPL-2.0-or-later
//! One test per Linux 6.12 merge case (`vma_merge_new_range`,
//! `vma_merge_existing_range`, `vma_expand`, `vma_merge_extend`,
//! `copy_vma`), each naming the rule it checks. Expected VMA lists were
//! derived by hand from `mm/vma.c`.

use super::tests::*;
use super::uapi::*;
use super::*;

const P: u64 = PAGE;

fn file_at(m: &mut Mm, addr: u64, pages: u64, file: u8, pgoff: u64) {
    let b = Backing::File { file, pgoff };
    assert_eq!(m.mmap(addr, pages * P, RW, FIX, b), Ok(addr));
    ok(m);
}

fn anons(m: &Mm) -> Vec<Option<u64>> {
    m.vmas().iter().map(|v| v.anon).collect()
}

/// vma_merge_new_range: only prev matches (can_vma_merge_left): prev
/// expands up over the new range.
#[test]
fn new_range_merges_left() {
    let mut m = mm();
    anon_at(&mut m, A, 2);
    anon_at(&mut m, A + 2 * P, 2);
    assert_eq!(ranges(&m), vec![anon_vma(A, A + 4 * P)]);
    assert_eq!(m.last_points(), vec![Point::Prealloc]);
}

/// vma_merge_new_range: only next matches (can_vma_merge_right): next
/// expands down, its pgoff becomes next.pgoff - pglen.
#[test]
fn new_range_merges_right() {
    let mut m = mm();
    file_at(&mut m, A + 2 * P, 2, 0, 7);
    file_at(&mut m, A, 2, 0, 5);
    let v = m.vmas();
    assert_eq!(v.len(), 1);
    assert_eq!(
        (v[0].start, v[0].end, v[0].pgoff, v[0].file),
        (A, A + 4 * P, 5, Some(0))
    );
}

/// vma_merge_new_range + vma_expand: both sides match: prev covers all,
/// next is removed (map_count drops).
#[test]
fn new_range_merges_both() {
    let mut m = mm();
    anon_at(&mut m, A, 1);
    anon_at(&mut m, A + 2 * P, 1);
    assert_eq!(m.map_count(), 2);
    anon_at(&mut m, A + P, 1);
    assert_eq!(ranges(&m), vec![anon_vma(A, A + 3 * P)]);
    assert_eq!(m.map_count(), 1);
}

/// vma_merge_new_range: next has vm_ops->close (file 3), so it cannot be
/// removed (can_merge_remove_vma): the merge is reduced to prev only.
#[test]
fn new_range_next_with_close_merges_left_only() {
    let mut m = mm();
    file_at(&mut m, A, 1, 3, 0);
    file_at(&mut m, A + 2 * P, 1, 3, 2);
    file_at(&mut m, A + P, 1, 3, 1);
    let v: Vec<_> = m.vmas().iter().map(|v| (v.start, v.end, v.pgoff)).collect();
    assert_eq!(v, vec![(A, A + 2 * P, 0), (A + 2 * P, A + 3 * P, 2)]);
}

/// 6.12 (unlike 6.1) lets a ->close VMA be *expanded*: only removal is
/// refused. A new range next to a file-3 VMA merges into it.
#[test]
fn new_range_expands_a_close_vma() {
    let mut m = mm();
    file_at(&mut m, A, 1, 3, 0);
    file_at(&mut m, A + P, 1, 3, 1);
    assert_eq!(m.vmas().len(), 1);
}

/// can_vma_merge_right with can_merge_left: prev and next must have
/// compatible anon_vmas (are_anon_vmas_compatible); two different ones
/// reduce the merge to prev only.
#[test]
fn new_range_incompatible_anon_vmas_merge_left_only() {
    let mut m = mm();
    anon_at(&mut m, A, 1);
    anon_at(&mut m, A + 2 * P, 1);
    m.touch(A, true).unwrap();
    m.touch(A + 2 * P, true).unwrap();
    let [a, b] = [anons(&m)[0], anons(&m)[1]];
    assert_ne!(a, b);
    anon_at(&mut m, A + P, 1);
    assert_eq!(
        ranges(&m),
        vec![anon_vma(A, A + 2 * P), anon_vma(A + 2 * P, A + 3 * P)]
    );
    assert_eq!(anons(&m), vec![a, b]);
}

/// vma_expand: unfaulted prev, new range, faulted next: 6.12 merges all
/// three into prev, which takes next's anon_vma (dup_anon_vma, an AnonVma
/// point before the preallocation). 6.1 grew only next here.
#[test]
fn new_range_unfaulted_prev_faulted_next() {
    let mut m = mm();
    anon_at(&mut m, A, 1);
    anon_at(&mut m, A + 2 * P, 1);
    m.touch(A + 2 * P, true).unwrap();
    let b = anons(&m)[1];
    anon_at(&mut m, A + P, 1);
    assert_eq!(ranges(&m), vec![anon_vma(A, A + 3 * P)]);
    assert_eq!(anons(&m), vec![b]);
    assert_eq!(m.last_points(), vec![Point::AnonVma, Point::Prealloc]);
}

/// can_vma_merge_before/after: file pages must line up (pgoff linear).
#[test]
fn new_range_pgoff_must_be_linear() {
    let mut m = mm();
    file_at(&mut m, A, 1, 0, 0);
    file_at(&mut m, A + P, 1, 0, 5);
    file_at(&mut m, A + 2 * P, 1, 1, 6);
    assert_eq!(m.vmas().len(), 3);
}

/// vma_merge_existing_range, merge_left over the whole middle: middle is
/// deleted, prev covers it.
#[test]
fn existing_merge_left_whole() {
    let mut m = mm();
    anon_at(&mut m, A, 1);
    m.mmap(A + P, P, PROT_READ, FIX, Backing::Anon).unwrap();
    anon_at(&mut m, A + 3 * P, 1);
    m.mprotect(A + P, P, RW).unwrap();
    ok(&m);
    assert_eq!(
        ranges(&m),
        vec![anon_vma(A, A + 2 * P), anon_vma(A + 3 * P, A + 4 * P)]
    );
    assert_eq!(m.map_count(), 2);
}

/// vma_merge_existing_range, merge_left partial (left_side only): prev
/// grows over the head of middle, middle's start and pgoff move up.
#[test]
fn existing_merge_left_partial() {
    let mut m = mm();
    anon_at(&mut m, A, 1);
    m.mmap(A + P, 3 * P, PROT_READ, FIX, Backing::Anon).unwrap();
    m.mprotect(A + P, P, RW).unwrap();
    ok(&m);
    assert_eq!(
        ranges(&m),
        vec![
            anon_vma(A, A + 2 * P),
            (A + 2 * P, A + 4 * P, R_ONLY, (A >> 12) + 2)
        ]
    );
    assert_eq!(m.last_points(), vec![Point::Prealloc]);
}

/// vma_merge_existing_range, merge_right over the whole middle: next
/// grows down over it, pgoff = next.pgoff - pglen, middle deleted.
#[test]
fn existing_merge_right_whole() {
    let mut m = mm();
    m.mmap(A, P, PROT_READ, FIX, Backing::Anon).unwrap();
    anon_at(&mut m, A + P, 1);
    m.mprotect(A, P, RW).unwrap();
    ok(&m);
    assert_eq!(ranges(&m), vec![anon_vma(A, A + 2 * P)]);
    assert_eq!(m.map_count(), 1);
}

/// vma_merge_existing_range, merge_right partial: the one case where the
/// result is next while middle survives shrunk (commit_merge with
/// adj_start < 0 stores next).
#[test]
fn existing_merge_right_partial() {
    let mut m = mm();
    m.mmap(A, 3 * P, PROT_READ, FIX, Backing::Anon).unwrap();
    anon_at(&mut m, A + 3 * P, 1);
    m.mprotect(A + 2 * P, P, RW).unwrap();
    ok(&m);
    assert_eq!(
        ranges(&m),
        vec![
            (A, A + 2 * P, R_ONLY, A >> 12),
            anon_vma(A + 2 * P, A + 4 * P)
        ]
    );
}

/// vma_merge_existing_range: a middle with ->close (file 3) cannot be
/// deleted (can_merge_remove_vma), so a whole-VMA change does not merge
/// and mprotect changes its flags in place; the same sequence on file 1
/// merges all three. Shared mappings, so VM_ACCOUNT plays no part.
#[test]
fn existing_middle_with_close_is_not_deleted() {
    let sh = MAP_SHARED | MAP_FIXED;
    for (file, merged) in [(1u8, 1usize), (3, 3)] {
        let mut m = mm();
        let f = |pgoff| Backing::File { file, pgoff };
        m.mmap(A, P, PROT_READ, sh, f(0)).unwrap();
        m.mmap(A + P, P, RW, sh, f(1)).unwrap();
        m.mmap(A + 2 * P, P, PROT_READ, sh, f(2)).unwrap();
        assert_eq!(m.vmas().len(), 3);
        m.mprotect(A + P, P, PROT_READ).unwrap();
        ok(&m);
        assert_eq!(m.vmas().len(), merged, "file {file}");
        let v = m.vmas();
        assert!(v.iter().all(|x| x.flags == v[0].flags));
    }
}

/// vma_merge_existing_range: a ->close middle that is only partly
/// changed is not deleted, so the merge goes ahead (merge_left partial).
#[test]
fn existing_close_middle_partial_merges() {
    let sh = MAP_SHARED | MAP_FIXED;
    let mut m = mm();
    let f = |pgoff| Backing::File { file: 3, pgoff };
    m.mmap(A, P, PROT_READ, sh, f(0)).unwrap();
    m.mmap(A + P, 2 * P, RW, sh, f(1)).unwrap();
    m.mprotect(A + P, P, PROT_READ).unwrap();
    ok(&m);
    let v: Vec<_> = m.vmas().iter().map(|v| (v.start, v.end, v.pgoff)).collect();
    assert_eq!(v, vec![(A, A + 2 * P, 0), (A + 2 * P, A + 3 * P, 2)]);
}

/// vma_merge_existing_range: a range strictly inside a VMA never merges;
/// vma_modify splits it in three.
#[test]
fn existing_inner_range_splits_three_ways() {
    let mut m = mm();
    anon_at(&mut m, A, 3);
    m.mprotect(A + P, P, PROT_READ).unwrap();
    use Point::*;
    assert_eq!(
        m.last_points(),
        vec![VmaAlloc, Prealloc, VmaAlloc, Prealloc]
    );
    assert_eq!(m.map_count(), 3);
}

/// is_mergeable_anon_vma (6.12's old rule): a faulted middle cannot merge
/// into an unfaulted neighbour (the neighbour's chain is empty, not
/// singular), while an unfaulted middle merges into a faulted one.
#[test]
fn existing_faulted_into_unfaulted_refused() {
    let mut m = mm();
    m.mmap(A, P, PROT_READ, FIX, Backing::Anon).unwrap();
    anon_at(&mut m, A + P, 1);
    m.mprotect(A, P, RW).unwrap();
    assert_eq!(m.vmas().len(), 1, "both unfaulted: merged");
    let mut m = mm();
    m.mmap(A, P, RW, FIX, Backing::Anon).unwrap();
    m.touch(A, true).unwrap();
    m.mprotect(A, P, PROT_READ).unwrap();
    anon_at(&mut m, A + P, 1);
    assert_eq!(m.vmas().len(), 2);
    // Faulted middle, unfaulted next: refused.
    m.mprotect(A, P, RW).unwrap();
    assert_eq!(m.vmas().len(), 2);
    // An unfaulted middle between an unfaulted prev and a faulted next
    // merges both ways; prev takes next's anon_vma.
    let a = anons(&m)[0];
    anon_at(&mut m, A + 3 * P, 1);
    m.mmap(A + 2 * P, P, PROT_READ, FIX, Backing::Anon).unwrap();
    m.touch(A + 3 * P, true).unwrap();
    let b = anons(&m)[3];
    m.mprotect(A + 2 * P, P, RW).unwrap();
    ok(&m);
    assert_eq!(
        ranges(&m),
        vec![anon_vma(A, A + P), anon_vma(A + P, A + 4 * P)]
    );
    assert_eq!(anons(&m), vec![a, b]);
}

/// vma_merge_existing_range merge_both: prev without anon_vma takes next's
/// (dup_anon_vma from next when it has one, else from middle).
#[test]
fn existing_merge_both_dups_next_anon() {
    let mut m = mm();
    anon_at(&mut m, A, 1);
    m.mmap(A + P, P, PROT_READ, FIX, Backing::Anon).unwrap();
    anon_at(&mut m, A + 2 * P, 1);
    m.touch(A + 2 * P, true).unwrap();
    let n = anons(&m)[2];
    m.mprotect(A + P, P, RW).unwrap();
    ok(&m);
    assert_eq!(ranges(&m), vec![anon_vma(A, A + 3 * P)]);
    assert_eq!(anons(&m), vec![n]);
    assert_eq!(m.last_points(), vec![Point::AnonVma, Point::Prealloc]);
}

/// mremap in place: vma_merge_extend expands the VMA and, as the range
/// now touches next, absorbs it (vma_expand removes next).
#[test]
fn mremap_grow_in_place_merges_next() {
    let mut m = mm();
    anon_at(&mut m, A, 1);
    anon_at(&mut m, A + 3 * P, 1);
    assert_eq!(m.mremap(A, P, 3 * P, 0, 0), Ok(A));
    ok(&m);
    assert_eq!(ranges(&m), vec![anon_vma(A, A + 4 * P)]);
    // No room: without MAYMOVE, ENOMEM.
    anon_at(&mut m, A + 5 * P, 1);
    assert_eq!(m.mremap(A, 4 * P, 6 * P, 0, 0), Err(Errno::ENOMEM));
}

/// mremap move (copy_vma): an unfaulted anonymous VMA gets pgoff =
/// new_addr >> PAGE_SHIFT and merges at its destination; the old range is
/// unmapped. A faulted one keeps its pgoff (so it does not merge there).
#[test]
fn mremap_move_pgoff_rules() {
    let mut m = mm();
    anon_at(&mut m, A, 2);
    anon_at(&mut m, A + 0x10000, 1);
    let to = A + 0x10000 + P;
    let r = m.mremap(A, 2 * P, 2 * P, MREMAP_MAYMOVE | MREMAP_FIXED, to);
    assert_eq!(r, Ok(to));
    ok(&m);
    assert_eq!(ranges(&m), vec![anon_vma(A + 0x10000, to + 2 * P)]);
    let mut m = mm();
    anon_at(&mut m, A, 2);
    m.touch(A, true).unwrap();
    anon_at(&mut m, A + 0x10000, 1);
    let r = m.mremap(A, 2 * P, 2 * P, MREMAP_MAYMOVE | MREMAP_FIXED, to);
    assert_eq!(r, Ok(to));
    ok(&m);
    let v = m.vmas();
    assert_eq!(v.len(), 2);
    assert_eq!((v[1].start, v[1].pgoff), (to, A >> 12));
}

/// move_vma: VM_ACCOUNT is cleared on the source, then restored on what
/// is left on either side of the moved range.
#[test]
fn mremap_move_keeps_account_on_remnants() {
    let mut m = mm();
    anon_at(&mut m, A, 4);
    m.touch(A, true).unwrap();
    let to = A + 0x100000;
    let r = m.mremap(A + P, P, P, MREMAP_MAYMOVE | MREMAP_FIXED, to);
    assert_eq!(r, Ok(to));
    ok(&m);
    let v = m.vmas();
    let flags: Vec<_> = v.iter().map(|v| (v.start, v.flags)).collect();
    assert_eq!(
        flags,
        vec![(A, RW_ANON), (A + 2 * P, RW_ANON), (to, RW_ANON)]
    );
    assert_eq!(m.mremap(A, P, P, MREMAP_FIXED, to), Err(Errno::EINVAL));
    assert_eq!(m.mremap(A + P, P, P, 0, 0), Err(Errno::EFAULT));
    // mremap_to: the old and new ranges overlap.
    let fixed = MREMAP_MAYMOVE | MREMAP_FIXED;
    assert_eq!(m.mremap(A, 2 * P, 2 * P, fixed, A + P), Err(Errno::EINVAL));
}

/// move_vma with MREMAP_DONTUNMAP: the source keeps its range but loses
/// its anon_vma (unlink_anon_vmas) and, being anonymous, gets pgoff =
/// start >> PAGE_SHIFT; the copy keeps the faulted pgoff and anon_vma.
#[test]
fn mremap_dontunmap() {
    let mut m = mm();
    anon_at(&mut m, A, 2);
    m.touch(A, true).unwrap();
    let a = anons(&m)[0];
    let flags = MREMAP_MAYMOVE | MREMAP_DONTUNMAP;
    assert_eq!(m.mremap(A, 2 * P, 3 * P, flags, 0), Err(Errno::EINVAL));
    let to = MMAP_BASE - 2 * P;
    assert_eq!(m.mremap(A, 2 * P, 2 * P, flags, 0), Ok(to));
    ok(&m);
    assert_eq!(
        ranges(&m),
        vec![anon_vma(A, A + 2 * P), (to, MMAP_BASE, RW_ANON, A >> 12)]
    );
    assert_eq!(anons(&m), vec![None, a]);
}
