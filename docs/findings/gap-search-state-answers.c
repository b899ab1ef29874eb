// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * maplefuzz: the kernel's answers for findings 10 and 11
 * (docs/findings/prev-after-gap-search.md, resumed-gap-search.md). Build in
 * tools/testing/radix-tree of 6.12 or later, after `make maple` (for its
 * objects):
 *   cc -I../shared -I. -I../../include -I../../arch/x86/include -I../../../lib \
 *      -g -Og -Wall -D_LGPL_SOURCE -fsanitize=address,undefined \
 *      -c gap-search-state-answers.c
 *   cc -fsanitize=address,undefined gap-search-state-answers.o xarray-shared.o \
 *      radix-tree.o idr.o linux.o slab.o find_bit.o bitmap.o hweight.o \
 *      vsprintf.o -lpthread -lurcu -o answers
 * and run ./answers: it prints each case's answers (the last one, unfixed,
 * ends in AddressSanitizer's report of the read past the node).
 */
#include "test.h"
#include "../shared/maple-shim.c"

static void report_prev(void)
{
	DEFINE_MTREE(mt);
	MA_STATE(mas, &mt, 0, 0);
	void *entry;
	int ret;

	mt_init_flags(&mt, MT_FLAGS_ALLOC_RANGE);
	mtree_store_range(&mt, 0x10, 0x1f, xa_mk_value(1), GFP_KERNEL);
	rcu_read_lock();
	ret = mas_empty_area(&mas, 0x22, ULONG_MAX, 4);
	printf("prev: empty_area ret %d [%#lx, %#lx]\n", ret, mas.index, mas.last);
	entry = mas_prev(&mas, 0);
	printf("prev: mas_prev %p [%#lx, %#lx] (expected %p [0x10, 0x1f])\n",
	       entry, mas.index, mas.last, xa_mk_value(1));
	mas_reset(&mas);
	ret = mas_empty_area_rev(&mas, 0, ULONG_MAX, 1);
	printf("prev: empty_area_rev ret %d [%#lx, %#lx]\n", ret, mas.index, mas.last);
	entry = mas_prev(&mas, 0);
	printf("prev: mas_prev %p [%#lx, %#lx] (expected %p [0x10, 0x1f])\n",
	       entry, mas.index, mas.last, xa_mk_value(1));
	rcu_read_unlock();
	mtree_destroy(&mt);
}

static void report_fwd(void)
{
	DEFINE_MTREE(mt);
	MA_STATE(mas, &mt, 0, 0);
	int ret;

	mt_init_flags(&mt, MT_FLAGS_ALLOC_RANGE);
	mtree_store_range(&mt, 0, 1, xa_mk_value(1), GFP_KERNEL);
	rcu_read_lock();
	mas_set(&mas, 0);
	mas_walk(&mas);
	printf("fwd: walk [%#lx, %#lx] offset %u\n", mas.index, mas.last, mas.offset);
	ret = mas_empty_area(&mas, 0, 0, 1);
	printf("fwd: empty_area(0, 0, 1) ret %d [%#lx, %#lx] (expected -16)\n",
	       ret, mas.index, mas.last);
	rcu_read_unlock();
	mtree_destroy(&mt);
}

/* A state a walk left in none status beside a root pointer. */
static void report_sparse(void)
{
	DEFINE_MTREE(mt);
	MA_STATE(mas, &mt, 0, 0);
	int ret;

	mt_init_flags(&mt, MT_FLAGS_ALLOC_RANGE);
	mtree_store_range(&mt, 0, 0, xa_mk_value(1), GFP_KERNEL);
	rcu_read_lock();
	mas_set(&mas, 5);
	mas_walk(&mas);
	printf("sparse: walk [%#lx, %#lx] none %d\n", mas.index, mas.last, mas_is_none(&mas));
	ret = mas_empty_area(&mas, 0, ULONG_MAX, 1);
	printf("sparse: empty_area(0, max, 1) ret %d [%#lx, %#lx] (expected [0x1, 0x1]); load(0) %p\n",
	       ret, mas.index, mas.last, mtree_load(&mt, 0));
	rcu_read_unlock();
	mtree_destroy(&mt);
}

/* The harness's program, op for op. */
static void report_rev(void)
{
	DEFINE_MTREE(mt);
	MA_STATE(mas, &mt, 0, 0);
	unsigned long s;
	void *entry;
	int ret;

	mt_init_flags(&mt, MT_FLAGS_ALLOC_RANGE | MT_FLAGS_USE_RCU);
	mtree_alloc_rrange(&mt, &s, xa_mk_value(1), 1, 0, 2, GFP_KERNEL);
	mtree_alloc_range(&mt, &s, xa_mk_value(2), 1, 4, 4, GFP_KERNEL);
	mtree_alloc_range(&mt, &s, xa_mk_value(2), 1, 0, ULONG_MAX, GFP_KERNEL);
	mtree_alloc_rrange(&mt, &s, xa_mk_value(3), 1, 0, 0x10, GFP_KERNEL);
	mtree_alloc_rrange(&mt, &s, xa_mk_value(4), 1, 0, ULONG_MAX, GFP_KERNEL);
	mtree_store_range(&mt, 6, 6, xa_mk_value(5), GFP_KERNEL);
	mtree_alloc_range(&mt, &s, xa_mk_value(1), 1, 8, 0xa, GFP_KERNEL);
	mtree_alloc_range(&mt, &s, xa_mk_value(6), 1, 0x12, ULONG_MAX, GFP_KERNEL);
	mtree_alloc_rrange(&mt, &s, xa_mk_value(2), 1, 0, 0xc, GFP_KERNEL);
	printf("rev: height %u\n", mt_height(&mt));
	rcu_read_lock();
	mas_set(&mas, 0xe);
	entry = mas_walk(&mas);
	printf("rev: walk %p [%#lx, %#lx] offset %u node min %#lx max %#lx\n",
	       entry, mas.index, mas.last, mas.offset, mas.min, mas.max);
	ret = mas_empty_area_rev(&mas, 0, 0, 1);
	printf("rev: empty_area_rev(0, 0, 1) ret %d [%#lx, %#lx] (expected -16); load(0) %p\n",
	       ret, mas.index, mas.last, mtree_load(&mt, 0));
	rcu_read_unlock();
	mtree_destroy(&mt);
}

int main(void)
{
	setvbuf(stdout, NULL, _IONBF, 0);
	maple_tree_init();
	report_prev();
	report_fwd();
	report_sparse();
	report_rev();
	rcu_barrier();
	return 0;
}
