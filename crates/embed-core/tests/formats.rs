//! Vector file formats: compatibility with gensim's files and rejection of
//! malformed input with located errors.

use std::fs;
use std::io::BufReader;
use std::path::{Path, PathBuf};

use embed_core::formats::{
    read_glove, read_vectors, read_word2vec_binary, read_word2vec_text, sniff_format,
    write_vectors, ReadOptions, UnicodeErrors, VectorFormat,
};
use embed_core::{Error, Location, WordVectors};
use ndarray::{array, Array2};

const ALL_FORMATS: [VectorFormat; 3] = [
    VectorFormat::Word2VecBinary,
    VectorFormat::Word2VecText,
    VectorFormat::Glove,
];

fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
}

fn binary_row(word: &[u8], values: &[f32], newline: bool) -> Vec<u8> {
    let mut row = word.to_vec();
    row.push(b' ');
    for v in values {
        row.extend(v.to_le_bytes());
    }
    if newline {
        row.push(b'\n');
    }
    row
}

/// Writes `bytes` to a fresh file and reads it with `format` (None: sniff).
fn read_bytes(
    bytes: &[u8],
    format: Option<VectorFormat>,
    options: &ReadOptions,
) -> embed_core::Result<WordVectors> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("vectors");
    fs::write(&path, bytes).unwrap();
    read_vectors(&path, format, options)
}

/// The location and message of a format error; fails the test otherwise.
fn format_error(result: embed_core::Result<WordVectors>) -> (Location, String) {
    match result {
        Err(Error::Format {
            location, message, ..
        }) => (location, message),
        Err(other) => panic!("expected a format error, got {other}"),
        Ok(v) => panic!("expected a format error, read {v:?}"),
    }
}

fn sample() -> WordVectors {
    WordVectors::new(
        vec!["the".into(), "café".into(), "日本".into()],
        array![
            [0.1, -2.5, 3.0],
            [1e-8, 0.0, -0.0],
            [1e30, -7.25, 0.333_333_34]
        ],
    )
    .unwrap()
}

// --- files written by gensim -------------------------------------------

#[test]
fn reads_gensim_binary_and_text_to_the_same_vectors() {
    let options = ReadOptions::default();
    let binary = read_vectors(&data("gensim_small.bin"), None, &options).unwrap();
    let text = read_vectors(&data("gensim_small.txt"), None, &options).unwrap();
    assert_eq!((binary.len(), binary.dim()), (46, 8));
    // gensim writes the shortest repr of each float32, so text is exact.
    assert_eq!(binary, text);
    // Values as printed in gensim_small.txt.
    assert_eq!(binary.vector("w0").unwrap()[0], -0.573_956_55);
    assert_eq!(binary.vector("w1").unwrap()[7], 0.016_313_158);
    assert_eq!(
        binary.words()[40..],
        ["café", "naïve", "日本", "Ωmega", "straße", "ü"]
    );
}

#[test]
fn sniffs_gensim_files() {
    assert_eq!(
        sniff_format(&data("gensim_small.bin")).unwrap(),
        VectorFormat::Word2VecBinary
    );
    assert_eq!(
        sniff_format(&data("gensim_small.txt")).unwrap(),
        VectorFormat::Word2VecText
    );
}

#[test]
fn limit_reads_the_first_rows() {
    let options = ReadOptions {
        limit: Some(3),
        ..Default::default()
    };
    for name in ["gensim_small.bin", "gensim_small.txt"] {
        let v = read_vectors(&data(name), None, &options).unwrap();
        assert_eq!(v.words(), ["w0", "w1", "w2"], "{name}");
    }
}

// --- round trips ----------------------------------------------------------

#[test]
fn every_format_round_trips_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let vectors = sample();
    for format in ALL_FORMATS {
        let path = dir.path().join(format.name());
        write_vectors(&path, &vectors, format).unwrap();
        assert_eq!(sniff_format(&path).unwrap(), format);
        let back = read_vectors(&path, Some(format), &ReadOptions::default()).unwrap();
        assert_eq!(back, vectors, "{format}");
    }
}

#[test]
fn binary_rows_with_and_without_newline_are_accepted() {
    let mut gensim_style = b"2 2\n".to_vec();
    gensim_style.extend(binary_row(b"a", &[1.0, 2.0], false));
    gensim_style.extend(binary_row(b"b", &[3.0, 4.0], false));
    let mut c_style = b"2 2\n".to_vec();
    c_style.extend(binary_row(b"a", &[1.0, 2.0], true));
    c_style.extend(binary_row(b"b", &[3.0, 4.0], true));
    let expected =
        WordVectors::new(vec!["a".into(), "b".into()], array![[1.0, 2.0], [3.0, 4.0]]).unwrap();
    for bytes in [gensim_style, c_style] {
        let v = read_bytes(&bytes, None, &ReadOptions::default()).unwrap();
        assert_eq!(v, expected);
        // The in-memory reader agrees with the file reader.
        let v =
            read_word2vec_binary(&bytes[..], Path::new("mem"), &ReadOptions::default()).unwrap();
        assert_eq!(v, expected);
    }
}

#[test]
fn text_readers_accept_trailing_spaces_and_crlf() {
    // The word2vec C tool ends each value with a space.
    let text = b"2 2\r\na 1 2 \r\nb 3 4 \r\n";
    let v = read_word2vec_text(&text[..], Path::new("mem"), &ReadOptions::default()).unwrap();
    assert_eq!(v.matrix(), array![[1.0, 2.0], [3.0, 4.0]]);
    let glove = b"a 1 2\nb 3 4\n\n";
    let v = read_glove(&glove[..], Path::new("mem"), &ReadOptions::default()).unwrap();
    assert_eq!(v.words(), ["a", "b"]);
}

#[test]
fn empty_vocabulary_round_trips() {
    let v = read_bytes(b"0 4\n", None, &ReadOptions::default()).unwrap();
    assert_eq!((v.len(), v.dim()), (0, 4));
}

// --- malformed input -----------------------------------------------------

#[test]
fn empty_files_are_format_errors() {
    for format in [
        None,
        Some(VectorFormat::Word2VecBinary),
        Some(VectorFormat::Word2VecText),
        Some(VectorFormat::Glove),
    ] {
        let (_, message) = format_error(read_bytes(b"", format, &ReadOptions::default()));
        assert!(message.contains("empty"), "{format:?}: {message}");
    }
}

#[test]
fn bad_headers_are_rejected() {
    for (header, needle) in [
        (&b"3 0\n"[..], "dimension 0"),
        (b"three 2\n", "header"),
        (b"3\n", "header"),
        (b"-3 2\n", "header"),
        (b"3 2 1\n", "header"),
    ] {
        for format in [VectorFormat::Word2VecBinary, VectorFormat::Word2VecText] {
            let (location, message) =
                format_error(read_bytes(header, Some(format), &ReadOptions::default()));
            assert_eq!(location, Location::Line(1));
            assert!(message.contains(needle), "{message}");
        }
    }
}

#[test]
fn header_promising_more_than_the_file_holds_fails_before_allocating() {
    // Reserving 10^12 rows x 300 floats would abort the process.
    let mut bytes = b"1000000000000 300\n".to_vec();
    bytes.extend(binary_row(b"a", &[0.5; 300], true));
    let (location, message) = format_error(read_bytes(
        &bytes,
        Some(VectorFormat::Word2VecBinary),
        &ReadOptions::default(),
    ));
    assert_eq!(location, Location::Line(1));
    assert!(message.contains("promises"), "{message}");

    let text = b"1000000000000 3\na 1 2 3\n";
    let (_, message) = format_error(read_bytes(
        text,
        Some(VectorFormat::Word2VecText),
        &ReadOptions::default(),
    ));
    assert!(message.contains("promises"), "{message}");
}

#[test]
fn streaming_readers_without_a_size_grow_only_with_the_data() {
    // Without a file size the reader cannot check the header up front; it
    // must reserve little and fail when the data runs out.
    let mut bytes = b"4000000000 1000000000\n".to_vec();
    bytes.extend(binary_row(b"a", &[1.0; 4], false));
    let (location, message) = format_error(read_word2vec_binary(
        &bytes[..],
        Path::new("mem"),
        &ReadOptions::default(),
    ));
    assert!(matches!(location, Location::Byte(_)));
    assert!(message.contains("ends inside the vector"), "{message}");

    let text = b"4000000000 1000000000\na 1 2 3\n";
    let (location, message) = format_error(read_word2vec_text(
        &text[..],
        Path::new("mem"),
        &ReadOptions::default(),
    ));
    assert_eq!(location, Location::Line(2));
    assert!(
        message.contains("3 values, expected 1000000000"),
        "{message}"
    );
}

#[test]
fn truncated_binary_files_name_the_offset() {
    let mut full = b"2 3\n".to_vec();
    full.extend(binary_row(b"first", &[1.0, 2.0, 3.0], true));
    let second_row = full.len() as u64;
    full.extend(binary_row(b"second", &[4.0, 5.0, 6.0], true));
    // Cut inside the second vector, inside the second word, and right
    // after the first row.
    for (cut, needle) in [
        (full.len() - 3, "inside the vector of word `second`"),
        (second_row as usize + 3, "inside a word"),
        (second_row as usize, "after 1 of the 2 rows"),
    ] {
        // The file reader sees the shortfall from the size alone...
        format_error(read_bytes(
            &full[..cut],
            Some(VectorFormat::Word2VecBinary),
            &ReadOptions::default(),
        ));
        // ...a stream reader finds where the data stops.
        let (location, message) = format_error(read_word2vec_binary(
            &full[..cut],
            Path::new("mem"),
            &ReadOptions::default(),
        ));
        assert!(message.contains(needle), "{message}");
        if needle != "inside a word" {
            assert!(matches!(location, Location::Byte(b) if b >= second_row - 1));
        }
    }
}

#[test]
fn truncated_text_files_name_the_line() {
    let text = b"3 2\na 1.0 2.0\nb 3.0 4.0\n";
    format_error(read_bytes(
        text,
        Some(VectorFormat::Word2VecText),
        &ReadOptions::default(),
    ));
    let (location, message) = format_error(read_word2vec_text(
        &text[..],
        Path::new("mem"),
        &ReadOptions::default(),
    ));
    assert_eq!(location, Location::Line(4));
    assert!(message.contains("after 2 of the 3 rows"), "{message}");
}

#[test]
fn rows_with_the_wrong_number_of_values_name_their_line() {
    let cases: [(&[u8], VectorFormat, u64); 4] = [
        (b"2 3\na 1 2 3\nb 1 2\n", VectorFormat::Word2VecText, 3),
        (b"2 3\na 1 2 3\nb 1 2 3 4\n", VectorFormat::Word2VecText, 3),
        (b"a 1 2 3\nb 1 2 3\nc 1 2\n", VectorFormat::Glove, 3),
        (b"a 1 2\nb 1 2 3\n", VectorFormat::Glove, 2),
    ];
    for (bytes, format, line) in cases {
        let (location, message) =
            format_error(read_bytes(bytes, Some(format), &ReadOptions::default()));
        assert_eq!(location, Location::Line(line), "{message}");
        assert!(message.contains("values, expected"), "{message}");
    }
}

#[test]
fn non_numbers_and_blank_lines_are_rejected() {
    let (location, message) = format_error(read_bytes(
        b"2 2\na 1 x\nb 1 2\n",
        Some(VectorFormat::Word2VecText),
        &ReadOptions::default(),
    ));
    assert_eq!(location, Location::Line(2));
    assert!(message.contains("`x`"), "{message}");

    let (location, message) = format_error(read_bytes(
        b"a 1 2\n\nb 1 2\n",
        Some(VectorFormat::Glove),
        &ReadOptions::default(),
    ));
    assert_eq!(location, Location::Line(2));
    assert!(message.contains("empty line"), "{message}");

    let (location, _) = format_error(read_bytes(
        b"2 2\na 1 2\n\nb 1 2\n",
        Some(VectorFormat::Word2VecText),
        &ReadOptions::default(),
    ));
    assert_eq!(location, Location::Line(3));
}

#[test]
fn non_finite_values_name_the_word() {
    for bad in [f32::NAN, f32::INFINITY, f32::NEG_INFINITY] {
        let mut bytes = b"2 2\n".to_vec();
        bytes.extend(binary_row(b"fine", &[1.0, 2.0], true));
        let offset = bytes.len() as u64;
        bytes.extend(binary_row(b"broken", &[1.0, bad], true));
        let (location, message) = format_error(read_bytes(
            &bytes,
            Some(VectorFormat::Word2VecBinary),
            &ReadOptions::default(),
        ));
        // The row starts at the newline that ends the previous row.
        assert_eq!(location, Location::Byte(offset - 1));
        assert!(
            message.contains("`broken`") && message.contains("non-finite"),
            "{message}"
        );
    }
    for token in ["nan", "inf", "-inf", "NaN", "1e39"] {
        let text = format!("2 2\nfine 1 2\nbroken 1 {token}\n");
        let (location, message) = format_error(read_bytes(
            text.as_bytes(),
            Some(VectorFormat::Word2VecText),
            &ReadOptions::default(),
        ));
        assert_eq!(location, Location::Line(3), "{token}");
        assert!(message.contains("`broken`"), "{message}");
    }
}

#[test]
fn duplicate_words_are_errors() {
    let mut binary = b"2 1\n".to_vec();
    binary.extend(binary_row(b"twice", &[1.0], true));
    binary.extend(binary_row(b"twice", &[2.0], true));
    let cases: [(&[u8], VectorFormat); 3] = [
        (&binary, VectorFormat::Word2VecBinary),
        (b"2 1\ntwice 1\ntwice 2\n", VectorFormat::Word2VecText),
        (b"twice 1\ntwice 2\n", VectorFormat::Glove),
    ];
    for (bytes, format) in cases {
        let (_, message) = format_error(read_bytes(bytes, Some(format), &ReadOptions::default()));
        assert!(
            message.contains("duplicate word `twice`"),
            "{format}: {message}"
        );
    }
}

#[test]
fn data_beyond_the_header_count_is_an_error() {
    let (_, message) = format_error(read_bytes(
        b"1 2\na 1 2\nb 3 4\n",
        Some(VectorFormat::Word2VecText),
        &ReadOptions::default(),
    ));
    assert!(message.contains("after the 1 rows"), "{message}");
    let mut binary = b"1 1\n".to_vec();
    binary.extend(binary_row(b"a", &[1.0], true));
    binary.extend(binary_row(b"b", &[1.0], true));
    let (_, message) = format_error(read_bytes(
        &binary,
        Some(VectorFormat::Word2VecBinary),
        &ReadOptions::default(),
    ));
    assert!(message.contains("after the 1 rows"), "{message}");
}

#[test]
fn invalid_utf8_follows_the_policy() {
    // "caf" followed by the first byte of "é": what the C tool's word
    // truncation produces.
    let mut binary = b"2 1\n".to_vec();
    binary.extend(binary_row(b"caf\xc3", &[1.0], true));
    binary.extend(binary_row(b"ok", &[2.0], true));
    let text = b"2 1\ncaf\xc3 1\nok 2\n";
    let cases: [(&[u8], VectorFormat); 3] = [
        (&binary, VectorFormat::Word2VecBinary),
        (text, VectorFormat::Word2VecText),
        (&text[4..], VectorFormat::Glove),
    ];
    for (bytes, format) in cases {
        let read = |unicode_errors| {
            let options = ReadOptions {
                unicode_errors,
                limit: None,
            };
            read_bytes(bytes, Some(format), &options)
        };
        let (_, message) = format_error(read(UnicodeErrors::Strict));
        assert!(message.contains("UTF-8"), "{message}");
        assert_eq!(
            read(UnicodeErrors::Replace).unwrap().words()[0],
            "caf\u{fffd}"
        );
        assert_eq!(read(UnicodeErrors::Ignore).unwrap().words()[0], "caf");
    }
}

#[test]
fn garbage_is_not_sniffed_as_vectors() {
    for bytes in [&b"hello world\n"[..], b"\x00\x01\x02", b"just-one-token\n"] {
        let (location, _) = format_error(read_bytes(bytes, None, &ReadOptions::default()));
        assert_eq!(location, Location::File);
    }
}

#[test]
fn missing_file_is_an_io_error_naming_it() {
    let err = read_vectors(
        Path::new("/no/such/vectors.bin"),
        None,
        &ReadOptions::default(),
    )
    .unwrap_err();
    assert!(
        matches!(&err, Error::Io { path, .. } if path.ends_with("vectors.bin")),
        "{err}"
    );
}

// --- writing ---------------------------------------------------------------

#[test]
fn unwritable_words_fail_without_touching_the_target() {
    let dir = tempfile::tempdir().unwrap();
    for bad in ["two words", "line\nbreak", "", "cr\r"] {
        let vectors =
            WordVectors::new(vec!["ok".into(), bad.into()], Array2::zeros((2, 2))).unwrap();
        for format in ALL_FORMATS {
            let path = dir.path().join("out");
            fs::write(&path, b"previous").unwrap();
            let err = write_vectors(&path, &vectors, format).unwrap_err();
            assert!(matches!(err, Error::InvalidInput(_)), "{err}");
            assert_eq!(fs::read(&path).unwrap(), b"previous");
            assert_eq!(
                fs::read_dir(dir.path()).unwrap().count(),
                1,
                "temp file left behind"
            );
        }
    }
}

#[test]
fn binary_layout_matches_the_c_tool() {
    let vectors = WordVectors::new(vec!["ab".into()], array![[1.0, -2.0]]).unwrap();
    let mut out = Vec::new();
    embed_core::formats::write_word2vec_binary(&mut out, &vectors).unwrap();
    let mut expected = b"1 2\n".to_vec();
    expected.extend(binary_row(b"ab", &[1.0, -2.0], true));
    assert_eq!(out, expected);

    let mut out = Vec::new();
    embed_core::formats::write_word2vec_text(&mut out, &vectors).unwrap();
    assert_eq!(out, b"1 2\nab 1 -2\n");
}

#[test]
fn large_file_reads_through_buffer_refills() {
    // Rows straddle the 1 MiB read buffer's refills.
    let rows = 3000;
    let dim = 101;
    let words: Vec<String> = (0..rows).map(|i| format!("word{i}")).collect();
    let matrix = Array2::from_shape_fn((rows, dim), |(i, j)| (i * dim + j) as f32 * 0.001 - 7.0);
    let vectors = WordVectors::new(words, matrix).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.bin");
    write_vectors(&path, &vectors, VectorFormat::Word2VecBinary).unwrap();
    assert_eq!(
        read_vectors(&path, None, &ReadOptions::default()).unwrap(),
        vectors
    );
    let reader = BufReader::with_capacity(1000, fs::File::open(&path).unwrap());
    assert_eq!(
        read_word2vec_binary(reader, &path, &ReadOptions::default()).unwrap(),
        vectors
    );
}
