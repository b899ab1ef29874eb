//! Helpers shared by integration tests: the `maplefuzz` binary, scratch
//! folders, the kernel engine's availability, and generated reproducers
//! compiled and run. Each test file includes this module and uses what it
//! needs.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Runs the `maplefuzz` binary with `args`, with no engine set or mutant
/// inherited from the environment (each test says what it wants).
pub fn maplefuzz(args: &[&str]) -> Output {
    maplefuzz_with(args, &[])
}

/// [`maplefuzz`] with these environment variables set.
pub fn maplefuzz_with(args: &[&str], envs: &[(&str, &str)]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_maplefuzz"))
        .args(args)
        .env_remove("MAPLEFUZZ_ENGINES")
        .env_remove(maplefuzz::mutants::ENV)
        .envs(envs.iter().copied())
        .output()
        .expect("run maplefuzz")
}

/// Bytes a process printed, as text.
pub fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// An empty scratch folder for one test, named by the test binary's
/// process and `name` (removed and made anew on every call).
pub fn temp_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("maplefuzz-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Whether the kernel engine was built. Without it a kernel test says so
/// and passes, unless `MAPLEFUZZ_REQUIRE_KERNEL` is set (CI sets it), where
/// its absence fails the test.
pub fn kernel_available() -> bool {
    if let Some(why) = maplefuzz::engine::kernel::unavailable_reason() {
        assert!(
            std::env::var_os("MAPLEFUZZ_REQUIRE_KERNEL").is_none(),
            "MAPLEFUZZ_REQUIRE_KERNEL is set but {why}"
        );
        eprintln!("skipped: {why}");
        return false;
    }
    true
}

/// Compiles and runs a generated `#[test]` (the Rust reproducer
/// `maplefuzz shrink` writes) with cargo, in a scratch crate that depends
/// on this one by path, with `MAPLEFUZZ_MUTANT=mutant` in the environment
/// (or none). The scratch crate has its own workspace and target directory
/// (under this build's `CARGO_TARGET_TMPDIR`), so the inner cargo never
/// waits for the lock the outer `cargo test` holds; it builds offline with
/// a copy of this workspace's `Cargo.lock`. Every caller shares the crate
/// (each test file under its own name), so the dependencies are built once
/// (about a minute on two cores); test binaries run one after another, so
/// two callers never build it at the same time.
pub fn run_generated_test(file: &str, source: &str, mutant: Option<&str>) -> Output {
    run_generated_test_with(file, source, mutant, &[])
}

/// [`run_generated_test`] with more environment variables for the test
/// (`MAPLEFUZZ_ENGINES`, to run it on a planted kernel variant).
pub fn run_generated_test_with(
    file: &str,
    source: &str,
    mutant: Option<&str>,
    envs: &[(&str, &str)],
) -> Output {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let krate = Path::new(env!("CARGO_TARGET_TMPDIR")).join("generated-test");
    let write = |path: &Path, bytes: &[u8]| {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, bytes).unwrap();
    };
    write(
        &krate.join("Cargo.toml"),
        format!(
            "[package]\nname = \"maplefuzz-generated-test\"\nversion = \"0.0.0\"\n\
             edition = \"2021\"\npublish = false\n\n[dev-dependencies]\n\
             maplefuzz = {{ path = {:?} }}\n\n[workspace]\n",
            root.display().to_string()
        )
        .as_bytes(),
    );
    write(&krate.join("src/lib.rs"), b"");
    write(&krate.join(format!("tests/{file}.rs")), source.as_bytes());
    if !krate.join("Cargo.lock").exists() {
        std::fs::copy(root.join("Cargo.lock"), krate.join("Cargo.lock")).unwrap();
    }
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string());
    let mut c = Command::new(&cargo);
    c.args(["test", "--offline", "--quiet", "--test", file])
        .current_dir(&krate)
        .env("CARGO_TARGET_DIR", krate.join("target"))
        .env("CARGO_TERM_COLOR", "never");
    // The generated test builds the engine as this test binary's was: with
    // the sanitizers' link flags when its C is sanitized, else without any.
    if maplefuzz_kernel::sanitizers().is_empty() {
        c.env_remove("RUSTFLAGS");
    }
    match mutant {
        Some(m) => c.env(maplefuzz::mutants::ENV, m),
        None => c.env_remove(maplefuzz::mutants::ENV),
    };
    c.env_remove("MAPLEFUZZ_ENGINES");
    c.envs(envs.iter().copied());
    c.output().expect("run cargo")
}

/// The kernel engines of the build (`EngineSet::from_env`) of trees 6.12
/// and later. With none, the tests still check the oracle and the port
/// ([`kernel_available`] names why, or fails in CI).
pub fn kernels_from_6_12() -> usize {
    let kernels = maplefuzz::engine::EngineSet::from_env()
        .kernels
        .iter()
        .filter(|k| k.tree != "6.1")
        .count();
    if kernels == 0 {
        let _ = kernel_available();
    }
    kernels
}
