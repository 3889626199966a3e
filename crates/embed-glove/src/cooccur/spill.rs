//! Sorted runs spilled to temporary files, and their k-way merge.
//!
//! While counting, each thread's sparse buffer is sorted by `(word,
//! context)`, its duplicates summed, and written as a run of
//! [`PartialCount`]s. The runs (plus the dense table, which is sorted by
//! construction) are merged with a binary heap into the finished matrix,
//! summing the partial counts of equal keys in `f64`. When there are more
//! runs than [`MAX_OPEN_RUNS`], groups of them are first merged into longer
//! runs so the number of open files stays bounded.
//!
//! Everything lives in one [`SpillDir`], a temporary directory that is
//! removed when it is dropped — on success and on error alike.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::fs::File;
use std::io::{BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use embed_core::{Error, Result};

use super::record::PartialCount;

/// Most run files opened at once by one merge.
pub(crate) const MAX_OPEN_RUNS: usize = 64;
/// Read buffer per open run.
const RUN_READ_BUFFER: usize = 64 * 1024;

/// A private temporary directory holding spilled runs; removed on drop.
#[derive(Debug)]
pub(crate) struct SpillDir {
    dir: tempfile::TempDir,
    next: AtomicUsize,
}

impl SpillDir {
    /// Creates `embed-glove-XXXX` inside `parent`.
    pub fn create_in(parent: &Path) -> Result<SpillDir> {
        let dir = tempfile::Builder::new()
            .prefix("embed-glove-")
            .tempdir_in(parent)
            .map_err(|e| Error::io(parent, e))?;
        Ok(SpillDir {
            dir,
            next: AtomicUsize::new(0),
        })
    }

    #[cfg(test)]
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// A fresh file name inside the directory.
    pub fn new_path(&self, kind: &str) -> PathBuf {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        self.dir.path().join(format!("{kind}_{n:05}.bin"))
    }

    /// Sorts `entries` by key, sums duplicates and writes them as a new run.
    /// Leaves `entries` empty (its capacity is kept for reuse).
    pub fn write_run(&self, entries: &mut Vec<PartialCount>) -> Result<PathBuf> {
        entries.sort_unstable_by_key(PartialCount::key);
        let path = self.new_path("run");
        let file = File::create(&path).map_err(|e| Error::io(&path, e))?;
        let mut out = BufWriter::with_capacity(RUN_READ_BUFFER, file);
        let mut write = |p: &PartialCount| p.write_to(&mut out).map_err(|e| Error::io(&path, e));
        let mut pending: Option<PartialCount> = None;
        for entry in entries.drain(..) {
            match pending.as_mut() {
                Some(p) if p.key() == entry.key() => p.count += entry.count,
                Some(p) => {
                    write(p)?;
                    pending = Some(entry);
                }
                None => pending = Some(entry),
            }
        }
        if let Some(p) = pending {
            write(&p)?;
        }
        out.flush().map_err(|e| Error::io(&path, e))?;
        Ok(path)
    }

    /// Merges runs until at most `MAX_OPEN_RUNS` remain, deleting merged ones.
    pub fn reduce_runs(&self, mut runs: Vec<PathBuf>) -> Result<Vec<PathBuf>> {
        while runs.len() > MAX_OPEN_RUNS {
            let group: Vec<PathBuf> = runs.drain(..MAX_OPEN_RUNS).collect();
            let path = self.new_path("run");
            let file = File::create(&path).map_err(|e| Error::io(&path, e))?;
            let mut out = BufWriter::with_capacity(RUN_READ_BUFFER, file);
            let sources = open_runs(&group)?;
            merge_sorted(sources, |p| {
                p.write_to(&mut out).map_err(|e| Error::io(&path, e))
            })?;
            out.flush().map_err(|e| Error::io(&path, e))?;
            for old in &group {
                std::fs::remove_file(old).map_err(|e| Error::io(old, e))?;
            }
            runs.push(path);
        }
        Ok(runs)
    }
}

/// A stream of entries sorted by `(word, context)`.
pub(crate) trait SortedSource {
    fn next_entry(&mut self) -> Result<Option<PartialCount>>;
}

/// Reads a spilled run back.
pub(crate) struct RunReader {
    path: PathBuf,
    input: BufReader<File>,
}

impl SortedSource for RunReader {
    fn next_entry(&mut self) -> Result<Option<PartialCount>> {
        PartialCount::read_from(&mut self.input).map_err(|e| Error::io(&self.path, e))
    }
}

pub(crate) fn open_runs(paths: &[PathBuf]) -> Result<Vec<Box<dyn SortedSource + '_>>> {
    paths
        .iter()
        .map(|path| {
            let file = File::open(path).map_err(|e| Error::io(path, e))?;
            let reader = RunReader {
                path: path.clone(),
                input: BufReader::with_capacity(RUN_READ_BUFFER, file),
            };
            Ok(Box::new(reader) as Box<dyn SortedSource>)
        })
        .collect()
}

/// K-way merge of sorted sources; entries with equal keys are summed and
/// handed to `emit` once, in key order.
pub(crate) fn merge_sorted<'a>(
    mut sources: Vec<Box<dyn SortedSource + 'a>>,
    mut emit: impl FnMut(&PartialCount) -> Result<()>,
) -> Result<()> {
    let mut heads: Vec<Option<PartialCount>> = Vec::with_capacity(sources.len());
    let mut heap = BinaryHeap::with_capacity(sources.len());
    for (i, source) in sources.iter_mut().enumerate() {
        let head = source.next_entry()?;
        if let Some(h) = head {
            heap.push(Reverse((h.key(), i)));
        }
        heads.push(head);
    }
    let mut pending: Option<PartialCount> = None;
    while let Some(Reverse((_, i))) = heap.pop() {
        let Some(entry) = heads[i].take() else {
            continue;
        };
        match pending.as_mut() {
            Some(p) if p.key() == entry.key() => p.count += entry.count,
            Some(p) => {
                emit(p)?;
                pending = Some(entry);
            }
            None => pending = Some(entry),
        }
        let next = sources[i].next_entry()?;
        if let Some(n) = next {
            heap.push(Reverse((n.key(), i)));
        }
        heads[i] = next;
    }
    if let Some(p) = pending {
        emit(&p)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pc(word: u32, context: u32, count: f64) -> PartialCount {
        PartialCount {
            word,
            context,
            count,
        }
    }

    #[test]
    fn runs_merge_into_one_sorted_sum_and_the_directory_is_removed() {
        let parent = tempfile::tempdir().unwrap();
        let dir_path;
        {
            let spill = SpillDir::create_in(parent.path()).unwrap();
            dir_path = spill.path().to_path_buf();
            let mut runs = Vec::new();
            // 150 runs forces two rounds of reduction.
            for r in 0..150u32 {
                let mut entries = vec![pc(r % 3, 1, 1.0), pc(0, 0, 0.5), pc(r % 3, 1, 1.0)];
                runs.push(spill.write_run(&mut entries).unwrap());
                assert!(entries.is_empty());
            }
            let runs = spill.reduce_runs(runs).unwrap();
            assert!(runs.len() <= MAX_OPEN_RUNS);
            let mut merged = Vec::new();
            merge_sorted(open_runs(&runs).unwrap(), |p| {
                merged.push(*p);
                Ok(())
            })
            .unwrap();
            assert_eq!(
                merged,
                vec![
                    pc(0, 0, 75.0),
                    pc(0, 1, 100.0),
                    pc(1, 1, 100.0),
                    pc(2, 1, 100.0)
                ]
            );
        }
        assert!(
            !dir_path.exists(),
            "spill directory must be removed on drop"
        );
    }

    #[test]
    fn an_unwritable_parent_is_an_io_error_naming_it() {
        let err = SpillDir::create_in(Path::new("/nonexistent/embed-glove-test")).unwrap_err();
        assert!(matches!(err, Error::Io { .. }), "{err}");
        assert!(err.to_string().contains("/nonexistent/embed-glove-test"));
    }
}
