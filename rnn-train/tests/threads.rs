//! Minibatches larger than one chunk of the engine (`train::engine::CHUNK` sequences), so
//! that the batched passes really run on several threads: the model file must be the same
//! bytes for `--threads 1`, 2 and 3, for every task (next symbol in lines and stream mode,
//! a bidirectional classifier with and without the convolutional front-end, a tagger over
//! carried windows, regression), and training must still learn.

mod common;

use common::{latch_csv, ok, s, series_file, small_data, tmp};
use rnn_train::train::engine::CHUNK;

/// Trains with `args` for each thread count and insists on one model, byte for byte.
fn same_bytes(name: &str, args: &[&str]) {
    let mut first: Option<Vec<u8>> = None;
    for threads in ["1", "2", "3"] {
        let out = tmp(&format!("{name}-{threads}.rnn"));
        let mut a = args.to_vec();
        a.extend_from_slice(&["--out", s(&out), "--threads", threads, "--quiet"]);
        ok(&a);
        let bytes = std::fs::read(&out).unwrap();
        match &first {
            None => first = Some(bytes),
            Some(b) => assert!(*b == bytes, "{name}: --threads {threads} changed the model"),
        }
    }
}

#[test]
fn several_chunks_per_minibatch_give_the_same_bytes_for_any_thread_count() {
    let names = small_data(200);
    // Three chunks: two full ones and a short one.
    let batch = (2 * CHUNK + 3).to_string();
    for cell in ["elman", "gru", "lstm"] {
        same_bytes(
            &format!("lines-{cell}"),
            &[
                "train",
                "--data",
                s(&names),
                "--cell",
                cell,
                "--layers",
                "2",
                "--hidden",
                "9",
                "--batch",
                &batch,
                "--epochs",
                "2",
                "--seed",
                "3",
            ],
        );
    }
    same_bytes(
        "stream",
        &[
            "train",
            "--data",
            s(&names),
            "--mode",
            "stream",
            "--seq-len",
            "12",
            "--batch",
            &batch,
            "--hidden",
            "8",
            "--epochs",
            "2",
            "--cell",
            "gru",
        ],
    );
    let series = series_file("threads.ts", 60, 4);
    for conv in ["none", "3:4:2"] {
        same_bytes(
            &format!("classify-{conv}"),
            &[
                "train",
                "--task",
                "classify",
                "--data",
                s(&series),
                "--cell",
                "lstm",
                "--hidden",
                "6",
                "--bidirectional",
                "--batch",
                &batch,
                "--epochs",
                "3",
                "--conv",
                conv,
            ],
        );
    }
    let latch = latch_csv("threads-latch.csv", 2 * CHUNK + 5, 40, 3);
    same_bytes(
        "tag",
        &[
            "train",
            "--task",
            "tag",
            "--data",
            s(&latch),
            "--group",
            "run",
            "--label",
            "state",
            "--seq-len",
            "15",
            "--batch",
            &batch,
            "--hidden",
            "8",
            "--epochs",
            "2",
        ],
    );
    same_bytes(
        "regress",
        &[
            "train",
            "--task",
            "regress",
            "--data",
            s(&latch),
            "--group",
            "run",
            "--targets",
            "x",
            "--inputs",
            "noise",
            "--batch",
            &batch,
            "--hidden",
            "5",
            "--epochs",
            "2",
            "--bidirectional",
        ],
    );
}
