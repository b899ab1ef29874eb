// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * maplefuzz kernel engine for the slab sheaves generations: Linux 6.18 and
 * 7.0 (generation "6.18": sheaves, the big node still in the write path)
 * and Linux 7.1 and later (generation "7.1": sheaves, writes through
 * struct maple_copy). Their allocation code is the same, so one file
 * builds both; build.rs names the generation from the tree's version.
 *
 * In this generation a maple state holds its preallocated nodes in a slab
 * sheaf (mas->sheaf: mt_get_sheaf() prefills one, mt_refill_sheaf() tops
 * it up, mas_pop_node() takes from it with kmem_cache_alloc_from_sheaf(),
 * mas_destroy() gives it back with kmem_cache_return_sheaf()), or, for a
 * write that needs one node, a single node from kmem_cache_alloc() in
 * mas->alloc. Nodes are freed by kfree(), kfree_rcu() (RCU mode) and
 * kmem_cache_free_bulk() (the destroy walks). Bulk mode is gone.
 *
 * Here every one of those entry points works on the node arena of
 * common.h, so that every node allocation is one counted attempt against
 * the fault schedule, and nodes sitting in a sheaf that a maple state holds
 * count as held (api.h's accounting), not leaked.
 *
 * The file is compiled once per variant by kernel/build.rs, as gen-6.12.c
 * is; see there.
 */
#define CONFIG_DEBUG_MAPLE_TREE
#define CONFIG_MAPLE_SEARCH
/* CONFIG_64BIT and friends (written by build.rs). */
#include <generated/autoconf.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
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

#include "common.h"

/* ---------------------------------------------------------------------- */
/* The allocation entry points of this generation.                        */

/* struct kmem_cache and struct slab_sheaf are the tools headers' own. */
static struct kmem_cache mfk_cache;

struct kmem_cache *__kmem_cache_create_args(const char *name, unsigned int size,
		struct kmem_cache_args *args, unsigned int flags)
{
	(void)name; (void)flags;
	/* The port and this allocator both assume 256-byte nodes. */
	if (size != MFK_NODE)
		abort();
	mfk_cache.size = size;
	mfk_cache.align = args ? args->align : 0;
	mfk_cache.sheaf_capacity = args ? args->sheaf_capacity : 0;
	return &mfk_cache;
}

/* Whether p points into the arena's chunks at all (a node or not). */
static int mfk_in_arena(const void *p)
{
	uintptr_t a = (uintptr_t)p;

	for (size_t c = 0; c < mfk_a.nchunks; c++) {
		uintptr_t base = (uintptr_t)mfk_a.chunks[c];

		if (a >= base && a < base + (uintptr_t)MFK_CHUNK * MFK_NODE)
			return 1;
	}
	return 0;
}

/* mt_alloc_one(): the single node of mas->alloc (and mt_dup's nodes). */
void *kmem_cache_alloc_lru(struct kmem_cache *cachep, struct list_lru *lru, int gfp)
{
	(void)cachep; (void)lru; (void)gfp;
	return mfk_alloc();
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
	(void)cachep; (void)gfp;
	for (size_t i = 0; i < size; i++) {
		p[i] = mfk_alloc();
		if (!p[i]) {
			while (i--)
				mfk_free(p[i]);
			return 0;
		}
	}
	return (int)size;
}

/*
 * A sheaf of exactly `size` nodes (room for at least the cache's sheaf
 * capacity), all or nothing: each node one attempt, and a failed attempt
 * gives back the nodes taken before it. The sheaf itself is bookkeeping
 * (malloc), not a node.
 */
struct slab_sheaf *kmem_cache_prefill_sheaf(struct kmem_cache *s, gfp_t gfp,
					    unsigned int size)
{
	unsigned int capacity = size > s->sheaf_capacity ? size : s->sheaf_capacity;
	struct slab_sheaf *sheaf;

	sheaf = calloc(1, sizeof(*sheaf) + sizeof(void *) * (capacity ? capacity : 1));
	if (!sheaf)
		abort();
	sheaf->cache = s;
	sheaf->capacity = capacity;
	if (size && kmem_cache_alloc_bulk(s, gfp, size, sheaf->objects) != (int)size) {
		free(sheaf);
		return NULL;
	}
	sheaf->size = size;
	return sheaf;
}

/* Frees what is left in the sheaf, then the sheaf. */
void kmem_cache_return_sheaf(struct kmem_cache *s, gfp_t gfp, struct slab_sheaf *sheaf)
{
	(void)gfp;
	if (!sheaf)
		return;
	kmem_cache_free_bulk(s, sheaf->size, sheaf->objects);
	free(sheaf);
}

/* Takes a node from the sheaf: no new allocation attempt. */
void *kmem_cache_alloc_from_sheaf(struct kmem_cache *s, gfp_t gfp, struct slab_sheaf *sheaf)
{
	(void)s; (void)gfp;
	if (!sheaf->size) {
		/*
		 * The kernel's slab would hand out a fresh object here (with a
		 * warning in debug builds); mas_pop_node() asking an empty
		 * sheaf means the write needed more nodes than were
		 * preallocated. Report it as that, for the preallocation check.
		 */
		mfk_note(MFK_BUG, "mas_pop_node(): kmem_cache_alloc_from_sheaf() on an empty "
			 "sheaf (the write needed more nodes than were preallocated)");
		if (mfk_bug_jmp)
			longjmp(*mfk_bug_jmp, 1);
		abort();
	}
	sheaf->size--;
	return sheaf->objects[sheaf->size];
}

/*
 * Tops the sheaf up to `size` nodes, all or nothing; past its capacity a
 * new sheaf of `size` nodes replaces it (the old one is returned), as the
 * slab does.
 *
 * A refill that fails inside mas_nomem() (between its unlock and relock)
 * is where this generation's kernel would retry for ever under a lasting
 * fault: the state keeps its sheaf, so mas_nomem() returns true and the
 * write asks again. The other refills of mas_nomem() end by themselves:
 * when kmem_cache_alloc() of the single node or kmem_cache_prefill_sheaf()
 * fails, mas_alloc_nodes() has already dropped mas->alloc and the state
 * has no sheaf, so mas_nomem() returns false and the op answers ENOMEM.
 * A failed refill here gains nothing (it is all or nothing), so, as the
 * Rust port ends the retries with ENOMEM (common.h, mfk_refill_failed()),
 * unwind to the op's wrapper. The state's sheaf is given back first: the
 * maple state that held it lives in the unwound frames (mas_nomem() only
 * runs on the internal states of the mtree_*() calls), and the wrapper's
 * orphan sweep would free its nodes but not the sheaf itself.
 */
int kmem_cache_refill_sheaf(struct kmem_cache *s, gfp_t gfp,
			    struct slab_sheaf **sheafp, unsigned int size)
{
	struct slab_sheaf *sheaf = *sheafp;
	unsigned int more;

	if (sheaf->size >= size)
		return 0;
	if (size > sheaf->capacity) {
		struct slab_sheaf *bigger = kmem_cache_prefill_sheaf(s, gfp, size);

		if (!bigger)
			goto failed;
		kmem_cache_return_sheaf(s, gfp, sheaf);
		*sheafp = bigger;
		return 0;
	}
	more = size - sheaf->size;
	if (kmem_cache_alloc_bulk(s, gfp, more, &sheaf->objects[sheaf->size]) != (int)more)
		goto failed;
	sheaf->size = size;
	return 0;

failed:
	if (mfk_a.in_refill && mfk_a.refill_jmp) {
		kmem_cache_return_sheaf(s, gfp, sheaf);
		*sheafp = NULL;
		mfk_refill_failed();
	}
	return -ENOMEM;
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
void kmem_cache_shrink(struct kmem_cache *c) { (void)c; }

void *kmalloc(size_t size, gfp_t gfp)
{
	(void)gfp;
	return calloc(1, size);
}

/*
 * kfree(): maple_tree.c frees nodes with it (mas->alloc, the destroy
 * walks). A pointer into the arena goes to the arena, which checks that it
 * names a live node (a wild or truncated node pointer is reported, not
 * passed to the C library); anything else came from kmalloc().
 */
void kfree(void *p)
{
	if (!p)
		return;
	if (mfk_in_arena(p))
		mfk_free(p);
	else
		free(p);
}

/* kfree_rcu(node, rcu): the node goes back to the arena when the op's
 * deferred RCU callbacks run (common.h). Only nodes are freed this way. */
static void mfk_kfree_rcu_cb(struct rcu_head *head)
{
	mfk_free(container_of(head, struct maple_node, rcu));
}

#undef kfree_rcu
#define kfree_rcu(ptr, field)							\
	do {									\
		_Static_assert(__builtin_types_compatible_p(typeof(*(ptr)),	\
				struct maple_node), "kfree_rcu of a maple node"); \
		mfk_call_rcu(&(ptr)->field, mfk_kfree_rcu_cb);			\
	} while (0)

/* ---------------------------------------------------------------------- */

#include "lib/maple_tree.c"

/* ---------------------------------------------------------------------- */
/* What the flat API needs to know of this generation's maple state.      */

/* The nodes in the state's sheaf and its single node. */
static uint64_t mfk_gen_held(struct ma_state *mas)
{
	return (mas->sheaf ? mas->sheaf->size : 0) + (mas->alloc ? 1 : 0);
}

static void mfk_keep(const void *p, uint8_t *keep)
{
	long n = p ? mfk_node_no(p) : -1;

	if (n >= 0)
		keep[n] = 1;
}

static void mfk_gen_mark_held(struct ma_state *mas, uint8_t *keep)
{
	if (mas->sheaf)
		for (unsigned int i = 0; i < mas->sheaf->size; i++)
			mfk_keep(mas->sheaf->objects[i], keep);
	mfk_keep(mas->alloc, keep);
}

/* Dropping a handle frees its arena whole; the writer's sheaf is ours. */
#define MFK_GEN_FORGET 1
static void mfk_gen_forget(struct ma_state *mas)
{
	free(mas->sheaf);
	mas->sheaf = NULL;
	mas->alloc = NULL;
}

/* enum maple_status is numbered as in 6.12 (unchanged in 6.18 and 7.1). */
static int32_t mfk_gen_status(const struct ma_state *mas)
{
	return (int32_t)mas->status;
}

/* A state whose node is set by hand. */
static void mfk_gen_set_active(struct ma_state *mas)
{
	mas->status = ma_active;
}

static int mfk_gen_preallocate(struct ma_state *mas, void *entry)
{
	return mas_preallocate(mas, entry, GFP_KERNEL);
}

/*
 * Bulk mode does not exist in this generation: "maple_tree: Drop bulk
 * insert support" (commit e3852a1213ffc, in the slab sheaves series of
 * 6.18) removed mas_expected_entries() and MA_STATE_BULK, once dup_mmap(),
 * their only user, had moved to __mt_dup(). The op is a no-op that
 * succeeds: a bulk load is then a run of in-order mas_store() calls on the
 * writer, each allocating what it needs (and giving back what it did not
 * use) like any mas_store(), and the mas_destroy() that ends it has no
 * deferred rebalance to run, so the contents are what the oracle expects.
 */
static int mfk_gen_expected_entries(struct ma_state *mas, unsigned long n)
{
	(void)mas; (void)n;
	return 0;
}

static void mfk_gen_init_state(struct ma_state *mas, struct maple_tree *mt)
{
	mas_init(mas, mt, 0);
}

#include "api.h"
