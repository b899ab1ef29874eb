// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * maplefuzz: Linux 6.1's answers where the kernel engine parts from the 6.12
 * oracle (docs/kernel-engine.md, "Linux 6.1"). Build in 6.1's
 * tools/testing/radix-tree after `make maple` (for its objects):
 *   cc -I. -I../../include -g -Og -D_LGPL_SOURCE -fsanitize=address,undefined \
 *      "-Dfallthrough=__attribute__((__fallthrough__))" -c linux-6.1-answers.c
 *   cc -fsanitize=address,undefined linux-6.1-answers.o xarray.o radix-tree.o idr.o \
 *      linux.o test.o find_bit.o bitmap.o slab.o -lpthread -lurcu -o answers
 * and run ./answers N for case N (1-9).
 */
#define CONFIG_DEBUG_MAPLE_TREE
#define CONFIG_MAPLE_SEARCH
#define module_init(x)
#define module_exit(x)
#define MODULE_AUTHOR(x)
#define MODULE_DESCRIPTION(X)
#define MODULE_LICENSE(x)
#define dump_stack()	assert(0)
#include "test.h"
#include <stdlib.h>
#include "linux/init.h"
#include "../../../lib/maple_tree.c"

static void show(struct maple_tree *mt)
{
	void *e;
	MA_STATE(mas, mt, 0, 0);
	mas_for_each(&mas, e, ULONG_MAX)
		printf("  [%#lx, %#lx] %#lx\n", mas.index, mas.last, (unsigned long)e);
}

int main(int argc, char **argv)
{
	struct maple_tree mt;
	unsigned long start = 0x5a5a;
	int ret, c = atoi(argv[1]);

	setvbuf(stdout, NULL, _IONBF, 0);
	maple_tree_init();
	rcu_register_thread();
	mt_init_flags(&mt, MT_FLAGS_ALLOC_RANGE);
	switch (c) {
	case 1: /* a root leaf, reverse allocation below an entry */
		mtree_store_range(&mt, 0x1000, ULONG_MAX, xa_mk_value(1), GFP_KERNEL);
		ret = mtree_alloc_rrange(&mt, &start, xa_mk_value(2), 0x10, 0, ULONG_MAX - 1, GFP_KERNEL);
		break;
	case 2:
		mtree_store_range(&mt, 0x1000, 0x1fff, xa_mk_value(1), GFP_KERNEL);
		ret = mtree_alloc_rrange(&mt, &start, xa_mk_value(2), 0x10, 0, 0x3000, GFP_KERNEL);
		break;
	case 3: /* empty tree, forward */
		ret = mtree_alloc_range(&mt, &start, xa_mk_value(2), 0x10, 0, 0x3000, GFP_KERNEL);
		break;
	case 4: /* empty tree, reverse */
		ret = mtree_alloc_rrange(&mt, &start, xa_mk_value(2), 0x10, 0, 0x3000, GFP_KERNEL);
		break;
	case 5: /* the only gap at [0, 0xfff], window to ULONG_MAX */
		mtree_store_range(&mt, 0x1000, ULONG_MAX, xa_mk_value(1), GFP_KERNEL);
		ret = mtree_alloc_rrange(&mt, &start, xa_mk_value(2), 0x10, 0, ULONG_MAX, GFP_KERNEL);
		break;
	case 6: /* emptied: entry over everything, then NULL over everything */
		mtree_store_range(&mt, 0, ULONG_MAX, xa_mk_value(1), GFP_KERNEL);
		mtree_store_range(&mt, 0, ULONG_MAX, NULL, GFP_KERNEL);
		printf("root %p\n", mt.ma_root);
		ret = mtree_alloc_range(&mt, &start, xa_mk_value(2), 1, 0, ULONG_MAX, GFP_KERNEL);
		printf("alloc_range ret %d start %#lx\n", ret, start);
		start = 0x5a5a;
		ret = mtree_alloc_rrange(&mt, &start, xa_mk_value(2), 1, 0, ULONG_MAX, GFP_KERNEL);
		break;
	case 7: { /* cursor on an empty tree */
		MA_STATE(m, &mt, 0, 0);
		void *e = mas_prev(&m, 0);
		printf("mas_prev(0): %p [%#lx, %#lx] node %p\n", e, m.index, m.last, m.node);
		mas_set(&m, 0);
		e = mas_find_rev(&m, 0);
		printf("mas_find_rev(0): %p [%#lx, %#lx] node %p\n", e, m.index, m.last, m.node);
		mas_set(&m, 0);
		e = mas_next(&m, 0);
		printf("mas_next(0): %p [%#lx, %#lx] node %p\n", e, m.index, m.last, m.node);
		mas_set(&m, 0);
		mas_walk(&m);
		e = mas_find(&m, ULONG_MAX);
		printf("walk(0); mas_find(max): %p [%#lx, %#lx] node %p\n", e, m.index, m.last, m.node);
		ret = 0;
		break;
	}
	case 8: { /* the limits of the gap searches */
		MA_STATE(m, &mt, 0, 0);
		ret = mas_empty_area(&m, 0, ULONG_MAX, 0);
		printf("mas_empty_area(0, max, size 0): %d [%#lx, %#lx]\n", ret, m.index, m.last);
		mas_reset(&m);
		ret = mas_empty_area_rev(&m, 0xffffffffffffb001UL, ULONG_MAX, 0x5000);
		printf("mas_empty_area_rev(0xffffffffffffb001, max, 0x5000): %d [%#lx, %#lx]\n", ret, m.index, m.last);
		ret = mtree_alloc_rrange(&mt, &start, xa_mk_value(2), 1, 0, 0, GFP_KERNEL);
		break;
	}
	case 9: { /* mas_next past its limit */
		MA_STATE(m, &mt, 0, 0);
		void *e;
		mtree_store_range(&mt, 0x10, 0x1f, xa_mk_value(1), GFP_KERNEL);
		mtree_store_range(&mt, 0x100, 0x1ff, xa_mk_value(2), GFP_KERNEL);
		mas_set(&m, 0x10);
		e = mas_walk(&m);
		e = mas_next(&m, 0x80);
		printf("walk(0x10); mas_next(0x80): %p [%#lx, %#lx] node %p\n", e, m.index, m.last, m.node);
		ret = 0;
		break;
	}
	}
	printf("case %d: ret %d start %#lx\n", c, ret, start);
	show(&mt);
	mt_validate(&mt);
	mtree_destroy(&mt);
	rcu_barrier();
	printf("nr_allocated %d\n", nr_allocated);
	return 0;
}
