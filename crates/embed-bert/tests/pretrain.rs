//! Pre-training end to end on a tiny model: resuming, divergence,
//! configuration errors.

use std::path::Path;

use embed_bert::train::checkpoint::read_trainer_state;
use embed_bert::train::data::TokenStream;
use embed_bert::train::masking::MaskingConfig;
use embed_bert::train::pretrain::{PretrainConfig, PretrainLog, Pretrainer};
use embed_bert::train::MlmModel;
use embed_bert::{BertConfig, Tokenizer, TokenizerConfig, Vocab};
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
    trainer(config(2))
        .run(Some(&ckpt), &mut PretrainLog::default())
        .unwrap();
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
