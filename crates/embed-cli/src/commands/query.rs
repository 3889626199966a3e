//! `embed nn` and `embed analogy`: query a vectors file.

use std::path::PathBuf;

use clap::Args;
use embed_core::formats::{read_vectors, ReadOptions};
use embed_core::vectors::QueryOptions;
use embed_core::{Result, WordVectors};

use super::FormatArg;
use crate::output;

/// Where to read vectors from.
#[derive(Debug, Args)]
pub struct VectorsArgs {
    /// Vectors file (word2vec binary or text, GloVe text).
    #[arg(long)]
    pub vectors: PathBuf,
    /// File format; `auto` detects it from the content.
    #[arg(long, default_value = "auto")]
    pub format: FormatArg,
}

impl VectorsArgs {
    /// Reads the vectors.
    pub fn load(&self) -> Result<WordVectors> {
        read_vectors(&self.vectors, self.format.format(), &ReadOptions::default())
    }
}

/// Arguments of `embed nn`.
#[derive(Debug, Args)]
pub struct NnArgs {
    #[command(flatten)]
    vectors: VectorsArgs,
    /// The word whose neighbours to list.
    word: String,
    /// Number of neighbours.
    #[arg(short = 'k', long, default_value_t = 10)]
    k: usize,
}

/// Arguments of `embed analogy`.
#[derive(Debug, Args)]
pub struct AnalogyArgs {
    #[command(flatten)]
    vectors: VectorsArgs,
    /// A in "A is to B as C is to ?".
    a: String,
    /// B in "A is to B as C is to ?".
    b: String,
    /// C in "A is to B as C is to ?".
    c: String,
    /// Number of answers.
    #[arg(short = 'k', long, default_value_t = 10)]
    k: usize,
}

fn print_ranked(results: &[(String, f32)]) -> Result<()> {
    for (word, score) in results {
        output::line(format_args!("{word}\t{score:.4}"))?;
    }
    Ok(())
}

/// Runs `embed nn`.
pub fn nn(args: NnArgs) -> Result<()> {
    let vectors = args.vectors.load()?;
    let results = vectors.most_similar(&[&args.word], &[], args.k, &QueryOptions::default())?;
    print_ranked(&results)
}

/// Runs `embed analogy`.
pub fn analogy(args: AnalogyArgs) -> Result<()> {
    let vectors = args.vectors.load()?;
    let results = vectors.most_similar(
        &[&args.b, &args.c],
        &[&args.a],
        args.k,
        &QueryOptions::default(),
    )?;
    print_ranked(&results)
}
