//! Progress display for long work: a bar on a terminal, plain lines otherwise.

use std::io::IsTerminal;
use std::time::{Duration, Instant};

use embed_core::observer::{Control, Progress, TrainingObserver};
use indicatif::{ProgressBar, ProgressStyle};

/// Shows training progress on standard error.
///
/// On a terminal it draws a bar with percent, words/sec per thread, learning
/// rate, loss and ETA; otherwise it prints one plain line every few seconds,
/// so logs stay readable.
pub struct ProgressDisplay {
    label: String,
    threads: usize,
    bar: Option<ProgressBar>,
    last_line: Instant,
    line_every: Duration,
    last_epoch_loss: Option<f64>,
}

impl ProgressDisplay {
    /// A display for a task named `label` run with `threads` threads.
    pub fn new(label: &str, threads: usize) -> Self {
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = ProgressBar::new(1000);
            let style =
                ProgressStyle::with_template("{prefix} [{bar:30}] {percent:>3}% {msg} ETA {eta}")
                    .unwrap_or_else(|_| ProgressStyle::default_bar())
                    .progress_chars("=> ");
            bar.set_style(style);
            bar.set_prefix(label.to_string());
            bar
        });
        ProgressDisplay {
            label: label.to_string(),
            threads: threads.max(1),
            bar,
            last_line: Instant::now(),
            line_every: Duration::from_secs(5),
            last_epoch_loss: None,
        }
    }

    fn describe(&self, p: &Progress) -> String {
        format!(
            "epoch {}/{} {:.0} words/s/thread lr {:.6} loss {:.4}",
            p.epoch,
            p.epochs,
            p.words_per_sec / self.threads as f64,
            p.learning_rate,
            p.loss
        )
    }

    /// The mean loss of the last epoch that ended, if any.
    pub fn last_epoch_loss(&self) -> Option<f64> {
        self.last_epoch_loss
    }

    /// Removes the bar from the terminal.
    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

impl TrainingObserver for ProgressDisplay {
    fn on_progress(&mut self, p: &Progress) -> Control {
        let message = self.describe(p);
        match &self.bar {
            Some(bar) => {
                bar.set_position((p.fraction() * 1000.0) as u64);
                bar.set_message(message);
            }
            None => {
                if self.last_line.elapsed() >= self.line_every {
                    self.last_line = Instant::now();
                    eprintln!("{}: {:5.1}% {}", self.label, p.fraction() * 100.0, message);
                }
            }
        }
        Control::Continue
    }

    fn on_epoch_end(&mut self, p: &Progress) -> Control {
        self.last_epoch_loss = Some(p.loss);
        let line = format!(
            "{}: epoch {}/{} done, loss {:.4}",
            self.label, p.epoch, p.epochs, p.loss
        );
        match &self.bar {
            Some(bar) => bar.println(line),
            None => eprintln!("{line}"),
        }
        Control::Continue
    }
}

impl Drop for ProgressDisplay {
    fn drop(&mut self) {
        self.finish();
    }
}
