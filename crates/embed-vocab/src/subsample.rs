//! Down-sampling of frequent words.
//!
//! Each occurrence of word `w` is kept with a probability that falls as the
//! word's frequency rises; the table of probabilities is computed once.
//!
//! * word2vec C ([`Subsampler::new`]): with `f` the word's count, `T` the
//!   vocabulary's [total words](crate::Vocabulary::total_words) and `s` the
//!   `sample` parameter, `p(w) = (sqrt(f / (s·T)) + 1) · s·T / f`.
//! * fastText ([`Subsampler::fasttext`]): with `r = count / N` the relative
//!   frequency over all `N` tokens read ([`corpus_words`](crate::Vocabulary::corpus_words)),
//!   `p(w) = sqrt(t / r) + t / r` (`Dictionary::initTableDiscard`).
//!
//! An occurrence is kept when a uniform draw `u ∈ [0, 1)` satisfies
//! `u <= p(w)` (both tools discard when `p(w) < u`); probabilities above 1
//! simply always keep.

use embed_core::{Error, Result};

use crate::Vocabulary;

/// Precomputed keep probabilities, one per word id.
///
/// ```
/// use embed_vocab::{InMemoryCorpus, Subsampler, Vocabulary, VocabParams};
/// let text = "a a a a a a a a b";
/// let vocab = Vocabulary::build(&InMemoryCorpus::from_text(text), &VocabParams::builder().min_count(1).build()?)?;
/// let sub = Subsampler::new(&vocab, 0.1)?;
/// // s·T = 0.9; p(a) = (sqrt(8 / 0.9) + 1) · 0.9 / 8
/// assert!((sub.keep_probability(0) - 0.4479).abs() < 1e-4);
/// assert!(sub.keep(1, 0.999)); // p(b) > 1: always kept
/// assert!(Subsampler::new(&vocab, 0.0)?.keep(0, 0.999)); // sample 0 disables
/// # Ok::<(), embed_core::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct Subsampler {
    keep: Vec<f32>,
}

fn check_sample(name: &'static str, sample: f64) -> Result<()> {
    if !sample.is_finite() || sample < 0.0 {
        return Err(Error::invalid_parameter(
            name,
            format!("must be a finite number >= 0, got {sample}"),
        ));
    }
    Ok(())
}

impl Subsampler {
    /// word2vec C's sub-sampling with threshold `sample` (its `-sample`,
    /// default 1e-3); `0` keeps every word.
    pub fn new(vocab: &Vocabulary, sample: f64) -> Result<Self> {
        check_sample("sample", sample)?;
        let threshold = sample * vocab.total_words() as f64;
        let keep = vocab
            .counts()
            .iter()
            .map(|&c| {
                if sample == 0.0 || c == 0 {
                    1.0
                } else {
                    let f = c as f64;
                    (((f / threshold).sqrt() + 1.0) * threshold / f) as f32
                }
            })
            .collect();
        Ok(Subsampler { keep })
    }

    /// fastText's sub-sampling with threshold `t` (its `-t`, default 1e-4);
    /// frequencies are relative to every token read from the corpus.
    ///
    /// ```
    /// use embed_vocab::{InMemoryCorpus, Subsampler, Vocabulary, VocabParams};
    /// let vocab = Vocabulary::build(&InMemoryCorpus::from_text("a a a b"), &VocabParams::builder().min_count(2).build()?)?;
    /// let sub = Subsampler::fasttext(&vocab, 0.01)?;
    /// let r = 3.0_f64 / 4.0; // b was read too
    /// let p = (0.01 / r).sqrt() + 0.01 / r;
    /// assert!((sub.keep_probability(0) as f64 - p).abs() < 1e-6);
    /// # Ok::<(), embed_core::Error>(())
    /// ```
    pub fn fasttext(vocab: &Vocabulary, t: f64) -> Result<Self> {
        check_sample("t", t)?;
        let n = vocab.corpus_words() as f64;
        let keep = vocab
            .counts()
            .iter()
            .map(|&c| {
                if t == 0.0 || c == 0 {
                    1.0
                } else {
                    let r = c as f64 / n;
                    ((t / r).sqrt() + t / r) as f32
                }
            })
            .collect();
        Ok(Subsampler { keep })
    }

    /// The probability of keeping an occurrence of word `id` (may exceed 1;
    /// 1 for ids outside the vocabulary).
    #[inline]
    pub fn keep_probability(&self, id: u32) -> f32 {
        self.keep.get(id as usize).copied().unwrap_or(1.0)
    }

    /// Whether to keep an occurrence of `id`, given a uniform draw in
    /// `[0, 1)` (e.g. [`embed_core::seed::Lcg::next_unit_f32`]).
    #[inline]
    pub fn keep(&self, id: u32, random_unit: f32) -> bool {
        random_unit <= self.keep_probability(id)
    }

    /// The keep probabilities, in id order.
    pub fn probabilities(&self) -> &[f32] {
        &self.keep
    }
}
