//! fastText's Huffman tree for hierarchical softmax.
//!
//! Leaves are outputs `0..n` in count order (most frequent first); inner
//! node `n + j` owns row `j` of the output matrix. Built as fastText's
//! `HierarchicalSoftmaxLoss::buildTree` builds it, so a model's inner-node
//! rows line up with the tool's.

/// One node of the tree.
#[derive(Debug, Clone, Copy)]
struct Node {
    parent: Option<usize>,
    left: Option<usize>,
    right: Option<usize>,
    count: u64,
    /// Whether this node is its parent's right child (code bit 1).
    binary: bool,
}

/// The tree, with each leaf's path of inner nodes and code bits.
#[derive(Debug, Clone)]
pub struct HuffmanTree {
    nodes: Vec<Node>,
    leaves: usize,
    paths: Vec<Vec<u32>>,
    codes: Vec<Vec<bool>>,
}

/// Count given to inner nodes before they are merged (fastText's 1e15).
const UNMERGED: u64 = 1_000_000_000_000_000;

impl HuffmanTree {
    /// Builds the tree over `counts` (sorted in decreasing order, as a
    /// fastText dictionary lists them).
    ///
    /// ```
    /// let tree = embed_fasttext::tree::HuffmanTree::new(&[5, 3, 2]);
    /// assert_eq!(tree.path(0).len(), 1); // the most frequent leaf sits near the root
    /// assert_eq!(tree.path(2).len(), 2);
    /// ```
    pub fn new(counts: &[u64]) -> Self {
        let n = counts.len();
        let blank = Node {
            parent: None,
            left: None,
            right: None,
            count: UNMERGED,
            binary: false,
        };
        let mut nodes = vec![blank; (2 * n).saturating_sub(1)];
        for (node, &c) in nodes.iter_mut().zip(counts) {
            node.count = c;
        }
        // Leaves are consumed from the rarest (the end) upwards; merged
        // nodes are created in increasing count order from n onwards.
        let mut leaf = n as isize - 1;
        let mut next = n;
        for i in n..nodes.len() {
            let mut pick = [0usize; 2];
            for slot in &mut pick {
                if leaf >= 0 && nodes[leaf as usize].count < nodes[next].count {
                    *slot = leaf as usize;
                    leaf -= 1;
                } else {
                    *slot = next;
                    next += 1;
                }
            }
            nodes[i].left = Some(pick[0]);
            nodes[i].right = Some(pick[1]);
            nodes[i].count = nodes[pick[0]].count + nodes[pick[1]].count;
            nodes[pick[0]].parent = Some(i);
            nodes[pick[1]].parent = Some(i);
            nodes[pick[1]].binary = true;
        }
        let mut paths = Vec::with_capacity(n);
        let mut codes = Vec::with_capacity(n);
        for i in 0..n {
            let (mut path, mut code) = (Vec::new(), Vec::new());
            let mut j = i;
            while let Some(p) = nodes[j].parent {
                path.push((p - n) as u32);
                code.push(nodes[j].binary);
                j = p;
            }
            paths.push(path);
            codes.push(code);
        }
        HuffmanTree {
            nodes,
            leaves: n,
            paths,
            codes,
        }
    }

    /// Output-matrix rows of the inner nodes from leaf `i` up to the root.
    pub fn path(&self, i: usize) -> &[u32] {
        &self.paths[i]
    }

    /// Code bits along [`HuffmanTree::path`] (true: right child).
    pub fn code(&self, i: usize) -> &[bool] {
        &self.codes[i]
    }

    /// Number of leaves.
    pub fn leaves(&self) -> usize {
        self.leaves
    }

    /// The root node index (none for an empty tree).
    pub(crate) fn root(&self) -> Option<usize> {
        self.nodes.len().checked_sub(1)
    }

    /// Children of inner node `node`, or `None` for a leaf.
    pub(crate) fn children(&self, node: usize) -> Option<(usize, usize)> {
        let n = &self.nodes[node];
        n.left.zip(n.right)
    }
}
