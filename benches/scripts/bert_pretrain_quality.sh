#!/bin/sh
# Masked-LM pre-training quality on wiki1m: a small BERT (hidden 128, 2 layers,
# 2 heads, intermediate 512, max length 128) trained for a fixed number of
# steps, with held-out loss and masked accuracy every EVAL_EVERY steps.
#
#   sh benches/scripts/bert_pretrain_quality.sh EMBED_BINARY WORK_DIR [STEPS] [THREADS]
#
# The last 2% of wiki1m (cut at a space) is held out; the vocabulary is
# trained on the other 98% only. The log (stderr of `embed bert pretrain`)
# and the checkpoint land in WORK_DIR.
set -eu
EMBED=$1
WORK=$2
STEPS=${3:-2000}
THREADS=${4:-2}
EVAL_EVERY=${EVAL_EVERY:-100}
SHARED=${EMBED_SHARED_DIR:-$(dirname "$0")/../../../shared}
CORPUS=$SHARED/data/corpus/wiki1m.txt
mkdir -p "$WORK"
python3 - "$CORPUS" "$WORK" <<'PY'
import sys
data = open(sys.argv[1], 'rb').read()
cut = data.index(b' ', int(len(data) * 0.98))
open(sys.argv[2] + '/train.txt', 'wb').write(data[:cut] + b'\n')
open(sys.argv[2] + '/eval.txt', 'wb').write(data[cut + 1:])
PY
"$EMBED" bert train-vocab --corpus "$WORK/train.txt" --size 8000 --output "$WORK/vocab.txt" --lowercase
rm -rf "$WORK/model"
"$EMBED" bert pretrain --corpus "$WORK/train.txt" --eval-corpus "$WORK/eval.txt" \
  --vocab "$WORK/vocab.txt" --output "$WORK/model" \
  --hidden 128 --layers 2 --heads 2 --intermediate 512 --max-length 128 \
  --batch-size 32 --lr 1e-3 --warmup $((STEPS / 10)) --steps "$STEPS" \
  --weight-decay 0.01 --clip 1.0 --mask-prob 0.15 --seed 1 --threads "$THREADS" \
  --eval-every "$EVAL_EVERY" --checkpoint-every 500 2>&1 | tee "$WORK/pretrain.log"
