//! Reading a model file for the query and evaluation commands: a vectors
//! file in any supported format, or a fastText `.bin` model, which also
//! answers for words outside its vocabulary.

use std::io::Read;
use std::path::Path;

use embed_core::formats::{read_vectors, ReadOptions};
use embed_core::{Error, Lookup, Result, StaticEmbedder, WordVectors};
use embed_fasttext::FastText;
use ndarray::Array1;

use super::FormatArg;

/// A loaded model file.
pub enum ModelFile {
    /// Plain word vectors.
    Vectors(WordVectors),
    /// A fastText model with its word vectors.
    FastText {
        /// The model, which builds vectors for unknown words.
        model: Box<FastText>,
        /// Its vocabulary's vectors.
        vectors: WordVectors,
    },
}

fn is_fasttext_bin(path: &Path) -> Result<bool> {
    let mut magic = [0u8; 4];
    let mut file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    match file.read_exact(&mut magic) {
        Ok(()) => Ok(i32::from_le_bytes(magic) == embed_fasttext::bin_format::MAGIC),
        Err(_) => Ok(false),
    }
}

impl ModelFile {
    /// Opens `path` as `format`; `auto` recognises fastText `.bin` models
    /// by their magic number and sniffs the vector formats.
    pub fn open(path: &Path, format: FormatArg) -> Result<Self> {
        let fasttext = match format {
            FormatArg::Fasttext => true,
            FormatArg::Auto => is_fasttext_bin(path)?,
            _ => false,
        };
        if fasttext {
            let model = FastText::load(path)?;
            let vectors = model.to_word_vectors()?;
            return Ok(ModelFile::FastText {
                model: Box::new(model),
                vectors,
            });
        }
        let vectors = read_vectors(path, format.vector_format(), &ReadOptions::default())?;
        Ok(ModelFile::Vectors(vectors))
    }

    /// The vocabulary's vectors.
    pub fn vectors(&self) -> &WordVectors {
        match self {
            ModelFile::Vectors(v) | ModelFile::FastText { vectors: v, .. } => v,
        }
    }

    /// The model as a static embedder (fastText synthesises unknown words).
    pub fn embedder(&self) -> &dyn StaticEmbedder {
        match self {
            ModelFile::Vectors(v) => v,
            ModelFile::FastText { model, .. } => model.as_ref(),
        }
    }

    /// A vector for `word` when it is unknown to the vocabulary but the
    /// model can build one.
    pub fn synthesised_vector(&self, word: &str) -> Option<Array1<f32>> {
        match self.embedder().lookup(word) {
            Lookup::Synthesized(v) => Some(v),
            _ => None,
        }
    }
}
