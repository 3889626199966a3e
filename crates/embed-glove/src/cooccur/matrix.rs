//! The finished co-occurrence matrix: in memory or in a file, with the
//! matrix file format.
//!
//! # File format
//!
//! A 48-byte header, then `len` entries of 12 bytes (`u32` word, `u32`
//! context, `f32` count), all little-endian, sorted by `(word, context)`:
//!
//! | bytes | field |
//! |---|---|
//! | 0..8 | magic `EMBDGLVC` |
//! | 8..12 | format version, 1 |
//! | 12..16 | flags: bit 0 set when the count was symmetric |
//! | 16..20 | window |
//! | 20..24 | zero |
//! | 24..32 | vocabulary size |
//! | 32..40 | vocabulary fingerprint (see [`vocabulary_fingerprint`]) |
//! | 40..48 | number of entries |
//!
//! A file is rejected unless its length is exactly what the header says and
//! its vocabulary size and fingerprint match the vocabulary it is loaded
//! with; each entry's ids and count are checked as they are read.

use std::fs::File;
use std::io::{BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use embed_core::{Error, Location, Result};
use embed_vocab::Vocabulary;

use super::record::Cooccurrence;
use super::spill::SpillDir;

const MAGIC: &[u8; 8] = b"EMBDGLVC";
const VERSION: u32 = 1;
pub(crate) const HEADER_LEN: usize = 48;

/// A 64-bit FNV-1a hash of the vocabulary's words in id order: a matrix
/// counted with one vocabulary is refused by another.
///
/// ```
/// use embed_glove::vocabulary_fingerprint;
/// let a = vocabulary_fingerprint(["the", "of"]);
/// assert_ne!(a, vocabulary_fingerprint(["of", "the"]));
/// assert_ne!(a, vocabulary_fingerprint(["theof"]));
/// ```
pub fn vocabulary_fingerprint<'a>(words: impl IntoIterator<Item = &'a str>) -> u64 {
    let mut hash = 0xcbf2_9ce4_8422_2325_u64;
    let mut eat = |b: u8| {
        hash ^= b as u64;
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    };
    for word in words {
        word.bytes().for_each(&mut eat);
        // A byte that never occurs in UTF-8 separates the words.
        eat(0xff);
    }
    hash
}

/// What a matrix was counted from and how.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct MatrixInfo {
    pub vocab_size: u64,
    pub fingerprint: u64,
    pub window: u32,
    pub symmetric: bool,
    pub len: u64,
}

impl MatrixInfo {
    fn encode(&self) -> [u8; HEADER_LEN] {
        let mut h = [0u8; HEADER_LEN];
        h[0..8].copy_from_slice(MAGIC);
        h[8..12].copy_from_slice(&VERSION.to_le_bytes());
        h[12..16].copy_from_slice(&(self.symmetric as u32).to_le_bytes());
        h[16..20].copy_from_slice(&self.window.to_le_bytes());
        h[24..32].copy_from_slice(&self.vocab_size.to_le_bytes());
        h[32..40].copy_from_slice(&self.fingerprint.to_le_bytes());
        h[40..48].copy_from_slice(&self.len.to_le_bytes());
        h
    }

    fn decode(path: &Path, h: &[u8; HEADER_LEN]) -> Result<MatrixInfo> {
        let bad = |m: String| Error::format(path, Location::Byte(0), m);
        if &h[0..8] != MAGIC {
            return Err(bad(
                "not an embed-glove co-occurrence file (bad magic)".into()
            ));
        }
        let u32_at = |i: usize| u32::from_le_bytes([h[i], h[i + 1], h[i + 2], h[i + 3]]);
        let u64_at = |i: usize| {
            let mut b = [0u8; 8];
            b.copy_from_slice(&h[i..i + 8]);
            u64::from_le_bytes(b)
        };
        if u32_at(8) != VERSION {
            return Err(bad(format!("unsupported format version {}", u32_at(8))));
        }
        Ok(MatrixInfo {
            symmetric: u32_at(12) & 1 == 1,
            window: u32_at(16),
            vocab_size: u64_at(24),
            fingerprint: u64_at(32),
            len: u64_at(40),
        })
    }
}

#[derive(Debug)]
enum Storage {
    Memory(Vec<Cooccurrence>),
    /// Entries in a matrix file; `_owner` keeps a temporary one alive.
    File {
        path: PathBuf,
        _owner: Option<SpillDir>,
    },
}

/// The co-occurrence matrix `X`: its non-zero entries sorted by
/// `(word, context)`, held in memory when they fit the memory limit and in
/// a file otherwise. Count it with [`Cooccurrences::count`], or load a saved
/// one with [`Cooccurrences::load`] to train several models on one count.
#[derive(Debug)]
pub struct Cooccurrences {
    info: MatrixInfo,
    storage: Storage,
}

impl Cooccurrences {
    pub(crate) fn in_memory(info: MatrixInfo, entries: Vec<Cooccurrence>) -> Self {
        Cooccurrences {
            info: MatrixInfo {
                len: entries.len() as u64,
                ..info
            },
            storage: Storage::Memory(entries),
        }
    }

    pub(crate) fn in_file(info: MatrixInfo, path: PathBuf, owner: Option<SpillDir>) -> Self {
        Cooccurrences {
            info,
            storage: Storage::File {
                path,
                _owner: owner,
            },
        }
    }

    /// A matrix from explicit entries (any order; equal keys are summed).
    ///
    /// Every id must be below the vocabulary's size and every count positive
    /// and finite.
    ///
    /// ```
    /// use embed_glove::{Cooccurrence, Cooccurrences};
    /// use embed_vocab::{Vocabulary, VocabParams};
    /// let vocab = Vocabulary::from_counts(
    ///     [("a".to_string(), 2), ("b".to_string(), 1)],
    ///     &VocabParams::builder().min_count(1).build()?,
    /// );
    /// let x = Cooccurrences::from_entries(&vocab, vec![
    ///     Cooccurrence { word: 1, context: 0, count: 0.5 },
    ///     Cooccurrence { word: 0, context: 1, count: 1.0 },
    ///     Cooccurrence { word: 1, context: 0, count: 0.5 },
    /// ])?;
    /// assert_eq!(x.entries()?, vec![
    ///     Cooccurrence { word: 0, context: 1, count: 1.0 },
    ///     Cooccurrence { word: 1, context: 0, count: 1.0 },
    /// ]);
    /// # Ok::<(), embed_core::Error>(())
    /// ```
    pub fn from_entries(vocab: &Vocabulary, mut entries: Vec<Cooccurrence>) -> Result<Self> {
        let vocab_size = vocab.len() as u64;
        for e in &entries {
            check_entry(e, vocab_size).map_err(Error::InvalidInput)?;
        }
        entries.sort_unstable_by_key(|e| (e.word, e.context));
        entries.dedup_by(|later, kept| {
            let same = (later.word, later.context) == (kept.word, kept.context);
            if same {
                kept.count += later.count;
            }
            same
        });
        let info = MatrixInfo {
            vocab_size,
            fingerprint: vocabulary_fingerprint(vocab.words().iter().map(String::as_str)),
            window: 0,
            symmetric: false,
            len: 0,
        };
        Ok(Cooccurrences::in_memory(info, entries))
    }

    /// Number of non-zero entries.
    pub fn len(&self) -> u64 {
        self.info.len
    }
    /// Whether there are no entries.
    pub fn is_empty(&self) -> bool {
        self.info.len == 0
    }
    /// Size of the vocabulary the matrix was counted with.
    pub fn vocab_size(&self) -> usize {
        self.info.vocab_size as usize
    }
    /// Window it was counted with (0 for [`Cooccurrences::from_entries`]).
    pub fn window(&self) -> usize {
        self.info.window as usize
    }
    /// Whether the count was symmetric.
    pub fn symmetric(&self) -> bool {
        self.info.symmetric
    }
    /// Whether the entries are held in memory (otherwise training streams
    /// them from a file).
    pub fn is_in_memory(&self) -> bool {
        matches!(self.storage, Storage::Memory(_))
    }
    pub(crate) fn fingerprint(&self) -> u64 {
        self.info.fingerprint
    }

    /// All entries, in key order (reads the file when not in memory).
    pub fn entries(&self) -> Result<Vec<Cooccurrence>> {
        let mut reader = self.reader()?;
        let mut out = Vec::new();
        let mut start = 0;
        while start < self.len() {
            let n = (self.len() - start).min(1 << 16);
            reader.read_range(start, n as usize, &mut out)?;
            start += n;
        }
        Ok(out)
    }

    /// Saves the matrix (atomically: a temporary file renamed into place).
    pub fn save(&self, path: impl AsRef<Path>) -> Result<()> {
        let path = path.as_ref();
        let dir = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        let tmp = tempfile::NamedTempFile::new_in(dir).map_err(|e| Error::io(path, e))?;
        {
            let mut out = BufWriter::with_capacity(1 << 20, tmp.as_file());
            out.write_all(&self.info.encode())
                .map_err(|e| Error::io(path, e))?;
            let mut reader = self.reader()?;
            let mut block = Vec::new();
            let mut bytes = Vec::new();
            let mut start = 0;
            while start < self.len() {
                let n = (self.len() - start).min(1 << 16);
                block.clear();
                reader.read_range(start, n as usize, &mut block)?;
                encode_entries(&block, &mut bytes);
                out.write_all(&bytes).map_err(|e| Error::io(path, e))?;
                start += n;
            }
            out.flush().map_err(|e| Error::io(path, e))?;
        }
        tmp.persist(path).map_err(|e| Error::io(path, e.error))?;
        Ok(())
    }

    /// Loads a saved matrix counted with `vocab`, keeping it in memory when
    /// it takes at most `memory_bytes`, else reading it from the file as
    /// training needs it.
    pub fn load(path: impl AsRef<Path>, vocab: &Vocabulary, memory_bytes: usize) -> Result<Self> {
        let path = path.as_ref();
        let mut file = File::open(path).map_err(|e| Error::io(path, e))?;
        let file_len = file.metadata().map_err(|e| Error::io(path, e))?.len();
        let mut header = [0u8; HEADER_LEN];
        if file_len < HEADER_LEN as u64 {
            return Err(Error::format(
                path,
                Location::File,
                format!("truncated: {file_len} bytes, shorter than the header"),
            ));
        }
        file.read_exact(&mut header)
            .map_err(|e| Error::io(path, e))?;
        let info = MatrixInfo::decode(path, &header)?;
        let expected = info
            .len
            .checked_mul(Cooccurrence::ENCODED_LEN as u64)
            .and_then(|b| b.checked_add(HEADER_LEN as u64));
        if expected != Some(file_len) {
            return Err(Error::format(
                path,
                Location::File,
                format!("truncated or corrupt: the header announces {} entries but the file has {file_len} bytes", info.len),
            ));
        }
        let fingerprint = vocabulary_fingerprint(vocab.words().iter().map(String::as_str));
        if info.vocab_size != vocab.len() as u64 || info.fingerprint != fingerprint {
            return Err(Error::format(
                path,
                Location::Byte(24),
                format!(
                    "counted with another vocabulary ({} words, fingerprint {:016x}; this one has {} words, fingerprint {:016x})",
                    info.vocab_size,
                    info.fingerprint,
                    vocab.len(),
                    fingerprint
                ),
            ));
        }
        let matrix = Cooccurrences::in_file(info, path.to_path_buf(), None);
        let resident = info.len.saturating_mul(Cooccurrence::ENCODED_LEN as u64);
        if resident <= memory_bytes as u64 {
            let entries = matrix.entries()?;
            return Ok(Cooccurrences::in_memory(info, entries));
        }
        // Check every entry once, so training never meets a bad one late.
        let mut reader = matrix.reader()?;
        let mut block = Vec::new();
        let mut start = 0;
        while start < info.len {
            let n = (info.len - start).min(1 << 16);
            block.clear();
            reader.read_range(start, n as usize, &mut block)?;
            start += n;
        }
        Ok(matrix)
    }

    /// Bytes the matrix holds in memory.
    pub(crate) fn resident_bytes(&self) -> usize {
        match &self.storage {
            Storage::Memory(v) => v.len() * std::mem::size_of::<Cooccurrence>(),
            Storage::File { .. } => 0,
        }
    }

    pub(crate) fn reader(&self) -> Result<EntryReader<'_>> {
        match &self.storage {
            Storage::Memory(v) => Ok(EntryReader::Memory(v)),
            Storage::File { path, .. } => {
                let file = File::open(path).map_err(|e| Error::io(path, e))?;
                Ok(EntryReader::File {
                    path,
                    file,
                    bytes: Vec::new(),
                    vocab_size: self.info.vocab_size,
                })
            }
        }
    }
}

/// Random access to ranges of entries.
pub(crate) enum EntryReader<'a> {
    Memory(&'a [Cooccurrence]),
    File {
        path: &'a Path,
        file: File,
        bytes: Vec<u8>,
        vocab_size: u64,
    },
}

impl EntryReader<'_> {
    /// Appends entries `start..start + n` to `out`.
    pub fn read_range(&mut self, start: u64, n: usize, out: &mut Vec<Cooccurrence>) -> Result<()> {
        match self {
            EntryReader::Memory(v) => {
                let s = start as usize;
                out.extend_from_slice(&v[s..s + n]);
                Ok(())
            }
            EntryReader::File {
                path,
                file,
                bytes,
                vocab_size,
            } => {
                let offset = HEADER_LEN as u64 + start * Cooccurrence::ENCODED_LEN as u64;
                bytes.resize(n * Cooccurrence::ENCODED_LEN, 0);
                file.seek(SeekFrom::Start(offset))
                    .map_err(|e| Error::io(*path, e))?;
                file.read_exact(bytes).map_err(|e| Error::io(*path, e))?;
                for (i, chunk) in bytes.chunks_exact(Cooccurrence::ENCODED_LEN).enumerate() {
                    let e = Cooccurrence::decode(chunk);
                    check_entry(&e, *vocab_size).map_err(|m| {
                        Error::format(
                            *path,
                            Location::Byte(offset + (i * Cooccurrence::ENCODED_LEN) as u64),
                            m,
                        )
                    })?;
                    out.push(e);
                }
                Ok(())
            }
        }
    }
}

fn check_entry(e: &Cooccurrence, vocab_size: u64) -> std::result::Result<(), String> {
    if e.word as u64 >= vocab_size || e.context as u64 >= vocab_size {
        return Err(format!(
            "entry ({}, {}) has an id outside the vocabulary of {vocab_size} words",
            e.word, e.context
        ));
    }
    if !(e.count.is_finite() && e.count > 0.0) {
        return Err(format!(
            "entry ({}, {}) has count {}, not a positive number",
            e.word, e.context, e.count
        ));
    }
    Ok(())
}

pub(crate) fn encode_entries(entries: &[Cooccurrence], bytes: &mut Vec<u8>) {
    bytes.resize(entries.len() * Cooccurrence::ENCODED_LEN, 0);
    for (e, out) in entries
        .iter()
        .zip(bytes.chunks_exact_mut(Cooccurrence::ENCODED_LEN))
    {
        e.encode(out);
    }
}

/// Writes merged entries into memory while they fit `limit` bytes, then
/// moves everything to a matrix file in the spill directory.
pub(crate) struct MatrixSink<'a> {
    info: MatrixInfo,
    spill: &'a SpillDir,
    memory: Vec<Cooccurrence>,
    limit_entries: usize,
    file: Option<(PathBuf, BufWriter<File>)>,
    len: u64,
}

impl<'a> MatrixSink<'a> {
    /// `upper_bound` entries at most will come: the buffer is sized once.
    pub fn new(
        info: MatrixInfo,
        spill: &'a SpillDir,
        limit_bytes: usize,
        upper_bound: u64,
    ) -> Self {
        let limit_entries = limit_bytes / std::mem::size_of::<Cooccurrence>();
        let capacity = (upper_bound.min(limit_entries as u64)) as usize;
        MatrixSink {
            info,
            spill,
            memory: Vec::with_capacity(capacity),
            limit_entries,
            file: None,
            len: 0,
        }
    }

    pub fn push(&mut self, e: Cooccurrence) -> Result<()> {
        self.len += 1;
        if let Some((path, out)) = self.file.as_mut() {
            let mut buf = [0u8; Cooccurrence::ENCODED_LEN];
            e.encode(&mut buf);
            return out.write_all(&buf).map_err(|err| Error::io(&*path, err));
        }
        if self.memory.len() < self.limit_entries {
            self.memory.push(e);
            return Ok(());
        }
        self.len -= 1;
        self.move_to_file()?;
        self.push(e)
    }

    fn move_to_file(&mut self) -> Result<()> {
        let path = self.spill.new_path("matrix");
        let file = File::create(&path).map_err(|e| Error::io(&path, e))?;
        let mut out = BufWriter::with_capacity(1 << 20, file);
        out.write_all(&self.info.encode())
            .map_err(|e| Error::io(&path, e))?;
        let mut bytes = Vec::new();
        for block in self.memory.chunks(1 << 16) {
            encode_entries(block, &mut bytes);
            out.write_all(&bytes).map_err(|e| Error::io(&path, e))?;
        }
        self.memory = Vec::new();
        self.file = Some((path, out));
        Ok(())
    }

    /// Ends the merge: the entries in memory, or the path of the finished
    /// matrix file inside the spill directory.
    pub fn finish(self) -> Result<(MatrixInfo, SinkOutput)> {
        let info = MatrixInfo {
            len: self.len,
            ..self.info
        };
        match self.file {
            None => Ok((info, SinkOutput::Memory(self.memory))),
            Some((path, out)) => {
                let mut file = out
                    .into_inner()
                    .map_err(|e| Error::io(&path, e.into_error()))?;
                file.seek(SeekFrom::Start(0))
                    .map_err(|e| Error::io(&path, e))?;
                file.write_all(&info.encode())
                    .map_err(|e| Error::io(&path, e))?;
                Ok((info, SinkOutput::File(path)))
            }
        }
    }
}

/// Where a [`MatrixSink`] left the entries.
pub(crate) enum SinkOutput {
    Memory(Vec<Cooccurrence>),
    File(PathBuf),
}

impl SinkOutput {
    /// The matrix; a file-backed one keeps the spill directory alive.
    pub fn into_matrix(self, info: MatrixInfo, spill: SpillDir) -> Cooccurrences {
        match self {
            SinkOutput::Memory(v) => Cooccurrences::in_memory(info, v),
            SinkOutput::File(path) => Cooccurrences::in_file(info, path, Some(spill)),
        }
    }
}
