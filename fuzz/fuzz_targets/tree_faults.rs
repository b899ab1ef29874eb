//! The differential target for allocation failures: the same body as
//! `tree_ops` (`diff::fuzz_bytes`), seeded with `corpus/tree_faults/`
//! (`fail_allocs` schedules over splits, spanning stores and growth), so
//! libFuzzer starts from programs that fail allocations mid-store.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(init: { let _ = std::panic::take_hook(); }, |data: &[u8]| {
    maplefuzz::diff::fuzz_bytes(data);
});
