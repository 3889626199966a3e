#!/usr/bin/env python3
"""Checks that gensim reads the vector files embed-core writes.

Usage (from the repository root):
    src=crates/embed-core/tests/data/gensim_small.bin
    for f in word2vec:bin word2vec-text:txt glove:glove; do
      cargo run --release -q -p embed-core --example convert_vectors -- $src DIR/ours.${f#*:} ${f%:*}
    done
    /work/venv/bin/python benches/scripts/core_gensim_reads_ours.py DIR

DIR then holds `ours.bin`, `ours.txt` and `ours.glove`, written by embed-core
from gensim's file. The script loads each with gensim and compares every word
and value with gensim's own reading of gensim_small.bin.
"""
import sys
from pathlib import Path

import numpy as np
from gensim.models import KeyedVectors

out = Path(sys.argv[1])
reference = KeyedVectors.load_word2vec_format(
    "crates/embed-core/tests/data/gensim_small.bin", binary=True
)
ok = True
for name, kwargs in [
    ("ours.bin", dict(binary=True)),
    ("ours.txt", dict(binary=False)),
    ("ours.glove", dict(binary=False, no_header=True)),
]:
    kv = KeyedVectors.load_word2vec_format(str(out / name), **kwargs)
    same_words = kv.index_to_key == reference.index_to_key
    same_values = np.array_equal(kv.vectors, reference.vectors)
    print(f"{name}: words identical={same_words} values bit-identical={same_values}")
    ok &= same_words and same_values
print("OK" if ok else "MISMATCH")
sys.exit(0 if ok else 1)
