//! Reading bilm-tf's `weights.hdf5`.
//!
//! The file is read with `hdf5-pure`, a pure-Rust HDF5 implementation, so no
//! C library has to be installed to load (or later write) a model. Every
//! tensor is fetched by its dataset path and its shape is checked against the
//! one the options imply before any data is used.

use std::collections::BTreeMap;
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

    /// Every float dataset of the file by its full path (`CNN/W_cnn_0`, …).
    pub fn read_all(&self) -> Result<BTreeMap<String, ArrayD<f32>>> {
        let mut tensors = BTreeMap::new();
        let mut pending = vec![String::new()];
        while let Some(prefix) = pending.pop() {
            let group = if prefix.is_empty() {
                self.file.root()
            } else {
                self.file
                    .group(&prefix)
                    .map_err(|e| self.format_error(&prefix, e))?
            };
            let join = |name: &str| {
                if prefix.is_empty() {
                    name.to_string()
                } else {
                    format!("{prefix}/{name}")
                }
            };
            for name in group.groups().map_err(|e| self.format_error(&prefix, e))? {
                pending.push(join(&name));
            }
            for name in group
                .datasets()
                .map_err(|e| self.format_error(&prefix, e))?
            {
                let path = join(&name);
                let dataset = self
                    .file
                    .dataset(&path)
                    .map_err(|e| self.format_error(&path, e))?;
                let shape: Vec<usize> = dataset
                    .shape()
                    .map_err(|e| self.format_error(&path, e))?
                    .into_iter()
                    .map(|d| usize::try_from(d).unwrap_or(usize::MAX))
                    .collect();
                let tensor = self.tensor(&path, &shape)?;
                tensors.insert(path, tensor);
            }
        }
        Ok(tensors)
    }

    fn format_error(&self, name: &str, e: hdf5_pure::Error) -> Error {
        Error::format(&self.path, Location::File, format!("dataset `{name}`: {e}"))
    }
}

/// A group of the file being written: datasets and sub-groups by name.
#[derive(Default)]
struct GroupTree<'a> {
    datasets: Vec<(&'a str, &'a ArrayD<f32>)>,
    groups: BTreeMap<&'a str, GroupTree<'a>>,
}

impl<'a> GroupTree<'a> {
    fn insert(&mut self, path: &'a str, tensor: &'a ArrayD<f32>) {
        match path.split_once('/') {
            Some((group, rest)) => self.groups.entry(group).or_default().insert(rest, tensor),
            None => self.datasets.push((path, tensor)),
        }
    }
}

/// Adds a tree's datasets and groups through `create_dataset` /
/// `create_group` / `add_group`, which the file and its groups both offer.
macro_rules! fill_group {
    ($builder:expr, $tree:expr) => {{
        for (name, tensor) in &$tree.datasets {
            let data: Vec<f32> = tensor.iter().copied().collect();
            let shape: Vec<u64> = tensor.shape().iter().map(|&d| d as u64).collect();
            $builder
                .create_dataset(name)
                .with_f32_data(&data)
                .with_shape(&shape);
        }
        for (name, sub) in &$tree.groups {
            let mut group = $builder.create_group(name);
            fill_subgroup(&mut group, sub);
            $builder.add_group(group.finish());
        }
    }};
}

fn fill_subgroup(builder: &mut hdf5_pure::GroupBuilder, tree: &GroupTree<'_>) {
    fill_group!(builder, tree);
}

/// Writes float tensors to an HDF5 file, creating the groups their paths
/// name (`RNN_0/RNN/MultiRNNCell/Cell0/LSTMCell/W_0`). The file is written
/// next to `path` and renamed into place, so a failed write leaves no
/// partial file.
///
/// ```
/// use std::collections::BTreeMap;
/// use embed_elmo::weights::{write_hdf5, Hdf5Weights};
/// let dir = tempfile::tempdir().unwrap();
/// let path = dir.path().join("w.hdf5");
/// let mut tensors = BTreeMap::new();
/// tensors.insert("CNN/b_cnn_0".to_string(), ndarray::arr1(&[1.0f32, 2.0]).into_dyn());
/// write_hdf5(&path, &tensors).unwrap();
/// assert_eq!(Hdf5Weights::open(&path).unwrap().read_all().unwrap(), tensors);
/// ```
pub fn write_hdf5(path: impl AsRef<Path>, tensors: &BTreeMap<String, ArrayD<f32>>) -> Result<()> {
    let path = path.as_ref();
    let mut tree = GroupTree::default();
    for (name, tensor) in tensors {
        if name.is_empty() || name.split('/').any(str::is_empty) {
            return Err(Error::InvalidInput(format!(
                "`{name}` is not a dataset path"
            )));
        }
        tree.insert(name, tensor);
    }
    let mut builder = hdf5_pure::FileBuilder::new();
    fill_group!(builder, tree);
    let bytes = builder
        .finish()
        .map_err(|e| Error::format(path, Location::File, format!("cannot encode HDF5: {e}")))?;
    let mut temporary = path.as_os_str().to_owned();
    temporary.push(".partial");
    let temporary = PathBuf::from(temporary);
    std::fs::write(&temporary, bytes).map_err(|e| Error::io(&temporary, e))?;
    std::fs::rename(&temporary, path).map_err(|e| Error::io(path, e))
}
