// SPDX-License-Identifier: GPL-2.0-or-later
//! fork (kernel/fork.c dup_mmap(), mm/rmap.c anon_vma_fork() /
//! anon_vma_clone() / unlink_anon_vmas(), mm/mmap.c exit_mmap()) and the
//! anon_vma hierarchy it builds, as seen by merging (mm/vma.c
//! is_mergeable_anon_vma()) and by anon_vma_prepare()'s reuse
//! (reusable_anon_vma()). The expectations were worked out from those
//! functions by hand.

use super::common::*;
use crate::vma::{ForkKeep, VmaErrno::ENOMEM, VmaView};
use ForkKeep::{Child, Parent};
use Point::*;

/// `(start, end, chain_len)` of every VMA.
fn chains(o: &VmaOracle) -> Vec<(u64, u64, u32)> {
    o.vmas()
        .into_iter()
        .map(|v| (v.start, v.end, v.chain_len))
        .collect()
}

/// The live anon_vmas with all their fields, for exact comparisons.
fn anon_state(o: &VmaOracle) -> String {
    format!("{:?}", o.anon.live())
}

fn checked(o: &VmaOracle) {
    if let Err(e) = o.check_anon_vmas() {
        panic!("anon_vma bookkeeping: {e}");
    }
}

fn view(o: &VmaOracle, addr: u64) -> VmaView {
    o.vmas()
        .into_iter()
        .find(|v| v.start <= addr && addr < v.end)
        .expect("no VMA there")
}

/// One VMA of each kind dup_mmap() treats differently, separated by holes:
/// A faulted at B (2 pages), C with VM_DONTCOPY at B+4P, D faulted then
/// VM_WIPEONFORK at B+6P, E with VM_LOCKED at B+8P, F a shared file
/// mapping at B+10P (file 0, pgoff 5), and a brk heap page; all added to
/// `o`.
fn mixed_on(mut o: VmaOracle) -> VmaOracle {
    map_anon(&mut o, B, 2, RW_PROT);
    assert_eq!(o.touch(B, true), Ok(()));
    map_anon(&mut o, B + 4 * P, 1, RW_PROT);
    assert_eq!(o.madvise(B + 4 * P, P, MADV_DONTFORK), Ok(()));
    map_anon(&mut o, B + 6 * P, 1, RW_PROT);
    assert_eq!(o.touch(B + 6 * P, true), Ok(()));
    assert_eq!(o.madvise(B + 6 * P, P, MADV_WIPEONFORK), Ok(()));
    assert_eq!(
        o.mmap(
            B + 8 * P,
            P,
            RW_PROT,
            PRIV_FIXED | MAP_LOCKED,
            Backing::Anon
        ),
        Ok(B + 8 * P)
    );
    map_file(&mut o, B + 10 * P, 1, RW_PROT, MAP_SHARED, 0, 5);
    assert_eq!(o.brk(START_BRK + P), START_BRK + P);
    checked(&o);
    o
}

fn mixed() -> VmaOracle {
    mixed_on(oracle(24))
}

#[test]
fn dup_mmap_copies_skips_wipes_and_unlocks() {
    // kernel/fork.c dup_mmap(): VM_DONTCOPY is cleared from the child
    // (vma_iter_clear_gfp, StoreGfp); every other VMA is vm_area_dup()ed
    // (VmaAlloc); VM_WIPEONFORK gets anon_vma = NULL without any
    // anon_vma_fork(); otherwise anon_vma_fork() runs anon_vma_clone()
    // (AnonVma) and, reusing nothing, allocates the child's own anon_vma
    // (AnonVma); VM_LOCKED_MASK is cleared. __mt_dup() comes first
    // (TreeDup).
    let parent = mixed();
    let pa = view(&parent, B);
    for keep in [Child, Parent] {
        let mut o = parent.clone();
        assert_eq!(o.fork(keep), Ok(()), "{keep:?}");
        assert_eq!(
            o.last_points(),
            vec![
                TreeDup, VmaAlloc, AnonVma, AnonVma, StoreGfp, VmaAlloc, VmaAlloc, VmaAlloc,
                VmaAlloc
            ],
            "{keep:?}"
        );
        assert_eq!(o.brk_value(), START_BRK + P);
        checked(&o);
        if keep == Parent {
            // The child exited; the parent is as it was.
            assert_eq!(o.vmas(), parent.vmas());
            assert_eq!(anon_state(&o), anon_state(&parent));
            continue;
        }
        assert_eq!(o.map_count(), 5, "C is not copied");
        assert_eq!(
            rows(&o),
            vec![
                (B, B + 2 * P, RW, None, pg(B), 1),
                (
                    B + 6 * P,
                    B + 7 * P,
                    RW | VM_WIPEONFORK,
                    None,
                    pg(B + 6 * P),
                    0
                ),
                (B + 8 * P, B + 9 * P, RW, None, pg(B + 8 * P), 0),
                (B + 10 * P, B + 11 * P, RW_SHARED, Some(0), 5, 0),
                (START_BRK, START_BRK + P, RW, None, pg(START_BRK), 0),
            ]
        );
        assert_eq!(
            chains(&o),
            vec![
                (B, B + 2 * P, 2),
                (B + 6 * P, B + 7 * P, 0),
                (B + 8 * P, B + 9 * P, 0),
                (B + 10 * P, B + 11 * P, 0),
                (START_BRK, START_BRK + P, 0),
            ]
        );
        let ca = view(&o, B);
        assert_ne!(ca.anon, pa.anon, "anon_vma_fork() made a new anon_vma");
        // Its parent is the parent VMA's anon_vma, its root that one's root.
        let a = &o.anon.anon_vmas[&ca.anon.unwrap()];
        assert_eq!(a.parent, pa.anon.unwrap());
        assert_eq!(a.root, pa.anon.unwrap());
    }
}

#[test]
fn forked_chain_blocks_merge_with_unfaulted_neighbour() {
    // mm/vma.c is_mergeable_anon_vma(): a range without anon_vma merges
    // with a VMA that has one only if that VMA's chain is singular. After
    // fork(Child) the inherited faulted VMA's chain is [own, parent's].
    for forked in [false, true] {
        // The new range goes after the faulted VMA (can_vma_merge_after).
        let mut o = oracle(24);
        map_anon(&mut o, B, 1, RW_PROT);
        assert_eq!(o.touch(B, true), Ok(()));
        if forked {
            assert_eq!(o.fork(Child), Ok(()));
        }
        map_anon(&mut o, B + P, 1, RW_PROT);
        checked(&o);
        if forked {
            assert_eq!(chains(&o), vec![(B, B + P, 2), (B + P, B + 2 * P, 0)]);
        } else {
            assert_eq!(rows(&o), vec![(B, B + 2 * P, RW, None, pg(B), 1)]);
            assert_eq!(chains(&o), vec![(B, B + 2 * P, 1)]);
        }

        // The new range goes before it (can_vma_merge_before).
        let mut o = oracle(24);
        map_anon(&mut o, B + P, 1, RW_PROT);
        assert_eq!(o.touch(B + P, true), Ok(()));
        if forked {
            assert_eq!(o.fork(Child), Ok(()));
        }
        map_anon(&mut o, B, 1, RW_PROT);
        checked(&o);
        let want = if forked {
            vec![(B, B + P, 0), (B + P, B + 2 * P, 2)]
        } else {
            vec![(B, B + 2 * P, 1)]
        };
        assert_eq!(chains(&o), want, "forked: {forked}");
    }
}

#[test]
fn fork_parent_keeps_chain_singular() {
    // unlink_anon_vmas() at the child's exit_mmap() takes the child's links
    // off; the parent's chain is untouched, so it still merges.
    let mut o = oracle(24);
    map_anon(&mut o, B, 1, RW_PROT);
    assert_eq!(o.touch(B, true), Ok(()));
    let before = anon_state(&o);
    assert_eq!(o.fork(Parent), Ok(()));
    assert_eq!(anon_state(&o), before);
    map_anon(&mut o, B + P, 1, RW_PROT);
    assert_eq!(rows(&o), vec![(B, B + 2 * P, RW, None, pg(B), 1)]);
    checked(&o);
}

#[test]
fn anon_vma_prepare_refuses_forked_neighbour() {
    // mm/vma.c find_mergeable_anon_vma() / reusable_anon_vma(): a write
    // fault takes a compatible neighbour's anon_vma only when that
    // neighbour's chain is singular. The neighbours differ in VM_EXEC only
    // (no merge, but anon_vma_compatible()).
    for forked in [false, true] {
        let mut o = oracle(24);
        map_anon(&mut o, B, 1, RW_PROT);
        assert_eq!(o.touch(B, true), Ok(()));
        map_anon(&mut o, B + P, 1, RW_PROT | PROT_EXEC);
        if forked {
            assert_eq!(o.fork(Child), Ok(()));
        }
        assert_eq!(o.touch(B + P, true), Ok(()));
        assert_eq!(o.last_points(), vec![AnonVma]);
        checked(&o);
        let (prev, v) = (view(&o, B), view(&o, B + P));
        assert_eq!(v.chain_len, 1);
        if forked {
            assert_ne!(v.anon, prev.anon, "a new root, not the forked one");
            let a = &o.anon.anon_vmas[&v.anon.unwrap()];
            assert_eq!((a.root, a.num_children), (v.anon.unwrap(), 1));
        } else {
            assert_eq!(v.anon, prev.anon, "reused");
        }
    }
}

#[test]
fn anon_vma_clone_reuse_in_a_chain_of_forks() {
    // mm/rmap.c anon_vma_clone() from anon_vma_fork(): walking the parent
    // VMA's chain oldest first, the first anon_vma with num_children < 2
    // and num_active_vmas == 0 becomes the child's, and anon_vma_fork()
    // then allocates nothing (no second AnonVma point).
    // A0 = root (children: self). fork 1: A0 has an active VMA -> new A1
    // (A0 children 2); the parent exits: A0 active 0. fork 2: A0 has 2
    // children, A1 an active VMA -> new A2 (A1 children 1); the parent
    // exits: A1 active 0. fork 3: A0 no, A1 (1 child, 0 active) reused.
    // fork 4: A0 no, A1 active again, A2 (0, 0) reused.
    let mut o = oracle(24);
    map_anon(&mut o, B, 1, RW_PROT);
    assert_eq!(o.touch(B, true), Ok(()));
    let a0 = view(&o, B).anon.unwrap();
    let fresh = vec![TreeDup, VmaAlloc, AnonVma, AnonVma];
    let reuse = vec![TreeDup, VmaAlloc, AnonVma];

    assert_eq!(o.fork(Child), Ok(()));
    assert_eq!(o.last_points(), fresh, "fork 1");
    let v = view(&o, B);
    let a1 = v.anon.unwrap();
    assert_eq!((v.chain_len, a1 != a0), (2, true));
    checked(&o);

    assert_eq!(o.fork(Child), Ok(()));
    assert_eq!(o.last_points(), fresh, "fork 2");
    let v = view(&o, B);
    let a2 = v.anon.unwrap();
    assert_eq!(v.chain_len, 3);
    assert!(a2 != a0 && a2 != a1);
    assert_eq!(o.anon.anon_vmas[&a2].parent, a1);
    assert_eq!(o.anon.anon_vmas[&a2].root, a0);
    checked(&o);

    assert_eq!(o.fork(Child), Ok(()));
    assert_eq!(o.last_points(), reuse, "fork 3");
    let v = view(&o, B);
    assert_eq!((v.anon, v.chain_len), (Some(a1), 3), "fork 3 reuses A1");
    checked(&o);

    assert_eq!(o.fork(Child), Ok(()));
    assert_eq!(o.last_points(), reuse, "fork 4");
    let v = view(&o, B);
    assert_eq!((v.anon, v.chain_len), (Some(a2), 3), "fork 4 reuses A2");
    checked(&o);

    // fork(Parent) over and over never reuses: the parent's VMA stays
    // active on A0 and the child's anon_vma dies with it.
    let mut p = oracle(24);
    map_anon(&mut p, B, 1, RW_PROT);
    assert_eq!(p.touch(B, true), Ok(()));
    for i in 0..3 {
        assert_eq!(p.fork(Parent), Ok(()));
        assert_eq!(p.last_points(), fresh, "fork(Parent) {i}");
        assert_eq!(view(&p, B).chain_len, 1);
        checked(&p);
    }
}

#[test]
fn anon_vma_clone_walks_oldest_first() {
    // anon_vma_clone() walks the source chain with
    // list_for_each_entry_reverse(): from the tail, i.e. the oldest link
    // (anon_vma_chain_assign() adds at the head). Build a chain
    // [A3, A2, A1, A0] in which both A1 and A2 qualify for reuse:
    // fork 1 gives V1 its A1; a split makes two VMAs on A1 (active 2), so
    // fork 2 gives each piece its own child of A1 (A2 and A2'; A1 has two
    // children); fork 3 gives them A3 under A2 and A3' under A2'. Once the
    // parents exited, A2 and A2' have one child and no active VMA; unmapping
    // the second piece kills A3' and A2', so A1 is down to one child (A2)
    // and no active VMA too. The first piece then moves (mremap:
    // copy_vma()'s anon_vma_clone() must keep the order, as the split's
    // did). Fork 4 of it reuses A1, the older one (walking from the head
    // would have picked A2).
    let mut o = oracle(24);
    map_anon(&mut o, B, 2, RW_PROT);
    assert_eq!(o.touch(B, true), Ok(()));
    assert_eq!(o.fork(Child), Ok(()));
    let a1 = view(&o, B).anon.unwrap();
    assert_eq!(o.mprotect(B + P, P, PROT_READ), Ok(()));
    assert_eq!(chains(&o), vec![(B, B + P, 2), (B + P, B + 2 * P, 2)]);
    assert_eq!(o.fork(Child), Ok(()));
    let fresh = vec![TreeDup, VmaAlloc, AnonVma, AnonVma];
    let two_fresh = [fresh.clone(), fresh[1..].to_vec()].concat();
    assert_eq!(o.last_points(), two_fresh, "fork 2: nothing reusable");
    let a2 = view(&o, B).anon.unwrap();
    assert_eq!(o.fork(Child), Ok(()));
    assert_eq!(o.last_points(), two_fresh, "fork 3: nothing reusable");
    assert_eq!(chains(&o), vec![(B, B + P, 4), (B + P, B + 2 * P, 4)]);
    assert_eq!(o.munmap(B + P, P), Ok(()));
    checked(&o);
    let (av1, av2) = (&o.anon.anon_vmas[&a1], &o.anon.anon_vmas[&a2]);
    assert_eq!((av1.num_children, av1.num_active_vmas), (1, 0));
    assert_eq!((av2.num_children, av2.num_active_vmas), (1, 0));
    let to = B + 40 * P;
    assert_eq!(o.mremap(B, P, P, MREMAP_MAYMOVE | MREMAP_FIXED, to), Ok(to));
    assert_eq!(chains(&o), vec![(to, to + P, 4)]);
    assert_eq!(o.fork(Child), Ok(()));
    assert_eq!(o.last_points(), vec![TreeDup, VmaAlloc, AnonVma]);
    assert_eq!(view(&o, to).anon, Some(a1), "the oldest qualifying one");
    assert_eq!(view(&o, to).chain_len, 4);
    checked(&o);
}

#[test]
fn fork_failure_at_every_point_leaves_parent_unchanged() {
    // dup_mmap(): a failure at __mt_dup() leaves no child; a failure in
    // the loop marks the failing VMA (XA_ZERO_ENTRY) and exit_mmap() tears
    // down the copies before it (unlink_anon_vmas() each), the failing
    // VMA's partial chain having been unlinked by anon_vma_clone() /
    // anon_vma_fork(). Whatever `keep` says, the object stays the parent.
    // The mix: G at B+12P went through two fork(Child)s, so this fork's
    // anon_vma_clone() reuses for it (one AnonVma point).
    let setup = || {
        let mut o = oracle(24);
        map_anon(&mut o, B + 12 * P, 1, RW_PROT);
        assert_eq!(o.touch(B + 12 * P, true), Ok(()));
        assert_eq!(o.fork(Child), Ok(()));
        assert_eq!(o.fork(Child), Ok(()));
        mixed_on(o)
    };
    let all = vec![
        TreeDup, // __mt_dup
        VmaAlloc, AnonVma, AnonVma,  // A: dup, clone, own anon_vma
        StoreGfp, // C: vma_iter_clear_gfp
        VmaAlloc, // D: WIPEONFORK, no anon_vma_fork
        VmaAlloc, // E
        VmaAlloc, // F
        VmaAlloc, AnonVma,  // G: dup, clone reusing
        VmaAlloc, // the heap
    ];
    let before = setup();
    assert_eq!(view(&before, B + 12 * P).chain_len, 3);
    for keep in [Child, Parent] {
        for n in 0..all.len() {
            let mut o = before.clone();
            o.fail_at(n as u32);
            assert_eq!(o.fork(keep), Err(ENOMEM), "{keep:?} point {n}");
            assert_eq!(o.last_points(), all[..=n].to_vec(), "{keep:?} point {n}");
            assert_eq!(o.vmas(), before.vmas(), "{keep:?} point {n}");
            assert_eq!(o.map_count(), before.map_count());
            assert_eq!(o.brk_value(), before.brk_value());
            assert_eq!(anon_state(&o), anon_state(&before), "{keep:?} point {n}");
            checked(&o);
            // And the next fork decides exactly as it would have.
            let mut b = before.clone();
            assert_eq!(o.fork(Child), Ok(()));
            assert_eq!(b.fork(Child), Ok(()));
            assert_eq!(o.last_points(), all);
            assert_eq!(rows(&o), rows(&b), "{keep:?} point {n}");
            assert_eq!(chains(&o), chains(&b), "{keep:?} point {n}");
        }
        // One point too far: the fork succeeds and passes them all.
        let mut o = before.clone();
        o.fail_at(all.len() as u32);
        assert_eq!(o.fork(keep), Ok(()));
        assert_eq!(o.last_points(), all);
        checked(&o);
    }
}

#[test]
fn fork_of_empty_mm_passes_no_point() {
    // __mt_dup() of an empty tree allocates nothing and dup_mmap()'s loop
    // has no VMA: no point at all, so an armed failure never fires.
    for keep in [Child, Parent] {
        let mut o = oracle(24);
        o.fail_at(0);
        assert_eq!(o.fork(keep), Ok(()));
        assert_eq!(o.last_points(), vec![]);
        assert_eq!((o.map_count(), o.brk_value()), (0, START_BRK));
        // Disarmed: the next op passes its points.
        map_anon(&mut o, B, 1, RW_PROT);
        assert_eq!(o.last_points(), vec![VmaAlloc, Prealloc]);
    }
}

#[test]
fn existing_paths_keep_chains() {
    // The chain goes wherever the kernel copies or drops it:
    // __split_vma()'s anon_vma_clone() copies it to the new piece,
    // vma_merge_existing_range() unlinks the deleted VMA (anon_vma_merge),
    // copy_vma() clones it (mremap), munmap's free_pgtables() unlinks it.
    let mut o = oracle(24);
    map_anon(&mut o, B, 3, RW_PROT);
    assert_eq!(o.touch(B, true), Ok(()));
    assert_eq!(o.fork(Child), Ok(()));
    let a = view(&o, B).anon;
    assert_eq!(o.mprotect(B + P, P, PROT_READ), Ok(()));
    assert_eq!(
        chains(&o),
        vec![
            (B, B + P, 2),
            (B + P, B + 2 * P, 2),
            (B + 2 * P, B + 3 * P, 2)
        ]
    );
    assert!(o.vmas().iter().all(|v| v.anon == a));
    checked(&o);
    // Same anon_vma on both sides: is_mergeable_anon_vma() says equal.
    assert_eq!(o.mprotect(B + P, P, RW_PROT), Ok(()));
    assert_eq!(chains(&o), vec![(B, B + 3 * P, 2)]);
    checked(&o);
    let to = B + 20 * P;
    assert_eq!(
        o.mremap(B + P, P, P, MREMAP_MAYMOVE | MREMAP_FIXED, to),
        Ok(to)
    );
    assert_eq!(
        chains(&o),
        vec![(B, B + P, 2), (B + 2 * P, B + 3 * P, 2), (to, to + P, 2)]
    );
    checked(&o);
    assert_eq!(o.munmap(B, 32 * P), Ok(()));
    assert_eq!(o.map_count(), 0);
    assert_eq!(anon_state(&o), "[]", "every anon_vma is unreachable");
    checked(&o);
}

#[test]
fn check_anon_vmas_catches_bad_bookkeeping() {
    // The recomputation in check_anon_vmas() is a real check: corrupt
    // each kind of record and it reports it.
    let mut o = oracle(24);
    map_anon(&mut o, B, 1, RW_PROT);
    assert_eq!(o.touch(B, true), Ok(()));
    assert_eq!(o.fork(Child), Ok(()));
    checked(&o);
    let v = o.vmas.values().next().copied().unwrap();
    let a = v.anon.unwrap();

    let mut bad = o.clone();
    bad.anon.anon_vmas.get_mut(&a).unwrap().num_active_vmas += 1;
    assert!(bad
        .check_anon_vmas()
        .unwrap_err()
        .contains("num_active_vmas"));

    let mut bad = o.clone();
    let root = bad.anon.anon_vmas[&a].root;
    bad.anon.anon_vmas.get_mut(&root).unwrap().num_children -= 1;
    assert!(bad.check_anon_vmas().unwrap_err().contains("num_children"));

    let mut bad = o.clone();
    bad.anon.chains.get_mut(&v.id).unwrap().pop();
    assert!(bad.check_anon_vmas().unwrap_err().contains("tree"));

    let mut bad = o.clone();
    bad.vmas.get_mut(&B).unwrap().anon = None;
    assert!(bad.check_anon_vmas().is_err());

    let mut bad = o.clone();
    bad.anon.chains.insert(9999, vec![a]);
    assert!(bad.check_anon_vmas().is_err());
}

#[test]
fn failed_merge_and_copy_vma_unlink_their_clone() {
    // mm/vma.c vma_expand(): dup_anon_vma() clones next's chain into prev
    // (AnonVma), then commit_merge()'s preallocation fails: the abort path
    // unlink_anon_vmas(anon_dup) takes the clone off again, and mmap goes
    // on to a new VMA (vma_merge_new_range() NOMEM falls through).
    let mut o = oracle(24);
    map_anon(&mut o, B, 1, RW_PROT);
    map_anon(&mut o, B + 2 * P, 1, RW_PROT);
    assert_eq!(o.touch(B + 2 * P, true), Ok(()));
    let before = anon_state(&o);
    o.fail_at(1);
    map_anon(&mut o, B + P, 1, RW_PROT);
    assert_eq!(o.last_points(), vec![AnonVma, Prealloc, VmaAlloc, Prealloc]);
    assert_eq!(
        chains(&o),
        vec![
            (B, B + P, 0),
            (B + P, B + 2 * P, 0),
            (B + 2 * P, B + 3 * P, 1)
        ]
    );
    assert_eq!(anon_state(&o), before);
    checked(&o);

    // mm/vma.c copy_vma(): vm_area_dup(), anon_vma_clone() (AnonVma), then
    // vma_link()'s preallocation fails: unlink_anon_vmas(new_vma).
    let mut o = oracle(24);
    map_anon(&mut o, B, 1, RW_PROT);
    assert_eq!(o.touch(B, true), Ok(()));
    assert_eq!(o.fork(Child), Ok(()));
    let before = anon_state(&o);
    o.fail_at(2);
    let to = B + 40 * P;
    assert_eq!(
        o.mremap(B, P, P, MREMAP_MAYMOVE | MREMAP_FIXED, to),
        Err(ENOMEM)
    );
    assert_eq!(o.last_points(), vec![VmaAlloc, AnonVma, Prealloc]);
    assert_eq!(chains(&o), vec![(B, B + P, 2)]);
    assert_eq!(anon_state(&o), before);
    checked(&o);
}
