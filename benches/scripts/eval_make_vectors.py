"""Makes the 30000 x 100 word2vec text file used by eval_vs_gensim.py.

Usage: python benches/scripts/eval_make_vectors.py CORPUS OUT
  CORPUS  the expanded corpus (sh shared/data/get-corpus.sh wiki17m.txt)
  OUT     the vectors file to write (word2vec text format)

gensim Word2Vec, 1 epoch, dimension 100, min_count 5, seed 1, 2 workers;
the 30000 most frequent words are kept.
"""

import sys

from gensim.models import KeyedVectors, Word2Vec
from gensim.models.word2vec import LineSentence


def main():
    corpus, out = sys.argv[1], sys.argv[2]
    model = Word2Vec(
        LineSentence(corpus), vector_size=100, min_count=5, window=5, seed=1,
        workers=2, epochs=1,
    )
    kept = KeyedVectors(100)
    kept.add_vectors(model.wv.index_to_key[:30000], model.wv.vectors[:30000])
    kept.save_word2vec_format(out, binary=False)


if __name__ == "__main__":
    main()
