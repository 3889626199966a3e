"""Scores word vectors as the reference figures in shared/data/README.md were scored:
gensim's evaluate_word_analogies(restrict_vocab=30000, case_insensitive=True) and
evaluate_word_pairs(delimiter='\t', case_insensitive=True) (Spearman).

Usage: python word2vec_eval.py EVAL_DIR VECTORS [VECTORS...]
EVAL_DIR holds questions-words.txt, wordsim353.tsv and simlex999.txt; VECTORS are word2vec
binary files (or text files ending in .txt). Prints one tab-separated line per file.
"""
import logging
import sys

from gensim.models import KeyedVectors

logging.disable(logging.CRITICAL)


def score(path, eval_dir):
    kv = KeyedVectors.load_word2vec_format(path, binary=not path.endswith(".txt"))
    total, sections = kv.evaluate_word_analogies(
        f"{eval_dir}/questions-words.txt", restrict_vocab=30000, case_insensitive=True
    )

    def accuracy(selected):
        correct = sum(len(s["correct"]) for s in selected)
        seen = correct + sum(len(s["incorrect"]) for s in selected)
        return 100.0 * correct / seen if seen else 0.0

    parts = [s for s in sections if s["section"] != "Total accuracy"]
    semantic = accuracy([s for s in parts if not s["section"].startswith("gram")])
    syntactic = accuracy([s for s in parts if s["section"].startswith("gram")])
    ws = kv.evaluate_word_pairs(f"{eval_dir}/wordsim353.tsv", delimiter="\t", case_insensitive=True)
    sl = kv.evaluate_word_pairs(f"{eval_dir}/simlex999.txt", delimiter="\t", case_insensitive=True)
    return semantic, syntactic, 100.0 * total, ws[1][0], sl[1][0]


if __name__ == "__main__":
    eval_dir = sys.argv[1]
    print("file\tsemantic%\tsyntactic%\ttotal%\tws353\tsimlex")
    for path in sys.argv[2:]:
        sem, syn, tot, ws, sl = score(path, eval_dir)
        print(f"{path}\t{sem:.1f}\t{syn:.1f}\t{tot:.1f}\t{ws:.3f}\t{sl:.3f}", flush=True)
