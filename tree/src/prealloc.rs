//! Preallocation (Linux 6.12): `mas_preallocate()` reserves the nodes a
//! store may need, sized by `mas_prealloc_calc()` from the store type and
//! the tree height; `mas_store_prealloc()` stores without allocating and
//! releases the leftovers; `mas_store()` on a preallocated state stores
//! without allocating and keeps the leftovers for further stores until
//! `mas_destroy()`.
//!
//! A store that needs more nodes than its state holds does not allocate a
//! fresh one: it raises [`PreallocViolation`](super::PreallocViolation), as
//! the kernel WARNs and crashes there.

use super::alloc::{mas_allocated, mas_destroy, mas_node_count, PreallocViolation};
use super::state::{Mas, MA_STATE_PREALLOC};
use super::write::{
    mas_prealloc_calc, mas_wr_end_piv, mas_wr_prealloc_setup, mas_wr_store_entry,
    mas_wr_store_type, mas_wr_walk_descend, WrState,
};
use super::{Errno, MapleTree, StorePlan, StoreType};
use crate::mutants::{active, Mutant};

/// `mas_preallocate()`: classify the store of `entry` over the state's range
/// and allocate what it may need. On `ENOMEM` the state holds nothing and is
/// reset. Returns the number of nodes requested (the kernel's rule), for
/// checks and tests.
pub(crate) fn mas_preallocate(
    t: &mut MapleTree,
    mas: &mut Mas,
    entry: u64,
) -> Result<usize, Errno> {
    let mut wr = WrState::new(entry);
    mas_wr_prealloc_setup(t, mas, &mut wr);
    mas_wr_store_type(t, mas, &mut wr);
    let request = mas_prealloc_calc(t, mas, entry);
    if request != 0 {
        mas.flags &= !MA_STATE_PREALLOC;
        mas_node_count(t, mas, request);
        if mas.is_err() {
            super::alloc::mas_set_alloc_req_zero(t);
            let err = mas.err;
            mas_destroy(t, mas);
            mas.reset();
            return Err(err);
        }
    }
    mas.flags |= MA_STATE_PREALLOC;
    Ok(request)
}

/// The first half of `mas_preallocate()` on a fresh state: set up, walk and
/// classify the store, and report what the walk learned.
pub(crate) fn plan_store(t: &MapleTree, first: u64, last: u64, entry: u64) -> StorePlan {
    let mut mas = Mas::new(first, last);
    let mut wr = WrState::new(entry);
    mas_wr_prealloc_setup(t, &mut mas, &mut wr);
    mas_wr_store_type(t, &mut mas, &mut wr);
    StorePlan {
        store_type: mas.store_type,
        height: t.height(),
        vacant_height: wr.vacant_height,
        sufficient_height: wr.sufficient_height,
        in_rcu: t.in_rcu(),
        index: first,
        last,
        entry,
    }
}

/// `mas_store_prealloc()`: store on a preallocated state, then release what
/// is left.
pub(crate) fn mas_store_prealloc(t: &mut MapleTree, mas: &mut Mas, entry: u64) {
    let mut wr = WrState::new(entry);
    if mas.store_type == StoreType::StoreRoot {
        mas_wr_prealloc_setup(t, mas, &mut wr);
    } else {
        mas_wr_walk_descend(t, mas, &mut wr);
        if mas.store_type != StoreType::SpanningStore {
            wr.content = t.arena.slot(mas.node, mas.offset);
            mas_wr_end_piv(t, mas, &mut wr);
        }
    }
    mas_wr_store_entry(t, mas, &mut wr);
    if mas.is_err() {
        std::panic::panic_any(PreallocViolation(format!(
            "mas_store_prealloc() left the state in error {:?}",
            mas.err
        )));
    }
    mas_destroy(t, mas);
}

/// `mas_store()`: the advanced store. On a preallocated state it never
/// allocates and keeps the leftovers; otherwise it allocates what the store
/// needs (an atomic allocation that may fail: the state is left in error
/// and nothing is written), stores, and releases the leftovers. Returns the
/// entry first overwritten.
pub(crate) fn mas_store(t: &mut MapleTree, mas: &mut Mas, entry: u64) -> u64 {
    let mut wr = WrState::new(entry);
    if mas.index > mas.last {
        mas.set_err(Errno::EINVAL);
        return 0;
    }
    mas_wr_prealloc_setup(t, mas, &mut wr);
    mas_wr_store_type(t, mas, &mut wr);
    if mas.flags & MA_STATE_PREALLOC != 0 {
        mas_wr_store_entry(t, mas, &mut wr);
        if mas.is_err() {
            std::panic::panic_any(PreallocViolation(format!(
                "mas_store() on a preallocated state left it in error {:?}",
                mas.err
            )));
        }
        // Mutant prealloc-first-store (2022, __vma_adjust): each store of a
        // preallocated pair then went through mas_store_prealloc(), which
        // ends with mas_destroy(), so the first store released the nodes the
        // second one needed.
        if active(Mutant::PreallocFirstStore) {
            mas_destroy(t, mas);
        }
        return wr.content;
    }
    let request = mas_prealloc_calc(t, mas, entry);
    if request != 0 {
        mas_node_count(t, mas, request);
        if mas.is_err() {
            return 0;
        }
    }
    mas_wr_store_entry(t, mas, &mut wr);
    mas_destroy(t, mas);
    wr.content
}

/// Whether the state holds a preallocation (`MA_STATE_PREALLOC`): set by
/// `mas_preallocate()`, kept by `mas_store()`, cleared by `mas_destroy()`.
pub(crate) fn is_preallocated(mas: &Mas) -> bool {
    mas.flags & MA_STATE_PREALLOC != 0
}

/// Nodes a state's pool holds (`mas_allocated()`), for callers outside a write.
pub(crate) fn allocated(t: &MapleTree) -> usize {
    mas_allocated(t)
}
