//! The WordPiece vocabulary: `vocab.txt`, one token per line, id = line index.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::path::Path;

use embed_core::{Error, Location, Result};

/// A fast, non-cryptographic hasher for vocabulary lookups (the FxHash
/// mixing step). Vocabulary keys come from the model files, not from
/// adversaries, so hash flooding is not a concern here.
#[derive(Default, Clone, Copy)]
pub(crate) struct FxHasher {
    hash: u64,
}

const SEED: u64 = 0x51_7c_c1_b7_27_22_0a_95;

impl FxHasher {
    #[inline]
    fn add(&mut self, word: u64) {
        self.hash = (self.hash.rotate_left(5) ^ word).wrapping_mul(SEED);
    }
}

impl Hasher for FxHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            let mut word = [0u8; 8];
            word.copy_from_slice(chunk);
            self.add(u64::from_le_bytes(word));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut word = [0u8; 8];
            word[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(word));
        }
    }

    #[inline]
    fn write_u8(&mut self, i: u8) {
        self.add(u64::from(i));
    }

    #[inline]
    fn finish(&self) -> u64 {
        self.hash
    }
}

type FastMap<V> = HashMap<Box<str>, V, BuildHasherDefault<FxHasher>>;

/// Token ↔ id tables of a WordPiece vocabulary.
///
/// Besides the full table it keeps continuation pieces (`##xyz`) in a second
/// table keyed without their prefix, so that WordPiece can look a piece up
/// without building a prefixed string.
///
/// ```
/// use embed_bert::Vocab;
/// let vocab = Vocab::from_tokens(["[PAD]", "[UNK]", "play", "##ing"]);
/// assert_eq!(vocab.id("play"), Some(2));
/// assert_eq!(vocab.continuation_id("ing"), Some(3));
/// assert_eq!(vocab.token(3), Some("##ing"));
/// ```
#[derive(Debug, Clone)]
pub struct Vocab {
    tokens: Vec<String>,
    ids: FastMap<u32>,
    continuation_ids: FastMap<u32>,
    /// Longest word-initial entry, in chars.
    max_initial_chars: usize,
    /// Longest continuation entry without its prefix, in chars.
    max_continuation_chars: usize,
}

/// The prefix WordPiece gives pieces that continue a word.
pub const CONTINUATION_PREFIX: &str = "##";

impl Vocab {
    /// Builds a vocabulary from tokens in id order. A token listed twice
    /// keeps its last id, as Hugging Face's loader does.
    pub fn from_tokens<I, S>(tokens: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let tokens: Vec<String> = tokens.into_iter().map(Into::into).collect();
        let mut ids = FastMap::default();
        let mut continuation_ids = FastMap::default();
        let mut max_initial_chars = 0;
        let mut max_continuation_chars = 0;
        for (id, token) in tokens.iter().enumerate() {
            let id = id as u32;
            ids.insert(token.as_str().into(), id);
            max_initial_chars = max_initial_chars.max(token.chars().count());
            if let Some(rest) = token.strip_prefix(CONTINUATION_PREFIX) {
                continuation_ids.insert(rest.into(), id);
                max_continuation_chars = max_continuation_chars.max(rest.chars().count());
            }
        }
        Vocab {
            tokens,
            ids,
            continuation_ids,
            max_initial_chars,
            max_continuation_chars,
        }
    }

    /// Reads `vocab.txt`: one token per line, trailing whitespace removed,
    /// the line index is the id.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|e| match e.kind() {
            std::io::ErrorKind::InvalidData => {
                Error::format(path, Location::File, "vocabulary is not valid UTF-8")
            }
            _ => Error::io(path, e),
        })?;
        if u32::try_from(text.lines().count()).is_err() {
            return Err(Error::format(
                path,
                Location::File,
                "more than 2^32 vocabulary lines",
            ));
        }
        Ok(Self::from_tokens(text.lines().map(str::trim_end)))
    }

    /// Number of ids.
    pub fn len(&self) -> usize {
        self.tokens.len()
    }

    /// Whether the vocabulary has no token.
    pub fn is_empty(&self) -> bool {
        self.tokens.is_empty()
    }

    /// The id of a token, spelled exactly as in `vocab.txt`.
    #[inline]
    pub fn id(&self, token: &str) -> Option<u32> {
        self.ids.get(token).copied()
    }

    /// The id of the continuation piece `##piece`, given `piece`.
    #[inline]
    pub fn continuation_id(&self, piece: &str) -> Option<u32> {
        self.continuation_ids.get(piece).copied()
    }

    /// The token spelled by an id.
    pub fn token(&self, id: u32) -> Option<&str> {
        self.tokens.get(id as usize).map(String::as_str)
    }

    /// Longest token in chars (an upper bound for a word-initial piece).
    pub(crate) fn max_initial_chars(&self) -> usize {
        self.max_initial_chars
    }

    /// Longest continuation piece in chars, without the `##` prefix.
    pub(crate) fn max_continuation_chars(&self) -> usize {
        self.max_continuation_chars
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duplicate_tokens_keep_the_last_id() {
        let vocab = Vocab::from_tokens(["a", "b", "a"]);
        assert_eq!(vocab.id("a"), Some(2));
        assert_eq!(vocab.len(), 3);
    }

    #[test]
    fn continuation_table_strips_the_prefix() {
        let vocab = Vocab::from_tokens(["##", "##ab", "abc"]);
        assert_eq!(vocab.continuation_id(""), Some(0));
        assert_eq!(vocab.continuation_id("ab"), Some(1));
        assert_eq!(vocab.max_continuation_chars(), 2);
        assert_eq!(vocab.max_initial_chars(), 4);
    }

    #[test]
    fn reads_a_file_and_reports_bad_utf8() {
        let dir = tempfile::tempdir().unwrap();
        let good = dir.path().join("vocab.txt");
        std::fs::write(&good, "[PAD]\n[UNK]  \nhello\n").unwrap();
        let vocab = Vocab::from_file(&good).unwrap();
        assert_eq!(vocab.id("[UNK]"), Some(1));
        let bad = dir.path().join("bad.txt");
        std::fs::write(&bad, b"ok\n\xff\xfe\n").unwrap();
        assert!(matches!(Vocab::from_file(&bad), Err(Error::Format { .. })));
    }
}
