/* SPDX-License-Identifier: GPL-2.0-or-later */

#include "vma_glue_common.h"
/*
 * maplefuzz kernel VMA engine, Linux 6.12: the syscalls of the VMA contract
 * on the tree's mm/vma.c (the flat API is vma_api.h).
 *
 * Linux 6.12 keeps these paths outside mm/vma.c, so each is glue named
 * after the kernel function it stands for, calling mm/vma.c in that
 * function's order. What every one leaves out: locking, page tables,
 * accounting that cannot fail here (RLIMIT_AS, RLIMIT_DATA and
 * RLIMIT_MEMLOCK unlimited, overcommit not NEVER), security hooks (an
 * unprivileged process: no CAP_SYS_RAWIO), userfaultfd, mseal, MDWE,
 * protection keys, THP and hugetlb, perf and uprobes.
 */

/* vm_start_gap(): a stack's guard gap below it. */
static unsigned long mfv_vm_start_gap(struct vm_area_struct *vma)
{
	unsigned long start = vma->vm_start;

	if (vma->vm_flags & VM_GROWSDOWN) {
		start -= MFV_STACK_GUARD_GAP;
		if (start > vma->vm_start)
			start = 0;
	}
	return start;
}

static unsigned long mfv_vm_end_gap(struct vm_area_struct *vma)
{
	return vma->vm_end;
}

/* ---- get_unmapped_area (mm/mmap.c) ------------------------------------ */

/* unmapped_area(): bottom-up, no alignment, no start gap. */
static unsigned long mfv_unmapped_area(unsigned long length, unsigned long low_limit,
				       unsigned long high_limit)
{
	struct vm_area_struct *tmp;
	unsigned long gap;
	VMA_ITERATOR(vmi, current->mm, 0);

	if (low_limit < MFV_MMAP_MIN_ADDR)
		low_limit = MFV_MMAP_MIN_ADDR;
retry:
	if (vma_iter_area_lowest(&vmi, low_limit, high_limit, length))
		return -ENOMEM;
	gap = vma_iter_addr(&vmi);
	tmp = vma_next(&vmi);
	if (tmp && (tmp->vm_flags & VM_GROWSDOWN)) {
		if (mfv_vm_start_gap(tmp) < gap + length - 1) {
			low_limit = tmp->vm_end;
			vma_iter_reset(&vmi);
			goto retry;
		}
	} else {
		tmp = vma_prev(&vmi);
		if (tmp && mfv_vm_end_gap(tmp) > gap) {
			low_limit = mfv_vm_end_gap(tmp);
			vma_iter_reset(&vmi);
			goto retry;
		}
	}
	return gap;
}

/* unmapped_area_topdown(): no alignment, no start gap. */
static unsigned long mfv_unmapped_area_topdown(unsigned long length, unsigned long low_limit,
					       unsigned long high_limit)
{
	struct vm_area_struct *tmp;
	unsigned long gap, gap_end;
	VMA_ITERATOR(vmi, current->mm, 0);

	if (low_limit < MFV_MMAP_MIN_ADDR)
		low_limit = MFV_MMAP_MIN_ADDR;
retry:
	if (vma_iter_area_highest(&vmi, low_limit, high_limit, length))
		return -ENOMEM;
	gap = vma_iter_end(&vmi) - length;
	gap_end = vma_iter_end(&vmi);
	tmp = vma_next(&vmi);
	if (tmp && (tmp->vm_flags & VM_GROWSDOWN)) {
		if (mfv_vm_start_gap(tmp) < gap_end) {
			high_limit = mfv_vm_start_gap(tmp);
			vma_iter_reset(&vmi);
			goto retry;
		}
	} else {
		tmp = vma_prev(&vmi);
		if (tmp && mfv_vm_end_gap(tmp) > gap) {
			high_limit = tmp->vm_start;
			vma_iter_reset(&vmi);
			goto retry;
		}
	}
	return gap;
}

/* generic_get_unmapped_area_topdown(), the mm's allocator. */
static unsigned long mfv_generic_get_unmapped_area_topdown(unsigned long addr, unsigned long len,
							   unsigned long flags)
{
	const unsigned long mmap_end = MFV_TASK_SIZE;
	struct vm_area_struct *vma, *prev;

	if (len > mmap_end - MFV_MMAP_MIN_ADDR)
		return -ENOMEM;
	if (flags & MFV_MAP_FIXED)
		return addr;
	if (addr) {
		addr = mfv_page_align(addr);
		vma = find_vma_prev(current->mm, addr, &prev);
		if (mmap_end - len >= addr && addr >= MFV_MMAP_MIN_ADDR &&
		    (!vma || addr + len <= mfv_vm_start_gap(vma)) &&
		    (!prev || addr >= mfv_vm_end_gap(prev)))
			return addr;
	}
	addr = mfv_unmapped_area_topdown(len, PAGE_SIZE, MFV_MMAP_BASE);
	if (offset_in_page(addr))
		addr = mfv_unmapped_area(len, MFV_TASK_UNMAPPED_BASE, mmap_end);
	return addr;
}

/* ---- mmap (mm/mmap.c) -------------------------------------------------- */

/*
 * __mmap_region() of 6.12.y: gather what the range overlaps, try to
 * expand a neighbour over it (vma_merge_new_range), else a new VMA; then
 * finish the munmap. Every call is mm/vma.c's. Left out: may_expand_vm()
 * and the commit charge (they cannot fail here), the driver re-merge
 * after ->mmap (our files never change vm_flags).
 */
static unsigned long mfv_mmap_region(struct file *file, unsigned long addr, unsigned long len,
				     vm_flags_t vm_flags, unsigned long pgoff)
{
	struct mm_struct *mm = current->mm;
	struct vm_area_struct *vma = NULL;
	struct vma_munmap_struct vms;
	struct ma_state mas_detach;
	struct maple_tree mt_detach;
	unsigned long end = addr + len;
	int error;
	VMA_ITERATOR(vmi, mm, addr);
	VMG_STATE(vmg, mm, &vmi, addr, end, vm_flags, pgoff);

	vmg.file = file;
	vma = vma_find(&vmi, end);
	init_vma_munmap(&vms, &vmi, vma, addr, end, NULL, false);
	if (vma) {
		mt_init_flags(&mt_detach, vmi.mas.tree->ma_flags & MT_FLAGS_LOCK_MASK);
		mt_on_stack(mt_detach);
		mas_init(&mas_detach, &mt_detach, 0);
		error = vms_gather_munmap_vmas(&vms, &mas_detach);
		if (error)
			return error;
		vmg.next = vms.next;
		vmg.prev = vms.prev;
		vma = NULL;
	} else {
		vmg.next = vma_iter_next_rewind(&vmi, &vmg.prev);
	}

	/* accountable_mapping(): private and writable, not NORESERVE. */
	if ((vm_flags & (MFV_VM_NORESERVE | VM_SHARED | VM_WRITE)) == VM_WRITE) {
		vms.nr_accounted = 0;
		vm_flags |= VM_ACCOUNT;
		vmg.flags = vm_flags;
	}

	vms_clean_up_area(&vms, &mas_detach);
	vma = vma_merge_new_range(&vmg);
	if (vma)
		goto expanded;

	vma = vm_area_alloc(mm);
	if (!vma) {
		error = -ENOMEM;
		goto abort_munmap;
	}
	vma_iter_config(&vmi, addr, end);
	vma_set_range(vma, addr, end, pgoff);
	vm_flags_init(vma, vm_flags);
	vma->vm_page_prot = vm_get_page_prot(vm_flags);
	if (vma_iter_prealloc(&vmi, vma)) {
		error = -ENOMEM;
		goto free_vma;
	}
	if (file) {
		vma->vm_file = file;
		mfv_mmap_file(file, vma);
		vma_iter_config(&vmi, addr, end);
	} else if (vm_flags & VM_SHARED) {
		mfv_shmem_zero_setup(vma);
	} else {
		vma_set_anonymous(vma);
	}
	vma_start_write(vma);
	vma_iter_store(&vmi, vma);
	mm->map_count++;
	vma_link_file(vma);
expanded:
	vms_complete_munmap_vmas(&vms, &mas_detach);
	vm_stat_account(mm, vm_flags, PHYS_PFN(len));
	/* No VMA here is special, DAX or hugetlb: vma_supports_mlock(). */
	if (vm_flags & VM_LOCKED)
		mm->locked_vm += PHYS_PFN(len);
	return addr;

free_vma:
	vm_area_free(vma);
abort_munmap:
	vms_abort_munmap_vmas(&vms, &mas_detach);
	return error;
}

/* do_mmap(), with mmap(2)'s file and page offset already resolved. */
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
	if (mm->map_count > sysctl_max_map_count)
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
	vm_flags |= VM_MAYREAD | VM_MAYWRITE | VM_MAYEXEC;

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
	return mfv_mmap_region(file, addr, len, vm_flags, pgoff);
}

/* ---- munmap ------------------------------------------------------------ */

/* ---- mprotect (mm/mprotect.c) ----------------------------------------- */

/* mprotect_fixup(): the VM_ACCOUNT rules, then vma_modify_flags(). */
static int mfv_mprotect_fixup(struct vma_iterator *vmi, struct vm_area_struct *vma,
			      struct vm_area_struct **pprev, unsigned long start,
			      unsigned long end, vm_flags_t newflags)
{
	vm_flags_t oldflags = vma->vm_flags;

	if (newflags == oldflags) {
		*pprev = vma;
		return 0;
	}
	if (newflags & VM_WRITE) {
		if (!(oldflags & (VM_ACCOUNT | VM_WRITE | MFV_VM_HUGETLB | VM_SHARED |
				  MFV_VM_NORESERVE)))
			newflags |= VM_ACCOUNT;
	} else if ((oldflags & VM_ACCOUNT) && vma_is_anonymous(vma) && !vma->anon_vma) {
		newflags &= ~VM_ACCOUNT;
	}
	vma = vma_modify_flags(vmi, *pprev, vma, start, end, newflags);
	if (IS_ERR(vma))
		return PTR_ERR(vma);
	*pprev = vma;
	vma_start_write(vma);
	vm_flags_reset(vma, newflags);
	vm_stat_account(current->mm, oldflags, -(long)PHYS_PFN(end - start));
	vm_stat_account(current->mm, newflags, (long)PHYS_PFN(end - start));
	return 0;
}

/* ---- madvise (mm/madvise.c) -------------------------------------------- */

/* madvise_update_vma(): the anon name never changes here. */
static int mfv_madvise_update_vma(struct vm_area_struct *vma, struct vm_area_struct **prev,
				  unsigned long start, unsigned long end, vm_flags_t new_flags)
{
	VMA_ITERATOR(vmi, current->mm, start);

	if (new_flags == vma->vm_flags) {
		*prev = vma;
		return 0;
	}
	vma = vma_modify_flags(&vmi, *prev, vma, start, end, new_flags);
	if (IS_ERR(vma))
		return PTR_ERR(vma);
	*prev = vma;
	vma_start_write(vma);
	vm_flags_reset(vma, new_flags);
	return 0;
}

/* madvise_vma_behavior() for the advices that change VMA flags. */
static int mfv_madvise_vma_behavior(struct vm_area_struct *vma, struct vm_area_struct **prev,
				    unsigned long start, unsigned long end, int behavior)
{
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
		if (vma->vm_flags & VM_IO)
			return -EINVAL;
		new_flags &= ~MFV_VM_DONTCOPY;
		break;
	case MFV_MADV_WIPEONFORK:
		if (vma->vm_file || vma->vm_flags & VM_SHARED)
			return -EINVAL;
		new_flags |= MFV_VM_WIPEONFORK;
		break;
	case MFV_MADV_KEEPONFORK:
		if (vma->vm_flags & MFV_VM_DROPPABLE)
			return -EINVAL;
		new_flags &= ~MFV_VM_WIPEONFORK;
		break;
	case MFV_MADV_DONTDUMP:
		new_flags |= MFV_VM_DONTDUMP;
		break;
	case MFV_MADV_DODUMP:
		if ((new_flags & VM_SPECIAL) || (vma->vm_flags & MFV_VM_DROPPABLE))
			return -EINVAL;
		new_flags &= ~MFV_VM_DONTDUMP;
		break;
	default:
		return -EINVAL;
	}
	error = mfv_madvise_update_vma(vma, prev, start, end, new_flags);
	if (error == -ENOMEM)
		error = -EAGAIN;
	return error;
}

/* do_madvise() and madvise_walk_vmas(): holes answer ENOMEM at the end. */
static int mfv_madvise(unsigned long start, size_t len_in, int behavior)
{
	struct mm_struct *mm = current->mm;
	struct vm_area_struct *vma, *prev;
	unsigned long end, tmp;
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
	end = start + len;
	if (end < start)
		return -EINVAL;
	if (end == start)
		return 0;

	vma = find_vma_prev(mm, start, &prev);
	if (vma && start > vma->vm_start)
		prev = vma;
	for (;;) {
		if (!vma)
			return -ENOMEM;
		if (start < vma->vm_start) {
			unmapped_error = -ENOMEM;
			start = vma->vm_start;
			if (start >= end)
				break;
		}
		tmp = vma->vm_end;
		if (end < tmp)
			tmp = end;
		error = mfv_madvise_vma_behavior(vma, &prev, start, tmp, behavior);
		if (error)
			return error;
		start = tmp;
		if (prev && start < prev->vm_end)
			start = prev->vm_end;
		if (start >= end)
			break;
		if (prev)
			vma = mfv_find_vma(mm, prev->vm_end);
		else
			vma = mfv_find_vma(mm, start);
	}
	return unmapped_error;
}

/* ---- brk (mm/mmap.c) --------------------------------------------------- */

/*
 * do_brk_flags() of 6.12 (static in mm/mmap.c): expand the brk VMA in
 * place (vma_merge_new_range in VMG_FLAG_JUST_EXPAND mode) or store a
 * new one with vma_iter_store_gfp().
 */
static int mfv_do_brk_flags(struct vma_iterator *vmi, struct vm_area_struct *vma,
			    unsigned long addr, unsigned long len, unsigned long flags)
{
	struct mm_struct *mm = current->mm;

	flags |= MFV_VM_DATA_DEFAULT_FLAGS | VM_ACCOUNT;
	if (mm->map_count > sysctl_max_map_count)
		return -ENOMEM;
	if (vma && vma->vm_end == addr) {
		VMG_STATE(vmg, mm, vmi, addr, addr + len, flags, PHYS_PFN(addr));

		vmg.prev = vma;
		vmg.merge_flags = VMG_FLAG_JUST_EXPAND;
		if (vma_merge_new_range(&vmg))
			goto out;
		else if (vmg_nomem(&vmg))
			return -ENOMEM;
	}
	if (vma)
		vma_iter_next_range(vmi);
	vma = vm_area_alloc(mm);
	if (!vma)
		return -ENOMEM;
	vma_set_anonymous(vma);
	vma_set_range(vma, addr, addr + len, addr >> PAGE_SHIFT);
	vm_flags_init(vma, flags);
	vma->vm_page_prot = vm_get_page_prot(flags);
	vma_start_write(vma);
	if (vma_iter_store_gfp(vmi, vma, GFP_KERNEL)) {
		vm_area_free(vma);
		return -ENOMEM;
	}
	mm->map_count++;
out:
	mm->total_vm += len >> PAGE_SHIFT;
	mm->data_vm += len >> PAGE_SHIFT;
	return 0;
}

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
	next = vma_find(&vmi, newbrk + PAGE_SIZE + MFV_STACK_GUARD_GAP);
	if (next && newbrk + PAGE_SIZE > mfv_vm_start_gap(next))
		goto out;
	brkvma = vma_prev_limit(&vmi, p->start_brk);
	if (mfv_do_brk_flags(&vmi, brkvma, oldbrk, newbrk - oldbrk, 0) < 0)
		goto out;
	p->brk = brk;
	return brk;
out:
	p->brk = origbrk;
	return origbrk;
}

/* ---- mremap (mm/mremap.c) --------------------------------------------- */

/* do_munmap() */
static int mfv_do_munmap(unsigned long start, size_t len)
{
	VMA_ITERATOR(vmi, current->mm, start);

	return do_vmi_munmap(&vmi, current->mm, start, len, NULL, false);
}

/* vma_to_resize(): the limits are unlimited here. */
static struct vm_area_struct *mfv_vma_to_resize(unsigned long addr, unsigned long old_len,
						unsigned long new_len, unsigned long flags)
{
	struct vm_area_struct *vma = vma_lookup(current->mm, addr);
	unsigned long pgoff;

	if (!vma)
		return ERR_PTR(-EFAULT);
	if (!old_len && !(vma->vm_flags & (VM_SHARED | VM_MAYSHARE)))
		return ERR_PTR(-EINVAL);
	if ((flags & MFV_MREMAP_DONTUNMAP) && (vma->vm_flags & (VM_DONTEXPAND | VM_PFNMAP)))
		return ERR_PTR(-EINVAL);
	if (old_len > vma->vm_end - addr)
		return ERR_PTR(-EFAULT);
	if (new_len == old_len)
		return vma;
	pgoff = (addr - vma->vm_start) >> PAGE_SHIFT;
	pgoff += vma->vm_pgoff;
	if (pgoff + (new_len >> PAGE_SHIFT) < pgoff)
		return ERR_PTR(-EINVAL);
	if (vma->vm_flags & (VM_DONTEXPAND | VM_PFNMAP))
		return ERR_PTR(-EFAULT);
	return vma;
}

/*
 * move_vma(): copy_vma() (mm/vma.c) at the new address, then unmap the
 * old range and give VM_ACCOUNT back to what is left of the old VMA.
 * Page tables are not modelled, so moving them cannot fail; no vm_ops
 * has ->may_split or ->mremap.
 */
static unsigned long mfv_move_vma(struct vm_area_struct *vma, unsigned long old_addr,
				  unsigned long old_len, unsigned long new_len,
				  unsigned long new_addr, unsigned long flags)
{
	struct mm_struct *mm = vma->vm_mm;
	struct vm_area_struct *new_vma;
	unsigned long vm_flags = vma->vm_flags;
	unsigned long new_pgoff;
	bool account_start = false, account_end = false;
	bool need_rmap_locks;
	struct vma_iterator vmi;
	const bool split_before = vma->vm_start != old_addr;
	const bool split_after = vma->vm_end != old_addr + old_len;
	int err = 0;

	if (mm->map_count >= sysctl_max_map_count - 3)
		return -ENOMEM;
	if ((flags & MFV_MREMAP_DONTUNMAP) && (vma->vm_flags & VM_LOCKED)) {
		vma_iter_init(&vmi, mm, old_addr);
		if (split_before)
			err = split_vma(&vmi, vma, old_addr, 1);
		if (!err && split_after)
			err = split_vma(&vmi, vma, old_addr + old_len, 0);
		if (err)
			return err;
	}
	vma_start_write(vma);
	new_pgoff = vma->vm_pgoff + ((old_addr - vma->vm_start) >> PAGE_SHIFT);
	new_vma = copy_vma(&vma, new_addr, new_len, new_pgoff, &need_rmap_locks,
			   flags & MFV_MREMAP_DONTUNMAP);
	if (!new_vma)
		return -ENOMEM;
	if ((vm_flags & VM_ACCOUNT) && !(flags & MFV_MREMAP_DONTUNMAP)) {
		vm_flags_reset(vma, vma->vm_flags & ~VM_ACCOUNT);
		if (vma->vm_start < old_addr)
			account_start = true;
		if (vma->vm_end > old_addr + old_len)
			account_end = true;
	}
	vm_stat_account(mm, vma->vm_flags, new_len >> PAGE_SHIFT);
	if (flags & MFV_MREMAP_DONTUNMAP) {
		if (new_vma == vma)
			mfv_note("move_vma: DONTUNMAP copied onto the source VMA");
		vm_flags_reset(vma, vma->vm_flags & ~(VM_LOCKED | MFV_VM_LOCKONFAULT));
		if (vma->vm_start == old_addr && vma->vm_end == old_addr + old_len) {
			const pgoff_t pgoff_unfaulted = vma->vm_start >> PAGE_SHIFT;

			unlink_anon_vmas(vma);
			if (vma_is_anonymous(vma) && !vma->vm_file)
				vma->vm_pgoff = pgoff_unfaulted;
		}
		return new_addr;
	}
	vma_iter_init(&vmi, mm, old_addr);
	if (do_vmi_munmap(&vmi, mm, old_addr, old_len, NULL, false) < 0)
		account_start = account_end = false;
	if (account_start) {
		vma = vma_prev(&vmi);
		vm_flags_reset(vma, vma->vm_flags | VM_ACCOUNT);
	}
	if (account_end) {
		vma = vma_next(&vmi);
		vm_flags_reset(vma, vma->vm_flags | VM_ACCOUNT);
	}
	/* DONTUNMAP (above) moves the charge with the pages. */
	if (vm_flags & VM_LOCKED)
		mm->locked_vm += new_len >> PAGE_SHIFT;
	return new_addr;
}

/* mremap_to() */
static unsigned long mfv_mremap_to(unsigned long addr, unsigned long old_len,
				   unsigned long new_addr, unsigned long new_len,
				   unsigned long flags)
{
	struct mm_struct *mm = current->mm;
	struct vm_area_struct *vma;
	unsigned long ret = -EINVAL;
	unsigned long map_flags = 0;

	if (offset_in_page(new_addr))
		return ret;
	if (new_len > MFV_TASK_SIZE || new_addr > MFV_TASK_SIZE - new_len)
		return ret;
	if (addr + old_len > new_addr && new_addr + new_len > addr)
		return ret;
	if ((mm->map_count + 2) >= sysctl_max_map_count - 3)
		return -ENOMEM;
	if (flags & MFV_MREMAP_FIXED) {
		ret = mfv_do_munmap(new_addr, new_len);
		if (ret)
			return ret;
	}
	if (old_len > new_len) {
		ret = mfv_do_munmap(addr + new_len, old_len - new_len);
		if (ret)
			return ret;
		old_len = new_len;
	}
	vma = mfv_vma_to_resize(addr, old_len, new_len, flags);
	if (IS_ERR(vma))
		return PTR_ERR(vma);
	if (flags & MFV_MREMAP_FIXED)
		map_flags |= MFV_MAP_FIXED;
	if (vma->vm_flags & VM_MAYSHARE)
		map_flags |= MFV_MAP_SHARED;
	ret = mfv_get_unmapped_area(new_addr, new_len, map_flags);
	if (IS_ERR_VALUE(ret))
		return ret;
	if (!(flags & MFV_MREMAP_FIXED))
		new_addr = ret;
	return mfv_move_vma(vma, addr, old_len, new_len, new_addr, flags);
}

/* The mremap syscall. */
static unsigned long mfv_mremap(unsigned long addr, unsigned long old_len,
				unsigned long new_len, unsigned long flags,
				unsigned long new_addr)
{
	struct mm_struct *mm = current->mm;
	struct vm_area_struct *vma;
	unsigned long ret = -EINVAL;

	if (flags & ~(MFV_MREMAP_FIXED | MFV_MREMAP_MAYMOVE | MFV_MREMAP_DONTUNMAP))
		return ret;
	if (flags & MFV_MREMAP_FIXED && !(flags & MFV_MREMAP_MAYMOVE))
		return ret;
	if (flags & MFV_MREMAP_DONTUNMAP &&
	    (!(flags & MFV_MREMAP_MAYMOVE) || old_len != new_len))
		return ret;
	if (offset_in_page(addr))
		return ret;
	old_len = mfv_page_align(old_len);
	new_len = mfv_page_align(new_len);
	if (!new_len)
		return ret;
	vma = vma_lookup(mm, addr);
	if (!vma)
		return -EFAULT;
	if (flags & (MFV_MREMAP_FIXED | MFV_MREMAP_DONTUNMAP))
		return mfv_mremap_to(addr, old_len, new_addr, new_len, flags);
	if (old_len >= new_len) {
		VMA_ITERATOR(vmi, mm, addr + new_len);

		if (old_len == new_len)
			return addr;
		ret = do_vmi_munmap(&vmi, mm, addr + new_len, old_len - new_len, NULL, true);
		if (ret)
			return ret;
		return addr;
	}
	vma = mfv_vma_to_resize(addr, old_len, new_len, flags);
	if (IS_ERR(vma))
		return PTR_ERR(vma);
	if (old_len == vma->vm_end - addr) {
		unsigned long delta = new_len - old_len;

		if (mfv_vma_expandable(vma, delta)) {
			VMA_ITERATOR(vmi, mm, vma->vm_end);

			vma = vma_merge_extend(&vmi, vma, delta);
			if (!vma)
				return -ENOMEM;
			vm_stat_account(mm, vma->vm_flags, delta >> PAGE_SHIFT);
			if (vma->vm_flags & VM_LOCKED)
				mm->locked_vm += delta >> PAGE_SHIFT;
			return addr;
		}
	}
	ret = -ENOMEM;
	if (flags & MFV_MREMAP_MAYMOVE) {
		unsigned long map_flags = 0;

		if (vma->vm_flags & VM_MAYSHARE)
			map_flags |= MFV_MAP_SHARED;
		new_addr = mfv_get_unmapped_area(0, new_len, map_flags);
		if (IS_ERR_VALUE(new_addr))
			return new_addr;
		ret = mfv_move_vma(vma, addr, old_len, new_len, new_addr, flags);
	}
	return ret;
}

/* ---- a page fault ------------------------------------------------------ */


/* ---- fork (kernel/fork.c) and exit (mm/mmap.c) ------------------------ */

/*
 * exit_mmap() as far as VMAs go: free_pgtables() unlinks every VMA from
 * its anon_vmas in address order, then remove_vma() closes and frees
 * each; both stop at the XA_ZERO_ENTRY a failed dup_mmap() leaves. The
 * count must be map_count (the kernel BUGs); then the tree goes.
 */
static void mfv_exit_mmap(struct mm_struct *mm)
{
	struct vm_area_struct *vma;
	long count = 0;
	VMA_ITERATOR(vmi, mm, 0);

	for_each_vma(vmi, vma) {
		if (xa_is_zero(vma))
			break;
		unlink_anon_vmas(vma);
	}
	vma_iter_set(&vmi, 0);
	for_each_vma(vmi, vma) {
		if (xa_is_zero(vma))
			break;
		vma_close(vma);
		vm_area_free(vma);
		count++;
	}
	if (count != mm->map_count)
		mfv_note("exit_mmap: %ld VMAs freed for map_count %d", count, mm->map_count);
	__mt_destroy(&mm->mm_mt);
	free(mm);
}

/*
 * dup_mmap(): the child's tree is a copy of the parent's (__mt_dup), then
 * each parent VMA is replaced by its copy (vm_area_dup, anon_vma_fork) or
 * cleared (VM_DONTCOPY). On failure the failing VMA's range is marked
 * with XA_ZERO_ENTRY. Left out: accounting, policies, userfaultfd, page
 * copies. A failing __mt_dup() point fails before the copy (the
 * kernel's frees what it copied: the child's tree is empty either way).
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
		vm_flags_reset(tmp, tmp->vm_flags & ~(VM_LOCKED | MFV_VM_LOCKONFAULT));
		/* vma_iter_bulk_store(): the copied tree needs no node here. */
		vmi.mas.index = tmp->vm_start;
		vmi.mas.last = tmp->vm_end - 1;
		mas_store(&vmi.mas, tmp);
		if (mas_is_err(&vmi.mas))
			mfv_note("dup_mmap: vma_iter_bulk_store failed");
		mm->map_count++;
	}
loop_out:
	vma_iter_free(&vmi);
	if (!retval) {
		mt_set_in_rcu(vmi.mas.tree);
	} else if (mpnt) {
		mas_set_range(&vmi.mas, mpnt->vm_start, mpnt->vm_end - 1);
		mas_store(&vmi.mas, XA_ZERO_ENTRY);
	}
	return retval;
fail_nomem:
	retval = -ENOMEM;
	goto loop_out;
}

/* Nothing to set up beyond the maple node cache and the files. */
static void mfv_version_init(void)
{
}
