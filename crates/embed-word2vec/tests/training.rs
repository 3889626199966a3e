//! End-to-end training on small generated corpora with planted structure.

use std::ops::ControlFlow;

use embed_core::observer::{Control, EpochLog, NoopObserver, Progress, TrainingObserver};
use embed_core::seed::Lcg;
use embed_core::{Error, QueryOptions, StaticEmbedder};
use embed_vocab::{Corpus, InMemoryCorpus, TextCorpus};
use embed_word2vec::{
    Architecture, CbowContext, Loss, SigmoidMode, Word2Vec, Word2VecParams, Word2VecParamsBuilder,
};

const GROUPS: usize = 6;
const GROUP_WORDS: usize = 8;

fn word(group: usize, i: usize) -> String {
    format!("g{group}w{i}")
}

/// Sentences of 10 words, each drawn from one group only: words of a group
/// share every context, words of different groups none.
fn planted_corpus(sentences: usize, seed: u64) -> InMemoryCorpus {
    let mut rng = Lcg::new(seed);
    let mut pick = |n: usize| (rng.next_u64() >> 33) as usize % n;
    let text: Vec<Vec<String>> = (0..sentences)
        .map(|_| {
            let g = pick(GROUPS);
            (0..10).map(|_| word(g, pick(GROUP_WORDS))).collect()
        })
        .collect();
    InMemoryCorpus::new(text)
}

fn small(architecture: Architecture) -> Word2VecParamsBuilder {
    Word2VecParams::builder()
        .architecture(architecture)
        .dim(24)
        .window(3)
        .min_count(1)
        .sample(0.0)
        .epochs(5)
        .threads(1)
        .seed(11)
}

/// Every word's nearest neighbour is a word of its own group.
fn assert_groups_recovered(model: &Word2Vec) {
    let vectors = model.vectors();
    for g in 0..GROUPS {
        for i in 0..GROUP_WORDS {
            let w = word(g, i);
            let best = vectors
                .most_similar(&[w.as_str()], &[], 3, &QueryOptions::default())
                .unwrap();
            for (neighbour, score) in &best {
                assert!(
                    neighbour.starts_with(&format!("g{g}w")),
                    "{w}: neighbour {neighbour} ({score}) is from another group; top 3 {best:?}"
                );
            }
        }
    }
}

#[test]
fn skip_gram_negative_sampling_recovers_planted_groups() {
    let corpus = planted_corpus(1500, 1);
    let params = small(Architecture::SkipGram).build().unwrap();
    let mut log = EpochLog::default();
    let model = Word2Vec::fit(&params, &corpus, &mut log).unwrap();
    assert_groups_recovered(&model);
    let losses = log.losses();
    assert_eq!(losses.len(), 5);
    assert!(losses.iter().all(|l| l.is_finite()));
    assert!(losses[4] < losses[0], "loss did not fall: {losses:?}");
}

#[test]
fn cbow_recovers_planted_groups_with_mean_and_sum() {
    let corpus = planted_corpus(1500, 2);
    for context in [CbowContext::Mean, CbowContext::Sum] {
        let params = small(Architecture::Cbow)
            .cbow_context(context)
            .alpha(if context == CbowContext::Sum {
                0.01
            } else {
                0.05
            })
            .build()
            .unwrap();
        let model = Word2Vec::fit(&params, &corpus, &mut NoopObserver).unwrap();
        assert_groups_recovered(&model);
    }
}

#[test]
fn hierarchical_softmax_and_both_losses_recover_planted_groups() {
    let corpus = planted_corpus(1500, 3);
    for loss in [Loss::HierarchicalSoftmax, Loss::Both] {
        for architecture in [Architecture::SkipGram, Architecture::Cbow] {
            let params = small(architecture).loss(loss).build().unwrap();
            let model = Word2Vec::fit(&params, &corpus, &mut NoopObserver).unwrap();
            assert!(model.node_vectors().is_some());
            assert_eq!(model.output_vectors().is_some(), loss == Loss::Both);
            assert_groups_recovered(&model);
        }
    }
}

#[test]
fn exact_sigmoid_and_subsampling_train_as_well() {
    let corpus = planted_corpus(1500, 4);
    let params = small(Architecture::SkipGram)
        .sigmoid(SigmoidMode::Exact)
        .sample(1e-2)
        .build()
        .unwrap();
    let model = Word2Vec::fit(&params, &corpus, &mut NoopObserver).unwrap();
    assert_groups_recovered(&model);
}

#[test]
fn one_thread_with_a_seed_is_bit_for_bit_reproducible() {
    let corpus = planted_corpus(400, 5);
    for architecture in [Architecture::SkipGram, Architecture::Cbow] {
        let params = small(architecture).epochs(2).sample(1e-2).build().unwrap();
        let a = Word2Vec::fit(&params, &corpus, &mut NoopObserver).unwrap();
        let b = Word2Vec::fit(&params, &corpus, &mut NoopObserver).unwrap();
        assert_eq!(a.vectors(), b.vectors());
        assert_eq!(a.output_vectors(), b.output_vectors());
        assert_eq!(a.epoch_losses(), b.epoch_losses());
        let other = small(architecture)
            .epochs(2)
            .sample(1e-2)
            .seed(12)
            .build()
            .unwrap();
        let c = Word2Vec::fit(&other, &corpus, &mut NoopObserver).unwrap();
        assert_ne!(a.vectors(), c.vectors());
    }
}

#[test]
fn several_threads_over_a_file_train_every_shard() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("corpus.txt");
    let corpus = planted_corpus(1500, 6);
    let text: String = corpus
        .sentences()
        .iter()
        .map(|s| s.join(" ") + "\n")
        .collect();
    std::fs::write(&path, text).unwrap();
    let file = TextCorpus::open(&path).unwrap();
    assert_eq!(file.shards(3).unwrap().len(), 3);
    let params = small(Architecture::SkipGram).threads(3).build().unwrap();
    let mut log = EpochLog::default();
    let model = Word2Vec::fit(&params, &file, &mut log).unwrap();
    assert_groups_recovered(&model);
    // Every word of every epoch was counted once.
    let last = log.epochs.last().unwrap();
    assert_eq!(last.words_done, 5 * 15_000);
    assert_eq!(last.words_total, 5 * 15_000);
}

#[test]
fn saved_model_reloads_with_the_same_answers_and_can_continue() {
    let corpus = planted_corpus(800, 7);
    let params = small(Architecture::SkipGram)
        .loss(Loss::Both)
        .epochs(2)
        .build()
        .unwrap();
    let model = Word2Vec::fit(&params, &corpus, &mut NoopObserver).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("model.w2v");
    model.save(&path).unwrap();
    let back = Word2Vec::load(&path).unwrap();
    assert_eq!(back.params(), model.params());
    assert_eq!(back.vocabulary(), model.vocabulary());
    assert_eq!(back.output_vectors(), model.output_vectors());
    assert_eq!(back.node_vectors(), model.node_vectors());
    assert_eq!(back.epoch_losses(), model.epoch_losses());
    for w in ["g0w0", "g3w5", "g5w7"] {
        let q = |m: &Word2Vec| {
            m.vectors()
                .most_similar(&[w], &[], 5, &QueryOptions::default())
                .unwrap()
        };
        assert_eq!(q(&back), q(&model));
    }

    // Continued training from the reloaded model equals continued training
    // of the original (one thread, same seed).
    let mut a = model;
    let mut b = back;
    a.continue_training(&corpus, 2, &mut NoopObserver).unwrap();
    b.continue_training(&corpus, 2, &mut NoopObserver).unwrap();
    assert_eq!(a.epochs_trained(), 4);
    assert_eq!(a.vectors(), b.vectors());
    assert_groups_recovered(&a);
}

#[test]
fn predict_output_word_names_the_planted_group() {
    let corpus = planted_corpus(1500, 8);
    let params = small(Architecture::Cbow).build().unwrap();
    let model = Word2Vec::fit(&params, &corpus, &mut NoopObserver).unwrap();
    let best = model
        .predict_output_word(&["g2w0", "g2w1", "unknown"], 5)
        .unwrap();
    assert_eq!(best.len(), 5);
    assert!(best.iter().all(|(w, _)| w.starts_with("g2w")), "{best:?}");
    let total: f32 = best.iter().map(|(_, p)| p).sum();
    assert!(total > 0.5 && total <= 1.0 + 1e-4, "{best:?}");
    assert!(model.predict_output_word(&["nothing", "known"], 3).is_err());

    let hs = small(Architecture::Cbow)
        .loss(Loss::HierarchicalSoftmax)
        .negative(0)
        .epochs(1)
        .build()
        .unwrap();
    let hs_model = Word2Vec::fit(&hs, &corpus, &mut NoopObserver).unwrap();
    assert!(matches!(
        hs_model.predict_output_word(&["g2w0"], 3),
        Err(Error::InvalidInput(_))
    ));
}

#[test]
fn static_embedder_gives_vocabulary_rows() {
    let corpus = planted_corpus(200, 9);
    let params = small(Architecture::SkipGram).epochs(1).build().unwrap();
    let model = Word2Vec::fit(&params, &corpus, &mut NoopObserver).unwrap();
    assert!(model.lookup("g1w1").is_in_vocabulary());
    assert!(!model.lookup("absent").is_in_vocabulary());
    assert_eq!(StaticEmbedder::words(&model).len(), GROUPS * GROUP_WORDS);
    assert_eq!(model.matrix().ncols(), 24);
}

/// Stops after the first progress report or epoch.
struct StopAtOnce;

impl TrainingObserver for StopAtOnce {
    fn on_progress(&mut self, _: &Progress) -> Control {
        Control::Stop
    }
    fn on_epoch_end(&mut self, _: &Progress) -> Control {
        Control::Stop
    }
}

#[test]
fn an_observer_can_stop_training() {
    let corpus = planted_corpus(300, 10);
    let params = small(Architecture::SkipGram).epochs(4).build().unwrap();
    let model = Word2Vec::fit(&params, &corpus, &mut StopAtOnce).unwrap();
    assert!(model.epochs_trained() <= 1);
}

#[test]
fn a_learning_rate_far_too_high_is_reported_as_divergence() {
    let corpus = planted_corpus(300, 11);
    let params = small(Architecture::Cbow)
        .cbow_context(CbowContext::Sum)
        .alpha(1e30)
        .build()
        .unwrap();
    match Word2Vec::fit(&params, &corpus, &mut NoopObserver) {
        Err(Error::Diverged { epoch, loss, hint }) => {
            assert_eq!(epoch, 1);
            assert!(!loss.is_finite());
            assert!(hint.contains("alpha"), "{hint}");
        }
        other => panic!("expected divergence, got {other:?}"),
    }
}

#[test]
fn bad_corpora_are_typed_errors_before_training() {
    let params = small(Architecture::SkipGram).build().unwrap();
    let empty = InMemoryCorpus::from_text("");
    assert!(matches!(
        Word2Vec::fit(&params, &empty, &mut NoopObserver),
        Err(Error::EmptyCorpus { .. })
    ));
    let rare = InMemoryCorpus::from_text("a b c d e f");
    let strict = small(Architecture::SkipGram).min_count(2).build().unwrap();
    assert!(matches!(
        Word2Vec::fit(&strict, &rare, &mut NoopObserver),
        Err(Error::EmptyCorpus { .. })
    ));
    assert!(matches!(
        TextCorpus::open("/nonexistent/corpus.txt"),
        Err(Error::Io { .. })
    ));
    let dir = tempfile::tempdir().unwrap();
    assert!(matches!(
        Word2Vec::load(dir.path().join("missing.w2v")),
        Err(Error::Io { .. })
    ));
}

#[test]
fn corrupt_model_files_are_rejected_without_huge_allocations() {
    let corpus = planted_corpus(200, 12);
    let params = small(Architecture::SkipGram).epochs(1).build().unwrap();
    let model = Word2Vec::fit(&params, &corpus, &mut NoopObserver).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("model.w2v");
    model.save(&path).unwrap();
    let bytes = std::fs::read(&path).unwrap();

    let truncated = dir.path().join("truncated.w2v");
    std::fs::write(&truncated, &bytes[..bytes.len() - 5]).unwrap();
    assert!(matches!(
        Word2Vec::load(&truncated),
        Err(Error::Format { .. })
    ));

    let mut huge = bytes.clone();
    huge[10..18].copy_from_slice(&u64::MAX.to_le_bytes());
    let huge_path = dir.path().join("huge.w2v");
    std::fs::write(&huge_path, &huge).unwrap();
    assert!(matches!(
        Word2Vec::load(&huge_path),
        Err(Error::Format { .. })
    ));

    let other = dir.path().join("other.bin");
    std::fs::write(&other, b"2 3\nnot a model").unwrap();
    assert!(matches!(Word2Vec::load(&other), Err(Error::Format { .. })));
}

#[test]
fn lines_longer_than_the_sentence_limit_are_chunked() {
    // One 2500-word line of a single repeated pair trains without error and
    // counts every word.
    let line = "x y ".repeat(1250);
    let corpus = InMemoryCorpus::from_text(&line);
    let mut lens = Vec::new();
    corpus
        .for_each_sentence(&mut |s| {
            lens.push(s.len());
            ControlFlow::Continue(())
        })
        .unwrap();
    assert_eq!(lens, [1000, 1000, 500]);
    let params = small(Architecture::Cbow).epochs(1).build().unwrap();
    let mut log = EpochLog::default();
    Word2Vec::fit(&params, &corpus, &mut log).unwrap();
    assert_eq!(log.epochs[0].words_done, 2500);
}
