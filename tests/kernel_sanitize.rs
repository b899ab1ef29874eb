//! The kernel engine's C under AddressSanitizer (`MAPLEFUZZ_KERNEL_SANITIZE`,
//! docs/kernel-engine.md). The `leaf-gap-oob` variant plants a read one
//! word past the rightmost leaf in `mas_leaf_max_gap()`. In a normal build
//! that word is the next node's, and every check of the harness passes
//! over it (which is why the sanitizer build exists); in a build with the
//! C under ASan the arena's redzones make the read a report, and the
//! program dies of SIGABRT at the op that made it.
//!
//! Without a Linux source at build time these tests say so and pass, unless
//! `MAPLEFUZZ_REQUIRE_KERNEL` is set (CI sets it).

mod common;

use std::time::Duration;

use maplefuzz::diff::{self, isolated, Check};
use maplefuzz::engine::EngineSet;
use maplefuzz::ops::text::parse_program;
use maplefuzz::ops::{AnyProgram, Program};

/// An allocation tree two levels deep, then stores into its rightmost
/// leaf: each one updates that leaf's gap through `mas_leaf_max_gap()`.
fn reaching_program() -> Program {
    let mut text = String::from("config alloc\n");
    for i in 0..40u64 {
        text.push_str(&format!(
            "store {:#x} {:#x} v{}\n",
            i * 16,
            i * 16 + 7,
            i + 1
        ));
    }
    text.push_str("store 0x1000 0x1007 v99\nstore 0x1010 0x1017 v98\n");
    parse_program(&text).unwrap()
}

#[test]
fn the_planted_out_of_bounds_read_is_seen_only_under_asan() {
    if !common::kernel_available() {
        return;
    }
    let set = EngineSet::parse("oracle,rust,kernel:leaf-gap-oob").expect("the planted variant");
    let p = reaching_program();
    let sanitized = maplefuzz_kernel::sanitizers().contains(&"address");
    let r = isolated::run_isolated(&AnyProgram::Tree(p.clone()), &set, Duration::from_secs(60));
    if !sanitized {
        // Nothing else sees it: results, contents, validation, accounting
        // and the node-by-node comparison with the port all pass.
        let stats = r.unwrap_or_else(|d| panic!("an unsanitized build saw the planted read: {d}"));
        assert_eq!(stats.ops, p.ops.len());
        // The fixed variant runs the same program clean, in process.
        diff::run(&p, &EngineSet::parse("oracle,rust,kernel").unwrap())
            .unwrap_or_else(|d| panic!("{d}"));
        println!("unsanitized build: the planted read passes every check, as expected");
        return;
    }
    let d = r.expect_err("ASan reports the planted read");
    assert_eq!(d.check, Check::Signal, "{d}");
    let fatal = d.fatal.as_ref().expect("a fatal signal");
    assert_eq!(fatal.signal, "SIGABRT", "{d}");
    assert_eq!(d.engine, "kernel", "{d}");
    assert_eq!(fatal.function.as_deref(), Some("mas_leaf_max_gap"), "{d}");
}
