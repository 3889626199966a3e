//! The full-model file: everything needed to query the output layer or
//! continue training.
//!
//! Layout (all integers little-endian):
//!
//! ```text
//! magic  "EMBED-W2V\n"                 10 bytes
//! u64    header length in bytes
//! header JSON: params, words, counts, dim, epoch_losses,
//!        has_output, node_rows
//! f32    input vectors, words × dim, row-major
//! f32    negative-sampling output vectors, words × dim (if has_output)
//! f32    hierarchical-softmax node vectors, node_rows × dim (if node_rows > 0)
//! ```
//!
//! The reader checks the file's size against the header before allocating
//! any matrix.

use std::fs::File;
use std::io::{BufReader, Read, Write};
use std::path::Path;

use embed_core::{Error, Location, Result, WordVectors};
use embed_vocab::{VocabParams, Vocabulary};
use ndarray::Array2;
use serde::{Deserialize, Serialize};

use crate::model::Word2Vec;
use crate::params::ValidWord2VecParams;

const MAGIC: &[u8; 10] = b"EMBED-W2V\n";
/// A header larger than this is not one this crate wrote.
const MAX_HEADER_BYTES: u64 = 1 << 32;

#[derive(Serialize, Deserialize)]
struct Header {
    params: ValidWord2VecParams,
    words: Vec<String>,
    counts: Vec<u64>,
    dim: usize,
    epoch_losses: Vec<f64>,
    has_output: bool,
    node_rows: usize,
}

fn write_matrix(w: &mut impl Write, m: &Array2<f32>) -> std::io::Result<()> {
    let mut buf = Vec::with_capacity(m.ncols() * 4);
    for row in m.rows() {
        buf.clear();
        for v in row {
            buf.extend_from_slice(&v.to_le_bytes());
        }
        w.write_all(&buf)?;
    }
    Ok(())
}

impl Word2Vec {
    /// Saves the whole model (parameters, vocabulary, all matrices),
    /// replacing `path` atomically.
    ///
    /// ```
    /// # use embed_core::observer::NoopObserver;
    /// # use embed_vocab::InMemoryCorpus;
    /// # use embed_word2vec::{Word2Vec, Word2VecParams};
    /// # let corpus = InMemoryCorpus::from_text(&"a b c d a b c d\n".repeat(20));
    /// # let params = Word2VecParams::builder().dim(8).min_count(1).epochs(1).threads(1).build()?;
    /// let model = Word2Vec::fit(&params, &corpus, &mut NoopObserver)?;
    /// let dir = tempfile::tempdir()?;
    /// let path = dir.path().join("model.w2v");
    /// model.save(&path)?;
    /// let back = Word2Vec::load(&path)?;
    /// assert_eq!(back.vectors(), model.vectors());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn save(&self, path: impl AsRef<Path>) -> Result<()> {
        let path = path.as_ref();
        let header = Header {
            params: self.params().clone(),
            words: self.vocabulary().words().to_vec(),
            counts: self.vocabulary().counts().to_vec(),
            dim: self.vectors().dim(),
            epoch_losses: self.epoch_losses().to_vec(),
            has_output: self.output_vectors().is_some(),
            node_rows: self.node_vectors().map_or(0, |m| m.nrows()),
        };
        let json = serde_json::to_vec(&header)
            .map_err(|e| Error::InvalidInput(format!("cannot encode the model header: {e}")))?;
        embed_core::io::write_atomically(path, |w| {
            w.write_all(MAGIC)?;
            w.write_all(&(json.len() as u64).to_le_bytes())?;
            w.write_all(&json)?;
            write_matrix(w, &self.vectors().matrix().to_owned())?;
            if let Some(m) = self.output_vectors() {
                write_matrix(w, &m.to_owned())?;
            }
            if let Some(m) = self.node_vectors() {
                write_matrix(w, &m.to_owned())?;
            }
            Ok(())
        })
    }

    /// Loads a model written by [`Word2Vec::save`].
    ///
    /// # Errors
    ///
    /// [`Error::Io`] when the file cannot be read, [`Error::Format`] when it
    /// is not a model file or its size disagrees with its header.
    pub fn load(path: impl AsRef<Path>) -> Result<Word2Vec> {
        let path = path.as_ref();
        let bad = |location, message: String| Error::format(path, location, message);
        let file = File::open(path).map_err(|e| Error::io(path, e))?;
        let file_len = file.metadata().map_err(|e| Error::io(path, e))?.len();
        let mut r = BufReader::new(file);
        let mut read = |buf: &mut [u8]| r.read_exact(buf).map_err(|e| Error::io(path, e));

        let mut magic = [0u8; MAGIC.len()];
        if file_len < (MAGIC.len() + 8) as u64 {
            return Err(bad(
                Location::File,
                "too short for a word2vec model file".into(),
            ));
        }
        read(&mut magic)?;
        if &magic != MAGIC {
            return Err(bad(
                Location::Byte(0),
                "not a word2vec model file (use the vector readers for .bin/.txt vectors)".into(),
            ));
        }
        let mut len = [0u8; 8];
        read(&mut len)?;
        let header_len = u64::from_le_bytes(len);
        let data_start = (MAGIC.len() + 8) as u64;
        if header_len > MAX_HEADER_BYTES || data_start + header_len > file_len {
            return Err(bad(
                Location::Byte(MAGIC.len() as u64),
                format!("header length {header_len} exceeds the file"),
            ));
        }
        let mut json = vec![0u8; header_len as usize];
        read(&mut json)?;
        let header: Header = serde_json::from_slice(&json)
            .map_err(|e| bad(Location::Byte(data_start), format!("bad header: {e}")))?;

        let rows = header.words.len();
        let dim = header.dim;
        if header.counts.len() != rows || rows == 0 || dim != header.params.dim() {
            return Err(bad(
                Location::Byte(data_start),
                format!(
                    "header holds {rows} words, {} counts, dim {dim} (params say {})",
                    header.counts.len(),
                    header.params.dim()
                ),
            ));
        }
        let matrix_rows = rows as u64 * (1 + header.has_output as u64) + header.node_rows as u64;
        let expected = (matrix_rows as u128) * (dim as u128) * 4;
        let actual = (file_len - data_start - header_len) as u128;
        if expected != actual {
            return Err(bad(
                Location::File,
                format!("header announces {expected} bytes of vectors, the file holds {actual}"),
            ));
        }
        let mut read_matrix = |rows: usize| -> Result<Array2<f32>> {
            let mut bytes = vec![0u8; rows * dim * 4];
            read(&mut bytes)?;
            let values = bytes
                .chunks_exact(4)
                .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                .collect();
            Array2::from_shape_vec((rows, dim), values)
                .map_err(|e| bad(Location::File, e.to_string()))
        };
        let input = read_matrix(rows)?;
        let output = if header.has_output {
            Some(read_matrix(rows)?)
        } else {
            None
        };
        let nodes = if header.node_rows > 0 {
            Some(read_matrix(header.node_rows)?)
        } else {
            None
        };
        if header.params.loss().uses_negative_sampling() != output.is_some()
            || header.params.loss().uses_hierarchical_softmax() != nodes.is_some()
        {
            return Err(bad(
                Location::Byte(data_start),
                "the output layers stored do not match the loss in the parameters".into(),
            ));
        }

        let vocab_params = VocabParams::builder().min_count(1).build()?;
        let vocab = Vocabulary::from_counts(
            header.words.iter().cloned().zip(header.counts),
            &vocab_params,
        );
        if vocab.words() != header.words.as_slice() {
            return Err(bad(
                Location::Byte(data_start),
                "the vocabulary is not in frequency order or holds a word twice".into(),
            ));
        }
        let vectors = WordVectors::new(header.words, input)
            .map_err(|e| bad(Location::File, e.to_string()))?;
        Ok(Word2Vec::from_parts(
            header.params,
            vocab,
            vectors,
            output,
            nodes,
            header.epoch_losses,
        ))
    }
}
