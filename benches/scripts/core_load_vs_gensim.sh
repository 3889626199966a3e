#!/usr/bin/env bash
# Loads a 100k x 300 word2vec binary file with embed-core and with gensim,
# back to back, and times most_similar on both (EMBED_REPEAT rounds of 8
# query words, default 5). *_cpu_seconds lines are process CPU time, which a
# busy machine distorts less than wall time; both sides may use several
# threads (rayon here, the BLAS library in numpy). The file is read once
# before each tool loads it, so both find it in the page cache.
#
# EMBED_RUNS sets the number of runs on the binary file (default 3);
# EMBED_TEXT=0 skips the text file (gensim needs about a minute for it).
#
# Usage: benches/scripts/core_load_vs_gensim.sh [WORKDIR] [PYTHON]
#   WORKDIR defaults to /tmp/embed-core-bench, PYTHON to /work/venv/bin/python.
# Run from the repository root. Prints one line per measurement.
set -euo pipefail

workdir=${1:-/tmp/embed-core-bench}
python=${2:-/work/venv/bin/python}
rows=100000
dim=300
mkdir -p "$workdir"
bin_file="$workdir/random_${rows}x${dim}.bin"
txt_file="$workdir/random_${rows}x${dim}.txt"

if [[ ! -f $bin_file ]]; then
  "$python" - "$bin_file" "$txt_file" "$rows" "$dim" <<'PY'
import sys
import numpy as np
from gensim.models import KeyedVectors
bin_file, txt_file, rows, dim = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
rng = np.random.default_rng(1)
kv = KeyedVectors(dim)
kv.add_vectors([f"word{i}" for i in range(rows)], rng.standard_normal((rows, dim)).astype(np.float32))
kv.save_word2vec_format(bin_file, binary=True)
kv.save_word2vec_format(txt_file, binary=False)
PY
fi

cargo build --quiet --release -p embed-core --example load_vectors
target_dir=${CARGO_TARGET_DIR:-target}
ours="$target_dir/release/examples/load_vectors"

words="word0 word17 word4242 word99999 word123 word50000 word7 word31337"
export EMBED_REPEAT=${EMBED_REPEAT:-5}
for run in $(seq 1 "${EMBED_RUNS:-3}"); do
  # gensim needs about a minute for the text file: time it in the first run only.
  files=("$bin_file")
  [[ $run == 1 && ${EMBED_TEXT:-1} != 0 ]] && files+=("$txt_file")
  for file in "${files[@]}"; do
    echo "== run $run: $(basename "$file"), load average $(cut -d' ' -f1-3 /proc/loadavg)"
    cat "$file" >/dev/null
    "$ours" "$file" $words | grep -E 'seconds'
    cat "$file" >/dev/null
    "$python" - "$file" $words <<'PY'
import os, sys, time
from gensim.models import KeyedVectors
path, words = sys.argv[1], sys.argv[2:]
repeat = int(os.environ["EMBED_REPEAT"])
t, c = time.perf_counter(), time.process_time()
kv = KeyedVectors.load_word2vec_format(path, binary=path.endswith(".bin"))
print(f"gensim_load_seconds={time.perf_counter() - t:.4f}")
print(f"gensim_load_cpu_seconds={time.process_time() - c:.4f}")
t = time.perf_counter()
kv.fill_norms()
print(f"gensim_normalize_seconds={time.perf_counter() - t:.4f}")
t, c = time.perf_counter(), time.process_time()
for w in words:
    for _ in range(repeat):
        kv.most_similar(w, topn=10)
n = len(words) * repeat
print(f"gensim_most_similar_seconds={(time.perf_counter() - t) / n:.6f}")
print(f"gensim_most_similar_cpu_seconds={(time.process_time() - c) / n:.6f}")
PY
  done
done
