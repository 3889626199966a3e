//! `embed bert ...`: tokenize, embed and compare texts with a Hugging Face
//! BERT checkpoint (`config.json`, `vocab.txt`, `model.safetensors`).

use std::path::PathBuf;

use clap::{Args, Subcommand, ValueEnum};
use embed_bert::{BertModel, EmbedOptions, Pooling, SentenceEmbedder, Tokenizer};
use embed_core::{Error, Result};

use super::input::for_each_line_chunk;
use crate::output;

/// The `embed bert` commands.
#[derive(Debug, Subcommand)]
pub enum BertCommand {
    /// Print the token ids of each input line (`[CLS] … [SEP]` included).
    Tokenize(TokenizeArgs),
    /// Print one JSON array (the sentence embedding) per input line, in input order.
    Embed(EmbedArgs),
    /// Print the cosine similarity of two texts' sentence embeddings.
    Similarity(SimilarityArgs),
    /// Train a WordPiece vocabulary (vocab.txt) from a corpus.
    TrainVocab(super::bert_train::TrainVocabArgs),
    /// Pre-train a BERT masked-language model, or continue training a checkpoint.
    Pretrain(Box<super::bert_train::PretrainArgs>),
    /// Print the most likely tokens for each [MASK] of a text.
    FillMask(super::bert_train::FillMaskArgs),
}

/// Runs `embed bert ...`.
pub fn run(command: BertCommand) -> Result<()> {
    match command {
        BertCommand::Tokenize(args) => tokenize(args),
        BertCommand::Embed(args) => embed(args),
        BertCommand::Similarity(args) => similarity(args),
        BertCommand::TrainVocab(args) => super::bert_train::train_vocab(args),
        BertCommand::Pretrain(args) => super::bert_train::pretrain(*args),
        BertCommand::FillMask(args) => super::bert_train::fill_mask(args),
    }
}

/// Sentence pooling as named on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PoolingArg {
    /// Mean over the real tokens (sentence-transformers' default).
    Mean,
    /// The `[CLS]` token's vector.
    Cls,
    /// Element-wise maximum over the real tokens.
    Max,
}

/// Arguments of `embed bert tokenize`.
#[derive(Debug, Args)]
pub struct TokenizeArgs {
    /// Model directory (`vocab.txt`, `tokenizer_config.json`).
    #[arg(long)]
    model: PathBuf,
    /// Truncate to this many tokens, `[CLS]` and `[SEP]` included.
    #[arg(long)]
    max_length: Option<usize>,
}

/// How to embed.
#[derive(Debug, Args)]
pub struct ModelArgs {
    /// Model directory (`config.json`, `vocab.txt`, `model.safetensors`, and
    /// sentence-transformers files when present).
    #[arg(long)]
    model: PathBuf,
    /// Sentence pooling [default: the model directory's, else mean].
    #[arg(long, value_enum)]
    pooling: Option<PoolingArg>,
    /// L2-normalise sentence vectors (on by default when the model directory says so).
    #[arg(long)]
    normalize: bool,
    /// Sequences per forward pass.
    #[arg(long, default_value_t = 32)]
    batch_size: usize,
    /// Tokens kept per text [default: the model directory's, else the position table].
    #[arg(long)]
    max_length: Option<usize>,
    /// Threads [default: all cores].
    #[arg(long)]
    threads: Option<usize>,
}

impl ModelArgs {
    fn load(&self) -> Result<SentenceEmbedder> {
        let mut options = EmbedOptions::from_dir(&self.model)?;
        if let Some(pooling) = self.pooling {
            options.pooling = match pooling {
                PoolingArg::Mean => Pooling::Mean,
                PoolingArg::Cls => Pooling::Cls,
                PoolingArg::Max => Pooling::Max,
            };
        }
        options.normalize |= self.normalize;
        options.batch_size = self.batch_size;
        if self.max_length.is_some() {
            options.max_length = self.max_length;
        }
        options.threads = self.threads;
        let tokenizer = Tokenizer::from_dir(&self.model)?;
        let model = BertModel::load(&self.model)?;
        SentenceEmbedder::new(tokenizer, model, options)
    }
}

/// Arguments of `embed bert embed`.
#[derive(Debug, Args)]
pub struct EmbedArgs {
    #[command(flatten)]
    model: ModelArgs,
}

/// Arguments of `embed bert similarity`.
#[derive(Debug, Args)]
pub struct SimilarityArgs {
    #[command(flatten)]
    model: ModelArgs,
    /// First text.
    a: String,
    /// Second text.
    b: String,
}

/// Lines are read and embedded this many at a time, so output starts
/// early and memory stays bounded on long inputs.
const CHUNK_LINES: usize = 1024;

fn tokenize(args: TokenizeArgs) -> Result<()> {
    let tokenizer = Tokenizer::from_dir(&args.model)?;
    for_each_line_chunk(CHUNK_LINES, |lines| {
        for line in lines {
            let encoding = tokenizer.encode(line, args.max_length)?;
            let ids: Vec<String> = encoding.ids.iter().map(u32::to_string).collect();
            output::line(ids.join(" "))?;
        }
        Ok(())
    })
}

fn embed(args: EmbedArgs) -> Result<()> {
    let embedder = args.model.load()?;
    for_each_line_chunk(CHUNK_LINES, |lines| {
        let vectors = embedder.embed(lines)?;
        for row in vectors.rows() {
            let json = serde_json::to_string(&row.to_vec())
                .map_err(|e| Error::InvalidInput(format!("cannot serialise a vector: {e}")))?;
            output::line(json)?;
        }
        Ok(())
    })
}

fn similarity(args: SimilarityArgs) -> Result<()> {
    let embedder = args.model.load()?;
    let cosine = embedder.similarity(&args.a, &args.b)?;
    output::line(format_args!("{cosine:.6}"))
}
