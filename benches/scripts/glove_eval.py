"""Scores GloVe-format vectors (no header line) the way the benchmark table
does: gensim's analogy accuracy on the 30k most frequent words (semantic,
syntactic, total) and Spearman correlations on WordSim-353 and SimLex-999.

Usage: python benches/scripts/glove_eval.py VECTORS [VECTORS ...] --data SHARED/data/eval
Prints one JSON line per vectors file.
"""

import argparse
import json
import logging
import os

from gensim.models import KeyedVectors


def score(path, data):
    kv = KeyedVectors.load_word2vec_format(path, binary=False, no_header=True)
    _, sections = kv.evaluate_word_analogies(
        os.path.join(data, "questions-words.txt"), restrict_vocab=30000, case_insensitive=True
    )

    def accuracy(parts):
        correct = sum(len(s["correct"]) for s in parts)
        total = correct + sum(len(s["incorrect"]) for s in parts)
        return round(100.0 * correct / max(total, 1), 2)

    named = [s for s in sections if s["section"] != "Total accuracy"]
    semantic = [s for s in named if not s["section"].startswith("gram")]
    syntactic = [s for s in named if s["section"].startswith("gram")]
    pairs = {}
    for name, file in [("ws353", "wordsim353.tsv"), ("simlex", "simlex999.txt")]:
        _, spearman, _ = kv.evaluate_word_pairs(
            os.path.join(data, file), delimiter="\t", case_insensitive=True
        )
        pairs[name] = round(float(spearman.statistic if hasattr(spearman, "statistic") else spearman[0]), 4)
    return {
        "vectors": path,
        "analogy_semantic": accuracy(semantic),
        "analogy_syntactic": accuracy(syntactic),
        "analogy_total": accuracy(named),
        **pairs,
    }


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("vectors", nargs="+")
    parser.add_argument("--data", required=True)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    for path in args.vectors:
        print(json.dumps(score(path, args.data)), flush=True)


if __name__ == "__main__":
    main()
