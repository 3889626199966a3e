//! Corpus streaming and sharding.

use std::io::Write;
use std::ops::ControlFlow;
use std::path::Path;

use embed_vocab::{Corpus, CorpusShard, InMemoryCorpus, TextCorpus};
use proptest::prelude::*;

fn sentences(read: impl FnOnce(&mut dyn FnMut(&[&str]) -> ControlFlow<()>)) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    read(&mut |s| {
        out.push(s.iter().map(|w| w.to_string()).collect());
        ControlFlow::Continue(())
    });
    out
}

fn corpus_sentences(c: &dyn Corpus) -> Vec<Vec<String>> {
    sentences(|f| c.for_each_sentence(f).unwrap())
}

fn shard_words(shard: &dyn CorpusShard) -> Vec<String> {
    sentences(|f| shard.for_each_sentence(f).unwrap())
        .into_iter()
        .flatten()
        .collect()
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> std::path::PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

#[test]
fn splits_on_ascii_whitespace_and_lines() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(
        dir.path(),
        "c.txt",
        b"  one\ttwo\x0bthree\r\n\n\x0cfour  five\nsix",
    );
    let corpus = TextCorpus::open(&path).unwrap();
    assert!(!corpus.is_gzip());
    assert_eq!(
        corpus_sentences(&corpus),
        [
            vec!["one", "two", "three"],
            vec!["four", "five"],
            vec!["six"]
        ]
    );
    // The same text in memory tokenises the same way.
    let text = std::fs::read_to_string(&path).unwrap();
    assert_eq!(
        corpus_sentences(&InMemoryCorpus::from_text(&text)),
        corpus_sentences(&corpus)
    );
}

#[test]
fn non_ascii_whitespace_stays_inside_words() {
    let dir = tempfile::tempdir().unwrap();
    // U+00A0 (no-break space) is not a separator for word2vec C either.
    let path = write(dir.path(), "c.txt", "a\u{a0}b café".as_bytes());
    let corpus = TextCorpus::open(&path).unwrap();
    assert_eq!(corpus_sentences(&corpus), [vec!["a\u{a0}b", "café"]]);
}

#[test]
fn invalid_utf8_is_replaced_not_fatal() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "c.txt", b"ok \xff\xfebad fine\n");
    let corpus = TextCorpus::open(&path).unwrap();
    assert_eq!(
        corpus_sentences(&corpus),
        [vec!["ok", "\u{fffd}\u{fffd}bad", "fine"]]
    );
}

#[test]
fn long_lines_are_chunked() {
    let dir = tempfile::tempdir().unwrap();
    let line: Vec<String> = (0..2500).map(|i| format!("w{i}")).collect();
    let path = write(dir.path(), "c.txt", line.join(" ").as_bytes());
    let corpus = TextCorpus::open(&path).unwrap();
    let lens: Vec<usize> = corpus_sentences(&corpus).iter().map(Vec::len).collect();
    assert_eq!(lens, [1000, 1000, 500]);
    let corpus = corpus.with_max_sentence_len(1024);
    let lens: Vec<usize> = corpus_sentences(&corpus).iter().map(Vec::len).collect();
    assert_eq!(lens, [1024, 1024, 452]);
    let mem = InMemoryCorpus::new(vec![line]).with_max_sentence_len(2000);
    let lens: Vec<usize> = corpus_sentences(&mem).iter().map(Vec::len).collect();
    assert_eq!(lens, [2000, 500]);
}

#[test]
fn gzip_is_detected_by_magic_and_read_as_one_shard() {
    let dir = tempfile::tempdir().unwrap();
    let text = "the cat\nsat on the mat\n";
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(text.as_bytes()).unwrap();
    // No .gz extension: detection is by content.
    let path = write(dir.path(), "corpus.bin", &gz.finish().unwrap());
    let corpus = TextCorpus::open(&path).unwrap();
    assert!(corpus.is_gzip());
    assert_eq!(
        corpus_sentences(&corpus),
        corpus_sentences(&InMemoryCorpus::from_text(text))
    );
    let shards = corpus.shards(4).unwrap();
    assert_eq!(shards.len(), 1);
    assert_eq!(shards[0].fraction(), 1.0);
    assert_eq!(shard_words(shards[0].as_ref()).len(), 6);
}

#[test]
fn corrupt_gzip_is_a_format_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "c.gz", b"\x1f\x8b\x08\x00garbage");
    let corpus = TextCorpus::open(&path).unwrap();
    let err = corpus
        .for_each_sentence(&mut |_| ControlFlow::Continue(()))
        .unwrap_err();
    assert!(err.to_string().contains("c.gz"), "{err}");
}

#[test]
fn missing_file_is_an_io_error_naming_it() {
    let err = TextCorpus::open("/nonexistent/corpus.txt").unwrap_err();
    assert!(matches!(err, embed_core::Error::Io { .. }));
    assert!(err.to_string().contains("/nonexistent/corpus.txt"));
}

#[test]
fn break_stops_reading() {
    let corpus = InMemoryCorpus::from_text("a\nb\nc");
    let mut seen = 0;
    corpus
        .for_each_sentence(&mut |_| {
            seen += 1;
            if seen == 2 {
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            }
        })
        .unwrap();
    assert_eq!(seen, 2);
}

#[test]
fn zero_shards_is_rejected() {
    assert!(InMemoryCorpus::from_text("a").shards(0).is_err());
}

#[test]
fn in_memory_shards_balance_words() {
    let text: String = (0..100).map(|i| format!("w{i} x y z\n")).collect();
    let corpus = InMemoryCorpus::from_text(&text);
    let shards = corpus.shards(4).unwrap();
    assert_eq!(shards.len(), 4);
    let sizes: Vec<usize> = shards
        .iter()
        .map(|s| shard_words(s.as_ref()).len())
        .collect();
    assert_eq!(sizes, [100, 100, 100, 100]);
    let total: f64 = shards.iter().map(|s| s.fraction()).sum();
    assert!((total - 1.0).abs() < 1e-12);
}

#[test]
fn more_shards_than_bytes_still_read_each_word_once() {
    let dir = tempfile::tempdir().unwrap();
    for text in ["a ", "a", "ab", " a", "a b\n"] {
        let path = write(dir.path(), "c.txt", text.as_bytes());
        let corpus = TextCorpus::open(&path).unwrap();
        let expected: Vec<&str> = text.split_ascii_whitespace().collect();
        for count in 1..8 {
            let words: Vec<String> = corpus
                .shards(count)
                .unwrap()
                .iter()
                .flat_map(|s| shard_words(s.as_ref()))
                .collect();
            assert_eq!(words, expected, "{text:?} in {count} shards");
        }
    }
}

/// Text of words over a small alphabet (ASCII and multi-byte letters)
/// separated by runs of every separator byte word2vec C knows.
fn text_strategy() -> impl Strategy<Value = String> {
    let word = prop::collection::vec(prop::sample::select(vec!['a', 'b', 'é', '語', 'z']), 1..6)
        .prop_map(|cs| cs.into_iter().collect::<String>());
    let sep = prop::collection::vec(
        prop::sample::select(vec![" ", "\t", "\n", "\r\n", "\x0b", "\x0c", "  "]),
        1..3,
    )
    .prop_map(|s| s.concat());
    (prop::bool::ANY, prop::collection::vec((word, sep), 0..60)).prop_map(|(lead, parts)| {
        let mut t = String::from(if lead { " " } else { "" });
        for (w, s) in parts {
            t.push_str(&w);
            t.push_str(&s);
        }
        t
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    /// Every word lands in exactly one shard, in corpus order, whole.
    #[test]
    fn shards_partition_the_words(text in text_strategy(), count in 1usize..12) {
        let dir = tempfile::tempdir().unwrap();
        let path = write(dir.path(), "c.txt", text.as_bytes());
        let corpus = TextCorpus::open(&path).unwrap();
        let all: Vec<String> = corpus_sentences(&corpus).into_iter().flatten().collect();
        let shards = corpus.shards(count).unwrap();
        prop_assert_eq!(shards.len(), count);
        let joined: Vec<String> = shards.iter().flat_map(|s| shard_words(s.as_ref())).collect();
        prop_assert_eq!(joined, all);
        let total: f64 = shards.iter().map(|s| s.fraction()).sum();
        prop_assert!((total - 1.0).abs() < 1e-9);
    }

    #[test]
    fn in_memory_shards_partition_sentences(text in text_strategy(), count in 1usize..8) {
        let corpus = InMemoryCorpus::from_text(&text);
        let all = corpus_sentences(&corpus);
        let joined: Vec<Vec<String>> = corpus
            .shards(count)
            .unwrap()
            .iter()
            .flat_map(|s| sentences(|f| s.for_each_sentence(f).unwrap()))
            .collect();
        prop_assert_eq!(joined, all);
    }
}
