// SPDX-License-Identifier: GPL-2.0-or-later
//! Builds the kernel engine: the kernel's `lib/maple_tree.c` from a Linux
//! source tree, wrapped by the shim of its maple tree generation
//! (`csrc/gen-*.c`, with `csrc/common.h` and `csrc/api.h`), once per
//! variant.
//!
//! Where the source comes from, in order:
//! 1. `LINUX_SRC`: an unpacked Linux tree (a developer's tree, patches and
//!    all). Nothing is copied out of it but `lib/maple_tree.c` for edited
//!    variants.
//! 2. `MAPLEFUZZ_LINUX_TARBALL`, else `/usr/src/linux-source-6.12.tar.xz`
//!    (Debian's `linux-source-6.12`): only the files the build needs are
//!    extracted, into `OUT_DIR`.
//!
//! With neither, the crate still builds: the engine reports itself
//! unavailable, with the reason, and everything else works without it.
//!
//! Variants (see `src/edits.rs`): `exact` is the tree as it is; `fixed` adds
//! our fixes for the Linux 6.12 bugs this project found (each applied only
//! where its text is found, so a newer tree simply keeps its own code);
//! every planted bug is `fixed` plus one deliberate bug, for the tests that
//! show the harness catching bugs in the C code.

use std::env;
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

include!("src/edits.rs");

const DEFAULT_TARBALL: &str = "/usr/src/linux-source-6.12.tar.xz";

/// What the build needs from a Linux tree (directories are taken whole).
const NEEDED: &[&str] = &[
    "Makefile",
    "lib/maple_tree.c",
    "include/linux",
    "tools/include",
    "tools/arch/x86/include",
    "tools/testing/shared",
];

fn main() {
    println!("cargo:rerun-if-changed=csrc");
    println!("cargo:rerun-if-changed=src/edits.rs");
    println!("cargo:rerun-if-env-changed=LINUX_SRC");
    println!("cargo:rerun-if-env-changed=MAPLEFUZZ_LINUX_TARBALL");
    println!("cargo:rerun-if-env-changed=MAPLEFUZZ_KERNEL_DISABLE");
    println!("cargo:rerun-if-changed={DEFAULT_TARBALL}");
    let out = PathBuf::from(env::var("OUT_DIR").expect("OUT_DIR"));
    match build(&out) {
        Ok(variants) => write_variants(&out, &variants, None),
        Err(why) => {
            println!("cargo:warning=maplefuzz kernel engine disabled: {why}");
            write_variants(&out, &[], Some(&why));
        }
    }
}

/// A compiled variant: its name, what it is, and the edits applied.
struct Built {
    name: String,
    generation: &'static str,
    about: String,
    applied: Vec<&'static str>,
    skipped: Vec<&'static str>,
}

fn build(out: &Path) -> Result<Vec<Built>, String> {
    if env::var("MAPLEFUZZ_KERNEL_DISABLE").is_ok_and(|v| !v.is_empty() && v != "0") {
        return Err("MAPLEFUZZ_KERNEL_DISABLE is set".into());
    }
    let src = source_tree(out)?;
    let gen = generation(&src)?;
    let maple = fs::read_to_string(src.join("lib/maple_tree.c")).map_err(|e| {
        format!(
            "cannot read {}: {e}",
            src.join("lib/maple_tree.c").display()
        )
    })?;
    let generated = out.join("gen");
    fs::create_dir_all(generated.join("generated")).map_err(|e| e.to_string())?;
    // The configuration the kernel's userspace test build uses on x86_64.
    write(
        &generated.join("generated/autoconf.h"),
        "#define CONFIG_64BIT 1\n#define CONFIG_XARRAY_MULTI 1\n",
    )?;
    write(&generated.join("generated/bit-length.h"), "")?;
    write(
        &generated.join("generated/map-shift.h"),
        "#define XA_CHUNK_SHIFT 6\n",
    )?;

    let mut built = Vec::new();
    let mut objects = Vec::new();
    for v in VARIANTS {
        let mut text = maple.clone();
        let mut applied = Vec::new();
        let mut skipped = Vec::new();
        for e in EDITS.iter().filter(|e| v.edits.contains(&e.name)) {
            match apply_edit(&text, e) {
                Some(t) => {
                    text = t;
                    applied.push(e.name);
                }
                None if e.planted => {
                    // A planted bug that cannot be planted makes no variant.
                    println!(
                        "cargo:warning=planted bug `{}` does not apply to this tree; variant `{}` skipped",
                        e.name, v.name
                    );
                    skipped.push(e.name);
                }
                None => skipped.push(e.name),
            }
        }
        if v.edits.iter().any(|n| {
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
        cc.file(format!("csrc/{}", gen.shim)).include(&dir);
        for inc in gen.includes {
            cc.include(src.join(inc));
        }
        let objs = cc
            .include(&generated)
            .include(src.join("tools/include"))
            .include(&src)
            .define("_LGPL_SOURCE", None)
            .flag("-fvisibility=hidden")
            .flag("-fno-strict-aliasing")
            .opt_level(2)
            .debug(true)
            .warnings(false)
            .out_dir(out.join("obj").join(v.name))
            .try_compile_intermediates()
            .map_err(|e| format!("compiling the kernel engine ({}): {e}", v.name))?;
        for (i, o) in objs.iter().enumerate() {
            let local = out.join(format!("{}-{i}.o", v.name));
            let sym = format!("mfk_vtable=mfk_vtable_{}", symbol(v.name));
            // Under AddressSanitizer (cargo fuzz on nightly: cc passes the
            // sanitizer on) every global also has an ODR indicator named
            // after it, which would clash between the variants.
            let odr = format!(
                "__odr_asan.mfk_vtable=__odr_asan.mfk_vtable_{}",
                symbol(v.name)
            );
            run(Command::new(objcopy())
                .arg("--localize-hidden")
                .arg("--redefine-sym")
                .arg(&sym)
                .arg("--redefine-sym")
                .arg(&odr)
                .arg(o)
                .arg(&local))?;
            objects.push(local);
        }
        built.push(Built {
            name: v.name.to_string(),
            generation: gen.name,
            about: v.about.to_string(),
            applied,
            skipped,
        });
    }
    let lib = out.join("libmaplefuzz_kernel_c.a");
    let _ = fs::remove_file(&lib);
    run(Command::new(ar()).arg("crs").arg(&lib).args(&objects))?;
    println!("cargo:rustc-link-search=native={}", out.display());
    println!("cargo:rustc-link-lib=static=maplefuzz_kernel_c");
    Ok(built)
}

/// The Linux tree to build from.
fn source_tree(out: &Path) -> Result<PathBuf, String> {
    if let Some(dir) = env::var_os("LINUX_SRC") {
        let dir = PathBuf::from(dir);
        if !dir.join("lib/maple_tree.c").is_file() {
            return Err(format!(
                "LINUX_SRC={} has no lib/maple_tree.c (point it at an unpacked Linux tree)",
                dir.display()
            ));
        }
        println!(
            "cargo:rerun-if-changed={}",
            dir.join("lib/maple_tree.c").display()
        );
        return Ok(dir);
    }
    let tarball = env::var("MAPLEFUZZ_LINUX_TARBALL").unwrap_or_else(|_| DEFAULT_TARBALL.into());
    if !Path::new(&tarball).is_file() {
        return Err(format!(
            "no Linux source: set LINUX_SRC to an unpacked tree, or install Debian's \
             linux-source-6.12 ({tarball} not found)"
        ));
    }
    let dest = out.join("linux");
    let stamp = dest.join(".maplefuzz-extracted");
    // The stamp names what was extracted, and the list of files, so a
    // longer NEEDED list extracts again.
    let stamp_text = format!("{tarball}\n{}", NEEDED.join(" "));
    if fs::read_to_string(&stamp).ok().as_deref() == Some(stamp_text.as_str()) {
        return Ok(dest);
    }
    let _ = fs::remove_dir_all(&dest);
    fs::create_dir_all(&dest).map_err(|e| e.to_string())?;
    let mut cmd = Command::new("tar");
    cmd.arg("-xf")
        .arg(&tarball)
        .arg("-C")
        .arg(&dest)
        .arg("--strip-components=1")
        .arg("--wildcards");
    for n in NEEDED {
        cmd.arg(format!("*/{n}"));
    }
    run(&mut cmd)?;
    write(&stamp, &stamp_text)?;
    Ok(dest)
}

/// The tree's version from its top Makefile: (VERSION, PATCHLEVEL,
/// SUBLEVEL), or `None` if it cannot be read.
fn tree_version(src: &Path) -> Option<(u32, u32, u32)> {
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
struct Generation {
    /// The generation's name, its first kernel version.
    name: &'static str,
    /// The shim's top file in `csrc/`.
    shim: &'static str,
    /// Include folders of the tree, searched first.
    includes: &'static [&'static str],
}

/// The generation of the tree at `src`, from its Makefile's version; a
/// tree of a generation this engine does not build is refused with what it
/// is missing. A tree whose version cannot be read is tried as 6.12.
fn generation(src: &Path) -> Result<Generation, String> {
    const G6_12: Generation = Generation {
        name: "6.12",
        shim: "gen-6.12.c",
        includes: &["tools/testing/shared"],
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
    };
    const G7_1: Generation = Generation {
        name: "7.1",
        ..G6_18
    };
    let missing = match (v, p) {
        (6, 12..=17) => return Ok(G6_12),
        (6, 18..) | (7, 0) => return Ok(G6_18),
        (7, 1..) | (8.., _) => return Ok(G7_1),
        (6, 1..=11) | (5, _) => {
            "it keeps its userspace shims in tools/testing/radix-tree (no \
             tools/testing/shared/maple-shared.h) and has no store-type enum"
        }
        _ => "it is older than the maple tree",
    };
    Err(format!(
        "Linux {v}.{p}.{s} at {} is not supported by this kernel engine yet: {missing}. \
         It builds the maple_alloc generation, Linux 6.12 to 6.17 (Debian's linux-source-6.12, \
         or LINUX_SRC at such a tree), and the slab sheaves generations, 6.18 and later; the \
         rest of maplefuzz works without it",
        src.display()
    ))
}

/// Applies `e` if its text is found exactly once.
fn apply_edit(text: &str, e: &Edit) -> Option<String> {
    let mut t = text.to_string();
    for (find, replace) in e.changes {
        if t.matches(find).count() != 1 {
            return None;
        }
        t = t.replacen(find, replace, 1);
    }
    Some(t)
}

fn symbol(name: &str) -> String {
    name.replace('-', "_")
}

fn objcopy() -> String {
    env::var("OBJCOPY").unwrap_or_else(|_| "objcopy".into())
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

/// `OUT_DIR/variants.rs`: the compiled variants and their tables.
fn write_variants(out: &Path, built: &[Built], unavailable: Option<&str>) {
    let mut s = String::new();
    s.push_str("// Generated by kernel/build.rs.\n");
    let _ = writeln!(s, "/// Why the engine was not built, if it was not.");
    let _ = writeln!(s, "pub const UNAVAILABLE: Option<&str> = {unavailable:?};");
    s.push_str("extern \"C\" {\n");
    for b in built {
        let _ = writeln!(s, "    static mfk_vtable_{}: RawVtable;", symbol(&b.name));
    }
    s.push_str("}\n");
    s.push_str("/// Every compiled variant.\npub fn compiled() -> Vec<VariantInfo> {\n    vec![\n");
    for b in built {
        let _ = writeln!(
            s,
            "        VariantInfo {{ name: {:?}, generation: {:?}, about: {:?}, applied: &{:?}, \
             skipped: &{:?}, vtable: unsafe {{ &*std::ptr::addr_of!(mfk_vtable_{}) }} }},",
            b.name,
            b.generation,
            b.about,
            b.applied,
            b.skipped,
            symbol(&b.name)
        );
    }
    s.push_str("    ]\n}\n");
    fs::write(out.join("variants.rs"), s).expect("write variants.rs");
}
