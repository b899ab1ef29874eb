#!/bin/bash -eu
# Builds the cargo-fuzz targets of fuzz/ with the flags the builder image
# sets (sanitizer, coverage) and installs them with their seed corpora.
cd "$SRC/maplefuzz"
cargo fuzz build -O --debug-assertions
bin=fuzz/target/x86_64-unknown-linux-gnu/release
for t in tree_ops tree_alloc tree_prealloc tree_faults decode text_parse; do
    cp "$bin/$t" "$OUT/"
done
# Seeds: each differential target's committed corpus; the codec and text
# targets start from tree_ops' binary and text programs.
for t in tree_ops tree_alloc tree_prealloc tree_faults; do
    zip -q -j "$OUT/${t}_seed_corpus.zip" corpus/"$t"/*
done
zip -q -j "$OUT/decode_seed_corpus.zip" corpus/tree_ops/*
zip -q -j "$OUT/text_parse_seed_corpus.zip" corpus/seeds/tree_ops/*
