// SPDX-License-Identifier: GPL-2.0-or-later
//! Tests of the syscalls' results and error paths. Every expected VMA list
//! was derived by hand from the Linux 6.12 code named in the test's comment.

use super::uapi::*;
use super::vmflags::*;
use super::*;

/// `VM_READ | VM_WRITE | VM_MAY{READ,WRITE,EXEC} | VM_ACCOUNT`: a private
/// writable anonymous mapping.
pub(super) const RW_ANON: u64 =
    VM_READ | VM_WRITE | VM_MAYREAD | VM_MAYWRITE | VM_MAYEXEC | VM_ACCOUNT;
/// A read-only private mapping.
pub(super) const R_ONLY: u64 = VM_READ | VM_MAYREAD | VM_MAYWRITE | VM_MAYEXEC;
pub(super) const RW: u32 = PROT_READ | PROT_WRITE;
pub(super) const PRIV: u32 = MAP_PRIVATE;
pub(super) const FIX: u32 = MAP_PRIVATE | MAP_FIXED;
pub(super) const A: u64 = 0x1000_0000;

pub(super) fn mm() -> Mm {
    Mm::new(VmaConfig::default())
}

pub(super) fn mm_max(max_map_count: u64) -> Mm {
    Mm::new(VmaConfig {
        max_map_count,
        profile: Profile::V6_12,
    })
}

pub(super) fn ok(m: &Mm) {
    m.validate_mm().unwrap();
}

/// `(start, end, flags, pgoff)` of every VMA.
pub(super) fn ranges(m: &Mm) -> Vec<(u64, u64, u64, u64)> {
    m.vmas()
        .iter()
        .map(|v| (v.start, v.end, v.flags, v.pgoff))
        .collect()
}

/// Maps `pages` anonymous private RW pages at `addr` (MAP_FIXED).
pub(super) fn anon_at(m: &mut Mm, addr: u64, pages: u64) {
    assert_eq!(m.mmap(addr, pages * PAGE, RW, FIX, Backing::Anon), Ok(addr));
    ok(m);
}

pub(super) fn anon_vma(start: u64, end: u64) -> (u64, u64, u64, u64) {
    (start, end, RW_ANON, start >> 12)
}

/// get_unmapped_area: generic_get_unmapped_area_topdown places a hintless
/// mapping right below mmap_base; a second one lands directly below and
/// vma_merge_new_range expands the first one down over it
/// (can_vma_merge_before: next.pgoff == pgoff + pglen).
#[test]
fn topdown_mmaps_merge_downwards() {
    let mut m = mm();
    let a = m.mmap(0, 0x3000, RW, PRIV, Backing::Anon).unwrap();
    assert_eq!(a, MMAP_BASE - 0x3000);
    let b = m.mmap(0, 0x2000, RW, PRIV, Backing::Anon).unwrap();
    assert_eq!(b, MMAP_BASE - 0x5000);
    ok(&m);
    assert_eq!(ranges(&m), vec![anon_vma(b, MMAP_BASE)]);
    assert_eq!(m.map_count(), 1);
    assert_eq!(m.last_points(), vec![Point::Prealloc]);
}

/// do_mmap: the argument checks, in the kernel's order.
#[test]
fn mmap_argument_errors() {
    let mut m = mm();
    assert_eq!(m.mmap(0, 0, RW, PRIV, Backing::Anon), Err(Errno::EINVAL));
    assert_eq!(
        m.mmap(0, u64::MAX, RW, PRIV, Backing::Anon),
        Err(Errno::ENOMEM)
    );
    // len > TASK_SIZE: __get_unmapped_area.
    assert_eq!(
        m.mmap(0, 1 << 48, RW, PRIV, Backing::Anon),
        Err(Errno::ENOMEM)
    );
    // Unaligned MAP_FIXED address.
    assert_eq!(
        m.mmap(A + 1, PAGE, RW, FIX, Backing::Anon),
        Err(Errno::EINVAL)
    );
    // MAP_FIXED below mmap_min_addr: security_mmap_addr.
    assert_eq!(
        m.mmap(0x1000, PAGE, RW, FIX, Backing::Anon),
        Err(Errno::EPERM)
    );
    // MAP_FIXED past TASK_SIZE.
    assert_eq!(
        m.mmap(TASK_SIZE, PAGE, RW, FIX, Backing::Anon),
        Err(Errno::ENOMEM)
    );
    // No map type; MAP_SHARED_VALIDATE on anonymous memory.
    assert_eq!(m.mmap(0, PAGE, RW, 0, Backing::Anon), Err(Errno::EINVAL));
    assert_eq!(
        m.mmap(0, PAGE, RW, MAP_SHARED_VALIDATE, Backing::Anon),
        Err(Errno::EINVAL)
    );
    // pgoff overflow, then file_mmap_ok.
    let f = Backing::File {
        file: 0,
        pgoff: u64::MAX,
    };
    assert_eq!(m.mmap(0, PAGE, RW, PRIV, f), Err(Errno::EOVERFLOW));
    let f = Backing::File {
        file: 0,
        pgoff: 1 << 60,
    };
    assert_eq!(m.mmap(0, PAGE, RW, PRIV, f), Err(Errno::EOVERFLOW));
    // File 2 is read-only: a shared writable mapping is refused.
    let f = Backing::File { file: 2, pgoff: 0 };
    assert_eq!(m.mmap(0, PAGE, RW, MAP_SHARED, f), Err(Errno::EACCES));
    // MAP_GROWSDOWN on a file.
    let f = Backing::File { file: 0, pgoff: 0 };
    assert_eq!(
        m.mmap(0, PAGE, RW, PRIV | MAP_GROWSDOWN, f),
        Err(Errno::EINVAL)
    );
    assert_eq!(m.map_count(), 0);
    assert!(m.last_points().is_empty());
    ok(&m);
}

/// do_mmap: MAP_FIXED_NOREPLACE over a mapping gives EEXIST; map_count >
/// max (strictly) gives ENOMEM.
#[test]
fn mmap_noreplace_and_map_count() {
    let mut m = mm_max(2);
    anon_at(&mut m, A, 2);
    let nr = MAP_PRIVATE | MAP_FIXED_NOREPLACE;
    assert_eq!(
        m.mmap(A + PAGE, PAGE, RW, nr, Backing::Anon),
        Err(Errno::EEXIST)
    );
    assert_eq!(
        m.mmap(A + 2 * PAGE, PAGE, PROT_READ, nr, Backing::Anon),
        Ok(A + 2 * PAGE)
    );
    assert_eq!(m.map_count(), 2);
    // map_count == max is still allowed (the check is >).
    assert_eq!(
        m.mmap(A + 4 * PAGE, PAGE, PROT_READ, FIX, Backing::Anon),
        Ok(A + 4 * PAGE)
    );
    assert_eq!(m.map_count(), 3);
    assert_eq!(
        m.mmap(A + 6 * PAGE, PAGE, PROT_READ, FIX, Backing::Anon),
        Err(Errno::ENOMEM)
    );
    ok(&m);
}

/// do_mmap flags: a shared file mapping, file 2's MAP_SHARED dropping
/// VM_MAYWRITE and VM_SHARED, anon MAP_SHARED getting a fresh shmem file
/// with pgoff 0, MAP_NORESERVE suppressing VM_ACCOUNT.
#[test]
fn mmap_flag_computation() {
    let mut m = mm();
    let f0 = Backing::File { file: 0, pgoff: 5 };
    let f2 = Backing::File { file: 2, pgoff: 0 };
    let a = m.mmap(A, PAGE, RW, MAP_SHARED | MAP_FIXED, f0).unwrap();
    let b = m
        .mmap(A + 0x10000, PAGE, PROT_READ, MAP_SHARED | MAP_FIXED, f2)
        .unwrap();
    let c = m
        .mmap(A + 0x20000, PAGE, RW, MAP_SHARED | MAP_FIXED, Backing::Anon)
        .unwrap();
    let d = m
        .mmap(A + 0x30000, PAGE, RW, MAP_SHARED | MAP_FIXED, Backing::Anon)
        .unwrap();
    let e = m
        .mmap(A + 0x40000, PAGE, RW, FIX | MAP_NORESERVE, Backing::Anon)
        .unwrap();
    ok(&m);
    let v = m.vmas();
    let may = VM_MAYREAD | VM_MAYWRITE | VM_MAYEXEC;
    assert_eq!(
        (v[0].start, v[0].flags, v[0].file, v[0].pgoff),
        (
            a,
            VM_READ | VM_WRITE | may | VM_SHARED | VM_MAYSHARE,
            Some(0),
            5
        )
    );
    assert_eq!(
        (v[1].start, v[1].flags, v[1].file),
        (b, VM_READ | VM_MAYREAD | VM_MAYEXEC | VM_MAYSHARE, Some(2))
    );
    assert_eq!(
        (v[2].start, v[2].file, v[2].pgoff),
        (c, Some(SHMEM_FILE_BASE), 0)
    );
    assert_eq!((v[3].start, v[3].file), (d, Some(SHMEM_FILE_BASE + 1)));
    assert_eq!(
        (v[4].start, v[4].flags),
        (e, VM_READ | VM_WRITE | may | VM_NORESERVE)
    );
}

/// __get_unmapped_area: a free hint is used as is; an occupied hint falls
/// back to the top-down search; a MAP_GROWSDOWN VMA keeps stack_guard_gap
/// free below it (vm_start_gap in the hint check and in
/// unmapped_area_topdown).
#[test]
fn get_unmapped_area_hint_and_guard_gap() {
    let mut m = mm();
    assert_eq!(m.mmap(A, PAGE, RW, PRIV, Backing::Anon), Ok(A));
    assert_eq!(
        m.mmap(A, PAGE, RW, PRIV, Backing::Anon),
        Ok(MMAP_BASE - PAGE)
    );
    // A stack at the top: the next search must stay stack_guard_gap below.
    let s = MMAP_BASE - 0x100000;
    m.munmap(MMAP_BASE - PAGE, PAGE).unwrap();
    assert_eq!(
        m.mmap(s, 0x100000, RW, FIX | MAP_GROWSDOWN, Backing::Anon),
        Ok(s)
    );
    let x = m.mmap(0, PAGE, RW, PRIV, Backing::Anon).unwrap();
    assert_eq!(x, s - STACK_GUARD_GAP - PAGE);
    // A hint inside the guard gap is refused.
    let y = m
        .mmap(s - PAGE, PAGE, PROT_READ, PRIV, Backing::Anon)
        .unwrap();
    assert_ne!(y, s - PAGE);
    ok(&m);
}

/// do_vmi_munmap: a hole succeeds; argument errors are EINVAL; unmapping
/// the middle splits in three (vms_gather_munmap_vmas: __split_vma at
/// start then at end), with the allocation points in kernel order.
#[test]
fn munmap_middle_and_errors() {
    let mut m = mm();
    assert_eq!(m.munmap(A, PAGE), Ok(()));
    assert_eq!(m.munmap(A + 1, PAGE), Err(Errno::EINVAL));
    assert_eq!(m.munmap(A, 0), Err(Errno::EINVAL));
    assert_eq!(m.munmap(TASK_SIZE + PAGE, PAGE), Err(Errno::EINVAL));
    assert_eq!(m.munmap(A, TASK_SIZE), Err(Errno::EINVAL));
    anon_at(&mut m, A, 4);
    m.munmap(A + PAGE, 2 * PAGE).unwrap();
    ok(&m);
    assert_eq!(
        ranges(&m),
        vec![anon_vma(A, A + PAGE), anon_vma(A + 3 * PAGE, A + 4 * PAGE)]
    );
    use Point::*;
    assert_eq!(
        m.last_points(),
        vec![VmaAlloc, Prealloc, VmaAlloc, Prealloc, StoreGfp, StoreGfp]
    );
    // Several VMAs at once, with partial ones at both ends.
    anon_at(&mut m, A + 0x10000, 1);
    m.munmap(A, 0x20000).unwrap();
    assert!(m.vmas().is_empty());
    assert_eq!(m.map_count(), 0);
    ok(&m);
}

/// vms_gather_munmap_vmas: only the split of one VMA into three checks
/// map_count >= max; splits at one edge may exceed the limit.
#[test]
fn munmap_map_count_rules() {
    let mut m = mm_max(1);
    anon_at(&mut m, A, 4);
    assert_eq!(m.munmap(A + PAGE, PAGE), Err(Errno::ENOMEM));
    assert!(m.last_points().is_empty());
    // Unmapping the head splits once: fine.
    m.munmap(A, PAGE).unwrap();
    assert_eq!(ranges(&m), vec![anon_vma(A + PAGE, A + 4 * PAGE)]);
    ok(&m);
}

/// do_mprotect_pkey: len 0, unaligned start, overflow, unknown prot bits,
/// no VMA at start, a hole inside (ENOMEM, earlier changes stay), a
/// missing VM_MAY bit (EACCES).
#[test]
fn mprotect_errors_and_partial_changes() {
    let mut m = mm();
    assert_eq!(m.mprotect(A, 0, PROT_READ), Ok(()));
    assert_eq!(m.mprotect(A + 1, PAGE, PROT_READ), Err(Errno::EINVAL));
    assert_eq!(
        m.mprotect(!(PAGE - 1), 2 * PAGE, PROT_READ),
        Err(Errno::ENOMEM)
    );
    assert_eq!(m.mprotect(A, PAGE, 0x10), Err(Errno::EINVAL));
    assert_eq!(m.mprotect(A, PAGE, PROT_READ), Err(Errno::ENOMEM));
    anon_at(&mut m, A, 2);
    anon_at(&mut m, A + 3 * PAGE, 1);
    assert_eq!(m.mprotect(A, 4 * PAGE, PROT_READ), Err(Errno::ENOMEM));
    // The first VMA changed (and lost VM_ACCOUNT: anonymous, no anon_vma).
    assert_eq!(
        ranges(&m),
        vec![
            (A, A + 2 * PAGE, R_ONLY, A >> 12),
            anon_vma(A + 3 * PAGE, A + 4 * PAGE)
        ]
    );
    // File 2 shared: no VM_MAYWRITE, so PROT_WRITE is EACCES.
    let f2 = Backing::File { file: 2, pgoff: 0 };
    let b = m
        .mmap(A + 0x10000, PAGE, PROT_READ, MAP_SHARED | MAP_FIXED, f2)
        .unwrap();
    assert_eq!(m.mprotect(b, PAGE, RW), Err(Errno::EACCES));
    ok(&m);
}

/// mprotect_fixup + vma_modify: a change in the middle splits in three
/// (split_vma below, then above); making it writable again merges all
/// three back (vma_merge_existing_range, merge_both).
#[test]
fn mprotect_split_and_merge_back() {
    let mut m = mm();
    anon_at(&mut m, A, 3);
    m.mprotect(A + PAGE, PAGE, PROT_READ).unwrap();
    ok(&m);
    assert_eq!(
        ranges(&m),
        vec![
            anon_vma(A, A + PAGE),
            (A + PAGE, A + 2 * PAGE, R_ONLY, (A >> 12) + 1),
            anon_vma(A + 2 * PAGE, A + 3 * PAGE),
        ]
    );
    m.mprotect(A + PAGE, PAGE, RW).unwrap();
    ok(&m);
    assert_eq!(ranges(&m), vec![anon_vma(A, A + 3 * PAGE)]);
    assert_eq!(m.map_count(), 1);
    assert_eq!(m.last_points(), vec![Point::Prealloc]);
}

/// split_vma: map_count >= max refuses a split (ENOMEM); with two splits
/// needed and room for one, the first stays (vma_modify).
#[test]
fn mprotect_split_limit_keeps_first_split() {
    let mut m = mm_max(2);
    anon_at(&mut m, A, 3);
    m.mprotect(A + PAGE, PAGE, PROT_READ).unwrap_err();
    ok(&m);
    assert_eq!(
        ranges(&m),
        vec![anon_vma(A, A + PAGE), anon_vma(A + PAGE, A + 3 * PAGE)]
    );
}

/// brk: growing maps a new VMA at the old break, growing again expands it
/// (do_brk_flags, VMG_FLAG_JUST_EXPAND); shrinking unmaps; shrinking over
/// nothing fails; below start_brk fails.
#[test]
fn brk_grow_shrink() {
    let mut m = mm();
    let b = START_BRK;
    assert_eq!(m.brk(b - 1), b);
    assert_eq!(m.brk(b + 0x1800), b + 0x1800);
    assert_eq!(m.brk(b + 0x3000), b + 0x3000);
    ok(&m);
    let brk_flags = VM_DATA_DEFAULT_FLAGS | VM_ACCOUNT;
    assert_eq!(ranges(&m), vec![(b, b + 0x3000, brk_flags, b >> 12)]);
    assert_eq!(m.brk(b + 0x1000), b + 0x1000);
    assert_eq!(ranges(&m), vec![(b, b + 0x1000, brk_flags, b >> 12)]);
    // Same page: only mm->brk moves.
    assert_eq!(m.brk(b + 0x800), b + 0x800);
    m.munmap(b, PAGE).unwrap();
    // Shrinking where nothing is mapped fails: brk stays.
    assert_eq!(m.brk(b + 0x3000), b + 0x3000);
    m.munmap(b, 0x3000).unwrap();
    assert_eq!(m.brk(b), b + 0x3000);
    ok(&m);
}

/// brk: the growth must leave a page (plus the guard gap below a stack)
/// before the next VMA.
#[test]
fn brk_blocked_by_next_vma() {
    let mut m = mm();
    let b = START_BRK;
    anon_at(&mut m, b + 0x3000, 1);
    assert_eq!(m.brk(b + 0x2000), b + 0x2000);
    assert_eq!(m.brk(b + 0x3000), b + 0x2000);
    ok(&m);
}

/// madvise: unknown advice, holes skipped with ENOMEM at the end but the
/// advice applied everywhere; MADV_WIPEONFORK refused on a file.
#[test]
fn madvise_holes_and_errors() {
    let mut m = mm();
    assert_eq!(m.madvise(A, PAGE, 3), Err(Errno::EINVAL));
    assert_eq!(m.madvise(A + 1, PAGE, MADV_DONTFORK), Err(Errno::EINVAL));
    assert_eq!(m.madvise(A, 0, MADV_DONTFORK), Ok(()));
    assert_eq!(m.madvise(A, PAGE, MADV_DONTFORK), Err(Errno::ENOMEM));
    anon_at(&mut m, A, 1);
    anon_at(&mut m, A + 2 * PAGE, 1);
    assert_eq!(m.madvise(A, 3 * PAGE, MADV_DONTFORK), Err(Errno::ENOMEM));
    let f = RW_ANON | VM_DONTCOPY;
    assert_eq!(
        ranges(&m),
        vec![
            (A, A + PAGE, f, A >> 12),
            (A + 2 * PAGE, A + 3 * PAGE, f, (A >> 12) + 2)
        ]
    );
    let f0 = Backing::File { file: 0, pgoff: 0 };
    let x = m.mmap(A + 0x10000, PAGE, RW, FIX, f0).unwrap();
    assert_eq!(m.madvise(x, PAGE, MADV_WIPEONFORK), Err(Errno::EINVAL));
    ok(&m);
}

/// touch: EFAULT without a VMA, EACCES without the access, a write fault
/// on a private VMA creates an anon_vma, a neighbour's is reused
/// (find_mergeable_anon_vma), shared VMAs get none.
#[test]
fn touch_anon_vma() {
    let mut m = mm();
    assert_eq!(m.touch(A, false), Err(Errno::EFAULT));
    anon_at(&mut m, A, 2);
    m.mprotect(A + PAGE, PAGE, PROT_READ).unwrap();
    assert_eq!(m.touch(A + PAGE, true), Err(Errno::EACCES));
    m.touch(A + PAGE, false).unwrap();
    assert_eq!(m.vmas()[1].anon, None);
    m.touch(A + 10, true).unwrap();
    assert_eq!(m.last_points(), vec![Point::AnonVma]);
    let a0 = m.vmas()[0].anon.expect("anon_vma");
    // The read-only neighbour lost VM_ACCOUNT, so anon_vma_compatible()
    // refused it and the anon_vma is new. Making it writable again charges
    // it: vma_merge_existing_range merges it into prev (unfaulted middle,
    // faulted prev: is_mergeable_anon_vma allows it).
    m.mprotect(A + PAGE, PAGE, RW).unwrap();
    ok(&m);
    assert_eq!(m.vmas().len(), 1);
    assert_eq!(m.vmas()[0].anon, Some(a0));
    let none = m.mmap(A + 0x10000, PAGE, 0, FIX, Backing::Anon).unwrap();
    assert_eq!(m.touch(none, false), Err(Errno::EACCES));
    let sh = m
        .mmap(A + 0x20000, PAGE, RW, MAP_SHARED | MAP_FIXED, Backing::Anon)
        .unwrap();
    m.touch(sh, true).unwrap();
    assert_eq!(m.vmas().last().unwrap().anon, None);
    ok(&m);
}
