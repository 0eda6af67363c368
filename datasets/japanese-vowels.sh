#!/usr/bin/env bash
# Speaker recognition on JapaneseVowels (UEA/UCR archive): fetch the data, train a
# classifier that fits the micro:bit, evaluate it with rnn-core's own classifier, then
# classify the test set on the emulated micro:bit (QEMU).
#
#   datasets/japanese-vowels.sh            fetch (if needed), train, evaluate
#   datasets/japanese-vowels.sh --fetch    only fetch and check the data
#
# The data ships inside the aeon 1.6.0 wheel on PyPI; it is downloaded with pip, unpacked
# into datasets/cache/JapaneseVowels/ and checked against the sha256 sums below. It is not
# committed. Data: M. Kudo, J. Toyama and M. Shimbo (1999), "Multidimensional curve
# classification using passing-through regions", Pattern Recognition Letters 20(11-13),
# 1103-1111; distributed by the UEA & UCR time series classification archive
# (timeseriesclassification.com; Bagnall et al., "The UEA multivariate time series
# classification archive, 2018", arXiv:1811.00075).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(dirname "$here")"
cache="$here/cache"
data="$cache/JapaneseVowels"
out="$here/out"

WHEEL=aeon-1.6.0-py3-none-any.whl
WHEEL_SHA256=d05227086706f80111ac5fee8de4d5d3115bb3bcfd1c786c8629393055816409
TRAIN_SHA256=68a430eabd919cc77f40b1f5f3bc0dcafacc1486bca9260785aeb7d262cc78cd
TEST_SHA256=b3d41d6a0ca3bcad3afb9ca7d4365382aa51341e2e58bae2a574babdda5b9462

check() { # FILE SHA256
    local got
    got="$(sha256sum "$1" | cut -d' ' -f1)"
    if [ "$got" != "$2" ]; then
        echo "japanese-vowels.sh: $1 has sha256 $got, expected $2" >&2
        exit 1
    fi
}

fetch() {
    if [ -f "$data/JapaneseVowels_TRAIN.ts" ] && [ -f "$data/JapaneseVowels_TEST.ts" ]; then
        check "$data/JapaneseVowels_TRAIN.ts" "$TRAIN_SHA256"
        check "$data/JapaneseVowels_TEST.ts" "$TEST_SHA256"
        return
    fi
    mkdir -p "$cache/wheel" "$data"
    if [ ! -f "$cache/wheel/$WHEEL" ]; then
        local pip=pip3
        command -v pip3 >/dev/null || pip="python3 -m pip"
        $pip download --quiet --no-deps --only-binary=:all: --python-version 3.11 \
            aeon==1.6.0 -d "$cache/wheel"
    fi
    check "$cache/wheel/$WHEEL" "$WHEEL_SHA256"
    unzip -q -o -j "$cache/wheel/$WHEEL" \
        'aeon/datasets/data/JapaneseVowels/JapaneseVowels_TRAIN.ts' \
        'aeon/datasets/data/JapaneseVowels/JapaneseVowels_TEST.ts' -d "$data"
    check "$data/JapaneseVowels_TRAIN.ts" "$TRAIN_SHA256"
    check "$data/JapaneseVowels_TEST.ts" "$TEST_SHA256"
    echo "JapaneseVowels: 270 training and 370 test cases in $data"
}

fetch
[ "${1:-}" = "--fetch" ] && exit 0

mkdir -p "$out"
echo "== baseline"
cargo run --quiet --release --manifest-path "$root/Cargo.toml" -p rnn-train --example dtw_1nn -- \
    "$data/JapaneseVowels_TRAIN.ts" "$data/JapaneseVowels_TEST.ts"
echo "== recurrent classifier"
rnn_train() { cargo run --quiet --release --manifest-path "$root/Cargo.toml" -p rnn-train -- "$@"; }
# A bidirectional GRU layer of 32 units per direction: 9,417 weights + 24 for the
# normalisation, 38 KB of flash; the sequence (at most 29 steps of 12 values) is buffered.
# Seeds 1-5, each scored by rnn-core's classifier; seed 1's model goes on the board.
accs=()
for seed in 1 2 3 4 5; do
    extra=(--quiet)
    [ "$seed" = 1 ] && extra=(--plot "$out/japanese-vowels-loss.svg")
    rnn_train train --task classify --bidirectional \
        --data "$data/JapaneseVowels_TRAIN.ts" --test "$data/JapaneseVowels_TEST.ts" \
        --out "$out/japanese-vowels-seed$seed.rnn" \
        --cell gru --hidden 32 --optimizer adam --lr 0.005 --clip-norm 0 --batch 8 --epochs 30 \
        --val-split 0 --lr-schedule constant --crop 1 --seed "$seed" "${extra[@]}"
    acc="$(rnn_train eval --model "$out/japanese-vowels-seed$seed.rnn" \
        --data "$data/JapaneseVowels_TEST.ts" | awk '/^accuracy/ {print $2}')"
    echo "seed $seed: test accuracy $acc"
    accs+=("$acc")
done
printf '%s\n' "${accs[@]}" | awk '{s+=$1; q+=$1*$1; n++} END {m=s/n; printf "test accuracy over %d seeds: mean %.4f, s.d. %.4f\n", n, m, sqrt((q-n*m*m)/(n-1))}'
cp "$out/japanese-vowels-seed1.rnn" "$out/japanese-vowels.rnn"
rnn_train inspect --model "$out/japanese-vowels.rnn"
echo "rnn-core's classifier (what the board runs) on the test set:"
rnn_train eval --model "$out/japanese-vowels.rnn" --data "$data/JapaneseVowels_TEST.ts" \
    --plot "$out/japanese-vowels-confusion.svg"
echo "loss curves in $out/japanese-vowels-loss.svg, confusion matrix in $out/japanese-vowels-confusion.svg"
echo "== on the emulated micro:bit (Cortex-M0, 16 KiB of RAM), every answer checked against the host's"
cargo run --quiet --release --manifest-path "$root/Cargo.toml" -p tests --example classify_on_board -- \
    "$out/japanese-vowels.rnn" "$data/JapaneseVowels_TEST.ts" microbit
