// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * RCU readers searching a tree that a writer empties meanwhile: the
 * reader's node is dead, its walk again from the root finds the tree empty
 * (status none, no node), and mas_next_slot()/mas_prev_slot() step from a
 * NULL node. Reader and writer in one thread, to make it deterministic:
 * the write runs inside the reader's read-side section, so the dead leaf
 * is not freed under the reader (call_rcu waits for the section's end).
 */
static void check_maplefuzz_rcu_search_emptied_tree(struct maple_tree *mt)
{
	void *entry;
	unsigned long i;
	int round;

	for (round = 0; round < 4; round++) {
		MA_STATE(mas, mt, 7, 7);

		mt_init_flags(mt, MT_FLAGS_USE_RCU);
		for (i = 0; i < 8; i++)
			MT_BUG_ON(mt, mtree_store_range(mt, i * 10, i * 10 + 5,
							 xa_mk_value(i), GFP_KERNEL));
		rcu_read_lock();
		/* The reader stands in the gap [6, 9] of the root leaf... */
		entry = mas_walk(&mas);
		MT_BUG_ON(mt, entry != NULL || mas.index != 6 || mas.last != 9);
		/* ...a writer empties the tree (the leaf is now dead)... */
		if (round & 1)
			mtree_destroy(mt);
		else
			MT_BUG_ON(mt, mtree_store_range(mt, 0, ULONG_MAX, NULL,
							 GFP_KERNEL));
		/* ...and the reader goes on: nothing is left to find. */
		if (round < 2) {
			entry = mas_find(&mas, ULONG_MAX);
			MT_BUG_ON(mt, entry != NULL);
			/* The state can be used again (a mas_for_each loop). */
			entry = mas_find(&mas, ULONG_MAX);
			MT_BUG_ON(mt, entry != NULL);
		} else {
			entry = mas_prev(&mas, 0);
			MT_BUG_ON(mt, entry != NULL);
		}
		rcu_read_unlock();
		mtree_destroy(mt);
	}
}
