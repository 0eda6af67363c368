//! The "who is speaking, frame by frame" example's two helpers (`datasets/speaker-stream.sh`):
//!
//! ```text
//! cargo run --release -p rnn-train --example speaker_stream -- stream CASES.ts OUT.csv SEED
//! cargo run --release -p rnn-train --example speaker_stream -- window MODEL.rnn STREAM.csv K
//! ```
//!
//! `stream` concatenates the cases of a `.ts` file (utterances) in a seeded random order
//! into one long stream, a CSV row per frame: `c1,…,cN,speaker`. The order is a shuffle
//! (SplitMix64, Fisher–Yates) in which no two neighbours have the same label: each next
//! utterance is the first one left in the shuffle whose speaker differs from the last
//! one's. So every boundary between utterances is a change of speaker, and "steps since
//! the class changed" is "frames into the utterance".
//!
//! `window` is the baseline for a tagger of that stream: the many-to-one classifier
//! `MODEL.rnn` (trained on whole utterances) answers at every frame from the window of the
//! last `K` frames (fewer at the start of the stream), through `rnn-core`'s `Classifier`.
//! It prints the per-frame accuracy and the same breakdown `rnn-train eval` prints for a
//! tagger (by frames since the speaker changed, and frames to follow a change).

use std::process::ExitCode;

use rnn_train::data::csv::{self, Columns, Outputs, StepTargets};
use rnn_train::data::ts;
use rnn_train::io::metrics::{ByPosition, Confusion};
use rnn_train::rng::SplitMix64;

fn stream(cases: &str, out: &str, seed: &str) -> Result<(), String> {
    let seed: u64 = seed
        .parse()
        .map_err(|_| format!("SEED {seed:?} is not a number"))?;
    let f = ts::read(cases.as_ref()).map_err(|e| e.to_string())?;
    let mut order: Vec<usize> = (0..f.cases.len()).collect();
    SplitMix64::new(seed).shuffle(&mut order);
    // No two neighbours with the same label: take, each time, the first remaining case
    // whose label differs from the last one placed (or the first remaining if none does).
    let mut placed: Vec<usize> = Vec::with_capacity(order.len());
    while !order.is_empty() {
        let last = placed.last().map(|&k| f.cases[k].label.as_str());
        let at = order
            .iter()
            .position(|&k| Some(f.cases[k].label.as_str()) != last)
            .unwrap_or(0);
        placed.push(order.remove(at));
    }
    let mut text: String = (1..=f.channels).map(|c| format!("c{c},")).collect();
    text.push_str("speaker\n");
    let mut frames = 0;
    let mut repeats = 0;
    for (n, &k) in placed.iter().enumerate() {
        let case = &f.cases[k];
        if n > 0 && f.cases[placed[n - 1]].label == case.label {
            repeats += 1;
        }
        for t in 0..case.len {
            for v in &case.values[t * f.channels..(t + 1) * f.channels] {
                text.push_str(&format!("{v},"));
            }
            text.push_str(&format!("{}\n", case.label));
            frames += 1;
        }
    }
    std::fs::write(out, text).map_err(|e| format!("{out}: {e}"))?;
    println!(
        "{out}: {} utterances, {frames} frames, seed {seed}; neighbours with the same speaker: {repeats}",
        placed.len()
    );
    Ok(())
}

fn window(model: &str, data: &str, k: &str) -> Result<(), String> {
    let k: usize = k
        .parse()
        .ok()
        .filter(|&k| k > 0)
        .ok_or_else(|| format!("K {k:?} is not a positive number"))?;
    let bytes = std::fs::read(model).map_err(|e| format!("{model}: {e}"))?;
    let view = rnn_core::ModelView::parse(&bytes).map_err(|e| format!("{model}: {e}"))?;
    let net = rnn_core::Classifier::from_view(&view).map_err(|e| format!("{model}: {e}"))?;
    let classes: Vec<String> = view.classes().iter().map(String::from).collect();
    let columns = Columns {
        inputs: None,
        outputs: Outputs::Label("speaker".into()),
        group: None,
    };
    let f = csv::read(data.as_ref(), &columns).map_err(|e| e.to_string())?;
    let c = f.channels();
    let mut confusion = Confusion::new(classes.clone());
    let mut by_position = ByPosition::default();
    let mut logits = vec![0.0f32; net.output_size()];
    let mut work = vec![0.0f32; net.work_len(k)];
    for r in &f.recordings {
        let StepTargets::Labels(labels) = &r.y else {
            return Err(format!("{data}: no speaker column"));
        };
        let truth: Vec<usize> = labels
            .iter()
            .map(|l| {
                classes
                    .iter()
                    .position(|c| c == l)
                    .ok_or_else(|| format!("{data}: speaker {l:?} is not one of the model's"))
            })
            .collect::<Result<_, _>>()?;
        let mut predicted = Vec::with_capacity(truth.len());
        for (t, &y) in truth.iter().enumerate() {
            let from = (t + 1).saturating_sub(k);
            let x = &r.x[from * c..(t + 1) * c];
            net.classify(rnn_core::Steps::Dense(x), &mut work, &mut logits)
                .map_err(|e| e.to_string())?;
            let p = rnn_core::sample::argmax(&logits);
            confusion.add(y, p);
            predicted.push(p);
        }
        by_position.add(&truth, &predicted);
    }
    println!(
        "sliding window of the last {k} frames through the classifier {model}: per-frame accuracy {:.4} ({} of {})",
        confusion.accuracy(),
        confusion.correct(),
        confusion.total()
    );
    print!("{}", by_position.report());
    Ok(())
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        ["stream", cases, out, seed] => stream(cases, out, seed),
        ["window", model, data, k] => window(model, data, k),
        _ => Err(
            "usage: speaker_stream stream CASES.ts OUT.csv SEED | window MODEL.rnn STREAM.csv K"
                .into(),
        ),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("speaker_stream: {e}");
            ExitCode::from(2)
        }
    }
}
