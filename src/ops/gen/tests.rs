//! Tests of `src/ops/gen/`.

use super::*;
use crate::tree::MapleTree;
use rand::SeedableRng;
use std::collections::HashSet;

fn program(seed: u64) -> Program {
    generate(&mut ChaCha8Rng::seed_from_u64(seed))
}

#[test]
fn deterministic() {
    for seed in 0..20 {
        assert_eq!(program(seed), program(seed));
    }
    assert_ne!(program(1), program(2));
}

#[test]
fn lengths_vary_and_stay_in_bounds() {
    let lens: Vec<usize> = (0..200).map(|s| program(s).ops.len()).collect();
    assert!(lens.iter().all(|&n| (10..=4000).contains(&n)), "{lens:?}");
    assert!(lens.iter().any(|&n| n < 100));
    assert!(lens.iter().any(|&n| n >= 1000));
}

#[test]
fn every_op_kind_and_config_appears() {
    let mut kinds = HashSet::new();
    let mut configs = HashSet::new();
    let mut null_store = false;
    for seed in 0..100 {
        let p = program(seed);
        configs.insert((p.config.alloc, p.config.rcu));
        for op in &p.ops {
            kinds.insert(op.kind());
            null_store |= matches!(op, TreeOp::Store { value: None, .. });
        }
    }
    for k in Profile::TreeOps.op_kinds() {
        assert!(kinds.contains(k), "op kind {k} never generated");
    }
    assert_eq!(configs.len(), 4, "{configs:?}");
    assert!(null_store);
}

#[test]
fn keys_cover_the_biases() {
    let (mut small, mut page, mut near4g, mut nearmax, mut everything) =
        (false, false, false, false, false);
    for seed in 0..100 {
        for op in program(seed).ops {
            if let TreeOp::Store { first, last, .. } = op {
                small |= first < 16;
                page |= first > 0 && first % PAGE == 0 && last.wrapping_add(1) % PAGE == 0;
                near4g |= first.abs_diff(1 << 32) < 16;
                nearmax |= first > u64::MAX - 16;
                everything |= first == 0 && last == u64::MAX;
            }
        }
    }
    assert!(small && page && near4g && nearmax && everything);
}

/// Replays the program's writes on a bare tree: its greatest height, and
/// whether the height ever went down without a destroy.
fn heights(p: &Program) -> (u32, bool) {
    let mut t = MapleTree::with_flags(p.config.flags());
    // With the fixes: the exact port's RCU destroy has 6.12's bugs.
    t.set_fixes(crate::tree::Fixes::all());
    let (mut max, mut fell) = (0, false);
    for op in &p.ops {
        let before = t.tree_height();
        match *op {
            TreeOp::Store { first, last, value } => {
                let _ = t.store_range(first, last, value.map(crate::ops::token_to_entry));
            }
            TreeOp::Insert { first, last, value } => {
                let _ = t.insert_range(first, last, crate::ops::token_to_entry(value));
            }
            TreeOp::Erase { index } => {
                t.erase(index);
            }
            TreeOp::Destroy => t.destroy(),
            _ => {}
        }
        let h = t.tree_height();
        max = max.max(h);
        fell |= h < before && !matches!(op, TreeOp::Destroy);
    }
    (max, fell)
}

#[test]
fn trees_grow_four_levels_deep_and_shrink() {
    let (mut deep, mut fell) = (0, 0);
    for seed in 0..100 {
        let (h, f) = heights(&program(seed));
        deep += usize::from(h >= 4);
        fell += usize::from(f);
    }
    assert!(deep >= 3, "only {deep} of 100 programs reached height 4");
    assert!(fell >= 5, "only {fell} of 100 programs lost height");
}

fn profile_program(profile: Profile, seed: u64) -> Program {
    generate_profile(profile, &mut ChaCha8Rng::seed_from_u64(seed))
}

fn programs(profile: Profile) -> Vec<Program> {
    (0..100)
        .map(|seed| profile_program(profile, seed))
        .collect()
}

#[test]
fn tree_ops_profile_is_generate() {
    for seed in 0..10 {
        assert_eq!(profile_program(Profile::TreeOps, seed), program(seed));
    }
}

#[test]
fn tree_ops_keeps_the_new_ops_rare() {
    let (mut new, mut state, mut all) = (0usize, 0usize, 0usize);
    let all_kinds = Profile::TreeOps.op_kinds();
    let state_kinds = &all_kinds[21..];
    for p in programs(Profile::TreeOps) {
        all += p.ops.len();
        for o in &p.ops {
            if state_kinds.contains(&o.kind()) {
                state += 1;
            } else if !all_kinds[..13].contains(&o.kind()) {
                new += 1;
            }
        }
        assert!(!p.ops.iter().any(|o| matches!(o, TreeOp::FailAllocs { .. })));
    }
    assert!(new > 0 && new * 100 < all, "{new} new ops of {all}");
    // The state phase (searches and writes on the cursor) is rare too.
    assert!(
        state > 0 && state * 20 < all,
        "{state} cursor-state ops of {all}"
    );
}

#[test]
fn profiles_are_deterministic_and_bounded() {
    for profile in Profile::ALL {
        for seed in 0..20 {
            let p = profile_program(profile, seed);
            assert_eq!(p, profile_program(profile, seed), "{profile:?} {seed}");
            assert!((10..=4000).contains(&p.ops.len()), "{profile:?} {seed}");
            // Both program forms hold every generated program.
            assert_eq!(
                crate::ops::binary::decode(&crate::ops::binary::encode(&p)),
                p
            );
            let text = crate::ops::text::format_program(&p);
            assert_eq!(crate::ops::text::parse_program(&text).unwrap(), p);
        }
        assert_ne!(profile_program(profile, 1), profile_program(profile, 2));
    }
}

/// Every op kind a profile names appears in its first 100 programs, and
/// no other kind does.
#[test]
fn every_op_kind_of_every_profile_appears() {
    for profile in Profile::ALL {
        let mut kinds = HashSet::new();
        for p in programs(profile) {
            kinds.extend(p.ops.iter().map(|o| o.kind()));
        }
        for k in profile.op_kinds() {
            assert!(kinds.contains(k), "{profile:?} never generates {k}");
        }
        if profile != Profile::TreeFaults {
            assert!(!kinds.contains("fail_allocs"), "{profile:?}");
        }
    }
}

#[test]
fn configs_per_profile() {
    for profile in Profile::ALL {
        let configs: HashSet<(bool, bool)> = programs(profile)
            .iter()
            .map(|p| (p.config.alloc, p.config.rcu))
            .collect();
        if profile == Profile::TreeAlloc {
            assert_eq!(configs, HashSet::from([(true, false), (true, true)]));
        } else {
            assert_eq!(configs.len(), 4, "{profile:?}: {configs:?}");
        }
    }
}

#[test]
fn tree_alloc_windows_cover_the_edges() {
    let mut seen = HashSet::new();
    for p in programs(Profile::TreeAlloc) {
        for op in &p.ops {
            let (min, max, size) = match *op {
                TreeOp::EmptyArea { min, max, size }
                | TreeOp::EmptyAreaRev { min, max, size }
                | TreeOp::AllocRange { min, max, size, .. }
                | TreeOp::AllocRRange { min, max, size, .. } => (min, max, size),
                _ => continue,
            };
            if min == 0 {
                seen.insert("min 0");
            }
            if max == u64::MAX {
                seen.insert("max u64::MAX");
            }
            if min == 0 && max == u64::MAX {
                seen.insert("whole space");
            }
            if min > max {
                seen.insert("min > max");
            } else if size >= 1 && max - min == size - 1 {
                seen.insert("exactly the size");
            } else if size >= 2 && max - min == size - 2 {
                seen.insert("one too small");
            }
            match size {
                0 => seen.insert("size 0"),
                1 => seen.insert("size 1"),
                u64::MAX => seen.insert("size u64::MAX"),
                s if s >= 1 << 32 => seen.insert("huge"),
                _ => false,
            };
        }
    }
    for k in [
        "min 0",
        "max u64::MAX",
        "whole space",
        "min > max",
        "exactly the size",
        "one too small",
        "size 0",
        "size 1",
        "size u64::MAX",
        "huge",
    ] {
        assert!(seen.contains(k), "no window with {k}");
    }
}

#[test]
fn tree_alloc_trees_grow_deep() {
    let deep = programs(Profile::TreeAlloc)
        .iter()
        .filter(|p| heights(p).0 >= 3)
        .count();
    assert!(
        deep >= 10,
        "only {deep} of 100 allocation trees reached height 3"
    );
}

/// Preallocation is used as the kernel's callers use it: a `prealloc`
/// is mostly followed at once by `store_prealloc` of the same value,
/// else by `mas_store`s and `mas_destroy`; the odd misuses appear too.
#[test]
fn tree_prealloc_uses_preallocation_realistically() {
    let (mut prealloc, mut paired, mut two_stores) = (0, 0, 0);
    let (mut bare_destroy, mut lone_store_prealloc, mut bare_mas_store) = (0, 0, 0);
    for p in programs(Profile::TreePrealloc) {
        let ops = &p.ops;
        for (i, op) in ops.iter().enumerate() {
            let prev = i.checked_sub(1).map(|j| &ops[j]);
            match op {
                TreeOp::Prealloc { value, .. } => {
                    prealloc += 1;
                    match ops.get(i + 1) {
                        Some(TreeOp::StorePrealloc { value: v }) if v == value => paired += 1,
                        Some(TreeOp::MasStore { .. }) => {
                            if matches!(ops.get(i + 2), Some(TreeOp::MasStore { .. })) {
                                two_stores += 1;
                            }
                        }
                        _ => {}
                    }
                }
                TreeOp::MasDestroy => {
                    bare_destroy += usize::from(!matches!(
                        prev,
                        Some(TreeOp::MasStore { .. } | TreeOp::Prealloc { .. })
                    ));
                }
                TreeOp::StorePrealloc { .. } => {
                    lone_store_prealloc += usize::from(!matches!(
                        prev,
                        Some(TreeOp::Prealloc { .. } | TreeOp::Load { .. })
                    ));
                }
                TreeOp::MasStore { .. } => {
                    bare_mas_store += usize::from(!matches!(
                        prev,
                        Some(TreeOp::MasStore { .. } | TreeOp::Prealloc { .. })
                    ));
                }
                _ => {}
            }
        }
    }
    assert!(prealloc > 1000, "{prealloc}");
    assert!(paired * 2 > prealloc, "{paired} of {prealloc} paired");
    assert!(two_stores * 10 > prealloc, "{two_stores} of {prealloc}");
    assert!(bare_destroy > 0 && lone_store_prealloc > 0 && bare_mas_store > 0);
}

#[test]
fn tree_faults_schedules_cover_every_kind_and_range() {
    let mut kinds = HashSet::new();
    let mut long_faulty_growth = 0;
    for p in programs(Profile::TreeFaults) {
        let mut writes_since_schedule = 0;
        let mut faulty = false;
        for op in &p.ops {
            match *op {
                TreeOp::FailAllocs { schedule } => {
                    if faulty && writes_since_schedule >= 200 {
                        long_faulty_growth += 1;
                    }
                    writes_since_schedule = 0;
                    faulty = schedule != FaultSchedule::Never;
                    match schedule {
                        FaultSchedule::Never => kinds.insert("never"),
                        FaultSchedule::Nth(k) => {
                            assert!((1..=50).contains(&k));
                            kinds.insert("nth")
                        }
                        FaultSchedule::Next(n) => {
                            assert!((1..=5).contains(&n));
                            kinds.insert("next")
                        }
                        FaultSchedule::Every(n) => {
                            assert!((2..=20).contains(&n));
                            kinds.insert("every")
                        }
                        FaultSchedule::From(k) => {
                            assert!((1..=50).contains(&k));
                            kinds.insert("from")
                        }
                    };
                }
                TreeOp::Store { .. } | TreeOp::Insert { .. } => writes_since_schedule += 1,
                _ => {}
            }
        }
    }
    assert_eq!(kinds.len(), 5, "{kinds:?}");
    assert!(long_faulty_growth >= 10, "{long_faulty_growth}");
}
