// SPDX-License-Identifier: GPL-2.0-or-later
// Source edits applied to a copy of lib/maple_tree.c at build time, and the
// variants built from them. Included by build.rs and by the library, so the
// engine can say exactly what each variant is.
//
// Each edit is a list of (text found, replacement); an edit applies only if
// every text is found exactly once, so a tree that has changed there (a
// newer kernel, a developer's patch) keeps its own code, and the variant
// records the edit as skipped.

/// One source edit.
#[allow(dead_code)]
pub struct Edit {
    /// Short name.
    pub name: &'static str,
    /// A deliberate bug (for the tests that show the harness catching one),
    /// rather than a fix.
    pub planted: bool,
    /// The maple tree generations the edit is for (`["6.18", "7.1"]`), or
    /// none for any; a variant of another generation does not try it (nor
    /// lists it as skipped). A name may have several edits, each for its
    /// own generations, when the code differs between them.
    pub generation: &'static [&'static str],
    /// What it changes and why.
    pub about: &'static str,
    /// (text found, replacement), applied in order.
    pub changes: &'static [(&'static str, &'static str)],
}

/// One build of the C code: the tree as it is, or with every fix of
/// [`FIXES`] that applies to it, and at most one planted bug.
#[allow(dead_code)]
pub struct VariantDef {
    /// The name `--engines kernel:<name>` selects.
    pub name: &'static str,
    /// What it is.
    pub about: &'static str,
    /// Whether the fixes are applied.
    pub fixed: bool,
    /// The planted bug's edit, if any.
    pub plant: Option<&'static str>,
}

#[allow(dead_code)]
impl VariantDef {
    /// The edits applied to it, by name, in order.
    pub fn edits(&self) -> Vec<&'static str> {
        let fixes = if self.fixed { FIXES } else { &[] };
        fixes.iter().copied().chain(self.plant).collect()
    }
}

/// The fixes for the Linux 6.12 bugs this project found (the same fixes
/// `maplefuzz::tree::Fixes` makes in the port).
/// Linux 6.1's own allocation bugs (docs/findings/linux-6.1-alloc.md) are
/// fixed by the last two, which only 6.1-generation trees try.
const FIXES: &[&str] = &[
    "fix-rev-gap-window",
    "fix-whole-space-gap",
    "fix-insert-whole-space",
    "fix-rcu-free-walk",
    "fix-6.1-empty-area-limits",
    "fix-6.1-alloc-by-gap-search",
    "fix-cyclic-wrap-enomem",
    "fix-prev-after-gap-search",
    "fix-resumed-search-window",
    "fix-rcu-search-emptied-tree",
    "fix-rcu-walk-torn-range",
];

#[allow(dead_code)]
pub const EDITS: &[Edit] = &[
    Edit {
        name: "fix-rev-gap-window",
        planted: false,
        generation: &[],
        about: "mas_rev_awalk(): `size <= last - min + 1` wraps to 0 for a window \
                ending at ULONG_MAX over a slot starting at 0; compare size - 1 <= last - min",
        changes: &[("(size <= mas->last - min + 1)", "(size - 1 <= mas->last - min)")],
    },
    Edit {
        name: "fix-whole-space-gap",
        planted: false,
        generation: &[],
        about: "a NULL slot over [0, ULONG_MAX] has size ULONG_MAX + 1, which wraps to 0 \
                in the gap searches; saturate it",
        changes: &[
            // (Expressions, not added statements: both sit in brace-less
            // if/else chains.)
            ("gap = max - min + 1;", "gap = (max - min + 1) ?: ULONG_MAX;"),
            ("*gap_max = min + gap - 1;", "*gap_max = max;"),
            (
                "gap = min(pivot, mas->last) - max(mas->index, min) + 1;",
                "gap = (min(pivot, mas->last) - max(mas->index, min) + 1) ?: ULONG_MAX;",
            ),
        ],
    },
    Edit {
        name: "fix-insert-whole-space",
        planted: false,
        generation: &[],
        about: "mas_insert() skips its occupancy check for a new-root store, so \
                mtree_insert_range(0, ULONG_MAX) overwrites a single-leaf tree; give wr_new_root \
                the check every other leaf store gets (the walk has left the state at the root \
                leaf's first slot, which a whole-space write that is not an exact fit overruns), \
                as in docs/findings/insert-whole-space.patch",
        changes: &[(
            "\tif (mas->store_type != wr_new_root && mas->store_type != wr_store_root) {",
            "\tif (mas->store_type != wr_store_root) {",
        )],
    },
    Edit {
        name: "fix-rcu-free-walk",
        planted: false,
        generation: &[],
        about: "RCU destroy: mt_free_walk() decides whether a dead parent has another child \
                by testing the next slot for non-NULL, but a maple_range_64 node with 15 \
                children keeps its metadata in slot 15, so the walk descends into the \
                metadata word (SIGSEGV at 0xe + offsetof(type)); and the mt_clear_meta() that \
                guards the start node writes over the 16th child of a full one (freeing a \
                wrong node, leaking the child). Bound the walk by the slot_len that \
                mte_dead_leaves() recorded, and drop the clear (docs/findings/rcu-free-walk.md)",
        changes: &[
            (
                "\t\tif ((offset < mt_slots[type]) &&\n\t\t    rcu_dereference_protected(slots[offset],\n\t\t\t\t\t      lock_is_held(&rcu_callback_map)))\n\t\t\tslots = mte_dead_walk(&enode, offset);",
                "\t\tif (offset < mte_to_node(enode)->slot_len)\n\t\t\tslots = mte_dead_walk(&enode, offset);",
            ),
            ("\telse\n\t\tmt_clear_meta(mt, node, node->type);\n", ""),
        ],
    },
    Edit {
        name: "fix-6.1-empty-area-limits",
        planted: false,
        generation: &["6.1"],
        about: "Linux 6.1: mas_empty_area() and mas_empty_area_rev() refuse min == max \
                and accept a size of 0 or larger than the window, so an empty tree's \
                reverse search answers a range below min; check as later kernels do \
                (min > max, size == 0, max - min < size - 1: EINVAL)",
        changes: &[
            (
                "\tif (min >= max)\n\t\treturn -EINVAL;\n\n\tif (mas_is_start(mas))\n\t\tmas_start(mas);\n\telse if (mas->offset >= 2)\n",
                "\tif (min > max)\n\t\treturn -EINVAL;\n\n\tif (size == 0 || max - min < size - 1)\n\t\treturn -EINVAL;\n\n\tif (mas_is_start(mas))\n\t\tmas_start(mas);\n\telse if (mas->offset >= 2)\n",
            ),
            (
                "\tstruct maple_enode *last = mas->node;\n\n\tif (min >= max)\n\t\treturn -EINVAL;\n",
                "\tstruct maple_enode *last = mas->node;\n\n\tif (min > max)\n\t\treturn -EINVAL;\n\n\tif (size == 0 || max - min < size - 1)\n\t\treturn -EINVAL;\n",
            ),
        ],
    },
    Edit {
        name: "fix-6.1-alloc-by-gap-search",
        planted: false,
        generation: &["6.1"],
        about: "Linux 6.1: mtree_alloc_range() and mtree_alloc_rrange() search and store \
                through mas_alloc(), mas_rev_alloc() and mas_fill_gap(), which lose a \
                neighbouring entry, crash in a spanning store, return a pivot instead of \
                0 and fail on an empty tree (bugs A-D, docs/findings/linux-6.1-alloc.md); \
                allocate as later kernels do, by mas_empty_area(_rev)() and an insert \
                from a fresh walk, keeping 6.1's own argument checks",
        changes: &[
            (
                "retry:\n\tmas.offset = 0;\n\tmas.index = min;\n\tmas.last = max - size;\n\tret = mas_alloc(&mas, entry, size, startp);\n\tif (mas_nomem(&mas, gfp))\n\t\tgoto retry;\n\n\tmtree_unlock(mt);\n\treturn ret;\n",
                "retry:\n\tret = mas_empty_area(&mas, min, max, size);\n\tif (ret)\n\t\tgoto unlock;\n\n\tmas_reset(&mas);\n\tmas_insert(&mas, entry);\n\tif (mas_nomem(&mas, gfp))\n\t\tgoto retry;\n\n\tif (mas_is_err(&mas))\n\t\tret = xa_err(mas.node);\n\telse\n\t\t*startp = mas.index;\n\nunlock:\n\tmtree_unlock(mt);\n\tmas_destroy(&mas);\n\treturn ret;\n",
            ),
            (
                "retry:\n\tret = mas_rev_alloc(&mas, min, max, entry, size, startp);\n\tif (mas_nomem(&mas, gfp))\n\t\tgoto retry;\n\n\tmtree_unlock(mt);\n\treturn ret;\n",
                "retry:\n\tret = mas_empty_area_rev(&mas, min, max, size);\n\tif (ret)\n\t\tgoto unlock;\n\n\tmas_reset(&mas);\n\tmas_insert(&mas, entry);\n\tif (mas_nomem(&mas, gfp))\n\t\tgoto retry;\n\n\tif (mas_is_err(&mas))\n\t\tret = xa_err(mas.node);\n\telse\n\t\t*startp = mas.index;\n\nunlock:\n\tmtree_unlock(mt);\n\tmas_destroy(&mas);\n\treturn ret;\n",
            ),
        ],
    },
    Edit {
        name: "plant-stale-node-store",
        planted: true,
        generation: &[],
        about: "the July 2022 bug: mas_wr_node_store() copies the old tail after a store \
                that reaches the node's maximum, leaving stale slots past the data end \
                (the port's `stale-node-store` mutant, in C)",
        changes: &[
            (
                "\tif (offset_end > mas->end)\n\t\tgoto done;",
                "\tif (mas->last >= mas->max)\n\t\toffset_end = wr_mas->offset_end;\n\tif (offset_end > mas->end)\n\t\tgoto done;",
            ),
            (
                "\tcopy_size = mas->end - offset_end + 1;\n\tmemcpy(dst_slots + dst_offset",
                "\tcopy_size = mas->end - offset_end + 1;\n\tif (dst_offset + copy_size > mt_slots[wr_mas->type])\n\t\tcopy_size = mt_slots[wr_mas->type] - dst_offset;\n\tif (!copy_size)\n\t\tgoto done;\n\tmemcpy(dst_slots + dst_offset",
            ),
        ],
    },
    Edit {
        name: "plant-stale-copy-tail",
        planted: true,
        generation: &["7.1"],
        about: "the July 2022 class (stale data past a node's end) in 7.1's struct maple_copy \
                write path: node_finalise() clears the slots past a new node's end but no \
                longer its pivots. New nodes come zeroed, so what survives is what \
                cp_data_write() copied there and then gave back: when a destination would \
                end in NULL below its maximum, the NULL moves to the next destination and \
                its pivot stays behind, one past the node's end (at offset 14 of a leaf, \
                ma_data_end() then takes the node for full)",
        changes: &[(
            "\t\tif (--size)\n\t\t\tmemset(ma_pivots(node, mt) + end, 0, size * sizeof(unsigned long));\n",
            "",
        )],
    },
    Edit {
        name: "plant-destroy-uaf",
        planted: true,
        generation: &[],
        about: "a use after free: mte_destroy_walk() of a tree outside RCU mode reads the \
                first child of the node it has just freed (the allocator poisons freed \
                nodes, so the read goes through a wild pointer and the process dies of \
                SIGSEGV); the harness's test of fatal signals in the C engine",
        changes: &[(
            "\t} else {\n\t\tmt_destroy_walk(enode, mt, true);\n\t}",
            "\t} else {\n\t\tmt_destroy_walk(enode, mt, true);\n\t\tif (!mte_is_leaf(enode))\n\t\t\t(void)*(void * volatile *)&mte_to_node(node->slot[0])->parent;\n\t}",
        )],
    },
    Edit {
        name: "plant-leaf-gap-oob",
        planted: true,
        generation: &[],
        about: "an out-of-bounds read: mas_leaf_max_gap() of the rightmost leaf reads the \
                slot one past the node's last (a word of the next node in the packed arena, \
                so nothing else notices; AddressSanitizer does, with the arena's redzones)",
        changes: &[(
            "\tpivots = ma_pivots(mn, mt);\n\tif (likely(!slots[0])) {",
            "\tpivots = ma_pivots(mn, mt);\n\tif (mas->max == ULONG_MAX)\n\t\t(void)*(void * volatile *)&slots[mt_slots[mt]];\n\tif (likely(!slots[0])) {",
        )],
    },
    Edit {
        name: "fix-cyclic-wrap-enomem",
        planted: false,
        generation: &["6.18", "7.1"],
        about: "mas_alloc_cyclic() (the sheaves rewrite, 6.18 on) clears the remembered \
                wrap (MT_FLAGS_ALLOC_WRAPPED) right after its first search, before the insert, \
                so an insert that fails with ENOMEM loses the wrap report the next allocation \
                owes; clear it once the insert succeeded, as 6.12 does, and free the state's \
                nodes on the error path too (mas_destroy()), as in \
                docs/findings/cyclic-wrap-enomem.patch",
        changes: &[
            (
                "\tret = mas_empty_area(mas, range_lo, range_hi, 1);\n\tif ((mas->tree->ma_flags & MT_FLAGS_ALLOC_WRAPPED) && ret == 0) {\n\t\tmas->tree->ma_flags &= ~MT_FLAGS_ALLOC_WRAPPED;\n\t\tret = 1;\n\t}\n",
                "\tret = mas_empty_area(mas, range_lo, range_hi, 1);\n",
            ),
            (
                "\tif (mas_is_err(mas))\n\t\treturn xa_err(mas->node);\n\n\t*startp = mas->index;",
                "\tif (mas_is_err(mas)) {\n\t\tret = xa_err(mas->node);\n\t\tgoto out;\n\t}\n\n\tif ((mas->tree->ma_flags & MT_FLAGS_ALLOC_WRAPPED) && ret == 0) {\n\t\tmas->tree->ma_flags &= ~MT_FLAGS_ALLOC_WRAPPED;\n\t\tret = 1;\n\t}\n\t*startp = mas->index;",
            ),
            (
                "\t\tmas->tree->ma_flags |= MT_FLAGS_ALLOC_WRAPPED;\n\n\tmas_destroy(mas);\n\treturn ret;\n}",
                "\t\tmas->tree->ma_flags |= MT_FLAGS_ALLOC_WRAPPED;\n\nout:\n\tmas_destroy(mas);\n\treturn ret;\n}",
            ),
        ],
    },
    Edit {
        name: "fix-prev-after-gap-search",
        planted: false,
        generation: &["6.12", "6.18", "7.1"],
        about: "mas_prev_slot() takes the previous slot's last index as mas->index - 1, \
                which holds only while index is the first index of the state's slot; after \
                mas_empty_area() or mas_empty_area_rev() it is the window's first index, so \
                mas_prev() reports the entry below over the window's start (up to \
                ULONG_MAX - 1); read the previous slot's pivot instead, as in \
                docs/findings/prev-after-gap-search.patch",
        changes: &[(
            "\t\tmas->offset--;\n\t\tmas->last = mas->index - 1;\n",
            "\t\tmas->offset--;\n\t\tmas->last = pivots[mas->offset];\n",
        )],
    },
    Edit {
        name: "fix-resumed-search-window",
        planted: false,
        generation: &["6.12", "6.18", "7.1"],
        about: "a gap search resumed from a state above its window: mas_anode_descend() \
                sizes a NULL slot that starts above the window from the window's end, \
                which wraps, and mas_empty_area() returns a range above max; \
                mas_rev_awalk() steps its unsigned char offset below 0 and reads pivots \
                past the node; mas_sparse_area() takes a state in none status (one that \
                walked past a root pointer's index 0 is) for an empty tree and hands out \
                index 0 over the entry. Stop at a slot above the window, go on to the \
                previous node from offset 0, and ask the tree whether index 0 is taken, as \
                in docs/findings/resumed-gap-search.patch",
        changes: &[
            (
                "\t\tif (mas->index > pivot)\n\t\t\tgoto next_slot;\n\n",
                "\t\tif (mas->index > pivot)\n\t\t\tgoto next_slot;\n\n\t\tif (min > mas->last) {\n\t\t\tmas_set_err(mas, -EBUSY);\n\t\t\treturn true;\n\t\t}\n\n",
            ),
            (
                "\twhile (mas->last < min)\n\t\tmin = mas_safe_min(mas, pivots, --offset);\n",
                "\twhile (mas->last < min) {\n\t\tif (!offset)\n\t\t\tgoto ascend;\n\t\tmin = mas_safe_min(mas, pivots, --offset);\n\t}\n",
            ),
            (
                "\tif (!unlikely(mas_is_none(mas)) && min == 0) {\n",
                "\tif (mas_root(mas) && min == 0) {\n",
            ),
        ],
    },
    Edit {
        name: "fix-rcu-search-emptied-tree",
        planted: false,
        generation: &["6.12", "6.18", "7.1"],
        about: "an RCU reader's search (mas_find, mas_next, mas_prev, mt_find) that finds \
                its node dead walks again from the root; when a write has emptied the tree \
                the walk leaves no node, and mas_next_slot()/mas_prev_slot() read the dead \
                mark of a NULL node. End the search there, and keep mas_find() from \
                turning that state active again (docs/findings/rcu-find-emptied-tree.md)",
        changes: &[
            (
                "\tunsigned long save_point = mas->index;\n\nretry:\n\tnode = mas_mn(mas);",
                "\tunsigned long save_point = mas->index;\n\nretry:\n\tif (unlikely(!mas_is_active(mas)))\n\t\treturn NULL;\n\tnode = mas_mn(mas);",
            ),
            (
                "\tunsigned long save_point = mas->last;\n\tvoid *entry;\n\nretry:\n\tnode = mas_mn(mas);",
                "\tunsigned long save_point = mas->last;\n\tvoid *entry;\n\nretry:\n\tif (unlikely(!mas_is_active(mas)))\n\t\treturn NULL;\n\tnode = mas_mn(mas);",
            ),
            (
                "\t/* Ignore overflow */\n\tmas->status = ma_active;",
                "\tif (mas_is_overflow(mas))\n\t\tmas->status = ma_active;",
            ),
        ],
    },
    Edit {
        name: "fix-rcu-walk-torn-range",
        planted: false,
        generation: &["6.12", "6.18", "7.1"],
        about: "an RCU reader's mtree_range_walk() reads the pivot below its slot twice (to \
                pass it, then for the range's first index) and the pivot of its slot twice; \
                an in-place slot store moving one in between gives a range that does not \
                hold the index. Read each pivot once (docs/findings/rcu-walk-torn-range.md)",
        changes: &[
            (
                "\tunsigned long max, min;\n\tunsigned long prev_max, prev_min;\n\n\tnext = mas->node;",
                "\tunsigned long max, min, piv;\n\tunsigned long prev_max, prev_min;\n\n\tnext = mas->node;",
            ),
            (
                "\t\tif (pivots[0] >= mas->index) {\n\t\t\toffset = 0;\n\t\t\tmax = pivots[0];\n\t\t\tgoto next;\n\t\t}\n\n\t\toffset = 1;\n\t\twhile (offset < end) {\n\t\t\tif (pivots[offset] >= mas->index) {\n\t\t\t\tmax = pivots[offset];\n\t\t\t\tbreak;\n\t\t\t}\n\t\t\toffset++;\n\t\t}\n\n\t\tmin = pivots[offset - 1] + 1;",
                "\t\tpiv = READ_ONCE(pivots[0]);\n\t\tif (piv >= mas->index) {\n\t\t\toffset = 0;\n\t\t\tmax = piv;\n\t\t\tgoto next;\n\t\t}\n\n\t\toffset = 1;\n\t\twhile (offset < end) {\n\t\t\tunsigned long next_piv = READ_ONCE(pivots[offset]);\n\n\t\t\tif (next_piv >= mas->index) {\n\t\t\t\tmax = next_piv;\n\t\t\t\tbreak;\n\t\t\t}\n\t\t\tpiv = next_piv;\n\t\t\toffset++;\n\t\t}\n\n\t\tmin = piv + 1;",
            ),
        ],
    },
    // One planted bug in each generation's own words: a split store's
    // preallocation asks for one node more than the tree's rule. Nothing
    // runs short and the extra node goes back at mas_destroy(), so only the
    // check of each preallocation against its version's rule sees it.
    Edit {
        name: "plant-prealloc-overask",
        planted: true,
        generation: &["6.1"],
        about: "Linux 6.1: mas_preallocate() asks for 2 + 3 * height nodes, one more \
                than its worst case",
        changes: &[(
            "mas_node_count_gfp(mas, 1 + mas_mt_height(mas) * 3, gfp);",
            "mas_node_count_gfp(mas, 2 + mas_mt_height(mas) * 3, gfp);",
        )],
    },
    Edit {
        name: "plant-prealloc-overask",
        planted: true,
        generation: &["6.12"],
        about: "Linux 6.12: mas_prealloc_calc() asks 2 * height + 2 nodes for a split \
                store, one more than it can use",
        changes: &[(
            "\tcase wr_split_store:\n\t\tret =  mas_mt_height(mas) * 2 + 1;",
            "\tcase wr_split_store:\n\t\tret =  mas_mt_height(mas) * 2 + 2;",
        )],
    },
    Edit {
        name: "plant-prealloc-overask",
        planted: true,
        generation: &["6.18", "7.1"],
        about: "Linux 6.18 and 7.1: mas_prealloc_calc() asks one node more than the \
                vacant-height rule for a split store",
        changes: &[(
            "\tcase wr_split_store:\n\t\tret = delta * 2 + 1;",
            "\tcase wr_split_store:\n\t\tret = delta * 2 + 2;",
        )],
    },
    // The 2023 RCU bug in each generation's own words: an append rewrites
    // the leaf's last pivot and its metadata in place, under readers.
    Edit {
        name: "plant-rcu-append",
        planted: true,
        generation: &["6.1"],
        about: "Linux 6.1: mas_wr_append() runs in RCU mode too (before 2023's 'disable \
                mas_wr_append() when other readers are possible')",
        changes: &[(
            "\tif (mt_in_rcu(mas->tree))\n\t\treturn false;\n\n\tif ((mas->index != wr_mas->r_min)",
            "\tif ((mas->index != wr_mas->r_min)",
        )],
    },
    Edit {
        name: "plant-rcu-append",
        planted: true,
        generation: &["6.12", "6.18", "7.1"],
        about: "mas_wr_store_type() chooses wr_append in RCU mode too (before 2023's \
                'disable mas_wr_append() when other readers are possible')",
        changes: &[(
            "if (!mt_in_rcu(mas->tree) && (mas->offset == mas->end))",
            "if ((mas->offset == mas->end))",
        )],
    },
    Edit {
        name: "plant-erase-spin",
        planted: true,
        generation: &[],
        about: "an endless loop: mtree_erase() spins for ever after erasing an entry (the \
                class of a search or retry loop that never ends); the harness's test of \
                its watchdog",
        changes: &[(
            "\tentry = mas_erase(&mas);\n\tmtree_unlock(mt);",
            "\tentry = mas_erase(&mas);\n\twhile (entry)\n\t\t__asm__ volatile(\"\" ::: \"memory\");\n\tmtree_unlock(mt);",
        )],
    },
];

#[allow(dead_code)]
pub const VARIANTS: &[VariantDef] = &[
    VariantDef {
        name: "fixed",
        about: "the tree's lib/maple_tree.c with the fixes for the bugs maplefuzz found \
                (the default: campaigns look for new bugs)",
        fixed: true,
        plant: None,
    },
    VariantDef {
        name: "exact",
        about: "the tree's lib/maple_tree.c as it is",
        fixed: false,
        plant: None,
    },
    VariantDef {
        name: "stale-node-store",
        about: "fixed, plus the July 2022 stale-tail bug planted in mas_wr_node_store()",
        fixed: true,
        plant: Some("plant-stale-node-store"),
    },
    VariantDef {
        name: "stale-copy-tail",
        about: "fixed, plus stale pivots left past a node's end by 7.1's maple_copy writes \
                (node_finalise() no longer clears them; the July 2022 class), 7.1 trees only",
        fixed: true,
        plant: Some("plant-stale-copy-tail"),
    },
    VariantDef {
        name: "destroy-uaf",
        about: "fixed, plus a planted use after free in mte_destroy_walk() that kills the \
                process with SIGSEGV (fatal signals as failures: shrinking, replay, nightly)",
        fixed: true,
        plant: Some("plant-destroy-uaf"),
    },
    VariantDef {
        name: "prealloc-overask",
        about: "fixed, plus a split store's preallocation asking one node more than the \
                tree's own rule (each generation's rule, planted in its own code): caught \
                only by the check of each preallocation's size",
        fixed: true,
        plant: Some("plant-prealloc-overask"),
    },
    VariantDef {
        name: "rcu-append",
        about: "fixed, plus an append in place in RCU mode (the 2023 RCU bug, planted in \
                each generation's own code): caught by the copy-on-write check",
        fixed: true,
        plant: Some("plant-rcu-append"),
    },
    VariantDef {
        name: "erase-spin",
        about: "fixed, plus a planted endless loop in mtree_erase() (the watchdog's test)",
        fixed: true,
        plant: Some("plant-erase-spin"),
    },
    VariantDef {
        name: "leaf-gap-oob",
        about: "fixed, plus a planted read one word past a full leaf in mas_leaf_max_gap() \
                (the class of the 2022-2023 pivot-walk reads): harmless in the packed node \
                arena, reported under MAPLEFUZZ_KERNEL_SANITIZE=address",
        fixed: true,
        plant: Some("plant-leaf-gap-oob"),
    },
];
