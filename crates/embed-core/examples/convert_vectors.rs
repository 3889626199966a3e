//! Converts a vector file between word2vec binary, word2vec text and GloVe.
//!
//! ```text
//! cargo run --release -p embed-core --example convert_vectors -- IN OUT FORMAT
//! ```
//!
//! `FORMAT` is `word2vec`, `word2vec-text` or `glove`; the input format is
//! sniffed.

use std::path::PathBuf;
use std::process::ExitCode;

use embed_core::formats::{read_vectors, write_vectors, ReadOptions, VectorFormat};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [input, output, format] = args.as_slice() else {
        eprintln!("usage: convert_vectors IN OUT word2vec|word2vec-text|glove");
        return ExitCode::FAILURE;
    };
    let result = format.parse::<VectorFormat>().and_then(|format| {
        let vectors = read_vectors(&PathBuf::from(input), None, &ReadOptions::default())?;
        write_vectors(&PathBuf::from(output), &vectors, format)?;
        Ok(vectors.len())
    });
    match result {
        Ok(rows) => {
            println!("wrote {rows} vectors to {output}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
