//! Facebook fastText's `.bin` model file.
//!
//! Layout (little-endian, as fastText writes it on x86):
//!
//! | part        | content                                                     |
//! |-------------|-------------------------------------------------------------|
//! | header      | `i32` magic 793712314, `i32` version (11 or 12)              |
//! | args        | 12 × `i32` (dim, ws, epoch, minCount, neg, wordNgrams, loss, model, bucket, minn, maxn, lrUpdateRate), `f64` t |
//! | dictionary  | `i32` size, `i32` nwords, `i32` nlabels, `i64` ntokens, `i64` pruneidx size; per entry the word's bytes, a 0 byte, `i64` count, `i8` type; then pruneidx pairs (`i32`, `i32`) |
//! | input       | `u8` quantized flag, `i64` rows, `i64` cols, rows × cols `f32` |
//! | output      | `u8` quantized flag, `i64` rows, `i64` cols, rows × cols `f32` |
//!
//! The reader checks every count against the bytes left in the file before
//! allocating, so a corrupt header is an error, never a huge allocation.
//! Quantized (`.ftz`) models are rejected.

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};

use embed_core::{Error, Location, Result};
use ndarray::Array2;

use crate::args::{LossKind, ModelArgs, ModelKind};
use crate::dictionary::{BucketMap, Dictionary, Entry, EntryKind};

/// The first four bytes of every fastText model file.
pub const MAGIC: i32 = 793_712_314;
/// The file version this crate writes (fastText 0.9).
pub const VERSION: i32 = 12;
/// Smallest encoding of a dictionary entry: an empty word's 0 byte, count, type.
const MIN_ENTRY_BYTES: u64 = 1 + 8 + 1;

/// Everything a `.bin` file holds.
#[derive(Debug, Clone)]
pub struct ModelParts {
    /// The arguments block.
    pub args: ModelArgs,
    /// Words, labels and their subwords.
    pub dictionary: Dictionary,
    /// Input matrix: word rows, then bucket rows.
    pub input: Array2<f32>,
    /// Output matrix: one row per word (unsupervised) or label (supervised).
    pub output: Array2<f32>,
}

/// Reads a fastText `.bin` model.
pub fn read_bin(path: &Path) -> Result<ModelParts> {
    let file = File::open(path).map_err(|e| Error::io(path, e))?;
    let len = file.metadata().map_err(|e| Error::io(path, e))?.len();
    let mut reader = BinReader {
        inner: BufReader::with_capacity(1 << 20, file),
        pos: 0,
        len,
        path: path.to_path_buf(),
    };
    let parts = reader.read_model()?;
    if reader.pos != len {
        return Err(reader.error(format!(
            "{} bytes after the output matrix",
            len - reader.pos
        )));
    }
    Ok(parts)
}

struct BinReader<R> {
    inner: R,
    pos: u64,
    len: u64,
    path: PathBuf,
}

impl<R: BufRead> BinReader<R> {
    fn error(&self, message: impl Into<String>) -> Error {
        Error::format(&self.path, Location::Byte(self.pos), message)
    }

    fn remaining(&self) -> u64 {
        self.len.saturating_sub(self.pos)
    }

    fn array<const N: usize>(&mut self, what: &str) -> Result<[u8; N]> {
        let mut buf = [0u8; N];
        self.inner.read_exact(&mut buf).map_err(|e| {
            if e.kind() == std::io::ErrorKind::UnexpectedEof {
                self.error(format!("file ends inside {what}"))
            } else {
                Error::io(&self.path, e)
            }
        })?;
        self.pos += N as u64;
        Ok(buf)
    }

    fn i32(&mut self, what: &str) -> Result<i32> {
        self.array::<4>(what).map(i32::from_le_bytes)
    }

    fn i64(&mut self, what: &str) -> Result<i64> {
        self.array::<8>(what).map(i64::from_le_bytes)
    }

    fn f64(&mut self, what: &str) -> Result<f64> {
        self.array::<8>(what).map(f64::from_le_bytes)
    }

    fn u8(&mut self, what: &str) -> Result<u8> {
        self.array::<1>(what).map(|b| b[0])
    }

    /// A non-negative `i32` field of the arguments block.
    fn count32(&mut self, what: &str) -> Result<usize> {
        let v = self.i32(what)?;
        usize::try_from(v).map_err(|_| self.error(format!("{what} is negative ({v})")))
    }

    fn read_model(&mut self) -> Result<ModelParts> {
        let magic = self.i32("the magic number")?;
        if magic != MAGIC {
            return Err(Error::format(
                &self.path,
                Location::Byte(0),
                format!("not a fastText model (magic number {magic}, expected {MAGIC})"),
            ));
        }
        let version = self.i32("the version")?;
        if version != 11 && version != VERSION {
            return Err(Error::format(
                &self.path,
                Location::Byte(4),
                format!("unsupported fastText file version {version} (11 and 12 are read)"),
            ));
        }
        let mut args = self.read_args()?;
        if version == 11 && args.model == ModelKind::Supervised {
            // Version 11 supervised models were trained without subwords.
            args.maxn = 0;
        }
        let dictionary = self.read_dictionary(&args)?;
        if self.u8("the input quantization flag")? != 0 {
            return Err(self.error(
                "quantized models (.ftz) are not supported; use the unquantized .bin model",
            ));
        }
        let input = self.read_matrix("the input matrix")?;
        let expected_rows = dictionary.nwords() + args.bucket;
        if input.nrows() != expected_rows || input.ncols() != args.dim {
            return Err(self.error(format!(
                "input matrix is {}×{}, expected {expected_rows}×{} (nwords + bucket × dim)",
                input.nrows(),
                input.ncols(),
                args.dim
            )));
        }
        if self.u8("the output quantization flag")? != 0 {
            return Err(self.error("quantized output matrices are not supported"));
        }
        let output = self.read_matrix("the output matrix")?;
        let expected_rows = match args.model {
            ModelKind::Supervised => dictionary.nlabels(),
            _ => dictionary.nwords(),
        };
        if output.nrows() != expected_rows || output.ncols() != args.dim {
            return Err(self.error(format!(
                "output matrix is {}×{}, expected {expected_rows}×{}",
                output.nrows(),
                output.ncols(),
                args.dim
            )));
        }
        Ok(ModelParts {
            args,
            dictionary,
            input,
            output,
        })
    }

    fn read_args(&mut self) -> Result<ModelArgs> {
        let dim = self.count32("dim")?;
        let ws = self.count32("ws")?;
        let epoch = self.count32("epoch")?;
        let min_count = self.count32("minCount")? as u64;
        let neg = self.count32("neg")?;
        let word_ngrams = self.count32("wordNgrams")?;
        let loss_code = self.i32("loss")?;
        let loss = LossKind::from_code(loss_code)
            .ok_or_else(|| self.error(format!("unknown loss code {loss_code}")))?;
        let model_code = self.i32("model")?;
        let model = ModelKind::from_code(model_code)
            .ok_or_else(|| self.error(format!("unknown model code {model_code}")))?;
        let bucket = self.count32("bucket")?;
        let minn = self.count32("minn")?;
        let maxn = self.count32("maxn")?;
        let lr_update_rate = self.count32("lrUpdateRate")?;
        let t = self.f64("t")?;
        if dim == 0 {
            return Err(self.error("dim is 0"));
        }
        Ok(ModelArgs {
            dim,
            ws,
            epoch,
            min_count,
            neg,
            word_ngrams,
            loss,
            model,
            bucket,
            minn,
            maxn,
            lr_update_rate,
            t,
        })
    }

    fn read_dictionary(&mut self, args: &ModelArgs) -> Result<Dictionary> {
        let size = self.count32("dictionary size")?;
        let nwords = self.count32("nwords")?;
        let nlabels = self.count32("nlabels")?;
        let ntokens = self.i64("ntokens")?;
        let prune_size = self.i64("pruneidx size")?;
        if nwords + nlabels != size {
            return Err(self.error(format!(
                "dictionary size {size} is not nwords {nwords} + nlabels {nlabels}"
            )));
        }
        if (size as u64).saturating_mul(MIN_ENTRY_BYTES) > self.remaining() {
            return Err(self.error(format!(
                "dictionary of {size} entries cannot fit in the {} bytes left",
                self.remaining()
            )));
        }
        let mut entries = Vec::with_capacity(size);
        let mut word = Vec::new();
        for i in 0..size {
            word.clear();
            let n = self
                .inner
                .read_until(0, &mut word)
                .map_err(|e| Error::io(&self.path, e))?;
            self.pos += n as u64;
            if word.pop() != Some(0) {
                return Err(self.error(format!("file ends inside dictionary entry {i}")));
            }
            let text = std::str::from_utf8(&word)
                .map_err(|_| self.error(format!("dictionary entry {i} is not UTF-8")))?
                .to_owned();
            let count = self.i64("a word count")?;
            let count = u64::try_from(count)
                .map_err(|_| self.error(format!("entry `{text}` has negative count {count}")))?;
            let code = self.array::<1>("an entry type")?[0] as i8;
            let kind = EntryKind::from_code(code)
                .ok_or_else(|| self.error(format!("entry `{text}` has unknown type {code}")))?;
            let expected = if i < nwords {
                EntryKind::Word
            } else {
                EntryKind::Label
            };
            if kind != expected {
                return Err(self.error(format!(
                    "entry {i} (`{text}`) is a {kind:?}, but the header has {nwords} words first"
                )));
            }
            entries.push(Entry {
                word: text,
                count,
                kind,
            });
        }
        let buckets = if prune_size < 0 {
            BucketMap::Identity
        } else {
            if (prune_size as u64).saturating_mul(8) > self.remaining() {
                return Err(self.error(format!("pruneidx of {prune_size} pairs exceeds the file")));
            }
            let mut map = HashMap::with_capacity(prune_size as usize);
            for _ in 0..prune_size {
                let from = self.i32("a pruneidx pair")?;
                let to = self.i32("a pruneidx pair")?;
                map.insert(from, to);
            }
            BucketMap::Pruned(map)
        };
        let ntokens = u64::try_from(ntokens)
            .map_err(|_| self.error(format!("ntokens is negative ({ntokens})")))?;
        Dictionary::new(entries, ntokens, buckets, args).map_err(|e| self.error(e.to_string()))
    }

    fn read_matrix(&mut self, what: &str) -> Result<Array2<f32>> {
        let rows = self.i64(what)?;
        let cols = self.i64(what)?;
        if rows < 0 || cols < 0 {
            return Err(self.error(format!("{what} has negative shape {rows}×{cols}")));
        }
        let bytes = (rows as u64)
            .checked_mul(cols as u64)
            .and_then(|n| n.checked_mul(4))
            .filter(|&b| b <= self.remaining())
            .ok_or_else(|| {
                self.error(format!(
                    "{what} of {rows}×{cols} floats exceeds the {} bytes left",
                    self.remaining()
                ))
            })?;
        let mut values = vec![0f32; (bytes / 4) as usize];
        let mut buf = vec![0u8; 1 << 16];
        for chunk in values.chunks_mut(buf.len() / 4) {
            let raw = &mut buf[..chunk.len() * 4];
            self.inner.read_exact(raw).map_err(|e| {
                if e.kind() == std::io::ErrorKind::UnexpectedEof {
                    self.error(format!("file ends inside {what}"))
                } else {
                    Error::io(&self.path, e)
                }
            })?;
            self.pos += raw.len() as u64;
            for (v, b) in chunk.iter_mut().zip(raw.chunks_exact(4)) {
                *v = f32::from_le_bytes([b[0], b[1], b[2], b[3]]);
            }
        }
        Array2::from_shape_vec((rows as usize, cols as usize), values)
            .map_err(|e| self.error(format!("{what}: {e}")))
    }
}

/// Writes a full `.bin` model in fastText's version-12 layout.
pub fn write_bin(
    mut w: impl Write,
    args: &ModelArgs,
    dictionary: &Dictionary,
    input: &Array2<f32>,
    output: &Array2<f32>,
) -> Result<()> {
    w.write_all(&MAGIC.to_le_bytes())?;
    w.write_all(&VERSION.to_le_bytes())?;
    for v in [
        args.dim,
        args.ws,
        args.epoch,
        args.min_count as usize,
        args.neg,
        args.word_ngrams,
    ] {
        write_i32(&mut w, v)?;
    }
    w.write_all(&args.loss.code().to_le_bytes())?;
    w.write_all(&args.model.code().to_le_bytes())?;
    for v in [args.bucket, args.minn, args.maxn, args.lr_update_rate] {
        write_i32(&mut w, v)?;
    }
    w.write_all(&args.t.to_le_bytes())?;

    let entries = dictionary.entries();
    write_i32(&mut w, entries.len())?;
    write_i32(&mut w, dictionary.nwords())?;
    write_i32(&mut w, dictionary.nlabels())?;
    w.write_all(&(dictionary.ntokens() as i64).to_le_bytes())?;
    let pruned: Vec<(i32, i32)> = match dictionary.bucket_map() {
        BucketMap::Identity => Vec::new(),
        BucketMap::Pruned(map) => map.iter().map(|(&a, &b)| (a, b)).collect(),
    };
    let prune_size: i64 = match dictionary.bucket_map() {
        BucketMap::Identity => -1,
        BucketMap::Pruned(_) => pruned.len() as i64,
    };
    w.write_all(&prune_size.to_le_bytes())?;
    for e in entries {
        w.write_all(e.word.as_bytes())?;
        w.write_all(&[0])?;
        w.write_all(&(e.count as i64).to_le_bytes())?;
        w.write_all(&e.kind.code().to_le_bytes())?;
    }
    for (a, b) in pruned {
        w.write_all(&a.to_le_bytes())?;
        w.write_all(&b.to_le_bytes())?;
    }
    for matrix in [input, output] {
        w.write_all(&[0])?; // not quantized
        w.write_all(&(matrix.nrows() as i64).to_le_bytes())?;
        w.write_all(&(matrix.ncols() as i64).to_le_bytes())?;
        let mut buf = Vec::with_capacity(matrix.ncols() * 4);
        for row in matrix.rows() {
            buf.clear();
            for v in row {
                buf.extend_from_slice(&v.to_le_bytes());
            }
            w.write_all(&buf)?;
        }
    }
    Ok(())
}

fn write_i32(w: &mut impl Write, v: usize) -> Result<()> {
    let v = i32::try_from(v)
        .map_err(|_| Error::InvalidInput(format!("{v} does not fit a fastText i32 field")))?;
    w.write_all(&v.to_le_bytes())?;
    Ok(())
}
