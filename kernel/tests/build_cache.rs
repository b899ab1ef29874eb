// SPDX-License-Identifier: GPL-2.0-or-later
//! The build script's cache of compiled C (`src/build_cache.rs`, which
//! `build.rs` uses as its module `build_cache`): what changes a key, that
//! an entry is made once and then found, that a failed fill leaves nothing,
//! where the cache lives in Cargo's layout, what eviction removes, and that
//! the compile pool gives results in the jobs' order.

#[path = "../src/build_cache.rs"]
mod build_cache;

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, SystemTime};

use build_cache::{parallel, threads, tree_bytes, Cache, Key};

fn scratch(name: &str) -> PathBuf {
    static N: AtomicUsize = AtomicUsize::new(0);
    let d = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!(
        "build-cache-{}-{}-{name}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = fs::remove_dir_all(&d);
    fs::create_dir_all(&d).unwrap();
    d
}

#[test]
fn a_key_changes_with_any_byte_and_with_where_the_parts_split() {
    let k = Key::of(&[b"abc", b"def"]);
    assert_eq!(k, Key::of(&[b"abc", b"def"]));
    assert_ne!(k, Key::of(&[b"abc", b"deg"]));
    assert_ne!(k, Key::of(&[b"abcd", b"ef"]));
    assert_ne!(k, Key::of(&[b"abc", b"def", b""]));
    assert_eq!(k.as_str().len(), 32);
}

#[test]
fn an_entry_is_filled_once_then_found() {
    let root = scratch("once");
    let cache = Cache::at(&root.join("cache"));
    let key = Key::of(&[b"x"]);
    let fills = AtomicUsize::new(0);
    let fill = |d: &Path| {
        fills.fetch_add(1, Ordering::Relaxed);
        fs::write(d.join("a.o"), "object").map_err(|e| e.to_string())
    };
    let (first, hit) = cache
        .entry("obj", Some(&key), &root.join("fallback"), fill)
        .unwrap();
    assert!(!hit);
    let (second, hit) = cache
        .entry("obj", Some(&key), &root.join("fallback"), fill)
        .unwrap();
    assert!(hit);
    assert_eq!(first, second);
    assert_eq!(fills.load(Ordering::Relaxed), 1);
    assert_eq!(fs::read_to_string(second.join("a.o")).unwrap(), "object");
    assert!(!root.join("fallback").exists());
    // Another key is another entry.
    let (third, hit) = cache
        .entry("obj", Some(&Key::of(&[b"y"])), &root.join("fallback"), fill)
        .unwrap();
    assert!(!hit);
    assert_ne!(third, first);
}

#[test]
fn without_a_key_or_a_cache_the_fallback_is_filled_every_time() {
    let root = scratch("fallback");
    let fallback = root.join("fallback");
    let key = Key::of(&[b"k"]);
    // A tree with no key (a directory) in a cache; a keyed tree in a build
    // with the cache turned off.
    let cases = [
        (Cache::at(&root.join("cache")), None),
        (Cache::for_out_dir(&root, true), Some(&key)),
    ];
    for (cache, key) in cases {
        for _ in 0..2 {
            fs::create_dir_all(&fallback).unwrap();
            fs::write(fallback.join("stale.o"), "").unwrap();
            let (dir, hit) = cache
                .entry("obj", key, &fallback, |d: &Path| {
                    fs::write(d.join("new.o"), "").map_err(|e| e.to_string())
                })
                .unwrap();
            assert!(!hit);
            assert_eq!(dir, fallback);
            // The fallback starts empty: nothing of an earlier build stays.
            assert!(!fallback.join("stale.o").exists());
            assert!(fallback.join("new.o").exists());
        }
    }
    assert!(!root.join("cache").exists());
}

#[test]
fn a_cache_that_cannot_be_written_is_no_cache() {
    let root = scratch("readonly");
    // The cache's place is taken by a file: nothing can be made there.
    fs::write(root.join("cache"), "not a directory").unwrap();
    let cache = Cache::at(&root.join("cache"));
    let (dir, hit) = cache
        .entry(
            "obj",
            Some(&Key::of(&[b"r"])),
            &root.join("fb"),
            |d: &Path| fs::write(d.join("a.o"), "").map_err(|e| e.to_string()),
        )
        .unwrap();
    assert_eq!((dir.as_path(), hit), (root.join("fb").as_path(), false));
    assert!(root.join("fb/a.o").exists());
}

#[test]
fn a_failed_fill_leaves_no_entry_and_the_next_build_fills_again() {
    let root = scratch("fail");
    let cache = Cache::at(&root.join("cache"));
    let key = Key::of(&[b"z"]);
    let err = cache
        .entry("obj", Some(&key), &root.join("fb"), |d: &Path| {
            fs::write(d.join("half.o"), "").unwrap();
            Err("the compiler failed".to_string())
        })
        .unwrap_err();
    assert_eq!(err, "the compiler failed");
    assert_eq!(fs::read_dir(root.join("cache")).unwrap().count(), 0);
    let (_, hit) = cache
        .entry("obj", Some(&key), &root.join("fb"), |_: &Path| Ok(()))
        .unwrap();
    assert!(!hit);
}

#[test]
fn the_cache_lives_in_the_target_directory_shared_by_its_profiles() {
    let root = |out: &str| {
        Cache::for_out_dir(Path::new(out), false)
            .root()
            .map(Path::to_path_buf)
    };
    let dev = root("/t/target/debug/build/maplefuzz-kernel-1/out");
    assert_eq!(dev, Some(PathBuf::from("/t/target/maplefuzz-kernel-cache")));
    assert_eq!(dev, root("/t/target/release/build/maplefuzz-kernel-2/out"));
    assert_eq!(
        root("/f/target/x86_64-unknown-linux-gnu/release/build/k-3/out"),
        Some(PathBuf::from(
            "/f/target/x86_64-unknown-linux-gnu/maplefuzz-kernel-cache"
        ))
    );
    assert_eq!(root("/not/cargo/out"), None);
    let off = Cache::for_out_dir(Path::new("/t/target/debug/build/k-1/out"), true);
    assert_eq!(off.root(), None);
}

#[test]
fn a_tarball_key_follows_its_size_and_time_and_what_is_extracted() {
    let root = scratch("tarball");
    let t = root.join("linux.tar.xz");
    fs::write(&t, "abc").unwrap();
    let k = Cache::tarball_key(&t, &["lib/maple_tree.c"]).unwrap();
    assert_eq!(
        Some(&k),
        Cache::tarball_key(&t, &["lib/maple_tree.c"]).as_ref()
    );
    assert_ne!(
        Some(&k),
        Cache::tarball_key(&t, &["lib/maple_tree.c", "mm/vma.c"]).as_ref()
    );
    let f = fs::File::options().write(true).open(&t).unwrap();
    f.set_modified(SystemTime::now() - Duration::from_secs(3600))
        .unwrap();
    assert_ne!(
        Some(&k),
        Cache::tarball_key(&t, &["lib/maple_tree.c"]).as_ref()
    );
    // A directory, or nothing, has no tarball key.
    assert!(Cache::tarball_key(&root, &[]).is_none());
    assert!(Cache::tarball_key(&root.join("missing"), &[]).is_none());
}

#[test]
fn eviction_removes_entries_unused_for_a_week_and_old_temporaries() {
    let root = scratch("evict");
    let cache_dir = root.join("cache");
    let cache = Cache::at(&cache_dir);
    let old = SystemTime::now() - Duration::from_secs(8 * 24 * 3600);
    let mk = |name: &str, when: SystemTime| {
        let d = cache_dir.join(name);
        fs::create_dir_all(&d).unwrap();
        fs::File::open(&d).unwrap().set_modified(when).unwrap();
    };
    mk("obj-old", old);
    mk("obj-new", SystemTime::now());
    mk(
        ".tmp-obj-dead",
        SystemTime::now() - Duration::from_secs(2 * 24 * 3600),
    );
    mk(".tmp-obj-running", SystemTime::now());
    let key_dir = |name: &str| cache_dir.join(name).exists();
    cache.evict_old();
    assert!(!key_dir("obj-old"));
    assert!(key_dir("obj-new"));
    assert!(!key_dir(".tmp-obj-dead"));
    assert!(key_dir(".tmp-obj-running"));
}

#[test]
fn a_found_entry_is_marked_used_and_outlives_eviction() {
    let root = scratch("used");
    let cache_dir = root.join("cache");
    let cache = Cache::at(&cache_dir);
    let key = Key::of(&[b"u"]);
    let (dir, _) = cache
        .entry("obj", Some(&key), &root.join("fb"), |_| Ok(()))
        .unwrap();
    let old = SystemTime::now() - Duration::from_secs(8 * 24 * 3600);
    fs::File::open(&dir).unwrap().set_modified(old).unwrap();
    let (again, hit) = cache
        .entry("obj", Some(&key), &root.join("fb"), |_| Ok(()))
        .unwrap();
    assert!(hit);
    cache.evict_old();
    assert!(again.exists());
}

#[test]
fn tree_bytes_names_every_file_and_its_content() {
    let root = scratch("bytes");
    fs::create_dir_all(root.join("vma")).unwrap();
    fs::write(root.join("a.h"), "one").unwrap();
    fs::write(root.join("vma/b.c"), "two").unwrap();
    let before = tree_bytes(&root);
    assert_eq!(before, tree_bytes(&root));
    fs::write(root.join("vma/b.c"), "twO").unwrap();
    assert_ne!(before, tree_bytes(&root));
    fs::write(root.join("vma/b.c"), "two").unwrap();
    fs::rename(root.join("vma/b.c"), root.join("vma/c.c")).unwrap();
    assert_ne!(before, tree_bytes(&root));
}

#[test]
fn the_pool_runs_every_job_once_and_keeps_their_order() {
    let ran = AtomicUsize::new(0);
    for n in [0, 1, 3, 40] {
        for t in [1, 2, 8] {
            let jobs: Vec<Box<dyn FnOnce() -> usize + Send>> = (0..n)
                .map(|i| {
                    let ran = &ran;
                    Box::new(move || {
                        ran.fetch_add(1, Ordering::Relaxed);
                        // Uneven work, so later jobs may finish first.
                        std::thread::sleep(Duration::from_micros(((n - i) % 3) as u64 * 300));
                        i * 10
                    }) as Box<dyn FnOnce() -> usize + Send>
                })
                .collect();
            let before = ran.load(Ordering::Relaxed);
            let out = parallel(t, jobs);
            assert_eq!(out, (0..n).map(|i| i * 10).collect::<Vec<_>>());
            assert_eq!(ran.load(Ordering::Relaxed) - before, n);
        }
    }
    assert_eq!(threads(Some("3")), 3);
    assert!(threads(Some("0")) >= 1);
    assert!(threads(Some("x")) >= 1);
    assert!(threads(None) >= 1);
}
