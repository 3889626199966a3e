//! Times masked-LM training steps (forward, backward, AdamW) on random
//! batches, for `benches/scripts/bert_train_speed.py`, which runs PyTorch
//! `BertForMaskedLM` on the same shapes.
//!
//! ```text
//! cargo run --release -p embed-bert --example bert_train_speed -- THREADS BATCH SEQ_LEN STEPS
//! ```
//!
//! The model is hidden 128, 2 layers, 2 heads, intermediate 512, vocabulary
//! 30522, dropout 0.1; 15% of positions are predicted. Prints one JSON
//! object with the median seconds per step, training tokens per second, and
//! the CPU seconds the process used per timed step (all threads, from
//! `/proc/self/task/*/schedstat`; a figure that a loaded machine disturbs
//! less than wall time).

use std::time::Instant;

use embed_bert::train::{MlmBatch, MlmModel};
use embed_bert::BertConfig;
use embed_core::optim::{decays_unless_bias_or_layer_norm, step_store, Adam, AdamConfig};
use embed_core::params::GradientStore;
use rand::Rng as _;

fn random_batch(batch: usize, seq_len: usize, vocab: usize, seed: u64) -> MlmBatch {
    let mut rng = embed_core::seed::rng(seed, 0);
    let n = batch * seq_len;
    let input_ids: Vec<u32> = (0..n).map(|_| rng.gen_range(1000..vocab as u32)).collect();
    let labels = input_ids
        .iter()
        .map(|&id| {
            if rng.gen::<f64>() < 0.15 {
                id as i32
            } else {
                -100
            }
        })
        .collect();
    MlmBatch {
        batch,
        seq_len,
        input_ids,
        token_type_ids: vec![0; n],
        attention_mask: vec![1; n],
        labels,
        next_sentence_labels: Vec::new(),
    }
}

/// CPU time of every thread of this process so far, in seconds (Linux).
fn process_cpu_seconds() -> f64 {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return f64::NAN;
    };
    tasks
        .filter_map(|t| std::fs::read_to_string(t.ok()?.path().join("schedstat")).ok())
        .filter_map(|s| s.split_whitespace().next()?.parse::<f64>().ok())
        .sum::<f64>()
        / 1e9
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .map(|a| a.parse())
        .collect::<Result<_, _>>()?;
    let [threads, batch, seq_len, steps] = args[..] else {
        return Err("usage: bert_train_speed THREADS BATCH SEQ_LEN STEPS".into());
    };
    let config = BertConfig {
        vocab_size: 30522,
        hidden_size: 128,
        num_hidden_layers: 2,
        num_attention_heads: 2,
        intermediate_size: 512,
        max_position_embeddings: 512,
        ..BertConfig::tiny()
    };
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()?;
    let mut model = MlmModel::init(&config, 1)?;
    let mut adamw = Adam::new(AdamConfig::adamw(1e-4, 0.01))?
        .with_decay_filter(decays_unless_bias_or_layer_norm);
    let batches: Vec<MlmBatch> = (0..4)
        .map(|i| random_batch(batch, seq_len, config.vocab_size, i))
        .collect();
    let mut grads = GradientStore::zeros_like(model.params());
    let mut times = Vec::new();
    let mut last_loss = f64::NAN;
    let mut cpu_start = 0.0;
    pool.install(|| -> embed_core::Result<()> {
        // Two warm-up steps, then `steps` timed ones.
        for step in 0..steps + 2 {
            if step == 2 {
                cpu_start = process_cpu_seconds();
            }
            let start = Instant::now();
            grads.zero();
            let stats =
                model.forward_backward(&batches[step % 4], Some(step as u64), &mut grads)?;
            step_store(&mut adamw, model.params_mut(), &grads)?;
            if step >= 2 {
                times.push(start.elapsed().as_secs_f64());
            }
            last_loss = stats.mean_loss();
        }
        Ok(())
    })?;
    let cpu_per_step = (process_cpu_seconds() - cpu_start) / steps as f64;
    times.sort_by(f64::total_cmp);
    let median = times[times.len() / 2];
    let tokens = (batch * seq_len) as f64;
    println!(
        "{{\"threads\": {threads}, \"batch\": {batch}, \"seq_len\": {seq_len}, \"steps\": {steps}, \
         \"median_step_s\": {median:.5}, \"tokens_per_s\": {:.1}, \"cpu_s_per_step\": {cpu_per_step:.5}, \
         \"tokens_per_cpu_s\": {:.1}, \"last_loss\": {last_loss:.4}}}",
        tokens / median,
        tokens / cpu_per_step
    );
    Ok(())
}
