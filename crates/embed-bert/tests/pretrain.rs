//! Pre-training end to end on a tiny model: resuming, divergence,
//! configuration errors.

use std::path::Path;

use embed_bert::train::checkpoint::read_trainer_state;
use embed_bert::train::data::{TokenStream, TrainingSequences};
use embed_bert::train::masking::MaskingConfig;
use embed_bert::train::pairs::IS_RANDOM;
use embed_bert::train::pretrain::{PretrainConfig, PretrainLog, Pretrainer};
use embed_bert::train::{MlmBatch, MlmModel, MlmStats};
use embed_bert::{BertConfig, Tokenizer, TokenizerConfig, Vocab};
use embed_core::optim::{step_store, Adam, AdamConfig};
use embed_core::params::GradientStore;
use embed_core::Error;

const WORDS: [&str; 12] = [
    "the", "cat", "dog", "sat", "ran", "on", "mat", "log", "a", "big", "small", "red",
];

fn tokenizer() -> Tokenizer {
    let mut tokens: Vec<&str> = vec!["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"];
    tokens.extend(WORDS);
    Tokenizer::new(Vocab::from_tokens(tokens), TokenizerConfig::default()).unwrap()
}

/// A corpus with structure to learn: "the <adj> <noun> <verb> on a <noun>".
fn corpus() -> String {
    let mut text = String::new();
    for i in 0..60 {
        let adj = ["big", "small", "red"][i % 3];
        let noun = ["cat", "dog"][i % 2];
        let verb = ["sat", "ran"][(i / 2) % 2];
        let place = ["mat", "log"][(i / 3) % 2];
        text.push_str(&format!("the {adj} {noun} {verb} on a {place}\n"));
        if i % 10 == 9 {
            text.push('\n');
        }
    }
    text
}

fn model_config() -> BertConfig {
    BertConfig {
        vocab_size: 17,
        hidden_size: 16,
        num_hidden_layers: 1,
        num_attention_heads: 2,
        intermediate_size: 32,
        max_position_embeddings: 16,
        ..BertConfig::tiny()
    }
}

fn config(steps: u64) -> PretrainConfig {
    PretrainConfig {
        max_length: 16,
        batch_size: 4,
        steps,
        learning_rate: 3e-3,
        warmup_steps: Some(2),
        threads: 1,
        seed: 5,
        holdout: 0.1,
        ..PretrainConfig::default()
    }
}

fn trainer(config: PretrainConfig) -> Pretrainer {
    let tokenizer = tokenizer();
    let stream =
        TokenStream::from_reader(corpus().as_bytes(), Path::new("corpus"), &tokenizer).unwrap();
    let model = MlmModel::init(&model_config(), config.seed).unwrap();
    Pretrainer::new(config, model, tokenizer, stream, None).unwrap()
}

/// Runs `run` to the end, writing its checkpoint to `checkpoint`.
fn train_into(mut run: Pretrainer, checkpoint: &Path) {
    run.run(Some(checkpoint), &mut PretrainLog::default())
        .unwrap();
}

#[test]
fn a_resumed_run_follows_the_uninterrupted_one() {
    let dir = tempfile::tempdir().unwrap();
    let mut whole = trainer(config(8));
    let mut whole_log = PretrainLog::default();
    whole
        .run(Some(&dir.path().join("whole")), &mut whole_log)
        .unwrap();

    let stopped_dir = dir.path().join("stopped");
    let mut first = trainer(config(8));
    let mut first_log = PretrainLog {
        stop_after: Some(3),
        ..PretrainLog::default()
    };
    first.run(Some(&stopped_dir), &mut first_log).unwrap();
    assert_eq!(read_trainer_state(&stopped_dir).unwrap().step, 3);

    let mut second = trainer(config(8));
    second.resume_from(&stopped_dir).unwrap();
    let mut second_log = PretrainLog::default();
    second.run(Some(&stopped_dir), &mut second_log).unwrap();

    let losses = |log: &PretrainLog| log.steps.iter().map(|s| s.loss).collect::<Vec<_>>();
    let mut resumed = losses(&first_log);
    resumed.extend(losses(&second_log));
    assert_eq!(
        resumed,
        losses(&whole_log),
        "one thread, one seed: identical curves"
    );
    assert_eq!(second.model().params(), whole.model().params());
    assert_eq!(second.evaluations(), whole.evaluations());
}

#[test]
fn loss_falls_below_the_unigram_baseline() {
    let mut run = trainer(PretrainConfig {
        eval_every: 20,
        ..config(60)
    });
    let baseline = run.unigram_baseline().unwrap();
    let mut log = PretrainLog::default();
    run.run(None, &mut log).unwrap();
    let last = log.evaluations.last().unwrap();
    assert_eq!(log.evaluations.len(), 3);
    assert!(
        last.loss < baseline && last.loss < (17f64).ln(),
        "held-out loss {} vs unigram {baseline}",
        last.loss
    );
}

#[test]
fn resuming_with_other_settings_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let ckpt = dir.path().join("ckpt");
    train_into(trainer(config(2)), &ckpt);
    let mut other = trainer(PretrainConfig {
        batch_size: 2,
        ..config(2)
    });
    let err = other.resume_from(&ckpt).unwrap_err();
    assert!(
        matches!(err, Error::InvalidParameter { name: "resume", .. }),
        "{err}"
    );
    assert!(err.to_string().contains("batch_size"), "{err}");
}

#[test]
fn divergence_names_the_step_and_keeps_the_last_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    let ckpt = dir.path().join("ckpt");
    let mut run = trainer(PretrainConfig {
        learning_rate: 1e30,
        warmup_steps: Some(0),
        clip: 0.0,
        checkpoint_every: 1,
        ..config(50)
    });
    let err = run
        .run(Some(&ckpt), &mut PretrainLog::default())
        .unwrap_err();
    let Error::Diverged { hint, .. } = &err else {
        panic!("expected a divergence, got {err}");
    };
    let step = read_trainer_state(&ckpt).unwrap().step;
    assert!(hint.contains(&format!("step {}", step + 1)), "{hint}");
    assert!(MlmModel::from_pretrained(&ckpt).is_ok());
}

/// A loss that is NaN from the start stops the first step with an error
/// saying which loss, for each of the two.
#[test]
fn a_non_finite_loss_names_the_step_and_the_loss() {
    let cases = [
        (config(2), "cls.predictions.bias", "masked-LM"),
        (nsp_config(2), "cls.seq_relationship.bias", "next-sentence"),
    ];
    for (config, poisoned, which) in cases {
        let tokenizer = tokenizer();
        let stream =
            TokenStream::from_reader(topic_corpus().as_bytes(), Path::new("corpus"), &tokenizer)
                .unwrap();
        let mut model = MlmModel::init(&model_config(), config.seed).unwrap();
        model.set_next_sentence_head(config.nsp).unwrap();
        model.params_mut().get_mut(poisoned).unwrap().fill(f32::NAN);
        let mut run = Pretrainer::new(config, model, tokenizer, stream, None).unwrap();
        let err = run.run(None, &mut PretrainLog::default()).unwrap_err();
        let Error::Diverged { hint, .. } = &err else {
            panic!("expected a divergence, got {err}");
        };
        assert!(hint.contains("step 1"), "{hint}");
        assert!(hint.contains(&format!("the {which} loss")), "{hint}");
    }
}

#[test]
fn bad_settings_are_typed_errors_naming_the_cause() {
    let tokenizer = tokenizer();
    let stream =
        || TokenStream::from_reader(corpus().as_bytes(), Path::new("corpus"), &tokenizer).unwrap();
    let model = || MlmModel::init(&model_config(), 1).unwrap();
    let cases = [
        (
            PretrainConfig {
                max_length: 2,
                ..config(4)
            },
            "max_length",
        ),
        (
            PretrainConfig {
                masking: MaskingConfig {
                    mask_prob: 1.0,
                    ..MaskingConfig::default()
                },
                ..config(4)
            },
            "mask_prob",
        ),
        (
            PretrainConfig {
                max_length: 17,
                ..config(4)
            },
            "max_length",
        ),
    ];
    for (config, name) in cases {
        match Pretrainer::new(config, model(), tokenizer.clone(), stream(), None) {
            Err(Error::InvalidParameter { name: got, .. }) => assert_eq!(got, name),
            other => panic!("{name}: {other:?}"),
        }
    }
    let no_mask = Tokenizer::new(
        Vocab::from_tokens(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "the"]),
        TokenizerConfig::default(),
    )
    .unwrap();
    let err = Pretrainer::new(config(4), model(), no_mask, stream(), None).unwrap_err();
    assert!(err.to_string().contains("[MASK]"), "{err}");
    let empty = TokenStream::from_reader(&b"\n \n\t\n"[..], Path::new("empty.txt"), &tokenizer);
    assert!(matches!(empty, Err(Error::EmptyCorpus { .. })));
}

/// Documents on one of eight topics (a noun, a verb and a place kept
/// through the document), so that a random second segment nearly always
/// changes topic mid-pair while a continuation never does.
fn topic_corpus() -> String {
    let mut text = String::new();
    for d in 0..40 {
        let noun = ["cat", "dog"][d % 2];
        let verb = ["sat", "ran"][d / 2 % 2];
        let place = ["mat", "log"][d / 4 % 2];
        for i in 0..6 {
            let adj = ["big", "small", "red"][(d + i) % 3];
            text.push_str(&format!("the {adj} {noun} {verb} on a {place}\n"));
        }
        text.push('\n');
    }
    text
}

fn nsp_config(steps: u64) -> PretrainConfig {
    PretrainConfig {
        nsp: true,
        ..config(steps)
    }
}

fn nsp_trainer(config: PretrainConfig) -> Pretrainer {
    let tokenizer = tokenizer();
    let stream =
        TokenStream::from_reader(topic_corpus().as_bytes(), Path::new("corpus"), &tokenizer)
            .unwrap();
    let model = MlmModel::init(&model_config(), config.seed).unwrap();
    Pretrainer::new(config, model, tokenizer, stream, None).unwrap()
}

#[test]
fn a_resumed_next_sentence_run_follows_the_uninterrupted_one() {
    // Batches of 32 for 10 steps: three passes or more over the pairs, each
    // drawn afresh, and the run is cut after the first pass.
    let long = || PretrainConfig {
        batch_size: 32,
        ..nsp_config(10)
    };
    let dir = tempfile::tempdir().unwrap();
    let mut whole = nsp_trainer(long());
    let mut whole_log = PretrainLog::default();
    whole
        .run(Some(&dir.path().join("whole")), &mut whole_log)
        .unwrap();
    assert!(whole.model().has_next_sentence_head());
    assert!(
        whole_log.steps.last().unwrap().pass >= 3,
        "{:?}",
        whole_log.steps.last()
    );
    assert!(whole_log
        .steps
        .iter()
        .all(|s| s.next_sentence_loss.is_some() && s.next_sentence_accuracy.is_some()));

    let stopped_dir = dir.path().join("stopped");
    let mut first = nsp_trainer(long());
    let mut first_log = PretrainLog {
        stop_after: Some(6),
        ..PretrainLog::default()
    };
    first.run(Some(&stopped_dir), &mut first_log).unwrap();
    assert!(
        first_log.steps.last().unwrap().pass >= 2,
        "stopped inside the first pass"
    );
    let saved = read_trainer_state(&stopped_dir).unwrap();
    // Adam's moments of the pooler and classifier are part of the state.
    assert_eq!(saved.optimizer_steps["cls.seq_relationship.weight"], 6);
    assert_eq!(saved.optimizer_steps["bert.pooler.dense.bias"], 6);

    let mut second = nsp_trainer(long());
    second.resume_from(&stopped_dir).unwrap();
    let mut second_log = PretrainLog::default();
    second.run(Some(&stopped_dir), &mut second_log).unwrap();

    let losses = |log: &PretrainLog| {
        log.steps
            .iter()
            .map(|s| (s.loss, s.next_sentence_loss))
            .collect::<Vec<_>>()
    };
    let mut resumed = losses(&first_log);
    resumed.extend(losses(&second_log));
    assert_eq!(
        resumed,
        losses(&whole_log),
        "one thread, one seed: identical curves"
    );
    for (name, p) in whole.model().params().iter() {
        assert_eq!(second.model().params().get(name), Some(p), "{name}");
    }
    assert_eq!(second.evaluations(), whole.evaluations());
    assert!(whole.evaluations()[0].next_sentence_accuracy.is_some());
}

#[test]
fn next_sentence_checkpoints_are_bert_for_pretraining_and_settings_must_match() {
    let dir = tempfile::tempdir().unwrap();
    let ckpt = dir.path().join("ckpt");
    train_into(nsp_trainer(nsp_config(2)), &ckpt);
    let hf_config: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(ckpt.join("config.json")).unwrap()).unwrap();
    assert_eq!(hf_config["architectures"][0], "BertForPreTraining");
    let loaded = MlmModel::from_pretrained(&ckpt).unwrap();
    assert!(loaded.has_next_sentence_head());

    // Resuming with the other setting names the cause, both ways.
    let mut plain = nsp_trainer(config(2));
    let err = plain.resume_from(&ckpt).unwrap_err();
    assert!(
        matches!(err, Error::InvalidParameter { name: "resume", .. }),
        "{err}"
    );
    assert!(err.to_string().contains("next-sentence"), "{err}");
    let mlm_ckpt = dir.path().join("mlm");
    train_into(trainer(config(2)), &mlm_ckpt);
    let err = nsp_trainer(nsp_config(2))
        .resume_from(&mlm_ckpt)
        .unwrap_err();
    assert!(err.to_string().contains("without next-sentence"), "{err}");

    // Starting from the checkpoint keeps its head; from a masked-LM one,
    // the head starts fresh.
    let tokenizer = tokenizer();
    let stream =
        || TokenStream::from_reader(topic_corpus().as_bytes(), Path::new("c"), &tokenizer).unwrap();
    let from_nsp = Pretrainer::new(
        nsp_config(2),
        MlmModel::from_pretrained_with(&ckpt, true).unwrap(),
        tokenizer.clone(),
        stream(),
        None,
    )
    .unwrap();
    let name = "cls.seq_relationship.weight";
    assert_eq!(
        from_nsp.model().params().get(name),
        loaded.params().get(name)
    );
    let from_mlm = Pretrainer::new(
        nsp_config(2),
        MlmModel::from_pretrained_with(&mlm_ckpt, true).unwrap(),
        tokenizer.clone(),
        stream(),
        None,
    )
    .unwrap();
    assert!(from_mlm.model().params().get(name).is_some());
    assert!(from_mlm
        .model()
        .params()
        .get("bert.pooler.dense.bias")
        .unwrap()
        .iter()
        .all(|&v| v == 0.0));
}

/// The next-sentence loss alone drives the encoder and head: trained on
/// it (no masked tokens), the model fits a set of pairs whose label shows
/// only in whether the two segments share a topic.
#[test]
fn next_sentence_training_fits_pairs() {
    let run = nsp_trainer(nsp_config(2));
    let TrainingSequences::Pairs(pairs) = run.train_sequences() else {
        panic!("expected sentence pairs");
    };
    let (n, len) = (48, 16);
    let mut batch = MlmBatch {
        batch: n,
        seq_len: len,
        ..MlmBatch::default()
    };
    for i in 0..n {
        let (mut ids, mut types) = pairs.sequence(i);
        let real = ids.len();
        ids.resize(len, 0);
        types.resize(len, 0);
        batch.input_ids.extend(&ids);
        batch.token_type_ids.extend(&types);
        batch
            .attention_mask
            .extend((0..len).map(|k| u8::from(k < real)));
        batch.labels.extend(std::iter::repeat_n(-100, len));
        batch.next_sentence_labels.push(pairs.label(i));
    }
    let random = batch
        .next_sentence_labels
        .iter()
        .filter(|&&l| l == IS_RANDOM)
        .count();
    let majority = random.max(n - random) as f64 / n as f64;
    let mut model = run.model().clone();
    let mut adam = Adam::new(AdamConfig::adamw(3e-3, 0.0)).unwrap();
    let mut first = None;
    let mut last = MlmStats::default();
    for _ in 0..300 {
        let mut grads = GradientStore::zeros_like(model.params());
        last = model.forward_backward(&batch, None, &mut grads).unwrap();
        first.get_or_insert(last);
        step_store(&mut adam, model.params_mut(), &grads).unwrap();
    }
    let (first, last) = (first.unwrap(), last);
    assert_eq!(last.predicted, 0);
    let (start, end) = (
        first.next_sentence_loss().unwrap(),
        last.next_sentence_loss().unwrap(),
    );
    let accuracy = last.next_sentence_accuracy().unwrap();
    assert!(end < 0.75 * start, "NSP loss {start} -> {end}");
    assert!(
        accuracy > majority,
        "accuracy {accuracy}, commoner label {majority}"
    );
}

#[test]
fn next_sentence_prediction_needs_two_documents() {
    let tokenizer = tokenizer();
    let one = TokenStream::from_reader(
        "the cat sat\nthe dog ran\n".as_bytes(),
        Path::new("one.txt"),
        &tokenizer,
    )
    .unwrap();
    let model = MlmModel::init(&model_config(), 1).unwrap();
    match Pretrainer::new(nsp_config(2), model, tokenizer, one, None) {
        Err(Error::InvalidParameter { name: "nsp", .. }) => {}
        other => panic!("{other:?}"),
    }
    let short = PretrainConfig {
        max_length: 4,
        ..nsp_config(2)
    };
    assert!(short
        .validate()
        .unwrap_err()
        .to_string()
        .contains("max_length"));
}
