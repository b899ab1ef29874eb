// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * maplefuzz kernel VMA engine, Linux 7.1: the tree's own mm/vma.c and
 * mm/vma_init.c on the tree's own lib/maple_tree.c, compiled in userspace.
 *
 * What comes from the tree: lib/maple_tree.c, mm/vma.c, mm/vma.h,
 * mm/vma_init.c (vm_area_alloc/dup/free and their cache), and the
 * declarations of tools/testing/vma/vma_internal.h with its
 * include/{stubs,dup,custom}.h. What is ours, as for 6.12 (engine-6.12.c):
 * the allocation points, the anon_vma hierarchy (here 7.1's mm/rmap.c),
 * files, and the syscall glue (vma_glue-7.1.h) for the paths 7.1 keeps
 * outside mm/vma.c; the flat API is the same (vma_api.h).
 *
 * VMA flags are one word (NUM_VMA_FLAG_BITS is BITS_PER_LONG on x86-64,
 * include/linux/mm_types.h), so vm_flags and the vma_flags_t bitmap are
 * the same bits, and the rows report them as on 6.12.
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
#include <linux/slab.h>
#include <linux/maple_tree.h>

/* One writer thread: no read-side section, RCU callbacks after the op. */
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

/* maple-shared.h's kfree_rcu() callback: the node goes back to its cache. */
void maple_rcu_cb(struct rcu_head *head)
{
	kmem_cache_free(maple_node_cache, container_of(head, struct maple_node, rcu));
}

#include "vma_prelude.h"

/* x86-64's sizes (the test harness builds with 128 of each). */
#define NUM_VMA_FLAG_BITS BITS_PER_LONG
#define NUM_MM_FLAG_BITS 64
/*
 * x86's data flags (arch/x86/include/asm/page_types.h) are
 * VMA_DATA_FLAGS_TSK_EXEC: VM_EXEC only with READ_IMPLIES_EXEC, where the
 * test header's generic default always has it. Our task has no
 * READ_IMPLIES_EXEC, so that is VMA_DATA_FLAGS_NON_EXEC (the header's
 * TASK_EXEC_BIT names VM_EXEC_BIT/VM_READ_BIT, which 7.1.3 does not
 * define, so TSK_EXEC itself does not compile).
 */
#define VMA_DATA_DEFAULT_FLAGS VMA_DATA_FLAGS_NON_EXEC

/* The test header's stubs we replace take other names while it is read. */
#define anon_vma_clone mfv_stub_anon_vma_clone
#define unlink_anon_vmas mfv_stub_unlink_anon_vmas
#define __anon_vma_prepare mfv_stub___anon_vma_prepare
#define anon_vma_prepare mfv_stub_anon_vma_prepare
#define free_pgtables mfv_stub_free_pgtables
#define vma_close mfv_stub_vma_close
#define mmap_file mfv_stub_mmap_file
#define shmem_zero_setup mfv_stub_shmem_zero_setup
#define vma_supports_mlock mfv_stub_vma_supports_mlock
#define get_sysctl_max_map_count mfv_stub_get_sysctl_max_map_count
#define mas_store_gfp(mas, entry, gfp) mfv_mas_store_gfp(mas, entry, gfp)
#include "vma_internal.h"
#undef anon_vma_clone
#undef unlink_anon_vmas
#undef __anon_vma_prepare
#undef anon_vma_prepare
#undef free_pgtables
#undef vma_close
#undef mmap_file
#undef shmem_zero_setup
#undef vma_supports_mlock
#undef get_sysctl_max_map_count

#include "vma_shim-7.1.h"

/* mm/vma.h first (for its header guard), then our points over it. */
#include "mm/vma.h"
#define vma_iter_prealloc(vmi, vma) mfv_vma_iter_prealloc((vmi), (vma))

/* mm/vma_init.c under other names: vma_shim-7.1.h's wrappers call them. */
#define vm_area_alloc mfv_k_vm_area_alloc
#define vm_area_dup mfv_k_vm_area_dup
#define vm_area_free mfv_k_vm_area_free
#include "mm/vma_init.c"
#undef vm_area_alloc
#undef vm_area_dup
#undef vm_area_free

#include "mm/vma.c"

#include "vma_glue-7.1.h"
#include "vma_api.h"
