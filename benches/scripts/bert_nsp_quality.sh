#!/bin/sh
# Pre-training with next-sentence prediction on wiki1m: a small BERT (hidden
# 128, 2 layers, 2 heads, intermediate 512, max length 128) trained for a
# fixed number of steps, with held-out masked-LM and NSP figures every
# EVAL_EVERY steps.
#
#   sh benches/scripts/bert_nsp_quality.sh EMBED_BINARY WORK_DIR [STEPS] [THREADS]
#
# wiki1m.txt is one line of text8-style words (no punctuation, no article
# breaks), so documents are formed here: consecutive runs of WORDS_PER_LINE
# words become the sentences (lines), and every LINES_PER_DOC lines a blank
# line ends a document, so a document is a contiguous stretch of the
# article text. Every 50th document (2%, spread over the whole corpus, so
# that a held-out pair's random segment usually comes from another article,
# as in training) is held out; the vocabulary is trained on the rest only.
set -eu
EMBED=$1
WORK=$2
STEPS=${3:-3000}
THREADS=${4:-2}
EVAL_EVERY=${EVAL_EVERY:-250}
WORDS_PER_LINE=${WORDS_PER_LINE:-24}
LINES_PER_DOC=${LINES_PER_DOC:-10}
SHARED=${EMBED_SHARED_DIR:-$(dirname "$0")/../../../shared}
CORPUS=$SHARED/data/corpus/wiki1m.txt
mkdir -p "$WORK"
python3 - "$CORPUS" "$WORK" "$WORDS_PER_LINE" "$LINES_PER_DOC" <<'PY'
import sys
words = open(sys.argv[1], encoding='utf-8').read().split()
per_line, per_doc = int(sys.argv[3]), int(sys.argv[4])
lines = [' '.join(words[i:i + per_line]) for i in range(0, len(words), per_line)]
docs = ['\n'.join(lines[i:i + per_doc]) + '\n' for i in range(0, len(lines), per_doc)]
train = [d for i, d in enumerate(docs) if i % 50 != 49]
held = [d for i, d in enumerate(docs) if i % 50 == 49]
open(sys.argv[2] + '/train.txt', 'w').write('\n'.join(train))
open(sys.argv[2] + '/eval.txt', 'w').write('\n'.join(held))
print(f'{len(words)} words, {len(lines)} lines, {len(train)} training and {len(held)} held-out documents', file=sys.stderr)
PY
"$EMBED" bert train-vocab --corpus "$WORK/train.txt" --size 8000 --output "$WORK/vocab.txt" --lowercase
rm -rf "$WORK/model"
"$EMBED" bert pretrain --nsp --corpus "$WORK/train.txt" --eval-corpus "$WORK/eval.txt" \
  --vocab "$WORK/vocab.txt" --output "$WORK/model" \
  --hidden 128 --layers 2 --heads 2 --intermediate 512 --max-length 128 \
  --batch-size 32 --lr 1e-3 --warmup $((STEPS / 10)) --steps "$STEPS" \
  --weight-decay 0.01 --clip 1.0 --mask-prob 0.15 --seed 1 --threads "$THREADS" \
  --eval-every "$EVAL_EVERY" 2>&1 | tee "$WORK/pretrain.log"
