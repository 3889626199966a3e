//! ELMo as a [`ContextualEmbedder`]: one vector per token from a chosen
//! layer or a scalar mix of all of them.

use embed_core::{ContextualEmbedder, Embedder, Error, Result};
use ndarray::{s, Array2, Array3, Axis};

use crate::layers::ScalarMix;
use crate::model::{remove_sentence_boundaries, ElmoModel, ElmoOutput};

/// How token vectors are read out of the activation layers.
#[derive(Debug, Clone, PartialEq)]
pub enum Readout {
    /// One activation layer: 0 is the token layer, 1.. the biLSTM layers.
    Layer(usize),
    /// A scalar mix of all layers.
    Mix(ScalarMix),
}

/// An [`ElmoModel`] with a readout: the contextual embedder.
///
/// Each sentence is embedded on its own (layer-norm statistics of a mix are
/// taken over that sentence, `<S>` and `</S>` included), so
/// [`ContextualEmbedder::embed_batch`] gives the same rows as embedding one
/// sentence at a time; the batch is run in parallel.
#[derive(Debug, Clone)]
pub struct ElmoEmbedder {
    model: ElmoModel,
    readout: Readout,
}

impl ElmoEmbedder {
    /// An embedder reading `readout` out of `model`.
    pub fn new(model: ElmoModel, readout: Readout) -> Result<Self> {
        let layers = model.num_activation_layers();
        match &readout {
            Readout::Layer(n) if *n >= layers => {
                return Err(Error::invalid_parameter(
                    "layer",
                    format!("{n} is out of range: the model has layers 0..{layers}"),
                ))
            }
            Readout::Mix(mix) if mix.layers() != layers => {
                return Err(Error::invalid_parameter(
                    "mix",
                    format!("{} weights given for {layers} layers", mix.layers()),
                ))
            }
            _ => {}
        }
        Ok(Self { model, readout })
    }

    /// The equal-weight average of all layers (γ = 1, no layer norm), which
    /// is what AllenNLP's `Elmo` returns before its mix is trained.
    pub fn average(model: ElmoModel) -> Result<Self> {
        let mix = ScalarMix::average(model.num_activation_layers())?;
        Self::new(model, Readout::Mix(mix))
    }

    /// The model.
    pub fn model(&self) -> &ElmoModel {
        &self.model
    }

    /// The readout.
    pub fn readout(&self) -> &Readout {
        &self.readout
    }

    /// Token vectors of sentence `b` of `output`, boundaries dropped.
    fn read_out(&self, output: &ElmoOutput, b: usize) -> Result<Array2<f32>> {
        let len = output.mask.row(b).iter().filter(|&&m| m).count();
        let one = |a: &Array3<f32>| a.slice(s![b..b + 1, ..len, ..]).to_owned();
        let mask = output.mask.slice(s![b..b + 1, ..len]);
        let full = match &self.readout {
            Readout::Layer(n) => one(&output.activations[*n]),
            Readout::Mix(mix) => {
                let layers: Vec<Array3<f32>> = output.activations.iter().map(one).collect();
                let views: Vec<_> = layers.iter().map(|l| l.view()).collect();
                mix.mix(&views, mask)?
            }
        };
        let (inner, _) = remove_sentence_boundaries(full.view(), mask);
        Ok(inner.index_axis_move(Axis(0), 0))
    }
}

impl Embedder for ElmoEmbedder {
    fn dim(&self) -> usize {
        self.model.output_dim()
    }

    fn embed_words(&self, words: &[&str]) -> Result<Array2<f32>> {
        self.embed_sequence(words)
    }
}

impl ContextualEmbedder for ElmoEmbedder {
    fn embed_sequence(&self, tokens: &[&str]) -> Result<Array2<f32>> {
        let output = self.model.forward(&[tokens])?;
        self.read_out(&output, 0)
    }

    fn embed_batch(&self, batch: &[Vec<&str>]) -> Result<Vec<Array2<f32>>> {
        let output = self.model.forward(batch)?;
        (0..batch.len())
            .map(|b| self.read_out(&output, b))
            .collect()
    }
}
