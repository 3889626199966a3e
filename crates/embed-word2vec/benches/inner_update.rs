//! The inner updates of word2vec on a realistic vocabulary: one sentence of
//! `SENTENCE_WORDS` (100) words by skip-gram and by CBOW with negative
//! sampling (window 5, negative 5, dim 100), on shared matrices as training
//! uses them.
//!
//! `cargo bench -p embed-word2vec --bench inner_update`

use criterion::{criterion_group, criterion_main, Criterion};
use embed_word2vec::bench_support::InnerUpdate;
use embed_word2vec::{Architecture, SigmoidMode};

fn inner_update(c: &mut Criterion) {
    let mut group = c.benchmark_group("word2vec_sentence");
    for (name, architecture, sigmoid) in [
        (
            "skip_gram_ns_table",
            Architecture::SkipGram,
            SigmoidMode::Table,
        ),
        (
            "skip_gram_ns_exact",
            Architecture::SkipGram,
            SigmoidMode::Exact,
        ),
        ("cbow_ns_table", Architecture::Cbow, SigmoidMode::Table),
        ("cbow_ns_exact", Architecture::Cbow, SigmoidMode::Exact),
    ] {
        let mut update = InnerUpdate::new(architecture, sigmoid, 100, 5, 5, 30_000);
        group.bench_function(name, |b| b.iter(|| update.step()));
    }
    group.finish();
}

criterion_group!(benches, inner_update);
criterion_main!(benches);
