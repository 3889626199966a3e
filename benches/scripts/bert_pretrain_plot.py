"""Draws the held-out curves of an `embed bert pretrain` run as an SVG.

    python bert_pretrain_plot.py WORK_DIR OUTPUT.svg

Reads WORK_DIR/model/trainer_state.json (the evaluations) and
WORK_DIR/pretrain.log (the ln(vocab) and unigram baselines the command
prints). Plain SVG, no plotting library needed.
"""

import json
import re
import sys


def main():
    work, out = sys.argv[1], sys.argv[2]
    evals = json.load(open(f"{work}/model/trainer_state.json"))["evaluations"]
    log = open(f"{work}/pretrain.log").read()
    m = re.search(r"ln\(vocab\) ([0-9.]+), unigram cross-entropy ([0-9.]+)", log)
    ln_vocab, unigram = float(m.group(1)), float(m.group(2))
    steps = [e["step"] for e in evals]
    losses = [e["loss"] for e in evals]
    accs = [e["accuracy"] for e in evals]
    W, H, pad = 360, 260, 48
    x_max = max(steps)

    def panel(x0, title, ys, y_lo, y_hi, refs, fmt):
        def px(s):
            return x0 + pad + (W - 2 * pad) * s / x_max

        def py(v):
            return H - pad + (2 * pad - H) * (v - y_lo) / (y_hi - y_lo)

        parts = [f'<text x="{x0 + W / 2}" y="20" text-anchor="middle" font-size="14">{title}</text>',
                 f'<line x1="{px(0)}" y1="{py(y_lo)}" x2="{px(x_max)}" y2="{py(y_lo)}" stroke="black"/>',
                 f'<line x1="{px(0)}" y1="{py(y_lo)}" x2="{px(0)}" y2="{py(y_hi)}" stroke="black"/>']
        for k in range(5):
            v = y_lo + (y_hi - y_lo) * k / 4
            parts.append(f'<text x="{px(0) - 4}" y="{py(v) + 4}" text-anchor="end" font-size="10">{fmt(v)}</text>')
            s = x_max * k / 4
            parts.append(f'<text x="{px(s)}" y="{py(y_lo) + 14}" text-anchor="middle" font-size="10">{int(s)}</text>')
        parts.append(f'<text x="{x0 + W / 2}" y="{H - 8}" text-anchor="middle" font-size="11">optimizer step</text>')
        for label, v, colour in refs:
            parts.append(f'<line x1="{px(0)}" y1="{py(v)}" x2="{px(x_max)}" y2="{py(v)}" stroke="{colour}" stroke-dasharray="4 3"/>')
            parts.append(f'<text x="{px(x_max) - 2}" y="{py(v) - 4}" text-anchor="end" font-size="10" fill="{colour}">{label}</text>')
        points = " ".join(f"{px(s):.1f},{py(v):.1f}" for s, v in zip(steps, ys))
        parts.append(f'<polyline points="{points}" fill="none" stroke="#1f77b4" stroke-width="2"/>')
        return parts

    body = panel(0, "held-out MLM loss (nats)", losses, 0.0, max(ln_vocab, max(losses)) + 0.5,
                 [(f"ln(vocab) {ln_vocab:.2f}", ln_vocab, "#d62728"),
                  (f"unigram {unigram:.2f}", unigram, "#2ca02c")], lambda v: f"{v:.1f}")
    body += panel(W, "held-out masked-token accuracy", accs, 0.0, max(0.05, max(accs) * 1.2), [],
                  lambda v: f"{v:.2f}")
    svg = (f'<svg xmlns="http://www.w3.org/2000/svg" width="{2 * W}" height="{H}" '
           f'font-family="sans-serif"><rect width="100%" height="100%" fill="white"/>'
           + "".join(body) + "</svg>\n")
    open(out, "w").write(svg)


if __name__ == "__main__":
    main()
