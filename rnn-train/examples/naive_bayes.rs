//! The baseline for the "language of a word" data sets: a character-trigram naive Bayes
//! classifier.
//!
//! ```text
//! cargo run --release -p rnn-train --example naive_bayes -- TRAIN.txt TEST.txt
//! ```
//!
//! Each word is padded as `^^word$` and cut into its overlapping trigrams; a class scores
//! `ln P(class) + Σ ln P(trigram | class)`, with add-one (Laplace) smoothing over the
//! trigrams seen in training (plus one for unseen ones). Ties go to the first class in
//! sorted order. Prints the test accuracy.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::process::ExitCode;

use rnn_train::data::labeled;

fn trigrams(word: &str) -> Vec<String> {
    let chars: Vec<char> = "^^".chars().chain(word.chars()).chain(['$']).collect();
    chars.windows(3).map(|w| w.iter().collect()).collect()
}

fn run() -> Result<(), String> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [train, test] = args.as_slice() else {
        return Err("usage: naive_bayes TRAIN.txt TEST.txt".into());
    };
    let train = labeled::read(train.as_ref()).map_err(|e| e.to_string())?;
    let test = labeled::read(test.as_ref()).map_err(|e| e.to_string())?;
    let mut counts: BTreeMap<String, HashMap<String, f64>> = BTreeMap::new();
    let mut totals: BTreeMap<String, f64> = BTreeMap::new();
    let mut docs: BTreeMap<String, f64> = BTreeMap::new();
    let mut vocab: HashSet<String> = HashSet::new();
    for e in &train.examples {
        *docs.entry(e.label.clone()).or_default() += 1.0;
        let c = counts.entry(e.label.clone()).or_default();
        for g in trigrams(&e.text) {
            *c.entry(g.clone()).or_default() += 1.0;
            *totals.entry(e.label.clone()).or_default() += 1.0;
            vocab.insert(g);
        }
    }
    let v = vocab.len() as f64 + 1.0;
    let n_docs: f64 = docs.values().sum();
    let mut correct = 0usize;
    for e in &test.examples {
        let grams = trigrams(&e.text);
        let mut best: Option<(f64, &String)> = None;
        for (label, c) in &counts {
            let denom = totals[label] + v;
            let mut score = (docs[label] / n_docs).ln();
            for g in &grams {
                score += ((c.get(g).copied().unwrap_or(0.0) + 1.0) / denom).ln();
            }
            if best.is_none_or(|(b, _)| score > b) {
                best = Some((score, label));
            }
        }
        if best.is_some_and(|(_, l)| *l == e.label) {
            correct += 1;
        }
    }
    println!(
        "trigram naive Bayes: test accuracy {:.4} ({correct} of {})",
        correct as f64 / test.examples.len() as f64,
        test.examples.len()
    );
    Ok(())
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("naive_bayes: error: {e}");
            ExitCode::from(2)
        }
    }
}
