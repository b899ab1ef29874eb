// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Finding 13's interleaving, forced: an RCU reader's mas_walk() and a
 * writer's in-place slot store, with the store run between the reader's two
 * reads of the pivot below its slot in mtree_range_walk(). Needs the
 * scratch hook of rcu-walk-torn-range-hook.patch in lib/maple_tree.c (it
 * only calls mf_between_pivot_reads there); reader and writer are one
 * thread, the write inside the reader's read-side section.
 */
static struct maple_tree *mf_torn_mt;

static void mf_torn_writer(void)
{
	mf_between_pivot_reads = NULL;
	/*
	 * [10, 17] over all of [10, 15] and the start of the NULL [16, 19]:
	 * the two-slot slot store RCU mode does in place (slot, then pivot).
	 */
	MT_BUG_ON(mf_torn_mt, mtree_store_range(mf_torn_mt, 10, 17,
						 xa_mk_value(99), GFP_KERNEL));
}

static void check_maplefuzz_rcu_walk_torn_range(struct maple_tree *mt)
{
	MA_STATE(mas, mt, 17, 17);
	void *entry;
	unsigned long i;

	mf_torn_mt = mt;
	mt_init_flags(mt, MT_FLAGS_USE_RCU);
	for (i = 0; i < 8; i++)
		MT_BUG_ON(mt, mtree_store_range(mt, i * 10, i * 10 + 5,
						 xa_mk_value(i), GFP_KERNEL));
	rcu_read_lock();
	mf_between_pivot_reads = mf_torn_writer;
	entry = mas_walk(&mas);
	rcu_read_unlock();
	printf("mas_walk(17) = %p over [%lu, %lu]\n", entry, mas.index, mas.last);
	/* 17 held NULL before the store ([16, 19]) and 99 after ([10, 17]). */
	MT_BUG_ON(mt, entry != NULL && entry != xa_mk_value(99));
	/* Whatever it returns, the range must hold the index walked to. */
	MT_BUG_ON(mt, mas.index > 17 || mas.last < 17);
	mtree_destroy(mt);
}
