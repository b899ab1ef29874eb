// SPDX-License-Identifier: GPL-2.0-or-later
//! How `build.rs` avoids compiling the same C twice.
//!
//! The kernel's C does not depend on the Cargo profile: every variant is
//! compiled with the same compiler and flags (`-O2 -g`) whether the build is
//! `cargo clippy`, `cargo test` or `cargo build --release`. Each profile has
//! its own `OUT_DIR`, so without a cache each profile extracted the
//! tarballs again and compiled every variant of every tree again (about
//! two minutes a profile on two cores). This module keeps both in one
//! directory per target directory, `<target>/maplefuzz-kernel-cache/`:
//!
//! - `src-<key>/`: a tarball's extracted files, keyed by the tarball's
//!   path, size and modification time and the list of files extracted;
//! - `obj-<key>/`: one compiled variant's objects, keyed by everything that
//!   goes into them: the variant's source text, the compiler (its path, its
//!   arguments with `OUT_DIR` taken out, its `--version`), the shim's C
//!   files (`csrc/`), the build script's own text, and the tree's key.
//!
//! An entry is written in a temporary directory and renamed into place
//! complete, so two builds running at once never see half an entry. An
//! unpacked tree given as a directory (a developer's worktree, which may
//! change under the build) is never cached: its variants are compiled into
//! `OUT_DIR` as before. `MAPLEFUZZ_KERNEL_NO_CACHE=1` turns the cache off.
//! Entries not used for a week are removed at the end of a build.
//!
//! The build script's own module (`#[path = "src/build_cache.rs"] mod
//! build_cache;`), not part of the library; `tests/build_cache.rs` includes
//! it the same way.

use std::collections::hash_map::DefaultHasher;
use std::fs;
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

/// Bumped when the layout of an entry changes.
const FORMAT: &str = "maplefuzz-kernel-cache 1";

/// Entries older than this (by the time they were last used) are removed.
const KEEP: Duration = Duration::from_secs(7 * 24 * 3600);

/// A key: 128 bits of two differently seeded hashes of the same parts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Key(String);

impl Key {
    /// The key of `parts`, in order (each part's length is hashed too, so
    /// moving bytes from one part to the next changes the key).
    pub fn of(parts: &[&[u8]]) -> Key {
        let mut a = DefaultHasher::new();
        let mut b = DefaultHasher::new();
        FORMAT.hash(&mut a);
        "second".hash(&mut b);
        FORMAT.hash(&mut b);
        for p in parts {
            p.hash(&mut a);
            p.hash(&mut b);
        }
        Key(format!("{:016x}{:016x}", a.finish(), b.finish()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The cache of one target directory, or none.
pub struct Cache {
    root: Option<PathBuf>,
}

impl Cache {
    /// The cache for the build whose `OUT_DIR` is `out`: in the target
    /// directory, the parent of the profile directory that holds `build/`.
    /// None when `disabled`, or when `out` is not under a `build/`
    /// directory (not a Cargo layout this module knows).
    pub fn for_out_dir(out: &Path, disabled: bool) -> Cache {
        let root = if disabled {
            None
        } else {
            out.ancestors()
                .find(|p| p.file_name().is_some_and(|n| n == "build"))
                .and_then(|build| build.parent())
                .and_then(|profile| profile.parent())
                .map(|target| target.join("maplefuzz-kernel-cache"))
        };
        Cache { root }
    }

    /// A cache in `root` (for `tests/build_cache.rs`).
    #[allow(dead_code)]
    pub fn at(root: &Path) -> Cache {
        Cache {
            root: Some(root.to_path_buf()),
        }
    }

    /// Where the cache is, if there is one (for `tests/build_cache.rs`).
    #[allow(dead_code)]
    pub fn root(&self) -> Option<&Path> {
        self.root.as_deref()
    }

    /// The key of a tarball: its canonical path, size and modification
    /// time, and what is taken out of it. None for anything else.
    pub fn tarball_key(given: &Path, needed: &[&str]) -> Option<Key> {
        let meta = fs::metadata(given).ok()?;
        if !meta.is_file() {
            return None;
        }
        let path = fs::canonicalize(given).ok()?;
        let mtime = meta
            .modified()
            .ok()?
            .duration_since(SystemTime::UNIX_EPOCH)
            .ok()?;
        let path = path.to_string_lossy();
        let size = meta.len().to_le_bytes();
        let secs = mtime.as_nanos().to_le_bytes();
        let needed = needed.join("\n");
        Some(Key::of(&[
            b"tarball",
            path.as_bytes(),
            &size,
            &secs,
            needed.as_bytes(),
        ]))
    }

    /// The entry `kind-key`, made by `fill` (into an empty directory) if it
    /// is not there yet: its directory, and whether it was already there.
    /// Without a cache, `fill` runs in `fallback` and that is the entry.
    pub fn entry(
        &self,
        kind: &str,
        key: Option<&Key>,
        fallback: &Path,
        fill: impl FnOnce(&Path) -> Result<(), String>,
    ) -> Result<(PathBuf, bool), String> {
        let (Some(root), Some(key)) = (&self.root, key) else {
            return fill_fallback(fallback, fill);
        };
        let dir = root.join(format!("{kind}-{}", key.as_str()));
        if dir.is_dir() {
            touch(&dir);
            return Ok((dir, true));
        }
        let tmp = root.join(format!(
            ".tmp-{kind}-{}-{}-{}",
            key.as_str(),
            std::process::id(),
            next_tmp()
        ));
        let _ = fs::remove_dir_all(&tmp);
        // A cache that cannot be written (a read-only target directory) is
        // no cache: the build goes on without it.
        if fs::create_dir_all(&tmp).is_err() {
            return fill_fallback(fallback, fill);
        }
        if let Err(e) = fill(&tmp) {
            let _ = fs::remove_dir_all(&tmp);
            return Err(e);
        }
        match fs::rename(&tmp, &dir) {
            Ok(()) => Ok((dir, false)),
            // Another build put the same entry there first: use it.
            Err(_) if dir.is_dir() => {
                let _ = fs::remove_dir_all(&tmp);
                Ok((dir, true))
            }
            Err(e) => {
                let _ = fs::remove_dir_all(&tmp);
                Err(format!("{} -> {}: {e}", tmp.display(), dir.display()))
            }
        }
    }

    /// Removes the entries not used for a week, and temporary directories
    /// a build that died left behind a day ago or more.
    pub fn evict_old(&self) {
        let Some(root) = &self.root else { return };
        let Ok(list) = fs::read_dir(root) else { return };
        let now = SystemTime::now();
        for e in list.flatten() {
            let name = e.file_name();
            let name = name.to_string_lossy();
            let age = e
                .metadata()
                .and_then(|m| m.modified())
                .ok()
                .and_then(|t| now.duration_since(t).ok())
                .unwrap_or_default();
            let stale_tmp = name.starts_with(".tmp-") && age > Duration::from_secs(24 * 3600);
            if stale_tmp || (!name.starts_with('.') && age > KEEP) {
                let _ = fs::remove_dir_all(e.path());
            }
        }
    }
}

/// Fills `fallback`, emptied first: the entry of a build without a cache.
fn fill_fallback(
    fallback: &Path,
    fill: impl FnOnce(&Path) -> Result<(), String>,
) -> Result<(PathBuf, bool), String> {
    let _ = fs::remove_dir_all(fallback);
    fs::create_dir_all(fallback).map_err(|e| format!("{}: {e}", fallback.display()))?;
    fill(fallback)?;
    Ok((fallback.to_path_buf(), false))
}

/// Marks an entry used now (its directory's modification time).
fn touch(dir: &Path) {
    let _ = fs::File::open(dir).and_then(|f| f.set_modified(SystemTime::now()));
}

fn next_tmp() -> usize {
    static N: AtomicUsize = AtomicUsize::new(0);
    N.fetch_add(1, Ordering::Relaxed)
}

/// The bytes of every file under `dir`, with their paths relative to it,
/// in a stable order (for a key).
pub fn tree_bytes(dir: &Path) -> Vec<u8> {
    fn walk(base: &Path, dir: &Path, into: &mut Vec<(String, Vec<u8>)>) {
        let Ok(list) = fs::read_dir(dir) else { return };
        for e in list.flatten() {
            let p = e.path();
            if p.is_dir() {
                walk(base, &p, into);
            } else if let Ok(bytes) = fs::read(&p) {
                let rel = p.strip_prefix(base).unwrap_or(&p).to_string_lossy().into();
                into.push((rel, bytes));
            }
        }
    }
    let mut files = Vec::new();
    walk(dir, dir, &mut files);
    files.sort();
    let mut out = Vec::new();
    for (name, bytes) in files {
        out.extend_from_slice(&(name.len() as u64).to_le_bytes());
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(&(bytes.len() as u64).to_le_bytes());
        out.extend_from_slice(&bytes);
    }
    out
}

/// A job for [`parallel`].
pub type Task<'a, T> = Box<dyn FnOnce() -> T + Send + 'a>;

/// Runs `jobs` on up to `threads` threads and gives their results in the
/// jobs' order.
pub fn parallel<T: Send>(threads: usize, jobs: Vec<Task<'_, T>>) -> Vec<T> {
    let n = jobs.len();
    let queue = Mutex::new(jobs.into_iter().enumerate().rev().collect::<Vec<_>>());
    let results: Mutex<Vec<Option<T>>> = Mutex::new((0..n).map(|_| None).collect());
    std::thread::scope(|s| {
        for _ in 0..threads.clamp(1, n.max(1)) {
            s.spawn(|| loop {
                let Some((i, job)) = queue.lock().expect("queue").pop() else {
                    break;
                };
                let r = job();
                results.lock().expect("results")[i] = Some(r);
            });
        }
    });
    results
        .into_inner()
        .expect("results")
        .into_iter()
        .map(|r| r.expect("every job ran"))
        .collect()
}

/// How many compiles to run at once: Cargo's `NUM_JOBS`, else the
/// machine's parallelism.
pub fn threads(num_jobs: Option<&str>) -> usize {
    num_jobs
        .and_then(|n| n.parse::<usize>().ok())
        .filter(|&n| n > 0)
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
}
