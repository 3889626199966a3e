//! Reading bilm-tf's `weights.hdf5`.
//!
//! The file is read with `hdf5-pure`, a pure-Rust HDF5 implementation, so no
//! C library has to be installed to load (or later write) a model. Every
//! tensor is fetched by its dataset path and its shape is checked against the
//! one the options imply before any data is used.

use std::path::{Path, PathBuf};

use embed_core::{Error, Location, Result};
use ndarray::{Array1, Array2, ArrayD, IxDyn};

/// An open `weights.hdf5`.
pub struct Hdf5Weights {
    file: hdf5_pure::File,
    path: PathBuf,
}

impl Hdf5Weights {
    /// Opens an HDF5 file.
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref().to_path_buf();
        let file = hdf5_pure::File::open(&path).map_err(|e| match e {
            hdf5_pure::Error::Io(source) => Error::io(&path, source),
            other => Error::format(
                &path,
                Location::File,
                format!("not a readable HDF5 file: {other}"),
            ),
        })?;
        Ok(Self { file, path })
    }

    /// The file this reads.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Reads the float dataset `name`, which must have exactly `shape`.
    pub fn tensor(&self, name: &str, shape: &[usize]) -> Result<ArrayD<f32>> {
        let dataset = self.file.dataset(name).map_err(|_| Error::MissingTensor {
            name: format!("{name} (in {})", self.path.display()),
        })?;
        let actual: Vec<usize> = dataset
            .shape()
            .map_err(|e| self.format_error(name, e))?
            .into_iter()
            .map(|d| usize::try_from(d).unwrap_or(usize::MAX))
            .collect();
        if actual != shape {
            return Err(Error::ShapeMismatch {
                name: name.to_string(),
                expected: shape.to_vec(),
                actual,
            });
        }
        let values = dataset.read_f32().map_err(|e| self.format_error(name, e))?;
        ArrayD::from_shape_vec(IxDyn(shape), values).map_err(|_| {
            Error::format(
                &self.path,
                Location::File,
                format!(
                    "dataset `{name}` holds a different number of values than its shape {shape:?}"
                ),
            )
        })
    }

    /// Reads a `[rows, cols]` matrix.
    pub fn matrix(&self, name: &str, rows: usize, cols: usize) -> Result<Array2<f32>> {
        let tensor = self.tensor(name, &[rows, cols])?;
        tensor.into_dimensionality().map_err(|e| {
            Error::format(&self.path, Location::File, format!("dataset `{name}`: {e}"))
        })
    }

    /// Reads a vector of length `len`.
    pub fn vector(&self, name: &str, len: usize) -> Result<Array1<f32>> {
        let tensor = self.tensor(name, &[len])?;
        tensor.into_dimensionality().map_err(|e| {
            Error::format(&self.path, Location::File, format!("dataset `{name}`: {e}"))
        })
    }

    fn format_error(&self, name: &str, e: hdf5_pure::Error) -> Error {
        Error::format(&self.path, Location::File, format!("dataset `{name}`: {e}"))
    }
}
