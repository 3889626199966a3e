//! Learning-rate schedules.
//!
//! A schedule maps how much work is done — a step count, or a count of
//! words processed — to a learning rate. Trainers ask it for the rate every
//! so often and hand the answer to their [`Optimizer`](crate::optim::Optimizer)
//! with `set_learning_rate`, or use it directly in their own update loops.
//!
//! * [`Constant`] — the same rate throughout;
//! * [`LinearDecay`] — word2vec, fastText: `max(start · (1 − done/total), floor)`;
//! * [`WarmupLinear`] — BERT: linear warm-up from 0 to a peak, then linear
//!   decay to 0 (Hugging Face's `get_linear_schedule_with_warmup`).

use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// A learning rate as a function of the work done.
///
/// `done` is the number of units processed so far (optimizer steps, or
/// words); schedules that need a total store it themselves. The trait is
/// object-safe and thread-safe, so Hogwild threads can share one schedule.
pub trait LearningRateSchedule: Send + Sync {
    /// The learning rate once `done` units of work are finished.
    fn rate(&self, done: u64) -> f64;
}

fn check_rate(name: &'static str, value: f64) -> Result<()> {
    if !value.is_finite() || value < 0.0 {
        return Err(Error::invalid_parameter(
            name,
            format!("must be a finite number >= 0, got {value}"),
        ));
    }
    Ok(())
}

/// A constant learning rate.
///
/// ```
/// use embed_core::schedule::{Constant, LearningRateSchedule};
/// let s = Constant::new(0.05)?;
/// assert_eq!(s.rate(0), 0.05);
/// assert_eq!(s.rate(1_000_000), 0.05);
/// # Ok::<(), embed_core::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Constant {
    rate: f64,
}

impl Constant {
    /// A schedule that always answers `rate` (finite, `>= 0`).
    pub fn new(rate: f64) -> Result<Self> {
        check_rate("learning_rate", rate)?;
        Ok(Constant { rate })
    }
}

impl LearningRateSchedule for Constant {
    fn rate(&self, _done: u64) -> f64 {
        self.rate
    }
}

/// Linear decay from `start` towards 0 over `total` units of work, never
/// below `floor`: `rate = max(start · (1 − done/total), floor)`.
///
/// word2vec and fastText decay their `alpha` this way over the words of all
/// epochs, with `floor = start · 1e-4`.
///
/// ```
/// use embed_core::schedule::{LearningRateSchedule, LinearDecay};
/// let s = LinearDecay::new(0.025, 0.025e-4, 1000)?;
/// assert_eq!(s.rate(0), 0.025);
/// assert!((s.rate(500) - 0.0125).abs() < 1e-12);
/// assert_eq!(s.rate(1000), 0.025e-4);
/// assert_eq!(s.rate(5000), 0.025e-4);
/// # Ok::<(), embed_core::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct LinearDecay {
    start: f64,
    floor: f64,
    total: u64,
}

impl LinearDecay {
    /// Decay from `start` over `total` units (`> 0`) with a lower bound
    /// `floor` (`0 <= floor <= start`).
    pub fn new(start: f64, floor: f64, total: u64) -> Result<Self> {
        check_rate("learning_rate", start)?;
        check_rate("min_learning_rate", floor)?;
        if floor > start {
            return Err(Error::invalid_parameter(
                "min_learning_rate",
                format!("must not exceed the starting rate {start}, got {floor}"),
            ));
        }
        if total == 0 {
            return Err(Error::invalid_parameter(
                "total",
                "the amount of work to decay over must be at least 1",
            ));
        }
        Ok(LinearDecay {
            start,
            floor,
            total,
        })
    }

    /// The rate at a fraction `progress` of the work (clamped to `[0, 1]`).
    ///
    /// ```
    /// use embed_core::schedule::LinearDecay;
    /// let s = LinearDecay::new(1.0, 0.0, 10)?;
    /// assert_eq!(s.rate_at_fraction(0.25), 0.75);
    /// # Ok::<(), embed_core::Error>(())
    /// ```
    pub fn rate_at_fraction(&self, progress: f64) -> f64 {
        let p = if progress.is_nan() {
            0.0
        } else {
            progress.clamp(0.0, 1.0)
        };
        (self.start * (1.0 - p)).max(self.floor)
    }

    /// The starting rate.
    pub fn start(&self) -> f64 {
        self.start
    }

    /// The lower bound.
    pub fn floor(&self) -> f64 {
        self.floor
    }

    /// The units of work the decay spans.
    pub fn total(&self) -> u64 {
        self.total
    }
}

impl LearningRateSchedule for LinearDecay {
    fn rate(&self, done: u64) -> f64 {
        self.rate_at_fraction(done as f64 / self.total as f64)
    }
}

/// Linear warm-up from 0 to `peak` over `warmup_steps`, then linear decay
/// to 0 at `total_steps` (and 0 after), as Hugging Face's
/// `get_linear_schedule_with_warmup`:
///
/// * `step < warmup_steps`: `peak · step / warmup_steps`
/// * otherwise: `peak · max(0, (total_steps − step) / (total_steps − warmup_steps))`
///
/// `step` counts the optimizer steps already taken, so the first update
/// uses `rate(0)` (which is 0 when there is a warm-up, as in PyTorch).
///
/// ```
/// use embed_core::schedule::{LearningRateSchedule, WarmupLinear};
/// let s = WarmupLinear::new(1e-4, 10, 110)?;
/// assert_eq!(s.rate(0), 0.0);
/// assert!((s.rate(5) - 5e-5).abs() < 1e-15);
/// assert_eq!(s.rate(10), 1e-4);
/// assert!((s.rate(60) - 5e-5).abs() < 1e-15);
/// assert_eq!(s.rate(110), 0.0);
/// # Ok::<(), embed_core::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct WarmupLinear {
    peak: f64,
    warmup_steps: u64,
    total_steps: u64,
}

impl WarmupLinear {
    /// Warm up to `peak` over `warmup_steps`, reaching 0 at `total_steps`
    /// (`total_steps >= 1`, `warmup_steps <= total_steps`).
    pub fn new(peak: f64, warmup_steps: u64, total_steps: u64) -> Result<Self> {
        check_rate("learning_rate", peak)?;
        if total_steps == 0 {
            return Err(Error::invalid_parameter(
                "total_steps",
                "must be at least 1",
            ));
        }
        if warmup_steps > total_steps {
            return Err(Error::invalid_parameter(
                "warmup_steps",
                format!("must not exceed total_steps ({total_steps}), got {warmup_steps}"),
            ));
        }
        Ok(WarmupLinear {
            peak,
            warmup_steps,
            total_steps,
        })
    }

    /// The peak rate reached at the end of warm-up.
    pub fn peak(&self) -> f64 {
        self.peak
    }

    /// Steps of warm-up.
    pub fn warmup_steps(&self) -> u64 {
        self.warmup_steps
    }

    /// Steps after which the rate is 0.
    pub fn total_steps(&self) -> u64 {
        self.total_steps
    }
}

impl LearningRateSchedule for WarmupLinear {
    fn rate(&self, done: u64) -> f64 {
        if done < self.warmup_steps {
            return self.peak * done as f64 / self.warmup_steps as f64;
        }
        let decay_steps = (self.total_steps - self.warmup_steps).max(1);
        let left = self.total_steps.saturating_sub(done);
        self.peak * left as f64 / decay_steps as f64
    }
}

impl<S: LearningRateSchedule + ?Sized> LearningRateSchedule for &S {
    fn rate(&self, done: u64) -> f64 {
        (**self).rate(done)
    }
}

impl<S: LearningRateSchedule + ?Sized> LearningRateSchedule for Box<S> {
    fn rate(&self, done: u64) -> f64 {
        (**self).rate(done)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_hyperparameters_are_rejected() {
        assert!(Constant::new(-0.1).is_err());
        assert!(Constant::new(f64::NAN).is_err());
        assert!(LinearDecay::new(0.1, 0.2, 10).is_err());
        assert!(LinearDecay::new(0.1, -0.2, 10).is_err());
        assert!(LinearDecay::new(0.1, 0.0, 0).is_err());
        assert!(WarmupLinear::new(0.1, 11, 10).is_err());
        assert!(WarmupLinear::new(0.1, 0, 0).is_err());
        assert!(WarmupLinear::new(f64::INFINITY, 0, 10).is_err());
    }

    #[test]
    fn warmup_without_warmup_steps_starts_at_peak() {
        let s = WarmupLinear::new(2.0, 0, 4).unwrap();
        assert_eq!(s.rate(0), 2.0);
        assert_eq!(s.rate(1), 1.5);
        assert_eq!(s.rate(4), 0.0);
        assert_eq!(s.rate(9), 0.0);
    }

    #[test]
    fn warmup_equal_to_total_never_divides_by_zero() {
        let s = WarmupLinear::new(1.0, 4, 4).unwrap();
        assert_eq!(s.rate(2), 0.5);
        assert_eq!(s.rate(4), 0.0);
    }
}
