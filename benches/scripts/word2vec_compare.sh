#!/bin/sh
# Side-by-side word2vec benchmark: embed-word2vec, word2vec C and gensim, run back to back on
# the same corpus with the same settings (dim 100, window 5, negative 5, sample 1e-3,
# min-count 5, default learning rates), then scored by one evaluator (gensim's, as in
# shared/data/README.md).
#
# Usage: sh benches/scripts/word2vec_compare.sh WORD2VEC_C_BINARY CORPUS OUTDIR [MODES] [EPOCHS] [THREADS]
#   WORD2VEC_C_BINARY  word2vec C built elsewhere, e.g. gcc word2vec.c -O3 -march=native -funroll-loops -pthread -lm
#   MODES              "sg cbow" by default; EPOCHS 1; THREADS 2
#   With EPOCHS > 1 and THREADS > 1, word2vec C as distributed lets a thread that reaches the
#   end of the file skip every later epoch (its `eof` flag is never cleared); see
#   docs/bench/word2vec.md, "word2vec C's 5-epoch figures".
# Environment:
#   EMBED_W2V   our trainer (word2vec C's options); default: built here with
#               cargo build --release -p embed-word2vec --example train_word2vec
#   PYTHON      a python with gensim 4.4; default: a venv made in OUTDIR/venv with pip
#   EVAL_DIR    questions-words.txt, wordsim353.tsv, simlex999.txt (default shared/data/eval)
#   SKIP        tools to leave out, e.g. "gensim"
#   SEED        seed of our trainer and of gensim (default 1; word2vec C has a fixed seed)
# Output: OUTDIR/results.tsv (wall s, user s, peak RSS, words/s per run) and OUTDIR/scores.tsv.
set -eu
c_bin=$1; corpus=$2; out=$3; modes=${4:-sg cbow}; epochs=${5:-1}; threads=${6:-2}
here=$(cd "$(dirname "$0")" && pwd); repo=$(cd "$here/../.." && pwd)
eval_dir=${EVAL_DIR:-$repo/../shared/data/eval}
skip=${SKIP:-}
seed=${SEED:-1}; export SEED=$seed
mkdir -p "$out"
if [ -z "${EMBED_W2V:-}" ]; then
  (cd "$repo" && cargo build --release -q -p embed-word2vec --example train_word2vec)
  EMBED_W2V=${CARGO_TARGET_DIR:-$repo/target}/release/examples/train_word2vec
fi
if [ -z "${PYTHON:-}" ]; then
  if [ ! -x "$out/venv/bin/python" ]; then
    python3 -m venv "$out/venv" && "$out/venv/bin/pip" install -q "gensim==4.4.*"
  fi
  PYTHON=$out/venv/bin/python
fi
words=$(wc -w < "$corpus")
echo "corpus $corpus: $words words; modes $modes; epochs $epochs; threads $threads" | tee "$out/setup.txt"
uptime >> "$out/setup.txt"
printf 'tool\tmode\tepochs\tthreads\twall_s\tuser_s\tpeak_rss_mib\twords_per_s\n' > "$out/results.tsv"
run() { # tool mode vectors-file command...
  tool=$1; mode=$2; vec=$3; shift 3
  case " $skip " in *" $tool "*) return 0 ;; esac
  /usr/bin/time -f "%e %U %M" -o "$out/time.tmp" "$@" > "$out/$tool-$mode.log" 2>&1
  read -r wall user rss < "$out/time.tmp"
  awk -v t="$tool" -v m="$mode" -v e="$epochs" -v th="$threads" -v w="$wall" -v u="$user" \
      -v r="$rss" -v n="$words" 'BEGIN { printf "%s\t%s\t%s\t%s\t%.1f\t%.1f\t%.0f\t%.0f\n",
      t, m, e, th, w, u, r / 1024, n * e / w }' | tee -a "$out/results.tsv"
  vectors="$vectors $vec"
}
vectors=""
for mode in $modes; do
  if [ "$mode" = sg ]; then cbow=0; else cbow=1; fi
  run embed "$mode" "$out/embed-$mode.bin" "$EMBED_W2V" -train "$corpus" -output "$out/embed-$mode.bin" \
    -cbow $cbow -size 100 -window 5 -negative 5 -hs 0 -sample 1e-3 -min-count 5 -iter "$epochs" \
    -threads "$threads" -binary 1 -seed "$seed"
  run word2vec-c "$mode" "$out/word2vec-c-$mode.bin" "$c_bin" -train "$corpus" -output "$out/word2vec-c-$mode.bin" \
    -cbow $cbow -size 100 -window 5 -negative 5 -hs 0 -sample 1e-3 -min-count 5 -iter "$epochs" \
    -threads "$threads" -binary 1 -debug 0
  run gensim "$mode" "$out/gensim-$mode.bin" "$PYTHON" "$here/word2vec_gensim.py" "$corpus" \
    "$out/gensim-$mode.bin" "$mode" "$epochs" "$threads"
done
# shellcheck disable=SC2086
"$PYTHON" "$here/word2vec_eval.py" "$eval_dir" $vectors | tee "$out/scores.tsv"
