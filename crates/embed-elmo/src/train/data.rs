//! Training data for the biLM: tokenized text, the word vocabulary the
//! softmax predicts, and bilm-tf's batching into parallel streams.
//!
//! - [`TokenizedText`]: sentences of a corpus as ids of distinct word types
//!   (one sentence per line; long lines are cut into sentences of at most
//!   `max_sentence_len` tokens, so one-line corpora work too).
//! - [`LmVocabulary`]: `</S>`, `<S>`, `<UNK>`, then the words of the
//!   training part by falling count (the order the sampled softmax's
//!   log-uniform sampler assumes), with a minimum count and a maximum size.
//! - [`LmStreams`]: `batch` streams over the sentences, cut into windows of
//!   `unroll` steps; row `b` of window `k + 1` continues row `b` of window
//!   `k`, so the LSTM state carries over.
//!
//! # What the model reads and predicts
//!
//! As bilm-tf: a sentence `w1 … wn` becomes `<S> w1 … wn </S>`; the forward
//! stream reads `<S> w1 … wn` and predicts `w1 … wn </S>`; the backward
//! stream reads the reversed sentence `</S> wn … w1` and predicts
//! `wn … w1 <S>`. Inputs are the characters of the token as written (a word
//! outside the vocabulary still has its characters); targets are vocabulary
//! ids, `<UNK>` for such a word.

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::ops::Range;
use std::path::Path;

use embed_core::{Error, Location, Result};

use super::BiLmBatch;
use crate::chars::{bos_char_ids, eos_char_ids, token_char_ids, TokenCharIds, MAX_CHARS};

/// The end-of-sentence token.
pub const EOS: &str = "</S>";
/// The beginning-of-sentence token.
pub const BOS: &str = "<S>";
/// The token that stands for every word outside the vocabulary.
pub const UNK: &str = "<UNK>";
/// Vocabulary id of `</S>`.
pub const EOS_ID: u32 = 0;
/// Vocabulary id of `<S>`.
pub const BOS_ID: u32 = 1;
/// Vocabulary id of `<UNK>`.
pub const UNK_ID: u32 = 2;
/// Ids before the first word.
const SPECIAL_TOKENS: usize = 3;

/// Character-table rows of the boundary tokens; word type `t` is row `t + 2`.
const BOS_ROW: u32 = 0;
const EOS_ROW: u32 = 1;
const FIRST_TYPE_ROW: u32 = 2;

/// Sentences as ids of distinct word types.
///
/// ```
/// use embed_elmo::train::data::TokenizedText;
/// let text = TokenizedText::from_text("a b a\n\nc d e f g\n", 3);
/// assert_eq!(text.num_sentences(), 3); // the empty line is skipped, the long one cut
/// assert_eq!(text.sentence_words(1).collect::<Vec<_>>(), ["c", "d", "e"]);
/// ```
#[derive(Debug, Clone, Default)]
pub struct TokenizedText {
    types: Vec<String>,
    index: HashMap<String, u32>,
    tokens: Vec<u32>,
    /// `starts[i]..starts[i + 1]` are the tokens of sentence `i`.
    starts: Vec<usize>,
    max_sentence_len: usize,
}

impl TokenizedText {
    /// No sentences yet; lines longer than `max_sentence_len` tokens will be
    /// cut (at least 1).
    pub fn new(max_sentence_len: usize) -> Self {
        TokenizedText {
            starts: vec![0],
            max_sentence_len: max_sentence_len.max(1),
            ..Default::default()
        }
    }

    /// The sentences of `text`, one per line, tokens split on whitespace.
    pub fn from_text(text: &str, max_sentence_len: usize) -> Self {
        let mut out = Self::new(max_sentence_len);
        for line in text.lines() {
            out.push_line(line);
        }
        out
    }

    /// Reads every line of the UTF-8 file `path`; returns the range of the
    /// sentences it added.
    pub fn read_file(&mut self, path: impl AsRef<Path>) -> Result<Range<usize>> {
        let path = path.as_ref();
        let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
        let mut reader = BufReader::with_capacity(1 << 20, file);
        let first = self.num_sentences();
        let mut line = String::new();
        let mut number = 0u64;
        loop {
            line.clear();
            number += 1;
            match reader.read_line(&mut line) {
                Ok(0) => break,
                Ok(_) => self.push_line(&line),
                Err(e) if e.kind() == std::io::ErrorKind::InvalidData => {
                    return Err(Error::format(
                        path,
                        Location::Line(number),
                        "not valid UTF-8",
                    ))
                }
                Err(e) => return Err(Error::io(path, e)),
            }
        }
        Ok(first..self.num_sentences())
    }

    /// Adds the tokens of one line as one or more sentences.
    pub fn push_line(&mut self, line: &str) {
        let mut in_sentence = 0;
        for word in line.split_whitespace() {
            if in_sentence == self.max_sentence_len {
                self.starts.push(self.tokens.len());
                in_sentence = 0;
            }
            let id = match self.index.get(word) {
                Some(&id) => id,
                None => {
                    let id = self.types.len() as u32;
                    self.types.push(word.to_string());
                    self.index.insert(word.to_string(), id);
                    id
                }
            };
            self.tokens.push(id);
            in_sentence += 1;
        }
        if in_sentence > 0 {
            self.starts.push(self.tokens.len());
        }
    }

    /// Number of sentences.
    pub fn num_sentences(&self) -> usize {
        self.starts.len() - 1
    }

    /// Number of tokens in the sentences `range`.
    pub fn num_tokens(&self, range: Range<usize>) -> usize {
        self.starts[range.end] - self.starts[range.start]
    }

    /// The type ids of sentence `i`.
    pub fn sentence(&self, i: usize) -> &[u32] {
        &self.tokens[self.starts[i]..self.starts[i + 1]]
    }

    /// The words of sentence `i`.
    pub fn sentence_words(&self, i: usize) -> impl Iterator<Item = &str> + '_ {
        self.sentence(i)
            .iter()
            .map(|&t| self.types[t as usize].as_str())
    }

    /// The distinct words, by type id.
    pub fn types(&self) -> &[String] {
        &self.types
    }

    /// How often each type occurs in the sentences `range`.
    pub fn type_counts(&self, range: Range<usize>) -> Vec<u64> {
        let mut counts = vec![0u64; self.types.len()];
        for &t in &self.tokens[self.starts[range.start]..self.starts[range.end]] {
            counts[t as usize] += 1;
        }
        counts
    }

    /// Splits off the last sentences holding at least `fraction` of all
    /// tokens (and at least one sentence when `fraction > 0`): returns the
    /// training and held-out sentence ranges.
    ///
    /// ```
    /// use embed_elmo::train::data::TokenizedText;
    /// let text = TokenizedText::from_text("a b\nc d\ne f\ng h\n", 10);
    /// assert_eq!(text.split_last(0.25), (0..3, 3..4));
    /// assert_eq!(text.split_last(0.0), (0..4, 4..4));
    /// ```
    pub fn split_last(&self, fraction: f64) -> (Range<usize>, Range<usize>) {
        let n = self.num_sentences();
        if fraction <= 0.0 || n == 0 {
            return (0..n, n..n);
        }
        let wanted = (self.tokens.len() as f64 * fraction).ceil() as usize;
        let mut split = n;
        while split > 0 && self.num_tokens(split..n) < wanted.max(1) {
            split -= 1;
        }
        (0..split, split..n)
    }

    /// The character ids the model reads: row 0 `<S>`, row 1 `</S>`, then
    /// one row per type.
    pub fn char_table(&self) -> Vec<TokenCharIds> {
        let mut table = Vec::with_capacity(self.types.len() + 2);
        table.push(bos_char_ids());
        table.push(eos_char_ids());
        table.extend(self.types.iter().map(|t| token_char_ids(t)));
        table
    }
}

/// The words the softmax predicts: `</S>`, `<S>`, `<UNK>`, then words by
/// falling count (ties in byte order of the word).
///
/// ```
/// use embed_elmo::train::data::{LmVocabulary, UNK_ID};
/// let vocab = LmVocabulary::from_counts([("b", 1), ("a", 3), ("c", 3)], 2, None);
/// assert_eq!(vocab.words(), ["</S>", "<S>", "<UNK>", "a", "c"]);
/// assert_eq!(vocab.id("b"), UNK_ID);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct LmVocabulary {
    words: Vec<String>,
    counts: Vec<u64>,
    index: HashMap<String, u32>,
}

impl LmVocabulary {
    /// Keeps words seen at least `min_count` times, at most `max_size`
    /// entries in all (the three special tokens included).
    pub fn from_counts<'a>(
        counts: impl IntoIterator<Item = (&'a str, u64)>,
        min_count: u64,
        max_size: Option<usize>,
    ) -> Self {
        let mut entries: Vec<(&str, u64)> = counts
            .into_iter()
            .filter(|&(w, c)| c >= min_count.max(1) && ![EOS, BOS, UNK].contains(&w))
            .collect();
        entries.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(b.0)));
        if let Some(max) = max_size {
            entries.truncate(max.saturating_sub(SPECIAL_TOKENS));
        }
        let specials = [(EOS, 0), (BOS, 0), (UNK, 0)];
        Self::from_ordered(
            specials
                .into_iter()
                .chain(entries)
                .map(|(w, c)| (w.to_string(), c)),
        )
    }

    fn from_ordered(entries: impl IntoIterator<Item = (String, u64)>) -> Self {
        let mut vocab = LmVocabulary {
            words: Vec::new(),
            counts: Vec::new(),
            index: HashMap::new(),
        };
        for (word, count) in entries {
            vocab.index.insert(word.clone(), vocab.words.len() as u32);
            vocab.words.push(word);
            vocab.counts.push(count);
        }
        vocab
    }

    /// The vocabulary of the training sentences `range` of `text`; an
    /// [`Error::EmptyCorpus`] when no word reaches `min_count`.
    pub fn build(
        text: &TokenizedText,
        range: Range<usize>,
        min_count: u64,
        max_size: Option<usize>,
    ) -> Result<Self> {
        let counts = text.type_counts(range.clone());
        let vocab = Self::from_counts(
            text.types().iter().map(String::as_str).zip(counts),
            min_count,
            max_size,
        );
        if vocab.len() == SPECIAL_TOKENS {
            return Err(Error::EmptyCorpus {
                source_name: "the training text".into(),
                detail: format!(
                    " ({} sentences; no word occurs at least {min_count} times)",
                    range.len()
                ),
            });
        }
        Ok(vocab)
    }

    /// The id of `word`, `<UNK>`'s when it is not in the vocabulary.
    pub fn id(&self, word: &str) -> u32 {
        self.index.get(word).copied().unwrap_or(UNK_ID)
    }

    /// Every word, by id.
    pub fn words(&self) -> &[String] {
        &self.words
    }

    /// Training counts, by id (0 for the special tokens and for a loaded vocabulary).
    pub fn counts(&self) -> &[u64] {
        &self.counts
    }

    /// Number of entries, special tokens included.
    pub fn len(&self) -> usize {
        self.words.len()
    }

    /// Whether there are no entries (never true for a built vocabulary).
    pub fn is_empty(&self) -> bool {
        self.words.is_empty()
    }

    /// Writes one word per line, in id order (bilm-tf's `vocab.txt`), atomically.
    pub fn save(&self, path: impl AsRef<Path>) -> Result<()> {
        embed_core::io::write_atomically(path.as_ref(), |w| {
            use std::io::Write;
            for word in &self.words {
                writeln!(w, "{word}")?;
            }
            Ok(())
        })
    }

    /// Reads a `vocab.txt`: one word per line, which must start with `</S>`,
    /// `<S>`, `<UNK>` and hold no word twice.
    pub fn load(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        let words: Vec<String> = text.lines().map(|l| l.trim().to_string()).collect();
        if words.len() < SPECIAL_TOKENS || words[..SPECIAL_TOKENS] != [EOS, BOS, UNK] {
            return Err(Error::format(
                path,
                Location::Line(1),
                format!("a vocabulary starts with {EOS}, {BOS}, {UNK}"),
            ));
        }
        let vocab = Self::from_ordered(words.into_iter().map(|w| (w, 0)));
        if vocab.index.len() != vocab.words.len() {
            return Err(Error::format(
                path,
                Location::File,
                "a word is listed twice",
            ));
        }
        if let Some(line) = vocab.words.iter().position(|w| w.is_empty()) {
            return Err(Error::format(
                path,
                Location::Line(line as u64 + 1),
                "empty word",
            ));
        }
        Ok(vocab)
    }
}

/// One stream (one batch row): character-table rows read and vocabulary
/// ids predicted, per direction.
#[derive(Debug, Clone, Default, PartialEq)]
struct Stream {
    forward_inputs: Vec<u32>,
    forward_targets: Vec<u32>,
    backward_inputs: Vec<u32>,
    backward_targets: Vec<u32>,
}

impl Stream {
    fn push_sentence(&mut self, types: &[u32], vocab_ids: &[u32]) {
        self.forward_inputs.push(BOS_ROW);
        self.forward_inputs
            .extend(types.iter().map(|&t| t + FIRST_TYPE_ROW));
        self.forward_targets.extend_from_slice(vocab_ids);
        self.forward_targets.push(EOS_ID);
        self.backward_inputs.push(EOS_ROW);
        self.backward_inputs
            .extend(types.iter().rev().map(|&t| t + FIRST_TYPE_ROW));
        self.backward_targets.extend(vocab_ids.iter().rev());
        self.backward_targets.push(BOS_ID);
    }

    fn len(&self) -> usize {
        self.forward_inputs.len()
    }
}

/// bilm-tf's batching: `batch` streams over a run of sentences, each
/// window `unroll` steps of every stream.
///
/// The sentences are dealt out in order into `batch` contiguous runs of
/// about the same number of steps (a sentence of `n` words is `n + 1`
/// steps), so every stream reads text in its original order. Window `k`
/// holds steps `k · unroll .. (k + 1) · unroll` of every stream; a stream
/// that has ended is padded (mask 0) to the end of the last window.
///
/// ```
/// use embed_elmo::train::data::{LmStreams, LmVocabulary, TokenizedText};
/// let text = TokenizedText::from_text("a b c\nd e\nf\n", 100);
/// let vocab = LmVocabulary::build(&text, 0..3, 1, None)?;
/// let streams = LmStreams::new(&text, 0..3, &vocab, 2, 2)?;
/// assert_eq!(streams.num_windows(), 3); // rows of 4 and 5 steps
/// let window = streams.window(0);
/// assert_eq!((window.batch, window.unroll), (2, 2));
/// assert_eq!(streams.targets_per_direction(), 9);
/// # Ok::<(), embed_core::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct LmStreams {
    batch: usize,
    unroll: usize,
    rows: Vec<Stream>,
    char_table: Vec<TokenCharIds>,
}

impl LmStreams {
    /// Streams over the sentences `sentences` of `text`; `batch` and
    /// `unroll` must be at least 1 and the range must hold a word.
    pub fn new(
        text: &TokenizedText,
        sentences: Range<usize>,
        vocab: &LmVocabulary,
        batch: usize,
        unroll: usize,
    ) -> Result<Self> {
        if batch == 0 {
            return Err(Error::invalid_parameter("batch_size", "must be at least 1"));
        }
        if unroll == 0 {
            return Err(Error::invalid_parameter("unroll", "must be at least 1"));
        }
        let tokens = text.num_tokens(sentences.clone());
        if tokens == 0 {
            return Err(Error::EmptyCorpus {
                source_name: "the text to batch".into(),
                detail: String::new(),
            });
        }
        let vocab_of_type: Vec<u32> = text.types().iter().map(|w| vocab.id(w)).collect();
        let steps = tokens + sentences.len();
        let mut rows = vec![Stream::default(); batch];
        let mut done = 0usize;
        let mut row = 0usize;
        let mut ids = Vec::new();
        for i in sentences {
            // Move on once this row holds its share of the steps.
            while row + 1 < batch && done >= (row + 1) * steps / batch {
                row += 1;
            }
            let sentence = text.sentence(i);
            ids.clear();
            ids.extend(sentence.iter().map(|&t| vocab_of_type[t as usize]));
            rows[row].push_sentence(sentence, &ids);
            done += sentence.len() + 1;
        }
        Ok(LmStreams {
            batch,
            unroll,
            rows,
            char_table: text.char_table(),
        })
    }

    /// Rows per window.
    pub fn batch(&self) -> usize {
        self.batch
    }

    /// Steps per window.
    pub fn unroll(&self) -> usize {
        self.unroll
    }

    /// Windows in one pass over the streams.
    pub fn num_windows(&self) -> usize {
        let longest = self.rows.iter().map(Stream::len).max().unwrap_or(0);
        longest.div_ceil(self.unroll)
    }

    /// Targets of one direction in one pass (words plus one boundary per sentence).
    pub fn targets_per_direction(&self) -> usize {
        self.rows.iter().map(Stream::len).sum()
    }

    /// Window `k` (`0 ≤ k <` [`LmStreams::num_windows`]); past the end every
    /// position is padding.
    pub fn window(&self, k: usize) -> BiLmBatch {
        let mut out = BiLmBatch::zeros(self.batch, self.unroll);
        for (b, row) in self.rows.iter().enumerate() {
            let start = (k * self.unroll).min(row.len());
            let end = ((k + 1) * self.unroll).min(row.len());
            for (t, step) in (start..end).enumerate() {
                let position = b * self.unroll + t;
                let chars = position * MAX_CHARS..(position + 1) * MAX_CHARS;
                out.char_ids[chars.clone()]
                    .copy_from_slice(&self.char_table[row.forward_inputs[step] as usize]);
                out.backward_char_ids[chars]
                    .copy_from_slice(&self.char_table[row.backward_inputs[step] as usize]);
                out.forward_targets[position] = row.forward_targets[step];
                out.backward_targets[position] = row.backward_targets[step];
                out.mask[position] = 1;
                out.backward_mask[position] = 1;
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chars_of(batch: &BiLmBatch, backward: bool, b: usize, t: usize) -> &[u16] {
        let ids = if backward {
            &batch.backward_char_ids
        } else {
            &batch.char_ids
        };
        let p = b * batch.unroll + t;
        &ids[p * MAX_CHARS..(p + 1) * MAX_CHARS]
    }

    #[test]
    fn vocabulary_orders_by_count_and_applies_limits() {
        let text = TokenizedText::from_text("the cat the dog the cat rare\nthe <S>\n", 100);
        let vocab = LmVocabulary::build(&text, 0..2, 1, None).unwrap();
        assert_eq!(
            vocab.words(),
            ["</S>", "<S>", "<UNK>", "the", "cat", "dog", "rare"]
        );
        assert_eq!(vocab.counts()[3..], [4, 2, 1, 1]);
        let vocab = LmVocabulary::build(&text, 0..2, 2, None).unwrap();
        assert_eq!(vocab.words()[3..], ["the", "cat"]);
        assert_eq!(vocab.id("dog"), UNK_ID);
        let vocab = LmVocabulary::build(&text, 0..2, 1, Some(4)).unwrap();
        assert_eq!(vocab.words()[3..], ["the"]);
        // Only the training range counts.
        let vocab = LmVocabulary::build(&text, 1..2, 1, None).unwrap();
        assert_eq!(vocab.words()[3..], ["the"]);
        let err = LmVocabulary::build(&text, 0..2, 100, None).unwrap_err();
        assert!(matches!(err, Error::EmptyCorpus { .. }), "{err}");
    }

    #[test]
    fn vocabulary_file_round_trips_and_bad_files_are_rejected() {
        let text = TokenizedText::from_text("b a a c c c\n", 100);
        let vocab = LmVocabulary::build(&text, 0..1, 1, None).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("vocab.txt");
        vocab.save(&path).unwrap();
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "</S>\n<S>\n<UNK>\nc\na\nb\n"
        );
        let back = LmVocabulary::load(&path).unwrap();
        assert_eq!(back.words(), vocab.words());
        assert_eq!(back.id("a"), 4);
        std::fs::write(&path, "a\nb\n").unwrap();
        assert!(LmVocabulary::load(&path).is_err());
        std::fs::write(&path, "</S>\n<S>\n<UNK>\nx\nx\n").unwrap();
        assert!(LmVocabulary::load(&path).is_err());
    }

    #[test]
    fn long_lines_are_cut_and_files_are_read() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.txt");
        std::fs::write(&path, "one two three four five\n\n  six  \n").unwrap();
        let mut text = TokenizedText::new(2);
        assert_eq!(text.read_file(&path).unwrap(), 0..4);
        let sentences: Vec<Vec<&str>> = (0..4).map(|i| text.sentence_words(i).collect()).collect();
        assert_eq!(
            sentences,
            [
                vec!["one", "two"],
                vec!["three", "four"],
                vec!["five"],
                vec!["six"]
            ]
        );
        // A second file appends and shares the types.
        std::fs::write(&path, "two six\n").unwrap();
        assert_eq!(text.read_file(&path).unwrap(), 4..5);
        assert_eq!(text.types().len(), 6);
        std::fs::write(&path, b"ok\n\xff\xfe\n").unwrap();
        let err = text.read_file(&path).unwrap_err();
        assert!(err.to_string().contains("line 2"), "{err}");
    }

    #[test]
    fn windows_carry_each_stream_in_order_with_boundaries() {
        // Two sentences of 3 and 2 words: 4 + 3 = 7 steps over 2 rows.
        let text = TokenizedText::from_text("x y z\nz q\n", 100);
        let vocab = LmVocabulary::from_counts([("z", 2), ("x", 1)], 1, None);
        let streams = LmStreams::new(&text, 0..2, &vocab, 2, 3).unwrap();
        assert_eq!(streams.num_windows(), 2);
        assert_eq!(streams.targets_per_direction(), 7);
        let (w0, w1) = (streams.window(0), streams.window(1));
        let (x, z, unk) = (vocab.id("x"), vocab.id("z"), UNK_ID);
        assert_eq!((x, z), (4, 3));

        // Row 0 reads `<S> x y z` and predicts `x y z </S>`; row 1 `<S> z q` → `z q </S>`.
        assert_eq!(w0.forward_targets, [x, unk, z, z, unk, EOS_ID]);
        assert_eq!(w1.forward_targets[..1], [EOS_ID]);
        assert_eq!(w1.mask, [1, 0, 0, 0, 0, 0]);
        assert_eq!(w0.mask, [1; 6]);
        assert_eq!(chars_of(&w0, false, 0, 0), bos_char_ids());
        assert_eq!(chars_of(&w0, false, 0, 2), token_char_ids("y")); // the word, not <UNK>
        assert_eq!(chars_of(&w1, false, 0, 0), token_char_ids("z"));
        assert!(chars_of(&w1, false, 0, 1).iter().all(|&c| c == 0));

        // Backward: row 0 reads `</S> z y x` and predicts `z y x <S>`.
        assert_eq!(w0.backward_targets[..3], [z, unk, x]);
        assert_eq!(w1.backward_targets[..1], [BOS_ID]);
        assert_eq!(chars_of(&w0, true, 0, 0), eos_char_ids());
        assert_eq!(chars_of(&w0, true, 0, 1), token_char_ids("z"));
        assert_eq!(chars_of(&w1, true, 0, 0), token_char_ids("x"));
        // Row 1 backward: `</S> q z` predicts `q z <S>`.
        assert_eq!(w0.backward_targets[3..], [unk, z, BOS_ID]);
        w0.validate(vocab.len()).unwrap();
        w1.validate(vocab.len()).unwrap();
    }

    #[test]
    fn every_target_appears_once_per_pass() {
        let text = TokenizedText::from_text("a b c d\ne f\ng\nh i j\nk\n", 100);
        let vocab = LmVocabulary::build(&text, 0..5, 1, None).unwrap();
        for (batch, unroll) in [(1, 1), (2, 3), (3, 2), (8, 4)] {
            let streams = LmStreams::new(&text, 0..5, &vocab, batch, unroll).unwrap();
            let mut forward = Vec::new();
            let mut backward = Vec::new();
            for k in 0..streams.num_windows() {
                let w = streams.window(k);
                // Row-major: collect row by row after all windows.
                for b in 0..batch {
                    for t in 0..unroll {
                        let p = b * unroll + t;
                        if w.mask[p] == 1 {
                            forward.push((b, k, t, w.forward_targets[p]));
                        }
                        if w.backward_mask[p] == 1 {
                            backward.push(w.backward_targets[p]);
                        }
                    }
                }
            }
            forward.sort();
            let forward: Vec<u32> = forward.into_iter().map(|f| f.3).collect();
            let words: Vec<u32> = (0..5)
                .flat_map(|i| {
                    text.sentence_words(i)
                        .map(|w| vocab.id(w))
                        .chain([EOS_ID])
                        .collect::<Vec<_>>()
                })
                .collect();
            assert_eq!(forward, words, "batch {batch} unroll {unroll}");
            assert_eq!(backward.len(), words.len());
            assert_eq!(backward.iter().filter(|&&t| t == BOS_ID).count(), 5);
        }
    }

    #[test]
    fn bad_batching_is_rejected() {
        let text = TokenizedText::from_text("a\n", 100);
        let vocab = LmVocabulary::build(&text, 0..1, 1, None).unwrap();
        assert!(LmStreams::new(&text, 0..1, &vocab, 0, 2).is_err());
        assert!(LmStreams::new(&text, 0..1, &vocab, 2, 0).is_err());
        assert!(LmStreams::new(&text, 1..1, &vocab, 2, 2).is_err());
    }

    #[test]
    fn held_out_split_takes_the_last_sentences() {
        let text = TokenizedText::from_text(&"w w w w\n".repeat(50), 100);
        let (train, heldout) = text.split_last(0.02);
        assert_eq!((train, heldout), (0..49, 49..50));
        let (train, heldout) = text.split_last(0.1);
        assert_eq!(heldout.len(), 5);
        assert_eq!(train.end, heldout.start);
    }
}
