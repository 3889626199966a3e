//! `embed convert`: rewrite a vectors file in another format.

use std::path::PathBuf;

use clap::Args;
use embed_core::formats::write_vectors;
use embed_core::{Error, Result};

use super::model_file::ModelFile;
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
    let to = args.to.vector_format().ok_or_else(|| {
        Error::invalid_parameter(
            "to",
            "name a vectors format (word2vec, word2vec-text, glove), not `auto` or `fasttext`",
        )
    })?;
    let model = ModelFile::open(&args.input, args.from)?;
    let vectors = model.vectors();
    write_vectors(&args.output, vectors, to)?;
    eprintln!(
        "wrote {} vectors of dimension {} to {} ({to})",
        vectors.len(),
        vectors.dim(),
        args.output.display()
    );
    Ok(())
}
