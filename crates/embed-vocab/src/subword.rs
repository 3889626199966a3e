//! fastText's character n-grams and hash.
//!
//! fastText represents a word `w` by the n-grams of `<w>` (the word between
//! bracket markers) of `minn..=maxn` characters, counted in Unicode code
//! points (a byte `b` with `b & 0xC0 == 0x80` continues a character), as
//! `Dictionary::computeSubwords` does. Single-character n-grams made of a
//! bracket alone (`<` at the start, `>` at the end) are skipped; the whole
//! bracketed word may itself appear when it is short enough (fastText then
//! adds it again, as an n-gram, beside the word's own row).

/// The n-grams of `word` (already bracketed, e.g. `"<where>"`) of `minn` to
/// `maxn` characters, in fastText's order: by start position, then length.
///
/// ```
/// use embed_vocab::char_ngrams;
/// let grams: Vec<&str> = char_ngrams("<héé>", 3, 4).collect();
/// assert_eq!(grams, ["<hé", "<héé", "héé", "héé>", "éé>"]);
/// let ones: Vec<&str> = char_ngrams("<ab>", 1, 1).collect();
/// assert_eq!(ones, ["a", "b"]); // the lone brackets are skipped
/// ```
pub fn char_ngrams(word: &str, minn: usize, maxn: usize) -> CharNgrams<'_> {
    CharNgrams {
        word,
        minn,
        maxn,
        start: 0,
        end: 0,
        n: 0,
    }
}

/// The iterator of [`char_ngrams`].
#[derive(Debug, Clone)]
pub struct CharNgrams<'a> {
    word: &'a str,
    minn: usize,
    maxn: usize,
    /// Byte where the current n-grams start.
    start: usize,
    /// Byte after the current n-gram.
    end: usize,
    /// Characters in the current n-gram (0: start not begun).
    n: usize,
}

#[inline]
fn is_continuation(b: u8) -> bool {
    b & 0xC0 == 0x80
}

impl<'a> Iterator for CharNgrams<'a> {
    type Item = &'a str;

    fn next(&mut self) -> Option<&'a str> {
        let bytes = self.word.as_bytes();
        loop {
            if self.start >= bytes.len() {
                return None;
            }
            if self.n == 0 && is_continuation(bytes[self.start]) {
                self.start += 1;
                continue;
            }
            if self.n == self.maxn || self.end >= bytes.len() && self.n > 0 {
                // Done with n-grams starting here: move to the next byte.
                self.start += 1;
                self.n = 0;
                continue;
            }
            if self.n == 0 {
                self.end = self.start;
            }
            // Extend by one character.
            self.end += 1;
            while self.end < bytes.len() && is_continuation(bytes[self.end]) {
                self.end += 1;
            }
            self.n += 1;
            let lone_bracket = self.n == 1 && (self.start == 0 || self.end == bytes.len());
            if self.n >= self.minn && !lone_bracket {
                return Some(&self.word[self.start..self.end]);
            }
        }
    }
}

/// fastText's string hash (`Dictionary::hash`): 32-bit FNV-1a where each
/// byte is first sign-extended as a C `int8_t`, so bytes `>= 0x80` (all of
/// non-ASCII UTF-8) xor in `0xFFFFFF..` rather than `0x000000..`.
///
/// ```
/// use embed_vocab::fasttext_hash;
/// assert_eq!(fasttext_hash(b""), 2166136261);
/// assert_eq!(fasttext_hash(b"a"), 0xe40c292c); // plain FNV-1a for ASCII
/// ```
#[inline]
pub fn fasttext_hash(bytes: &[u8]) -> u32 {
    bytes.iter().fold(2_166_136_261u32, |h, &b| {
        (h ^ (b as i8 as i32 as u32)).wrapping_mul(16_777_619)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// fastText's loop, transcribed index by index, as the oracle.
    fn reference(word: &str, minn: usize, maxn: usize) -> Vec<String> {
        let w = word.as_bytes();
        let mut out = Vec::new();
        for i in 0..w.len() {
            if is_continuation(w[i]) {
                continue;
            }
            let mut ngram = Vec::new();
            let mut j = i;
            let mut n = 1;
            while j < w.len() && n <= maxn {
                ngram.push(w[j]);
                j += 1;
                while j < w.len() && is_continuation(w[j]) {
                    ngram.push(w[j]);
                    j += 1;
                }
                if n >= minn && !(n == 1 && (i == 0 || j == w.len())) {
                    out.push(String::from_utf8(ngram.clone()).unwrap());
                }
                n += 1;
            }
        }
        out
    }

    #[test]
    fn matches_fasttext_loop() {
        for word in ["<a>", "<where>", "<héé>", "<日本語>", "<>", "<x😀y>"] {
            for minn in 0..5 {
                for maxn in 0..7 {
                    let got: Vec<&str> = char_ngrams(word, minn, maxn).collect();
                    assert_eq!(got, reference(word, minn, maxn), "{word} {minn} {maxn}");
                }
            }
        }
    }

    #[test]
    fn whole_word_appears_when_short() {
        let grams: Vec<&str> = char_ngrams("<a>", 3, 6).collect();
        assert_eq!(grams, ["<a>"]);
    }

    #[test]
    fn hash_sign_extends_high_bytes() {
        // FNV-1a by hand: 0xC3 as int8 is -61, i.e. 0xFFFFFFC3 as uint32.
        let h0 = 2_166_136_261u32;
        let signed = (h0 ^ 0xFFFF_FFC3).wrapping_mul(16_777_619);
        let unsigned = (h0 ^ 0xC3).wrapping_mul(16_777_619);
        assert_eq!(fasttext_hash(&[0xC3]), signed);
        assert_ne!(signed, unsigned);
        // ASCII bytes are unaffected: "ab" by hand.
        let a = (h0 ^ 0x61).wrapping_mul(16_777_619);
        assert_eq!(fasttext_hash(b"ab"), (a ^ 0x62).wrapping_mul(16_777_619));
    }
}
