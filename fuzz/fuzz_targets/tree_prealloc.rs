//! The differential target for preallocation: the same body as `tree_ops`
//! (`diff::fuzz_bytes`), seeded with `corpus/tree_prealloc/` (`prealloc` +
//! `store_prealloc` of every store type, one preallocation with two
//! `mas_store`s), so libFuzzer starts from preallocated stores.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(init: { let _ = std::panic::take_hook(); }, |data: &[u8]| {
    maplefuzz::diff::fuzz_bytes(data);
});
