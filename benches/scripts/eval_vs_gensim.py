"""Times a full analogy evaluation: gensim's evaluate_word_analogies against
embed-eval's evaluate_analogies on the same vectors, back to back, and checks
that both count the same correct answers.

Usage:
  cargo build --release -p embed-eval --example evaluate
  python benches/scripts/eval_vs_gensim.py VECTORS QUESTIONS EVALUATE_BIN [--repeat 3]

VECTORS is a word2vec text or binary file, QUESTIONS questions-words.txt,
EVALUATE_BIN the built example (target/release/examples/evaluate). Only the
evaluation is timed (not loading); the best of --repeat runs is reported, as
wall-clock time and as CPU time summed over threads (for embed-eval: the
child's CPU time minus that of a run that only loads the vectors).
"""

import argparse
import json
import logging
import resource
import subprocess
import time

from gensim.models import KeyedVectors


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("vectors")
    parser.add_argument("questions")
    parser.add_argument("evaluate_bin")
    parser.add_argument("--restrict-vocab", type=int, default=30000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)

    binary = not args.vectors.endswith(".txt")
    kv = KeyedVectors.load_word2vec_format(args.vectors, binary=binary)
    kv.fill_norms()
    gensim_times, gensim_cpu = [], []
    for _ in range(args.repeat):
        start, start_cpu = time.perf_counter(), time.process_time()
        score, sections = kv.evaluate_word_analogies(
            args.questions, restrict_vocab=args.restrict_vocab, case_insensitive=True
        )
        gensim_times.append(time.perf_counter() - start)
        gensim_cpu.append(time.process_time() - start_cpu)
    total = sections[-1]
    gensim_correct = len(total["correct"])
    gensim_evaluated = gensim_correct + len(total["incorrect"])

    def child_cpu(command):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        out = subprocess.run(command, check=True, capture_output=True, text=True).stdout
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        return out, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)

    embed_times, embed_cpu = [], []
    for _ in range(args.repeat):
        _, load_cpu = child_cpu([args.evaluate_bin, args.vectors])
        out, cpu = child_cpu(
            [args.evaluate_bin, args.vectors, "--analogies", args.questions,
             "--restrict-vocab", str(args.restrict_vocab)]
        )
        result = json.loads(out.splitlines()[0])
        embed_times.append(result["seconds"])
        embed_cpu.append(max(cpu - load_cpu, 0.0))
    report = result["analogy"]["total"]

    print(f"vectors: {kv.vectors.shape[0]} x {kv.vectors.shape[1]}, restrict_vocab {args.restrict_vocab}")
    print(f"{'':11}  {'wall s':>8}  {'cpu s':>8}  correct/evaluated")
    print(f"gensim     : {min(gensim_times):8.3f}  {min(gensim_cpu):8.3f}  {gensim_correct}/{gensim_evaluated}")
    print(f"embed-eval : {min(embed_times):8.3f}  {min(embed_cpu):8.3f}  "
          f"{report['correct']}/{report['correct'] + report['incorrect']}")
    print(f"speed-up   : {min(gensim_times) / min(embed_times):8.1f}x wall, "
          f"{min(gensim_cpu) / max(min(embed_cpu), 1e-9):.1f}x cpu")
    if (report["correct"], report["correct"] + report["incorrect"]) != (gensim_correct, gensim_evaluated):
        raise SystemExit("counts differ from gensim")


if __name__ == "__main__":
    main()
