"""Builds the gensim-equality fixture of embed-eval.

Writes, next to this script:
  vectors.txt  small word2vec text file (trained with gensim Word2Vec, plus
               case variants that exercise case-insensitive evaluation)
  gensim.json  gensim's evaluation figures on exactly those vectors

Usage: python make_gensim_fixture.py SHARED_DIR
  (SHARED_DIR holds data/corpus/wiki1m.txt and data/eval/*)
"""

import itertools
import json
import logging
import os
import sys

import gensim
import numpy as np
from gensim.models import KeyedVectors, Word2Vec

HERE = os.path.dirname(os.path.abspath(__file__))
SHARED = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "../../../../../shared")
CORPUS = os.path.join(SHARED, "data/corpus/wiki1m.txt")
EVAL = os.path.join(SHARED, "data/eval")
TOKENS = 1_000_000
KEEP = 8000
DIM = 16


def corpus_sentences():
    with open(CORPUS, encoding="utf8") as f:
        words = f.read().split()[:TOKENS]
    return [words[i:i + 1000] for i in range(0, len(words), 1000)]


def build_vectors():
    model = Word2Vec(
        corpus_sentences(), vector_size=DIM, min_count=5, window=5, seed=1,
        workers=1, epochs=3,
    )
    words = list(model.wv.index_to_key[:KEEP])
    vectors = [model.wv[w].astype(np.float64) for w in words]
    rng = np.random.default_rng(7)
    # Lower-case words of the analogy set that the model knows.
    with open(os.path.join(EVAL, "questions-words.txt"), encoding="utf8") as f:
        question_words = sorted({w.lower() for line in f if not line.startswith(":") for w in line.split()})
    known = [w for w in question_words if w in set(words)]
    chosen = rng.choice(len(known), size=min(220, len(known)), replace=False)
    # 200 title-case copies near the original, appended at the end: they are
    # candidates that case-insensitive evaluation must treat as the same word.
    for i in chosen[:200]:
        w = known[i]
        words.append(w.title())
        vectors.append(vectors[words.index(w)] + 0.05 * rng.standard_normal(DIM))
    # 20 upper-case copies with fresh vectors inserted near the front: the
    # first case variant wins when case is folded.
    for n, i in enumerate(chosen[200:]):
        w = known[i]
        pos = 10 + 20 * n
        words.insert(pos, w.upper())
        vectors.insert(pos, rng.standard_normal(DIM))
    path = os.path.join(HERE, "vectors.txt")
    with open(path, "w", encoding="utf8") as f:
        f.write(f"{len(words)} {DIM}\n")
        for w, v in zip(words, vectors):
            f.write(w + " " + " ".join("%.5f" % x for x in v) + "\n")
    return path


def sections_of(sections):
    return [
        {"name": s["section"], "correct": len(s["correct"]), "incorrect": len(s["incorrect"])}
        for s in sections
    ]


def replay_analogies(kv, path, restrict_vocab, cosmul, case_insensitive=True):
    """evaluate_word_analogies's loop, keeping each question's prediction.

    With cosmul=False it must agree with evaluate_word_analogies (checked in
    main). gensim 4.4 accepts similarity_function but always calls
    most_similar, so 3CosMul figures come from this loop with
    most_similar_cosmul (valid when restrict_vocab covers the whole
    vocabulary: most_similar_cosmul ignores restrict_vocab).
    """
    ok_keys = kv.index_to_key[:restrict_vocab]
    fold = (lambda w: w.upper()) if case_insensitive else (lambda w: w)
    ok_vocab = {fold(k): kv.get_index(k) for k in reversed(ok_keys)}
    sections, section, oov, total, predictions = [], None, 0, 0, []
    with open(path, encoding="utf8") as fin:
        for line in fin:
            if line.startswith(": "):
                if section:
                    sections.append(section)
                section = {"section": line.lstrip(": ").strip(), "correct": [], "incorrect": []}
                continue
            parts = [fold(w) for w in line.split()]
            if len(parts) != 4:
                continue
            a, b, c, expected = parts
            total += 1
            if any(w not in ok_vocab for w in parts):
                oov += 1
                continue
            original = kv.key_to_index
            kv.key_to_index = ok_vocab
            if cosmul:
                sims = kv.most_similar_cosmul(positive=[b, c], negative=[a], topn=5)
            else:
                sims = kv.most_similar(positive=[b, c], negative=[a], topn=5, restrict_vocab=restrict_vocab)
            kv.key_to_index = original
            predicted = None
            for word, _ in sims:
                predicted = fold(word)
                if predicted in ok_vocab and predicted not in {a, b, c}:
                    break
            predictions.append(predicted)
            section["correct" if predicted == expected else "incorrect"].append((a, b, c, expected))
    if section:
        sections.append(section)
    sections.append({
        "section": "Total accuracy",
        "correct": list(itertools.chain.from_iterable(s["correct"] for s in sections)),
        "incorrect": list(itertools.chain.from_iterable(s["incorrect"] for s in sections)),
    })
    return sections, oov, total, predictions


def main():
    logging.basicConfig(level=logging.WARNING)
    path = build_vectors()
    kv = KeyedVectors.load_word2vec_format(path, binary=False)
    questions = os.path.join(EVAL, "questions-words.txt")
    analogy = []
    for n, case_insensitive in [(30000, True), (3000, True), (500, True), (30000, False)]:
        score, sections = kv.evaluate_word_analogies(
            questions, restrict_vocab=n, case_insensitive=case_insensitive, dummy4unknown=False
        )
        analogy.append({
            "method": "3CosAdd", "restrict_vocab": n, "case_insensitive": case_insensitive,
            "score": score, "sections": sections_of(sections),
        })
    sections, oov, total, predictions = replay_analogies(kv, questions, 30000, cosmul=False)
    assert sections_of(sections) == analogy[0]["sections"], "replay differs from gensim"
    analogy[0].update({"oov": oov, "questions": total, "predictions": predictions})
    sections, oov, total, predictions = replay_analogies(kv, questions, 30000, cosmul=True)
    analogy.append({
        "method": "3CosMul", "restrict_vocab": 30000, "case_insensitive": True,
        "sections": sections_of(sections), "oov": oov, "questions": total,
        "predictions": predictions,
    })
    similarity = []
    for name in ["wordsim353.tsv", "simlex999.txt", "EN-RW-STANFORD.txt"]:
        for n in [300000, 3000]:
            pearson, spearman, oov_ratio = kv.evaluate_word_pairs(
                os.path.join(EVAL, name), delimiter="\t", restrict_vocab=n,
                case_insensitive=True, dummy4unknown=False,
            )
            similarity.append({
                "file": name, "restrict_vocab": n, "pearson": float(pearson[0]),
                "spearman": float(spearman[0]), "oov_ratio": float(oov_ratio),
            })
    out = {"gensim": gensim.__version__, "analogy": analogy, "similarity": similarity}
    with open(os.path.join(HERE, "gensim.json"), "w", encoding="utf8") as f:
        json.dump(out, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
