//! The watchdog of the stable driver and of `replay`: an execution that
//! runs longer than a limit (a search that never ends, a retry loop in an
//! engine) is a hang. The stuck execution cannot be interrupted (it may be
//! inside the kernel engine's C), so a thread of its own watches the clock:
//! past the limit it writes the program as `<crash dir>/hang-<target>-<exec
//! seed>.txt` (and `.bin`; `hang-replay.txt` for `replay`), says so on
//! stderr, and ends the process with status 1, as a divergence does.

use super::crash::write_reproducer;
use super::Target;
use crate::ops::AnyProgram;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The default limit of one execution, in seconds (the isolated runs'
/// limit too).
pub const DEFAULT_HANG_SECONDS: u64 = crate::diff::isolated::DEFAULT_HANG_SECONDS;

/// One execution being watched.
pub struct Watched {
    /// Its program.
    pub program: AnyProgram,
    /// Its target (`None` for a replayed file).
    pub target: Option<Target>,
    /// Its execution seed (the campaign's executions), or 0.
    pub exec_seed: u64,
    /// How to run it again, for the report.
    pub rerun: String,
}

struct Shared {
    limit: Duration,
    crash_dir: PathBuf,
    current: Mutex<Option<(Instant, Watched)>>,
}

/// A running watchdog; executions are watched between [`Watchdog::watch`]
/// and [`Watchdog::idle`].
pub struct Watchdog {
    shared: Arc<Shared>,
}

impl Watchdog {
    /// Starts the watchdog thread: an execution longer than `limit` ends the
    /// process (see the module docs). Hang files go to `crash_dir`.
    pub fn start(limit: Duration, crash_dir: PathBuf) -> Watchdog {
        let shared = Arc::new(Shared {
            limit,
            crash_dir,
            current: Mutex::new(None),
        });
        let watcher = Arc::clone(&shared);
        let tick = (limit / 20).clamp(Duration::from_millis(5), Duration::from_millis(200));
        std::thread::Builder::new()
            .name("maplefuzz-watchdog".into())
            .spawn(move || loop {
                std::thread::sleep(tick);
                if Arc::strong_count(&watcher) == 1 {
                    // The Watchdog was dropped: nothing to watch any more.
                    return;
                }
                let current = watcher.current.lock().unwrap_or_else(|e| e.into_inner());
                if let Some((started, w)) = current.as_ref() {
                    if started.elapsed() >= watcher.limit {
                        report(&watcher, w);
                        std::process::exit(1);
                    }
                }
            })
            .expect("start the watchdog thread");
        Watchdog { shared }
    }

    /// The execution of `w` starts now.
    pub fn watch(&self, w: Watched) {
        *self.lock() = Some((Instant::now(), w));
    }

    /// No execution is running.
    pub fn idle(&self) {
        *self.lock() = None;
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<(Instant, Watched)>> {
        self.shared
            .current
            .lock()
            .unwrap_or_else(|e| e.into_inner())
    }
}

/// Writes the hang file and says where it is.
fn report(shared: &Shared, w: &Watched) {
    let target = w.target.map_or("(a replayed file)", |t| t.name());
    let stem = match w.target {
        Some(t) => format!("hang-{}-{:016x}", t.name(), w.exec_seed),
        None => "hang-replay".to_string(),
    };
    let header = vec![
        format!(
            "maplefuzz hang: the execution ran longer than {:.1?} (the watchdog's limit)",
            shared.limit
        ),
        format!("target: {target}"),
        format!("rerun: {}", w.rerun),
    ];
    match write_reproducer(&shared.crash_dir, &stem, &header, &w.program) {
        Ok(a) => eprintln!(
            "\nmaplefuzz: HANG: an execution ran longer than {:.1?}; its program is in {} \
             (and {}); {}",
            shared.limit,
            a.text.display(),
            a.binary.display(),
            w.rerun
        ),
        Err(e) => eprintln!(
            "\nmaplefuzz: HANG: an execution ran longer than {:.1?}; its program could not be \
             written to {}: {e}",
            shared.limit,
            shared.crash_dir.display()
        ),
    }
}
