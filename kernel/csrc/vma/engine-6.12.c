// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * maplefuzz kernel VMA engine, Linux 6.12: the tree's own mm/vma.c on the
 * tree's own lib/maple_tree.c, compiled in userspace.
 *
 * What comes from the tree: lib/maple_tree.c, mm/vma.c, mm/vma.h, and the
 * declarations of tools/testing/vma/vma_internal.h (the kernel's own
 * userspace stand-in for the headers mm/vma.c includes). What is ours:
 *
 *  - the allocation points (vm_area_alloc/dup, vma_iter_prealloc, the gfp
 *    stores, the anon_vma calls), recorded per op and failed on demand in
 *    the order the VMA contract counts them (docs/vma.md);
 *  - the anon_vma hierarchy of mm/rmap.c (anon_vma_prepare, _clone, _fork,
 *    unlink_anon_vmas, anon_vma_merge) with its counters, in place of the
 *    test header's stubs, so chains and anon_vma identity are comparable;
 *  - files (four regular files, one with ->close, and a shmem file per
 *    anonymous shared mapping);
 *  - vma_glue-6.12.h: the syscall glue. Where 6.12 keeps a path outside
 *    mm/vma.c (mm/mmap.c, mm/mprotect.c, mm/madvise.c, mm/mremap.c,
 *    kernel/fork.c), a function named after the kernel's calls vma.c's
 *    functions in the kernel's order; no merge or split decision is made
 *    there.
 *
 * Nothing here aborts on a kernel WARN: it is recorded and reported.
 */
#include <generated/autoconf.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* MT_BUG_ON() ends in dump_stack(): counted, so validation can report. */
static void mfv_dump_stack(void);
#define dump_stack() mfv_dump_stack()

#include "maple-shared.h"
#include <linux/maple_tree.h>

/*
 * The engine's writer is the only thread: reads need no read-side
 * section, and RCU callbacks run when the op is over (vma_api.h).
 */
struct mfv_rcu_cb;
static void mfv_call_rcu(struct rcu_head *head, void (*func)(struct rcu_head *));
#undef call_rcu
#define call_rcu mfv_call_rcu
#undef rcu_read_lock
#define rcu_read_lock() do { } while (0)
#undef rcu_read_unlock
#define rcu_read_unlock() do { } while (0)

/* The tree itself, before any of our renames. */
#include "lib/maple_tree.c"

#include "vma_prelude.h"

/* The test header's stubs we replace take other names while it is read. */
#define vm_area_alloc mfv_stub_vm_area_alloc
#define vm_area_dup mfv_stub_vm_area_dup
#define vm_area_free mfv_stub_vm_area_free
#define anon_vma_clone mfv_stub_anon_vma_clone
#define unlink_anon_vmas mfv_stub_unlink_anon_vmas
#define anon_vma_merge mfv_stub_anon_vma_merge
#define free_pgtables mfv_stub_free_pgtables
#define mas_store_gfp(mas, entry, gfp) mfv_mas_store_gfp(mas, entry, gfp)
#include "vma_internal.h"
#undef vm_area_alloc
#undef vm_area_dup
#undef vm_area_free
#undef anon_vma_clone
#undef unlink_anon_vmas
#undef anon_vma_merge
#undef free_pgtables

#include "vma_shim.h"

/* mm/vma.h first (for its header guard), then our points over it. */
#include "mm/vma.h"
#define vma_iter_prealloc(vmi, vma) mfv_vma_iter_prealloc((vmi), (vma))

#include "mm/vma.c"

#include "vma_glue-6.12.h"
#include "vma_api.h"
