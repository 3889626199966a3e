//! Corrupt or inconsistent `.bin` files give typed errors, never panics or
//! allocations larger than the file.

use embed_core::Error;
use embed_fasttext::FastText;

const TINY: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/tiny.bin");

/// Byte offsets in tiny.bin's header.
const VERSION_AT: usize = 4;
const BUCKET_AT: usize = 8 + 8 * 4;
const MINN_AT: usize = BUCKET_AT + 4;
const MAXN_AT: usize = MINN_AT + 4;
const DICT_AT: usize = 8 + 12 * 4 + 8;

fn load_modified(edit: impl FnOnce(&mut Vec<u8>)) -> Result<FastText, Error> {
    let mut bytes = std::fs::read(TINY).unwrap();
    edit(&mut bytes);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.bin");
    std::fs::write(&path, bytes).unwrap();
    FastText::load(&path)
}

fn put_i32(bytes: &mut [u8], at: usize, v: i32) {
    bytes[at..at + 4].copy_from_slice(&v.to_le_bytes());
}

fn format_message(result: Result<FastText, Error>) -> String {
    match result {
        Err(Error::Format { message, .. }) => message,
        other => panic!("expected a format error, got {other:?}"),
    }
}

#[test]
fn every_truncation_is_an_error() {
    let len = std::fs::read(TINY).unwrap().len();
    for cut in (0..len).step_by(211).chain([len - 1]) {
        let result = load_modified(|b| b.truncate(cut));
        assert!(matches!(result, Err(Error::Format { .. })), "cut at {cut}");
    }
}

#[test]
fn wrong_magic_is_named() {
    let msg = format_message(load_modified(|b| put_i32(b, 0, 12345)));
    assert!(msg.contains("not a fastText model"), "{msg}");
}

#[test]
fn unknown_version_is_named() {
    let msg = format_message(load_modified(|b| put_i32(b, VERSION_AT, 13)));
    assert!(msg.contains("version 13"), "{msg}");
}

#[test]
fn huge_dictionary_is_rejected_before_allocating() {
    let msg = format_message(load_modified(|b| {
        put_i32(b, DICT_AT, i32::MAX);
        put_i32(b, DICT_AT + 4, i32::MAX);
    }));
    assert!(msg.contains("cannot fit"), "{msg}");
}

#[test]
fn bucket_inconsistent_with_matrix_is_rejected() {
    let msg = format_message(load_modified(|b| put_i32(b, BUCKET_AT, 999)));
    assert!(msg.contains("input matrix"), "{msg}");
}

#[test]
fn huge_matrix_is_rejected_before_allocating() {
    let mut bytes = std::fs::read(TINY).unwrap();
    // The input matrix's row count follows the quantization flag after the dictionary.
    let model = FastText::load(TINY).unwrap();
    let dict_bytes: usize = model
        .dictionary()
        .entries()
        .iter()
        .map(|e| e.word.len() + 1 + 8 + 1)
        .sum();
    let rows_at = DICT_AT + 4 * 3 + 8 * 2 + dict_bytes + 1;
    bytes[rows_at..rows_at + 8].copy_from_slice(&(1i64 << 40).to_le_bytes());
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.bin");
    std::fs::write(&path, bytes).unwrap();
    let msg = format_message(FastText::load(&path));
    assert!(msg.contains("exceeds"), "{msg}");
}

#[test]
fn quantized_models_are_rejected_clearly() {
    let model = FastText::load(TINY).unwrap();
    let dict_bytes: usize = model
        .dictionary()
        .entries()
        .iter()
        .map(|e| e.word.len() + 1 + 8 + 1)
        .sum();
    let flag_at = DICT_AT + 4 * 3 + 8 * 2 + dict_bytes;
    let msg = format_message(load_modified(|b| b[flag_at] = 1));
    assert!(msg.contains("quantized"), "{msg}");
}

#[test]
fn minn_above_maxn_is_rejected() {
    let msg = format_message(load_modified(|b| put_i32(b, MINN_AT, 7)));
    assert!(msg.contains("minn"), "{msg}");
}

#[test]
fn zero_buckets_with_subwords_is_rejected() {
    let msg = format_message(load_modified(|b| {
        put_i32(b, BUCKET_AT, 0);
        put_i32(b, MAXN_AT, 6);
    }));
    assert!(msg.contains("bucket"), "{msg}");
}

#[test]
fn trailing_bytes_are_rejected() {
    let msg = format_message(load_modified(|b| b.extend_from_slice(&[0; 3])));
    assert!(msg.contains("after the output matrix"), "{msg}");
}
