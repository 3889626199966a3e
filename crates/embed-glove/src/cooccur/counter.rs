//! Counting co-occurrences of one corpus shard within a memory budget.
//!
//! As in GloVe's `cooccur`, pairs of frequent words — ids whose
//! (1-based) frequency ranks have a product at most `max_product` — are
//! accumulated in a dense table: row `w` holds columns
//! `0..min(V, max_product / (w + 1))`, so the table covers the head of the
//! Zipf distribution where almost every pair occurs. All other pairs go to a
//! sparse buffer which, when full, is sorted, summed and spilled as a run
//! (see [`super::spill`]). The dense table accumulates in `f64`: the most
//! frequent pairs collect millions of `1/d` terms, and at `10^6` an `f32`
//! steps by 0.06.

use embed_core::Result;

use super::record::PartialCount;
use super::spill::{SortedSource, SpillDir};
use std::path::PathBuf;

/// Bytes of one dense-table cell.
const DENSE_CELL: usize = std::mem::size_of::<f64>();
/// Bytes of one sparse-buffer entry.
const SPARSE_ENTRY: usize = std::mem::size_of::<PartialCount>();

/// Shape of the dense table: which pairs it holds and where.
#[derive(Debug, Clone)]
pub(crate) struct DenseLayout {
    max_product: u64,
    /// `offsets[w]..offsets[w + 1]` are row `w`'s cells.
    offsets: Vec<usize>,
}

impl DenseLayout {
    /// The largest table of at most `bytes` for a vocabulary of `vocab_size`.
    pub fn for_budget(vocab_size: usize, bytes: usize) -> DenseLayout {
        let cells = bytes / DENSE_CELL;
        let size_for = |p: u64| -> usize {
            (1..=vocab_size as u64)
                .map(|r| (p / r).min(vocab_size as u64) as usize)
                .sum()
        };
        // Largest max_product whose table fits (the size grows with it).
        let (mut lo, mut hi) = (0u64, (vocab_size as u64).saturating_mul(vocab_size as u64));
        while lo < hi {
            let mid = lo + (hi - lo).div_ceil(2);
            if size_for(mid) <= cells {
                lo = mid;
            } else {
                hi = mid - 1;
            }
        }
        let max_product = lo;
        let mut offsets = Vec::with_capacity(vocab_size + 1);
        offsets.push(0);
        for r in 1..=vocab_size as u64 {
            let len = (max_product / r).min(vocab_size as u64) as usize;
            offsets.push(offsets.last().copied().unwrap_or(0) + len);
        }
        DenseLayout {
            max_product,
            offsets,
        }
    }

    pub fn cells(&self) -> usize {
        self.offsets.last().copied().unwrap_or(0)
    }

    #[inline]
    fn index(&self, word: u32, context: u32) -> Option<usize> {
        let product = (word as u64 + 1) * (context as u64 + 1);
        (product <= self.max_product).then(|| self.offsets[word as usize] + context as usize)
    }
}

/// How one shard counts: window, direction, buffer sizes.
#[derive(Debug, Clone, Copy)]
pub(crate) struct CountingShape {
    pub window: usize,
    pub symmetric: bool,
    /// Sparse entries buffered before a spill.
    pub sparse_capacity: usize,
}

impl CountingShape {
    /// Sparse entries one target word can add.
    pub fn entries_per_word(&self) -> usize {
        if self.symmetric {
            2 * self.window
        } else {
            self.window
        }
    }

    pub fn sparse_capacity_for(bytes: usize) -> usize {
        bytes / SPARSE_ENTRY
    }
}

/// The counts of one shard: its own dense table plus spilled runs.
pub(crate) struct ShardCounter<'a> {
    layout: &'a DenseLayout,
    shape: CountingShape,
    spill: &'a SpillDir,
    dense: Vec<f64>,
    sparse: Vec<PartialCount>,
    runs: Vec<PathBuf>,
    tokens: u64,
}

impl<'a> ShardCounter<'a> {
    pub fn new(layout: &'a DenseLayout, shape: CountingShape, spill: &'a SpillDir) -> Self {
        ShardCounter {
            layout,
            shape,
            spill,
            dense: vec![0.0; layout.cells()],
            sparse: Vec::with_capacity(shape.sparse_capacity),
            runs: Vec::new(),
            tokens: 0,
        }
    }

    /// Counts the pairs of one sentence of in-vocabulary ids.
    ///
    /// Each word pairs with the `window` words on its left, weighted by
    /// `1 / distance`; the left word is the entry's `word`, the right one
    /// its `context`, and a symmetric count adds the mirrored entry too —
    /// GloVe's `cooccur` convention.
    pub fn add_sentence(&mut self, ids: &[u32]) -> Result<()> {
        let window = self.shape.window;
        for (j, &right) in ids.iter().enumerate() {
            if self.sparse.len() + self.shape.entries_per_word() > self.shape.sparse_capacity {
                self.spill_sparse()?;
            }
            for (k, &left) in ids[j.saturating_sub(window)..j].iter().enumerate().rev() {
                let distance = (j.min(window) - k) as f64;
                let weight = 1.0 / distance;
                self.add(left, right, weight);
                if self.shape.symmetric {
                    self.add(right, left, weight);
                }
            }
        }
        self.tokens += ids.len() as u64;
        Ok(())
    }

    #[inline]
    fn add(&mut self, word: u32, context: u32, weight: f64) {
        match self.layout.index(word, context) {
            Some(i) => self.dense[i] += weight,
            None => self.sparse.push(PartialCount {
                word,
                context,
                count: weight,
            }),
        }
    }

    fn spill_sparse(&mut self) -> Result<()> {
        if !self.sparse.is_empty() {
            let run = self.spill.write_run(&mut self.sparse)?;
            self.runs.push(run);
        }
        Ok(())
    }

    /// Spills what is buffered and hands over the shard's counts.
    pub fn finish(mut self) -> Result<ShardCount> {
        self.spill_sparse()?;
        Ok(ShardCount {
            dense: self.dense,
            runs: self.runs,
            tokens: self.tokens,
        })
    }
}

/// What one shard counted: its dense table, its spilled runs, its tokens.
pub(crate) struct ShardCount {
    pub dense: Vec<f64>,
    pub runs: Vec<PathBuf>,
    pub tokens: u64,
}

/// Adds `other` into `into` (tables of the same layout).
pub(crate) fn add_tables(into: &mut [f64], other: &[f64]) {
    for (a, b) in into.iter_mut().zip(other) {
        *a += b;
    }
}

/// The non-zero cells of a dense table, in key order.
pub(crate) struct DenseSource<'a> {
    layout: &'a DenseLayout,
    table: &'a [f64],
    word: usize,
    cell: usize,
}

impl<'a> DenseSource<'a> {
    pub fn new(layout: &'a DenseLayout, table: &'a [f64]) -> Self {
        DenseSource {
            layout,
            table,
            word: 0,
            cell: 0,
        }
    }
}

impl SortedSource for DenseSource<'_> {
    fn next_entry(&mut self) -> Result<Option<PartialCount>> {
        while self.cell < self.table.len() {
            while self.cell >= self.layout.offsets[self.word + 1] {
                self.word += 1;
            }
            let cell = self.cell;
            self.cell += 1;
            if self.table[cell] != 0.0 {
                return Ok(Some(PartialCount {
                    word: self.word as u32,
                    context: (cell - self.layout.offsets[self.word]) as u32,
                    count: self.table[cell],
                }));
            }
        }
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_fits_its_budget_and_covers_the_frequent_pairs() {
        let layout = DenseLayout::for_budget(1000, 80_000);
        assert!(layout.cells() * DENSE_CELL <= 80_000);
        assert!(layout.cells() * DENSE_CELL > 60_000, "{}", layout.cells());
        assert!(layout.index(0, 0).is_some());
        assert!(layout.index(999, 999).is_none());
        let none = DenseLayout::for_budget(1000, 0);
        assert_eq!(none.cells(), 0);
        assert!(none.index(0, 0).is_none());
    }

    #[test]
    fn weights_are_inverse_distances_within_the_window() {
        let parent = tempfile::tempdir().unwrap();
        let spill = SpillDir::create_in(parent.path()).unwrap();
        let layout = DenseLayout::for_budget(4, 1 << 20);
        let shape = CountingShape {
            window: 2,
            symmetric: false,
            sparse_capacity: 64,
        };
        let mut counter = ShardCounter::new(&layout, shape, &spill);
        counter.add_sentence(&[0, 1, 2, 3]).unwrap();
        let ShardCount {
            dense: table,
            runs,
            tokens,
        } = counter.finish().unwrap();
        assert!(runs.is_empty());
        assert_eq!(tokens, 4);
        let mut entries = Vec::new();
        let mut source = DenseSource::new(&layout, &table);
        while let Some(e) = source.next_entry().unwrap() {
            entries.push((e.word, e.context, e.count));
        }
        // Left word first: (0,1) at distance 1, (0,2) at 2, (1,2), (1,3) at 2, (2,3).
        assert_eq!(
            entries,
            vec![
                (0, 1, 1.0),
                (0, 2, 0.5),
                (1, 2, 1.0),
                (1, 3, 0.5),
                (2, 3, 1.0)
            ]
        );
    }
}
