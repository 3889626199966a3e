"""Scores fastText .vec files as shared/data/README.md scores its reference figures:
gensim's evaluate_word_analogies(restrict_vocab=30000, case_insensitive=True) and
evaluate_word_pairs(delimiter='\t', case_insensitive=True) (Spearman) on WS-353,
SimLex-999 and Stanford Rare Words (pairs with an unknown word dropped).

Usage: python fasttext_eval.py EVAL_DIR VECTORS.vec [VECTORS.vec...]
"""
import logging
import sys

from gensim.models import KeyedVectors

logging.disable(logging.CRITICAL)


def score(path, eval_dir):
    kv = KeyedVectors.load_word2vec_format(path, binary=False, unicode_errors="replace")
    total, sections = kv.evaluate_word_analogies(
        f"{eval_dir}/questions-words.txt", restrict_vocab=30000, case_insensitive=True
    )

    def accuracy(selected):
        correct = sum(len(s["correct"]) for s in selected)
        seen = correct + sum(len(s["incorrect"]) for s in selected)
        return 100.0 * correct / seen if seen else 0.0

    parts = [s for s in sections if s["section"] != "Total accuracy"]
    sem = accuracy([s for s in parts if not s["section"].startswith("gram")])
    syn = accuracy([s for s in parts if s["section"].startswith("gram")])
    pairs = [
        kv.evaluate_word_pairs(f"{eval_dir}/{name}", delimiter="\t", case_insensitive=True)[1][0]
        for name in ("wordsim353.tsv", "simlex999.txt", "EN-RW-STANFORD.txt")
    ]
    return [sem, syn, 100.0 * total] + pairs


if __name__ == "__main__":
    eval_dir = sys.argv[1]
    print("file\tsemantic%\tsyntactic%\ttotal%\tws353\tsimlex\trw")
    for path in sys.argv[2:]:
        s = score(path, eval_dir)
        print(path + "\t" + "\t".join(f"{x:.1f}" for x in s[:3]) + "\t" + "\t".join(f"{x:.3f}" for x in s[3:]))
