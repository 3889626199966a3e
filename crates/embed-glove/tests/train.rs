//! Training: planted synonyms is recovered, the loss falls, one thread
//! with a seed is reproducible, divergence is a typed error.

use embed_core::observer::{EpochLog, NoopObserver};
use embed_core::{Control, Embedder, Error, Progress, StaticEmbedder, TrainingObserver};
use embed_glove::{CooccurParams, Cooccurrences, Glove, GloveParams, OutputMode};
use embed_vocab::{InMemoryCorpus, VocabParams, Vocabulary};
use rand::{Rng, SeedableRng};

/// A random walk on a ring of 30 places with steps of at most 2; each
/// place is named by one of two synonyms (`p7a`, `p7b`) at random. Words
/// close on the ring co-occur more, and synonyms share all their contexts.
fn ring_corpus(seed: u64) -> InMemoryCorpus {
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let sentences = (0..3000)
        .map(|_| {
            let mut place: i32 = rng.gen_range(0..30);
            (0..20)
                .map(|_| {
                    place = (place + rng.gen_range(-2..=2)).rem_euclid(30);
                    format!("p{place}{}", if rng.gen::<bool>() { 'a' } else { 'b' })
                })
                .collect()
        })
        .collect();
    InMemoryCorpus::new(sentences)
}

fn setup(memory: usize) -> (Vocabulary, Cooccurrences) {
    let corpus = ring_corpus(1);
    let vocab = Vocabulary::build(
        &corpus,
        &VocabParams::builder().min_count(1).build().unwrap(),
    )
    .unwrap();
    let params = CooccurParams::builder()
        .window(5)
        .memory_bytes(memory)
        .build()
        .unwrap();
    let x = Cooccurrences::count(&corpus, &vocab, &params).unwrap();
    (vocab, x)
}

fn params() -> embed_glove::GloveParamsBuilder {
    GloveParams::builder()
        .dim(16)
        .x_max(10.0)
        .epochs(15)
        .seed(3)
}

fn cosine(a: ndarray::ArrayView1<f32>, b: ndarray::ArrayView1<f32>) -> f32 {
    a.dot(&b) / (a.dot(&a).sqrt() * b.dot(&b).sqrt())
}

/// Share of words whose nearest neighbour (cosine) is their synonym.
fn synonyms_found(model: &embed_glove::GloveModel) -> f64 {
    let words = model.words();
    let m = model.matrix();
    let found = (0..words.len())
        .filter(|&i| {
            let nearest = (0..words.len())
                .filter(|&j| j != i)
                .max_by(|&a, &b| cosine(m.row(i), m.row(a)).total_cmp(&cosine(m.row(i), m.row(b))))
                .unwrap();
            words[i][..words[i].len() - 1] == words[nearest][..words[nearest].len() - 1]
        })
        .count();
    found as f64 / words.len() as f64
}

#[test]
fn planted_synonyms_are_recovered_and_the_loss_falls() {
    let (vocab, x) = setup(1 << 24);
    for threads in [1, 2] {
        let mut log = EpochLog::default();
        let model = Glove::fit(
            &params().threads(threads).build().unwrap(),
            &x,
            &vocab,
            &mut log,
        )
        .unwrap();
        let losses = log.losses();
        assert_eq!(losses.len(), 15);
        // Fast at first, then down to the noise floor of Hogwild updates.
        assert!(losses[1] < 0.5 * losses[0], "{losses:?}");
        assert!(losses[14] < losses[1], "{losses:?}");
        let found = synonyms_found(&model);
        eprintln!("threads {threads}: synonyms found {found}");
        assert!(found >= 0.9, "nearest neighbour is the synonym for {found}");
    }
}

#[test]
fn one_thread_with_a_seed_is_reproducible_bit_for_bit() {
    let (vocab, x) = setup(1 << 24);
    let fit = |seed| {
        Glove::fit(
            &params().seed(seed).epochs(3).build().unwrap(),
            &x,
            &vocab,
            &mut NoopObserver,
        )
        .unwrap()
    };
    let (a, b, c) = (fit(5), fit(5), fit(6));
    assert_eq!(a.word_vectors(), b.word_vectors());
    assert_eq!(a.context_vectors(), b.context_vectors());
    assert_eq!(a.word_biases(), b.word_biases());
    assert_ne!(a.word_vectors(), c.word_vectors());
}

#[test]
fn a_matrix_streamed_from_a_file_trains_too() {
    // Too small to keep the matrix or shuffle it in one chunk.
    let (vocab, x) = setup(CooccurParams::min_memory_bytes(5, true, 1));
    assert!(!x.is_in_memory());
    let mut log = EpochLog::default();
    let model = Glove::fit(
        &params().memory_bytes(1 << 16).build().unwrap(),
        &x,
        &vocab,
        &mut log,
    )
    .unwrap();
    assert!(
        log.losses()[14] < 0.1 * log.losses()[0],
        "{:?}",
        log.losses()
    );
    let found = synonyms_found(&model);
    assert!(found >= 0.9, "nearest neighbour is the synonym for {found}");
}

#[test]
fn a_huge_learning_rate_is_reported_as_divergence() {
    let (vocab, x) = setup(1 << 24);
    let err = Glove::fit(
        &params().eta(1e30).build().unwrap(),
        &x,
        &vocab,
        &mut NoopObserver,
    )
    .unwrap_err();
    assert!(matches!(err, Error::Diverged { .. }), "{err}");
}

#[test]
fn a_matrix_from_another_vocabulary_is_refused() {
    let (_, x) = setup(1 << 24);
    let other = Vocabulary::build(
        &InMemoryCorpus::from_text("some other words"),
        &VocabParams::builder().min_count(1).build().unwrap(),
    )
    .unwrap();
    let err = Glove::fit(&params().build().unwrap(), &x, &other, &mut NoopObserver).unwrap_err();
    assert!(matches!(err, Error::InvalidInput(_)), "{err}");
}

struct StopAfterFirstEpoch(usize);

impl TrainingObserver for StopAfterFirstEpoch {
    fn on_epoch_end(&mut self, _: &Progress) -> Control {
        self.0 += 1;
        Control::Stop
    }
}

#[test]
fn the_observer_can_stop_training() {
    let (vocab, x) = setup(1 << 24);
    let mut stop = StopAfterFirstEpoch(0);
    Glove::fit(&params().build().unwrap(), &x, &vocab, &mut stop).unwrap();
    assert_eq!(stop.0, 1);
}

#[test]
fn output_modes_combine_word_and_context_vectors() {
    let (vocab, x) = setup(1 << 24);
    let model = Glove::fit(
        &params().epochs(1).build().unwrap(),
        &x,
        &vocab,
        &mut NoopObserver,
    )
    .unwrap();
    let w = model.vectors(OutputMode::W).unwrap();
    let sum = model.vectors(OutputMode::WPlusContext).unwrap();
    let concat = model.vectors(OutputMode::Concat).unwrap();
    assert_eq!(w.matrix(), model.word_vectors());
    assert_eq!(
        sum.matrix(),
        &model.word_vectors() + &model.context_vectors()
    );
    assert_eq!(concat.dim(), 32);
    assert_eq!(model.matrix(), sum.matrix(), "W + W̃ is served by default");
    assert_eq!(model.dim(), 16);
    assert!(model.lookup("p0a").is_in_vocabulary());
    assert!(!model.lookup("absent").is_in_vocabulary());

    let dir = tempfile::tempdir().unwrap();
    for format in [
        embed_core::formats::VectorFormat::Glove,
        embed_core::formats::VectorFormat::Word2VecText,
        embed_core::formats::VectorFormat::Word2VecBinary,
    ] {
        let path = dir.path().join(format.name());
        model.save(&path, format).unwrap();
        let back =
            embed_core::formats::read_vectors(&path, Some(format), &Default::default()).unwrap();
        assert_eq!(back.words(), model.words());
        let tolerance = if format == embed_core::formats::VectorFormat::Word2VecBinary {
            0.0
        } else {
            1e-5
        };
        for (a, b) in back.matrix().iter().zip(model.matrix().iter()) {
            assert!((a - b).abs() <= tolerance, "{format}: {a} vs {b}");
        }
    }
}
