#!/bin/sh
# Trains the small ELMo (char filters 1..5 wide, 256 in all; 1 highway; LSTM 256 -> 128; 2 layers)
# on wiki1m.txt with the last 2% held out, for a fixed time, and reports held-out perplexity
# against an interpolated Kneser-Ney bigram model on the same vocabulary and split.
#
#   sh benches/scripts/elmo_train_wiki1m.sh EMBED CORPUS OUT_DIR MINUTES [EPOCHS] [--resume]
#
# EMBED: the embed binary (cargo build --release -p embed-cli); CORPUS: shared/data/corpus/wiki1m.txt.
# The held-out curve is OUT_DIR/heldout.jsonl, the bigram figure OUT_DIR/bigram.json. Run it again
# with --resume (and more EPOCHS) to continue from OUT_DIR/checkpoint.
set -eu
embed=$1 corpus=$2 out=$3 minutes=$4 epochs=${5:-1}
shift 4; [ $# -gt 0 ] && shift
"$embed" elmo train --corpus "$corpus" --output "$out" --heldout 0.02 --max-sentence-len 50 \
    --min-count 3 --char-filters 1:32,2:32,3:64,4:64,5:64 --char-dim 16 --highway 1 \
    --projection 128 --lstm-dim 256 --layers 2 --unroll 20 --batch-size 32 --samples 1024 \
    --optimizer adam --lr 0.002 --clip 10 --dropout 0.0 --epochs "$epochs" --seed 1 --threads 2 \
    --eval-every 200 --checkpoint-every 300 --max-minutes "$minutes" --bigram-baseline "$@"
