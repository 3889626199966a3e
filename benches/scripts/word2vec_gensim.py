"""Trains gensim's Word2Vec with word2vec C's settings and writes word2vec binary vectors.

Usage: python word2vec_gensim.py CORPUS OUTPUT sg|cbow EPOCHS THREADS
Streams the corpus with gensim's Text8Corpus (whitespace-separated words, newlines ignored,
sentences of 10,000 words). gensim's faster `corpus_file=` path is not used: on this
one-line corpus it left the vectors untrained (analogy 0.0%, WS-353 -0.04 after 1 epoch). dim 100, window 5, negative 5, sample 1e-3,
min_count 5, alpha 0.025 (skip-gram) / 0.05 (CBOW), min_alpha alpha * 1e-4. The environment variable SEED sets gensim's seed (default 1).
"""
import os
import sys
import time

from gensim.models import Word2Vec
from gensim.models.word2vec import Text8Corpus

corpus, output, mode, epochs, threads = sys.argv[1:6]
sg = 1 if mode == "sg" else 0
alpha = 0.025 if sg else 0.05
start = time.time()
model = Word2Vec(
    sentences=Text8Corpus(corpus), vector_size=100, window=5, negative=5, hs=0, sample=1e-3,
    min_count=5, sg=sg, alpha=alpha, min_alpha=alpha * 1e-4, epochs=int(epochs),
    workers=int(threads), seed=int(os.environ.get("SEED", "1")),
)
model.wv.save_word2vec_format(output, binary=True)
print(f"gensim {mode}: {time.time() - start:.1f} s", file=sys.stderr)
