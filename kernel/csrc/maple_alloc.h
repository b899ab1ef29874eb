// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * maplefuzz kernel engine: the node allocator of the maple_alloc
 * generations (Linux 6.1 and 6.12 to 6.17), on the arena of common.h.
 * A maple state keeps its preallocated nodes in a chain of struct
 * maple_alloc (mas->alloc), filled by kmem_cache_alloc_lru() and
 * kmem_cache_alloc_bulk(); nodes go back by kmem_cache_free(_bulk).
 *
 * Included by gen-6.1.c and gen-6.12.c after common.h and before
 * lib/maple_tree.c; maple_alloc_state.h is its other half, after it.
 */

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
