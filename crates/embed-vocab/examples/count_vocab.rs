//! Counts a corpus's vocabulary and writes it as word2vec's `word count`
//! file, like `word2vec -train CORPUS -save-vocab OUT -min-count N`.
//!
//! ```text
//! cargo run --release -p embed-vocab --example count_vocab -- CORPUS OUT [MIN_COUNT] [THREADS]
//! ```

use std::time::Instant;

use embed_vocab::{TextCorpus, VocabParams, Vocabulary};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [corpus, out, rest @ ..] = args.as_slice() else {
        return Err("usage: count_vocab CORPUS OUT [MIN_COUNT] [THREADS]".into());
    };
    let min_count = rest.first().map(|s| s.parse()).transpose()?.unwrap_or(5);
    let threads = rest.get(1).map(|s| s.parse()).transpose()?.unwrap_or(1);
    let params = VocabParams::builder()
        .min_count(min_count)
        .threads(threads)
        .build()?;
    let start = Instant::now();
    let vocab = Vocabulary::build(&TextCorpus::open(corpus)?, &params)?;
    let elapsed = start.elapsed();
    vocab.save_counts(out)?;
    eprintln!(
        "{} tokens, {} words kept, {:.3} s",
        vocab.corpus_words(),
        vocab.len(),
        elapsed.as_secs_f64()
    );
    Ok(())
}
