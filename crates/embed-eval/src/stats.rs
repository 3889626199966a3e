//! Correlation coefficients, computed as `scipy.stats` computes them.

/// Pearson's correlation coefficient of two equally long samples.
///
/// Like `scipy.stats.pearsonr`: both samples are centred on their mean and
/// scaled to unit length before their dot product, and the result is clipped
/// to `[-1, 1]`. Returns NaN when a sample is constant, shorter than two
/// values, or the lengths differ.
///
/// ```
/// use embed_eval::stats::pearson;
/// let r = pearson(&[1.0, 2.0, 3.0, 4.0], &[2.0, 4.0, 6.0, 8.5]);
/// assert!((r - 0.998381439457).abs() < 1e-12); // scipy.stats.pearsonr
/// ```
pub fn pearson(x: &[f64], y: &[f64]) -> f64 {
    if x.len() != y.len() || x.len() < 2 {
        return f64::NAN;
    }
    let xm = centred_unit(x);
    let ym = centred_unit(y);
    match (xm, ym) {
        (Some(xm), Some(ym)) => {
            let r: f64 = xm.iter().zip(&ym).map(|(a, b)| a * b).sum();
            r.clamp(-1.0, 1.0)
        }
        _ => f64::NAN,
    }
}

/// Spearman's rank correlation: Pearson's coefficient of the ranks, tied
/// values sharing their average rank (as `scipy.stats.spearmanr`).
///
/// ```
/// use embed_eval::stats::spearman;
/// // Any increasing relation has rank correlation 1.
/// assert!((spearman(&[1.0, 2.0, 3.0], &[1.0, 10.0, 100.0]) - 1.0).abs() < 1e-12);
/// ```
pub fn spearman(x: &[f64], y: &[f64]) -> f64 {
    if x.len() != y.len() {
        return f64::NAN;
    }
    pearson(&average_ranks(x), &average_ranks(y))
}

/// 1-based ranks of `values`, ties given the mean of the ranks they span
/// (`scipy.stats.rankdata(method='average')`). NaN sorts last.
///
/// ```
/// use embed_eval::stats::average_ranks;
/// assert_eq!(average_ranks(&[10.0, 20.0, 10.0, 5.0]), vec![2.5, 4.0, 2.5, 1.0]);
/// ```
pub fn average_ranks(values: &[f64]) -> Vec<f64> {
    let mut order: Vec<usize> = (0..values.len()).collect();
    order.sort_by(|&a, &b| values[a].total_cmp(&values[b]));
    let mut ranks = vec![0.0; values.len()];
    let mut start = 0;
    while start < order.len() {
        let value = values[order[start]];
        let mut end = start + 1;
        while end < order.len() && values[order[end]] == value {
            end += 1;
        }
        // Positions start..end hold ranks start+1..=end; their mean:
        let rank = (start + 1 + end) as f64 / 2.0;
        for &i in &order[start..end] {
            ranks[i] = rank;
        }
        start = end;
    }
    ranks
}

/// `values - mean`, scaled to unit length; `None` when all values are equal.
fn centred_unit(values: &[f64]) -> Option<Vec<f64>> {
    let mean = values.iter().sum::<f64>() / values.len() as f64;
    let centred: Vec<f64> = values.iter().map(|v| v - mean).collect();
    let norm = centred.iter().map(|v| v * v).sum::<f64>().sqrt();
    (norm > 0.0 && norm.is_finite()).then(|| centred.iter().map(|v| v / norm).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranks_average_over_ties() {
        assert_eq!(
            average_ranks(&[3.0, 1.0, 4.0, 1.0, 5.0, 9.0, 2.0, 6.0, 5.0, 3.0]),
            vec![4.5, 1.5, 6.0, 1.5, 7.5, 10.0, 3.0, 9.0, 7.5, 4.5]
        );
        assert_eq!(average_ranks(&[2.0, 2.0, 2.0]), vec![2.0, 2.0, 2.0]);
        assert!(average_ranks(&[]).is_empty());
    }

    #[test]
    fn spearman_with_ties_matches_hand_computation() {
        // x ranks: [1.5, 1.5, 3, 4]; y ranks: [1, 2.5, 2.5, 4].
        // Centred: x [-1.0, -1.0, 0.5, 1.5], y [-1.5, 0, 0, 1.5];
        // dot = 1.5 + 2.25 = 3.75; |x|^2 = 4.5, |y|^2 = 4.5 -> rho = 3.75 / 4.5.
        let rho = spearman(&[1.0, 1.0, 2.0, 3.0], &[10.0, 20.0, 20.0, 30.0]);
        assert!((rho - 3.75 / 4.5).abs() < 1e-12, "{rho}");
        // Reversing one sample flips the sign.
        let rho = spearman(&[1.0, 1.0, 2.0, 3.0], &[30.0, 20.0, 20.0, 10.0]);
        assert!((rho + 3.75 / 4.5).abs() < 1e-12, "{rho}");
    }

    #[test]
    fn pearson_matches_hand_computation() {
        // x centred [-1, 0, 1]; y centred [-2, 1, 1] -> 3 / (sqrt 2 * sqrt 6).
        let r = pearson(&[1.0, 2.0, 3.0], &[0.0, 3.0, 3.0]);
        assert!((r - 3.0 / (2f64.sqrt() * 6f64.sqrt())).abs() < 1e-12, "{r}");
        assert!((pearson(&[1.0, 2.0], &[5.0, 1.0]) + 1.0).abs() < 1e-12);
    }

    #[test]
    fn degenerate_samples_give_nan() {
        assert!(pearson(&[1.0, 1.0, 1.0], &[1.0, 2.0, 3.0]).is_nan());
        assert!(pearson(&[1.0], &[1.0]).is_nan());
        assert!(pearson(&[1.0, 2.0], &[1.0]).is_nan());
        assert!(spearman(&[], &[]).is_nan());
    }
}
