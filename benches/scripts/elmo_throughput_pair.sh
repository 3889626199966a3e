#!/bin/sh
# ELMo forward throughput, embed-elmo and AllenNLP back to back on one model and sentence file.
#
#   sh benches/scripts/elmo_throughput_pair.sh ELMO_BENCH PYTHON ALLENNLP_DIR MODEL_DIR SENTENCES THREADS [ROUNDS] [BATCH]
#
# ELMO_BENCH: target/release/examples/elmo_bench (cargo build --release -p embed-elmo --example elmo_bench)
# PYTHON: an interpreter with torch; ALLENNLP_DIR: where AllenNLP 2.10.1's ELMo modules import from.
# MODEL_DIR holds options.json + weights.hdf5. Each side uses THREADS threads.
set -eu
bench=$1 python=$2 allennlp=$3 model=$4 sentences=$5 threads=$6
rounds=${7:-3} batch=${8:-32}
here=$(dirname "$0")
echo "== $(date -u +%H:%M) load $(cut -d' ' -f1-3 /proc/loadavg) model $model sentences $sentences threads $threads"
RAYON_NUM_THREADS=$threads "$bench" throughput "$model/options.json" "$model/weights.hdf5" "$sentences" "$batch" "$rounds"
"$python" "$here/elmo_bench.py" --allennlp "$allennlp" --options "$model/options.json" \
    --weights "$model/weights.hdf5" --sentences "$sentences" --batch "$batch" --rounds "$rounds" --threads "$threads"
