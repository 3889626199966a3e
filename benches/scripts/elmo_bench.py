#!/usr/bin/env python3
"""Forward throughput of AllenNLP's ELMo biLM (`_ElmoBiLm`) on PyTorch CPU.

The counterpart of `cargo run --release -p embed-elmo --example elmo_bench -- throughput ...`:
same options.json + weights.hdf5, same sentence file (one whitespace-tokenized sentence per
line), same batch size, character ids made inside the timed loop as embed-elmo does.

    python elmo_bench.py --allennlp DIR --options F --weights F --sentences F \
        [--batch 32] [--rounds 5] [--threads 2]

DIR is a directory from which `allennlp.modules.elmo` imports (AllenNLP 2.10.1's ELMo
modules); it is not part of this repository. The LSTM state AllenNLP carries between calls
is reset before every batch so each batch starts from zero state, as embed-elmo does.
"""
import argparse
import statistics
import sys
import time


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--allennlp", required=True)
    p.add_argument("--options", required=True)
    p.add_argument("--weights", required=True)
    p.add_argument("--sentences", required=True)
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--threads", type=int, default=2)
    args = p.parse_args()

    sys.path.insert(0, args.allennlp)
    import torch
    from allennlp.data.token_indexers.elmo_indexer import ELMoCharacterMapper
    from allennlp.modules.elmo import _ElmoBiLm

    torch.set_num_threads(args.threads)
    model = _ElmoBiLm(args.options, args.weights).eval()
    with open(args.sentences, encoding="utf-8") as f:
        sentences = [line.split() for line in f if line.split()]
    tokens = sum(len(s) for s in sentences)
    mapper = ELMoCharacterMapper()

    def char_ids(batch):
        longest = max(len(s) for s in batch)
        ids = torch.zeros(len(batch), longest, 50, dtype=torch.long)
        for b, sentence in enumerate(batch):
            for t, word in enumerate(sentence):
                ids[b, t] = torch.tensor(mapper.convert_word_to_char_ids(word))
        return ids

    def one_round():
        start = time.perf_counter()
        for i in range(0, len(sentences), args.batch):
            model._elmo_lstm.reset_states()
            model(char_ids(sentences[i : i + args.batch]))
        return time.perf_counter() - start

    with torch.no_grad():
        one_round()  # warm-up
        seconds = sorted(one_round() for _ in range(args.rounds))
    median = statistics.median(seconds)
    print(
        f"allennlp _ElmoBiLm: {len(sentences)} sentences, {tokens} tokens, batch {args.batch}, "
        f"{args.threads} threads: median {median:.3f} s, {tokens / median:.0f} tokens/s"
    )


if __name__ == "__main__":
    main()
