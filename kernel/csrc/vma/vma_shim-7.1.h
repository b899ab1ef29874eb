/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * maplefuzz kernel VMA engine, Linux 7.1: our stand-ins for what mm/vma.c
 * needs from the rest of the kernel, read after the tree's vma_internal.h
 * (tools/testing/vma/include/{stubs,dup,custom}.h) and before mm/vma.h.
 *
 * What differs from 6.12's shim (vma_shim.h):
 *  - vm_area_alloc/dup/free are mm/vma_init.c's own (compiled under other
 *    names, engine-7.1.c); ours count the point and call them;
 *  - the anon_vma hierarchy follows 7.1's mm/rmap.c: anon_vma_clone()
 *    takes the operation, allocates the whole chain before linking it and
 *    only reuses on fork; anon_vma_fork() allocates its own anon_vma (and
 *    chain link) before cloning; anon_vma_merge() is gone (vma_complete()
 *    unlinks the removed VMA);
 *  - free_pgtables() takes a struct unmap_desc (defined after mm/vma.c,
 *    in vma_glue-7.1.h, since the struct is mm/vma.h's);
 *  - mmap_file(), vma_close(), shmem_zero_setup() and vma_supports_mlock()
 *    replace the test header's stubs; files carry file_operations with
 *    ->mmap, since 7.1's __mmap_new_file_vma() calls mmap_file() only then.
 */
#ifndef MFV_SHIM_71_H
#define MFV_SHIM_71_H

#include "vma_base.h"

/* The test header declares these; the harness's shared.c defines them. */
unsigned long mmap_min_addr = MFV_MMAP_MIN_ADDR;
unsigned long dac_mmap_min_addr = MFV_MMAP_MIN_ADDR;
unsigned long stack_guard_gap = MFV_STACK_GUARD_GAP;

/* No resource limit applies (docs/vma.md). */
unsigned long rlimit(unsigned int limit)
{
	(void)limit;
	return ~0UL;
}

/* The tree's sysctl is the program's setup. */
static inline int get_sysctl_max_map_count(void)
{
	return (int)mfv_p->max_map_count;
}

/* ---- vm_area_struct allocation (mm/vma_init.c) ------------------------ */

struct vm_area_struct *mfv_k_vm_area_alloc(struct mm_struct *mm);
struct vm_area_struct *mfv_k_vm_area_dup(struct vm_area_struct *orig);
void mfv_k_vm_area_free(struct vm_area_struct *vma);

/* vm_area_alloc(), vm_area_dup(), vm_area_free(): vma_alloc.h's, over
 * mfv_k_vm_area_*(). */
#define MFV_RAW_VM_AREA(name) mfv_k_##name
#include "vma_alloc.h"

const struct vm_operations_struct vma_dummy_vm_ops;

/* include/linux/mm.h's vma_set_range() (the test harness has it in shared.c). */
static void vma_set_range(struct vm_area_struct *vma, unsigned long start, unsigned long end,
			  pgoff_t pgoff)
{
	vma->vm_start = start;
	vma->vm_end = end;
	vma->vm_pgoff = pgoff;
}

/* mm/internal.h's vma_close(): ->close once, then the dummy operations. */
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

/*
 * mm/internal.h's vma_supports_mlock(): no special mapping, no droppable
 * one (there is no DAX, hugetlb or gate VMA here).
 */
static bool vma_supports_mlock(const struct vm_area_struct *vma)
{
	return !(vma->vm_flags & (VM_SPECIAL | MFV_VM_DROPPABLE));
}

/* ---- the anon_vma hierarchy (7.1's mm/rmap.c) ------------------------- */

/*
 * unlink_anon_vmas(): nothing to do for an unfaulted VMA; otherwise drop
 * every link (an anon_vma left without links leaves its parent), the
 * VMA's anon_vma loses an active VMA, then the emptied anon_vmas go.
 */
static void unlink_anon_vmas(struct vm_area_struct *vma)
{
	struct anon_vma_chain *avc, *next;
	struct mfv_anon *active = mfv_anon(vma->anon_vma);

	if (!active) {
		if (!list_empty(&vma->anon_vma_chain))
			mfv_note("unlink_anon_vmas: chain without an anon_vma");
		return;
	}
	list_for_each_entry_safe(avc, next, &vma->anon_vma_chain, same_vma) {
		struct mfv_anon *a = mfv_anon(avc->anon_vma);

		a->nr_chained--;
		if (!a->nr_chained) {
			a->parent->num_children--;
			continue;
		}
		list_del(&avc->same_vma);
		free(container_of(avc, struct mfv_avc, avc));
	}
	active->num_active_vmas--;
	vma->anon_vma = NULL;
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

/* A link not yet counted in its anon_vma (7.1 allocates them all first). */
static void mfv_chain_assign(struct vm_area_struct *vma, struct mfv_anon *a)
{
	struct mfv_avc *l = calloc(1, sizeof(*l));

	if (!l)
		abort();
	l->vma = vma;
	l->avc.anon_vma = &a->av;
	list_add(&l->avc.same_vma, &vma->anon_vma_chain);
}

/*
 * anon_vma_clone(): nothing if src has no anon_vma. One allocation point
 * (the chain's links, allocated in src's chain order, each added at the
 * head of dst's chain); on failure dst keeps no link and no anon_vma.
 * Then the links are made visible walking dst's chain backwards; on fork
 * each anon_vma met is a candidate for reuse (no active VMA, at most one
 * child), else dst's anon_vma (already src's) gains an active VMA.
 */
static int anon_vma_clone(struct vm_area_struct *dst, struct vm_area_struct *src,
			  enum vma_operation operation)
{
	struct anon_vma_chain *pavc, *avc;

	if (!src->anon_vma)
		return 0;
	if (!list_empty(&src->anon_vma_chain) && mfv_point(MFV_POINT_ANON_VMA)) {
		dst->anon_vma = NULL;
		return -ENOMEM;
	}
	list_for_each_entry(pavc, &src->anon_vma_chain, same_vma)
		mfv_chain_assign(dst, mfv_anon(pavc->anon_vma));
	list_for_each_entry_reverse(avc, &dst->anon_vma_chain, same_vma) {
		struct mfv_anon *a = mfv_anon(avc->anon_vma);

		a->nr_chained++;
		if (operation == VMA_OP_FORK && !dst->anon_vma &&
		    a->num_active_vmas == 0 && a->num_children <= 1) {
			dst->anon_vma = &a->av;
			a->num_active_vmas++;
		}
	}
	if (operation != VMA_OP_FORK)
		mfv_anon(dst->anon_vma)->num_active_vmas++;
	return 0;
}

/*
 * __anon_vma_prepare(): a neighbour's anon_vma if find_mergeable_anon_vma()
 * (mm/vma.c) finds one, else a new root. One allocation point (the link,
 * and the new root with it).
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
	} else {
		a = mfv_anon_vma_alloc();
		a->num_children++;
	}
	vma->anon_vma = &a->av;
	mfv_chain_link(vma, a);
	a->num_active_vmas++;
	return 0;
}

/*
 * anon_vma_fork(): 7.1 allocates the child's own anon_vma and its link
 * first (one allocation point, where 6.12 had it after the clone), then
 * clones the parent's chain (the clone's point); if the clone reused an
 * anon_vma, the new one is dropped, else it goes below the parent VMA's.
 */
static int anon_vma_fork(struct vm_area_struct *vma, struct vm_area_struct *pvma)
{
	struct mfv_anon *a, *pa;
	int rc;

	if (!pvma->anon_vma)
		return 0;
	vma->anon_vma = NULL;
	if (mfv_point(MFV_POINT_ANON_VMA))
		return -ENOMEM;
	a = mfv_anon_vma_alloc();
	rc = anon_vma_clone(vma, pvma, VMA_OP_FORK);
	if (rc || vma->anon_vma) {
		mfv_put_anon_vma(a);
		return rc;
	}
	pa = mfv_anon(pvma->anon_vma);
	a->num_active_vmas = 1;
	a->av.root = pa->av.root;
	a->parent = pa;
	mfv_anon(a->av.root)->refcount++;
	vma->anon_vma = &a->av;
	mfv_chain_link(vma, a);
	pa->num_children++;
	return 0;
}

/* Defined after mm/vma.c (vma_glue-7.1.h): struct unmap_desc is mm/vma.h's. */
static void free_pgtables(struct mmu_gather *tlb, struct unmap_desc *unmap);

/* ---- files ------------------------------------------------------------ */

/* The file's ->mmap: its vm_ops. */
static int mfv_file_mmap(struct file *file, struct vm_area_struct *vma)
{
	vma->vm_ops = mfv_file(file)->has_close ? &mfv_close_ops : &mfv_file_ops;
	return 0;
}

static const struct file_operations mfv_fops = { .mmap = mfv_file_mmap };

/* mm/internal.h's mmap_file(): our ->mmap cannot fail. */
static int mmap_file(struct file *file, struct vm_area_struct *vma)
{
	return file->f_op->mmap(file, vma);
}

/* shmem_zero_setup: a fresh shmem file for an anonymous shared mapping. */
static int shmem_zero_setup(struct vm_area_struct *vma)
{
	struct mfv_proc *p = mfv_p;
	struct mfv_file *f = calloc(1, sizeof(*f));

	if (!f)
		abort();
	f->f.f_mapping = &f->mapping;
	f->f.f_op = &mfv_fops;
	f->id = p->next_shmem++;
	f->writable = true;
	f->next_shmem = p->shmem;
	p->shmem = f;
	vma->vm_file = &f->f;
	vma->vm_ops = &mfv_shmem_ops;
	return 0;
}

#endif
