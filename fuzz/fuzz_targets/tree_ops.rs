//! The differential target: bytes -> program -> every engine, checked after
//! every op. A divergence panics with the runnable text program.
//!
//! `init` puts back Rust's default panic hook in place of libfuzzer-sys's
//! print-and-abort one, so a panic inside an engine is caught by the
//! executor and reported as a `crash` divergence with the program, as in
//! every other driver. The panic below still aborts the process: it cannot
//! unwind out of the fuzz target, so libFuzzer records the crash.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(init: { let _ = std::panic::take_hook(); }, |data: &[u8]| {
    maplefuzz::diff::fuzz_bytes(data);
});
