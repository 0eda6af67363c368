#!/usr/bin/env bash
# Float vs quantized models, same model, same data, same seed: `rnn-train quantize` on
# the dinosaur names (Elman, GRU and LSTM at H = 25 and 64, trained here with the
# defaults) and on the JapaneseVowels and English/Spanish word classifiers that
# datasets/japanese-vowels.sh and datasets/language-of-a-word.sh train (seeds 1-5).
# and, for long series, on the UEA/UCR sets datasets/ucr.sh trains with the classification
# defaults (a convolutional front-end before a bidirectional GRU). Prints the mean and
# standard deviation over the seeds (SEEDS="1 2 3 4 5").
#
#   datasets/quantized.sh
#   SECTIONS=classifiers datasets/quantized.sh   only the classifiers (no dinosaur training)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(dirname "$here")"
out="$here/out/quantized"
mkdir -p "$out" "$out/ucr"
seeds="${SEEDS:-1 2 3 4 5}"
sections="${SECTIONS:-dinosaurs classifiers}"
cargo build --quiet --release --manifest-path "$root/Cargo.toml" -p rnn-train
bin="${CARGO_TARGET_DIR:-$root/target}/release/rnn-train"

# mean ± s.d. (and the largest absolute value) of the numbers on stdin.
stats() { awk '{s+=$1; q+=$1*$1; n++; a=($1<0?-$1:$1); if (a>m) m=a}
    END {mu=s/n; sd=(n>1)?sqrt((q-n*mu*mu)/(n-1)):0; if (sd<0) sd=0;
         printf "%+.4f ± %.4f (largest %.4f)", mu, sd, m}'; }
mean() { awk '{s+=$1; q+=$1*$1; n++} END {mu=s/n; sd=(n>1)?sqrt((q-n*mu*mu)/(n-1)):0;
    printf "%.4f ± %.4f", mu, sd}'; }
# The float and the quantized value of METRIC in quantize's table for DATA.
row() { # OUTPUT DATA METRIC
    awk -v d="$2:" -v m="$3" '$0 == d {on=1; next} /^[^ ]/ {on=0}
        on && index($0, m) {n=split($0, f, " "); print f[n-2], f[n-1]}' <<<"$1"; }

if [[ " $sections " == *" dinosaurs "* ]]; then
echo "== dinosaur names, nats per character on the names (the training text), seeds: $seeds"
echo "| cell | H | f32 loss | int8 change | int16 change | int8 file / f32 file |"
echo "|---|---|---|---|---|---|"
for cell in elman gru lstm; do
    for h in 25 64; do
        : >"$out/f" ; : >"$out/q8" ; : >"$out/q16" ; ratio=""
        for seed in $seeds; do
            m="$out/dino-$cell-$h-s$seed.rnn"
            [ -f "$m" ] || "$bin" train --data "$root/data/dinosaurs.txt" --cell "$cell" \
                --hidden "$h" --seed "$seed" --out "$m" --quiet
            for w in int8 int16; do
                o="$("$bin" quantize --model "$m" --calibrate "$root/data/dinosaurs.txt" \
                    --weights "$w" --out "$out/dino-$cell-$h-s$seed-$w.rnn")"
                read -r f q < <(row "$o" "$root/data/dinosaurs.txt" "loss (nats/char)")
                [ "$w" = int8 ] && echo "$f" >>"$out/f"
                awk -v f="$f" -v q="$q" 'BEGIN {print q-f}' >>"$out/q${w#int}"
            done
            ratio="$(stat -c %s "$out/dino-$cell-$h-s$seed-int8.rnn" "$m" | paste -sd/ | bc -l)"
        done
        printf '| %s | %s | %s | %s | %s | %.0f%% |\n' "$cell" "$h" "$(mean <"$out/f")" \
            "$(stats <"$out/q8")" "$(stats <"$out/q16")" "$(echo "$ratio*100" | bc -l)"
    done
done
fi

classifiers() { # NAME MODEL-PREFIX TRAIN TEST
    if [ ! -f "$here/out/$2-seed1.rnn" ] || [ ! -f "$3" ]; then
        echo "| $1 | (run its dataset script first: no $here/out/$2-seed1.rnn) | | |"
        return
    fi
    : >"$out/f" ; : >"$out/q8" ; : >"$out/d"
    for seed in $seeds; do
        o="$("$bin" quantize --model "$here/out/$2-seed$seed.rnn" --calibrate "$3" --test "$4" \
            --out "$out/$2-seed$seed-int8.rnn")"
        read -r f q < <(row "$o" "$4" "accuracy")
        echo "$f" >>"$out/f"; echo "$q" >>"$out/q8"
        awk -v f="$f" -v q="$q" 'BEGIN {print q-f}' >>"$out/d"
    done
    printf '| %s | %s | %s | %s |\n' "$1" "$(mean <"$out/f")" "$(mean <"$out/q8")" "$(stats <"$out/d")"
}
echo
echo "== classifiers, test accuracy, seeds: $seeds"
echo "| data set | f32 | int8 | change |"
echo "|---|---|---|---|"
classifiers "JapaneseVowels (bidirectional GRU, H = 32)" japanese-vowels \
    "$here/cache/JapaneseVowels/JapaneseVowels_TRAIN.ts" "$here/cache/JapaneseVowels/JapaneseVowels_TEST.ts"
classifiers "English/Spanish words (bidirectional GRU, H = 64)" words-en-es \
    "$here/cache/words-en-es/train.txt" "$here/cache/words-en-es/test.txt"
# Long series: datasets/ucr.sh's models (the defaults give them a convolutional front-end).
for set in Coffee:txt ArrowHead:ts GunPoint:ts; do
    name="${set%:*}" ext="${set#*:}"
    classifiers "$name (defaults: front-end, bidirectional GRU, H = 32)" "ucr/$name" \
        "$here/cache/ucr/${name}_TRAIN.$ext" "$here/cache/ucr/${name}_TEST.$ext"
done
