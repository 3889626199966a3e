//! Property test: writing any vectors in any format and reading them back
//! gives the same words and bit-identical values.

use embed_core::formats::{
    read_glove, read_word2vec_binary, read_word2vec_text, write_glove, write_word2vec_binary,
    write_word2vec_text, ReadOptions,
};
use embed_core::WordVectors;
use ndarray::Array2;
use proptest::collection::{hash_set, vec};
use proptest::prelude::*;
use std::path::Path;

/// Words of letters, digits, punctuation and non-ASCII characters; never
/// the space or line breaks the formats use as separators.
fn word() -> impl Strategy<Value = String> {
    "[a-zA-Z0-9_'.,éßüΩ日本語🙂\\-\u{00a0}\t]{1,12}"
}

fn finite_f32() -> impl Strategy<Value = f32> {
    prop_oneof![
        any::<f32>().prop_filter("finite", |v| v.is_finite()),
        -10.0f32..10.0,
        Just(0.0f32),
        Just(-0.0f32),
        Just(f32::MIN_POSITIVE / 4.0),
    ]
}

fn vectors() -> impl Strategy<Value = WordVectors> {
    (1usize..6, hash_set(word(), 1..20)).prop_flat_map(|(dim, words)| {
        let words: Vec<String> = words.into_iter().collect();
        let n = words.len();
        vec(finite_f32(), n * dim).prop_map(move |values| {
            let matrix = Array2::from_shape_vec((n, dim), values).unwrap();
            WordVectors::new(words.clone(), matrix).unwrap()
        })
    })
}

fn bits(v: &WordVectors) -> Vec<u32> {
    v.matrix().iter().map(|x| x.to_bits()).collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn binary_round_trip(v in vectors()) {
        let mut bytes = Vec::new();
        write_word2vec_binary(&mut bytes, &v).unwrap();
        let back = read_word2vec_binary(&bytes[..], Path::new("mem"), &ReadOptions::default()).unwrap();
        prop_assert_eq!(back.words(), v.words());
        prop_assert_eq!(bits(&back), bits(&v));
    }

    #[test]
    fn text_round_trip(v in vectors()) {
        let mut bytes = Vec::new();
        write_word2vec_text(&mut bytes, &v).unwrap();
        let back = read_word2vec_text(&bytes[..], Path::new("mem"), &ReadOptions::default()).unwrap();
        prop_assert_eq!(back.words(), v.words());
        prop_assert_eq!(bits(&back), bits(&v));
    }

    #[test]
    fn glove_round_trip(v in vectors()) {
        let mut bytes = Vec::new();
        write_glove(&mut bytes, &v).unwrap();
        let back = read_glove(&bytes[..], Path::new("mem"), &ReadOptions::default()).unwrap();
        prop_assert_eq!(back.words(), v.words());
        prop_assert_eq!(bits(&back), bits(&v));
    }
}
