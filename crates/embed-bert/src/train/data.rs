//! Pre-training data: a plain-text corpus tokenized, packed into sequences
//! and served as masked batches.
//!
//! * [`TokenStream::from_file`] reads a corpus (documents separated by
//!   blank lines) in bounded pieces and keeps only token ids: one `u32`
//!   per word piece, with a `[SEP]` between documents.
//! * [`PackedSequences`] cuts that stream into `[CLS] … [SEP]` sequences of
//!   the maximum length, so that no position is wasted on padding (only the
//!   last sequence may be shorter); a sequence may span a document boundary,
//!   marked by its `[SEP]`, as in RoBERTa's full-sentence packing: the
//!   layout without next-sentence prediction.
//! * [`SentencePairs`] builds `[CLS] A [SEP] B [SEP]` instances for
//!   next-sentence prediction instead (see [`super::pairs`]).
//! * [`BatchSource`] visits the sequences in a seeded order that changes
//!   every pass over the corpus and masks each with a generator derived from
//!   the seed and the sequence's place in the run, so batch `k` of a run is
//!   the same whether the run was interrupted or not.
//!
//! ```
//! use embed_bert::train::data::{PackedSequences, TokenStream};
//! let stream = TokenStream::from_ids(vec![5, 6, 7, 8, 9])?;
//! let packed = PackedSequences::new(stream, 5, 2, 3)?; // max length 5, [CLS]=2, [SEP]=3
//! assert_eq!(packed.len(), 2);
//! assert_eq!(packed.sequence(0), vec![2, 5, 6, 7, 3]);
//! assert_eq!(packed.sequence(1), vec![2, 8, 9, 3]);
//! # Ok::<(), embed_core::Error>(())
//! ```

use std::ops::Range;
use std::path::Path;

use embed_core::seed::{self, derive_seed};
use embed_core::{Error, Result};
use rand::seq::SliceRandom;

use super::masking::{Masker, IGNORE_LABEL};
use super::pairs::SentencePairs;
use super::MlmBatch;
use crate::tokenizer::train_vocab::{for_each_corpus_piece, CorpusPiece};
use crate::Tokenizer;

/// Token ids of a whole corpus, documents joined by `[SEP]`, with where
/// each sentence (a line, or a piece of a very long line) lies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenStream {
    ids: Vec<u32>,
    documents: usize,
    /// Every sentence's ids in `ids`, in order.
    sentences: Vec<Range<usize>>,
    /// Index in `sentences` of each document's first sentence.
    document_starts: Vec<usize>,
}

impl TokenStream {
    /// Tokenizes the corpus at `path` (no `[CLS]`; `[SEP]` between
    /// documents). A corpus without a single token is an
    /// [`Error::EmptyCorpus`].
    pub fn from_file(path: impl AsRef<Path>, tokenizer: &Tokenizer) -> Result<Self> {
        let path = path.as_ref();
        let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
        let reader = std::io::BufReader::with_capacity(1 << 20, file);
        Self::from_reader(reader, path, tokenizer)
    }

    /// Tokenizes a corpus read from `reader`; `path` names it in errors.
    pub fn from_reader(
        reader: impl std::io::BufRead,
        path: &Path,
        tokenizer: &Tokenizer,
    ) -> Result<Self> {
        let sep = tokenizer.special_ids().sep;
        let mut ids = Vec::new();
        let mut documents = 0;
        let mut document_open = false;
        let mut sentences = Vec::new();
        let mut document_starts = Vec::new();
        for_each_corpus_piece(reader, path, |piece| {
            match piece {
                CorpusPiece::Text(text) => {
                    let encoding = tokenizer.encode(text, None)?;
                    // Drop the [CLS] and [SEP] that `encode` adds.
                    let pieces = &encoding.ids[1..encoding.ids.len() - 1];
                    if !pieces.is_empty() {
                        if !document_open {
                            if documents > 0 {
                                ids.push(sep);
                            }
                            documents += 1;
                            document_open = true;
                            document_starts.push(sentences.len());
                        }
                        let start = ids.len();
                        ids.extend_from_slice(pieces);
                        sentences.push(start..ids.len());
                    }
                }
                CorpusPiece::DocumentEnd => document_open = false,
            }
            Ok(())
        })?;
        if ids.is_empty() {
            return Err(Error::EmptyCorpus {
                source_name: path.display().to_string(),
                detail: " (no token after clean-up: the file is empty or holds only whitespace and control characters)".into(),
            });
        }
        Ok(TokenStream {
            ids,
            documents,
            sentences,
            document_starts,
        })
    }

    /// A stream of ids already tokenized, as one document of one sentence.
    /// An empty list is an error.
    pub fn from_ids(ids: Vec<u32>) -> Result<Self> {
        if ids.is_empty() {
            return Err(Error::EmptyCorpus {
                source_name: "token list".into(),
                detail: String::new(),
            });
        }
        Ok(Self::one_sentence(ids))
    }

    fn one_sentence(ids: Vec<u32>) -> Self {
        TokenStream {
            sentences: std::iter::once(0..ids.len()).collect(),
            document_starts: vec![0],
            ids,
            documents: 1,
        }
    }

    /// The ids.
    pub fn ids(&self) -> &[u32] {
        &self.ids
    }

    /// The ids, without copying them.
    pub(crate) fn into_ids(self) -> Vec<u32> {
        self.ids
    }

    /// Number of documents with at least one token.
    pub fn documents(&self) -> usize {
        self.documents
    }

    /// The sentences of document `index` (`< documents()`), as ranges of
    /// [`TokenStream::ids`]; consecutive sentences are adjacent.
    ///
    /// ```
    /// use embed_bert::train::data::TokenStream;
    /// use embed_bert::{Tokenizer, TokenizerConfig, Vocab};
    /// let vocab = Vocab::from_tokens(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "a", "b"]);
    /// let tokenizer = Tokenizer::new(vocab, TokenizerConfig::default())?;
    /// let stream = TokenStream::from_reader("a b\nb\n\na\n".as_bytes(), "c".as_ref(), &tokenizer)?;
    /// assert_eq!(stream.ids(), [4, 5, 5, 3, 4]);
    /// assert_eq!(stream.document_sentences(0), [0..2, 2..3]);
    /// assert_eq!(stream.document_sentences(1), [4..5]);
    /// # Ok::<(), embed_core::Error>(())
    /// ```
    pub fn document_sentences(&self, index: usize) -> &[Range<usize>] {
        let start = self.document_starts[index];
        let end = self
            .document_starts
            .get(index + 1)
            .copied()
            .unwrap_or(self.sentences.len());
        &self.sentences[start..end]
    }
}

/// A token stream cut into `[CLS] … [SEP]` sequences of a maximum length.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackedSequences {
    stream: TokenStream,
    /// Ids between `[CLS]` and `[SEP]` per sequence.
    body: usize,
    cls: u32,
    sep: u32,
    /// First stream position of each sequence, plus the end.
    bounds: Vec<usize>,
}

impl PackedSequences {
    /// Packs `stream` into sequences of at most `max_length` ids
    /// (`max_length >= 3`: room for `[CLS]`, one token and `[SEP]`).
    pub fn new(stream: TokenStream, max_length: usize, cls: u32, sep: u32) -> Result<Self> {
        if max_length < 3 {
            return Err(Error::invalid_parameter(
                "max_length",
                format!("must be at least 3 ([CLS], a token, [SEP]), got {max_length}"),
            ));
        }
        let body = max_length - 2;
        let n = stream.ids.len();
        let mut bounds: Vec<usize> = (0..n).step_by(body).collect();
        bounds.push(n);
        Ok(PackedSequences {
            stream,
            body,
            cls,
            sep,
            bounds,
        })
    }

    /// Number of sequences.
    pub fn len(&self) -> usize {
        self.bounds.len() - 1
    }

    /// Whether there is no sequence (never true for a packed stream).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The longest sequence, `[CLS]` and `[SEP]` included.
    pub fn max_length(&self) -> usize {
        self.body + 2
    }

    /// Tokens in all sequences, `[CLS]` and `[SEP]` included.
    pub fn num_tokens(&self) -> usize {
        self.stream.ids.len() + 2 * self.len()
    }

    /// Sequence `index` as `[CLS] ids [SEP]`.
    pub fn sequence(&self, index: usize) -> Vec<u32> {
        let mut out = Vec::with_capacity(self.body + 2);
        self.write_sequence(index, &mut out);
        out
    }

    fn write_sequence(&self, index: usize, out: &mut Vec<u32>) {
        out.push(self.cls);
        out.extend_from_slice(&self.stream.ids[self.bounds[index]..self.bounds[index + 1]]);
        out.push(self.sep);
    }

    /// Keeps only the first `count` sequences.
    pub fn truncate(&mut self, count: usize) {
        if count < self.len() {
            self.bounds.truncate(count + 1);
            let end = self.bounds[count];
            self.stream.ids.truncate(end);
        }
    }

    /// Splits off the last `fraction` of the sequences (at least one, and
    /// leaving at least one) as a held-out set; `None` when there are fewer
    /// than two sequences or `fraction` is not in (0, 1).
    pub fn split_off_tail(&mut self, fraction: f64) -> Option<PackedSequences> {
        if !(fraction > 0.0 && fraction < 1.0) || self.len() < 2 {
            return None;
        }
        let n = self.len();
        let held = ((n as f64 * fraction).round() as usize).clamp(1, n - 1);
        let cut = self.bounds[n - held];
        let tail_ids = self.stream.ids.split_off(cut);
        let tail = PackedSequences {
            stream: TokenStream::one_sentence(tail_ids),
            body: self.body,
            cls: self.cls,
            sep: self.sep,
            bounds: self.bounds[n - held..].iter().map(|b| b - cut).collect(),
        };
        self.bounds.truncate(n - held + 1);
        Some(tail)
    }
}

/// The sequences a [`BatchSource`] serves: packed for the masked-LM task
/// alone, or sentence pairs for next-sentence prediction as well.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TrainingSequences {
    /// `[CLS] … [SEP]` sequences of a packed stream.
    Packed(PackedSequences),
    /// `[CLS] A [SEP] B [SEP]` instances with next-sentence labels.
    Pairs(SentencePairs),
}

impl From<PackedSequences> for TrainingSequences {
    fn from(sequences: PackedSequences) -> Self {
        TrainingSequences::Packed(sequences)
    }
}

impl From<SentencePairs> for TrainingSequences {
    fn from(pairs: SentencePairs) -> Self {
        TrainingSequences::Pairs(pairs)
    }
}

impl TrainingSequences {
    /// Number of sequences.
    pub fn len(&self) -> usize {
        match self {
            TrainingSequences::Packed(s) => s.len(),
            TrainingSequences::Pairs(p) => p.len(),
        }
    }

    /// Whether there is no sequence.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Tokens in all sequences, special tokens included.
    pub fn num_tokens(&self) -> usize {
        match self {
            TrainingSequences::Packed(s) => s.num_tokens(),
            TrainingSequences::Pairs(p) => p.num_tokens(),
        }
    }

    /// Sequence `index`'s ids, special tokens included.
    pub fn sequence(&self, index: usize) -> Vec<u32> {
        match self {
            TrainingSequences::Packed(s) => s.sequence(index),
            TrainingSequences::Pairs(p) => p.sequence(index).0,
        }
    }

    /// Appends sequence `index` to `rows`.
    fn gather(&self, index: usize, position: u64, rows: &mut Gathered) {
        let next_sentence_label = match self {
            TrainingSequences::Packed(s) => {
                s.write_sequence(index, &mut rows.ids);
                rows.types.resize(rows.ids.len(), 0);
                None
            }
            TrainingSequences::Pairs(p) => {
                p.write_sequence(index, &mut rows.ids, &mut rows.types);
                Some(p.label(index))
            }
        };
        rows.end_row(next_sentence_label, position);
    }

    /// Keeps only the first `count` sequences.
    pub fn truncate(&mut self, count: usize) {
        match self {
            TrainingSequences::Packed(s) => s.truncate(count),
            TrainingSequences::Pairs(p) => p.truncate(count),
        }
    }

    /// Splits off about `fraction` of the data as a held-out set: the last
    /// sequences of packed data ([`PackedSequences::split_off_tail`]),
    /// every `k`-th document of sentence pairs
    /// ([`SentencePairs::split_off_documents`]).
    pub fn split_off_held_out(&mut self, fraction: f64) -> Option<TrainingSequences> {
        match self {
            TrainingSequences::Packed(s) => s.split_off_tail(fraction).map(Into::into),
            TrainingSequences::Pairs(p) => p.split_off_documents(fraction).map(Into::into),
        }
    }
}

/// Stream numbers of the generators data preparation derives from the seed.
const SHUFFLE_STREAM: u64 = 0x5348_5546; // "SHUF"
const MASK_STREAM: u64 = 0x4d41_534b; // "MASK"

/// The sequences of a batch back to back, before masking and padding.
#[derive(Debug, Default)]
struct Gathered {
    ids: Vec<u32>,
    /// Token types, one per id.
    types: Vec<u32>,
    rows: Vec<GatheredRow>,
}

impl Gathered {
    /// Ends the row whose ids and types were just appended.
    fn end_row(&mut self, next_sentence_label: Option<i32>, position: u64) {
        self.rows.push(GatheredRow {
            end: self.ids.len(),
            next_sentence_label,
            position,
        });
    }
}

#[derive(Debug)]
struct GatheredRow {
    /// End of the sequence in `ids` (it starts where the previous ends).
    end: usize,
    next_sentence_label: Option<i32>,
    /// Place in the run (or in the held-out set), which seeds the mask.
    position: u64,
}

/// Serves masked batches of packed sequences or sentence pairs in a
/// seeded, resumable order.
///
/// Sentence pairs are drawn afresh for every pass over the corpus
/// ([`SentencePairs::round`]): pass `p` serves `n` instances (`n` those of
/// round 0) from round `p`, wrapping around when that round drew fewer.
#[derive(Debug, Clone)]
pub struct BatchSource {
    sequences: TrainingSequences,
    /// The instances of the pass `order` is for (pairs after the first pass).
    pass_pairs: Option<SentencePairs>,
    masker: Masker,
    pad: u32,
    seed: u64,
    /// The pass over the corpus whose order `order` holds.
    pass: u64,
    order: Vec<usize>,
}

impl BatchSource {
    /// Batches of `sequences`, masked by `masker`, padded with `pad`.
    pub fn new(
        sequences: impl Into<TrainingSequences>,
        masker: Masker,
        pad: u32,
        seed: u64,
    ) -> Self {
        let mut source = BatchSource {
            order: Vec::new(),
            pass_pairs: None,
            sequences: sequences.into(),
            masker,
            pad,
            seed,
            pass: u64::MAX,
        };
        source.prepare_pass(0);
        source
    }

    /// The sequences served.
    pub fn sequences(&self) -> &TrainingSequences {
        &self.sequences
    }

    /// The 1-based pass over the corpus that sequence number `position`
    /// (counted from the start of the run) belongs to.
    pub fn pass_of(&self, position: u64) -> u64 {
        position / self.sequences.len() as u64 + 1
    }

    fn prepare_pass(&mut self, pass: u64) {
        if self.pass == pass {
            return;
        }
        self.order = (0..self.sequences.len()).collect();
        self.order
            .shuffle(&mut seed::rng(derive_seed(self.seed, SHUFFLE_STREAM), pass));
        self.pass = pass;
        self.pass_pairs = match &self.sequences {
            TrainingSequences::Pairs(pairs) if pass > 0 => Some(pairs.round(pass)),
            _ => None,
        };
    }

    /// Appends sequence `index` of the current pass to `rows`.
    fn gather_from_pass(&self, index: usize, position: u64, rows: &mut Gathered) {
        match &self.pass_pairs {
            Some(pairs) => {
                let i = index % pairs.len();
                pairs.write_sequence(i, &mut rows.ids, &mut rows.types);
                rows.end_row(Some(pairs.label(i)), position);
            }
            None => self.sequences.gather(index, position, rows),
        }
    }

    /// The batch of `size` sequences starting at sequence number `start` of
    /// the run: sequence `start + i` is the `(start + i) mod n`-th of that
    /// pass's shuffled order, masked with a generator of its own.
    pub fn batch(&mut self, start: u64, size: usize) -> MlmBatch {
        let n = self.sequences.len() as u64;
        let mut rows = Gathered::default();
        for k in 0..size as u64 {
            let position = start + k;
            self.prepare_pass(position / n);
            let index = self.order[(position % n) as usize];
            self.gather_from_pass(index, position, &mut rows);
        }
        self.assemble(rows, true)
    }

    /// Every sequence in corpus order, masked the same way on every call
    /// (for held-out evaluation), in batches of `size`.
    pub fn evaluation_batches(&self, size: usize) -> Vec<MlmBatch> {
        let n = self.sequences.len();
        (0..n)
            .step_by(size.max(1))
            .map(|start| {
                let mut rows = Gathered::default();
                for i in start..(start + size.max(1)).min(n) {
                    self.sequences.gather(i, i as u64, &mut rows);
                }
                self.assemble(rows, false)
            })
            .collect()
    }

    /// Masks and pads the gathered rows; `training` selects the generator
    /// family, so evaluation masks never depend on training.
    fn assemble(&self, gathered: Gathered, training: bool) -> MlmBatch {
        let starts = std::iter::once(0).chain(gathered.rows.iter().map(|r| r.end));
        let spans: Vec<Range<usize>> = starts
            .zip(&gathered.rows)
            .map(|(start, row)| start..row.end)
            .collect();
        let seq_len = spans.iter().map(|s| s.len()).max().unwrap_or(0);
        let batch = spans.len();
        let mut out = MlmBatch {
            batch,
            seq_len,
            input_ids: vec![self.pad; batch * seq_len],
            token_type_ids: vec![0; batch * seq_len],
            attention_mask: vec![0; batch * seq_len],
            labels: vec![IGNORE_LABEL; batch * seq_len],
            next_sentence_labels: Vec::new(),
        };
        let family = derive_seed(self.seed, MASK_STREAM + u64::from(!training));
        for (k, (row, span)) in gathered.rows.iter().zip(spans).enumerate() {
            let at = k * seq_len;
            let to = at..at + span.len();
            let ids = &mut out.input_ids[to.clone()];
            ids.copy_from_slice(&gathered.ids[span.clone()]);
            let mut rng = seed::rng(family, row.position);
            self.masker.mask(ids, &mut out.labels[to.clone()], &mut rng);
            out.token_type_ids[to.clone()].copy_from_slice(&gathered.types[span]);
            out.attention_mask[to].fill(1);
            if let Some(label) = row.next_sentence_label {
                out.next_sentence_labels.push(label);
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::train::masking::MaskingConfig;
    use crate::{TokenizerConfig, Vocab};

    fn tokenizer() -> Tokenizer {
        let vocab = Vocab::from_tokens([
            "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "a", "b", "c", "d", "##s",
        ]);
        Tokenizer::new(vocab, TokenizerConfig::default()).unwrap()
    }

    fn stream(text: &str) -> Result<TokenStream> {
        TokenStream::from_reader(text.as_bytes(), Path::new("corpus"), &tokenizer())
    }

    #[test]
    fn documents_are_joined_by_sep() {
        let s = stream("a b\nc\n\n\n  \nd as\n\n").unwrap();
        assert_eq!(s.ids(), [5, 6, 7, 3, 8, 5, 9]);
        assert_eq!(s.documents(), 2);
    }

    #[test]
    fn corpora_without_tokens_are_errors() {
        for text in ["", "\n\n  \n", "\u{0}\u{1}\n"] {
            assert!(
                matches!(stream(text), Err(Error::EmptyCorpus { .. })),
                "{text:?}"
            );
        }
    }

    #[test]
    fn packing_fills_every_sequence_but_the_last() {
        let ids: Vec<u32> = (0..23).map(|i| 5 + i % 4).collect();
        let packed =
            PackedSequences::new(TokenStream::from_ids(ids.clone()).unwrap(), 7, 2, 3).unwrap();
        assert_eq!(packed.len(), 5);
        let mut body = Vec::new();
        for i in 0..packed.len() {
            let seq = packed.sequence(i);
            assert_eq!((seq[0], *seq.last().unwrap()), (2, 3));
            assert!(seq.len() <= 7);
            if i + 1 < packed.len() {
                assert_eq!(seq.len(), 7);
            }
            body.extend_from_slice(&seq[1..seq.len() - 1]);
        }
        assert_eq!(body, ids);
        assert_eq!(packed.num_tokens(), 23 + 10);
        assert!(matches!(
            PackedSequences::new(TokenStream::from_ids(ids).unwrap(), 2, 2, 3),
            Err(Error::InvalidParameter {
                name: "max_length",
                ..
            })
        ));
    }

    #[test]
    fn held_out_tail_is_the_last_sequences() {
        let ids: Vec<u32> = (0..100).map(|i| 5 + i % 4).collect();
        let mut packed =
            PackedSequences::new(TokenStream::from_ids(ids).unwrap(), 12, 2, 3).unwrap();
        let all: Vec<Vec<u32>> = (0..packed.len()).map(|i| packed.sequence(i)).collect();
        let tail = packed.split_off_tail(0.2).unwrap();
        assert_eq!(packed.len() + tail.len(), all.len());
        assert_eq!(tail.len(), 2);
        for i in 0..tail.len() {
            assert_eq!(tail.sequence(i), all[packed.len() + i]);
        }
    }

    /// 25 distinct sequences of 8 tokens over a 105-token vocabulary.
    fn source(seed: u64) -> BatchSource {
        let ids: Vec<u32> = (0..200).map(|i| 5 + i * 37 % 100).collect();
        let packed = PackedSequences::new(TokenStream::from_ids(ids).unwrap(), 10, 2, 3).unwrap();
        let mut tokens: Vec<String> = crate::train::masking::SPECIAL_TOKENS
            .map(String::from)
            .to_vec();
        tokens.extend((0..100).map(|i| format!("t{i}")));
        let masker = Masker::new(MaskingConfig::default(), &Vocab::from_tokens(tokens)).unwrap();
        BatchSource::new(packed, masker, 0, seed)
    }

    #[test]
    fn batches_depend_only_on_their_place_in_the_run() {
        let mut a = source(3);
        let mut b = source(3);
        let first: Vec<MlmBatch> = (0..10).map(|k| a.batch(k * 4, 4)).collect();
        // Out of order, across passes (25 sequences per pass).
        for k in (0..10).rev() {
            assert_eq!(b.batch(k * 4, 4), first[k as usize]);
        }
        let mut c = source(4);
        assert_ne!(c.batch(0, 4), first[0]);
    }

    #[test]
    fn every_pass_visits_every_sequence_once() {
        let mut s = source(9);
        let n = s.sequences().len() as u64;
        let mut seen = vec![0; n as usize];
        let originals: Vec<Vec<u32>> = (0..n as usize).map(|i| s.sequences().sequence(i)).collect();
        for position in n..2 * n {
            let batch = s.batch(position, 1);
            // Labels restore the original ids at masked positions.
            let restored: Vec<u32> = batch
                .input_ids
                .iter()
                .zip(&batch.labels)
                .map(|(&id, &l)| if l >= 0 { l as u32 } else { id })
                .collect();
            let index = originals.iter().position(|o| *o == restored).unwrap();
            seen[index] += 1;
        }
        assert!(seen.iter().all(|&c| c == 1), "{seen:?}");
    }

    #[test]
    fn evaluation_batches_are_fixed_and_padded() {
        let s = source(1);
        let batches = s.evaluation_batches(8);
        assert_eq!(batches, s.evaluation_batches(8));
        let total: usize = batches.iter().map(|b| b.batch).sum();
        assert_eq!(total, s.sequences().len());
        let last = batches.last().unwrap();
        assert_eq!(last.attention_mask.len(), last.batch * last.seq_len);
        assert!(batches
            .iter()
            .all(|b| b.labels.iter().any(|&l| l != IGNORE_LABEL)));
    }

    #[test]
    fn sentence_pairs_are_drawn_afresh_each_pass_and_resume_exactly() {
        let mut text = String::new();
        for d in 0..12 {
            for s in 0..5 {
                text.push_str(&format!("a b{}\nc d\n", (d + s) % 3));
            }
            text.push('\n');
        }
        let tokenizer = tokenizer();
        let stream = TokenStream::from_reader(text.as_bytes(), Path::new("c"), &tokenizer).unwrap();
        let pairs = SentencePairs::new(stream, 10, 2, 3, 4).unwrap();
        let n = pairs.len() as u64;
        let masker = Masker::new(MaskingConfig::default(), tokenizer.vocab()).unwrap();
        let source = || BatchSource::new(pairs.clone(), masker.clone(), 0, 9);
        let mut a = source();
        let whole: Vec<MlmBatch> = (0..3 * n).step_by(4).map(|s| a.batch(s, 4)).collect();
        assert!(whole
            .iter()
            .all(|b| b.next_sentence_labels.len() == b.batch));
        assert!(whole[0].token_type_ids.contains(&1));
        // Any batch computed afresh is the one the run saw.
        let mut b = source();
        assert_eq!(b.batch(2 * n, 4), a.batch(2 * n, 4));
        // The second pass serves other instances than the first.
        let pass = |s: &mut BatchSource, p: u64| -> Vec<(Vec<u32>, i32)> {
            let batch = s.batch(p * n, n as usize);
            let mut rows: Vec<(Vec<u32>, i32)> = (0..batch.batch)
                .map(|r| {
                    let row = r * batch.seq_len..(r + 1) * batch.seq_len;
                    let ids = batch.input_ids[row.clone()]
                        .iter()
                        .zip(&batch.labels[row])
                        .map(|(&id, &l)| if l >= 0 { l as u32 } else { id })
                        .collect();
                    (ids, batch.next_sentence_labels[r])
                })
                .collect();
            rows.sort();
            rows
        };
        let first = pass(&mut b, 0);
        let second = pass(&mut b, 1);
        assert_eq!(first.len(), second.len());
        assert_ne!(first, second);
    }
}
