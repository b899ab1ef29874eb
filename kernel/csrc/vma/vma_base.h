/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * maplefuzz kernel VMA engine: what every tree's shim shares (the process,
 * the allocation points, the anon_vma and file objects), read after the
 * tree's vma_internal.h.
 *
 * Every engine handle is one process: a struct mfv_proc owns the current
 * mm (and, during fork, the child's), the files, the allocation points of
 * the op in flight and the warnings. The context is per thread (tests run
 * engines on several threads at once); each API call sets it.
 */
#ifndef MFV_BASE_H
#define MFV_BASE_H

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
	/* The fixes of kernel findings this process's glue applies (MFV_FIX_*):
	 * the `fixed` build of a tree whose glue transcribes buggy code. */
	uint32_t fixes;
};

/* Finding 14 (docs/findings/mremap-dontunmap-mlock.md): a MREMAP_DONTUNMAP
 * move splits the range out of an mlock()ed source and moves its locked_vm
 * charge (7.1's glue; 6.12 never had the bug). */
#define MFV_FIX_DONTUNMAP_MLOCK 1u

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

/* ---- the syscalls' constants (x86-64 uapi) ----------------------------- */

#define MFV_PROT_READ 0x1
#define MFV_PROT_WRITE 0x2
#define MFV_PROT_EXEC 0x4
#define MFV_PROT_SEM 0x8
#define MFV_PROT_GROWSDOWN 0x01000000
#define MFV_PROT_GROWSUP 0x02000000

#define MFV_MAP_SHARED 0x01
#define MFV_MAP_PRIVATE 0x02
#define MFV_MAP_SHARED_VALIDATE 0x03
#define MFV_MAP_DROPPABLE 0x08
#define MFV_MAP_TYPE 0x0f
#define MFV_MAP_FIXED 0x10
#define MFV_MAP_GROWSDOWN 0x100
#define MFV_MAP_DENYWRITE 0x800
#define MFV_MAP_EXECUTABLE 0x1000
#define MFV_MAP_LOCKED 0x2000
#define MFV_MAP_NORESERVE 0x4000
#define MFV_MAP_HUGETLB 0x40000
#define MFV_MAP_SYNC 0x80000
#define MFV_MAP_FIXED_NOREPLACE 0x100000
/* LEGACY_MAP_MASK (include/linux/mman.h). */
#define MFV_LEGACY_MAP_MASK (MFV_MAP_SHARED | MFV_MAP_PRIVATE | MFV_MAP_FIXED | \
	0x20 /* ANONYMOUS */ | MFV_MAP_DENYWRITE | MFV_MAP_EXECUTABLE | \
	0x40 /* UNINITIALIZED via 32BIT on x86 */ | MFV_MAP_GROWSDOWN | \
	MFV_MAP_LOCKED | MFV_MAP_NORESERVE | 0x8000 /* POPULATE */ | \
	0x10000 /* NONBLOCK */ | 0x20000 /* STACK */ | MFV_MAP_HUGETLB)

#define MFV_MADV_NORMAL 0
#define MFV_MADV_RANDOM 1
#define MFV_MADV_SEQUENTIAL 2
#define MFV_MADV_DONTFORK 10
#define MFV_MADV_DOFORK 11
#define MFV_MADV_DONTDUMP 16
#define MFV_MADV_DODUMP 17
#define MFV_MADV_WIPEONFORK 18
#define MFV_MADV_KEEPONFORK 19

#define MFV_MAX_LFS_FILESIZE ((unsigned long)LLONG_MAX)

#define MFV_MREMAP_MAYMOVE 1
#define MFV_MREMAP_FIXED 2
#define MFV_MREMAP_DONTUNMAP 4

#endif
