//! Turning token vectors into one vector per sequence or per word.

use ndarray::{Array2, ArrayView2, ArrayView3, ArrayViewMut1, Axis};
use serde::{Deserialize, Serialize};

/// How a sequence's token vectors become one vector.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Pooling {
    /// Mean over the real tokens (`[CLS]` and `[SEP]` included), as
    /// sentence-transformers does.
    Mean,
    /// The `[CLS]` vector.
    Cls,
    /// Element-wise maximum over the real tokens.
    Max,
}

impl std::str::FromStr for Pooling {
    type Err = embed_core::Error;

    /// Parses `mean`, `cls` or `max`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "mean" => Ok(Pooling::Mean),
            "cls" => Ok(Pooling::Cls),
            "max" => Ok(Pooling::Max),
            other => Err(embed_core::Error::invalid_parameter(
                "pooling",
                format!("`{other}` is not one of mean, cls, max"),
            )),
        }
    }
}

/// How a word's pieces become one vector.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum WordPooling {
    /// The vector of the word's first piece.
    First,
    /// The mean of its pieces' vectors.
    Mean,
}

/// Pools `[batch, length, hidden]` token vectors into `[batch, hidden]`
/// using `mask` (`[batch, length]`, non-zero on real tokens).
///
/// ```
/// use embed_bert::pooling::{pool, Pooling};
/// use ndarray::array;
/// let hidden = array![[[1.0f32, 4.0], [3.0, 0.0], [100.0, 100.0]]];
/// let mask = array![[1u32, 1, 0]];
/// assert_eq!(pool(hidden.view(), mask.view(), Pooling::Mean), array![[2.0, 2.0]]);
/// assert_eq!(pool(hidden.view(), mask.view(), Pooling::Max), array![[3.0, 4.0]]);
/// assert_eq!(pool(hidden.view(), mask.view(), Pooling::Cls), array![[1.0, 4.0]]);
/// ```
pub fn pool(
    hidden: ArrayView3<'_, f32>,
    mask: ArrayView2<'_, u32>,
    pooling: Pooling,
) -> Array2<f32> {
    let (b, _, h) = hidden.dim();
    let mut out = Array2::zeros((b, h));
    for ((seq, m), target) in hidden
        .outer_iter()
        .zip(mask.outer_iter())
        .zip(out.outer_iter_mut())
    {
        let rows = seq
            .outer_iter()
            .zip(m.iter())
            .filter(|(_, &keep)| keep != 0)
            .map(|(row, _)| row);
        pool_rows(rows, pooling, target);
    }
    out
}

/// Pools a set of rows into `target`; no rows leave it zero.
pub fn pool_rows<'a, I>(rows: I, pooling: Pooling, mut target: ArrayViewMut1<'_, f32>)
where
    I: Iterator<Item = ndarray::ArrayView1<'a, f32>>,
{
    target.fill(0.0);
    match pooling {
        Pooling::Mean => {
            let mut count = 0usize;
            for row in rows {
                target += &row;
                count += 1;
            }
            if count > 0 {
                target /= count as f32;
            }
        }
        Pooling::Cls => {
            if let Some(first) = rows.into_iter().next() {
                target.assign(&first);
            }
        }
        Pooling::Max => {
            let mut any = false;
            for row in rows {
                if any {
                    target.zip_mut_with(&row, |t, &x| *t = t.max(x));
                } else {
                    target.assign(&row);
                    any = true;
                }
            }
        }
    }
}

/// Divides every row by `max(‖row‖₂, 1e-12)`, as PyTorch's `normalize`.
///
/// ```
/// use embed_bert::pooling::normalize_rows;
/// use ndarray::array;
/// let mut x = array![[3.0f32, 4.0], [0.0, 0.0]];
/// normalize_rows(&mut x);
/// assert_eq!(x, array![[0.6, 0.8], [0.0, 0.0]]);
/// ```
pub fn normalize_rows(x: &mut Array2<f32>) {
    for mut row in x.axis_iter_mut(Axis(0)) {
        let norm = row.iter().map(|v| v * v).sum::<f32>().sqrt();
        row /= norm.max(1e-12);
    }
}

/// Cosine similarity of two vectors (0 when either is zero).
///
/// ```
/// assert!((embed_bert::pooling::cosine(&[1.0, 0.0], &[1.0, 1.0]) - 0.70710677).abs() < 1e-6);
/// ```
pub fn cosine(a: &[f32], b: &[f32]) -> f32 {
    let dot: f32 = a.iter().zip(b).map(|(x, y)| x * y).sum();
    let na = a.iter().map(|x| x * x).sum::<f32>().sqrt();
    let nb = b.iter().map(|x| x * x).sum::<f32>().sqrt();
    if na == 0.0 || nb == 0.0 {
        0.0
    } else {
        dot / (na * nb)
    }
}
