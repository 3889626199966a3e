//! fastText's dictionary: words and labels with their counts, and the rows
//! of the input matrix that represent a word (its own row and the hashed
//! buckets of its character n-grams) or a line (plus hashed word n-grams).

use std::collections::HashMap;

use embed_core::{Error, Result};
use embed_vocab::{char_ngrams, fasttext_hash, END_OF_SENTENCE};

use crate::args::ModelArgs;

/// Tokens starting with this prefix are labels (fastText's `-label` default).
pub const LABEL_PREFIX: &str = "__label__";

/// Multiplier fastText uses to combine word hashes into word n-gram hashes.
const WORD_NGRAM_MULTIPLIER: u64 = 116_049_371;

/// Whether a dictionary entry is a word or a label.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryKind {
    /// A word of the text.
    Word,
    /// A classification label (`__label__…`).
    Label,
}

impl EntryKind {
    /// The byte fastText writes for the kind.
    pub fn code(self) -> i8 {
        match self {
            EntryKind::Word => 0,
            EntryKind::Label => 1,
        }
    }

    /// The kind of a `.bin` byte, if known.
    pub fn from_code(code: i8) -> Option<Self> {
        match code {
            0 => Some(EntryKind::Word),
            1 => Some(EntryKind::Label),
            _ => None,
        }
    }

    /// The kind of a token by its spelling.
    pub fn of_token(token: &str) -> Self {
        if token.starts_with(LABEL_PREFIX) {
            EntryKind::Label
        } else {
            EntryKind::Word
        }
    }
}

/// One dictionary entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The word or label as written.
    pub word: String,
    /// Occurrences in the training data.
    pub count: u64,
    /// Word or label.
    pub kind: EntryKind,
}

/// How hashed n-gram buckets map to input rows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BucketMap {
    /// Bucket `b` is row `nwords + b` (fastText's `pruneidx_size == -1`).
    Identity,
    /// Only the listed buckets have rows (quantized, pruned models).
    Pruned(HashMap<i32, i32>),
}

/// Words (then labels) in fastText's order, with each word's input rows.
#[derive(Debug, Clone)]
pub struct Dictionary {
    entries: Vec<Entry>,
    nwords: usize,
    nlabels: usize,
    ntokens: u64,
    ids: HashMap<String, u32>,
    /// Input rows of each word: its own row, then its n-gram buckets.
    subwords: Vec<Vec<u32>>,
    buckets: BucketMap,
    minn: usize,
    maxn: usize,
    bucket: usize,
    word_ngrams: usize,
}

impl Dictionary {
    /// Builds a dictionary from entries already in fastText's order (all
    /// words, then all labels).
    ///
    /// ```
    /// use embed_fasttext::dictionary::{BucketMap, Dictionary, Entry, EntryKind};
    /// let entries = vec![Entry { word: "cat".into(), count: 3, kind: EntryKind::Word }];
    /// let args = embed_fasttext::ModelArgs { bucket: 10, ..embed_fasttext::ModelArgs::unsupervised() };
    /// let dict = Dictionary::new(entries, 3, BucketMap::Identity, &args)?;
    /// // "<cat>" has 6 n-grams of 3 to 6 characters: <ca, <cat, <cat>, cat, cat>, at>
    /// assert_eq!(dict.word_rows("cat").len(), 1 + 6);
    /// # Ok::<(), embed_core::Error>(())
    /// ```
    pub fn new(
        entries: Vec<Entry>,
        ntokens: u64,
        buckets: BucketMap,
        args: &ModelArgs,
    ) -> Result<Self> {
        if args.maxn > 0 && args.bucket == 0 {
            return Err(Error::invalid_parameter(
                "bucket",
                "must be positive when maxn > 0 (character n-grams need buckets)",
            ));
        }
        if args.word_ngrams > 1 && args.bucket == 0 {
            return Err(Error::invalid_parameter(
                "bucket",
                "must be positive when wordNgrams > 1 (word n-grams need buckets)",
            ));
        }
        if args.maxn > 0 && args.minn > args.maxn {
            return Err(Error::invalid_parameter(
                "minn",
                format!("{} is larger than maxn {}", args.minn, args.maxn),
            ));
        }
        let nwords = entries
            .iter()
            .take_while(|e| e.kind == EntryKind::Word)
            .count();
        if entries[nwords..].iter().any(|e| e.kind == EntryKind::Word) {
            return Err(Error::InvalidInput(
                "dictionary entries must list all words before all labels".into(),
            ));
        }
        let nlabels = entries.len() - nwords;
        let mut ids = HashMap::with_capacity(entries.len());
        for (i, e) in entries.iter().enumerate() {
            if ids.insert(e.word.clone(), i as u32).is_some() {
                return Err(Error::InvalidInput(format!(
                    "dictionary lists `{}` twice",
                    e.word
                )));
            }
        }
        let mut dict = Dictionary {
            entries,
            nwords,
            nlabels,
            ntokens,
            ids,
            subwords: Vec::new(),
            buckets,
            minn: args.minn,
            maxn: args.maxn,
            bucket: args.bucket,
            word_ngrams: args.word_ngrams,
        };
        // Labels get subwords too, as in fastText (only words use them).
        dict.subwords = (0..dict.entries.len())
            .map(|i| {
                let mut rows = vec![i as u32];
                let word = &dict.entries[i].word;
                if word != END_OF_SENTENCE {
                    dict.push_char_ngrams(word, &mut rows);
                }
                rows
            })
            .collect();
        Ok(dict)
    }

    /// All entries: words, then labels.
    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    /// Number of words (rows of the input matrix before the buckets).
    pub fn nwords(&self) -> usize {
        self.nwords
    }

    /// Number of labels.
    pub fn nlabels(&self) -> usize {
        self.nlabels
    }

    /// Tokens read when the dictionary was counted.
    pub fn ntokens(&self) -> u64 {
        self.ntokens
    }

    /// How n-gram buckets map to input rows.
    pub fn bucket_map(&self) -> &BucketMap {
        &self.buckets
    }

    /// The id of a word or label.
    pub fn id(&self, word: &str) -> Option<u32> {
        self.ids.get(word).copied()
    }

    /// The word entries, in row order.
    pub fn words(&self) -> impl Iterator<Item = &str> {
        self.entries[..self.nwords].iter().map(|e| e.word.as_str())
    }

    /// The label of label index `i` (0-based among labels).
    pub fn label(&self, i: usize) -> Option<&str> {
        self.entries
            .get(self.nwords + i)
            .filter(|_| i < self.nlabels)
            .map(|e| e.word.as_str())
    }

    /// The input rows whose mean is the vector of `word`: for a vocabulary
    /// word, its own row and its n-gram buckets; for any other word, its
    /// n-gram buckets alone (none for `</s>`), as `Dictionary::getSubwords`.
    pub fn word_rows(&self, word: &str) -> Vec<u32> {
        match self.id(word) {
            Some(id) => self.subwords[id as usize].clone(),
            _ => {
                let mut rows = Vec::new();
                if word != END_OF_SENTENCE {
                    self.push_char_ngrams(word, &mut rows);
                }
                rows
            }
        }
    }

    /// The input rows of entry `id` (its row, then n-grams).
    pub fn subwords(&self, id: usize) -> &[u32] {
        &self.subwords[id]
    }

    /// The input rows and label indices of one line of tokens, as fastText
    /// reads a supervised line: each word's rows (n-grams of unknown words
    /// too), labels that are in the dictionary, then hashed word n-grams.
    pub fn line_features(&self, tokens: &[&str], rows: &mut Vec<u32>, labels: &mut Vec<u32>) {
        rows.clear();
        labels.clear();
        let mut hashes: Vec<i32> = Vec::with_capacity(tokens.len());
        for &token in tokens {
            let id = self.id(token);
            let kind = match id {
                Some(id) => self.entries[id as usize].kind,
                None => EntryKind::of_token(token),
            };
            match kind {
                EntryKind::Word => {
                    match id {
                        None => {
                            if token != END_OF_SENTENCE {
                                self.push_char_ngrams(token, rows);
                            }
                        }
                        Some(id) if self.maxn == 0 => rows.push(id),
                        Some(id) => rows.extend_from_slice(&self.subwords[id as usize]),
                    }
                    // fastText keeps word hashes as int32 and widens them
                    // with sign extension when combining.
                    hashes.push(fasttext_hash(token.as_bytes()) as i32);
                }
                EntryKind::Label => {
                    if let Some(id) = id {
                        labels.push(id - self.nwords as u32);
                    }
                }
            }
        }
        self.push_word_ngrams(&hashes, rows);
    }

    fn push_word_ngrams(&self, hashes: &[i32], rows: &mut Vec<u32>) {
        if self.word_ngrams <= 1 {
            return;
        }
        for i in 0..hashes.len() {
            let mut h = hashes[i] as i64 as u64;
            for &next in hashes.iter().skip(i + 1).take(self.word_ngrams - 1) {
                h = h
                    .wrapping_mul(WORD_NGRAM_MULTIPLIER)
                    .wrapping_add(next as i64 as u64);
                self.push_bucket((h % self.bucket as u64) as i32, rows);
            }
        }
    }

    /// Appends the rows of the character n-grams of `<word>`.
    fn push_char_ngrams(&self, word: &str, rows: &mut Vec<u32>) {
        if self.maxn == 0 {
            return;
        }
        let bracketed = format!("<{word}>");
        for gram in char_ngrams(&bracketed, self.minn, self.maxn) {
            let bucket = fasttext_hash(gram.as_bytes()) % self.bucket as u32;
            self.push_bucket(bucket as i32, rows);
        }
    }

    fn push_bucket(&self, bucket: i32, rows: &mut Vec<u32>) {
        let bucket = match &self.buckets {
            BucketMap::Identity => bucket,
            BucketMap::Pruned(map) => match map.get(&bucket) {
                Some(&b) => b,
                None => return,
            },
        };
        rows.push(self.nwords as u32 + bucket as u32);
    }
}
