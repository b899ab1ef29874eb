//! The program in flight, on disk when a signal kills the process.
//!
//! An engine can die without a Rust panic: the kernel engine is C (a wild
//! pointer is a `SIGSEGV`), AddressSanitizer and `abort()` raise
//! `SIGABRT`, a runaway recursion overflows the stack. The executor cannot
//! catch those, so before each execution the stable driver hands its
//! program, encoded, to [`arm`]; a handler for `SIGSEGV`, `SIGBUS`,
//! `SIGILL`, `SIGFPE` and `SIGABRT` writes those bytes to
//! `<crash dir>/crash-signal-<pid>.bin` with nothing but async-signal-safe
//! calls (`open`, `write`, `close`), says so on stderr, and then gives the
//! signal back to the handler that was there before (Rust's stack-overflow
//! report, or the default action), so the process still dies as it would
//! have. `maplefuzz replay` and `maplefuzz shrink` read the file (a
//! `crash-` name is binary).
//!
//! The state is per thread: a signal is delivered to the thread that
//! faulted, and a thread that never armed anything passes the signal on
//! untouched.

use std::cell::Cell;
use std::ffi::CString;
use std::path::{Path, PathBuf};
use std::sync::Once;

/// What the handler writes: the encoded program and where it goes.
struct InFlight {
    path: CString,
    bytes: Vec<u8>,
}

thread_local! {
    /// The armed program of this thread (a leaked box while armed).
    static ARMED: Cell<*mut InFlight> = const { Cell::new(std::ptr::null_mut()) };
}

const SIGNALS: [libc::c_int; 5] = [
    libc::SIGSEGV,
    libc::SIGBUS,
    libc::SIGILL,
    libc::SIGFPE,
    libc::SIGABRT,
];

/// The handlers that were installed before ours, by signal number.
static mut PREVIOUS: [Option<libc::sigaction>; 32] = [None; 32];
static INSTALL: Once = Once::new();
/// Set by [`watch`]: say where the executor was on a fatal signal even
/// with nothing armed.
static WATCH: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Makes a fatal signal say which step the executor was at (see
/// [`crate::isolate::set_position`]) before the process dies, without
/// writing any file: `maplefuzz replay` uses it, so that a program that
/// kills the process still names its op.
pub fn watch() {
    install();
    WATCH.store(true, std::sync::atomic::Ordering::Relaxed);
}

/// The file a signal during this process's executions is written to.
pub fn artifact_path(crash_dir: &Path) -> PathBuf {
    crash_dir.join(format!("crash-signal-{}.bin", std::process::id()))
}

/// Installs the handlers (once per process).
fn install() {
    INSTALL.call_once(|| {
        for &sig in &SIGNALS {
            // SAFETY: plain sigaction calls with zeroed, then filled,
            // structures; PREVIOUS is written only here, before any
            // handler of ours can run.
            unsafe {
                let mut new: libc::sigaction = std::mem::zeroed();
                new.sa_sigaction = on_signal as *const () as usize;
                new.sa_flags = libc::SA_SIGINFO | libc::SA_ONSTACK;
                libc::sigemptyset(&mut new.sa_mask);
                let mut old: libc::sigaction = std::mem::zeroed();
                if libc::sigaction(sig, &new, &mut old) == 0 {
                    (*std::ptr::addr_of_mut!(PREVIOUS))[sig as usize] = Some(old);
                }
            }
        }
    });
}

/// Arms this thread: until the next [`arm`] or [`disarm`], a fatal signal
/// writes `bytes` to `path` first.
pub fn arm(path: &Path, bytes: Vec<u8>) {
    install();
    let Ok(path) = CString::new(path.as_os_str().as_encoded_bytes()) else {
        return;
    };
    let new = Box::into_raw(Box::new(InFlight { path, bytes }));
    let old = ARMED.with(|a| a.replace(new));
    if !old.is_null() {
        // SAFETY: `old` came from Box::into_raw in this function and was
        // unreachable from the handler once replaced.
        drop(unsafe { Box::from_raw(old) });
    }
}

/// Disarms this thread.
pub fn disarm() {
    let old = ARMED.with(|a| a.replace(std::ptr::null_mut()));
    if !old.is_null() {
        // SAFETY: as in `arm`.
        drop(unsafe { Box::from_raw(old) });
    }
}

/// A deliberate invalid memory access: the process gets a real `SIGSEGV`,
/// as from a wild pointer in the C engine (the harness's test of this
/// module; see `maplefuzz::mutants::crash_at`).
pub fn segfault() {
    let p = std::hint::black_box(std::ptr::null_mut::<u8>());
    // SAFETY: none: this is the deliberate fault; it does not return.
    unsafe { std::ptr::write_volatile(p, 1) };
}

/// `mkdir -p` of the folders of `path` (async-signal-safe: `mkdir` on
/// prefixes copied to the stack; a path too long for the buffer is left to
/// `open` to fail on).
fn make_parents(path: &[u8]) {
    let mut buf = [0u8; 4096];
    if path.len() >= buf.len() {
        return;
    }
    buf[..path.len()].copy_from_slice(path);
    for i in 1..path.len() {
        if path[i] == b'/' {
            buf[i] = 0;
            // SAFETY: buf[..=i] is a NUL-terminated prefix of the path.
            unsafe {
                libc::mkdir(buf.as_ptr().cast(), 0o755);
            }
            buf[i] = b'/';
        }
    }
}

/// Writes `s` to stderr (async-signal-safe).
fn say(s: &[u8]) {
    // SAFETY: write(2) on fd 2 with a valid buffer.
    unsafe {
        libc::write(2, s.as_ptr().cast(), s.len());
    }
}

/// Writes a number in decimal to stderr (async-signal-safe).
fn say_number(mut n: u64) {
    let mut buf = [0u8; 20];
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    say(&buf[i..]);
}

/// Says which step (and engine number) the executor had marked
/// ([`crate::isolate::set_position`]).
fn say_position() {
    if let Some((step, engine)) = crate::isolate::position() {
        say(b"maplefuzz: it died during step ");
        say_number(step);
        if let Some(e) = engine {
            say(b", in engine number ");
            say_number(e);
        }
        say(b" (maplefuzz replay --trace FILE names the op)\n");
    }
}

extern "C" fn on_signal(sig: libc::c_int, _info: *mut libc::siginfo_t, _ctx: *mut libc::c_void) {
    let armed = ARMED.with(|a| a.replace(std::ptr::null_mut()));
    if !armed.is_null() {
        // SAFETY: `armed` is this thread's live InFlight (the main code is
        // interrupted, so it is not being replaced); only async-signal-safe
        // calls follow.
        unsafe {
            let f = &*armed;
            // The crash folder is made only when something goes in it.
            make_parents(f.path.as_bytes());
            let fd = libc::open(
                f.path.as_ptr(),
                libc::O_WRONLY | libc::O_CREAT | libc::O_TRUNC,
                0o644,
            );
            if fd >= 0 {
                libc::write(fd, f.bytes.as_ptr().cast(), f.bytes.len());
                libc::close(fd);
                say(b"\nmaplefuzz: fatal signal during an execution; its program is in ");
                say(f.path.as_bytes());
                say(b" (maplefuzz replay FILE)\n");
                say_position();
            } else {
                say(b"maplefuzz: fatal signal during an execution; its program could not be written\n");
            }
        }
    } else if WATCH.load(std::sync::atomic::Ordering::Relaxed) {
        say(b"\nmaplefuzz: fatal signal during the program\n");
        say_position();
    }
    // Hand the signal back to what was there before: put it back and, for
    // a signal that was sent (abort), send it again; a fault re-executes
    // its instruction on return and meets the previous handler.
    // SAFETY: sigaction/raise are async-signal-safe; PREVIOUS is read-only
    // after installation.
    unsafe {
        let previous = (*std::ptr::addr_of!(PREVIOUS))
            .get(sig as usize)
            .copied()
            .flatten();
        match previous {
            Some(old) => {
                libc::sigaction(sig, &old, std::ptr::null_mut());
            }
            None => {
                libc::signal(sig, libc::SIG_DFL);
            }
        }
        if sig == libc::SIGABRT {
            libc::raise(sig);
        }
    }
}
