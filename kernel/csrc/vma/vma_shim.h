/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * maplefuzz kernel VMA engine, Linux 6.12: our stand-ins for what mm/vma.c
 * needs from the rest of the kernel (vm_area_struct allocation, the anon_vma
 * hierarchy of mm/rmap.c, free_pgtables, file mapping), read after the
 * tree's vma_internal.h.
 */
#ifndef MFV_SHIM_H
#define MFV_SHIM_H

#include "vma_base.h"

/* ---- vm_area_struct allocation (kernel/fork.c) ------------------------ */

/* vm_area_alloc(), vm_area_dup(), vm_area_free(): vma_alloc.h's, over
 * mfv_stub_vm_area_*(). */
#define MFV_RAW_VM_AREA(name) mfv_stub_##name
#include "vma_alloc.h"

const struct vm_operations_struct vma_dummy_vm_ops;

/* mm/internal.h's vma_close(): ->close runs once, then the VMA keeps the
 * dummy operations so that it is never closed twice. */
static void vma_close(struct vm_area_struct *vma)
{
	if (vma->vm_ops && vma->vm_ops->close) {
		vma->vm_ops->close(vma);
		vma->vm_ops = &vma_dummy_vm_ops;
	}
}

static void mfv_close(struct vm_area_struct *vma)
{
	(void)vma;
}

static const struct vm_operations_struct mfv_file_ops;
static const struct vm_operations_struct mfv_close_ops = { .close = mfv_close };
static const struct vm_operations_struct mfv_shmem_ops;

/* include/linux/mm.h's flag setters, for the glue. */
static inline void vm_flags_init(struct vm_area_struct *vma, vm_flags_t flags)
{
	vma->__vm_flags = flags;
}

static inline void vm_flags_reset(struct vm_area_struct *vma, vm_flags_t flags)
{
	vma->__vm_flags = flags;
}

static void vma_set_anonymous(struct vm_area_struct *vma)
{
	vma->vm_ops = NULL;
}


static void unlink_anon_vmas(struct vm_area_struct *vma)
{
	struct anon_vma_chain *avc, *next;

	/* Newest first, so a root goes last. */
	list_for_each_entry_safe(avc, next, &vma->anon_vma_chain, same_vma) {
		struct mfv_anon *a = mfv_anon(avc->anon_vma);

		a->nr_chained--;
		if (!a->nr_chained) {
			/* Left on the list, freed below. */
			a->parent->num_children--;
			continue;
		}
		list_del(&avc->same_vma);
		free(container_of(avc, struct mfv_avc, avc));
	}
	if (vma->anon_vma) {
		mfv_anon(vma->anon_vma)->num_active_vmas--;
		vma->anon_vma = NULL;
	}
	list_for_each_entry_safe(avc, next, &vma->anon_vma_chain, same_vma) {
		struct mfv_anon *a = mfv_anon(avc->anon_vma);

		if (a->num_children)
			mfv_note("unlink_anon_vmas: anon_vma %lu freed with %lu children",
				 (unsigned long)a->id, a->num_children);
		if (a->num_active_vmas)
			mfv_note("unlink_anon_vmas: anon_vma %lu freed with %lu VMAs",
				 (unsigned long)a->id, a->num_active_vmas);
		mfv_put_anon_vma(a);
		list_del(&avc->same_vma);
		free(container_of(avc, struct mfv_avc, avc));
	}
}

/*
 * anon_vma_clone: chain dst to every anon_vma of src's chain (walked from
 * its tail); during fork (dst without an anon_vma, src with one) an
 * anon_vma with no VMA and fewer than two children is reused. One
 * allocation point when src's chain is not empty.
 */
static int anon_vma_clone(struct vm_area_struct *dst, struct vm_area_struct *src)
{
	struct anon_vma_chain *pavc;

	if (!list_empty(&src->anon_vma_chain)) {
		if (mfv_point(MFV_POINT_ANON_VMA)) {
			dst->anon_vma = NULL;
			unlink_anon_vmas(dst);
			return -ENOMEM;
		}
	}
	list_for_each_entry_reverse(pavc, &src->anon_vma_chain, same_vma) {
		struct mfv_anon *a = mfv_anon(pavc->anon_vma);

		mfv_chain_link(dst, a);
		if (!dst->anon_vma && src->anon_vma &&
		    a->num_children < 2 && a->num_active_vmas == 0)
			dst->anon_vma = &a->av;
	}
	if (dst->anon_vma)
		mfv_anon(dst->anon_vma)->num_active_vmas++;
	return 0;
}

/* anon_vma_merge: next is going away, its anon_vma is vma's. */
static void anon_vma_merge(struct vm_area_struct *vma, struct vm_area_struct *next)
{
	if (vma->anon_vma != next->anon_vma)
		mfv_note("anon_vma_merge: different anon_vmas");
	unlink_anon_vmas(next);
}

/*
 * __anon_vma_prepare: a neighbour's anon_vma if find_mergeable_anon_vma()
 * (mm/vma.c) finds one, else a new root. One allocation point.
 */
static int anon_vma_prepare(struct vm_area_struct *vma)
{
	struct anon_vma *found;
	struct mfv_anon *a;

	if (vma->anon_vma)
		return 0;
	if (mfv_point(MFV_POINT_ANON_VMA))
		return -ENOMEM;
	found = find_mergeable_anon_vma(vma);
	if (found) {
		a = mfv_anon(found);
		a->refcount++;
	} else {
		a = mfv_anon_vma_alloc();
		a->num_children++;
	}
	vma->anon_vma = &a->av;
	mfv_chain_link(vma, a);
	a->num_active_vmas++;
	/* The reference was only to keep it alive across the lookup. */
	if (found)
		a->refcount--;
	return 0;
}

/*
 * anon_vma_fork: chain the child's VMA to its parent's anon_vmas, reusing
 * one if anon_vma_clone() can, else give it a new anon_vma below the
 * parent VMA's. Two allocation points at most.
 */
static int anon_vma_fork(struct vm_area_struct *vma, struct vm_area_struct *pvma)
{
	struct mfv_anon *a, *pa;

	if (!pvma->anon_vma)
		return 0;
	vma->anon_vma = NULL;
	if (anon_vma_clone(vma, pvma))
		return -ENOMEM;
	if (vma->anon_vma)
		return 0;
	if (mfv_point(MFV_POINT_ANON_VMA)) {
		unlink_anon_vmas(vma);
		return -ENOMEM;
	}
	pa = mfv_anon(pvma->anon_vma);
	a = mfv_anon_vma_alloc();
	a->num_active_vmas++;
	a->av.root = pa->av.root;
	a->parent = pa;
	mfv_anon(a->av.root)->refcount++;
	vma->anon_vma = &a->av;
	mfv_chain_link(vma, a);
	pa->num_children++;
	return 0;
}

/*
 * free_pgtables() (mm/memory.c) as VMAs see it: from vma on, every VMA the
 * maple state finds below ceiling (stopping at an XA_ZERO_ENTRY) leaves
 * its anon_vmas; there are no page tables to free.
 */
static void free_pgtables(struct mmu_gather *tlb, struct ma_state *mas,
			  struct vm_area_struct *vma, unsigned long floor,
			  unsigned long ceiling, bool mm_wr_locked)
{
	(void)tlb;
	(void)floor;
	(void)mm_wr_locked;
	do {
		struct vm_area_struct *next = mas_find(mas, ceiling - 1);

		if (xa_is_zero(next))
			next = NULL;
		unlink_anon_vmas(vma);
		vma = next;
	} while (vma);
}

/* The file's ->mmap: its vm_ops. */
static int mfv_mmap_file(struct file *file, struct vm_area_struct *vma)
{
	vma->vm_ops = mfv_file(file)->has_close ? &mfv_close_ops : &mfv_file_ops;
	return 0;
}

/* shmem_zero_setup: a fresh shmem file for an anonymous shared mapping. */
static int mfv_shmem_zero_setup(struct vm_area_struct *vma)
{
	struct mfv_proc *p = mfv_p;
	struct mfv_file *f = calloc(1, sizeof(*f));

	if (!f)
		abort();
	f->f.f_mapping = &f->mapping;
	f->id = p->next_shmem++;
	f->writable = true;
	f->next_shmem = p->shmem;
	p->shmem = f;
	vma->vm_file = &f->f;
	vma->vm_ops = &mfv_shmem_ops;
	return 0;
}

#endif
