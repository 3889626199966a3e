//! Training throughput of the biLM's forward and backward pass (no data
//! loading, no optimizer step): positions per second of one stream, each
//! trained in both directions.
//!
//! ```text
//! cargo run --release -p embed-elmo --example bilm_train_speed -- \
//!     [threads] [batch] [unroll] [vocab] [samples (0 = full softmax)] [windows]
//! ```
//!
//! The model is the small configuration (filters of widths 1–5, 256 in all,
//! one highway layer, LSTMs of 256 cells projected to 128, two layers).

use std::time::Instant;

use embed_core::params::GradientStore;
use embed_elmo::chars::{token_char_ids, MAX_CHARS};
use embed_elmo::train::{BiLm, BiLmBatch, BiLmConfig, BiLmState, SoftmaxMode};
use rand::{Rng as _, SeedableRng as _};

/// Seconds this process's threads have spent on a CPU (Linux
/// `/proc/self/task/*/schedstat`), to tell slowness from contention.
fn cpu_seconds() -> Option<f64> {
    let mut total = 0u64;
    for task in std::fs::read_dir("/proc/self/task").ok()? {
        let stat = std::fs::read_to_string(task.ok()?.path().join("schedstat")).ok()?;
        total += stat.split_whitespace().next()?.parse::<u64>().ok()?;
    }
    Some(total as f64 * 1e-9)
}

fn arg(args: &[String], i: usize, default: usize) -> usize {
    args.get(i).and_then(|a| a.parse().ok()).unwrap_or(default)
}

fn main() -> embed_core::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let threads = arg(&args, 1, 1);
    let batch = arg(&args, 2, 32);
    let unroll = arg(&args, 3, 20);
    let vocab = arg(&args, 4, 20_000);
    let samples = arg(&args, 5, 1024);
    let windows = arg(&args, 6, 5);
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .map_err(|e| embed_core::Error::InvalidInput(e.to_string()))?;
    let config = BiLmConfig::small(vocab);
    let model = BiLm::init(config.clone(), 1)?;
    let softmax = if samples == 0 {
        SoftmaxMode::Full
    } else {
        SoftmaxMode::Sampled { samples }
    };
    // Words of 2 to 10 letters with Zipf-like ids.
    let mut rng = rand_xoshiro::Xoshiro256PlusPlus::seed_from_u64(7);
    let words: Vec<String> = (0..vocab)
        .map(|_| {
            let len = rng.gen_range(2..=10);
            (0..len)
                .map(|_| rng.gen_range(b'a'..=b'z') as char)
                .collect()
        })
        .collect();
    let mut make_batch = || {
        let mut b = BiLmBatch::zeros(batch, unroll);
        for p in 0..batch * unroll {
            for (ids, targets) in [
                (&mut b.char_ids, &mut b.forward_targets),
                (&mut b.backward_char_ids, &mut b.backward_targets),
            ] {
                let u: f64 = rng.gen();
                let w = ((vocab as f64 + 1.0).powf(u) as usize)
                    .saturating_sub(1)
                    .min(vocab - 1);
                ids[p * MAX_CHARS..(p + 1) * MAX_CHARS].copy_from_slice(&token_char_ids(&words[w]));
                targets[p] = rng.gen_range(0..vocab as u32);
            }
        }
        b.mask.fill(1);
        b.backward_mask.fill(1);
        b
    };
    let batches: Vec<BiLmBatch> = (0..windows + 1).map(|_| make_batch()).collect();
    let mut grads = GradientStore::zeros_like(model.params());
    let mut state = BiLmState::zeros(&config, batch);
    pool.install(|| -> embed_core::Result<()> {
        // One window to warm up.
        model.forward_backward(&batches[0], &mut state, softmax, 0, &mut grads)?;
        let start = Instant::now();
        let cpu_start = cpu_seconds();
        for (k, b) in batches[1..].iter().enumerate() {
            grads.zero();
            model.forward_backward(b, &mut state, softmax, k as u64 + 1, &mut grads)?;
        }
        let seconds = start.elapsed().as_secs_f64();
        let cpu = cpu_start.zip(cpu_seconds()).map(|(a, b)| b - a);
        let positions = (windows * batch * unroll) as f64;
        println!(
            "threads {threads} batch {batch} unroll {unroll} vocab {vocab} softmax {softmax:?}: {:.0} tokens/s ({:.3} s per window), {} tokens per CPU-second",
            positions / seconds,
            seconds / windows as f64,
            cpu.map_or("?".to_string(), |c| format!("{:.0}", positions / c)),
        );
        Ok(())
    })
}
