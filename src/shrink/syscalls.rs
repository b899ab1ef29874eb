//! The reproducer of an address-space program for a real kernel: a small
//! C program making the same system calls, printing each result beside
//! the oracle's answer, then the final `/proc/self/maps`, so a kernel
//! developer can run the sequence on the kernel under suspicion (or turn
//! it into a `tools/testing/selftests/mm` test).
//!
//! What a real process cannot reproduce is said in comments: `fail_at` (an
//! injected allocation failure; the kernel's fault injection
//! (`failslab`) cannot pick one allocation point), addresses the model
//! chose itself (mmap without `MAP_FIXED` uses the model's fixed
//! `mmap_base`; a real kernel randomises it), the program break (the
//! model starts it at a fixed address) and file 3's `vm_ops->close` (a
//! merge rule; plain files have none).

use super::Reproducer;
use crate::engine::vma::{OracleEngine, VmaEngine};
use crate::ops::vma::text::format_op;
use crate::ops::vma::uapi::MAP_ANONYMOUS;
use crate::ops::vma::{Backing, ForkKeep, VmaOp, VmaProgram};
use std::fmt::Write;

const PRELUDE: &str = r#"#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static sigjmp_buf fault_jump;

static void on_fault(int sig)
{
	siglongjmp(fault_jump, sig);
}

/* The errno names maplefuzz prints. */
static const char *errname(int e)
{
	switch (e) {
	case EPERM: return "EPERM";
	case ENOMEM: return "ENOMEM";
	case EACCES: return "EACCES";
	case EFAULT: return "EFAULT";
	case EEXIST: return "EEXIST";
	case EINVAL: return "EINVAL";
	case EAGAIN: return "EAGAIN";
	case EOVERFLOW: return "EOVERFLOW";
	case EOPNOTSUPP: return "EOPNOTSUPP";
	default: return strerror(e);
	}
}

/* Prints one call's result: an address or 0, else -errno. */
__attribute__((unused))
static void show(int step, const char *call, long ret, const char *oracle)
{
	if (ret == -1)
		printf("%2d %-10s -%s (oracle: %s)\n", step, call, errname(errno), oracle);
	else
		printf("%2d %-10s %#lx (oracle: %s)\n", step, call, ret, oracle);
}

/* A page fault at addr: reports a SIGSEGV or SIGBUS instead of dying. */
__attribute__((unused))
static void touch(int step, unsigned long addr, int write, const char *oracle)
{
	int sig = sigsetjmp(fault_jump, 1);

	if (!sig) {
		if (write)
			*(volatile char *)addr = 1;
		else
			(void)*(volatile char *)addr;
		printf("%2d %-10s ok (oracle: %s)\n", step, "touch", oracle);
	} else {
		printf("%2d %-10s signal %d (oracle: %s)\n", step, "touch", sig, oracle);
	}
}

/* Files 0..3 of the model: read-write temporary files, file 2 read-only. */
static int open_file(int n)
{
	char name[] = "/tmp/maplefuzz-fileXXXXXX";
	char path[64];
	int fd = mkstemp(name);

	if (fd < 0 || ftruncate(fd, 1L << 30)) {
		perror("file");
		exit(1);
	}
	unlink(name);
	if (n != 2)
		return fd;
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	return open(path, O_RDONLY);
}

static void show_maps(void)
{
	char line[512];
	FILE *f = fopen("/proc/self/maps", "r");

	while (f && fgets(line, sizeof(line), f))
		fputs(line, stdout);
	if (f)
		fclose(f);
}
"#;

fn hex(n: u64) -> String {
    format!("{n:#x}UL")
}

/// The C program for `r`'s address-space program.
pub fn vma_program(r: &Reproducer<'_, VmaProgram>) -> String {
    let p = &r.shrunk.program;
    let mut s = String::from("/*\n");
    for line in r.summary() {
        let _ = writeln!(s, " * {}", line.replace("*/", "* /"));
    }
    let _ = writeln!(
        s,
        " *\n * The same system calls on a real kernel, each result printed beside the\n \
         * oracle's answer (Linux 6.12 semantics), then /proc/self/maps.\n \
         * Differences to expect that are not bugs: mmap without MAP_FIXED picks\n \
         * addresses below a fixed mmap_base of 0x7f0000000000 in the model (a real\n \
         * kernel randomises it); the model's program break starts at 0x555556000000;\n \
         * injected allocation failures (fail_at) have no userspace equivalent;\n \
         * file 3 has a vm_ops->close in the model, a plain file here; the model's\n \
         * vm.max_map_count is {} (set it with sysctl to match).\n */",
        p.setup.max_map_count
    );
    s.push_str(PRELUDE);
    s.push_str("\nint main(void)\n{\n\tint fd[4];\n\n");
    // Unbuffered, so a fork does not print what was buffered twice.
    s.push_str("\tsetvbuf(stdout, NULL, _IONBF, 0);\n");
    s.push_str("\tfor (int i = 0; i < 4; i++)\n\t\tfd[i] = open_file(i);\n\t(void)fd;\n");
    s.push_str("\tsignal(SIGSEGV, on_fault);\n\tsignal(SIGBUS, on_fault);\n");
    let mut oracle = OracleEngine::new(p.setup);
    for (step, op) in p.ops.iter().enumerate() {
        let expect = oracle.apply(op).to_string();
        let _ = writeln!(
            s,
            "\n\t/* {step}: {} */",
            format_op(op).replace("*/", "* /")
        );
        let call = |name: &str, expr: String| {
            format!("\tshow({step}, \"{name}\", (long){expr}, \"{expect}\");")
        };
        let line = match *op {
            VmaOp::Mmap {
                addr,
                len,
                prot,
                flags,
                backing,
            } => {
                let (fd, off) = match backing {
                    Backing::Anon => ("-1".to_string(), 0),
                    Backing::File { file, pgoff } => {
                        (format!("fd[{}]", file & 3), pgoff.wrapping_mul(4096))
                    }
                };
                let flags = match backing {
                    Backing::Anon => flags | MAP_ANONYMOUS,
                    Backing::File { .. } => flags & !MAP_ANONYMOUS,
                };
                call(
                    "mmap",
                    format!(
                        "mmap((void *){}, {}, {prot:#x}, {flags:#x}, {fd}, (off_t){})",
                        hex(addr),
                        hex(len),
                        hex(off)
                    ),
                )
            }
            VmaOp::Munmap { addr, len } => call(
                "munmap",
                format!("munmap((void *){}, {})", hex(addr), hex(len)),
            ),
            VmaOp::Mprotect { addr, len, prot } => call(
                "mprotect",
                format!("mprotect((void *){}, {}, {prot:#x})", hex(addr), hex(len)),
            ),
            VmaOp::Madvise { addr, len, advice } => call(
                "madvise",
                format!("madvise((void *){}, {}, {advice})", hex(addr), hex(len)),
            ),
            VmaOp::Brk { addr } => call("brk", format!("syscall(SYS_brk, {})", hex(addr))),
            VmaOp::Mremap {
                addr,
                old_len,
                new_len,
                flags,
                new_addr,
            } => call(
                "mremap",
                format!(
                    "syscall(SYS_mremap, {}, {}, {}, {flags:#x}, {})",
                    hex(addr),
                    hex(old_len),
                    hex(new_len),
                    hex(new_addr)
                ),
            ),
            VmaOp::Touch { addr, write } => {
                format!("\ttouch({step}, {}, {}, \"{expect}\");", hex(addr), u8::from(write))
            }
            VmaOp::Fork { keep } => match keep {
                // The process that is not kept exits; the other goes on.
                ForkKeep::Child => format!(
                    "\t{{\n\t\tpid_t pid = fork();\n\n\t\tif (pid > 0) {{\n\t\t\twaitpid(pid, NULL, 0);\n\t\t\texit(0);\n\t\t}}\n\t\tshow({step}, \"fork\", pid < 0 ? -1 : 0, \"{expect}\");\n\t}}"
                ),
                ForkKeep::Parent => format!(
                    "\t{{\n\t\tpid_t pid = fork();\n\n\t\tif (pid == 0)\n\t\t\t_exit(0);\n\t\tif (pid > 0)\n\t\t\twaitpid(pid, NULL, 0);\n\t\tshow({step}, \"fork\", pid < 0 ? -1 : 0, \"{expect}\");\n\t}}"
                ),
            },
            VmaOp::FailAt { nth } => format!(
                "\t/* allocation point {nth} of the next call fails in the model: no userspace equivalent */"
            ),
        };
        s.push_str(&line);
        s.push('\n');
    }
    s.push_str("\n\tshow_maps();\n\treturn 0;\n}\n");
    s
}
