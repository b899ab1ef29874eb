/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * maplefuzz kernel VMA engine: the glue every version shares word for
 * word (the kernel functions it stands for did not change between 6.12
 * and 7.1 in what the VMA contract sees). Each version's glue header
 * includes it after its own constants, and defines the functions it
 * declares here.
 */
#ifndef MFV_GLUE_COMMON_H
#define MFV_GLUE_COMMON_H

/* How the mm's tree is made (MM_MT_FLAGS). */
#define MFV_MM_MT_FLAGS (MT_FLAGS_ALLOC_RANGE | MT_FLAGS_LOCK_EXTERN | MT_FLAGS_USE_RCU)

/* Each version's own, used by the shared glue below. */
static int mfv_mprotect_fixup(struct vma_iterator *vmi, struct vm_area_struct *vma,
			      struct vm_area_struct **pprev, unsigned long start,
			      unsigned long end, vm_flags_t newflags);
static unsigned long mfv_generic_get_unmapped_area_topdown(unsigned long addr, unsigned long len,
							   unsigned long flags);
static int mfv_dup_mmap(struct mm_struct *mm, struct mm_struct *oldmm);
static void mfv_exit_mmap(struct mm_struct *mm);

static inline unsigned long mfv_page_align(unsigned long x)
{
	return (x + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1);
}

/* find_vma(): the first VMA ending above addr. */
static struct vm_area_struct *mfv_find_vma(struct mm_struct *mm, unsigned long addr)
{
	unsigned long index = addr;

	return mt_find(&mm->mm_mt, &index, ULONG_MAX);
}

/* __get_unmapped_area(): files and shmem use the mm's allocator too. */
static unsigned long mfv_get_unmapped_area(unsigned long addr, unsigned long len,
					   unsigned long flags)
{
	if (len > MFV_TASK_SIZE)
		return -ENOMEM;
	addr = mfv_generic_get_unmapped_area_topdown(addr, len, flags);
	if (IS_ERR_VALUE(addr))
		return addr;
	if (addr > MFV_TASK_SIZE - len)
		return -ENOMEM;
	if (offset_in_page(addr))
		return -EINVAL;
	/* security_mmap_addr(): no CAP_SYS_RAWIO. */
	if (addr < MFV_MMAP_MIN_ADDR)
		return -EPERM;
	return addr;
}

/* __vm_munmap(): mm/vma.c's do_vmi_munmap(). */
static int mfv_munmap(unsigned long start, size_t len)
{
	VMA_ITERATOR(vmi, current->mm, start);

	return do_vmi_munmap(&vmi, current->mm, start, len, NULL, false);
}

/* do_mprotect_pkey() without a key. */
static int mfv_mprotect(unsigned long start, size_t len, unsigned long prot)
{
	unsigned long nstart, end, tmp;
	struct vm_area_struct *vma, *prev;
	const int grows = prot & (MFV_PROT_GROWSDOWN | MFV_PROT_GROWSUP);
	struct vma_iterator vmi;
	int error;

	prot &= ~(MFV_PROT_GROWSDOWN | MFV_PROT_GROWSUP);
	if (grows == (MFV_PROT_GROWSDOWN | MFV_PROT_GROWSUP))
		return -EINVAL;
	if (start & ~PAGE_MASK)
		return -EINVAL;
	if (!len)
		return 0;
	len = mfv_page_align(len);
	end = start + len;
	if (end <= start)
		return -ENOMEM;
	/* arch_validate_prot() */
	if (prot & ~(MFV_PROT_READ | MFV_PROT_WRITE | MFV_PROT_EXEC | MFV_PROT_SEM))
		return -EINVAL;

	vma_iter_init(&vmi, current->mm, start);
	vma = vma_find(&vmi, end);
	error = -ENOMEM;
	if (!vma)
		return error;
	if (grows & MFV_PROT_GROWSDOWN) {
		if (vma->vm_start >= end)
			return error;
		start = vma->vm_start;
		if (!(vma->vm_flags & VM_GROWSDOWN))
			return -EINVAL;
	} else {
		if (vma->vm_start > start)
			return error;
		if (grows & MFV_PROT_GROWSUP)
			return -EINVAL; /* no VM_GROWSUP on x86 */
	}
	prev = vma_prev(&vmi);
	if (start > vma->vm_start)
		prev = vma;

	nstart = start;
	tmp = vma->vm_start;
	error = 0;
	for_each_vma_range(vmi, vma, end) {
		vm_flags_t newflags = 0;

		if (vma->vm_start != tmp) {
			error = -ENOMEM;
			break;
		}
		if (prot & MFV_PROT_READ)
			newflags |= VM_READ;
		if (prot & MFV_PROT_WRITE)
			newflags |= VM_WRITE;
		if (prot & MFV_PROT_EXEC)
			newflags |= VM_EXEC;
		newflags |= vma->vm_flags & ~VM_ACCESS_FLAGS;
		/* newflags >> 4 shift VM_MAY% in place of VM_% */
		if ((newflags & ~(newflags >> 4)) & VM_ACCESS_FLAGS) {
			error = -EACCES;
			break;
		}
		tmp = vma->vm_end;
		if (tmp > end)
			tmp = end;
		error = mfv_mprotect_fixup(&vmi, vma, &prev, nstart, tmp, newflags);
		if (error)
			break;
		tmp = vma_iter_end(&vmi);
		nstart = tmp;
	}
	if (!error && tmp < end)
		error = -ENOMEM;
	return error;
}

/* vma_expandable() */
static int mfv_vma_expandable(struct vm_area_struct *vma, unsigned long delta)
{
	unsigned long end = vma->vm_end + delta;

	if (end < vma->vm_end)
		return 0;
	if (find_vma_intersection(vma->vm_mm, vma->vm_end, end))
		return 0;
	if (mfv_get_unmapped_area(vma->vm_start, end - vma->vm_start, MFV_MAP_FIXED) & ~PAGE_MASK)
		return 0;
	return 1;
}

/*
 * The part of the x86 fault handler VMAs see: no VMA is EFAULT (no stack
 * expansion), an access the VMA does not allow is EACCES, and a write
 * fault on a private VMA runs anon_vma_prepare().
 */
static int mfv_touch(unsigned long addr, bool write)
{
	struct vm_area_struct *vma = vma_lookup(current->mm, addr);

	if (!vma)
		return -EFAULT;
	if (write) {
		if (!(vma->vm_flags & VM_WRITE))
			return -EACCES;
	} else if (!(vma->vm_flags & VM_ACCESS_FLAGS)) {
		return -EACCES;
	}
	if (write && !(vma->vm_flags & VM_SHARED))
		return anon_vma_prepare(vma);
	return 0;
}

static struct mm_struct *mfv_mm_alloc(void)
{
	struct mm_struct *mm = calloc(1, sizeof(*mm));

	if (!mm)
		abort();
	mt_init_flags(&mm->mm_mt, MFV_MM_MT_FLAGS);
	return mm;
}

/*
 * fork(2) and the exit of one of the two: keep_child says which mm the
 * process goes on with. A failed fork leaves the parent.
 */
static int mfv_fork(bool keep_child)
{
	struct mfv_proc *p = mfv_p;
	struct mm_struct *parent = p->mm;
	struct mm_struct *child = mfv_mm_alloc();
	int r;

	r = mfv_dup_mmap(child, parent);
	if (r) {
		mfv_exit_mmap(child);
		return r;
	}
	if (keep_child) {
		p->mm = child;
		mfv_task.mm = child;
		mfv_exit_mmap(parent);
	} else {
		mfv_exit_mmap(child);
	}
	return 0;
}

#endif
