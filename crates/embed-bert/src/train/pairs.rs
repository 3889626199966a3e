//! Sentence-pair instances for next-sentence prediction, built as the
//! original BERT's `create_pretraining_data` builds them.
//!
//! Documents are separated by blank lines and their sentences are lines.
//! Walking through each document, sentences gather into a chunk until it
//! holds the target number of tokens (the maximum, `max_length − 3`, or
//! with probability [`SHORT_SEQUENCE_PROB`] a random length from 2 up, once
//! per document); then a random number of the chunk's first sentences
//! become segment A, and segment B is either
//!
//! * the rest of the chunk — the actual continuation, label
//!   [`IS_NEXT`] (0) — with probability 0.5, or
//! * a run of sentences from a random point of another document, label
//!   [`IS_RANDOM`] (1); the chunk's sentences left out of A are then put
//!   back, so they start the next chunk instead of being wasted.
//!
//! A chunk of one sentence always gets a random B. The longer segment is
//! then cut, one token at a time from its front or back at random, until
//! the pair fits. Each instance becomes `[CLS] A [SEP] B [SEP]`, token type
//! 0 up to the first `[SEP]` and 1 after it.
//!
//! Everything random comes from one generator seeded by the caller, so the
//! instances are the same on every run with that seed. Like the
//! reference's `dupe_factor`, which writes the corpus several times with
//! different draws, [`SentencePairs::round`] draws the instances afresh for
//! each pass over the corpus (other splits, other random segments, other
//! labels), so that a model cannot learn the pairs by heart.
//!
//! ```
//! use embed_bert::train::data::TokenStream;
//! use embed_bert::train::pairs::SentencePairs;
//! use embed_bert::{Tokenizer, TokenizerConfig, Vocab};
//! let vocab = Vocab::from_tokens(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "a", "b", "c", "d"]);
//! let tokenizer = Tokenizer::new(vocab, TokenizerConfig::default())?;
//! let text = "a b\nc d\na c\n\nd d\nb b\nc c\n";
//! let stream = TokenStream::from_reader(text.as_bytes(), "corpus".as_ref(), &tokenizer)?;
//! let pairs = SentencePairs::new(stream, 12, 2, 3, 1)?; // max length 12, [CLS]=2, [SEP]=3
//! let (ids, types) = pairs.sequence(0);
//! assert_eq!((ids[0], *ids.last().unwrap()), (2, 3));
//! assert_eq!(ids.iter().filter(|&&id| id == 3).count(), 2);
//! assert_eq!(types.len(), ids.len());
//! assert!(pairs.label(0) == 0 || pairs.label(0) == 1);
//! # Ok::<(), embed_core::Error>(())
//! ```

use std::ops::Range;
use std::sync::Arc;

use embed_core::seed::{self, derive_seed, Rng};
use embed_core::{Error, Result};
use rand::Rng as _;

use super::data::TokenStream;

/// Probability that a document's instances aim at a random shorter length
/// (2 up to the maximum), the reference's `short_seq_prob`, so that the
/// model also sees short sequences.
pub const SHORT_SEQUENCE_PROB: f64 = 0.1;

/// Label of a pair whose segment B follows segment A.
pub const IS_NEXT: i32 = 0;
/// Label of a pair whose segment B comes from another document.
pub const IS_RANDOM: i32 = 1;

/// The shortest sequence a pair needs: `[CLS] A [SEP] B [SEP]` with a
/// token in each segment.
pub(crate) const MIN_PAIR_LENGTH: usize = 5;

/// Checks that sequences of at most `max_length` ids have room for a pair
/// ([`MIN_PAIR_LENGTH`]); an [`Error::InvalidParameter`] named
/// `max_length` otherwise.
pub(crate) fn check_pair_length(max_length: usize) -> Result<()> {
    if max_length < MIN_PAIR_LENGTH {
        return Err(Error::invalid_parameter(
            "max_length",
            format!(
                "must be at least {MIN_PAIR_LENGTH} with next-sentence prediction ([CLS] A [SEP] B [SEP]), got {max_length}"
            ),
        ));
    }
    Ok(())
}

/// One instance: segments A and B as ranges of the token stream, and
/// whether B is a random segment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SentencePair {
    /// Segment A's tokens in the stream.
    pub a: Range<usize>,
    /// Segment B's tokens in the stream.
    pub b: Range<usize>,
    /// Whether B comes from another place than A's continuation.
    pub is_random: bool,
}

impl SentencePair {
    /// Hugging Face's `next_sentence_label`: [`IS_NEXT`] or [`IS_RANDOM`].
    pub fn label(&self) -> i32 {
        if self.is_random {
            IS_RANDOM
        } else {
            IS_NEXT
        }
    }
}

/// The documents instances are drawn from: the token ids and each
/// document's sentences.
#[derive(Debug, PartialEq, Eq)]
struct PairCorpus {
    ids: Arc<Vec<u32>>,
    documents: Vec<Vec<Range<usize>>>,
}

impl PairCorpus {
    /// Checks that random segments have another document to come from.
    fn check(&self) -> Result<()> {
        if self.documents.len() < 2 {
            return Err(Error::invalid_parameter(
                "nsp",
                format!(
                    "next-sentence prediction needs at least two documents (separated by blank lines) for its random segments; the corpus has {}",
                    self.documents.len()
                ),
            ));
        }
        Ok(())
    }

    /// Round `round` of the instances, drawn with a generator seeded by
    /// `seed` and the round.
    fn instances(&self, max_length: usize, seed: u64, round: u64) -> Vec<SentencePair> {
        let mut rng = seed::rng(seed, round);
        let mut pairs = Vec::new();
        for d in 0..self.documents.len() {
            document_pairs(&self.documents, d, max_length - 3, &mut rng, &mut pairs);
        }
        pairs
    }
}

/// Sentence-pair instances of a corpus (see the [module](self) docs): one
/// round of draws.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SentencePairs {
    corpus: Arc<PairCorpus>,
    pairs: Vec<SentencePair>,
    max_length: usize,
    cls: u32,
    sep: u32,
    seed: u64,
    round: u64,
}

impl SentencePairs {
    /// The instances of `stream` for sequences of at most `max_length`
    /// ids (at least 5: `[CLS]`, a token, `[SEP]`, a token, `[SEP]`), drawn
    /// with a generator seeded by `seed`. The stream must hold at least two
    /// documents, so that a random segment can come from another one.
    pub fn new(
        stream: TokenStream,
        max_length: usize,
        cls: u32,
        sep: u32,
        seed: u64,
    ) -> Result<Self> {
        check_pair_length(max_length)?;
        // Every document of a stream has a sentence, and every sentence a token.
        let documents: Vec<Vec<Range<usize>>> = (0..stream.documents())
            .map(|d| stream.document_sentences(d).to_vec())
            .collect();
        let corpus = PairCorpus {
            ids: Arc::new(stream.into_ids()),
            documents,
        };
        corpus.check()?;
        Ok(SentencePairs {
            pairs: corpus.instances(max_length, seed, 0),
            corpus: Arc::new(corpus),
            max_length,
            cls,
            sep,
            seed,
            round: 0,
        })
    }

    /// The instances of the same corpus drawn afresh for round `round`
    /// (round 0 gives those [`SentencePairs::new`] drew). The number of
    /// instances varies a little from round to round.
    ///
    /// ```
    /// # use embed_bert::train::data::TokenStream;
    /// # use embed_bert::train::pairs::SentencePairs;
    /// # use embed_bert::{Tokenizer, TokenizerConfig, Vocab};
    /// # let vocab = Vocab::from_tokens(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "a", "b"]);
    /// # let tokenizer = Tokenizer::new(vocab, TokenizerConfig::default())?;
    /// let text = "a b\nb a\na a\nb b\n\n".repeat(10);
    /// let stream = TokenStream::from_reader(text.as_bytes(), "c".as_ref(), &tokenizer)?;
    /// let pairs = SentencePairs::new(stream, 8, 2, 3, 1)?;
    /// assert_eq!(pairs.round(1).round(0), pairs);
    /// assert_ne!(pairs.round(1), pairs);
    /// # Ok::<(), embed_core::Error>(())
    /// ```
    pub fn round(&self, round: u64) -> SentencePairs {
        SentencePairs {
            corpus: Arc::clone(&self.corpus),
            pairs: if round == self.round {
                self.pairs.clone()
            } else {
                self.corpus.instances(self.max_length, self.seed, round)
            },
            round,
            ..*self
        }
    }

    /// Number of documents the instances are drawn from.
    pub fn documents(&self) -> usize {
        self.corpus.documents.len()
    }

    /// Number of instances.
    pub fn len(&self) -> usize {
        self.pairs.len()
    }

    /// Whether there is no instance.
    pub fn is_empty(&self) -> bool {
        self.pairs.is_empty()
    }

    /// Tokens in all sequences, special tokens included.
    pub fn num_tokens(&self) -> usize {
        self.pairs.iter().map(|p| p.a.len() + p.b.len() + 3).sum()
    }

    /// Instance `index`.
    pub fn pair(&self, index: usize) -> &SentencePair {
        &self.pairs[index]
    }

    /// The next-sentence label of instance `index`.
    pub fn label(&self, index: usize) -> i32 {
        self.pairs[index].label()
    }

    /// Instance `index` as ids `[CLS] A [SEP] B [SEP]` and token types.
    pub fn sequence(&self, index: usize) -> (Vec<u32>, Vec<u32>) {
        let (mut ids, mut types) = (Vec::new(), Vec::new());
        self.write_sequence(index, &mut ids, &mut types);
        (ids, types)
    }

    /// Appends instance `index`'s ids to `ids` and its token types to
    /// `types` (as long as `ids` before the call).
    pub(crate) fn write_sequence(&self, index: usize, ids: &mut Vec<u32>, types: &mut Vec<u32>) {
        let pair = &self.pairs[index];
        ids.push(self.cls);
        ids.extend_from_slice(&self.corpus.ids[pair.a.clone()]);
        ids.push(self.sep);
        let first = ids.len();
        ids.extend_from_slice(&self.corpus.ids[pair.b.clone()]);
        ids.push(self.sep);
        types.resize(first, 0);
        types.resize(ids.len(), 1);
    }

    /// Keeps only the first `count` instances.
    pub fn truncate(&mut self, count: usize) {
        self.pairs.truncate(count);
    }

    /// Splits off a held-out set of about `fraction` of the documents —
    /// every `k`-th, `k = round(1 / fraction)`, so that they are spread
    /// over the corpus and a held-out pair's random segment comes from
    /// across it too — each part with its instances drawn afresh from its
    /// own documents, so no document serves both. `None` when `fraction`
    /// is not in (0, 1) or either part would have fewer than two
    /// documents.
    pub fn split_off_documents(&mut self, fraction: f64) -> Option<SentencePairs> {
        if !(fraction > 0.0 && fraction < 1.0) {
            return None;
        }
        let every = ((1.0 / fraction).round() as usize).max(2);
        let all = &self.corpus.documents;
        let held: Vec<Vec<Range<usize>>> =
            all.iter().skip(every - 1).step_by(every).cloned().collect();
        let kept: Vec<Vec<Range<usize>>> = all
            .iter()
            .enumerate()
            .filter(|(d, _)| d % every != every - 1)
            .map(|(_, doc)| doc.clone())
            .collect();
        if held.len() < 2 || kept.len() < 2 {
            return None;
        }
        let part = |documents| PairCorpus {
            ids: Arc::clone(&self.corpus.ids),
            documents,
        };
        let (held, kept) = (part(held), part(kept));
        let held_seed = derive_seed(self.seed, HELD_OUT_STREAM);
        let tail = SentencePairs {
            pairs: held.instances(self.max_length, held_seed, 0),
            corpus: Arc::new(held),
            seed: held_seed,
            round: 0,
            ..*self
        };
        self.pairs = kept.instances(self.max_length, self.seed, self.round);
        self.corpus = Arc::new(kept);
        Some(tail)
    }
}

/// Stream number of the held-out part's generator.
const HELD_OUT_STREAM: u64 = 0x484f_4c44; // "HOLD"

/// The instances of document `d`, appended to `out` (the reference's
/// `create_instances_from_document`).
fn document_pairs(
    documents: &[Vec<Range<usize>>],
    d: usize,
    max_tokens: usize,
    rng: &mut Rng,
    out: &mut Vec<SentencePair>,
) {
    let document = &documents[d];
    let target = if rng.gen::<f64>() < SHORT_SEQUENCE_PROB {
        rng.gen_range(2..=max_tokens)
    } else {
        max_tokens
    };
    // The chunk is the sentences `chunk_start..=i`.
    let mut chunk_start = 0;
    let mut chunk_tokens = 0;
    let mut i = 0;
    while i < document.len() {
        chunk_tokens += document[i].len();
        if i + 1 == document.len() || chunk_tokens >= target {
            let chunk = &document[chunk_start..=i];
            let a_end = if chunk.len() >= 2 {
                rng.gen_range(1..chunk.len())
            } else {
                1
            };
            let a = chunk[0].start..chunk[a_end - 1].end;
            let is_random = chunk.len() == 1 || rng.gen::<f64>() < 0.5;
            let b = if is_random {
                let wanted = target.saturating_sub(a.len());
                // Uniform over the other documents (at least one exists:
                // checked at construction). The reference retries ten
                // times and may keep A's own document, labelling its real
                // continuation "random".
                let mut other = rng.gen_range(0..documents.len() - 1);
                if other >= d {
                    other += 1;
                }
                let source = &documents[other];
                let first = rng.gen_range(0..source.len());
                let mut last = first;
                while source[last].end - source[first].start < wanted && last + 1 < source.len() {
                    last += 1;
                }
                // Put back the sentences A did not use.
                i -= chunk.len() - a_end;
                source[first].start..source[last].end
            } else {
                chunk[a_end].start..chunk[chunk.len() - 1].end
            };
            let (a, b) = truncate_pair(a, b, max_tokens, rng);
            out.push(SentencePair { a, b, is_random });
            chunk_start = i + 1;
            chunk_tokens = 0;
        }
        i += 1;
    }
}

/// Cuts the longer of the two segments (B when they are equal), one token
/// at a time from its front or back at random, until both fit in
/// `max_tokens` (the reference's `truncate_seq_pair`).
fn truncate_pair(
    mut a: Range<usize>,
    mut b: Range<usize>,
    max_tokens: usize,
    rng: &mut Rng,
) -> (Range<usize>, Range<usize>) {
    while a.len() + b.len() > max_tokens {
        let longer = if a.len() > b.len() { &mut a } else { &mut b };
        if rng.gen::<f64>() < 0.5 {
            longer.start += 1;
        } else {
            longer.end -= 1;
        }
    }
    (a, b)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Tokenizer, TokenizerConfig, Vocab};
    use proptest::prelude::*;
    use std::path::Path;

    const CLS: u32 = 2;
    const SEP: u32 = 3;

    /// Words `w0`..`w199` are ids 5..205.
    fn tokenizer() -> Tokenizer {
        let mut tokens: Vec<String> = crate::train::masking::SPECIAL_TOKENS
            .map(String::from)
            .to_vec();
        tokens.extend((0..200).map(|i| format!("w{i}")));
        Tokenizer::new(Vocab::from_tokens(tokens), TokenizerConfig::default()).unwrap()
    }

    /// Documents of sentences of consecutive words, each word unique in the
    /// corpus, so that a segment's words tell where it comes from.
    fn corpus(shape: &[Vec<usize>]) -> String {
        let mut word = 0;
        let mut text = String::new();
        for document in shape {
            for &len in document {
                let line: Vec<String> = (0..len)
                    .map(|_| {
                        word += 1;
                        format!("w{}", word - 1)
                    })
                    .collect();
                text.push_str(&line.join(" "));
                text.push('\n');
            }
            text.push('\n');
        }
        text
    }

    fn stream(text: &str) -> TokenStream {
        TokenStream::from_reader(text.as_bytes(), Path::new("corpus"), &tokenizer()).unwrap()
    }

    /// The document of stream position `at`, and the sentence ranges.
    fn locate(stream: &TokenStream, at: usize) -> usize {
        (0..stream.documents())
            .find(|&d| {
                let s = stream.document_sentences(d);
                s[0].start <= at && at < s[s.len() - 1].end
            })
            .unwrap()
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        #[test]
        fn instances_follow_the_reference_rules(
            shape in prop::collection::vec(prop::collection::vec(1usize..9, 1..7), 2..6),
            max_length in 5usize..24,
            seed in any::<u64>(),
        ) {
            let total: usize = shape.iter().flatten().sum();
            prop_assume!(total <= 200);
            let stream = stream(&corpus(&shape));
            let pairs = SentencePairs::new(stream.clone(), max_length, CLS, SEP, seed).unwrap();
            prop_assert!(!pairs.is_empty());
            for k in 0..pairs.len() {
                let p = pairs.pair(k);
                prop_assert!(!p.a.is_empty() && !p.b.is_empty(), "{:?}", p);
                prop_assert!(p.a.len() + p.b.len() + 3 <= max_length);
                let (ids, types) = pairs.sequence(k);
                let first_sep = ids.iter().position(|&id| id == SEP).unwrap();
                prop_assert_eq!(ids[0], CLS);
                prop_assert_eq!(first_sep, p.a.len() + 1);
                prop_assert_eq!(*ids.last().unwrap(), SEP);
                prop_assert!(types[..=first_sep].iter().all(|&t| t == 0));
                prop_assert!(types[first_sep + 1..].iter().all(|&t| t == 1));
                let (da, db) = (locate(&stream, p.a.start), locate(&stream, p.b.start));
                prop_assert_eq!(locate(&stream, p.a.end - 1), da, "A stays in one document");
                prop_assert_eq!(locate(&stream, p.b.end - 1), db, "B stays in one document");
                if p.is_random {
                    prop_assert_ne!(da, db, "a random B comes from another document");
                } else {
                    prop_assert_eq!(da, db);
                    prop_assert!(p.b.start >= p.a.end, "B follows A");
                }
            }
            prop_assert_eq!(
                pairs.sequence(0),
                SentencePairs::new(stream, max_length, CLS, SEP, seed).unwrap().sequence(0)
            );
        }
    }

    #[test]
    fn about_half_are_random_and_no_sentence_is_wasted() {
        // 40 documents of 12 sentences of 3 words; max length 16 leaves 13
        // tokens, so a chunk holds up to 5 sentences.
        let mut text = String::new();
        for d in 0..40 {
            for s in 0..12 {
                let w = 3 * ((d * 12 + s) % 66);
                text.push_str(&format!("w{} w{} w{}\n", w, w + 1, w + 2));
            }
            text.push('\n');
        }
        let stream = stream(&text);
        let pairs = SentencePairs::new(stream.clone(), 16, CLS, SEP, 7).unwrap();
        let random = (0..pairs.len())
            .filter(|&k| pairs.pair(k).is_random)
            .count();
        let share = random as f64 / pairs.len() as f64;
        // Chunks of one sentence (documents' tails) are always random, so
        // the share sits a little above one half.
        assert!((0.45..0.7).contains(&share), "{random} of {}", pairs.len());
        // Every sentence has tokens in some segment A or in some
        // continuation B: sentences a random B displaced were put back.
        let mut used = vec![false; stream.ids().len()];
        for k in 0..pairs.len() {
            let p = pairs.pair(k);
            used[p.a.clone()].fill(true);
            if !p.is_random {
                used[p.b.clone()].fill(true);
            }
        }
        for d in 0..stream.documents() {
            for sentence in stream.document_sentences(d) {
                assert!(
                    used[sentence.clone()].iter().any(|&u| u),
                    "sentence {sentence:?} of document {d} is in no instance"
                );
            }
        }
    }

    #[test]
    fn truncation_cuts_the_longer_segment() {
        let mut rng = seed::rng(3, 0);
        let (a, b) = truncate_pair(0..10, 20..23, 8, &mut rng);
        assert_eq!((a.len(), b.len()), (5, 3));
        assert!(a.start <= 5 && a.end >= 5 && a.end <= 10);
        let (a, b) = truncate_pair(0..4, 10..14, 6, &mut rng);
        assert_eq!((a.len(), b.len()), (3, 3));
    }

    #[test]
    fn one_document_or_short_sequences_are_named_errors() {
        let one = stream("w1 w2\nw3 w4\n");
        assert!(matches!(
            SentencePairs::new(one, 12, CLS, SEP, 1),
            Err(Error::InvalidParameter { name: "nsp", .. })
        ));
        let two = stream("w1 w2\n\nw3 w4\n");
        assert!(matches!(
            SentencePairs::new(two.clone(), 4, CLS, SEP, 1),
            Err(Error::InvalidParameter {
                name: "max_length",
                ..
            })
        ));
        assert!(SentencePairs::new(two, 5, CLS, SEP, 1).is_ok());
    }

    #[test]
    fn held_out_documents_are_spread_and_kept_apart() {
        let shape = vec![vec![2, 3, 2, 4]; 20];
        let stream = stream(&corpus(&shape));
        let mut pairs = SentencePairs::new(stream.clone(), 9, CLS, SEP, 2).unwrap();
        let held = pairs.split_off_documents(0.25).unwrap();
        assert_eq!((pairs.documents(), held.documents()), (15, 5));
        // Held-out documents are 3, 7, 11, …: no segment of either part
        // comes from the other's documents.
        let held_docs = |at: usize| locate(&stream, at) % 4 == 3;
        for k in 0..held.len() {
            let p = held.pair(k);
            assert!(held_docs(p.a.start) && held_docs(p.b.start), "{p:?}");
        }
        for k in 0..pairs.len() {
            let p = pairs.pair(k);
            assert!(!held_docs(p.a.start) && !held_docs(p.b.start), "{p:?}");
        }
        // Rounds after the split stay within the part.
        let again = pairs.round(3);
        assert!((0..again.len()).all(|k| !held_docs(again.pair(k).b.start)));
        assert!(SentencePairs::new(stream, 9, CLS, SEP, 2)
            .unwrap()
            .split_off_documents(0.0)
            .is_none());
    }

    #[test]
    fn rounds_draw_other_instances_of_the_same_corpus() {
        let shape = vec![vec![3, 2, 4, 3, 2]; 30];
        let stream = stream(&corpus(&shape));
        let pairs = SentencePairs::new(stream, 12, CLS, SEP, 5).unwrap();
        let second = pairs.round(1);
        assert_ne!(second.pairs, pairs.pairs);
        assert_eq!(second, pairs.round(1), "a round is reproducible");
        assert_eq!(second.round(0), pairs);
        let n = pairs.len() as f64;
        assert!((second.len() as f64 - n).abs() < 0.2 * n);
        for k in 0..second.len() {
            let p = second.pair(k);
            assert!(p.a.len() + p.b.len() + 3 <= 12);
        }
    }
}
