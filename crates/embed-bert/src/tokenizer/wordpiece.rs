//! Greedy longest-match-first WordPiece segmentation.

use super::vocab::Vocab;

/// Words longer than this many characters become one unknown token, as in
/// Hugging Face's tokenizers (`max_input_chars_per_word`).
pub const MAX_CHARS_PER_WORD: usize = 100;

/// One piece of a segmented word.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Piece {
    /// Vocabulary id.
    pub id: u32,
    /// Range of the piece's characters within the word.
    pub chars: (usize, usize),
}

/// Segments `word` (whose characters start at the byte offsets
/// `char_bytes`, relative to the word, followed by the word's length) into
/// vocabulary pieces, appending them to `out`.
///
/// Returns `false`, appending nothing, when the word is longer than
/// [`MAX_CHARS_PER_WORD`] or some position cannot be matched: the caller
/// then emits a single unknown token for the whole word.
pub fn segment(vocab: &Vocab, word: &str, char_bytes: &[usize], out: &mut Vec<Piece>) -> bool {
    let n_chars = char_bytes.len() - 1;
    if n_chars > MAX_CHARS_PER_WORD {
        return false;
    }
    let mark = out.len();
    let mut start = 0;
    while start < n_chars {
        let limit = if start == 0 {
            vocab.max_initial_chars()
        } else {
            vocab.max_continuation_chars()
        };
        let mut end = n_chars.min(start + limit);
        let mut found = None;
        while end > start {
            let piece = &word[char_bytes[start]..char_bytes[end]];
            let id = if start == 0 {
                vocab.id(piece)
            } else {
                vocab.continuation_id(piece)
            };
            if let Some(id) = id {
                found = Some(id);
                break;
            }
            end -= 1;
        }
        match found {
            Some(id) => {
                out.push(Piece {
                    id,
                    chars: (start, end),
                });
                start = end;
            }
            None => {
                out.truncate(mark);
                return false;
            }
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pieces(vocab: &Vocab, word: &str) -> Option<Vec<String>> {
        let mut bytes: Vec<usize> = word.char_indices().map(|(i, _)| i).collect();
        bytes.push(word.len());
        let mut out = Vec::new();
        segment(vocab, word, &bytes, &mut out).then(|| {
            out.iter()
                .map(|p| vocab.token(p.id).unwrap().to_string())
                .collect()
        })
    }

    #[test]
    fn longest_match_first() {
        let vocab = Vocab::from_tokens(["un", "una", "##aff", "##able", "##ffable", "##a"]);
        assert_eq!(pieces(&vocab, "unaffable").unwrap(), ["una", "##ffable"]);
    }

    #[test]
    fn unmatched_word_is_rejected() {
        let vocab = Vocab::from_tokens(["ab", "##c"]);
        assert_eq!(pieces(&vocab, "abd"), None);
        assert_eq!(pieces(&vocab, "abc").unwrap(), ["ab", "##c"]);
    }

    #[test]
    fn words_over_the_limit_are_rejected() {
        let vocab = Vocab::from_tokens(["b", "##b"]);
        assert!(pieces(&vocab, &"b".repeat(100)).is_some());
        assert!(pieces(&vocab, &"b".repeat(101)).is_none());
    }
}
