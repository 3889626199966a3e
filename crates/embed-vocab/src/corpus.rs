//! Corpora: re-iterable streams of sentences of whitespace-separated words.
//!
//! A line of text is a sentence; its words are the runs of bytes between
//! ASCII whitespace (space, `\t`, `\n`, `\r`, `\x0b`, `\x0c`, as word2vec C
//! splits them). A line longer than the corpus's maximum sentence length
//! ([`MAX_SENTENCE_WORDS`] = 1000 by default, word2vec C's value; fastText
//! uses 1024) is handed out in chunks of at most that many words. Empty lines
//! yield no sentence. Invalid UTF-8 inside a word is replaced by U+FFFD.
//!
//! Sentences are passed to a callback as `&[&str]` borrowed from a reused
//! line buffer: streaming allocates nothing per word.
//!
//! For multi-threaded training a corpus splits into [shards](Corpus::shards):
//! a plain-text file into byte ranges (every word belongs to exactly one
//! shard, see [`TextCorpus::shards`]), a gzip file into a single shard (a
//! gzip stream cannot be entered in the middle), an in-memory corpus into
//! runs of sentences.

use std::fs::File;
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom};
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};

use embed_core::{Error, Result};
use flate2::read::MultiGzDecoder;

/// The default maximum number of words in one sentence (word2vec C's
/// `MAX_SENTENCE_LENGTH`); longer lines are split into chunks.
pub const MAX_SENTENCE_WORDS: usize = 1000;

/// Read buffer size: large reads keep the file system out of the profile.
const READ_BUFFER_BYTES: usize = 1 << 20;

/// A sentence callback: return [`ControlFlow::Break`] to stop early.
pub type SentenceFn<'a> = dyn FnMut(&[&str]) -> ControlFlow<()> + 'a;

/// A corpus that can be read any number of times (once per epoch) and split
/// into shards read by separate threads.
///
/// ```
/// use std::ops::ControlFlow;
/// use embed_vocab::{Corpus, InMemoryCorpus};
/// let corpus = InMemoryCorpus::from_text("a b c\n\nd e");
/// let mut sentences = Vec::new();
/// corpus.for_each_sentence(&mut |s| {
///     sentences.push(s.join(" "));
///     ControlFlow::Continue(())
/// })?;
/// assert_eq!(sentences, ["a b c", "d e"]);
/// # Ok::<(), embed_core::Error>(())
/// ```
pub trait Corpus: Sync {
    /// A short description for messages: the path of a file corpus.
    fn description(&self) -> String;

    /// Calls `f` on every sentence, in order, until it returns
    /// [`ControlFlow::Break`] or the corpus ends.
    fn for_each_sentence(&self, f: &mut SentenceFn<'_>) -> Result<()>;

    /// Splits the corpus into at most `count` shards that together hold every
    /// word exactly once, in corpus order. Fewer shards may come back (a gzip
    /// file gives one). `count` must be at least 1.
    fn shards(&self, count: usize) -> Result<Vec<Box<dyn CorpusShard + '_>>>;
}

/// A part of a corpus, re-iterable like the corpus itself.
pub trait CorpusShard: Send + Sync {
    /// Calls `f` on every sentence of the shard, in order.
    fn for_each_sentence(&self, f: &mut SentenceFn<'_>) -> Result<()>;

    /// The approximate share of the corpus's words in this shard, in `[0, 1]`
    /// (the shards' fractions add up to 1): its share of bytes for a file.
    /// Trainers use it to split a word budget (learning-rate decay) between
    /// threads.
    fn fraction(&self) -> f64;
}

impl<C: Corpus + ?Sized> Corpus for &C {
    fn description(&self) -> String {
        (**self).description()
    }

    fn for_each_sentence(&self, f: &mut SentenceFn<'_>) -> Result<()> {
        (**self).for_each_sentence(f)
    }

    fn shards(&self, count: usize) -> Result<Vec<Box<dyn CorpusShard + '_>>> {
        (**self).shards(count)
    }
}

impl<C: Corpus + ?Sized> Corpus for Box<C> {
    fn description(&self) -> String {
        (**self).description()
    }

    fn for_each_sentence(&self, f: &mut SentenceFn<'_>) -> Result<()> {
        (**self).for_each_sentence(f)
    }

    fn shards(&self, count: usize) -> Result<Vec<Box<dyn CorpusShard + '_>>> {
        (**self).shards(count)
    }
}

fn check_shard_count(count: usize) -> Result<()> {
    if count == 0 {
        return Err(Error::invalid_parameter(
            "shards",
            "a corpus must be split into at least 1 shard",
        ));
    }
    Ok(())
}

fn check_max_sentence_len(n: usize) -> usize {
    n.max(1)
}

/// ASCII whitespace as word2vec C's `ReadWord` splits on.
#[inline]
fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c)
}

/// Empties `v` and gives its allocation back under a new lifetime, so a
/// word buffer can outlive the line it borrowed from. (Collecting an empty
/// iterator of a same-sized type reuses the allocation.)
fn recycle<'b>(mut v: Vec<&str>) -> Vec<&'b str> {
    v.clear();
    v.into_iter().map(|_| "").collect()
}

/// Consumes the bytes before the first whitespace; returns how many.
fn skip_partial_word(reader: &mut impl BufRead) -> std::io::Result<u64> {
    let mut skipped = 0u64;
    loop {
        let available = match reader.fill_buf() {
            Ok(a) => a,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if available.is_empty() {
            return Ok(skipped);
        }
        let (n, found) = match available.iter().position(|&b| is_space(b)) {
            Some(i) => (i, true),
            None => (available.len(), false),
        };
        reader.consume(n);
        skipped += n as u64;
        if found {
            return Ok(skipped);
        }
    }
}

/// Appends to `segment` the bytes up to and including the next newline, or
/// up to the whitespace that ends the `max_words`-th word, or to the end of
/// input, and records the words' byte spans within `segment`. Returns the
/// number of bytes read (0 at the end of input).
fn read_segment(
    reader: &mut impl BufRead,
    segment: &mut Vec<u8>,
    spans: &mut Vec<(usize, usize)>,
    max_words: usize,
) -> std::io::Result<usize> {
    let mut in_word = false;
    let mut word_start = 0;
    let mut total = 0;
    loop {
        let available = match reader.fill_buf() {
            Ok(a) => a,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if available.is_empty() {
            if in_word {
                spans.push((word_start, segment.len()));
            }
            return Ok(total);
        }
        let base = segment.len();
        let mut done = false;
        let mut i = 0;
        while i < available.len() {
            let b = available[i];
            i += 1;
            if is_space(b) {
                if in_word {
                    in_word = false;
                    spans.push((word_start, base + i - 1));
                    if spans.len() == max_words {
                        done = true;
                        break;
                    }
                }
                if b == b'\n' {
                    done = true;
                    break;
                }
            } else if !in_word {
                in_word = true;
                word_start = base + i - 1;
            }
        }
        segment.extend_from_slice(&available[..i]);
        reader.consume(i);
        total += i;
        if done {
            return Ok(total);
        }
    }
}

/// Calls `f` on chunks of at most `max` words; `true` when `f` asked to stop.
fn emit(words: &[&str], max: usize, f: &mut SentenceFn<'_>) -> bool {
    words.chunks(max).any(|chunk| f(chunk).is_break())
}

/// A corpus in a text file, plain or gzip-compressed (recognised by its
/// magic bytes `1f 8b`, whatever its name).
///
/// ```
/// use std::ops::ControlFlow;
/// use embed_vocab::{Corpus, TextCorpus};
/// let dir = tempfile::tempdir()?;
/// let path = dir.path().join("corpus.txt");
/// std::fs::write(&path, "the quick brown fox\njumps over\n")?;
/// let corpus = TextCorpus::open(&path)?.with_max_sentence_len(3);
/// let mut lens = Vec::new();
/// corpus.for_each_sentence(&mut |s| { lens.push(s.len()); ControlFlow::Continue(()) })?;
/// assert_eq!(lens, [3, 1, 2]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct TextCorpus {
    path: PathBuf,
    gzip: bool,
    len: u64,
    max_sentence_len: usize,
}

impl TextCorpus {
    /// Opens a corpus file, checking that it can be read.
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref().to_path_buf();
        let mut file = File::open(&path).map_err(|e| Error::io(&path, e))?;
        let len = file.metadata().map_err(|e| Error::io(&path, e))?.len();
        let mut magic = [0u8; 2];
        let mut got = 0;
        while got < 2 {
            match file.read(&mut magic[got..]) {
                Ok(0) => break,
                Ok(n) => got += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(Error::io(&path, e)),
            }
        }
        let gzip = got == 2 && magic == [0x1f, 0x8b];
        Ok(TextCorpus {
            path,
            gzip,
            len,
            max_sentence_len: MAX_SENTENCE_WORDS,
        })
    }

    /// Sets the maximum number of words per sentence (at least 1); longer
    /// lines are split into chunks.
    pub fn with_max_sentence_len(mut self, n: usize) -> Self {
        self.max_sentence_len = check_max_sentence_len(n);
        self
    }

    /// The maximum number of words per sentence.
    pub fn max_sentence_len(&self) -> usize {
        self.max_sentence_len
    }

    /// The corpus file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Whether the file is gzip-compressed.
    pub fn is_gzip(&self) -> bool {
        self.gzip
    }

    /// The file's size in bytes (compressed size for gzip).
    pub fn len_bytes(&self) -> u64 {
        self.len
    }

    fn io_error(&self, e: std::io::Error) -> Error {
        if e.kind() == std::io::ErrorKind::InvalidData
            || e.kind() == std::io::ErrorKind::InvalidInput
        {
            Error::format(&self.path, embed_core::Location::File, e.to_string())
        } else {
            Error::io(&self.path, e)
        }
    }

    /// Reads the words owned by the byte range `[start, end)`: those whose
    /// first byte follows a whitespace byte inside the range, and for the
    /// `first` range also a word at offset 0.
    fn read_range(&self, start: u64, end: u64, first: bool, f: &mut SentenceFn<'_>) -> Result<()> {
        let mut file = File::open(&self.path).map_err(|e| Error::io(&self.path, e))?;
        if self.gzip {
            let reader = BufReader::with_capacity(READ_BUFFER_BYTES, MultiGzDecoder::new(file));
            return self.stream(reader, 0, u64::MAX, false, f);
        }
        if start > 0 {
            file.seek(SeekFrom::Start(start))
                .map_err(|e| Error::io(&self.path, e))?;
        }
        self.stream(
            BufReader::with_capacity(READ_BUFFER_BYTES, file),
            start,
            end,
            !first,
            f,
        )
    }

    /// Streams the words owned by `[start, end)` from `reader`, positioned
    /// at `start`, one segment (a line, or `max_sentence_len` words of a
    /// longer one) at a time: memory stays bounded even for a corpus that is
    /// a single 100 MB line.
    fn stream(
        &self,
        mut reader: impl BufRead,
        start: u64,
        end: u64,
        skip_first_word: bool,
        f: &mut SentenceFn<'_>,
    ) -> Result<()> {
        let mut segment: Vec<u8> = Vec::with_capacity(1 << 16);
        let mut spans: Vec<(usize, usize)> = Vec::with_capacity(self.max_sentence_len);
        let mut storage: Vec<&str> = Vec::with_capacity(self.max_sentence_len);
        let mut lossy: Vec<String> = Vec::new();
        // Absolute offset of the next unread byte.
        let mut offset = start;
        if skip_first_word {
            // Later shards begin after the word under their start offset.
            offset += skip_partial_word(&mut reader).map_err(|e| self.io_error(e))?;
        }
        // A word starting at byte `p` belongs to the range holding `p - 1`:
        // once past `end`, nothing more is ours.
        while offset <= end {
            segment.clear();
            spans.clear();
            let n = read_segment(&mut reader, &mut segment, &mut spans, self.max_sentence_len)
                .map_err(|e| self.io_error(e))?;
            if n == 0 {
                return Ok(());
            }
            let owned = spans
                .iter()
                .take_while(|&&(a, _)| offset + a as u64 <= end)
                .count();
            spans.truncate(owned);
            offset += n as u64;

            let (Some(&(first, _)), Some(&(_, last))) = (spans.first(), spans.last()) else {
                continue;
            };
            let mut words = recycle(std::mem::take(&mut storage));
            match std::str::from_utf8(&segment[first..last]) {
                Ok(text) => words.extend(spans.iter().map(|&(a, b)| &text[a - first..b - first])),
                Err(_) => {
                    lossy.clear();
                    lossy.extend(
                        spans
                            .iter()
                            .map(|&(a, b)| String::from_utf8_lossy(&segment[a..b]).into_owned()),
                    );
                    words.extend(lossy.iter().map(String::as_str));
                }
            }
            let stop = emit(&words, self.max_sentence_len, f);
            storage = recycle(words);
            if stop {
                return Ok(());
            }
        }
        Ok(())
    }
}

impl Corpus for TextCorpus {
    fn description(&self) -> String {
        self.path.display().to_string()
    }

    fn for_each_sentence(&self, f: &mut SentenceFn<'_>) -> Result<()> {
        self.read_range(0, u64::MAX, true, f)
    }

    /// Splits a plain-text file into `count` byte ranges of equal size.
    ///
    /// A word belongs to the range that holds the whitespace byte before it
    /// (the first range also owns a word at offset 0): a shard starts after
    /// the first whitespace at or after its start offset and stops before
    /// the first word that starts past its end offset. Words are never
    /// split, and every word is read by exactly one shard; the sentence
    /// (line) that straddles a boundary is cut in two. A gzip corpus gives
    /// one shard.
    ///
    /// ```
    /// use std::ops::ControlFlow;
    /// use embed_vocab::{Corpus, TextCorpus};
    /// let dir = tempfile::tempdir()?;
    /// let path = dir.path().join("c.txt");
    /// std::fs::write(&path, "alpha beta gamma delta\nepsilon zeta\n")?;
    /// let corpus = TextCorpus::open(&path)?;
    /// let mut words = Vec::new();
    /// for shard in corpus.shards(3)? {
    ///     shard.for_each_sentence(&mut |s| {
    ///         words.extend(s.iter().map(|w| w.to_string()));
    ///         ControlFlow::Continue(())
    ///     })?;
    /// }
    /// assert_eq!(words, ["alpha", "beta", "gamma", "delta", "epsilon", "zeta"]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    fn shards(&self, count: usize) -> Result<Vec<Box<dyn CorpusShard + '_>>> {
        check_shard_count(count)?;
        if self.gzip || count == 1 {
            return Ok(vec![Box::new(TextShard {
                corpus: self,
                first: true,
                start: 0,
                end: u64::MAX,
                fraction: 1.0,
            })]);
        }
        let len = self.len;
        let bound = |i: usize| (len as u128 * i as u128 / count as u128) as u64;
        Ok((0..count)
            .map(|i| {
                let (start, end) = (bound(i), bound(i + 1));
                let fraction = if len == 0 {
                    1.0 / count as f64
                } else {
                    (end - start) as f64 / len as f64
                };
                // The last shard reads to the end of the file, whatever its
                // length is by then.
                let end = if i + 1 == count { u64::MAX } else { end };
                Box::new(TextShard {
                    corpus: self,
                    first: i == 0,
                    start,
                    end,
                    fraction,
                }) as Box<dyn CorpusShard>
            })
            .collect())
    }
}

/// A byte range of a [`TextCorpus`].
#[derive(Debug)]
struct TextShard<'a> {
    corpus: &'a TextCorpus,
    first: bool,
    start: u64,
    end: u64,
    fraction: f64,
}

impl CorpusShard for TextShard<'_> {
    fn for_each_sentence(&self, f: &mut SentenceFn<'_>) -> Result<()> {
        self.corpus.read_range(self.start, self.end, self.first, f)
    }

    fn fraction(&self) -> f64 {
        self.fraction
    }
}

/// A corpus held in memory as tokenised sentences: for tests, examples and
/// small data.
///
/// ```
/// use embed_vocab::{Corpus, InMemoryCorpus};
/// let corpus = InMemoryCorpus::new(vec![
///     vec!["hello".to_string(), "world".to_string()],
///     vec!["bye".to_string()],
/// ]);
/// assert_eq!(corpus.num_words(), 3);
/// assert_eq!(corpus.shards(2)?.len(), 2);
/// # Ok::<(), embed_core::Error>(())
/// ```
#[derive(Debug, Clone, Default)]
pub struct InMemoryCorpus {
    sentences: Vec<Vec<String>>,
    max_sentence_len: usize,
}

impl InMemoryCorpus {
    /// A corpus of the given sentences (empty ones are skipped when read).
    pub fn new(sentences: Vec<Vec<String>>) -> Self {
        InMemoryCorpus {
            sentences,
            max_sentence_len: MAX_SENTENCE_WORDS,
        }
    }

    /// Tokenises `text` as a [`TextCorpus`] would: one sentence per line,
    /// words split on ASCII whitespace.
    pub fn from_text(text: &str) -> Self {
        Self::new(
            text.split('\n')
                .map(|line| {
                    line.split(|c: char| c.is_ascii() && is_space(c as u8))
                        .filter(|w| !w.is_empty())
                        .map(str::to_owned)
                        .collect::<Vec<_>>()
                })
                .filter(|s| !s.is_empty())
                .collect(),
        )
    }

    /// Sets the maximum number of words per sentence (at least 1).
    pub fn with_max_sentence_len(mut self, n: usize) -> Self {
        self.max_sentence_len = check_max_sentence_len(n);
        self
    }

    /// The sentences.
    pub fn sentences(&self) -> &[Vec<String>] {
        &self.sentences
    }

    /// The number of words in the corpus.
    pub fn num_words(&self) -> usize {
        self.sentences.iter().map(Vec::len).sum()
    }

    fn read(&self, sentences: &[Vec<String>], f: &mut SentenceFn<'_>) -> Result<()> {
        let mut storage: Vec<&str> = Vec::new();
        for sentence in sentences {
            let mut words = recycle(std::mem::take(&mut storage));
            words.extend(sentence.iter().map(String::as_str));
            if !words.is_empty() && emit(&words, self.max_sentence_len, f) {
                return Ok(());
            }
            storage = recycle(words);
        }
        Ok(())
    }
}

impl Corpus for InMemoryCorpus {
    fn description(&self) -> String {
        format!("in-memory corpus of {} sentences", self.sentences.len())
    }

    fn for_each_sentence(&self, f: &mut SentenceFn<'_>) -> Result<()> {
        self.read(&self.sentences, f)
    }

    /// Splits the sentences into `count` runs with about equal word counts.
    fn shards(&self, count: usize) -> Result<Vec<Box<dyn CorpusShard + '_>>> {
        check_shard_count(count)?;
        let total = self.num_words();
        let mut shards: Vec<Box<dyn CorpusShard + '_>> = Vec::with_capacity(count);
        let mut begin = 0;
        let mut seen = 0usize;
        for i in 1..=count {
            let target = (total as u128 * i as u128 / count as u128) as usize;
            let mut end = begin;
            let mut words = 0;
            while end < self.sentences.len() && (seen + words < target || i == count) {
                words += self.sentences[end].len();
                end += 1;
            }
            let fraction = if total == 0 {
                1.0 / count as f64
            } else {
                words as f64 / total as f64
            };
            shards.push(Box::new(MemoryShard {
                corpus: self,
                range: begin..end,
                fraction,
            }));
            seen += words;
            begin = end;
        }
        Ok(shards)
    }
}

/// A run of sentences of an [`InMemoryCorpus`].
#[derive(Debug)]
struct MemoryShard<'a> {
    corpus: &'a InMemoryCorpus,
    range: std::ops::Range<usize>,
    fraction: f64,
}

impl CorpusShard for MemoryShard<'_> {
    fn for_each_sentence(&self, f: &mut SentenceFn<'_>) -> Result<()> {
        self.corpus
            .read(&self.corpus.sentences[self.range.clone()], f)
    }

    fn fraction(&self) -> f64 {
        self.fraction
    }
}
