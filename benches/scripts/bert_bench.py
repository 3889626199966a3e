#!/usr/bin/env python3
"""Side-by-side speed of embed-bert and PyTorch (transformers) on all-MiniLM-L6-v2.

Both run on the same token ids, back to back, in alternating rounds:
forward + mean pooling + L2 normalisation for batch 32 x 40 tokens,
8 x 128 tokens and 1 x 12 tokens, at 1 and 2 threads; then tokenisation
alone (embed-bert vs the `tokenizers` backend) on the same texts. Each
workload is timed after a warm-up of at least two calls and 0.2 s, on
both sides.

Usage (from the repository root):
    cargo build --release -p embed-bert --example bert_speed
    VENV/bin/python benches/scripts/bert_bench.py \
        --model ../shared/models/all-MiniLM-L6-v2 \
        --rust-bin "$CARGO_TARGET_DIR/release/examples/bert_speed" \
        --corpus ../shared/data/corpus/wiki1m.txt \
        --texts ../shared/data/classify/cooking.stackexchange.txt

Needs torch, transformers, tokenizers and numpy in the Python environment.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

SHAPES = [("32x40", 32, 40), ("8x128", 8, 128), ("1x12", 1, 12)]


def make_inputs(tok, corpus, texts_path, n_texts):
    """Consecutive corpus windows cut to exactly T word pieces ([CLS]/[SEP] included)."""
    # The corpus may be one long line: cut its first words into 200-word chunks.
    with open(corpus, encoding="utf-8") as f:
        words = f.read(2_000_000).split()[:64 * 200]
    lines = [" ".join(words[i:i + 200]) for i in range(0, len(words), 200)]
    batches = {}
    for name, b, t in SHAPES:
        rows = []
        for i in range(b):
            ids = tok.encode(lines[i % len(lines)], add_special_tokens=False).ids
            offset = (i * 7) % 20
            rows.append([101] + ids[offset:offset + t - 2] + [102])
        assert all(len(r) == t for r in rows)
        batches[name] = rows
    texts = []
    with open(texts_path, encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if line:
                texts.append(line)
            if len(texts) >= n_texts:
                break
    return {"batches": batches, "texts": texts}


WARMUP_S = 0.2


def median_ms(fn, reps):
    """Median of `reps` timed calls after a warm-up of at least two calls and
    WARMUP_S seconds (the same rule as the Rust side's)."""
    start = time.perf_counter()
    calls = 0
    while calls < 2 or time.perf_counter() - start < WARMUP_S:
        fn()
        calls += 1
    times = []
    for _ in range(reps):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1e3)
    return statistics.median(times)


def torch_round(model, tok_fast, inputs, threads, reps, torch):
    torch.set_num_threads(threads)
    out = {}
    for name, rows in inputs["batches"].items():
        ids = torch.tensor(rows)
        mask = torch.ones_like(ids)

        def run():
            with torch.no_grad():
                h = model(input_ids=ids, attention_mask=mask).last_hidden_state
                m = mask.unsqueeze(-1).to(h.dtype)
                pooled = (h * m).sum(1) / m.sum(1).clamp(min=1e-9)
                torch.nn.functional.normalize(pooled, p=2, dim=1)

        out[name] = median_ms(run, reps)
    texts = inputs["texts"]
    os.environ["RAYON_RS_NUM_THREADS"] = str(threads)
    out["tokenize"] = median_ms(lambda: tok_fast.encode_batch(texts), reps)
    return out


def gemm_peak(torch, threads, n=2048):
    torch.set_num_threads(threads)
    a = torch.randn(n, n)
    b = torch.randn(n, n)
    ms = median_ms(lambda: torch.mm(a, b), 5)
    return 2 * n ** 3 / (ms * 1e-3) / 1e9


def flops(b, t, layers=6, h=384, inter=1536):
    per_token = 2 * (3 * h * h + h * h + 2 * h * inter)
    attention = 2 * 2 * t * h
    return layers * b * t * (per_token + attention)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--model", required=True)
    p.add_argument("--rust-bin", required=True)
    p.add_argument("--corpus", required=True)
    p.add_argument("--texts", required=True)
    p.add_argument("--n-texts", type=int, default=2000)
    p.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    p.add_argument("--reps", type=int, default=5)
    p.add_argument("--rounds", type=int, default=3)
    args = p.parse_args()

    import torch
    from tokenizers import Tokenizer
    from transformers import BertModel

    tok = Tokenizer.from_file(os.path.join(args.model, "tokenizer.json"))
    tok.no_truncation()
    tok.no_padding()
    inputs = make_inputs(tok, args.corpus, args.texts, args.n_texts)
    n_tok = sum(len(e.ids) for e in tok.encode_batch(inputs["texts"]))
    model = BertModel.from_pretrained(args.model).eval()
    fd, path = tempfile.mkstemp(suffix=".json")
    with os.fdopen(fd, "w") as f:
        json.dump(inputs, f)

    print(f"torch {torch.__version__}, {torch.get_num_threads()} default threads; "
          f"{len(inputs['texts'])} texts, {n_tok} tokens for tokenisation", file=sys.stderr)
    results = {}
    for threads in args.threads:
        for r in range(args.rounds):
            t = torch_round(model, tok, inputs, threads, args.reps, torch)
            env = dict(os.environ, RAYON_NUM_THREADS=str(threads))
            rust = json.loads(subprocess.check_output(
                [args.rust_bin, args.model, path, str(threads), str(args.reps)], env=env))
            if rust["tokenize_tokens"] != n_tok:
                sys.exit(f"token counts differ: {rust['tokenize_tokens']} vs {n_tok}")
            for key in list(t.keys()):
                results.setdefault((threads, key), []).append((t[key], rust[key]))
            print(f"threads={threads} round {r}: torch {t} rust "
                  f"{ {k: v for k, v in rust.items() if k != 'tokenize_tokens'} }", file=sys.stderr)
        results[(threads, "peak")] = gemm_peak(torch, threads)
    os.unlink(path)

    print("| threads | workload | PyTorch ms | embed-bert ms | speed-up | PyTorch tok/s | embed-bert tok/s "
          "| embed-bert sent/s | embed-bert GFLOP/s | PyTorch GFLOP/s | sgemm peak GFLOP/s |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for threads in args.threads:
        peak = results[(threads, "peak")]
        for name, b, t in SHAPES + [("tokenize", len(inputs["texts"]), None)]:
            pairs = results[(threads, name)]
            pt = statistics.median(x for x, _ in pairs)
            rs = statistics.median(y for _, y in pairs)
            tokens = n_tok if t is None else b * t
            row = [str(threads), name if t else f"tokenize {b} texts", f"{pt:.2f}", f"{rs:.2f}",
                   f"{pt / rs:.2f}x", f"{tokens / pt * 1e3:,.0f}", f"{tokens / rs * 1e3:,.0f}",
                   f"{b / rs * 1e3:,.0f}"]
            if t is None:
                row += ["", "", ""]
            else:
                f = flops(b, t)
                row += [f"{f / rs * 1e-6:.0f}", f"{f / pt * 1e-6:.0f}", f"{peak:.0f}"]
            print("| " + " | ".join(row) + " |")


if __name__ == "__main__":
    main()
