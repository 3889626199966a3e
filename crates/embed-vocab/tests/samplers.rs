//! Subsampling, negative-sampling noise and the Huffman tree.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use embed_core::seed::Lcg;
use embed_vocab::{HuffmanTree, InMemoryCorpus, NoiseSampler, Subsampler, VocabParams, Vocabulary};
use proptest::prelude::*;

#[test]
fn word2vec_subsampling_formula() {
    // Counts 1000, 100, 10, 1: T = 1111.
    let mut text = String::new();
    for (w, n) in [("a", 1000), ("b", 100), ("c", 10), ("d", 1)] {
        for _ in 0..n {
            text.push_str(w);
            text.push(' ');
        }
    }
    let vocab = Vocabulary::build(
        &InMemoryCorpus::from_text(&text),
        &VocabParams::builder().min_count(1).build().unwrap(),
    )
    .unwrap();
    let sample = 1e-3;
    let sub = Subsampler::new(&vocab, sample).unwrap();
    for (id, &f) in vocab.counts().iter().enumerate() {
        let st = sample * 1111.0;
        let expected = ((f as f64 / st).sqrt() + 1.0) * st / f as f64;
        let got = sub.keep_probability(id as u32) as f64;
        assert!(
            (got - expected).abs() <= 1e-6 * expected,
            "{id}: {got} vs {expected}"
        );
    }
    // Monotone: more frequent words are kept less often.
    assert!(sub.probabilities().windows(2).all(|p| p[0] <= p[1]));
    // keep() compares a uniform draw against the probability.
    let p0 = sub.keep_probability(0);
    assert!(sub.keep(0, p0 * 0.99));
    assert!(!sub.keep(0, (p0 * 1.01).min(0.999_999)));

    let ft = Subsampler::fasttext(&vocab, 1e-4).unwrap();
    let r = 1000.0 / 1111.0;
    let expected = (1e-4f64 / r).sqrt() + 1e-4 / r;
    assert!((ft.keep_probability(0) as f64 - expected).abs() < 1e-6);

    assert!(Subsampler::new(&vocab, -1.0).is_err());
    assert!(Subsampler::new(&vocab, f64::NAN).is_err());
    assert!(Subsampler::fasttext(&vocab, f64::INFINITY).is_err());
    assert!(Subsampler::new(&vocab, 0.0)
        .unwrap()
        .probabilities()
        .iter()
        .all(|&p| p == 1.0));
}

/// Huffman cost Σ count·depth by the textbook heap construction.
fn optimal_cost(counts: &[u64]) -> u128 {
    let mut heap: BinaryHeap<Reverse<u128>> = counts.iter().map(|&c| Reverse(c as u128)).collect();
    let mut cost = 0;
    while heap.len() > 1 {
        let (Reverse(a), Reverse(b)) = (heap.pop().unwrap(), heap.pop().unwrap());
        cost += a + b;
        heap.push(Reverse(a + b));
    }
    cost
}

fn sorted_counts() -> impl Strategy<Value = Vec<u64>> {
    prop::collection::vec(0u64..10_000, 2..200).prop_map(|mut c| {
        c.sort_unstable_by(|a, b| b.cmp(a));
        c
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(100))]

    #[test]
    fn huffman_codes_are_an_optimal_prefix_code(counts in sorted_counts()) {
        let tree = HuffmanTree::new(&counts).unwrap();
        let v = counts.len();
        prop_assert_eq!(tree.len(), v);
        let codes: Vec<&[u8]> = (0..v as u32).map(|i| tree.code(i)).collect();
        // Kraft equality: a full binary tree.
        let kraft: f64 = codes.iter().map(|c| 0.5f64.powi(c.len() as i32)).sum();
        prop_assert!((kraft - 1.0).abs() < 1e-9);
        // Prefix-free.
        for (i, a) in codes.iter().enumerate() {
            for (j, b) in codes.iter().enumerate() {
                prop_assert!(i == j || !b.starts_with(a), "{} prefixes {}", i, j);
            }
        }
        // More frequent words never get longer codes.
        for i in 1..v {
            prop_assert!(codes[i - 1].len() <= codes[i].len());
        }
        // Optimal cost.
        let cost: u128 = codes.iter().zip(&counts).map(|(c, &n)| c.len() as u128 * n as u128).sum();
        prop_assert_eq!(cost, optimal_cost(&counts));
        prop_assert_eq!(tree.max_code_len(), codes.iter().map(|c| c.len()).max().unwrap());
        // Points: one per bit, root first, all inner nodes; equal prefixes
        // share points.
        for i in 0..v as u32 {
            let points = tree.points(i);
            prop_assert_eq!(points.len(), tree.code(i).len());
            prop_assert_eq!(points[0] as usize, v - 2);
            prop_assert!(points.iter().all(|&p| (p as usize) < v - 1));
            prop_assert!(tree.code(i).iter().all(|&b| b <= 1));
        }
        for a in 0..v as u32 {
            for b in 0..v as u32 {
                let common = tree.code(a).iter().zip(tree.code(b)).take_while(|(x, y)| x == y).count();
                let k = (common + 1).min(tree.points(a).len()).min(tree.points(b).len());
                prop_assert_eq!(&tree.points(a)[..k], &tree.points(b)[..k]);
            }
        }
    }

    /// Empirical frequencies of 200 000 draws match count^0.75 / Z within
    /// five standard deviations (plus 2e-4 for the 32-bit thresholds).
    #[test]
    fn noise_frequencies_match_powered_counts(
        counts in prop::collection::vec(0u64..1000, 1..40),
        seed in 1u64..1_000_000,
    ) {
        prop_assume!(counts.iter().any(|&c| c > 0));
        let sampler = NoiseSampler::new(&counts, 0.75).unwrap();
        let z: f64 = counts.iter().map(|&c| (c as f64).powf(0.75)).sum();
        const DRAWS: usize = 200_000;
        let mut seen = vec![0usize; counts.len()];
        let mut rng = Lcg::new(seed);
        for _ in 0..DRAWS {
            seen[sampler.sample(rng.next_u64()) as usize] += 1;
        }
        for (i, (&c, &n)) in counts.iter().zip(&seen).enumerate() {
            let p = (c as f64).powf(0.75) / z;
            prop_assert!((sampler.probability(i as u32) - p).abs() < 1e-12);
            let empirical = n as f64 / DRAWS as f64;
            let sd = (p * (1.0 - p) / DRAWS as f64).sqrt();
            prop_assert!((empirical - p).abs() <= 5.0 * sd + 2e-4, "id {}: {} vs {}", i, empirical, p);
            if c == 0 {
                prop_assert_eq!(n, 0);
            }
        }
    }
}

#[test]
fn huffman_rejects_bad_counts() {
    assert!(HuffmanTree::new(&[5]).is_err());
    assert!(HuffmanTree::new(&[1, 5]).is_err());
    let two = HuffmanTree::new(&[3, 3]).unwrap();
    assert_eq!((two.code(0), two.code(1)), (&[1u8][..], &[0u8][..]));
    assert_eq!(two.points(1), [0]);
}
