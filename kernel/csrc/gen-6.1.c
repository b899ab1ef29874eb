// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * maplefuzz kernel engine for the first maple tree generation, Linux 6.1
 * (the LTS line; 6.1 to 6.11 keep its userspace shims in
 * tools/testing/radix-tree): the kernel's lib/maple_tree.c compiled in
 * userspace, with our own stand-ins for what it needs from the kernel
 * around it (common.h) and the flat API the Rust side calls over FFI
 * (api.h).
 *
 * What differs from the 6.12 generation (gen-6.12.c):
 *  - the kernel headers come from tools/testing/radix-tree (its linux/
 *    folder wraps include/linux/maple_tree.h and supplies the lockdep,
 *    rcupdate and kernel.h stand-ins), not tools/testing/shared;
 *  - a maple state keeps its status in its node pointer: MAS_START,
 *    MAS_ROOT, MAS_NONE and MAS_PAUSE are small odd constants, an error is
 *    MA_ERROR(err); there is no `status` field, no ma_overflow and no
 *    ma_underflow (mfk_gen_status below maps them onto 6.12's numbers);
 *  - lib/maple_tree.c as shipped uses `fallthrough` without declaring it
 *    (its radix-tree build passes it on the command line): defined here.
 *
 * Node allocation is the same shape as 6.12's: mt_alloc_one() is
 * kmem_cache_alloc() (an inline over kmem_cache_alloc_lru() in
 * tools/include/linux/slab.h), mt_alloc_bulk() is kmem_cache_alloc_bulk(),
 * frees go through kmem_cache_free() / kmem_cache_free_bulk(), and RCU
 * frees through call_rcu() (common.h defers those to the op's end).
 *
 * The refill: 6.1's mas_nomem() is called when a write left the state at
 * MA_ERROR(-ENOMEM). For a tree with its own lock and a blocking gfp it
 * calls mtree_unlock(), then mas_alloc_nodes(), then mtree_lock();
 * mas_alloc_nodes() asks kmem_cache_alloc() for a head node first when the
 * state holds none (or its head is full), else goes straight to
 * kmem_cache_alloc_bulk(), and returns at its first failure. mas_nomem()
 * then answers "retry" whenever the state holds any node at all, so a
 * refill whose first call fails gains nothing, and the kernel (whose
 * blocking allocations never fail for good) would retry the write for
 * ever if the state still held nodes. The unlock/relock pair marks the
 * refill, and its first kmem_cache call failing unwinds the op as
 * common.h's contract asks (mfk_refill_failed). Unlike 6.12's, 6.1's
 * mas_nomem() also frees the state's nodes (mas_destroy) when there was no
 * error; that makes no kmem_cache allocation and needs no hook.
 *
 * The file is compiled once per variant (pristine, fixed, planted bugs) by
 * kernel/build.rs; every symbol but the vtable is made local afterwards,
 * so several variants and several kernel trees link into one binary.
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

/* 6.1's lib/maple_tree.c uses the kernel's `fallthrough` pseudo-keyword,
 * which the tools headers of that release do not define. */
#ifndef fallthrough
#define fallthrough __attribute__((__fallthrough__))
#endif

/* From tools/testing/radix-tree: its linux/maple_tree.h wraps the real one. */
#include <linux/kernel.h>
#include <linux/maple_tree.h>
#include <linux/slab.h>
#include <linux/lockdep.h>
#include <linux/rcupdate.h>

#include "common.h"

/* ---------------------------------------------------------------------- */
/* The allocation entry points of this generation.                        */

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

/* kmem_cache_alloc() is an inline over this one (tools/include/linux/slab.h). */
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

/* The radix-tree build's lockdep stand-in leaves this to the test program;
 * only lock assertions ask it, and the flat API holds no real lock. */
int lockdep_is_held(const void *lock)
{
	(void)lock;
	return 1;
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
/* What the flat API needs to know of this generation's maple state.      */

/* 6.1 has no mas_init(): a state as MA_STATE(name, mt, 0, 0) makes one. */
static void mfk_gen_init_state(struct ma_state *mas, struct maple_tree *mt)
{
	memset(mas, 0, sizeof(*mas));
	mas->tree = mt;
	mas->node = MAS_START;
	mas->max = ULONG_MAX;
}

static uint64_t mfk_gen_held(struct ma_state *mas)
{
	return mas_allocated(mas);
}

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

static void mfk_gen_mark_held(struct ma_state *mas, uint8_t *keep)
{
	/* An odd mas->alloc is a pending request count, not a node. */
	if (mas->alloc && !((unsigned long)mas->alloc & 0x1))
		mfk_mark_pool(mas->alloc, keep, 0);
}

/*
 * 6.1's state lives in mas->node; numbered here as 6.12's enum
 * maple_status (ma_active 0, ma_start 1, ma_root 2, ma_none 3, ma_pause 4,
 * ma_overflow 5, ma_underflow 6, ma_error 7). 6.1 has no overflow or
 * underflow state: where 6.12 reports one, 6.1's cursor is at MAS_NONE or
 * still on its node (active), and the engine reports that state as it is
 * (docs/kernel-engine.md, "Linux 6.1").
 */
static int32_t mfk_gen_status(const struct ma_state *mas)
{
	const struct maple_enode *n = mas->node;

	if (n == MAS_START)
		return 1;
	if (n == MAS_ROOT)
		return 2;
	if (n == MAS_NONE)
		return 3;
	if (n == MAS_PAUSE)
		return 4;
	if (xa_is_err(n))
		return 7;
	return 0;
}

static int mfk_gen_preallocate(struct ma_state *mas, void *entry)
{
	return mas_preallocate(mas, entry, GFP_KERNEL);
}

static int mfk_gen_expected_entries(struct ma_state *mas, unsigned long n)
{
	return mas_expected_entries(mas, n);
}

#include "api.h"
