#!/usr/bin/env python3
"""Checks that AllenNLP loads a model `embed elmo train` wrote and computes what embed does.

    python elmo_allennlp_load.py --allennlp DIR --embed target/release/embed \
        --model MODEL_DIR [--sentences FILE]

MODEL_DIR holds options.json + weights.hdf5. AllenNLP 2.10.1's `_ElmoBiLm` (importable from
DIR, outside this repository) loads them; every activation layer of every sentence (one batch,
fresh LSTM state, sentence boundaries removed) is compared with `embed elmo embed --layer K`.
Prints the largest absolute difference per layer and exits 1 above --tolerance.
"""
import argparse
import json
import subprocess
import sys

DEFAULT_SENTENCES = [
    "the cat sat on the mat .",
    "anarchism is a political philosophy",
    "unseenwordwithoutavocabularyentry and Überraschung 🙂",
]


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--allennlp", required=True)
    p.add_argument("--embed", required=True)
    p.add_argument("--model", required=True)
    p.add_argument("--sentences")
    p.add_argument("--tolerance", type=float, default=1e-4)
    args = p.parse_args()

    sys.path.insert(0, args.allennlp)
    import torch
    from allennlp.data.token_indexers.elmo_indexer import ELMoCharacterMapper
    from allennlp.modules.elmo import _ElmoBiLm
    from allennlp.nn.util import remove_sentence_boundaries

    if args.sentences:
        with open(args.sentences, encoding="utf-8") as f:
            lines = [line.strip() for line in f if line.split()]
    else:
        lines = DEFAULT_SENTENCES
    sentences = [line.split() for line in lines]
    options = f"{args.model}/options.json"
    weights = f"{args.model}/weights.hdf5"

    # AllenNLP's batch_to_ids, without its Token/Vocabulary machinery.
    mapper = ELMoCharacterMapper()
    longest = max(len(s) for s in sentences)
    ids = torch.zeros(len(sentences), longest, 50, dtype=torch.long)
    for b, sentence in enumerate(sentences):
        for t, word in enumerate(sentence):
            ids[b, t] = torch.tensor(mapper.convert_word_to_char_ids(word))

    torch.set_num_threads(1)
    bilm = _ElmoBiLm(options, weights).eval()
    with torch.no_grad():
        out = bilm(ids)
    layers = []
    for activation in out["activations"]:
        inner, mask = remove_sentence_boundaries(activation, out["mask"])
        layers.append((inner, mask))

    worst_all = 0.0
    text = "".join(line + "\n" for line in lines).encode("utf-8")
    for k, (inner, mask) in enumerate(layers):
        result = subprocess.run(
            [args.embed, "elmo", "embed", "--options", options, "--weights", weights,
             "--layer", str(k)],
            input=text, capture_output=True, check=True,
        )
        ours = [json.loads(line) for line in result.stdout.decode().splitlines()]
        worst = 0.0
        for b, sentence in enumerate(sentences):
            theirs = inner[b, : len(sentence)]
            mine = torch.tensor(ours[b], dtype=theirs.dtype)
            worst = max(worst, (theirs - mine).abs().max().item())
        worst_all = max(worst_all, worst)
        print(f"layer {k}: {len(sentences)} sentences, max |AllenNLP - embed| = {worst:.3g}")
    if worst_all > args.tolerance:
        print(f"FAIL: above tolerance {args.tolerance}")
        sys.exit(1)
    print(f"OK: AllenNLP loads {args.model} and agrees within {args.tolerance}")


if __name__ == "__main__":
    main()
