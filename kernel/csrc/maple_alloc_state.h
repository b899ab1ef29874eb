// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * maplefuzz kernel engine: what the flat API (api.h) asks of a maple state
 * of the maple_alloc generations (Linux 6.1 and 6.12 to 6.17): the nodes
 * it holds in its mas->alloc chain, preallocation, and bulk mode.
 *
 * Included by gen-6.1.c and gen-6.12.c after lib/maple_tree.c; the other
 * hooks (state init, status) differ between the two and stay in them.
 */

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

static int mfk_gen_preallocate(struct ma_state *mas, void *entry)
{
	return mas_preallocate(mas, entry, GFP_KERNEL);
}

static int mfk_gen_expected_entries(struct ma_state *mas, unsigned long n)
{
	return mas_expected_entries(mas, n);
}
