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

/* ---------------------------------------------------------------------- */
/* Readers mode: threads that read the tree while the writer runs ops.    */

/* What a reader did (struct mfk_obs.kind). */
enum mfk_rd_kind {
	MFK_RD_LOAD = 0,   /* mtree_load(key): value */
	MFK_RD_FIND = 1,   /* mt_find(&idx = key, ULONG_MAX): value, last */
	MFK_RD_WALK = 2,   /* mas_set(key); mas_walk(): value, index, last */
	MFK_RD_NEXT = 3,   /* mas_find(ULONG_MAX) after a walk or a step: the
			    * search began at key (the last range's end + 1) */
	MFK_RD_BUG = 4,    /* the kernel BUGged or WARNed in this reader */
};

/* One reader observation; the op ran inside one read-side section between
 * two reads of the writer's sequence number. */
struct mfk_obs {
	uint32_t kind;
	uint32_t thread;
	uint64_t key, value, index, last;
	uint64_t seq_before, seq_after;
};

/* The most observations one read-side section makes (a walk and steps). */
#define MFK_RD_STEPS 4

struct mfk_reader {
	struct mfk_tree *t;
	pthread_t th;
	uint32_t no;
	uint64_t rng;
	struct mfk_obs *log;
	size_t len, cap;
	uint64_t made, dropped, quiet_skipped;
	struct mfk_report rep;
};

struct mfk_readers {
	int running;
	int no_grace;             /* test-only: free without a grace period */
	uint32_t kinds;           /* the reads made: 1 << enum mfk_rd_kind */
	int stop;                 /* atomic */
	int ready;                /* atomic: readers registered with liburcu */
	uint64_t seq;             /* atomic: 2 per op, odd while one runs */
	uint32_t nthreads;
	struct mfk_reader *r;
	uint64_t *keys;
	size_t nkeys;
};

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
	struct mfk_readers rd;
};

static struct mfk_report *mfk_rep_of(struct mfk_tree *t) { return &t->rep; }
static struct mfk_rcu *mfk_rcu_of(struct mfk_tree *t) { return &t->rcu; }
static struct mfk_arena *mfk_arena_of(struct mfk_tree *t) { return &t->arena; }
static int mfk_readers_need_grace(struct mfk_tree *t)
{
	return t->rd.running && !t->rd.no_grace;
}
static void mfk_readers_stop(struct mfk_tree *t);
static void mfk_readers_free(struct mfk_tree *t);

/* The op has changed the tree all it will: the sequence number even. */
static void mfk_readers_op_done(struct mfk_tree *t)
{
	if (t->rd.running && (__atomic_load_n(&t->rd.seq, __ATOMIC_SEQ_CST) & 1))
		__atomic_fetch_add(&t->rd.seq, 1, __ATOMIC_SEQ_CST);
}

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
	mfk_readers_stop(t);
	mfk_readers_free(t);
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
	for (size_t c = 0; c < t->arena.seen_chunks; c++) {
		free(t->arena.seen_state[c]);
		free(t->arena.seen_bytes[c]);
	}
	free(t->arena.seen_state);
	free(t->arena.seen_bytes);
	free(t->arena.mark);
	free(t->arena.track);
	free(t->arena.born);
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

/* mfk_changed() for node n: whether it changed, noted; the new count. */
static size_t mfk_changed_one(size_t n, uint64_t *out, size_t cap, size_t count)
{
	size_t c = n / MFK_CHUNK, i = n % MFK_CHUNK;
	uint8_t now = *mfk_state(n), *was = &mfk_a.seen_state[c][i];
	unsigned char *copy = mfk_a.seen_bytes[c] + i * MFK_NODE;
	void *node = mfk_node_at(n);
	int changed;

	if (now == 1)
		changed = *was != 1 || memcmp(copy, node, MFK_NODE);
	else
		changed = *was == 1;
	if (!changed)
		return count;
	if (now == 1)
		memcpy(copy, node, MFK_NODE);
	*was = now;
	if (count < cap)
		out[count] = (uint64_t)(uintptr_t)node;
	return count + 1;
}

/*
 * The nodes that changed since the last call: allocated, freed, or with
 * other bytes (a live node is compared whole with the copy kept of it).
 * Their addresses go to out (at most cap of them); returns how many there
 * were. The first call names every live node. Only live nodes are read,
 * so under ASan a free node's poison is never touched. This is what the
 * copy-on-write check advances its image by and what the per-op
 * validation (mfk_validate_changed) checks: the shim cannot see the
 * stores lib/maple_tree.c makes, but it owns every node they go to.
 */
MFK_API size_t mfk_changed(struct mfk_tree *t, uint64_t *out, size_t cap)
{
	size_t count = 0;

	mfk_cur = t;
	if (mfk_a.seen_chunks < mfk_a.nchunks) {
		size_t c0 = mfk_a.seen_chunks, c1 = mfk_a.nchunks;

		mfk_a.seen_state = realloc(mfk_a.seen_state, c1 * sizeof(*mfk_a.seen_state));
		mfk_a.seen_bytes = realloc(mfk_a.seen_bytes, c1 * sizeof(*mfk_a.seen_bytes));
		if (!mfk_a.seen_state || !mfk_a.seen_bytes)
			abort();
		for (size_t c = c0; c < c1; c++) {
			mfk_a.seen_state[c] = calloc(MFK_CHUNK, 1);
			mfk_a.seen_bytes[c] = malloc((size_t)MFK_CHUNK * MFK_NODE);
			if (!mfk_a.seen_state[c] || !mfk_a.seen_bytes[c])
				abort();
		}
		mfk_a.seen_chunks = c1;
	}
	if (!mfk_a.tracking) {
		/* The first call: every node the arena has, once. */
		mfk_a.tracking = 1;
		for (size_t n = 0; n < mfk_a.nchunks * MFK_CHUNK; n++)
			if (*mfk_state(n) == 1)
				mfk_push(&mfk_a.born, &mfk_a.nborn, &mfk_a.born_cap, (uint32_t)n);
	}
	/*
	 * Only a node live at the last call, or allocated since, can have
	 * changed: the others were free then and are free now (a node is made
	 * live by mfk_alloc() alone, which notes it in born).
	 */
	for (int list = 0; list < 2; list++) {
		const uint32_t *a = list ? mfk_a.born : mfk_a.track;
		size_t len = list ? mfk_a.nborn : mfk_a.ntrack;

		for (size_t k = 0; k < len; k++)
			count = mfk_changed_one(a[k], out, cap, count);
	}
	/* The next call's list: the nodes live now, each once (bit 7 of the
	 * seen state marks one already listed, and is cleared after). */
	{
		size_t keep = 0;

		for (int list = 0; list < 2; list++) {
			uint32_t *a = list ? mfk_a.born : mfk_a.track;
			size_t len = list ? mfk_a.nborn : mfk_a.ntrack;

			for (size_t k = 0; k < len; k++) {
				uint32_t n = a[k];
				uint8_t *was = &mfk_a.seen_state[n / MFK_CHUNK][n % MFK_CHUNK];

				if (*was != 1)
					continue;
				*was |= 0x80;
				/* keep <= k while the track list is read: in place. */
				if (list == 0)
					mfk_a.track[keep++] = n;
				else
					mfk_push(&mfk_a.track, &keep, &mfk_a.track_cap, n);
			}
		}
		mfk_a.ntrack = keep;
		mfk_a.nborn = 0;
		for (size_t k = 0; k < keep; k++) {
			uint32_t n = mfk_a.track[k];

			mfk_a.seen_state[n / MFK_CHUNK][n % MFK_CHUNK] &= 0x7f;
		}
	}
	return count;
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
	MFK_RCU_HOLD, MFK_RCU_BARRIER, MFK_VALIDATE_CHANGED,
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
 * mt_validate()'s checks on one node and, below it, on the children mark
 * names: the node's parent slot, limits, child slots and (in an allocation
 * tree) gaps, by the kernel's own static validators, with the node's range
 * from the walk down, as mt_validate() has it from its depth-first walk.
 */
static void mfk_validate_marked(struct ma_state *mas, const uint8_t *mark)
{
	enum maple_type type = mte_node_type(mas->node);
	unsigned char end = mas_data_end(mas);
	void __rcu **slots;

	if (mte_dead_node(mas->node))
		MT_BUG_ON(mas->tree, 1);
	if (end < mt_min_slot_count(mas->node) && mas->max != ULONG_MAX) {
		pr_err("Invalid size %u of %p\n", end, mas_mn(mas));
		MT_BUG_ON(mas->tree, 1);
	}
	mas_validate_parent_slot(mas);
	mas_validate_limits(mas);
	mas_validate_child_slot(mas);
	if (mt_is_alloc(mas->tree))
		mas_validate_gaps(mas);
	if (ma_is_leaf(type))
		return;
	slots = ma_slots(mas_mn(mas), type);
	for (unsigned char off = 0; off <= end; off++) {
		struct maple_enode *child = mas_slot(mas, slots, off);
		long n = mfk_node_no(mte_to_node(child));
		struct ma_state sub;

		if (n < 0 || !mark[n])
			continue;
		sub = *mas;
		sub.offset = off;
		mas_descend(&sub);
		mfk_validate_marked(&sub, mark);
	}
}

/*
 * mt_validate()'s per-node checks on the nodes at the n addresses of
 * nodes[] (nodes mfk_changed() named) that are still in the tree, and on
 * every node on the way to them from the root: what the ops since the
 * last check wrote, at the cost of what they wrote. A node is marked with
 * its ancestors (by parent pointers, each checked to be a live node of
 * ours); the walk goes down from the root into marked children only, so a
 * marked node the tree does not reach (a leak, for the node accounting) is
 * not visited.
 */
static void mfk_validate_changed(struct mfk_tree *t, const uint64_t *nodes, size_t count)
{
	void *root = rcu_dereference_protected(t->mt.ma_root, 1);
	size_t total = mfk_a.nchunks * MFK_CHUNK;
	struct maple_enode *top;
	struct ma_state mas;
	uint8_t *mark;
	long n;

	if (!xa_is_node(root) || !count)
		return;
	if (mfk_a.mark_len < total) {
		free(mfk_a.mark);
		mfk_a.mark = calloc(total, 1);
		if (!mfk_a.mark)
			abort();
		mfk_a.mark_len = total;
	}
	mark = mfk_a.mark;
	for (size_t i = 0; i < count; i++) {
		n = mfk_node_no((void *)(uintptr_t)nodes[i]);
		while (n >= 0 && *mfk_state((size_t)n) == 1 && !mark[n]) {
			struct maple_node *node = mfk_node_at((size_t)n);

			mark[n] = 1;
			if (ma_is_root(node))
				break;
			n = mfk_node_no(mte_parent((struct maple_enode *)node));
		}
	}
	top = mte_safe_root(root);
	n = mfk_node_no(mte_to_node(top));
	if (n >= 0 && mark[n]) {
		mfk_gen_init_state(&mas, &t->mt);
		mas.node = top;
		mas.min = 0;
		mas.max = ULONG_MAX;
		mfk_gen_set_active(&mas);
		mfk_validate_marked(&mas, mark);
	}
	/* Unmarked for the next call, the same way (a BUG above leaves marks:
	 * the tree is then crashed and never validated again). */
	for (size_t i = 0; i < count; i++) {
		n = mfk_node_no((void *)(uintptr_t)nodes[i]);
		while (n >= 0 && mark[n]) {
			struct maple_node *node = mfk_node_at((size_t)n);

			mark[n] = 0;
			if (ma_is_root(node))
				break;
			n = mfk_node_no(mte_parent((struct maple_enode *)node));
		}
	}
}

/*
 * Runs one op. Returns 0, or the report kind when the kernel hit a BUG
 * (the handle is then marked crashed and refuses further ops).
 */
static int mfk_apply_op(struct mfk_tree *t, int op, uint64_t a, uint64_t b,
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
	case MFK_VALIDATE_CHANGED:
		/* a: the address of an array of b node addresses. */
		mfk_validate_changed(t, (const uint64_t *)(uintptr_t)a, (size_t)b);
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
	/* The tree is as the op leaves it: the sequence number is even
	 * again before the wait for readers (see mfk_apply). */
	mfk_readers_op_done(t);
	if (!t->hold_rcu || op == MFK_RCU_BARRIER)
		mfk_rcu_flush();
	mfk_bug_jmp = NULL;
	mfk_a.refill_jmp = NULL;
	mfk_a.in_refill = 0;
	return mfk_rep.kind;
}

/*
 * In readers mode the op runs between two steps of the sequence number:
 * odd while it may change the tree, even again once the tree is as the op
 * leaves it (mfk_readers_op_done(), before the wait for a grace period and
 * the callbacks, which change nothing a reader can see; here if a BUG
 * unwound the op).
 */
MFK_API int mfk_apply(struct mfk_tree *t, int op, uint64_t a, uint64_t b,
		      uint64_t c, uint64_t d, struct mfk_result *res)
{
	int ret;

	if (!t->rd.running)
		return mfk_apply_op(t, op, a, b, c, d, res);
	__atomic_fetch_add(&t->rd.seq, 1, __ATOMIC_SEQ_CST);
	ret = mfk_apply_op(t, op, a, b, c, d, res);
	mfk_readers_op_done(t);
	/* A tree that left RCU mode (6.1's destroy clears the flag) is no
	 * longer safe to read locklessly: the readers stop here, before the
	 * next op may change nodes in place. */
	if (!(t->mt.ma_flags & MT_FLAGS_USE_RCU))
		mfk_readers_stop(t);
	return ret;
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

/* ---------------------------------------------------------------------- */
/* Readers mode.                                                          */
/*
 * mfk_readers_start() starts threads that, until mfk_readers_stop(), read
 * the tree (RCU mode only) with the kernel's lockless read API while the
 * caller's thread, the only writer, keeps running ops through mfk_apply().
 * Each read is one read-side section (liburcu memb flavour) between two
 * reads of the writer's sequence number; the Rust side checks each
 * observation against the states the tree went through in that window.
 * Readers never allocate nodes, and each has its own report, so that the
 * writer's state and its node arena stay the writer's.
 */

static uint64_t mfk_rd_rand(struct mfk_reader *r)
{
	/* xorshift64* */
	r->rng ^= r->rng >> 12;
	r->rng ^= r->rng << 25;
	r->rng ^= r->rng >> 27;
	return r->rng * 0x2545F4914F6CDD1DULL;
}

/*
 * Logs observations; a full log keeps a uniform sample of all made so far
 * (reservoir sampling), so that a long program's late ops are checked too.
 */
static void mfk_rd_log(struct mfk_reader *r, const struct mfk_obs *o, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		size_t at = r->len;

		r->made++;
		if (r->len == r->cap) {
			uint64_t j = mfk_rd_rand(r) % r->made;

			r->dropped++;
			if (j >= r->cap)
				continue;
			at = (size_t)j;
		} else {
			r->len++;
		}
		r->log[at] = o[i];
		r->log[at].thread = r->no;
	}
}

/* One read-side section's op on `key`: observations into o[], how many. */
static size_t mfk_rd_op(struct mfk_reader *r, uint64_t key, struct mfk_obs *o)
{
	struct mfk_tree *t = r->t;
	uint32_t kinds = t->rd.kinds & ((1u << MFK_RD_LOAD) | (1u << MFK_RD_FIND) |
					 (1u << MFK_RD_WALK));
	unsigned int pick;
	size_t n = 0;

	/* A random read of those asked for (a walk when only steps are). */
	if (!kinds)
		kinds = 1u << MFK_RD_WALK;
	do
		pick = (unsigned int)(mfk_rd_rand(r) % 3);
	while (!(kinds & (1u << pick)));
	memset(o, 0, MFK_RD_STEPS * sizeof(*o));
	switch (pick) {
	case MFK_RD_LOAD: /* mtree_load() takes its own read lock: it nests */
		o[0].kind = MFK_RD_LOAD;
		o[0].key = key;
		o[0].value = (uint64_t)(uintptr_t)mtree_load(&t->mt, key);
		o[0].index = o[0].last = key;
		return 1;
	case MFK_RD_FIND: {
		unsigned long idx = key;
		void *e = mt_find(&t->mt, &idx, ULONG_MAX);

		o[0].kind = MFK_RD_FIND;
		o[0].key = key;
		o[0].value = (uint64_t)(uintptr_t)e;
		/* The index the entry starts at is not returned; its end is
		 * the index mt_find() moved to, less one. */
		o[0].index = key;
		o[0].last = e ? (uint64_t)idx - 1 : 0;
		return 1;
	}
	default: {
		MA_STATE(mas, &t->mt, key, key);
		int steps = (t->rd.kinds & (1u << MFK_RD_NEXT)) ?
			(int)(mfk_rd_rand(r) % MFK_RD_STEPS) : 0;
		void *e = mas_walk(&mas);

		o[n].kind = MFK_RD_WALK;
		o[n].key = key;
		o[n].value = (uint64_t)(uintptr_t)e;
		o[n].index = mas.index;
		o[n].last = mas.last;
		n++;
		while (steps-- > 0 && mfk_gen_status(&mas) == 0 && mas.last != ULONG_MAX) {
			uint64_t from = (uint64_t)mas.last + 1;

			e = mas_find(&mas, ULONG_MAX);
			o[n].kind = MFK_RD_NEXT;
			o[n].key = from;
			o[n].value = (uint64_t)(uintptr_t)e;
			o[n].index = e ? mas.index : 0;
			o[n].last = e ? mas.last : 0;
			n++;
			if (!e)
				break;
		}
		return n;
	}
	}
}

static void *mfk_reader_main(void *arg)
{
	struct mfk_reader *r = arg;
	struct mfk_tree *t = r->t;
	jmp_buf bug_jmp;
	struct mfk_obs o[MFK_RD_STEPS];

	mfk_cur = t;
	mfk_rep_thread = &r->rep;
	mfk_reader_thread = 1;
	urcu_memb_register_thread();
	__atomic_fetch_add(&t->rd.ready, 1, __ATOMIC_SEQ_CST);
	mfk_bug_jmp = &bug_jmp;
	if (setjmp(bug_jmp)) {
		/* The kernel BUGged or WARNed in this reader: leave the
		 * read-side sections the unwinding skipped, say so, stop. */
		while (mfk_rcu_depth > 0)
			mfk_rcu_read_unlock();
		memset(o, 0, sizeof(o));
		o[0].kind = MFK_RD_BUG;
		o[0].seq_before = o[0].seq_after =
			__atomic_load_n(&t->rd.seq, __ATOMIC_SEQ_CST);
		mfk_rd_log(r, o, 1);
		goto out;
	}
	while (!__atomic_load_n(&t->rd.stop, __ATOMIC_ACQUIRE)) {
		uint64_t key = t->rd.keys[mfk_rd_rand(r) % t->rd.nkeys];
		uint64_t before, after;
		size_t n;

		before = __atomic_load_n(&t->rd.seq, __ATOMIC_ACQUIRE);
		rcu_read_lock();
		n = mfk_rd_op(r, key, o);
		rcu_read_unlock();
		/* The tree's words read above come before the second read of
		 * the sequence number (a seqlock reader's smp_rmb()). */
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
		after = __atomic_load_n(&t->rd.seq, __ATOMIC_RELAXED);
		/* Reads while the writer is idle are many and alike: keep one
		 * in 64 of them, and every read that overlaps an op. */
		if (before == after && !(before & 1) && mfk_rd_rand(r) % 64) {
			r->quiet_skipped += n;
			continue;
		}
		for (size_t i = 0; i < n; i++) {
			o[i].seq_before = before;
			o[i].seq_after = after;
		}
		mfk_rd_log(r, o, n);
	}
out:
	mfk_bug_jmp = NULL;
	urcu_memb_unregister_thread();
	return NULL;
}

static void mfk_readers_free(struct mfk_tree *t)
{
	for (uint32_t i = 0; t->rd.r && i < t->rd.nthreads; i++)
		free(t->rd.r[i].log);
	free(t->rd.r);
	free(t->rd.keys);
	t->rd.r = NULL;
	t->rd.keys = NULL;
	t->rd.nthreads = 0;
	t->rd.nkeys = 0;
}

/*
 * Starts `nthreads` readers over `keys`, each logging at most `cap`
 * observations; returns 0, or -EINVAL (a tree not in RCU mode, no keys, no
 * threads, readers already running), -ENOMEM, or -EAGAIN (a thread could
 * not start). `flags` bit 0: the test-only planted bug, the writer frees
 * replaced nodes without waiting for a grace period; bits 8 to 11: the
 * reads made, 1 << enum mfk_rd_kind each (none: every kind). Observations
 * of an earlier start not yet drained are dropped.
 */
MFK_API int mfk_readers_start(struct mfk_tree *t, uint32_t nthreads, const uint64_t *keys,
			      size_t nkeys, uint64_t seed, size_t cap, uint32_t flags)
{
	uint32_t started = 0;

	if (t->rd.running || !nthreads || !nkeys || !cap || t->crashed ||
	    !(t->mt.ma_flags & MT_FLAGS_USE_RCU))
		return -EINVAL;
	mfk_readers_free(t);
	t->rd.keys = malloc(nkeys * sizeof(*keys));
	t->rd.r = calloc(nthreads, sizeof(*t->rd.r));
	if (!t->rd.keys || !t->rd.r) {
		mfk_readers_free(t);
		return -ENOMEM;
	}
	memcpy(t->rd.keys, keys, nkeys * sizeof(*keys));
	t->rd.nkeys = nkeys;
	t->rd.nthreads = nthreads;
	for (uint32_t i = 0; i < nthreads; i++) {
		struct mfk_reader *r = &t->rd.r[i];

		r->t = t;
		r->no = i;
		r->rng = (seed ^ (0x9E3779B97F4A7C15ULL * (i + 1))) | 1;
		r->cap = cap;
		r->log = malloc(cap * sizeof(*r->log));
		if (!r->log) {
			mfk_readers_free(t);
			return -ENOMEM;
		}
	}
	t->rd.no_grace = flags & 1;
	t->rd.kinds = (flags >> 8) & 0xf;
	if (!t->rd.kinds)
		t->rd.kinds = 0xf;
	__atomic_store_n(&t->rd.stop, 0, __ATOMIC_SEQ_CST);
	__atomic_store_n(&t->rd.ready, 0, __ATOMIC_SEQ_CST);
	t->rd.running = 1;
	for (; started < nthreads; started++)
		if (pthread_create(&t->rd.r[started].th, NULL, mfk_reader_main,
				   &t->rd.r[started]))
			break;
	if (started < nthreads) {
		__atomic_store_n(&t->rd.stop, 1, __ATOMIC_SEQ_CST);
		for (uint32_t i = 0; i < started; i++)
			pthread_join(t->rd.r[i].th, NULL);
		t->rd.running = 0;
		mfk_readers_free(t);
		return -EAGAIN;
	}
	/* Every reader is reading before the first op. */
	while (__atomic_load_n(&t->rd.ready, __ATOMIC_SEQ_CST) < (int)nthreads)
		sched_yield();
	return 0;
}

/* Stops and joins the readers (nothing if none run); their logs stay for
 * mfk_readers_drain(). */
static void mfk_readers_stop(struct mfk_tree *t)
{
	if (!t->rd.running)
		return;
	__atomic_store_n(&t->rd.stop, 1, __ATOMIC_SEQ_CST);
	for (uint32_t i = 0; i < t->rd.nthreads; i++)
		pthread_join(t->rd.r[i].th, NULL);
	t->rd.running = 0;
	t->rd.no_grace = 0;
}

/*
 * The stopped readers' observations into out[cap], thread by thread;
 * returns how many there are (call again with a larger cap if more than
 * cap). stats: observations made, logged, dropped (a full log), skipped
 * (quiet ones not logged), the sequence number, and the first reader
 * BUG/WARN kind (0 if none), whose text goes to what[what_len].
 */
MFK_API size_t mfk_readers_drain(struct mfk_tree *t, struct mfk_obs *out, size_t cap,
				 uint64_t stats[6], char *what, size_t what_len)
{
	size_t total = 0;

	memset(stats, 0, 6 * sizeof(uint64_t));
	if (what_len)
		what[0] = 0;
	if (t->rd.running)
		return 0;
	for (uint32_t i = 0; i < t->rd.nthreads; i++) {
		struct mfk_reader *r = &t->rd.r[i];

		for (size_t j = 0; j < r->len; j++, total++)
			if (total < cap)
				out[total] = r->log[j];
		stats[0] += r->made;
		stats[1] += r->len;
		stats[2] += r->dropped;
		stats[3] += r->quiet_skipped;
		if (r->rep.kind && !stats[5]) {
			stats[5] = (uint64_t)r->rep.kind;
			if (what_len)
				snprintf(what, what_len, "%s", r->rep.what);
		}
	}
	stats[4] = __atomic_load_n(&t->rd.seq, __ATOMIC_SEQ_CST);
	return total;
}

/* The writer's sequence number (2 per op run since the handle was made,
 * in readers mode; odd while an op runs). */
MFK_API uint64_t mfk_readers_seq(struct mfk_tree *t)
{
	return __atomic_load_n(&t->rd.seq, __ATOMIC_SEQ_CST);
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
	int (*readers_start)(struct mfk_tree *t, uint32_t nthreads, const uint64_t *keys,
			     size_t nkeys, uint64_t seed, size_t cap, uint32_t flags);
	void (*readers_stop)(struct mfk_tree *t);
	size_t (*readers_drain)(struct mfk_tree *t, struct mfk_obs *out, size_t cap,
				uint64_t stats[6], char *what, size_t what_len);
	uint64_t (*readers_seq)(struct mfk_tree *t);
	size_t (*changed)(struct mfk_tree *t, uint64_t *out, size_t cap);
};

__attribute__((visibility("default")))
const struct mfk_vtable mfk_vtable = {
	.abi = 8,
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
	.readers_start = mfk_readers_start,
	.readers_stop = mfk_readers_stop,
	.readers_drain = mfk_readers_drain,
	.readers_seq = mfk_readers_seq,
	.changed = mfk_changed,
};
