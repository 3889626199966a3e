//! Typed results of an experiment and their Markdown, CSV and SVG views.

use std::fmt::Write as _;

use embed_core::Result;
use embed_eval::{evaluate_analogies, evaluate_word_pairs, AnalogyOptions, SimilarityOptions};
use serde::{Deserialize, Serialize};

use crate::experiment::LoadedEvalSets;
use crate::memory::peak_rss_bytes;
use crate::models::TrainedModel;
use crate::Settings;

/// Analogy accuracy of one model (fractions in `[0, 1]`, as `embed eval --json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AnalogySummary {
    /// Accuracy over the semantic sections.
    pub semantic: f64,
    /// Accuracy over the `gram*` sections.
    pub syntactic: f64,
    /// Accuracy over all sections.
    pub total: f64,
    /// Questions evaluated.
    pub evaluated: usize,
    /// Questions skipped for out-of-vocabulary words.
    pub skipped: usize,
}

/// Word-pair similarity of one model on one set.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SimilaritySummary {
    /// The set's name.
    pub dataset: String,
    /// Spearman's rank correlation with the human scores.
    pub spearman: f64,
    /// Pearson's correlation.
    pub pearson: f64,
    /// Percentage of pairs left out for unknown words.
    pub oov_ratio: f64,
}

/// Everything measured for one model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelReport {
    /// The model's name (`word2vec-sg`, …).
    pub model: String,
    /// Wall time of vocabulary, counting and training.
    pub train_seconds: f64,
    /// Corpus words processed per second of `train_seconds`.
    pub words_per_sec: f64,
    /// Peak resident memory of the process that trained the model, in MiB.
    pub peak_rss_mib: Option<f64>,
    /// Words with a vector.
    pub vocab_size: usize,
    /// Vector dimension.
    pub dim: usize,
    /// Analogy accuracy, when an analogy set was given.
    pub analogy: Option<AnalogySummary>,
    /// One entry per similarity set, in the order given.
    pub similarity: Vec<SimilaritySummary>,
}

impl ModelReport {
    /// Evaluates a trained model on the loaded sets with `embed eval`'s
    /// evaluator and settings, so the figures equal `embed eval`'s.
    pub fn evaluate(trained: &TrainedModel, sets: &LoadedEvalSets) -> Result<Self> {
        let vectors = &trained.vectors;
        let analogy = sets
            .analogy
            .as_ref()
            .map(|set| {
                let options = AnalogyOptions {
                    restrict_vocab: sets.restrict_vocab,
                    ..AnalogyOptions::default()
                };
                evaluate_analogies(vectors, set, &options).map(|r| AnalogySummary {
                    semantic: r.semantic.accuracy,
                    syntactic: r.syntactic.accuracy,
                    total: r.total.accuracy,
                    evaluated: r.total.evaluated(),
                    skipped: r.skipped,
                })
            })
            .transpose()?;
        let similarity = sets
            .similarity
            .iter()
            .map(|pairs| {
                evaluate_word_pairs(vectors, pairs, &SimilarityOptions::default()).map(|r| {
                    SimilaritySummary {
                        dataset: r.dataset,
                        spearman: r.spearman,
                        pearson: r.pearson,
                        oov_ratio: r.oov_ratio,
                    }
                })
            })
            .collect::<Result<_>>()?;
        Ok(ModelReport {
            model: trained.kind.name().to_string(),
            train_seconds: trained.train_seconds,
            words_per_sec: trained.words_trained as f64 / trained.train_seconds.max(1e-9),
            peak_rss_mib: peak_rss_bytes().map(|b| b as f64 / (1024.0 * 1024.0)),
            vocab_size: vectors.len(),
            dim: vectors.dim(),
            analogy,
            similarity,
        })
    }

    /// The quality figure plotted against time: analogy total accuracy in
    /// percent when there is one, else the mean Spearman × 100.
    pub fn headline_quality(&self) -> Option<f64> {
        if let Some(a) = &self.analogy {
            return Some(100.0 * a.total);
        }
        let finite: Vec<f64> = self
            .similarity
            .iter()
            .map(|s| s.spearman)
            .filter(|s| s.is_finite())
            .collect();
        (!finite.is_empty()).then(|| 100.0 * finite.iter().sum::<f64>() / finite.len() as f64)
    }
}

/// The result of an experiment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ComparisonReport {
    /// The corpus trained on.
    pub corpus: String,
    /// The matched settings.
    pub settings: Settings,
    /// One report per model, in training order.
    pub models: Vec<ModelReport>,
}

fn similarity_names(report: &ComparisonReport) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    for model in &report.models {
        for s in &model.similarity {
            if !names.contains(&s.dataset) {
                names.push(s.dataset.clone());
            }
        }
    }
    names
}

fn cell(value: Option<f64>, digits: usize) -> String {
    match value {
        Some(v) if v.is_finite() => format!("{v:.digits$}"),
        _ => "-".to_string(),
    }
}

impl ComparisonReport {
    /// A Markdown table, one row per model.
    ///
    /// ```
    /// use embed_compare::{ComparisonReport, ModelReport, Settings};
    /// let report = ComparisonReport {
    ///     corpus: "c.txt".into(),
    ///     settings: Settings::default(),
    ///     models: vec![ModelReport {
    ///         model: "glove".into(), train_seconds: 2.0, words_per_sec: 5e5,
    ///         peak_rss_mib: Some(80.0), vocab_size: 1000, dim: 50,
    ///         analogy: None, similarity: vec![],
    ///     }],
    /// };
    /// assert!(report.to_markdown().contains("| glove |"));
    /// ```
    pub fn to_markdown(&self) -> String {
        let names = similarity_names(self);
        let mut out = String::from(
            "| model | train s | words/s | peak MiB | vocab | analogy sem % | analogy syn % | analogy total % |",
        );
        for name in &names {
            let _ = write!(out, " {name} ρ | {name} OOV % |");
        }
        out.push('\n');
        let columns = 8 + 2 * names.len();
        out.push('|');
        for i in 0..columns {
            out.push_str(if i == 0 { " --- |" } else { " ---: |" });
        }
        out.push('\n');
        for m in &self.models {
            let a = m.analogy.as_ref();
            let _ = write!(
                out,
                "| {} | {:.1} | {:.0} | {} | {} | {} | {} | {} |",
                m.model,
                m.train_seconds,
                m.words_per_sec,
                cell(m.peak_rss_mib, 0),
                m.vocab_size,
                cell(a.map(|a| 100.0 * a.semantic), 1),
                cell(a.map(|a| 100.0 * a.syntactic), 1),
                cell(a.map(|a| 100.0 * a.total), 1),
            );
            for name in &names {
                let s = m.similarity.iter().find(|s| &s.dataset == name);
                let _ = write!(
                    out,
                    " {} | {} |",
                    cell(s.map(|s| s.spearman), 3),
                    cell(s.map(|s| s.oov_ratio), 1)
                );
            }
            out.push('\n');
        }
        out
    }

    /// Comma-separated values with a header line, one row per model.
    pub fn to_csv(&self) -> String {
        let names = similarity_names(self);
        let mut out = String::from(
            "model,train_seconds,words_per_sec,peak_rss_mib,vocab_size,dim,analogy_semantic,analogy_syntactic,analogy_total,analogy_evaluated,analogy_skipped",
        );
        for name in &names {
            let _ = write!(out, ",{name}_spearman,{name}_pearson,{name}_oov_ratio");
        }
        out.push('\n');
        let num = |v: Option<f64>| v.map_or(String::new(), |v| v.to_string());
        for m in &self.models {
            let a = m.analogy.as_ref();
            let _ = write!(
                out,
                "{},{},{},{},{},{},{},{},{},{},{}",
                m.model,
                m.train_seconds,
                m.words_per_sec,
                num(m.peak_rss_mib),
                m.vocab_size,
                m.dim,
                num(a.map(|a| a.semantic)),
                num(a.map(|a| a.syntactic)),
                num(a.map(|a| a.total)),
                a.map_or(String::new(), |a| a.evaluated.to_string()),
                a.map_or(String::new(), |a| a.skipped.to_string()),
            );
            for name in &names {
                let s = m.similarity.iter().find(|s| &s.dataset == name);
                let _ = write!(
                    out,
                    ",{},{},{}",
                    num(s.map(|s| s.spearman)),
                    num(s.map(|s| s.pearson)),
                    num(s.map(|s| s.oov_ratio))
                );
            }
            out.push('\n');
        }
        out
    }

    /// An SVG scatter plot of quality against training time, one point per model.
    pub fn to_svg(&self) -> String {
        crate::plot::quality_vs_time(self)
    }
}
