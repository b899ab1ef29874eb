//! The per-node checks of the validator (parent slot, limits, child
//! slots, gaps) and the checks over the whole walk (NULL runs, recomputed
//! gaps, node accounting).

use super::*;

impl Validator<'_> {
    /// `mas_validate_parent_slot()`: the parent's slot named by the parent
    /// word holds this node and no other slot of the parent does.
    pub(super) fn validate_parent_slot(&self, enode: u64, me: NodeRef) -> VResult<()> {
        if self.a.is_root(enode) {
            return Ok(());
        }
        let p_addr = self.a.parent_addr(enode);
        let p_slot = self.a.parent_slot(enode);
        let p_type = self.t.parent_type(enode);
        if p_addr == me.addr {
            return fail(
                Invariant::ParentSlot,
                Some(me),
                "the node is its own parent".into(),
            );
        }
        let p_id = match addr_to_id(p_addr) {
            Some(id) if self.a.is_allocated(id) => id,
            _ => {
                return fail(
                    Invariant::ParentSlot,
                    Some(me),
                    format!(
                        "parent word {:#x} names no live node",
                        self.a.parent_word(enode)
                    ),
                )
            }
        };
        let words = self.a.words(p_id);
        for i in 0..p_type.slots() {
            let s = words[p_type.slot_base() + i];
            if i == p_slot && s != enode {
                return fail(
                    Invariant::ParentSlot,
                    Some(me),
                    format!("parent {p_addr:#x} slot {i} holds {s:#x}, not this node ({enode:#x})"),
                );
            }
            if i != p_slot && s == enode {
                return fail(
                    Invariant::ParentSlot,
                    Some(me),
                    format!(
                        "parent {p_addr:#x} holds this node in slot {i} as well as in its \
                         parent slot {p_slot}"
                    ),
                );
            }
        }
        Ok(())
    }

    /// `mas_validate_limits()` plus the stricter stale-data and ordering
    /// checks. `end` is `mas_data_end()`; returns it once it is known to
    /// agree with the pivots.
    pub(super) fn validate_limits(&self, enode: u64, me: NodeRef, end: usize) -> VResult<usize> {
        let ty = enode_type(enode);
        let n = view(self.a, enode);
        let (min, max) = (me.min, me.max);
        let mut prev = 0u64;
        let mut i = 0;
        while i < ty.slots() {
            let piv = n.safe_pivot(i, max);
            if piv == 0 && i != 0 {
                return fail(
                    Invariant::MissingPivot,
                    Some(me),
                    format!("pivot {i} is 0 before the node's limit {max:#x}"),
                );
            }
            if i != 0 && prev >= piv {
                let what = if prev > piv { "below" } else { "equal to" };
                return fail(
                    Invariant::PivotOrder,
                    Some(me),
                    format!("pivot {i} ({piv:#x}) is {what} pivot {} ({prev:#x})", i - 1),
                );
            }
            if piv < min {
                return fail(
                    Invariant::PivotLimit,
                    Some(me),
                    format!("pivot {i} ({piv:#x}) is below the node's min {min:#x}"),
                );
            }
            if piv > max {
                return fail(
                    Invariant::PivotLimit,
                    Some(me),
                    format!("pivot {i} ({piv:#x}) is above the node's max {max:#x}"),
                );
            }
            prev = piv;
            if piv == max {
                break;
            }
            i += 1;
        }
        if end != i {
            return fail(
                Invariant::DataEnd,
                Some(me),
                format!("data end {end}, but the pivot equal to the max is at offset {i}"),
            );
        }

        // Nothing past the end. The kernel exempts the last physical slot
        // (range node metadata) and only warns about the last pivot; here only
        // the metadata bytes are allowed.
        let last_slot = ty.slots() - 1;
        for j in end + 1..ty.slots() {
            let s = n.slot(j);
            let meta_slot = j == last_slot && ty != NodeType::Arange64;
            if !meta_slot && s != 0 {
                return fail(
                    Invariant::StaleSlot,
                    Some(me),
                    format!("slot {j} holds {s:#x} (data end {end})"),
                );
            }
            if meta_slot && s & !0xFFFF != 0 {
                return fail(
                    Invariant::StaleSlot,
                    Some(me),
                    format!("slot {j} holds {s:#x}, more than the metadata bytes (data end {end})"),
                );
            }
            if j < ty.pivots() {
                let p = n.pivot(j);
                if p != 0 {
                    return fail(
                        Invariant::StalePivot,
                        Some(me),
                        format!("pivot {j} holds {p:#x} (data end {end})"),
                    );
                }
            }
        }

        if ty != NodeType::Arange64 && end < ty.slots() - 1 {
            let meta = self.a.meta_end(enode);
            if meta != end {
                return fail(
                    Invariant::MetaEnd,
                    Some(me),
                    format!("metadata end {meta}, data end from the pivots {end}"),
                );
            }
        }
        Ok(end)
    }

    /// `mas_validate_child_slot()`, with each child pointer checked before it
    /// is read: every slot up to the end holds an allocated node whose parent
    /// word is exactly this node and slot.
    pub(super) fn validate_child_slots(&self, enode: u64, me: NodeRef, end: usize) -> VResult<()> {
        let ty = enode_type(enode);
        if ty.is_leaf() {
            return Ok(());
        }
        let n = view(self.a, enode);
        for i in 0..=end {
            let child = n.slot(i);
            // The child as a report names it (made only for a report).
            let cref = || {
                let (c_min, c_max) = self.child_limits(enode, me, i);
                node_ref(child, c_min, c_max, me.depth + 1)
            };
            if child == 0 {
                return fail(
                    Invariant::MissingChild,
                    Some(me),
                    format!("slot {i} is NULL"),
                );
            }
            if !looks_like_enode(child) {
                return fail(
                    Invariant::BadPointer,
                    Some(me),
                    format!("slot {i} holds {child:#x}, not an encoded node pointer"),
                );
            }
            let id = enode_id(child);
            if !self.a.is_allocated(id) {
                return fail(
                    Invariant::Freed,
                    Some(me),
                    format!("slot {i} holds {child:#x}, a node that is not allocated"),
                );
            }
            if self.a.is_dead(child) {
                return fail(
                    Invariant::Dead,
                    Some(cref()),
                    format!(
                        "parent word {:#x} points at the node itself (slot {i} of {:#x})",
                        self.a.parent_word(child),
                        me.addr
                    ),
                );
            }
            let pw = self.a.parent_word(child);
            if self.a.parent_addr(child) != me.addr || self.a.is_root(child) {
                return fail(
                    Invariant::ChildParent,
                    Some(me),
                    format!(
                        "slot {i} holds {child:#x}, whose parent word {pw:#x} names another \
                         parent"
                    ),
                );
            }
            let p_slot = self.a.parent_slot(child);
            if p_slot != i {
                return fail(
                    Invariant::ChildSlot,
                    Some(cref()),
                    format!(
                        "the node sits in slot {i} of {:#x} but its parent word {pw:#x} \
                         says slot {p_slot}",
                        me.addr
                    ),
                );
            }
            let expected = me.addr | ((i as u64) << MAPLE_PARENT_SLOT_SHIFT) | MAPLE_PARENT_RANGE64;
            if pw != expected {
                return fail(
                    Invariant::ParentSlot,
                    Some(cref()),
                    format!("parent word {pw:#x}, expected {expected:#x}"),
                );
            }
            // Unreachable once the parent words agree, but it keeps a corrupt
            // tree from being walked twice.
            if self.visited.contains(&id) {
                return fail(
                    Invariant::Duplicate,
                    Some(me),
                    format!("slot {i} holds {child:#x}, a node already reached elsewhere"),
                );
            }
        }
        Ok(())
    }

    /// The range of slot `i` of a node whose pivots passed the limits check.
    pub(super) fn child_limits(&self, enode: u64, me: NodeRef, i: usize) -> (u64, u64) {
        let min = if i == 0 {
            me.min
        } else {
            self.a.pivot(enode, i - 1).wrapping_add(1)
        };
        (min, self.safe_pivot(enode, i, me.max))
    }

    /// `mas_validate_gaps()`: the largest gap of this node, computed from its
    /// slots (leaf) or gaps (arange_64), is what its metadata and its parent
    /// record.
    pub(super) fn validate_gaps(&self, enode: u64, me: NodeRef) -> VResult<()> {
        let ty = enode_type(enode);
        let has_gaps = ty == NodeType::Arange64;
        let n = view(self.a, enode);
        let mut gap = 0u64;
        let mut max_gap = 0u64;
        let mut p_start = me.min;
        let mut i = 0;
        while i < ty.slots() {
            let p_end = n.safe_pivot(i, me.max);
            // Sizes wrap as the kernel's unsigned arithmetic does.
            let size = p_end.wrapping_sub(p_start).wrapping_add(1);
            if !has_gaps {
                if n.slot(i) == 0 {
                    gap = size;
                }
            } else {
                gap = n.gap(i);
                if n.slot(i) == 0 {
                    return fail(
                        Invariant::MissingChild,
                        Some(me),
                        format!("slot {i} is NULL"),
                    );
                }
                if gap > size {
                    return fail(
                        Invariant::GapTooLarge,
                        Some(me),
                        format!(
                            "gap {i} is {gap:#x}, larger than its range [{p_start:#x}, \
                             {p_end:#x}]"
                        ),
                    );
                }
            }
            max_gap = max_gap.max(gap);
            p_start = p_end.wrapping_add(1);
            if p_end >= me.max {
                break;
            }
            i += 1;
        }

        if has_gaps {
            let offset = self.a.meta_gap(enode);
            if offset > i || offset >= ty.slots() {
                return fail(
                    Invariant::GapOffset,
                    Some(me),
                    format!("metadata gap offset {offset}, data end {i}"),
                );
            }
            let g = n.gap(offset);
            if g != max_gap {
                return fail(
                    Invariant::MaxGap,
                    Some(me),
                    format!(
                        "metadata gap offset {offset} names gap {g:#x}, but the largest gap is \
                         {max_gap:#x}"
                    ),
                );
            }
            for j in i + 1..ty.slots() {
                let g = n.gap(j);
                if g != 0 {
                    return fail(
                        Invariant::StaleGap,
                        Some(me),
                        format!("gap {j} is {g:#x} past the data end {i}"),
                    );
                }
            }
        }

        if self.a.is_root(enode) {
            return Ok(());
        }
        if max_gap > me.max {
            return fail(
                Invariant::GapTooLarge,
                Some(me),
                format!("largest gap {max_gap:#x} exceeds the node's max"),
            );
        }
        let parent = self.t.parent_enode(enode);
        let p_slot = self.a.parent_slot(enode);
        let pg = self.a.gap(parent, p_slot);
        if pg != max_gap {
            return fail(
                Invariant::ParentGap,
                Some(me),
                format!(
                    "parent {:#x} gap {p_slot} is {pg:#x}, the node's largest gap is {max_gap:#x}",
                    enode_addr(parent)
                ),
            );
        }
        Ok(())
    }

    // ---- checks over the leaf sequence -------------------------------------

    /// `mt_validate_nulls()` (no two NULLs in a row, across leaves too), then
    /// no leaf but the right-most ending in NULL.
    pub(super) fn check_nulls(&self) -> VResult<()> {
        let mut last_null = false;
        let mut next_min = 0u64;
        for leaf in &self.leaves {
            // A partial validation walks some leaves only: the rule holds
            // between neighbours.
            if leaf.node.min != next_min {
                last_null = false;
            }
            next_min = leaf.node.max.wrapping_add(1);
            let n = view(self.a, leaf.enode);
            for off in 0..=leaf.end {
                let entry = n.slot(off);
                if last_null && entry == 0 {
                    let prev = if off == 0 {
                        "the last slot of the previous leaf".to_string()
                    } else {
                        format!("slot {}", off - 1)
                    };
                    return fail(
                        Invariant::AdjacentNulls,
                        Some(leaf.node),
                        format!("slot {off} is NULL and so is {prev}"),
                    );
                }
                last_null = entry == 0;
            }
        }
        for leaf in &self.leaves {
            if leaf.node.max != u64::MAX && self.a.slot(leaf.enode, leaf.end) == 0 {
                return fail(
                    Invariant::TrailingNull,
                    Some(leaf.node),
                    format!("the last slot ({}) is NULL", leaf.end),
                );
            }
        }
        Ok(())
    }

    /// Each arange_64 gap against the largest NULL run of its child subtree.
    pub(super) fn check_recomputed_gaps(&self) -> VResult<()> {
        for c in &self.gap_checks {
            // The kernel's sizes wrap at 2^64; so does the comparison.
            if c.gap != c.runs as u64 {
                return fail(
                    Invariant::GapRecompute,
                    Some(c.node),
                    format!(
                        "gap {} is {:#x}, the largest NULL run below slot {} is {:#x}",
                        c.slot, c.gap, c.slot, c.runs
                    ),
                );
            }
        }
        Ok(())
    }

    // ---- node accounting -----------------------------------------------------

    pub(super) fn check_accounting(&self) -> VResult<()> {
        let live = self.a.live();
        let reachable = self.visited.len() as u64;
        let pooled = self.a.pooled;
        if live != reachable + pooled {
            return fail(
                Invariant::Leak,
                None,
                format!(
                    "{live} nodes allocated, {reachable} reachable from the root, {pooled} \
                     pooled ({} unaccounted)",
                    live as i128 - (reachable + pooled) as i128
                ),
            );
        }
        Ok(())
    }
}
