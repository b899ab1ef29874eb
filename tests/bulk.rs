//! Bulk mode (`mas_expected_entries`): the three engines on the kernel's own
//! bulk loads (node by node, through the executor's structure check), the
//! protocol's caller errors, the deferred rebalance at `mas_destroy`
//! against the kernel's code, and allocation failures during the
//! reservation.

use maplefuzz::diff::{self, Options};
use maplefuzz::engine::kernel::unavailable_reason;
use maplefuzz::engine::EngineSet;
use maplefuzz::ops::{token_to_entry, Program, TreeConfig, TreeOp};
use maplefuzz::tree::{FaultSchedule, MaState, MapleTree, MT_FLAGS_ALLOC_RANGE};
use maplefuzz_kernel::{KernelTree, OpCode};

/// Whether the kernel engine is built; without it (and without
/// `MAPLEFUZZ_REQUIRE_KERNEL`) the tests run the port and the oracle only.
fn kernel_built() -> bool {
    let built = unavailable_reason().is_none();
    if !built {
        assert!(
            std::env::var_os("MAPLEFUZZ_REQUIRE_KERNEL").is_none(),
            "MAPLEFUZZ_REQUIRE_KERNEL is set but the kernel engine is unavailable"
        );
        eprintln!("kernel engine unavailable: port and oracle only");
    }
    built
}

fn engines() -> EngineSet {
    EngineSet::with_default_kernel(true, kernel_built().then_some("fixed"))
}

/// The ranges of a load: `check_dup_gaps()`'s `[i*10, i*10+5]`,
/// back-to-back single indices, or page-sized VMAs with page gaps.
#[derive(Clone, Copy, Debug)]
enum Shape {
    Gapped,
    Packed,
    Pages,
}

fn range(shape: Shape, i: u64) -> (u64, u64) {
    match shape {
        Shape::Gapped => (i * 10, i * 10 + 5),
        Shape::Packed => (i, i),
        Shape::Pages => (0x1000 * (2 * i + 1), 0x1000 * (2 * i + 3) - 1),
    }
}

/// `expected_entries n`, `stored` in-order stores of `shape`, then
/// `mas_destroy` and ordinary writes over the loaded tree; with `topup_at`,
/// a second `expected_entries` (for `n + topup_at`, at most 1023) after
/// that many stores.
fn bulk_program(alloc: bool, n: u64, stored: u64, topup_at: Option<u64>, shape: Shape) -> Program {
    let mut ops = vec![TreeOp::ExpectedEntries { count: n }];
    for i in 0..stored {
        if topup_at == Some(i) {
            ops.push(TreeOp::ExpectedEntries {
                count: (n + i).min(1023),
            });
        }
        let (first, last) = range(shape, i);
        ops.push(TreeOp::MasStore {
            first,
            last,
            value: Some(i + 1),
        });
    }
    ops.push(TreeOp::MasDestroy);
    // Ordinary writes after the load: they must find a sound tree.
    let (_, end) = range(shape, stored);
    for k in 0..12u64 {
        let at = end / 13 * (k + 1);
        ops.push(match k % 3 {
            0 => TreeOp::Erase { index: at },
            1 => TreeOp::Store {
                first: at,
                last: at + 40,
                value: Some(7000 + k),
            },
            _ => TreeOp::Store {
                first: at / 2,
                last: at / 2 + 3,
                value: None,
            },
        });
    }
    ops.push(TreeOp::Insert {
        first: end + 100,
        last: end + 200,
        value: 9,
    });
    ops.push(TreeOp::Find {
        index: 0,
        max: u64::MAX,
    });
    Program {
        config: TreeConfig { alloc, rcu: false },
        ops,
    }
}

/// The oracle, the port and the kernel's code agree result by result and
/// node by node (the executor compares every engine's nodes after every
/// write, and checks node accounting) on bulk loads from 1 to 1000
/// entries: complete, interrupted, and topped up by a second reservation
/// midway, on plain and allocation trees, then `mas_destroy` and ordinary
/// writes.
#[test]
fn three_engines_agree_node_by_node_on_bulk_loads() {
    let set = engines();
    let mut runs = 0;
    for alloc in [false, true] {
        for shape in [Shape::Gapped, Shape::Packed, Shape::Pages] {
            for n in [1u64, 10, 100, 400, 1000] {
                let loads = [
                    (n, None),
                    (n / 2, None),
                    (n.saturating_sub(1), None),
                    (n, Some(n / 4)),
                    (n * 3 / 4, Some(n / 2)),
                ];
                for (stored, topup_at) in loads {
                    let p = bulk_program(alloc, n, stored, topup_at, shape);
                    let stats = diff::run_with(&p, &mut set.build(p.config), Options::default())
                        .unwrap_or_else(|d| {
                            panic!("alloc {alloc} {shape:?} n {n} stored {stored}:\n{d}")
                        });
                    assert_eq!(stats.stopped, None, "{shape:?} n {n} stored {stored}");
                    assert_eq!(stats.ops, p.ops.len());
                    runs += 1;
                }
            }
        }
    }
    assert_eq!(runs, 150);
}

/// A load longer than its reservation runs out of reserved nodes: the
/// kernel BUGs in the allocator (the caller's error), and so does the port,
/// at the same step; the run stops there, never as a divergence. A second
/// `expected_entries` does not help: in 6.12 it adds no node to a pool that
/// still holds some (`MA_STATE_PREALLOC`), so 50 reserved, then 100 after
/// 25 stores, runs out where 50 alone does, at the 69th entry (step 70).
#[test]
fn a_load_longer_than_its_reservation_stops_as_a_caller_error() {
    let kernel = kernel_built();
    let mut long = bulk_program(false, 10, 400, None, Shape::Gapped);
    long.ops.truncate(402);
    let mut topped = bulk_program(false, 100, 100, Some(25), Shape::Gapped);
    topped.ops[0] = TreeOp::ExpectedEntries { count: 50 };
    topped.ops[26] = TreeOp::ExpectedEntries { count: 100 };
    let mut alone = topped.clone();
    alone.ops.remove(26);
    for (p, want) in [(long, None), (topped, Some(70)), (alone, Some(69))] {
        let mut steps = Vec::new();
        for kernel_engine in [false, true] {
            if kernel_engine && !kernel {
                continue;
            }
            let set =
                EngineSet::with_default_kernel(!kernel_engine, kernel_engine.then_some("fixed"));
            let stats = diff::run_with(&p, &mut set.build(p.config), Options::default())
                .unwrap_or_else(|d| panic!("{d}"));
            let (step, msg) = stats.stopped.expect("the run stops");
            assert!(msg.contains("mas_expected_entries() reserved"), "{msg}");
            steps.push(step);
        }
        assert!(steps.windows(2).all(|w| w[0] == w[1]), "{steps:?}");
        assert!(steps[0] > 10 && steps[0] < 400, "{steps:?}");
        if let Some(w) = want {
            assert_eq!(steps[0], w);
        }
    }
}

/// What the protocol refuses (engine/bulk.rs) ends the run at that step as
/// the caller's error, on every engine.
#[test]
fn bulk_protocol_breaches_stop_the_run() {
    let set = engines();
    let st = |first, last| TreeOp::MasStore {
        first,
        last,
        value: Some(1),
    };
    let ee = || TreeOp::ExpectedEntries { count: 50 };
    let cases: Vec<(bool, Vec<TreeOp>, usize, &str)> = vec![
        (false, vec![st(5, 6), ee()], 1, "not empty"),
        (true, vec![ee()], 0, "RCU"),
        (
            false,
            vec![ee(), st(10, 20), st(20, 30)],
            2,
            "not an in-order append",
        ),
        (
            false,
            vec![ee(), st(10, 20), st(5, 6)],
            2,
            "not an in-order append",
        ),
        (
            false,
            vec![ee(), st(10, 20), TreeOp::Load { index: 3 }],
            2,
            "load while",
        ),
        (
            false,
            vec![
                ee(),
                TreeOp::Prealloc {
                    first: 1,
                    last: 2,
                    value: Some(3),
                },
            ],
            1,
            "prealloc while",
        ),
        (
            false,
            vec![
                ee(),
                TreeOp::Store {
                    first: 1,
                    last: 2,
                    value: Some(3),
                },
            ],
            1,
            "store while",
        ),
    ];
    for (rcu, ops, step, what) in cases {
        let p = Program {
            config: TreeConfig { alloc: false, rcu },
            ops,
        };
        let stats = diff::run_with(&p, &mut set.build(p.config), Options::default())
            .unwrap_or_else(|d| panic!("{:?}: {d}", p.ops));
        let (at, msg) = stats
            .stopped
            .unwrap_or_else(|| panic!("{:?} ran through", p.ops));
        assert_eq!(at, step, "{:?}: {msg}", p.ops);
        assert!(msg.contains(what), "{:?}: {msg}", p.ops);
    }
    // The same ops in the protocol's order run through: a destroyed tree
    // is empty again, and bulk mode ends at mas_destroy.
    let p = Program {
        config: TreeConfig::default(),
        ops: vec![
            st(5, 6),
            TreeOp::Destroy,
            ee(),
            st(10, 20),
            ee(),
            st(21, 30),
            TreeOp::FailAllocs {
                schedule: FaultSchedule::Never,
            },
            st(40, 40),
            TreeOp::MasDestroy,
            TreeOp::Load { index: 3 },
            st(5, 6),
        ],
    };
    let stats = diff::run_with(&p, &mut set.build(p.config), Options::default())
        .unwrap_or_else(|d| panic!("{d}"));
    assert_eq!(stats.stopped, None);
}

/// The number of entries of the tree's last leaf (the lines after the last
/// node header of the canonical dump).
fn last_leaf_len(dump: &str) -> usize {
    let tail = dump.rsplit(": node ").next().expect("a node");
    tail.lines().count() - 1
}

/// A bulk split leaves the right leaf `mt_min_slots - 1` entries or more
/// (`mab_calc_split`), and in-order appends only add to it, so
/// `mas_destroy()` never finds a last leaf below its threshold: the deferred
/// rebalance does not run on such loads (the dump before and after
/// `mas_destroy` is the same).
#[test]
fn in_order_loads_leave_mas_destroy_nothing_to_rebalance() {
    for alloc in [0, MT_FLAGS_ALLOC_RANGE] {
        for shape in [Shape::Gapped, Shape::Packed, Shape::Pages] {
            for stored in 0..300u64 {
                let mut t = MapleTree::with_flags(alloc);
                let mut mas = MaState::new(0, 0);
                mas.expected_entries(&mut t, 300).unwrap();
                for i in 0..stored {
                    let (first, last) = range(shape, i);
                    mas.set_range(first, last);
                    mas.store_advanced(&mut t, Some(token_to_entry(i + 1)))
                        .unwrap();
                }
                let before = t.dump();
                mas.destroy(&mut t);
                assert_eq!(t.dump(), before, "{shape:?} stored {stored}");
                assert_eq!(t.node_accounting().2, 0);
            }
        }
    }
}

type BulkStores = Vec<(u64, u64, Option<u64>)>;

/// The minimum index of the tree's last leaf (from the last node header of
/// the canonical dump, `  MIN-MAX: node ...`).
fn last_leaf_min(dump: &str) -> u64 {
    let header = dump
        .lines()
        .rfind(|l| l.contains(": node "))
        .expect("a node");
    let range = header.trim_start().split(':').next().unwrap();
    u64::from_str_radix(range.split('-').next().unwrap(), 16).unwrap()
}

/// A bulk load of `stored` single-index entries `0..stored`, then a bulk
/// store of NULL from the last leaf's `keep`th index to the end: the last
/// leaf keeps `keep` entries and the NULL. (Packed: a bulk split leaves the
/// left leaf 11 entries, so the deferred rebalance has some to move; with
/// gaps it leaves 10, which `mas_destroy_rebalance`'s split point keeps.)
fn shrinking_load(flags: u32, stored: u64, keep: u64) -> BulkStores {
    let mut ops: BulkStores = (0..stored)
        .map(|i| (i, i, Some(token_to_entry(i + 1))))
        .collect();
    let mut t = MapleTree::with_flags(flags);
    let mut mas = MaState::new(0, 0);
    mas.expected_entries(&mut t, 300).unwrap();
    for &(first, last, e) in &ops {
        mas.set_range(first, last);
        mas.store_advanced(&mut t, e).unwrap();
    }
    let min = last_leaf_min(&t.dump());
    ops.push((min + keep, u64::MAX, None));
    ops
}

/// The port's tree after a bulk load of `ops` and `mas_destroy`, checked
/// (the tree is valid, no node is lost), and whether the deferred
/// rebalance ran (the last leaf grew: only if a bulk split's flag was still
/// up, i.e. no later write at the right edge left the leaf above its
/// minimum, `mas_bulk_rebalance`).
fn port_run(flags: u32, ops: &[(u64, u64, Option<u64>)]) -> (MapleTree, bool) {
    let mut t = MapleTree::with_flags(flags);
    let mut mas = MaState::new(0, 0);
    mas.expected_entries(&mut t, 300).unwrap();
    for &(first, last, e) in ops {
        mas.set_range(first, last);
        mas.store_advanced(&mut t, e).unwrap();
    }
    let before = last_leaf_len(&t.dump());
    mas.destroy(&mut t);
    assert!(!mas.is_bulk() && !mas.is_preallocated());
    let after = last_leaf_len(&t.dump());
    t.validate().unwrap_or_else(|e| panic!("{e}\n{}", t.dump()));
    let (live, reachable, held) = t.node_accounting();
    assert_eq!((live, held), (reachable, 0));
    (t, after > before)
}

/// The same on the kernel's code, as the port's canonical dump.
fn kernel_dump(flags: u32, ops: &[(u64, u64, Option<u64>)]) -> String {
    let v = maplefuzz_kernel::variant("fixed").expect("the fixed variant");
    let mut k = KernelTree::new(&v, flags);
    let r = k.apply(OpCode::ExpectedEntries, 300, 0, 0, 0).unwrap();
    assert_eq!(r.ret, 0);
    for &(first, last, e) in ops {
        k.apply(OpCode::MasStore, first, last, e.unwrap_or(0), 0)
            .unwrap();
    }
    k.apply(OpCode::MasDestroy, 0, 0, 0, 0).unwrap();
    k.mt_validate().unwrap();
    assert_eq!(k.held(), 0);
    let read = |addr: u64| k.read_node(addr);
    MapleTree::from_raw(k.root(), k.flags(), k.tree_addr(), &read).dump()
}

/// `mas_destroy()`'s deferred rebalance (`mas_destroy_rebalance`), reached
/// the one way the kernel code allows: in bulk mode a store that empties
/// most of the last leaf is a node store, not a rebalance
/// (`mas_wr_store_type`), and the flag a bulk split set is still up. The
/// port's tree afterwards is the kernel's, word for word. (No kernel caller
/// stores like this, so the op language refuses it; this checks the port's
/// code directly.)
#[test]
fn mas_destroy_rebalances_a_shrunk_last_leaf_like_the_kernel() {
    let kernel = kernel_built();
    let mut checked = 0;
    let mut rebalanced = 0;
    for flags in [0, MT_FLAGS_ALLOC_RANGE] {
        for stored in [20u64, 33, 60, 150] {
            // (keep 0 would leave the leaf a lone NULL, where the kernel's
            // mas_leaf_max_gap() indexes past the node: not modelled.)
            for keep in [1u64, 2, 3] {
                let ops = shrinking_load(flags, stored, keep);
                let (t, grew) = port_run(flags, &ops);
                rebalanced += usize::from(grew);
                let cut = ops.last().unwrap().0;
                for &(first, _, e) in &ops[..ops.len() - 1] {
                    let want = e.filter(|_| first < cut);
                    assert_eq!(t.load(first), want, "stored {stored} keep {keep}");
                }
                if kernel {
                    assert_eq!(
                        t.dump(),
                        kernel_dump(flags, &ops),
                        "flags {flags} stored {stored} keep {keep}"
                    );
                    checked += 1;
                }
            }
        }
    }
    assert!(!kernel || checked == 24);
    eprintln!("the deferred rebalance moved entries in {rebalanced} of 24 cases");
    assert!(
        rebalanced >= 6,
        "the deferred rebalance ran {rebalanced} times"
    );
}

/// An allocation failure anywhere in the reservation ends bulk mode and
/// frees every node it had taken.
#[test]
fn a_failed_reservation_leaks_nothing() {
    let mut failed = 0;
    for k in 1..=40 {
        let mut t = MapleTree::new();
        t.set_fault_schedule(FaultSchedule::Nth(k));
        let mut mas = MaState::new(0, 0);
        let r = mas.expected_entries(&mut t, 400);
        if r.is_err() {
            failed += 1;
            assert!(!mas.is_bulk() && !mas.is_preallocated());
            assert_eq!(t.node_accounting(), (0, 0, 0), "fault at {k}");
        } else {
            assert!(mas.is_bulk() && mas.is_preallocated());
            mas.destroy(&mut t);
            assert_eq!(t.node_accounting(), (0, 0, 0));
        }
    }
    // 400 entries reserve 63 nodes: every one of the first 40 can fail.
    assert_eq!(failed, 40);
}

/// `tree_prealloc`'s bulk loads keep to the protocol: over 300 generated
/// programs, those with bulk loads (some reserving more than 31 nodes, some
/// with a second reservation) run on every engine without a divergence and
/// never stop at a bulk-mode caller error.
#[test]
fn tree_prealloc_bulk_loads_keep_the_protocol() {
    use maplefuzz::ops::gen::{generate_profile, Profile};
    use rand::SeedableRng;
    let set = engines();
    let (mut with_bulk, mut big, mut again) = (0, 0, 0);
    for seed in 0..300u64 {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        let p = generate_profile(Profile::TreePrealloc, &mut rng);
        let counts: Vec<u64> = p
            .ops
            .iter()
            .filter_map(|op| match op {
                TreeOp::ExpectedEntries { count } => Some(*count),
                _ => None,
            })
            .collect();
        if counts.is_empty() {
            continue;
        }
        assert!(!p.config.rcu, "seed {seed}: a bulk load on an RCU tree");
        with_bulk += 1;
        big += usize::from(counts.iter().any(|c| *c >= 150));
        again += usize::from(p.ops.windows(2).any(|w| {
            matches!(w[0], TreeOp::MasStore { .. })
                && matches!(w[1], TreeOp::ExpectedEntries { .. })
        }));
        let stats = diff::run_with(&p, &mut set.build(p.config), Options::default())
            .unwrap_or_else(|d| panic!("seed {seed}:\n{d}"));
        if let Some((step, msg)) = &stats.stopped {
            assert!(
                !msg.contains("bulk") && !msg.contains("expected_entries"),
                "seed {seed} step {step}: {msg}"
            );
        }
    }
    eprintln!("{with_bulk} of 300 programs bulk-load ({big} over 31 nodes, {again} with a second reservation)");
    assert!(with_bulk >= 20, "{with_bulk} programs with bulk loads");
    assert!(big >= 10 && again >= 2, "big {big} again {again}");
}

/// The April 2023 leak (mutant `alloc-nodes-count`) needs a refill of a
/// pool whose head chains to a `maple_alloc` still holding nodes: a top-up,
/// by more than the head has room for, of a pool of 32 nodes or more. Bulk
/// mode makes the only such pools, and never tops them up: a second
/// `expected_entries` allocates nothing (`MA_STATE_PREALLOC`), and on a
/// fresh pool the pre-fix code does what the fix does. So with or without
/// the mutant, bulk loads of every length build the same tree from the same
/// allocations and lose no node; the mutant stays without a fuzz target.
#[cfg(feature = "mutants")]
#[test]
fn alloc_nodes_count_is_out_of_reach_of_bulk_loads() {
    use maplefuzz::mutants::{self, Mutant};
    let run = |m: Option<Mutant>, stored: u64| {
        mutants::with(m, || {
            let mut t = MapleTree::new();
            let mut mas = MaState::new(0, 0);
            mas.expected_entries(&mut t, 400).unwrap();
            let reserved = t.node_counters().allocated;
            for i in 0..stored {
                mas.set_range(i * 10, i * 10 + 5);
                mas.store_advanced(&mut t, Some(token_to_entry(i + 1)))
                    .unwrap();
            }
            let before = t.node_counters().allocated;
            mas.reset();
            mas.expected_entries(&mut t, 1000).unwrap();
            assert_eq!(t.node_counters().allocated, before, "{m:?} {stored}");
            mas.destroy(&mut t);
            let (live, reachable, held) = t.node_accounting();
            assert_eq!((live, held), (reachable, 0), "{m:?} {stored}");
            (reserved, t.node_counters().allocated, t.dump())
        })
    };
    for stored in (0..=400).step_by(7) {
        let plain = run(None, stored);
        assert!(plain.0 > 32, "a pool of {} nodes", plain.0);
        assert_eq!(
            run(Some(Mutant::AllocNodesCount), stored),
            plain,
            "{stored}"
        );
    }
}
