//! Reading Hugging Face `model.safetensors` checkpoints into a
//! [`ParameterStore`].
//!
//! The safetensors parser checks the header length, the JSON header, that
//! every tensor's byte range lies inside the file and matches its dtype and
//! shape; any failure becomes a format error naming the file. Integer and
//! boolean tensors (such as `embeddings.position_ids`) are skipped; other
//! float types are rejected with the tensor's name. A leading `bert.` is
//! removed from names, so `BertModel` and `BertForMaskedLM` checkpoints
//! read alike.

use std::path::Path;

use embed_core::params::ParameterStore;
use embed_core::{Error, Location, Result};
use ndarray::{ArrayD, IxDyn};
use safetensors::{Dtype, SafeTensors};

/// The prefix `BertForMaskedLM` and friends put before encoder names.
pub const BERT_PREFIX: &str = "bert.";

/// Reads every float tensor of a safetensors file.
pub fn read_safetensors(path: impl AsRef<Path>) -> Result<ParameterStore> {
    let path = path.as_ref();
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    parse_safetensors(&bytes, path)
}

/// Parses safetensors bytes; `path` only labels errors.
pub fn parse_safetensors(bytes: &[u8], path: &Path) -> Result<ParameterStore> {
    let tensors = SafeTensors::deserialize(bytes)
        .map_err(|e| Error::format(path, Location::File, format!("invalid safetensors: {e}")))?;
    let mut store = ParameterStore::new(0);
    for (name, view) in tensors.tensors() {
        match view.dtype() {
            Dtype::F32 => {}
            Dtype::BOOL
            | Dtype::U8
            | Dtype::I8
            | Dtype::I16
            | Dtype::U16
            | Dtype::I32
            | Dtype::U32
            | Dtype::I64
            | Dtype::U64 => continue,
            other => {
                return Err(Error::format(
                    path,
                    Location::File,
                    format!("tensor `{name}` has dtype {other:?}; only F32 weights are supported"),
                ))
            }
        }
        let values: Vec<f32> = view
            .data()
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect();
        let array = ArrayD::from_shape_vec(IxDyn(view.shape()), values)
            .map_err(|e| Error::format(path, Location::File, format!("tensor `{name}`: {e}")))?;
        let name = name.strip_prefix(BERT_PREFIX).unwrap_or(&name).to_string();
        store.insert(name, array);
    }
    Ok(store)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A safetensors file by hand: 8-byte little-endian header length,
    /// JSON header, data.
    fn file(header: &str, data: &[u8]) -> Vec<u8> {
        let mut out = (header.len() as u64).to_le_bytes().to_vec();
        out.extend_from_slice(header.as_bytes());
        out.extend_from_slice(data);
        out
    }

    fn parse(bytes: &[u8]) -> Result<ParameterStore> {
        parse_safetensors(bytes, Path::new("model.safetensors"))
    }

    #[test]
    fn reads_f32_strips_prefix_and_skips_integers() {
        let mut data = Vec::new();
        for v in [1.0f32, 2.0, 3.0, 4.0] {
            data.extend_from_slice(&v.to_le_bytes());
        }
        data.extend_from_slice(&7i64.to_le_bytes());
        let header = r#"{"bert.w":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]},"ids":{"dtype":"I64","shape":[1],"data_offsets":[16,24]}}"#;
        let store = parse(&file(header, &data)).unwrap();
        assert_eq!(store.get("w").unwrap().shape(), &[2, 2]);
        assert_eq!(store.get("w").unwrap()[[1, 0]], 3.0);
        assert!(store.get("ids").is_none());
    }

    #[test]
    fn corrupt_files_are_format_errors() {
        let ok_header = r#"{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#;
        let cases: Vec<(&str, Vec<u8>)> = vec![
            ("too short", vec![1, 2, 3]),
            ("header longer than file", {
                let mut f = file(ok_header, &[0; 8]);
                f[..8].copy_from_slice(&(1u64 << 40).to_le_bytes());
                f
            }),
            (
                "offsets outside the file",
                file(
                    r#"{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,800]}}"#,
                    &[0; 8],
                ),
            ),
            (
                "shape disagrees with bytes",
                file(
                    r#"{"w":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}"#,
                    &[0; 8],
                ),
            ),
            ("bad json", file("{not json", &[])),
            (
                "f16 weights",
                file(
                    r#"{"w":{"dtype":"F16","shape":[4],"data_offsets":[0,8]}}"#,
                    &[0; 8],
                ),
            ),
        ];
        for (what, bytes) in cases {
            let err = parse(&bytes).unwrap_err();
            assert!(matches!(err, Error::Format { .. }), "{what}: {err}");
        }
        let err = parse(&file(
            r#"{"w":{"dtype":"F16","shape":[4],"data_offsets":[0,8]}}"#,
            &[0; 8],
        ))
        .unwrap_err();
        assert!(err.to_string().contains("`w`"), "{err}");
    }
}
