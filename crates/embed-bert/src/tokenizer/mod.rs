//! BERT's WordPiece tokenizer, giving the same ids as Hugging Face's.
//!
//! Text goes through four stages:
//!
//! 1. special tokens (`[CLS]`, `[SEP]`, `[MASK]`, …) are matched verbatim,
//!    case-sensitively, in the raw text;
//! 2. the text between them is cleaned, optionally lower-cased and
//!    accent-stripped, and split into words ([`normalizer`]);
//! 3. each word is segmented by greedy longest-match WordPiece
//!    ([`wordpiece`]), `[UNK]` for a word that cannot be segmented;
//! 4. `[CLS] A [SEP]` (or `[CLS] A [SEP] B [SEP]` for pairs, token type 1
//!    for the second part) is built after truncation to a maximum length.
//!
//! [`Tokenizer::pad`] then pads a batch to one length with an attention
//! mask.

pub mod normalizer;
pub mod train_vocab;
mod vocab;
pub mod wordpiece;

use std::cell::RefCell;
use std::path::Path;

use embed_core::{Error, Location, Result};
use ndarray::Array2;
use rayon::prelude::*;
use serde::Deserialize;

pub use normalizer::NormalizerOptions;
pub use vocab::{Vocab, CONTINUATION_PREFIX};

use normalizer::Normalized;
use wordpiece::Piece;

/// Settings read from `tokenizer_config.json`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenizerConfig {
    /// Clean-up options (lower-casing, accent stripping, CJK splitting).
    pub normalizer: NormalizerOptions,
    /// Token for words the vocabulary cannot spell.
    pub unk_token: String,
    /// Token opening every sequence.
    pub cls_token: String,
    /// Token closing every segment.
    pub sep_token: String,
    /// Token filling padded positions.
    pub pad_token: String,
    /// Token for masked-language-model inputs, if the model has one.
    pub mask_token: Option<String>,
    /// The longest input the model was trained on, if the file says.
    pub model_max_length: Option<usize>,
}

impl Default for TokenizerConfig {
    /// The settings of `bert-base-uncased`.
    fn default() -> Self {
        TokenizerConfig {
            normalizer: NormalizerOptions::default(),
            unk_token: "[UNK]".into(),
            cls_token: "[CLS]".into(),
            sep_token: "[SEP]".into(),
            pad_token: "[PAD]".into(),
            mask_token: Some("[MASK]".into()),
            model_max_length: None,
        }
    }
}

/// A token given either as a string or as an `AddedToken` object.
#[derive(Deserialize)]
#[serde(untagged)]
enum TokenSpec {
    Plain(String),
    Added { content: String },
}

impl TokenSpec {
    fn into_string(self) -> String {
        match self {
            TokenSpec::Plain(s) | TokenSpec::Added { content: s } => s,
        }
    }
}

#[derive(Deserialize)]
struct TokenizerConfigFile {
    do_lower_case: Option<bool>,
    strip_accents: Option<bool>,
    tokenize_chinese_chars: Option<bool>,
    unk_token: Option<TokenSpec>,
    cls_token: Option<TokenSpec>,
    sep_token: Option<TokenSpec>,
    pad_token: Option<TokenSpec>,
    mask_token: Option<TokenSpec>,
    model_max_length: Option<f64>,
}

impl TokenizerConfig {
    /// Reads `tokenizer_config.json`. Missing fields take BERT's defaults;
    /// `strip_accents: null` follows `do_lower_case`, as in Hugging Face.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        let file: TokenizerConfigFile = serde_json::from_str(&text)
            .map_err(|e| Error::format(path, Location::Line(e.line() as u64), e.to_string()))?;
        let defaults = TokenizerConfig::default();
        let lowercase = file.do_lower_case.unwrap_or(true);
        Ok(TokenizerConfig {
            normalizer: NormalizerOptions {
                lowercase,
                strip_accents: file.strip_accents.unwrap_or(lowercase),
                split_cjk: file.tokenize_chinese_chars.unwrap_or(true),
            },
            unk_token: file
                .unk_token
                .map_or(defaults.unk_token, TokenSpec::into_string),
            cls_token: file
                .cls_token
                .map_or(defaults.cls_token, TokenSpec::into_string),
            sep_token: file
                .sep_token
                .map_or(defaults.sep_token, TokenSpec::into_string),
            pad_token: file
                .pad_token
                .map_or(defaults.pad_token, TokenSpec::into_string),
            mask_token: file
                .mask_token
                .map(TokenSpec::into_string)
                .or(defaults.mask_token),
            // Files without a limit write a huge float (1e30).
            model_max_length: file
                .model_max_length
                .filter(|n| n.is_finite() && *n >= 1.0 && *n <= 1e9)
                .map(|n| n as usize),
        })
    }
}

/// Ids of the special tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SpecialIds {
    /// `[UNK]`.
    pub unk: u32,
    /// `[CLS]`.
    pub cls: u32,
    /// `[SEP]`.
    pub sep: u32,
    /// `[PAD]`.
    pub pad: u32,
    /// `[MASK]`, if the vocabulary has it.
    pub mask: Option<u32>,
}

/// One tokenized input: ids with their token types and provenance.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Encoding {
    /// Vocabulary ids, `[CLS]` first and `[SEP]` closing each segment.
    pub ids: Vec<u32>,
    /// Segment of each token: 0 for the first text, 1 for the second.
    pub type_ids: Vec<u32>,
    /// Byte span of each token in its input text; `(0, 0)` for the
    /// `[CLS]`/`[SEP]` the tokenizer adds.
    pub offsets: Vec<(usize, usize)>,
    /// Index of the word each token belongs to, counted per text; `None`
    /// for added `[CLS]`/`[SEP]`.
    pub word_ids: Vec<Option<u32>>,
    /// Which text (0 or 1) each token comes from; `None` for added tokens.
    pub sequence_ids: Vec<Option<u8>>,
}

impl Encoding {
    /// Number of tokens.
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    /// Whether there are no tokens.
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }
}

/// A batch padded to one length.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaddedBatch {
    /// `[batch, length]` ids, `[PAD]` after each sequence's end.
    pub input_ids: Array2<u32>,
    /// `[batch, length]` token types, 0 on padding.
    pub token_type_ids: Array2<u32>,
    /// `[batch, length]`, 1 on real tokens and 0 on padding.
    pub attention_mask: Array2<u32>,
}

impl PaddedBatch {
    /// Number of sequences.
    pub fn batch_size(&self) -> usize {
        self.input_ids.nrows()
    }

    /// Padded length.
    pub fn seq_len(&self) -> usize {
        self.input_ids.ncols()
    }

    /// Real (unpadded) tokens of each sequence.
    pub fn lengths(&self) -> Vec<usize> {
        self.attention_mask
            .rows()
            .into_iter()
            .map(|r| r.iter().filter(|&&m| m != 0).count())
            .collect()
    }
}

/// The pieces of one text before special tokens are added.
#[derive(Debug, Default, Clone)]
struct Pieces {
    ids: Vec<u32>,
    offsets: Vec<(usize, usize)>,
    word_ids: Vec<u32>,
}

impl Pieces {
    fn truncate(&mut self, len: usize) {
        self.ids.truncate(len);
        self.offsets.truncate(len);
        self.word_ids.truncate(len);
    }
}

/// Per-thread buffers, so tokenizing allocates only its output.
#[derive(Default)]
struct Scratch {
    normalized: Normalized,
    pieces: Vec<Piece>,
    char_bytes: Vec<usize>,
}

thread_local! {
    static SCRATCH: RefCell<Scratch> = RefCell::new(Scratch::default());
}

/// BERT's tokenizer: special-token matching, clean-up, WordPiece.
///
/// ```
/// use embed_bert::{Tokenizer, TokenizerConfig, Vocab};
/// let vocab = Vocab::from_tokens(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "hello", "world", "!", "##s"]);
/// let tokenizer = Tokenizer::new(vocab, TokenizerConfig::default())?;
/// let enc = tokenizer.encode("Hello, worlds!", None)?;
/// assert_eq!(tokenizer.tokens(&enc.ids), ["[CLS]", "hello", "[UNK]", "world", "##s", "!", "[SEP]"]);
/// assert_eq!(enc.offsets[4], (12, 13)); // the `s` of "worlds"
/// # Ok::<(), embed_core::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct Tokenizer {
    vocab: Vocab,
    config: TokenizerConfig,
    special: SpecialIds,
    /// Special tokens matched in raw text, longest first.
    matchable: Vec<(String, u32)>,
}

impl Tokenizer {
    /// Builds a tokenizer; the vocabulary must contain the configured
    /// unknown, class, separator and padding tokens.
    pub fn new(vocab: Vocab, config: TokenizerConfig) -> Result<Self> {
        let require = |name: &'static str, token: &str| {
            vocab.id(token).ok_or_else(|| {
                Error::invalid_parameter(name, format!("the vocabulary has no `{token}` token"))
            })
        };
        let special = SpecialIds {
            unk: require("unk_token", &config.unk_token)?,
            cls: require("cls_token", &config.cls_token)?,
            sep: require("sep_token", &config.sep_token)?,
            pad: require("pad_token", &config.pad_token)?,
            mask: config.mask_token.as_deref().and_then(|t| vocab.id(t)),
        };
        let mut matchable: Vec<(String, u32)> = [
            Some(&config.unk_token),
            Some(&config.cls_token),
            Some(&config.sep_token),
            Some(&config.pad_token),
            config.mask_token.as_ref(),
        ]
        .into_iter()
        .flatten()
        .filter(|t| !t.is_empty())
        .filter_map(|t| vocab.id(t).map(|id| (t.clone(), id)))
        .collect();
        matchable.sort_by(|a, b| b.0.len().cmp(&a.0.len()).then(a.0.cmp(&b.0)));
        matchable.dedup_by(|a, b| a.0 == b.0);
        Ok(Tokenizer {
            vocab,
            config,
            special,
            matchable,
        })
    }

    /// Loads `vocab.txt` and, when present, `tokenizer_config.json` from a
    /// model directory.
    pub fn from_dir(dir: impl AsRef<Path>) -> Result<Self> {
        let dir = dir.as_ref();
        let vocab = Vocab::from_file(dir.join("vocab.txt"))?;
        let config_path = dir.join("tokenizer_config.json");
        let config = if config_path.exists() {
            TokenizerConfig::from_file(&config_path)?
        } else {
            TokenizerConfig::default()
        };
        Tokenizer::new(vocab, config)
    }

    /// The vocabulary.
    pub fn vocab(&self) -> &Vocab {
        &self.vocab
    }

    /// The configuration.
    pub fn config(&self) -> &TokenizerConfig {
        &self.config
    }

    /// Ids of the special tokens.
    pub fn special_ids(&self) -> SpecialIds {
        self.special
    }

    /// Spells ids as tokens (`[UNK]` for ids outside the vocabulary).
    pub fn tokens(&self, ids: &[u32]) -> Vec<String> {
        ids.iter()
            .map(|&id| {
                self.vocab
                    .token(id)
                    .unwrap_or(&self.config.unk_token)
                    .to_string()
            })
            .collect()
    }

    /// The word pieces of `text`, without special tokens or truncation.
    pub fn tokenize(&self, text: &str) -> Vec<String> {
        let mut pieces = Pieces::default();
        self.push_text(text, &mut pieces, &mut 0, None);
        self.tokens(&pieces.ids)
    }

    /// Encodes one text as `[CLS] text [SEP]`, keeping at most
    /// `max_length` tokens (special tokens included).
    pub fn encode(&self, text: &str, max_length: Option<usize>) -> Result<Encoding> {
        let mut a = Pieces::default();
        self.push_text(text, &mut a, &mut 0, None);
        if let Some(max) = max_length {
            a.truncate(Self::budget(max, 2)?);
        }
        Ok(self.assemble(a, None))
    }

    /// Encodes a pair as `[CLS] a [SEP] b [SEP]` (token types 0 then 1),
    /// truncating the longer part first to fit `max_length`.
    pub fn encode_pair(&self, a: &str, b: &str, max_length: Option<usize>) -> Result<Encoding> {
        let mut first = Pieces::default();
        let mut second = Pieces::default();
        self.push_text(a, &mut first, &mut 0, None);
        self.push_text(b, &mut second, &mut 0, None);
        if let Some(max) = max_length {
            let (n1, n2) = longest_first(first.ids.len(), second.ids.len(), Self::budget(max, 3)?);
            first.truncate(n1);
            second.truncate(n2);
        }
        Ok(self.assemble(first, Some(second)))
    }

    /// Encodes text already split into words: every piece of `words[i]`
    /// gets word id `i`, and offsets are relative to that word.
    pub fn encode_words(&self, words: &[&str], max_length: Option<usize>) -> Result<Encoding> {
        let mut pieces = Pieces::default();
        for (i, word) in words.iter().enumerate() {
            let index =
                u32::try_from(i).map_err(|_| Error::InvalidInput("more than 2^32 words".into()))?;
            self.push_text(word, &mut pieces, &mut 0, Some(index));
        }
        if let Some(max) = max_length {
            pieces.truncate(Self::budget(max, 2)?);
        }
        Ok(self.assemble(pieces, None))
    }

    /// Encodes many texts in parallel (see [`Tokenizer::encode`]).
    pub fn encode_batch<S: AsRef<str> + Sync>(
        &self,
        texts: &[S],
        max_length: Option<usize>,
    ) -> Result<Vec<Encoding>> {
        texts
            .par_iter()
            .map(|t| self.encode(t.as_ref(), max_length))
            .collect()
    }

    /// Pads encodings to the longest one, or to `pad_to` when it is longer,
    /// with `[PAD]`, token type 0 and attention mask 0.
    pub fn pad(&self, encodings: &[Encoding], pad_to: Option<usize>) -> PaddedBatch {
        let longest = encodings.iter().map(Encoding::len).max().unwrap_or(0);
        let len = longest.max(pad_to.unwrap_or(0));
        let shape = (encodings.len(), len);
        let mut input_ids = Array2::from_elem(shape, self.special.pad);
        let mut token_type_ids = Array2::zeros(shape);
        let mut attention_mask = Array2::zeros(shape);
        for (b, enc) in encodings.iter().enumerate() {
            for t in 0..enc.len() {
                input_ids[(b, t)] = enc.ids[t];
                token_type_ids[(b, t)] = enc.type_ids[t];
                attention_mask[(b, t)] = 1;
            }
        }
        PaddedBatch {
            input_ids,
            token_type_ids,
            attention_mask,
        }
    }

    /// Tokens left for text once `specials` tokens are reserved.
    fn budget(max_length: usize, specials: usize) -> Result<usize> {
        max_length.checked_sub(specials).ok_or_else(|| {
            Error::invalid_parameter(
                "max_length",
                format!("{max_length} leaves no room for the {specials} special tokens"),
            )
        })
    }

    /// Adds `[CLS]`/`[SEP]` around one or two piece lists.
    fn assemble(&self, first: Pieces, second: Option<Pieces>) -> Encoding {
        let total = first.ids.len() + second.as_ref().map_or(0, |s| s.ids.len() + 1) + 2;
        let mut enc = Encoding {
            ids: Vec::with_capacity(total),
            type_ids: Vec::with_capacity(total),
            offsets: Vec::with_capacity(total),
            word_ids: Vec::with_capacity(total),
            sequence_ids: Vec::with_capacity(total),
        };
        let added = |enc: &mut Encoding, id: u32, type_id: u32| {
            enc.ids.push(id);
            enc.type_ids.push(type_id);
            enc.offsets.push((0, 0));
            enc.word_ids.push(None);
            enc.sequence_ids.push(None);
        };
        let text = |enc: &mut Encoding, p: &Pieces, type_id: u32| {
            enc.ids.extend_from_slice(&p.ids);
            enc.type_ids
                .extend(std::iter::repeat_n(type_id, p.ids.len()));
            enc.offsets.extend_from_slice(&p.offsets);
            enc.word_ids.extend(p.word_ids.iter().map(|&w| Some(w)));
            enc.sequence_ids
                .extend(std::iter::repeat_n(Some(type_id as u8), p.ids.len()));
        };
        added(&mut enc, self.special.cls, 0);
        text(&mut enc, &first, 0);
        added(&mut enc, self.special.sep, 0);
        if let Some(second) = second {
            text(&mut enc, &second, 1);
            added(&mut enc, self.special.sep, 1);
        }
        enc
    }

    /// Finds the special token starting at byte `at`, if any.
    fn special_at(&self, text: &str, at: usize) -> Option<(usize, u32)> {
        let rest = &text.as_bytes()[at..];
        self.matchable
            .iter()
            .find(|(tok, _)| rest.starts_with(tok.as_bytes()))
            .map(|(tok, id)| (tok.len(), *id))
    }

    /// Tokenizes `text` into `out`. Word ids count up from `*next_word`
    /// unless `fixed_word` pins them all to one value.
    fn push_text(
        &self,
        text: &str,
        out: &mut Pieces,
        next_word: &mut u32,
        fixed_word: Option<u32>,
    ) {
        let mut segment_start = 0;
        let mut at = 0;
        let bytes = text.as_bytes();
        while at < bytes.len() {
            let matched = if text.is_char_boundary(at) {
                self.special_at(text, at)
            } else {
                None
            };
            match matched {
                Some((len, id)) => {
                    self.push_segment(
                        &text[segment_start..at],
                        segment_start,
                        out,
                        next_word,
                        fixed_word,
                    );
                    out.ids.push(id);
                    out.offsets.push((at, at + len));
                    out.word_ids.push(fixed_word.unwrap_or(*next_word));
                    *next_word += 1;
                    at += len;
                    segment_start = at;
                }
                None => at += 1,
            }
        }
        self.push_segment(
            &text[segment_start..],
            segment_start,
            out,
            next_word,
            fixed_word,
        );
    }

    /// Normalizes and segments text that holds no special token.
    fn push_segment(
        &self,
        segment: &str,
        base: usize,
        out: &mut Pieces,
        next_word: &mut u32,
        fixed_word: Option<u32>,
    ) {
        if segment.is_empty() {
            return;
        }
        SCRATCH.with(|scratch| {
            let scratch = &mut *scratch.borrow_mut();
            let norm = &mut scratch.normalized;
            norm.clear();
            normalizer::split_words(segment, base, self.config.normalizer, norm);
            for word in &norm.words {
                let word_id = fixed_word.unwrap_or(*next_word);
                *next_word += 1;
                let text = norm.word_text(word);
                let (c0, c1) = word.chars;
                scratch.char_bytes.clear();
                scratch
                    .char_bytes
                    .extend(norm.char_bytes[c0..c1].iter().map(|b| b - word.text.0));
                scratch.char_bytes.push(text.len());
                scratch.pieces.clear();
                let sources = &norm.char_sources[c0..c1];
                if wordpiece::segment(&self.vocab, text, &scratch.char_bytes, &mut scratch.pieces) {
                    for piece in &scratch.pieces {
                        out.ids.push(piece.id);
                        out.offsets
                            .push((sources[piece.chars.0].0, sources[piece.chars.1 - 1].1));
                        out.word_ids.push(word_id);
                    }
                } else {
                    out.ids.push(self.special.unk);
                    out.offsets
                        .push((sources[0].0, sources[sources.len() - 1].1));
                    out.word_ids.push(word_id);
                }
            }
        });
    }
}

/// Lengths after Hugging Face's `longest_first` truncation: tokens are
/// removed one at a time from the longer part (the second on ties) until
/// both fit in `budget`.
fn longest_first(n1: usize, n2: usize, budget: usize) -> (usize, usize) {
    if n1 + n2 <= budget {
        return (n1, n2);
    }
    let half_down = budget / 2;
    let half_up = budget - half_down;
    if n1.min(n2) <= half_down {
        // The shorter part fits whole; the longer one takes the rest.
        return if n1 <= n2 {
            (n1, budget - n1)
        } else {
            (budget - n2, n2)
        };
    }
    // Both parts exceed half the budget: they end equal, the first part
    // keeping the odd token.
    (half_up, half_down)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tiny() -> Tokenizer {
        let vocab = Vocab::from_tokens([
            "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "a", "b", "c", "##b", "##c",
        ]);
        Tokenizer::new(vocab, TokenizerConfig::default()).unwrap()
    }

    #[test]
    fn missing_special_tokens_are_errors() {
        for missing in ["[UNK]", "[CLS]", "[SEP]", "[PAD]"] {
            let tokens: Vec<&str> = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "a"]
                .into_iter()
                .filter(|t| *t != missing)
                .collect();
            let err =
                Tokenizer::new(Vocab::from_tokens(tokens), TokenizerConfig::default()).unwrap_err();
            assert!(
                matches!(err, Error::InvalidParameter { .. }),
                "{missing}: {err}"
            );
        }
    }

    #[test]
    fn empty_text_gives_cls_sep() {
        let t = tiny();
        assert_eq!(t.encode("", None).unwrap().ids, [2, 3]);
        assert_eq!(t.encode(" \t\n ", None).unwrap().ids, [2, 3]);
    }

    #[test]
    fn truncation_counts_special_tokens() {
        let t = tiny();
        let enc = t.encode("a b c a b c", Some(4)).unwrap();
        assert_eq!(enc.ids, [2, 5, 6, 3]);
        assert!(matches!(
            t.encode("a", Some(1)),
            Err(Error::InvalidParameter {
                name: "max_length",
                ..
            })
        ));
    }

    #[test]
    fn pairs_get_token_types_and_longest_first_truncation() {
        let t = tiny();
        let enc = t.encode_pair("a a a a a", "b b", Some(7)).unwrap();
        assert_eq!(enc.ids, [2, 5, 5, 3, 6, 6, 3]);
        assert_eq!(enc.type_ids, [0, 0, 0, 0, 1, 1, 1]);
        assert_eq!(longest_first(5, 5, 5), (3, 2));
        assert_eq!(longest_first(1, 9, 5), (1, 4));
        assert_eq!(longest_first(9, 1, 5), (4, 1));
    }

    #[test]
    fn special_tokens_are_matched_verbatim() {
        let t = tiny();
        let enc = t.encode("a[MASK]b [mask]", None).unwrap();
        assert_eq!(t.tokens(&enc.ids)[..4], ["[CLS]", "a", "[MASK]", "b"]);
        assert_eq!(enc.offsets[2], (1, 7));
    }

    #[test]
    fn words_and_offsets_follow_the_input() {
        let t = tiny();
        let enc = t.encode_words(&["abc", "c"], None).unwrap();
        assert_eq!(enc.ids, [2, 5, 8, 9, 7, 3]);
        assert_eq!(
            enc.word_ids,
            [None, Some(0), Some(0), Some(0), Some(1), None]
        );
        assert_eq!(enc.offsets[2], (1, 2));
    }

    #[test]
    fn padding_masks_the_tail() {
        let t = tiny();
        let encs = t.encode_batch(&["a", "a b c"], None).unwrap();
        let batch = t.pad(&encs, None);
        assert_eq!(batch.input_ids.row(0).to_vec(), [2, 5, 3, 0, 0]);
        assert_eq!(batch.attention_mask.row(0).to_vec(), [1, 1, 1, 0, 0]);
        assert_eq!(batch.lengths(), [3, 5]);
    }
}
