"""Writes the next-sentence-prediction golden that embed-bert's tests check
against: a tiny random `BertForPreTraining` (vocabulary 100, hidden 16,
2 layers, 2 heads, intermediate 32), one batch with masked-LM and
next-sentence labels, and PyTorch's losses, logits and every gradient.

    /work/venv-torch/bin/python benches/scripts/bert_nsp_golden.py \
        crates/embed-bert/tests/data/bert-pretraining-tiny

Writes into OUT_DIR: `config.json` and `model.safetensors`
(`save_pretrained`), `vocab.txt`, and `golden.json` with the inputs
(`input_ids`, `token_type_ids`, `attention_mask`, `labels`,
`next_sentence_label`), the total loss `BertForPreTraining` returns, its
masked-LM and next-sentence parts, `prediction_logits`,
`seq_relationship_logits`, and the gradient of the total loss for every
parameter under its checkpoint name. Float32, eager attention, dropout 0
(so the pass is deterministic), CPU, seed 0.
"""

import json
import os
import sys

import torch
from transformers import BertConfig, BertForPreTraining

SPECIAL = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]


def rounded(tensor):
    """Nested lists of float32 values with 9 significant digits (exact for f32)."""
    return json.loads(json.dumps(tensor.detach().double().tolist()), parse_float=lambda s: float(f"{float(s):.9g}"))


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    torch.manual_seed(0)
    torch.set_num_threads(1)
    vocab = SPECIAL + [f"w{i}" for i in range(95)]
    config = BertConfig(
        vocab_size=len(vocab),
        hidden_size=16,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=32,
        max_position_embeddings=24,
        type_vocab_size=2,
        hidden_act="gelu",
        hidden_dropout_prob=0.0,
        attention_probs_dropout_prob=0.0,
        initializer_range=0.2,
        pad_token_id=0,
        attn_implementation="eager",
    )
    model = BertForPreTraining(config)
    # Biases and LayerNorm parameters away from 0 and 1, so that every
    # path of the backward pass carries signal.
    with torch.no_grad():
        for _, p in model.named_parameters():
            if p.dim() == 1:
                p.add_(torch.empty_like(p).uniform_(-0.3, 0.3))
    model.eval()

    # Four pairs [CLS] A [SEP] B [SEP] of length 10, two padded; the third
    # has no next-sentence label (-100 is ignored, as in PyTorch).
    input_ids = torch.tensor(
        [
            [2, 17, 4, 31, 3, 52, 60, 4, 9, 3],
            [2, 40, 41, 3, 88, 4, 3, 0, 0, 0],
            [2, 5, 6, 7, 3, 99, 98, 4, 3, 0],
            [2, 4, 70, 3, 71, 72, 73, 74, 4, 3],
        ]
    )
    token_type_ids = torch.tensor(
        [
            [0, 0, 0, 0, 0, 1, 1, 1, 1, 1],
            [0, 0, 0, 0, 1, 1, 1, 0, 0, 0],
            [0, 0, 0, 0, 0, 1, 1, 1, 1, 0],
            [0, 0, 0, 0, 1, 1, 1, 1, 1, 1],
        ]
    )
    attention_mask = (input_ids != 0).long()
    labels = torch.full_like(input_ids, -100)
    for row, col, original in [(0, 2, 23), (0, 7, 61), (0, 8, 9), (1, 5, 89), (2, 7, 97), (3, 1, 69), (3, 8, 75)]:
        labels[row, col] = original
    next_sentence_label = torch.tensor([0, 1, -100, 1])

    outputs = model(
        input_ids=input_ids,
        token_type_ids=token_type_ids,
        attention_mask=attention_mask,
        labels=labels,
        next_sentence_label=next_sentence_label,
    )
    outputs.loss.backward()
    ce = torch.nn.CrossEntropyLoss()
    mlm_loss = ce(outputs.prediction_logits.view(-1, config.vocab_size), labels.view(-1))
    nsp_loss = ce(outputs.seq_relationship_logits.view(-1, 2), next_sentence_label.view(-1))
    assert abs((mlm_loss + nsp_loss).item() - outputs.loss.item()) < 1e-6

    gradients = {}
    for name, p in model.named_parameters():
        # The decoder's bias is tied to `cls.predictions.bias`, the name in the file.
        name = "cls.predictions.bias" if name == "cls.predictions.decoder.bias" else name
        gradients[name] = rounded(p.grad.flatten())

    model.save_pretrained(out, safe_serialization=True)
    with open(os.path.join(out, "vocab.txt"), "w") as f:
        f.write("".join(token + "\n" for token in vocab))
    golden = {
        "made_by": "benches/scripts/bert_nsp_golden.py",
        "input_ids": input_ids.tolist(),
        "token_type_ids": token_type_ids.tolist(),
        "attention_mask": attention_mask.tolist(),
        "labels": labels.tolist(),
        "next_sentence_label": next_sentence_label.tolist(),
        "loss": outputs.loss.item(),
        "mlm_loss": mlm_loss.item(),
        "nsp_loss": nsp_loss.item(),
        "prediction_logits": rounded(outputs.prediction_logits),
        "seq_relationship_logits": rounded(outputs.seq_relationship_logits),
        "gradients": gradients,
    }
    with open(os.path.join(out, "golden.json"), "w") as f:
        json.dump(golden, f, separators=(",", ":"))
        f.write("\n")
    print(
        f"loss {outputs.loss.item():.6f} (mlm {mlm_loss.item():.6f}, nsp {nsp_loss.item():.6f}), "
        f"{len(gradients)} gradients, written to {out}"
    )


if __name__ == "__main__":
    main()
