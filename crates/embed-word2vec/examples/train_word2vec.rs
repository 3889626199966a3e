//! Trains word2vec on a text file and writes the vectors, with word2vec C's
//! option names:
//!
//! ```text
//! cargo run --release -p embed-word2vec --example train_word2vec -- \
//!     -train corpus.txt -output vectors.bin -cbow 0 -size 100 -window 5 \
//!     -negative 5 -hs 0 -sample 1e-3 -min-count 5 -iter 1 -threads 2 -binary 1
//! ```
//!
//! Also `-alpha X`, `-min-alpha X`, `-seed N`, `-exact-sigmoid 1`,
//! `-save-model F` (the full model), `-save-vocab F`.

use std::time::Instant;

use embed_core::formats::{write_vectors, VectorFormat};
use embed_core::observer::{Control, Progress, TrainingObserver};
use embed_vocab::TextCorpus;
use embed_word2vec::{Architecture, Loss, SigmoidMode, Word2Vec, Word2VecParams};

/// Prints one progress line to standard error, overwriting itself.
struct ProgressLine;

impl TrainingObserver for ProgressLine {
    fn on_progress(&mut self, p: &Progress) -> Control {
        eprint!(
            "\rprogress {:5.1}%  alpha {:.6}  loss {:.4}  words/s {:.0}k   ",
            100.0 * p.fraction(),
            p.learning_rate,
            p.loss,
            p.words_per_sec / 1000.0
        );
        Control::Continue
    }

    fn on_epoch_end(&mut self, p: &Progress) -> Control {
        eprintln!("\repoch {}/{} loss {:.4}", p.epoch, p.epochs, p.loss);
        Control::Continue
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let get = |name: &str| -> Option<&str> {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .map(String::as_str)
    };
    let train = get("-train").ok_or("missing -train FILE")?;
    let output = get("-output").ok_or("missing -output FILE")?;
    let mut p = Word2VecParams::default();
    if let Some(v) = get("-cbow") {
        p.architecture = if v == "0" {
            Architecture::SkipGram
        } else {
            Architecture::Cbow
        };
    }
    let hs = get("-hs").is_some_and(|v| v != "0");
    if let Some(v) = get("-negative") {
        p.negative = v.parse()?;
    }
    p.loss = match (hs, p.negative > 0) {
        (true, true) => Loss::Both,
        (true, false) => Loss::HierarchicalSoftmax,
        _ => Loss::NegativeSampling,
    };
    if let Some(v) = get("-size") {
        p.dim = v.parse()?;
    }
    if let Some(v) = get("-window") {
        p.window = v.parse()?;
    }
    if let Some(v) = get("-sample") {
        p.sample = v.parse()?;
    }
    if let Some(v) = get("-min-count") {
        p.min_count = v.parse()?;
    }
    if let Some(v) = get("-iter") {
        p.epochs = v.parse()?;
    }
    if let Some(v) = get("-threads") {
        p.threads = Some(v.parse()?);
    }
    if let Some(v) = get("-alpha") {
        p.alpha = Some(v.parse()?);
    }
    if let Some(v) = get("-min-alpha") {
        p.min_alpha = Some(v.parse()?);
    }
    if let Some(v) = get("-seed") {
        p.seed = v.parse()?;
    }
    if get("-exact-sigmoid").is_some_and(|v| v != "0") {
        p.sigmoid = SigmoidMode::Exact;
    }
    let format = if get("-binary").is_some_and(|v| v != "0") {
        VectorFormat::Word2VecBinary
    } else {
        VectorFormat::Word2VecText
    };
    let params = p.validate()?;

    let started = Instant::now();
    let corpus = TextCorpus::open(train)?;
    let model = Word2Vec::fit(&params, &corpus, &mut ProgressLine)?;
    if let Some(path) = get("-save-vocab") {
        model.vocabulary().save_counts(path)?;
    }
    if let Some(path) = get("-save-model") {
        model.save(path)?;
    }
    write_vectors(std::path::Path::new(output), model.vectors(), format)?;
    let seconds = started.elapsed().as_secs_f64();
    let words = model.vocabulary().corpus_words() as f64 * params.epochs() as f64;
    eprintln!(
        "{} words × {} epochs in {:.1} s: {:.0} words/s",
        model.vocabulary().corpus_words(),
        params.epochs(),
        seconds,
        words / seconds
    );
    Ok(())
}
