//! Forward throughput of ELMo, and random models of a given size to run it on.
//!
//! ```text
//! elmo_bench random-model DIR (tiny|small)     # writes DIR/options.json + DIR/weights.hdf5
//! elmo_bench throughput OPTIONS WEIGHTS SENTENCES BATCH ROUNDS
//! ```
//!
//! `SENTENCES` holds one whitespace-tokenized sentence per line. Throughput
//! runs [`ElmoModel::forward`] (character ids included) over the sentences in
//! batches of `BATCH`, `ROUNDS` times, and prints tokens per second of the
//! median round. Threads follow `RAYON_NUM_THREADS`.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Instant;

use embed_core::Result;
use embed_elmo::weights::write_hdf5;
use embed_elmo::ElmoModel;
use ndarray::{ArrayD, IxDyn};
use rand::{Rng, SeedableRng};

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        ["random-model", dir, size] => random_model(Path::new(dir), size),
        ["throughput", options, weights, sentences, batch, rounds] => throughput(
            options,
            weights,
            sentences,
            batch.parse().expect("BATCH is a number"),
            rounds.parse().expect("ROUNDS is a number"),
        ),
        _ => {
            eprintln!("usage: elmo_bench random-model DIR (tiny|small)");
            eprintln!("       elmo_bench throughput OPTIONS WEIGHTS SENTENCES BATCH ROUNDS");
            std::process::exit(2)
        }
    }
}

/// Writes a model with uniform random weights in bilm-tf's layout.
fn random_model(dir: &Path, size: &str) -> Result<()> {
    // (char dim, filters, highway layers, LSTM cell, projection)
    let (char_dim, filters, n_highway, cell, proj): (
        usize,
        Vec<(usize, usize)>,
        usize,
        usize,
        usize,
    ) = match size {
        "tiny" => (16, vec![(1, 8), (2, 8), (3, 16)], 1, 32, 16),
        // AllenNLP's "small" ELMo (2x1024_128_2048cnn_1xhighway).
        "small" => (
            16,
            vec![
                (1, 32),
                (2, 32),
                (3, 64),
                (4, 128),
                (5, 256),
                (6, 512),
                (7, 1024),
            ],
            1,
            1024,
            128,
        ),
        other => panic!("unknown size {other}: tiny or small"),
    };
    let n_filters: usize = filters.iter().map(|f| f.1).sum();
    let mut rng = rand_xoshiro::Xoshiro256PlusPlus::seed_from_u64(7);
    let mut tensors = BTreeMap::new();
    let mut add = |name: String, shape: &[usize], scale: f32| {
        let len = shape.iter().product();
        let data = (0..len).map(|_| rng.gen_range(-scale..scale)).collect();
        tensors.insert(
            name,
            ArrayD::from_shape_vec(IxDyn(shape), data).expect("sized"),
        );
    };
    add("char_embed".into(), &[261, char_dim], 1.0);
    for (i, &(w, n)) in filters.iter().enumerate() {
        add(format!("CNN/W_cnn_{i}"), &[1, w, char_dim, n], 0.3);
        add(format!("CNN/b_cnn_{i}"), &[n], 0.1);
    }
    let scale = 1.0 / (n_filters as f32).sqrt();
    for k in 0..n_highway {
        for part in ["transform", "carry"] {
            add(
                format!("CNN_high_{k}/W_{part}"),
                &[n_filters, n_filters],
                scale,
            );
            add(format!("CNN_high_{k}/b_{part}"), &[n_filters], 0.1);
        }
    }
    add("CNN_proj/W_proj".into(), &[n_filters, proj], scale);
    add("CNN_proj/b_proj".into(), &[proj], 0.1);
    for d in 0..2 {
        for l in 0..2 {
            let prefix = format!("RNN_{d}/RNN/MultiRNNCell/Cell{l}/LSTMCell");
            add(
                format!("{prefix}/W_0"),
                &[2 * proj, 4 * cell],
                1.0 / (2.0 * proj as f32).sqrt(),
            );
            add(format!("{prefix}/B"), &[4 * cell], 0.1);
            add(
                format!("{prefix}/W_P_0"),
                &[cell, proj],
                1.0 / (cell as f32).sqrt(),
            );
        }
    }
    std::fs::create_dir_all(dir).map_err(|e| embed_core::Error::io(dir, e))?;
    let filters_json: Vec<[usize; 2]> = filters.iter().map(|&(w, n)| [w, n]).collect();
    let options = serde_json::json!({
        "lstm": {"use_skip_connections": true, "projection_dim": proj, "cell_clip": 3,
                 "proj_clip": 3, "dim": cell, "n_layers": 2},
        "char_cnn": {"activation": "relu", "filters": filters_json, "n_highway": n_highway,
                     "embedding": {"dim": char_dim}, "n_characters": 262,
                     "max_characters_per_token": 50},
    });
    let options_path = dir.join("options.json");
    std::fs::write(&options_path, options.to_string())
        .map_err(|e| embed_core::Error::io(&options_path, e))?;
    write_hdf5(dir.join("weights.hdf5"), &tensors)
}

fn throughput(
    options: &str,
    weights: &str,
    sentences: &str,
    batch: usize,
    rounds: usize,
) -> Result<()> {
    let model = ElmoModel::load(options, weights)?;
    let text =
        std::fs::read_to_string(sentences).map_err(|e| embed_core::Error::io(sentences, e))?;
    let sentences: Vec<Vec<&str>> = text
        .lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>())
        .filter(|s| !s.is_empty())
        .collect();
    let tokens: usize = sentences.iter().map(Vec::len).sum();
    // One warm-up round.
    for chunk in sentences.chunks(batch) {
        model.forward(chunk)?;
    }
    let mut seconds = Vec::with_capacity(rounds);
    for _ in 0..rounds {
        let start = Instant::now();
        for chunk in sentences.chunks(batch) {
            std::hint::black_box(model.forward(chunk)?);
        }
        seconds.push(start.elapsed().as_secs_f64());
    }
    seconds.sort_by(f64::total_cmp);
    let median = seconds[seconds.len() / 2];
    println!(
        "rust embed-elmo: {} sentences, {tokens} tokens, batch {batch}: median {:.3} s, {:.0} tokens/s",
        sentences.len(),
        median,
        tokens as f64 / median
    );
    Ok(())
}
