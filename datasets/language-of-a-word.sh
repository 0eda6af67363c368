#!/usr/bin/env bash
# Language of a word: train a character classifier on Debian word lists and evaluate it.
#
#   datasets/language-of-a-word.sh en-es        English vs Spanish (50,000 training words each)
#   datasets/language-of-a-word.sh six          en, es, fr, de, it, pt
#   datasets/language-of-a-word.sh vendored     English vs Spanish on the vendored
#                                                datasets/words/ files only (no download)
#   datasets/language-of-a-word.sh vendor       rebuild datasets/words/ (maintainers)
#
# Each data set trains seeds 1-5 (SEEDS="1" for one) and prints every test accuracy and
# their mean and standard deviation; the first seed's model is inspected, evaluated with
# rnn-core and run on the emulated board.
#
# Every mode except `vendored` first fetches the word lists with `apt-get download` (run
# as root it does `apt-get update` first): wamerican (SCOWL licence), wspanish (public
# domain), wfrench, wngerman, witalian, wportuguese (GPL). They are unpacked into
# datasets/cache/ and never committed. `rnn-train/examples/make_words.rs` turns them into
# `label<TAB>word` files: lower case, words with a character outside the fixed alphabet
# dropped, words of more than one language dropped, a fixed hash order for the split.
# Each run also prints the character-trigram naive Bayes baseline on the same split.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(dirname "$here")"
cache="$here/cache"
dict="$cache/dict"
out="$here/out"

# Package versions of Debian 12 (bookworm) and the sha256 of the word list each installs.
PACKAGES=(
    "wamerican=2020.12.07-2 american-english 9f513f1ceadb6a01c5485b7dbdfd5118dc66cd70b59cae2851292112d4066a32"
    "wspanish=1.0.30 spanish 6b26adc955ec682e41e98d626d0ed1f778511065ee1f7f19c28e8b3cb574b9b6"
    "wfrench=1.2.7-2 french 33b3a15b7c47c4b85aaafa7c8b41d3fee9c7ca1383381bb8f710372ce7474f06"
    "wngerman=20161207-11 ngerman 4864ca7300aae638c611114092ed566ba232b35e42280fcfb5509c5d121b307d"
    "witalian=1.10 italian 096f728b7b63073f32604dfaa7c5dbf5b2d32123880f0b05fe462670630f6218"
    "wportuguese=20220621-1 portuguese 0ae13d0be0b580a4f279e64c963371824092d05acca48a2523f562c228144536"
)

fetch() { # the packages to fetch, by name
    local want=("$@") updated=0
    mkdir -p "$cache/debs" "$dict"
    for entry in "${PACKAGES[@]}"; do
        read -r pkg list sha <<<"$entry"
        local name="${pkg%%=*}"
        [[ " ${want[*]} " == *" $name "* ]] || continue
        if [ ! -f "$dict/$list" ] || [ "$(sha256sum "$dict/$list" | cut -d' ' -f1)" != "$sha" ]; then
            if [ "$updated" = 0 ] && [ "$(id -u)" = 0 ]; then
                apt-get update -qq
                updated=1
            fi
            (cd "$cache/debs" && apt-get download -qq "$pkg")
            local deb
            deb="$(ls "$cache/debs/${name}_"*.deb | head -n 1)"
            local tmp="$cache/unpack-$name"
            rm -rf "$tmp"
            dpkg-deb -x "$deb" "$tmp"
            cp "$tmp/usr/share/dict/$list" "$dict/$list"
            rm -rf "$tmp"
        fi
        local got
        got="$(sha256sum "$dict/$list" | cut -d' ' -f1)"
        if [ "$got" != "$sha" ]; then
            echo "language-of-a-word.sh: $dict/$list has sha256 $got, expected $sha" >&2
            exit 1
        fi
    done
}

cargo_example() { cargo run --quiet --release --manifest-path "$root/Cargo.toml" -p rnn-train --example "$@"; }
rnn_train() { cargo run --quiet --release --manifest-path "$root/Cargo.toml" -p rnn-train -- "$@"; }

make_words() { # OUT_DIR TRAIN TEST LABEL=LIST...
    local dir="$1" n_train="$2" n_test="$3"
    shift 3
    cargo_example make_words -- --train "$n_train" --test "$n_test" --out-dir "$dir" "$@"
}

run() { # NAME DIR, then rnn-train train flags
    local name="$1" dir="$2"
    shift 2
    mkdir -p "$out"
    echo "== $name: baseline"
    cargo_example naive_bayes -- "$dir/train.txt" "$dir/test.txt"
    echo "== $name: recurrent classifier, seeds $SEEDS (the first one's model goes on the board)"
    local accs=() first=""
    for seed in $SEEDS; do
        local extra=(--quiet)
        [ -z "$first" ] && extra=(--plot "$out/$name-loss.svg")
        rnn_train train --task classify --data "$dir/train.txt" --test "$dir/test.txt" \
            --out "$out/$name-seed$seed.rnn" --seed "$seed" "${extra[@]}" "$@"
        local acc
        acc="$(rnn_train eval --model "$out/$name-seed$seed.rnn" --data "$dir/test.txt" \
            | awk '/^accuracy/ {print $2}')"
        echo "seed $seed: test accuracy $acc"
        accs+=("$acc")
        [ -z "$first" ] && first="$seed" && cp "$out/$name-seed$seed.rnn" "$out/$name.rnn"
    done
    printf '%s\n' "${accs[@]}" | awk '{s+=$1; q+=$1*$1; n++} END {m=s/n; sd=(n>1)?sqrt((q-n*m*m)/(n-1)):0; printf "test accuracy over %d seeds: mean %.4f, s.d. %.4f\n", n, m, sd}'
    rnn_train inspect --model "$out/$name.rnn"
    echo "rnn-core's classifier (what the board runs) on the test set:"
    rnn_train eval --model "$out/$name.rnn" --data "$dir/test.txt" --plot "$out/$name-confusion.svg"
    echo "== $name: the first $BOARD_CASES test words on the emulated Cortex-M3 (QEMU), every answer checked against the host's"
    cargo run --quiet --release --manifest-path "$root/Cargo.toml" -p tests --example classify_on_board -- \
        "$out/$name.rnn" "$dir/test.txt" lm3s6965evb "$BOARD_CASES"
}

# Enough words to compare the board with the host in about a minute of emulation.
BOARD_CASES=${BOARD_CASES:-2000}
# The seeds trained (each scored on the test set; mean and standard deviation printed).
SEEDS=${SEEDS:-1 2 3 4 5}

case "${1:-}" in
en-es)
    fetch wamerican wspanish
    make_words "$cache/words-en-es" 50000 2000 en="$dict/american-english" es="$dict/spanish"
    run words-en-es "$cache/words-en-es" --cell gru --hidden 64 --bidirectional \
        --optimizer adam --lr 0.005 --clip-norm 0 --batch 32 --epochs 3 --val-split 0 --lr-schedule constant --crop 1
    ;;
six)
    fetch wamerican wspanish wfrench wngerman witalian wportuguese
    make_words "$cache/words-six" 50000 2000 en="$dict/american-english" es="$dict/spanish" \
        fr="$dict/french" de="$dict/ngerman" it="$dict/italian" pt="$dict/portuguese"
    run words-six "$cache/words-six" --cell gru --hidden 64 --bidirectional \
        --optimizer adam --lr 0.005 --clip-norm 0 --batch 32 --epochs 4 --val-split 0 --lr-schedule constant --crop 1
    ;;
vendored)
    run words-vendored "$here/words" --cell gru --hidden 64 --bidirectional \
        --optimizer adam --lr 0.005 --clip-norm 0 --batch 16 --epochs 5 --val-split 0 --lr-schedule constant --crop 1
    ;;
vendor)
    fetch wamerican wspanish
    make_words "$here/words" 3000 1000 en="$dict/american-english" es="$dict/spanish"
    ;;
*)
    echo "usage: $0 en-es | six | vendored | vendor" >&2
    exit 2
    ;;
esac
