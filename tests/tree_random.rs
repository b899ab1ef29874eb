//! The Rust maple tree against the naive oracle (`maplefuzz-reference`, a
//! BTreeMap), step by step: 200,000 mixed stores, inserts, erases, loads,
//! finds and maple-state moves (walk, find, find_rev, next, prev, pause,
//! reset) over clustered, wide and edge keys, in normal, allocation and RCU
//! trees. Every result, every cursor position (index, last, status) and the
//! tree's validity are checked after every op; the full contents every 64
//! ops and at the end.

use maplefuzz::tree::{Errno, MaState, MapleTree, MT_FLAGS_ALLOC_RANGE, MT_FLAGS_USE_RCU};
use maplefuzz_reference::{Cursor, Errno as OErrno, TreeOracle};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

fn errno(e: Errno) -> OErrno {
    match e {
        Errno::EINVAL => OErrno::EINVAL,
        Errno::EEXIST => OErrno::EEXIST,
        Errno::EBUSY => OErrno::EBUSY,
        Errno::ENOMEM => OErrno::ENOMEM,
    }
}

struct Keys {
    span: u64,
}

impl Keys {
    fn key(&self, r: &mut ChaCha8Rng) -> u64 {
        match r.gen_range(0..100) {
            0..=2 => r.gen_range(0..4),
            3..=4 => u64::MAX - r.gen_range(0..4),
            5 => r.gen::<u64>(),
            6 => (1u64 << 32) - 2 + r.gen_range(0..4),
            _ => r.gen_range(0..self.span),
        }
    }

    fn len(&self, r: &mut ChaCha8Rng) -> u64 {
        match r.gen_range(0..10_000) {
            0..=3_999 => 0,
            4_000..=8_499 => r.gen_range(1..8),
            8_500..=9_979 => r.gen_range(8..self.span / 256 + 9),
            9_980..=9_994 => r.gen_range(0..self.span),
            _ => r.gen::<u64>(),
        }
    }
}

fn value(r: &mut ChaCha8Rng) -> u64 {
    // Entries are opaque words; avoid the internal encodings (low bits 10).
    (r.gen_range(1u64..1 << 40) << 2) | 1
}

fn status_name<T: std::fmt::Debug>(s: T) -> String {
    format!("{s:?}")
}

fn check_cursor(
    step: usize,
    op: &str,
    got: Option<u64>,
    want: Option<u64>,
    ms: &MaState,
    c: &Cursor,
) {
    assert_eq!(got, want, "step {step}: {op}: entry");
    assert_eq!(
        (ms.index(), ms.last(), status_name(ms.status())),
        (c.index, c.last, status_name(c.status)),
        "step {step}: {op}: cursor (index, last, status)"
    );
}

fn run(seed: u64, flags: u32, steps: usize, span: u64) {
    let mut r = ChaCha8Rng::seed_from_u64(seed);
    let keys = Keys { span };
    let mut t = MapleTree::with_flags(flags);
    // The fixed port: the exact one has 6.12's RCU destroy bugs (finding 4
    // frees the wrong node when a destroyed root has 16 children).
    t.set_fixes(maplefuzz::tree::Fixes::all());
    let mut o = TreeOracle::new();
    let mut ms = MaState::new(0, 0);
    let mut c = Cursor::new(0, 0);
    for step in 0..steps {
        let a = keys.key(&mut r);
        let b = a.saturating_add(keys.len(&mut r));
        let mut wrote = false;
        if !c.is_positioned(&o) {
            // The kernel's state would step from a node the oracle cannot
            // know (a stale node, or none after an early overflow, where the
            // kernel itself dereferences NULL): pause it, as a caller must.
            ms.pause();
            c.pause();
        }
        // Grow, churn, then shrink, so every run passes through trees of
        // every height up to four or five levels and back.
        let roll = match step * 3 / steps {
            0 => {
                let x = r.gen_range(0..100);
                match x {
                    0..=69 => x * 30 / 70,
                    70..=79 => 42 + (x - 70) * 8 / 10,
                    _ => 58 + (x - 80) * 2,
                }
            }
            1 => r.gen_range(0..100),
            _ => {
                let x = r.gen_range(0..100);
                if x < 50 {
                    30 + x / 2
                } else {
                    x
                }
            }
        };
        match roll {
            0..=29 => {
                let v = value(&mut r);
                let got = t.store_range(a, b, Some(v)).map_err(errno);
                let want = o.store_range(a, b, Some(v)).map(|_| ());
                assert_eq!(got, want, "step {step}: store {a:#x}-{b:#x}");
                wrote = true;
            }
            30..=41 => {
                let got = t.store_range(a, b, None).map_err(errno);
                let want = o.store_range(a, b, None).map(|_| ());
                assert_eq!(got, want, "step {step}: store NULL {a:#x}-{b:#x}");
                wrote = true;
            }
            42..=49 => {
                let v = value(&mut r);
                let got = t.insert_range(a, b, v).map_err(errno);
                let want = o.insert_range(a, b, Some(v));
                assert_eq!(got, want, "step {step}: insert {a:#x}-{b:#x}");
                wrote = true;
            }
            50..=57 => {
                assert_eq!(t.erase(a), o.erase(a), "step {step}: erase {a:#x}");
                wrote = true;
            }
            58..=63 => {
                assert_eq!(t.load(a), o.load(a), "step {step}: load {a:#x}");
            }
            64..=67 => {
                let (mut i1, mut i2) = (a, a);
                let got = t.find(&mut i1, b);
                let want = o.mt_find(&mut i2, b);
                assert_eq!((got, i1), (want, i2), "step {step}: mt_find {a:#x}..{b:#x}");
            }
            68..=70 => {
                ms.set(a);
                c.set(a);
                let got = ms.walk(&t);
                let want = c.walk(&o);
                check_cursor(step, &format!("walk {a:#x}"), got, want, &ms, &c);
            }
            71..=76 => {
                let got = ms.find(&t, b);
                let want = c.find(&o, b);
                check_cursor(step, &format!("find max {b:#x}"), got, want, &ms, &c);
            }
            77..=80 => {
                let min = a.saturating_sub(keys.len(&mut r));
                let got = ms.find_rev(&t, min);
                let want = c.find_rev(&o, min);
                check_cursor(step, &format!("find_rev min {min:#x}"), got, want, &ms, &c);
            }
            81..=86 => {
                let got = ms.next(&t, b);
                let want = c.next(&o, b);
                check_cursor(step, &format!("next max {b:#x}"), got, want, &ms, &c);
            }
            87..=92 => {
                let min = a.saturating_sub(keys.len(&mut r));
                let got = ms.prev(&t, min);
                let want = c.prev(&o, min);
                check_cursor(step, &format!("prev min {min:#x}"), got, want, &ms, &c);
            }
            93..=95 => {
                ms.pause();
                c.pause();
            }
            96..=97 => {
                ms.set(a);
                c.set(a);
            }
            _ => {
                if r.gen_range(0..200) == 0 {
                    t.destroy();
                    o.destroy();
                    wrote = true;
                } else {
                    ms.reset();
                    c.reset();
                }
            }
        }
        if wrote {
            // As in the kernel, a maple state must not be used across a
            // write made through another path: pause it first.
            ms.pause();
            c.pause();
        }
        t.validate()
            .unwrap_or_else(|e| panic!("seed {seed} step {step}: {e}\n{}", t.dump()));
        if step % 64 == 0 {
            assert_eq!(
                t.entries().collect::<Vec<_>>(),
                o.entries(),
                "seed {seed} step {step}: contents"
            );
        }
    }
    assert_eq!(
        t.entries().collect::<Vec<_>>(),
        o.entries(),
        "seed {seed}: final contents"
    );
    t.destroy();
    assert_eq!(t.nodes_live(), 0, "seed {seed}: nodes leaked after destroy");
}

#[test]
fn random_ops_normal_tree() {
    run(1, 0, 25_000, 20_000);
    run(2, 0, 25_000, 1 << 40);
}

#[test]
fn random_ops_alloc_tree() {
    run(3, MT_FLAGS_ALLOC_RANGE, 25_000, 20_000);
    run(4, MT_FLAGS_ALLOC_RANGE, 25_000, 1 << 40);
}

#[test]
fn random_ops_rcu_tree() {
    run(5, MT_FLAGS_USE_RCU, 25_000, 20_000);
    run(6, MT_FLAGS_USE_RCU, 25_000, 1 << 40);
}

#[test]
fn random_ops_rcu_alloc_tree() {
    run(7, MT_FLAGS_USE_RCU | MT_FLAGS_ALLOC_RANGE, 25_000, 20_000);
    run(8, MT_FLAGS_USE_RCU | MT_FLAGS_ALLOC_RANGE, 25_000, 1 << 40);
}
