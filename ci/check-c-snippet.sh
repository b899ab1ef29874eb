#!/usr/bin/env bash
# Compiles a C snippet written by `maplefuzz shrink` against the kernel's
# own lib/maple_tree.c in the kernel's userspace test harness
# (tools/testing/radix-tree, as tools/testing/radix-tree/maple.c does) and
# runs it. Exit 0: it compiled and every MT_BUG_ON held (the kernel gives
# the answers maplefuzz's reference gives); 1: it failed to compile or an
# MT_BUG_ON fired (the harness aborts with the tree dump); 77: no built
# harness to link against.
#
#   ci/check-c-snippet.sh SNIPPET.c
#
# KERNEL_SRC (default /work/linux) must hold a kernel source tree where
# `make -C tools/testing/radix-tree maple` has been run: the snippet is
# linked with that build's objects. Nothing is written to the kernel tree.
set -euo pipefail
snippet=$(realpath "$1")
src=${KERNEL_SRC:-/work/linux}
rt=$src/tools/testing/radix-tree
objs="xarray-shared.o radix-tree.o idr.o linux.o slab.o find_bit.o bitmap.o hweight.o vsprintf.o test.o"
for o in $objs; do
    if [ ! -f "$rt/$o" ]; then
        echo "check-c-snippet: $rt/$o missing; run make -C $rt maple first" >&2
        exit 77
    fi
done
fn=$(grep -o 'check_maplefuzz_[A-Za-z0-9_]*(struct maple_tree' "$snippet" | head -n 1 | sed 's/(.*//')
if [ -z "$fn" ]; then
    echo "check-c-snippet: no check_maplefuzz_* function in $snippet" >&2
    exit 1
fi
# The kernel's own driver includes the maple tree through its shim where
# the tree has one (6.12 on: tools/testing/shared/maple-shim.c, which 7.1's
# RCU callback lives in), and newer trees need their arch headers.
if [ -f "$src/tools/testing/shared/maple-shim.c" ]; then
    tree_c='"../shared/maple-shim.c"'
else
    tree_c='"maple_tree.c"'
fi
arch_inc=
if [ -d "$src/tools/arch/x86/include" ]; then
    arch_inc=-I../../arch/x86/include
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cat > "$work/run.c" <<C
/* Runs one maplefuzz snippet on the kernel's maple tree (userspace). */
#define CONFIG_DEBUG_MAPLE_TREE
#define CONFIG_MAPLE_SEARCH
#include "test.h"
#include <stdlib.h>
#include <linux/init.h>
#define module_init(x)
#define module_exit(x)
#define dump_stack()	assert(0)
#include $tree_c
#include "$snippet"

int main(void)
{
	struct maple_tree tree;

	/* Line-buffered: an MT_BUG_ON's report survives the abort after it. */
	setvbuf(stdout, NULL, _IOLBF, 0);
	maple_tree_init();
	$fn(&tree);
	rcu_barrier();
	printf("$fn: every MT_BUG_ON held\n");
	return 0;
}
C
(
    cd "$rt"
    # The harness's own flags (tools/testing/shared/shared.mk).
    # shellcheck disable=SC2086
    cc -I../shared -I. -I../../include $arch_inc -I../../../lib -g -Og -Wall -Werror=implicit-function-declaration \
        -D_LGPL_SOURCE -fsanitize=address -fsanitize=undefined \
        -c -o "$work/run.o" "$work/run.c"
    # shellcheck disable=SC2086
    cc -fsanitize=address -fsanitize=undefined -o "$work/run" "$work/run.o" $objs -lpthread -lurcu
)
"$work/run"
