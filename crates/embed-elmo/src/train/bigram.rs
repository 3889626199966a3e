//! A count-based baseline: an interpolated Kneser-Ney bigram model of the
//! forward direction, on the same vocabulary and sentences as the biLM.
//!
//! With `c(v, w)` the bigram counts of the training sentences (each read as
//! `<S> w1 … wn </S>`), `N₁₊(v •)` the number of distinct words after `v`,
//! `N₁₊(• w)` the number of distinct words before `w` and `N₁₊(• •)` the
//! number of distinct bigrams:
//!
//! ```text
//! P(w | v)  = max(c(v, w) − D, 0) / c(v) + D · N₁₊(v •) / c(v) · P₁(w)     (c(v) > 0)
//!           = P₁(w)                                                          (c(v) = 0)
//! P₁(w)     = max(N₁₊(• w) − D₁, 0) / N₁₊(• •) + D₁ · T / N₁₊(• •) · 1 / |V|
//! ```
//!
//! where `T` is the number of words with `N₁₊(• w) > 0`, `|V|` the number of
//! words that can be predicted (the vocabulary without `<S>`), and each
//! discount is Ney's estimate `n₁ / (n₁ + 2 n₂)` from the counts-of-counts of
//! its level. Every probability is above zero and each `P(· | v)` sums to 1.

use std::collections::HashMap;
use std::ops::Range;

use embed_core::{Error, Result};

use super::data::{LmVocabulary, TokenizedText, BOS_ID, EOS_ID};

/// An interpolated Kneser-Ney bigram language model over word ids.
///
/// ```
/// use embed_elmo::train::bigram::KneserNeyBigram;
/// use embed_elmo::train::data::{LmVocabulary, TokenizedText};
/// let text = TokenizedText::from_text("the cat sat\nthe dog sat\nthe cat ran\n", 100);
/// let vocab = LmVocabulary::build(&text, 0..2, 1, None)?;
/// let model = KneserNeyBigram::train(&text, 0..2, &vocab)?;
/// let heldout = model.evaluate(&text, 2..3, &vocab);
/// assert_eq!(heldout.tokens, 4); // the cat ran </S>
/// assert!(heldout.perplexity() > 1.0 && heldout.perplexity() < vocab.len() as f64);
/// # Ok::<(), embed_core::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct KneserNeyBigram {
    bigrams: HashMap<(u32, u32), u64>,
    /// Per context `v`: `c(v)` and `N₁₊(v •)`.
    contexts: HashMap<u32, (u64, u64)>,
    /// `N₁₊(• w)` by word id.
    continuations: Vec<u64>,
    distinct_bigrams: u64,
    discount: f64,
    unigram_discount: f64,
    continued_words: u64,
    predictable_words: usize,
}

/// Summed negative log-likelihood of a text.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct NllStats {
    /// Σ −ln P(target | previous) (nats).
    pub nll: f64,
    /// Targets scored.
    pub tokens: usize,
}

impl NllStats {
    /// `exp(nll / tokens)`.
    pub fn perplexity(&self) -> f64 {
        (self.nll / self.tokens.max(1) as f64).exp()
    }
}

/// Ney's discount `n₁ / (n₁ + 2 n₂)` from counts; 0.5 when undefined.
fn ney_discount(counts: impl Iterator<Item = u64>) -> f64 {
    let (mut n1, mut n2) = (0u64, 0u64);
    for c in counts {
        match c {
            1 => n1 += 1,
            2 => n2 += 1,
            _ => {}
        }
    }
    if n1 == 0 {
        0.5
    } else {
        n1 as f64 / (n1 + 2 * n2) as f64
    }
}

/// The word ids of sentence `i` with `<S>` before and `</S>` after.
fn bounded_ids(text: &TokenizedText, vocab_of_type: &[u32], i: usize) -> Vec<u32> {
    let mut ids = Vec::with_capacity(text.sentence(i).len() + 2);
    ids.push(BOS_ID);
    ids.extend(text.sentence(i).iter().map(|&t| vocab_of_type[t as usize]));
    ids.push(EOS_ID);
    ids
}

impl KneserNeyBigram {
    /// Counts the bigrams of the sentences `range` of `text`.
    pub fn train(text: &TokenizedText, range: Range<usize>, vocab: &LmVocabulary) -> Result<Self> {
        if text.num_tokens(range.clone()) == 0 {
            return Err(Error::EmptyCorpus {
                source_name: "the bigram model's training text".into(),
                detail: String::new(),
            });
        }
        let vocab_of_type: Vec<u32> = text.types().iter().map(|w| vocab.id(w)).collect();
        let mut bigrams: HashMap<(u32, u32), u64> = HashMap::new();
        for i in range {
            let ids = bounded_ids(text, &vocab_of_type, i);
            for pair in ids.windows(2) {
                *bigrams.entry((pair[0], pair[1])).or_default() += 1;
            }
        }
        let mut contexts: HashMap<u32, (u64, u64)> = HashMap::new();
        let mut continuations = vec![0u64; vocab.len()];
        for (&(v, w), &c) in &bigrams {
            let entry = contexts.entry(v).or_default();
            entry.0 += c;
            entry.1 += 1;
            continuations[w as usize] += 1;
        }
        Ok(KneserNeyBigram {
            discount: ney_discount(bigrams.values().copied()),
            unigram_discount: ney_discount(continuations.iter().copied()),
            continued_words: continuations.iter().filter(|&&c| c > 0).count() as u64,
            distinct_bigrams: bigrams.len() as u64,
            predictable_words: vocab.len() - 1,
            bigrams,
            contexts,
            continuations,
        })
    }

    /// The bigram level's discount `D`.
    pub fn discount(&self) -> f64 {
        self.discount
    }

    /// The continuation level's discount `D₁`.
    pub fn unigram_discount(&self) -> f64 {
        self.unigram_discount
    }

    /// `P₁(w)`: the continuation probability, smoothed towards uniform.
    pub fn continuation_prob(&self, word: u32) -> f64 {
        if word == BOS_ID {
            return 0.0;
        }
        let n = self.distinct_bigrams as f64;
        let seen = self.continuations.get(word as usize).copied().unwrap_or(0) as f64;
        (seen - self.unigram_discount).max(0.0) / n
            + self.unigram_discount * self.continued_words as f64
                / n
                / self.predictable_words as f64
    }

    /// `P(word | previous)`.
    pub fn prob(&self, previous: u32, word: u32) -> f64 {
        let lower = self.continuation_prob(word);
        match self.contexts.get(&previous) {
            Some(&(total, distinct)) => {
                let total = total as f64;
                let count = self.bigrams.get(&(previous, word)).copied().unwrap_or(0) as f64;
                (count - self.discount).max(0.0) / total
                    + self.discount * distinct as f64 / total * lower
            }
            None => lower,
        }
    }

    /// The negative log-likelihood of the sentences `range` of `text`: every
    /// word and the `</S>` of each sentence, each given the one before.
    pub fn evaluate(
        &self,
        text: &TokenizedText,
        range: Range<usize>,
        vocab: &LmVocabulary,
    ) -> NllStats {
        let vocab_of_type: Vec<u32> = text.types().iter().map(|w| vocab.id(w)).collect();
        let mut stats = NllStats::default();
        for i in range {
            let ids = bounded_ids(text, &vocab_of_type, i);
            for pair in ids.windows(2) {
                stats.nll -= self.prob(pair[0], pair[1]).ln();
                stats.tokens += 1;
            }
        }
        stats
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Training `a b` and `a a b`: bigrams (<S>,a)×2, (a,b)×2, (b,</S>)×2, (a,a)×1.
    fn fixture() -> (TokenizedText, LmVocabulary, KneserNeyBigram) {
        let text = TokenizedText::from_text("a b\na a b\na b\n", 100);
        let vocab = LmVocabulary::build(&text, 0..2, 1, None).unwrap();
        let model = KneserNeyBigram::train(&text, 0..2, &vocab).unwrap();
        (text, vocab, model)
    }

    #[test]
    fn matches_hand_computed_probabilities() {
        let (text, vocab, model) = fixture();
        assert_eq!(vocab.words(), ["</S>", "<S>", "<UNK>", "a", "b"]);
        let (a, b, unk) = (vocab.id("a"), vocab.id("b"), vocab.id("zzz"));
        // Bigram counts-of-counts: one count of 1, three of 2 → D = 1 / (1 + 6).
        assert!((model.discount() - 1.0 / 7.0).abs() < 1e-12);
        // Continuations N₁₊(• w): a 2 (after <S>, a), b 1, </S> 1 → D₁ = 2 / (2 + 2).
        assert!((model.unigram_discount() - 0.5).abs() < 1e-12);
        // P₁(w) = max(N − ½, 0) / 4 + ½ · 3 / 4 · ¼, with 4 bigram types, 3 continued
        // words and 4 predictable words (</S>, <UNK>, a, b).
        let floor = 0.5 * 3.0 / 4.0 / 4.0;
        let p1 = |n: f64| (n - 0.5f64).max(0.0) / 4.0 + floor;
        assert!((model.continuation_prob(a) - p1(2.0)).abs() < 1e-12);
        assert!((model.continuation_prob(b) - 0.21875).abs() < 1e-12);
        assert!((model.continuation_prob(unk) - 0.09375).abs() < 1e-12);
        // P(b | a): c(a) = 3, c(a, b) = 2, N₁₊(a •) = 2.
        let d = 1.0 / 7.0;
        let p_b_a = (2.0 - d) / 3.0 + d * 2.0 / 3.0 * 0.21875;
        assert!((model.prob(a, b) - p_b_a).abs() < 1e-12);
        assert!((p_b_a - 0.639_880_952_380_952).abs() < 1e-12);
        // P(a | <S>) and P(</S> | b): c = 2, count 2, one distinct follower.
        let p_a_s = (2.0 - d) / 2.0 + d / 2.0 * 0.46875;
        let p_e_b = (2.0 - d) / 2.0 + d / 2.0 * 0.21875;
        assert!((model.prob(BOS_ID, a) - p_a_s).abs() < 1e-12);
        // An unseen context falls back to P₁.
        assert!((model.prob(unk, b) - 0.21875).abs() < 1e-12);
        // The held-out sentence `a b` scores a|<S>, b|a, </S>|b.
        let stats = model.evaluate(&text, 2..3, &vocab);
        assert_eq!(stats.tokens, 3);
        let expected = -(p_a_s.ln() + p_b_a.ln() + p_e_b.ln());
        assert!((stats.nll - expected).abs() < 1e-12);
        assert!((stats.perplexity() - (expected / 3.0).exp()).abs() < 1e-12);
    }

    #[test]
    fn every_context_is_a_distribution() {
        let text = TokenizedText::from_text(
            "the cat sat on the mat\nthe dog sat on the log\na cat and a dog\nthe end\n",
            100,
        );
        let vocab = LmVocabulary::build(&text, 0..3, 1, Some(8)).unwrap();
        let model = KneserNeyBigram::train(&text, 0..3, &vocab).unwrap();
        for previous in 0..vocab.len() as u32 {
            let total: f64 = (0..vocab.len() as u32)
                .map(|w| model.prob(previous, w))
                .sum();
            assert!((total - 1.0).abs() < 1e-12, "context {previous}: {total}");
            for w in 0..vocab.len() as u32 {
                assert!(w == BOS_ID || model.prob(previous, w) > 0.0);
            }
        }
        assert!(model.evaluate(&text, 3..4, &vocab).perplexity().is_finite());
    }

    #[test]
    fn empty_training_text_is_an_error() {
        let text = TokenizedText::from_text("a\n", 100);
        let vocab = LmVocabulary::build(&text, 0..1, 1, None).unwrap();
        assert!(KneserNeyBigram::train(&text, 1..1, &vocab).is_err());
    }
}
