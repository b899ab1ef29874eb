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
    /// What it changes and why.
    pub about: &'static str,
    /// (text found, replacement), applied in order.
    pub changes: &'static [(&'static str, &'static str)],
}

/// One build of the C code.
#[allow(dead_code)]
pub struct VariantDef {
    /// The name `--engines kernel:<name>` selects.
    pub name: &'static str,
    /// What it is.
    pub about: &'static str,
    /// The edits applied to it, by name.
    pub edits: &'static [&'static str],
}

/// The fixes for the Linux 6.12 bugs this project found (the same fixes
/// `maplefuzz::tree::Fixes` makes in the port).
const FIXES: &[&str] = &[
    "fix-rev-gap-window",
    "fix-whole-space-gap",
    "fix-insert-whole-space",
    "fix-rcu-destroy-meta",
];

#[allow(dead_code)]
pub const EDITS: &[Edit] = &[
    Edit {
        name: "fix-rev-gap-window",
        planted: false,
        about: "mas_rev_awalk(): `size <= last - min + 1` wraps to 0 for a window \
                ending at ULONG_MAX over a slot starting at 0; compare size - 1 <= last - min",
        changes: &[("(size <= mas->last - min + 1)", "(size - 1 <= mas->last - min)")],
    },
    Edit {
        name: "fix-whole-space-gap",
        planted: false,
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
        about: "mas_insert() skips its occupancy check for a new-root store, so \
                mtree_insert_range(0, ULONG_MAX) overwrites a single-leaf tree; fail with EEXIST",
        changes: &[(
            "\tif (mas->store_type == wr_spanning_store)\n\t\tgoto exists;",
            "\tif (mas->store_type == wr_spanning_store ||\n\t    (mas->store_type == wr_new_root && mfk_tree_has_entry(mas->tree)))\n\t\tgoto exists;",
        )],
    },
    Edit {
        name: "fix-rcu-destroy-meta",
        planted: false,
        about: "RCU destroy: mt_clear_meta() on a start node whose 16th slot holds a child \
                (type bits already stripped by mte_dead_leaves()) writes the metadata over \
                that pointer; mt_free_walk() then frees the wrong node and leaks the child. \
                Clear the metadata only when the node has room for it",
        changes: &[(
            "\telse\n\t\tmt_clear_meta(mt, node, node->type);",
            "\telse if (ma_is_leaf(node->type) ||\n\t\t node->slot_len < mt_slots[node->type])\n\t\tmt_clear_meta(mt, node, node->type);",
        )],
    },
    Edit {
        name: "plant-stale-node-store",
        planted: true,
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
];

#[allow(dead_code)]
pub const VARIANTS: &[VariantDef] = &[
    VariantDef {
        name: "fixed",
        about: "the tree's lib/maple_tree.c with the fixes for the bugs maplefuzz found \
                (the default: campaigns look for new bugs)",
        edits: FIXES,
    },
    VariantDef {
        name: "exact",
        about: "the tree's lib/maple_tree.c as it is",
        edits: &[],
    },
    VariantDef {
        name: "stale-node-store",
        about: "fixed, plus the July 2022 stale-tail bug planted in mas_wr_node_store()",
        edits: &[
            "fix-rev-gap-window",
            "fix-whole-space-gap",
            "fix-insert-whole-space",
            "fix-rcu-destroy-meta",
            "plant-stale-node-store",
        ],
    },
];
