//! The VMA target under honggfuzz: the same decoder and executor as
//! `fuzz/fuzz_targets/vma_ops.rs` (see `tree_ops.rs` here for why the
//! default panic hook is put back).

use std::sync::Once;

fn main() {
    static DEFAULT_HOOK: Once = Once::new();
    loop {
        honggfuzz::fuzz!(|data: &[u8]| {
            DEFAULT_HOOK.call_once(|| drop(std::panic::take_hook()));
            maplefuzz::diff::vma::fuzz_bytes(data);
        });
    }
}
