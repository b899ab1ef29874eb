// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * maplefuzz kernel engine: the flat API the Rust side calls over FFI
 * (kernel/src/lib.rs), the same for every kernel generation.
 *
 * Included by each generation's gen-*.c after lib/maple_tree.c. The
 * generation file defines first, for its kernel's maple state:
 *   mfk_gen_init_state(mas, mt)   a fresh state on mt at index 0 (mas_init)
 *   mfk_gen_held(mas)             nodes the state holds for later writes
 *   mfk_gen_mark_held(mas, keep)  marks those nodes (keep[node number] = 1)
 *   mfk_gen_status(mas)           the state's status, numbered as Linux
 *                                 6.12's enum maple_status
 *   mfk_gen_preallocate(mas, e)   mas_preallocate() for entry e
 *   mfk_gen_expected_entries(mas, n)  bulk mode, where the kernel has it
 * and, if it defines MFK_GEN_FORGET,
 *   mfk_gen_forget(mas)           drops what the state holds outside the
 *                                 node arena (a sheaf), when the handle goes
 * A generation whose kernel has no mtree_alloc_cyclic() (before 6.10)
 * defines MFK_GEN_NO_ALLOC_CYCLIC: MFK_ALLOC_CYCLIC then answers -ENOSYS
 * and changes nothing, which the Rust side reports as an op this kernel
 * does not have.
 */

struct mfk_tree {
	struct maple_tree mt;
	struct ma_state mas;    /* the cursor */
	struct ma_state saved;  /* the cursor before the last write through it */
	struct ma_state wmas;   /* the writer (preallocations) */
	int crashed;
	int hold_rcu;           /* RCU callbacks wait for MFK_RCU_BARRIER */
	struct mfk_arena arena;
	struct mfk_report rep;
	struct mfk_rcu rcu;
};

static struct mfk_report *mfk_rep_of(struct mfk_tree *t) { return &t->rep; }
static struct mfk_rcu *mfk_rcu_of(struct mfk_tree *t) { return &t->rcu; }
static struct mfk_arena *mfk_arena_of(struct mfk_tree *t) { return &t->arena; }

static pthread_once_t mfk_once = PTHREAD_ONCE_INIT;

MFK_API struct mfk_tree *mfk_new(unsigned int flags)
{
	struct mfk_tree *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	pthread_once(&mfk_once, maple_tree_init);
	mfk_sanitizer_init();
	mfk_cur = t;
	mt_init_flags(&t->mt, flags);
	mfk_gen_init_state(&t->mas, &t->mt);
	mfk_gen_init_state(&t->wmas, &t->mt);
	return t;
}

/* Frees the handle and every node it still has (whatever the tree did). */
MFK_API void mfk_free_handle(struct mfk_tree *t)
{
	if (!t)
		return;
#ifdef MFK_GEN_FORGET
	mfk_cur = t;
	mfk_gen_forget(&t->wmas);
#endif
	for (size_t c = 0; c < t->arena.nchunks; c++) {
		mfk_unpoison(t->arena.chunks[c], (size_t)MFK_CHUNK * MFK_STRIDE);
		free(t->arena.chunks[c]);
		free(t->arena.state[c]);
		free(t->arena.epoch[c]);
	}
	free(t->arena.chunks);
	free(t->arena.state);
	free(t->arena.epoch);
	free(t->arena.free_list);
	free(t->rcu.q);
	free(t);
}

/* Reports and counters the Rust side reads after every op. */
MFK_API int mfk_report(struct mfk_tree *t, char *what, size_t what_len, char *log, size_t log_len)
{
	int kind = t->rep.kind;

	mfk_cur = t;
	snprintf(what, what_len, "%s", mfk_rep.what);
	snprintf(log, log_len, "%s", mfk_rep.log);
	return kind;
}

MFK_API void mfk_counters(struct mfk_tree *t, uint64_t out[5])
{
	mfk_cur = t;
	out[0] = mfk_a.live;
	out[1] = mfk_a.allocated;
	out[2] = mfk_a.freed;
	out[3] = mfk_a.failed;
	out[4] = mfk_a.seen;
}

MFK_API void mfk_set_faults(struct mfk_tree *t, int sched, uint64_t arg)
{
	mfk_cur = t;
	mfk_a.sched = sched;
	mfk_a.sched_arg = arg;
	mfk_a.seen = 0;
}

/* Suspends (1) or resumes (0) the fault schedule, its count kept. */
MFK_API void mfk_suspend_faults(struct mfk_tree *t, int on)
{
	mfk_cur = t;
	mfk_a.suspended = on;
}

/* Whether `addr` is a live node; if so its 32 words are copied out. */
MFK_API int mfk_read_node(struct mfk_tree *t, uint64_t addr, uint64_t out[32])
{
	long n;

	mfk_cur = t;
	n = mfk_node_no((void *)(uintptr_t)addr);

	if (n < 0 || *mfk_state((size_t)n) != 1)
		return 0;
	memcpy(out, (void *)(uintptr_t)addr, MFK_NODE);
	return 1;
}

MFK_API uint64_t mfk_root(const struct mfk_tree *t)
{
	return (uint64_t)(uintptr_t)t->mt.ma_root;
}

MFK_API unsigned int mfk_flags(const struct mfk_tree *t)
{
	return t->mt.ma_flags;
}

MFK_API uint64_t mfk_tree_addr(const struct mfk_tree *t)
{
	return (uint64_t)(uintptr_t)&t->mt;
}

MFK_API uint64_t mfk_held(struct mfk_tree *t)
{
	mfk_cur = t;
	return mfk_gen_held(&t->wmas);
}

/*
 * Op codes: the Rust side passes one op and its arguments; results come
 * back in `res` (status or errno, entry, index, last, maple status).
 */
enum mfk_op {
	MFK_STORE, MFK_INSERT, MFK_ERASE, MFK_LOAD, MFK_FIND,
	MFK_ALLOC_RANGE, MFK_ALLOC_RRANGE, MFK_EMPTY_AREA, MFK_EMPTY_AREA_REV,
	MFK_WALK, MFK_MAS_FIND, MFK_MAS_FIND_REV, MFK_MAS_NEXT, MFK_MAS_PREV,
	MFK_PAUSE, MFK_SET, MFK_PREALLOC, MFK_STORE_PREALLOC, MFK_MAS_STORE,
	MFK_MAS_DESTROY, MFK_DESTROY, MFK_VALIDATE, MFK_EXPECTED_ENTRIES,
	MFK_ALLOC_CYCLIC, MFK_RESET, MFK_SET_RANGE, MFK_CUR_EMPTY_AREA,
	MFK_CUR_EMPTY_AREA_REV, MFK_CUR_STORE, MFK_CUR_ERASE, MFK_CUR_RESTORE,
	MFK_RCU_HOLD, MFK_RCU_BARRIER,
};

struct mfk_result {
	int64_t ret;
	uint64_t entry, index, last;
	int32_t status;
	int32_t aborted;  /* 1: a fruitless refill ended the op with ENOMEM */
	uint64_t cur_index, cur_last;  /* the cursor's range after any op */
};

/* Frees what the op allocated that neither the tree nor the writer holds:
 * the pool of the kernel's own maple state after an unwound refill. */
static void mfk_mark_tree(struct mfk_tree *t, uint8_t *keep);

static void mfk_mark_node(void *enode, uint8_t *keep, int depth)
{
	struct maple_node *node = mte_to_node(enode);
	enum maple_type type = mte_node_type(enode);
	long n = mfk_node_no(node);

	if (n < 0 || depth > 64 || keep[n] || *mfk_state((size_t)n) != 1)
		return;
	keep[n] = 1;
	if (ma_is_leaf(type))
		return;
	void __rcu **slots = ma_slots(node, type);

	for (int i = 0; i < mt_slots[type]; i++) {
		void *s = slots[i];

		if (s && xa_is_node(s))
			mfk_mark_node(s, keep, depth + 1);
	}
}

static void mfk_mark_tree(struct mfk_tree *t, uint8_t *keep)
{
	void *root = t->mt.ma_root;

	if (xa_is_node(root))
		mfk_mark_node(mte_safe_root(root), keep, 0);
	mfk_gen_mark_held(&t->wmas, keep);
}

static void mfk_free_orphans(struct mfk_tree *t)
{
	size_t total = mfk_a.nchunks * MFK_CHUNK;
	uint8_t *keep = calloc(total ? total : 1, 1);

	if (!keep)
		abort();
	mfk_mark_tree(t, keep);
	/* Nodes waiting for a grace period are freed by their callbacks. */
	for (size_t i = 0; i < t->rcu.len; i++) {
		long n = mfk_node_no(container_of(t->rcu.q[i].head, struct maple_node, rcu));

		if (n >= 0)
			keep[n] = 1;
	}
	for (size_t n = 0; n < total; n++)
		if (*mfk_state(n) == 1 && !keep[n] &&
		    mfk_a.epoch[n / MFK_CHUNK][n % MFK_CHUNK] == mfk_a.op)
			mfk_free(mfk_node_at(n));
	free(keep);
}

/*
 * Runs one op. Returns 0, or the report kind when the kernel hit a BUG
 * (the handle is then marked crashed and refuses further ops).
 */
MFK_API int mfk_apply(struct mfk_tree *t, int op, uint64_t a, uint64_t b,
		      uint64_t c, uint64_t d, struct mfk_result *res)
{
	jmp_buf bug_jmp, refill_jmp;
	void *entry;
	unsigned long idx;
	int ret;

	memset(res, 0, sizeof(*res));
	mfk_cur = t;
	if (t->crashed)
		return MFK_BUG;
	mfk_a.op++;
	mfk_a.in_refill = 0;
	mfk_bug_jmp = &bug_jmp;
	if (setjmp(bug_jmp)) {
		t->crashed = 1;
		mfk_bug_jmp = NULL;
		mfk_a.refill_jmp = NULL;
		return MFK_BUG;
	}
	mfk_a.refill_jmp = &refill_jmp;
	if (setjmp(refill_jmp)) {
		/* A refill gained nothing: the op ends with ENOMEM (see mfk_alloc). */
		mfk_a.refill_jmp = NULL;
		mfk_a.in_refill = 0;
		mfk_free_orphans(t);
		res->ret = -ENOMEM;
		res->aborted = 1;
		if (op == MFK_ERASE)
			res->entry = (uint64_t)(uintptr_t)mtree_load(&t->mt, a);
		if (op == MFK_CUR_STORE || op == MFK_CUR_ERASE) {
			/* The tree is unchanged and the nodes the cursor was
			 * given are freed above: the cursor is where the op
			 * found it, holding nothing, in error status, as
			 * mas_store_gfp() and mas_erase() leave it when
			 * mas_nomem() gets no memory. */
			t->mas = t->saved;
			mas_set_err(&t->mas, -ENOMEM);
			if (op == MFK_CUR_ERASE)
				res->entry = (uint64_t)(uintptr_t)mtree_load(&t->mt, t->saved.index);
		}
		goto out;
	}

	switch (op) {
	case MFK_STORE:
		res->ret = mtree_store_range(&t->mt, a, b, (void *)(uintptr_t)c, GFP_KERNEL);
		break;
	case MFK_INSERT:
		res->ret = mtree_insert_range(&t->mt, a, b, (void *)(uintptr_t)c, GFP_KERNEL);
		break;
	case MFK_ERASE:
		res->entry = (uint64_t)(uintptr_t)mtree_erase(&t->mt, a);
		break;
	case MFK_LOAD:
		res->entry = (uint64_t)(uintptr_t)mtree_load(&t->mt, a);
		break;
	case MFK_FIND:
		idx = a;
		res->entry = (uint64_t)(uintptr_t)mt_find(&t->mt, &idx, b);
		res->index = idx;
		break;
	case MFK_ALLOC_RANGE:
	case MFK_ALLOC_RRANGE:
		idx = 0;
		if (op == MFK_ALLOC_RANGE)
			ret = mtree_alloc_range(&t->mt, &idx, (void *)(uintptr_t)d, a, b, c, GFP_KERNEL);
		else
			ret = mtree_alloc_rrange(&t->mt, &idx, (void *)(uintptr_t)d, a, b, c, GFP_KERNEL);
		res->ret = ret;
		res->index = idx;
		break;
	case MFK_EMPTY_AREA:
	case MFK_EMPTY_AREA_REV: {
		MA_STATE(m, &t->mt, 0, 0);

		if (op == MFK_EMPTY_AREA)
			res->ret = mas_empty_area(&m, a, b, c);
		else
			res->ret = mas_empty_area_rev(&m, a, b, c);
		res->index = m.index;
		res->last = m.last;
		break;
	}
	case MFK_WALK:
		mas_set(&t->mas, a);
		entry = mas_walk(&t->mas);
		goto cursor;
	case MFK_MAS_FIND:
		entry = mas_find(&t->mas, a);
		goto cursor;
	case MFK_MAS_FIND_REV:
		entry = mas_find_rev(&t->mas, a);
		goto cursor;
	case MFK_MAS_NEXT:
		entry = mas_next(&t->mas, a);
		goto cursor;
	case MFK_MAS_PREV:
		entry = mas_prev(&t->mas, a);
cursor:
		res->entry = (uint64_t)(uintptr_t)entry;
		res->index = t->mas.index;
		res->last = t->mas.last;
		res->status = mfk_gen_status(&t->mas);
		break;
	case MFK_PAUSE:
		mas_pause(&t->mas);
		break;
	case MFK_SET:
		mas_set(&t->mas, a);
		break;
	case MFK_PREALLOC:
		mas_set_range(&t->wmas, a, b);
		res->ret = mfk_gen_preallocate(&t->wmas, (void *)(uintptr_t)c);
		break;
	case MFK_STORE_PREALLOC:
		mas_store_prealloc(&t->wmas, (void *)(uintptr_t)c);
		break;
	case MFK_MAS_STORE:
		mas_set_range(&t->wmas, a, b);
		res->entry = (uint64_t)(uintptr_t)mas_store(&t->wmas, (void *)(uintptr_t)c);
		res->ret = mas_is_err(&t->wmas) ? xa_err(t->wmas.node) : 0;
		break;
	case MFK_MAS_DESTROY:
		mas_destroy(&t->wmas);
		break;
	case MFK_DESTROY:
		mtree_destroy(&t->mt);
		break;
	case MFK_VALIDATE:
		mt_validate(&t->mt);
		break;
	case MFK_EXPECTED_ENTRIES:
		/* Bulk mode, on the writer as a fresh MA_STATE would start it. */
		mas_reset(&t->wmas);
		res->ret = mfk_gen_expected_entries(&t->wmas, a);
		break;
	case MFK_ALLOC_CYCLIC:
		/* a, b: the window; c: the caller's next; d: the entry. The id
		 * comes back in index, the caller's next after the call in last. */
#ifdef MFK_GEN_NO_ALLOC_CYCLIC
		res->ret = -ENOSYS;
#else
	{
		unsigned long next = c;

		idx = 0;
		res->ret = mtree_alloc_cyclic(&t->mt, &idx, (void *)(uintptr_t)d, a, b,
					      &next, GFP_KERNEL);
		res->index = idx;
		res->last = next;
	}
#endif
		break;
	case MFK_RESET:
		mas_reset(&t->mas);
		break;
	case MFK_SET_RANGE:
		mas_set_range(&t->mas, a, b);
		break;
	case MFK_CUR_EMPTY_AREA:
	case MFK_CUR_EMPTY_AREA_REV:
		/* On the cursor as it stands: a search resumed from its node. */
		if (op == MFK_CUR_EMPTY_AREA)
			res->ret = mas_empty_area(&t->mas, a, b, c);
		else
			res->ret = mas_empty_area_rev(&t->mas, a, b, c);
		res->index = t->mas.index;
		res->last = t->mas.last;
		break;
	case MFK_CUR_STORE:
		t->saved = t->mas;
		res->ret = mas_store_gfp(&t->mas, (void *)(uintptr_t)c, GFP_KERNEL);
		res->index = t->mas.index;
		res->last = t->mas.last;
		break;
	case MFK_CUR_ERASE:
		t->saved = t->mas;
		res->entry = (uint64_t)(uintptr_t)mas_erase(&t->mas);
		res->index = t->mas.index;
		res->last = t->mas.last;
		break;
	case MFK_RCU_HOLD:
		/* a != 0: RCU callbacks queue until MFK_RCU_BARRIER (a grace
		 * period the Rust side ends when it has looked at the tree as
		 * readers see it); 0: they run at the end of every op. */
		t->hold_rcu = a != 0;
		break;
	case MFK_RCU_BARRIER:
		/* The callbacks run below, under this op's BUG handling. */
		break;
	case MFK_CUR_RESTORE:
		/* The cursor back where the last write through it found it
		 * (valid while the tree is unchanged since). */
		t->mas = t->saved;
		break;
	default:
		res->ret = -EINVAL;
		break;
	}
out:
	/* Every op reports where the cursor stands after it. */
	res->status = mfk_gen_status(&t->mas);
	res->cur_index = t->mas.index;
	res->cur_last = t->mas.last;
	if (!t->hold_rcu || op == MFK_RCU_BARRIER)
		mfk_rcu_flush();
	mfk_bug_jmp = NULL;
	mfk_a.refill_jmp = NULL;
	mfk_a.in_refill = 0;
	return mfk_rep.kind;
}

/*
 * Every entry (first, last, entry) into out[3 * cap], by the kernel's own
 * iteration; *n is the total, which may exceed cap (then call again).
 */
MFK_API int mfk_entries(struct mfk_tree *t, uint64_t lo, uint64_t hi, uint64_t *out, size_t cap,
			size_t *n)
{
	jmp_buf bug_jmp;
	void *entry;

	mfk_cur = t;
	*n = 0;
	if (t->crashed)
		return MFK_BUG;
	mfk_bug_jmp = &bug_jmp;
	if (setjmp(bug_jmp)) {
		t->crashed = 1;
		mfk_bug_jmp = NULL;
		return MFK_BUG;
	}
	{
		MA_STATE(m, &t->mt, lo, lo);

		mas_for_each(&m, entry, hi) {
			if (*n < cap) {
				out[3 * *n] = m.index;
				out[3 * *n + 1] = m.last;
				out[3 * *n + 2] = (uint64_t)(uintptr_t)entry;
			}
			(*n)++;
		}
	}
	mfk_bug_jmp = NULL;
	return mfk_rep.kind;
}

/* Clears the report (after the Rust side has read it). */
MFK_API void mfk_clear_report(struct mfk_tree *t)
{
	memset(&t->rep, 0, sizeof(t->rep));
}

/* The one exported symbol; kernel/build.rs renames it per variant. */
struct mfk_vtable {
	uint32_t abi;
	struct mfk_tree *(*new_tree)(unsigned int flags);
	void (*free_handle)(struct mfk_tree *t);
	int (*apply)(struct mfk_tree *t, int op, uint64_t a, uint64_t b,
		     uint64_t c, uint64_t d, struct mfk_result *res);
	int (*report)(struct mfk_tree *t, char *what, size_t what_len,
		      char *log, size_t log_len);
	void (*clear_report)(struct mfk_tree *t);
	void (*counters)(struct mfk_tree *t, uint64_t out[5]);
	void (*set_faults)(struct mfk_tree *t, int sched, uint64_t arg);
	int (*read_node)(struct mfk_tree *t, uint64_t addr, uint64_t out[32]);
	uint64_t (*root)(const struct mfk_tree *t);
	unsigned int (*flags)(const struct mfk_tree *t);
	uint64_t (*tree_addr)(const struct mfk_tree *t);
	uint64_t (*held)(struct mfk_tree *t);
	int (*entries)(struct mfk_tree *t, uint64_t *out, size_t cap, size_t *n);
	void (*suspend_faults)(struct mfk_tree *t, int on);
};

__attribute__((visibility("default")))
const struct mfk_vtable mfk_vtable = {
	.abi = 6,
	.new_tree = mfk_new,
	.free_handle = mfk_free_handle,
	.apply = mfk_apply,
	.report = mfk_report,
	.clear_report = mfk_clear_report,
	.counters = mfk_counters,
	.set_faults = mfk_set_faults,
	.read_node = mfk_read_node,
	.root = mfk_root,
	.flags = mfk_flags,
	.tree_addr = mfk_tree_addr,
	.held = mfk_held,
	.entries = mfk_entries,
	.suspend_faults = mfk_suspend_faults,
};
