//! The evaluation vocabulary: the first `restrict_vocab` words of a model,
//! optionally case-folded the way gensim folds them.

use std::borrow::Cow;
use std::collections::HashMap;

/// Maps (folded) words to rows of the restricted vocabulary.
///
/// gensim builds `{word.upper(): index}` over the restricted words in
/// reverse order, so the first row of every folded key wins; a later row
/// with the same key still exists as a candidate answer but *is* the same
/// word for every comparison. `canonical` records that identity per row.
pub(crate) struct EvalVocab {
    index: HashMap<String, usize>,
    canonical: Vec<usize>,
    case_insensitive: bool,
}

impl EvalVocab {
    /// Indexes `words[..limit]` (all words when `limit` exceeds their number).
    pub(crate) fn new(words: &[String], limit: usize, case_insensitive: bool) -> Self {
        let rows = limit.min(words.len());
        let mut index = HashMap::with_capacity(rows);
        let mut canonical = Vec::with_capacity(rows);
        for (row, word) in words[..rows].iter().enumerate() {
            let key = fold(word, case_insensitive).into_owned();
            let first = *index.entry(key).or_insert(row);
            canonical.push(first);
        }
        EvalVocab {
            index,
            canonical,
            case_insensitive,
        }
    }

    /// Number of rows the vocabulary covers.
    pub(crate) fn rows(&self) -> usize {
        self.canonical.len()
    }

    /// The row standing for `word` (after folding), if it is in the vocabulary.
    pub(crate) fn get(&self, word: &str) -> Option<usize> {
        self.index
            .get(fold(word, self.case_insensitive).as_ref())
            .copied()
    }

    /// The row standing for the word of `row`: the first row with its folded form.
    pub(crate) fn canonical(&self, row: usize) -> usize {
        self.canonical[row]
    }
}

/// Upper-cases `word` when `case_insensitive` (Unicode full case mapping,
/// as Python's `str.upper`).
pub(crate) fn fold(word: &str, case_insensitive: bool) -> Cow<'_, str> {
    if case_insensitive && word.chars().any(|c| !c.is_uppercase()) {
        Cow::Owned(word.to_uppercase())
    } else {
        Cow::Borrowed(word)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(list: &[&str]) -> Vec<String> {
        list.iter().map(|w| w.to_string()).collect()
    }

    #[test]
    fn first_case_variant_stands_for_all() {
        let vocab = EvalVocab::new(&words(&["paris", "the", "Paris", "PARIS", "x"]), 4, true);
        assert_eq!(vocab.rows(), 4);
        assert_eq!(vocab.get("Paris"), Some(0));
        assert_eq!(vocab.get("pArIs"), Some(0));
        assert_eq!(vocab.canonical(2), 0);
        assert_eq!(vocab.canonical(3), 0);
        assert_eq!(vocab.canonical(1), 1);
        assert_eq!(vocab.get("x"), None, "outside the restriction");
    }

    #[test]
    fn case_sensitive_keeps_variants_apart() {
        let vocab = EvalVocab::new(&words(&["paris", "Paris", "paris"]), 10, false);
        assert_eq!(vocab.get("Paris"), Some(1));
        assert_eq!(vocab.get("PARIS"), None);
        assert_eq!(vocab.canonical(2), 0, "an exact duplicate is the first row");
    }

    #[test]
    fn folding_follows_full_case_mapping() {
        assert_eq!(fold("straße", true), "STRASSE");
        assert_eq!(fold("ABC", true), "ABC");
        assert_eq!(fold("abc", false), "abc");
    }
}
