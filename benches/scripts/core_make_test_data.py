#!/usr/bin/env python3
"""Writes the gensim-made fixtures of embed-core's format and query tests.

Usage: /work/venv/bin/python benches/scripts/core_make_test_data.py crates/embed-core/tests/data

Creates, from a fixed seed:
  gensim_small.bin   word2vec binary written by gensim's save_word2vec_format(binary=True)
  gensim_small.txt   the same vectors as word2vec text (binary=False)
  gensim_queries.tsv what gensim's KeyedVectors answers for a few queries on them
"""
import sys
from pathlib import Path

import numpy as np
from gensim.models import KeyedVectors

out = Path(sys.argv[1])
out.mkdir(parents=True, exist_ok=True)

rng = np.random.default_rng(20261129)
words = [f"w{i}" for i in range(40)] + ["café", "naïve", "日本", "Ωmega", "straße", "ü"]
dim = 8
vectors = rng.standard_normal((len(words), dim)).astype(np.float32)
vectors[5] *= 1e-3  # a short vector
vectors[6] *= 1e3  # a long one

kv = KeyedVectors(dim)
kv.add_vectors(words, vectors)
kv.save_word2vec_format(str(out / "gensim_small.bin"), binary=True)
kv.save_word2vec_format(str(out / "gensim_small.txt"), binary=False)

queries = [
    ("most_similar", ["w1"], [], 5, None),
    ("most_similar", ["w1", "café"], ["w7"], 5, None),
    ("most_similar", ["日本"], ["w3", "w4"], 7, None),
    ("most_similar", ["w2"], [], 5, 20),
    ("most_similar_cosmul", ["w1", "café"], ["w7"], 5, None),
    ("most_similar_cosmul", ["w9"], [], 5, None),
    ("most_similar_cosmul", ["w10", "w11"], ["w12", "w13"], 6, None),
]
with open(out / "gensim_queries.tsv", "w", encoding="utf-8") as f:
    f.write("# method\tpositive\tnegative\ttopn\trestrict_vocab\tresults (word=score)\n")
    for method, pos, neg, topn, restrict in queries:
        if method == "most_similar":
            res = kv.most_similar(positive=pos, negative=neg, topn=topn, restrict_vocab=restrict)
        else:
            res = kv.most_similar_cosmul(positive=pos, negative=neg, topn=topn)
        cells = " ".join(f"{w}={s!r}" for w, s in res)
        f.write(f"{method}\t{','.join(pos)}\t{','.join(neg)}\t{topn}\t{restrict or ''}\t{cells}\n")
    for a, b in [("w1", "w2"), ("café", "日本"), ("w5", "w6")]:
        f.write(f"similarity\t{a},{b}\t\t\t\t{float(kv.similarity(a, b))!r}\n")
    for group in [["w1", "w2", "w3", "日本"], ["café", "naïve", "w0", "w20", "w30"]]:
        f.write(f"doesnt_match\t{','.join(group)}\t\t\t\t{kv.doesnt_match(group)}\n")
