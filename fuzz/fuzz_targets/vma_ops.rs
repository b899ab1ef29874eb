//! The VMA target: bytes -> address-space program (Linux 6.12 profile) ->
//! the VMA oracle and the VMA layer on the Rust tree, checked after every
//! op. A divergence panics with the runnable text program.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(init: { let _ = std::panic::take_hook(); }, |data: &[u8]| {
    maplefuzz::diff::vma::fuzz_bytes(data);
});
