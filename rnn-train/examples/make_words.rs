//! Builds the "language of a word" data sets from word lists (one word per line, as the
//! Debian `w*` packages install them in `/usr/share/dict`).
//!
//! ```text
//! cargo run --release -p rnn-train --example make_words -- \
//!     --train 3000 --test 1000 --out-dir DIR en=american-english es=spanish
//! ```
//!
//! writes `DIR/train.txt` and `DIR/test.txt` as `label<TAB>word` lines. For each list:
//!
//! 1. every word is lower-cased (Unicode lower case: German nouns and English proper names
//!    become ordinary words);
//! 2. a word with any character outside the fixed alphabet `a`–`z` plus
//!    `à á â ã ä ç è é ê ë ì í î ï ñ ò ó ô õ ö ù ú û ü ß œ æ ÿ` is dropped whole: English
//!    possessives (`dog's`), elisions (`l'homme`), hyphenated compounds and words with
//!    other letters. Removing just the character would make up words no list has, and an
//!    apostrophe alone would give English away;
//! 3. repeats within a list are removed, then every word found in more than one of the
//!    given lists is dropped from all of them (after lower-casing);
//! 4. the remaining words are ordered by a 64-bit FNV-1a hash of the word, which is a
//!    fixed pseudo-random order that does not depend on the list's own order; the first
//!    `--test` words are the test set and the next `--train` words the training set.
//!
//! So the same lists always give the same files, and no word is in both sets.

use std::collections::{BTreeMap, HashSet};
use std::process::ExitCode;

const ALPHABET: &str = "abcdefghijklmnopqrstuvwxyzàáâãäçèéêëìíîïñòóôõöùúûüßœæÿ";

fn fnv1a(s: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in s.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

fn run() -> Result<(), String> {
    let mut args = std::env::args().skip(1);
    let (mut train, mut test, mut out_dir) = (None, None, None);
    let mut lists: Vec<(String, String)> = Vec::new();
    while let Some(a) = args.next() {
        let mut value = |name: &str| args.next().ok_or(format!("{name} needs a value"));
        match a.as_str() {
            "--train" => train = Some(value("--train")?),
            "--test" => test = Some(value("--test")?),
            "--out-dir" => out_dir = Some(value("--out-dir")?),
            _ => {
                let (label, path) = a
                    .split_once('=')
                    .ok_or(format!("expected LABEL=WORDLIST, got {a:?}"))?;
                lists.push((label.to_string(), path.to_string()));
            }
        }
    }
    let num = |v: Option<String>, name: &str| -> Result<usize, String> {
        v.ok_or(format!("{name} is required"))?
            .parse()
            .map_err(|_| format!("{name} must be a whole number"))
    };
    let (n_train, n_test) = (num(train, "--train")?, num(test, "--test")?);
    let out_dir = out_dir.ok_or("--out-dir is required")?;
    if lists.len() < 2 {
        return Err("give at least two LABEL=WORDLIST lists".into());
    }
    let alphabet: HashSet<char> = ALPHABET.chars().collect();
    let mut words: BTreeMap<String, HashSet<String>> = BTreeMap::new();
    let mut seen_in: BTreeMap<String, usize> = BTreeMap::new();
    for (label, path) in &lists {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{path}: {e}"))?;
        let mut set = HashSet::new();
        let (mut total, mut outside) = (0usize, 0usize);
        for w in text.lines() {
            let w = w.trim();
            if w.is_empty() {
                continue;
            }
            total += 1;
            let lower = w.to_lowercase();
            if lower.chars().all(|c| alphabet.contains(&c)) {
                set.insert(lower);
            } else {
                outside += 1;
            }
        }
        for w in &set {
            *seen_in.entry(w.clone()).or_default() += 1;
        }
        eprintln!(
            "{label}: {total} words in {path}, {outside} with characters outside the alphabet, {} distinct after lower-casing",
            set.len()
        );
        if words.insert(label.clone(), set).is_some() {
            return Err(format!("label {label} given twice"));
        }
    }
    let mut train_lines = String::new();
    let mut test_lines = String::new();
    for (label, _) in &lists {
        let set = &words[label];
        let mut own: Vec<&String> = set.iter().filter(|w| seen_in[*w] == 1).collect();
        own.sort_by_key(|w| (fnv1a(w), (*w).clone()));
        eprintln!(
            "{label}: {} words only in this language ({} shared with another dropped)",
            own.len(),
            set.len() - own.len()
        );
        if own.len() < n_train + n_test {
            return Err(format!(
                "{label}: only {} words left, fewer than --train {n_train} + --test {n_test}",
                own.len()
            ));
        }
        for w in &own[..n_test] {
            test_lines.push_str(&format!("{label}\t{w}\n"));
        }
        for w in &own[n_test..n_test + n_train] {
            train_lines.push_str(&format!("{label}\t{w}\n"));
        }
    }
    std::fs::create_dir_all(&out_dir).map_err(|e| format!("{out_dir}: {e}"))?;
    for (name, body) in [("train.txt", &train_lines), ("test.txt", &test_lines)] {
        let p = format!("{out_dir}/{name}");
        std::fs::write(&p, body).map_err(|e| format!("{p}: {e}"))?;
    }
    Ok(())
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("make_words: error: {e}");
            ExitCode::from(2)
        }
    }
}
