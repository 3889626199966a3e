//! WordVectors queries against answers gensim gave on the same vectors
//! (tests/data/gensim_queries.tsv, see tests/data/README.md).

use std::path::Path;

use embed_core::formats::{read_vectors, ReadOptions};
use embed_core::{Embedder, Error, Lookup, QueryOptions, StaticEmbedder, WordVectors};
use ndarray::{array, Array1, Array2};

/// gensim computes in float32 with BLAS; scores agree to this.
const SCORE_TOLERANCE: f32 = 1e-5;

fn gensim_vectors() -> WordVectors {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/gensim_small.bin");
    read_vectors(&path, None, &ReadOptions::default()).unwrap()
}

struct Query {
    method: String,
    positive: Vec<String>,
    negative: Vec<String>,
    topn: usize,
    restrict_vocab: Option<usize>,
    answer: String,
}

fn gensim_queries() -> Vec<Query> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/gensim_queries.tsv");
    let text = std::fs::read_to_string(path).unwrap();
    let list = |s: &str| -> Vec<String> {
        s.split(',')
            .filter(|w| !w.is_empty())
            .map(String::from)
            .collect()
    };
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .map(|line| {
            let f: Vec<&str> = line.split('\t').collect();
            Query {
                method: f[0].into(),
                positive: list(f[1]),
                negative: list(f[2]),
                topn: f[3].parse().unwrap_or(0),
                restrict_vocab: f[4].parse().ok(),
                answer: f[5].into(),
            }
        })
        .collect()
}

fn refs(words: &[String]) -> Vec<&str> {
    words.iter().map(String::as_str).collect()
}

fn assert_ranking_matches(ours: &[(String, f32)], gensim: &str, context: &str) {
    let expected: Vec<(&str, f32)> = gensim
        .split(' ')
        .map(|cell| {
            let (w, s) = cell.rsplit_once('=').unwrap();
            (w, s.parse().unwrap())
        })
        .collect();
    assert_eq!(ours.len(), expected.len(), "{context}");
    for ((word, score), (gword, gscore)) in ours.iter().zip(&expected) {
        assert_eq!(word, gword, "{context}: {ours:?}");
        assert!(
            (score - gscore).abs() <= SCORE_TOLERANCE * gscore.abs().max(1.0),
            "{context}: {word} {score} vs gensim {gscore}"
        );
    }
}

#[test]
fn queries_match_gensim() {
    let v = gensim_vectors();
    let queries = gensim_queries();
    assert_eq!(queries.len(), 12);
    for q in queries {
        let options = QueryOptions {
            restrict_vocab: q.restrict_vocab,
            exclude: Vec::new(),
        };
        let (pos, neg) = (refs(&q.positive), refs(&q.negative));
        let context = format!("{} {pos:?} {neg:?}", q.method);
        match q.method.as_str() {
            "most_similar" => {
                let ours = v.most_similar(&pos, &neg, q.topn, &options).unwrap();
                assert_ranking_matches(&ours, &q.answer, &context);
            }
            "most_similar_cosmul" => {
                let ours = v.most_similar_cosmul(&pos, &neg, q.topn, &options).unwrap();
                assert_ranking_matches(&ours, &q.answer, &context);
            }
            "similarity" => {
                let ours = v.similarity(pos[0], pos[1]).unwrap();
                let gensim: f32 = q.answer.parse().unwrap();
                assert!(
                    (ours - gensim).abs() < SCORE_TOLERANCE,
                    "{context}: {ours} vs {gensim}"
                );
            }
            "doesnt_match" => assert_eq!(v.doesnt_match(&pos).unwrap(), q.answer, "{context}"),
            other => panic!("unknown query kind {other}"),
        }
    }
}

#[test]
fn restrict_vocab_and_exclude_limit_candidates() {
    let v = gensim_vectors();
    let all = v
        .most_similar(&["w1"], &[], 45, &QueryOptions::default())
        .unwrap();
    assert_eq!(all.len(), 45);
    assert!(all.iter().all(|(w, _)| w != "w1"));

    let options = QueryOptions {
        restrict_vocab: Some(10),
        exclude: vec!["w0".into(), "not-a-word".into()],
    };
    let some = v.most_similar(&["w1"], &[], 100, &options).unwrap();
    // w0..w9 minus the query word and the excluded one.
    assert_eq!(some.len(), 8);
    let expected: Vec<&(String, f32)> = all
        .iter()
        .filter(|(w, _)| v.index_of(w).unwrap() < 10 && w != "w0")
        .collect();
    assert_eq!(some.iter().collect::<Vec<_>>(), expected);

    let cosmul = v.most_similar_cosmul(&["w1"], &[], 100, &options).unwrap();
    assert_eq!(cosmul.len(), 8);
}

#[test]
fn most_similar_to_vector_finds_the_word_itself_first() {
    let v = gensim_vectors();
    let query = v.vector("café").unwrap().to_owned() * 3.0;
    let best = v.most_similar_to_vector(query.view(), 3, &QueryOptions::default());
    assert_eq!(best[0].0, "café");
    assert!((best[0].1 - 1.0).abs() < 1e-6);
    // Same ranking as most_similar, which leaves the word out.
    let others = v
        .most_similar(&["café"], &[], 2, &QueryOptions::default())
        .unwrap();
    for ((w1, s1), (w2, s2)) in best[1..].iter().zip(&others) {
        assert_eq!(w1, w2);
        assert!((s1 - s2).abs() < 1e-6);
    }
}

#[test]
fn query_errors_are_typed() {
    let v = gensim_vectors();
    let o = QueryOptions::default();
    assert!(
        matches!(v.most_similar(&["nope"], &[], 3, &o), Err(Error::UnknownWord(w)) if w == "nope")
    );
    assert!(matches!(
        v.most_similar(&[], &[], 3, &o),
        Err(Error::InvalidInput(_))
    ));
    assert!(matches!(
        v.most_similar_cosmul(&[], &["w1"], 3, &o),
        Err(Error::InvalidInput(_))
    ));
    assert!(matches!(
        v.similarity("w1", "nope"),
        Err(Error::UnknownWord(_))
    ));
    assert!(matches!(
        v.doesnt_match(&["x", "y"]),
        Err(Error::InvalidInput(_))
    ));
    assert_eq!(v.most_similar(&["w1"], &[], 0, &o).unwrap(), vec![]);
}

#[test]
fn construction_rejects_bad_input() {
    let err = WordVectors::new(vec!["a".into()], Array2::zeros((2, 3))).unwrap_err();
    assert!(
        err.to_string().contains("1 words but 2 matrix rows"),
        "{err}"
    );
    let err = WordVectors::new(vec!["a".into(), "a".into()], Array2::zeros((2, 3))).unwrap_err();
    assert!(err.to_string().contains("duplicate word `a`"), "{err}");
    let err = WordVectors::new(
        vec!["ok".into(), "bad".into()],
        array![[1.0, 2.0], [f32::NAN, 0.0]],
    )
    .unwrap_err();
    assert!(err.to_string().contains("`bad`"), "{err}");
}

#[test]
fn unit_matrix_keeps_zero_rows_zero() {
    let v = WordVectors::new(
        vec!["zero".into(), "three-four".into()],
        array![[0.0, 0.0], [3.0, 4.0]],
    )
    .unwrap();
    assert_eq!(v.norms(), [0.0, 5.0]);
    assert_eq!(v.unit_matrix(), array![[0.0, 0.0], [0.6, 0.8]]);
    // A zero row scores 0 rather than NaN.
    let best = v
        .most_similar(&["three-four"], &[], 5, &QueryOptions::default())
        .unwrap();
    assert_eq!(best, vec![("zero".to_string(), 0.0)]);
}

#[test]
fn non_standard_layout_is_accepted() {
    let transposed = array![[1.0, 3.0], [2.0, 4.0]].reversed_axes();
    let v = WordVectors::new(vec!["a".into(), "b".into()], transposed).unwrap();
    assert_eq!(v.vector("a").unwrap().to_vec(), vec![1.0, 2.0]);
    assert!(v.unit_matrix().is_standard_layout());
}

#[test]
fn embedder_gives_zero_rows_for_unknown_words() {
    let v = gensim_vectors();
    let rows = v.embed_words(&["w3", "unknown"]).unwrap();
    assert_eq!(rows.row(0), v.vector("w3").unwrap());
    assert!(rows.row(1).iter().all(|x| *x == 0.0));
    assert!(v.lookup("w3").is_in_vocabulary());
    assert_eq!(v.lookup("unknown"), Lookup::Unknown);
    assert_eq!(StaticEmbedder::words(&v).len(), 46);
}

#[test]
fn parallel_scoring_agrees_with_a_plain_loop() {
    // Large enough (20000 x 256 values) to take the multi-threaded path.
    let (n, dim) = (20_000, 256);
    let words: Vec<String> = (0..n).map(|i| format!("w{i}")).collect();
    let matrix = Array2::from_shape_fn((n, dim), |(i, j)| {
        (((i * 31 + j * 17) % 97) as f32 - 48.0) / 48.0 + (i % 7) as f32 * 0.01
    });
    let v = WordVectors::new(words, matrix.clone()).unwrap();
    let query: Array1<f32> = matrix.row(123).to_owned();
    let ours = v.most_similar_to_vector(query.view(), 10, &QueryOptions::default());

    let qn = query.dot(&query).sqrt();
    let mut plain: Vec<(usize, f32)> = matrix
        .rows()
        .into_iter()
        .enumerate()
        .map(|(i, r)| (i, r.dot(&query) / (r.dot(&r).sqrt() * qn)))
        .collect();
    plain.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    for ((word, score), (i, expected)) in ours.iter().zip(&plain) {
        assert!(
            (score - expected).abs() < 1e-5,
            "{word}: {score} vs {expected}"
        );
        // Near-ties may swap; the word must score what the loop gives it.
        let j = v.index_of(word).unwrap();
        let own = plain.iter().find(|(k, _)| *k == j).unwrap().1;
        assert!((score - own).abs() < 1e-5, "{word} at rank of w{i}");
    }
}
