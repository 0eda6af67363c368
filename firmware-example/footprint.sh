#!/usr/bin/env bash
# Measures the firmware for one model (any cell kind and depth) on the three QEMU boards:
# flash and static RAM (llvm-size), the stack's high-water mark and the instructions per
# step (the firmware's own /mem and /bench, under `qemu -icount shift=0`). For a
# classifier: the instructions per classified sequence of 1 and of max_steps steps; for a
# tagger or regression model (stream mode): the instructions per step.
#
#   firmware-example/footprint.sh MODEL.rnn
#
# Needs: qemu-system-arm, the three thumb targets, and llvm-size from
# `rustup component add llvm-tools` (found in the toolchain's sysroot).
set -euo pipefail

model=$(realpath "${1:?usage: footprint.sh MODEL.rnn}")
here=$(cd "$(dirname "$0")" && pwd)
cd "$here"
sysroot=$(rustc --print sysroot)
size=$(find "$sysroot" -name llvm-size -type f | head -n1)
if [[ -z "$size" ]]; then
    echo "llvm-size not found: run 'rustup component add llvm-tools'" >&2
    exit 1
fi
model_bytes=$(stat -c %s "$model")
export CARGO_TARGET_DIR="$here/target/footprint"

echo "model: $model ($model_bytes bytes)"
# The board table (boards.txt: board, Rust target, core, clock), without its comments.
first=$(awk '!/^#/ && NF { print $1; exit }' boards.txt)
while read -r board target _; do
    RNN_MODEL="$model" cargo build --quiet --release --no-default-features --features "$board" --target "$target"
    elf="$CARGO_TARGET_DIR/$target/release/firmware-example"
    # Berkeley format: text (= .vector_table + .text + .rodata), data, bss.
    read -r text data bss _ < <("$size" -B "$elf" | tail -n1)
    run() {
        timeout 120 qemu-system-arm -machine "$board" -nographic -monitor none \
            -semihosting-config enable=on,target=native -icount shift=0 -kernel "$elf" 2>/dev/null
    }
    banner=$(printf '/exit\n' | run | sed -n 1p)
    if [[ $banner == *task=tag* || $banner == *task=regress* ]]; then
        # Every path of stream mode: vectors of the model's channel count (the state
        # carried), each error, /reset, the names, then /bench and /mem.
        channels=$(grep -o ' input=[0-9]*' <<<"$banner" | grep -o '[0-9]*')
        vector=$(seq -s, 1 "$channels" | sed 's/\([0-9]*\)/0.\1e-1/g')
        workload="$vector\n$vector\n\n1,x\n/reset\n$vector\n/classes\n/targets\n"
        answer=$(printf "$workload/bench\n/foo\n/mem\n/exit\n" | run)
        per_step=$(grep -o 'bench: [a-z]* [0-9]* instructions/step' <<<"$answer" | grep -o '[0-9]*')
        per_mac=$(grep -o '([0-9.]* per MAC)' <<<"$answer" | grep -o '[0-9.]*')
        macs=$(grep -o '[0-9]* MACs/step' <<<"$answer" | grep -o '[0-9]*')
        peak=$(grep -o 'stack peak [0-9]*' <<<"$answer" | grep -o '[0-9]*')
        if [[ $board == "$first" ]]; then
            grep -o 'task=.*normalized=[0-9]*' <<<"$banner"
            printf '%-12s %10s %12s %8s %8s %11s %11s %9s %s\n' board text+rodata "w/o model" data bss stack_peak "instr/step" "MACs/step" "per MAC"
        fi
        printf '%-12s %10s %12s %8s %8s %11s %11s %9s %s\n' "$board" "$text" "$((text - model_bytes))" "$data" "$bss" "$peak" "$per_step" "$macs" "$per_mac"
        continue
    fi
    if [[ $banner == *task=classify* ]]; then
        # Every path of classify mode: a valid input (a word, or a sequence of vectors of
        # the model's channel count), each error, /classes, then /bench and /mem.
        channels=$(grep -o ' input=[0-9]*' <<<"$banner" | grep -o '[0-9]*')
        vector=$(seq -s, 1 "$channels" | sed 's/\([0-9]*\)/0.\1e-1/g')
        if [[ $banner == *vocab=0* ]]; then
            workload="$vector\n$vector\n\n\n1,x\n\n/classes\n"
        else
            workload="ab\n\nAb\n/classes\n"
        fi
        answer=$(printf "$workload/bench\n/foo\n/mem\n/exit\n" | run)
        one=$(grep -o 'classify 1 step [0-9]*' <<<"$answer" | grep -o '[0-9]*$')
        full=$(grep -o 'steps [0-9]* instructions' <<<"$answer" | grep -o '[0-9]*')
        steps=$(grep -o ' [0-9]* steps [0-9]*' <<<"$answer" | awk '{print $1}')
        per_step=$(grep -o '[0-9]* per further step' <<<"$answer" | grep -o '^[0-9]*')
        per_mac=$(grep -o '[0-9.]* per MAC' <<<"$answer" | grep -o '^[0-9.]*')
        macs=$(grep -o '[0-9]* MACs/step' <<<"$answer" | grep -o '[0-9]*')
        peak=$(grep -o 'stack peak [0-9]*' <<<"$answer" | grep -o '[0-9]*')
        if [[ $board == "$first" ]]; then
            grep -o 'task=.*max_steps=[0-9]*' <<<"$banner"
            printf '%-12s %10s %12s %8s %8s %11s %12s %14s %11s %9s %s\n' board text+rodata "w/o model" data bss stack_peak "1 step" "$steps steps" "per step" "MACs/step" "per MAC"
        fi
        printf '%-12s %10s %12s %8s %8s %11s %12s %14s %11s %9s %s\n' "$board" "$text" "$((text - model_bytes))" "$data" "$bss" "$peak" "$one" "$full" "$per_step" "$macs" "$per_mac"
        continue
    fi
    # A workload that takes every path (names, both modes, streaming, errors), then /mem.
    answer=$(printf '/bench\n/seed 1\n\nab\n/greedy\nab\n/stream\nabc\004/sample 0.5\nAb\n/foo\n/mem\n/exit\n' | run)
    greedy=$(grep -o 'greedy [0-9]* instructions/step' <<<"$answer" | grep -o '[0-9]*')
    per_mac=$(grep -o '([0-9.]* per MAC)' <<<"$answer" | grep -o '[0-9.]*')
    sampled=$(grep -o 'sampling [0-9]* instructions/step' <<<"$answer" | grep -o '[0-9]*')
    peak=$(grep -o 'stack peak [0-9]*' <<<"$answer" | grep -o '[0-9]*')
    macs=$(grep -o '[0-9]* MACs/step' <<<"$answer" | grep -o '[0-9]*')
    if [[ $board == "$first" ]]; then
        # The banner: cell kind, layers and sizes the firmware was built for.
        head -n1 <<<"$answer" | grep -o 'cell=.*vocab=[0-9]*'
        printf '%-12s %10s %12s %8s %8s %11s %11s %11s %9s %s\n' board text+rodata "w/o model" data bss stack_peak "greedy/step" "sample/step" "MACs/step" "greedy/MAC"
    fi
    printf '%-12s %10s %12s %8s %8s %11s %11s %11s %9s %s\n' "$board" "$text" "$((text - model_bytes))" "$data" "$bss" "$peak" "$greedy" "$sampled" "$macs" "$per_mac"
done < <(awk '!/^#/ && NF' boards.txt)
