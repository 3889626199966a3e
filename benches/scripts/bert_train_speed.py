#!/usr/bin/env python3
"""Masked-LM training speed: embed-bert against PyTorch `BertForMaskedLM` on CPU.

Both train the same small BERT (hidden 128, 2 layers, 2 heads, intermediate
512, vocabulary 30522, dropout 0.1) on random batches with 15% of positions
predicted, one step = forward + backward + AdamW (lr 1e-4, weight decay 0.01
on all but biases and LayerNorm). Rounds alternate between the two, back to
back, at each thread count; each prints the median seconds per step over
STEPS steps after 2 warm-up steps, and training tokens per second.

Usage (from the repository root):
    cargo build --release -p embed-bert --example bert_train_speed
    VENV/bin/python benches/scripts/bert_train_speed.py \
        --rust-bin "$CARGO_TARGET_DIR/release/examples/bert_train_speed" \
        --batch 16 --seq-len 128 --steps 10 --rounds 3 --threads 1 2

Needs torch and transformers in the Python environment.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time


def torch_round(threads, batch, seq_len, steps, predicted_only=False):
    """One PyTorch measurement in a fresh process (thread settings stick).

    With `predicted_only`, the MLM head runs on the predicted positions only
    (as embed-bert does) instead of every position (stock `BertForMaskedLM`).
    """
    code = f"""
import json, time, statistics, torch
from transformers import BertConfig, BertForMaskedLM
torch.set_num_threads({threads})
torch.manual_seed(1)
config = BertConfig(vocab_size=30522, hidden_size=128, num_hidden_layers=2,
                    num_attention_heads=2, intermediate_size=512,
                    max_position_embeddings=512, hidden_dropout_prob=0.1,
                    attention_probs_dropout_prob=0.1)
model = BertForMaskedLM(config)
model.train()
no_decay = [p for n, p in model.named_parameters() if n.endswith('bias') or 'LayerNorm' in n]
decay = [p for n, p in model.named_parameters() if not (n.endswith('bias') or 'LayerNorm' in n)]
opt = torch.optim.AdamW([{{'params': decay, 'weight_decay': 0.01}},
                         {{'params': no_decay, 'weight_decay': 0.0}}], lr=1e-4)
g = torch.Generator().manual_seed(0)
batches = []
for _ in range(4):
    ids = torch.randint(1000, 30522, ({batch}, {seq_len}), generator=g)
    chosen = torch.rand(({batch}, {seq_len}), generator=g) < 0.15
    labels = torch.where(chosen, ids, torch.full_like(ids, -100))
    batches.append((ids, labels))
times = []
for step in range({steps} + 2):
    if step == 2:
        cpu_start = time.process_time()
    ids, labels = batches[step % 4]
    start = time.perf_counter()
    opt.zero_grad(set_to_none=True)
    if {predicted_only}:
        hidden = model.bert(input_ids=ids, attention_mask=torch.ones_like(ids)).last_hidden_state
        keep = labels != -100
        scores = model.cls(hidden[keep])
        loss = torch.nn.functional.cross_entropy(scores, labels[keep])
    else:
        loss = model(input_ids=ids, attention_mask=torch.ones_like(ids), labels=labels).loss
    loss.backward()
    opt.step()
    if step >= 2:
        times.append(time.perf_counter() - start)
cpu_per_step = (time.process_time() - cpu_start) / {steps}
median = statistics.median(times)
print(json.dumps({{"median_step_s": median, "tokens_per_s": {batch} * {seq_len} / median,
                  "cpu_s_per_step": cpu_per_step,
                  "tokens_per_cpu_s": {batch} * {seq_len} / cpu_per_step,
                  "last_loss": loss.item()}}))
"""
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def rust_round(binary, threads, batch, seq_len, steps):
    out = subprocess.run([binary, str(threads), str(batch), str(seq_len), str(steps)],
                         check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rust-bin", required=True)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--seq-len", type=int, default=128)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    args = parser.parse_args()

    print(f"load average before: {os.getloadavg()}")
    for threads in args.threads:
        ours, theirs, theirs_predicted = [], [], []
        for _ in range(args.rounds):
            ours.append(rust_round(args.rust_bin, threads, args.batch, args.seq_len, args.steps))
            theirs.append(torch_round(threads, args.batch, args.seq_len, args.steps))
            theirs_predicted.append(
                torch_round(threads, args.batch, args.seq_len, args.steps, predicted_only=True))
        r = statistics.median(x["tokens_per_s"] for x in ours)
        t = statistics.median(x["tokens_per_s"] for x in theirs)
        tp = statistics.median(x["tokens_per_s"] for x in theirs_predicted)
        print(f"threads {threads}, batch {args.batch} x {args.seq_len}: "
              f"embed-bert {r:,.0f} tok/s; PyTorch BertForMaskedLM {t:,.0f} tok/s (ratio {r / t:.2f}); "
              f"PyTorch with the head on predicted positions only {tp:,.0f} tok/s (ratio {r / tp:.2f})")
        rc = statistics.median(x["tokens_per_cpu_s"] for x in ours)
        tc = statistics.median(x["tokens_per_cpu_s"] for x in theirs)
        tpc = statistics.median(x["tokens_per_cpu_s"] for x in theirs_predicted)
        print(f"  per CPU second (all threads): embed-bert {rc:,.0f}; PyTorch {tc:,.0f} "
              f"(ratio {rc / tc:.2f}); PyTorch predicted-only {tpc:,.0f} (ratio {rc / tpc:.2f})")
        print(f"  per round: ours {[round(x['tokens_per_s']) for x in ours]}, "
              f"torch {[round(x['tokens_per_s']) for x in theirs]}, "
              f"torch predicted-only {[round(x['tokens_per_s']) for x in theirs_predicted]}")
    print(f"load average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
