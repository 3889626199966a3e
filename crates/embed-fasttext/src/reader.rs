//! fastText's tokenizer: words are runs of bytes between spaces, tabs,
//! vertical tabs, form feeds, carriage returns, newlines and NUL; each
//! newline is also a token of its own, the end of sentence `</s>`.

use std::io::{self, BufRead};

/// What [`TokenReader::next_token`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Token {
    /// A word, now in the caller's buffer.
    Word,
    /// A newline: the end-of-sentence token.
    EndOfLine,
    /// The end of the input.
    EndOfInput,
}

#[inline]
fn is_separator(b: u8) -> bool {
    matches!(b, b' ' | b'\n' | b'\r' | b'\t' | 0x0b | 0x0c | 0)
}

/// Reads tokens from a byte stream as fastText's `Dictionary::readWord`.
pub(crate) struct TokenReader<R> {
    inner: R,
}

impl<R: BufRead> TokenReader<R> {
    pub(crate) fn new(inner: R) -> Self {
        TokenReader { inner }
    }

    pub(crate) fn get_mut(&mut self) -> &mut R {
        &mut self.inner
    }

    /// Reads the next token; a word's bytes go into `word` (cleared first).
    /// The separator after a word is left for the next call, so a newline
    /// right after a word comes back as its own token.
    pub(crate) fn next_token(&mut self, word: &mut Vec<u8>) -> io::Result<Token> {
        word.clear();
        loop {
            let buf = match self.inner.fill_buf() {
                Ok(b) => b,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            if buf.is_empty() {
                return Ok(if word.is_empty() {
                    Token::EndOfInput
                } else {
                    Token::Word
                });
            }
            let mut start = 0;
            if word.is_empty() {
                while start < buf.len() && is_separator(buf[start]) {
                    if buf[start] == b'\n' {
                        self.inner.consume(start + 1);
                        return Ok(Token::EndOfLine);
                    }
                    start += 1;
                }
            }
            let len = buf[start..]
                .iter()
                .position(|&b| is_separator(b))
                .unwrap_or(buf.len() - start);
            word.extend_from_slice(&buf[start..start + len]);
            let ended = start + len < buf.len();
            self.inner.consume(start + len);
            if ended && !word.is_empty() {
                return Ok(Token::Word);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tokens(text: &[u8], capacity: usize) -> Vec<String> {
        let reader = io::BufReader::with_capacity(capacity, text);
        let mut r = TokenReader::new(reader);
        let mut word = Vec::new();
        let mut out = Vec::new();
        loop {
            match r.next_token(&mut word).unwrap() {
                Token::Word => out.push(String::from_utf8(word.clone()).unwrap()),
                Token::EndOfLine => out.push("</s>".into()),
                Token::EndOfInput => return out,
            }
        }
    }

    #[test]
    fn newlines_are_tokens_and_words_split_on_fasttext_separators() {
        for capacity in [1, 2, 3, 64] {
            assert_eq!(
                tokens(b"ab c\n\n d\te\x0bf\0g\r\nlast", capacity),
                ["ab", "c", "</s>", "</s>", "d", "e", "f", "g", "</s>", "last"],
                "buffer {capacity}"
            );
        }
    }
}
