//! Compare word2vec and GloVe from Rust code on the bundled sample, with
//! matched settings, and print the report as a Markdown table.
//!
//! ```text
//! cargo run --release --example compare_models
//! ```

use embed::compare::{EvalSets, Experiment, ModelKind, Settings};
use embed::core::observer::NoopObserver;

fn main() -> Result<(), embed::core::Error> {
    let data = concat!(env!("CARGO_MANIFEST_DIR"), "/data");
    let experiment = Experiment {
        corpus: format!("{data}/sample/wiki1m.txt.gz").into(),
        models: vec![ModelKind::Word2VecCbow, ModelKind::Glove],
        settings: Settings {
            dim: 50,
            epochs: Some(3),
            ..Settings::default()
        },
        eval: EvalSets {
            analogy: Some(format!("{data}/eval/questions-words.txt").into()),
            similarity: vec![
                format!("{data}/eval/wordsim353.tsv").into(),
                format!("{data}/eval/simlex999.txt").into(),
            ],
            ..EvalSets::default()
        },
        pretrained: Default::default(),
    };
    let report = experiment.run(&mut |kind| {
        eprintln!("training {kind}");
        Box::new(NoopObserver)
    })?;
    println!("{}", report.to_markdown());
    Ok(())
}
