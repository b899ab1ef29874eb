//! The checks the executor makes after each op of a maple tree program, one
//! function each, in the order [`super::run_steps`] calls them. Each returns
//! the [`Divergence`] of the first engine that fails it; the doc comment of
//! each says the class of bug it catches.

use super::{e_name, Applied, At, Check, Divergence, Event, RunStats};
use crate::engine::{Outcome, TreeEngine};
use crate::ops::{token_to_entry, TreeOp};
use crate::tree::StorePlan;

/// A **caller error** (the program broke a kernel calling convention: a
/// store beyond a bulk reservation, a preallocated store that needed more)
/// ends the run without a divergence, as `Ok(Some(why))`. The engines with
/// nodes judge such errors themselves, and they must agree: one that stops
/// where another goes on is a **result** divergence, so a port bug cannot
/// hide behind a stop (the last engine with nodes, the kernel when it runs,
/// is the reference for what nodes do).
pub(crate) fn caller_error(
    engines: &[Box<dyn TreeEngine>],
    outcomes: &[Outcome],
    at: &At<'_>,
) -> Result<Option<String>, Box<Divergence>> {
    let Some(msg) = outcomes.iter().find_map(|o| match o {
        Outcome::CallerError(m) => Some(m.clone()),
        _ => None,
    }) else {
        return Ok(None);
    };
    let node_stops: Vec<(usize, bool)> = engines
        .iter()
        .zip(outcomes)
        .enumerate()
        .filter(|(_, (e, _))| e.inspect().is_some())
        .map(|(i, (_, o))| (i, matches!(o, Outcome::CallerError(_))))
        .collect();
    if let Some(&(r, reference)) = node_stops.last() {
        if let Some(&(i, _)) = node_stops.iter().find(|(_, s)| *s != reference) {
            let (stopped, went_on) = if reference { (r, i) } else { (i, r) };
            let detail = format!(
                "the engines with nodes disagree on a caller error: {} stopped ({}), {} went on \
                 ({:?})",
                e_name(engines, stopped),
                msg,
                e_name(engines, went_on),
                outcomes[went_on]
            );
            return Err(at.diverge(engines, Check::Result, e_name(engines, i), detail));
        }
    }
    Ok(Some(msg))
}

/// **result**: every engine returned what the reference returned (a wrong
/// entry, a wrong error, a cursor left at the wrong place). When an
/// injected allocation failure fired during the op, the **atomicity** check
/// ([`faulted_op`]) judges the answers instead. Either way the reference
/// engine then stands where the op left the others.
pub(crate) fn results(
    engines: &mut [Box<dyn TreeEngine>],
    applied: Applied,
    at: &At<'_>,
    observe: &mut dyn FnMut(Event),
) -> Result<Option<String>, Box<Divergence>> {
    let outcomes = &applied.outcomes;
    if let Some(after) = applied.reference_after {
        let faulted: Vec<bool> = engines
            .iter()
            .zip(&applied.failed_before)
            .map(|(e, b)| e.inspect().is_some_and(|i| i.failed_allocs() > *b))
            .collect();
        if faulted.iter().any(|f| *f) {
            let no_effect = faulted_op(engines, after.as_ref(), &faulted, outcomes, at)?;
            observe(Event::Fault {
                step: at.step,
                no_effect,
            });
            return Ok(None);
        }
        engines[0] = after;
    }
    for (i, o) in outcomes.iter().enumerate().skip(1) {
        if !outcomes[0].admits(o) {
            let detail = format!(
                "{}: {:?}\n{}: {:?}",
                engines[0].name(),
                outcomes[0],
                engines[i].name(),
                o
            );
            return Err(at.diverge(engines, Check::Result, e_name(engines, i), detail));
        }
    }
    if matches!(outcomes[0], Outcome::OneOf(_)) && outcomes.len() > 1 {
        return follow_answer(engines, outcomes, at);
    }
    Ok(None)
}

/// After a reference answered with several possible answers (a gap search
/// resumed from the cursor, whose start follows node boundaries): engines
/// of one generation build the same nodes and must give the same one; the
/// reference then stands where that answer leaves the state. Engines of
/// different generations may split their leaves elsewhere and answer
/// differently, each correctly: their cursors then stand in different
/// places and the programs' next writes would make different trees, so the
/// run ends there (`Some(reason)`, as a caller error ends one).
fn follow_answer(
    engines: &mut [Box<dyn TreeEngine>],
    outcomes: &[Outcome],
    at: &At<'_>,
) -> Result<Option<String>, Box<Divergence>> {
    for i in 1..outcomes.len() {
        for j in 1..i {
            if outcomes[i] == outcomes[j] || engines[i].generation() != engines[j].generation() {
                continue;
            }
            let detail = format!(
                "two engines of generation {} answered differently where the reference admits \
                 either\n{}: {:?}\n{}: {:?}",
                engines[i].generation().unwrap_or("-"),
                engines[j].name(),
                outcomes[j],
                engines[i].name(),
                outcomes[i]
            );
            return Err(at.diverge(engines, Check::Result, e_name(engines, i), detail));
        }
    }
    engines[0].follow(at.op, &outcomes[1]);
    if let Some(i) = (2..outcomes.len()).find(|&i| outcomes[i] != outcomes[1]) {
        return Ok(Some(format!(
            "{} on the cursor: {} answered {:?} and {} answered {:?}, each as its own node \
             layout gives it; their cursors part here",
            at.op.kind(),
            engines[1].name(),
            outcomes[1],
            engines[i].name(),
            outcomes[i]
        )));
    }
    Ok(None)
}

/// **atomicity**, for an op during which an injected allocation failure
/// fired (the class of the 2022 `__vma_adjust` unwinding doubts and of
/// `mas_nomem()` retry bugs). Each engine must be in one of two worlds: the
/// op took full effect (the kernel's retry succeeded: its result equals the
/// reference's), or none at all (its result is the kernel's answer to the
/// failure, e.g. `ENOMEM`), and all engines of one generation in the same
/// one (the n-th allocation is the same allocation only within a
/// generation: a 7.1 kernel may fail where the port's retry succeeds). The reference engine
/// (`engines[0]`, not yet changed) is moved to the world the engines are
/// in; `after` is a copy of it with the op applied. When generations end
/// in different worlds (each correct on its own), the ones where the op
/// failed redo it with their fault schedules suspended, and must then stand
/// where the op alone leaves the tree. Returns whether the op had no
/// effect.
fn faulted_op(
    engines: &mut [Box<dyn TreeEngine>],
    after: &dyn TreeEngine,
    faulted: &[bool],
    outcomes: &[Outcome],
    at: &At<'_>,
) -> Result<bool, Box<Divergence>> {
    let op = at.op;
    let before_entries = engines[0].entries();
    let after_entries = after.entries();
    // The world of each generation so far; an engine of no generation is
    // judged on its own.
    let mut worlds: Vec<(Option<&'static str>, bool)> = Vec::new();
    let mut any_after = false;
    for i in 1..engines.len() {
        let gen = engines[i].generation();
        let world_before = worlds
            .iter()
            .find(|(g, _)| g.is_some() && *g == gen)
            .map(|&(_, w)| w);
        let got = engines[i].entries();
        let in_after = got == after_entries;
        let in_before = got == before_entries;
        let (world, ok) = if in_after && outcomes[i] == outcomes[0] {
            (false, true)
        } else if in_before && faulted[i] {
            let failure_answer = Outcome::enomem(op).is_some_and(|o| outcomes[i] == o)
                // mtree_erase() returns the entry even when its store failed.
                || (matches!(op, TreeOp::Erase { .. }) && outcomes[i] == outcomes[0])
                // So does mas_erase(), leaving its state in error status,
                // where the range it holds means nothing (the next op
                // that resumes from it is refused).
                || (matches!(op, TreeOp::CurErase) && erase_failed(&outcomes[i], &outcomes[0]));
            (true, failure_answer)
        } else {
            (false, false)
        };
        let agrees = world_before.map_or(true, |w| w == world);
        if !ok || !agrees {
            let detail = format!(
                "an injected allocation failure fired during the op; {} returned {:?} and its \
                 entries are {}; the op alone returns {:?}\n{}",
                engines[i].name(),
                outcomes[i],
                if in_after {
                    "as after the op"
                } else if in_before {
                    "as before the op"
                } else {
                    "neither as before nor as after the op"
                },
                outcomes[0],
                entries_diff(
                    if in_before {
                        &before_entries
                    } else {
                        &after_entries
                    },
                    &got
                )
            );
            let name = e_name(engines, i);
            return Err(at.diverge(engines, Check::Atomicity, name, detail));
        }
        worlds.push((gen, world));
        any_after |= !world;
    }
    if any_after && worlds.iter().any(|&(_, w)| w) {
        // Generations parted: the op failed whole in some and took effect
        // in others, each correctly for the allocations it makes. Bring the
        // failed ones level by redoing the op with their fault schedule
        // suspended: it must then do exactly what the op alone does.
        for (k, &(_, failed)) in worlds.iter().enumerate() {
            if !failed {
                continue;
            }
            let i = k + 1;
            let e = &mut engines[i];
            let redo =
                std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| e.apply_unfaulted(op)));
            let name = e_name(engines, i);
            let redo = match redo {
                Ok(o) => o,
                Err(p) => {
                    let detail = format!(
                        "redoing the op without injected failures (another generation's op \
                         took effect) panicked: {}",
                        super::panic_message(&*p)
                    );
                    return Err(at.diverge(engines, Check::Crash, name, detail));
                }
            };
            let got = engines[i].entries();
            if !outcomes[0].admits(&redo) || got != after_entries {
                let detail = format!(
                    "the op failed whole under the injected failure, and redone without it \
                     returned {redo:?} where the op alone returns {:?}\n{}",
                    outcomes[0],
                    entries_diff(&after_entries, &got)
                );
                return Err(at.diverge(engines, Check::Atomicity, name, detail));
            }
        }
        let copy = after
            .snapshot()
            .expect("the reference engine can be copied");
        engines[0] = copy;
        return Ok(false);
    }
    if !any_after && !worlds.is_empty() {
        // The op did nothing to the tree; what every engine does to its
        // maple state before any such op (ending a pending preallocation's
        // store_prealloc readiness) still stands.
        if !crate::engine::leaves_state_alone(op) {
            engines[0].apply(&TreeOp::MasDestroy);
        }
    } else {
        let copy = after
            .snapshot()
            .expect("the reference engine can be copied");
        engines[0] = copy;
    }
    Ok(!any_after && !worlds.is_empty())
}

/// Whether `got` is what `mas_erase()` answers when its store ran out of
/// memory, where the op alone answers `alone`: the same entry, the state in
/// error status.
fn erase_failed(got: &Outcome, alone: &Outcome) -> bool {
    match (got, alone) {
        (
            Outcome::Cursor {
                entry,
                status: crate::tree::Status::Error,
                ..
            },
            Outcome::Cursor { entry: e, .. },
        ) => entry == e,
        _ => false,
    }
}

/// Whether `op` may change an RCU-mode tree's nodes (a write, or the end
/// of a bulk load).
pub(crate) fn changes_tree(op: &TreeOp) -> bool {
    op.is_write() || matches!(op, TreeOp::MasDestroy)
}

/// The nodes readers could reach now, for every engine that shows its
/// nodes raw and has no image yet (its image from the last write stands
/// otherwise: nothing changes the tree between writes).
pub(crate) fn rcu_capture(
    engines: &mut [Box<dyn TreeEngine>],
    images: &mut [Option<crate::tree::RcuImage>],
) {
    for (e, img) in engines.iter_mut().zip(images.iter_mut()) {
        if img.is_none() {
            *img = rcu_image(&**e);
            if img.is_some() {
                // What changes from now on is what the image advances by.
                let _ = e.take_changed_nodes();
            }
        }
    }
}

/// The image of an engine whose tree is in RCU mode now (a 6.1 tree leaves
/// it at a destroy, which clears every flag).
fn rcu_image(e: &dyn TreeEngine) -> Option<crate::tree::RcuImage> {
    let ins = e.inspect()?;
    let root = ins.raw_root()?;
    if !ins.rcu_mode() {
        return None;
    }
    let src = |a: u64| ins.raw_node(a);
    Some(crate::tree::RcuImage::capture(root, &src))
}

/// **rcu**, after a write to an RCU-mode tree and before the grace period
/// ends, for each engine that shows its nodes raw (the port, the kernel):
/// every node readers could reach before the write is still allocated;
/// one that left the tree is marked dead; one still in it changed only by
/// the in-place writes the kernel allows under readers (an exact fit, a
/// two-slot slot store, one child pointer swapped for its replacement,
/// gaps, a parent pointer: [`crate::tree::RcuImage::check_write`]). This
/// is what the 2023 RCU fixes were about: an append in place, nodes freed
/// without a grace period, dead nodes readers could not recognise.
///
/// For an engine that journals its stores (the port), readers beside the
/// write are checked too: after each store a reader could observe, a
/// lookup of each index the write changed (and those beside them) finds
/// the value before the write or after it
/// ([`crate::tree::RcuImage::check_readers`]), so an in-place write in the
/// wrong order is caught even when its end state is allowed.
///
/// Each engine's image is advanced at the cost of what the write changed:
/// by the port's journal, or by the nodes the kernel's shim saw change
/// ([`TreeEngine::take_changed_nodes`]); only an engine that can tell
/// neither, or a write that changed too many nodes to list, has its whole
/// tree read again.
pub(crate) fn copy_on_write(
    engines: &mut [Box<dyn TreeEngine>],
    at: &At<'_>,
    images: &mut [Option<crate::tree::RcuImage>],
) -> Result<(), Box<Divergence>> {
    let write = changes_tree(at.op);
    for i in 0..engines.len() {
        let journal = engines[i].take_store_journal();
        if journal.is_none() && !write {
            continue;
        }
        let Some(mut before) = images[i].take() else {
            continue;
        };
        let changed = if journal.is_none() {
            engines[i].take_changed_nodes()
        } else {
            None
        };
        let e = &engines[i];
        let ins = e.inspect().expect("an engine with an image has nodes");
        let Some(root) = ins.raw_root() else {
            continue;
        };
        let src = |a: u64| ins.raw_node(a);
        let verdict = match (&journal, &changed) {
            // The port: the stores it made, at the cost of what they touched.
            (Some(stores), _) => before.advance(stores, &src).map(|()| before),
            // The kernel: the nodes its shim saw change.
            (None, Some(nodes)) => before.advance_changed(nodes, root, &src).map(|()| before),
            (None, None) => {
                let after = crate::tree::RcuImage::capture(root, &src);
                before.check_write(&after, &src).map(|()| after)
            }
        };
        match verdict {
            // The next write's image, if the tree is still in RCU mode.
            Ok(after) => images[i] = ins.rcu_mode().then_some(after),
            Err(why) => return Err(at.diverge(engines, Check::Rcu, e_name(engines, i), why)),
        }
    }
    Ok(())
}

/// Ends the RCU grace period of every engine: the nodes replaced by the op
/// are freed now. A bad free or a wild pointer in a callback (the RCU
/// destroy walk of findings 4 and 7) is a crash of that engine.
pub(crate) fn grace_period(
    engines: &mut [Box<dyn TreeEngine>],
    at: &At<'_>,
) -> Result<(), Box<Divergence>> {
    for i in 0..engines.len() {
        maplefuzz_kernel::isolate::set_position(at.step, at.base + i);
        let r =
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| engines[i].grace_period()));
        if let Err(p) = r {
            maplefuzz_kernel::isolate::set_position(at.step, maplefuzz_kernel::isolate::NO_ENGINE);
            let detail = format!(
                "the RCU callbacks after the op panicked: {}",
                super::panic_message(&*p)
            );
            return Err(at.diverge(engines, Check::Crash, e_name(engines, i), detail));
        }
    }
    maplefuzz_kernel::isolate::set_position(at.step, maplefuzz_kernel::isolate::NO_ENGINE);
    Ok(())
}

/// **contents**: every engine holds the reference's entries (a lost,
/// duplicated or misplaced range: the spanning-store duplicate of 2024, a
/// VMA that appears twice). After a store, insert or erase the entries
/// around the touched range are compared; with `full` (every
/// `full_every` ops, after a destroy, at the end) all of them.
pub(crate) fn contents(
    engines: &[Box<dyn TreeEngine>],
    at: &At<'_>,
    full: bool,
    stats: &mut RunStats,
) -> Result<(), Box<Divergence>> {
    let range = if full { None } else { touched(at.op) };
    if !full && range.is_none() {
        return Ok(());
    }
    let mut lists: Vec<Vec<(u64, u64, u64)>> = Vec::with_capacity(engines.len());
    for (i, e) in engines.iter().enumerate() {
        // Reading a corrupt tree may itself fail (an iterator running off
        // a node, a BUG in the kernel's walk): a crash of that engine.
        let read = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| match range {
            None => e.entries(),
            Some((lo, hi)) => e.entries_in(lo, hi),
        }));
        match read {
            Ok(l) => lists.push(l),
            Err(p) => {
                let detail = format!(
                    "reading its entries panicked: {}",
                    super::panic_message(&*p)
                );
                return Err(at.diverge(engines, Check::Crash, e_name(engines, i), detail));
            }
        }
    }
    if full {
        stats.max_entries = stats.max_entries.max(lists[0].len());
    }
    for (i, l) in lists.iter().enumerate().skip(1) {
        if *l != lists[0] {
            let scope = match range {
                None => "all entries".to_string(),
                Some((lo, hi)) => format!("entries meeting [{lo:#x}, {hi:#x}]"),
            };
            let detail = format!(
                "{scope} differ ({} left, {} right):\n{}",
                engines[0].name(),
                engines[i].name(),
                entries_diff(&lists[0], l)
            );
            return Err(at.diverge(engines, Check::Contents, e_name(engines, i), detail));
        }
    }
    Ok(())
}

/// **accounting**, for engine `i` if it has nodes: every node allocated is
/// reachable from the root or held by a maple state (a leak: the 2022
/// destroy-walk fix that freed too few leaves, the 2023 `mas_alloc_nodes()`
/// count reset; a node freed twice shows as a crash of the allocator).
pub(crate) fn accounting(
    engines: &[Box<dyn TreeEngine>],
    i: usize,
    at: &At<'_>,
) -> Result<(), Box<Divergence>> {
    let Some(ins) = engines[i].inspect() else {
        return Ok(());
    };
    let acc = ins.accounting();
    if acc.balanced() {
        return Ok(());
    }
    let detail = format!(
        "{} nodes allocated, {} reachable from the root, {} held by maple states: {} unaccounted",
        acc.live,
        acc.reachable,
        acc.held,
        acc.live as i128 - (acc.reachable + acc.held) as i128
    );
    Err(at.diverge(engines, Check::Accounting, e_name(engines, i), detail))
}

/// **validate**, for engine `i` if it has nodes: its own structural checks
/// (the kernel's `mt_validate()` and stricter ones: no slot or pivot past a
/// node's data end, the July 2022 stale tail that lookups never see; parent
/// links, limits, gaps, occupancy). With `written` (between full passes),
/// those checks on the nodes the op wrote and the paths to them and to the
/// op's keys, for an engine that knows which nodes it wrote (a stale slot or
/// a wrong gap that a later op would overwrite before the next full pass is
/// caught at the op that made it).
pub(crate) fn validate(
    engines: &[Box<dyn TreeEngine>],
    i: usize,
    at: &At<'_>,
    written: bool,
) -> Result<(), Box<Divergence>> {
    let Some(ins) = engines[i].inspect() else {
        return Ok(());
    };
    let r = if written {
        ins.validate_written(touched(at.op))
    } else {
        ins.validate()
    };
    r.map_err(|msg| at.diverge(engines, Check::Validate, e_name(engines, i), msg))
}

/// **structure**: every engine with nodes holds the same node graph, word
/// for word, as the first one of its generation (a port that is not
/// faithful: a different store type, split point or rebalance, which the
/// contents hide). Engines of different generations (the port and a 7.1
/// kernel) legitimately build different layouts and are not compared.
pub(crate) fn structure(
    engines: &[Box<dyn TreeEngine>],
    at: &At<'_>,
) -> Result<(), Box<Divergence>> {
    let with_nodes: Vec<usize> = (0..engines.len())
        .filter(|&i| engines[i].inspect().is_some())
        .collect();
    for (k, &i) in with_nodes.iter().enumerate() {
        let gen = engines[i].generation();
        // The first engine of this generation, if it is not this one.
        let Some(&first) = with_nodes[..k]
            .iter()
            .find(|&&j| engines[j].generation() == gen)
        else {
            continue;
        };
        let (Some(base), Some(other)) = (engines[first].inspect(), engines[i].inspect()) else {
            continue;
        };
        let mut diff = None;
        let mut had = false;
        base.with_nodes(&mut |a| {
            had = other.with_nodes(&mut |b| diff = crate::tree::structure_diff(a, b));
        });
        if let (true, Some(d)) = (had, diff) {
            let detail = format!(
                "node layouts differ ({} first, {} second): {d}",
                engines[first].name(),
                engines[i].name()
            );
            return Err(at.diverge(engines, Check::Structure, e_name(engines, i), detail));
        }
    }
    Ok(())
}

/// **traffic**: engines of one generation allocate and free the same
/// number of nodes in every op, as they must if they run the same code
/// (an over-allocating bulk reservation, a push/pop slip, a node allocated
/// and freed again: slips that leave no other trace, since the extra node
/// is gone by the end of the op). `before` is each engine's
/// [`node_traffic`](crate::engine::Inspect::node_traffic) before the step.
pub(crate) fn traffic(
    engines: &[Box<dyn TreeEngine>],
    at: &At<'_>,
    before: &[Option<(u64, u64)>],
) -> Result<(), Box<Divergence>> {
    let delta = |i: usize| -> Option<(u64, u64)> {
        let (a0, f0) = before[i]?;
        let (a1, f1) = engines[i].inspect()?.node_traffic()?;
        Some((a1 - a0, f1 - f0))
    };
    for i in 0..engines.len() {
        let (Some(gen), Some(d)) = (engines[i].generation(), delta(i)) else {
            continue;
        };
        let Some((first, d0)) = (0..i)
            .filter(|&j| engines[j].generation() == Some(gen))
            .find_map(|j| delta(j).map(|d| (j, d)))
        else {
            continue;
        };
        if d != d0 {
            let detail = format!(
                "during the op {} allocated {} and freed {} nodes, {} allocated {} and freed {}",
                engines[first].name(),
                d0.0,
                d0.1,
                engines[i].name(),
                d.0,
                d.1
            );
            return Err(at.diverge(engines, Check::Traffic, e_name(engines, i), detail));
        }
    }
    Ok(())
}

/// Before a `prealloc` op, for each engine that has nodes and a known
/// preallocation rule: what its `mas_preallocate()` will learn of the store
/// (from the engine's own nodes: the port's tree, or a copy of a kernel's),
/// and its allocations refused so far. `None` for the others and for every
/// other op. Written into `plans` (a buffer kept between steps).
pub(crate) fn prealloc_plans(
    engines: &[Box<dyn TreeEngine>],
    op: &TreeOp,
    plans: &mut Vec<Option<(StorePlan, u64)>>,
) {
    plans.clear();
    let TreeOp::Prealloc { first, last, value } = *op else {
        plans.resize(engines.len(), None);
        return;
    };
    let entry = value.map(token_to_entry);
    plans.extend(engines.iter().map(|e| {
        let ins = e.inspect()?;
        e.prealloc_rule()?;
        let mut plan = None;
        // A tree an earlier op corrupted can make the planning walk panic
        // as the op itself would; the op, which runs next, is where that
        // is caught and reported (as a crash), so no plan is made here.
        let walked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            ins.with_nodes(&mut |t| plan = Some(t.plan_store(first, last, entry)))
        }));
        walked.ok()?;
        Some((plan?, ins.failed_allocs()))
    }));
}

/// **prealloc** (its size): a `mas_preallocate()` that succeeded with no
/// allocation refused tops the writer up to what its kernel version's rule
/// asks for that store ([`crate::engine::PreallocRule`], written from each
/// version's source), keeping more only if it already held more. Too few
/// nodes would show later as a store running short, but only on a store
/// that needs them all; too many, or another version's rule, leave no
/// other trace: the extra nodes go back at `mas_destroy()`. `plans` is
/// [`prealloc_plans`] of the step, `ok` whether each engine's op succeeded
/// (read only where a plan is: a `prealloc` op).
pub(crate) fn prealloc_request(
    engines: &[Box<dyn TreeEngine>],
    at: &At<'_>,
    plans: &[Option<(StorePlan, u64)>],
    ok: &[bool],
) -> Result<(), Box<Divergence>> {
    for (i, e) in engines.iter().enumerate() {
        let (Some((plan, failed_before)), Some(rule), Some(ins)) =
            (plans[i], e.prealloc_rule(), e.inspect())
        else {
            continue;
        };
        let Some(had) = ins.held_at_prealloc() else {
            continue;
        };
        if !ok[i] || ins.failed_allocs() != failed_before {
            continue;
        }
        let held = ins.accounting().held;
        let asked = rule.request(&plan);
        if held != asked.max(had) {
            let detail = format!(
                "mas_preallocate() left the writer holding {held} nodes (it held {had}) for a \
                 {} of {:#x}-{:#x} at height {} (lowest vacant node at height {}, sufficient \
                 at {}); the rule of {} asks for {asked}",
                plan.store_type.name(),
                plan.index,
                plan.last,
                plan.height,
                plan.vacant_height,
                plan.sufficient_height,
                rule.versions()
            );
            return Err(at.diverge(engines, Check::Prealloc, e_name(engines, i), detail));
        }
    }
    Ok(())
}

/// The range of entries an op may have changed, widened by one index on
/// each side so that trimmed neighbours are compared too.
fn touched(op: &TreeOp) -> Option<(u64, u64)> {
    match *op {
        TreeOp::Store { first, last, .. } | TreeOp::Insert { first, last, .. } => {
            let (a, b) = if first <= last {
                (first, last)
            } else {
                (last, first)
            };
            Some((a.saturating_sub(1), b.saturating_add(1)))
        }
        TreeOp::Erase { index } => Some((index.saturating_sub(1), index.saturating_add(1))),
        _ => None,
    }
}

fn entries_diff(a: &[(u64, u64, u64)], b: &[(u64, u64, u64)]) -> String {
    let fmt = |v: &[(u64, u64, u64)]| -> Vec<String> {
        v.iter()
            .map(|(x, y, t)| format!("{x:#x}-{y:#x} v{t}"))
            .collect()
    };
    format!("{}", pretty_assertions::Comparison::new(&fmt(a), &fmt(b)))
}
