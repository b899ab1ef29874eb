//! Every store type, checked against the node layout the kernel itself
//! produces. Each file in `tests/kernel_layouts/` holds an op list, the store
//! type the kernel chose for its last op and the kernel's canonical dump
//! after it, recorded from Linux 6.12.117 `lib/maple_tree.c` built in
//! userspace (see the header of each file). The dump covers node types,
//! pivots, every slot word (so stale data would show), metadata and gaps.

use maplefuzz::tree::{MapleTree, StoreType};
use std::path::Path;

struct Case {
    flags: u32,
    ops: Vec<String>,
    store_type: String,
    dump: String,
}

fn parse(text: &str) -> Case {
    let mut flags = 0;
    let mut ops = Vec::new();
    let mut store_type = String::new();
    let mut dump = String::new();
    let mut section = "";
    for line in text.lines() {
        if line.starts_with('#') {
            continue;
        }
        if section == "dump" {
            dump.push_str(line);
            dump.push('\n');
            continue;
        }
        if let Some(f) = line.strip_prefix("flags ") {
            flags = f.trim().parse().unwrap();
        } else if line == "ops" {
            section = "ops";
        } else if let Some(t) = line.strip_prefix("store-type ") {
            store_type = t.to_string();
        } else if line == "dump" {
            section = "dump";
        } else if section == "ops" {
            ops.push(line.to_string());
        }
    }
    Case {
        flags,
        ops,
        store_type,
        dump,
    }
}

fn hex(s: &str) -> u64 {
    u64::from_str_radix(s, 16).unwrap()
}

/// Runs the ops, validating after each; returns the store type of the last op.
fn run(t: &mut MapleTree, ops: &[String]) -> StoreType {
    let mut last = StoreType::Invalid;
    for op in ops {
        let before = *t.store_stats();
        let w: Vec<&str> = op.split_whitespace().collect();
        match w[0] {
            "s" => {
                let v = hex(w[3]);
                t.store_range(hex(w[1]), hex(w[2]), (v != 0).then_some(v))
                    .unwrap();
            }
            "e" => {
                t.erase(hex(w[1])).expect("erase of a stored range");
            }
            other => panic!("unknown op {other}"),
        }
        t.validate().unwrap_or_else(|e| panic!("after `{op}`: {e}"));
        let after = t.store_stats();
        let changed: Vec<StoreType> = StoreType::ALL
            .iter()
            .copied()
            .filter(|ty| after.get(*ty) != before.get(*ty))
            .collect();
        assert_eq!(changed.len(), 1, "one store per op: {op}");
        last = changed[0];
    }
    last
}

fn check(name: &str) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/kernel_layouts")
        .join(format!("{name}.txt"));
    let case = parse(&std::fs::read_to_string(&path).unwrap());
    let mut t = MapleTree::with_flags(case.flags);
    let last = run(&mut t, &case.ops);
    assert_eq!(
        last.name(),
        case.store_type,
        "{name}: store type of the last op"
    );
    let dump = t.dump();
    if dump != case.dump {
        panic!(
            "{name}: node layout differs from the kernel's\n--- kernel\n{}\n--- port\n{}",
            case.dump, dump
        );
    }
    let live = t.nodes_live();
    t.destroy();
    assert_eq!(t.nodes_live(), 0, "{name}: destroy freed {live} nodes");
}

#[test]
fn store_root_pointer() {
    check("store_root_pointer");
}
#[test]
fn store_root_expand() {
    check("store_root");
}
#[test]
fn new_root() {
    check("new_root");
}
#[test]
fn exact_fit() {
    check("exact_fit");
}
#[test]
fn append() {
    check("append");
}
#[test]
fn slot_store() {
    check("slot_store");
}
#[test]
fn node_store() {
    check("node_store");
}
#[test]
fn split_store() {
    check("split_store");
}
#[test]
fn split_store_alloc_tree() {
    check("split_store_alloc");
}
#[test]
fn rebalance() {
    check("rebalance");
}
#[test]
fn spanning_store() {
    check("spanning_store");
}
#[test]
fn spanning_store_null() {
    check("spanning_null");
}
