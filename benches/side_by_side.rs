//! The models side by side on the same data: one training epoch of each on
//! the first 50,000 words of the bundled sample, then the query paths over
//! each model's vectors.
//!
//! ```text
//! cargo bench --bench side_by_side
//! ```

use std::io::Read;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use embed::compare::{train_model, ModelKind, Settings};
use embed::core::observer::NoopObserver;
use embed::core::vectors::QueryOptions;
use embed::vocab::InMemoryCorpus;

const WORDS: usize = 50_000;

fn sample_corpus() -> InMemoryCorpus {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/data/sample/wiki1m.txt.gz");
    let file = std::fs::File::open(path).expect("the bundled sample exists");
    let mut text = String::new();
    flate2::read::GzDecoder::new(file)
        .read_to_string(&mut text)
        .expect("the bundled sample is valid gzip text");
    let words: Vec<String> = text
        .split_whitespace()
        .take(WORDS)
        .map(String::from)
        .collect();
    // Sentences of 1000 words, as word2vec C cuts a one-line corpus.
    InMemoryCorpus::new(words.chunks(1000).map(<[String]>::to_vec).collect())
}

fn settings() -> Settings {
    Settings {
        dim: 100,
        epochs: Some(1),
        min_count: 5,
        threads: 1,
        seed: 1,
        ..Settings::default()
    }
}

fn training(c: &mut Criterion) {
    let corpus = sample_corpus();
    let mut group = c.benchmark_group("train_one_epoch");
    group.sample_size(10);
    group.throughput(Throughput::Elements(WORDS as u64));
    for kind in ModelKind::ALL_STATIC {
        group.bench_with_input(BenchmarkId::from_parameter(kind), &kind, |b, &kind| {
            b.iter(|| train_model(kind, &corpus, &settings(), &mut NoopObserver).unwrap());
        });
    }
    group.finish();
}

fn queries(c: &mut Criterion) {
    let corpus = sample_corpus();
    let mut group = c.benchmark_group("most_similar_top10");
    for kind in ModelKind::ALL_STATIC {
        let trained = train_model(kind, &corpus, &settings(), &mut NoopObserver).unwrap();
        let vectors = trained.vectors;
        let options = QueryOptions::default();
        group.bench_function(BenchmarkId::from_parameter(kind), |b| {
            b.iter(|| vectors.most_similar(&["city"], &[], 10, &options).unwrap());
        });
    }
    group.finish();
}

criterion_group!(benches, training, queries);
criterion_main!(benches);
