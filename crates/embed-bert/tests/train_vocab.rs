//! A vocabulary trained on real text spells held-out text of the same kind
//! with few unknown tokens, and training twice gives the same file.

use std::path::PathBuf;

use embed_bert::tokenizer::train_vocab::{VocabTrainer, VocabTrainerConfig};
use embed_bert::{Tokenizer, TokenizerConfig};

fn shared_dir() -> Option<PathBuf> {
    let dir = std::env::var_os("EMBED_SHARED_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared")));
    dir.join("data/corpus/wiki1m.txt").is_file().then_some(dir)
}

#[test]
fn wiki1m_vocabulary_spells_held_out_text() {
    let Some(shared) = shared_dir() else {
        eprintln!("skipped: shared/data/corpus/wiki1m.txt not found (set EMBED_SHARED_DIR)");
        return;
    };
    let text = std::fs::read_to_string(shared.join("data/corpus/wiki1m.txt")).unwrap();
    // 300 kB to train on, the next 60 kB to test on, both cut at spaces.
    let cut = |at: usize| text[at..].find(' ').map_or(text.len(), |i| at + i);
    let (train_end, test_end) = (cut(300_000), cut(360_000));
    let train = |text: &str| {
        let mut trainer = VocabTrainer::new(VocabTrainerConfig {
            size: 3000,
            ..VocabTrainerConfig::default()
        })
        .unwrap();
        trainer.add_text(text);
        trainer.train().unwrap()
    };
    let vocab = train(&text[..train_end]);
    assert_eq!(vocab.len(), 3000);
    let again = train(&text[..train_end]);
    let tokens = |v: &embed_bert::Vocab| {
        (0..v.len() as u32)
            .map(|i| v.token(i).unwrap().to_string())
            .collect::<Vec<_>>()
    };
    assert_eq!(tokens(&vocab), tokens(&again));

    let tokenizer = Tokenizer::new(vocab, TokenizerConfig::default()).unwrap();
    let held_out = &text[train_end..test_end];
    let ids = tokenizer.encode(held_out, None).unwrap().ids;
    let unk = tokenizer.special_ids().unk;
    let unknown = ids.iter().filter(|&&id| id == unk).count();
    let words = held_out.split_whitespace().count();
    // Only characters never seen in training can be unknown.
    assert!(
        (unknown as f64) < 0.001 * words as f64,
        "{unknown} [UNK] in {words} words"
    );
    // Merges compress: about 1.5 pieces per word where characters alone
    // would take more than five.
    let pieces = ids.len() - 2;
    assert!(
        (pieces as f64) < 1.6 * words as f64,
        "{pieces} pieces for {words} words"
    );
}
