#!/usr/bin/env bash
# Who is speaking, frame by frame: the JapaneseVowels utterances concatenated into one long
# stream, a speaker label on every frame; a unidirectional tagger answers after every frame
# (it streams: one 12-value frame in, the speaker out). Fetches the data (through
# japanese-vowels.sh), prints the baseline (the many-to-one classifier on a sliding
# window of the last K frames), trains the tagger with the defaults of --task tag for
# seeds 1-5, evaluates each with rnn-core (per-frame accuracy, by frames into the
# utterance, frames to follow a change of speaker), and prints mean and spread.
#
#   datasets/speaker-stream.sh
#
# Data: M. Kudo, J. Toyama and M. Shimbo (1999), "Multidimensional curve classification
# using passing-through regions", Pattern Recognition Letters 20(11-13), 1103-1111; from
# the UEA & UCR time series classification archive (Bagnall et al., arXiv:1811.00075).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(dirname "$here")"
data="$here/cache/JapaneseVowels"
out="$here/out"
mkdir -p "$out"

"$here/japanese-vowels.sh" --fetch
cargo build --quiet --release --manifest-path "$root/Cargo.toml" -p rnn-train \
    --bin rnn-train --example speaker_stream
bin="${CARGO_TARGET_DIR:-$root/target}/release"
rnn_train() { "$bin/rnn-train" "$@"; }
stream() { "$bin/examples/speaker_stream" "$@"; }

echo "== the streams (each boundary between utterances is a change of speaker)"
stream stream "$data/JapaneseVowels_TRAIN.ts" "$out/speaker-train.csv" 1
stream stream "$data/JapaneseVowels_TEST.ts" "$out/speaker-test.csv" 2

echo "== baseline: the many-to-one classifier (defaults of --task classify, seed 1) on the last K frames"
rnn_train train --task classify --data "$data/JapaneseVowels_TRAIN.ts" \
    --out "$out/speaker-window-classifier.rnn" --seed 1 --quiet
for k in 5 10 20; do
    stream window "$out/speaker-window-classifier.rnn" "$out/speaker-test.csv" "$k" | sed -n 1p
done
stream window "$out/speaker-window-classifier.rnn" "$out/speaker-test.csv" 5 | tail -n +2

echo "== tagger: defaults of --task tag (one long training stream, windows of 100 frames, the state carried)"
accs=()
for seed in 1 2 3 4 5; do
    model="$out/speaker-stream-seed$seed.rnn"
    extra=()
    [ "$seed" = 1 ] && extra=(--plot "$out/speaker-stream-loss.svg")
    rnn_train train --task tag --data "$out/speaker-train.csv" --label speaker \
        --out "$model" --seed "$seed" --quiet "${extra[@]}"
    report="$(rnn_train eval --model "$model" --data "$out/speaker-test.csv" --label speaker)"
    acc="$(printf '%s\n' "$report" | awk '/^per-step accuracy/ {print $3}')"
    echo "seed $seed: per-frame test accuracy $acc"
    accs+=("$acc")
    if [ "$seed" = 1 ]; then
        cp "$model" "$out/speaker-stream.rnn"
        first="$report"
    fi
done
printf '%s\n' "${accs[@]}" | awk '{s+=$1; q+=$1*$1; n++} END {m=s/n; printf "mean %.4f, s.d. %.4f over %d seeds\n", m, sqrt((q-n*m*m)/(n-1)), n}'
echo "== seed 1, evaluated by rnn-core (what the board runs):"
printf '%s\n' "$first"
rnn_train eval --model "$out/speaker-stream.rnn" --data "$out/speaker-test.csv" --label speaker \
    --plot "$out/speaker-stream-confusion.svg" >/dev/null
rnn_train inspect --model "$out/speaker-stream.rnn"
echo "loss curves in $out/speaker-stream-loss.svg, confusion matrix in $out/speaker-stream-confusion.svg"
echo "== on the emulated micro:bit (Cortex-M0), every answer checked against the host's"
# The whole test stream, 5,687 frames as one recording (about 25 s under QEMU).
cargo run --quiet --release --manifest-path "$root/Cargo.toml" -p tests --example stream_on_board -- \
    "$out/speaker-stream.rnn" "$out/speaker-test.csv" microbit
