//! The vocabulary: the words kept for training, their counts and ids.
//!
//! Words are ordered by decreasing count; words with equal counts by their
//! UTF-8 bytes in increasing (lexicographic) order, so a corpus always gives
//! the same ids whatever the thread count. The id of a word is its rank.

use std::collections::hash_map::Entry;
use std::io::{BufRead, BufReader, Write};
use std::ops::ControlFlow;
use std::path::Path;

use embed_core::{Error, Location, Result};
use rayon::prelude::*;
use rustc_hash::FxHashMap;

use crate::corpus::Corpus;

/// Parameters of [`Vocabulary::build`], validated by [`VocabParamsBuilder`].
///
/// ```
/// use embed_vocab::VocabParams;
/// let params = VocabParams::builder().min_count(1).max_size(Some(50_000)).build()?;
/// assert_eq!(params.min_count(), 1);
/// assert!(VocabParams::builder().min_count(0).build().is_err());
/// # Ok::<(), embed_core::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VocabParams {
    min_count: u64,
    max_size: Option<usize>,
    threads: usize,
    sentence_ends: bool,
}

impl Default for VocabParams {
    fn default() -> Self {
        VocabParams {
            min_count: 5,
            max_size: None,
            threads: 1,
            sentence_ends: false,
        }
    }
}

impl VocabParams {
    /// A builder starting from the defaults: `min_count` 5 (word2vec's and
    /// fastText's), no size limit, one thread.
    pub fn builder() -> VocabParamsBuilder {
        VocabParamsBuilder {
            params: VocabParams::default(),
        }
    }

    /// Words seen fewer times are dropped.
    pub fn min_count(&self) -> u64 {
        self.min_count
    }

    /// At most this many of the most frequent words are kept.
    pub fn max_size(&self) -> Option<usize> {
        self.max_size
    }

    /// Threads counting words (one shard of the corpus each).
    pub fn threads(&self) -> usize {
        self.threads
    }

    /// Whether each sentence also counts one [`END_OF_SENTENCE`] token.
    pub fn sentence_ends(&self) -> bool {
        self.sentence_ends
    }
}

/// Builds validated [`VocabParams`].
#[derive(Debug, Clone)]
pub struct VocabParamsBuilder {
    params: VocabParams,
}

impl VocabParamsBuilder {
    /// Minimum count of a kept word (at least 1).
    pub fn min_count(mut self, n: u64) -> Self {
        self.params.min_count = n;
        self
    }

    /// Maximum vocabulary size (at least 1), or `None` for no limit.
    pub fn max_size(mut self, n: Option<usize>) -> Self {
        self.params.max_size = n;
        self
    }

    /// Counting threads (at least 1).
    pub fn threads(mut self, n: usize) -> Self {
        self.params.threads = n;
        self
    }

    /// Also count one [`END_OF_SENTENCE`] token (`</s>`) per sentence, as
    /// word2vec C and fastText do for every line (default off). The token is
    /// then an ordinary word: sorted by its count and pruned by `min_count`
    /// (fastText's treatment; word2vec C pins it to id 0).
    pub fn sentence_ends(mut self, yes: bool) -> Self {
        self.params.sentence_ends = yes;
        self
    }

    /// Checks every field.
    pub fn build(self) -> Result<VocabParams> {
        let p = self.params;
        if p.min_count == 0 {
            return Err(Error::invalid_parameter("min_count", "must be at least 1"));
        }
        if p.max_size == Some(0) {
            return Err(Error::invalid_parameter(
                "max_size",
                "must be at least 1 (or unlimited)",
            ));
        }
        if p.threads == 0 {
            return Err(Error::invalid_parameter("threads", "must be at least 1"));
        }
        Ok(p)
    }
}

/// The token word2vec C and fastText insert at each line end.
pub const END_OF_SENTENCE: &str = "</s>";

type Counts = FxHashMap<Box<str>, u64>;

/// Counts the words of one stream of sentences without allocating for
/// words already seen.
fn count_into(
    counts: &mut Counts,
    sentence_ends: bool,
    read: impl FnOnce(&mut dyn FnMut(&[&str]) -> ControlFlow<()>) -> Result<()>,
) -> Result<u64> {
    let mut tokens = 0u64;
    let mut sentences = 0u64;
    read(&mut |sentence| {
        tokens += sentence.len() as u64;
        sentences += 1;
        for &word in sentence {
            match counts.get_mut(word) {
                Some(c) => *c += 1,
                None => {
                    counts.insert(word.into(), 1);
                }
            }
        }
        ControlFlow::Continue(())
    })?;
    if sentence_ends && sentences > 0 {
        *counts.entry(END_OF_SENTENCE.into()).or_insert(0) += sentences;
        tokens += sentences;
    }
    Ok(tokens)
}

/// The words kept for training, most frequent first.
///
/// ```
/// use embed_vocab::{InMemoryCorpus, Vocabulary, VocabParams};
/// let corpus = InMemoryCorpus::from_text("b a b c a b");
/// let vocab = Vocabulary::build(&corpus, &VocabParams::builder().min_count(1).build()?)?;
/// assert_eq!(vocab.words(), ["b", "a", "c"]);
/// assert_eq!(vocab.id("a"), Some(1));
/// assert_eq!(vocab.word(2), Some("c"));
/// let mut ids = Vec::new();
/// vocab.ids_into(&["c", "zebra", "b"], &mut ids);
/// assert_eq!(ids, [2, 0]);
/// # Ok::<(), embed_core::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Vocabulary {
    words: Vec<String>,
    counts: Vec<u64>,
    index: FxHashMap<String, u32>,
    total_words: u64,
    corpus_words: u64,
}

impl Vocabulary {
    /// Counts the words of `corpus` (over `params.threads()` shards in
    /// parallel) and keeps those seen at least `min_count` times, at most
    /// `max_size` of the most frequent.
    ///
    /// A corpus with no words, or none reaching `min_count`, is
    /// [`Error::EmptyCorpus`].
    pub fn build(corpus: &dyn Corpus, params: &VocabParams) -> Result<Self> {
        let (counts, corpus_words) = if params.threads > 1 {
            let shards = corpus.shards(params.threads)?;
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(shards.len())
                .build()
                .map_err(|e| Error::InvalidInput(format!("cannot start counting threads: {e}")))?;
            let parts: Vec<(Counts, u64)> = pool.install(|| {
                shards
                    .par_iter()
                    .map(|shard| {
                        let mut counts = Counts::default();
                        let n = count_into(&mut counts, params.sentence_ends, |f| {
                            shard.for_each_sentence(f)
                        })?;
                        Ok((counts, n))
                    })
                    .collect::<Result<_>>()
            })?;
            merge(parts)
        } else {
            let mut counts = Counts::default();
            let n = count_into(&mut counts, params.sentence_ends, |f| {
                corpus.for_each_sentence(f)
            })?;
            (counts, n)
        };
        if corpus_words == 0 {
            return Err(Error::EmptyCorpus {
                source_name: corpus.description(),
                detail: String::new(),
            });
        }
        let vocab = Self::from_counted(
            counts.into_iter().map(|(w, c)| (w.into_string(), c)),
            corpus_words,
            params,
        );
        if vocab.is_empty() {
            return Err(Error::EmptyCorpus {
                source_name: corpus.description(),
                detail: format!(" seen at least min_count = {} times", params.min_count),
            });
        }
        Ok(vocab)
    }

    /// A vocabulary from `(word, count)` pairs (words must be distinct):
    /// sorted, then pruned by `params` like [`Vocabulary::build`].
    /// `corpus_words` is the sum of all counts given. May be empty.
    ///
    /// ```
    /// use embed_vocab::{Vocabulary, VocabParams};
    /// let params = VocabParams::builder().min_count(2).build()?;
    /// let v = Vocabulary::from_counts([("x".to_string(), 1), ("y".to_string(), 4)], &params);
    /// assert_eq!(v.words(), ["y"]);
    /// assert_eq!((v.total_words(), v.corpus_words()), (4, 5));
    /// # Ok::<(), embed_core::Error>(())
    /// ```
    pub fn from_counts(
        counts: impl IntoIterator<Item = (String, u64)>,
        params: &VocabParams,
    ) -> Self {
        let counts: Vec<(String, u64)> = counts.into_iter().collect();
        let corpus_words = counts.iter().map(|&(_, c)| c).sum();
        Self::from_counted(counts, corpus_words, params)
    }

    /// A vocabulary whose ids follow the given order, e.g. the dictionary
    /// of a trained model file. Counts need not be sorted (the order is
    /// kept as given); a word listed twice or more than `u32::MAX` words is
    /// [`Error::InvalidInput`]. `corpus_words` is the number of tokens the
    /// model was trained on, if known, else pass the counts' sum.
    ///
    /// ```
    /// use embed_vocab::Vocabulary;
    /// let v = Vocabulary::from_ordered(vec![("b".into(), 1), ("a".into(), 7)], 8)?;
    /// assert_eq!((v.id("a"), v.total_words()), (Some(1), 8));
    /// assert!(Vocabulary::from_ordered(vec![("a".into(), 1), ("a".into(), 1)], 2).is_err());
    /// # Ok::<(), embed_core::Error>(())
    /// ```
    pub fn from_ordered(entries: Vec<(String, u64)>, corpus_words: u64) -> Result<Self> {
        if entries.len() > u32::MAX as usize {
            return Err(Error::InvalidInput(format!(
                "a vocabulary holds at most {} words, got {}",
                u32::MAX,
                entries.len()
            )));
        }
        let (words, counts): (Vec<String>, Vec<u64>) = entries.into_iter().unzip();
        let vocab = Self::from_parts(words, counts, corpus_words);
        if vocab.index.len() != vocab.words.len() {
            let duplicate = vocab
                .words
                .iter()
                .enumerate()
                .find(|&(i, w)| vocab.index[w.as_str()] as usize != i)
                .map(|(_, w)| w.clone())
                .unwrap_or_default();
            return Err(Error::InvalidInput(format!(
                "word `{duplicate}` is listed twice in the vocabulary"
            )));
        }
        Ok(vocab)
    }

    fn from_counted(
        counts: impl IntoIterator<Item = (String, u64)>,
        corpus_words: u64,
        params: &VocabParams,
    ) -> Self {
        let mut kept: Vec<(String, u64)> = counts
            .into_iter()
            .filter(|&(_, c)| c >= params.min_count)
            .collect();
        kept.sort_unstable_by(|(wa, ca), (wb, cb)| cb.cmp(ca).then_with(|| wa.cmp(wb)));
        if let Some(max) = params.max_size {
            kept.truncate(max);
        }
        // Ids are u32: a vocabulary never holds more than 2^32 - 1 words.
        kept.truncate(u32::MAX as usize);
        let (words, counts): (Vec<String>, Vec<u64>) = kept.into_iter().unzip();
        Self::from_parts(words, counts, corpus_words)
    }

    fn from_parts(words: Vec<String>, counts: Vec<u64>, corpus_words: u64) -> Self {
        let mut index = FxHashMap::with_capacity_and_hasher(words.len(), Default::default());
        for (i, w) in words.iter().enumerate() {
            index.insert(w.clone(), i as u32);
        }
        Vocabulary {
            total_words: counts.iter().sum(),
            words,
            counts,
            index,
            corpus_words,
        }
    }

    /// The words, most frequent first; a word's id is its index.
    pub fn words(&self) -> &[String] {
        &self.words
    }

    /// The counts, in id order (non-increasing, except for a vocabulary made
    /// by [`from_ordered`](Self::from_ordered)).
    pub fn counts(&self) -> &[u64] {
        &self.counts
    }

    /// The id of `word`, if kept.
    #[inline]
    pub fn id(&self, word: &str) -> Option<u32> {
        self.index.get(word).copied()
    }

    /// The word with id `id`.
    pub fn word(&self, id: u32) -> Option<&str> {
        self.words.get(id as usize).map(String::as_str)
    }

    /// The count of word `id`.
    pub fn count(&self, id: u32) -> Option<u64> {
        self.counts.get(id as usize).copied()
    }

    /// The number of words kept.
    pub fn len(&self) -> usize {
        self.words.len()
    }

    /// Whether no word was kept.
    pub fn is_empty(&self) -> bool {
        self.words.is_empty()
    }

    /// The sum of the kept words' counts: the words an epoch trains on.
    pub fn total_words(&self) -> u64 {
        self.total_words
    }

    /// Every token read from the corpus, dropped words included.
    pub fn corpus_words(&self) -> u64 {
        self.corpus_words
    }

    /// Replaces `out` by the ids of `tokens`, skipping words not in the
    /// vocabulary.
    #[inline]
    pub fn ids_into(&self, tokens: &[&str], out: &mut Vec<u32>) {
        out.clear();
        out.extend(tokens.iter().filter_map(|t| self.id(t)));
    }

    /// Saves the vocabulary as word2vec's `-save-vocab` file: one
    /// `word count` line per word, in id order. The file is replaced
    /// atomically.
    pub fn save_counts(&self, path: impl AsRef<Path>) -> Result<()> {
        embed_core::io::write_atomically(path.as_ref(), |out| {
            for (w, c) in self.words.iter().zip(&self.counts) {
                writeln!(out, "{w} {c}")?;
            }
            Ok(())
        })
    }

    /// Loads a `word count` file (word2vec's `-read-vocab`), then sorts and
    /// prunes it by `params` as [`Vocabulary::build`] would. Blank lines are
    /// skipped; a line without exactly a word and a count, or a word listed
    /// twice, is a format error naming the line. `corpus_words` becomes the
    /// sum of all counts in the file.
    ///
    /// ```
    /// use embed_vocab::{InMemoryCorpus, Vocabulary, VocabParams};
    /// let params = VocabParams::builder().min_count(1).build()?;
    /// let vocab = Vocabulary::build(&InMemoryCorpus::from_text("a b b"), &params)?;
    /// let dir = tempfile::tempdir()?;
    /// let path = dir.path().join("vocab.txt");
    /// vocab.save_counts(&path)?;
    /// assert_eq!(std::fs::read_to_string(&path)?, "b 2\na 1\n");
    /// assert_eq!(Vocabulary::load_counts(&path, &params)?, vocab);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn load_counts(path: impl AsRef<Path>, params: &VocabParams) -> Result<Self> {
        let path = path.as_ref();
        let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
        let mut reader = BufReader::with_capacity(1 << 20, file);
        let mut counts: FxHashMap<String, u64> = FxHashMap::default();
        let mut corpus_words = 0u64;
        let mut line = String::new();
        let mut line_no = 0u64;
        loop {
            line.clear();
            line_no += 1;
            let n = reader.read_line(&mut line).map_err(|e| {
                if e.kind() == std::io::ErrorKind::InvalidData {
                    Error::format(path, Location::Line(line_no), "not valid UTF-8")
                } else {
                    Error::io(path, e)
                }
            })?;
            if n == 0 {
                break;
            }
            let mut fields = line.split_ascii_whitespace();
            let (word, count) = match (fields.next(), fields.next(), fields.next()) {
                (None, _, _) => continue,
                (Some(w), Some(c), None) => (w, c),
                _ => {
                    return Err(Error::format(
                        path,
                        Location::Line(line_no),
                        "expected `word count`",
                    ))
                }
            };
            let count: u64 = count.parse().map_err(|_| {
                Error::format(
                    path,
                    Location::Line(line_no),
                    format!("count `{count}` is not a non-negative integer"),
                )
            })?;
            match counts.entry(word.to_owned()) {
                Entry::Occupied(_) => {
                    return Err(Error::format(
                        path,
                        Location::Line(line_no),
                        format!("word `{word}` is listed twice"),
                    ))
                }
                Entry::Vacant(v) => {
                    v.insert(count);
                }
            }
            corpus_words = corpus_words.checked_add(count).ok_or_else(|| {
                Error::format(path, Location::Line(line_no), "counts overflow 64 bits")
            })?;
        }
        Ok(Self::from_counted(counts, corpus_words, params))
    }
}

/// Adds per-shard counts together, largest map first.
fn merge(mut parts: Vec<(Counts, u64)>) -> (Counts, u64) {
    parts.sort_by_key(|(c, _)| std::cmp::Reverse(c.len()));
    let mut iter = parts.into_iter();
    let Some((mut total, mut tokens)) = iter.next() else {
        return (Counts::default(), 0);
    };
    for (part, n) in iter {
        tokens += n;
        for (word, c) in part {
            *total.entry(word).or_insert(0) += c;
        }
    }
    (total, tokens)
}
