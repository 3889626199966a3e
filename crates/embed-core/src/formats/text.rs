//! Row parsing and writing shared by the text formats.

use std::fmt::Write as _;
use std::io::Write;
use std::path::Path;

use super::rows::{decode_word, RowsBuilder};
use super::UnicodeErrors;
use crate::{Error, Location, Result, WordVectors};

/// Parses `word v1 … vdim` (fields separated by one or more spaces,
/// trailing whitespace such as `\r` ignored) into `builder`.
pub(super) fn parse_row(
    line: &[u8],
    builder: &mut RowsBuilder,
    path: &Path,
    policy: UnicodeErrors,
    location: Location,
) -> Result<()> {
    let dim = builder.dim();
    // Leading whitespace other than spaces belongs to the word, as in gensim.
    let mut fields = line
        .trim_ascii_end()
        .split(|&b| b == b' ')
        .filter(|f| !f.is_empty());
    let Some(word) = fields.next() else {
        return Err(Error::format(path, location, "empty line"));
    };
    let word = decode_word(word, policy, path, location)?;
    let values = builder.values_mut();
    let start = values.len();
    let mut found = 0usize;
    for field in fields {
        found += 1;
        if found > dim {
            continue; // only counted, for the message below
        }
        let value = std::str::from_utf8(field)
            .ok()
            .and_then(|s| s.parse::<f32>().ok())
            .ok_or_else(|| {
                Error::format(
                    path,
                    location,
                    format!(
                        "`{}` in the vector of word `{word}` is not a number",
                        String::from_utf8_lossy(field)
                    ),
                )
            })?;
        values.push(value);
    }
    if found != dim {
        values.truncate(start);
        return Err(Error::format(
            path,
            location,
            format!("word `{word}` has {found} values, expected {dim}"),
        ));
    }
    builder.commit_row(word, location)
}

/// Writes `word v1 … vdim\n` per word, each value in the shortest decimal
/// form that parses back to the same `f32`.
pub(super) fn write_rows(mut writer: impl Write, vectors: &WordVectors) -> Result<()> {
    let mut line = String::with_capacity(vectors.dim() * 12 + 64);
    for (word, row) in vectors.words().iter().zip(vectors.matrix().rows()) {
        line.clear();
        line.push_str(word);
        for v in row {
            // Writing to a String cannot fail.
            let _ = write!(line, " {v}");
        }
        line.push('\n');
        writer.write_all(line.as_bytes())?;
    }
    writer.flush()?;
    Ok(())
}
