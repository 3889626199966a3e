//! One module per subcommand; each parses its own arguments and runs.

mod bert;
mod bert_train;
mod compare;
mod convert;
mod elmo;
mod elmo_train;
mod eval;
mod fasttext;
mod input;
mod model_file;
mod query;
mod train;

use clap::{Subcommand, ValueEnum};
use embed_core::formats::VectorFormat;
use embed_core::Result;

/// The subcommands of `embed`.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Score vectors on analogy and word-similarity sets.
    Eval(eval::EvalArgs),
    /// Nearest neighbours of a word.
    Nn(query::NnArgs),
    /// Solve an analogy: A is to B as C is to ?
    Analogy(query::AnalogyArgs),
    /// Convert vectors between file formats.
    Convert(convert::ConvertArgs),
    /// Train several models on one corpus with matched settings and compare them.
    Compare(compare::CompareArgs),
    /// Trains and evaluates one model of `embed compare` (internal).
    #[command(hide = true)]
    CompareWorker(compare::WorkerArgs),
    /// BERT: tokenize, embed and compare texts with a Hugging Face checkpoint.
    #[command(subcommand)]
    Bert(bert::BertCommand),
    /// ELMo: contextual vectors from AllenNLP / bilm-tf weights.
    #[command(subcommand)]
    Elmo(elmo::ElmoCommand),
    /// fastText: predict, test, print word vectors.
    #[command(subcommand)]
    Fasttext(fasttext::FastTextCommand),
    /// Train a model on a corpus.
    #[command(subcommand)]
    Train(train::TrainCommand),
}

/// Runs a parsed command.
pub fn run(command: Command) -> Result<()> {
    match command {
        Command::Eval(args) => eval::run(args),
        Command::Nn(args) => query::nn(args),
        Command::Analogy(args) => query::analogy(args),
        Command::Convert(args) => convert::run(args),
        Command::Train(command) => train::run(command),
        Command::Compare(args) => compare::run(args),
        Command::Bert(command) => bert::run(command),
        Command::Elmo(command) => elmo::run(command),
        Command::Fasttext(command) => fasttext::run(command),
        Command::CompareWorker(args) => compare::worker(args),
    }
}

/// A vectors file format as named on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FormatArg {
    /// Detect the format from the file's content.
    Auto,
    /// word2vec binary (word2vec C `-binary 1`, gensim `binary=True`).
    #[value(name = "word2vec")]
    Word2Vec,
    /// word2vec text: a `rows dim` header, then `word v1 v2 ...`.
    #[value(name = "word2vec-text")]
    Word2VecText,
    /// GloVe text: `word v1 v2 ...` with no header.
    Glove,
    /// A fastText `.bin` model (reading only).
    Fasttext,
}

impl FormatArg {
    /// The explicit vectors format, or `None` for `auto` and `fasttext`.
    pub fn vector_format(self) -> Option<VectorFormat> {
        match self {
            FormatArg::Auto | FormatArg::Fasttext => None,
            FormatArg::Word2Vec => Some(VectorFormat::Word2VecBinary),
            FormatArg::Word2VecText => Some(VectorFormat::Word2VecText),
            FormatArg::Glove => Some(VectorFormat::Glove),
        }
    }
}
