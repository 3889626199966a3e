#!/bin/sh
# Side-by-side GloVe benchmark: embed-glove's pipeline, then the Stanford
# GloVe pipeline with the same settings (dim 100, window 10, x_max 10,
# min-count 5), then both vector files scored with gensim.
# Usage (from the repository root):
#   sh benches/scripts/glove_bench.sh GLOVE_BUILD_DIR CORPUS OUTDIR [EPOCHS] [THREADS] [MEMORY_MB] [PYTHON]
# GLOVE_BUILD_DIR holds the reference binaries, built outside this repository.
set -eu
ref=$1; corpus=$2; out=$3; epochs=${4:-15}; threads=${5:-2}; memory_mb=${6:-4096}
python=${7:-python3}
here=$(cd "$(dirname "$0")" && pwd)
data=${EMBED_SHARED_DIR:-$here/../../../shared}/data/eval
mkdir -p "$out"
cargo build --release -p embed-glove --example glove_pipeline
bin=${CARGO_TARGET_DIR:-target}/release/examples/glove_pipeline
/usr/bin/time -f "embed-glove total wall_s=%e user_s=%U sys_s=%S peak_rss_kib=%M" \
  "$bin" "$corpus" "$out/embed.txt" "$epochs" "$threads" "$memory_mb" 1 2>&1 | tee "$out/embed.log"
memory_gb=$(awk "BEGIN { print $memory_mb / 1024 }")
sh "$here/glove_reference.sh" "$ref" "$corpus" "$out/reference" "$epochs" "$threads" "$memory_gb"
"$python" "$here/glove_eval.py" "$out/embed.txt" "$out/reference/vectors.txt" --data "$data"
