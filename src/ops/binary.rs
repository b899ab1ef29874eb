//! The binary form of a program: the bytes fuzzers mutate.
//!
//! [`decode`] is **total**: every byte string is some valid [`Program`], it
//! never panics and it allocates at most [`MAX_OPS`] ops. [`encode`] is its
//! exact inverse: `decode(&encode(&p)) == p` for every program with at most
//! [`MAX_OPS`] ops and value tokens at most [`MAX_TOKEN`] (every program the
//! text form accepts), and `encode` writes the canonical (shortest) bytes,
//! so `encode(&decode(b))` is the canonical form of any input `b`.
//!
//! # Layout
//!
//! ```text
//! program := config op*
//! config  := byte             bit 0 = alloc, bit 1 = rcu, other bits ignored
//! op      := opcode operand*  opcode byte taken modulo 30 (OP_KINDS)
//! ```
//!
//! An empty input is the default config with no ops. Decoding stops at the
//! end of the input or after [`MAX_OPS`] ops (the rest is ignored).
//!
//! | opcode | op            | operands                     |
//! |-------:|---------------|------------------------------|
//! |      0 | `store`       | key `first`, span, store-value |
//! |      1 | `insert`      | key `first`, span, insert-value |
//! |      2 | `erase`       | key `index`                  |
//! |      3 | `load`        | key `index`                  |
//! |      4 | `find`        | key `index`, key `max`       |
//! |      5 | `walk`        | key `index`                  |
//! |      6 | `mas_find`    | key `max`                    |
//! |      7 | `mas_find_rev`| key `min`                    |
//! |      8 | `mas_next`    | key `max`                    |
//! |      9 | `mas_prev`    | key `min`                    |
//! |     10 | `pause`       | —                            |
//! |     11 | `set`         | key `index`                  |
//! |     12 | `destroy`     | —                            |
//! |     13 | `empty_area`  | key `min`, key `max`, size   |
//! |     14 | `empty_area_rev` | key `min`, key `max`, size |
//! |     15 | `alloc_range` | size, key `min`, key `max`, insert-value |
//! |     16 | `alloc_rrange`| size, key `min`, key `max`, insert-value |
//! |     17 | `prealloc`    | key `first`, span, store-value |
//! |     18 | `store_prealloc` | store-value               |
//! |     19 | `mas_store`   | key `first`, span, store-value |
//! |     20 | `mas_destroy` | —                            |
//! |     21 | `fail_allocs` | schedule                     |
//! |     22 | `expected_entries` | varint `count`, taken modulo 1024 ([`super::EXPECTED_ENTRIES_MAX`] + 1) |
//! |     23 | `alloc_cyclic` | key `min`, key `max`, key `next`, insert-value |
//! |     24 | `reset`       | —                            |
//! |     25 | `set_range`   | key `first`, span            |
//! |     26 | `cur_empty_area` | key `min`, key `max`, size |
//! |     27 | `cur_empty_area_rev` | key `min`, key `max`, size |
//! |     28 | `cur_store`   | store-value                  |
//! |     29 | `cur_erase`   | —                            |
//!
//! Every operand is one unsigned LEB128 varint `v` (7 bits per byte, low
//! group first, high bit = "more bytes follow"), read as follows:
//!
//! - **varint**: at most 10 bytes are read; the 10th byte ends the varint
//!   whatever its high bit, and payload bits beyond bit 63 are dropped (so
//!   over-long encodings decode, their extra high bits ignored). A varint cut
//!   off by the end of the input, or missing entirely, reads as if the input
//!   were padded with zero bytes: the bits read so far, or 0.
//! - **key** (any index): the low bit of `v` picks the end of the key space
//!   it counts from: `v` even ⇒ `key = v >> 1` (from 0 up), `v` odd ⇒
//!   `key = u64::MAX - (v >> 1)` (from `u64::MAX` down). So `0`, `1`, `2`,
//!   … and `u64::MAX`, `u64::MAX - 1`, … all cost one byte; `2^32` costs 5.
//!   This is a bijection on `u64`.
//! - **span** (of a range `first..=last`): the zigzag encoding of
//!   `len = last.wrapping_sub(first)` read as an `i64`:
//!   `v = 2·len` for `len ≥ 0`, `v = 2·|len| − 1` for `len < 0`; decoded as
//!   `last = first.wrapping_add(len)`. Short ranges, short reversed ranges
//!   (`first > last`, which test `EINVAL`) and `0..=u64::MAX` (`len = -1`,
//!   `v = 1`) are all one byte. Also a bijection on `u64`.
//! - **store-value**: `v = 0` ⇒ `None` (store NULL); `v ≥ 1` ⇒ token
//!   `(v − 1) & MAX_TOKEN`. Canonical: `Some(t)` is written `t + 1`.
//! - **insert-value** (insert and the alloc ops have no NULL): token
//!   `v & MAX_TOKEN`, so token 0 (a valid entry, the kernel's
//!   `xa_mk_value(0)`) is expressible and every token maps to itself.
//!   Canonical: `t` is written `t`.
//! - **size** (of a gap search or allocation): `v` itself, 0 included (an
//!   `EINVAL` case). A bijection on `u64`.
//! - **schedule** (of `fail_allocs`): one kind byte, taken modulo 5
//!   (0 `never`, 1 `nth`, 2 `next`, 3 `every`, 4 `from`), then one varint
//!   `n`, the count: `nth n`, `next n`, `every n`, `from n`. `never` reads its varint too and
//!   ignores it (canonical: 0), so flipping the kind byte never shifts the
//!   ops after it. A kind byte missing at the end of the input reads 0.
//!
//! Tokens above [`MAX_TOKEN`] therefore map into range by dropping bit 63.
//! A program holding such tokens (one the text form rejects) is encoded as
//! its in-range image.

use super::{FaultSchedule, Program, TreeConfig, TreeOp, MAX_TOKEN};

/// The most ops [`decode`] produces; later input bytes are ignored.
pub const MAX_OPS: usize = 4096;

/// The number of op kinds; an opcode byte is taken modulo this.
pub const OP_KINDS: u8 = 30;

/// The number of fault schedule kinds; a kind byte is taken modulo this.
const SCHEDULE_KINDS: u8 = 5;

/// The longest varint read, in bytes (10 × 7 bits covers 64 bits).
const MAX_VARINT_LEN: usize = 10;

const CONFIG_ALLOC: u8 = 1 << 0;
const CONFIG_RCU: u8 = 1 << 1;

/// Reads a byte string front to back; past the end it reads zero bytes.
struct Reader<'a> {
    data: &'a [u8],
}

impl Reader<'_> {
    fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    fn byte(&mut self) -> u8 {
        match self.data.split_first() {
            Some((&b, rest)) => {
                self.data = rest;
                b
            }
            None => 0,
        }
    }

    fn varint(&mut self) -> u64 {
        let mut v = 0u64;
        for i in 0..MAX_VARINT_LEN {
            let Some((&b, rest)) = self.data.split_first() else {
                break;
            };
            self.data = rest;
            // At i = 9 the shift is 63: only the payload's low bit survives.
            v |= u64::from(b & 0x7f) << (7 * i);
            if b & 0x80 == 0 {
                break;
            }
        }
        v
    }

    fn key(&mut self) -> u64 {
        key_from_code(self.varint())
    }

    /// A range `first..=last` (`first > last` allowed).
    fn range(&mut self) -> (u64, u64) {
        let first = self.key();
        let len = unzigzag(self.varint());
        (first, first.wrapping_add(len))
    }

    /// A `fail_allocs` schedule: a kind byte, then a count.
    fn schedule(&mut self) -> FaultSchedule {
        let kind = self.byte() % SCHEDULE_KINDS;
        let n = self.varint();
        match kind {
            0 => FaultSchedule::Never,
            1 => FaultSchedule::Nth(n),
            2 => FaultSchedule::Next(n),
            3 => FaultSchedule::Every(n),
            _ => FaultSchedule::From(n),
        }
    }
}

fn key_from_code(v: u64) -> u64 {
    if v & 1 == 0 {
        v >> 1
    } else {
        u64::MAX - (v >> 1)
    }
}

fn key_to_code(k: u64) -> u64 {
    if k <= u64::MAX >> 1 {
        k << 1
    } else {
        ((u64::MAX - k) << 1) | 1
    }
}

fn zigzag(d: u64) -> u64 {
    (d << 1) ^ (((d as i64) >> 63) as u64)
}

fn unzigzag(z: u64) -> u64 {
    (z >> 1) ^ (z & 1).wrapping_neg()
}

fn store_value_from_code(v: u64) -> Option<u64> {
    v.checked_sub(1).map(|t| t & MAX_TOKEN)
}

fn store_value_to_code(v: Option<u64>) -> u64 {
    match v {
        None => 0,
        Some(t) => (t & MAX_TOKEN) + 1,
    }
}

fn insert_value_from_code(v: u64) -> u64 {
    v & MAX_TOKEN
}

fn insert_value_to_code(t: u64) -> u64 {
    t & MAX_TOKEN
}

fn decode_op(r: &mut Reader<'_>) -> TreeOp {
    let opcode = r.byte() % OP_KINDS;
    match opcode {
        0 => {
            let (first, last) = r.range();
            let value = store_value_from_code(r.varint());
            TreeOp::Store { first, last, value }
        }
        1 => {
            let (first, last) = r.range();
            let value = insert_value_from_code(r.varint());
            TreeOp::Insert { first, last, value }
        }
        2 => TreeOp::Erase { index: r.key() },
        3 => TreeOp::Load { index: r.key() },
        4 => {
            let index = r.key();
            let max = r.key();
            TreeOp::Find { index, max }
        }
        5 => TreeOp::Walk { index: r.key() },
        6 => TreeOp::MasFind { max: r.key() },
        7 => TreeOp::MasFindRev { min: r.key() },
        8 => TreeOp::MasNext { max: r.key() },
        9 => TreeOp::MasPrev { min: r.key() },
        10 => TreeOp::Pause,
        11 => TreeOp::Set { index: r.key() },
        12 => TreeOp::Destroy,
        13 | 14 => {
            let min = r.key();
            let max = r.key();
            let size = r.varint();
            if opcode == 13 {
                TreeOp::EmptyArea { min, max, size }
            } else {
                TreeOp::EmptyAreaRev { min, max, size }
            }
        }
        15 | 16 => {
            let size = r.varint();
            let min = r.key();
            let max = r.key();
            let value = insert_value_from_code(r.varint());
            TreeOp::alloc(opcode != 15, size, min, max, value)
        }
        17 | 19 => {
            let (first, last) = r.range();
            let value = store_value_from_code(r.varint());
            if opcode == 17 {
                TreeOp::Prealloc { first, last, value }
            } else {
                TreeOp::MasStore { first, last, value }
            }
        }
        18 => TreeOp::StorePrealloc {
            value: store_value_from_code(r.varint()),
        },
        20 => TreeOp::MasDestroy,
        21 => TreeOp::FailAllocs {
            schedule: r.schedule(),
        },
        22 => TreeOp::ExpectedEntries {
            count: r.varint() % (super::EXPECTED_ENTRIES_MAX + 1),
        },
        23 => TreeOp::AllocCyclic {
            min: r.key(),
            max: r.key(),
            next: r.key(),
            value: insert_value_from_code(r.varint()),
        },
        24 => TreeOp::Reset,
        25 => {
            let (first, last) = r.range();
            TreeOp::SetRange { first, last }
        }
        26 | 27 => {
            let min = r.key();
            let max = r.key();
            let size = r.varint();
            if opcode == 26 {
                TreeOp::CurEmptyArea { min, max, size }
            } else {
                TreeOp::CurEmptyAreaRev { min, max, size }
            }
        }
        28 => TreeOp::CurStore {
            value: store_value_from_code(r.varint()),
        },
        _ => TreeOp::CurErase,
    }
}

/// Decodes any byte string into a program. Total: never panics, and holds
/// at most [`MAX_OPS`] ops (each op consumes at least one byte).
pub fn decode(data: &[u8]) -> Program {
    let mut r = Reader { data };
    let mut p = Program::default();
    if r.is_empty() {
        return p;
    }
    let config = r.byte();
    p.config = TreeConfig {
        alloc: config & CONFIG_ALLOC != 0,
        rcu: config & CONFIG_RCU != 0,
    };
    p.ops.reserve(r.data.len().min(MAX_OPS));
    while !r.is_empty() && p.ops.len() < MAX_OPS {
        p.ops.push(decode_op(&mut r));
    }
    p
}

fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8 & 0x7f) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn put_key(out: &mut Vec<u8>, k: u64) {
    put_varint(out, key_to_code(k));
}

fn put_range(out: &mut Vec<u8>, first: u64, last: u64) {
    put_key(out, first);
    put_varint(out, zigzag(last.wrapping_sub(first)));
}

fn opcode(op: &TreeOp) -> u8 {
    match op {
        TreeOp::Store { .. } => 0,
        TreeOp::Insert { .. } => 1,
        TreeOp::Erase { .. } => 2,
        TreeOp::Load { .. } => 3,
        TreeOp::Find { .. } => 4,
        TreeOp::Walk { .. } => 5,
        TreeOp::MasFind { .. } => 6,
        TreeOp::MasFindRev { .. } => 7,
        TreeOp::MasNext { .. } => 8,
        TreeOp::MasPrev { .. } => 9,
        TreeOp::Pause => 10,
        TreeOp::Set { .. } => 11,
        TreeOp::Destroy => 12,
        TreeOp::EmptyArea { .. } => 13,
        TreeOp::EmptyAreaRev { .. } => 14,
        TreeOp::AllocRange { .. } => 15,
        TreeOp::AllocRRange { .. } => 16,
        TreeOp::Prealloc { .. } => 17,
        TreeOp::StorePrealloc { .. } => 18,
        TreeOp::MasStore { .. } => 19,
        TreeOp::MasDestroy => 20,
        TreeOp::FailAllocs { .. } => 21,
        TreeOp::ExpectedEntries { .. } => 22,
        TreeOp::AllocCyclic { .. } => 23,
        TreeOp::Reset => 24,
        TreeOp::SetRange { .. } => 25,
        TreeOp::CurEmptyArea { .. } => 26,
        TreeOp::CurEmptyAreaRev { .. } => 27,
        TreeOp::CurStore { .. } => 28,
        TreeOp::CurErase => 29,
    }
}

fn put_schedule(out: &mut Vec<u8>, s: FaultSchedule) {
    let (kind, n) = match s {
        FaultSchedule::Never => (0, 0),
        FaultSchedule::Nth(k) => (1, k),
        FaultSchedule::Next(n) => (2, n),
        FaultSchedule::Every(n) => (3, n),
        FaultSchedule::From(k) => (4, k),
    };
    out.push(kind);
    put_varint(out, n);
}

fn encode_op(out: &mut Vec<u8>, op: &TreeOp) {
    out.push(opcode(op));
    match *op {
        TreeOp::Store { first, last, value } => {
            put_range(out, first, last);
            put_varint(out, store_value_to_code(value));
        }
        TreeOp::Insert { first, last, value } => {
            put_range(out, first, last);
            put_varint(out, insert_value_to_code(value));
        }
        TreeOp::Find { index, max } => {
            put_key(out, index);
            put_key(out, max);
        }
        TreeOp::Erase { index: k }
        | TreeOp::Load { index: k }
        | TreeOp::Walk { index: k }
        | TreeOp::MasFind { max: k }
        | TreeOp::MasFindRev { min: k }
        | TreeOp::MasNext { max: k }
        | TreeOp::MasPrev { min: k }
        | TreeOp::Set { index: k } => put_key(out, k),
        TreeOp::EmptyArea { min, max, size }
        | TreeOp::EmptyAreaRev { min, max, size }
        | TreeOp::CurEmptyArea { min, max, size }
        | TreeOp::CurEmptyAreaRev { min, max, size } => {
            put_key(out, min);
            put_key(out, max);
            put_varint(out, size);
        }
        TreeOp::AllocRange {
            size,
            min,
            max,
            value,
        }
        | TreeOp::AllocRRange {
            size,
            min,
            max,
            value,
        } => {
            put_varint(out, size);
            put_key(out, min);
            put_key(out, max);
            put_varint(out, insert_value_to_code(value));
        }
        TreeOp::Prealloc { first, last, value } | TreeOp::MasStore { first, last, value } => {
            put_range(out, first, last);
            put_varint(out, store_value_to_code(value));
        }
        TreeOp::StorePrealloc { value } | TreeOp::CurStore { value } => {
            put_varint(out, store_value_to_code(value))
        }
        TreeOp::SetRange { first, last } => put_range(out, first, last),
        TreeOp::FailAllocs { schedule } => put_schedule(out, schedule),
        TreeOp::ExpectedEntries { count } => {
            put_varint(out, count % (super::EXPECTED_ENTRIES_MAX + 1))
        }
        TreeOp::AllocCyclic {
            min,
            max,
            next,
            value,
        } => {
            put_key(out, min);
            put_key(out, max);
            put_key(out, next);
            put_varint(out, insert_value_to_code(value));
        }
        TreeOp::Pause | TreeOp::Destroy | TreeOp::MasDestroy | TreeOp::Reset | TreeOp::CurErase => {
        }
    }
}

/// Encodes a program in its canonical (shortest) binary form: the config
/// byte, then every op. The exact inverse of [`decode`] for programs with at
/// most [`MAX_OPS`] ops and tokens at most [`MAX_TOKEN`].
pub fn encode(p: &Program) -> Vec<u8> {
    let mut out = Vec::with_capacity(1 + 4 * p.ops.len());
    let mut config = 0;
    if p.config.alloc {
        config |= CONFIG_ALLOC;
    }
    if p.config.rcu {
        config |= CONFIG_RCU;
    }
    out.push(config);
    for op in &p.ops {
        encode_op(&mut out, op);
    }
    out
}

/// A program from fuzzer bytes: **all** remaining bytes go through
/// [`decode`].
///
/// Why not derive it: every driver (libFuzzer, honggfuzz, the replay CLI,
/// `cargo test`) must turn bytes into programs the same way, so there is
/// one decoder, and it has an encoder for writing corpora and reproducers.
/// arbitrary's own `Vec` decoding reads a "keep going" byte before each
/// element, so uniformly random bytes give about one op, and it has no
/// encoder. Because it takes every byte, a `Program` inside a tuple or
/// struct leaves nothing for the fields after it; put it last or alone.
impl<'a> arbitrary::Arbitrary<'a> for Program {
    fn arbitrary(u: &mut arbitrary::Unstructured<'a>) -> arbitrary::Result<Self> {
        let rest = u.bytes(u.len())?;
        Ok(decode(rest))
    }

    fn arbitrary_take_rest(u: arbitrary::Unstructured<'a>) -> arbitrary::Result<Self> {
        Ok(decode(u.take_rest()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opcodes_follow_the_kinds_table() {
        for (opcode, kind) in TreeOp::KINDS.iter().enumerate() {
            let mut bytes = vec![0u8, opcode as u8];
            bytes.extend([0u8; 16]);
            let p = decode(&bytes);
            assert_eq!(p.ops[0].kind(), *kind, "opcode {opcode}");
        }
        assert_eq!(TreeOp::KINDS.len(), OP_KINDS as usize);
    }

    fn leb(v: u64) -> Vec<u8> {
        let mut out = Vec::new();
        put_varint(&mut out, v);
        out
    }

    fn read_varint(bytes: &[u8]) -> (u64, usize) {
        let mut r = Reader { data: bytes };
        let v = r.varint();
        (v, bytes.len() - r.data.len())
    }

    #[test]
    fn varint_is_minimal_leb128() {
        assert_eq!(leb(0), [0x00]);
        assert_eq!(leb(0x7f), [0x7f]);
        assert_eq!(leb(0x80), [0x80, 0x01]);
        assert_eq!(leb(300), [0xac, 0x02]);
        assert_eq!(leb(u64::MAX).len(), 10);
        assert_eq!(*leb(u64::MAX).last().unwrap(), 0x01);
        for v in [0, 1, 127, 128, 1 << 32, (1 << 63) - 1, 1 << 63, u64::MAX] {
            let b = leb(v);
            assert_eq!(read_varint(&b), (v, b.len()));
        }
    }

    #[test]
    fn varint_overlong_truncated_and_capped() {
        // Over-long zero: ten bytes, the last one ends it.
        let mut b = vec![0x80; 9];
        b.push(0x00);
        b.push(0x55);
        assert_eq!(read_varint(&b), (0, 10));
        // Ten continuation bytes: the 10th ends the varint anyway.
        assert_eq!(read_varint(&[0x80; 12]), (0, 10));
        // Extra high bits in the 10th byte are dropped.
        let mut b = vec![0xff; 9];
        b.push(0x7f);
        assert_eq!(read_varint(&b), (u64::MAX, 10));
        let mut b = vec![0xff; 9];
        b.push(0x01);
        assert_eq!(read_varint(&b), (u64::MAX, 10));
        // Truncated: the bits read so far (as if padded with zero bytes).
        assert_eq!(read_varint(&[0xac]), (0x2c, 1));
        assert_eq!(read_varint(&[]), (0, 0));
    }

    #[test]
    fn keys_count_from_either_end() {
        assert_eq!(key_from_code(0), 0);
        assert_eq!(key_from_code(1), u64::MAX);
        assert_eq!(key_from_code(2), 1);
        assert_eq!(key_from_code(3), u64::MAX - 1);
        assert_eq!(key_from_code(u64::MAX - 1), (1 << 63) - 1);
        assert_eq!(key_from_code(u64::MAX), 1 << 63);
        for k in [
            0,
            1,
            2,
            1 << 32,
            (1 << 63) - 1,
            1 << 63,
            u64::MAX - 1,
            u64::MAX,
        ] {
            assert_eq!(key_from_code(key_to_code(k)), k);
            assert_eq!(key_to_code(key_from_code(k)), k);
        }
    }

    #[test]
    fn spans_are_zigzag() {
        assert_eq!(zigzag(0), 0);
        assert_eq!(zigzag(u64::MAX), 1); // -1
        assert_eq!(zigzag(1), 2);
        assert_eq!(zigzag(u64::MAX - 1), 3); // -2
        for d in [
            0,
            1,
            2,
            1 << 32,
            (1 << 63) - 1,
            1 << 63,
            u64::MAX - 1,
            u64::MAX,
        ] {
            assert_eq!(unzigzag(zigzag(d)), d);
            assert_eq!(zigzag(unzigzag(d)), d);
        }
    }

    #[test]
    fn values_map_into_range() {
        assert_eq!(store_value_from_code(0), None);
        assert_eq!(store_value_from_code(1), Some(0));
        assert_eq!(store_value_from_code(u64::MAX), Some(MAX_TOKEN - 1));
        assert_eq!(store_value_from_code(MAX_TOKEN + 1), Some(MAX_TOKEN));
        assert_eq!(store_value_from_code(MAX_TOKEN + 2), Some(0));
        assert_eq!(insert_value_from_code(0), 0);
        assert_eq!(insert_value_from_code(MAX_TOKEN), MAX_TOKEN);
        assert_eq!(insert_value_from_code(MAX_TOKEN + 1), 0);
        assert_eq!(insert_value_from_code(u64::MAX), MAX_TOKEN);
    }

    /// Pins the format: a change here invalidates every stored corpus.
    #[test]
    fn golden_bytes() {
        let p = Program {
            config: TreeConfig {
                alloc: true,
                rcu: true,
            },
            ops: vec![
                TreeOp::Store {
                    first: 0x10,
                    last: 0x1f,
                    value: Some(7),
                },
                TreeOp::Store {
                    first: 0,
                    last: u64::MAX,
                    value: None,
                },
                TreeOp::Insert {
                    first: 5,
                    last: 3,
                    value: 0,
                },
                TreeOp::Erase { index: u64::MAX },
                TreeOp::Find {
                    index: 1,
                    max: u64::MAX,
                },
                TreeOp::Pause,
                TreeOp::Destroy,
            ],
        };
        let bytes = [
            0x03, // config alloc rcu
            0x00, 0x20, 0x1e, 0x08, // store 0x10 0x1f v7
            0x00, 0x00, 0x01, 0x00, // store 0 max null
            0x01, 0x0a, 0x03, 0x00, // insert 5 3 v0
            0x02, 0x01, // erase max
            0x04, 0x02, 0x01, // find 1 max
            0x0a, // pause
            0x0c, // destroy
        ];
        assert_eq!(encode(&p), bytes);
        assert_eq!(decode(&bytes), p);
    }

    /// Pins the opcodes 13..=21 and their operands.
    #[test]
    fn golden_bytes_of_the_alloc_prealloc_and_fault_ops() {
        let p = Program {
            config: TreeConfig {
                alloc: true,
                rcu: false,
            },
            ops: vec![
                TreeOp::EmptyArea {
                    min: 0,
                    max: u64::MAX,
                    size: 16,
                },
                TreeOp::EmptyAreaRev {
                    min: 1,
                    max: 2,
                    size: 0x80,
                },
                TreeOp::AllocRange {
                    size: 1,
                    min: 0,
                    max: u64::MAX,
                    value: 9,
                },
                TreeOp::AllocRRange {
                    size: 0,
                    min: u64::MAX - 1,
                    max: u64::MAX,
                    value: 0,
                },
                TreeOp::Prealloc {
                    first: 0x10,
                    last: 0x1f,
                    value: Some(7),
                },
                TreeOp::StorePrealloc { value: Some(7) },
                TreeOp::MasStore {
                    first: 5,
                    last: 3,
                    value: None,
                },
                TreeOp::MasDestroy,
                TreeOp::FailAllocs {
                    schedule: FaultSchedule::Never,
                },
                TreeOp::FailAllocs {
                    schedule: FaultSchedule::Nth(3),
                },
                TreeOp::FailAllocs {
                    schedule: FaultSchedule::Next(2),
                },
                TreeOp::FailAllocs {
                    schedule: FaultSchedule::Every(300),
                },
                TreeOp::FailAllocs {
                    schedule: FaultSchedule::From(1),
                },
            ],
        };
        let bytes = [
            0x01, // config alloc
            0x0d, 0x00, 0x01, 0x10, // empty_area 0 max 16
            0x0e, 0x02, 0x04, 0x80, 0x01, // empty_area_rev 1 2 0x80
            0x0f, 0x01, 0x00, 0x01, 0x09, // alloc_range 1 0 max v9
            0x10, 0x00, 0x03, 0x01, 0x00, // alloc_rrange 0 max-1 max v0
            0x11, 0x20, 0x1e, 0x08, // prealloc 0x10 0x1f v7
            0x12, 0x08, // store_prealloc v7
            0x13, 0x0a, 0x03, 0x00, // mas_store 5 3 null
            0x14, // mas_destroy
            0x15, 0x00, 0x00, // fail_allocs never
            0x15, 0x01, 0x03, // fail_allocs nth 3
            0x15, 0x02, 0x02, // fail_allocs next 2
            0x15, 0x03, 0xac, 0x02, // fail_allocs every 300
            0x15, 0x04, 0x01, // fail_allocs from 1
        ];
        assert_eq!(encode(&p), bytes);
        assert_eq!(decode(&bytes), p);
    }

    #[test]
    fn schedules_wrap_and_pad() {
        let fail = |schedule| TreeOp::FailAllocs { schedule };
        // Kind 6 % 5 = 1: nth.
        assert_eq!(decode(&[0, 21, 6, 7]).ops, [fail(FaultSchedule::Nth(7))]);
        assert_eq!(decode(&[0, 21, 4, 7]).ops, [fail(FaultSchedule::From(7))]);
        // `never` reads its count and ignores it; canonical count 0.
        let p = decode(&[0, 21, 5, 9]);
        assert_eq!(p.ops, [fail(FaultSchedule::Never)]);
        assert_eq!(encode(&p), [0, 21, 0, 0]);
        // Cut off: a missing kind byte reads 0 (never), a missing count 0.
        assert_eq!(decode(&[0, 21]).ops, [fail(FaultSchedule::Never)]);
        assert_eq!(decode(&[0, 21, 3]).ops, [fail(FaultSchedule::Every(0))]);
        // 21 + 30: the opcode wraps too.
        assert_eq!(decode(&[0, 51, 2, 5]).ops, [fail(FaultSchedule::Next(5))]);
    }

    #[test]
    fn empty_and_config_only() {
        assert_eq!(decode(&[]), Program::default());
        assert_eq!(decode(&[0xfc]), Program::default());
        assert_eq!(encode(&Program::default()), [0]);
        let p = decode(&[0xfe]);
        assert!(p.config.rcu && !p.config.alloc && p.ops.is_empty());
    }

    #[test]
    fn opcodes_wrap_and_operands_pad() {
        // 30 + 10 = pause; a lone store opcode (30) reads zero operands.
        let p = decode(&[0, 40, 30]);
        assert_eq!(
            p.ops,
            [
                TreeOp::Pause,
                TreeOp::Store {
                    first: 0,
                    last: 0,
                    value: None
                }
            ]
        );
    }

    /// Opcode 22 (new with bulk mode) and its bounded count; the opcodes
    /// before it keep their bytes.
    #[test]
    fn expected_entries_has_opcode_22_and_a_bounded_count() {
        let p = Program {
            config: TreeConfig::default(),
            ops: vec![
                TreeOp::ExpectedEntries { count: 0 },
                TreeOp::ExpectedEntries { count: 200 },
                TreeOp::ExpectedEntries { count: 1023 },
                TreeOp::MasDestroy,
            ],
        };
        let bytes = [0x00, 0x16, 0x00, 0x16, 0xc8, 0x01, 0x16, 0xff, 0x07, 0x14];
        assert_eq!(encode(&p), bytes);
        assert_eq!(decode(&bytes), p);
        // 1024 + 5 decodes as 5; a cut-off count reads 0; 22 + 30 wraps.
        assert_eq!(
            decode(&[0, 22, 0x85, 0x08]).ops,
            [TreeOp::ExpectedEntries { count: 5 }]
        );
        assert_eq!(decode(&[0, 52]).ops, [TreeOp::ExpectedEntries { count: 0 }]);
    }

    /// The ops on the cursor's own state (opcodes 24 to 29); the opcodes
    /// before them keep their bytes.
    #[test]
    fn cursor_state_ops_have_opcodes_24_to_29() {
        let p = Program {
            config: TreeConfig::default(),
            ops: vec![
                TreeOp::Reset,
                TreeOp::SetRange { first: 5, last: 7 },
                TreeOp::CurEmptyArea {
                    min: 0,
                    max: u64::MAX,
                    size: 3,
                },
                TreeOp::CurEmptyAreaRev {
                    min: 1,
                    max: 2,
                    size: 1,
                },
                TreeOp::CurStore { value: Some(4) },
                TreeOp::CurStore { value: None },
                TreeOp::CurErase,
            ],
        };
        let bytes = [
            0x00, 24, 25, 10, 4, 26, 0, 1, 3, 27, 2, 4, 1, 28, 5, 28, 0, 29,
        ];
        assert_eq!(encode(&p), bytes);
        assert_eq!(decode(&bytes), p);
        // A cut-off set_range reads zeros.
        assert_eq!(
            decode(&[0, 25]).ops,
            [TreeOp::SetRange { first: 0, last: 0 }]
        );
    }

    #[test]
    fn alloc_cyclic_has_opcode_23_and_key_operands() {
        let p = Program {
            config: TreeConfig {
                alloc: true,
                rcu: false,
            },
            ops: vec![TreeOp::AllocCyclic {
                min: 2,
                max: u64::MAX,
                next: u64::MAX - 1,
                value: 7,
            }],
        };
        // min 2 -> 4, max -> 1, next u64::MAX - 1 -> 3, token 7 -> 7.
        let bytes = [0x01, 0x17, 0x04, 0x01, 0x03, 0x07];
        assert_eq!(encode(&p), bytes);
        assert_eq!(decode(&bytes), p);
        // Cut off after the opcode: every operand reads 0.
        assert_eq!(
            decode(&[1, 23 + 30]).ops,
            [TreeOp::AllocCyclic {
                min: 0,
                max: 0,
                next: 0,
                value: 0
            }]
        );
    }

    #[test]
    fn op_count_is_capped() {
        let data = vec![10u8; MAX_OPS + 100];
        assert_eq!(decode(&data).ops.len(), MAX_OPS);
    }

    #[test]
    fn arbitrary_takes_every_byte() {
        use arbitrary::{Arbitrary, Unstructured};
        let bytes = [0u8, 10, 10, 12];
        let mut u = Unstructured::new(&bytes);
        let p = Program::arbitrary(&mut u).unwrap();
        assert_eq!(p, decode(&bytes));
        assert!(u.is_empty());
        let q = Program::arbitrary_take_rest(Unstructured::new(&bytes)).unwrap();
        assert_eq!(q, p);
    }
}
