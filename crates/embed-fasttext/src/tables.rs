//! fastText's precomputed sigmoid and logarithm.
//!
//! fastText evaluates σ and log through 513-entry tables (σ on [-8, 8],
//! log on (0, 1]) in training and in one-vs-all / negative-sampling
//! prediction; using the same tables keeps probabilities equal to the tool's.

const SIGMOID_TABLE_SIZE: usize = 512;
const MAX_SIGMOID: f32 = 8.0;
const LOG_TABLE_SIZE: usize = 512;

/// The sigmoid and log tables.
#[derive(Debug, Clone)]
pub struct Tables {
    sigmoid: Vec<f32>,
    log: Vec<f32>,
}

impl Default for Tables {
    fn default() -> Self {
        Self::new()
    }
}

impl Tables {
    /// Builds both tables as fastText does.
    pub fn new() -> Self {
        let sigmoid = (0..=SIGMOID_TABLE_SIZE)
            .map(|i| {
                let x = (i as f32 * 2.0 * MAX_SIGMOID) / SIGMOID_TABLE_SIZE as f32 - MAX_SIGMOID;
                (1.0 / (1.0 + (-(x as f64)).exp())) as f32
            })
            .collect();
        let log = (0..=LOG_TABLE_SIZE)
            .map(|i| {
                let x = ((i as f64 + 1e-5) / LOG_TABLE_SIZE as f64) as f32;
                (x as f64).ln() as f32
            })
            .collect();
        Tables { sigmoid, log }
    }

    /// σ(x) from the table: 0 below -8, 1 above 8.
    ///
    /// ```
    /// let t = embed_fasttext::tables::Tables::new();
    /// assert_eq!(t.sigmoid(-9.0), 0.0);
    /// assert!((t.sigmoid(0.0) - 0.5).abs() < 1e-6);
    /// ```
    #[inline]
    pub fn sigmoid(&self, x: f32) -> f32 {
        if x < -MAX_SIGMOID {
            0.0
        } else if x > MAX_SIGMOID {
            1.0
        } else {
            let i = ((x + MAX_SIGMOID) * SIGMOID_TABLE_SIZE as f32 / MAX_SIGMOID / 2.0) as usize;
            self.sigmoid[i]
        }
    }

    /// log(x) from the table for x in [0, 1]; 0 above 1.
    #[inline]
    pub fn log(&self, x: f32) -> f32 {
        if x > 1.0 {
            0.0
        } else {
            self.log[(x * LOG_TABLE_SIZE as f32) as usize]
        }
    }
}

/// The logarithm fastText reports scores with: `ln(x + 1e-5)`.
///
/// ```
/// assert!((embed_fasttext::tables::std_log(1.0) - 1e-5).abs() < 1e-9);
/// ```
#[inline]
pub fn std_log(x: f32) -> f32 {
    ((x as f64) + 1e-5).ln() as f32
}
