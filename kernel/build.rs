// SPDX-License-Identifier: GPL-2.0-or-later
//! Builds the kernel engine: the kernel's `lib/maple_tree.c` from a Linux
//! source tree, wrapped by the shim of its maple tree generation
//! (`csrc/gen-*.c`, with `csrc/common.h` and `csrc/api.h`), once per
//! variant.
//!
//! Where the sources come from:
//! 1. `LINUX_SRC`: one or more Linux trees separated by `:`, each an
//!    unpacked tree (a developer's tree, patches and all; nothing is copied
//!    out of it but `lib/maple_tree.c` for edited variants) or a tarball
//!    (`.tar`, `.tar.xz`, `.tar.gz`: only the files the build needs are
//!    extracted, into `OUT_DIR`).
//! 2. Else `MAPLEFUZZ_LINUX_TARBALL` (one tarball), else the Debian
//!    `linux-source-X.Y` tarballs of [`DEBIAN_TARBALLS`] installed under
//!    `/usr/src` (`apt-get install linux-source-6.12 linux-source-6.1`).
//!
//! Each tree becomes the engines `kernel@X.Y` (its Makefile's version), one
//! per variant; plain `kernel` is the first tree of `LINUX_SRC`, else 6.12.
//! A tree that cannot be built (an unsupported version, missing files, a
//! second tree of the same X.Y; decided by `src/probe.rs`, which
//! `tests/probe.rs` checks on fake trees) is left out with the reason, which
//! `--engines kernel@X.Y` reports; the other trees still build. With no
//! tree at all the crate still builds: the engine reports itself
//! unavailable, with the reason, and everything else works without it.
//!
//! Variants (see `src/edits.rs`): `exact` is the tree as it is; `fixed` adds
//! our fixes for the bugs this project found (each applied only where its
//! text is found, so a tree that already has a fix keeps its own code);
//! every planted bug is `fixed` plus one deliberate bug, for the tests that
//! show the harness catching bugs in the C code.
//!
//! For libFuzzer (`cargo fuzz`), the C is compiled with clang and
//! `-fsanitize=fuzzer-no-link`, so its inline 8-bit counters and PC table
//! register with the libFuzzer that `libfuzzer-sys` links, and libFuzzer's
//! coverage includes `lib/maple_tree.c`: see [`coverage`]. Every other
//! build compiles it as before, with the default C compiler.

use std::env;
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

include!("src/edits.rs");

#[path = "src/probe.rs"]
mod probe;
use probe::{check_given, clang_missing, coverage_mode, probe_tree, Generation, Given, Probed};

#[path = "src/build_cache.rs"]
mod build_cache;
use build_cache::{Cache, Key};

/// The Debian source packages looked for when `LINUX_SRC` is not set, the
/// default tree first.
const DEBIAN_TARBALLS: &[&str] = &[
    "/usr/src/linux-source-6.12.tar.xz",
    "/usr/src/linux-source-6.1.tar.xz",
];

/// What the build may need from a Linux tree (directories are taken whole;
/// a generation's own needs are checked after extraction, so an entry a
/// tree lacks is no error here).
const NEEDED: &[&str] = &[
    "Makefile",
    "lib/maple_tree.c",
    "include/linux",
    "tools/include",
    "tools/arch/x86/include",
    "tools/testing/shared",
    "tools/testing/radix-tree",
    // The VMA engine: mm/vma.c on the tree's own test header.
    "mm/vma.c",
    "mm/vma.h",
    "mm/vma_init.c",
    "tools/testing/vma",
    "tools/lib/slab.c",
];

/// The kernel VMA engine's shims (`csrc/vma/`), by the tree's `X.Y`, each
/// with what it needs of the tree besides [`VMA_NEEDS`].
const VMA_SHIMS: &[(&str, &str, &[&str])] = &[
    ("6.12", "csrc/vma/engine-6.12.c", &[]),
    // 7.1's vm_area_alloc/dup/free live in mm/vma_init.c.
    ("7.1", "csrc/vma/engine-7.1.c", &["mm/vma_init.c"]),
];

/// What the VMA engine needs of a tree besides its shim.
const VMA_NEEDS: &[&str] = &[
    "mm/vma.c",
    "mm/vma.h",
    "tools/testing/vma/vma_internal.h",
    "tools/testing/shared/linux.c",
    "tools/lib/slab.c",
];

fn main() {
    println!("cargo:rerun-if-changed=csrc");
    println!("cargo:rerun-if-changed=src/edits.rs");
    println!("cargo:rerun-if-changed=src/build_cache.rs");
    println!("cargo:rerun-if-env-changed=LINUX_SRC");
    println!("cargo:rerun-if-env-changed=MAPLEFUZZ_LINUX_TARBALL");
    println!("cargo:rerun-if-env-changed=MAPLEFUZZ_KERNEL_DISABLE");
    println!("cargo:rerun-if-env-changed=MAPLEFUZZ_KERNEL_SANITIZE");
    println!("cargo:rerun-if-env-changed=MAPLEFUZZ_KERNEL_COVERAGE");
    println!("cargo:rerun-if-env-changed=MAPLEFUZZ_KERNEL_CLANG");
    println!("cargo:rerun-if-env-changed=MAPLEFUZZ_KERNEL_NO_CACHE");
    for t in DEBIAN_TARBALLS {
        println!("cargo:rerun-if-changed={t}");
    }
    let out = PathBuf::from(env::var("OUT_DIR").expect("OUT_DIR"));
    let sanitize = sanitizers().unwrap_or_else(|why| panic!("{why}"));
    let coverage = coverage().unwrap_or_else(|why| panic!("{why}"));
    let no_cache = env::var("MAPLEFUZZ_KERNEL_NO_CACHE").is_ok_and(|v| !v.is_empty() && v != "0");
    let mut ctx = Ctx {
        cache: Cache::for_out_dir(&out, no_cache),
        out,
        sanitize,
        coverage,
        base: Vec::new(),
    };
    let mut built = Vec::new();
    let mut refused = Vec::new();
    let mut vma_built: Vec<VmaBuilt> = Vec::new();
    let mut vma_refused: Vec<(String, String)> = Vec::new();
    match sources() {
        Err(why) => refused.push(("".to_string(), why)),
        Ok(list) => {
            // With C to compile, a coverage build without clang fails here,
            // saying what to install (a build without a tree needs none).
            if let Some(c) = &ctx.coverage {
                check_clang(c).unwrap_or_else(|why| panic!("{why}"));
            }
            ctx.base = ctx.base_key_bytes();
            let trees = probe_sources(&ctx, &list, &mut refused);
            for (tree, result) in build_trees(&ctx, &trees) {
                match result {
                    Ok((mut b, vma)) => {
                        built.append(&mut b);
                        match vma {
                            Ok(mut v) => vma_built.append(&mut v),
                            Err(why) => {
                                println!("cargo:warning=maplefuzz kernel VMA engine: {why}");
                                vma_refused.push((tree, why));
                            }
                        }
                    }
                    Err(why) => {
                        println!("cargo:warning=maplefuzz kernel engine: {why}");
                        refused.push((tree, why));
                    }
                }
            }
            ctx.cache.evict_old();
        }
    }
    if !built.is_empty() {
        link(&ctx.out, &built, &vma_built, &ctx.sanitize)
            .unwrap_or_else(|why| panic!("linking the kernel engine: {why}"));
    } else if refused.is_empty() {
        refused.push(("".to_string(), "no Linux tree was given".to_string()));
    }
    write_variants(
        &ctx.out,
        &built,
        &refused,
        &ctx.sanitize,
        ctx.coverage.as_ref(),
    );
    write_vma_engines(&ctx.out, &vma_built, &vma_refused);
}

/// What every compile of the build shares.
struct Ctx {
    out: PathBuf,
    sanitize: Vec<String>,
    coverage: Option<Coverage>,
    cache: Cache,
    /// What goes into every object's key besides its own sources: the
    /// shim's C, this script's own text, and the compiler's version.
    base: Vec<u8>,
}

impl Ctx {
    fn base_key_bytes(&self) -> Vec<u8> {
        let mut b = build_cache::tree_bytes(Path::new("csrc"));
        for text in [
            include_str!("build.rs"),
            include_str!("src/edits.rs"),
            include_str!("src/probe.rs"),
            include_str!("src/build_cache.rs"),
        ] {
            b.extend_from_slice(text.as_bytes());
        }
        let mut probe = cc::Build::new();
        c_flags(&mut probe, &self.sanitize, self.coverage.as_ref());
        if let Ok(o) = Command::new(probe.get_compiler().path())
            .arg("--version")
            .output()
        {
            b.extend_from_slice(&o.stdout);
        }
        b
    }

    /// The cache key of what `cc` compiles from `parts` (its sources'
    /// text), for a tree with key `tree`; none for a tree that is not
    /// cached. `OUT_DIR` is taken out of the compiler's arguments, so every
    /// profile finds the same key.
    fn object_key(&self, cc: &cc::Build, tree: Option<&Key>, parts: &[&[u8]]) -> Option<Key> {
        let tree = tree?;
        let tool = cc.get_compiler();
        let out = self.out.to_string_lossy();
        let mut cmd = tool.path().to_string_lossy().into_owned();
        for a in tool.args() {
            cmd.push('\x1f');
            cmd.push_str(&a.to_string_lossy().replace(&*out, "$OUT"));
        }
        let mut all: Vec<&[u8]> = vec![&self.base, tree.as_str().as_bytes(), cmd.as_bytes()];
        all.extend_from_slice(parts);
        Some(Key::of(&all))
    }
}

/// How many compiles run at once: Cargo's `NUM_JOBS`.
fn threads() -> usize {
    build_cache::threads(env::var("NUM_JOBS").ok().as_deref())
}

/// One compile to run on the build's threads: the objects it made.
type Job<'a> = build_cache::Task<'a, Result<Vec<PathBuf>, String>>;

/// A tree given, unpacked and probed: where it is, its cache key (none for
/// a directory), and what it is.
struct Tree {
    src: PathBuf,
    key: Option<Key>,
    probed: Probed,
}

/// Unpacks and probes every tree given, in order; a tree that cannot be
/// built goes to `refused` with the reason.
fn probe_sources(ctx: &Ctx, list: &[PathBuf], refused: &mut Vec<(String, String)>) -> Vec<Tree> {
    // Extracting a tarball is one xz stream: the trees side by side.
    type Unpacked = Result<(PathBuf, Option<Key>), String>;
    let unpack: Vec<build_cache::Task<Unpacked>> = list
        .iter()
        .enumerate()
        .map(|(i, given)| Box::new(move || source_tree(ctx, i, given)) as Box<_>)
        .collect();
    let unpacked = build_cache::parallel(threads(), unpack);
    let mut trees: Vec<Tree> = Vec::new();
    for (given, unpacked) in list.iter().zip(unpacked) {
        let known: Vec<(String, String)> = trees
            .iter()
            .map(|t| (t.probed.tree.clone(), t.probed.version.clone()))
            .collect();
        let probed = unpacked.map_err(|e| (String::new(), e));
        match probed.and_then(|(src, key)| {
            probe_tree(given, &src, &known).map(|probed| Tree { src, key, probed })
        }) {
            Ok(t) => trees.push(t),
            Err((name, why)) => {
                println!("cargo:warning=maplefuzz kernel engine: {why}");
                refused.push((name, why));
            }
        }
    }
    trees
}

/// A tree's variants, and its VMA engine or why it has none.
type TreeBuilt = (Vec<Built>, Result<Vec<VmaBuilt>, String>);

/// Compiles every variant of every tree, all on the build's threads (a
/// compile is one file, so the trees' variants are what runs side by
/// side): each tree's `X.Y`, and what it built or why it could not.
fn build_trees(ctx: &Ctx, trees: &[Tree]) -> Vec<(String, Result<TreeBuilt, String>)> {
    let mut jobs: Vec<Job> = Vec::new();
    let mut plans = Vec::new();
    for t in trees {
        let p = &t.probed;
        let variants = prepare_variants(ctx, t, &mut jobs);
        let vma = prepare_vma(ctx, t, &mut jobs);
        plans.push((p.tree.clone(), variants, vma));
    }
    let mut done = build_cache::parallel(threads(), jobs).into_iter();
    let mut result = Vec::new();
    for (tree, variants, vma) in plans {
        // Every job a plan made has its result, in order: take them all,
        // even after a failure.
        let variants = variants.and_then(|list| {
            let mut first = None;
            let mut out = Vec::new();
            for mut b in list {
                match done.next().expect("a result per job") {
                    Ok(objects) => b.objects = objects,
                    Err(e) => {
                        first.get_or_insert(format!(
                            "compiling the kernel engine ({}): {e}",
                            b.name
                        ));
                    }
                }
                out.push(b);
            }
            first.map_or(Ok(out), Err)
        });
        let vma = vma.and_then(|list| {
            let mut first = None;
            let mut out = Vec::new();
            for mut v in list {
                match done.next().expect("a result per job") {
                    Ok(mut objects) => v.object = objects.pop().unwrap_or_default(),
                    Err(e) => {
                        first.get_or_insert(e);
                    }
                }
                out.push(v);
            }
            first.map_or(Ok(out), Err)
        });
        result.push((tree, variants.map(|b| (b, vma))));
    }
    result
}

/// How the C is compiled for libFuzzer's coverage.
struct Coverage {
    /// The clang to compile with (`MAPLEFUZZ_KERNEL_CLANG`, else `clang`).
    clang: String,
    /// The flags added, besides the build's own.
    flags: Vec<&'static str>,
}

/// Whether the build asks for the C under libFuzzer's coverage
/// (`probe::coverage_mode`): `MAPLEFUZZ_KERNEL_COVERAGE=1` or `0`, else
/// exactly when the Rust code is instrumented with libFuzzer's inline 8-bit
/// counters, as `cargo fuzz` (and OSS-Fuzz) builds it. The C is then
/// compiled with clang and `-fsanitize=fuzzer-no-link` (inline 8-bit
/// counters, PC table, comparison tracing, indirect calls; the hooks
/// libFuzzer defines, no runtime of its own), plus `-fsanitize=address`
/// when the Rust code is built with AddressSanitizer (`cargo fuzz`'s
/// default; Cargo says so in `CARGO_CFG_SANITIZE`), so the counters
/// register with the libFuzzer that `libfuzzer-sys` links and ASan sees
/// the C's memory too. The link needs libFuzzer (or another runtime that
/// defines the `__sanitizer_cov_*` hooks): `1` in a build without it does
/// not link.
fn coverage() -> Result<Option<Coverage>, String> {
    let setting = env::var("MAPLEFUZZ_KERNEL_COVERAGE").ok();
    let rustflags = env::var("CARGO_ENCODED_RUSTFLAGS").unwrap_or_default();
    if !coverage_mode(setting.as_deref(), &rustflags)? {
        return Ok(None);
    }
    let mut flags = vec!["-fsanitize=fuzzer-no-link"];
    let rust_sanitizers = env::var("CARGO_CFG_SANITIZE").unwrap_or_default();
    if rust_sanitizers.split(',').any(|s| s == "address") {
        flags.push("-fsanitize=address");
    }
    Ok(Some(Coverage {
        clang: env::var("MAPLEFUZZ_KERNEL_CLANG").unwrap_or_else(|_| "clang".into()),
        flags,
    }))
}

/// The coverage build's compiler runs and is clang.
fn check_clang(c: &Coverage) -> Result<(), String> {
    let o = Command::new(&c.clang)
        .arg("--version")
        .output()
        .map_err(|e| clang_missing(&c.clang, &e.to_string()))?;
    let text = String::from_utf8_lossy(&o.stdout);
    if !o.status.success() || !text.contains("clang") {
        return Err(clang_missing(
            &c.clang,
            &format!("`{} --version` does not say clang", c.clang),
        ));
    }
    Ok(())
}

/// `MAPLEFUZZ_KERNEL_SANITIZE`: the sanitizers the kernel's C is compiled
/// with (`address`, `undefined`, or both separated by a comma, as the
/// kernel's own userspace suites run it; or `thread`, for readers mode). The final link must bring the
/// ASan runtime, which only it can do: the build asks for
/// `RUSTFLAGS=-Clink-arg=-fsanitize=<the same list>` rather than produce a
/// binary that does not link.
fn sanitizers() -> Result<Vec<String>, String> {
    let Ok(spec) = env::var("MAPLEFUZZ_KERNEL_SANITIZE") else {
        return Ok(Vec::new());
    };
    let list: Vec<String> = spec
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(String::from)
        .collect();
    if let Some(bad) = list
        .iter()
        .find(|s| !matches!(s.as_str(), "address" | "undefined" | "thread"))
    {
        return Err(format!(
            "MAPLEFUZZ_KERNEL_SANITIZE={spec}: `{bad}` is not a sanitizer this build knows \
             (address, undefined, thread)"
        ));
    }
    let flags = env::var("CARGO_ENCODED_RUSTFLAGS").unwrap_or_default();
    let want = format!("-fsanitize={}", list.join(","));
    if !flags.split('\x1f').any(|f| f.ends_with(&want)) {
        return Err(format!(
            "MAPLEFUZZ_KERNEL_SANITIZE={spec} compiles the kernel's C with {want}; link the \
             binaries with its runtime first: RUSTFLAGS=\"-Clink-arg={want}\" (and a target \
             directory of its own, e.g. --target-dir target/sanitize)"
        ));
    }
    Ok(list)
}

/// A compiled variant: its tree, its name, what it is, and the edits
/// applied.
struct Built {
    /// `X.Y` of the tree's version.
    tree: String,
    /// The tree's full version.
    version: String,
    name: String,
    generation: &'static str,
    /// Which preallocation rule the tree's `mas_preallocate()` follows
    /// (`maplefuzz_kernel::VariantInfo::prealloc_rule`).
    prealloc_rule: &'static str,
    about: String,
    applied: Vec<&'static str>,
    skipped: Vec<&'static str>,
    objects: Vec<PathBuf>,
}

/// The trees to build, as given (directories or tarballs).
fn sources() -> Result<Vec<PathBuf>, String> {
    if env::var("MAPLEFUZZ_KERNEL_DISABLE").is_ok_and(|v| !v.is_empty() && v != "0") {
        return Err("MAPLEFUZZ_KERNEL_DISABLE is set".into());
    }
    if let Some(list) = env::var_os("LINUX_SRC") {
        let v: Vec<PathBuf> = env::split_paths(&list)
            .filter(|p| !p.as_os_str().is_empty())
            .collect();
        if v.is_empty() {
            return Err("LINUX_SRC is empty".into());
        }
        return Ok(v);
    }
    if let Ok(t) = env::var("MAPLEFUZZ_LINUX_TARBALL") {
        return Ok(vec![PathBuf::from(t)]);
    }
    let found: Vec<PathBuf> = DEBIAN_TARBALLS
        .iter()
        .map(PathBuf::from)
        .filter(|p| p.is_file())
        .collect();
    if found.is_empty() {
        return Err(
            "no Linux source: set LINUX_SRC to an unpacked tree (or several, separated by `:`), \
             or install Debian's linux-source-6.12"
                .into(),
        );
    }
    Ok(found)
}

/// One build of a tree's VMA engine: its shim, the tree's mm/vma.c (as it
/// is, or with a planted bug) and lib/maple_tree.c, and the tree's own
/// userspace slab (tools/testing/shared/linux.c, tools/lib/slab.c), linked
/// into one object whose only global symbol is its vtable.
struct VmaBuilt {
    tree: String,
    version: String,
    /// The tree it was built from (unpacked).
    src: PathBuf,
    variant: &'static str,
    about: &'static str,
    object: PathBuf,
}

/// The `fixed` VMA builds: `(tree, MFV_FIX_* bits, what they fix)`. A
/// `fixed` build is the `exact` object run with the fixes of kernel
/// findings in code our glue transcribes (mm/mremap.c) switched on.
const VMA_FIXES: &[(&str, u32, &str)] = &[(
    "7.1",
    1, // MFV_FIX_DONTUNMAP_MLOCK
    "the tree's mm/vma.c, with the glue's fix of finding 14 (mremap MREMAP_DONTUNMAP of \
     mlock()ed memory: docs/findings/mremap-dontunmap-mlock.patch)",
)];

/// A build of the VMA engine: its name, what it is, and the edits made to
/// the tree's mm/vma.c (each must be found exactly once, else the variant
/// is skipped with a warning).
struct VmaVariant {
    name: &'static str,
    about: &'static str,
    edits: &'static [(&'static str, &'static str)],
}

const VMA_VARIANTS: &[VmaVariant] = &[
    VmaVariant {
        name: "exact",
        about: "the tree's mm/vma.c as it is",
        edits: &[],
    },
    VmaVariant {
        name: "close-merge",
        about: "planted: a merge may delete a VMA whose vm_ops has ->close, the bug \
                fc0c8f9089c2 (\"mm/mmap: fix vma_merge() case 7 with vma_ops->close\") fixed",
        edits: &[(
            "return !vma->vm_ops || !vma->vm_ops->close;",
            "return true; /* maplefuzz: planted close-merge */",
        )],
    },
    VmaVariant {
        name: "leak-vma",
        about: "planted: remove_vma() forgets to free the VMA it removes (a leak only the \
                engine's validate_mm sees: the VMA lists stay right)",
        edits: &[(
            "\telse\n\t\tvm_area_free(vma);\n}",
            "\telse\n\t\t(void)vma; /* maplefuzz: planted leak-vma */\n}",
        )],
    },
    VmaVariant {
        name: "split-fail-leak",
        about: "planted: __split_vma() leaks the new VMA when an allocation after \
                vm_area_dup() fails (seen only when that allocation fails: maplefuzz sweep)",
        edits: &[(
            "\tvma_iter_free(vmi);\nout_free_vma:\n\tvm_area_free(new);\n\treturn err;",
            "\tvma_iter_free(vmi);\nout_free_vma:\n\treturn err; /* maplefuzz: planted split-fail-leak */",
        )],
    },
];

/// Prepares every build of `t`'s VMA engine: the builds, in order, and
/// their compiles appended to `jobs` (one each); or why the tree has no VMA
/// engine, with no job added.
fn prepare_vma<'a>(
    ctx: &'a Ctx,
    t: &'a Tree,
    jobs: &mut Vec<Job<'a>>,
) -> Result<Vec<VmaBuilt>, String> {
    let (src, tree, version) = (&t.src, &t.probed.tree, &t.probed.version);
    let Some((_, shim, shim_needs)) = VMA_SHIMS.iter().find(|(t, _, _)| t == tree) else {
        let have: Vec<&str> = VMA_SHIMS.iter().map(|(t, _, _)| *t).collect();
        return Err(format!(
            "Linux {version}: the kernel VMA engine has shims for Linux {} only; \
             kernel@{tree} runs tree programs but not vma_ops",
            have.join(", ")
        ));
    };
    if let Some(missing) = VMA_NEEDS
        .iter()
        .chain(shim_needs.iter())
        .find(|n| !src.join(n).is_file())
    {
        return Err(format!(
            "Linux {version}'s tree has no {missing}, which the kernel VMA engine needs"
        ));
    }
    let vma_c = fs::read_to_string(src.join("mm/vma.c")).map_err(|e| e.to_string())?;
    let vma_h = fs::read_to_string(src.join("mm/vma.h")).map_err(|e| e.to_string())?;
    let out = ctx.out.join(format!("vma-{tree}"));
    let generated = out.join("gen");
    write_generated(&generated)?;
    let mut built = Vec::new();
    let mut mine: Vec<Job> = Vec::new();
    for v in VMA_VARIANTS {
        // The planted builds are for the tests, which use 6.12's: each
        // build compiles the maple tree and mm/vma.c once more.
        if !v.edits.is_empty() && tree != "6.12" {
            continue;
        }
        let Some(text) = apply_changes(&vma_c, v.edits) else {
            println!(
                "cargo:warning=planted VMA bug `{}` does not apply to Linux {version}; skipped",
                v.name
            );
            continue;
        };
        // The variant's mm/vma.c (and the mm/vma.h next to it) come first.
        let dir = out.join(v.name);
        fs::create_dir_all(dir.join("mm")).map_err(|e| e.to_string())?;
        write(&dir.join("mm/vma.c"), &text)?;
        write(&dir.join("mm/vma.h"), &vma_h)?;
        let mut cc = cc::Build::new();
        cc.file(shim)
            .file(src.join("tools/testing/shared/linux.c"))
            .file(src.join("tools/lib/slab.c"))
            .include(&generated)
            .include("csrc/vma")
            .include(&dir)
            .include(src.join("tools/testing/vma"))
            .include(src.join("tools/testing/shared"))
            .include(src.join("tools/include"))
            .include(src.join("lib"))
            .include(src)
            // 7.1's tools/include/asm/atomic.h wants the arch's asm/asm.h.
            .include(src.join("tools/arch/x86/include"));
        c_flags(&mut cc, &ctx.sanitize, ctx.coverage.as_ref());
        let vtable = vma_vtable_symbol(tree, v.name);
        let key = ctx.object_key(
            &cc,
            t.key.as_ref(),
            &[b"vma", text.as_bytes(), vma_h.as_bytes(), vtable.as_bytes()],
        );
        let check_symbols = v.edits.is_empty();
        mine.push(Box::new(move || {
            let fill = |dir: &Path| -> Result<(), String> {
                let objs = cc
                    .out_dir(dir.join("cc"))
                    .try_compile_intermediates()
                    .map_err(|e| {
                        format!(
                            "Linux {version}: the kernel VMA engine's shim does not compile: {e}"
                        )
                    })?;
                let joined = dir.join("joined.o");
                run(Command::new(ld())
                    .arg("-r")
                    .arg("-o")
                    .arg(&joined)
                    .args(&objs))?;
                if check_symbols {
                    undefined_symbols(dir, &joined, &ctx.sanitize).map_err(|m| {
                        format!(
                            "Linux {version}'s mm/vma.c needs {m}, which the kernel VMA engine's \
                             shim does not provide"
                        )
                    })?;
                }
                export_vtable(&joined, &dir.join("vma-engine.o"), "mfv_vtable", &vtable)?;
                // Only the engine's object is kept.
                let _ = fs::remove_dir_all(dir.join("cc"));
                let _ = fs::remove_file(&joined);
                let _ = fs::remove_file(dir.join("probe"));
                Ok(())
            };
            let (entry, _) = ctx
                .cache
                .entry("vma", key.as_ref(), &dir.join("obj"), fill)?;
            Ok(vec![entry.join("vma-engine.o")])
        }));
        built.push(VmaBuilt {
            tree: tree.to_string(),
            version: version.to_string(),
            src: src.to_path_buf(),
            variant: v.name,
            about: v.about,
            object: PathBuf::new(),
        });
    }
    jobs.append(&mut mine);
    Ok(built)
}

/// A symbol the tree's mm/vma.c needs and neither it nor the shim defines
/// is named here (by linking a program against the object), not at the
/// final link: `Err` with the names.
fn undefined_symbols(dir: &Path, object: &Path, sanitize: &[String]) -> Result<(), String> {
    let o = Command::new(env::var("CC").unwrap_or_else(|_| "cc".into()))
        .arg("-o")
        .arg(dir.join("probe"))
        .arg(object)
        .arg("-xc")
        .arg("-")
        .args(sanitize.iter().map(|s| format!("-fsanitize={s}")))
        .args(["-lurcu", "-lpthread"])
        .stdin(std::process::Stdio::null())
        .output();
    let Ok(o) = o else {
        return Ok(());
    };
    let err = String::from_utf8_lossy(&o.stderr);
    let mut missing: Vec<&str> = err
        .lines()
        .filter_map(|l| l.split("undefined reference to `").nth(1))
        .filter_map(|l| l.split('\'').next())
        .filter(|s| *s != "main")
        // The sanitizer and coverage runtimes the final link brings.
        .filter(|s| {
            ![
                "__asan_",
                "__sanitizer_",
                "__sancov_",
                "__ubsan_",
                "__tsan_",
                "__msan_",
                "__lsan_",
            ]
            .iter()
            .any(|p| s.starts_with(p))
        })
        .collect();
    missing.sort();
    missing.dedup();
    if missing.is_empty() {
        Ok(())
    } else {
        Err(missing.join(", "))
    }
}

/// The compiler flags every C object of the engine shares.
fn c_flags(cc: &mut cc::Build, sanitize: &[String], coverage: Option<&Coverage>) {
    if let Some(c) = coverage {
        cc.compiler(&c.clang);
        for f in &c.flags {
            cc.flag(f);
        }
    }
    if !sanitize.is_empty() {
        // A UBSan finding traps (SIGILL) where it happens, an ASan
        // report ends in abort() (common.h): either way a fatal signal
        // the engine's handler sees, with the program in flight.
        cc.flag(format!("-fsanitize={}", sanitize.join(",")))
            .flag("-fno-omit-frame-pointer")
            .flag("-fno-sanitize-recover=all")
            .flag("-fsanitize-undefined-trap-on-error");
    }
    cc.define("_LGPL_SOURCE", None)
        .flag("-fvisibility=hidden")
        .flag("-fno-strict-aliasing")
        // A hook a shim lacks must not compile as an implicit declaration
        // (it would fail only at the final link).
        .flag("-Werror=implicit-function-declaration")
        .opt_level(2)
        .debug(true)
        .warnings(false);
}

/// The vtable symbol of one build of a tree's VMA engine.
fn vma_vtable_symbol(tree: &str, variant: &str) -> String {
    format!("mfv_vtable_{}_{}", symbol(tree), symbol(variant))
}

/// `OUT_DIR/vma_engines.rs`: the compiled VMA engines, and the trees
/// without one and why.
fn write_vma_engines(out: &Path, built: &[VmaBuilt], refused: &[(String, String)]) {
    let mut s = String::from("// Generated by kernel/build.rs.\n");
    let _ = writeln!(
        s,
        "/// The trees without a VMA engine: (`X.Y`, why).\npub const VMA_REFUSED: &[(&str, &str)] = &{refused:?};"
    );
    s.push_str("extern \"C\" {\n");
    for b in built {
        let _ = writeln!(
            s,
            "    static {}: RawVmaVtable;",
            vma_vtable_symbol(&b.tree, b.variant)
        );
    }
    s.push_str("}\n/// Every compiled VMA engine.\npub fn vma_compiled() -> Vec<VmaEngineInfo> {\n    vec![\n");
    for b in built {
        let fixed = VMA_FIXES
            .iter()
            .find(|(t, _, _)| b.variant == "exact" && *t == b.tree);
        let rows = std::iter::once((b.variant, b.about, 0))
            .chain(fixed.map(|&(_, bits, about)| ("fixed", about, bits)));
        for (variant, about, fixes) in rows {
            let _ = writeln!(
                s,
                "        VmaEngineInfo {{ tree: {:?}, engine: \"kernel@{}\", version: {:?}, \
                 src: {:?}, variant: {:?}, about: {:?}, fixes: {fixes}, \
                 vtable: unsafe {{ &*std::ptr::addr_of!({}) }} }},",
                b.tree,
                b.tree,
                b.version,
                b.src.display().to_string(),
                variant,
                about,
                vma_vtable_symbol(&b.tree, b.variant)
            );
        }
    }
    s.push_str("    ]\n}\n");
    fs::write(out.join("vma_engines.rs"), s).expect("write vma_engines.rs");
}

/// Prepares every variant of `t`: the variants, in order, and their
/// compiles appended to `jobs` (one each); or why the tree cannot be built,
/// with no job added.
fn prepare_variants<'a>(
    ctx: &'a Ctx,
    t: &'a Tree,
    jobs: &mut Vec<Job<'a>>,
) -> Result<Vec<Built>, String> {
    let (src, tree, version) = (&t.src, &t.probed.tree, &t.probed.version);
    let gen: &Generation = &t.probed.generation;
    let maple = fs::read_to_string(src.join("lib/maple_tree.c")).map_err(|e| {
        format!(
            "cannot read {}: {e}",
            src.join("lib/maple_tree.c").display()
        )
    })?;
    let prealloc_rule = prealloc_rule(&maple);
    if prealloc_rule.is_empty() {
        println!(
            "cargo:warning=maplefuzz kernel engine: Linux {version}'s mas_preallocate() follows \
             none of the preallocation rules this harness knows (6.1, 6.12, 6.15+); the check \
             of each preallocation's size does not apply to kernel@{tree}"
        );
    }
    let out = ctx.out.join(format!("tree-{tree}"));
    let generated = out.join("gen");
    write_generated(&generated)?;

    let mut built = Vec::new();
    let mut mine: Vec<Job> = Vec::new();
    for v in VARIANTS {
        let mut text = maple.clone();
        let mut applied = Vec::new();
        let mut skipped = Vec::new();
        let edits = v.edits();
        let tried = |e: &&Edit| e.generation.is_empty() || e.generation.contains(&gen.name);
        // A planted bug of another generation makes no variant (a name may
        // have an edit for each of several generations: it is planted where
        // one of them is for this tree's).
        if let Some(e) = EDITS.iter().find(|e| {
            e.planted
                && edits.contains(&e.name)
                && !EDITS.iter().any(|o| o.name == e.name && tried(&o))
        }) {
            let gens: Vec<&str> = EDITS
                .iter()
                .filter(|o| o.name == e.name)
                .flat_map(|o| o.generation.iter().copied())
                .collect();
            println!(
                "cargo:warning=planted bug `{}` is for the {} generation, not Linux {version}'s \
                 ({}); variant `{}` of kernel@{tree} skipped",
                e.name,
                gens.join(" and "),
                gen.name,
                v.name
            );
            continue;
        }
        for e in EDITS
            .iter()
            .filter(|e| edits.contains(&e.name))
            .filter(tried)
        {
            match apply_edit(&text, e) {
                Some(t) => {
                    text = t;
                    applied.push(e.name);
                }
                None if e.planted => {
                    // A planted bug that cannot be planted makes no variant.
                    println!(
                        "cargo:warning=planted bug `{}` does not apply to Linux {version}; \
                         variant `{}` of kernel@{tree} skipped",
                        e.name, v.name
                    );
                    skipped.push(e.name);
                }
                None => skipped.push(e.name),
            }
        }
        if edits.iter().any(|n| {
            EDITS
                .iter()
                .any(|e| e.name == *n && e.planted && skipped.contains(n))
        }) {
            continue;
        }
        let dir = out.join("variants").join(v.name);
        fs::create_dir_all(dir.join("lib")).map_err(|e| e.to_string())?;
        write(&dir.join("lib/maple_tree.c"), &text)?;
        let mut cc = cc::Build::new();
        // Our generated/ first: a tree's tools/testing/radix-tree may hold
        // a generated/ of its own test build (another XA_CHUNK_SHIFT).
        cc.file(format!("csrc/{}", gen.shim))
            .include(&dir)
            .include(&generated);
        for inc in gen.includes {
            cc.include(src.join(inc));
        }
        c_flags(&mut cc, &ctx.sanitize, ctx.coverage.as_ref());
        cc.include(src.join("tools/include")).include(src);
        let vtable = vtable_symbol(tree, v.name);
        let key = ctx.object_key(
            &cc,
            t.key.as_ref(),
            &[b"tree", text.as_bytes(), vtable.as_bytes()],
        );
        let name = v.name;
        let fallback = out.join("obj").join(name);
        mine.push(Box::new(move || {
            let fill = |dir: &Path| -> Result<(), String> {
                let objs = cc
                    .out_dir(dir.join("cc"))
                    .try_compile_intermediates()
                    .map_err(|e| e.to_string())?;
                for (i, o) in objs.iter().enumerate() {
                    export_vtable(o, &dir.join(format!("{name}-{i}.o")), "mfk_vtable", &vtable)?;
                }
                let _ = fs::remove_dir_all(dir.join("cc"));
                Ok(())
            };
            let (entry, _) = ctx.cache.entry("obj", key.as_ref(), &fallback, fill)?;
            let mut objects: Vec<PathBuf> = fs::read_dir(&entry)
                .map_err(|e| format!("{}: {e}", entry.display()))?
                .flatten()
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|x| x == "o"))
                .collect();
            objects.sort();
            Ok(objects)
        }));
        built.push(Built {
            tree: tree.to_string(),
            version: version.to_string(),
            name: v.name.to_string(),
            generation: gen.name,
            prealloc_rule,
            about: v.about.to_string(),
            applied,
            skipped,
            objects: Vec::new(),
        });
    }
    jobs.append(&mut mine);
    Ok(built)
}

/// Which of the kernel's preallocation rules the tree's unedited
/// lib/maple_tree.c follows, by the names it is built from: `vacant-height`
/// (6.15 and later: the write walk records the lowest vacant and
/// sufficient nodes), `store-type` (6.12: `mas_prealloc_calc()` by store
/// type and height), `height` (6.1: the worst case for the height,
/// whatever the store); empty if none.
fn prealloc_rule(maple: &str) -> &'static str {
    if maple.contains("vacant_height") && maple.contains("sufficient_height") {
        "vacant-height"
    } else if maple.contains("mas_prealloc_calc") {
        "store-type"
    } else if maple.contains("1 + mas_mt_height(mas) * 3") {
        "height"
    } else {
        ""
    }
}

/// One static library of every variant of every tree.
fn link(out: &Path, built: &[Built], vma: &[VmaBuilt], sanitize: &[String]) -> Result<(), String> {
    let lib = out.join("libmaplefuzz_kernel_c.a");
    let _ = fs::remove_file(&lib);
    run(Command::new(ar())
        .arg("crs")
        .arg(&lib)
        .args(built.iter().flat_map(|b| &b.objects))
        .args(vma.iter().map(|v| &v.object)))?;
    println!("cargo:rustc-link-search=native={}", out.display());
    println!("cargo:rustc-link-lib=static=maplefuzz_kernel_c");
    // Readers mode's read-side sections and grace periods: liburcu's memb
    // flavour (the kernel's tools headers already include <urcu.h>, so
    // liburcu-dev is needed to build at all).
    println!("cargo:rustc-link-lib=dylib=urcu-memb");
    println!("cargo:rustc-link-lib=dylib=urcu-common");
    println!("cargo:rustc-link-lib=dylib=pthread");
    // The ASan runtime, which the final link does not add itself (rustc
    // links with -nodefaultlibs). UBSan needs none: it traps.
    if sanitize.iter().any(|s| s == "address") {
        println!("cargo:rustc-link-lib=dylib=asan");
    }
    // ThreadSanitizer (`thread`, for readers mode: the C's own accesses
    // from reader threads and the writer; the Rust code is not
    // instrumented) needs its runtime the same way.
    if sanitize.iter().any(|s| s == "thread") {
        println!("cargo:rustc-link-lib=dylib=tsan");
    }
    Ok(())
}

/// The vtable symbol of one variant of one tree.
fn vtable_symbol(tree: &str, variant: &str) -> String {
    format!("mfk_vtable_{}_{}", symbol(tree), symbol(variant))
}

/// The `i`th tree given, unpacked, and its cache key: a directory as it
/// is (never cached: a worktree may change under the build), a tarball
/// extracted (only [`NEEDED`]) into the cache, or into `OUT_DIR/linux-<i>`
/// without one.
fn source_tree(ctx: &Ctx, i: usize, given: &Path) -> Result<(PathBuf, Option<Key>), String> {
    if check_given(given)? == Given::Tree {
        println!(
            "cargo:rerun-if-changed={}",
            given.join("lib/maple_tree.c").display()
        );
        return Ok((given.to_path_buf(), None));
    }
    println!("cargo:rerun-if-changed={}", given.display());
    let key = Cache::tarball_key(given, NEEDED);
    let fallback = ctx.out.join(format!("linux-{i}"));
    let (dest, _) = ctx
        .cache
        .entry("src", key.as_ref(), &fallback, |dest| extract(given, dest))?;
    Ok((dest, key))
}

/// Extracts [`NEEDED`] of the tarball `given` into `dest`.
fn extract(given: &Path, dest: &Path) -> Result<(), String> {
    let mut cmd = Command::new("tar");
    cmd.arg("-xf")
        .arg(given)
        .arg("-C")
        .arg(dest)
        .arg("--strip-components=1")
        .arg("--wildcards");
    for n in NEEDED {
        cmd.arg(format!("*/{n}"));
    }
    // GNU tar extracts what it finds and fails for what it does not: the
    // generation's check says what is missing, in its own words.
    let o = cmd
        .output()
        .map_err(|e| format!("cannot run tar on {}: {e}", given.display()))?;
    if !dest.join("lib/maple_tree.c").is_file() || !dest.join("Makefile").is_file() {
        return Err(format!(
            "{} holds no Makefile and lib/maple_tree.c (is it a Linux source tarball?): {}",
            given.display(),
            String::from_utf8_lossy(&o.stderr).trim()
        ));
    }
    Ok(())
}

/// Applies `e` if its text is found exactly once.
fn apply_edit(text: &str, e: &Edit) -> Option<String> {
    apply_changes(text, e.changes)
}

/// `text` with each `(find, replace)` made, if every `find` is found
/// exactly once.
fn apply_changes(text: &str, changes: &[(&str, &str)]) -> Option<String> {
    let mut t = text.to_string();
    for (find, replace) in changes {
        if t.matches(find).count() != 1 {
            return None;
        }
        t = t.replacen(find, replace, 1);
    }
    Some(t)
}

/// `dir/generated/`: the configuration headers the kernel's userspace test
/// build generates, as it has them on x86_64.
fn write_generated(dir: &Path) -> Result<(), String> {
    fs::create_dir_all(dir.join("generated")).map_err(|e| e.to_string())?;
    write(
        &dir.join("generated/autoconf.h"),
        "#define CONFIG_64BIT 1\n#define CONFIG_XARRAY_MULTI 1\n",
    )?;
    write(&dir.join("generated/bit-length.h"), "")?;
    write(
        &dir.join("generated/map-shift.h"),
        "#define XA_CHUNK_SHIFT 6\n",
    )
}

fn symbol(name: &str) -> String {
    name.replace(['-', '.'], "_")
}

/// `object` as `out` with every hidden symbol made local and the one
/// exported `symbol` renamed `vtable` (one name per variant), its ASan ODR
/// indicator too: under AddressSanitizer (cargo fuzz on nightly: cc passes
/// the sanitizer on) every global has one named after it, which would
/// clash between the variants.
fn export_vtable(object: &Path, out: &Path, symbol: &str, vtable: &str) -> Result<(), String> {
    run(Command::new(objcopy())
        .arg("--localize-hidden")
        .arg("--redefine-sym")
        .arg(format!("{symbol}={vtable}"))
        .arg("--redefine-sym")
        .arg(format!("__odr_asan.{symbol}=__odr_asan.{vtable}"))
        .arg(object)
        .arg(out))
}

fn objcopy() -> String {
    env::var("OBJCOPY").unwrap_or_else(|_| "objcopy".into())
}

fn ld() -> String {
    env::var("LD").unwrap_or_else(|_| "ld".into())
}

fn ar() -> String {
    env::var("AR").unwrap_or_else(|_| "ar".into())
}

fn run(cmd: &mut Command) -> Result<(), String> {
    let o = cmd
        .output()
        .map_err(|e| format!("cannot run {:?}: {e}", cmd.get_program()))?;
    if !o.status.success() {
        return Err(format!(
            "{:?} failed: {}",
            cmd,
            String::from_utf8_lossy(&o.stderr).trim()
        ));
    }
    Ok(())
}

fn write(p: &Path, s: &str) -> Result<(), String> {
    fs::write(p, s).map_err(|e| format!("cannot write {}: {e}", p.display()))
}

/// `OUT_DIR/variants.rs`: the compiled variants and their tables, and the
/// trees left out with the reason.
fn write_variants(
    out: &Path,
    built: &[Built],
    refused: &[(String, String)],
    sanitize: &[String],
    coverage: Option<&Coverage>,
) {
    let mut s = String::new();
    s.push_str("// Generated by kernel/build.rs.\n");
    let coverage = coverage
        .filter(|_| !built.is_empty())
        .map(|c| format!("{} {}", c.clang, c.flags.join(" ")));
    let _ = writeln!(
        s,
        "/// The compiler and flags that put the C under libFuzzer's coverage, if they did.\n\
         pub const COVERAGE: Option<&str> = {coverage:?};"
    );
    let _ = writeln!(
        s,
        "/// The sanitizers the C was compiled with (`MAPLEFUZZ_KERNEL_SANITIZE`).\n\
         pub const SANITIZE: &[&str] = &{sanitize:?};"
    );
    let _ = writeln!(
        s,
        "/// The trees left out: (`X.Y` if known, why).\npub const REFUSED: &[(&str, &str)] = &{refused:?};"
    );
    let default = built.first().map(|b| b.tree.as_str());
    let _ = writeln!(
        s,
        "/// The tree plain `kernel` names.\npub const DEFAULT_TREE: Option<&str> = {default:?};"
    );
    s.push_str("extern \"C\" {\n");
    for b in built {
        let _ = writeln!(
            s,
            "    static {}: RawVtable;",
            vtable_symbol(&b.tree, &b.name)
        );
    }
    s.push_str("}\n");
    s.push_str("/// Every compiled variant.\npub fn compiled() -> Vec<VariantInfo> {\n    vec![\n");
    for b in built {
        let _ = writeln!(
            s,
            "        VariantInfo {{ tree: {:?}, engine: \"kernel@{}\", version: {:?}, name: {:?}, \
             generation: {:?}, prealloc_rule: {:?}, \
             about: {:?}, applied: &{:?}, skipped: &{:?}, \
             vtable: unsafe {{ &*std::ptr::addr_of!({}) }} }},",
            b.tree,
            b.tree,
            b.version,
            b.name,
            b.generation,
            b.prealloc_rule,
            b.about,
            b.applied,
            b.skipped,
            vtable_symbol(&b.tree, &b.name)
        );
    }
    s.push_str("    ]\n}\n");
    fs::write(out.join("variants.rs"), s).expect("write variants.rs");
}
