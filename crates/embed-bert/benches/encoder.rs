//! Criterion benches of one attention block and one full encoder layer at
//! all-MiniLM-L6-v2's sizes (hidden 384, 12 heads, intermediate 1536), on
//! deterministic synthetic weights.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use embed_bert::{BertConfig, BertModel};
use embed_core::params::ParameterStore;
use ndarray::{Array2, ArrayD, IxDyn};

/// Small pseudo-random values, reproducible without a generator crate.
fn filled(shape: &[usize], seed: u64) -> ArrayD<f32> {
    let mut state = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
    ArrayD::from_shape_simple_fn(IxDyn(shape), || {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        ((state >> 40) as f32 / (1u64 << 24) as f32 - 0.5) * 0.1
    })
}

fn minilm_sized_model() -> BertModel {
    let config = BertConfig {
        vocab_size: 1000,
        hidden_size: 384,
        num_hidden_layers: 1,
        num_attention_heads: 12,
        intermediate_size: 1536,
        max_position_embeddings: 512,
        ..BertConfig::tiny()
    };
    let (h, i) = (384, 1536);
    let mut shapes: Vec<(String, Vec<usize>)> = vec![
        ("embeddings.word_embeddings.weight".into(), vec![1000, h]),
        ("embeddings.position_embeddings.weight".into(), vec![512, h]),
        ("embeddings.token_type_embeddings.weight".into(), vec![2, h]),
    ];
    let p = "encoder.layer.0";
    for name in [
        "attention.self.query",
        "attention.self.key",
        "attention.self.value",
        "attention.output.dense",
    ] {
        shapes.push((format!("{p}.{name}.weight"), vec![h, h]));
        shapes.push((format!("{p}.{name}.bias"), vec![h]));
    }
    shapes.push((format!("{p}.intermediate.dense.weight"), vec![i, h]));
    shapes.push((format!("{p}.intermediate.dense.bias"), vec![i]));
    shapes.push((format!("{p}.output.dense.weight"), vec![h, i]));
    shapes.push((format!("{p}.output.dense.bias"), vec![h]));
    for norm in [
        "embeddings.LayerNorm".to_string(),
        format!("{p}.attention.output.LayerNorm"),
        format!("{p}.output.LayerNorm"),
    ] {
        shapes.push((format!("{norm}.weight"), vec![h]));
        shapes.push((format!("{norm}.bias"), vec![h]));
    }
    let mut store = ParameterStore::new(0);
    for (seed, (name, shape)) in shapes.into_iter().enumerate() {
        store.insert(name, filled(&shape, seed as u64));
    }
    BertModel::from_store(config, &store).expect("complete synthetic checkpoint")
}

fn bench_encoder(c: &mut Criterion) {
    let model = minilm_sized_model();
    let layer = &model.layers[0];
    let mut attention = c.benchmark_group("attention");
    for (b, t) in [(1, 12), (32, 40), (8, 128)] {
        let tokens = b * t;
        let qkv = filled(&[tokens, 3 * 384], 7).into_dimensionality().unwrap();
        let mask = Array2::from_elem((b, t), true);
        let mut context = Array2::<f32>::zeros((tokens, 384));
        attention.throughput(Throughput::Elements(tokens as u64));
        attention.bench_with_input(
            BenchmarkId::from_parameter(format!("{b}x{t}")),
            &(),
            |bench, _| {
                bench.iter(|| {
                    layer
                        .attention
                        .attend(qkv.view(), mask.view(), context.view_mut())
                })
            },
        );
    }
    attention.finish();

    let mut full = c.benchmark_group("encoder_layer");
    for (b, t) in [(1, 12), (32, 40), (8, 128)] {
        let tokens = b * t;
        let input: Array2<f32> = filled(&[tokens, 384], 11).into_dimensionality().unwrap();
        let mask = Array2::from_elem((b, t), true);
        full.throughput(Throughput::Elements(tokens as u64));
        full.bench_with_input(
            BenchmarkId::from_parameter(format!("{b}x{t}")),
            &(),
            |bench, _| {
                bench.iter(|| {
                    let mut hidden = input.clone();
                    layer.forward(&mut hidden, mask.view());
                    hidden
                })
            },
        );
    }
    full.finish();
}

criterion_group!(benches, bench_encoder);
criterion_main!(benches);
