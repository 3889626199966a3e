//! The label tree of a hierarchical-softmax classifier, as prediction walks
//! it.
//!
//! fastText builds its Huffman tree exactly as word2vec does, so training
//! uses [`embed_vocab::HuffmanTree`] (paths and codes per output). The
//! top-k search goes the other way, from the root down, and needs each
//! inner node's children, which this module recovers from those paths.
//! Nodes are numbered as in fastText: leaves `0..n` (outputs in count
//! order), inner node `n + j` owning output row `j`, the root last.

use embed_core::Result;
use embed_vocab::HuffmanTree;

/// The children of every inner node of the tree over the labels' counts.
#[derive(Debug, Clone)]
pub(crate) struct LabelTree {
    leaves: usize,
    /// `[bit 0 child, bit 1 child]` of inner node `leaves + j`.
    children: Vec<[usize; 2]>,
}

impl LabelTree {
    /// The tree over `counts` (non-increasing, as a dictionary lists its
    /// labels). A single label is a tree of one leaf, its root.
    pub(crate) fn new(counts: &[u64]) -> Result<Self> {
        let leaves = counts.len();
        if leaves < 2 {
            return Ok(LabelTree {
                leaves,
                children: Vec::new(),
            });
        }
        let tree = HuffmanTree::new(counts)?;
        let mut children = vec![[0usize; 2]; leaves - 1];
        for leaf in 0..leaves as u32 {
            let (points, code) = (tree.points(leaf), tree.code(leaf));
            // points[k]'s child on the path is points[k + 1], or the leaf
            // itself below the last inner node; code[k] is that child's bit.
            for (k, (&node, &bit)) in points.iter().zip(code).enumerate() {
                let child = points
                    .get(k + 1)
                    .map_or(leaf as usize, |&next| leaves + next as usize);
                children[node as usize][usize::from(bit)] = child;
            }
        }
        Ok(LabelTree { leaves, children })
    }

    /// The root node, if there is any label.
    pub(crate) fn root(&self) -> Option<usize> {
        (2 * self.leaves).checked_sub(2)
    }

    /// The output row of inner node `node`, and its children (bit 0, bit 1);
    /// `None` for a leaf.
    pub(crate) fn inner(&self, node: usize) -> Option<(usize, [usize; 2])> {
        let row = node.checked_sub(self.leaves)?;
        Some((row, *self.children.get(row)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn children_follow_the_merges_of_the_lightest_nodes() {
        // Merges: (3, 2) -> node 4 = row 0 (weight 3); then leaf 1 (weight
        // 3) is not lighter than node 4, so node 4 comes first: (4, 1) ->
        // node 5 = row 1 (weight 6); then (0, 5) -> root 6 = row 2.
        let tree = LabelTree::new(&[5, 3, 2, 1]).unwrap();
        assert_eq!(tree.root(), Some(6));
        assert_eq!(tree.inner(6), Some((2, [0, 5])));
        assert_eq!(tree.inner(5), Some((1, [4, 1])));
        assert_eq!(tree.inner(4), Some((0, [3, 2])));
        assert_eq!(tree.inner(3), None);
    }

    #[test]
    fn one_label_is_its_own_root_and_none_is_empty() {
        let one = LabelTree::new(&[7]).unwrap();
        assert_eq!(one.root(), Some(0));
        assert_eq!(one.inner(0), None);
        assert_eq!(LabelTree::new(&[]).unwrap().root(), None);
    }

    #[test]
    fn unsorted_counts_are_an_error() {
        assert!(LabelTree::new(&[1, 5]).is_err());
    }
}
