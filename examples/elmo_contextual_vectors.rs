//! Contextual vectors from ELMo: the same word gets different vectors in
//! different sentences.
//!
//! ```text
//! cargo run --release --example elmo_contextual_vectors -- options.json weights.hdf5
//! ```
//!
//! Without arguments the example uses the small random model in
//! `../shared/models/elmo-tiny-random` (its vectors carry no meaning, but
//! the mechanics are the same as for a trained model).

use embed::core::ContextualEmbedder;
use embed::elmo::{ElmoEmbedder, ElmoModel};

fn main() -> Result<(), embed::core::Error> {
    let default_dir = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../shared/models/elmo-tiny-random"
    );
    let options = std::env::args()
        .nth(1)
        .unwrap_or_else(|| format!("{default_dir}/options.json"));
    let weights = std::env::args()
        .nth(2)
        .unwrap_or_else(|| format!("{default_dir}/weights.hdf5"));
    let model = ElmoModel::load(&options, &weights)?;
    let elmo = ElmoEmbedder::average(model)?;

    let river = elmo.embed_sequence(&["we", "sat", "on", "the", "river", "bank"])?;
    let money = elmo.embed_sequence(&["she", "went", "to", "the", "bank", "today"])?;
    let (a, b) = (river.row(5), money.row(4));
    let cosine = a.dot(&b) / (a.dot(&a).sqrt() * b.dot(&b).sqrt());
    println!(
        "`bank` has {} dimensions; cosine between its two contexts: {cosine:.4}",
        a.len()
    );
    Ok(())
}
