//! The differential target for preallocation under honggfuzz: the same body
//! as `tree_ops.rs` (`diff::fuzz_bytes`), seeded from `corpus/tree_prealloc/`
//! instead. The panic hook is reset as there.

use std::sync::Once;

fn main() {
    static DEFAULT_HOOK: Once = Once::new();
    loop {
        honggfuzz::fuzz!(|data: &[u8]| {
            DEFAULT_HOOK.call_once(|| drop(std::panic::take_hook()));
            maplefuzz::diff::fuzz_bytes(data);
        });
    }
}
