//! Word-vector files: word2vec binary and text, and GloVe text.
//!
//! The readers and writers are compatible both ways with the original
//! word2vec C tool and with gensim's `KeyedVectors.load_word2vec_format` /
//! `save_word2vec_format`:
//!
//! | format | layout |
//! |---|---|
//! | [`VectorFormat::Word2VecBinary`] | header `rows dim\n`, then per word: the word, a space, `dim` little-endian `f32`s, and (optionally) `\n` |
//! | [`VectorFormat::Word2VecText`] | header `rows dim\n`, then per line: the word and `dim` numbers separated by spaces |
//! | [`VectorFormat::Glove`] | like word2vec text without the header; `dim` is taken from the first line |
//!
//! Readers never trust a header: a claimed size is checked against the file
//! before memory is reserved, and memory otherwise grows only with the data
//! actually read. Every malformed row yields an [`Error::Format`] naming the
//! file and the line (text) or byte offset (binary). Duplicate words and
//! non-finite values are errors (gensim keeps the first duplicate and
//! accepts NaN).
//!
//! Writers reject words that the formats cannot represent (empty words and
//! words containing a space, `\n` or `\r`), write floats in the shortest
//! form that reads back to the same `f32`, and go through
//! [`crate::io::write_atomically`] when writing to a path.
//!
//! ```
//! use embed_core::formats::{read_vectors, write_vectors, ReadOptions, VectorFormat};
//! use embed_core::WordVectors;
//! use ndarray::array;
//!
//! let dir = tempfile::tempdir().unwrap();
//! let path = dir.path().join("vectors.bin");
//! let vectors = WordVectors::new(vec!["hello".into(), "world".into()], array![[0.5, -1.0], [2.0, 0.25]]).unwrap();
//! write_vectors(&path, &vectors, VectorFormat::Word2VecBinary).unwrap();
//! let back = read_vectors(&path, None, &ReadOptions::default()).unwrap();
//! assert_eq!(back, vectors);
//! ```

mod glove;
mod rows;
mod text;
mod word2vec;

use std::fmt;
use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::str::FromStr;

use crate::{Error, Location, Result, WordVectors};

pub use glove::{read_glove, write_glove};
pub use word2vec::{
    read_word2vec_binary, read_word2vec_text, write_word2vec_binary, write_word2vec_text,
};

/// Read buffer for vector files: large enough that each refill amortises
/// the system call over many rows.
const READ_BUFFER: usize = 1 << 20;

/// How many bytes [`sniff_format`] looks at.
const SNIFF_BYTES: u64 = 1 << 20;

/// A word-vector file format.
///
/// ```
/// use embed_core::formats::VectorFormat;
/// let f: VectorFormat = "bin".parse().unwrap();
/// assert_eq!(f, VectorFormat::Word2VecBinary);
/// assert_eq!(f.to_string(), "word2vec");
/// assert!("npy".parse::<VectorFormat>().is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VectorFormat {
    /// word2vec C binary format (`-binary 1`).
    Word2VecBinary,
    /// word2vec C text format (`-binary 0`), also fastText's `.vec`.
    Word2VecText,
    /// GloVe text: no header line.
    Glove,
}

impl VectorFormat {
    /// The canonical name, as accepted on the command line.
    pub fn name(self) -> &'static str {
        match self {
            VectorFormat::Word2VecBinary => "word2vec",
            VectorFormat::Word2VecText => "word2vec-text",
            VectorFormat::Glove => "glove",
        }
    }
}

impl fmt::Display for VectorFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for VectorFormat {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        match s {
            "word2vec" | "word2vec-bin" | "bin" => Ok(VectorFormat::Word2VecBinary),
            "word2vec-text" | "text" => Ok(VectorFormat::Word2VecText),
            "glove" => Ok(VectorFormat::Glove),
            other => Err(Error::invalid_parameter(
                "format",
                format!(
                    "unknown vector format `{other}` (expected word2vec, word2vec-text or glove)"
                ),
            )),
        }
    }
}

/// What to do with words that are not valid UTF-8, like gensim's
/// `unicode_errors`. The word2vec C tool cuts long words at a byte limit,
/// which can split a multi-byte character; `Replace` or `Ignore` load such
/// files.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum UnicodeErrors {
    /// Invalid UTF-8 is a format error.
    #[default]
    Strict,
    /// Invalid sequences become U+FFFD.
    Replace,
    /// Invalid sequences are dropped.
    Ignore,
}

/// Options for reading vector files.
#[derive(Debug, Clone, Default)]
pub struct ReadOptions {
    /// Policy for words that are not valid UTF-8.
    pub unicode_errors: UnicodeErrors,
    /// Read at most this many rows (files are usually sorted by frequency).
    /// `Some(0)` reads none; gensim treats `limit=0` as "no limit".
    pub limit: Option<usize>,
}

/// Guesses the format of a vector file from its first bytes.
///
/// A first line of two integers is a word2vec header; the file is then
/// text if the next line is a word followed by exactly `dim` numbers, and
/// binary otherwise. A first line of a word and numbers is GloVe.
///
/// # Errors
///
/// [`Error::Io`] if the file cannot be read; [`Error::Format`] if it is
/// empty or looks like none of the formats.
pub fn sniff_format(path: &Path) -> Result<VectorFormat> {
    let file = File::open(path).map_err(|e| Error::io(path, e))?;
    let mut prefix = Vec::new();
    file.take(SNIFF_BYTES)
        .read_to_end(&mut prefix)
        .map_err(|e| Error::io(path, e))?;
    sniff_bytes(&prefix).ok_or_else(|| {
        let message = if prefix.is_empty() {
            "empty file"
        } else {
            "not a word2vec (binary or text) or GloVe vector file"
        };
        Error::format(path, Location::File, message)
    })
}

fn sniff_bytes(prefix: &[u8]) -> Option<VectorFormat> {
    let mut lines = prefix.split(|&b| b == b'\n');
    let first = lines.next()?;
    let first_tokens = tokens(first);
    if let [rows, dim] = first_tokens.as_slice() {
        if let (Some(rows), Some(dim)) = (parse_ascii::<u64>(rows), parse_ascii::<u64>(dim)) {
            // A row that reads as text with `dim` numbers is text; a binary
            // row would need its float bytes to spell exactly that.
            let second = lines.next().unwrap_or_default();
            let second_tokens = tokens(second);
            let is_text = rows == 0
                || (second_tokens.len() as u64 == dim + 1
                    && second_tokens[1..]
                        .iter()
                        .all(|t| parse_ascii::<f32>(t).is_some()));
            return Some(if is_text {
                VectorFormat::Word2VecText
            } else {
                VectorFormat::Word2VecBinary
            });
        }
    }
    let is_glove = first_tokens.len() >= 2
        && first_tokens[1..]
            .iter()
            .all(|t| parse_ascii::<f32>(t).is_some());
    is_glove.then_some(VectorFormat::Glove)
}

/// Space-separated fields of a text line, ignoring trailing whitespace.
pub(crate) fn tokens(line: &[u8]) -> Vec<&[u8]> {
    line.trim_ascii_end()
        .split(|&b| b == b' ')
        .filter(|t| !t.is_empty())
        .collect()
}

fn parse_ascii<T: FromStr>(bytes: &[u8]) -> Option<T> {
    std::str::from_utf8(bytes).ok()?.parse().ok()
}

/// Reads a vector file, sniffing the format when `format` is `None`.
///
/// # Errors
///
/// [`Error::Io`] when the file cannot be read, [`Error::Format`] for any
/// content that does not follow the format (see the [module docs](self)).
pub fn read_vectors(
    path: &Path,
    format: Option<VectorFormat>,
    options: &ReadOptions,
) -> Result<WordVectors> {
    let format = match format {
        Some(f) => f,
        None => sniff_format(path)?,
    };
    let file = File::open(path).map_err(|e| Error::io(path, e))?;
    let metadata = file.metadata().map_err(|e| Error::io(path, e))?;
    let file_len = metadata.len();
    if format == VectorFormat::Word2VecBinary && metadata.is_file() && file_len > 0 {
        // SAFETY: the mapping is only read, and dropped before returning.
        // Another process truncating or rewriting the file while it is
        // read is outside what the reader can defend against (as with any
        // reader of a mapped file); `write_vectors` itself replaces files
        // by renaming, never in place.
        if let Ok(map) = unsafe { memmap2::MmapOptions::new().populate().map(&file) } {
            return word2vec::read_binary_slice(&map, path, options);
        }
    }
    let reader = BufReader::with_capacity(READ_BUFFER, file);
    let size = Some(file_len);
    match format {
        VectorFormat::Word2VecBinary => word2vec::read_binary(reader, path, options, size),
        VectorFormat::Word2VecText => word2vec::read_text(reader, path, options, size),
        VectorFormat::Glove => glove::read(reader, path, options, size),
    }
}

/// Writes `vectors` to `path` in `format`, atomically: on failure the path
/// keeps its old content (or stays absent).
///
/// # Errors
///
/// [`Error::InvalidInput`] for a word the format cannot hold,
/// [`Error::Io`] when writing fails.
pub fn write_vectors(path: &Path, vectors: &WordVectors, format: VectorFormat) -> Result<()> {
    crate::io::write_atomically(path, |w| match format {
        VectorFormat::Word2VecBinary => write_word2vec_binary(w, vectors),
        VectorFormat::Word2VecText => write_word2vec_text(w, vectors),
        VectorFormat::Glove => write_glove(w, vectors),
    })
}

/// Checks that every word can be written and read back unchanged.
pub(crate) fn check_writable(vectors: &WordVectors) -> Result<()> {
    for word in vectors.words() {
        if word.is_empty() || word.contains([' ', '\n', '\r']) {
            return Err(Error::InvalidInput(format!(
                "word {word:?} cannot be written to a vector file: words must be non-empty \
                 and hold no space, newline or carriage return"
            )));
        }
    }
    Ok(())
}

/// Reads one line (including its `\n`) into `buf`, replacing its content.
/// Returns `false` at end of input.
pub(crate) fn read_line(reader: &mut impl BufRead, buf: &mut Vec<u8>, path: &Path) -> Result<bool> {
    buf.clear();
    let n = reader
        .read_until(b'\n', buf)
        .map_err(|e| Error::io(path, e))?;
    Ok(n > 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniffs_each_format() {
        assert_eq!(
            sniff_bytes(b"2 3\nthe 0.1 0.2 0.3\nof 1 2 3\n"),
            Some(VectorFormat::Word2VecText)
        );
        let mut binary = b"1 3\nthe ".to_vec();
        for v in [0.1f32, 0.2, 0.3] {
            binary.extend(v.to_le_bytes());
        }
        assert_eq!(sniff_bytes(&binary), Some(VectorFormat::Word2VecBinary));
        assert_eq!(
            sniff_bytes(b"the 0.1 0.2 0.3\nof 1 2 3\n"),
            Some(VectorFormat::Glove)
        );
        assert_eq!(sniff_bytes(b""), None);
        assert_eq!(sniff_bytes(b"hello world\n"), None);
    }

    #[test]
    fn format_names_round_trip() {
        for f in [
            VectorFormat::Word2VecBinary,
            VectorFormat::Word2VecText,
            VectorFormat::Glove,
        ] {
            assert_eq!(f.to_string().parse::<VectorFormat>().unwrap(), f);
        }
        assert_eq!(
            "word2vec-bin".parse::<VectorFormat>().unwrap(),
            VectorFormat::Word2VecBinary
        );
        assert_eq!(
            "text".parse::<VectorFormat>().unwrap(),
            VectorFormat::Word2VecText
        );
    }
}
