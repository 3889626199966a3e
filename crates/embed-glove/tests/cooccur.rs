//! Counting: the spill path equals the in-memory count, files round-trip,
//! bad input gets typed errors and leaves no temporary files behind.

use std::path::Path;

use embed_core::Error;
use embed_glove::{CooccurParams, Cooccurrence, Cooccurrences};
use embed_vocab::corpus::SentenceFn;
use embed_vocab::{Corpus, CorpusShard, InMemoryCorpus, VocabParams, Vocabulary};
use rand::{Rng, SeedableRng};

/// Zipf-like sentences over `types` words, so that both the dense table
/// and the sparse overflow see traffic.
fn zipf_corpus(sentences: usize, types: usize, seed: u64) -> InMemoryCorpus {
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let text: Vec<Vec<String>> = (0..sentences)
        .map(|_| {
            let len = rng.gen_range(1..40);
            (0..len)
                .map(|_| {
                    let u: f64 = rng.gen();
                    let rank = ((types as f64).powf(u) as usize).min(types - 1);
                    format!("w{rank}")
                })
                .collect()
        })
        .collect();
    InMemoryCorpus::new(text)
}

fn vocab_of(corpus: &dyn Corpus) -> Vocabulary {
    Vocabulary::build(
        corpus,
        &VocabParams::builder().min_count(2).build().unwrap(),
    )
    .unwrap()
}

fn count(
    corpus: &dyn Corpus,
    vocab: &Vocabulary,
    memory: usize,
    threads: usize,
    temp: &Path,
) -> Cooccurrences {
    let params = CooccurParams::builder()
        .window(5)
        .memory_bytes(memory)
        .threads(threads)
        .temp_dir(temp)
        .build()
        .unwrap();
    Cooccurrences::count(corpus, vocab, &params).unwrap()
}

/// Equal keys, counts equal up to summation order (relative 1e-5).
fn assert_same_counts(a: &[Cooccurrence], b: &[Cooccurrence]) {
    assert_eq!(a.len(), b.len());
    for (x, y) in a.iter().zip(b) {
        assert_eq!((x.word, x.context), (y.word, y.context));
        assert!(
            (x.count - y.count).abs() <= 1e-5 * x.count.max(1.0),
            "{x:?} vs {y:?}"
        );
    }
}

fn files_in(dir: &Path) -> Vec<std::path::PathBuf> {
    walk(dir)
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path);
        }
    }
    out
}

#[test]
fn a_tiny_memory_limit_spills_and_merges_to_the_unbounded_count() {
    let corpus = zipf_corpus(3000, 2000, 1);
    let vocab = vocab_of(&corpus);
    let temp = tempfile::tempdir().unwrap();
    let unbounded = count(&corpus, &vocab, 1 << 30, 1, temp.path());
    assert!(unbounded.is_in_memory());
    let reference = unbounded.entries().unwrap();

    for threads in [1, 2] {
        let min = CooccurParams::min_memory_bytes(5, true, threads);
        let tiny = count(&corpus, &vocab, min, threads, temp.path());
        assert!(
            !tiny.is_in_memory(),
            "a matrix over the limit is kept in a file"
        );
        // While it lives, only the matrix file remains: runs were merged away.
        assert_eq!(files_in(temp.path()).len(), 1);
        assert_same_counts(&tiny.entries().unwrap(), &reference);
        drop(tiny);
        assert!(
            files_in(temp.path()).is_empty(),
            "temporary files are removed"
        );
    }
    let two_threads = count(&corpus, &vocab, 1 << 30, 2, temp.path());
    assert_same_counts(&two_threads.entries().unwrap(), &reference);
    assert!(std::fs::read_dir(temp.path()).unwrap().next().is_none());
}

#[test]
fn counts_match_a_direct_computation() {
    let corpus = zipf_corpus(200, 50, 2);
    let vocab = vocab_of(&corpus);
    let temp = tempfile::tempdir().unwrap();
    let window = 5;
    let mut expected = std::collections::BTreeMap::<(u32, u32), f64>::new();
    for sentence in corpus.sentences() {
        let ids: Vec<u32> = sentence.iter().filter_map(|w| vocab.id(w)).collect();
        for j in 0..ids.len() {
            for k in j.saturating_sub(window)..j {
                let weight = 1.0 / (j - k) as f64;
                *expected.entry((ids[k], ids[j])).or_default() += weight;
                *expected.entry((ids[j], ids[k])).or_default() += weight;
            }
        }
    }
    let got = count(&corpus, &vocab, 1 << 20, 1, temp.path())
        .entries()
        .unwrap();
    let expected: Vec<Cooccurrence> = expected
        .into_iter()
        .map(|((word, context), c)| Cooccurrence {
            word,
            context,
            count: c as f32,
        })
        .collect();
    assert_same_counts(&got, &expected);
}

#[test]
fn left_only_context_keeps_the_left_word_first() {
    let corpus = InMemoryCorpus::from_text("a b c\na b c");
    let vocab = Vocabulary::build(
        &corpus,
        &VocabParams::builder().min_count(1).build().unwrap(),
    )
    .unwrap();
    let params = CooccurParams::builder()
        .window(1)
        .symmetric(false)
        .memory_mb(1)
        .build()
        .unwrap();
    let x = Cooccurrences::count(&corpus, &vocab, &params).unwrap();
    let id = |w| vocab.id(w).unwrap();
    let mut expected = vec![
        Cooccurrence {
            word: id("a"),
            context: id("b"),
            count: 2.0,
        },
        Cooccurrence {
            word: id("b"),
            context: id("c"),
            count: 2.0,
        },
    ];
    expected.sort_by_key(|e| (e.word, e.context));
    assert_eq!(x.entries().unwrap(), expected);
    assert!(!x.symmetric());
    assert_eq!(x.window(), 1);
}

#[test]
fn saved_matrices_load_back_and_other_vocabularies_are_refused() {
    let corpus = zipf_corpus(500, 300, 3);
    let vocab = vocab_of(&corpus);
    let temp = tempfile::tempdir().unwrap();
    let x = count(&corpus, &vocab, 1 << 24, 1, temp.path());
    let path = temp.path().join("x.bin");
    x.save(&path).unwrap();
    let entries = x.entries().unwrap();

    let loaded = Cooccurrences::load(&path, &vocab, 1 << 24).unwrap();
    assert!(loaded.is_in_memory());
    assert_eq!(loaded.entries().unwrap(), entries);
    assert_eq!((loaded.window(), loaded.symmetric()), (5, true));
    let streamed = Cooccurrences::load(&path, &vocab, 100).unwrap();
    assert!(!streamed.is_in_memory());
    assert_eq!(streamed.entries().unwrap(), entries);

    let other = vocab_of(&zipf_corpus(500, 300, 4));
    let err = Cooccurrences::load(&path, &other, 1 << 24).unwrap_err();
    assert!(matches!(err, Error::Format { .. }), "{err}");
    assert!(err.to_string().contains("another vocabulary"), "{err}");

    let bytes = std::fs::read(&path).unwrap();
    let cut = temp.path().join("cut.bin");
    for len in [0, 20, bytes.len() - 5] {
        std::fs::write(&cut, &bytes[..len]).unwrap();
        let err = Cooccurrences::load(&cut, &vocab, 1 << 24).unwrap_err();
        assert!(matches!(err, Error::Format { .. }), "{err}");
        assert!(err.to_string().contains("truncated"), "{err}");
    }
    // A well-sized file whose entry points outside the vocabulary.
    let mut bad = bytes.clone();
    bad[48..52].copy_from_slice(&u32::MAX.to_le_bytes());
    std::fs::write(&cut, &bad).unwrap();
    for memory in [1 << 24, 100] {
        let err = Cooccurrences::load(&cut, &vocab, memory).unwrap_err();
        assert!(err.to_string().contains("outside the vocabulary"), "{err}");
    }
    std::fs::write(&cut, b"not a matrix at all, but long enough for a header.").unwrap();
    assert!(Cooccurrences::load(&cut, &vocab, 1 << 24)
        .unwrap_err()
        .to_string()
        .contains("magic"));
}

#[test]
fn saving_is_atomic_and_reports_unwritable_paths() {
    let corpus = zipf_corpus(100, 50, 5);
    let vocab = vocab_of(&corpus);
    let temp = tempfile::tempdir().unwrap();
    let x = count(&corpus, &vocab, 1 << 20, 1, temp.path());
    let err = x.save("/nonexistent-dir/x.bin").unwrap_err();
    assert!(matches!(err, Error::Io { .. }), "{err}");
    let path = temp.path().join("x.bin");
    x.save(&path).unwrap();
    // Only the finished file, no temporary left beside it.
    assert_eq!(files_in(temp.path()), vec![path]);
}

#[test]
fn bad_input_gets_typed_errors() {
    let corpus = zipf_corpus(100, 50, 6);
    let vocab = vocab_of(&corpus);
    let params = CooccurParams::builder()
        .temp_dir("/nonexistent-dir/tmp")
        .memory_mb(1)
        .build()
        .unwrap();
    let err = Cooccurrences::count(&corpus, &vocab, &params).unwrap_err();
    assert!(matches!(err, Error::Io { .. }), "{err}");

    // Only one-word sentences: words, but no pairs.
    let lonely = InMemoryCorpus::from_text("a\nb\na\nb");
    let lonely_vocab = Vocabulary::build(
        &lonely,
        &VocabParams::builder().min_count(1).build().unwrap(),
    )
    .unwrap();
    let params = CooccurParams::builder().memory_mb(1).build().unwrap();
    let err = Cooccurrences::count(&lonely, &lonely_vocab, &params).unwrap_err();
    assert!(matches!(err, Error::EmptyCorpus { .. }), "{err}");

    // No vocabulary word at all in the corpus.
    let empty = InMemoryCorpus::from_text("");
    let err = Cooccurrences::count(&empty, &vocab, &params).unwrap_err();
    assert!(matches!(err, Error::EmptyCorpus { .. }), "{err}");
}

/// A corpus whose second shard fails half-way.
struct FailingCorpus(InMemoryCorpus);

struct FailingShard<'a>(Box<dyn CorpusShard + 'a>, bool);

impl CorpusShard for FailingShard<'_> {
    fn for_each_sentence(&self, f: &mut SentenceFn<'_>) -> embed_core::Result<()> {
        let mut seen = 0;
        self.0.for_each_sentence(&mut |s| {
            seen += 1;
            f(s)
        })?;
        if self.1 && seen > 0 {
            return Err(Error::InvalidInput("disk on fire".into()));
        }
        Ok(())
    }
    fn fraction(&self) -> f64 {
        self.0.fraction()
    }
}

impl Corpus for FailingCorpus {
    fn description(&self) -> String {
        "failing corpus".into()
    }
    fn for_each_sentence(&self, f: &mut SentenceFn<'_>) -> embed_core::Result<()> {
        self.0.for_each_sentence(f)
    }
    fn shards(&self, count: usize) -> embed_core::Result<Vec<Box<dyn CorpusShard + '_>>> {
        Ok(self
            .0
            .shards(count)?
            .into_iter()
            .enumerate()
            .map(|(i, s)| Box::new(FailingShard(s, i == 1)) as Box<dyn CorpusShard + '_>)
            .collect())
    }
}

#[test]
fn a_failing_corpus_leaves_no_temporary_files() {
    let inner = zipf_corpus(2000, 2000, 7);
    let vocab = vocab_of(&inner);
    let corpus = FailingCorpus(inner);
    let temp = tempfile::tempdir().unwrap();
    let params = CooccurParams::builder()
        .window(5)
        .threads(2)
        .memory_bytes(CooccurParams::min_memory_bytes(5, true, 2))
        .temp_dir(temp.path())
        .build()
        .unwrap();
    let err = Cooccurrences::count(&corpus, &vocab, &params).unwrap_err();
    assert!(err.to_string().contains("disk on fire"), "{err}");
    assert!(std::fs::read_dir(temp.path()).unwrap().next().is_none());
}
