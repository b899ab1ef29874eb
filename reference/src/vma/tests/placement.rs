// SPDX-License-Identifier: GPL-2.0-or-later
//! get_unmapped_area() placement and mremap.

use super::common::*;
use Point::*;

const ANON: Backing = Backing::Anon;

#[test]
fn topdown_below_mmap_base_and_merge() {
    // mm/mmap.c generic_get_unmapped_area_topdown(): no hint: the highest
    // fit below mmap_base; the second mapping lands just below the first
    // and vma_merge_new_range() merges it right.
    let mut o = oracle(24);
    assert_eq!(o.mmap(0, P, RW_PROT, MAP_PRIVATE, ANON), Ok(MMAP_BASE - P));
    assert_eq!(
        o.mmap(0, 2 * P, RW_PROT, MAP_PRIVATE, ANON),
        Ok(MMAP_BASE - 3 * P)
    );
    assert_eq!(
        rows(&o),
        vec![(
            MMAP_BASE - 3 * P,
            MMAP_BASE,
            RW,
            None,
            pg(MMAP_BASE - 3 * P),
            0
        )]
    );
}

#[test]
fn hint_taken_when_free() {
    // mm/mmap.c do_mmap() round_hint_to_min() + the hint check of
    // generic_get_unmapped_area_topdown().
    let mut o = oracle(24);
    assert_eq!(
        o.mmap(B + 5, P, PROT_READ, MAP_PRIVATE, ANON),
        Ok(B),
        "rounded down"
    );
    assert_eq!(
        o.mmap(B, P, PROT_READ, MAP_PRIVATE, ANON),
        Ok(MMAP_BASE - P),
        "taken"
    );
    assert_eq!(
        o.mmap(0x1000, P, PROT_READ, MAP_PRIVATE, ANON),
        Ok(MMAP_MIN_ADDR),
        "raised"
    );
}

#[test]
fn stack_guard_gap_pushes_search_down() {
    // mm/mmap.c unmapped_area_topdown(): the candidate just below a
    // VM_GROWSDOWN VMA is within its guard gap: retry with high_limit =
    // vm_start_gap(); the hint check also respects the gap.
    let mut o = oracle(24);
    let gd = MAP_PRIVATE | MAP_FIXED | MAP_GROWSDOWN;
    assert_eq!(
        o.mmap(MMAP_BASE - P, P, RW_PROT, gd, ANON),
        Ok(MMAP_BASE - P)
    );
    let gap = 256 * P;
    assert_eq!(
        o.mmap(0, P, PROT_READ, MAP_PRIVATE, ANON),
        Ok(MMAP_BASE - P - gap - P)
    );
    let hint = MMAP_BASE - 2 * P;
    assert_eq!(
        o.mmap(hint, P, PROT_READ, MAP_PRIVATE, ANON),
        Ok(MMAP_BASE - P - gap - 2 * P)
    );
}

#[test]
fn topdown_falls_back_to_bottom_up() {
    // mm/mmap.c generic_get_unmapped_area_topdown(): nothing free below
    // mmap_base: bottom-up from TASK_UNMAPPED_BASE finds mmap_base itself.
    let mut o = oracle(24);
    let len = MMAP_BASE - MMAP_MIN_ADDR;
    assert_eq!(
        o.mmap(MMAP_MIN_ADDR, len, PROT_NONE, PRIV_FIXED, ANON),
        Ok(MMAP_MIN_ADDR)
    );
    assert_eq!(o.mmap(0, P, PROT_NONE, MAP_PRIVATE, ANON), Ok(MMAP_BASE));
}

#[test]
fn mremap_shrink_and_grow_in_place() {
    // mm/mremap.c mremap(): shrinking unmaps the tail; growing in place goes
    // through vma_merge_extend(), which also swallows a compatible next.
    let mut o = oracle(24);
    map_anon(&mut o, B, 3, RW_PROT);
    assert_eq!(o.mremap(B, 3 * P, P, 0, 0), Ok(B));
    assert_eq!(rows(&o), vec![(B, B + P, RW, None, pg(B), 0)]);
    map_anon(&mut o, B + 3 * P, 1, RW_PROT);
    assert_eq!(o.mremap(B, P, 3 * P, 0, 0), Ok(B));
    assert_eq!(o.last_points(), vec![Prealloc]);
    assert_eq!(rows(&o), vec![(B, B + 4 * P, RW, None, pg(B), 0)]);
}

fn blocked() -> VmaOracle {
    let mut o = oracle(24);
    map_anon(&mut o, B, 1, RW_PROT);
    map_anon(&mut o, B + P, 1, PROT_READ);
    o
}

#[test]
fn mremap_move_unfaulted_resets_pgoff() {
    // mm/vma.c copy_vma(): an unfaulted anonymous VMA takes the pgoff of its
    // new address; a new VMA (vm_area_dup + vma_link), then move_vma()
    // unmaps the old range.
    let mut o = blocked();
    let to = MMAP_BASE - 2 * P;
    assert_eq!(o.mremap(B, P, 2 * P, MREMAP_MAYMOVE, 0), Ok(to));
    assert_eq!(
        o.last_points(),
        vec![VmaAlloc, Prealloc, StoreGfp, StoreGfp]
    );
    assert_eq!(
        rows(&o),
        vec![
            (B + P, B + 2 * P, R, None, pg(B + P), 0),
            (to, MMAP_BASE, RW, None, pg(to), 0)
        ]
    );
}

#[test]
fn mremap_move_faulted_keeps_pgoff_and_anon() {
    // mm/vma.c copy_vma(): a faulted VMA keeps its pgoff and shares its
    // anon_vma (anon_vma_clone - an AnonVma point).
    let mut o = blocked();
    assert_eq!(o.touch(B, true), Ok(()));
    let to = MMAP_BASE - 2 * P;
    assert_eq!(o.mremap(B, P, 2 * P, MREMAP_MAYMOVE, 0), Ok(to));
    assert_eq!(
        o.last_points(),
        vec![VmaAlloc, AnonVma, Prealloc, StoreGfp, StoreGfp]
    );
    assert_eq!(
        rows(&o),
        vec![
            (B + P, B + 2 * P, R, None, pg(B + P), 0),
            (to, MMAP_BASE, RW, None, pg(B), 1)
        ]
    );
}

#[test]
fn mremap_fixed_part_restores_account() {
    // mm/mremap.c move_vma(): VM_ACCOUNT comes off the source before the
    // unmap and goes back on both remaining pieces.
    let mut o = three_pages();
    let to = B + 10 * P;
    let fx = MREMAP_FIXED | MREMAP_MAYMOVE;
    assert_eq!(o.mremap(B + P, P, P, fx, to), Ok(to));
    assert_eq!(
        rows(&o),
        vec![
            (B, B + P, RW, None, pg(B), 0),
            (B + 2 * P, B + 3 * P, RW, None, pg(B + 2 * P), 0),
            (to, to + P, RW, None, pg(to), 0),
        ]
    );
}

fn three_pages() -> VmaOracle {
    let mut o = oracle(24);
    map_anon(&mut o, B, 3, RW_PROT);
    o
}

#[test]
fn mremap_failed_unmap_still_succeeds_without_account() {
    // mm/mremap.c move_vma(): if do_vmi_munmap() of the old range fails the
    // move still returns the new address; the source (split once here)
    // stays mapped and VM_ACCOUNT is not restored on it.
    let mut o = three_pages();
    let to = B + 10 * P;
    o.fail_at(4);
    assert_eq!(
        o.mremap(B + P, P, P, MREMAP_FIXED | MREMAP_MAYMOVE, to),
        Ok(to)
    );
    assert_eq!(
        o.last_points(),
        vec![VmaAlloc, Prealloc, VmaAlloc, Prealloc, VmaAlloc]
    );
    let ro = RW & !VM_ACCOUNT;
    assert_eq!(
        rows(&o),
        vec![
            (B, B + P, ro, None, pg(B), 0),
            (B + P, B + 3 * P, ro, None, pg(B + P), 0),
            (to, to + P, RW, None, pg(to), 0),
        ]
    );
}

#[test]
fn mremap_unfaulted_self_merge() {
    // mm/vma.c copy_vma(): an unfaulted source moved right next to itself
    // merges with itself (the destination pgoff follows the address), then
    // the old range is unmapped from the merged VMA.
    let mut o = oracle(24);
    map_anon(&mut o, B, 2, RW_PROT);
    let fx = MREMAP_FIXED | MREMAP_MAYMOVE;
    assert_eq!(o.mremap(B, P, P, fx, B + 2 * P), Ok(B + 2 * P));
    assert_eq!(rows(&o), vec![(B + P, B + 3 * P, RW, None, pg(B + P), 0)]);
}

#[test]
fn mremap_dontunmap_keeps_source_without_anon() {
    // mm/mremap.c move_vma() MREMAP_DONTUNMAP: the whole source stays,
    // loses its anon_vma, and its pgoff follows its address.
    let mut o = oracle(24);
    map_anon(&mut o, B, 1, RW_PROT);
    assert_eq!(o.touch(B, true), Ok(()));
    let f = MREMAP_DONTUNMAP | MREMAP_MAYMOVE | MREMAP_FIXED;
    assert_eq!(o.mremap(B, P, P, f, B + 4 * P), Ok(B + 4 * P));
    assert_eq!(
        rows(&o),
        vec![
            (B, B + P, RW, None, pg(B), 0),
            (B + 4 * P, B + 5 * P, RW, None, pg(B), 1)
        ]
    );
}
