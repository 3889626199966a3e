//! The word2vec C tool's binary and text formats.

use std::io::{BufRead, Read, Write};
use std::path::Path;

use std::collections::HashMap;

use ndarray::Array2;

use super::rows::{check_row, decode_word, RowsBuilder};
use super::{check_writable, read_line, text, ReadOptions};
use crate::{Error, Location, Result, WordVectors};

/// Longest word accepted in a binary file; longer means a corrupt file
/// (the C tool itself cuts words at 100 bytes).
const MAX_WORD_BYTES: u64 = 1 << 16;

/// Longest header line accepted.
const MAX_HEADER_BYTES: u64 = 1 << 10;

/// Reads the word2vec binary format (gensim's `binary=True`).
///
/// Rows may or may not end in `\n` (the C tool writes it, gensim does not);
/// newlines before a word are skipped. `path` only names the source in
/// errors. Without the file size at hand this reserves memory only as rows
/// arrive; [`super::read_vectors`] also checks the header against the size.
///
/// ```
/// use embed_core::formats::{read_word2vec_binary, ReadOptions};
/// let mut bytes = b"1 2\nhi ".to_vec();
/// bytes.extend(1.5f32.to_le_bytes());
/// bytes.extend((-2.0f32).to_le_bytes());
/// let v = read_word2vec_binary(&bytes[..], "hi.bin".as_ref(), &ReadOptions::default()).unwrap();
/// assert_eq!(v.vector("hi").unwrap().to_vec(), vec![1.5, -2.0]);
/// ```
pub fn read_word2vec_binary(
    reader: impl BufRead,
    path: &Path,
    options: &ReadOptions,
) -> Result<WordVectors> {
    read_binary(reader, path, options, None)
}

/// Reads the word2vec text format (gensim's `binary=False`; fastText's
/// `.vec`): a `rows dim` header, then a word and `dim` numbers per line.
///
/// ```
/// use embed_core::formats::{read_word2vec_text, ReadOptions};
/// let text = "2 2\nhi 1.5 -2\nthere 0 0.25\n";
/// let v = read_word2vec_text(text.as_bytes(), "v.txt".as_ref(), &ReadOptions::default()).unwrap();
/// assert_eq!(v.words(), ["hi", "there"]);
/// ```
pub fn read_word2vec_text(
    reader: impl BufRead,
    path: &Path,
    options: &ReadOptions,
) -> Result<WordVectors> {
    read_text(reader, path, options, None)
}

/// Writes the word2vec binary format, each row ending in `\n` as the C
/// tool writes it.
///
/// # Errors
///
/// [`Error::InvalidInput`] for words the format cannot hold;
/// [`Error::Stream`] when writing fails.
pub fn write_word2vec_binary(mut writer: impl Write, vectors: &WordVectors) -> Result<()> {
    check_writable(vectors)?;
    writeln!(writer, "{} {}", vectors.len(), vectors.dim())?;
    let mut row_bytes = Vec::with_capacity(vectors.dim() * 4 + 64);
    for (word, row) in vectors.words().iter().zip(vectors.matrix().rows()) {
        row_bytes.clear();
        row_bytes.extend_from_slice(word.as_bytes());
        row_bytes.push(b' ');
        for v in row {
            row_bytes.extend_from_slice(&v.to_le_bytes());
        }
        row_bytes.push(b'\n');
        writer.write_all(&row_bytes)?;
    }
    writer.flush()?;
    Ok(())
}

/// Writes the word2vec text format; numbers use the shortest decimal form
/// that reads back to the same `f32`.
///
/// # Errors
///
/// As [`write_word2vec_binary`].
pub fn write_word2vec_text(mut writer: impl Write, vectors: &WordVectors) -> Result<()> {
    check_writable(vectors)?;
    writeln!(writer, "{} {}", vectors.len(), vectors.dim())?;
    text::write_rows(writer, vectors)
}

/// `rows dim` from the first line.
struct Header {
    rows: usize,
    dim: usize,
    /// Bytes the header line took, including its newline.
    len: u64,
}

fn read_header(reader: &mut impl BufRead, path: &Path) -> Result<Header> {
    let mut line = Vec::new();
    reader
        .take(MAX_HEADER_BYTES)
        .read_until(b'\n', &mut line)
        .map_err(|e| Error::io(path, e))?;
    let bad = |message: String| Error::format(path, Location::Line(1), message);
    if line.is_empty() {
        return Err(bad("empty file, expected a `rows dim` header".into()));
    }
    let fields = super::tokens(&line);
    let parsed: Vec<Option<u64>> = fields
        .iter()
        .map(|f| std::str::from_utf8(f).ok()?.parse().ok())
        .collect();
    let (rows, dim) = match parsed.as_slice() {
        [Some(rows), Some(dim)] => (*rows, *dim),
        _ => {
            return Err(bad(format!(
                "expected a `rows dim` header of two non-negative integers, found {:?}",
                String::from_utf8_lossy(&line).trim_end()
            )))
        }
    };
    if dim == 0 {
        return Err(bad("header gives dimension 0".into()));
    }
    let too_big = |what: &str, n: u64| bad(format!("header {what} {n} is too large"));
    Ok(Header {
        rows: usize::try_from(rows).map_err(|_| too_big("row count", rows))?,
        dim: usize::try_from(dim).map_err(|_| too_big("dimension", dim))?,
        len: line.len() as u64,
    })
}

/// The rows to read, and how many of them the remaining file can hold when
/// its size is known. A header promising more than the file holds is an
/// error before anything is reserved.
fn plan_rows(
    header: &Header,
    options: &ReadOptions,
    min_row_bytes: u64,
    file_size: Option<u64>,
    path: &Path,
) -> Result<(usize, Option<usize>)> {
    let rows = options.limit.map_or(header.rows, |l| l.min(header.rows));
    let Some(size) = file_size else {
        return Ok((rows, None));
    };
    let remaining = size.saturating_sub(header.len);
    let needed = u128::from(min_row_bytes) * rows as u128;
    if needed > u128::from(remaining) {
        return Err(Error::format(
            path,
            Location::Line(1),
            format!(
                "header promises {rows} rows of dimension {}, at least {needed} bytes, \
                 but only {remaining} bytes follow it",
                header.dim
            ),
        ));
    }
    Ok((rows, Some(rows)))
}

pub(super) fn read_binary(
    mut reader: impl BufRead,
    path: &Path,
    options: &ReadOptions,
    file_size: Option<u64>,
) -> Result<WordVectors> {
    let header = read_header(&mut reader, path)?;
    let vector_bytes = header.dim as u64 * 4;
    // A one-byte word, its space and the floats; the newline is optional.
    let (rows, justified) = plan_rows(&header, options, vector_bytes + 2, file_size, path)?;
    let mut builder = RowsBuilder::new(path, header.dim, rows, justified);
    let mut offset = header.len;
    let mut word = Vec::new();
    let mut scratch = Vec::new();
    while builder.len() < rows {
        let row_start = offset;
        let at_row = Location::Byte(row_start);
        word.clear();
        let n = (&mut reader)
            .take(MAX_WORD_BYTES + 1)
            .read_until(b' ', &mut word)
            .map_err(|e| Error::io(path, e))?;
        offset += n as u64;
        if word.last() != Some(&b' ') {
            let message = if word.trim_ascii().is_empty() {
                format!(
                    "file ends after {} of the {} rows its header promises",
                    builder.len(),
                    header.rows
                )
            } else if n as u64 > MAX_WORD_BYTES {
                format!("no space within {MAX_WORD_BYTES} bytes: not a word2vec binary row")
            } else {
                "file ends inside a word".to_string()
            };
            return Err(Error::format(path, at_row, message));
        }
        // Newlines separating rows are read as the start of the next word;
        // like gensim, strip only those (a word may start with a tab).
        let raw = trim_leading_newlines(&word[..n - 1]);
        let decoded = decode_word(raw, options.unicode_errors, path, at_row)?;
        let complete = read_f32s(&mut reader, header.dim, builder.values_mut(), &mut scratch)
            .map_err(|e| Error::io(path, e))?;
        if !complete {
            return Err(Error::format(
                path,
                at_row,
                format!(
                    "file ends inside the vector of word `{decoded}` ({} values expected)",
                    header.dim
                ),
            ));
        }
        offset += vector_bytes;
        builder.commit_row(decoded, at_row)?;
    }
    if rows == header.rows {
        expect_only_whitespace(reader, path, Location::Byte(offset), header.rows)?;
    }
    Ok(builder.finish())
}

/// Where one row of a binary file lies in the file's bytes.
struct RowSpan {
    /// Offset of the row's first byte (errors name it).
    start: usize,
    /// The word's bytes, leading newlines dropped.
    word: std::ops::Range<usize>,
    /// Offset of the row's first value.
    values: usize,
}

/// Rows the binary reader converts per parallel task.
const ROWS_PER_TASK: usize = 512;

/// Reads the word2vec binary format from a file's whole content in memory
/// (a mapped file), with the same checks and errors as [`read_binary`].
///
/// One sequential pass finds where each row lies, which only needs the
/// words; the values are then converted straight into the final matrix,
/// and the words decoded and checked, on several threads. Errors are
/// reported for the first faulty row, as the streaming reader does.
pub(super) fn read_binary_slice(
    bytes: &[u8],
    path: &Path,
    options: &ReadOptions,
) -> Result<WordVectors> {
    use rayon::prelude::*;

    let mut cursor = bytes;
    let header = read_header(&mut cursor, path)?;
    let vector_bytes = header
        .dim
        .checked_mul(4)
        .ok_or_else(|| Error::format(path, Location::Line(1), "header dimension is too large"))?;
    let (rows, _) = plan_rows(
        &header,
        options,
        vector_bytes as u64 + 2,
        Some(bytes.len() as u64),
        path,
    )?;
    // `plan_rows` checked that the file can hold `rows` rows.
    let mut spans = Vec::with_capacity(rows);
    let mut offset = header.len as usize;
    let mut broken_row = None;
    while spans.len() < rows {
        match locate_row(bytes, offset, vector_bytes) {
            Ok(span) => {
                offset = span.values + vector_bytes;
                spans.push(span);
            }
            Err(problem) => {
                broken_row = Some(problem);
                break;
            }
        }
    }

    let dim = header.dim;
    let mut values = vec![0.0f32; spans.len() * dim];
    // Values are converted on the pool's threads while one thread decodes
    // the words and builds the index; each side notes its first faulty row.
    let convert_values = || {
        values
            .par_chunks_mut(dim)
            .zip(spans.par_iter())
            .enumerate()
            .with_min_len(ROWS_PER_TASK)
            .filter_map(|(row, (out, span))| {
                let raw = &bytes[span.values..span.values + vector_bytes];
                for (v, b) in out.iter_mut().zip(raw.chunks_exact(4)) {
                    *v = le_f32(b);
                }
                out.iter().any(|v| !v.is_finite()).then_some(row)
            })
            .min()
    };
    let index_words = || {
        let mut words = Vec::with_capacity(spans.len());
        let mut index = HashMap::with_capacity(spans.len());
        for (row, span) in spans.iter().enumerate() {
            let at_row = Location::Byte(span.start as u64);
            let fault = |error, decoding| {
                Some(WordFault {
                    row,
                    error,
                    decoding,
                })
            };
            let word = match decode_word(
                &bytes[span.word.clone()],
                options.unicode_errors,
                path,
                at_row,
            ) {
                Ok(word) => word,
                Err(e) => return (words, index, fault(e, true)),
            };
            if word.is_empty() {
                return (
                    words,
                    index,
                    fault(Error::format(path, at_row, "empty word"), false),
                );
            }
            if let Some(first) = index.insert(word.clone(), row) {
                let message = format!("duplicate word `{word}` (first seen as row {})", first + 1);
                return (
                    words,
                    index,
                    fault(Error::format(path, at_row, message), false),
                );
            }
            words.push(word);
        }
        (words, index, None)
    };
    let (non_finite, (words, index, word_fault)) = rayon::join(convert_values, index_words);

    // The first faulty row is reported; within one row, as the streaming
    // reader checks: the word's encoding, then the values, then the rest.
    if let Some(row) = non_finite {
        if word_fault
            .as_ref()
            .is_none_or(|f| row < f.row || (row == f.row && !f.decoding))
        {
            let span = &spans[row];
            let at_row = Location::Byte(span.start as u64);
            let word = decode_word(
                &bytes[span.word.clone()],
                options.unicode_errors,
                path,
                at_row,
            )?;
            check_row(&word, &values[row * dim..(row + 1) * dim], path, at_row)?;
        }
    }
    if let Some(fault) = word_fault {
        return Err(fault.error);
    }
    if let Some(problem) = broken_row {
        return Err(problem.into_error(bytes, path, options, dim, spans.len(), header.rows));
    }
    if rows == header.rows {
        expect_only_whitespace(&bytes[offset..], path, Location::Byte(offset as u64), rows)?;
    }
    let matrix = Array2::from_shape_vec((words.len(), dim), values)
        .expect("one row of `dim` values per word");
    Ok(WordVectors::from_checked_parts(words, index, matrix))
}

/// The first row whose word is faulty.
struct WordFault {
    row: usize,
    error: Error,
    /// Whether the word itself could not be decoded (checked before the
    /// row's values; an empty or repeated word is checked after them).
    decoding: bool,
}

/// Why a binary row could not be located.
enum RowProblem {
    /// Only whitespace (or nothing) before the end of the file.
    Missing { start: usize },
    /// No space within [`MAX_WORD_BYTES`].
    NoSpace { start: usize },
    /// The file ends inside the word.
    WordCut { start: usize },
    /// The file ends inside the vector of the word at `word`.
    VectorCut {
        start: usize,
        word: std::ops::Range<usize>,
    },
}

impl RowProblem {
    /// The error the streaming reader gives for the same bytes.
    fn into_error(
        self,
        bytes: &[u8],
        path: &Path,
        options: &ReadOptions,
        dim: usize,
        read: usize,
        promised: usize,
    ) -> Error {
        let at = |start: usize| Location::Byte(start as u64);
        match self {
            RowProblem::Missing { start } => Error::format(
                path,
                at(start),
                format!("file ends after {read} of the {promised} rows its header promises"),
            ),
            RowProblem::NoSpace { start } => Error::format(
                path,
                at(start),
                format!("no space within {MAX_WORD_BYTES} bytes: not a word2vec binary row"),
            ),
            RowProblem::WordCut { start } => {
                Error::format(path, at(start), "file ends inside a word")
            }
            RowProblem::VectorCut { start, word } => {
                match decode_word(&bytes[word], options.unicode_errors, path, at(start)) {
                    Err(e) => e,
                    Ok(word) => Error::format(
                        path,
                        at(start),
                        format!(
                            "file ends inside the vector of word `{word}` ({dim} values expected)"
                        ),
                    ),
                }
            }
        }
    }
}

/// Finds the row starting at `start`: newlines separating rows are
/// skipped (like gensim, only those: a word may start with a tab), the word
/// runs to the first space, `vector_bytes` of values follow.
fn locate_row(bytes: &[u8], start: usize, vector_bytes: usize) -> Result<RowSpan, RowProblem> {
    let rest = &bytes[start..];
    let window = &rest[..rest.len().min(MAX_WORD_BYTES as usize + 1)];
    let Some(space) = window.iter().position(|&b| b == b' ') else {
        return Err(if window.trim_ascii().is_empty() {
            RowProblem::Missing { start }
        } else if window.len() as u64 > MAX_WORD_BYTES {
            RowProblem::NoSpace { start }
        } else {
            RowProblem::WordCut { start }
        });
    };
    let newlines = window[..space].iter().take_while(|&&b| b == b'\n').count();
    let word = start + newlines..start + space;
    let values = start + space + 1;
    if bytes.len() - values < vector_bytes {
        return Err(RowProblem::VectorCut { start, word });
    }
    Ok(RowSpan {
        start,
        word,
        values,
    })
}

/// Appends `count` little-endian `f32`s from `reader` to `out`; returns
/// `false` if the input ends first (with `out` then partly extended).
fn read_f32s(
    reader: &mut impl BufRead,
    count: usize,
    out: &mut Vec<f32>,
    scratch: &mut Vec<u8>,
) -> std::io::Result<bool> {
    let needed = count * 4;
    let available = reader.fill_buf()?;
    if available.len() >= needed {
        // The common case: the whole vector is in the buffer already.
        out.extend(available[..needed].chunks_exact(4).map(le_f32));
        reader.consume(needed);
        return Ok(true);
    }
    // Straddles a buffer refill (or the input is short): gather it first.
    // `scratch` grows only with bytes actually present.
    scratch.clear();
    while scratch.len() < needed {
        let available = reader.fill_buf()?;
        if available.is_empty() {
            return Ok(false);
        }
        let take = available.len().min(needed - scratch.len());
        scratch.extend_from_slice(&available[..take]);
        reader.consume(take);
    }
    out.extend(scratch.chunks_exact(4).map(le_f32));
    Ok(true)
}

fn trim_leading_newlines(bytes: &[u8]) -> &[u8] {
    let start = bytes.iter().take_while(|&&b| b == b'\n').count();
    &bytes[start..]
}

#[inline]
fn le_f32(bytes: &[u8]) -> f32 {
    f32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]])
}

pub(super) fn read_text(
    mut reader: impl BufRead,
    path: &Path,
    options: &ReadOptions,
    file_size: Option<u64>,
) -> Result<WordVectors> {
    let header = read_header(&mut reader, path)?;
    // A one-character word, then " 0" per value (the last row may lack `\n`).
    let min_row_bytes = header.dim as u64 * 2 + 1;
    let (rows, justified) = plan_rows(&header, options, min_row_bytes, file_size, path)?;
    let mut builder = RowsBuilder::new(path, header.dim, rows, justified);
    let mut line = Vec::new();
    let mut line_no = 1u64;
    while builder.len() < rows {
        line_no += 1;
        if !read_line(&mut reader, &mut line, path)? {
            return Err(Error::format(
                path,
                Location::Line(line_no),
                format!(
                    "file ends after {} of the {} rows its header promises",
                    builder.len(),
                    header.rows
                ),
            ));
        }
        text::parse_row(
            &line,
            &mut builder,
            path,
            options.unicode_errors,
            Location::Line(line_no),
        )?;
    }
    if rows == header.rows {
        expect_only_whitespace(reader, path, Location::Line(line_no + 1), header.rows)?;
    }
    Ok(builder.finish())
}

/// Rejects data after the last row the header announces.
fn expect_only_whitespace(
    mut reader: impl BufRead,
    path: &Path,
    location: Location,
    rows: usize,
) -> Result<()> {
    loop {
        let available = reader.fill_buf().map_err(|e| Error::io(path, e))?;
        if available.is_empty() {
            return Ok(());
        }
        if !available.iter().all(u8::is_ascii_whitespace) {
            return Err(Error::format(
                path,
                location,
                format!("data after the {rows} rows the header announces"),
            ));
        }
        let n = available.len();
        reader.consume(n);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::formats::UnicodeErrors;

    fn row(word: &[u8], values: &[f32], newline: bool) -> Vec<u8> {
        let mut bytes = word.to_vec();
        bytes.push(b' ');
        for v in values {
            bytes.extend(v.to_le_bytes());
        }
        if newline {
            bytes.push(b'\n');
        }
        bytes
    }

    /// The in-memory reader and the streaming reader agree: same vectors,
    /// or the same error at the same place.
    fn same_as_streaming(bytes: &[u8], options: &ReadOptions) {
        let path = Path::new("mem.bin");
        let streamed = read_binary(bytes, path, options, Some(bytes.len() as u64));
        let mapped = read_binary_slice(bytes, path, options);
        match (streamed, mapped) {
            (Ok(a), Ok(b)) => assert_eq!(a, b),
            (Err(a), Err(b)) => assert_eq!(a.to_string(), b.to_string()),
            (a, b) => panic!("streaming {a:?}, in memory {b:?} for {bytes:?}"),
        }
    }

    #[test]
    fn in_memory_reader_matches_the_streaming_one() {
        let mut good = b"3 2\n".to_vec();
        good.extend(row(b"first", &[1.0, -2.0], true));
        good.extend(row(b"\tsecond", &[0.5, 3.0], false));
        good.extend(row(b"third", &[4.0, 5.0], true));
        let default = ReadOptions::default();
        // Cut at every length: each truncation is reported identically.
        for len in 0..=good.len() {
            same_as_streaming(&good[..len], &default);
        }
        for limit in [0, 1, 2, 3, 5] {
            let options = ReadOptions {
                limit: Some(limit),
                ..ReadOptions::default()
            };
            same_as_streaming(&good, &options);
        }
        let mut trailing = good.clone();
        trailing.extend(b"\n \n");
        same_as_streaming(&trailing, &default);
        trailing.extend(b"x");
        same_as_streaming(&trailing, &default);

        let mut faulty: Vec<Vec<u8>> = Vec::new();
        for (word, value) in [
            (&b"caf\xc3"[..], 1.0),
            (b"ok", f32::NAN),
            (b"first", 1.0),
            (b"\n", 1.0),
            // Two faults in one row: the same one must win.
            (b"caf\xc3", f32::INFINITY),
            (b"first", f32::NAN),
            (b"\n", f32::NAN),
        ] {
            let mut bytes = b"3 2\n".to_vec();
            bytes.extend(row(b"first", &[1.0, -2.0], true));
            bytes.extend(row(word, &[value, 2.0], true));
            bytes.extend(row(b"last", &[1.0, 2.0], true));
            faulty.push(bytes);
        }
        // A faulty row before a truncated one: the first fault wins.
        let mut both = b"3 2\n".to_vec();
        both.extend(row(b"nan", &[f32::NAN, 2.0], true));
        both.extend(row(b"cut", &[1.0], false));
        faulty.push(both);
        let mut long_word = b"1 1\n".to_vec();
        long_word.extend(vec![b'a'; MAX_WORD_BYTES as usize + 10]);
        faulty.push(long_word);
        for bytes in &faulty {
            same_as_streaming(bytes, &default);
            for unicode_errors in [UnicodeErrors::Replace, UnicodeErrors::Ignore] {
                let options = ReadOptions {
                    unicode_errors,
                    limit: None,
                };
                same_as_streaming(bytes, &options);
            }
        }
    }
}
