//! word2vec's Huffman tree for hierarchical softmax.
//!
//! Built exactly as word2vec C's `CreateBinaryTree`: words are leaves
//! `0..V` (sorted by decreasing count), inner nodes are created in order and
//! numbered `0..V-1` (`V - 2` is the root); at each step the two
//! lightest nodes are merged, preferring a leaf over an inner node on
//! equal weight (the lighter becomes bit 0, the other bit 1). A word's code
//! is its path from the root as bits, and its points are the inner nodes on
//! that path, root first — the rows of the output matrix hierarchical
//! softmax trains.
//!
//! Codes and points are stored flat (one array each plus offsets) so a
//! training step reads them from one contiguous place.

use embed_core::{Error, Result};

/// Huffman codes and inner-node paths for every word.
///
/// ```
/// use embed_vocab::HuffmanTree;
/// let tree = HuffmanTree::new(&[5, 3, 1, 1])?;
/// assert_eq!(tree.len(), 4);
/// assert_eq!(tree.code(0), [1]);          // the most frequent word sits next to the root
/// assert_eq!(tree.points(0), [2]);        // inner node V - 2 = 2 is the root
/// assert_eq!(tree.code(3).len(), 3);
/// assert_eq!(tree.max_code_len(), 3);
/// # Ok::<(), embed_core::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HuffmanTree {
    codes: Vec<u8>,
    points: Vec<u32>,
    offsets: Vec<usize>,
    max_code_len: usize,
}

impl HuffmanTree {
    /// The tree for `counts`, one per word id, which must be non-increasing
    /// (a [`Vocabulary`](crate::Vocabulary)'s counts are) and at least two.
    pub fn new(counts: &[u64]) -> Result<Self> {
        let v = counts.len();
        if v < 2 {
            return Err(Error::InvalidInput(format!(
                "a Huffman tree needs at least 2 words, got {v}"
            )));
        }
        if v > u32::MAX as usize {
            return Err(Error::InvalidInput(format!(
                "a Huffman tree holds at most {} words, got {v}",
                u32::MAX
            )));
        }
        if let Some(i) = counts.windows(2).position(|w| w[0] < w[1]) {
            return Err(Error::InvalidInput(format!(
                "Huffman tree counts must be non-increasing (word {} has {} < {})",
                i,
                counts[i],
                counts[i + 1]
            )));
        }

        // Nodes 0..v are leaves, v..2v-1 inner nodes in creation order.
        let mut weight = vec![u64::MAX; 2 * v - 1];
        weight[..v].copy_from_slice(counts);
        let mut parent = vec![0usize; 2 * v - 1];
        let mut bit = vec![0u8; 2 * v - 1];
        // Leaves are taken from `leaf` downwards (lightest first), inner
        // nodes from `inner` upwards (created in non-decreasing weight).
        let mut leaf = v as isize - 1;
        let mut inner = v;
        let mut lightest = |weight: &[u64]| {
            if leaf >= 0 && weight[leaf as usize] < weight[inner] {
                leaf -= 1;
                (leaf + 1) as usize
            } else {
                inner += 1;
                inner - 1
            }
        };
        for a in 0..v - 1 {
            let first = lightest(&weight);
            let second = lightest(&weight);
            weight[v + a] = weight[first].saturating_add(weight[second]);
            parent[first] = v + a;
            parent[second] = v + a;
            bit[second] = 1;
        }

        let root = 2 * v - 2;
        let mut codes = Vec::new();
        let mut points = Vec::new();
        let mut offsets = Vec::with_capacity(v + 1);
        offsets.push(0);
        let mut max_code_len = 0;
        let mut path = Vec::new();
        for word in 0..v {
            // Walk up to the root, then store the path root first.
            path.clear();
            let mut node = word;
            while node != root {
                path.push(node);
                node = parent[node];
            }
            codes.extend(path.iter().rev().map(|&n| bit[n]));
            points.extend(path.iter().rev().map(|&n| (parent[n] - v) as u32));
            max_code_len = max_code_len.max(path.len());
            offsets.push(codes.len());
        }
        Ok(HuffmanTree {
            codes,
            points,
            offsets,
            max_code_len,
        })
    }

    /// The code of word `id`: bits from the root down. Panics if `id` is
    /// not below [`len`](Self::len).
    #[inline]
    pub fn code(&self, id: u32) -> &[u8] {
        let id = id as usize;
        &self.codes[self.offsets[id]..self.offsets[id + 1]]
    }

    /// The inner nodes on the path of word `id`, root (`V - 2`) first, one
    /// per code bit; each is below `V - 1`. Panics if `id` is out of range.
    #[inline]
    pub fn points(&self, id: u32) -> &[u32] {
        let id = id as usize;
        &self.points[self.offsets[id]..self.offsets[id + 1]]
    }

    /// The longest code.
    pub fn max_code_len(&self) -> usize {
        self.max_code_len
    }

    /// The number of words (leaves).
    pub fn len(&self) -> usize {
        self.offsets.len() - 1
    }

    /// Always false: a tree has at least two words.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}
