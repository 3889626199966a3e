//! Sentence embeddings and cosine similarities against sentence-transformers
//! (all-MiniLM-L6-v2: mean pooling over the mask, then L2 normalisation).

mod common;

use embed_bert::{EmbedOptions, Pooling, SentenceEmbedder};
use embed_core::ContextualEmbedder;

fn texts(case: &serde_json::Value) -> Vec<String> {
    case["texts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap().to_string())
        .collect()
}

#[test]
fn sentence_embeddings_and_cosines_match_sentence_transformers() {
    let Some(dir) = common::models_dir("all-MiniLM-L6-v2") else {
        return;
    };
    let embedder = SentenceEmbedder::load(&dir).unwrap();
    assert_eq!(embedder.options().pooling, Pooling::Mean);
    assert!(embedder.options().normalize);
    assert_eq!(embedder.max_length(), 256);
    let goldens = common::read_json(&dir.join("goldens.json"));
    let tol = goldens["suggested_tolerances"]["sentence_embedding_abs"]
        .as_f64()
        .unwrap() as f32;
    let cos_tol = goldens["suggested_tolerances"]["cosine_abs"]
        .as_f64()
        .unwrap() as f32;
    assert!(tol <= 1e-5 && cos_tol <= 1e-5);
    let mut worst = 0.0f32;
    for case in goldens["cases"].as_array().unwrap() {
        let got = embedder.embed(&texts(case)).unwrap();
        let expected = common::floats(&case["sentence_embedding"]);
        let diff = common::max_abs_diff(&got.iter().copied().collect::<Vec<_>>(), &expected);
        assert!(diff <= tol, "{}: embedding off by {diff}", case["id"]);
        worst = worst.max(diff);
    }
    eprintln!("worst sentence-embedding difference {worst:e}");
    let cases = goldens["cases"].as_array().unwrap();
    for pair in goldens["cosine_similarities"].as_array().unwrap() {
        let text = |side: &str| {
            let case = cases
                .iter()
                .find(|c| c["id"] == pair[side]["case"])
                .unwrap();
            texts(case)[pair[side]["index"].as_u64().unwrap() as usize].clone()
        };
        let cosine = embedder.similarity(&text("a"), &text("b")).unwrap();
        let expected = pair["cosine"].as_f64().unwrap() as f32;
        assert!(
            (cosine - expected).abs() <= cos_tol,
            "cosine {cosine} vs {expected}"
        );
    }
}

#[test]
fn batching_threads_and_order_do_not_change_results() {
    let Some(dir) = common::models_dir("all-MiniLM-L6-v2") else {
        return;
    };
    let texts = [
        "short",
        "A considerably longer sentence that needs several more word pieces.",
        "",
        "Medium length text here.",
    ];
    let one = SentenceEmbedder::load(&dir).unwrap();
    let reference = one.embed(&texts).unwrap();
    let options = EmbedOptions {
        batch_size: 3,
        threads: Some(2),
        ..EmbedOptions::from_dir(&dir).unwrap()
    };
    let other =
        SentenceEmbedder::new(one.tokenizer().clone(), one.model().clone(), options).unwrap();
    let batched = other.embed(&texts).unwrap();
    for (a, b) in reference.iter().zip(batched.iter()) {
        assert!((a - b).abs() < 1e-5);
    }
    for (i, text) in texts.iter().enumerate() {
        let single = one.embed(&[*text]).unwrap();
        for (a, b) in single.row(0).iter().zip(reference.row(i)) {
            assert!((a - b).abs() < 1e-5, "row {i} depends on its batch");
        }
    }
}

#[test]
fn word_vectors_pool_their_pieces() {
    let Some(dir) = common::models_dir("all-MiniLM-L6-v2") else {
        return;
    };
    let embedder = SentenceEmbedder::load(&dir).unwrap();
    let words = ["The", "unbelievably", "", "fox"];
    let vectors = embedder.embed_sequence(&words).unwrap();
    assert_eq!(vectors.dim(), (4, 384));
    assert!(
        vectors.row(2).iter().all(|&v| v == 0.0),
        "an empty word has no pieces"
    );
    // Mean of the pieces equals the mean of the token vectors of that word.
    let tokens = embedder.embed_tokens(&["The unbelievably fox"]).unwrap();
    let (encoding, hidden) = &tokens[0];
    let pieces: Vec<usize> = (0..encoding.len())
        .filter(|&t| encoding.word_ids[t] == Some(1))
        .collect();
    assert!(pieces.len() > 1, "`unbelievably` splits into pieces");
    let mean = pieces
        .iter()
        .fold(ndarray::Array1::<f32>::zeros(384), |acc, &t| {
            acc + hidden.row(t)
        })
        / pieces.len() as f32;
    for (a, b) in mean.iter().zip(vectors.row(1)) {
        assert!((a - b).abs() < 1e-5);
    }
    let batch = embedder
        .embed_batch(&[words.to_vec(), vec!["fox"]])
        .unwrap();
    assert_eq!(batch[1].nrows(), 1);
}
