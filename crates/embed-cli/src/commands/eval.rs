//! `embed eval`: analogy and word-similarity scores of a vectors file.

use std::collections::BTreeMap;
use std::path::PathBuf;

use clap::Args;
use embed_core::{Error, Result, StaticEmbedder};
use embed_eval::{
    evaluate_analogies, evaluate_word_pairs, AnalogyMethod, AnalogyOptions, AnalogyReport,
    AnalogySet, OovPolicy, SimilarityOptions, SimilarityReport, WordPairs,
};
use serde::Serialize;

use super::query::VectorsArgs;
use crate::output;

/// Arguments of `embed eval`.
#[derive(Debug, Args)]
pub struct EvalArgs {
    #[command(flatten)]
    vectors: VectorsArgs,
    /// Analogy questions in the `questions-words.txt` format.
    #[arg(long)]
    analogy: Option<PathBuf>,
    /// Word-pair similarity files (WordSim-353, SimLex-999, Rare Words style).
    #[arg(long, num_args = 1..)]
    similarity: Vec<PathBuf>,
    /// Analogy questions and answers use only the N most frequent words.
    #[arg(long, default_value_t = 30_000)]
    restrict_vocab: usize,
    /// Score analogies with 3CosMul instead of 3CosAdd.
    #[arg(long)]
    cosmul: bool,
    /// Word pairs with a word outside the vocabulary: `drop` them (gensim's
    /// rule) or `lookup` a vector for it (fastText builds one from n-grams).
    #[arg(long, value_enum, default_value = "drop")]
    oov: OovArg,
    /// Print one JSON object instead of tables.
    #[arg(long)]
    json: bool,
}

/// What to do with out-of-vocabulary words in word pairs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum OovArg {
    /// Leave such pairs out, as gensim does.
    Drop,
    /// Ask the model for a vector (fastText); drop the pair only when it has none.
    Lookup,
}

/// Everything `embed eval` measured, as printed by `--json`.
#[derive(Debug, Serialize)]
pub struct EvalReport {
    /// The vectors file.
    pub vectors: String,
    /// Vocabulary size.
    pub words: usize,
    /// Vector dimension.
    pub dim: usize,
    /// Analogy scores, when an analogy file was given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub analogy: Option<AnalogyReport>,
    /// Word-pair scores keyed by the file as given on the command line.
    pub similarity: BTreeMap<String, SimilarityReport>,
}

/// Evaluates any static model on the given sets.
pub fn evaluate(
    model: &dyn StaticEmbedder,
    analogy: Option<&PathBuf>,
    similarity: &[PathBuf],
    analogy_options: &AnalogyOptions,
    similarity_options: &SimilarityOptions,
) -> Result<(Option<AnalogyReport>, BTreeMap<String, SimilarityReport>)> {
    let analogy = analogy
        .map(|path| {
            let set = AnalogySet::read(path)?;
            evaluate_analogies(model, &set, analogy_options)
        })
        .transpose()?;
    let mut pairs = BTreeMap::new();
    for path in similarity {
        let set = WordPairs::read(path)?;
        let report = evaluate_word_pairs(model, &set, similarity_options)?;
        pairs.insert(path.display().to_string(), report);
    }
    Ok((analogy, pairs))
}

/// Runs `embed eval`.
pub fn run(args: EvalArgs) -> Result<()> {
    if args.analogy.is_none() && args.similarity.is_empty() {
        return Err(Error::InvalidInput(
            "nothing to evaluate: give --analogy FILE and/or --similarity FILE...".into(),
        ));
    }
    let model = args.vectors.load()?;
    let vectors = model.vectors();
    let options = AnalogyOptions {
        restrict_vocab: args.restrict_vocab,
        method: if args.cosmul {
            AnalogyMethod::CosMul
        } else {
            AnalogyMethod::CosAdd
        },
        ..AnalogyOptions::default()
    };
    let similarity_options = SimilarityOptions {
        oov: match args.oov {
            OovArg::Drop => OovPolicy::Drop,
            OovArg::Lookup => OovPolicy::Lookup,
        },
        ..SimilarityOptions::default()
    };
    let (analogy, similarity) = evaluate(
        model.embedder(),
        args.analogy.as_ref(),
        &args.similarity,
        &options,
        &similarity_options,
    )?;
    let report = EvalReport {
        vectors: args.vectors.vectors.display().to_string(),
        words: vectors.len(),
        dim: vectors.dim(),
        analogy,
        similarity,
    };
    if args.json {
        let json = serde_json::to_string(&report)
            .map_err(|e| Error::InvalidInput(format!("cannot serialise the report: {e}")))?;
        output::line(json)?;
    } else {
        output::line(format_args!(
            "{}: {} words, dimension {}",
            report.vectors, report.words, report.dim
        ))?;
        if let Some(analogy) = &report.analogy {
            output::line(analogy)?;
        }
        for similarity in report.similarity.values() {
            output::line(similarity)?;
        }
    }
    Ok(())
}
