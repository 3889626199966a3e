//! Trains a fastText model from the command line and saves `.bin` and `.vec`.
//!
//! ```text
//! cargo run --release -p embed-fasttext --example fasttext_train -- \
//!     skipgram corpus.txt out [dim] [epoch] [threads] [extra key=value options...]
//! ```
//! `mode` is `skipgram`, `cbow` or `supervised`; options: `lr=`, `t=`,
//! `minCount=`, `wordNgrams=`, `bucket=`, `minn=`, `maxn=`, `loss=ns|hs|softmax|ova`;
//! `test=FILE` reports P@1 and R@5 of a supervised model on FILE.

use embed_core::observer::{Control, Progress, TrainingObserver};
use embed_fasttext::{FastText, FastTextParams, LossKind, ModelKind};

struct Printer;

impl TrainingObserver for Printer {
    fn on_epoch_end(&mut self, p: &Progress) -> Control {
        eprintln!(
            "epoch {}/{}: {:.0} words/s, loss {:.4}",
            p.epoch, p.epochs, p.words_per_sec, p.loss
        );
        Control::Continue
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.len() < 3 {
        return Err(
            "usage: fasttext_train MODE CORPUS OUTPUT [dim] [epoch] [threads] [key=value...]"
                .into(),
        );
    }
    let (mode, corpus, output) = (&args[0], &args[1], &args[2]);
    let num =
        |i: usize, default: usize| args.get(i).and_then(|s| s.parse().ok()).unwrap_or(default);
    let mut b = match mode.as_str() {
        "supervised" => FastTextParams::supervised_builder(),
        "cbow" => FastTextParams::builder().model(ModelKind::Cbow),
        _ => FastTextParams::builder(),
    };
    b = b.dim(num(3, 100)).epoch(num(4, 5)).threads(num(5, 2));
    let mut test = None;
    for opt in args.iter().skip(6) {
        let (k, v) = opt.split_once('=').ok_or("options are key=value")?;
        b = match k {
            "test" => {
                test = Some(v.to_owned());
                b
            }
            "lr" => b.lr(v.parse()?),
            "t" => b.t(v.parse()?),
            "minCount" => b.min_count(v.parse()?),
            "wordNgrams" => b.word_ngrams(v.parse()?),
            "bucket" => b.bucket(v.parse()?),
            "minn" => b.minn(v.parse()?),
            "maxn" => b.maxn(v.parse()?),
            "ws" => b.ws(v.parse()?),
            "neg" => b.neg(v.parse()?),
            "seed" => b.seed(v.parse()?),
            "loss" => b.loss(match v {
                "hs" => LossKind::HierarchicalSoftmax,
                "softmax" => LossKind::Softmax,
                "ova" => LossKind::OneVsAll,
                _ => LossKind::NegativeSampling,
            }),
            _ => return Err(format!("unknown option {k}").into()),
        };
    }
    let params = b.build()?;
    let start = std::time::Instant::now();
    let model = if mode == "supervised" {
        FastText::fit_supervised(&params, corpus, &mut Printer)?
    } else {
        FastText::fit_unsupervised(&params, corpus, &mut Printer)?
    };
    let secs = start.elapsed().as_secs_f64();
    let words = model.dictionary().ntokens() as f64 * params.epoch() as f64;
    eprintln!("trained in {secs:.1}s ({:.0} words/s)", words / secs);
    if let Some(test) = test {
        let p1 = model.test(&test, 1, 0.0)?;
        let r5 = model.test(&test, 5, 0.0)?;
        eprintln!("P@1 {:.4} R@5 {:.4}", p1.precision, r5.recall);
    }
    model.save_bin(format!("{output}.bin"))?;
    if mode != "supervised" {
        model.save_vec(format!("{output}.vec"))?;
    }
    Ok(())
}
