//! The one error type of the workspace.
//!
//! Every fallible call in the library returns [`Result`]. Variants carry the
//! context a user needs to fix the problem: which file, which line or byte
//! offset, which parameter and why.

use std::path::PathBuf;

/// Errors raised anywhere in the embed workspace.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An operating-system I/O failure on a named file.
    #[error("{path}: {source}")]
    Io {
        /// The file that could not be read or written.
        path: PathBuf,
        /// The underlying failure.
        #[source]
        source: std::io::Error,
    },

    /// An I/O failure with no file attached (a stream such as standard input).
    #[error("I/O error: {0}")]
    Stream(#[from] std::io::Error),

    /// A file whose content does not follow its format.
    #[error("{path}: {location}: {message}")]
    Format {
        /// The file being read.
        path: PathBuf,
        /// Where in the file the problem was found.
        location: Location,
        /// What is wrong.
        message: String,
    },

    /// A hyperparameter or option outside its valid range.
    #[error("invalid parameter `{name}`: {reason}")]
    InvalidParameter {
        /// The parameter's name as users spell it (`dim`, `window`, …).
        name: &'static str,
        /// Why the value is rejected.
        reason: String,
    },

    /// A tensor whose shape is not the one the model expects.
    #[error("tensor `{name}` has shape {actual:?}, expected {expected:?}")]
    ShapeMismatch {
        /// Full parameter path, e.g. `encoder.layer.0.attention.self.query.weight`.
        name: String,
        /// The shape the model needs.
        expected: Vec<usize>,
        /// The shape found.
        actual: Vec<usize>,
    },

    /// A named tensor or parameter that is not present.
    #[error("missing tensor `{name}`")]
    MissingTensor {
        /// Full parameter path.
        name: String,
    },

    /// A corpus that yields no usable words.
    #[error("corpus {source_name} yields no words{detail}")]
    EmptyCorpus {
        /// The corpus path or description.
        source_name: String,
        /// Extra explanation (for example the min-count that removed every word).
        detail: String,
    },

    /// Training produced a non-finite loss or parameter.
    #[error("training diverged in epoch {epoch} (loss {loss}): {hint}")]
    Diverged {
        /// The 1-based epoch in which the non-finite value appeared.
        epoch: usize,
        /// The offending loss value.
        loss: f64,
        /// The likely cause, e.g. a learning rate that is too high.
        hint: String,
    },

    /// A word that is not in the vocabulary and cannot be synthesised.
    #[error("word `{0}` is not in the vocabulary")]
    UnknownWord(String),

    /// Input text or a request that cannot be processed.
    #[error("invalid input: {0}")]
    InvalidInput(String),
}

/// Where in a file an error was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Location {
    /// 1-based line number of a text file.
    Line(u64),
    /// Byte offset from the start of a file.
    Byte(u64),
    /// Nothing more precise than the whole file.
    File,
}

impl std::fmt::Display for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Location::Line(n) => write!(f, "line {n}"),
            Location::Byte(n) => write!(f, "byte {n}"),
            Location::File => f.write_str("file"),
        }
    }
}

/// Shorthand for results with the workspace's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// Wraps an I/O error with the path it concerns.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }

    /// A format error at a location of a file.
    pub fn format(
        path: impl Into<PathBuf>,
        location: Location,
        message: impl Into<String>,
    ) -> Self {
        Error::Format {
            path: path.into(),
            location,
            message: message.into(),
        }
    }

    /// An invalid hyperparameter.
    ///
    /// ```
    /// use embed_core::Error;
    /// let e = Error::invalid_parameter("dim", "must be at least 1");
    /// assert_eq!(e.to_string(), "invalid parameter `dim`: must be at least 1");
    /// ```
    pub fn invalid_parameter(name: &'static str, reason: impl Into<String>) -> Self {
        Error::InvalidParameter {
            name,
            reason: reason.into(),
        }
    }
}
