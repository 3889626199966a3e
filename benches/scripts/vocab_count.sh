#!/bin/sh
# Vocabulary counting: embed-vocab against word2vec C on the same corpus,
# run back to back; also checks that both keep the same (word, count) pairs.
#
#   sh benches/scripts/vocab_count.sh PATH/TO/word2vec CORPUS [MIN_COUNT] [THREADS]
#
# word2vec with -save-vocab and no -output only counts the vocabulary.
set -eu
W2V=$1
CORPUS=$2
MIN_COUNT=${3:-5}
THREADS=${4:-1}
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
cargo build --release -q -p embed-vocab --example count_vocab
EXAMPLE=${CARGO_TARGET_DIR:-target}/release/examples/count_vocab

for run in 1 2 3; do
  /usr/bin/time -f "word2vec    run $run: %e s, %M KiB max RSS" \
    "$W2V" -train "$CORPUS" -save-vocab "$TMP/w2v.txt" -min-count "$MIN_COUNT" >/dev/null
  /usr/bin/time -f "embed-vocab run $run: %e s, %M KiB max RSS" \
    "$EXAMPLE" "$CORPUS" "$TMP/ours.txt" "$MIN_COUNT" "$THREADS"
done
# word2vec's vocabulary also holds `</s>` (its line-end token); leave it out.
grep -v '^</s> ' "$TMP/w2v.txt" | sort > "$TMP/a"
sort "$TMP/ours.txt" > "$TMP/b"
if cmp -s "$TMP/a" "$TMP/b"; then
  echo "same $(wc -l < "$TMP/a") (word, count) pairs"
else
  echo "vocabularies differ:"; diff "$TMP/a" "$TMP/b" | head -20
fi
