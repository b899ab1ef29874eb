// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * An RCU reader iterating a tree that a writer empties meanwhile: the
 * reader's mas_find() finds its leaf dead, walks again from the root, finds
 * the tree empty (status none, node NULL) and retries on the NULL node.
 * The reader and the writer are one thread here, to make it deterministic:
 * the writer runs inside the reader's read-side section, so the dead leaf
 * is not freed under the reader (call_rcu waits for the section to end).
 */
static void check_maplefuzz_rcu_find_emptied_tree(struct maple_tree *mt)
{
	MA_STATE(mas, mt, 7, 7);
	void *entry;
	unsigned long i;

	mt_init_flags(mt, MT_FLAGS_USE_RCU);
	for (i = 0; i < 8; i++)
		MT_BUG_ON(mt, mtree_store_range(mt, i * 10, i * 10 + 5,
						 xa_mk_value(i), GFP_KERNEL));
	rcu_read_lock();
	/* The reader stands on the root leaf, in the gap [6, 9]... */
	entry = mas_walk(&mas);
	MT_BUG_ON(mt, entry != NULL || mas.index != 6 || mas.last != 9);
	/* ...the writer empties the tree (the leaf is now dead)... */
	MT_BUG_ON(mt, mtree_store_range(mt, 0, ULONG_MAX, NULL, GFP_KERNEL));
	/* ...and the reader goes on: there is nothing more to find. */
	entry = mas_find(&mas, ULONG_MAX);
	printf("mas_find after the tree was emptied: %p\n", entry);
	MT_BUG_ON(mt, entry != NULL);
	rcu_read_unlock();
	mtree_destroy(mt);
}
