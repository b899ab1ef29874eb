// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * maplefuzz kernel engine, the part every kernel generation shares:
 * BUG/WARN/printk reporting, deferred RCU callbacks and read-side sections
 * (liburcu's memb flavour, for readers mode), and the node arena
 * (256-byte nodes from chunks we own, counted, with a fault schedule).
 *
 * Included by each generation's gen-*.c after the kernel headers and
 * before lib/maple_tree.c; it also marks mas_nomem()'s refills through
 * the tree lock, which every generation drops to refill. The generation
 * file then maps its kernel's allocation entry points (kmem_cache_alloc
 * and the bulk calls: maple_alloc.h; or the slab sheaf calls, kfree and
 * kfree_rcu) onto mfk_alloc() and mfk_free().
 */

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <urcu/urcu-memb.h>

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
/* A reader thread's own report (readers mode, api.h): the handle's belongs
 * to the writer. NULL on the writer's thread. */
static __thread struct mfk_report *mfk_rep_thread;
#define mfk_rep (*(mfk_rep_thread ? mfk_rep_thread : mfk_rep_of(mfk_cur)))

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
/* RCU: callbacks queue during an operation and run when it ends. Outside  */
/* readers mode no reader runs between operations, so they run at once; in */
/* readers mode (api.h) the writer first waits for a grace period.        */

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

/*
 * Whether reader threads may hold nodes of the current handle, so that
 * queued callbacks must wait for a grace period (api.h: 1 in readers mode,
 * 0 also in readers mode when the test-only "no grace period" knob is on).
 */
static int mfk_readers_need_grace(struct mfk_tree *t);

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
	/*
	 * Readers that started before the op may still hold the nodes it
	 * replaced: wait until every read-side section in progress now has
	 * ended (liburcu's memb flavour; the writer is not a registered
	 * reader, so it may wait).
	 */
	if (mfk_rcu_len && mfk_readers_need_grace(mfk_cur))
		urcu_memb_synchronize_rcu();
	/* Callbacks may queue more callbacks. */
	for (size_t i = 0; i < mfk_rcu_len; i++)
		mfk_rcu_q[i].func(mfk_rcu_q[i].head);
	mfk_rcu_len = 0;
}

/*
 * Read-side sections are real only on reader threads: the writer is the
 * only thread that changes the tree, so its own reads need none (and it
 * must not be inside one when it waits for a grace period). The depth is
 * kept so that a reader unwound by a BUG can leave its sections.
 */
static __thread int mfk_reader_thread;
static __thread int mfk_rcu_depth;

static inline void mfk_rcu_read_lock(void)
{
	if (mfk_reader_thread) {
		mfk_rcu_depth++;
		urcu_memb_read_lock();
	}
}

static inline void mfk_rcu_read_unlock(void)
{
	if (mfk_reader_thread) {
		urcu_memb_read_unlock();
		mfk_rcu_depth--;
	}
}

#undef call_rcu
#define call_rcu mfk_call_rcu
#undef rcu_read_lock
#define rcu_read_lock() mfk_rcu_read_lock()
#undef rcu_read_unlock
#define rcu_read_unlock() mfk_rcu_read_unlock()

/* ---------------------------------------------------------------------- */
/* The node allocator: 256-byte nodes from chunks we own, so that any      */
/* address can be checked for being a live node before it is read.        */

#define MFK_NODE 256
_Static_assert(sizeof(struct maple_node) == MFK_NODE, "64-bit maple node layout");
#define MFK_CHUNK 1024

/*
 * Under AddressSanitizer (MAPLEFUZZ_KERNEL_SANITIZE=address, see
 * kernel/build.rs) every node is followed by a poisoned redzone of its own
 * size, and a free node is poisoned whole: a read past a node's end or of a
 * freed node is reported by ASan, where in the packed arena it would read
 * the neighbouring node. Otherwise nodes are packed.
 */
#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
#define MFK_STRIDE (2 * MFK_NODE)
#define mfk_poison(p, n) ASAN_POISON_MEMORY_REGION(p, n)
#define mfk_unpoison(p, n) ASAN_UNPOISON_MEMORY_REGION(p, n)
/*
 * An ASan report ends the process by exit(); abort() instead, so that the
 * engine's fatal-signal handler writes the program in flight to disk and a
 * parent sees the signal.
 */
static void mfk_asan_death(void)
{
	abort();
}
#define mfk_sanitizer_init() __asan_set_death_callback(mfk_asan_death)
#else
#define mfk_sanitizer_init() do { } while (0)
#define MFK_STRIDE MFK_NODE
#define mfk_poison(p, n) do { (void)(p); (void)(n); } while (0)
#define mfk_unpoison(p, n) do { (void)(p); (void)(n); } while (0)
#endif
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
	int suspended;          /* faults off, attempts not counted */
	uint64_t op;            /* the current op's number */
	/* Between the unlock and the relock of mas_nomem(): a refill. */
	int in_refill, refill_calls;
	jmp_buf *refill_jmp;
	/*
	 * What mfk_changed() saw last, per node: its state and, for a live
	 * node, its bytes (allocated per chunk on the first call).
	 */
	uint8_t **seen_state;
	unsigned char **seen_bytes;
	size_t seen_chunks;
	/*
	 * Once mfk_changed() has been called: the nodes live at its last call
	 * (track) and those allocated since (born), so that a call looks at
	 * those only, not at every node the arena ever had.
	 */
	int tracking;
	uint32_t *track, *born;
	size_t ntrack, track_cap, nborn, born_cap;
	/* mfk_validate_changed()'s marks, one per node, all 0 between calls. */
	uint8_t *mark;
	size_t mark_len;
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
	return mfk_a.chunks[n / MFK_CHUNK] + (n % MFK_CHUNK) * MFK_STRIDE;
}

/* The node number of a pointer into our chunks, or -1. */
static long mfk_node_no(const void *p)
{
	uintptr_t a = (uintptr_t)p;

	for (size_t c = 0; c < mfk_a.nchunks; c++) {
		uintptr_t base = (uintptr_t)mfk_a.chunks[c];

		if (a >= base && a < base + (uintptr_t)MFK_CHUNK * MFK_STRIDE) {
			if ((a - base) % MFK_STRIDE)
				return -1;
			return (long)(c * MFK_CHUNK + (a - base) / MFK_STRIDE);
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
	    posix_memalign(&mem, MFK_CHUNK_ALIGN, (size_t)MFK_CHUNK * MFK_STRIDE))
		abort();
	/* Nothing in a fresh chunk is a live node yet. */
	mfk_poison(mem, (size_t)MFK_CHUNK * MFK_STRIDE);
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

/* Appends v to the growing array *a (*n used, *cap room). */
static void mfk_push(uint32_t **a, size_t *n, size_t *cap, uint32_t v)
{
	if (*n == *cap) {
		*cap = 2 * *cap + 256;
		*a = realloc(*a, *cap * sizeof(**a));
		if (!*a)
			abort();
	}
	(*a)[(*n)++] = v;
}

/* One node allocation attempt, counted against the fault schedule. */
static void *mfk_alloc(void)
{
	size_t n;
	void *p;

	if (!mfk_a.suspended) {
		mfk_a.seen++;
		if (mfk_fails(mfk_a.seen)) {
			mfk_a.failed++;
			return NULL;
		}
	}
	if (!mfk_a.free_len)
		mfk_grow();
	n = mfk_a.free_list[mfk_a.free_head];
	mfk_a.free_head = (mfk_a.free_head + 1) % mfk_a.free_cap;
	mfk_a.free_len--;
	p = mfk_node_at(n);
	mfk_unpoison(p, MFK_NODE);
	memset(p, 0, MFK_NODE);
	*mfk_state(n) = 1;
	if (mfk_a.tracking)
		mfk_push(&mfk_a.born, &mfk_a.nborn, &mfk_a.born_cap, (uint32_t)n);
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
	mfk_poison(p, MFK_NODE);
	*mfk_state((size_t)n) = 2;
	tail = (mfk_a.free_head + mfk_a.free_len) % mfk_a.free_cap;
	mfk_a.free_list[tail] = (uint32_t)n;
	mfk_a.free_len++;
	mfk_a.live--;
	mfk_a.freed++;
}

/* ---------------------------------------------------------------------- */
/* The tree lock: every generation's mas_nomem() drops it to refill.     */

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
