// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * maplefuzz kernel engine: the kernel's lib/maple_tree.c, compiled in
 * userspace, with our own stand-ins for what it needs from the kernel
 * around it (a node allocator with counters and a fault schedule, deferred
 * RCU callbacks, BUG/WARN reporting, printing), and a small flat API that
 * the Rust side calls over FFI (kernel/src/lib.rs).
 *
 * The file is compiled once per variant (pristine, fixed, planted bugs) by
 * kernel/build.rs; every symbol but the MFK_API ones is made local
 * afterwards, so several variants link into one binary.
 *
 * Nothing here may abort the process on a kernel BUG: a BUG or WARN is
 * recorded and reported to the Rust side, which turns it into a harness
 * divergence.
 */
#define CONFIG_DEBUG_MAPLE_TREE
#define CONFIG_MAPLE_SEARCH
/* CONFIG_64BIT and friends (written by build.rs); without it the kernel
 * headers silently pick the 32-bit node layout. */
#include <generated/autoconf.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Hooks the tools headers pick up instead of their defaults. */
static void mfk_dump_stack(void);
#define dump_stack() mfk_dump_stack()

#include "maple-shared.h"
#include <linux/maple_tree.h>
#include <linux/slab.h>

/* ---------------------------------------------------------------------- */
/* Reporting: BUG, WARN and printk go to the current handle's log.        */

#define MFK_LOG 4096
/* API functions are reached through the one exported table (mfk_vtable). */
#define MFK_API static

enum mfk_fail {
	MFK_OK = 0,
	MFK_BUG = 1,
	MFK_WARN = 2,
	MFK_BAD_FREE = 3,
};

struct mfk_report {
	int kind;              /* enum mfk_fail of the first problem */
	char what[512];        /* the first problem, one line */
	char log[MFK_LOG];     /* printk output before it */
	size_t log_len;
	int muted;             /* set after "BUG at"/"WARN at": skip the dump */
};

/* The handle in use on this thread: every API call sets it first. */
struct mfk_tree;
static __thread struct mfk_tree *mfk_cur;
static __thread jmp_buf *mfk_bug_jmp;   /* where a BUG unwinds to, if armed */
static struct mfk_report *mfk_rep_of(struct mfk_tree *t);
#define mfk_rep (*mfk_rep_of(mfk_cur))

static void mfk_note(int kind, const char *fmt, ...)
{
	va_list ap;

	if (mfk_rep.kind)
		return;
	mfk_rep.kind = kind;
	va_start(ap, fmt);
	vsnprintf(mfk_rep.what, sizeof(mfk_rep.what), fmt, ap);
	va_end(ap);
}

static int mfk_printk(const char *fmt, ...)
{
	va_list ap;
	size_t room = MFK_LOG - 1 - mfk_rep.log_len;
	int n;

	if (mfk_rep.muted || room == 0)
		return 0;
	va_start(ap, fmt);
	n = vsnprintf(mfk_rep.log + mfk_rep.log_len, room + 1, fmt, ap);
	va_end(ap);
	if (n < 0)
		return n;
	if (strncmp(mfk_rep.log + mfk_rep.log_len, "BUG at", 6) == 0 ||
	    strncmp(mfk_rep.log + mfk_rep.log_len, "WARN at", 7) == 0)
		mfk_rep.muted = 1;
	mfk_rep.log_len += (size_t)n < room ? (size_t)n : room;
	return n;
}

static void mfk_last_log_line(char *out, size_t len)
{
	/* The "BUG at func:line" line the debug macros print last. */
	const char *p = strstr(mfk_rep.log, "BUG at");

	if (!p)
		p = strstr(mfk_rep.log, "WARN at");
	if (!p) {
		snprintf(out, len, "kernel BUG");
		return;
	}
	snprintf(out, len, "%.*s", (int)strcspn(p, "\n"), p);
}

static void mfk_dump_stack(void)
{
	char line[256];

	mfk_last_log_line(line, sizeof(line));
	mfk_note(MFK_BUG, "%s", line);
	if (mfk_bug_jmp)
		longjmp(*mfk_bug_jmp, 1);
}

static void mfk_bug(const char *cond, const char *func, int line)
{
	mfk_note(MFK_BUG, "BUG_ON(%s) in %s() line %d", cond, func, line);
	if (mfk_bug_jmp)
		longjmp(*mfk_bug_jmp, 1);
	abort();
}

/*
 * The kernel carries on after a WARN, but the code after one usually
 * dereferences what the WARN found missing: unwind like a BUG.
 */
static void mfk_warn(const char *cond, const char *func, int line)
{
	mfk_note(MFK_WARN, "WARN_ON(%s) in %s() line %d", cond, func, line);
	if (mfk_bug_jmp)
		longjmp(*mfk_bug_jmp, 1);
}

#undef printk
#define printk mfk_printk
#undef BUG_ON
#define BUG_ON(c) do { if (c) mfk_bug(#c, __func__, __LINE__); } while (0)
#undef WARN_ON
#define WARN_ON(c) ({ int __w = !!(c); if (__w) mfk_warn(#c, __func__, __LINE__); __w; })
#undef WARN_ON_ONCE
#define WARN_ON_ONCE(c) WARN_ON(c)
#undef WARN
#define WARN(c, fmt...) WARN_ON(c)
#undef WARN_ONCE
#define WARN_ONCE(c, fmt...) WARN_ON(c)

/* ---------------------------------------------------------------------- */
/* RCU: no reader runs between operations, so callbacks queue during an   */
/* operation and run when it ends.                                        */

struct mfk_rcu_cb {
	struct rcu_head *head;
	void (*func)(struct rcu_head *);
};

struct mfk_rcu {
	struct mfk_rcu_cb *q;
	size_t len, cap;
};

static struct mfk_rcu *mfk_rcu_of(struct mfk_tree *t);
#define mfk_rcu_q (mfk_rcu_of(mfk_cur)->q)
#define mfk_rcu_len (mfk_rcu_of(mfk_cur)->len)
#define mfk_rcu_cap (mfk_rcu_of(mfk_cur)->cap)

static void mfk_call_rcu(struct rcu_head *head, void (*func)(struct rcu_head *))
{
	if (mfk_rcu_len == mfk_rcu_cap) {
		mfk_rcu_cap = mfk_rcu_cap ? 2 * mfk_rcu_cap : 256;
		mfk_rcu_q = realloc(mfk_rcu_q, mfk_rcu_cap * sizeof(*mfk_rcu_q));
		if (!mfk_rcu_q)
			abort();
	}
	mfk_rcu_q[mfk_rcu_len].head = head;
	mfk_rcu_q[mfk_rcu_len].func = func;
	mfk_rcu_len++;
}

static void mfk_rcu_flush(void)
{
	/* Callbacks may queue more callbacks. */
	for (size_t i = 0; i < mfk_rcu_len; i++)
		mfk_rcu_q[i].func(mfk_rcu_q[i].head);
	mfk_rcu_len = 0;
}

#undef call_rcu
#define call_rcu mfk_call_rcu
#undef rcu_read_lock
#define rcu_read_lock() do { } while (0)
#undef rcu_read_unlock
#define rcu_read_unlock() do { } while (0)

/* ---------------------------------------------------------------------- */
/* The node allocator: 256-byte nodes from chunks we own, so that any      */
/* address can be checked for being a live node before it is read.        */

#define MFK_NODE 256
_Static_assert(sizeof(struct maple_node) == MFK_NODE, "64-bit maple node layout");
#define MFK_CHUNK 1024
#define MFK_CHUNK_ALIGN (64 * 1024)

enum mfk_schedule { MFK_NEVER, MFK_NTH, MFK_NEXT, MFK_EVERY, MFK_FROM };

struct mfk_arena {
	unsigned char **chunks;
	size_t nchunks;
	uint8_t **state;        /* per node: 0 never used, 1 live, 2 free */
	uint64_t **epoch;       /* per node: the op that allocated it */
	uint32_t *free_list;    /* FIFO ring of free node numbers */
	size_t free_head, free_len, free_cap;
	uint64_t live, allocated, freed, failed;
	int sched;
	uint64_t sched_arg, seen;
	uint64_t op;            /* the current op's number */
	/* Between the unlock and the relock of mas_nomem(): a refill. */
	int in_refill, refill_calls;
	jmp_buf *refill_jmp;
};

static struct mfk_arena *mfk_arena_of(struct mfk_tree *t);
#define mfk_a (*mfk_arena_of(mfk_cur))

static int mfk_fails(uint64_t seen)
{
	switch (mfk_a.sched) {
	case MFK_NTH:
		return seen == mfk_a.sched_arg;
	case MFK_NEXT:
		return seen <= mfk_a.sched_arg;
	case MFK_EVERY:
		return mfk_a.sched_arg && seen % mfk_a.sched_arg == 0;
	case MFK_FROM:
		return seen >= mfk_a.sched_arg;
	default:
		return 0;
	}
}

static void *mfk_node_at(size_t n)
{
	return mfk_a.chunks[n / MFK_CHUNK] + (n % MFK_CHUNK) * MFK_NODE;
}

/* The node number of a pointer into our chunks, or -1. */
static long mfk_node_no(const void *p)
{
	uintptr_t a = (uintptr_t)p;

	for (size_t c = 0; c < mfk_a.nchunks; c++) {
		uintptr_t base = (uintptr_t)mfk_a.chunks[c];

		if (a >= base && a < base + (uintptr_t)MFK_CHUNK * MFK_NODE) {
			if ((a - base) % MFK_NODE)
				return -1;
			return (long)(c * MFK_CHUNK + (a - base) / MFK_NODE);
		}
	}
	return -1;
}

static uint8_t *mfk_state(size_t n)
{
	return &mfk_a.state[n / MFK_CHUNK][n % MFK_CHUNK];
}

static void mfk_grow(void)
{
	size_t c = mfk_a.nchunks;
	void *mem;

	mfk_a.chunks = realloc(mfk_a.chunks, (c + 1) * sizeof(*mfk_a.chunks));
	mfk_a.state = realloc(mfk_a.state, (c + 1) * sizeof(*mfk_a.state));
	mfk_a.epoch = realloc(mfk_a.epoch, (c + 1) * sizeof(*mfk_a.epoch));
	/*
	 * Chunks aligned to 64 KiB: a node pointer whose low 16 bits a bug
	 * clears (the RCU destroy walk's mt_clear_meta over a 16th child,
	 * finding 4) then names a node of the same chunk, chosen by node
	 * number alone, so such a bug shows the same way on every run
	 * whatever addresses the chunks get (with 256-byte alignment it hit
	 * unmapped memory on one run and someone's heap on the next).
	 */
	if (!mfk_a.chunks || !mfk_a.state || !mfk_a.epoch ||
	    posix_memalign(&mem, MFK_CHUNK_ALIGN, (size_t)MFK_CHUNK * MFK_NODE))
		abort();
	mfk_a.chunks[c] = mem;
	mfk_a.state[c] = calloc(MFK_CHUNK, 1);
	mfk_a.epoch[c] = calloc(MFK_CHUNK, sizeof(uint64_t));
	if (!mfk_a.state[c] || !mfk_a.epoch[c])
		abort();
	mfk_a.nchunks = c + 1;
	if (mfk_a.free_len + MFK_CHUNK > mfk_a.free_cap) {
		/* Re-pack the ring into a bigger one. */
		size_t cap = 2 * (mfk_a.free_cap + MFK_CHUNK);
		uint32_t *ring = malloc(cap * sizeof(uint32_t));

		if (!ring)
			abort();
		for (size_t i = 0; i < mfk_a.free_len; i++)
			ring[i] = mfk_a.free_list[(mfk_a.free_head + i) % mfk_a.free_cap];
		free(mfk_a.free_list);
		mfk_a.free_list = ring;
		mfk_a.free_cap = cap;
		mfk_a.free_head = 0;
	}
	for (size_t i = 0; i < MFK_CHUNK; i++) {
		size_t tail = (mfk_a.free_head + mfk_a.free_len) % mfk_a.free_cap;

		mfk_a.free_list[tail] = (uint32_t)(c * MFK_CHUNK + i);
		mfk_a.free_len++;
	}
}

/* One node allocation attempt, counted against the fault schedule. */
static void *mfk_alloc(void)
{
	size_t n;
	void *p;

	mfk_a.seen++;
	if (mfk_fails(mfk_a.seen)) {
		mfk_a.failed++;
		return NULL;
	}
	if (!mfk_a.free_len)
		mfk_grow();
	n = mfk_a.free_list[mfk_a.free_head];
	mfk_a.free_head = (mfk_a.free_head + 1) % mfk_a.free_cap;
	mfk_a.free_len--;
	p = mfk_node_at(n);
	memset(p, 0, MFK_NODE);
	*mfk_state(n) = 1;
	mfk_a.epoch[n / MFK_CHUNK][n % MFK_CHUNK] = mfk_a.op;
	mfk_a.live++;
	mfk_a.allocated++;
	return p;
}

/* Whether this kmem_cache call is the first of a mas_nomem() refill. */
static int mfk_refill_first_call(void)
{
	return mfk_a.in_refill && mfk_a.refill_calls++ == 0;
}

/*
 * The first kmem_cache call of a mas_nomem() refill failed, so the refill
 * gains nothing (mas_alloc_nodes() stops at its first failure). The Rust
 * port then ends the retries with ENOMEM, where the kernel, whose blocking
 * allocations never fail for good, would retry for ever if the state still
 * held nodes. Unwind to the op's wrapper, which answers ENOMEM as the port
 * does. The tree lock is not held here (mas_nomem() dropped it).
 */
static void mfk_refill_failed(void)
{
	if (mfk_a.refill_jmp)
		longjmp(*mfk_a.refill_jmp, 1);
}

static void mfk_free(void *p)
{
	long n = mfk_node_no(p);
	size_t tail;

	if (n < 0 || *mfk_state((size_t)n) != 1) {
		mfk_note(MFK_BAD_FREE, "kmem_cache_free(%p): %s", p,
			 n < 0 ? "not a node" : "node already free (double free)");
		return;
	}
	memset(p, 0x6b, MFK_NODE);
	*mfk_state((size_t)n) = 2;
	tail = (mfk_a.free_head + mfk_a.free_len) % mfk_a.free_cap;
	mfk_a.free_list[tail] = (uint32_t)n;
	mfk_a.free_len++;
	mfk_a.live--;
	mfk_a.freed++;
}

struct kmem_cache {
	unsigned int size;
};

static struct kmem_cache mfk_cache = { MFK_NODE };

struct kmem_cache *kmem_cache_create(const char *name, unsigned int size,
		unsigned int align, unsigned int flags, void (*ctor)(void *))
{
	(void)name; (void)align; (void)flags; (void)ctor;
	/* The port and this allocator both assume 256-byte nodes. */
	if (size != MFK_NODE)
		abort();
	return &mfk_cache;
}

void *kmem_cache_alloc_lru(struct kmem_cache *cachep, struct list_lru *lru, int gfp)
{
	int first = mfk_refill_first_call();
	void *p;

	(void)cachep; (void)lru; (void)gfp;
	p = mfk_alloc();
	if (!p && first)
		mfk_refill_failed();
	return p;
}

void kmem_cache_free(struct kmem_cache *cachep, void *objp)
{
	(void)cachep;
	mfk_free(objp);
}

void kmem_cache_free_bulk(struct kmem_cache *cachep, size_t size, void **list)
{
	(void)cachep;
	for (size_t i = 0; i < size; i++)
		mfk_free(list[i]);
}

/* All or nothing, each node one attempt, as the Rust port's allocator. */
int kmem_cache_alloc_bulk(struct kmem_cache *cachep, gfp_t gfp, size_t size, void **p)
{
	int first = mfk_refill_first_call();

	(void)cachep; (void)gfp;
	for (size_t i = 0; i < size; i++) {
		p[i] = mfk_alloc();
		if (!p[i]) {
			while (i--)
				mfk_free(p[i]);
			if (first)
				mfk_refill_failed();
			return 0;
		}
	}
	return (int)size;
}

/* Knobs of the kernel's userspace test allocator that maple_tree.c's test
 * helpers reference; this allocator has its own fault schedule instead. */
void kmem_cache_set_non_kernel(struct kmem_cache *c, unsigned int v) { (void)c; (void)v; }
void kmem_cache_set_callback(struct kmem_cache *c, void (*cb)(void *)) { (void)c; (void)cb; }
void kmem_cache_set_private(struct kmem_cache *c, void *p) { (void)c; (void)p; }
unsigned long kmem_cache_get_alloc(struct kmem_cache *c) { (void)c; return 0; }
unsigned int kmem_cache_nr_allocated(struct kmem_cache *c) { (void)c; return 0; }
unsigned int kmem_cache_nr_tallocated(struct kmem_cache *c) { (void)c; return 0; }
void kmem_cache_zero_nr_tallocated(struct kmem_cache *c) { (void)c; }

void *kmalloc(size_t size, gfp_t gfp)
{
	(void)gfp;
	return calloc(1, size);
}

void kfree(void *p)
{
	free(p);
}

/* The unlock and relock around mas_nomem()'s refill mark the refill. */
static void mfk_tree_unlock(struct maple_tree *mt)
{
	(void)mt;
	mfk_a.in_refill = 1;
	mfk_a.refill_calls = 0;
}

static void mfk_tree_lock(struct maple_tree *mt)
{
	(void)mt;
	mfk_a.in_refill = 0;
}

#undef mtree_lock
#define mtree_lock(mt) mfk_tree_lock(mt)
#undef mtree_unlock
#define mtree_unlock(mt) mfk_tree_unlock(mt)

/* Planted-bug and fix edits may call this (declared before the kernel code). */
static int mfk_tree_has_entry(struct maple_tree *mt) __attribute__((unused));

/* ---------------------------------------------------------------------- */

#include "lib/maple_tree.c"

/* ---------------------------------------------------------------------- */
/* The flat API.                                                          */

static int mfk_tree_has_entry(struct maple_tree *mt)
{
	unsigned long index = 0;

	return mt_find(mt, &index, ULONG_MAX) != NULL;
}

struct mfk_tree {
	struct maple_tree mt;
	struct ma_state mas;    /* the cursor */
	struct ma_state wmas;   /* the writer (preallocations) */
	int crashed;
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
	mfk_cur = t;
	mt_init_flags(&t->mt, flags);
	mas_init(&t->mas, &t->mt, 0);
	mas_init(&t->wmas, &t->mt, 0);
	return t;
}

/* Frees the handle and every node it still has (whatever the tree did). */
MFK_API void mfk_free_handle(struct mfk_tree *t)
{
	if (!t)
		return;
	for (size_t c = 0; c < t->arena.nchunks; c++) {
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
	return mas_allocated(&t->wmas);
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
};

struct mfk_result {
	int64_t ret;
	uint64_t entry, index, last;
	int32_t status;
	int32_t aborted;  /* 1: a fruitless refill ended the op with ENOMEM */
};

/* Frees what the op allocated that neither the tree nor the writer holds:
 * the pool of the kernel's own maple state after an unwound refill. */
static void mfk_mark_tree(struct mfk_tree *t, uint8_t *keep);

static void mfk_mark_pool(struct maple_alloc *a, uint8_t *keep, int depth)
{
	long n;

	if (!a || depth > 64)
		return;
	n = mfk_node_no(a);
	if (n < 0)
		return;
	keep[n] = 1;
	for (int i = 0; i < a->node_count && i < MAPLE_ALLOC_SLOTS; i++) {
		if (i == 0)
			mfk_mark_pool(a->slot[0], keep, depth + 1);
		else if (a->slot[i] && mfk_node_no(a->slot[i]) >= 0)
			keep[mfk_node_no(a->slot[i])] = 1;
	}
}

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
	if (t->wmas.alloc && !((unsigned long)t->wmas.alloc & 0x1))
		mfk_mark_pool(t->wmas.alloc, keep, 0);
}

static void mfk_free_orphans(struct mfk_tree *t)
{
	size_t total = mfk_a.nchunks * MFK_CHUNK;
	uint8_t *keep = calloc(total ? total : 1, 1);

	if (!keep)
		abort();
	mfk_mark_tree(t, keep);
	for (size_t n = 0; n < total; n++)
		if (*mfk_state(n) == 1 && !keep[n] &&
		    mfk_a.epoch[n / MFK_CHUNK][n % MFK_CHUNK] == mfk_a.op)
			mfk_free(mfk_node_at(n));
	free(keep);
}

static int32_t mfk_status(const struct ma_state *mas)
{
	return (int32_t)mas->status;
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
		res->status = mfk_status(&t->mas);
		break;
	case MFK_PAUSE:
		mas_pause(&t->mas);
		break;
	case MFK_SET:
		mas_set(&t->mas, a);
		break;
	case MFK_PREALLOC:
		mas_set_range(&t->wmas, a, b);
		res->ret = mas_preallocate(&t->wmas, (void *)(uintptr_t)c, GFP_KERNEL);
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
		res->ret = mas_expected_entries(&t->wmas, a);
		break;
	default:
		res->ret = -EINVAL;
		break;
	}
out:
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
MFK_API int mfk_entries(struct mfk_tree *t, uint64_t *out, size_t cap, size_t *n)
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
		MA_STATE(m, &t->mt, 0, 0);

		mas_for_each(&m, entry, ULONG_MAX) {
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
};

__attribute__((visibility("default")))
const struct mfk_vtable mfk_vtable = {
	.abi = 2,
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
};
