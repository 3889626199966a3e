//! Partial selection of the highest scores.

/// Indices of the `k` highest scores, best first; equal scores keep index
/// order, NaN never ranks.
pub(crate) fn top_k(scores: impl IntoIterator<Item = f32>, k: usize) -> Vec<usize> {
    let mut best: Vec<(f32, usize)> = Vec::with_capacity(k + 1);
    if k == 0 {
        return Vec::new();
    }
    for (index, score) in scores.into_iter().enumerate() {
        if best.len() == k && score <= best[k - 1].0 || score.is_nan() {
            continue;
        }
        // First position holding a strictly lower score: ties stay in index order.
        let at = best.partition_point(|&(s, _)| s >= score);
        best.insert(at, (score, index));
        best.truncate(k);
    }
    best.into_iter().map(|(_, index)| index).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn picks_highest_in_order_with_ties_by_index() {
        let scores = [0.1, 0.9, f32::NAN, 0.5, 0.9, -1.0, 0.7];
        assert_eq!(top_k(scores, 3), vec![1, 4, 6]);
        assert_eq!(top_k(scores, 10), vec![1, 4, 6, 3, 0, 5]);
        assert!(top_k(scores, 0).is_empty());
        assert!(top_k([], 3).is_empty());
    }
}
