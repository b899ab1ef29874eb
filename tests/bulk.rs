//! Bulk mode (`mas_expected_entries`): the port against the real kernel
//! code on the kernel's own bulk sequences, the deferred rebalance at
//! `mas_destroy`, and allocation failures during the reservation.

use maplefuzz::diff::{self, Options};
use maplefuzz::engine::kernel::unavailable_reason;
use maplefuzz::engine::EngineSet;
use maplefuzz::ops::{Program, TreeConfig, TreeOp};
use maplefuzz::tree::{FaultSchedule, MaState, MapleTree, MT_FLAGS_ALLOC_RANGE};

/// `check_dup_gaps()`'s load: `expected_entries n`, then `stored` entries
/// `[i*10, i*10+5]` (from 1 unless `zero_start`), then `tail`.
fn dup_gaps(alloc: bool, n: u64, stored: u64, zero_start: bool, tail: &[TreeOp]) -> Program {
    let mut ops = vec![TreeOp::ExpectedEntries { count: n }];
    let start = u64::from(!zero_start);
    for i in start..start + stored {
        ops.push(TreeOp::MasStore {
            first: i * 10,
            last: i * 10 + 5,
            value: Some(i),
        });
    }
    ops.extend_from_slice(tail);
    ops.push(TreeOp::Find {
        index: 0,
        max: u64::MAX,
    });
    Program {
        config: TreeConfig { alloc, rcu: false },
        ops,
    }
}

/// The three engines (oracle, port, kernel) agree result by result and node
/// by node (the executor's structural check) on bulk loads of every size
/// from a few entries to more than 31 nodes' worth, complete and
/// interrupted, ended by `mas_destroy` or by a preallocation on the bulk
/// writer.
#[test]
fn three_engines_agree_on_bulk_loads() {
    let kernel = unavailable_reason().is_none();
    if !kernel {
        assert!(std::env::var_os("MAPLEFUZZ_REQUIRE_KERNEL").is_none());
        eprintln!("kernel engine unavailable: port and oracle only");
    }
    let set = EngineSet {
        rust: true,
        kernel: kernel.then_some("fixed"),
    };
    let destroy = [TreeOp::MasDestroy];
    let prealloc = [
        TreeOp::Prealloc {
            first: 3,
            last: 4000,
            value: Some(9),
        },
        TreeOp::StorePrealloc { value: Some(9) },
    ];
    let mut runs = 0;
    for alloc in [false, true] {
        for n in [1u64, 10, 40, 150, 300, 500, 1000] {
            for stored in [n, n * 9 / 10, n / 2, n.saturating_sub(1), 1] {
                for tail in [&destroy[..], &prealloc[..]] {
                    let p = dup_gaps(alloc, n, stored, stored % 2 == 0, tail);
                    let stats = diff::run_with(&p, &mut set.build(p.config), Options::default())
                        .unwrap_or_else(|d| panic!("n {n} stored {stored} alloc {alloc}:\n{d}"));
                    assert_eq!(stats.stopped, None, "n {n} stored {stored}");
                    runs += 1;
                }
            }
        }
    }
    assert_eq!(runs, 140);
}

fn load(t: &mut MapleTree, n: u64, stored: u64) -> MaState {
    let mut mas = MaState::new(0, 0);
    mas.expected_entries(t, n).unwrap();
    assert!(mas.is_bulk() && mas.is_preallocated());
    for i in 0..stored {
        mas.set_range(i * 10, i * 10 + 5);
        mas.store_advanced(t, Some(2 * i + 1)).unwrap();
    }
    mas
}

/// Deficient right-most leaf of an interrupted load (`n` announced,
/// `stored` made): its entry count before and after `mas_destroy`.
fn last_leaf_len(t: &MapleTree) -> usize {
    let dump = t.dump();
    // The last leaf's entries are the dump's last lines after the last
    // node header; count the entry lines of the last node.
    let tail = dump.rsplit("leaf").next().unwrap();
    tail.lines().filter(|l| l.contains(" -> ") || l.contains(": ")).count()
}

#[test]
fn mas_destroy_rebalances_the_last_leaf() {
    // 300 announced, 24 stored: bulk splits leave the right leaf at its
    // minimum, and stopping early leaves it short.
    let mut found = false;
    for stored in 20..60 {
        let mut t = MapleTree::with_flags(MT_FLAGS_ALLOC_RANGE);
        let mut mas = load(&mut t, 300, stored);
        let before = last_leaf_len(&t);
        mas.destroy(&mut t);
        assert!(!mas.is_bulk() && !mas.is_preallocated());
        t.validate().unwrap_or_else(|e| panic!("stored {stored}: {e}"));
        let after = last_leaf_len(&t);
        let (live, reachable, held) = t.node_accounting();
        assert_eq!((live, held), (reachable, 0), "stored {stored}");
        for i in 0..stored {
            assert_eq!(t.load(i * 10 + 3), Some(2 * i + 1));
        }
        if after > before {
            found = true;
        }
    }
    assert!(found, "no interrupted load left a leaf for mas_destroy to rebalance");
}

#[test]
fn a_failed_reservation_leaks_nothing() {
    for k in 1..=40 {
        let mut t = MapleTree::new();
        t.set_fault_schedule(FaultSchedule::Nth(k));
        let mut mas = MaState::new(0, 0);
        let r = mas.expected_entries(&mut t, 400);
        let (live, reachable, held) = t.node_accounting();
        if r.is_err() {
            assert!(!mas.is_bulk() && !mas.is_preallocated());
            assert_eq!((live, reachable, held), (0, 0, 0), "fault at {k}");
        } else {
            assert!(k > 1, "the first allocation failed but the reservation succeeded");
            mas.destroy(&mut t);
            assert_eq!(t.node_accounting(), (0, 0, 0));
        }
    }
}
