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

#include "maple_alloc.h"

/* ---------------------------------------------------------------------- */

#include "lib/maple_tree.c"

/* ---------------------------------------------------------------------- */
/* What the flat API needs to know of this generation's maple state.      */

static void mfk_gen_init_state(struct ma_state *mas, struct maple_tree *mt)
{
	mas_init(mas, mt, 0);
}

static int32_t mfk_gen_status(const struct ma_state *mas)
{
	return (int32_t)mas->status;
}

/* A state whose node is set by hand. */
static void mfk_gen_set_active(struct ma_state *mas)
{
	mas->status = ma_active;
}

#include "maple_alloc_state.h"

#include "api.h"
