//! Training as fastText does it: each thread reads the file from its own
//! starting byte (wrapping around at the end) until all threads together
//! have read `epoch × ntokens` tokens; the learning rate decays linearly
//! with that shared count, refreshed every `lrUpdateRate` tokens; the
//! matrices are updated without locks.

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufReader, Seek, SeekFrom};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use embed_core::hogwild::SharedMatrix;
use embed_core::observer::{Control, Progress, TrainingObserver};
use embed_core::{kernels, seed};
use embed_core::{Error, Result};
use embed_vocab::{HuffmanTree, NoiseSampler, END_OF_SENTENCE};
use ndarray::Array2;
use rand::Rng as _;

use crate::args::{LossKind, ModelArgs, ModelKind};
use crate::dictionary::{BucketMap, Dictionary, Entry, EntryKind};
use crate::local_output::{self, LocalOutput};
use crate::params::FastTextParams;
use crate::reader::{Token, TokenReader};
use crate::tables::Tables;

/// Longest unsupervised training line, in tokens (fastText's `MAX_LINE_SIZE`).
const MAX_LINE_TOKENS: u64 = 1024;
/// fastText draws negatives ∝ count^0.5.
const NEGATIVE_POWER: f64 = 0.5;
/// How often the observer hears about progress.
const REPORT_EVERY: Duration = Duration::from_millis(200);

/// Counts the words (and labels) of a file into a dictionary, as
/// fastText's `readFromFile` + `threshold`: words first, each kind by
/// decreasing count; `ntokens` counts every token, `</s>` included.
pub(crate) fn build_dictionary(path: &Path, params: &FastTextParams) -> Result<Dictionary> {
    let file = File::open(path).map_err(|e| Error::io(path, e))?;
    let mut reader = TokenReader::new(BufReader::with_capacity(1 << 20, file));
    let mut counts: HashMap<String, (u64, usize)> = HashMap::new();
    let mut word = Vec::new();
    let mut ntokens = 0u64;
    loop {
        let token = reader
            .next_token(&mut word)
            .map_err(|e| Error::io(path, e))?;
        let text = match token {
            Token::EndOfInput => break,
            Token::EndOfLine => END_OF_SENTENCE,
            Token::Word => match std::str::from_utf8(&word) {
                Ok(s) => s,
                Err(_) => {
                    let owned = String::from_utf8_lossy(&word).into_owned();
                    add(&mut counts, &owned);
                    ntokens += 1;
                    continue;
                }
            },
        };
        add(&mut counts, text);
        ntokens += 1;
    }
    let mut entries: Vec<(Entry, usize)> = counts
        .into_iter()
        .map(|(word, (count, first))| {
            let kind = EntryKind::of_token(&word);
            (Entry { word, count, kind }, first)
        })
        .filter(|(e, _)| match e.kind {
            EntryKind::Word => e.count >= params.min_count(),
            EntryKind::Label => e.count >= params.min_count_label(),
        })
        .collect();
    // Words before labels, frequent first; first appearance breaks ties.
    entries.sort_by_key(|(e, first)| (e.kind.code(), std::cmp::Reverse(e.count), *first));
    let entries: Vec<Entry> = entries.into_iter().map(|(e, _)| e).collect();
    let words = entries.iter().filter(|e| e.kind == EntryKind::Word).count();
    let labels = entries.len() - words;
    if words == 0 {
        return Err(Error::EmptyCorpus {
            source_name: path.display().to_string(),
            detail: format!(" with a count of at least {}", params.min_count()),
        });
    }
    if params.model() == ModelKind::Supervised && labels == 0 {
        return Err(Error::InvalidInput(format!(
            "{}: no `__label__` tokens; supervised input needs labels on its lines",
            path.display()
        )));
    }
    Dictionary::new(entries, ntokens, BucketMap::Identity, &params.model_args())
}

/// Moves an array into a [`SharedMatrix`] without a second copy.
fn shared(array: Array2<f32>) -> Result<SharedMatrix> {
    let (rows, cols) = array.dim();
    let array = if array.is_standard_layout() {
        array
    } else {
        array.as_standard_layout().into_owned()
    };
    let (values, _) = array.into_raw_vec_and_offset();
    SharedMatrix::from_vec(rows, cols, values)
}

fn add(counts: &mut HashMap<String, (u64, usize)>, word: &str) {
    let next = counts.len();
    match counts.get_mut(word) {
        Some(c) => c.0 += 1,
        None => {
            counts.insert(word.to_owned(), (1, next));
        }
    }
}

/// The output layer's loss and what it needs.
enum OutputLoss {
    Negative(NoiseSampler),
    Hierarchical(HuffmanTree),
    Softmax,
    OneVsAll,
}

/// Shared state of one training run.
pub(crate) struct Trainer<'a> {
    args: ModelArgs,
    lr: f64,
    path: &'a Path,
    file_len: u64,
    dict: &'a Dictionary,
    input: SharedMatrix,
    output: SharedMatrix,
    loss: OutputLoss,
    tables: Tables,
    /// Probability of keeping each word (fastText's `pdiscard`).
    keep: Vec<f32>,
    total_tokens: u64,
    tokens_done: AtomicU64,
    stop: AtomicBool,
    /// Loss sum (f64 bits) and examples, per thread.
    losses: Vec<(AtomicU64, AtomicU64)>,
    failure: Mutex<Option<Error>>,
    /// Loss sum and examples of all threads when each epoch's share of
    /// tokens was reached, in epoch order.
    epoch_marks: Mutex<Vec<(f64, u64)>>,
    seed: u64,
}

/// Scratch vectors of one thread.
struct Work {
    hidden: Vec<f32>,
    grad: Vec<f32>,
    /// Skip-gram: the sum of one word's gradients over its contexts.
    grad_sum: Vec<f32>,
    scratch: Vec<f32>,
    scores: Vec<f32>,
    /// This thread's copy of the output matrix (softmax and one-vs-all).
    local: Option<LocalOutput>,
    rng: seed::Rng,
    loss_sum: f64,
    examples: u64,
}

impl<'a> Trainer<'a> {
    pub(crate) fn new(
        params: &FastTextParams,
        path: &'a Path,
        dict: &'a Dictionary,
        input: Array2<f32>,
    ) -> Result<Self> {
        let args = params.model_args();
        let file_len = std::fs::metadata(path)
            .map_err(|e| Error::io(path, e))?
            .len();
        let supervised = args.model == ModelKind::Supervised;
        let outputs: Vec<u64> = if supervised {
            dict.entries()[dict.nwords()..]
                .iter()
                .map(|e| e.count)
                .collect()
        } else {
            dict.entries()[..dict.nwords()]
                .iter()
                .map(|e| e.count)
                .collect()
        };
        let loss = match args.loss {
            LossKind::NegativeSampling => {
                OutputLoss::Negative(NoiseSampler::new(&outputs, NEGATIVE_POWER)?)
            }
            LossKind::HierarchicalSoftmax => OutputLoss::Hierarchical(HuffmanTree::new(&outputs)?),
            LossKind::Softmax => OutputLoss::Softmax,
            LossKind::OneVsAll => OutputLoss::OneVsAll,
        };
        let ntokens = dict.ntokens().max(1) as f64;
        let keep = dict.entries()[..dict.nwords()]
            .iter()
            .map(|e| {
                let f = e.count as f64 / ntokens;
                ((args.t / f).sqrt() + args.t / f) as f32
            })
            .collect();
        let threads = params.threads();
        Ok(Trainer {
            total_tokens: args.epoch as u64 * dict.ntokens(),
            lr: params.lr(),
            path,
            file_len,
            dict,
            input: shared(input)?,
            output: SharedMatrix::zeros(outputs.len(), args.dim),
            loss,
            tables: Tables::new(),
            keep,
            tokens_done: AtomicU64::new(0),
            stop: AtomicBool::new(false),
            losses: (0..threads)
                .map(|_| (AtomicU64::new(0f64.to_bits()), AtomicU64::new(0)))
                .collect(),
            failure: Mutex::new(None),
            epoch_marks: Mutex::new(Vec::new()),
            seed: params.seed(),
            args,
        })
    }

    /// Trains on all threads, reporting to `observer` from this thread.
    pub(crate) fn run(
        self,
        observer: &mut dyn TrainingObserver,
    ) -> Result<(Array2<f32>, Array2<f32>)> {
        let threads = self.losses.len();
        let start = Instant::now();
        let mut last_report = start;
        let mut epochs_reported = 0usize;
        std::thread::scope(|s| {
            let handles: Vec<_> = (0..threads)
                .map(|t| {
                    let this = &self;
                    s.spawn(move || {
                        if let Err(e) = this.thread(t) {
                            this.fail(e);
                        }
                    })
                })
                .collect();
            while !handles.iter().all(|h| h.is_finished()) {
                std::thread::sleep(Duration::from_millis(10));
                let mut control = self.report_epochs(start, &mut epochs_reported, observer);
                if last_report.elapsed() >= REPORT_EVERY {
                    last_report = Instant::now();
                    let progress = self.progress(start, epochs_reported + 1);
                    if observer.on_progress(&progress) == Control::Stop {
                        control = Control::Stop;
                    }
                }
                if control == Control::Stop {
                    self.stop.store(true, Relaxed);
                }
            }
        });
        if let Some(e) = self.failure.lock().ok().and_then(|mut f| f.take()) {
            return Err(e);
        }
        if !self.stop.load(Relaxed) {
            self.report_epochs(start, &mut epochs_reported, observer);
        }
        Ok((self.input.into_array(), self.output.into_array()))
    }

    /// Tells the observer about epochs completed since the last call, each
    /// with the mean loss of its own examples.
    fn report_epochs(
        &self,
        start: Instant,
        reported: &mut usize,
        observer: &mut dyn TrainingObserver,
    ) -> Control {
        let marks: Vec<(f64, u64)> = match self.epoch_marks.lock() {
            Ok(m) => m.clone(),
            Err(_) => return Control::Continue,
        };
        let mut control = Control::Continue;
        while *reported < marks.len() {
            let (sum, n) = marks[*reported];
            let (prev_sum, prev_n) = reported.checked_sub(1).map_or((0.0, 0), |i| marks[i]);
            *reported += 1;
            let mut p = self.progress(start, *reported);
            p.words_done = self.total_tokens * *reported as u64 / self.args.epoch as u64;
            p.loss = if n > prev_n {
                (sum - prev_sum) / (n - prev_n) as f64
            } else {
                sum / n.max(1) as f64
            };
            if observer.on_epoch_end(&p) == Control::Stop {
                control = Control::Stop;
            }
        }
        control
    }

    fn progress(&self, start: Instant, epoch: usize) -> Progress {
        let done = self.tokens_done.load(Relaxed).min(self.total_tokens);
        let (sum, n) = self.loss_totals();
        let secs = start.elapsed().as_secs_f64().max(1e-9);
        Progress {
            epoch: epoch.min(self.args.epoch),
            epochs: self.args.epoch,
            words_done: done,
            words_total: self.total_tokens,
            words_per_sec: done as f64 / secs,
            learning_rate: self.lr * (1.0 - done as f64 / self.total_tokens.max(1) as f64),
            loss: if n == 0 { 0.0 } else { sum / n as f64 },
        }
    }

    fn fail(&self, e: Error) {
        self.stop.store(true, Relaxed);
        if let Ok(mut f) = self.failure.lock() {
            f.get_or_insert(e);
        }
    }

    /// One thread's loop (fastText's `trainThread`).
    fn thread(&self, t: usize) -> Result<()> {
        let threads = self.losses.len() as u64;
        let file = File::open(self.path).map_err(|e| Error::io(self.path, e))?;
        let mut reader = TokenReader::new(BufReader::with_capacity(1 << 18, file));
        let offset = self.file_len * t as u64 / threads;
        reader
            .get_mut()
            .seek(SeekFrom::Start(offset))
            .map_err(|e| Error::io(self.path, e))?;
        let dim = self.args.dim;
        let mut work = Work {
            hidden: vec![0.0; dim],
            grad: vec![0.0; dim],
            grad_sum: vec![0.0; dim],
            scratch: vec![0.0; dim],
            scores: vec![0.0; self.output.rows()],
            local: matches!(self.loss, OutputLoss::Softmax | OutputLoss::OneVsAll)
                .then(|| LocalOutput::new(&self.output)),
            rng: seed::rng(self.seed, t as u64),
            loss_sum: 0.0,
            examples: 0,
        };
        let mut line = Vec::new();
        let mut labels = Vec::new();
        let mut token_buf = Vec::new();
        let mut texts = String::new();
        let mut spans = Vec::new();
        let mut bow = Vec::new();
        let mut local_tokens = 0u64;
        let supervised = self.args.model == ModelKind::Supervised;
        while self.tokens_done.load(Relaxed) < self.total_tokens && !self.stop.load(Relaxed) {
            let progress = self.tokens_done.load(Relaxed) as f64 / self.total_tokens as f64;
            let lr = (self.lr * (1.0 - progress)) as f32;
            let read = if supervised {
                self.read_labelled_line(&mut reader, &mut token_buf, &mut texts, &mut spans)?;
                let tokens: Vec<&str> = spans.iter().map(|&(a, b)| &texts[a..b]).collect();
                self.dict.line_features(&tokens, &mut line, &mut labels);
                self.supervised(&line, &labels, lr, &mut work);
                tokens.len() as u64
            } else {
                let n = self.read_line(&mut reader, &mut token_buf, &mut line, &mut work.rng)?;
                match self.args.model {
                    ModelKind::Cbow => self.cbow(&line, lr, &mut work, &mut bow),
                    _ => self.skipgram(&line, lr, &mut work),
                }
                n
            };
            if !work.loss_sum.is_finite() {
                return Err(Error::Diverged {
                    epoch: 1
                        + (self.tokens_done.load(Relaxed) * self.args.epoch as u64
                            / self.total_tokens.max(1)) as usize,
                    loss: work.loss_sum,
                    hint: "the loss is not finite; try a smaller learning rate".into(),
                });
            }
            local_tokens += read;
            if local_tokens > self.args.lr_update_rate as u64 {
                self.publish(t, local_tokens, &work);
                local_tokens = 0;
            }
        }
        if let Some(local) = &mut work.local {
            local.sync(&self.output);
        }
        self.publish(t, local_tokens, &work);
        Ok(())
    }

    /// Adds a thread's tokens to the shared count and publishes its loss;
    /// records the loss totals when the count enters a new epoch.
    fn publish(&self, t: usize, tokens: u64, work: &Work) {
        let (l, c) = &self.losses[t];
        l.store(work.loss_sum.to_bits(), Relaxed);
        c.store(work.examples, Relaxed);
        let before = self.tokens_done.fetch_add(tokens, Relaxed);
        let epoch_of = |n: u64| {
            (n.min(self.total_tokens) * self.args.epoch as u64 / self.total_tokens.max(1)) as usize
        };
        let reached = epoch_of(before + tokens);
        if reached > epoch_of(before) {
            let totals = self.loss_totals();
            if let Ok(mut marks) = self.epoch_marks.lock() {
                while marks.len() < reached {
                    marks.push(totals);
                }
            }
        }
    }

    fn loss_totals(&self) -> (f64, u64) {
        self.losses.iter().fold((0.0, 0u64), |(s, n), (l, c)| {
            (s + f64::from_bits(l.load(Relaxed)), n + c.load(Relaxed))
        })
    }

    /// Reads up to 1024 known tokens or to the end of the line, keeping the
    /// words subsampling lets through (fastText's unsupervised `getLine`).
    /// Returns the tokens read; at the end of the file, starts over.
    fn read_line(
        &self,
        reader: &mut TokenReader<BufReader<File>>,
        word: &mut Vec<u8>,
        line: &mut Vec<u32>,
        rng: &mut seed::Rng,
    ) -> Result<u64> {
        line.clear();
        let mut ntokens = 0u64;
        loop {
            let token = reader
                .next_token(word)
                .map_err(|e| Error::io(self.path, e))?;
            let id = match token {
                Token::EndOfInput => {
                    reader
                        .get_mut()
                        .seek(SeekFrom::Start(0))
                        .map_err(|e| Error::io(self.path, e))?;
                    return Ok(ntokens);
                }
                Token::EndOfLine => self.dict.id(END_OF_SENTENCE),
                Token::Word => std::str::from_utf8(word).ok().and_then(|w| self.dict.id(w)),
            };
            let Some(id) = id else { continue };
            ntokens += 1;
            if (id as usize) < self.keep.len() && rng.gen::<f32>() <= self.keep[id as usize] {
                line.push(id);
            }
            if ntokens > MAX_LINE_TOKENS || token == Token::EndOfLine {
                return Ok(ntokens);
            }
        }
    }

    /// Reads one line's tokens (to `</s>`, which is included) as text.
    fn read_labelled_line(
        &self,
        reader: &mut TokenReader<BufReader<File>>,
        word: &mut Vec<u8>,
        text: &mut String,
        spans: &mut Vec<(usize, usize)>,
    ) -> Result<()> {
        text.clear();
        spans.clear();
        loop {
            let token = reader
                .next_token(word)
                .map_err(|e| Error::io(self.path, e))?;
            let start = text.len();
            match token {
                Token::EndOfInput => {
                    reader
                        .get_mut()
                        .seek(SeekFrom::Start(0))
                        .map_err(|e| Error::io(self.path, e))?;
                    return Ok(());
                }
                Token::EndOfLine => text.push_str(END_OF_SENTENCE),
                Token::Word => match std::str::from_utf8(word) {
                    Ok(w) => text.push_str(w),
                    Err(_) => text.push_str(&String::from_utf8_lossy(word)),
                },
            }
            spans.push((start, text.len()));
            if token == Token::EndOfLine {
                return Ok(());
            }
        }
    }

    /// Skip-gram: each word's subword rows predict every word of a window
    /// of random size around it. fastText adds each context's gradient to
    /// the word's rows and recomputes their mean for the next context; the
    /// mean then moves by exactly that gradient, so here the hidden vector
    /// is computed once per word and moved by each gradient, and the rows
    /// receive the sum of the gradients once, after the last context.
    fn skipgram(&self, line: &[u32], lr: f32, work: &mut Work) {
        for (w, &center) in line.iter().enumerate() {
            let boundary = work.rng.gen_range(1..=self.args.ws);
            let rows = self.dict.subwords(center as usize);
            self.compute_hidden(rows, work);
            work.grad_sum.fill(0.0);
            let lo = w.saturating_sub(boundary);
            let hi = (w + boundary).min(line.len() - 1);
            for (c, &context) in line.iter().enumerate().take(hi + 1).skip(lo) {
                if c != w {
                    self.output_step(&[context], 0, lr, work);
                    kernels::axpy(1.0, &work.grad, &mut work.hidden);
                    kernels::axpy(1.0, &work.grad, &mut work.grad_sum);
                }
            }
            if hi > lo {
                for &r in rows {
                    self.input.add_to_row(r as usize, 1.0, &work.grad_sum);
                }
            }
        }
    }

    fn cbow(&self, line: &[u32], lr: f32, work: &mut Work, bow: &mut Vec<u32>) {
        for w in 0..line.len() {
            let boundary = work.rng.gen_range(1..=self.args.ws);
            bow.clear();
            let lo = w.saturating_sub(boundary);
            let hi = (w + boundary).min(line.len() - 1);
            for (c, &context) in line.iter().enumerate().take(hi + 1).skip(lo) {
                if c != w {
                    bow.extend_from_slice(self.dict.subwords(context as usize));
                }
            }
            self.update(bow, &line[w..=w], 0, lr, work);
        }
    }

    fn supervised(&self, line: &[u32], labels: &[u32], lr: f32, work: &mut Work) {
        if line.is_empty() || labels.is_empty() {
            return;
        }
        let target = if matches!(self.loss, OutputLoss::OneVsAll) {
            0
        } else {
            work.rng.gen_range(0..labels.len())
        };
        self.update(line, labels, target, lr, work);
    }

    /// One step of fastText's `Model::update`: hidden = mean of the input
    /// rows, then [`Trainer::step`].
    fn update(&self, rows: &[u32], targets: &[u32], target: usize, lr: f32, work: &mut Work) {
        if rows.is_empty() {
            return;
        }
        self.compute_hidden(rows, work);
        self.step(rows, targets, target, lr, work);
    }

    fn compute_hidden(&self, rows: &[u32], work: &mut Work) {
        work.hidden.fill(0.0);
        for &r in rows {
            self.input.row_axpy_into(r as usize, 1.0, &mut work.hidden);
        }
        let inv = (1.0f64 / rows.len().max(1) as f64) as f32;
        work.hidden.iter_mut().for_each(|h| *h *= inv);
    }

    /// The loss updates the output rows and accumulates the hidden
    /// gradient; every input row receives the gradient (divided by the
    /// number of rows for classification).
    fn step(&self, rows: &[u32], targets: &[u32], target: usize, lr: f32, work: &mut Work) {
        self.output_step(targets, target, lr, work);
        if self.args.model == ModelKind::Supervised {
            let inv = (1.0f64 / rows.len() as f64) as f32;
            work.grad.iter_mut().for_each(|g| *g *= inv);
        }
        for &r in rows {
            self.input.add_to_row(r as usize, 1.0, &work.grad);
        }
    }

    /// The output layer's part of a step: updates the output rows, leaves
    /// the hidden gradient in `work.grad` and counts the loss.
    fn output_step(&self, targets: &[u32], target: usize, lr: f32, work: &mut Work) {
        work.grad.fill(0.0);
        let loss = self.forward(targets, target, lr, work);
        work.loss_sum += loss as f64;
        work.examples += 1;
    }

    fn forward(&self, targets: &[u32], target: usize, lr: f32, work: &mut Work) -> f32 {
        match &self.loss {
            OutputLoss::Negative(noise) => {
                let positive = targets[target];
                let mut loss = self.binary_logistic(positive as usize, true, lr, work);
                for _ in 0..self.args.neg {
                    let negative = loop {
                        let n = noise.sample(work.rng.gen());
                        if n != positive {
                            break n;
                        }
                    };
                    loss += self.binary_logistic(negative as usize, false, lr, work);
                }
                loss
            }
            OutputLoss::Hierarchical(tree) => {
                let leaf = targets[target];
                let mut loss = 0.0;
                for (&node, &bit) in tree.points(leaf).iter().zip(tree.code(leaf)) {
                    loss += self.binary_logistic(node as usize, bit == 1, lr, work);
                }
                loss
            }
            OutputLoss::OneVsAll => self.one_vs_all(targets, lr, work),
            OutputLoss::Softmax => self.softmax(targets[target] as usize, lr, work),
        }
    }

    /// Logistic loss of output row `row` against `label`, updating it and
    /// the hidden gradient (fastText's `binaryLogistic`).
    #[inline]
    fn binary_logistic(&self, row: usize, label: bool, lr: f32, work: &mut Work) -> f32 {
        let tables = &self.tables;
        let mut score = 0.0;
        let f =
            self.output
                .dot_and_update(row, &work.hidden, &mut work.grad, &mut work.scratch, |f| {
                    score = tables.sigmoid(f);
                    lr * (f32::from(u8::from(label)) - score)
                });
        if !f.is_finite() {
            // Parameters overflowed: fastText stops on such a NaN too.
            work.loss_sum = f64::NAN;
        }
        if label {
            -tables.log(score)
        } else {
            -tables.log(1.0 - score)
        }
    }

    /// Full softmax over the output rows, on the thread's copy of them.
    fn softmax(&self, target: usize, lr: f32, work: &mut Work) -> f32 {
        let Some(local) = &mut work.local else {
            unreachable!("a softmax trainer gives each thread a copy of the output rows")
        };
        let scores = &mut work.scores;
        kernels::dot_rows(local.rows(), &work.hidden, scores);
        let max = scores.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        if !max.is_finite() {
            work.loss_sum = f64::NAN;
        }
        let mut z = 0.0f32;
        for s in scores.iter_mut() {
            *s = (*s - max).exp();
            z += *s;
        }
        for s in scores.iter_mut() {
            *s /= z;
        }
        let loss = -self.tables.log(scores[target]);
        // The scores become each row's gradient.
        for (i, s) in scores.iter_mut().enumerate() {
            let label = if i == target { 1.0 } else { 0.0 };
            *s = lr * (label - *s);
        }
        local_output::update_rows(scores, &work.hidden, local.rows_mut(), &mut work.grad);
        local.example_done(&self.output);
        loss
    }

    /// One binary logistic loss per output row, positive for the line's
    /// labels, on the thread's copy of the rows.
    fn one_vs_all(&self, targets: &[u32], lr: f32, work: &mut Work) -> f32 {
        let tables = &self.tables;
        let Some(local) = &mut work.local else {
            unreachable!("a one-vs-all trainer gives each thread a copy of the output rows")
        };
        let scores = &mut work.scores;
        kernels::dot_rows(local.rows(), &work.hidden, scores);
        let mut loss = 0.0;
        // Each row's score becomes its gradient; rows do not depend on one
        // another, so scoring all first changes nothing.
        for (i, s) in scores.iter_mut().enumerate() {
            if !s.is_finite() {
                work.loss_sum = f64::NAN;
            }
            let score = tables.sigmoid(*s);
            let positive = targets.contains(&(i as u32));
            loss -= if positive {
                tables.log(score)
            } else {
                tables.log(1.0 - score)
            };
            *s = lr * (f32::from(u8::from(positive)) - score);
        }
        local_output::update_rows(scores, &work.hidden, local.rows_mut(), &mut work.grad);
        local.example_done(&self.output);
        loss
    }
}
