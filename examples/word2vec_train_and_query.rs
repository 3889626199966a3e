//! Train skip-gram word2vec on the bundled sample, save the vectors, load
//! them back and ask for neighbours and an analogy.
//!
//! ```text
//! cargo run --release --example word2vec_train_and_query
//! ```

use embed::core::formats::{read_vectors, write_vectors, ReadOptions, VectorFormat};
use embed::core::observer::{Control, Progress, TrainingObserver};
use embed::vocab::TextCorpus;
use embed::word2vec::{Architecture, Word2Vec, Word2VecParams};

/// Prints the loss of every epoch.
struct EpochPrinter;

impl TrainingObserver for EpochPrinter {
    fn on_epoch_end(&mut self, p: &Progress) -> Control {
        println!("epoch {}/{}: loss {:.4}", p.epoch, p.epochs, p.loss);
        Control::Continue
    }
}

fn main() -> Result<(), embed::core::Error> {
    let corpus_path = concat!(env!("CARGO_MANIFEST_DIR"), "/data/sample/wiki1m.txt.gz");
    let corpus = TextCorpus::open(corpus_path)?;
    let params = Word2VecParams::builder()
        .architecture(Architecture::SkipGram)
        .dim(100)
        .epochs(3)
        .seed(42)
        .build()?;
    let model = Word2Vec::fit(&params, &corpus, &mut EpochPrinter)?;

    let dir = std::env::temp_dir().join("embed-example");
    std::fs::create_dir_all(&dir).map_err(|e| embed::core::Error::io(&dir, e))?;
    let path = dir.join("vectors.bin");
    write_vectors(&path, model.vectors(), VectorFormat::Word2VecBinary)?;
    let vectors = read_vectors(&path, None, &ReadOptions::default())?;
    println!(
        "{} vectors written to and read from {}",
        vectors.len(),
        path.display()
    );

    for (word, score) in vectors.most_similar(&["france"], &[], 5, &Default::default())? {
        println!("near france: {word} {score:.3}");
    }
    let answer = vectors.most_similar(&["king", "woman"], &["man"], 3, &Default::default())?;
    println!("man : king :: woman : {answer:?}");
    Ok(())
}
