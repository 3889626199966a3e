//! Writing results to standard output.
//!
//! A reader that closes the pipe early (`embed nn ... | head`) ends the
//! program quietly instead of failing on the next write.

use std::fmt::Display;
use std::io::{ErrorKind, Write};

use embed_core::{Error, Result};

/// Writes one line to standard output.
pub fn line(text: impl Display) -> Result<()> {
    let mut out = std::io::stdout().lock();
    match writeln!(out, "{text}") {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == ErrorKind::BrokenPipe => std::process::exit(0),
        Err(e) => Err(Error::Stream(e)),
    }
}
