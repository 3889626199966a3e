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
use embed::vocab::TextCorpus;

const WORDS: usize = 50_000;

/// The first `WORDS` words of the sample, in lines of 1000 words (as
/// word2vec C cuts a one-line corpus), in a temporary file: fastText reads
/// its corpus from a file.
fn sample_corpus() -> (tempfile::TempDir, TextCorpus) {
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
    let lines: Vec<String> = words.chunks(1000).map(|c| c.join(" ")).collect();
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join("sample.txt");
    std::fs::write(&path, lines.join("\n") + "\n").expect("the sample is written");
    let corpus = TextCorpus::open(&path).expect("the sample opens");
    (dir, corpus)
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
    let (_dir, corpus) = sample_corpus();
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
    let (_dir, corpus) = sample_corpus();
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
