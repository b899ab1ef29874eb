// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * maplefuzz kernel engine for the maple_alloc generation, Linux 6.12 to
 * 6.17: the kernel's lib/maple_tree.c compiled in userspace, with our own
 * stand-ins for what it needs from the kernel around it (common.h) and
 * the flat API the Rust side calls over FFI (api.h).
 *
 * In this generation a maple state holds its preallocated nodes in a
 * chain of struct maple_alloc (mas->alloc), filled by kmem_cache_alloc_lru
 * and kmem_cache_alloc_bulk, and nodes are freed by kmem_cache_free(_bulk)
 * (through call_rcu in RCU mode).
 *
 * The file is compiled once per variant (pristine, fixed, planted bugs) by
 * kernel/build.rs; every symbol but the vtable is made local afterwards,
 * so several variants and several kernel trees link into one binary.
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

/* What the flat API needs to know of this generation's maple state. */

static void mfk_gen_init_state(struct ma_state *mas, struct maple_tree *mt)
{
	mas_init(mas, mt, 0);
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
	if (mas->alloc && !((unsigned long)mas->alloc & 0x1))
		mfk_mark_pool(mas->alloc, keep, 0);
}

static int32_t mfk_gen_status(const struct ma_state *mas)
{
	return (int32_t)mas->status;
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
