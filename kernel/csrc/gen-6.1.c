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

#include "maple_alloc.h"

/* The radix-tree build's lockdep stand-in leaves this to the test program;
 * only lock assertions ask it, and the flat API holds no real lock. */
int lockdep_is_held(const void *lock)
{
	(void)lock;
	return 1;
}

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

/* A state whose node is set by hand: in 6.1 the node pointer is the state. */
static void mfk_gen_set_active(struct ma_state *mas)
{
	(void)mas;
}

#include "maple_alloc_state.h"

/* mtree_alloc_cyclic() came with Linux 6.10. */
#define MFK_GEN_NO_ALLOC_CYCLIC

#include "api.h"
