// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Compiled once, only when the kernel engine's C is built with sanitizers
 * (MAPLEFUZZ_KERNEL_SANITIZE, see kernel/build.rs): the runtime options the
 * kernel's own userspace suites would be run with, made the default, so
 * that a report ends the process with SIGABRT. The engine's fatal-signal
 * handler then writes the program in flight to disk, and a run in a child
 * process reports the signal as a divergence.
 */
const char *__asan_default_options(void)
{
	return "abort_on_error=1:detect_leaks=0:allocator_may_return_null=1";
}

const char *__ubsan_default_options(void)
{
	return "abort_on_error=1:print_stacktrace=1:halt_on_error=1";
}
