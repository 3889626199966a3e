//! The parameters of `BertForMaskedLM` (and, with the next-sentence head,
//! `BertForPreTraining`) under their Hugging Face names, with shapes and
//! fresh-model initialisation.

use embed_core::params::Init;

use crate::config::BertConfig;

/// Prefix of the encoder's parameters in a `BertForMaskedLM` checkpoint.
pub(crate) const ENCODER: &str = "bert";
/// Word embeddings, also the MLM decoder's weight (tied).
pub(crate) const WORD_EMBEDDINGS: &str = "bert.embeddings.word_embeddings.weight";
/// The MLM decoder's bias.
pub(crate) const DECODER_BIAS: &str = "cls.predictions.bias";
/// The pooler over the `[CLS]` position (`BertForPreTraining`).
pub(crate) const POOLER: &str = "bert.pooler.dense";
/// The next-sentence classifier (`BertForPreTraining`).
pub(crate) const SEQ_RELATIONSHIP: &str = "cls.seq_relationship";

/// One parameter: full name, shape, and how a fresh model fills it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ParamSpec {
    pub name: String,
    pub shape: Vec<usize>,
    pub init: Init,
}

/// Names of one encoder layer's parameters.
pub(crate) fn layer_prefix(index: usize) -> String {
    format!("{ENCODER}.encoder.layer.{index}")
}

/// Every parameter of `BertForMaskedLM`, encoder first, then the head.
/// Initialisation follows Hugging Face: weights `N(0, range²)`, biases 0,
/// layer norms 1 and 0.
pub(crate) fn parameter_specs(c: &BertConfig, initializer_range: f32) -> Vec<ParamSpec> {
    let (h, i) = (c.hidden_size, c.intermediate_size);
    let normal = Init::Normal {
        std: initializer_range,
    };
    let mut specs = Specs(Vec::new(), normal, h);
    specs.push(WORD_EMBEDDINGS, &[c.vocab_size, h], normal);
    specs.push(
        &format!("{ENCODER}.embeddings.position_embeddings.weight"),
        &[c.max_position_embeddings, h],
        normal,
    );
    specs.push(
        &format!("{ENCODER}.embeddings.token_type_embeddings.weight"),
        &[c.type_vocab_size, h],
        normal,
    );
    specs.layer_norm(&format!("{ENCODER}.embeddings.LayerNorm"));
    for l in 0..c.num_hidden_layers {
        let p = layer_prefix(l);
        for part in ["query", "key", "value"] {
            specs.dense(&format!("{p}.attention.self.{part}"), h, h);
        }
        specs.dense(&format!("{p}.attention.output.dense"), h, h);
        specs.layer_norm(&format!("{p}.attention.output.LayerNorm"));
        specs.dense(&format!("{p}.intermediate.dense"), h, i);
        specs.dense(&format!("{p}.output.dense"), i, h);
        specs.layer_norm(&format!("{p}.output.LayerNorm"));
    }
    specs.dense("cls.predictions.transform.dense", h, h);
    specs.layer_norm("cls.predictions.transform.LayerNorm");
    specs.push(DECODER_BIAS, &[c.vocab_size], Init::Zeros);
    specs.0
}

/// The parameters the next-sentence head adds: the pooler and the
/// two-way classifier, initialised as Hugging Face does.
pub(crate) fn next_sentence_specs(c: &BertConfig, initializer_range: f32) -> Vec<ParamSpec> {
    let h = c.hidden_size;
    let normal = Init::Normal {
        std: initializer_range,
    };
    let mut specs = Specs(Vec::new(), normal, h);
    specs.dense(POOLER, h, h);
    specs.dense(SEQ_RELATIONSHIP, h, 2);
    specs.0
}

/// Collects specs: the list, the weights' init, the hidden width.
struct Specs(Vec<ParamSpec>, Init, usize);

impl Specs {
    fn push(&mut self, name: &str, shape: &[usize], init: Init) {
        self.0.push(ParamSpec {
            name: name.to_string(),
            shape: shape.to_vec(),
            init,
        });
    }

    fn dense(&mut self, prefix: &str, inputs: usize, outputs: usize) {
        self.push(&format!("{prefix}.weight"), &[outputs, inputs], self.1);
        self.push(&format!("{prefix}.bias"), &[outputs], Init::Zeros);
    }

    fn layer_norm(&mut self, prefix: &str) {
        let h = self.2;
        self.push(&format!("{prefix}.weight"), &[h], Init::Ones);
        self.push(&format!("{prefix}.bias"), &[h], Init::Zeros);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_hugging_face() {
        let specs = parameter_specs(&BertConfig::tiny(), 0.02);
        // 5 embedding tensors, 16 per layer, 5 in the head.
        assert_eq!(specs.len(), 5 + 16 * 2 + 5);
        let names: Vec<&str> = specs.iter().map(|s| s.name.as_str()).collect();
        assert!(names.contains(&"bert.encoder.layer.1.attention.self.key.bias"));
        assert!(names.contains(&"cls.predictions.transform.LayerNorm.weight"));
        let inter = specs
            .iter()
            .find(|s| s.name == "bert.encoder.layer.0.intermediate.dense.weight")
            .unwrap();
        assert_eq!(inter.shape, vec![16, 8]);
        let head = next_sentence_specs(&BertConfig::tiny(), 0.02);
        let names: Vec<&str> = head.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "bert.pooler.dense.weight",
                "bert.pooler.dense.bias",
                "cls.seq_relationship.weight",
                "cls.seq_relationship.bias"
            ]
        );
        assert_eq!(head[2].shape, vec![2, 8]);
    }
}
