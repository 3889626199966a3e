//! A self-contained inner update for the criterion benches: random
//! matrices, a Zipf-shaped vocabulary, one sentence of
//! [`SENTENCE_WORDS`] words trained again and again.

use embed_core::hogwild::SharedMatrix;
use embed_core::seed::Lcg;
use embed_vocab::NoiseSampler;
use ndarray::Array2;

use crate::params::{Architecture, SigmoidMode};
use crate::sigmoid::Sigmoid;
use crate::update::{cbow_sentence, skip_gram_sentence, OutputLayers, Scratch};

/// Words in the bench's sentence: divide a step's time by it for the time
/// of one position.
pub const SENTENCE_WORDS: usize = 100;

/// One sentence after another, the same fixed random sentence each time.
pub struct InnerUpdate {
    architecture: Architecture,
    window: usize,
    negative: usize,
    input: SharedMatrix,
    output: SharedMatrix,
    noise: NoiseSampler,
    sigmoid: Sigmoid,
    sentence: Vec<u32>,
    rng: Lcg,
    scratch: Scratch,
}

impl InnerUpdate {
    /// Matrices of `words × dim` filled with small random values, a
    /// sentence drawn from the noise distribution.
    pub fn new(
        architecture: Architecture,
        sigmoid: SigmoidMode,
        dim: usize,
        window: usize,
        negative: usize,
        words: usize,
    ) -> Self {
        let mut rng = Lcg::new(1);
        let mut random = |_| (rng.next_unit_f32() - 0.5) / dim as f32;
        let input = SharedMatrix::from_array(Array2::from_shape_fn((words, dim), &mut random));
        let output = SharedMatrix::from_array(Array2::from_shape_fn((words, dim), &mut random));
        let counts: Vec<u64> = (1..=words as u64).map(|r| 1_000_000 / r + 1).collect();
        let noise = NoiseSampler::new(&counts, 0.75).unwrap_or_else(|e| panic!("{e}"));
        let mut rng = Lcg::new(2);
        let sentence = (0..SENTENCE_WORDS)
            .map(|_| noise.sample(rng.next_u64()))
            .collect();
        InnerUpdate {
            architecture,
            window,
            negative,
            input,
            output,
            noise,
            sigmoid: Sigmoid::new(sigmoid),
            sentence,
            rng,
            scratch: Scratch::new(dim),
        }
    }

    /// Trains the sentence once; returns its loss.
    pub fn step(&mut self) -> f64 {
        let layers = OutputLayers {
            negative: Some((&self.output, &self.noise, self.negative)),
            hierarchical: None,
        };
        let sum = match self.architecture {
            Architecture::SkipGram => skip_gram_sentence(
                &self.sentence,
                self.window,
                &self.input,
                &layers,
                0.025,
                &self.sigmoid,
                &mut self.rng,
                &mut self.scratch,
            ),
            Architecture::Cbow => cbow_sentence(
                &self.sentence,
                self.window,
                true,
                &self.input,
                &layers,
                0.05,
                &self.sigmoid,
                &mut self.rng,
                &mut self.scratch,
            ),
        };
        sum.loss
    }
}
