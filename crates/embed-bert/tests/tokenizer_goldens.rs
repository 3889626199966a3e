//! Token ids against Hugging Face's tokenizer on all-MiniLM-L6-v2's
//! vocabulary: every case must match exactly.

mod common;

use embed_bert::Tokenizer;

#[test]
fn probe_strings_match_hugging_face_exactly() {
    let Some(dir) = common::models_dir("all-MiniLM-L6-v2") else {
        return;
    };
    let tokenizer = Tokenizer::from_dir(&dir).unwrap();
    let goldens = common::read_json(&dir.join("tokenizer_goldens.json"));
    let probes = goldens["probes"].as_array().unwrap();
    assert!(probes.len() >= 40);
    let mut failures = Vec::new();
    for probe in probes {
        let text = probe["text"].as_str().unwrap();
        let expected = common::ids(&probe["input_ids"]);
        let got = tokenizer.encode(text, None).unwrap().ids;
        if got != expected {
            failures.push(format!(
                "{}: {:?}\n  expected {:?}\n  got      {:?}",
                probe["id"],
                text,
                tokenizer.tokens(&expected),
                tokenizer.tokens(&got)
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn model_cases_match_with_truncation_and_padding() {
    let Some(dir) = common::models_dir("all-MiniLM-L6-v2") else {
        return;
    };
    let tokenizer = Tokenizer::from_dir(&dir).unwrap();
    let goldens = common::read_json(&dir.join("goldens.json"));
    let max_length = goldens["max_seq_length"].as_u64().unwrap() as usize;
    for case in goldens["cases"].as_array().unwrap() {
        let texts: Vec<&str> = case["texts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t.as_str().unwrap())
            .collect();
        let encodings = tokenizer.encode_batch(&texts, Some(max_length)).unwrap();
        let batch = tokenizer.pad(&encodings, None);
        let expected_ids: Vec<u32> = case["input_ids"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(common::ids)
            .collect();
        let expected_mask: Vec<u32> = case["attention_mask"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(common::ids)
            .collect();
        assert_eq!(
            batch.input_ids.iter().copied().collect::<Vec<_>>(),
            expected_ids,
            "case {}",
            case["id"]
        );
        assert_eq!(
            batch.attention_mask.iter().copied().collect::<Vec<_>>(),
            expected_mask,
            "case {}",
            case["id"]
        );
        assert!(batch.token_type_ids.iter().all(|&t| t == 0));
        let untruncated = case["num_wordpieces_untruncated"].as_array().unwrap();
        for ((text, enc), n) in texts.iter().zip(&encodings).zip(untruncated) {
            let n = n.as_u64().unwrap() as usize;
            assert_eq!(tokenizer.encode(text, None).unwrap().len(), n);
            assert_eq!(enc.len(), n.min(max_length));
        }
    }
}

#[test]
fn offsets_point_back_into_the_text() {
    let Some(dir) = common::models_dir("all-MiniLM-L6-v2") else {
        return;
    };
    let tokenizer = Tokenizer::from_dir(&dir).unwrap();
    let text = "Café naïve — Ångström's 東京";
    let enc = tokenizer.encode(text, None).unwrap();
    let spans: Vec<&str> = enc.offsets[1..enc.len() - 1]
        .iter()
        .map(|&(a, b)| &text[a..b])
        .collect();
    assert_eq!(
        spans,
        ["Café", "naïve", "—", "Ång", "ström", "'", "s", "東", "京"]
    );
}
