//! Reading standard input line by line, in chunks.

use std::io::BufRead;

use embed_core::{Error, Result};

/// Calls `visit` with successive chunks of at most `chunk_lines` lines of
/// standard input (without their line ends), so that output starts early
/// and memory stays bounded on long inputs.
pub fn for_each_line_chunk(
    chunk_lines: usize,
    mut visit: impl FnMut(&[String]) -> Result<()>,
) -> Result<()> {
    let mut chunk = Vec::with_capacity(chunk_lines);
    for line in std::io::stdin().lock().lines() {
        chunk.push(line.map_err(Error::Stream)?);
        if chunk.len() == chunk_lines {
            visit(&chunk)?;
            chunk.clear();
        }
    }
    if chunk.is_empty() {
        Ok(())
    } else {
        visit(&chunk)
    }
}
