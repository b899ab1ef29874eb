//! The binary codec (`ops::binary`): round trips, totality, agreement with
//! the text form, and the committed binary seeds in `corpus/<target>/`
//! (text sources in `corpus/seeds/<target>/`).
//!
//! Regenerate the binary seeds after editing or adding a text seed:
//!
//! ```text
//! cargo test --test codec -- --ignored write_corpus_bins
//! ```

use maplefuzz::ops::binary::{decode, encode, MAX_OPS};
use maplefuzz::ops::text::{format_program, parse_program};
use maplefuzz::ops::{FaultSchedule, Program, TreeConfig, TreeOp, EXPECTED_ENTRIES_MAX, MAX_TOKEN};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::path::{Path, PathBuf};

/// Keys that sit on boundaries of the key space and of the varint coding.
const EDGE_KEYS: [u64; 14] = [
    0,
    1,
    2,
    63,
    64,
    127,
    128,
    1 << 32,
    (1 << 32) - 1,
    (1 << 32) + 1,
    (1 << 63) - 1,
    1 << 63,
    u64::MAX - 1,
    u64::MAX,
];

fn key(rng: &mut ChaCha8Rng) -> u64 {
    match rng.gen_range(0..5) {
        0 => EDGE_KEYS[rng.gen_range(0..EDGE_KEYS.len())],
        1 => rng.gen_range(0..256),
        2 => u64::MAX - rng.gen_range(0..256),
        3 => rng.gen::<u64>() >> rng.gen_range(0..64),
        _ => rng.gen(),
    }
}

fn range(rng: &mut ChaCha8Rng) -> (u64, u64) {
    let first = key(rng);
    let last = match rng.gen_range(0..4) {
        0 => first.wrapping_add(rng.gen_range(0..32)),
        1 => first.wrapping_sub(rng.gen_range(1..32)), // first > last (mostly)
        _ => key(rng),
    };
    (first, last)
}

fn token(rng: &mut ChaCha8Rng) -> u64 {
    match rng.gen_range(0..4) {
        0 => [0, 1, MAX_TOKEN - 1, MAX_TOKEN][rng.gen_range(0..4)],
        1 => rng.gen_range(0..300),
        _ => rng.gen_range(0..=MAX_TOKEN),
    }
}

fn op(rng: &mut ChaCha8Rng, kind: u8) -> TreeOp {
    match kind {
        0 => {
            let (first, last) = range(rng);
            let value = if rng.gen_bool(0.25) {
                None
            } else {
                Some(token(rng))
            };
            TreeOp::Store { first, last, value }
        }
        1 => {
            let (first, last) = range(rng);
            TreeOp::Insert {
                first,
                last,
                value: token(rng),
            }
        }
        2 => TreeOp::Erase { index: key(rng) },
        3 => TreeOp::Load { index: key(rng) },
        4 => TreeOp::Find {
            index: key(rng),
            max: key(rng),
        },
        5 => TreeOp::Walk { index: key(rng) },
        6 => TreeOp::MasFind { max: key(rng) },
        7 => TreeOp::MasFindRev { min: key(rng) },
        8 => TreeOp::MasNext { max: key(rng) },
        9 => TreeOp::MasPrev { min: key(rng) },
        10 => TreeOp::Pause,
        11 => TreeOp::Set { index: key(rng) },
        12 => TreeOp::Destroy,
        13 => TreeOp::EmptyArea {
            min: key(rng),
            max: key(rng),
            size: size(rng),
        },
        14 => TreeOp::EmptyAreaRev {
            min: key(rng),
            max: key(rng),
            size: size(rng),
        },
        15 => TreeOp::AllocRange {
            size: size(rng),
            min: key(rng),
            max: key(rng),
            value: token(rng),
        },
        16 => TreeOp::AllocRRange {
            size: size(rng),
            min: key(rng),
            max: key(rng),
            value: token(rng),
        },
        17 => {
            let (first, last) = range(rng);
            TreeOp::Prealloc {
                first,
                last,
                value: store_value(rng),
            }
        }
        18 => TreeOp::StorePrealloc {
            value: store_value(rng),
        },
        19 => {
            let (first, last) = range(rng);
            TreeOp::MasStore {
                first,
                last,
                value: store_value(rng),
            }
        }
        20 => TreeOp::MasDestroy,
        21 => TreeOp::FailAllocs {
            schedule: schedule(rng),
        },
        22 => TreeOp::ExpectedEntries {
            count: match rng.gen_range(0..3) {
                0 => rng.gen_range(0..40),
                1 => EXPECTED_ENTRIES_MAX,
                _ => rng.gen_range(0..=EXPECTED_ENTRIES_MAX),
            },
        },
        24 => TreeOp::Reset,
        25 => {
            let (first, last) = range(rng);
            TreeOp::SetRange { first, last }
        }
        26 => TreeOp::CurEmptyArea {
            min: key(rng),
            max: key(rng),
            size: size(rng),
        },
        27 => TreeOp::CurEmptyAreaRev {
            min: key(rng),
            max: key(rng),
            size: size(rng),
        },
        28 => TreeOp::CurStore {
            value: store_value(rng),
        },
        29 => TreeOp::CurErase,
        _ => TreeOp::AllocCyclic {
            min: key(rng),
            max: key(rng),
            next: key(rng),
            value: token(rng),
        },
    }
}

/// The number of op kinds `op` draws from.
const KINDS: u8 = 30;

fn size(rng: &mut ChaCha8Rng) -> u64 {
    match rng.gen_range(0..3) {
        0 => rng.gen_range(0..20),
        1 => EDGE_KEYS[rng.gen_range(0..EDGE_KEYS.len())],
        _ => rng.gen(),
    }
}

fn store_value(rng: &mut ChaCha8Rng) -> Option<u64> {
    if rng.gen_bool(0.25) {
        None
    } else {
        Some(token(rng))
    }
}

fn schedule(rng: &mut ChaCha8Rng) -> FaultSchedule {
    let n = size(rng);
    match rng.gen_range(0..5) {
        0 => FaultSchedule::Never,
        1 => FaultSchedule::Nth(n),
        2 => FaultSchedule::Next(n),
        3 => FaultSchedule::Every(n),
        _ => FaultSchedule::From(n),
    }
}

fn program(rng: &mut ChaCha8Rng) -> Program {
    let n = match rng.gen_range(0..4) {
        0 => rng.gen_range(0..4),
        1 | 2 => rng.gen_range(0..40),
        _ => rng.gen_range(0..400),
    };
    Program {
        config: TreeConfig {
            alloc: rng.gen(),
            rcu: rng.gen(),
        },
        ops: (0..n)
            .map(|_| {
                let kind = rng.gen_range(0..KINDS);
                op(rng, kind)
            })
            .collect(),
    }
}

fn check_round_trip(p: &Program) {
    let bytes = encode(p);
    assert_eq!(
        decode(&bytes),
        *p,
        "binary round trip of\n{}",
        format_program(p)
    );
    let text = parse_program(&format_program(p)).expect("formatted program parses");
    assert_eq!(decode(&bytes), text, "text and binary forms disagree");
}

#[test]
fn round_trip_every_op_kind_and_edge() {
    let mut ops = Vec::new();
    for &k in &EDGE_KEYS {
        for &l in &EDGE_KEYS {
            ops.push(TreeOp::Store {
                first: k,
                last: l,
                value: None,
            });
            ops.push(TreeOp::Store {
                first: k,
                last: l,
                value: Some(MAX_TOKEN),
            });
            ops.push(TreeOp::Insert {
                first: k,
                last: l,
                value: 0,
            });
            ops.push(TreeOp::Find { index: k, max: l });
        }
        ops.push(TreeOp::Insert {
            first: k,
            last: k,
            value: MAX_TOKEN,
        });
        ops.push(TreeOp::Store {
            first: k,
            last: k,
            value: Some(0),
        });
        ops.extend([
            TreeOp::Erase { index: k },
            TreeOp::Load { index: k },
            TreeOp::Walk { index: k },
            TreeOp::MasFind { max: k },
            TreeOp::MasFindRev { min: k },
            TreeOp::MasNext { max: k },
            TreeOp::MasPrev { min: k },
            TreeOp::Pause,
            TreeOp::Set { index: k },
            TreeOp::Destroy,
            TreeOp::StorePrealloc { value: None },
            TreeOp::StorePrealloc {
                value: Some(k & MAX_TOKEN),
            },
            TreeOp::MasDestroy,
            TreeOp::Reset,
            TreeOp::CurErase,
            TreeOp::CurStore { value: None },
            TreeOp::CurStore {
                value: Some(k & MAX_TOKEN),
            },
            TreeOp::ExpectedEntries {
                count: k % (EXPECTED_ENTRIES_MAX + 1),
            },
            TreeOp::FailAllocs {
                schedule: FaultSchedule::Never,
            },
            TreeOp::FailAllocs {
                schedule: FaultSchedule::Nth(k),
            },
            TreeOp::FailAllocs {
                schedule: FaultSchedule::Next(k),
            },
            TreeOp::FailAllocs {
                schedule: FaultSchedule::Every(k),
            },
            TreeOp::FailAllocs {
                schedule: FaultSchedule::From(k),
            },
        ]);
        for &l in &EDGE_KEYS[..4] {
            for &size in &[0, 1, k, u64::MAX] {
                ops.extend([
                    TreeOp::EmptyArea {
                        min: k,
                        max: l,
                        size,
                    },
                    TreeOp::EmptyAreaRev {
                        min: k,
                        max: l,
                        size,
                    },
                    TreeOp::CurEmptyArea {
                        min: l,
                        max: k,
                        size,
                    },
                    TreeOp::CurEmptyAreaRev {
                        min: k,
                        max: l,
                        size,
                    },
                    TreeOp::AllocRange {
                        size,
                        min: k,
                        max: l,
                        value: 0,
                    },
                    TreeOp::AllocRRange {
                        size,
                        min: l,
                        max: k,
                        value: MAX_TOKEN,
                    },
                ]);
            }
            ops.extend([
                TreeOp::Prealloc {
                    first: k,
                    last: l,
                    value: None,
                },
                TreeOp::Prealloc {
                    first: l,
                    last: k,
                    value: Some(MAX_TOKEN),
                },
                TreeOp::MasStore {
                    first: k,
                    last: l,
                    value: Some(0),
                },
                TreeOp::MasStore {
                    first: l,
                    last: k,
                    value: None,
                },
                TreeOp::SetRange { first: k, last: l },
            ]);
        }
    }
    assert!(ops.len() <= MAX_OPS);
    for (alloc, rcu) in [(false, false), (true, false), (false, true), (true, true)] {
        check_round_trip(&Program {
            config: TreeConfig { alloc, rcu },
            ops: ops.clone(),
        });
    }
    check_round_trip(&Program::default());
}

#[test]
fn round_trip_random_programs() {
    let mut rng = ChaCha8Rng::seed_from_u64(0x6d61_706c_6566_757a);
    let mut kinds = [0usize; KINDS as usize];
    for _ in 0..20_000 {
        let p = program(&mut rng);
        for o in &p.ops {
            kinds[binary_opcode(o)] += 1;
        }
        check_round_trip(&p);
    }
    assert!(
        kinds.iter().all(|&n| n > 0),
        "every op kind generated: {kinds:?}"
    );
}

#[test]
fn round_trip_max_ops() {
    let p = Program {
        config: TreeConfig::default(),
        ops: vec![TreeOp::Pause; MAX_OPS],
    };
    check_round_trip(&p);
}

/// The opcode of an op, read back from its encoding.
fn binary_opcode(op: &TreeOp) -> usize {
    let p = Program {
        config: TreeConfig::default(),
        ops: vec![op.clone()],
    };
    usize::from(encode(&p)[1])
}

/// Decoding is total and `encode` gives its canonical form: decoding the
/// canonical bytes gives the same program again.
fn check_bytes(data: &[u8]) {
    let p = decode(data);
    assert!(p.ops.len() <= MAX_OPS);
    assert!(p.ops.len() <= data.len().saturating_sub(1));
    let canon = encode(&p);
    assert_eq!(decode(&canon), p, "canonical re-decode of {data:02x?}");
    assert!(canon.len() <= data.len() * 10 + 1);
}

#[test]
fn decode_every_string_up_to_three_bytes() {
    check_bytes(&[]);
    for a in 0..=255u8 {
        check_bytes(&[a]);
        for b in 0..=255u8 {
            check_bytes(&[a, b]);
            for c in 0..=255u8 {
                check_bytes(&[a, b, c]);
            }
        }
    }
}

#[test]
fn decode_random_byte_strings() {
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    for i in 0..20_000 {
        let len = match i % 4 {
            0 => rng.gen_range(0..16),
            1 => rng.gen_range(0..256),
            2 => rng.gen_range(0..4096),
            _ => rng.gen_range(0..20_000),
        };
        let mut data = vec![0u8; len];
        // Mix uniform bytes with runs of continuation bytes (long varints).
        for b in data.iter_mut() {
            *b = if rng.gen_bool(0.3) {
                0x80 | rng.gen::<u8>()
            } else {
                rng.gen()
            };
        }
        check_bytes(&data);
    }
    // More than MAX_OPS ops' worth of input is cut at MAX_OPS.
    let data = vec![0x0au8; 3 * MAX_OPS];
    assert_eq!(decode(&data).ops.len(), MAX_OPS);
}

#[test]
fn truncated_input_decodes_to_a_prefix() {
    let mut rng = ChaCha8Rng::seed_from_u64(11);
    for _ in 0..300 {
        let p = program(&mut rng);
        let bytes = encode(&p);
        for cut in 0..bytes.len() {
            let q = decode(&bytes[..cut]);
            if cut > 0 {
                assert_eq!(q.config, p.config);
            }
            assert!(q.ops.len() <= p.ops.len());
            // Every op but a cut-off last one is intact.
            let whole = q.ops.len().saturating_sub(1);
            assert_eq!(q.ops[..whole], p.ops[..whole]);
        }
    }
}

#[test]
fn overlong_varints_decode_like_short_ones() {
    // `load` with key code 1 (u64::MAX) as a 10-byte over-long varint.
    let mut data = vec![0u8, 3, 0x81];
    data.extend([0x80; 8]);
    data.push(0x00);
    assert_eq!(decode(&data).ops, [TreeOp::Load { index: u64::MAX }]);
    // An 11th continuation byte is not part of the varint: it is the next
    // opcode (0x80 % 24 = 8, `mas_next`), whose operand is then cut off
    // (0).
    let mut data = vec![0u8, 3];
    data.extend([0x80; 11]);
    assert_eq!(
        decode(&data).ops,
        [TreeOp::Load { index: 0 }, TreeOp::MasNext { max: 0 }]
    );
    // High bits past bit 63 are dropped: code u64::MAX is key 2^63.
    for last in [0x01u8, 0x7f] {
        let mut data = vec![0u8, 3];
        data.extend([0xff; 9]);
        data.push(last);
        assert_eq!(decode(&data).ops, [TreeOp::Load { index: 1 << 63 }]);
    }
}

#[test]
fn cheap_encodings_for_common_cases() {
    let one = |op: TreeOp| {
        encode(&Program {
            config: TreeConfig::default(),
            ops: vec![op],
        })
        .len()
            - 1
    };
    // opcode + 1-byte operands.
    assert_eq!(one(TreeOp::Load { index: u64::MAX }), 2);
    assert_eq!(
        one(TreeOp::Load {
            index: u64::MAX - 60
        }),
        2
    );
    assert_eq!(
        one(TreeOp::Store {
            first: 0,
            last: u64::MAX,
            value: None
        }),
        4
    );
    assert_eq!(
        one(TreeOp::Store {
            first: 9,
            last: 3,
            value: Some(5)
        }),
        4
    );
    assert_eq!(
        one(TreeOp::Find {
            index: 0,
            max: u64::MAX
        }),
        3
    );
}

#[test]
fn arbitrary_decodes_like_decode() {
    use arbitrary::{Arbitrary, Unstructured};
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    for _ in 0..200 {
        let len = rng.gen_range(0..512);
        let data: Vec<u8> = (0..len).map(|_| rng.gen()).collect();
        let mut u = Unstructured::new(&data);
        assert_eq!(Program::arbitrary(&mut u).unwrap(), decode(&data));
        assert!(u.is_empty());
        let q = Program::arbitrary_take_rest(Unstructured::new(&data)).unwrap();
        assert_eq!(q, decode(&data));
    }
}

/// Binary seeds live where the fuzzers read them (`corpus/<target>/`);
/// their text sources beside, in `corpus/seeds/<target>/`, out of the
/// fuzzers' way (libFuzzer would read a text file as binary input).
fn corpus_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus")
}

/// The folder of `target`'s seeds in the form `ext`.
fn corpus_dir(target: &str, ext: &str) -> PathBuf {
    if ext == "txt" {
        corpus_root().join("seeds").join(target)
    } else {
        corpus_root().join(target)
    }
}

/// Every target with a seed folder in either form: the folders under
/// `corpus/seeds/` and under `corpus/` (but `seeds/` and `regressions/`).
fn corpus_targets() -> Vec<String> {
    let mut targets = Vec::new();
    for dir in [corpus_root().join("seeds"), corpus_root()] {
        let Ok(rd) = std::fs::read_dir(&dir) else {
            continue;
        };
        for e in rd {
            let p = e.expect("readable corpus entry").path();
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            if p.is_dir() && name != "seeds" && name != "regressions" && !targets.contains(&name) {
                targets.push(name);
            }
        }
    }
    targets.sort();
    targets
}

/// The twin of a seed file of `target` in the other form.
fn twin(target: &str, p: &Path) -> PathBuf {
    let stem = p.file_stem().expect("seed file name");
    let ext = if p.extension().is_some_and(|e| e == "txt") {
        "bin"
    } else {
        "txt"
    };
    corpus_dir(target, ext).join(stem).with_extension(ext)
}

/// Every file with extension `ext` in `target`'s seed corpus, sorted.
fn corpus_files(target: &str, ext: &str) -> Vec<PathBuf> {
    let Ok(dir) = std::fs::read_dir(corpus_dir(target, ext)) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = dir
        .map(|e| e.expect("readable corpus entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == ext))
        .collect();
    files.sort();
    files
}

fn encoded_text(txt: &Path) -> Vec<u8> {
    let text = std::fs::read_to_string(txt).expect("readable text seed");
    if maplefuzz::ops::vma::text::is_vma_text(&text) {
        let p = maplefuzz::ops::vma::text::parse_vma_program(&text)
            .unwrap_or_else(|e| panic!("{}: {e}", txt.display()));
        return maplefuzz::ops::vma::binary::encode(&p);
    }
    let p = parse_program(&text).unwrap_or_else(|e| panic!("{}: {e}", txt.display()));
    encode(&p)
}

/// Every binary seed is the encoding of its text twin, and every text seed
/// has a binary twin, in every target's folders, so the two forms never
/// drift.
#[test]
fn corpus_bins_match_texts() {
    let targets = corpus_targets();
    for t in [
        "tree_ops",
        "tree_alloc",
        "tree_prealloc",
        "tree_faults",
        "vma_ops",
    ] {
        assert!(
            targets.iter().any(|x| x == t),
            "no seeds for {t}: {targets:?}"
        );
        assert!(!corpus_files(t, "txt").is_empty(), "no text seeds for {t}");
    }
    for target in &targets {
        for bin in corpus_files(target, "bin") {
            let txt = twin(target, &bin);
            assert!(
                txt.exists(),
                "{} has no text twin {}",
                bin.display(),
                txt.display()
            );
            let bytes = std::fs::read(&bin).expect("readable binary seed");
            assert!(
                bytes == encoded_text(&txt),
                "{} is not encode(parse({})); regenerate with \
                 `cargo test --test codec -- --ignored write_corpus_bins`",
                bin.display(),
                txt.display()
            );
        }
        for txt in corpus_files(target, "txt") {
            assert!(
                twin(target, &txt).exists(),
                "{} has no binary twin; generate it with \
                 `cargo test --test codec -- --ignored write_corpus_bins`",
                txt.display()
            );
        }
    }
}

/// Writes `corpus/<target>/NAME.bin = encode(parse(NAME.txt))` for every
/// text seed `corpus/seeds/<target>/NAME.txt`.
#[test]
#[ignore = "generator: writes corpus/<target>/*.bin"]
fn write_corpus_bins() {
    for target in corpus_targets() {
        for txt in corpus_files(&target, "txt") {
            let bin = twin(&target, &txt);
            std::fs::create_dir_all(bin.parent().unwrap()).expect("writable corpus");
            std::fs::write(&bin, encoded_text(&txt)).expect("writable corpus");
            println!("wrote {}", bin.display());
        }
    }
}
