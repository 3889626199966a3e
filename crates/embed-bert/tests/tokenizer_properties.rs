//! Properties of the tokenizer on arbitrary text: no panic, ids inside the
//! vocabulary, offsets on character boundaries of the input, truncation
//! respected.

use embed_bert::{Tokenizer, TokenizerConfig, Vocab};
use proptest::prelude::*;

fn tokenizer() -> Tokenizer {
    let vocab = Vocab::from_tokens([
        "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "a", "b", "ab", "##b", "##a", "é", "中", "!",
        "##é",
    ]);
    Tokenizer::new(vocab, TokenizerConfig::default()).unwrap()
}

proptest! {
    #[test]
    fn arbitrary_text_encodes_safely(text in "\\PC*|[ab\\[\\]MASKé中! \u{301}\u{200b}\t]*", max in 2usize..20) {
        let tok = tokenizer();
        let enc = tok.encode(&text, Some(max)).unwrap();
        prop_assert!(enc.len() <= max);
        prop_assert_eq!(enc.ids[0], 2);
        prop_assert_eq!(*enc.ids.last().unwrap(), 3);
        for (&id, &(start, end)) in enc.ids.iter().zip(&enc.offsets) {
            prop_assert!((id as usize) < tok.vocab().len());
            prop_assert!(start <= end && end <= text.len());
            prop_assert!(text.is_char_boundary(start) && text.is_char_boundary(end));
        }
        let pair = tok.encode_pair(&text, &text, Some(max.max(3))).unwrap();
        prop_assert!(pair.len() <= max.max(3));
    }
}
