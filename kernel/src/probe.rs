// SPDX-License-Identifier: GPL-2.0-or-later
//! What `build.rs` decides about a Linux tree before compiling anything:
//! whether the path given exists, the tree's version (its top Makefile),
//! the maple tree generation that version belongs to, whether the tree
//! holds every file that generation's shim needs, and whether another tree
//! of the same `X.Y` was already built. Each refusal is a sentence naming
//! the tree's version and what is wrong or missing.
//!
//! The build script's own module (`#[path = "src/probe.rs"] mod probe;`),
//! not part of the library; `tests/probe.rs` includes it the same way and
//! runs every refusal on fake trees, without a build.

use std::fs;
use std::path::Path;

/// What a path of `LINUX_SRC` names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Given {
    /// An unpacked tree, used where it is.
    Tree,
    /// A file, taken for a source tarball to extract.
    Tarball,
}

/// What `given` is, or why it cannot be a Linux tree: a directory without
/// `lib/maple_tree.c`, or a path that does not exist.
pub fn check_given(given: &Path) -> Result<Given, String> {
    if given.is_dir() {
        if !given.join("lib/maple_tree.c").is_file() {
            return Err(format!(
                "{} has no lib/maple_tree.c (name an unpacked Linux tree or its tarball)",
                given.display()
            ));
        }
        return Ok(Given::Tree);
    }
    if !given.is_file() {
        return Err(format!(
            "{} does not exist (name an unpacked Linux tree or its tarball)",
            given.display()
        ));
    }
    Ok(Given::Tarball)
}

/// The tree's version from its top Makefile: (VERSION, PATCHLEVEL,
/// SUBLEVEL), or `None` if it cannot be read.
pub fn tree_version(src: &Path) -> Option<(u32, u32, u32)> {
    let text = fs::read_to_string(src.join("Makefile")).ok()?;
    let field = |name: &str| -> Option<u32> {
        text.lines().find_map(|l| {
            l.strip_prefix(name)?
                .trim_start()
                .strip_prefix('=')?
                .trim()
                .parse()
                .ok()
        })
    };
    Some((
        field("VERSION")?,
        field("PATCHLEVEL")?,
        field("SUBLEVEL").unwrap_or(0),
    ))
}

/// A maple tree generation: the shim that builds it and the tree's
/// folders that shim includes (before `tools/include`).
#[derive(Debug)]
pub struct Generation {
    /// The generation's name, its first kernel version.
    pub name: &'static str,
    /// The shim's top file in `csrc/`.
    pub shim: &'static str,
    /// Include folders of the tree, searched first.
    pub includes: &'static [&'static str],
    /// Files of the tree the shim needs besides `lib/maple_tree.c`: an
    /// incomplete tree is refused naming the first one missing.
    pub needs: &'static [&'static str],
}

/// The generation of the tree at `src`, from its Makefile's version; a
/// tree of a generation this engine does not build is refused with what it
/// is missing. A tree whose version cannot be read is tried as 6.12.
pub fn generation(src: &Path) -> Result<Generation, String> {
    const G6_12: Generation = Generation {
        name: "6.12",
        shim: "gen-6.12.c",
        includes: &["tools/testing/shared"],
        needs: &[
            "tools/testing/shared/maple-shared.h",
            "include/linux/maple_tree.h",
            "tools/include/linux/slab.h",
        ],
    };
    // The first generation: shims in tools/testing/radix-tree, the state's
    // status in its node pointer (gen-6.1.c).
    const G6_1: Generation = Generation {
        name: "6.1",
        shim: "gen-6.1.c",
        includes: &["tools/testing/radix-tree"],
        needs: &[
            "tools/testing/radix-tree/linux/kernel.h",
            "include/linux/maple_tree.h",
            "tools/include/linux/slab.h",
        ],
    };
    let Some((v, p, s)) = tree_version(src) else {
        println!(
            "cargo:warning=maplefuzz kernel engine: no version in {}; building it as a 6.12 tree",
            src.join("Makefile").display()
        );
        return Ok(G6_12);
    };
    // The slab sheaves generations share one shim: their allocation code
    // is the same; 7.1 differs in the write path (struct maple_copy),
    // which is the kernel's own code.
    const G6_18: Generation = Generation {
        name: "6.18",
        shim: "gen-6.18.c",
        // Its tools headers reach asm/atomic.h, which needs the tools'
        // x86 asm headers.
        includes: &["tools/testing/shared", "tools/arch/x86/include"],
        needs: &[
            "tools/testing/shared/maple-shared.h",
            "include/linux/maple_tree.h",
            "tools/include/linux/slab.h",
            "tools/arch/x86/include/asm/atomic.h",
        ],
    };
    const G7_1: Generation = Generation {
        name: "7.1",
        ..G6_18
    };
    let missing = match (v, p) {
        (6, 12..=17) => return Ok(G6_12),
        (6, 1) => return Ok(G6_1),
        (6, 2..=11) => {
            println!(
                "cargo:warning=maplefuzz kernel engine: building Linux {v}.{p}.{s} with the \
                 6.1 shim (gen-6.1.c), which has only been tried on 6.1"
            );
            return Ok(G6_1);
        }
        (6, 18..) | (7, 0) => return Ok(G6_18),
        (7, 1..) | (8.., _) => return Ok(G7_1),
        _ => "it predates the maple tree (Linux 6.1)",
    };
    Err(format!(
        "Linux {v}.{p}.{s} at {} is not supported by this kernel engine: {missing}. \
         It builds Linux 6.1 (gen-6.1.c), the maple_alloc generation of 6.12 to 6.17 \
         (gen-6.12.c) and the slab sheaves generations, 6.18 and later (gen-6.18.c); the \
         rest of maplefuzz works without it",
        src.display()
    ))
}

/// A tree the build will compile: its `X.Y`, full version and generation.
#[derive(Debug)]
pub struct Probed {
    /// `X.Y` of the tree's version (the engine `kernel@X.Y`).
    pub tree: String,
    /// The tree's full version.
    pub version: String,
    /// The generation its shim is built for.
    pub generation: Generation,
}

/// Reads the tree `given` (unpacked at `src`) and decides whether it can
/// be built beside the trees already built, `built` (their `X.Y` and full
/// version). A refusal is `(X.Y, why)`.
pub fn probe_tree(
    given: &Path,
    src: &Path,
    built: &[(String, String)],
) -> Result<Probed, (String, String)> {
    let (tree, version) = match tree_version(src) {
        Some((v, p, s)) => (format!("{v}.{p}"), format!("{v}.{p}.{s}")),
        None => {
            println!(
                "cargo:warning=maplefuzz kernel engine: no version in {}; building it as a 6.12 tree",
                src.join("Makefile").display()
            );
            ("6.12".to_string(), "6.12 (assumed)".to_string())
        }
    };
    let fail = |why: String| (tree.clone(), why);
    if let Some((_, earlier)) = built.iter().find(|(t, _)| *t == tree) {
        return Err(fail(format!(
            "{} is Linux {version}, but a tree of Linux {earlier} is already kernel@{tree}: \
             give one tree per X.Y",
            given.display(),
        )));
    }
    let gen = generation(src).map_err(|why| fail(format!("{}: {why}", given.display())))?;
    if let Some(missing) = gen.needs.iter().find(|f| !src.join(f).is_file()) {
        return Err(fail(format!(
            "{} is Linux {version}, of the {} generation, but has no {missing}, which that \
             generation's shim ({}) needs: give the whole tree (or its source tarball)",
            given.display(),
            gen.name,
            gen.shim
        )));
    }
    Ok(Probed {
        tree,
        version,
        generation: gen,
    })
}

/// The Rust compiler's flag that makes libFuzzer's inline 8-bit counters
/// (cargo fuzz passes it with `-Cllvm-args=`, and so do OSS-Fuzz's Rust
/// flags; honggfuzz's `cargo hfuzz` uses `trace-pc-guard` instead).
pub const LIBFUZZER_COUNTERS: &str = "-sanitizer-coverage-inline-8bit-counters";

/// Whether the kernel's C is compiled for libFuzzer's coverage (clang,
/// `-fsanitize=fuzzer-no-link`), from `MAPLEFUZZ_KERNEL_COVERAGE`
/// (`setting`) and the Rust flags of the build (`CARGO_ENCODED_RUSTFLAGS`,
/// its flags separated by `\x1f`): `1` forces it, `0` forbids it, and
/// unset it follows the Rust code, on exactly when that is instrumented
/// with libFuzzer's inline 8-bit counters. Not keyed on `--cfg fuzzing`:
/// honggfuzz sets that too (its runtime wants other hooks), and
/// `cargo fuzz --no-cfg-fuzzing` leaves it out of a libFuzzer build.
pub fn coverage_mode(setting: Option<&str>, encoded_rustflags: &str) -> Result<bool, String> {
    match setting.map(str::trim) {
        None | Some("") => Ok(encoded_rustflags
            .split('\x1f')
            .any(|f| f.ends_with(LIBFUZZER_COUNTERS))),
        Some("1") => Ok(true),
        Some("0") => Ok(false),
        Some(other) => Err(format!(
            "MAPLEFUZZ_KERNEL_COVERAGE={other}: give 1 (compile the kernel's C for libFuzzer's \
             coverage), 0 (do not), or leave it unset (do it when the Rust code is built for \
             libFuzzer, as cargo fuzz builds it)"
        )),
    }
}

/// Why the coverage build cannot run `clang` (`compiler`, with what running
/// it said), naming the package to install and the way out.
pub fn clang_missing(compiler: &str, error: &str) -> String {
    format!(
        "the kernel engine's C is compiled for libFuzzer's coverage in this build (cargo fuzz, \
         or MAPLEFUZZ_KERNEL_COVERAGE=1), which takes clang, but `{compiler}` cannot be run \
         ({error}): install clang (Debian and Ubuntu: `apt-get install clang`), or name another \
         clang with MAPLEFUZZ_KERNEL_CLANG, or build the C with the default compiler and \
         without coverage with MAPLEFUZZ_KERNEL_COVERAGE=0"
    )
}
