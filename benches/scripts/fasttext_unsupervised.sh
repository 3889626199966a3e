#!/bin/sh
# Side-by-side unsupervised run: embed-fasttext, then the fastText tool, same settings.
#   sh benches/scripts/fasttext_unsupervised.sh OURS_BINARY PYTHON_WITH_FASTTEXT CORPUS OUTDIR EPOCH
# OURS_BINARY: target/release/examples/fasttext_train
#   (cargo build --release -p embed-fasttext --example fasttext_train)
# PYTHON_WITH_FASTTEXT: a python with the fasttext-wheel package.
# Then score both: python benches/scripts/fasttext_eval.py EVAL_DIR OUTDIR/*_eEPOCH.vec
set -e
ours=$1; py=$2; corpus=$3; out=$4; epoch=${5:-1}
mkdir -p "$out"
here=$(dirname "$0")
opts="t=1e-3 minCount=5 neg=5 ws=5 minn=3 maxn=6"
/usr/bin/time -f "ours: peak RSS %M KB, wall %e s, user %U s, sys %S s" \
    "$ours" skipgram "$corpus" "$out/ours_e$epoch" 100 "$epoch" 2 $opts
/usr/bin/time -f "tool: peak RSS %M KB, wall %e s, user %U s, sys %S s" \
    "$py" "$here/fasttext_reference.py" skipgram "$corpus" "$out/tool_e$epoch" 100 "$epoch" 2 $opts
# The tool's vectors as a .vec file, written by the tool's own get_word_vector.
"$py" - "$out/tool_e$epoch.bin" "$out/tool_e$epoch.vec" <<'PY'
import sys, fasttext
m = fasttext.load_model(sys.argv[1])
with open(sys.argv[2], "w", encoding="utf-8") as f:
    f.write("%d %d\n" % (len(m.words), m.get_dimension()))
    for w in m.words:
        f.write(w + " " + " ".join("%.6g" % x for x in m.get_word_vector(w)) + "\n")
PY
