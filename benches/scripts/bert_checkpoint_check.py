"""Checks that transformers loads a checkpoint written by `embed bert pretrain`
and computes the same masked-LM logits as `embed bert fill-mask --logits`.

    python bert_checkpoint_check.py EMBED_BINARY CHECKPOINT_DIR [TEXT ...]

Loads the directory with `BertForMaskedLM.from_pretrained` and
`BertTokenizer.from_pretrained`, reports missing or unexpected weights, and
for each text compares token ids and every position's logits (float32, eval
mode, CPU). Prints one JSON object; exits 1 when a check fails.
"""

import json
import subprocess
import sys

import torch
from transformers import BertForMaskedLM, BertTokenizer

TOLERANCE = 1e-3  # absolute, on logits of order 1-10


def ours(embed, model_dir, args, text, stdin=None):
    out = subprocess.run(
        [embed, "bert", *args, "--model", model_dir] + ([text] if text is not None else []),
        input=stdin,
        capture_output=True,
        text=True,
        check=True,
    )
    return out.stdout


def main():
    embed, model_dir = sys.argv[1], sys.argv[2]
    texts = sys.argv[3:] or [
        "the history of the city begins in the [MASK] century",
        "anarchism is a political [MASK] that advocates stateless societies",
    ]
    torch.set_num_threads(2)
    model, info = BertForMaskedLM.from_pretrained(
        model_dir, output_loading_info=True, attn_implementation="eager"
    )
    model.eval()
    tokenizer = BertTokenizer.from_pretrained(model_dir)
    report = {
        "checkpoint": model_dir,
        "missing_keys": sorted(info["missing_keys"]),
        "unexpected_keys": sorted(info["unexpected_keys"]),
        "texts": [],
    }
    ok = not info["missing_keys"] and not info["unexpected_keys"]
    for text in texts:
        ids = tokenizer(text, return_tensors="pt")
        our_ids = [int(t) for t in ours(embed, model_dir, ["tokenize"], None, text + "\n").split()]
        with torch.no_grad():
            logits = model(**ids).logits[0]
        our_logits = torch.tensor(json.loads(ours(embed, model_dir, ["fill-mask", "--logits"], text)))
        same_ids = our_ids == ids["input_ids"][0].tolist()
        diff = (logits - our_logits).abs().max().item() if same_ids else float("inf")
        same_argmax = bool((logits.argmax(-1) == our_logits.argmax(-1)).all()) if same_ids else False
        report["texts"].append(
            {
                "text": text,
                "tokens": len(our_ids),
                "same_ids": same_ids,
                "max_abs_logit_diff": diff,
                "logit_scale": logits.abs().max().item(),
                "same_argmax": same_argmax,
            }
        )
        ok = ok and same_ids and diff <= TOLERANCE and same_argmax
    report["ok"] = ok
    print(json.dumps(report, indent=2))
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
