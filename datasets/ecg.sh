#!/usr/bin/env bash
# The next ECG sample: one-step-ahead regression on the MIT-BIH excerpt that ships in the
# sktime 1.2.0 wheel (7,500 samples of one lead, column `data`): the first 70 % to train,
# the rest to test. Fetches the data, prints the baselines (persistence, and least-squares
# linear autoregressions of the last p values), trains a regression model with the
# defaults of --task regress for seeds 1-5, evaluates each with rnn-core (RMSE and MAE in
# the signal's units) and prints mean and spread.
#
#   datasets/ecg.sh            fetch (if needed), baselines, train, evaluate
#   datasets/ecg.sh --fetch    only fetch and check the data
#
# Data: the MIT-BIH Arrhythmia Database, G. B. Moody and R. G. Mark (2001), "The impact of
# the MIT-BIH Arrhythmia Database", IEEE Engineering in Medicine and Biology 20(3), 45-50;
# on PhysioNet: A. L. Goldberger et al. (2000), "PhysioBank, PhysioToolkit, and PhysioNet",
# Circulation 101(23), e215-e220. The excerpt is sktime's
# (sktime/datasets/data/mitdb/mitdb.csv), fetched with pip and checked by sha256; it is
# not committed.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(dirname "$here")"
cache="$here/cache"
out="$here/out"

WHEEL=sktime-1.2.0-py3-none-any.whl
WHEEL_SHA256=dbffc6731d2d683b668dceb5e2bbc5804bebc8446b4c580803a281684d90e4ae
CSV_SHA256=d4f2539a5e85e1ac1e7f8bba152b5e60a02356282463a8a1c97848ad3e1bb386

check() { # FILE SHA256
    local got
    got="$(sha256sum "$1" | cut -d' ' -f1)"
    if [ "$got" != "$2" ]; then
        echo "ecg.sh: $1 has sha256 $got, expected $2" >&2
        exit 1
    fi
}

fetch() {
    local csv="$cache/mitdb/mitdb.csv"
    if [ -f "$csv" ]; then
        check "$csv" "$CSV_SHA256"
        return
    fi
    mkdir -p "$cache/wheel" "$cache/mitdb"
    if [ ! -f "$cache/wheel/$WHEEL" ]; then
        local pip=pip3
        command -v pip3 >/dev/null || pip="python3 -m pip"
        $pip download --quiet --no-deps --only-binary=:all: --python-version 3.11 \
            sktime==1.2.0 -d "$cache/wheel"
    fi
    check "$cache/wheel/$WHEEL" "$WHEEL_SHA256"
    unzip -q -o -j "$cache/wheel/$WHEEL" 'sktime/datasets/data/mitdb/mitdb.csv' -d "$cache/mitdb"
    check "$csv" "$CSV_SHA256"
    echo "MIT-BIH excerpt: $(($(wc -l <"$csv") - 1)) samples in $csv"
}

fetch
[ "${1:-}" = "--fetch" ] && exit 0

mkdir -p "$out"
# Pairs (x_t, x_{t+1}): training pairs lie wholly in the first 70 % of the samples, test
# pairs start at the first test sample.
awk -F, -v train="$out/ecg-train.csv" -v test="$out/ecg-test.csv" '
    NR > 1 { v[n++] = $1 }
    END {
        cut = int(n * 0.7 + 0.5)
        print "x,next" > train; print "x,next" > test
        for (t = 0; t + 1 < n; t++) {
            if (t + 1 < cut) print v[t] "," v[t + 1] > train
            else if (t >= cut) print v[t] "," v[t + 1] > test
        }
    }' "$cache/mitdb/mitdb.csv"
cargo build --quiet --release --manifest-path "$root/Cargo.toml" -p rnn-train \
    --bin rnn-train --example autoregression
bin="${CARGO_TARGET_DIR:-$root/target}/release"
rnn_train() { "$bin/rnn-train" "$@"; }

echo "== baselines (test RMSE, signal units)"
"$bin/examples/autoregression" "$out/ecg-train.csv" "$out/ecg-test.csv" 1 4 16 100

echo "== recurrent regression: defaults of --task regress (windows of 100 samples, the state carried)"
rmses=()
for seed in 1 2 3 4 5; do
    model="$out/ecg-seed$seed.rnn"
    extra=()
    [ "$seed" = 1 ] && extra=(--plot "$out/ecg-loss.svg")
    rnn_train train --task regress --data "$out/ecg-train.csv" --targets next \
        --out "$model" --seed "$seed" --quiet "${extra[@]}"
    report="$(rnn_train eval --model "$model" --data "$out/ecg-test.csv")"
    rmse="$(printf '%s\n' "$report" | awk '$1 == "next" {print $2}')"
    echo "seed $seed: test RMSE $rmse"
    rmses+=("$rmse")
    [ "$seed" = 1 ] && cp "$model" "$out/ecg.rnn"
done
printf '%s\n' "${rmses[@]}" | awk '{s+=$1; q+=$1*$1; n++} END {m=s/n; printf "mean %.6f, s.d. %.6f over %d seeds\n", m, sqrt((q-n*m*m)/(n-1)), n}'
echo "== seed 1, evaluated by rnn-core (what the board runs):"
rnn_train eval --model "$out/ecg.rnn" --data "$out/ecg-test.csv" --plot "$out/ecg-prediction.svg"
rnn_train inspect --model "$out/ecg.rnn"
echo "loss curves in $out/ecg-loss.svg, prediction against truth in $out/ecg-prediction.svg"
echo "== on the emulated micro:bit (Cortex-M0), every answer checked against the host's"
# The whole test signal, 2,249 samples as one recording (a few seconds under QEMU).
cargo run --quiet --release --manifest-path "$root/Cargo.toml" -p tests --example stream_on_board -- \
    "$out/ecg.rnn" "$out/ecg-test.csv" microbit
