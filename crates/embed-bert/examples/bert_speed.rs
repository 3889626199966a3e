//! Times the encoder and the tokenizer on prepared inputs, for
//! `benches/scripts/bert_bench.py`, which runs PyTorch on the same inputs.
//!
//! ```text
//! cargo run --release -p embed-bert --example bert_speed -- MODEL_DIR INPUTS.json THREADS REPS
//! ```
//!
//! `INPUTS.json` holds `{"batches": {name: [[ids]]}, "texts": [..]}`; every
//! sequence of a batch has the same length. Prints one JSON object with the
//! median milliseconds of forward + mean pooling + normalisation per batch
//! and of tokenizing all texts.

use std::time::Instant;

use embed_bert::pooling::{normalize_rows, pool, Pooling};
use embed_bert::{BertModel, PaddedBatch, Tokenizer};
use ndarray::Array2;

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    xs[xs.len() / 2]
}

/// Warm-up before timing: at least two calls and this long (the same rule
/// as `bert_bench.py`'s for PyTorch), so that short workloads are timed
/// from warm caches on both sides.
const WARMUP: std::time::Duration = std::time::Duration::from_millis(200);

fn time<F: FnMut()>(reps: usize, mut f: F) -> f64 {
    let warmup = Instant::now();
    let mut calls = 0;
    while calls < 2 || warmup.elapsed() < WARMUP {
        f();
        calls += 1;
    }
    median(
        (0..reps)
            .map(|_| {
                let start = Instant::now();
                f();
                start.elapsed().as_secs_f64() * 1e3
            })
            .collect(),
    )
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    if args.len() != 5 {
        return Err("usage: bert_speed MODEL_DIR INPUTS.json THREADS REPS".into());
    }
    let model = BertModel::load(&args[1])?;
    let tokenizer = Tokenizer::from_dir(&args[1])?;
    let inputs: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&args[2])?)?;
    let threads: usize = args[3].parse()?;
    let reps: usize = args[4].parse()?;
    let pool_threads = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()?;

    let mut results = serde_json::Map::new();
    let batches = inputs["batches"].as_object().ok_or("no batches")?;
    for (name, rows) in batches {
        let rows: Vec<Vec<u32>> = serde_json::from_value(rows.clone())?;
        let (b, t) = (rows.len(), rows[0].len());
        let input_ids = Array2::from_shape_vec((b, t), rows.concat())?;
        let batch = PaddedBatch {
            input_ids,
            token_type_ids: Array2::zeros((b, t)),
            attention_mask: Array2::ones((b, t)),
        };
        let ms = pool_threads.install(|| {
            time(reps, || {
                let out = model.forward(&batch, false).expect("valid batch");
                let mut pooled = pool(
                    out.last_hidden_state.view(),
                    batch.attention_mask.view(),
                    Pooling::Mean,
                );
                normalize_rows(&mut pooled);
                std::hint::black_box(pooled);
            })
        });
        results.insert(name.clone(), ms.into());
    }
    let texts: Vec<String> = serde_json::from_value(inputs["texts"].clone())?;
    let mut n_tokens = 0;
    let ms = pool_threads.install(|| {
        time(reps, || {
            let encodings = tokenizer.encode_batch(&texts, None).expect("no max_length");
            n_tokens = encodings.iter().map(|e| e.len()).sum::<usize>();
        })
    });
    results.insert("tokenize".into(), ms.into());
    results.insert("tokenize_tokens".into(), n_tokens.into());
    println!("{}", serde_json::Value::Object(results));
    Ok(())
}
