/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * maplefuzz kernel VMA engine: what must be declared after the maple tree
 * and before the tree's tools/testing/vma/vma_internal.h.
 */
#ifndef MFV_PRELUDE_H
#define MFV_PRELUDE_H

/*
 * mas_store_gfp() as mm/vma.c, mm/vma.h and the test header call it: one
 * allocation point of the VMA contract unless __GFP_NOFAIL (defined in
 * vma_shim.h).
 */
static int mfv_mas_store_gfp(struct ma_state *mas, void *entry, gfp_t gfp);

#endif
