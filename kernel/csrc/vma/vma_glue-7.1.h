/* SPDX-License-Identifier: GPL-2.0-or-later */

#include "vma_glue_common.h"
/*
 * maplefuzz kernel VMA engine, Linux 7.1: the syscalls of the VMA contract
 * on the tree's mm/vma.c (the flat API is vma_api.h).
 *
 * 7.1's mm/vma.c has mmap_region() (__mmap_region), do_brk_flags(),
 * unmapped_area()/_topdown(), vma_modify_flags(), copy_vma(),
 * do_vmi_munmap(), vma_merge_extend(), unmap_region() and remove_vma():
 * the glue calls them. Glue remains for what 7.1 keeps elsewhere, each
 * function named after the kernel's: the do_mmap() and get_unmapped_area
 * prologue, brk, exit_mmap() and dup_mmap() (mm/mmap.c), mprotect_fixup()
 * (mm/mprotect.c), madvise_update_vma() and the walk (mm/madvise.c), the
 * mremap paths (mm/mremap.c), free_pgtables() (mm/memory.c). Left out,
 * as on 6.12: locking, page tables, accounting that cannot fail here,
 * security hooks, userfaultfd, mseal, MDWE, protection keys, KSM, THP and
 * hugetlb, perf and uprobes. No merge or split decision is made here.
 */

/*
 * free_pgtables() (mm/memory.c) as VMAs see it: from unmap->first, every
 * VMA the maple state finds below tree_end leaves its anon_vmas (7.1
 * bounds the walk by tree_end where 6.12 stopped at an XA_ZERO_ENTRY).
 */
static void free_pgtables(struct mmu_gather *tlb, struct unmap_desc *unmap)
{
	struct vm_area_struct *vma = unmap->first;

	(void)tlb;
	do {
		struct vm_area_struct *next = mas_find(unmap->mas, unmap->tree_end - 1);

		if (unmap->mm_wr_locked)
			vma_start_write(vma);
		unlink_anon_vmas(vma);
		vma = next;
	} while (vma);
}

/* ---- get_unmapped_area (mm/mmap.c) ------------------------------------ */

/*
 * generic_get_unmapped_area_topdown(), the mm's allocator: the hint if it
 * fits, else mm/vma.c's unmapped_area_topdown() below mmap_base, else
 * unmapped_area() above TASK_UNMAPPED_BASE.
 */
static unsigned long mfv_generic_get_unmapped_area_topdown(unsigned long addr, unsigned long len,
							   unsigned long flags)
{
	const unsigned long mmap_end = MFV_TASK_SIZE;
	struct vm_area_struct *vma, *prev;
	struct vm_unmapped_area_info info = {};

	if (len > mmap_end - MFV_MMAP_MIN_ADDR)
		return -ENOMEM;
	if (flags & MFV_MAP_FIXED)
		return addr;
	if (addr) {
		addr = mfv_page_align(addr);
		vma = find_vma_prev(current->mm, addr, &prev);
		if (mmap_end - len >= addr && addr >= MFV_MMAP_MIN_ADDR &&
		    (!vma || addr + len <= vm_start_gap(vma)) &&
		    (!prev || addr >= vm_end_gap(prev)))
			return addr;
	}
	info.flags = VM_UNMAPPED_AREA_TOPDOWN;
	info.length = len;
	info.low_limit = PAGE_SIZE;
	info.high_limit = MFV_MMAP_BASE;
	addr = unmapped_area_topdown(&info);
	if (offset_in_page(addr)) {
		info.flags = 0;
		info.low_limit = MFV_TASK_UNMAPPED_BASE;
		info.high_limit = mmap_end;
		addr = unmapped_area(&info);
	}
	return addr;
}

/* ---- mmap (mm/mmap.c) -------------------------------------------------- */

/* do_mmap(), with mmap(2)'s file and page offset resolved; then mm/vma.c. */
static unsigned long mfv_do_mmap(struct mfv_file *mf, unsigned long addr, unsigned long len,
				 unsigned long prot, unsigned long flags, unsigned long pgoff)
{
	struct mm_struct *mm = current->mm;
	struct file *file = mf ? &mf->f : NULL;
	vm_flags_t vm_flags = 0;

	if (!len)
		return -EINVAL;
	if (flags & MFV_MAP_FIXED_NOREPLACE)
		flags |= MFV_MAP_FIXED;
	if (!(flags & MFV_MAP_FIXED)) {
		/* round_hint_to_min() */
		addr &= PAGE_MASK;
		if (addr && addr < MFV_MMAP_MIN_ADDR)
			addr = mfv_page_align(MFV_MMAP_MIN_ADDR);
	}
	len = mfv_page_align(len);
	if (!len)
		return -ENOMEM;
	if (pgoff + (len >> PAGE_SHIFT) < pgoff)
		return -EOVERFLOW;
	if (mm->map_count > get_sysctl_max_map_count())
		return -ENOMEM;
	/* calc_vm_prot_bits(), calc_vm_flag_bits() (no THP, no pkeys). */
	if (prot & MFV_PROT_READ)
		vm_flags |= VM_READ;
	if (prot & MFV_PROT_WRITE)
		vm_flags |= VM_WRITE;
	if (prot & MFV_PROT_EXEC)
		vm_flags |= VM_EXEC;
	if (flags & MFV_MAP_GROWSDOWN)
		vm_flags |= VM_GROWSDOWN;
	if (flags & MFV_MAP_LOCKED)
		vm_flags |= VM_LOCKED;
	if (flags & MFV_MAP_SYNC)
		vm_flags |= MFV_VM_SYNC;
	vm_flags |= mm->def_flags | VM_MAYREAD | VM_MAYWRITE | VM_MAYEXEC;

	addr = mfv_get_unmapped_area(addr, len, flags);
	if (IS_ERR_VALUE(addr))
		return addr;
	if (flags & MFV_MAP_FIXED_NOREPLACE) {
		if (find_vma_intersection(mm, addr, addr + len))
			return -EEXIST;
	}
	if (file) {
		/* file_mmap_ok() for a regular file. */
		if (pgoff > (MFV_MAX_LFS_FILESIZE - len) >> PAGE_SHIFT)
			return -EOVERFLOW;
		switch (flags & MFV_MAP_TYPE) {
		case MFV_MAP_SHARED:
			flags &= MFV_LEGACY_MAP_MASK;
			/* fallthrough */
		case MFV_MAP_SHARED_VALIDATE:
			if (flags & ~MFV_LEGACY_MAP_MASK)
				return -EOPNOTSUPP;
			if ((prot & MFV_PROT_WRITE) && !mf->writable)
				return -EACCES;
			vm_flags |= VM_SHARED | VM_MAYSHARE;
			if (!mf->writable)
				vm_flags &= ~(VM_MAYWRITE | VM_SHARED);
			/* fallthrough */
		case MFV_MAP_PRIVATE:
			if (!can_mmap_file(file))
				return -ENODEV;
			if (vm_flags & VM_GROWSDOWN)
				return -EINVAL;
			break;
		default:
			return -EINVAL;
		}
	} else {
		switch (flags & MFV_MAP_TYPE) {
		case MFV_MAP_SHARED:
			if (vm_flags & VM_GROWSDOWN)
				return -EINVAL;
			pgoff = 0;
			vm_flags |= VM_SHARED | VM_MAYSHARE;
			break;
		case MFV_MAP_DROPPABLE:
			if (flags & (MFV_MAP_LOCKED | MFV_MAP_HUGETLB))
				return -EINVAL;
			if (vm_flags & VM_GROWSDOWN)
				return -EINVAL;
			vm_flags |= MFV_VM_DROPPABLE | MFV_VM_NORESERVE | MFV_VM_WIPEONFORK |
				    MFV_VM_DONTDUMP;
			/* fallthrough */
		case MFV_MAP_PRIVATE:
			pgoff = addr >> PAGE_SHIFT;
			break;
		default:
			return -EINVAL;
		}
	}
	if (flags & MFV_MAP_NORESERVE)
		vm_flags |= MFV_VM_NORESERVE;
	return mmap_region(file, addr, len, vm_flags, pgoff, NULL);
}

/* ---- munmap ------------------------------------------------------------ */

/* ---- mprotect (mm/mprotect.c) ----------------------------------------- */

/*
 * mprotect_fixup(): the VM_ACCOUNT rules, then vma_modify_flags(), which
 * may hand back flags a merge kept (7.1's sticky flags); those are what
 * the VMA gets.
 */
static int mfv_mprotect_fixup(struct vma_iterator *vmi, struct vm_area_struct *vma,
			      struct vm_area_struct **pprev, unsigned long start,
			      unsigned long end, vm_flags_t newflags)
{
	const vma_flags_t old_vma_flags = vma->flags;
	vma_flags_t new_vma_flags = legacy_to_vma_flags(newflags);
	long nrpages = (long)((end - start) >> PAGE_SHIFT);
	vm_flags_t oldflags = vma_flags_to_legacy(old_vma_flags);

	if (vma_flags_same_pair(&old_vma_flags, &new_vma_flags)) {
		*pprev = vma;
		return 0;
	}
	if (newflags & VM_WRITE) {
		if (!(oldflags & (VM_ACCOUNT | VM_WRITE | MFV_VM_HUGETLB | VM_SHARED |
				  MFV_VM_NORESERVE)))
			vma_flags_set(&new_vma_flags, VMA_ACCOUNT_BIT);
	} else if ((oldflags & VM_ACCOUNT) && vma_is_anonymous(vma) && !vma->anon_vma) {
		vma_flags_clear(&new_vma_flags, VMA_ACCOUNT_BIT);
	}
	vma = vma_modify_flags(vmi, *pprev, vma, start, end, &new_vma_flags);
	if (IS_ERR(vma))
		return PTR_ERR(vma);
	*pprev = vma;
	vma_start_write(vma);
	vma_flags_reset_once(vma, &new_vma_flags);
	vma_set_page_prot(vma);
	vm_stat_account(current->mm, oldflags, -nrpages);
	vm_stat_account(current->mm, vma_flags_to_legacy(new_vma_flags), nrpages);
	return 0;
}

/* ---- madvise (mm/madvise.c) -------------------------------------------- */

/*
 * madvise_update_vma(): nothing if the flags are the same, else
 * vma_modify_flags() and the VMA takes the new flags. *vmap is the VMA
 * the walk goes on from.
 */
static int mfv_madvise_update_vma(struct vm_area_struct **vmap, struct vm_area_struct *prev,
				  unsigned long start, unsigned long end, vm_flags_t new_flags)
{
	struct vm_area_struct *vma = *vmap;
	vma_flags_t new_vma_flags = legacy_to_vma_flags(new_flags);
	VMA_ITERATOR(vmi, current->mm, start);

	if (vma_flags_same_mask(&vma->flags, new_vma_flags))
		return 0;
	vma = vma_modify_flags(&vmi, prev, vma, start, end, &new_vma_flags);
	if (IS_ERR(vma))
		return PTR_ERR(vma);
	*vmap = vma;
	vma_start_write(vma);
	vma->flags = new_vma_flags;
	return 0;
}

/* madvise_vma_behavior() for the advices that change VMA flags. */
static int mfv_madvise_vma_behavior(struct vm_area_struct **vmap, struct vm_area_struct *prev,
				    unsigned long start, unsigned long end, int behavior)
{
	struct vm_area_struct *vma = *vmap;
	vm_flags_t new_flags = vma->vm_flags;
	int error;

	switch (behavior) {
	case MFV_MADV_NORMAL:
		new_flags &= ~(MFV_VM_RAND_READ | MFV_VM_SEQ_READ);
		break;
	case MFV_MADV_SEQUENTIAL:
		new_flags = (new_flags & ~MFV_VM_RAND_READ) | MFV_VM_SEQ_READ;
		break;
	case MFV_MADV_RANDOM:
		new_flags = (new_flags & ~MFV_VM_SEQ_READ) | MFV_VM_RAND_READ;
		break;
	case MFV_MADV_DONTFORK:
		new_flags |= MFV_VM_DONTCOPY;
		break;
	case MFV_MADV_DOFORK:
		if (new_flags & VM_SPECIAL)
			return -EINVAL;
		new_flags &= ~MFV_VM_DONTCOPY;
		break;
	case MFV_MADV_WIPEONFORK:
		if (vma->vm_file || new_flags & VM_SHARED)
			return -EINVAL;
		new_flags |= MFV_VM_WIPEONFORK;
		break;
	case MFV_MADV_KEEPONFORK:
		if (new_flags & MFV_VM_DROPPABLE)
			return -EINVAL;
		new_flags &= ~MFV_VM_WIPEONFORK;
		break;
	case MFV_MADV_DONTDUMP:
		new_flags |= MFV_VM_DONTDUMP;
		break;
	case MFV_MADV_DODUMP:
		if ((new_flags & VM_SPECIAL) || (new_flags & MFV_VM_DROPPABLE))
			return -EINVAL;
		new_flags &= ~MFV_VM_DONTDUMP;
		break;
	default:
		return -EINVAL;
	}
	error = mfv_madvise_update_vma(vmap, prev, start, end, new_flags);
	if (error == -ENOMEM)
		error = -EAGAIN;
	return error;
}

/* do_madvise(): is_valid_madvise(), madvise_should_skip(), madvise_walk_vmas(). */
static int mfv_madvise(unsigned long start, size_t len_in, int behavior)
{
	struct mm_struct *mm = current->mm;
	struct vm_area_struct *vma, *prev;
	unsigned long last_end, end;
	int unmapped_error = 0;
	size_t len;
	int error;

	switch (behavior) {
	case MFV_MADV_NORMAL:
	case MFV_MADV_RANDOM:
	case MFV_MADV_SEQUENTIAL:
	case MFV_MADV_DONTFORK:
	case MFV_MADV_DOFORK:
	case MFV_MADV_DONTDUMP:
	case MFV_MADV_DODUMP:
	case MFV_MADV_WIPEONFORK:
	case MFV_MADV_KEEPONFORK:
		break;
	default:
		return -EINVAL;
	}
	if (start & ~PAGE_MASK)
		return -EINVAL;
	len = mfv_page_align(len_in);
	if (len_in && !len)
		return -EINVAL;
	if (start + len < start)
		return -EINVAL;
	if (start + len == start)
		return 0;

	last_end = start + len;
	vma = find_vma_prev(mm, start, &prev);
	if (vma && start > vma->vm_start)
		prev = vma;
	for (;;) {
		if (!vma)
			return -ENOMEM;
		if (start < vma->vm_start) {
			unmapped_error = -ENOMEM;
			start = vma->vm_start;
			if (start >= last_end)
				break;
		}
		end = vma->vm_end < last_end ? vma->vm_end : last_end;
		error = mfv_madvise_vma_behavior(&vma, prev, start, end, behavior);
		if (error)
			return error;
		prev = vma;
		if (end < vma->vm_end)
			end = vma->vm_end;
		if (end >= last_end)
			break;
		vma = mfv_find_vma(mm, vma->vm_end);
		start = end;
	}
	return unmapped_error;
}

/* ---- brk (mm/mmap.c) --------------------------------------------------- */

/* The brk syscall: the break afterwards (the old one on failure). */
static unsigned long mfv_brk(unsigned long brk)
{
	struct mfv_proc *p = mfv_p;
	struct mm_struct *mm = current->mm;
	unsigned long newbrk, oldbrk, origbrk = p->brk;
	struct vm_area_struct *brkvma, *next;
	struct vma_iterator vmi;

	if (brk < p->start_brk)
		goto out;
	newbrk = mfv_page_align(brk);
	oldbrk = mfv_page_align(p->brk);
	if (oldbrk == newbrk) {
		p->brk = brk;
		return brk;
	}
	if (brk <= p->brk) {
		vma_iter_init(&vmi, mm, newbrk);
		brkvma = vma_find(&vmi, oldbrk);
		if (!brkvma || brkvma->vm_start >= oldbrk)
			goto out;
		p->brk = brk;
		if (do_vmi_align_munmap(&vmi, brkvma, mm, newbrk, oldbrk, NULL, true))
			goto out;
		return brk;
	}
	/* check_brk_limits(): get_unmapped_area(MAP_FIXED) and no mlock limit. */
	if (IS_ERR_VALUE(mfv_get_unmapped_area(oldbrk, newbrk - oldbrk, MFV_MAP_FIXED)))
		goto out;
	vma_iter_init(&vmi, mm, oldbrk);
	next = vma_find(&vmi, newbrk + PAGE_SIZE + stack_guard_gap);
	if (next && newbrk + PAGE_SIZE > vm_start_gap(next))
		goto out;
	brkvma = vma_prev_limit(&vmi, p->start_brk);
	if (do_brk_flags(&vmi, brkvma, oldbrk, newbrk - oldbrk, EMPTY_VMA_FLAGS) < 0)
		goto out;
	p->brk = brk;
	return brk;
out:
	p->brk = origbrk;
	return origbrk;
}

/* ---- mremap (mm/mremap.c) --------------------------------------------- */

/* struct vma_remap_struct, as far as the contract goes. */
struct mfv_vrm {
	struct vm_area_struct *vma;
	unsigned long addr, old_len, new_len, new_addr, flags, delta;
	enum { MFV_REMAP_INVALID, MFV_REMAP_NO_RESIZE, MFV_REMAP_SHRINK,
	       MFV_REMAP_EXPAND } remap_type;
	bool vmi_needs_invalidate;
};

static bool mfv_vrm_implies_new_addr(struct mfv_vrm *vrm)
{
	return vrm->flags & (MFV_MREMAP_FIXED | MFV_MREMAP_DONTUNMAP);
}

/* vrm_set_new_addr(): get_unmapped_area() for the target. */
static unsigned long mfv_vrm_set_new_addr(struct mfv_vrm *vrm)
{
	unsigned long map_flags = 0, res;
	unsigned long new_addr = mfv_vrm_implies_new_addr(vrm) ? vrm->new_addr : 0;

	if (vrm->flags & MFV_MREMAP_FIXED)
		map_flags |= MFV_MAP_FIXED;
	if (vrm->vma->vm_flags & VM_MAYSHARE)
		map_flags |= MFV_MAP_SHARED;
	res = mfv_get_unmapped_area(new_addr, vrm->new_len, map_flags);
	if (IS_ERR_VALUE(res))
		return res;
	vrm->new_addr = res;
	return 0;
}

/* __check_map_count_against_split(): room for two splits (four early). */
static bool mfv_check_map_count_against_split(bool before_unmaps)
{
	int map_count = current->mm->map_count;

	if (before_unmaps)
		map_count += 2;
	return map_count + 2 <= get_sysctl_max_map_count();
}

/* vrm_stat_account(): the mm's counters, locked_vm for a locked VMA. */
static void mfv_vrm_stat_account(struct mfv_vrm *vrm, unsigned long bytes)
{
	unsigned long pages = bytes >> PAGE_SHIFT;
	struct vm_area_struct *vma = vrm->vma;

	vm_stat_account(current->mm, vma->vm_flags, pages);
	if (vma->vm_flags & VM_LOCKED)
		current->mm->locked_vm += pages;
}

/*
 * unmap_source_vma(): VM_ACCOUNT leaves the source for the munmap, and
 * goes back to what is left of it on either side.
 */
static void mfv_unmap_source_vma(struct mfv_vrm *vrm)
{
	struct mm_struct *mm = current->mm;
	unsigned long addr = vrm->addr, len = vrm->old_len;
	struct vm_area_struct *vma = vrm->vma;
	unsigned long vm_start = 0, vm_end = 0;
	bool accountable_move = (vma->vm_flags & VM_ACCOUNT) &&
				!(vrm->flags & MFV_MREMAP_DONTUNMAP);
	VMA_ITERATOR(vmi, mm, addr);
	int err;

	if (accountable_move) {
		vm_flags_clear(vma, VM_ACCOUNT);
		vm_start = vma->vm_start;
		vm_end = vma->vm_end;
	}
	err = do_vmi_munmap(&vmi, mm, addr, len, NULL, false);
	vrm->vma = NULL;
	vrm->vmi_needs_invalidate = true;
	if (err)
		return;
	if (accountable_move) {
		if (vm_start < addr)
			vm_flags_set(vma_prev(&vmi), VM_ACCOUNT);
		if (vm_end > addr + len)
			vm_flags_set(vma_next(&vmi), VM_ACCOUNT);
	}
}

/*
 * move_vma(): prep_move_vma() (the map count), copy_vma() at the target
 * (mm/vma.c; page tables always move here), vrm_stat_account(), then
 * DONTUNMAP's completion or the unmap of the source.
 *
 * 7.1 has finding 14 (docs/findings/mremap-dontunmap-mlock.md): a
 * DONTUNMAP move clears VM_LOCKED on the whole source VMA and leaves its
 * locked_vm charge. The `fixed` build (MFV_FIX_DONTUNMAP_MLOCK) runs the
 * patch: prep_move_vma() splits the range out of a locked source first,
 * and dontunmap_complete() moves the charge (unless the copy merged into
 * the source, which then stays locked).
 */
static unsigned long mfv_move_vma(struct mfv_vrm *vrm)
{
	struct vm_area_struct *vma = vrm->vma, *new_vma;
	const bool fixed = mfv_p->fixes & MFV_FIX_DONTUNMAP_MLOCK;
	unsigned long new_pgoff;
	bool need_rmap_locks;

	if (!mfv_check_map_count_against_split(false))
		return -ENOMEM;
	if (fixed && (vrm->flags & MFV_MREMAP_DONTUNMAP) && (vma->vm_flags & VM_LOCKED)) {
		VMA_ITERATOR(vmi, current->mm, vrm->addr);
		int err = 0;

		if (vma->vm_start != vrm->addr)
			err = split_vma(&vmi, vma, vrm->addr, 1);
		if (!err && vma->vm_end != vrm->addr + vrm->old_len)
			err = split_vma(&vmi, vma, vrm->addr + vrm->old_len, 0);
		vrm->vmi_needs_invalidate = true;
		if (err)
			return err;
	}
	vma_start_write(vma);
	new_pgoff = vma->vm_pgoff + ((vrm->addr - vma->vm_start) >> PAGE_SHIFT);
	new_vma = copy_vma(&vma, vrm->new_addr, vrm->new_len, new_pgoff, &need_rmap_locks);
	if (!new_vma)
		return -ENOMEM;
	if (vma != vrm->vma)
		vrm->vmi_needs_invalidate = true;
	vrm->vma = vma;
	mfv_vrm_stat_account(vrm, vrm->new_len);
	if (vrm->flags & MFV_MREMAP_DONTUNMAP) {
		/* dontunmap_complete() */
		unsigned long start = vrm->addr, end = vrm->addr + vrm->old_len;

		if (!fixed) {
			vm_flags_clear(vma, VM_LOCKED_MASK);
		} else if (new_vma != vma) {
			if (vma->vm_flags & VM_LOCKED)
				current->mm->locked_vm -= vrm->old_len >> PAGE_SHIFT;
			vm_flags_clear(vma, VM_LOCKED_MASK);
		}
		if (new_vma != vma && start == vma->vm_start && end == vma->vm_end)
			unlink_anon_vmas(vma);
	} else {
		mfv_unmap_source_vma(vrm);
	}
	return vrm->new_addr;
}

/* shrink_vma(): unmap the tail, then find the VMA again. */
static unsigned long mfv_shrink_vma(struct mfv_vrm *vrm, bool drop_lock)
{
	struct mm_struct *mm = current->mm;
	unsigned long res;
	VMA_ITERATOR(vmi, mm, vrm->addr + vrm->new_len);

	res = do_vmi_munmap(&vmi, mm, vrm->addr + vrm->new_len, vrm->delta, NULL, drop_lock);
	vrm->vma = NULL;
	if (res)
		return res;
	if (!drop_lock) {
		vrm->vma = vma_lookup(mm, vrm->addr);
		if (!vrm->vma)
			return -EFAULT;
	}
	return 0;
}

/* mremap_to() */
static unsigned long mfv_mremap_to(struct mfv_vrm *vrm)
{
	struct mm_struct *mm = current->mm;
	unsigned long err;

	if (vrm->flags & MFV_MREMAP_FIXED) {
		VMA_ITERATOR(vmi, mm, vrm->new_addr);

		err = do_vmi_munmap(&vmi, mm, vrm->new_addr, vrm->new_len, NULL, false);
		vrm->vma = NULL;
		vrm->vmi_needs_invalidate = true;
		if (err)
			return err;
		vrm->vma = vma_lookup(mm, vrm->addr);
		if (!vrm->vma)
			return -EFAULT;
	}
	if (vrm->remap_type == MFV_REMAP_SHRINK) {
		err = mfv_shrink_vma(vrm, false);
		if (err)
			return err;
		vrm->old_len = vrm->new_len;
	}
	err = mfv_vrm_set_new_addr(vrm);
	if (err)
		return err;
	return mfv_move_vma(vrm);
}

/* expand_vma(): in place with vma_merge_extend() (mm/vma.c), else move. */
static unsigned long mfv_expand_vma(struct mfv_vrm *vrm)
{
	unsigned long err;

	if (vrm->vma->vm_end - vrm->addr == vrm->old_len &&
	    mfv_vma_expandable(vrm->vma, vrm->delta)) {
		VMA_ITERATOR(vmi, current->mm, vrm->vma->vm_end);
		struct vm_area_struct *vma = vma_merge_extend(&vmi, vrm->vma, vrm->delta);

		if (!vma)
			return -ENOMEM;
		vrm->vma = vma;
		mfv_vrm_stat_account(vrm, vrm->delta);
		return vrm->addr;
	}
	if (!(vrm->flags & MFV_MREMAP_MAYMOVE))
		return -ENOMEM;
	err = mfv_vrm_set_new_addr(vrm);
	if (err)
		return err;
	return mfv_move_vma(vrm);
}

/* mremap_at() */
static unsigned long mfv_mremap_at(struct mfv_vrm *vrm)
{
	unsigned long res;

	switch (vrm->remap_type) {
	case MFV_REMAP_NO_RESIZE:
		return vrm->addr;
	case MFV_REMAP_SHRINK:
		res = mfv_shrink_vma(vrm, true);
		if (res)
			return res;
		return vrm->addr;
	case MFV_REMAP_EXPAND:
		return mfv_expand_vma(vrm);
	default:
		break;
	}
	mfv_note("mremap_at: invalid remap type");
	return -EINVAL;
}

/* check_prep_vma(): the source VMA's checks, once the type is known. */
static int mfv_check_prep_vma(struct mfv_vrm *vrm)
{
	struct vm_area_struct *vma = vrm->vma;
	unsigned long addr = vrm->addr, old_len, new_len, pgoff;

	if (!vma)
		return -EFAULT;
	vrm->delta = vrm->old_len > vrm->new_len ? vrm->old_len - vrm->new_len :
						   vrm->new_len - vrm->old_len;
	if (!vrm->delta)
		vrm->remap_type = MFV_REMAP_NO_RESIZE;
	else if (vrm->old_len > vrm->new_len)
		vrm->remap_type = MFV_REMAP_SHRINK;
	else
		vrm->remap_type = MFV_REMAP_EXPAND;
	if (!mfv_vrm_implies_new_addr(vrm))
		vrm->new_addr = addr;
	/* vrm_will_map_new() */
	if (vrm->remap_type != MFV_REMAP_EXPAND && !mfv_vrm_implies_new_addr(vrm))
		return 0;
	old_len = vrm->old_len;
	new_len = vrm->new_len;
	if (!old_len && !(vma->vm_flags & (VM_SHARED | VM_MAYSHARE)))
		return -EINVAL;
	if ((vrm->flags & MFV_MREMAP_DONTUNMAP) && (vma->vm_flags & (VM_DONTEXPAND | VM_PFNMAP)))
		return -EINVAL;
	if (vrm->remap_type == MFV_REMAP_SHRINK)
		old_len = new_len;
	if (old_len > vma->vm_end - addr)
		return -EFAULT;
	if (new_len == old_len)
		return 0;
	pgoff = ((addr - vma->vm_start) >> PAGE_SHIFT) + vma->vm_pgoff;
	if (pgoff + (new_len >> PAGE_SHIFT) < pgoff)
		return -EINVAL;
	if (vma->vm_flags & (VM_DONTEXPAND | VM_PFNMAP))
		return -EFAULT;
	return 0;
}

/* check_mremap_params() */
static unsigned long mfv_check_mremap_params(struct mfv_vrm *vrm)
{
	unsigned long flags = vrm->flags;

	if (flags & ~(MFV_MREMAP_FIXED | MFV_MREMAP_MAYMOVE | MFV_MREMAP_DONTUNMAP))
		return -EINVAL;
	if (offset_in_page(vrm->addr))
		return -EINVAL;
	if (!vrm->new_len)
		return -EINVAL;
	if (vrm->new_len > MFV_TASK_SIZE)
		return -EINVAL;
	if (!mfv_vrm_implies_new_addr(vrm))
		return 0;
	if (vrm->new_addr > MFV_TASK_SIZE - vrm->new_len)
		return -EINVAL;
	if (offset_in_page(vrm->new_addr))
		return -EINVAL;
	if (!(flags & MFV_MREMAP_MAYMOVE))
		return -EINVAL;
	if (flags & MFV_MREMAP_DONTUNMAP && vrm->old_len != vrm->new_len)
		return -EINVAL;
	/* vrm_overlaps() */
	if (vrm->addr + vrm->old_len > vrm->new_addr && vrm->new_addr + vrm->new_len > vrm->addr)
		return -EINVAL;
	return 0;
}

/*
 * remap_move(): MREMAP_FIXED without a resize moves every VMA of the
 * range, keeping the gaps between them (our files have no
 * ->get_unmapped_area, so vma_multi_allowed() holds for every VMA).
 */
static unsigned long mfv_remap_move(struct mfv_vrm *vrm)
{
	struct vm_area_struct *vma;
	unsigned long start = vrm->addr, end = vrm->addr + vrm->old_len;
	unsigned long target_addr = vrm->new_addr, res = -EFAULT, last_end = 0;
	bool seen_vma = false;
	VMA_ITERATOR(vmi, current->mm, start);

	for_each_vma_range(vmi, vma, end) {
		unsigned long addr = vma->vm_start > start ? vma->vm_start : start;
		unsigned long len = (end < vma->vm_end ? end : vma->vm_end) - addr;
		unsigned long offset, res_vma;

		if (!seen_vma && start < vma->vm_start)
			return -EFAULT;
		offset = seen_vma ? vma->vm_start - last_end : 0;
		last_end = vma->vm_end;
		vrm->vma = vma;
		vrm->addr = addr;
		vrm->new_addr = target_addr + offset;
		vrm->old_len = vrm->new_len = len;
		res_vma = mfv_check_prep_vma(vrm);
		if (!res_vma)
			res_vma = mfv_mremap_to(vrm);
		if (IS_ERR_VALUE(res_vma))
			return res_vma;
		if (!seen_vma)
			res = res_vma;
		if (vrm->vmi_needs_invalidate) {
			vma_iter_invalidate(&vmi);
			vrm->vmi_needs_invalidate = false;
		}
		seen_vma = true;
		target_addr = res_vma + vrm->new_len;
	}
	return res;
}

/* The mremap syscall: do_mremap(). */
static unsigned long mfv_mremap(unsigned long addr, unsigned long old_len,
				unsigned long new_len, unsigned long flags,
				unsigned long new_addr)
{
	struct mfv_vrm vrm = {
		.addr = addr,
		.old_len = mfv_page_align(old_len),
		.new_len = mfv_page_align(new_len),
		.flags = flags,
		.new_addr = new_addr,
		.remap_type = MFV_REMAP_INVALID,
	};
	unsigned long res;

	res = mfv_check_mremap_params(&vrm);
	if (res)
		return res;
	if (!mfv_check_map_count_against_split(true))
		return -ENOMEM;
	/* vrm_move_only() */
	if ((vrm.flags & MFV_MREMAP_FIXED) && vrm.old_len == vrm.new_len)
		return mfv_remap_move(&vrm);
	vrm.vma = vma_lookup(current->mm, vrm.addr);
	res = mfv_check_prep_vma(&vrm);
	if (res)
		return res;
	return mfv_vrm_implies_new_addr(&vrm) ? mfv_mremap_to(&vrm) : mfv_mremap_at(&vrm);
}

/* ---- a page fault ------------------------------------------------------ */


/* ---- fork and exit (mm/mmap.c) ----------------------------------------- */

/*
 * tear_down_vmas(): from vma, detach and remove (mm/vma.c's remove_vma())
 * every VMA ending by end; answers how many.
 */
static long mfv_tear_down_vmas(struct vma_iterator *vmi, struct vm_area_struct *vma,
			       unsigned long end)
{
	long count = 0;

	vma_iter_set(vmi, vma->vm_end);
	do {
		vma_mark_detached(vma);
		remove_vma(vma);
		count++;
		vma = vma_next(vmi);
	} while (vma && vma->vm_end <= end);
	return count;
}

/*
 * exit_mmap() as far as VMAs go: free_pgtables() over the whole tree
 * (every VMA leaves its anon_vmas), then tear_down_vmas(); the count
 * must be map_count (the kernel warns); then the tree goes.
 */
static void mfv_exit_mmap(struct mm_struct *mm)
{
	struct vm_area_struct *vma;
	struct unmap_desc unmap;
	VMA_ITERATOR(vmi, mm, 0);

	vma = vma_next(&vmi);
	if (vma) {
		long count;

		unmap_all_init(&unmap, &vmi, vma);
		unmap.mm_wr_locked = true;
		mt_clear_in_rcu(&mm->mm_mt);
		unmap_pgtable_init(&unmap, &vmi);
		free_pgtables(NULL, &unmap);
		count = mfv_tear_down_vmas(&vmi, vma, ULONG_MAX);
		if (count != mm->map_count)
			mfv_note("exit_mmap: %ld VMAs freed for map_count %d", count,
				 mm->map_count);
	}
	__mt_destroy(&mm->mm_mt);
	free(mm);
}

/*
 * dup_mmap(): the child's tree is a copy of the parent's (__mt_dup), then
 * each parent VMA is replaced by its copy (vm_area_dup, anon_vma_fork) or
 * cleared (VM_DONTCOPY). On failure 7.1 tears the copies down at once
 * (unmap_region() and remove_vma() up to the failing VMA) and destroys
 * the child's tree, where 6.12 left an XA_ZERO_ENTRY for exit_mmap().
 * A failing __mt_dup() point fails before the copy, as on 6.12.
 */
static int mfv_dup_mmap(struct mm_struct *mm, struct mm_struct *oldmm)
{
	struct vm_area_struct *mpnt, *tmp;
	int retval = 0;
	VMA_ITERATOR(vmi, mm, 0);

	mm->total_vm = oldmm->total_vm;
	mm->data_vm = oldmm->data_vm;
	mm->exec_vm = oldmm->exec_vm;
	mm->stack_vm = oldmm->stack_vm;
	if (!mtree_empty(&oldmm->mm_mt) && mfv_point(MFV_POINT_TREE_DUP))
		return -ENOMEM;
	retval = __mt_dup(&oldmm->mm_mt, &mm->mm_mt, GFP_KERNEL);
	if (retval)
		return retval;
	mt_clear_in_rcu(vmi.mas.tree);
	for_each_vma(vmi, mpnt) {
		vma_start_write(mpnt);
		if (mpnt->vm_flags & MFV_VM_DONTCOPY) {
			retval = vma_iter_clear_gfp(&vmi, mpnt->vm_start, mpnt->vm_end, GFP_KERNEL);
			if (retval)
				goto loop_out;
			vm_stat_account(mm, mpnt->vm_flags, -vma_pages(mpnt));
			continue;
		}
		tmp = vm_area_dup(mpnt);
		if (!tmp)
			goto fail_nomem;
		tmp->vm_mm = mm;
		if (tmp->vm_flags & MFV_VM_WIPEONFORK) {
			tmp->anon_vma = NULL;
		} else if (anon_vma_fork(tmp, mpnt)) {
			vm_area_free(tmp);
			goto fail_nomem;
		}
		vm_flags_clear(tmp, VM_LOCKED_MASK);
		/* vma_iter_bulk_store(): the copied tree needs no node here. */
		vmi.mas.index = tmp->vm_start;
		vmi.mas.last = tmp->vm_end - 1;
		mas_store(&vmi.mas, tmp);
		if (mas_is_err(&vmi.mas))
			mfv_note("dup_mmap: vma_iter_bulk_store failed");
		vma_mark_attached(tmp);
		mm->map_count++;
	}
loop_out:
	vma_iter_free(&vmi);
	if (!retval) {
		mt_set_in_rcu(vmi.mas.tree);
	} else {
		unsigned long end;

		if (!mm->map_count)
			end = 0;
		else if (mpnt)
			end = mpnt->vm_start;
		else
			end = ULONG_MAX;
		if (end) {
			long count;

			vma_iter_set(&vmi, 0);
			tmp = vma_next(&vmi);
			UNMAP_STATE(unmap, &vmi, tmp, 0, end, NULL, NULL);
			unmap.tree_end = end;
			unmap_region(&unmap);
			count = mfv_tear_down_vmas(&vmi, tmp, end);
			if (count != mm->map_count)
				mfv_note("dup_mmap: %ld VMAs torn down for map_count %d", count,
					 mm->map_count);
		}
		__mt_destroy(&mm->mm_mt);
		mm->map_count = 0;
	}
	return retval;
fail_nomem:
	retval = -ENOMEM;
	goto loop_out;
}

/* mm/vma_init.c's vm_area_struct cache, and the files' operations. */
static void mfv_version_init(void)
{
	vma_state_init();
	for (uint32_t i = 0; i < MFV_FILES; i++)
		mfv_files[i].f.f_op = &mfv_fops;
}
