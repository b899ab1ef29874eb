//! Bytes to VMA programs (total: every byte string is a program), programs
//! to bytes, and the seeded generator, all through one op builder.
//!
//! The builder draws from a [`Source`]: the fuzzer's bytes ([`decode`]) or a
//! seeded RNG ([`generate`]). Arguments are drawn in two modes. The compact
//! mode aims at collisions: addresses are whole pages inside four small
//! windows (low memory at `mmap_min_addr`, just below `mmap_base` where the
//! top-down allocator places mappings, the brk area, and address 0 with
//! its neighbours), lengths 0 to 16 pages, protections and flags from the
//! values the kernel accepts. The raw mode (tag bit 7) reads every argument
//! as a full word, so any value can be expressed: [`encode`] writes every op
//! raw, and `decode(encode(p)) == p`.
//!
//! [`encode`] starts with [`MAGIC`], so a reproducer's `.bin` file says what
//! it is; [`decode`] skips it (fuzzer inputs do not have it).
//!
//! Layout: one setup byte (max_map_count = 4 + (b & 0x3f) % 60; bit 7:
//! profile 6.1, else bit 6: profile 7.1, else 6.12; encodings written
//! before 7.1 had a profile never set bit 6, so they read as before),
//! then per op a tag byte (kind = tag % 8, raw = tag & 0x80) and its
//! arguments; kind 7 is a fork when bits 5 and 6 of the tag are both set
//! (one byte: bit 0 keeps the child), else `fail_at`. Missing bytes read as
//! zero.

use super::uapi::*;
use super::{Backing, ForkKeep, VmaOp, VmaProfile, VmaProgram, VmaSetup};
use rand::Rng;
use rand_chacha::ChaCha8Rng;

/// Where the builder's choices come from.
pub trait Source {
    /// The next byte.
    fn byte(&mut self) -> u8;
    /// The next 64-bit word.
    fn word(&mut self) -> u64 {
        let mut b = [0u8; 8];
        for x in &mut b {
            *x = self.byte();
        }
        u64::from_le_bytes(b)
    }
    /// The next 32-bit word.
    fn word32(&mut self) -> u32 {
        let mut b = [0u8; 4];
        for x in &mut b {
            *x = self.byte();
        }
        u32::from_le_bytes(b)
    }
}

/// The fuzzer's bytes, zeros after the end.
pub struct Bytes<'a> {
    data: &'a [u8],
    at: usize,
}

impl<'a> Bytes<'a> {
    pub fn new(data: &'a [u8]) -> Self {
        Bytes { data, at: 0 }
    }
    fn done(&self) -> bool {
        self.at >= self.data.len()
    }
}

impl Source for Bytes<'_> {
    fn byte(&mut self) -> u8 {
        let b = self.data.get(self.at).copied().unwrap_or(0);
        self.at += 1;
        b
    }
}

impl Source for ChaCha8Rng {
    fn byte(&mut self) -> u8 {
        self.gen()
    }
}

/// Bases of the compact address windows.
const WINDOWS: [u64; 4] = [MMAP_MIN_ADDR, MMAP_BASE - 48 * PAGE, START_BRK, 0];

const ADVICES: [u32; 9] = [
    MADV_NORMAL,
    MADV_RANDOM,
    MADV_SEQUENTIAL,
    MADV_DONTFORK,
    MADV_DOFORK,
    MADV_DONTDUMP,
    MADV_DODUMP,
    MADV_WIPEONFORK,
    MADV_KEEPONFORK,
];

fn addr(s: &mut dyn Source, raw: bool) -> u64 {
    if raw {
        return s.word();
    }
    let b = s.byte();
    WINDOWS[usize::from(b >> 6)] + u64::from(b & 63) * PAGE
}

fn len(s: &mut dyn Source, raw: bool) -> u64 {
    if raw {
        s.word()
    } else {
        u64::from(s.byte() % 17) * PAGE
    }
}

fn prot(s: &mut dyn Source, raw: bool) -> u32 {
    if raw {
        s.word32()
    } else {
        u32::from(s.byte() % 8)
    }
}

fn mmap_flags(s: &mut dyn Source, raw: bool) -> u32 {
    if raw {
        return s.word32();
    }
    let b = s.byte();
    let mut f = if b & 1 != 0 { MAP_SHARED } else { MAP_PRIVATE };
    match (b >> 1) % 4 {
        1 | 2 => f |= MAP_FIXED,
        3 => f |= MAP_FIXED_NOREPLACE,
        _ => {}
    }
    if b & 0x10 != 0 {
        f |= MAP_NORESERVE;
    }
    if b & 0xe0 == 0xe0 {
        f |= MAP_GROWSDOWN;
    }
    // One mapping in four is mlock()ed.
    if b & 0x88 == 0x88 {
        f |= MAP_LOCKED;
    }
    f
}

fn backing(s: &mut dyn Source, raw: bool) -> Backing {
    let b = s.byte();
    if b % 2 == 0 {
        return Backing::Anon;
    }
    let file = (b >> 1) % 4;
    let pgoff = if raw {
        s.word()
    } else {
        u64::from(s.byte() % 64)
    };
    Backing::File { file, pgoff }
}

/// One op from the source.
pub fn build_op(s: &mut dyn Source) -> VmaOp {
    let tag = s.byte();
    let raw = tag & 0x80 != 0;
    match tag % 8 {
        0 => VmaOp::Mmap {
            addr: addr(s, raw),
            len: len(s, raw),
            prot: prot(s, raw),
            flags: mmap_flags(s, raw),
            backing: backing(s, raw),
        },
        1 => VmaOp::Munmap {
            addr: addr(s, raw),
            len: len(s, raw),
        },
        2 => VmaOp::Mprotect {
            addr: addr(s, raw),
            len: len(s, raw),
            prot: prot(s, raw),
        },
        3 => VmaOp::Madvise {
            addr: addr(s, raw),
            len: len(s, raw),
            advice: if raw {
                s.word32()
            } else {
                ADVICES[usize::from(s.byte()) % ADVICES.len()]
            },
        },
        4 => VmaOp::Brk {
            addr: if raw {
                s.word()
            } else {
                START_BRK + u64::from(s.byte() % 64) * PAGE
            },
        },
        5 => VmaOp::Mremap {
            addr: addr(s, raw),
            old_len: len(s, raw),
            new_len: len(s, raw),
            flags: if raw {
                s.word32()
            } else {
                [
                    0,
                    MREMAP_MAYMOVE,
                    MREMAP_MAYMOVE | MREMAP_FIXED,
                    MREMAP_MAYMOVE | MREMAP_DONTUNMAP,
                ][usize::from(s.byte() % 4)]
            },
            new_addr: addr(s, raw),
        },
        6 => VmaOp::Touch {
            addr: if raw {
                s.word()
            } else {
                addr(s, false) + u64::from(s.byte()) * 16
            },
            write: s.byte() & 1 != 0,
        },
        _ if tag & 0x60 == 0x60 => VmaOp::Fork {
            keep: if s.byte() & 1 != 0 {
                ForkKeep::Child
            } else {
                ForkKeep::Parent
            },
        },
        _ => VmaOp::FailAt {
            nth: if raw {
                s.word32()
            } else {
                u32::from(s.byte() % 8)
            },
        },
    }
}

fn setup(b: u8) -> VmaSetup {
    VmaSetup {
        max_map_count: 4 + u64::from((b & 0x3f) % 60),
        profile: if b & 0x80 != 0 {
            VmaProfile::V6_1
        } else if b & 0x40 != 0 {
            VmaProfile::V7_1
        } else {
            VmaProfile::V6_12
        },
    }
}

/// The first bytes of an encoded VMA program.
pub const MAGIC: &[u8] = b"MFVMA1\n";

/// The program the bytes stand for.
pub fn decode(data: &[u8]) -> VmaProgram {
    let mut s = Bytes::new(data.strip_prefix(MAGIC).unwrap_or(data));
    let setup = setup(s.byte());
    let mut ops = Vec::new();
    while !s.done() {
        ops.push(build_op(&mut s));
    }
    VmaProgram { setup, ops }
}

/// Bytes that decode to `p` (every op in raw mode; max_map_count is
/// clamped to what the setup byte can say).
pub fn encode(p: &VmaProgram) -> Vec<u8> {
    let mut out = MAGIC.to_vec();
    let mc = p.setup.max_map_count.clamp(4, 63) - 4;
    out.push(
        mc as u8
            | match p.setup.profile {
                VmaProfile::V6_12 => 0,
                VmaProfile::V6_1 => 0x80,
                VmaProfile::V7_1 => 0x40,
            },
    );
    let w = |out: &mut Vec<u8>, v: u64| out.extend_from_slice(&v.to_le_bytes());
    let w32 = |out: &mut Vec<u8>, v: u32| out.extend_from_slice(&v.to_le_bytes());
    for op in &p.ops {
        match *op {
            VmaOp::Mmap {
                addr,
                len,
                prot,
                flags,
                backing,
            } => {
                out.push(0x80);
                w(&mut out, addr);
                w(&mut out, len);
                w32(&mut out, prot);
                w32(&mut out, flags);
                match backing {
                    Backing::Anon => out.push(0),
                    Backing::File { file, pgoff } => {
                        out.push(1 | (file % 4) << 1);
                        w(&mut out, pgoff);
                    }
                }
            }
            VmaOp::Munmap { addr, len } => {
                out.push(0x81);
                w(&mut out, addr);
                w(&mut out, len);
            }
            VmaOp::Mprotect { addr, len, prot } => {
                out.push(0x82);
                w(&mut out, addr);
                w(&mut out, len);
                w32(&mut out, prot);
            }
            VmaOp::Madvise { addr, len, advice } => {
                out.push(0x83);
                w(&mut out, addr);
                w(&mut out, len);
                w32(&mut out, advice);
            }
            VmaOp::Brk { addr } => {
                out.push(0x84);
                w(&mut out, addr);
            }
            VmaOp::Mremap {
                addr,
                old_len,
                new_len,
                flags,
                new_addr,
            } => {
                out.push(0x85);
                w(&mut out, addr);
                w(&mut out, old_len);
                w(&mut out, new_len);
                w32(&mut out, flags);
                w(&mut out, new_addr);
            }
            VmaOp::Touch { addr, write } => {
                out.push(0x86);
                w(&mut out, addr);
                out.push(u8::from(write));
            }
            VmaOp::FailAt { nth } => {
                out.push(0x87);
                w32(&mut out, nth);
            }
            VmaOp::Fork { keep } => {
                out.push(0xe7);
                out.push(u8::from(keep == ForkKeep::Child));
            }
        }
    }
    out
}

/// A generated `vma_ops` program on one of `profiles` (drawn after the
/// ops, and only if there is a choice, so the ops of a seed do not depend
/// on the profiles): 8 to 80 ops, mostly in compact mode, a few raw ops
/// with odd values.
pub fn generate(rng: &mut ChaCha8Rng, profiles: &[VmaProfile]) -> VmaProgram {
    let n = rng.gen_range(8..=80);
    let mut setup = VmaSetup {
        max_map_count: rng.gen_range(4..=40),
        profile: profiles.first().copied().unwrap_or_default(),
    };
    let mut ops = Vec::with_capacity(n);
    for _ in 0..n {
        let op = if rng.gen_ratio(1, 40) {
            raw_op(rng)
        } else {
            build_op(rng)
        };
        ops.push(op);
    }
    if profiles.len() > 1 {
        setup.profile = profiles[rng.gen_range(0..profiles.len())];
    }
    VmaProgram { setup, ops }
}

/// A raw op with values near the edges (unaligned, overflowing, huge).
fn raw_op(rng: &mut ChaCha8Rng) -> VmaOp {
    let edge = |rng: &mut ChaCha8Rng| match rng.gen_range(0..6) {
        0 => 0,
        1 => u64::MAX - rng.gen_range(0..2 * PAGE),
        2 => TASK_SIZE - rng.gen_range(0..4) * PAGE,
        3 => MMAP_MIN_ADDR + rng.gen_range(1..PAGE),
        4 => rng.gen_range(1..PAGE),
        _ => rng.gen::<u64>(),
    };
    let mut bytes = vec![0x80 | rng.gen_range(0..8u8)];
    for _ in 0..6 {
        bytes.extend_from_slice(&edge(rng).to_le_bytes());
    }
    let mut s = Bytes::new(&bytes);
    build_op(&mut s)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn encode_then_decode_is_the_identity() {
        for seed in 0..200 {
            let mut rng = ChaCha8Rng::seed_from_u64(seed);
            let mut p = generate(&mut rng, &[VmaProfile::V6_12]);
            p.setup.profile = VmaProfile::ALL[seed as usize % 3];
            assert_eq!(decode(&encode(&p)), p, "seed {seed}");
        }
    }

    #[test]
    fn decoding_is_total() {
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        for len in 0..300 {
            let bytes: Vec<u8> = (0..len).map(|_| rng.gen()).collect();
            let p = decode(&bytes);
            assert!(p.ops.len() <= len);
        }
        assert!(decode(&[]).ops.is_empty());
    }
}
