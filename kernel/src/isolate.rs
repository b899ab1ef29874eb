//! One execution in a child process, so that a fatal signal is an answer
//! instead of the end of the caller.
//!
//! The kernel engine is C: a wild pointer there kills the process with
//! `SIGSEGV` before any Rust code can see it. The shrinker runs thousands
//! of candidates of such a program, and a test must be able to expect the
//! crash; both run each execution through [`run_in_child`]: `fork()`, the
//! closure runs in the child (the same engines, mutant and memory as the
//! parent at that moment), and its result comes back over a pipe. When the
//! child dies of a signal, a handler installed in the child first writes
//! where it was over the same pipe: the signal, the faulting address, the
//! program counter and the return addresses of the frames above it (the
//! parent resolves them to function names, inlined frames included: the
//! child is a copy, so its addresses are the parent's), and the position
//! the executor last marked with [`set_position`] (the step, and which
//! engine was running).
//!
//! The position is also what the stable driver's in-flight handler
//! ([`crate::inflight`]) prints when a campaign dies.

use std::ffi::c_void;
use std::io;
use std::sync::atomic::{AtomicI32, AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// The step and the engine the executor is at (`u64::MAX`: none).
static STEP: AtomicU64 = AtomicU64::new(u64::MAX);
static ENGINE: AtomicU64 = AtomicU64::new(u64::MAX);

/// Marks where the executor is: step `step` of the program, engine number
/// `engine` (its index in the engine list), or [`NO_ENGINE`] between
/// engines (the checks after an op). Two relaxed stores; a signal handler
/// reads them.
pub fn set_position(step: usize, engine: usize) {
    STEP.store(step as u64, Ordering::Relaxed);
    ENGINE.store(engine as u64, Ordering::Relaxed);
}

/// The engine number of [`set_position`] for work that is no one engine's.
pub const NO_ENGINE: usize = usize::MAX;

/// Forgets the position (between executions).
pub fn clear_position() {
    STEP.store(u64::MAX, Ordering::Relaxed);
    ENGINE.store(u64::MAX, Ordering::Relaxed);
}

/// The position last marked: (step, engine number or `None`).
pub fn position() -> Option<(u64, Option<u64>)> {
    let step = STEP.load(Ordering::Relaxed);
    let engine = ENGINE.load(Ordering::Relaxed);
    (step != u64::MAX).then_some((step, (engine != u64::MAX).then_some(engine)))
}

/// How a child run ended.
#[derive(Clone, Debug)]
pub enum ChildEnd {
    /// The closure returned these bytes.
    Returned(Vec<u8>),
    /// A fatal signal killed the child.
    Signaled(FatalSignal),
    /// The child was still running at the time limit and was killed.
    TimedOut(Duration),
    /// The child exited without returning (a panic that aborted the
    /// closure, or `exit`), with this status.
    Exited(i32),
}

/// A child's death by signal, and where it happened.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FatalSignal {
    /// The signal number.
    pub signal: i32,
    /// The faulting address (`si_addr`) of a fault, when the handler ran.
    pub fault_addr: Option<u64>,
    /// The step the executor had marked, when it had.
    pub step: Option<u64>,
    /// The engine number the executor had marked, when one was running.
    pub engine: Option<u64>,
    /// The functions on the stack, innermost first (inlined ones
    /// included); empty when the handler could not run or nothing resolved.
    pub frames: Vec<String>,
}

impl FatalSignal {
    /// The signal's name (`SIGSEGV`), or `SIG<n>`.
    pub fn signal_name(&self) -> String {
        signal_name(self.signal)
    }

    /// The function the signal hit, when it could be read.
    pub fn function(&self) -> Option<&str> {
        self.frames.first().map(String::as_str)
    }

    /// One line: `SIGSEGV (fault address 0x32) in mte_dead_walk <- mt_free_walk`.
    pub fn describe(&self) -> String {
        let mut s = self.signal_name();
        if let Some(a) = self.fault_addr {
            s.push_str(&format!(" (fault address {a:#x})"));
        }
        if !self.frames.is_empty() {
            let shown: Vec<&str> = self.frames.iter().take(8).map(String::as_str).collect();
            s.push_str(" in ");
            s.push_str(&shown.join(" <- "));
        }
        s
    }
}

/// The name of a signal number.
pub fn signal_name(sig: i32) -> String {
    match sig {
        libc::SIGSEGV => "SIGSEGV".into(),
        libc::SIGBUS => "SIGBUS".into(),
        libc::SIGILL => "SIGILL".into(),
        libc::SIGFPE => "SIGFPE".into(),
        libc::SIGABRT => "SIGABRT".into(),
        libc::SIGKILL => "SIGKILL".into(),
        libc::SIGTRAP => "SIGTRAP".into(),
        n => format!("SIG{n}"),
    }
}

const SIGNALS: [libc::c_int; 5] = [
    libc::SIGSEGV,
    libc::SIGBUS,
    libc::SIGILL,
    libc::SIGFPE,
    libc::SIGABRT,
];

/// Record tags on the pipe.
const RETURNED: u64 = 0x6d66_7265_7475_726e;
const SIGNALED: u64 = 0x6d66_7369_676e_616c;
/// Return addresses kept from the dying child's stack.
const MAX_FRAMES: usize = 32;
/// tag, signal, pc, fault address, step, engine, frame count, frames.
const RECORD_WORDS: usize = 7 + MAX_FRAMES;

/// The child's end of the pipe (only ever set in a child).
static CHILD_FD: AtomicI32 = AtomicI32::new(-1);

/// Runs `f` in a child process and returns how that ended. The child is
/// killed at `limit`. The calling process should be single-threaded at
/// this point (a forked child has only the calling thread; the harness's
/// executions are).
pub fn run_in_child(limit: Duration, f: impl FnOnce() -> Vec<u8>) -> io::Result<ChildEnd> {
    let mut fds = [0 as libc::c_int; 2];
    // SAFETY: pipe2 with a valid two-int array.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return Err(io::Error::last_os_error());
    }
    let (rd, wr) = (fds[0], fds[1]);
    // SAFETY: fork; the child only runs `f`, writes to the pipe and
    // _exits, never returning into the caller's frames.
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        let e = io::Error::last_os_error();
        // SAFETY: closing our own descriptors.
        unsafe {
            libc::close(rd);
            libc::close(wr);
        }
        return Err(e);
    }
    if pid == 0 {
        // SAFETY: the child: close the read end, install the handlers,
        // run, report, _exit (no destructors, no atexit, no flushing the
        // parent's buffered output twice).
        unsafe {
            libc::close(rd);
            CHILD_FD.store(wr, Ordering::Relaxed);
            install_child_handlers();
            // A panic must not unwind into the caller's frames: in the
            // child they belong to a copy of the parent.
            let Ok(bytes) = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)) else {
                libc::_exit(101);
            };
            let mut head = Vec::with_capacity(16 + bytes.len());
            head.extend_from_slice(&RETURNED.to_le_bytes());
            head.extend_from_slice(&(bytes.len() as u64).to_le_bytes());
            head.extend_from_slice(&bytes);
            write_all(wr, &head);
            libc::_exit(0);
        }
    }
    // SAFETY: the parent's copy of the write end.
    unsafe { libc::close(wr) };
    let started = Instant::now();
    let read = read_until_eof(rd, started + limit);
    // SAFETY: our read end.
    unsafe { libc::close(rd) };
    let timed_out = read.is_none();
    if timed_out {
        // SAFETY: the child we forked.
        unsafe { libc::kill(pid, libc::SIGKILL) };
    }
    let mut status: libc::c_int = 0;
    // SAFETY: waiting for our own child.
    while unsafe { libc::waitpid(pid, &mut status, 0) } < 0 {
        let e = io::Error::last_os_error();
        if e.kind() != io::ErrorKind::Interrupted {
            return Err(e);
        }
    }
    if timed_out {
        return Ok(ChildEnd::TimedOut(started.elapsed()));
    }
    let data = read.unwrap_or_default();
    if libc::WIFSIGNALED(status) {
        let signal = libc::WTERMSIG(status);
        return Ok(ChildEnd::Signaled(parse_signal(signal, &data)));
    }
    let code = if libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status)
    } else {
        -1
    };
    if code == 0 && data.len() >= 16 && word(&data, 0) == RETURNED {
        let n = word(&data, 1) as usize;
        if data.len() >= 16 + n {
            return Ok(ChildEnd::Returned(data[16..16 + n].to_vec()));
        }
    }
    Ok(ChildEnd::Exited(code))
}

fn word(data: &[u8], i: usize) -> u64 {
    let mut w = [0u8; 8];
    w.copy_from_slice(&data[8 * i..8 * i + 8]);
    u64::from_le_bytes(w)
}

/// Everything on `fd` until end of file, or `None` at `deadline`.
fn read_until_eof(fd: libc::c_int, deadline: Instant) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    let mut buf = [0u8; 65536];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return None;
        }
        let mut p = libc::pollfd {
            fd,
            events: libc::POLLIN,
            revents: 0,
        };
        let ms = left.as_millis().clamp(1, i32::MAX as u128) as libc::c_int;
        // SAFETY: one valid pollfd.
        let r = unsafe { libc::poll(&mut p, 1, ms) };
        if r < 0 {
            if io::Error::last_os_error().kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return Some(out);
        }
        if r == 0 {
            continue;
        }
        // SAFETY: reading into our buffer.
        let n = unsafe { libc::read(fd, buf.as_mut_ptr().cast(), buf.len()) };
        if n < 0 {
            if io::Error::last_os_error().kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return Some(out);
        }
        if n == 0 {
            return Some(out);
        }
        out.extend_from_slice(&buf[..n as usize]);
    }
}

/// Writes all of `bytes` to `fd` (async-signal-safe).
fn write_all(fd: libc::c_int, mut bytes: &[u8]) {
    while !bytes.is_empty() {
        // SAFETY: write(2) of a valid buffer.
        let n = unsafe { libc::write(fd, bytes.as_ptr().cast(), bytes.len()) };
        if n <= 0 {
            if n < 0 && io::Error::last_os_error().kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return;
        }
        bytes = &bytes[n as usize..];
    }
}

/// The alternate signal stack of a child (the unwinder needs more than the
/// few kilobytes a thread's default one has).
const ALT_STACK: usize = 1 << 20;

unsafe fn install_child_handlers() {
    let mem = libc::malloc(ALT_STACK);
    if !mem.is_null() {
        let st = libc::stack_t {
            ss_sp: mem,
            ss_flags: 0,
            ss_size: ALT_STACK,
        };
        libc::sigaltstack(&st, std::ptr::null_mut());
    }
    for &sig in &SIGNALS {
        let mut new: libc::sigaction = std::mem::zeroed();
        new.sa_sigaction = on_child_signal as *const () as usize;
        new.sa_flags = libc::SA_SIGINFO | libc::SA_ONSTACK;
        libc::sigemptyset(&mut new.sa_mask);
        libc::sigaction(sig, &new, std::ptr::null_mut());
    }
}

/// The program counter of a signal's context.
unsafe fn context_pc(ctx: *mut c_void) -> u64 {
    if ctx.is_null() {
        return 0;
    }
    #[cfg(all(target_os = "linux", target_arch = "x86_64"))]
    {
        let uc = &*(ctx as *const libc::ucontext_t);
        uc.uc_mcontext.gregs[libc::REG_RIP as usize] as u64
    }
    #[cfg(all(target_os = "linux", target_arch = "aarch64"))]
    {
        let uc = &*(ctx as *const libc::ucontext_t);
        uc.uc_mcontext.pc
    }
    #[cfg(not(any(
        all(target_os = "linux", target_arch = "x86_64"),
        all(target_os = "linux", target_arch = "aarch64")
    )))]
    {
        0
    }
}

extern "C" fn on_child_signal(sig: libc::c_int, info: *mut libc::siginfo_t, ctx: *mut c_void) {
    let fd = CHILD_FD.load(Ordering::Relaxed);
    let mut rec = [0u64; RECORD_WORDS];
    rec[0] = SIGNALED;
    rec[1] = sig as u64;
    // SAFETY: the kernel passes a valid siginfo and context to an
    // SA_SIGINFO handler; reading them is async-signal-safe.
    unsafe {
        rec[2] = context_pc(ctx);
        if !info.is_null() && sig != libc::SIGABRT {
            rec[3] = (*info).si_addr() as u64;
        }
    }
    rec[4] = STEP.load(Ordering::Relaxed);
    rec[5] = ENGINE.load(Ordering::Relaxed);
    // First without frames, so that a fault in the unwinder (the signal is
    // blocked here: a second one kills the child at once) loses nothing
    // but the frames; the parent reads the last whole record.
    write_record(fd, &rec);
    // The return addresses above the fault. The unwinder is not strictly
    // async-signal-safe; this process is a child about to die, and the
    // record above is complete without them.
    let mut n = 0usize;
    // SAFETY: no other thread runs in the child; the closure only writes
    // into the record.
    unsafe {
        backtrace::trace_unsynchronized(|frame| {
            if n < MAX_FRAMES {
                rec[7 + n] = frame.ip() as u64;
                n += 1;
                true
            } else {
                false
            }
        });
    }
    rec[6] = n as u64;
    write_record(fd, &rec);
    // Die of the same signal, by its default action.
    // SAFETY: signal/raise are async-signal-safe.
    unsafe {
        libc::signal(sig, libc::SIG_DFL);
        libc::raise(sig);
    }
}

/// Writes one record in a single write (it is smaller than `PIPE_BUF`, so
/// it arrives whole or not at all).
fn write_record(fd: libc::c_int, rec: &[u64; RECORD_WORDS]) {
    let mut bytes = [0u8; RECORD_WORDS * 8];
    for (i, w) in rec.iter().enumerate() {
        bytes[8 * i..8 * i + 8].copy_from_slice(&w.to_le_bytes());
    }
    if fd >= 0 {
        write_all(fd, &bytes);
    }
}

/// The child's record, if it wrote one, as names.
fn parse_signal(signal: i32, data: &[u8]) -> FatalSignal {
    let mut out = FatalSignal {
        signal,
        fault_addr: None,
        step: None,
        engine: None,
        frames: Vec::new(),
    };
    // The record is the last thing written; a partial result may precede
    // it only if the closure was writing when it died (it never is).
    if data.len() < RECORD_WORDS * 8 {
        return out;
    }
    let rec = &data[data.len() - RECORD_WORDS * 8..];
    if word(rec, 0) != SIGNALED || word(rec, 1) != signal as u64 {
        return out;
    }
    let pc = word(rec, 2);
    if signal != libc::SIGABRT {
        out.fault_addr = Some(word(rec, 3));
    }
    out.step = Some(word(rec, 4)).filter(|s| *s != u64::MAX);
    out.engine = Some(word(rec, 5)).filter(|e| *e != u64::MAX);
    let n = (word(rec, 6) as usize).min(MAX_FRAMES);
    let ips: Vec<u64> = (0..n).map(|i| word(rec, 7 + i)).collect();
    // The frames above the faulting one: after the unwound frame at the
    // program counter (the handler's own frames and the signal trampoline
    // come first). Without it (no context, or the unwinder could not pass
    // the signal frame), the unwound frames as they are.
    let above = match ips.iter().position(|&ip| ip == pc) {
        Some(i) => &ips[i + 1..],
        None if pc == 0 => &ips[..],
        None => &[][..],
    };
    if pc != 0 {
        out.frames.extend(resolve(pc, false));
    }
    for &ip in above {
        out.frames.extend(resolve(ip, true));
    }
    if signal == libc::SIGABRT {
        out.frames = without_abort_frames(out.frames);
    }
    out
}

/// An abort's stack without the machinery of the abort: `raise`, `abort`,
/// the sanitizer's report and death callback (`__asan_report_load8`,
/// `__sanitizer::Die`, the shim's `mfk_asan_death`), so that the first
/// frame is the function that went wrong.
fn without_abort_frames(frames: Vec<String>) -> Vec<String> {
    const MACHINERY: [&str; 7] = [
        "raise",
        "abort",
        "pthread_kill",
        "mfk_asan_death",
        "__sanitizer",
        "__asan",
        "__ubsan",
    ];
    let last = frames
        .iter()
        .rposition(|f| MACHINERY.iter().any(|m| f.contains(m)));
    match last {
        Some(i) if i + 1 < frames.len() => frames[i + 1..].to_vec(),
        _ => frames,
    }
}

/// The function names at `ip`, innermost (inlined) first. A return address
/// is looked up one byte back, inside the call.
fn resolve(ip: u64, return_address: bool) -> Vec<String> {
    let at = if return_address {
        ip.saturating_sub(1)
    } else {
        ip
    };
    let mut names = Vec::new();
    backtrace::resolve(at as usize as *mut c_void, |sym| {
        if let Some(name) = sym.name() {
            names.push(format!("{name:#}"));
        }
    });
    names
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_abort_is_named_after_the_function_that_went_wrong() {
        let frames: Vec<String> = [
            "__pthread_kill_implementation",
            "__GI_raise",
            "__GI_abort",
            "mfk_asan_death",
            "__sanitizer::Die",
            "__asan_report_load8",
            "mas_leaf_max_gap",
            "mas_max_gap",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        assert_eq!(
            without_abort_frames(frames),
            vec!["mas_leaf_max_gap".to_string(), "mas_max_gap".to_string()]
        );
        let plain = vec!["mte_dead_walk".to_string(), "mt_free_walk".to_string()];
        assert_eq!(without_abort_frames(plain.clone()), plain);
    }

    #[test]
    fn a_returning_child_hands_back_its_bytes() {
        let end = run_in_child(Duration::from_secs(10), || b"hello".to_vec()).unwrap();
        assert!(
            matches!(end, ChildEnd::Returned(ref b) if b == b"hello"),
            "{end:?}"
        );
    }

    #[test]
    fn a_child_killed_by_sigsegv_says_where() {
        let end = run_in_child(Duration::from_secs(10), || {
            set_position(7, 2);
            crate::inflight::segfault();
            Vec::new()
        })
        .unwrap();
        let ChildEnd::Signaled(s) = end else {
            panic!("expected a signal: {end:?}")
        };
        assert_eq!(s.signal, libc::SIGSEGV);
        assert_eq!((s.step, s.engine), (Some(7), Some(2)));
        assert_eq!(s.fault_addr, Some(0));
        assert!(
            s.frames.iter().any(|f| f.contains("segfault")),
            "the faulting function is named: {s:?}"
        );
    }

    #[test]
    fn a_child_that_never_ends_is_killed_at_the_limit() {
        let end = run_in_child(Duration::from_millis(200), || loop {
            std::thread::sleep(Duration::from_millis(10));
        })
        .unwrap();
        assert!(matches!(end, ChildEnd::TimedOut(_)), "{end:?}");
    }
}
