//! BERT's text clean-up and word splitting ("basic tokenization").
//!
//! One pass over the input does what Hugging Face runs as a normalizer
//! followed by a pre-tokenizer:
//!
//! 1. clean-up: NUL, U+FFFD and control/format/private-use characters
//!    (general categories Cc, Cf, Co, except `\t\n\r`) are deleted, every
//!    whitespace character becomes a space;
//! 2. CJK ideographs become words of their own;
//! 3. accent stripping, when enabled: canonical decomposition (NFD) with
//!    non-spacing marks (Mn) dropped;
//! 4. lower-casing, when enabled, **character by character**
//!    ([`char::to_lowercase`]), so Greek final sigma is not applied;
//! 5. splitting on whitespace and around punctuation (ASCII punctuation
//!    and every Unicode P* category), each punctuation mark a word.
//!
//! Every word remembers the byte span of the input it came from, and every
//! normalized character the span of the input character that produced it.

use unicode_general_category::{get_general_category, GeneralCategory};
use unicode_normalization::char::decompose_canonical;

/// Which optional steps of the clean-up run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NormalizerOptions {
    /// Lower-case every character.
    pub lowercase: bool,
    /// Decompose (NFD) and drop non-spacing marks.
    pub strip_accents: bool,
    /// Make every CJK ideograph a word of its own.
    pub split_cjk: bool,
}

impl Default for NormalizerOptions {
    /// The settings of uncased BERT models.
    fn default() -> Self {
        NormalizerOptions {
            lowercase: true,
            strip_accents: true,
            split_cjk: true,
        }
    }
}

/// Whitespace as BERT sees it: `\t`, `\n`, `\r` and Unicode `White_Space`.
#[inline]
pub fn is_whitespace(c: char) -> bool {
    c.is_whitespace()
}

/// Characters the clean-up deletes: Cc, Cf and Co (except `\t\n\r`, which
/// are whitespace), NUL and the replacement character U+FFFD.
#[inline]
pub fn is_removed(c: char) -> bool {
    if c.is_ascii() {
        return c.is_ascii_control() && !matches!(c, '\t' | '\n' | '\r');
    }
    c == '\u{FFFD}'
        || matches!(
            get_general_category(c),
            GeneralCategory::Control | GeneralCategory::Format | GeneralCategory::PrivateUse
        )
}

/// Punctuation as BERT sees it: ASCII punctuation (which includes symbols
/// such as `$`, `+`, `^`, `` ` ``) and every Unicode P* category.
#[inline]
pub fn is_punctuation(c: char) -> bool {
    if c.is_ascii() {
        return c.is_ascii_punctuation();
    }
    matches!(
        get_general_category(c),
        GeneralCategory::ConnectorPunctuation
            | GeneralCategory::DashPunctuation
            | GeneralCategory::OpenPunctuation
            | GeneralCategory::ClosePunctuation
            | GeneralCategory::InitialPunctuation
            | GeneralCategory::FinalPunctuation
            | GeneralCategory::OtherPunctuation
    )
}

/// CJK ideographs: the Unified Ideographs blocks and extensions A–F and the
/// compatibility blocks, with the exact ranges Hugging Face's tokenizers use
/// (Kana and Hangul are not included: those scripts separate words by
/// spaces).
#[inline]
pub fn is_cjk_ideograph(c: char) -> bool {
    matches!(c as u32,
        0x4E00..=0x9FFF
        | 0x3400..=0x4DBF
        | 0x20000..=0x2A6DF
        | 0x2A700..=0x2B73F
        | 0x2B740..=0x2B81F
        | 0x2B920..=0x2CEAF
        | 0xF900..=0xFAFF
        | 0x2F800..=0x2FA1F)
}

/// A word found by [`split_words`]: its normalized text and where it came
/// from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WordSpan {
    /// Byte range of the word in the normalized buffer.
    pub text: (usize, usize),
    /// Range of the word's characters in the per-character source table.
    pub chars: (usize, usize),
}

/// Reusable buffers of one normalization run.
///
/// `text` holds the normalized words back to back; `char_sources[i]` is the
/// byte span, in the input, of the character that produced the `i`-th
/// normalized character of `text`; `char_bytes[i]` is that character's byte
/// offset within `text`.
#[derive(Debug, Default, Clone)]
pub struct Normalized {
    /// The normalized words, concatenated.
    pub text: String,
    /// Byte offsets into `text` of each normalized character (plus the end).
    pub char_bytes: Vec<usize>,
    /// Source byte span of each normalized character.
    pub char_sources: Vec<(usize, usize)>,
    /// The words, in order.
    pub words: Vec<WordSpan>,
}

impl Normalized {
    /// Empties the buffers, keeping their capacity.
    pub fn clear(&mut self) {
        self.text.clear();
        self.char_bytes.clear();
        self.char_sources.clear();
        self.words.clear();
    }

    /// The normalized text of a word.
    pub fn word_text(&self, word: &WordSpan) -> &str {
        &self.text[word.text.0..word.text.1]
    }
}

/// Builds words out of normalized characters.
struct WordBuilder<'a> {
    out: &'a mut Normalized,
    /// Start (bytes, chars) of the word under construction, if any.
    open: Option<(usize, usize)>,
}

impl WordBuilder<'_> {
    #[inline]
    fn push_char(&mut self, c: char, source: (usize, usize)) {
        if self.open.is_none() {
            self.open = Some((self.out.text.len(), self.out.char_sources.len()));
        }
        self.out.char_bytes.push(self.out.text.len());
        self.out.char_sources.push(source);
        self.out.text.push(c);
    }

    #[inline]
    fn close(&mut self) {
        if let Some((byte_start, char_start)) = self.open.take() {
            self.out.words.push(WordSpan {
                text: (byte_start, self.out.text.len()),
                chars: (char_start, self.out.char_sources.len()),
            });
        }
    }

    /// Routes one normalized character: whitespace ends the word,
    /// punctuation is a word of its own, anything else extends the word.
    #[inline]
    fn feed(&mut self, c: char, source: (usize, usize)) {
        if is_whitespace(c) {
            self.close();
        } else if is_punctuation(c) {
            self.close();
            self.push_char(c, source);
            self.close();
        } else {
            self.push_char(c, source);
        }
    }

    /// Lower-cases (when asked) and feeds one character.
    #[inline]
    fn feed_cased(&mut self, c: char, source: (usize, usize), lowercase: bool) {
        if lowercase {
            for lower in c.to_lowercase() {
                self.feed(lower, source);
            }
        } else {
            self.feed(c, source);
        }
    }
}

/// Normalizes `text` and splits it into words, appending to `out`.
///
/// `base` is added to every source offset, so a segment of a larger text
/// reports offsets into the whole text.
pub fn split_words(text: &str, base: usize, options: NormalizerOptions, out: &mut Normalized) {
    let mut builder = WordBuilder { out, open: None };
    for (start, c) in text.char_indices() {
        let source = (base + start, base + start + c.len_utf8());
        if c.is_ascii() {
            // Fast path: ASCII never decomposes and lower-cases to one char.
            let c = if options.lowercase {
                c.to_ascii_lowercase()
            } else {
                c
            };
            if is_removed(c) {
                continue;
            }
            builder.feed(c, source);
            continue;
        }
        if is_removed(c) {
            continue;
        }
        if is_whitespace(c) {
            builder.close();
            continue;
        }
        if options.split_cjk && is_cjk_ideograph(c) {
            builder.close();
            emit_normalized(&mut builder, c, source, options);
            builder.close();
            continue;
        }
        emit_normalized(&mut builder, c, source, options);
    }
    builder.close();
}

/// Applies accent stripping and lower-casing to one character.
#[inline]
fn emit_normalized(
    builder: &mut WordBuilder<'_>,
    c: char,
    source: (usize, usize),
    options: NormalizerOptions,
) {
    if options.strip_accents {
        decompose_canonical(c, |d| {
            if get_general_category(d) != GeneralCategory::NonspacingMark {
                builder.feed_cased(d, source, options.lowercase);
            }
        });
    } else {
        builder.feed_cased(c, source, options.lowercase);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(text: &str, options: NormalizerOptions) -> Vec<String> {
        let mut out = Normalized::default();
        split_words(text, 0, options, &mut out);
        out.words
            .iter()
            .map(|w| out.word_text(w).to_string())
            .collect()
    }

    #[test]
    fn splits_on_whitespace_and_punctuation() {
        assert_eq!(
            words("Hello, World!  isn't", NormalizerOptions::default()),
            ["hello", ",", "world", "!", "isn", "'", "t"]
        );
    }

    #[test]
    fn strips_accents_and_controls() {
        let opts = NormalizerOptions::default();
        assert_eq!(words("Café e\u{301}", opts), ["cafe", "e"]);
        assert_eq!(words("soft\u{ad}hy\u{200b}phen", opts), ["softhyphen"]);
        assert_eq!(words("a\u{0}b \u{fffd} c", opts), ["ab", "c"]);
    }

    #[test]
    fn cased_models_keep_case_and_accents() {
        let opts = NormalizerOptions {
            lowercase: false,
            strip_accents: false,
            split_cjk: true,
        };
        assert_eq!(words("Café", opts), ["Café"]);
    }

    #[test]
    fn lowercases_per_character() {
        // Greek capital sigma at the end of a word stays σ, not ς.
        assert_eq!(words("ΟΔΟΣ", NormalizerOptions::default()), ["οδοσ"]);
    }

    #[test]
    fn cjk_ideographs_are_words() {
        assert_eq!(
            words("abc中文def", NormalizerOptions::default()),
            ["abc", "中", "文", "def"]
        );
    }

    #[test]
    fn records_source_spans() {
        let mut out = Normalized::default();
        split_words("É x", 10, NormalizerOptions::default(), &mut out);
        assert_eq!(out.text, "ex");
        assert_eq!(out.char_sources, [(10, 12), (13, 14)]);
    }
}
