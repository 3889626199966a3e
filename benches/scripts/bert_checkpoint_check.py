"""Checks that transformers loads a checkpoint written by `embed bert pretrain`
and computes the same masked-LM logits as `embed bert fill-mask --logits`
(and, for a `--nsp` checkpoint, the same next-sentence logits as
`embed bert fill-mask --next-sentence`).

    python bert_checkpoint_check.py EMBED_BINARY CHECKPOINT_DIR [TEXT ...]

Loads the directory with `BertForMaskedLM.from_pretrained` (or
`BertForPreTraining.from_pretrained` when config.json names that
architecture) and `BertTokenizer.from_pretrained`, reports missing or
unexpected weights, and for each text compares token ids and every
position's logits (float32, eval mode, CPU). With the next-sentence head,
each pair of consecutive texts is also run as `[CLS] A [SEP] B [SEP]` and
both `prediction_logits` and `seq_relationship_logits` are compared. Prints
one JSON object; exits 1 when a check fails.
"""

import json
import subprocess
import sys

import torch
from transformers import BertForMaskedLM, BertForPreTraining, BertTokenizer

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
    with open(f"{model_dir}/config.json") as f:
        pretraining = "BertForPreTraining" in json.load(f).get("architectures", [])
    model_class = BertForPreTraining if pretraining else BertForMaskedLM
    model, info = model_class.from_pretrained(
        model_dir, output_loading_info=True, attn_implementation="eager"
    )
    model.eval()
    tokenizer = BertTokenizer.from_pretrained(model_dir)
    report = {
        "checkpoint": model_dir,
        "architecture": model_class.__name__,
        "missing_keys": sorted(info["missing_keys"]),
        "unexpected_keys": sorted(info["unexpected_keys"]),
        "texts": [],
    }
    ok = not info["missing_keys"] and not info["unexpected_keys"]
    for text in texts:
        ids = tokenizer(text, return_tensors="pt")
        our_ids = [int(t) for t in ours(embed, model_dir, ["tokenize"], None, text + "\n").split()]
        with torch.no_grad():
            out = model(**ids)
            logits = (out.prediction_logits if pretraining else out.logits)[0]
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
    if pretraining:
        report["pairs"] = []
        for a, b in zip(texts, texts[1:] + texts[:1]):
            ids = tokenizer(a, b, return_tensors="pt")
            with torch.no_grad():
                out = model(**ids)
            pair_args = ["--pair", b]
            our_logits = torch.tensor(json.loads(ours(embed, model_dir, ["fill-mask", "--logits", *pair_args], a)))
            our_next = torch.tensor(json.loads(ours(embed, model_dir, ["fill-mask", "--next-sentence", *pair_args], a)))
            same_shape = our_logits.shape == out.prediction_logits[0].shape
            diff = (out.prediction_logits[0] - our_logits).abs().max().item() if same_shape else float("inf")
            next_diff = (out.seq_relationship_logits[0] - our_next).abs().max().item()
            report["pairs"].append(
                {
                    "a": a,
                    "b": b,
                    "tokens": int(ids["input_ids"].shape[1]),
                    "max_abs_logit_diff": diff,
                    "seq_relationship_logits": out.seq_relationship_logits[0].tolist(),
                    "max_abs_seq_relationship_diff": next_diff,
                }
            )
            ok = ok and diff <= TOLERANCE and next_diff <= TOLERANCE
    report["ok"] = ok
    print(json.dumps(report, indent=2))
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
