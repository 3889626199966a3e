//! Choosing and corrupting the positions a masked language model predicts.
//!
//! The original BERT recipe: of the positions that hold ordinary tokens
//! (not `[CLS]`, `[SEP]`, `[PAD]` or `[MASK]`), `round(mask_prob · n)` are
//! chosen (at least one, at most `max_predictions`); each chosen position
//! keeps its original id as the label, and its input becomes `[MASK]` with
//! probability 0.8, a random ordinary token (never `[UNK]`) with
//! probability 0.1, or stays unchanged. With whole-word masking, a word's
//! `##` pieces are chosen together with the piece that starts it, and a
//! word that would overshoot the number to predict is skipped.
//!
//! ```
//! use embed_bert::train::masking::{Masker, MaskingConfig};
//! use embed_bert::Vocab;
//! let vocab = Vocab::from_tokens(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "a", "b", "##c"]);
//! let masker = Masker::new(MaskingConfig::default(), &vocab)?;
//! let mut ids = vec![2, 5, 6, 7, 5, 6, 7, 5, 3];
//! let mut labels = vec![0; ids.len()];
//! let mut rng = embed_core::seed::rng(1, 0);
//! let chosen = masker.mask(&mut ids, &mut labels, &mut rng);
//! assert_eq!(chosen, 1); // round(0.15 · 7) = 1
//! assert_eq!(labels.iter().filter(|&&l| l >= 0).count(), 1);
//! assert_eq!((ids[0], ids[8]), (2, 3)); // [CLS] and [SEP] are never chosen
//! # Ok::<(), embed_core::Error>(())
//! ```

use embed_core::seed::Rng;
use embed_core::{Error, Result};
use rand::seq::SliceRandom;
use rand::Rng as _;
use serde::{Deserialize, Serialize};

use crate::tokenizer::{Vocab, CONTINUATION_PREFIX};

/// The label of a position the model does not predict (PyTorch's
/// `ignore_index`).
pub const IGNORE_LABEL: i32 = -100;

/// The special tokens a masker needs in the vocabulary.
pub const SPECIAL_TOKENS: [&str; 5] = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"];

/// How positions are chosen and corrupted.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct MaskingConfig {
    /// Fraction of ordinary positions to predict, in (0, 1). Default 0.15.
    pub mask_prob: f64,
    /// Most positions predicted per sequence (at least 1). Default 20, the
    /// original recipe's value for 128-token sequences.
    pub max_predictions: usize,
    /// Choose whole words (a piece and the `##` pieces after it). Default
    /// false.
    pub whole_word: bool,
}

impl Default for MaskingConfig {
    fn default() -> Self {
        MaskingConfig {
            mask_prob: 0.15,
            max_predictions: 20,
            whole_word: false,
        }
    }
}

impl MaskingConfig {
    /// Checks every field; the error names the first bad one.
    pub fn validate(&self) -> Result<()> {
        if !(self.mask_prob > 0.0 && self.mask_prob < 1.0) {
            return Err(Error::invalid_parameter(
                "mask_prob",
                format!("must lie in (0, 1), got {}", self.mask_prob),
            ));
        }
        if self.max_predictions == 0 {
            return Err(Error::invalid_parameter(
                "max_predictions",
                "must be at least 1",
            ));
        }
        Ok(())
    }

    /// How many positions a sequence with `candidates` ordinary positions
    /// predicts.
    ///
    /// ```
    /// let c = embed_bert::train::masking::MaskingConfig::default();
    /// assert_eq!(c.predictions_for(126), 19);
    /// assert_eq!(c.predictions_for(500), 20);
    /// assert_eq!(c.predictions_for(2), 1);
    /// assert_eq!(c.predictions_for(0), 0);
    /// ```
    pub fn predictions_for(&self, candidates: usize) -> usize {
        if candidates == 0 {
            return 0;
        }
        let wanted = (candidates as f64 * self.mask_prob).round() as usize;
        wanted.clamp(1, self.max_predictions).min(candidates)
    }
}

/// Applies [`MaskingConfig`] to sequences of one vocabulary.
#[derive(Debug, Clone)]
pub struct Masker {
    config: MaskingConfig,
    mask_id: u32,
    unk_id: u32,
    /// Per id: may be chosen (and, except `[UNK]`, may replace a chosen token).
    ordinary: Vec<bool>,
    /// Per id: a `##` piece continuing a word.
    continuation: Vec<bool>,
}

impl Masker {
    /// A masker for `vocab`, which must hold `[PAD]`, `[UNK]`, `[CLS]`,
    /// `[SEP]` and `[MASK]` and at least one ordinary token.
    pub fn new(config: MaskingConfig, vocab: &Vocab) -> Result<Self> {
        config.validate()?;
        check_special_tokens(vocab)?;
        let n = vocab.len();
        let mut ordinary = vec![true; n];
        let continuation: Vec<bool> = (0..n as u32)
            .map(|id| {
                vocab
                    .token(id)
                    .is_some_and(|t| t.starts_with(CONTINUATION_PREFIX))
            })
            .collect();
        for token in ["[PAD]", "[CLS]", "[SEP]", "[MASK]"] {
            if let Some(id) = vocab.id(token) {
                ordinary[id as usize] = false;
            }
        }
        let mask_id = vocab.id("[MASK]").ok_or_else(|| missing("[MASK]"))?;
        let unk_id = vocab.id("[UNK]").ok_or_else(|| missing("[UNK]"))?;
        if !(0..n).any(|id| ordinary[id] && id != unk_id as usize) {
            return Err(Error::invalid_parameter(
                "vocab",
                "has no token besides the special ones",
            ));
        }
        Ok(Masker {
            config,
            mask_id,
            unk_id,
            ordinary,
            continuation,
        })
    }

    /// The settings.
    pub fn config(&self) -> &MaskingConfig {
        &self.config
    }

    /// Whether `id` is an ordinary token (a candidate for prediction).
    pub fn is_ordinary(&self, id: u32) -> bool {
        self.ordinary.get(id as usize).copied().unwrap_or(false)
    }

    /// Masks one sequence in place: `labels` (same length as `ids`) gets
    /// the original id at chosen positions and [`IGNORE_LABEL`] elsewhere.
    /// Returns the number of positions chosen.
    pub fn mask(&self, ids: &mut [u32], labels: &mut [i32], rng: &mut Rng) -> usize {
        debug_assert_eq!(ids.len(), labels.len());
        labels.fill(IGNORE_LABEL);
        // Candidate units: single positions, or whole words as ranges.
        let mut units: Vec<(usize, usize)> = Vec::new();
        let mut candidates = 0;
        for (i, &id) in ids.iter().enumerate() {
            if !self.is_ordinary(id) {
                continue;
            }
            candidates += 1;
            let continues = self.config.whole_word
                && self.continuation.get(id as usize).copied().unwrap_or(false);
            match units.last_mut() {
                Some(last) if continues && last.1 == i => last.1 = i + 1,
                _ => units.push((i, i + 1)),
            }
        }
        let target = self.config.predictions_for(candidates);
        units.shuffle(rng);
        let mut chosen = 0;
        for (start, end) in units {
            if chosen >= target {
                break;
            }
            if chosen + (end - start) > target {
                continue;
            }
            for i in start..end {
                labels[i] = ids[i] as i32;
                ids[i] = self.corrupt(ids[i], rng);
            }
            chosen += end - start;
        }
        chosen
    }

    /// 80% `[MASK]`, 10% a random ordinary token (never `[UNK]`), 10%
    /// unchanged.
    fn corrupt(&self, id: u32, rng: &mut Rng) -> u32 {
        let roll: f64 = rng.gen();
        if roll < 0.8 {
            self.mask_id
        } else if roll < 0.9 {
            loop {
                let candidate = rng.gen_range(0..self.ordinary.len());
                if self.ordinary[candidate] && candidate != self.unk_id as usize {
                    return candidate as u32;
                }
            }
        } else {
            id
        }
    }
}

/// Checks that `vocab` holds every token of [`SPECIAL_TOKENS`].
pub fn check_special_tokens(vocab: &Vocab) -> Result<()> {
    match SPECIAL_TOKENS.iter().find(|t| vocab.id(t).is_none()) {
        Some(token) => Err(missing(token)),
        None => Ok(()),
    }
}

fn missing(token: &str) -> Error {
    Error::invalid_parameter(
        "vocab",
        format!("the vocabulary has no `{token}` token (pre-training needs [PAD] [UNK] [CLS] [SEP] [MASK])"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const PAD: u32 = 0;
    const CLS: u32 = 2;
    const SEP: u32 = 3;
    const MASK: u32 = 4;

    /// Ids 5..55 are words, 55..105 their `##` continuations.
    fn vocab() -> Vocab {
        let mut tokens: Vec<String> = SPECIAL_TOKENS.map(String::from).to_vec();
        tokens.extend((0..50).map(|i| format!("w{i}")));
        tokens.extend((0..50).map(|i| format!("##c{i}")));
        Vocab::from_tokens(tokens)
    }

    fn sequence(words: &[(u32, usize)], pad: usize) -> Vec<u32> {
        let mut ids = vec![CLS];
        for &(w, pieces) in words {
            ids.push(5 + w % 50);
            ids.extend((1..pieces).map(|k| 55 + (w + k as u32) % 50));
        }
        ids.push(SEP);
        ids.extend(std::iter::repeat_n(PAD, pad));
        ids
    }

    proptest! {
        #[test]
        fn chooses_the_recipe_count_of_ordinary_positions(
            words in prop::collection::vec((0u32..50, 1usize..4), 1..60),
            pad in 0usize..5,
            prob in 0.05f64..0.5,
            max_predictions in 1usize..40,
            seed in any::<u64>(),
        ) {
            let config = MaskingConfig { mask_prob: prob, max_predictions, whole_word: false };
            let masker = Masker::new(config, &vocab()).unwrap();
            let original = sequence(&words, pad);
            let mut ids = original.clone();
            let mut labels = vec![0; ids.len()];
            let chosen = masker.mask(&mut ids, &mut labels, &mut embed_core::seed::rng(seed, 0));
            let candidates = original.iter().filter(|&&id| id >= 5).count();
            prop_assert_eq!(chosen, config.predictions_for(candidates));
            for i in 0..ids.len() {
                if labels[i] == IGNORE_LABEL {
                    prop_assert_eq!(ids[i], original[i]);
                } else {
                    prop_assert_eq!(labels[i], original[i] as i32);
                    prop_assert!(original[i] >= 5, "special position {} chosen", i);
                    prop_assert!(ids[i] == MASK || ids[i] >= 5);
                }
            }
            prop_assert_eq!(labels.iter().filter(|&&l| l != IGNORE_LABEL).count(), chosen);
        }

        #[test]
        fn whole_words_are_chosen_together(
            words in prop::collection::vec((0u32..50, 1usize..4), 1..60),
            seed in any::<u64>(),
        ) {
            let config = MaskingConfig { whole_word: true, ..MaskingConfig::default() };
            let masker = Masker::new(config, &vocab()).unwrap();
            let original = sequence(&words, 0);
            let mut ids = original.clone();
            let mut labels = vec![0; ids.len()];
            let chosen = masker.mask(&mut ids, &mut labels, &mut embed_core::seed::rng(seed, 1));
            let candidates = original.len() - 2;
            prop_assert!(chosen <= config.predictions_for(candidates));
            // A continuation piece is chosen exactly when the piece before it is.
            for i in 2..original.len() - 1 {
                if original[i] >= 55 {
                    prop_assert_eq!(labels[i] == IGNORE_LABEL, labels[i - 1] == IGNORE_LABEL);
                }
            }
        }
    }

    #[test]
    fn corruption_follows_80_10_10() {
        let masker = Masker::new(
            MaskingConfig {
                mask_prob: 0.5,
                max_predictions: 1000,
                whole_word: false,
            },
            &vocab(),
        )
        .unwrap();
        let mut rng = embed_core::seed::rng(7, 0);
        let (mut masked, mut random, mut kept, mut total) = (0, 0, 0, 0);
        for _ in 0..200 {
            let original = sequence(&[(1, 1); 200], 0);
            let mut ids = original.clone();
            let mut labels = vec![0; ids.len()];
            masker.mask(&mut ids, &mut labels, &mut rng);
            for i in 0..ids.len() {
                if labels[i] == IGNORE_LABEL {
                    continue;
                }
                total += 1;
                match ids[i] {
                    MASK => masked += 1,
                    id if id == original[i] => kept += 1,
                    _ => random += 1,
                }
            }
        }
        assert_eq!(total, 200 * 100);
        let share = |n: i32| f64::from(n) / f64::from(total);
        // 20,000 draws: three standard deviations are below 0.01. A random
        // token equal to the original (1 in 100) counts as kept.
        assert!((share(masked) - 0.8).abs() < 0.01, "{}", share(masked));
        assert!((share(random) - 0.099).abs() < 0.01, "{}", share(random));
        assert!((share(kept) - 0.101).abs() < 0.01, "{}", share(kept));
    }

    #[test]
    fn masking_the_same_sequence_twice_with_one_seed_agrees() {
        let masker = Masker::new(MaskingConfig::default(), &vocab()).unwrap();
        let run = || {
            let mut ids = sequence(&[(3, 2); 40], 0);
            let mut labels = vec![0; ids.len()];
            masker.mask(&mut ids, &mut labels, &mut embed_core::seed::rng(11, 5));
            (ids, labels)
        };
        assert_eq!(run(), run());
    }

    #[test]
    fn bad_settings_and_vocabularies_are_named() {
        for prob in [0.0, 1.0, -0.1, f64::NAN] {
            let config = MaskingConfig {
                mask_prob: prob,
                ..MaskingConfig::default()
            };
            assert!(matches!(
                Masker::new(config, &vocab()),
                Err(Error::InvalidParameter {
                    name: "mask_prob",
                    ..
                })
            ));
        }
        let no_mask = Vocab::from_tokens(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "a"]);
        let err = Masker::new(MaskingConfig::default(), &no_mask).unwrap_err();
        assert!(err.to_string().contains("[MASK]"), "{err}");
    }
}
