//! Training: determinism, falling loss, every model and loss, classification.

use embed_core::observer::{EpochLog, NoopObserver};
use embed_core::{Error, StaticEmbedder};
use embed_fasttext::{FastText, FastTextParams, LossKind, ModelKind};

/// A small corpus with structure: two topics that never share a line.
fn corpus(dir: &std::path::Path) -> std::path::PathBuf {
    let mut text = String::new();
    for i in 0..300 {
        if i % 2 == 0 {
            text.push_str("the cat chased the mouse and the kitten watched the cat\n");
        } else {
            text.push_str("a stock market trader sold shares while markets fell sharply\n");
        }
    }
    let path = dir.join("corpus.txt");
    std::fs::write(&path, text).unwrap();
    path
}

fn small(model: ModelKind, loss: LossKind) -> FastTextParams {
    FastTextParams::builder()
        .model(model)
        .loss(loss)
        .dim(16)
        .bucket(5000)
        .min_count(1)
        .epoch(3)
        .threads(1)
        .seed(11)
        .lr(0.1)
        .t(1.0) // keep every word of this tiny corpus
        .build()
        .unwrap()
}

#[test]
fn one_thread_and_a_seed_give_the_same_model() {
    let dir = tempfile::tempdir().unwrap();
    let path = corpus(dir.path());
    let params = small(ModelKind::Skipgram, LossKind::NegativeSampling);
    let a = FastText::fit_unsupervised(&params, &path, &mut NoopObserver).unwrap();
    let b = FastText::fit_unsupervised(&params, &path, &mut NoopObserver).unwrap();
    assert_eq!(a.input(), b.input());
    assert_eq!(a.output(), b.output());
}

#[test]
fn every_model_and_loss_learns_the_topics() {
    let dir = tempfile::tempdir().unwrap();
    let path = corpus(dir.path());
    for model in [ModelKind::Skipgram, ModelKind::Cbow] {
        for loss in [
            LossKind::NegativeSampling,
            LossKind::HierarchicalSoftmax,
            LossKind::Softmax,
        ] {
            let mut log = EpochLog::default();
            let params = small(model, loss);
            let ft = FastText::fit_unsupervised(&params, &path, &mut log).unwrap();
            let losses = log.losses();
            assert_eq!(losses.len(), 3, "{model:?} {loss:?}");
            assert!(losses.iter().all(|l| l.is_finite()), "{model:?} {loss:?}");
            assert!(losses[2] < losses[0], "{model:?} {loss:?}: {losses:?}");
            let vectors = ft.to_word_vectors().unwrap();
            let mean = |pairs: &[(&str, &str)]| {
                pairs
                    .iter()
                    .map(|(a, b)| vectors.similarity(a, b).unwrap())
                    .sum::<f32>()
                    / pairs.len() as f32
            };
            let same = mean(&[
                ("cat", "mouse"),
                ("cat", "kitten"),
                ("stock", "market"),
                ("trader", "shares"),
            ]);
            let other = mean(&[
                ("cat", "stock"),
                ("mouse", "shares"),
                ("kitten", "trader"),
                ("market", "cat"),
            ]);
            assert!(same > other, "{model:?} {loss:?}: {same} vs {other}");
            // Words outside the vocabulary get vectors from their n-grams.
            assert!(!ft.lookup("cats").is_in_vocabulary());
            assert!(ft.word_vector("cats").iter().any(|&x| x != 0.0));
        }
    }
}

#[test]
fn trained_models_round_trip_through_bin() {
    let dir = tempfile::tempdir().unwrap();
    let path = corpus(dir.path());
    let params = small(ModelKind::Skipgram, LossKind::NegativeSampling);
    let ft = FastText::fit_unsupervised(&params, &path, &mut NoopObserver).unwrap();
    let bin = dir.path().join("model.bin");
    ft.save_bin(&bin).unwrap();
    let back = FastText::load(&bin).unwrap();
    assert_eq!(back.args(), ft.args());
    for word in ["cat", "markets", "catz", "stocks"] {
        assert_eq!(back.word_vector(word), ft.word_vector(word), "{word}");
    }
}

fn labelled(dir: &std::path::Path) -> std::path::PathBuf {
    let mut text = String::new();
    for i in 0..200 {
        match i % 3 {
            0 => text.push_str("__label__pets my cat likes the dog\n"),
            1 => text.push_str("__label__money __label__news stocks fell on the market\n"),
            _ => text.push_str("__label__food bake the bread with butter\n"),
        }
    }
    let path = dir.join("train.txt");
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn supervised_losses_classify_their_training_data() {
    let dir = tempfile::tempdir().unwrap();
    let path = labelled(dir.path());
    for loss in [
        LossKind::Softmax,
        LossKind::NegativeSampling,
        LossKind::HierarchicalSoftmax,
        LossKind::OneVsAll,
    ] {
        let params = FastTextParams::supervised_builder()
            .loss(loss)
            .lr(0.5)
            .epoch(10)
            .dim(10)
            .word_ngrams(2)
            .bucket(1000)
            .threads(1)
            .seed(5)
            .build()
            .unwrap();
        let model = FastText::fit_supervised(&params, &path, &mut NoopObserver).unwrap();
        let report = model.test(&path, 1, 0.0).unwrap();
        assert_eq!(report.examples, 200, "{loss:?}");
        assert!(report.precision > 0.99, "{loss:?}: {report:?}");
        let top = model.predict("the cat and the dog", 1, 0.0).unwrap();
        assert_eq!(top[0].label, "__label__pets", "{loss:?}");
    }
}

#[test]
fn supervised_input_without_labels_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = corpus(dir.path());
    let params = FastTextParams::supervised_builder()
        .threads(1)
        .build()
        .unwrap();
    let err = FastText::fit_supervised(&params, &path, &mut NoopObserver).unwrap_err();
    assert!(
        matches!(err, Error::InvalidInput(ref m) if m.contains("__label__")),
        "{err}"
    );
}

#[test]
fn a_corpus_below_min_count_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tiny.txt");
    std::fs::write(&path, "one two three\n").unwrap();
    let params = FastTextParams::builder().min_count(5).build().unwrap();
    let err = FastText::fit_unsupervised(&params, &path, &mut NoopObserver).unwrap_err();
    assert!(matches!(err, Error::EmptyCorpus { .. }), "{err}");
}

#[test]
fn a_huge_learning_rate_is_reported_as_divergence() {
    let dir = tempfile::tempdir().unwrap();
    let path = corpus(dir.path());
    let params = FastTextParams::builder()
        .dim(16)
        .bucket(1000)
        .min_count(1)
        .threads(1)
        .lr(1e30)
        .build()
        .unwrap();
    match FastText::fit_unsupervised(&params, &path, &mut NoopObserver) {
        Err(Error::Diverged { .. }) => {}
        other => panic!("expected divergence, got {:?}", other.map(|_| ())),
    }
}

fn classifier(loss: LossKind, threads: usize, epoch: usize) -> FastTextParams {
    FastTextParams::supervised_builder()
        .loss(loss)
        .lr(0.5)
        .epoch(epoch)
        .dim(10)
        .word_ngrams(2)
        .bucket(1000)
        .threads(threads)
        .seed(5)
        .build()
        .unwrap()
}

#[test]
fn one_thread_and_a_seed_give_the_same_classifier() {
    let dir = tempfile::tempdir().unwrap();
    let path = labelled(dir.path());
    for loss in [
        LossKind::Softmax,
        LossKind::OneVsAll,
        LossKind::HierarchicalSoftmax,
    ] {
        let params = classifier(loss, 1, 3);
        let a = FastText::fit_supervised(&params, &path, &mut NoopObserver).unwrap();
        let b = FastText::fit_supervised(&params, &path, &mut NoopObserver).unwrap();
        assert_eq!(a.input(), b.input(), "{loss:?}");
        assert_eq!(a.output(), b.output(), "{loss:?}");
    }
}

#[test]
fn every_thread_hands_its_last_updates_to_the_model() {
    // Three long lines, one epoch: each thread trains on a few examples,
    // fewer than the interval at which threads exchange output rows, so
    // only the exchange at the end of each thread brings its updates into
    // the model.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("three.txt");
    let words = "x y z w ".repeat(10);
    let text = format!("__label__a {words}\n__label__b {words}\n__label__a {words}\n");
    std::fs::write(&path, text).unwrap();
    for loss in [LossKind::Softmax, LossKind::OneVsAll] {
        for threads in [1, 2] {
            let params = classifier(loss, threads, 1);
            let model = FastText::fit_supervised(&params, &path, &mut NoopObserver).unwrap();
            assert!(
                model.output().iter().any(|&v| v != 0.0),
                "{loss:?}, {threads} threads: the output rows never left the threads"
            );
        }
    }
}

#[test]
fn two_threads_learn_the_labels_with_the_output_copies() {
    let dir = tempfile::tempdir().unwrap();
    let path = labelled(dir.path());
    for loss in [LossKind::Softmax, LossKind::OneVsAll] {
        let model =
            FastText::fit_supervised(&classifier(loss, 2, 10), &path, &mut NoopObserver).unwrap();
        let report = model.test(&path, 1, 0.0).unwrap();
        assert!(report.precision > 0.99, "{loss:?}: {report:?}");
    }
}
