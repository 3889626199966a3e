//! Vocabulary building, pruning, ordering and its file format.

use std::collections::HashMap;

use embed_core::Error;
use embed_vocab::{InMemoryCorpus, TextCorpus, VocabParams, Vocabulary};
use proptest::prelude::*;

fn params(min_count: u64) -> VocabParams {
    VocabParams::builder().min_count(min_count).build().unwrap()
}

#[test]
fn params_reject_each_bad_field_by_name() {
    for (builder, field) in [
        (VocabParams::builder().min_count(0), "min_count"),
        (VocabParams::builder().max_size(Some(0)), "max_size"),
        (VocabParams::builder().threads(0), "threads"),
    ] {
        match builder.build() {
            Err(Error::InvalidParameter { name, .. }) => assert_eq!(name, field),
            other => panic!("{field}: {other:?}"),
        }
    }
    assert_eq!(VocabParams::default().min_count(), 5);
}

#[test]
fn orders_by_count_then_bytes() {
    let corpus = InMemoryCorpus::from_text("b a c b a c d é Z");
    let v = Vocabulary::build(&corpus, &params(1)).unwrap();
    assert_eq!(v.words(), ["a", "b", "c", "Z", "d", "é"]);
    assert_eq!(v.counts(), [2, 2, 2, 1, 1, 1]);
    for (i, w) in v.words().iter().enumerate() {
        assert_eq!(v.id(w), Some(i as u32));
        assert_eq!(v.word(i as u32), Some(w.as_str()));
    }
    assert_eq!(v.id("missing"), None);
    assert_eq!(v.word(6), None);
}

#[test]
fn min_count_and_max_size_prune() {
    let corpus = InMemoryCorpus::from_text("a a a a b b b c c d");
    let v = Vocabulary::build(&corpus, &params(2)).unwrap();
    assert_eq!(v.words(), ["a", "b", "c"]);
    assert_eq!((v.total_words(), v.corpus_words()), (9, 10));
    let p = VocabParams::builder()
        .min_count(1)
        .max_size(Some(2))
        .build()
        .unwrap();
    let v = Vocabulary::build(&corpus, &p).unwrap();
    assert_eq!(v.words(), ["a", "b"]);
    assert_eq!(v.total_words(), 7);
}

#[test]
fn empty_corpus_is_an_error() {
    let err = Vocabulary::build(&InMemoryCorpus::from_text(" \n\n"), &params(1)).unwrap_err();
    assert!(matches!(err, Error::EmptyCorpus { .. }), "{err:?}");

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("empty.txt");
    std::fs::write(&path, "").unwrap();
    let corpus = TextCorpus::open(&path).unwrap();
    for threads in [1, 3] {
        let p = VocabParams::builder()
            .min_count(1)
            .threads(threads)
            .build()
            .unwrap();
        let err = Vocabulary::build(&corpus, &p).unwrap_err();
        assert!(err.to_string().contains("empty.txt"), "{err}");
    }
}

#[test]
fn min_count_removing_everything_is_an_error_naming_it() {
    let err = Vocabulary::build(&InMemoryCorpus::from_text("a b c"), &params(5)).unwrap_err();
    match &err {
        Error::EmptyCorpus { detail, .. } => assert!(detail.contains("min_count = 5"), "{err}"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn ids_into_skips_unknown_and_reuses_buffer() {
    let v = Vocabulary::build(&InMemoryCorpus::from_text("x y y"), &params(1)).unwrap();
    let mut ids = vec![99, 98, 97];
    v.ids_into(&["x", "?", "y", "x"], &mut ids);
    assert_eq!(ids, [1, 0, 1]);
}

#[test]
fn save_and_load_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("vocab.txt");
    let v = Vocabulary::build(&InMemoryCorpus::from_text("c a b b c c é"), &params(1)).unwrap();
    v.save_counts(&path).unwrap();
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        "c 3\nb 2\na 1\né 1\n"
    );
    let back = Vocabulary::load_counts(&path, &params(1)).unwrap();
    assert_eq!(back, v);
    // Loading applies min_count like building does.
    let pruned = Vocabulary::load_counts(&path, &params(2)).unwrap();
    assert_eq!(pruned.words(), ["c", "b"]);
    assert_eq!(pruned.corpus_words(), 7);
    // No temporary file is left behind.
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
}

#[test]
fn load_rejects_malformed_lines_with_their_number() {
    let dir = tempfile::tempdir().unwrap();
    for (content, line, what) in [
        ("a 1\nb\n", 2, "word count"),
        ("a 1\nb x\n", 2, "`x`"),
        ("a 1\n\nb -3\n", 3, "`-3`"),
        ("a 1\nb 2 3\n", 2, "word count"),
        ("a 1\nb 2\na 4\n", 3, "twice"),
    ] {
        let path = dir.path().join("v.txt");
        std::fs::write(&path, content).unwrap();
        let err = Vocabulary::load_counts(&path, &params(1)).unwrap_err();
        match &err {
            Error::Format { location, .. } => {
                assert_eq!(*location, embed_core::Location::Line(line), "{content:?}")
            }
            other => panic!("{content:?}: {other:?}"),
        }
        assert!(err.to_string().contains(what), "{err}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Counting matches a plain HashMap count; threads change nothing.
    #[test]
    fn counts_match_naive_and_are_thread_independent(
        words in prop::collection::vec(prop::sample::select(vec!["a", "bb", "c", "dé", "e", "f"]), 1..300),
        line_every in 1usize..20,
        min_count in 1u64..4,
        threads in 2usize..6,
    ) {
        let text: String = words
            .iter()
            .enumerate()
            .map(|(i, w)| format!("{w}{}", if i % line_every == 0 { "\n" } else { " " }))
            .collect();
        let mut naive: HashMap<&str, u64> = HashMap::new();
        for w in &words {
            *naive.entry(w).or_default() += 1;
        }
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.txt");
        std::fs::write(&path, &text).unwrap();
        let corpus = TextCorpus::open(&path).unwrap();
        let one = VocabParams::builder().min_count(min_count).build().unwrap();
        let many = VocabParams::builder().min_count(min_count).threads(threads).build().unwrap();
        match Vocabulary::build(&corpus, &one) {
            Ok(v) => {
                prop_assert_eq!(v.corpus_words(), words.len() as u64);
                for (w, &c) in &naive {
                    prop_assert_eq!(v.id(w).map(|id| v.counts()[id as usize]), (c >= min_count).then_some(c));
                }
                prop_assert!(v.counts().windows(2).all(|p| p[0] >= p[1]));
                let parallel = Vocabulary::build(&corpus, &many).unwrap();
                prop_assert_eq!(parallel, v.clone());
                let in_memory = Vocabulary::build(&InMemoryCorpus::from_text(&text), &many).unwrap();
                prop_assert_eq!(in_memory, v);
            }
            Err(Error::EmptyCorpus { .. }) => prop_assert!(naive.values().all(|&c| c < min_count)),
            Err(e) => prop_assert!(false, "{e}"),
        }
    }
}

#[test]
fn sentence_ends_count_one_token_per_sentence() {
    let corpus = InMemoryCorpus::from_text("a b\n\nb c\nc a b");
    let p = VocabParams::builder()
        .min_count(1)
        .sentence_ends(true)
        .threads(2)
        .build()
        .unwrap();
    let v = Vocabulary::build(&corpus, &p).unwrap();
    assert_eq!(v.words(), ["</s>", "b", "a", "c"]);
    assert_eq!(v.counts(), [3, 3, 2, 2]);
    assert_eq!(v.corpus_words(), 10);
}
