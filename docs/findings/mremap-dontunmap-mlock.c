// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * maplefuzz finding 14: mremap(MREMAP_DONTUNMAP) of an mlock()ed range
 * unlocks the whole source VMA and leaks mm->locked_vm (Linux 6.18, 7.1).
 *
 * Build and run as an unprivileged user (CAP_IPC_LOCK hides the leak):
 *   cc -O2 -Wall -o dontunmap-mlock mremap-dontunmap-mlock.c
 *   setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all ./dontunmap-mlock
 * Exit status 0: the kernel behaves; 1: the bug; 2: the test could not run.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/* "lo" in the VmFlags of the mapping containing addr, or -1 if none. */
static int locked_flag(unsigned long addr)
{
	FILE *f = fopen("/proc/self/smaps", "r");
	char line[512];
	int in = 0, ret = -1;

	while (f && fgets(line, sizeof(line), f)) {
		unsigned long s, e;
		char c;

		if (sscanf(line, "%lx-%lx %c", &s, &e, &c) == 3) {
			in = s <= addr && addr < e;
			continue;
		}
		if (in && !strncmp(line, "VmFlags:", 8)) {
			ret = strstr(line, " lo") != NULL;
			break;
		}
	}
	if (f)
		fclose(f);
	return ret;
}

/* VmLck of /proc/self/status, in kB. */
static long vmlck(void)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	long kb = -1;

	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "VmLck: %ld kB", &kb) == 1)
			break;
	if (f)
		fclose(f);
	return kb;
}

int main(void)
{
	long pg = sysconf(_SC_PAGESIZE);
	int bad = 0;
	char *a;
	void *to;
	int i;

	/* 1. The rest of the source stays locked. */
	a = mmap(NULL, 4 * pg, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_LOCKED, -1, 0);
	if (a == MAP_FAILED) {
		perror("mmap(MAP_LOCKED)");
		return 2;
	}
	to = mremap(a + pg, pg, pg, MREMAP_MAYMOVE | MREMAP_DONTUNMAP, NULL);
	if (to == MAP_FAILED) {
		perror("mremap(MREMAP_DONTUNMAP)");
		return 2;
	}
	printf("page 0 (not moved): %s; page 1 (moved, kept mapped): %s; new page: %s\n",
	       locked_flag((unsigned long)a) == 1 ? "locked" : "NOT locked",
	       locked_flag((unsigned long)a + pg) == 1 ? "locked" : "not locked",
	       locked_flag((unsigned long)to) == 1 ? "locked" : "NOT locked");
	if (locked_flag((unsigned long)a) != 1 || locked_flag((unsigned long)a + 3 * pg) != 1) {
		printf("BUG: pages the call did not move lost their mlock()\n");
		bad = 1;
	}
	munmap(a, 4 * pg);
	munmap(to, pg);

	/* 2. Nothing mapped, nothing locked. */
	if (vmlck() != 0) {
		printf("BUG: VmLck is %ld kB with nothing locked mapped\n", vmlck());
		bad = 1;
	}

	/* 3. Repeated, the leak exhausts RLIMIT_MEMLOCK. */
	for (i = 0; i < 100000; i++) {
		a = mmap(NULL, 4 * pg, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_LOCKED, -1, 0);
		if (a == MAP_FAILED) {
			printf("BUG: round %d: mmap(MAP_LOCKED) fails (%s) with nothing locked mapped, VmLck %ld kB\n",
			       i, strerror(errno), vmlck());
			bad = 1;
			break;
		}
		to = mremap(a, 4 * pg, 4 * pg, MREMAP_MAYMOVE | MREMAP_DONTUNMAP, NULL);
		if (to == MAP_FAILED) {
			perror("mremap(MREMAP_DONTUNMAP)");
			return 2;
		}
		munmap(a, 4 * pg);
		munmap(to, 4 * pg);
	}
	printf("%s\n", bad ? "the kernel has the bug" : "no bug seen");
	return bad;
}
