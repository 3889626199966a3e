//! The noise distribution of negative sampling: word ids drawn with
//! probability `count^power / Z` (power 0.75 in word2vec and fastText).
//!
//! word2vec C fills a table of 10^8 ids (400 MB) and indexes it with a
//! random number; fastText a table of 10^7. This sampler uses Walker's alias
//! method instead: one 8-byte entry per word (a 100k-word vocabulary takes
//! 800 kB and stays in cache), exact probabilities (up to 2^-32 resolution)
//! and O(1) draws — one multiply, one load and a compare. See
//! `docs/bench/vocab.md` for the speed against a 10^7 unigram table.

use embed_core::{Error, Result};

/// One column of the alias table: keep the column's own id when the coin
/// falls below `threshold`, else take `alias`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Column {
    threshold: u32,
    alias: u32,
}

/// Draws word ids with probability ∝ `count^power`, from the caller's
/// random numbers (so each training thread keeps its own reproducible
/// generator).
///
/// ```
/// use embed_vocab::NoiseSampler;
/// use embed_core::seed::Lcg;
/// let sampler = NoiseSampler::new(&[100, 10, 0, 1], 0.75)?;
/// assert!((sampler.probability(2)) == 0.0);
/// let mut rng = Lcg::new(1);
/// let mut seen = [0u32; 4];
/// for _ in 0..10_000 {
///     seen[sampler.sample(rng.next_u64()) as usize] += 1;
/// }
/// assert_eq!(seen[2], 0);
/// assert!(seen[0] > seen[1] && seen[1] > seen[3]);
/// # Ok::<(), embed_core::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct NoiseSampler {
    columns: Vec<Column>,
    probabilities: Vec<f64>,
}

impl NoiseSampler {
    /// The sampler for `counts` (one per word id) raised to `power`.
    ///
    /// Fails when there are no counts, more than `u32::MAX` of them, all are
    /// zero, or `power` is not a finite number `>= 0`.
    pub fn new(counts: &[u64], power: f64) -> Result<Self> {
        if !power.is_finite() || power < 0.0 {
            return Err(Error::invalid_parameter(
                "power",
                format!("must be a finite number >= 0, got {power}"),
            ));
        }
        if counts.is_empty() || counts.len() > u32::MAX as usize {
            return Err(Error::InvalidInput(format!(
                "a noise distribution needs between 1 and {} words, got {}",
                u32::MAX,
                counts.len()
            )));
        }
        // 0^0 would be 1: a word never seen is never drawn.
        let weights: Vec<f64> = counts
            .iter()
            .map(|&c| if c == 0 { 0.0 } else { (c as f64).powf(power) })
            .collect();
        let z: f64 = weights.iter().sum();
        if z <= 0.0 || !z.is_finite() {
            return Err(Error::InvalidInput(
                "a noise distribution needs at least one word with a positive count".into(),
            ));
        }
        let probabilities: Vec<f64> = weights.iter().map(|w| w / z).collect();
        Ok(NoiseSampler {
            columns: build_alias_table(&probabilities),
            probabilities,
        })
    }

    /// A word id drawn from the noise distribution, using the 64 bits of
    /// `random`. Any generator's output works, word2vec's LCG included: the
    /// column comes from the high 32 bits and the coin mixes both halves, so
    /// weak low bits do no harm.
    #[inline]
    pub fn sample(&self, random: u64) -> u32 {
        let n = self.columns.len() as u64;
        let high = random >> 32;
        let column = ((high * n) >> 32) as usize;
        let coin = (random ^ high) as u32;
        let entry = self.columns[column];
        if coin < entry.threshold {
            column as u32
        } else {
            entry.alias
        }
    }

    /// The exact probability of drawing `id` (`0` outside the vocabulary).
    pub fn probability(&self, id: u32) -> f64 {
        self.probabilities.get(id as usize).copied().unwrap_or(0.0)
    }

    /// The number of words.
    pub fn len(&self) -> usize {
        self.columns.len()
    }

    /// Always false: a sampler has at least one word.
    pub fn is_empty(&self) -> bool {
        self.columns.is_empty()
    }
}

/// Vose's construction of Walker's alias table.
fn build_alias_table(probabilities: &[f64]) -> Vec<Column> {
    let n = probabilities.len();
    let mut scaled: Vec<f64> = probabilities.iter().map(|p| p * n as f64).collect();
    let mut columns = vec![
        Column {
            threshold: u32::MAX,
            alias: 0,
        };
        n
    ];
    for (i, c) in columns.iter_mut().enumerate() {
        c.alias = i as u32;
    }
    let (mut small, mut large): (Vec<usize>, Vec<usize>) = (0..n).partition(|&i| scaled[i] < 1.0);
    while let (Some(s), Some(&l)) = (small.pop(), large.last()) {
        columns[s] = Column {
            threshold: to_threshold(scaled[s]),
            alias: l as u32,
        };
        scaled[l] -= 1.0 - scaled[s];
        if scaled[l] < 1.0 {
            large.pop();
            small.push(l);
        }
    }
    // Whatever is left is 1 up to rounding: always keep its own id.
    for i in small.into_iter().chain(large) {
        columns[i] = Column {
            threshold: u32::MAX,
            alias: i as u32,
        };
    }
    columns
}

/// `p ∈ [0, 1]` as a 32-bit threshold: the coin (uniform on `0..2^32`)
/// falls below it with probability `p` (1 rounds to `1 - 2^-32`).
fn to_threshold(p: f64) -> u32 {
    (p.clamp(0.0, 1.0) * 4_294_967_296.0).min(u32::MAX as f64) as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alias_table_reconstructs_probabilities() {
        let counts = [50u64, 20, 20, 5, 1, 1, 0, 3];
        let s = NoiseSampler::new(&counts, 0.75).unwrap();
        let n = counts.len() as f64;
        let mut implied = vec![0.0f64; counts.len()];
        for (i, c) in s.columns.iter().enumerate() {
            let own = c.threshold as f64 / 4_294_967_296.0;
            implied[i] += own / n;
            implied[c.alias as usize] += (1.0 - own) / n;
        }
        for (i, p) in implied.iter().enumerate() {
            assert!((p - s.probability(i as u32)).abs() < 1e-8, "id {i}");
        }
    }

    #[test]
    fn rejects_bad_input() {
        assert!(NoiseSampler::new(&[], 0.75).is_err());
        assert!(NoiseSampler::new(&[0, 0], 0.75).is_err());
        assert!(NoiseSampler::new(&[1, 2], f64::NAN).is_err());
        assert!(NoiseSampler::new(&[1, 2], -1.0).is_err());
    }
}
