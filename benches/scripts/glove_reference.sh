#!/bin/sh
# Run the Stanford GloVe pipeline (vocab_count, cooccur, shuffle, glove) with the settings of
# the embed-glove benchmark, timing each stage (wall and CPU seconds, peak RSS in KiB).
# Usage: sh benches/scripts/glove_reference.sh GLOVE_BUILD_DIR CORPUS OUTDIR [EPOCHS] [THREADS] [MEMORY_GB]
# GLOVE_BUILD_DIR holds the reference binaries built elsewhere (not part of this repository).
set -eu
bin=$1; corpus=$2; out=$3; epochs=${4:-15}; threads=${5:-2}; memory=${6:-4.0}
mkdir -p "$out"
stage() { # name, then the command; stdin/stdout redirections are passed through sh -c
  name=$1; shift
  /usr/bin/time -f "$name wall_s=%e user_s=%U sys_s=%S peak_rss_kib=%M" -a -o "$out/times.txt" sh -c "$*"
}
: > "$out/times.txt"
stage vocab "'$bin/vocab_count' -min-count 5 -verbose 0 < '$corpus' > '$out/vocab.txt'"
stage cooccur "'$bin/cooccur' -memory $memory -vocab-file '$out/vocab.txt' -verbose 0 -window-size 10 -overflow-file '$out/overflow' < '$corpus' > '$out/cooccurrence.bin'"
stage shuffle "'$bin/shuffle' -memory $memory -verbose 0 -temp-file '$out/temp_shuffle' -seed 1 < '$out/cooccurrence.bin' > '$out/cooccurrence.shuf.bin'"
stage train "'$bin/glove' -save-file '$out/vectors' -threads $threads -input-file '$out/cooccurrence.shuf.bin' -x-max 10 -iter $epochs -vector-size 100 -binary 0 -vocab-file '$out/vocab.txt' -verbose 2 -seed 1 -write-header 0"
cat "$out/times.txt"
