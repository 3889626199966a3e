//! The whole GloVe pipeline on a text file, timing each stage: vocabulary,
//! co-occurrence counting, training, writing. Used by
//! `benches/scripts/glove_bench.sh`.
//!
//! ```text
//! cargo run --release -p embed-glove --example glove_pipeline -- \
//!     CORPUS OUTPUT [EPOCHS] [THREADS] [MEMORY_MB] [SEED] [SAVE_DIR]
//! ```
//! With `SAVE_DIR`, the vocabulary (`vocab.txt`) and the co-occurrence
//! matrix (`cooccur.bin`) are saved there too (not timed).
//! Settings otherwise follow the benchmark: dim 100, window 10, symmetric,
//! x_max 10, min-count 5, output `W + W̃` in GloVe text format.

use std::time::Instant;

use embed_core::formats::VectorFormat;
use embed_core::observer::EpochLog;
use embed_glove::{CooccurParams, Cooccurrences, Glove, GloveParams};
use embed_vocab::{TextCorpus, VocabParams, Vocabulary};

/// User + system CPU seconds of this process so far (Linux `/proc`).
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the command name (which may hold spaces) start at `)`.
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map_or("", |(_, rest)| rest)
        .split_whitespace()
        .collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    // utime and stime are fields 14 and 15 of the whole line: 11 and 12 here.
    (ticks(11) + ticks(12)) / 100.0
}

/// Prints a stage's wall and CPU seconds.
fn stage(name: &str, wall: Instant, cpu: f64, detail: String) {
    eprintln!(
        "{name} wall_s={:.2} cpu_s={:.2} {detail}",
        wall.elapsed().as_secs_f64(),
        cpu_seconds() - cpu
    );
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.len() < 2 {
        return Err(
            "usage: glove_pipeline CORPUS OUTPUT [EPOCHS] [THREADS] [MEMORY_MB] [SEED] [SAVE_DIR]"
                .into(),
        );
    }
    let arg = |i: usize, default: usize| args.get(i).map_or(Ok(default), |s| s.parse());
    let (epochs, threads, memory_mb) = (arg(2, 15)?, arg(3, 2)?, arg(4, 4096)?);
    let seed = arg(5, 1)? as u64;

    // Long lines are cut into sentences of 10,000 words: GloVe reads one
    // stream, and a cut every 10,000 words loses 0.05% of the pairs.
    let corpus = TextCorpus::open(&args[0])?.with_max_sentence_len(10_000);

    let (t, c) = (Instant::now(), cpu_seconds());
    let vocab = Vocabulary::build(
        &corpus,
        &VocabParams::builder()
            .min_count(5)
            .threads(threads)
            .build()?,
    )?;
    stage("vocab", t, c, format!("words={}", vocab.len()));

    let (t, c) = (Instant::now(), cpu_seconds());
    let count_params = CooccurParams::builder()
        .window(10)
        .threads(threads)
        .memory_mb(memory_mb)
        .build()?;
    let counts = Cooccurrences::count(&corpus, &vocab, &count_params)?;
    stage(
        "cooccur",
        t,
        c,
        format!(
            "entries={} in_memory={}",
            counts.len(),
            counts.is_in_memory()
        ),
    );

    if let Some(dir) = args.get(6) {
        vocab.save_counts(std::path::Path::new(dir).join("vocab.txt"))?;
        counts.save(std::path::Path::new(dir).join("cooccur.bin"))?;
    }

    let (t, c) = (Instant::now(), cpu_seconds());
    let params = GloveParams::builder()
        .dim(100)
        .x_max(10.0)
        .epochs(epochs)
        .threads(threads)
        .seed(seed)
        .memory_mb(memory_mb)
        .build()?;
    let mut log = EpochLog::default();
    let model = Glove::fit(&params, &counts, &vocab, &mut log)?;
    stage("train", t, c, format!("losses={:?}", log.losses()));
    drop(counts);

    let (t, c) = (Instant::now(), cpu_seconds());
    model.save(&args[1], VectorFormat::Glove)?;
    stage("write", t, c, String::new());
    Ok(())
}
