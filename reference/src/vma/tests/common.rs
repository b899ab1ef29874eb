// SPDX-License-Identifier: GPL-2.0-or-later
//! Helpers shared by the VMA oracle tests.

use std::collections::HashMap;

pub(super) use crate::vma::{
    env::*, uapi::*, vm::*, Backing, Point, VmaOracle, VmaOracleConfig, VmaProfile,
};

pub(super) const P: u64 = PAGE_SIZE;
/// A base address far from the allocator's and brk's areas.
pub(super) const B: u64 = 0x1000_0000;

/// `VM_MAY*` as do_mmap() always sets them.
pub(super) const MAY: u64 = VM_MAYREAD | VM_MAYWRITE | VM_MAYEXEC;
/// A private writable mapping: accounted.
pub(super) const RW: u64 = VM_READ | VM_WRITE | MAY | VM_ACCOUNT;
/// A private read-only mapping.
pub(super) const R: u64 = VM_READ | MAY;
/// A shared writable file mapping.
pub(super) const RW_SHARED: u64 = VM_READ | VM_WRITE | MAY | VM_SHARED | VM_MAYSHARE;

pub(super) const PRIV_FIXED: u32 = MAP_PRIVATE | MAP_FIXED;
pub(super) const RW_PROT: u32 = PROT_READ | PROT_WRITE;

pub(super) fn oracle(max_map_count: u64) -> VmaOracle {
    VmaOracle::new(VmaOracleConfig {
        max_map_count,
        profile: VmaProfile::V6_12,
    })
}

pub(super) fn file(file: u8, pgoff: u64) -> Backing {
    Backing::File { file, pgoff }
}

/// One expected VMA: `(start, end, flags, file, pgoff, anon class)`, with
/// anon ids renamed 1, 2, ... in order of first appearance (0 = none).
pub(super) type Row = (u64, u64, u64, Option<u32>, u64, u64);

/// The oracle's VMAs with anon ids and shmem file ids canonicalised.
pub(super) fn rows(o: &VmaOracle) -> Vec<Row> {
    let mut anon: HashMap<u64, u64> = HashMap::new();
    let mut shm: HashMap<u32, u32> = HashMap::new();
    o.vmas()
        .into_iter()
        .map(|v| {
            let a = v.anon.map_or(0, |id| {
                let n = anon.len() as u64 + 1;
                *anon.entry(id).or_insert(n)
            });
            let f = v.file.map(|f| {
                if f >= FIRST_SHMEM_FILE {
                    let n = FIRST_SHMEM_FILE + shm.len() as u32;
                    *shm.entry(f).or_insert(n)
                } else {
                    f
                }
            });
            (v.start, v.end, v.flags, f, v.pgoff, a)
        })
        .collect()
}

/// mmap anonymous private read-write memory at a fixed address.
pub(super) fn map_anon(o: &mut VmaOracle, addr: u64, pages: u64, prot: u32) {
    assert_eq!(
        o.mmap(addr, pages * P, prot, PRIV_FIXED, Backing::Anon),
        Ok(addr)
    );
}

/// mmap a file at a fixed address.
pub(super) fn map_file(
    o: &mut VmaOracle,
    addr: u64,
    pages: u64,
    prot: u32,
    flags: u32,
    f: u8,
    pgoff: u64,
) {
    assert_eq!(
        o.mmap(addr, pages * P, prot, flags | MAP_FIXED, file(f, pgoff)),
        Ok(addr)
    );
}

/// The page number of an address (anon pgoff).
pub(super) fn pg(addr: u64) -> u64 {
    addr >> PAGE_SHIFT
}
