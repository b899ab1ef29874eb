#!/bin/bash -eu
# Builds the cargo-fuzz targets of fuzz/ with the flags the builder image
# sets (sanitizer, coverage) and installs them with their seed corpora.
# cargo fuzz instruments the Rust code for libFuzzer; kernel/build.rs sees
# that and compiles the kernel engine's C (lib/maple_tree.c of every tree
# in LINUX_SRC, else of Debian's linux-source tarballs) with clang and
# -fsanitize=fuzzer-no-link,address, so libFuzzer's coverage includes the
# kernel's code. The builder image has no Linux source (nor liburcu-dev)
# yet: there the targets build without the kernel engine. ci/cflite-host.sh
# runs this script on the host as the builder does, with the kernel trees,
# and every target it makes (.ci/run).
cd "$SRC/maplefuzz"
cargo fuzz build -O --debug-assertions
bin=fuzz/target/x86_64-unknown-linux-gnu/release
for t in tree_ops tree_alloc tree_prealloc tree_faults vma_ops decode text_parse; do
    cp "$bin/$t" "$OUT/"
done
# Seeds: each differential target's committed corpus; the codec and text
# targets start from tree_ops' binary and text programs.
for t in tree_ops tree_alloc tree_prealloc tree_faults vma_ops; do
    zip -q -j "$OUT/${t}_seed_corpus.zip" corpus/"$t"/*
done
zip -q -j "$OUT/decode_seed_corpus.zip" corpus/tree_ops/*
zip -q -j "$OUT/text_parse_seed_corpus.zip" corpus/seeds/tree_ops/*
