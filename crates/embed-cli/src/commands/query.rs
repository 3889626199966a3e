//! `embed nn` and `embed analogy`: query a vectors file.

use std::path::PathBuf;

use clap::Args;
use embed_core::vectors::QueryOptions;
use embed_core::Result;

use super::model_file::ModelFile;
use super::FormatArg;
use crate::output;

/// Where to read vectors from.
#[derive(Debug, Args)]
pub struct VectorsArgs {
    /// Vectors file (word2vec binary or text, GloVe text) or fastText `.bin` model.
    #[arg(long)]
    pub vectors: PathBuf,
    /// File format; `auto` detects it from the content.
    #[arg(long, default_value = "auto")]
    pub format: FormatArg,
}

impl VectorsArgs {
    /// Reads the model file.
    pub fn load(&self) -> Result<ModelFile> {
        ModelFile::open(&self.vectors, self.format)
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
///
/// A fastText model answers for unknown words from their n-grams.
pub fn nn(args: NnArgs) -> Result<()> {
    let model = args.vectors.load()?;
    let vectors = model.vectors();
    let options = QueryOptions::default();
    let results = match model.synthesised_vector(&args.word) {
        Some(v) if vectors.index_of(&args.word).is_none() => {
            vectors.most_similar_to_vector(v.view(), args.k, &options)
        }
        _ => vectors.most_similar(&[&args.word], &[], args.k, &options)?,
    };
    print_ranked(&results)
}

/// Runs `embed analogy`.
pub fn analogy(args: AnalogyArgs) -> Result<()> {
    let model = args.vectors.load()?;
    let results = model.vectors().most_similar(
        &[&args.b, &args.c],
        &[&args.a],
        args.k,
        &QueryOptions::default(),
    )?;
    print_ranked(&results)
}
