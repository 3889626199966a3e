//! Evaluates a word-vector file on an analogy set and word-pair sets, and
//! prints the reports as JSON lines with their timings.
//!
//! ```text
//! cargo run --release -p embed-eval --example evaluate -- \
//!     VECTORS [--analogies questions-words.txt] [--pairs wordsim353.tsv]... \
//!     [--restrict-vocab 30000] [--cosmul]
//! ```

use std::path::PathBuf;
use std::time::Instant;

use embed_core::formats::{read_vectors, ReadOptions};
use embed_eval::{
    evaluate_analogies, evaluate_word_pairs, AnalogyMethod, AnalogyOptions, AnalogySet,
    SimilarityOptions, WordPairs,
};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let mut vectors = None;
    let mut analogies = None;
    let mut pairs = Vec::new();
    let mut options = AnalogyOptions::default();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--analogies" => analogies = args.next().map(PathBuf::from),
            "--pairs" => pairs.extend(args.next().map(PathBuf::from)),
            "--restrict-vocab" => {
                options.restrict_vocab = args
                    .next()
                    .ok_or("--restrict-vocab needs a value")?
                    .parse()?
            }
            "--cosmul" => options.method = AnalogyMethod::CosMul,
            _ if vectors.is_none() => vectors = Some(PathBuf::from(arg)),
            other => return Err(format!("unexpected argument `{other}`").into()),
        }
    }
    let vectors = vectors.ok_or("usage: evaluate VECTORS [--analogies FILE] [--pairs FILE]...")?;

    let start = Instant::now();
    let model = read_vectors(&vectors, None, &ReadOptions::default())?;
    eprintln!(
        "read {} vectors in {:.3} s",
        model.len(),
        start.elapsed().as_secs_f64()
    );

    if let Some(path) = analogies {
        let set = AnalogySet::read(&path)?;
        let start = Instant::now();
        let report = evaluate_analogies(&model, &set, &options)?;
        let seconds = start.elapsed().as_secs_f64();
        eprintln!("{report}");
        println!(
            "{}",
            serde_json::json!({ "analogy": report, "seconds": seconds })
        );
    }
    for path in pairs {
        let set = WordPairs::read(&path)?;
        let start = Instant::now();
        let report = evaluate_word_pairs(&model, &set, &SimilarityOptions::default())?;
        let seconds = start.elapsed().as_secs_f64();
        eprintln!("{report}");
        println!(
            "{}",
            serde_json::json!({ "similarity": report, "seconds": seconds })
        );
    }
    Ok(())
}
