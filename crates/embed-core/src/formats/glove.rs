//! GloVe's text format: word2vec text without the header line.

use std::io::{BufRead, Write};
use std::path::Path;

use super::rows::RowsBuilder;
use super::{check_writable, read_line, text, ReadOptions};
use crate::{Error, Location, Result, WordVectors};

/// Reads GloVe text vectors; the dimension is the number of values on the
/// first line. Blank lines are allowed only at the end of the file.
///
/// ```
/// use embed_core::formats::{read_glove, ReadOptions};
/// let text = "the 0.5 -1\nof 0 0.25\n";
/// let v = read_glove(text.as_bytes(), "glove.txt".as_ref(), &ReadOptions::default()).unwrap();
/// assert_eq!((v.len(), v.dim()), (2, 2));
/// ```
pub fn read_glove(reader: impl BufRead, path: &Path, options: &ReadOptions) -> Result<WordVectors> {
    read(reader, path, options, None)
}

/// Writes GloVe text vectors (no header line).
///
/// # Errors
///
/// [`Error::InvalidInput`] for words the format cannot hold;
/// [`Error::Stream`] when writing fails.
pub fn write_glove(writer: impl Write, vectors: &WordVectors) -> Result<()> {
    check_writable(vectors)?;
    text::write_rows(writer, vectors)
}

pub(super) fn read(
    mut reader: impl BufRead,
    path: &Path,
    options: &ReadOptions,
    file_size: Option<u64>,
) -> Result<WordVectors> {
    let limit = options.limit.unwrap_or(usize::MAX);
    let mut line = Vec::new();
    if !read_line(&mut reader, &mut line, path)? {
        return Err(Error::format(path, Location::File, "empty file"));
    }
    let dim = super::tokens(&line).len().saturating_sub(1);
    if dim == 0 {
        return Err(Error::format(
            path,
            Location::Line(1),
            "first line holds no vector values",
        ));
    }
    // Without a header, estimate the rows from the first line's length;
    // memory grows past the estimate as rows arrive.
    let estimate = file_size.map(|size| {
        let rows = size / (line.len() as u64).max(1) + 1;
        usize::try_from(rows).unwrap_or(usize::MAX)
    });
    let mut builder = RowsBuilder::new(path, dim, limit, estimate);
    let mut line_no = 1u64;
    let mut blank_line = None;
    loop {
        if builder.len() >= limit {
            break;
        }
        if line.trim_ascii().is_empty() {
            blank_line.get_or_insert(line_no);
        } else {
            if let Some(blank) = blank_line {
                return Err(Error::format(path, Location::Line(blank), "empty line"));
            }
            text::parse_row(
                &line,
                &mut builder,
                path,
                options.unicode_errors,
                Location::Line(line_no),
            )?;
        }
        if !read_line(&mut reader, &mut line, path)? {
            break;
        }
        line_no += 1;
    }
    Ok(builder.finish())
}
