//! The differential target on allocation trees: bytes -> program, with the
//! configuration forced to `MT_FLAGS_ALLOC_RANGE` (RCU as the config byte
//! says), then every engine, checked after every op. Seeded with
//! `corpus/tree_alloc/` (gap searches, allocations, trees with holes).
//!
//! Because the config is forced, replay a crash from the text program in
//! the panic message (it says `config alloc`), or with
//! `cargo fuzz run tree_alloc <file>`; `maplefuzz replay <file>` reads the
//! config byte as it is. The panic hook is reset as in `tree_ops.rs`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use maplefuzz::diff;
use maplefuzz::ops::binary;

fuzz_target!(init: { let _ = std::panic::take_hook(); }, |data: &[u8]| {
    let mut p = binary::decode(data);
    p.config.alloc = true;
    diff::fuzz_program(&p);
});
