/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * maplefuzz kernel VMA engine: our stand-ins for what mm/vma.c needs from
 * the rest of the kernel, read after the tree's vma_internal.h.
 *
 * Every engine handle is one process: a struct mfv_proc owns the current
 * mm (and, during fork, the child's), the files, the allocation points of
 * the op in flight and the warnings. The context is per thread (tests run
 * engines on several threads at once); each API call sets it.
 */
#ifndef MFV_SHIM_H
#define MFV_SHIM_H

#include <stdarg.h>

/* The VM_* bits the glue uses that the test header leaves out
 * (include/linux/mm.h, x86-64). */
#ifndef VM_MAYEXEC
#define VM_MAYEXEC 0x00000040
#endif
#ifndef VM_MAYSHARE
#define VM_MAYSHARE 0x00000080
#endif
#ifndef VM_SEALED
#define VM_SEALED (1UL << 63)
#endif
#define MFV_VM_SEQ_READ 0x00008000UL
#define MFV_VM_RAND_READ 0x00010000UL
#define MFV_VM_DONTCOPY 0x00020000UL
#define MFV_VM_LOCKONFAULT 0x00080000UL
#define MFV_VM_NORESERVE 0x00200000UL
#define MFV_VM_HUGETLB 0x00400000UL
#define MFV_VM_SYNC 0x00800000UL
#define MFV_VM_WIPEONFORK 0x02000000UL
#define MFV_VM_DONTDUMP 0x04000000UL
#define MFV_VM_DROPPABLE (1UL << 40)
#define MFV_VM_DATA_DEFAULT_FLAGS \
	(VM_READ | VM_WRITE | VM_MAYREAD | VM_MAYWRITE | VM_MAYEXEC)

/* The fixed environment of the VMA contract (vma/src/lib.rs). */
#define MFV_TASK_SIZE 0x7ffffffff000UL
#define MFV_MMAP_MIN_ADDR 0x10000UL
#define MFV_MMAP_BASE 0x7f0000000000UL
#define MFV_TASK_UNMAPPED_BASE ((MFV_TASK_SIZE / 3) & ~(PAGE_SIZE - 1))
#define MFV_STACK_GUARD_GAP (256UL * PAGE_SIZE)
#define MFV_START_BRK 0x555556000000UL
#define MFV_SHMEM_FILE_BASE 100
#define MFV_FILES 4

/* The allocation points, in the order of the Rust `Point` enum. */
enum mfv_point {
	MFV_POINT_VMA_ALLOC,
	MFV_POINT_PREALLOC,
	MFV_POINT_STORE_GFP,
	MFV_POINT_ANON_VMA,
	MFV_POINT_TREE_DUP,
};

#define MFV_MAX_POINTS 512
#define MFV_REPORT 4096

/* A file: the four regular files of the contract, and shmem files. */
struct mfv_file {
	struct file f;
	struct address_space mapping;
	uint32_t id;
	bool writable;
	bool has_close;
	struct mfv_file *next_shmem;
};

/* struct anon_vma with the fields of mm/rmap.h the test header lacks. */
struct mfv_anon {
	struct anon_vma av;
	struct mfv_anon *parent;
	unsigned long num_children;
	unsigned long num_active_vmas;
	/* How many chain links point here (the interval tree's emptiness). */
	unsigned long nr_chained;
	unsigned long refcount;
	uint64_t id;
};

/* struct anon_vma_chain with its VMA. */
struct mfv_avc {
	struct anon_vma_chain avc;
	struct vm_area_struct *vma;
};

struct mfv_proc {
	struct mm_struct *mm;
	unsigned long brk;
	unsigned long start_brk;
	unsigned long max_map_count;
	/* The n-th point of the next op fails (-1: none armed). */
	int armed;
	int fail_now;
	uint8_t points[MFV_MAX_POINTS];
	unsigned int npoints;
	/* vm_area_structs alive (all mms of the process). */
	long live_vmas;
	uint64_t next_anon_id;
	uint32_t next_shmem;
	struct mfv_file *shmem;
	unsigned long dump_stacks;
	char report[MFV_REPORT];
	size_t report_len;
};

static __thread struct mfv_proc *mfv_p;
static __thread struct task_struct mfv_task;

struct task_struct *get_current(void)
{
	return &mfv_task;
}

static void mfv_note(const char *fmt, ...)
{
	struct mfv_proc *p = mfv_p;
	va_list ap;
	int n;

	if (!p || p->report_len + 2 >= MFV_REPORT)
		return;
	va_start(ap, fmt);
	n = vsnprintf(p->report + p->report_len, MFV_REPORT - p->report_len, fmt, ap);
	va_end(ap);
	if (n > 0) {
		p->report_len += (size_t)n;
		if (p->report_len >= MFV_REPORT - 1)
			p->report_len = MFV_REPORT - 1;
	}
	if (p->report_len + 1 < MFV_REPORT) {
		p->report[p->report_len++] = '\n';
		p->report[p->report_len] = '\0';
	}
}

static void mfv_dump_stack(void)
{
	if (mfv_p)
		mfv_p->dump_stacks++;
}

/* A kernel WARN is recorded, never fatal. */
#undef WARN_ON
#define WARN_ON(cond) ({						\
	int __c = !!(cond);						\
	if (__c)							\
		mfv_note("WARN_ON(%s) at %s:%d", #cond, __func__, __LINE__); \
	__c;								\
})
#undef WARN_ON_ONCE
#define WARN_ON_ONCE(cond) WARN_ON(cond)

/* sysctl_max_map_count is the program's setup. */
#undef sysctl_max_map_count
#define sysctl_max_map_count ((int)mfv_p->max_map_count)

/* One allocation point: true if it is the one that fails. */
static bool mfv_point(enum mfv_point what)
{
	struct mfv_proc *p = mfv_p;
	unsigned int n = p->npoints;

	if (n < MFV_MAX_POINTS)
		p->points[n] = (uint8_t)what;
	p->npoints = n + 1;
	return p->fail_now >= 0 && (unsigned int)p->fail_now == n;
}

/* ---- vm_area_struct allocation (kernel/fork.c) ------------------------ */

static struct vm_area_struct *vm_area_alloc(struct mm_struct *mm)
{
	struct vm_area_struct *vma;

	if (mfv_point(MFV_POINT_VMA_ALLOC))
		return NULL;
	vma = mfv_stub_vm_area_alloc(mm);
	if (vma)
		mfv_p->live_vmas++;
	return vma;
}

static struct vm_area_struct *vm_area_dup(struct vm_area_struct *orig)
{
	struct vm_area_struct *vma;

	if (mfv_point(MFV_POINT_VMA_ALLOC))
		return NULL;
	vma = mfv_stub_vm_area_dup(orig);
	if (vma)
		mfv_p->live_vmas++;
	return vma;
}

static void vm_area_free(struct vm_area_struct *vma)
{
	mfv_p->live_vmas--;
	mfv_stub_vm_area_free(vma);
}

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

/* ---- the maple tree calls that are allocation points ------------------ */

static int mfv_vma_iter_prealloc(struct vma_iterator *vmi, struct vm_area_struct *vma)
{
	if (mfv_point(MFV_POINT_PREALLOC))
		return -ENOMEM;
	return mas_preallocate(&vmi->mas, vma, GFP_KERNEL);
}

static int mfv_mas_store_gfp(struct ma_state *mas, void *entry, gfp_t gfp)
{
	if (!(gfp & __GFP_NOFAIL) && mfv_point(MFV_POINT_STORE_GFP)) {
		mas_set_err(mas, -ENOMEM);
		return -ENOMEM;
	}
	return (mas_store_gfp)(mas, entry, gfp);
}

/* ---- the anon_vma hierarchy (mm/rmap.c) ------------------------------- */

struct anon_vma *find_mergeable_anon_vma(struct vm_area_struct *vma);

static inline struct mfv_anon *mfv_anon(struct anon_vma *av)
{
	return av ? container_of(av, struct mfv_anon, av) : NULL;
}

static struct mfv_anon *mfv_anon_vma_alloc(void)
{
	struct mfv_anon *a = calloc(1, sizeof(*a));

	if (!a)
		abort();
	a->refcount = 1;
	a->id = ++mfv_p->next_anon_id;
	a->parent = a;
	a->av.root = &a->av;
	return a;
}

static void mfv_put_anon_vma(struct mfv_anon *a)
{
	if (--a->refcount)
		return;
	if (a->av.root != &a->av)
		mfv_put_anon_vma(mfv_anon(a->av.root));
	free(a);
}

/* anon_vma_chain_link: the newest link goes to the head of the chain. */
static void mfv_chain_link(struct vm_area_struct *vma, struct mfv_anon *a)
{
	struct mfv_avc *l = calloc(1, sizeof(*l));

	if (!l)
		abort();
	l->vma = vma;
	l->avc.anon_vma = &a->av;
	list_add(&l->avc.same_vma, &vma->anon_vma_chain);
	a->nr_chained++;
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

/* ---- files ------------------------------------------------------------ */

static struct mfv_file mfv_files[MFV_FILES];

static void mfv_files_init(void)
{
	static bool done;

	if (done)
		return;
	for (uint32_t i = 0; i < MFV_FILES; i++) {
		mfv_files[i].f.f_mapping = &mfv_files[i].mapping;
		mfv_files[i].id = i;
		/* File 2 is read-only, file 3's vm_ops have ->close. */
		mfv_files[i].writable = i != 2;
		mfv_files[i].has_close = i == 3;
	}
	done = true;
}

static inline struct mfv_file *mfv_file(struct file *f)
{
	return f ? container_of(f, struct mfv_file, f) : NULL;
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
