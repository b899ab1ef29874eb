//! The differential target under honggfuzz: the same decoder and executor as
//! `fuzz/fuzz_targets/tree_ops.rs`, so a crash file replays in either
//! (`cargo fuzz run tree_ops <file>`, `maplefuzz replay <file>`).
//!
//! honggfuzz installs a panic hook that aborts at once, which would stop the
//! executor from catching a panic inside an engine and reporting it with the
//! program; the first iteration puts Rust's default hook back. A divergence
//! still ends the process: honggfuzz catches the panic and aborts. It
//! prints to stderr, which honggfuzz shows with `-Q` (`--keep_output`).
//! Every crash then has the same stack, so honggfuzz keeps one crash file.

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
