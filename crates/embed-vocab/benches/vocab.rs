//! Vocabulary counting throughput and noise-sampling speed.
//!
//! `cargo bench -p embed-vocab --bench vocab`. The counting bench reads
//! `wiki1m.txt` from the shared data directory (`EMBED_SHARED_DIR`, or
//! `../shared` beside the repository) and is skipped when it is absent.

use std::path::PathBuf;

use criterion::{black_box, criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use embed_core::seed::Lcg;
use embed_vocab::{NoiseSampler, TextCorpus, VocabParams, Vocabulary};

fn shared_dir() -> PathBuf {
    std::env::var_os("EMBED_SHARED_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared")))
}

fn counting(c: &mut Criterion) {
    let path = shared_dir().join("data/corpus/wiki1m.txt");
    let Ok(corpus) = TextCorpus::open(&path) else {
        eprintln!("skipping the counting bench: {} is absent", path.display());
        return;
    };
    let mut group = c.benchmark_group("count_vocabulary");
    group.sample_size(10);
    group.throughput(Throughput::Bytes(corpus.len_bytes()));
    for threads in [1, 2] {
        let params = VocabParams::builder().threads(threads).build().unwrap();
        group.bench_with_input(BenchmarkId::new("wiki1m", threads), &params, |b, p| {
            b.iter(|| Vocabulary::build(&corpus, p).unwrap().len())
        });
    }
    group.finish();
}

/// A word2vec-style unigram table, for comparison with the alias method.
struct UnigramTable(Vec<u32>);

impl UnigramTable {
    fn new(counts: &[u64], size: usize) -> Self {
        let weights: Vec<f64> = counts.iter().map(|&c| (c as f64).powf(0.75)).collect();
        let z: f64 = weights.iter().sum();
        let mut table = Vec::with_capacity(size);
        let mut id = 0;
        let mut cumulative = weights[0] / z;
        for i in 0..size {
            table.push(id as u32);
            if (i + 1) as f64 / size as f64 > cumulative && id + 1 < counts.len() {
                id += 1;
                cumulative += weights[id] / z;
            }
        }
        UnigramTable(table)
    }

    fn sample(&self, random: u64) -> u32 {
        self.0[((random >> 16) % self.0.len() as u64) as usize]
    }
}

fn zipf_counts(words: usize) -> Vec<u64> {
    (1..=words as u64).map(|r| 10_000_000 / r + 1).collect()
}

fn sampling(c: &mut Criterion) {
    let mut group = c.benchmark_group("noise_sample");
    const DRAWS: u64 = 1 << 16;
    group.throughput(Throughput::Elements(DRAWS));
    for words in [10_000usize, 100_000, 1_000_000] {
        let counts = zipf_counts(words);
        let alias = NoiseSampler::new(&counts, 0.75).unwrap();
        group.bench_with_input(BenchmarkId::new("alias", words), &alias, |b, s| {
            let mut rng = Lcg::new(1);
            b.iter(|| {
                let mut acc = 0u32;
                for _ in 0..DRAWS {
                    acc = acc.wrapping_add(s.sample(rng.next_u64()));
                }
                black_box(acc)
            })
        });
        let table = UnigramTable::new(&counts, 10_000_000);
        group.bench_with_input(BenchmarkId::new("table_1e7", words), &table, |b, t| {
            let mut rng = Lcg::new(1);
            b.iter(|| {
                let mut acc = 0u32;
                for _ in 0..DRAWS {
                    acc = acc.wrapping_add(t.sample(rng.next_u64()));
                }
                black_box(acc)
            })
        });
    }
    group.finish();
}

criterion_group!(benches, counting, sampling);
criterion_main!(benches);
