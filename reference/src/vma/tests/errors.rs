// SPDX-License-Identifier: GPL-2.0-or-later
//! Every error path of the syscalls, in the kernel's check order.

use super::common::*;
use crate::vma::VmaErrno::*;

const ANON: Backing = Backing::Anon;

#[test]
fn mmap_errors_in_order() {
    let mut o = oracle(24);
    // mm/mmap.c do_mmap(): len == 0 first.
    assert_eq!(o.mmap(B, 0, RW_PROT, PRIV_FIXED, ANON), Err(EINVAL));
    // do_mmap(): PAGE_ALIGN(len) wraps to 0.
    assert_eq!(o.mmap(B, u64::MAX, RW_PROT, PRIV_FIXED, ANON), Err(ENOMEM));
    // do_mmap(): pgoff + pages overflows.
    assert_eq!(
        o.mmap(B, 2 * P, PROT_READ, PRIV_FIXED, file(0, u64::MAX)),
        Err(EOVERFLOW)
    );
    // __get_unmapped_area(): len > TASK_SIZE.
    assert_eq!(
        o.mmap(0, TASK_SIZE + P, PROT_READ, MAP_PRIVATE, ANON),
        Err(ENOMEM)
    );
    // __get_unmapped_area(): MAP_FIXED past TASK_SIZE, then unaligned, then
    // below mmap_min_addr (security_mmap_addr()).
    assert_eq!(
        o.mmap(TASK_SIZE, P, PROT_READ, PRIV_FIXED, ANON),
        Err(ENOMEM)
    );
    assert_eq!(o.mmap(B + 1, P, PROT_READ, PRIV_FIXED, ANON), Err(EINVAL));
    assert_eq!(o.mmap(P, P, PROT_READ, PRIV_FIXED, ANON), Err(EPERM));
    // do_mmap(): MAP_TYPE checks come after the address.
    assert_eq!(o.mmap(B, P, PROT_READ, MAP_FIXED, ANON), Err(EINVAL));
    assert_eq!(
        o.mmap(B, P, PROT_READ, MAP_SHARED_VALIDATE | MAP_FIXED, ANON),
        Err(EINVAL)
    );
    assert_eq!(
        o.mmap(B, P, PROT_READ, 0x4 | MAP_FIXED, file(0, 0)),
        Err(EINVAL)
    );
    // MAP_GROWSDOWN is refused for shared anon and for files.
    let gd = MAP_GROWSDOWN | MAP_FIXED;
    assert_eq!(o.mmap(B, P, PROT_READ, MAP_SHARED | gd, ANON), Err(EINVAL));
    assert_eq!(
        o.mmap(B, P, PROT_READ, MAP_PRIVATE | gd, file(1, 0)),
        Err(EINVAL)
    );
    // file_mmap_ok(): the end of the mapping past MAX_LFS_FILESIZE.
    let big = (i64::MAX as u64 >> PAGE_SHIFT) + 1;
    assert_eq!(
        o.mmap(B, P, PROT_READ, PRIV_FIXED, file(0, big)),
        Err(EOVERFLOW)
    );
    // File 2 is read-only: shared + PROT_WRITE is EACCES.
    assert_eq!(
        o.mmap(B, P, RW_PROT, MAP_SHARED | MAP_FIXED, file(2, 0)),
        Err(EACCES)
    );
    // MAP_SHARED_VALIDATE with a non-legacy flag is EOPNOTSUPP; MAP_SHARED
    // drops it silently.
    let nr = MAP_FIXED_NOREPLACE;
    assert_eq!(
        o.mmap(B, P, PROT_READ, MAP_SHARED_VALIDATE | nr, file(0, 0)),
        Err(EOPNOTSUPP)
    );
    assert_eq!(o.last_points(), vec![], "no allocation before the checks");
    assert_eq!(o.map_count(), 0);
    assert_eq!(o.mmap(B, P, PROT_READ, MAP_SHARED | nr, file(0, 0)), Ok(B));
    // MAP_FIXED_NOREPLACE over a mapping.
    assert_eq!(o.mmap(B, P, PROT_READ, MAP_PRIVATE | nr, ANON), Err(EEXIST));
}

#[test]
fn mmap_readonly_shared_file_drops_maywrite() {
    // mm/mmap.c do_mmap(): MAP_SHARED of a file without FMODE_WRITE clears
    // VM_MAYWRITE and VM_SHARED (VM_MAYSHARE stays); not accountable.
    let mut o = oracle(24);
    assert_eq!(
        o.mmap(B, P, PROT_READ, MAP_SHARED | MAP_FIXED, file(2, 7)),
        Ok(B)
    );
    let flags = VM_READ | VM_MAYREAD | VM_MAYEXEC | VM_MAYSHARE;
    assert_eq!(rows(&o), vec![(B, B + P, flags, Some(2), 7, 0)]);
    // mm/mprotect.c do_mprotect_pkey(): PROT_WRITE without VM_MAYWRITE.
    assert_eq!(o.mprotect(B, P, RW_PROT), Err(EACCES));
}

#[test]
fn mmap_map_count_limit_is_strictly_greater() {
    // mm/mmap.c do_mmap(): refused only when map_count > max_map_count.
    let mut o = oracle(1);
    map_anon(&mut o, B, 1, PROT_READ);
    map_anon(&mut o, B + 2 * P, 1, PROT_READ);
    assert_eq!(o.map_count(), 2);
    assert_eq!(
        o.mmap(B + 4 * P, P, PROT_READ, PRIV_FIXED, ANON),
        Err(ENOMEM)
    );
    assert_eq!(o.map_count(), 2);
}

#[test]
fn munmap_errors() {
    // mm/vma.c do_vmi_munmap().
    let mut o = oracle(24);
    map_anon(&mut o, B, 3, RW_PROT);
    assert_eq!(o.munmap(B + 1, P), Err(EINVAL), "unaligned");
    assert_eq!(o.munmap(B, 0), Err(EINVAL), "length 0");
    assert_eq!(o.munmap(TASK_SIZE + P, P), Err(EINVAL), "start > TASK_SIZE");
    assert_eq!(
        o.munmap(B, TASK_SIZE),
        Err(EINVAL),
        "len > TASK_SIZE - start"
    );
    assert_eq!(o.munmap(B + 10 * P, P), Ok(()), "a hole");
    assert_eq!(o.map_count(), 1);
}

#[test]
fn munmap_three_way_split_at_limit() {
    // mm/vma.c vms_gather_munmap_vmas(): only a split of one VMA in three
    // checks map_count >= max_map_count.
    let mut o = oracle(1);
    map_anon(&mut o, B, 3, RW_PROT);
    assert_eq!(o.munmap(B + P, P), Err(ENOMEM));
    assert_eq!(o.last_points(), vec![]);
    assert_eq!(rows(&o), vec![(B, B + 3 * P, RW, None, pg(B), 0)]);
    // Trimming an end is fine at the limit.
    assert_eq!(o.munmap(B + 2 * P, P), Ok(()));
    assert_eq!(rows(&o), vec![(B, B + 2 * P, RW, None, pg(B), 0)]);
}

#[test]
fn munmap_edge_splits_ignore_limit() {
    // mm/vma.c vms_gather_munmap_vmas(): __split_vma() at both edges of a
    // range over two VMAs: map_count goes above the limit for a while.
    let mut o = oracle(2);
    map_anon(&mut o, B, 2, PROT_READ);
    map_anon(&mut o, B + 2 * P, 2, RW_PROT);
    assert_eq!(o.munmap(B + P, 2 * P), Ok(()));
    assert_eq!(
        rows(&o),
        vec![
            (B, B + P, R, None, pg(B), 0),
            (B + 3 * P, B + 4 * P, RW, None, pg(B + 3 * P), 0)
        ]
    );
}

#[test]
fn mprotect_errors() {
    // mm/mprotect.c do_mprotect_pkey(), in order.
    let mut o = oracle(24);
    map_anon(&mut o, B, 2, RW_PROT);
    let both = PROT_GROWSDOWN | PROT_GROWSUP;
    assert_eq!(
        o.mprotect(B + 1, P, both),
        Err(EINVAL),
        "growsdown|growsup first"
    );
    assert_eq!(o.mprotect(B + 1, P, PROT_READ), Err(EINVAL), "unaligned");
    assert_eq!(
        o.mprotect(B + 1, 0, 0x100),
        Err(EINVAL),
        "alignment before len == 0"
    );
    assert_eq!(o.mprotect(B, 0, 0x100), Ok(()), "len == 0 before prot");
    assert_eq!(o.mprotect(B, u64::MAX, PROT_READ), Err(ENOMEM), "end wraps");
    assert_eq!(o.mprotect(B, P, 0x10), Err(EINVAL), "unknown prot bit");
    assert_eq!(
        o.mprotect(B, P, PROT_READ | PROT_SEM),
        Ok(()),
        "PROT_SEM is valid"
    );
    assert_eq!(o.mprotect(B - P, P, PROT_READ), Err(ENOMEM), "no VMA");
    assert_eq!(
        o.mprotect(B - P, 2 * P, PROT_READ),
        Err(ENOMEM),
        "starts in a hole"
    );
    assert_eq!(o.mprotect(B, P, PROT_READ | PROT_GROWSUP), Err(EINVAL));
    assert_eq!(o.mprotect(B, P, PROT_READ | PROT_GROWSDOWN), Err(EINVAL));
}

#[test]
fn mprotect_hole_keeps_earlier_changes() {
    // mm/mprotect.c do_mprotect_pkey(): a gap stops the walk with -ENOMEM
    // after the VMAs before it were changed.
    let mut o = oracle(24);
    map_anon(&mut o, B, 1, RW_PROT);
    map_anon(&mut o, B + 2 * P, 1, RW_PROT);
    assert_eq!(o.mprotect(B, 3 * P, PROT_READ), Err(ENOMEM));
    assert_eq!(
        rows(&o),
        vec![
            (B, B + P, R, None, pg(B), 0),
            (B + 2 * P, B + 3 * P, RW, None, pg(B + 2 * P), 0)
        ]
    );
    // A range running past the last VMA: changed, then -ENOMEM.
    assert_eq!(o.mprotect(B + 2 * P, 2 * P, PROT_READ), Err(ENOMEM));
    assert_eq!(o.vmas()[1].flags, R);
}

#[test]
fn mprotect_eacces_mid_walk() {
    // mm/mprotect.c do_mprotect_pkey(): the VM_MAY* check is per VMA, so
    // the first VMA is already changed when the second refuses.
    let mut o = oracle(24);
    map_anon(&mut o, B, 1, RW_PROT);
    assert_eq!(
        o.mmap(B + P, P, PROT_READ, MAP_SHARED | MAP_FIXED, file(2, 0)),
        Ok(B + P)
    );
    assert_eq!(o.mprotect(B, 2 * P, RW_PROT | PROT_EXEC), Err(EACCES));
    assert_eq!(o.vmas()[0].flags, RW | VM_EXEC);
}

#[test]
fn mprotect_split_limit_keeps_first_split() {
    // mm/vma.c vma_modify(): split_vma() checks map_count >= max for each
    // split; the first split stays when the second is refused.
    let mut o = oracle(2);
    map_anon(&mut o, B, 3, RW_PROT);
    assert_eq!(o.mprotect(B + P, P, PROT_READ), Err(ENOMEM));
    assert_eq!(
        rows(&o),
        vec![
            (B, B + P, RW, None, pg(B), 0),
            (B + P, B + 3 * P, RW, None, pg(B + P), 0)
        ]
    );
}

#[test]
fn madvise_errors() {
    // mm/madvise.c do_madvise(), madvise_walk_vmas(), madvise_vma_behavior().
    let mut o = oracle(24);
    map_anon(&mut o, B, 1, RW_PROT);
    map_file(&mut o, B + 2 * P, 1, RW_PROT, MAP_PRIVATE, 0, 0);
    assert_eq!(
        o.madvise(B, P, MADV_DONTNEED),
        Err(EINVAL),
        "not modelled: invalid"
    );
    assert_eq!(o.madvise(B + 1, P, MADV_DONTFORK), Err(EINVAL), "unaligned");
    assert_eq!(
        o.madvise(B, u64::MAX, MADV_DONTFORK),
        Err(EINVAL),
        "len rounds to 0"
    );
    assert_eq!(
        o.madvise(u64::MAX - P + 1, 2 * P, MADV_DONTFORK),
        Err(EINVAL),
        "end wraps"
    );
    assert_eq!(o.madvise(B, 0, MADV_DONTFORK), Ok(()), "empty");
    assert_eq!(
        o.madvise(TASK_SIZE, P, MADV_DONTFORK),
        Err(ENOMEM),
        "nothing mapped"
    );
    assert_eq!(
        o.madvise(B + 2 * P, P, MADV_WIPEONFORK),
        Err(EINVAL),
        "file"
    );
    // Holes are skipped: both VMAs get the flag, then -ENOMEM.
    assert_eq!(o.madvise(B, 3 * P, MADV_DONTDUMP), Err(ENOMEM));
    assert!(o.vmas().iter().all(|v| v.flags & VM_DONTDUMP != 0));
}

#[test]
fn madvise_split_failure_is_eagain() {
    // mm/madvise.c madvise_vma_behavior(): -ENOMEM from the split becomes
    // -EAGAIN.
    let mut o = oracle(1);
    map_anon(&mut o, B, 3, RW_PROT);
    assert_eq!(o.madvise(B + P, P, MADV_DONTFORK), Err(EAGAIN));
    assert_eq!(o.map_count(), 1);
}

#[test]
fn madvise_flag_changes_and_merge_back() {
    // mm/madvise.c madvise_vma_behavior(): RANDOM/SEQUENTIAL exclude each
    // other, NORMAL clears both; madvise_update_vma() merges back.
    let mut o = oracle(24);
    map_anon(&mut o, B, 3, RW_PROT);
    assert_eq!(o.madvise(B + P, P, MADV_RANDOM), Ok(()));
    assert_eq!(o.madvise(B + P, P, MADV_SEQUENTIAL), Ok(()));
    assert_eq!(o.vmas()[1].flags, RW | VM_SEQ_READ);
    assert_eq!(o.madvise(B + P, P, MADV_NORMAL), Ok(()));
    assert_eq!(rows(&o), vec![(B, B + 3 * P, RW, None, pg(B), 0)]);
}

#[test]
fn brk_errors_return_old_break() {
    // mm/mmap.c brk(): below start_brk, growing into a mapping (one free
    // page must remain above the new break), shrinking over nothing: all
    // return the old break.
    let mut o = oracle(24);
    assert_eq!(o.brk(START_BRK - 1), START_BRK);
    assert_eq!(o.brk(START_BRK + 2 * P), START_BRK + 2 * P);
    assert_eq!(
        rows(&o),
        vec![(START_BRK, START_BRK + 2 * P, RW, None, pg(START_BRK), 0)]
    );
    let top = START_BRK + 4 * P;
    map_anon(&mut o, top, 1, PROT_READ);
    assert_eq!(
        o.brk(top),
        START_BRK + 2 * P,
        "no free page left under the mapping"
    );
    assert_eq!(o.brk(top - P), top - P, "one page left free");
    assert_eq!(o.brk(top - P + 1), top - P, "rounds up to the mapping");
    assert_eq!(o.brk(top - P - 1), top - P - 1, "same page: no VMA work");
    assert_eq!(o.vmas()[0].end, top - P, "the heap VMA was extended");
    assert_eq!(o.munmap(START_BRK, 3 * P), Ok(()));
    assert_eq!(
        o.brk(START_BRK + P),
        top - P - 1,
        "shrink over nothing mapped"
    );
}

#[test]
fn brk_map_count_limit() {
    // mm/mmap.c do_brk_flags(): map_count > max refuses even an extension.
    let mut o = oracle(2);
    assert_eq!(o.brk(START_BRK + P), START_BRK + P);
    map_anon(&mut o, B, 1, PROT_READ);
    map_anon(&mut o, B + 2 * P, 1, PROT_READ);
    assert_eq!(o.map_count(), 3);
    assert_eq!(o.brk(START_BRK + 2 * P), START_BRK + P);
    assert_eq!(o.brk_value(), START_BRK + P);
    assert_eq!(o.munmap(B, P), Ok(()));
    assert_eq!(o.brk(START_BRK + 2 * P), START_BRK + 2 * P);
    assert_eq!(
        o.last_points(),
        vec![Point::Prealloc],
        "extended, not a new VMA"
    );
}

#[test]
fn touch_errors() {
    // x86 access_error() via the contract's touch().
    let mut o = oracle(24);
    map_anon(&mut o, B, 1, PROT_READ);
    map_anon(&mut o, B + P, 1, PROT_NONE);
    assert_eq!(o.touch(B - 1, false), Err(EFAULT));
    assert_eq!(o.touch(B, true), Err(EACCES));
    assert_eq!(o.touch(B + P, false), Err(EACCES));
    assert_eq!(o.touch(B, false), Ok(()));
    assert_eq!(o.last_points(), vec![], "a read fault creates nothing");
}

#[test]
fn mremap_errors() {
    // mm/mremap.c mremap(), vma_to_resize(), mremap_to(), move_vma().
    let mut o = oracle(24);
    map_anon(&mut o, B, 2, RW_PROT);
    map_anon(&mut o, B + 2 * P, 1, PROT_READ);
    assert_eq!(o.mremap(B, P, P, 8, 0), Err(EINVAL), "unknown flag");
    assert_eq!(
        o.mremap(B, P, P, MREMAP_FIXED, 0),
        Err(EINVAL),
        "FIXED needs MAYMOVE"
    );
    let du = MREMAP_DONTUNMAP | MREMAP_MAYMOVE;
    assert_eq!(
        o.mremap(B, P, 2 * P, du, 0),
        Err(EINVAL),
        "DONTUNMAP resizes"
    );
    assert_eq!(o.mremap(B + 1, P, P, 0, 0), Err(EINVAL), "unaligned");
    assert_eq!(o.mremap(B, P, 0, 0, 0), Err(EINVAL), "new_len 0");
    assert_eq!(o.mremap(B - P, P, 2 * P, 0, 0), Err(EFAULT), "no VMA");
    assert_eq!(
        o.mremap(B, 3 * P, 4 * P, 0, 0),
        Err(EFAULT),
        "crosses the VMA end"
    );
    assert_eq!(
        o.mremap(B, 0, P, MREMAP_MAYMOVE, 0),
        Err(EINVAL),
        "duplicate private"
    );
    assert_eq!(
        o.mremap(B, 2 * P, 3 * P, 0, 0),
        Err(ENOMEM),
        "blocked, no MAYMOVE"
    );
    let fx = MREMAP_FIXED | MREMAP_MAYMOVE;
    assert_eq!(o.mremap(B, 2 * P, 2 * P, fx, B + P), Err(EINVAL), "overlap");
    assert_eq!(
        o.mremap(B, 2 * P, 2 * P, fx, B + 1),
        Err(EINVAL),
        "unaligned target"
    );
    assert_eq!(o.map_count(), 2);
    let mut o = oracle(6);
    map_anon(&mut o, B, 2, RW_PROT);
    // map_count + 2 >= max - 3.
    assert_eq!(o.mremap(B, 2 * P, 2 * P, fx, B + 8 * P), Err(ENOMEM));
    let mut o = oracle(4);
    map_anon(&mut o, B, 2, RW_PROT);
    map_anon(&mut o, B + 2 * P, 1, PROT_READ);
    // move_vma(): map_count >= max - 3.
    assert_eq!(o.mremap(B, 2 * P, 3 * P, MREMAP_MAYMOVE, 0), Err(ENOMEM));
}
