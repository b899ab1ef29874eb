//! The allocation-tree target under honggfuzz: the same decoder and
//! executor as `fuzz/fuzz_targets/tree_alloc.rs`, with the configuration
//! forced to `MT_FLAGS_ALLOC_RANGE`; seed it from `corpus/tree_alloc/`.
//! Replay a crash from the text program it prints (`-Q` shows stderr): it
//! says `config alloc`. The panic hook is reset as in `tree_ops.rs`.

use maplefuzz::diff;
use maplefuzz::ops::binary;
use std::sync::Once;

fn main() {
    static DEFAULT_HOOK: Once = Once::new();
    loop {
        honggfuzz::fuzz!(|data: &[u8]| {
            DEFAULT_HOOK.call_once(|| drop(std::panic::take_hook()));
            let mut p = binary::decode(data);
            p.config.alloc = true;
            diff::fuzz_program(&p);
        });
    }
}
