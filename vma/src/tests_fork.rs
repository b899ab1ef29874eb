// SPDX-License-Identifier: GPL-2.0-or-later
//! fork: `dup_mmap` (kernel/fork.c), `anon_vma_fork` / `anon_vma_clone`
//! (mm/rmap.c), the `list_is_singular` rules they change in merging and in
//! `anon_vma_prepare`, `exit_mmap` (mm/mmap.c), and fault injection at
//! every point of a fork. Every expectation was derived by hand from the
//! Linux 6.12 code named in the test's comment.

use super::tests::*;
use super::uapi::*;
use super::vmflags::*;
use super::*;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

const P: u64 = PAGE;

/// `(start, end, flags, anon, chain)` of every VMA.
fn state(m: &Mm) -> Vec<(u64, u64, u64, Option<u64>, u32)> {
    m.vmas()
        .iter()
        .map(|v| (v.start, v.end, v.flags, v.anon, v.chain))
        .collect()
}

/// A mix of VMAs, separated by holes so that none merge:
/// - A: faulted private anon (an anon_vma, chain of 1), 4 pages;
/// - B: faulted private anon with MADV_DONTFORK (VM_DONTCOPY);
/// - C: faulted private anon with MADV_WIPEONFORK;
/// - D: private file 0 mapping, MAP_LOCKED (VM_LOCKED);
/// - E: unfaulted private anon.
fn mix() -> Mm {
    let mut m = mm();
    for i in [0, 1, 2, 4] {
        anon_at(&mut m, A + i * 0x10 * P, 4);
    }
    let (a, b, c, d) = (A, A + 0x10 * P, A + 0x20 * P, A + 0x30 * P);
    let flags = MAP_PRIVATE | MAP_FIXED | MAP_LOCKED;
    let f0 = Backing::File { file: 0, pgoff: 0 };
    assert_eq!(m.mmap(d, 4 * P, RW, flags, f0), Ok(d));
    for x in [a, b, c] {
        m.touch(x, true).unwrap();
    }
    m.madvise(b, 4 * P, MADV_DONTFORK).unwrap();
    m.madvise(c, 4 * P, MADV_WIPEONFORK).unwrap();
    ok(&m);
    m
}

/// dup_mmap: a VM_DONTCOPY VMA is cleared from the child's tree
/// (vma_iter_clear_gfp), every other one copied by vm_area_dup; a
/// VM_WIPEONFORK copy gets no anon_vma; anon_vma_fork gives the others a
/// new anon_vma below the parent's (anon_vma_clone reuses nothing: the
/// parent's anon_vma has an active VMA), so their chains hold two; the
/// copies lose VM_LOCKED. Points in parent address order: __mt_dup, then
/// A: vm_area_dup, anon_vma_clone, anon_vma_alloc; B: the clear; C:
/// vm_area_dup (WIPEONFORK: no anon_vma_fork); D, E: vm_area_dup (no
/// anon_vma, anon_vma_fork returns at once).
#[test]
fn fork_copies_skips_dontcopy_wipes_wipeonfork_and_unlocks() {
    use Point::*;
    let mut m = mix();
    let parent = state(&m);
    assert_eq!(parent.len(), 5);
    m.fork(ForkKeep::Child).unwrap();
    ok(&m);
    assert_eq!(
        m.last_points(),
        vec![TreeDup, VmaAlloc, AnonVma, AnonVma, StoreGfp, VmaAlloc, VmaAlloc, VmaAlloc]
    );
    let child = state(&m);
    assert_eq!(m.map_count(), 4);
    assert_eq!(child.len(), 4);
    // A: same range and flags, a new anon_vma, chain of two.
    let (pa, ca) = (&parent[0], &child[0]);
    assert_eq!((ca.0, ca.1, ca.2), (pa.0, pa.1, pa.2));
    assert!(ca.3.is_some() && ca.3 != pa.3, "{ca:?} {pa:?}");
    assert_eq!(ca.4, 2);
    // B is gone; C keeps its flags, without anon_vma.
    assert_eq!(child[1], (parent[2].0, parent[2].1, parent[2].2, None, 0));
    assert_ne!(parent[2].2 & VM_WIPEONFORK, 0);
    assert!(parent[2].3.is_some());
    // D: VM_LOCKED cleared, file and pgoff kept.
    assert_ne!(parent[3].2 & VM_LOCKED, 0);
    assert_eq!(
        child[2],
        (parent[3].0, parent[3].1, parent[3].2 & !VM_LOCKED, None, 0)
    );
    let dv = &m.vmas()[2];
    assert_eq!((dv.file, dv.pgoff), (Some(0), 0));
    // E: unfaulted, copied as it is.
    assert_eq!(child[3], parent[4]);
    // The parent exited: only the child's VMAs are chained anywhere.
    assert_eq!(m.anon.map.len(), 2, "the child's own anon_vma and its root");
}

/// fork(Parent): the child exits at once (exit_mmap: unlink_anon_vmas of
/// each copy, which frees the child's own anon_vmas and gives the
/// parent's their counters back), the parent is exactly as before.
#[test]
fn fork_keeping_the_parent_leaves_it_unchanged() {
    let mut m = mix();
    let before = state(&m);
    let registry = m.anon.map.clone();
    m.fork(ForkKeep::Parent).unwrap();
    ok(&m);
    assert_eq!(state(&m), before);
    assert_eq!(m.map_count(), 5);
    assert_eq!(m.anon.map, registry);
    assert_eq!(m.last_points().len(), 8);
}

/// The config, brk and the shmem file counter carry over to the child.
#[test]
fn fork_carries_brk_config_and_shmem_counter() {
    let mut m = mm_max(30);
    let b = m.brk(START_BRK + 3 * P);
    let sh = m.mmap(0, P, RW, MAP_SHARED, Backing::Anon).unwrap();
    m.fork(ForkKeep::Child).unwrap();
    ok(&m);
    assert_eq!(m.brk_value(), b);
    assert_eq!(m.config().max_map_count, 30);
    assert_eq!(
        m.vmas().iter().find(|v| v.start == sh).unwrap().file,
        Some(SHMEM_FILE_BASE)
    );
    let sh2 = m.mmap(0, P, RW, MAP_SHARED, Backing::Anon).unwrap();
    let f = m.vmas().iter().find(|v| v.start == sh2).unwrap().file;
    assert_eq!(f, Some(SHMEM_FILE_BASE + 1));
    assert_eq!(m.brk(START_BRK + 5 * P), START_BRK + 5 * P);
    ok(&m);
}

/// is_mergeable_anon_vma (mm/vma.c): a range without anon_vma merges
/// with a neighbour that has one only if the neighbour's chain is
/// singular. After fork(Child) the inherited VMA's chain holds its
/// parent's anon_vma too, so an adjacent new mapping stays separate; the
/// same sequence without fork merges (can_vma_merge_after).
#[test]
fn an_inherited_vma_does_not_merge_with_an_unfaulted_range() {
    for fork in [false, true] {
        let mut m = mm();
        anon_at(&mut m, A, 4);
        m.touch(A, true).unwrap();
        if fork {
            m.fork(ForkKeep::Child).unwrap();
            assert_eq!(m.vmas()[0].chain, 2);
        }
        anon_at(&mut m, A + 4 * P, 4);
        let spans: Vec<_> = m.vmas().iter().map(|v| (v.start, v.end)).collect();
        if fork {
            assert_eq!(spans, vec![(A, A + 4 * P), (A + 4 * P, A + 8 * P)]);
            assert_eq!(m.vmas()[1].anon, None);
        } else {
            assert_eq!(spans, vec![(A, A + 8 * P)]);
        }
        ok(&m);
    }
}

/// reusable_anon_vma (mm/vma.c), from __anon_vma_prepare's
/// find_mergeable_anon_vma: a write fault in B (flags differ from A's
/// only in VM_EXEC: anon_vma_compatible, not mergeable) reuses A's
/// anon_vma when A's chain is singular; after fork(Child) it is not, so
/// B gets a new root anon_vma.
#[test]
fn anon_vma_prepare_reuse_is_refused_for_a_forked_chain() {
    for fork in [false, true] {
        let mut m = mm();
        anon_at(&mut m, A, 4);
        let rwx = RW | PROT_EXEC;
        assert_eq!(
            m.mmap(A + 4 * P, 4 * P, rwx, FIX, Backing::Anon),
            Ok(A + 4 * P)
        );
        m.touch(A, true).unwrap();
        if fork {
            m.fork(ForkKeep::Child).unwrap();
        }
        m.touch(A + 4 * P, true).unwrap();
        let v = m.vmas();
        assert_eq!(v.len(), 2);
        assert_eq!(v[1].chain, 1);
        if fork {
            assert_ne!(v[1].anon, v[0].anon);
        } else {
            assert_eq!(v[1].anon, v[0].anon);
        }
        ok(&m);
    }
}

/// anon_vma_clone's reuse (mm/rmap.c) in a chain of forks, each keeping
/// the child. Let R be the first anon_vma. Fork 1: the clone walks [R]
/// (R has an active VMA): no reuse, a new A1 (parent R); the parent exits,
/// R has no active VMA but two children (itself and A1). Fork 2: the
/// clone walks R (2 children), A1 (active): no reuse, a new A2 (parent
/// A1); the exit leaves A1 with no active VMA and one child. Fork 3: the
/// walk from the tail meets R (2 children), then A1 (1 child, no active
/// VMA): reused, so anon_vma_fork allocates nothing more (one AnonVma
/// point) and the chain keeps three. Fork 4: the exit of fork 3's parent
/// left A2 with no active VMA and no child: it is reused in turn.
#[test]
fn anon_vma_clone_reuses_in_a_chain_of_forks() {
    use Point::*;
    let mut m = mm();
    anon_at(&mut m, A, 4);
    m.touch(A, true).unwrap();
    let r = m.vmas()[0].anon.unwrap();
    let mut anons = vec![r];
    let full = vec![TreeDup, VmaAlloc, AnonVma, AnonVma];
    let reuse = vec![TreeDup, VmaAlloc, AnonVma];
    for (i, (points, chain)) in [(&full, 2), (&full, 3), (&reuse, 3), (&reuse, 3)]
        .into_iter()
        .enumerate()
    {
        m.fork(ForkKeep::Child).unwrap();
        ok(&m);
        assert_eq!(&m.last_points(), points, "fork {}", i + 1);
        let v = &m.vmas()[0];
        assert_eq!(v.chain, chain, "fork {}", i + 1);
        anons.push(v.anon.unwrap());
    }
    let (a1, a2, a3, a4) = (anons[1], anons[2], anons[3], anons[4]);
    assert!(a1 != r && a2 != r && a2 != a1);
    assert_eq!(a3, a1, "fork 3 reuses A1");
    assert_eq!(a4, a2, "fork 4 reuses A2");
    // A1's parent is R, A2's is A1, all rooted at R.
    assert_eq!(m.anon.get(a1).parent, r);
    assert_eq!(m.anon.get(a2).parent, a1);
    assert_eq!(m.anon.get(a2).root, r);
}

/// Keeping the parent, anon_vma_clone never reuses: the parent's VMA
/// keeps its anon_vma active, and the child's own one is freed with it.
#[test]
fn forks_keeping_the_parent_never_reuse() {
    use Point::*;
    let mut m = mm();
    anon_at(&mut m, A, 4);
    m.touch(A, true).unwrap();
    let before = state(&m);
    for _ in 0..3 {
        m.fork(ForkKeep::Parent).unwrap();
        assert_eq!(m.last_points(), vec![TreeDup, VmaAlloc, AnonVma, AnonVma]);
        assert_eq!(state(&m), before);
        ok(&m);
        let root = m.anon.get(before[0].3.unwrap());
        assert_eq!((root.num_children, root.num_active_vmas), (1, 1));
    }
}

/// The mix, after one fork(Child) so that chains hold two anon_vmas.
fn forked_mix() -> Mm {
    let mut m = mix();
    m.fork(ForkKeep::Child).unwrap();
    m.touch(A + 0x40 * P, true).unwrap();
    ok(&m);
    m
}

/// fail_at at every point of a fork (dup_mmap's unwinding: __mt_dup
/// frees its partial copy; a later failure marks the failing VMA with
/// XA_ZERO_ENTRY and exit_mmap tears down the copies before it, the
/// failing VMA's own partial chain unlinked by anon_vma_clone /
/// anon_vma_fork): ENOMEM, the parent exactly as before (VMAs, chains,
/// map_count, the anon_vma counters), validate_mm clean, points cut at
/// the failing one. A clean fork afterwards still works.
#[test]
fn fork_fail_at_every_point_leaves_the_parent_unchanged() {
    for setup in [mix as fn() -> Mm, forked_mix] {
        for keep in [ForkKeep::Child, ForkKeep::Parent] {
            let mut clean = setup();
            clean.fork(keep).unwrap();
            let all = clean.last_points();
            assert!(all.len() >= 8, "{all:?}");
            for n in 0..all.len() {
                let mut m = setup();
                let before = state(&m);
                let registry = m.anon.map.clone();
                let count = m.map_count();
                m.fail_at(n as u32);
                assert_eq!(m.fork(keep), Err(Errno::ENOMEM), "point {n} of {all:?}");
                m.validate_mm()
                    .unwrap_or_else(|e| panic!("point {n} of {all:?}: {e}"));
                assert_eq!(state(&m), before, "point {n}");
                assert_eq!(m.map_count(), count, "point {n}");
                assert_eq!(m.anon.map, registry, "point {n}: anon_vma counters");
                assert_eq!(m.last_points(), &all[..=n], "point {n}");
                m.fork(keep).unwrap();
                ok(&m);
                assert_eq!(m.last_points(), all);
            }
        }
    }
}

/// __mt_dup failing at its last node allocation over a tree of several
/// levels: mas_dup_free frees a partial copy of many nodes; nothing leaks.
#[test]
fn tree_dup_failure_frees_a_partial_tree() {
    let mut m = mm_max(300);
    for i in 0..120 {
        anon_at(&mut m, A + i * 2 * P, 1);
    }
    assert!(m.tree().tree_height() >= 2);
    let nodes = m.node_accounting();
    m.fail_at(0);
    assert_eq!(m.fork(ForkKeep::Child), Err(Errno::ENOMEM));
    assert_eq!(m.last_points(), vec![Point::TreeDup]);
    ok(&m);
    assert_eq!(m.node_accounting(), nodes);
    assert_eq!(m.vmas().len(), 120);
    m.fork(ForkKeep::Child).unwrap();
    ok(&m);
    assert_eq!(m.vmas().len(), 120);
}

/// dup_mmap of an empty mm: __mt_dup of an empty tree allocates nothing,
/// so a fork has no allocation point at all (and fail_at cannot fail it).
#[test]
fn fork_of_an_empty_mm_has_no_points() {
    let mut m = mm();
    m.fail_at(0);
    assert_eq!(m.fork(ForkKeep::Child), Ok(()));
    assert!(m.last_points().is_empty());
    assert!(m.vmas().is_empty());
    ok(&m);
    assert_eq!(m.fork(ForkKeep::Parent), Ok(()));
    assert!(m.last_points().is_empty());
    ok(&m);
}

/// validate_mm checks the anon_vma hierarchy: a wrong counter, a chain
/// missing an anon_vma, and a VMA freed while still chained are reported.
#[test]
fn validate_mm_detects_anon_vma_corruption() {
    let m0 = forked_mix();
    let a = m0.vmas()[0].anon.unwrap();

    let mut m = forked_mix();
    m.anon.get_mut(a).num_children += 1;
    let e = m.validate_mm().unwrap_err();
    assert!(e.contains("num_children"), "{e}");

    let mut m = forked_mix();
    m.anon.get_mut(a).num_active_vmas -= 1;
    let e = m.validate_mm().unwrap_err();
    assert!(e.contains("num_active_vmas"), "{e}");

    let mut m = forked_mix();
    let id = m.vma_lookup(A).unwrap();
    m.vm(id).chain.pop();
    let e = m.validate_mm().unwrap_err();
    assert!(e.contains("anon_vma hierarchy"), "{e}");

    let mut m = forked_mix();
    let id = m.vma_lookup(A).unwrap();
    m.vm_area_free(id);
    let e = m.validate_mm().unwrap_err();
    assert!(e.contains("freed while chained"), "{e}");
}

/// Random operations with forks (either side kept, sometimes failing at
/// a random point) in between, validating the mm (tree, VMAs, anon_vma
/// hierarchy, node accounting) after each.
#[test]
fn random_sequences_with_forks_validate() {
    let (mut forked, mut failed, mut long_chains) = (0, 0, 0);
    for seed in 0..120 {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut m = mm();
        for i in 0..150 {
            if rng.gen_ratio(1, 8) {
                if rng.gen_ratio(1, 3) {
                    m.fail_at(rng.gen_range(0..12));
                }
                let keep = if rng.gen_bool(0.5) {
                    ForkKeep::Child
                } else {
                    ForkKeep::Parent
                };
                let before = state(&m);
                match m.fork(keep) {
                    Ok(()) => forked += 1,
                    Err(e) => {
                        failed += 1;
                        assert_eq!(e, Errno::ENOMEM);
                        assert_eq!(state(&m), before, "seed {seed} step {i}");
                    }
                }
            } else {
                super::tests_faults::random_op(&mut m, &mut rng);
            }
            if let Err(e) = m.validate_mm() {
                panic!("seed {seed} step {i}: {e}");
            }
            long_chains += m.vmas().iter().filter(|v| v.chain > 2).count();
        }
    }
    assert!(
        forked > 100 && failed > 50,
        "{forked} forks, {failed} failed"
    );
    assert!(long_chains > 0, "no chain of three or more");
}

/// exit_mmap's own checks: a VMA count that is not map_count (the
/// kernel's BUG_ON) and a vm_area_struct outside the tree (leaked) are
/// reported as faults of the run.
#[test]
fn exit_mmap_reports_count_mismatch_and_leaks() {
    let mut m = forked_mix();
    m.map_count += 1;
    m.exit_mmap();
    let e = m.validate_mm().unwrap_err();
    assert!(e.contains("exit_mmap freed 4 VMAs for map_count 5"), "{e}");

    let mut m = mm();
    anon_at(&mut m, A, 2);
    let mut stray = m.v(m.vma_lookup(A).unwrap()).clone();
    stray.start = A + 0x100 * P;
    stray.end = A + 0x101 * P;
    m.vma_store_new(stray);
    m.exit_mmap();
    let e = m.validate_mm().unwrap_err();
    assert!(e.contains("1 vm_area_struct(s) leaked"), "{e}");
}
