//! Accumulates the rows a reader parses into [`WordVectors`], checking each
//! word and value as it arrives so errors can name their location.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use ndarray::Array2;

use super::UnicodeErrors;
use crate::{Error, Location, Result, WordVectors};

/// The most `f32`s reserved up front when the input's size is unknown;
/// beyond this memory grows only as rows are actually read.
const MAX_BLIND_RESERVE: usize = 1 << 22;

pub(crate) struct RowsBuilder {
    path: PathBuf,
    dim: usize,
    words: Vec<String>,
    index: HashMap<String, usize>,
    values: Vec<f32>,
}

impl RowsBuilder {
    /// A builder for rows of `dim` values. Of `expected_rows`, memory is
    /// reserved only for as many as `justified_rows` (what the input's size
    /// can hold, or suggests) allows, or a small fixed amount when that is
    /// unknown.
    pub(crate) fn new(
        path: &Path,
        dim: usize,
        expected_rows: usize,
        justified_rows: Option<usize>,
    ) -> Self {
        let rows = match justified_rows {
            Some(j) => expected_rows.min(j),
            None => expected_rows.min(MAX_BLIND_RESERVE / dim.max(1)),
        };
        Self {
            path: path.to_path_buf(),
            dim,
            words: Vec::with_capacity(rows),
            index: HashMap::with_capacity(rows),
            values: Vec::with_capacity(rows.saturating_mul(dim)),
        }
    }

    pub(crate) fn dim(&self) -> usize {
        self.dim
    }

    pub(crate) fn len(&self) -> usize {
        self.words.len()
    }

    /// Appends a row whose values the caller has already pushed with
    /// [`RowsBuilder::values_mut`], checking the word and the values.
    pub(crate) fn commit_row(&mut self, word: String, location: Location) -> Result<()> {
        let start = self.words.len() * self.dim;
        debug_assert_eq!(self.values.len(), start + self.dim);
        check_row(&word, &self.values[start..], &self.path, location)?;
        let row = self.words.len();
        if let Some(first) = self.index.insert(word.clone(), row) {
            return Err(Error::format(
                &self.path,
                location,
                format!("duplicate word `{word}` (first seen as row {})", first + 1),
            ));
        }
        self.words.push(word);
        Ok(())
    }

    /// The flat value buffer; readers push exactly `dim` values per row.
    pub(crate) fn values_mut(&mut self) -> &mut Vec<f32> {
        &mut self.values
    }

    pub(crate) fn finish(self) -> WordVectors {
        let shape = (self.words.len(), self.dim);
        let matrix = Array2::from_shape_vec(shape, self.values)
            .expect("one row of `dim` values per committed word");
        WordVectors::from_checked_parts(self.words, self.index, matrix)
    }
}

/// Checks one row's word and values (before duplicates are looked for):
/// every value finite, the word not empty.
pub(crate) fn check_row(word: &str, values: &[f32], path: &Path, location: Location) -> Result<()> {
    if let Some(bad) = values.iter().find(|v| !v.is_finite()) {
        return Err(Error::format(
            path,
            location,
            format!("vector of word `{word}` holds the non-finite value {bad}"),
        ));
    }
    if word.is_empty() {
        return Err(Error::format(path, location, "empty word"));
    }
    Ok(())
}

/// Turns a word's bytes into a `String` under the chosen policy.
pub(crate) fn decode_word(
    bytes: &[u8],
    policy: UnicodeErrors,
    path: &Path,
    location: Location,
) -> Result<String> {
    match std::str::from_utf8(bytes) {
        Ok(s) => Ok(s.to_owned()),
        Err(e) => match policy {
            UnicodeErrors::Strict => Err(Error::format(
                path,
                location,
                format!(
                    "word is not valid UTF-8 (invalid byte at offset {} of {:?}); \
                     read with UnicodeErrors::Replace or Ignore to load it anyway",
                    e.valid_up_to(),
                    String::from_utf8_lossy(bytes)
                ),
            )),
            UnicodeErrors::Replace => Ok(String::from_utf8_lossy(bytes).into_owned()),
            UnicodeErrors::Ignore => Ok(bytes.utf8_chunks().map(|c| c.valid()).collect()),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decode_policies() {
        let bytes = b"caf\xc3";
        let p = Path::new("x");
        assert!(decode_word(bytes, UnicodeErrors::Strict, p, Location::File).is_err());
        assert_eq!(
            decode_word(bytes, UnicodeErrors::Replace, p, Location::File).unwrap(),
            "caf\u{fffd}"
        );
        assert_eq!(
            decode_word(bytes, UnicodeErrors::Ignore, p, Location::File).unwrap(),
            "caf"
        );
    }
}
