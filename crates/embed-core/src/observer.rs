//! Training progress callbacks.
//!
//! Trainers report to a [`TrainingObserver`] every so often during an epoch
//! ([`TrainingObserver::on_progress`]) and once at the end of each epoch
//! ([`TrainingObserver::on_epoch_end`]). Either callback may answer
//! [`Control::Stop`] to end training early; the trainer then returns the
//! model as it is.

/// A snapshot of training progress.
#[derive(Debug, Clone, PartialEq)]
pub struct Progress {
    /// 1-based epoch in progress.
    pub epoch: usize,
    /// Number of epochs planned.
    pub epochs: usize,
    /// Words (or tokens, or co-occurrence entries) processed so far, over all epochs.
    pub words_done: u64,
    /// Total words planned over all epochs (0 when unknown).
    pub words_total: u64,
    /// Throughput since training started.
    pub words_per_sec: f64,
    /// Current learning rate.
    pub learning_rate: f64,
    /// Mean loss over the work done so far in this epoch (f64 accumulation).
    pub loss: f64,
}

impl Progress {
    /// Fraction of the planned work done, in `[0, 1]`.
    pub fn fraction(&self) -> f64 {
        if self.words_total == 0 {
            0.0
        } else {
            (self.words_done as f64 / self.words_total as f64).min(1.0)
        }
    }
}

/// What the trainer should do after a callback.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Control {
    /// Keep training.
    Continue,
    /// End training now and return the model as it is.
    Stop,
}

/// Receives training progress. Implemented by progress bars, loggers and tests.
pub trait TrainingObserver: Send {
    /// Called periodically during an epoch.
    fn on_progress(&mut self, _progress: &Progress) -> Control {
        Control::Continue
    }

    /// Called once at the end of each epoch with the epoch's mean loss.
    fn on_epoch_end(&mut self, _progress: &Progress) -> Control {
        Control::Continue
    }
}

/// An observer that ignores everything.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoopObserver;

impl TrainingObserver for NoopObserver {}

/// An observer that records every epoch's summary; useful in tests.
///
/// ```
/// use embed_core::observer::{EpochLog, Progress, TrainingObserver};
/// let mut log = EpochLog::default();
/// let p = Progress { epoch: 1, epochs: 1, words_done: 10, words_total: 10,
///                    words_per_sec: 1.0, learning_rate: 0.1, loss: 2.5 };
/// log.on_epoch_end(&p);
/// assert_eq!(log.losses(), vec![2.5]);
/// ```
#[derive(Debug, Default, Clone)]
pub struct EpochLog {
    /// Every epoch-end snapshot, in order.
    pub epochs: Vec<Progress>,
}

impl EpochLog {
    /// The mean loss of each epoch.
    pub fn losses(&self) -> Vec<f64> {
        self.epochs.iter().map(|p| p.loss).collect()
    }
}

impl TrainingObserver for EpochLog {
    fn on_epoch_end(&mut self, progress: &Progress) -> Control {
        self.epochs.push(progress.clone());
        Control::Continue
    }
}

impl<T: TrainingObserver + ?Sized> TrainingObserver for &mut T {
    fn on_progress(&mut self, progress: &Progress) -> Control {
        (**self).on_progress(progress)
    }
    fn on_epoch_end(&mut self, progress: &Progress) -> Control {
        (**self).on_epoch_end(progress)
    }
}

impl<T: TrainingObserver + ?Sized> TrainingObserver for Box<T> {
    fn on_progress(&mut self, progress: &Progress) -> Control {
        (**self).on_progress(progress)
    }
    fn on_epoch_end(&mut self, progress: &Progress) -> Control {
        (**self).on_epoch_end(progress)
    }
}
