//! Training a WordPiece vocabulary from a corpus.
//!
//! The corpus goes through the tokenizer's own clean-up and word splitting
//! ([`normalizer::split_words`]), so the vocabulary covers the words the
//! tokenizer will later see. Words are then spelled as characters — the
//! first one plain, the others with the `##` continuation prefix — and the
//! most frequent adjacent pair of pieces is merged, again and again, until
//! the vocabulary reaches its target size (byte-pair-encoding training with
//! WordPiece spelling, as Hugging Face's `WordPieceTrainer` does):
//!
//! * `a` + `##b` → `ab`, `##a` + `##b` → `##ab`;
//! * ties between pairs of equal count go to the pair whose pieces entered
//!   the vocabulary first, so the result depends on the corpus alone;
//! * a pair seen fewer than `min_frequency` times is never merged.
//!
//! The vocabulary lists the special tokens first, then the alphabet (every
//! character the corpus uses, most frequent first, in both forms), then the
//! merged pieces in the order they were made. Literal special tokens in the
//! corpus text are counted as ordinary text.
//!
//! ```
//! use embed_bert::tokenizer::train_vocab::{VocabTrainer, VocabTrainerConfig};
//! use embed_bert::{Tokenizer, TokenizerConfig};
//! let config = VocabTrainerConfig { size: 40, ..VocabTrainerConfig::default() };
//! let mut trainer = VocabTrainer::new(config)?;
//! trainer.add_text("the cat sat on the mat. the cats sat.");
//! let vocab = trainer.train()?;
//! assert_eq!(vocab.token(0), Some("[PAD]"));
//! let tokenizer = Tokenizer::new(vocab, TokenizerConfig::default())?;
//! assert_eq!(tokenizer.tokenize("the cats"), ["the", "cat", "##s"]);
//! # Ok::<(), embed_core::Error>(())
//! ```

use std::cmp::{Ordering, Reverse};
use std::collections::{BTreeSet, BinaryHeap, HashMap};
use std::io::{BufRead, Write};
use std::path::Path;

use embed_core::{Error, Location, Result};

use super::normalizer::{self, Normalized, NormalizerOptions};
use super::vocab::{Vocab, CONTINUATION_PREFIX};
use super::wordpiece::MAX_CHARS_PER_WORD;

/// The special tokens of BERT, in the order they open a trained vocabulary.
pub const DEFAULT_SPECIAL_TOKENS: [&str; 5] = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"];

/// Settings of WordPiece vocabulary training.
#[derive(Debug, Clone, PartialEq)]
pub struct VocabTrainerConfig {
    /// Target number of tokens, special tokens included (at least the
    /// special tokens plus one). Training stops earlier when no pair is
    /// frequent enough; the alphabet alone may not fit, in which case the
    /// rarest characters are left out.
    pub size: usize,
    /// Pairs seen fewer times than this are not merged (at least 1).
    pub min_frequency: u64,
    /// Clean-up applied before counting words; use the tokenizer's.
    pub normalizer: NormalizerOptions,
    /// Tokens placed first, in order (ids 0, 1, …).
    pub special_tokens: Vec<String>,
}

impl Default for VocabTrainerConfig {
    /// 30,000 tokens, merges seen at least twice, uncased clean-up, BERT's
    /// special tokens.
    fn default() -> Self {
        VocabTrainerConfig {
            size: 30_000,
            min_frequency: 2,
            normalizer: NormalizerOptions::default(),
            special_tokens: DEFAULT_SPECIAL_TOKENS.map(String::from).to_vec(),
        }
    }
}

impl VocabTrainerConfig {
    /// Checks every field; the error names the first bad one.
    pub fn validate(&self) -> Result<()> {
        let mut seen = BTreeSet::new();
        for token in &self.special_tokens {
            if token.is_empty() || token.chars().any(char::is_whitespace) {
                return Err(Error::invalid_parameter(
                    "special_tokens",
                    format!("`{token}` is empty or holds whitespace"),
                ));
            }
            if !seen.insert(token.as_str()) {
                return Err(Error::invalid_parameter(
                    "special_tokens",
                    format!("`{token}` is listed twice"),
                ));
            }
        }
        if self.size <= self.special_tokens.len() {
            return Err(Error::invalid_parameter(
                "size",
                format!(
                    "must exceed the {} special tokens, got {}",
                    self.special_tokens.len(),
                    self.size
                ),
            ));
        }
        if self.min_frequency == 0 {
            return Err(Error::invalid_parameter(
                "min_frequency",
                "must be at least 1",
            ));
        }
        Ok(())
    }
}

/// Counts words and trains a vocabulary from them.
#[derive(Debug, Clone)]
pub struct VocabTrainer {
    config: VocabTrainerConfig,
    counts: HashMap<String, u64>,
    scratch: Normalized,
}

impl VocabTrainer {
    /// A trainer with validated settings and no words yet.
    pub fn new(config: VocabTrainerConfig) -> Result<Self> {
        config.validate()?;
        Ok(VocabTrainer {
            config,
            counts: HashMap::new(),
            scratch: Normalized::default(),
        })
    }

    /// The settings.
    pub fn config(&self) -> &VocabTrainerConfig {
        &self.config
    }

    /// Number of distinct words counted so far.
    pub fn num_words(&self) -> usize {
        self.counts.len()
    }

    /// Counts the words of `text`.
    pub fn add_text(&mut self, text: &str) {
        self.scratch.clear();
        normalizer::split_words(text, 0, self.config.normalizer, &mut self.scratch);
        for word in &self.scratch.words {
            let text = self.scratch.word_text(word);
            match self.counts.get_mut(text) {
                Some(count) => *count += 1,
                None => {
                    self.counts.insert(text.to_string(), 1);
                }
            }
        }
    }

    /// Counts the words of a corpus read from `reader` (`path` labels
    /// errors), a bounded chunk at a time.
    pub fn add_reader(&mut self, reader: impl BufRead, path: &Path) -> Result<()> {
        for_each_corpus_piece(reader, path, |piece| {
            if let CorpusPiece::Text(text) = piece {
                self.add_text(text);
            }
            Ok(())
        })
    }

    /// Counts the words of the corpus file at `path`.
    pub fn add_file(&mut self, path: impl AsRef<Path>) -> Result<()> {
        let path = path.as_ref();
        let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
        self.add_reader(std::io::BufReader::with_capacity(1 << 20, file), path)
    }

    /// Trains the vocabulary from the words counted; an error if there are
    /// none.
    pub fn train(&self) -> Result<Vocab> {
        if self.counts.is_empty() {
            return Err(Error::EmptyCorpus {
                source_name: "vocabulary training input".into(),
                detail: " (no words after clean-up)".into(),
            });
        }
        Ok(Vocab::from_tokens(
            Merger::new(&self.config, &self.counts).run(),
        ))
    }
}

/// Writes a vocabulary as `vocab.txt` (one token per line, id order),
/// atomically.
///
/// ```
/// let dir = tempfile::tempdir().unwrap();
/// let path = dir.path().join("vocab.txt");
/// let vocab = embed_bert::Vocab::from_tokens(["[PAD]", "a", "##b"]);
/// embed_bert::tokenizer::train_vocab::write_vocab(&path, &vocab)?;
/// assert_eq!(std::fs::read_to_string(&path).unwrap(), "[PAD]\na\n##b\n");
/// # Ok::<(), embed_core::Error>(())
/// ```
pub fn write_vocab(path: impl AsRef<Path>, vocab: &Vocab) -> Result<()> {
    embed_core::io::write_atomically(path.as_ref(), |w| {
        for id in 0..vocab.len() as u32 {
            writeln!(w, "{}", vocab.token(id).unwrap_or_default())?;
        }
        Ok(())
    })
}

/// One unit read from a corpus by [`for_each_corpus_piece`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CorpusPiece<'a> {
    /// Text of the current document: a line, or part of a long line cut at
    /// a space.
    Text(&'a str),
    /// A blank line ended a document that had text.
    DocumentEnd,
}

/// Longest piece of text handed out at once; longer lines are cut at their
/// last space or tab before this many bytes.
pub const MAX_PIECE_BYTES: usize = 1 << 20;

/// Streams a plain-text corpus (documents separated by blank lines) to `f`
/// in pieces of at most [`MAX_PIECE_BYTES`] bytes, so a corpus written as
/// one huge line is never held whole. Invalid UTF-8 is a format error
/// naming the byte offset.
///
/// ```
/// use embed_bert::tokenizer::train_vocab::{for_each_corpus_piece, CorpusPiece};
/// let mut pieces = Vec::new();
/// for_each_corpus_piece("a b\n\n \nc\n".as_bytes(), "corpus".as_ref(), |p| {
///     pieces.push(match p { CorpusPiece::Text(t) => t.to_string(), CorpusPiece::DocumentEnd => "|".into() });
///     Ok(())
/// })?;
/// assert_eq!(pieces, ["a b\n", "|", "c\n"]);
/// # Ok::<(), embed_core::Error>(())
/// ```
pub fn for_each_corpus_piece(
    mut reader: impl BufRead,
    path: &Path,
    mut f: impl FnMut(CorpusPiece<'_>) -> Result<()>,
) -> Result<()> {
    let mut line: Vec<u8> = Vec::new();
    let mut offset = 0u64; // file offset of line[0]
    let mut in_document = false;
    let mut blank_so_far = true;
    loop {
        let block = reader.fill_buf().map_err(|e| Error::io(path, e))?;
        if block.is_empty() {
            break;
        }
        let room = block.len().min(MAX_PIECE_BYTES - line.len());
        let (take, line_done) = match block[..room].iter().position(|&b| b == b'\n') {
            Some(i) => (i + 1, true),
            None => (room, false),
        };
        line.extend_from_slice(&block[..take]);
        reader.consume(take);
        if line_done {
            let blank = blank_so_far && line.iter().all(u8::is_ascii_whitespace);
            if blank {
                if in_document {
                    f(CorpusPiece::DocumentEnd)?;
                    in_document = false;
                }
            } else {
                f(CorpusPiece::Text(utf8(&line, path, offset)?))?;
                in_document = true;
            }
            offset += line.len() as u64;
            line.clear();
            blank_so_far = true;
        } else if line.len() >= MAX_PIECE_BYTES {
            let cut = line
                .iter()
                .rposition(|&b| b == b' ' || b == b'\t')
                .map_or_else(|| utf8_boundary(&line), |i| i + 1);
            blank_so_far &= line[..cut].iter().all(u8::is_ascii_whitespace);
            f(CorpusPiece::Text(utf8(&line[..cut], path, offset)?))?;
            in_document = true;
            offset += cut as u64;
            line.drain(..cut);
        }
    }
    let blank = blank_so_far && line.iter().all(u8::is_ascii_whitespace);
    if !blank {
        f(CorpusPiece::Text(utf8(&line, path, offset)?))?;
    }
    Ok(())
}

/// The longest prefix of `bytes` that does not end inside a UTF-8 sequence
/// (at least one byte, so progress is always made).
fn utf8_boundary(bytes: &[u8]) -> usize {
    let mut end = bytes.len();
    while end > 1 && (bytes[end - 1] & 0xC0) == 0x80 {
        end -= 1;
    }
    if end > 1 && bytes[end - 1] >= 0xC0 {
        end -= 1;
    }
    end.max(1)
}

fn utf8<'a>(bytes: &'a [u8], path: &Path, offset: u64) -> Result<&'a str> {
    std::str::from_utf8(bytes).map_err(|e| {
        Error::format(
            path,
            Location::Byte(offset + e.valid_up_to() as u64),
            "invalid UTF-8",
        )
    })
}

/// A candidate merge in the priority queue: most frequent first, then the
/// pair whose pieces have the smallest ids.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Candidate {
    count: u64,
    pair: (u32, u32),
}

impl Ord for Candidate {
    fn cmp(&self, other: &Self) -> Ordering {
        self.count
            .cmp(&other.count)
            .then_with(|| Reverse(self.pair).cmp(&Reverse(other.pair)))
    }
}

impl PartialOrd for Candidate {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// The merge loop: words as piece ids, pair counts kept up to date
/// incrementally, and an index of the words each pair occurs in.
struct Merger {
    target: usize,
    min_frequency: u64,
    tokens: Vec<String>,
    ids: HashMap<String, u32>,
    words: Vec<(Vec<u32>, u64)>,
    pair_counts: HashMap<(u32, u32), u64>,
    pair_words: HashMap<(u32, u32), BTreeSet<usize>>,
}

impl Merger {
    fn new(config: &VocabTrainerConfig, counts: &HashMap<String, u64>) -> Self {
        let mut tokens: Vec<String> = config.special_tokens.clone();
        let mut ids: HashMap<String, u32> = tokens
            .iter()
            .enumerate()
            .map(|(i, t)| (t.clone(), i as u32))
            .collect();
        // Sorted words make every later step independent of hash order.
        let mut sorted: Vec<(&String, u64)> = counts
            .iter()
            .filter(|(w, _)| w.chars().count() <= MAX_CHARS_PER_WORD)
            .map(|(w, &c)| (w, c))
            .collect();
        sorted.sort_unstable();

        // The alphabet: each character in the positions it occurs in,
        // most frequent first, trimmed to the target size.
        let mut alphabet: HashMap<String, u64> = HashMap::new();
        for (word, count) in &sorted {
            for (i, c) in word.chars().enumerate() {
                *alphabet.entry(piece_of(c, i > 0)).or_default() += count;
            }
        }
        let mut alphabet: Vec<(String, u64)> = alphabet.into_iter().collect();
        alphabet.sort_unstable_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        for (piece, _) in alphabet {
            if tokens.len() >= config.size {
                break;
            }
            if !ids.contains_key(&piece) {
                ids.insert(piece.clone(), tokens.len() as u32);
                tokens.push(piece);
            }
        }

        // Words whose every character made it into the alphabet.
        let words: Vec<(Vec<u32>, u64)> = sorted
            .into_iter()
            .filter_map(|(word, count)| {
                let pieces: Option<Vec<u32>> = word
                    .chars()
                    .enumerate()
                    .map(|(i, c)| ids.get(&piece_of(c, i > 0)).copied())
                    .collect();
                pieces.map(|p| (p, count))
            })
            .collect();
        let mut merger = Merger {
            target: config.size,
            min_frequency: config.min_frequency,
            tokens,
            ids,
            words,
            pair_counts: HashMap::new(),
            pair_words: HashMap::new(),
        };
        for index in 0..merger.words.len() {
            let (pieces, count) = &merger.words[index];
            let count = *count;
            for pair in pieces.windows(2) {
                let pair = (pair[0], pair[1]);
                *merger.pair_counts.entry(pair).or_default() += count;
                merger.pair_words.entry(pair).or_default().insert(index);
            }
        }
        merger
    }

    fn run(mut self) -> Vec<String> {
        let mut queue: BinaryHeap<Candidate> = self
            .pair_counts
            .iter()
            .map(|(&pair, &count)| Candidate { count, pair })
            .collect();
        while self.tokens.len() < self.target {
            let Some(top) = queue.pop() else { break };
            let current = self.pair_counts.get(&top.pair).copied().unwrap_or(0);
            if current != top.count {
                // Stale entry: the count changed since it was queued.
                if current > 0 {
                    queue.push(Candidate {
                        count: current,
                        pair: top.pair,
                    });
                }
                continue;
            }
            if current < self.min_frequency {
                break;
            }
            let merged = self.merged_piece(top.pair);
            let new_id = match self.ids.get(&merged) {
                Some(&id) => id,
                None => {
                    let id = self.tokens.len() as u32;
                    self.ids.insert(merged.clone(), id);
                    self.tokens.push(merged);
                    id
                }
            };
            for pair in self.apply_merge(top.pair, new_id) {
                if let Some(&count) = self.pair_counts.get(&pair) {
                    if count > 0 {
                        queue.push(Candidate { count, pair });
                    }
                }
            }
        }
        self.tokens
    }

    fn merged_piece(&self, (left, right): (u32, u32)) -> String {
        let right = &self.tokens[right as usize];
        let right = right.strip_prefix(CONTINUATION_PREFIX).unwrap_or(right);
        format!("{}{right}", self.tokens[left as usize])
    }

    /// Replaces every occurrence of `pair` by `new_id` and updates the
    /// pair counts and the word index; returns the pairs that appeared or
    /// grew (those that shrank are fixed lazily when they leave the queue).
    fn apply_merge(&mut self, pair: (u32, u32), new_id: u32) -> Vec<(u32, u32)> {
        let words = self.pair_words.remove(&pair).unwrap_or_default();
        let mut grown = Vec::new();
        for index in words {
            let (pieces, count) = &mut self.words[index];
            let count = *count;
            for w in pieces.windows(2) {
                decrement(&mut self.pair_counts, (w[0], w[1]), count);
            }
            let mut i = 0;
            while i + 1 < pieces.len() {
                if (pieces[i], pieces[i + 1]) == pair {
                    pieces[i] = new_id;
                    pieces.remove(i + 1);
                }
                i += 1;
            }
            for w in pieces.windows(2) {
                let p = (w[0], w[1]);
                *self.pair_counts.entry(p).or_default() += count;
                if p.0 == new_id || p.1 == new_id {
                    self.pair_words.entry(p).or_default().insert(index);
                    grown.push(p);
                }
            }
        }
        grown.sort_unstable();
        grown.dedup();
        grown
    }
}

fn decrement(counts: &mut HashMap<(u32, u32), u64>, pair: (u32, u32), by: u64) {
    if let Some(c) = counts.get_mut(&pair) {
        *c = c.saturating_sub(by);
        if *c == 0 {
            counts.remove(&pair);
        }
    }
}

fn piece_of(c: char, continuation: bool) -> String {
    if continuation {
        format!("{CONTINUATION_PREFIX}{c}")
    } else {
        c.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Tokenizer, TokenizerConfig};

    const TEXT: &str = "low lower lowest newer newest wider widest low low newer \
                        the lowest of the new and the widest of the old";

    fn train(text: &str, size: usize, min_frequency: u64) -> Vocab {
        let mut trainer = VocabTrainer::new(VocabTrainerConfig {
            size,
            min_frequency,
            ..VocabTrainerConfig::default()
        })
        .unwrap();
        trainer.add_text(text);
        trainer.train().unwrap()
    }

    fn tokens(vocab: &Vocab) -> Vec<String> {
        (0..vocab.len() as u32)
            .map(|i| vocab.token(i).unwrap().to_string())
            .collect()
    }

    #[test]
    fn specials_then_alphabet_then_merges() {
        let vocab = train(TEXT, 60, 2);
        let tokens = tokens(&vocab);
        assert_eq!(tokens[..5], DEFAULT_SPECIAL_TOKENS);
        assert!(tokens.len() <= 60);
        // Most frequent character first: `e` continues words most often.
        assert_eq!(tokens[5], "##e");
        // Frequent words become single tokens.
        for word in ["low", "the"] {
            assert!(vocab.id(word).is_some(), "{word} missing from {tokens:?}");
        }
        let unique: BTreeSet<&String> = tokens.iter().collect();
        assert_eq!(unique.len(), tokens.len(), "duplicate tokens");
    }

    #[test]
    fn trained_vocab_spells_its_corpus_without_unknowns() {
        let vocab = train(TEXT, 45, 2);
        let tokenizer = Tokenizer::new(vocab, TokenizerConfig::default()).unwrap();
        let ids = tokenizer.encode(TEXT, None).unwrap().ids;
        let unk = tokenizer.special_ids().unk;
        assert!(!ids.contains(&unk));
        // Merges compress: fewer pieces than characters.
        let chars = TEXT.chars().filter(|c| !c.is_whitespace()).count();
        assert!(ids.len() < chars / 2, "{} pieces", ids.len());
    }

    #[test]
    fn training_is_deterministic() {
        let a = tokens(&train(TEXT, 50, 1));
        for _ in 0..3 {
            assert_eq!(tokens(&train(TEXT, 50, 1)), a);
        }
    }

    #[test]
    fn min_frequency_stops_merging() {
        // Every pair occurs once: nothing is merged at min frequency 2.
        let vocab = train("abc", 100, 2);
        // Equal counts: the alphabet is in character order (`#` sorts first).
        assert_eq!(tokens(&vocab)[5..], ["##b", "##c", "a"]);
        let vocab = train("abc", 100, 1);
        assert!(vocab.id("abc").is_some());
    }

    #[test]
    fn repeated_pairs_in_one_word_merge_left_to_right() {
        let vocab = train("aaaa aaaa aaa", 100, 1);
        let tokenizer = Tokenizer::new(vocab, TokenizerConfig::default()).unwrap();
        assert_eq!(tokenizer.tokenize("aaaa aaa"), ["aaaa", "aaa"]);
    }

    #[test]
    fn bad_settings_are_named() {
        let cases = [
            (
                VocabTrainerConfig {
                    size: 5,
                    ..Default::default()
                },
                "size",
            ),
            (
                VocabTrainerConfig {
                    min_frequency: 0,
                    ..Default::default()
                },
                "min_frequency",
            ),
            (
                VocabTrainerConfig {
                    special_tokens: vec!["[PAD]".into(), "[PAD]".into()],
                    ..Default::default()
                },
                "special_tokens",
            ),
        ];
        for (config, name) in cases {
            match VocabTrainer::new(config) {
                Err(Error::InvalidParameter { name: got, .. }) => assert_eq!(got, name),
                other => panic!("{name}: {other:?}"),
            }
        }
        let trainer = VocabTrainer::new(VocabTrainerConfig::default()).unwrap();
        assert!(matches!(trainer.train(), Err(Error::EmptyCorpus { .. })));
    }

    #[test]
    fn long_lines_are_cut_at_spaces() {
        let word = "abcdefg ";
        let line = word.repeat(MAX_PIECE_BYTES / word.len() * 2 + 3);
        let mut pieces = Vec::new();
        for_each_corpus_piece(line.as_bytes(), Path::new("c"), |p| {
            if let CorpusPiece::Text(t) = p {
                assert!(t.len() <= MAX_PIECE_BYTES);
                pieces.push(t.to_string());
            }
            Ok(())
        })
        .unwrap();
        assert!(pieces.len() >= 2);
        assert_eq!(pieces.concat(), line);
        assert!(pieces.iter().all(|p| p.ends_with(' ')));
    }

    #[test]
    fn invalid_utf8_names_the_offset() {
        let err =
            for_each_corpus_piece(&b"ok\nab\xffc\n"[..], Path::new("c"), |_| Ok(())).unwrap_err();
        assert!(
            matches!(
                err,
                Error::Format {
                    location: Location::Byte(5),
                    ..
                }
            ),
            "{err}"
        );
    }

    #[test]
    fn documents_are_separated_by_blank_lines() {
        let mut events = Vec::new();
        let text = "\n\na\nb\n \t\n\nc";
        for_each_corpus_piece(text.as_bytes(), Path::new("c"), |p| {
            events.push(match p {
                CorpusPiece::Text(t) => t.trim().to_string(),
                CorpusPiece::DocumentEnd => "|".into(),
            });
            Ok(())
        })
        .unwrap();
        assert_eq!(events, ["a", "b", "|", "c"]);
    }
}
