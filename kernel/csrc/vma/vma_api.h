/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * maplefuzz kernel VMA engine: the flat API the Rust side calls (struct
 * mfv_vtable), the same for every tree. It needs from the tree's glue:
 * mfv_do_mmap, mfv_munmap, mfv_mprotect, mfv_madvise, mfv_brk, mfv_mremap,
 * mfv_touch, mfv_fork, mfv_mm_alloc, mfv_exit_mmap and mfv_version_init.
 */

/* ---- the flat API ------------------------------------------------------ */

/* An errno's name as maplefuzz prints it (E<number> for the unnamed). */
__attribute__((unused)) static const char *mfv_errname(int e)
{
	static __thread char buf[16];

	switch (e) {
	case EPERM: return "EPERM";
	case EAGAIN: return "EAGAIN";
	case ENOMEM: return "ENOMEM";
	case EACCES: return "EACCES";
	case EFAULT: return "EFAULT";
	case EEXIST: return "EEXIST";
	case EINVAL: return "EINVAL";
	case EOVERFLOW: return "EOVERFLOW";
	case EOPNOTSUPP: return "EOPNOTSUPP";
	default:
		snprintf(buf, sizeof(buf), "E%d", e);
		return buf;
	}
}

#define MFV_ABI 3

/* One VMA as the harness sees it; file is UINT32_MAX for none. */
struct mfv_row {
	uint64_t start, end, flags, pgoff, anon;
	uint32_t file, chain;
};

enum mfv_op {
	MFV_OP_MMAP,
	MFV_OP_MUNMAP,
	MFV_OP_MPROTECT,
	MFV_OP_MADVISE,
	MFV_OP_BRK,
	MFV_OP_MREMAP,
	MFV_OP_TOUCH,
	MFV_OP_FORK,
};

/* Deferred RCU callbacks of the op in flight (no reader exists). */
struct mfv_rcu_cb {
	struct rcu_head *head;
	void (*func)(struct rcu_head *);
};
static __thread struct mfv_rcu_cb *mfv_rcu_q;
static __thread size_t mfv_rcu_len, mfv_rcu_cap;

static void mfv_call_rcu(struct rcu_head *head, void (*func)(struct rcu_head *))
{
	if (mfv_rcu_len == mfv_rcu_cap) {
		mfv_rcu_cap = mfv_rcu_cap ? 2 * mfv_rcu_cap : 256;
		mfv_rcu_q = realloc(mfv_rcu_q, mfv_rcu_cap * sizeof(*mfv_rcu_q));
		if (!mfv_rcu_q)
			abort();
	}
	mfv_rcu_q[mfv_rcu_len].head = head;
	mfv_rcu_q[mfv_rcu_len].func = func;
	mfv_rcu_len++;
}

static void mfv_rcu_flush(void)
{
	for (size_t i = 0; i < mfv_rcu_len; i++)
		mfv_rcu_q[i].func(mfv_rcu_q[i].head);
	mfv_rcu_len = 0;
}



static void mfv_enter(struct mfv_proc *p)
{
	mfv_p = p;
	mfv_task.mm = p->mm;
}

static pthread_once_t mfv_once = PTHREAD_ONCE_INIT;

/* The process-wide set-up: the maple node cache and the files. */
static void mfv_init_once(void)
{
	maple_tree_init();
	mfv_files_init();
	mfv_version_init();
}

static void *mfv_create(uint64_t max_map_count, uint32_t fixes)
{
	struct mfv_proc *p = calloc(1, sizeof(*p));

	if (!p)
		abort();
	pthread_once(&mfv_once, mfv_init_once);
	p->max_map_count = max_map_count;
	p->fixes = fixes;
	p->armed = -1;
	p->fail_now = -1;
	p->start_brk = p->brk = MFV_START_BRK;
	p->next_shmem = MFV_SHMEM_FILE_BASE;
	mfv_enter(p);
	p->mm = mfv_mm_alloc();
	mfv_task.mm = p->mm;
	return p;
}

static void mfv_destroy(void *h)
{
	struct mfv_proc *p = h;
	struct mfv_file *f, *next;

	mfv_enter(p);
	mfv_exit_mmap(p->mm);
	mfv_rcu_flush();
	for (f = p->shmem; f; f = next) {
		next = f->next_shmem;
		free(f);
	}
	mfv_p = NULL;
	mfv_task.mm = NULL;
	free(p);
}

/*
 * One syscall: args as the op gives them. The answer is the syscall's
 * (a negative errno on failure; brk answers the break). *unsupported is
 * set for an op this tree's engine cannot run.
 */
static int64_t mfv_apply(void *h, uint32_t op, const uint64_t *a, int32_t *unsupported)
{
	struct mfv_proc *p = h;
	int64_t r = 0;

	mfv_enter(p);
	p->fail_now = p->armed;
	p->armed = -1;
	p->npoints = 0;
	*unsupported = 0;
	switch (op) {
	case MFV_OP_MMAP: {
		/* a[4]: the file (UINT32_MAX for anonymous), a[5]: its page. */
		struct mfv_file *f = a[4] < MFV_FILES ? &mfv_files[a[4]] : NULL;

		r = (int64_t)mfv_do_mmap(f, a[0], a[1], a[2], a[3], f ? a[5] : 0);
		break;
	}
	case MFV_OP_MUNMAP:
		r = mfv_munmap(a[0], a[1]);
		break;
	case MFV_OP_MPROTECT:
		r = mfv_mprotect(a[0], a[1], a[2]);
		break;
	case MFV_OP_MADVISE:
		r = mfv_madvise(a[0], a[1], (int)a[2]);
		break;
	case MFV_OP_BRK:
		r = (int64_t)mfv_brk(a[0]);
		break;
	case MFV_OP_TOUCH:
		r = mfv_touch(a[0], a[1] != 0);
		break;
	case MFV_OP_MREMAP:
		r = (int64_t)mfv_mremap(a[0], a[1], a[2], a[3], a[4]);
		break;
	case MFV_OP_FORK:
		/* a[0]: 1 if the child goes on. */
		r = mfv_fork(a[0] != 0);
		break;
	default:
		*unsupported = 1;
		break;
	}
	p->fail_now = -1;
	mfv_rcu_flush();
	return r;
}

static size_t mfv_rows(void *h, struct mfv_row *out, size_t cap)
{
	struct mfv_proc *p = h;
	struct vm_area_struct *vma;
	size_t n = 0;
	VMA_ITERATOR(vmi, p->mm, 0);

	mfv_enter(p);
	for_each_vma(vmi, vma) {
		if (n < cap) {
			struct mfv_file *f = mfv_file(vma->vm_file);
			struct list_head *l;
			uint32_t chain = 0;

			list_for_each(l, &vma->anon_vma_chain)
				chain++;
			out[n] = (struct mfv_row){
				.start = vma->vm_start,
				.end = vma->vm_end,
				.flags = vma->vm_flags,
				.pgoff = vma->vm_pgoff,
				.anon = vma->anon_vma ? mfv_anon(vma->anon_vma)->id : 0,
				.file = f ? f->id : UINT32_MAX,
				.chain = chain,
			};
		}
		n++;
	}
	return n;
}

static uint64_t mfv_brk_value(void *h)
{
	return ((struct mfv_proc *)h)->brk;
}

static uint64_t mfv_map_count(void *h)
{
	return (uint64_t)((struct mfv_proc *)h)->mm->map_count;
}

static uint64_t mfv_locked_vm(void *h)
{
	return (uint64_t)((struct mfv_proc *)h)->mm->locked_vm;
}

static size_t mfv_points(void *h, uint8_t *out, size_t cap)
{
	struct mfv_proc *p = h;
	size_t n = p->npoints < MFV_MAX_POINTS ? p->npoints : MFV_MAX_POINTS;

	memcpy(out, p->points, n < cap ? n : cap);
	return p->npoints;
}

static void mfv_fail_at(void *h, uint32_t nth)
{
	((struct mfv_proc *)h)->armed = (int)nth;
}

/*
 * validate_mm() in our words, so that a failure is a message rather than
 * a BUG: mt_validate() (its MT_BUG_ONs counted through dump_stack), each
 * entry's range is its VMA's, the entries number map_count, and every
 * vm_area_struct alive is in the tree; then the WARNs of the last op.
 * Answers the report's length (0: all well).
 */
static size_t mfv_validate(void *h, char *out, size_t cap)
{
	struct mfv_proc *p = h;
	struct vm_area_struct *vma;
	unsigned long before;
	long n = 0;
	VMA_ITERATOR(vmi, p->mm, 0);

	mfv_enter(p);
	before = p->dump_stacks;
	mt_validate(&p->mm->mm_mt);
	if (p->dump_stacks != before)
		mfv_note("mt_validate() failed on mm_mt");
	for_each_vma(vmi, vma) {
		if (vma->vm_start != vma_iter_addr(&vmi) || vma->vm_end != vma_iter_end(&vmi))
			mfv_note("VMA %lx-%lx is stored over %lx-%lx", vma->vm_start, vma->vm_end,
				 vma_iter_addr(&vmi), vma_iter_end(&vmi));
		n++;
	}
	if (n != p->mm->map_count)
		mfv_note("map_count %d, but the tree holds %ld VMAs", p->mm->map_count, n);
	if (p->live_vmas != n)
		mfv_note("%ld vm_area_structs alive, %ld in the tree", p->live_vmas, n);
	n = (long)p->report_len;
	if (cap) {
		size_t m = (size_t)n < cap - 1 ? (size_t)n : cap - 1;

		memcpy(out, p->report, m);
		out[m] = '\0';
	}
	p->report_len = 0;
	p->report[0] = '\0';
	return (size_t)n;
}

/* The mm's tree for the harness's structure check: its root, flags and
 * address (the parent word of a root node). */
static uint64_t mfv_tree_root(void *h, uint32_t *flags, uint64_t *addr)
{
	struct mfv_proc *p = h;

	*flags = p->mm->mm_mt.ma_flags;
	*addr = (uint64_t)(uintptr_t)&p->mm->mm_mt;
	return (uint64_t)(uintptr_t)p->mm->mm_mt.ma_root;
}

/*
 * Every node the tree reaches from its root, in pre-order: its address
 * and its 32 words (up to cap nodes; answers how many there are).
 */
static size_t mfv_nodes(void *h, uint64_t *addrs, uint64_t *words, size_t cap)
{
	struct mfv_proc *p = h;
	struct maple_enode *stack[MAPLE_HEIGHT_MAX * MAPLE_NODE_SLOTS + 1];
	size_t depth = 0, n = 0;
	void *root = p->mm->mm_mt.ma_root;

	if (!xa_is_node(root))
		return 0;
	stack[depth++] = mte_safe_root(root);
	while (depth) {
		struct maple_enode *enode = stack[--depth];
		struct maple_node *node = mte_to_node(enode);
		enum maple_type type = mte_node_type(enode);

		if (n < cap) {
			addrs[n] = (uint64_t)(uintptr_t)node;
			memcpy(&words[32 * n], node, sizeof(*node));
		}
		n++;
		if (ma_is_leaf(type))
			continue;
		/* Children pushed last first, so they come out in order. */
		for (int i = mt_slots[type] - 1; i >= 0; i--) {
			/* An encoded node (not NULL, nor the metadata that
			 * may share the last slot). */
			uintptr_t w = (uintptr_t)ma_slots(node, type)[i];

			if (w >= 4096 && (w & 0x87) == 0x04 &&
			    depth < MAPLE_HEIGHT_MAX * MAPLE_NODE_SLOTS)
				stack[depth++] = (struct maple_enode *)w;
		}
	}
	return n;
}

struct mfv_vtable {
	uint32_t abi;
	void *(*create)(uint64_t max_map_count, uint32_t fixes);
	void (*destroy)(void *h);
	int64_t (*apply)(void *h, uint32_t op, const uint64_t *args, int32_t *unsupported);
	size_t (*rows)(void *h, struct mfv_row *out, size_t cap);
	uint64_t (*brk)(void *h);
	uint64_t (*map_count)(void *h);
	size_t (*points)(void *h, uint8_t *out, size_t cap);
	void (*fail_at)(void *h, uint32_t nth);
	size_t (*validate)(void *h, char *out, size_t cap);
	uint64_t (*tree_root)(void *h, uint32_t *flags, uint64_t *addr);
	size_t (*nodes)(void *h, uint64_t *addrs, uint64_t *words, size_t cap);
	uint64_t (*locked_vm)(void *h);
};

__attribute__((visibility("default"))) const struct mfv_vtable mfv_vtable = {
	.abi = MFV_ABI,
	.create = mfv_create,
	.destroy = mfv_destroy,
	.apply = mfv_apply,
	.rows = mfv_rows,
	.brk = mfv_brk_value,
	.map_count = mfv_map_count,
	.points = mfv_points,
	.fail_at = mfv_fail_at,
	.validate = mfv_validate,
	.tree_root = mfv_tree_root,
	.nodes = mfv_nodes,
	.locked_vm = mfv_locked_vm,
};
