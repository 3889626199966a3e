//! Sentence similarity with a sentence-transformers BERT checkpoint.
//!
//! ```text
//! cargo run --release --example bert_sentence_similarity -- path/to/all-MiniLM-L6-v2
//! ```
//!
//! The directory needs `config.json`, `vocab.txt` and `model.safetensors`
//! (and, for sentence-transformers models, `modules.json` with its pooling
//! settings). Without an argument the example looks for the checkpoint in
//! `../shared/models/all-MiniLM-L6-v2`.

use embed::bert::SentenceEmbedder;

fn main() -> Result<(), embed::core::Error> {
    let dir = std::env::args().nth(1).unwrap_or_else(|| {
        concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../shared/models/all-MiniLM-L6-v2"
        )
        .to_string()
    });
    let embedder = SentenceEmbedder::load(&dir)?;
    let sentences = [
        "A man is eating food.",
        "A man is eating a piece of bread.",
        "The girl is carrying a baby.",
        "A man is riding a horse.",
    ];
    let vectors = embedder.embed(&sentences)?;
    for (i, a) in sentences.iter().enumerate() {
        for (j, b) in sentences.iter().enumerate().skip(i + 1) {
            // Vectors are unit length (the model's Normalize module), so the
            // dot product is the cosine.
            let cosine = vectors.row(i).dot(&vectors.row(j));
            println!("{cosine:.4}  {a:?} vs {b:?}");
        }
    }
    Ok(())
}
