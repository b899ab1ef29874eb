#!/usr/bin/env bash
# Builds a C program written by `maplefuzz shrink` for a VMA bug
# (<signature>.engine.c) against a kernel tree's own mm/vma.c and
# lib/maple_tree.c, through the maplefuzz kernel VMA engine's shim
# (kernel/csrc/vma), with AddressSanitizer and UBSan as the kernel's own
# tools/testing/vma builds, and runs it. Exit 0: every answer was the
# oracle's and validate_mm held; 1: an answer differed, validate_mm
# complained, a sanitizer fired, or it failed to build; 77: the tree has no
# VMA engine shim.
#
#   KERNEL_SRC=/path/to/linux ci/check-vma-snippet.sh FILE.engine.c
#
# Nothing is written to the kernel tree.
set -euo pipefail
program=$(realpath "$1")
src=$(realpath "${KERNEL_SRC:-/work/linux}")
here=$(cd "$(dirname "$0")/.." && pwd)
shims=$here/kernel/csrc/vma
version=$(awk '/^VERSION =/ {v=$3} /^PATCHLEVEL =/ {p=$3} END {print v "." p}' "$src/Makefile")
engine=$shims/engine-$version.c
if [ ! -f "$engine" ]; then
    echo "check-vma-snippet: no VMA engine shim for Linux $version ($engine)" >&2
    exit 77
fi
for f in mm/vma.c tools/testing/vma/vma_internal.h tools/testing/shared/linux.c tools/lib/slab.c; do
    if [ ! -f "$src/$f" ]; then
        echo "check-vma-snippet: $src has no $f" >&2
        exit 77
    fi
done
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/generated"
printf '#define CONFIG_64BIT 1\n#define CONFIG_XARRAY_MULTI 1\n' > "$work/generated/autoconf.h"
: > "$work/generated/bit-length.h"
echo '#define XA_CHUNK_SHIFT 6' > "$work/generated/map-shift.h"
${CC:-cc} -g -O1 -fsanitize=address,undefined -fno-omit-frame-pointer -D_LGPL_SOURCE \
    -DMFV_ENGINE="\"engine-$version.c\"" \
    -I"$work" -I"$shims" -I"$src/tools/testing/vma" -I"$src/tools/testing/shared" \
    -I"$src/tools/include" -I"$src/lib" -I"$src" \
    "$program" "$src/tools/testing/shared/linux.c" "$src/tools/lib/slab.c" \
    -lurcu -lpthread -o "$work/run" 2> "$work/cc.log" || {
    cat "$work/cc.log" >&2
    echo "check-vma-snippet: $program does not build against Linux $version" >&2
    exit 1
}
"$work/run"
