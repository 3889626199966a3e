//! fastText vectors for words the model never saw, built from their
//! character n-grams.
//!
//! ```text
//! cargo run --release --example fasttext_oov_lookup -- model.bin word...
//! ```
//!
//! Without arguments the example trains a small skip-gram model on the
//! first 200,000 words of the bundled sample.

use std::io::Read;

use embed::core::observer::NoopObserver;
use embed::core::{Lookup, StaticEmbedder};
use embed::fasttext::{FastText, FastTextParams};

fn sample_model() -> Result<FastText, embed::core::Error> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/data/sample/wiki1m.txt.gz");
    let file = std::fs::File::open(path).map_err(|e| embed::core::Error::io(path, e))?;
    let mut text = String::new();
    flate2::read::GzDecoder::new(file)
        .read_to_string(&mut text)
        .map_err(|e| embed::core::Error::io(path, e))?;
    let words: Vec<&str> = text.split_whitespace().take(200_000).collect();
    let lines: Vec<String> = words.chunks(1000).map(|c| c.join(" ")).collect();
    let corpus = std::env::temp_dir().join("embed-fasttext-example.txt");
    std::fs::write(&corpus, lines.join("\n")).map_err(|e| embed::core::Error::io(&corpus, e))?;
    let params = FastTextParams::builder()
        .dim(50)
        .epoch(3)
        .bucket(200_000)
        .seed(1)
        .build()?;
    FastText::fit_unsupervised(&params, &corpus, &mut NoopObserver)
}

fn main() -> Result<(), embed::core::Error> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (model, words) = match args.split_first() {
        Some((path, words)) => (FastText::load(path)?, words.to_vec()),
        None => (
            sample_model()?,
            [
                "anarchism",
                "anarchistically",
                "philosophers",
                "philosophizing",
            ]
            .map(String::from)
            .to_vec(),
        ),
    };
    let vectors = model.to_word_vectors()?;
    for word in &words {
        let (kind, vector) = match model.lookup(word) {
            Lookup::InVocabulary(v) => ("in vocabulary", v.to_owned()),
            Lookup::Synthesized(v) => ("built from n-grams", v),
            Lookup::Unknown => {
                println!("{word}: no vector (no n-grams)");
                continue;
            }
        };
        let near = vectors.most_similar_to_vector(vector.view(), 4, &Default::default());
        let near: Vec<&str> = near.iter().map(|(w, _)| w.as_str()).collect();
        println!("{word} ({kind}): {}", near.join(", "));
    }
    Ok(())
}
