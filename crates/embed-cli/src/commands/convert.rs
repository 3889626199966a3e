//! `embed convert`: rewrite a vectors file in another format.

use std::path::PathBuf;

use clap::Args;
use embed_core::formats::{read_vectors, write_vectors, ReadOptions};
use embed_core::{Error, Result};

use super::FormatArg;

/// Arguments of `embed convert`.
#[derive(Debug, Args)]
pub struct ConvertArgs {
    /// Format of the input file.
    #[arg(long, default_value = "auto")]
    from: FormatArg,
    /// Format of the output file.
    #[arg(long)]
    to: FormatArg,
    /// Input vectors file.
    input: PathBuf,
    /// Output vectors file (written atomically).
    output: PathBuf,
}

/// Runs `embed convert`.
pub fn run(args: ConvertArgs) -> Result<()> {
    let to = args
        .to
        .format()
        .ok_or_else(|| Error::invalid_parameter("to", "name an output format, not `auto`"))?;
    let vectors = read_vectors(&args.input, args.from.format(), &ReadOptions::default())?;
    write_vectors(&args.output, &vectors, to)?;
    eprintln!(
        "wrote {} vectors of dimension {} to {} ({to})",
        vectors.len(),
        vectors.dim(),
        args.output.display()
    );
    Ok(())
}
