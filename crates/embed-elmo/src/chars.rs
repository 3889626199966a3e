//! Character ids exactly as AllenNLP's `ELMoCharacterMapper` makes them.
//!
//! Every token becomes [`MAX_CHARS`] ids: begin-of-word, its UTF-8 bytes
//! (at most [`MAX_TOKEN_BYTES`]; longer tokens are cut at that byte, even
//! inside a multi-byte character, as the reference does), end-of-word, then
//! padding, all shifted by one so that 0 can mark a padded token. The
//! sentence boundary tokens `<S>` and `</S>` use the reserved bytes 256 and
//! 257 and are added by the model, not by [`token_char_ids`].

use ndarray::{Array2, Array3};

/// Character ids per token.
pub const MAX_CHARS: usize = 50;
/// Bytes of a token that are kept; the rest are dropped.
pub const MAX_TOKEN_BYTES: usize = MAX_CHARS - 2;

/// The reserved "byte" of the beginning-of-sentence token.
const BOS_CHAR: u16 = 256;
/// The reserved "byte" of the end-of-sentence token.
const EOS_CHAR: u16 = 257;
const BOW_CHAR: u16 = 258;
const EOW_CHAR: u16 = 259;
const PAD_CHAR: u16 = 260;

/// One token's character ids (with the +1 shift).
pub type TokenCharIds = [u16; MAX_CHARS];

fn wrap(bytes: impl Iterator<Item = u16>) -> TokenCharIds {
    let mut ids = [PAD_CHAR + 1; MAX_CHARS];
    ids[0] = BOW_CHAR + 1;
    let mut end = 1;
    for b in bytes.take(MAX_TOKEN_BYTES) {
        ids[end] = b + 1;
        end += 1;
    }
    ids[end] = EOW_CHAR + 1;
    ids
}

/// The character ids of one token.
///
/// ```
/// use embed_elmo::chars::token_char_ids;
/// let ids = token_char_ids("ok");
/// assert_eq!(&ids[..5], &[259, b'o' as u16 + 1, b'k' as u16 + 1, 260, 261]);
/// assert_eq!(token_char_ids(&"x".repeat(60))[49], 260); // cut to 48 bytes
/// ```
pub fn token_char_ids(token: &str) -> TokenCharIds {
    wrap(token.bytes().map(u16::from))
}

/// The character ids of the beginning-of-sentence token `<S>`.
pub fn bos_char_ids() -> TokenCharIds {
    wrap(std::iter::once(BOS_CHAR))
}

/// The character ids of the end-of-sentence token `</S>`.
pub fn eos_char_ids() -> TokenCharIds {
    wrap(std::iter::once(EOS_CHAR))
}

/// Character ids of one sentence, `[tokens, 50]`, without boundary tokens.
///
/// ```
/// let ids = embed_elmo::char_ids(&["The", "cat"]);
/// assert_eq!(ids.dim(), (2, 50));
/// ```
pub fn char_ids(tokens: &[&str]) -> Array2<u16> {
    let mut out = Array2::zeros((tokens.len(), MAX_CHARS));
    for (mut row, token) in out.rows_mut().into_iter().zip(tokens) {
        row.iter_mut()
            .zip(token_char_ids(token))
            .for_each(|(o, i)| *o = i);
    }
    out
}

/// Character ids of a batch, `[sentences, longest, 50]`, as AllenNLP's
/// `batch_to_ids`: the tokens of shorter sentences are padded with all-zero
/// rows. No boundary tokens.
///
/// ```
/// let ids = embed_elmo::chars::batch_char_ids(&[vec!["a", "b"], vec!["c"]]);
/// assert_eq!(ids.dim(), (2, 2, 50));
/// assert!(ids.slice(ndarray::s![1, 1, ..]).iter().all(|&i| i == 0));
/// ```
pub fn batch_char_ids<S: AsRef<[T]>, T: AsRef<str>>(sentences: &[S]) -> Array3<u16> {
    let longest = sentences
        .iter()
        .map(|s| s.as_ref().len())
        .max()
        .unwrap_or(0);
    let mut out = Array3::zeros((sentences.len(), longest, MAX_CHARS));
    for (mut sentence_ids, sentence) in out.outer_iter_mut().zip(sentences) {
        for (mut row, token) in sentence_ids.outer_iter_mut().zip(sentence.as_ref()) {
            row.iter_mut()
                .zip(token_char_ids(token.as_ref()))
                .for_each(|(o, i)| *o = i);
        }
    }
    out
}

/// The character ids the model reads for a sentence: `<S>`, the tokens, `</S>`.
pub fn char_ids_with_boundaries<T: AsRef<str>>(tokens: &[T]) -> Array2<u16> {
    let mut out = Array2::zeros((tokens.len() + 2, MAX_CHARS));
    let rows = std::iter::once(bos_char_ids())
        .chain(tokens.iter().map(|t| token_char_ids(t.as_ref())))
        .chain(std::iter::once(eos_char_ids()));
    for (mut row, ids) in out.rows_mut().into_iter().zip(rows) {
        row.iter_mut().zip(ids).for_each(|(o, i)| *o = i);
    }
    out
}
