//! `embed elmo embed`: contextual vectors from AllenNLP / bilm-tf ELMo
//! weights (`options.json` + `weights.hdf5`); `embed elmo train`: train
//! the biLM on a corpus and write such weights.

use std::path::PathBuf;

use clap::{Args, Subcommand};
use embed_core::{ContextualEmbedder, Error, Result};
use embed_elmo::{ElmoEmbedder, ElmoModel, Readout, ScalarMix};

use super::input::for_each_line_chunk;
use crate::output;

/// The `embed elmo` commands.
#[derive(Debug, Subcommand)]
pub enum ElmoCommand {
    /// Read whitespace-tokenized sentences, one per line; print one JSON
    /// array per line holding one vector per token.
    Embed(EmbedArgs),
    /// Train the bidirectional language model on a corpus; writes
    /// options.json, weights.hdf5 and vocab.txt to --output.
    Train(Box<super::elmo_train::TrainArgs>),
}

/// Runs `embed elmo ...`.
pub fn run(command: ElmoCommand) -> Result<()> {
    match command {
        ElmoCommand::Embed(args) => embed(args),
        ElmoCommand::Train(args) => super::elmo_train::run(*args),
    }
}

/// Arguments of `embed elmo embed`.
#[derive(Debug, Args)]
pub struct EmbedArgs {
    /// bilm-tf `options.json`.
    #[arg(long)]
    options: PathBuf,
    /// bilm-tf `weights.hdf5`.
    #[arg(long)]
    weights: PathBuf,
    /// Output one activation layer (0 = token layer, 1.. = biLSTM layers).
    #[arg(long, conflicts_with = "mix")]
    layer: Option<usize>,
    /// Scalar-mix parameters, one per layer, softmax-normalised as AllenNLP's
    /// ScalarMix [default: equal weights].
    #[arg(long, value_delimiter = ',', allow_hyphen_values = true)]
    mix: Vec<f32>,
    /// The mix's scale γ.
    #[arg(long, default_value_t = 1.0)]
    gamma: f32,
    /// Layer-normalise each activation layer before mixing.
    #[arg(long)]
    layer_norm: bool,
}

/// Sentences embedded together.
const CHUNK_LINES: usize = 64;

fn embed(args: EmbedArgs) -> Result<()> {
    let model = ElmoModel::load(&args.options, &args.weights)?;
    let readout = match args.layer {
        Some(layer) => Readout::Layer(layer),
        None if args.mix.is_empty() => {
            let layers = model.num_activation_layers();
            Readout::Mix(ScalarMix::new(
                vec![0.0; layers],
                args.gamma,
                args.layer_norm,
            )?)
        }
        None => Readout::Mix(ScalarMix::new(
            args.mix.clone(),
            args.gamma,
            args.layer_norm,
        )?),
    };
    let embedder = ElmoEmbedder::new(model, readout)?;
    for_each_line_chunk(CHUNK_LINES, |lines| {
        let batch: Vec<Vec<&str>> = lines
            .iter()
            .map(|l| l.split_whitespace().collect())
            .collect();
        for vectors in embedder.embed_batch(&batch)? {
            let rows: Vec<Vec<f32>> = vectors.rows().into_iter().map(|r| r.to_vec()).collect();
            let json = serde_json::to_string(&rows)
                .map_err(|e| Error::InvalidInput(format!("cannot serialise vectors: {e}")))?;
            output::line(json)?;
        }
        Ok(())
    })
}
