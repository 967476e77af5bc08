#!/usr/bin/env bash
# Same-window speed comparison of cmat with llama.cpp (issue 2's speed goals are relative to llama.cpp).
#
#   scripts/compare-llamacpp.sh LLAMA_BENCH [PAIRS]
#
# LLAMA_BENCH: path to a llama.cpp `llama-bench` binary (built outside this repository; the README's
# "Measured figures" section says how). PAIRS (default 4): how many back-to-back pairs to run; the order within a
# pair alternates (llama.cpp first in odd pairs, cmat first in even ones) so a drifting machine load does not
# favour one engine. Each pair is llama-bench -p 512 -n 128 -r 3 and `cmat bench --no-kernels` (512-token prefill,
# 128-token decode from an empty cache, mean of 3 repetitions) on the same model and thread count.
# On this shared 2-core machine the speed moves by +-30% from one window to the next: the ratio within a pair is the
# figure to read, not the absolute tok/s.
#
# Environment: CMAT (default .build/release/cmat), MODEL (default models/SmolLM2-135M-Instruct.Q4_1.gguf),
# THREADS (default 2), PREFILL (default 512), DECODE (default 128), REPS (default 3).
# Output: one name=value figure per line; per pair `pair=N`, `time=`, `load_1min=`, `llamacpp_prefill_tok_s=`,
# `llamacpp_decode_tok_s=`, `cmat_prefill_tok_s=`, `cmat_decode_tok_s=`, `prefill_ratio=`, `decode_ratio=`
# (cmat / llama.cpp), then `prefill_ratio_median=` and `decode_ratio_median=` over the pairs.
set -euo pipefail

if [ $# -lt 1 ] || [ $# -gt 2 ]; then
    echo "usage: $0 LLAMA_BENCH [PAIRS]" >&2
    exit 2
fi
LLAMA_BENCH=$1
PAIRS=${2:-4}
CMAT=${CMAT:-.build/release/cmat}
MODEL=${MODEL:-models/SmolLM2-135M-Instruct.Q4_1.gguf}
THREADS=${THREADS:-2}
PREFILL=${PREFILL:-512}
DECODE=${DECODE:-128}
REPS=${REPS:-3}

[ -x "$LLAMA_BENCH" ] || { echo "error: $LLAMA_BENCH: not an executable llama-bench" >&2; exit 2; }
[ -x "$CMAT" ] || { echo "error: $CMAT: no cmat binary (swift build -c release --product cmat, or set CMAT)" >&2; exit 2; }
[ -f "$MODEL" ] || { echo "error: $MODEL: model file not found (set MODEL)" >&2; exit 2; }
case $PAIRS in ''|*[!0-9]*) echo "error: PAIRS must be a positive integer, got '$PAIRS'" >&2; exit 2 ;; esac

# llama-bench -o jsonl prints one JSON object per test (pp then tg); take n_prompt, n_gen and avg_ts by name
llama_run() {
    local out
    out=$("$LLAMA_BENCH" -m "$MODEL" -t "$THREADS" -p "$PREFILL" -n "$DECODE" -r "$REPS" -o jsonl 2>/dev/null) || {
        echo "error: $LLAMA_BENCH failed" >&2; exit 1; }
    echo "$out" | sed -n 's/.*"n_prompt": \([0-9]*\), "n_gen": \([0-9]*\),.*"avg_ts": \([0-9.e+-]*\),.*/\1 \2 \3/p' |
        awk -v np="$PREFILL" -v ng="$DECODE" '
        $1 == np && $2 == 0 { printf "llamacpp_prefill_tok_s=%.1f\n", $3 }
        $1 == 0 && $2 == ng { printf "llamacpp_decode_tok_s=%.1f\n", $3 }'
}

cmat_run() {
    "$CMAT" bench --model "$MODEL" --threads "$THREADS" --prefill "$PREFILL" --decode "$DECODE" --reps "$REPS" \
        --no-kernels | awk -F= '
        $1 == "prefill_tok_s" { print "cmat_prefill_tok_s=" $2 }
        $1 == "decode_tok_s" { print "cmat_decode_tok_s=" $2 }'
}

value() { echo "$2" | awk -F= -v k="$1" '$1 == k { print $2 }'; }

pr_all=()
dr_all=()
echo "threads=$THREADS"
echo "llama_bench=$LLAMA_BENCH"
for ((p = 1; p <= PAIRS; p++)); do
    echo "pair=$p"
    echo "time=$(date -u +%H:%M:%SZ)"
    echo "load_1min=$(cut -d' ' -f1 /proc/loadavg)"
    if ((p % 2 == 1)); then l=$(llama_run); c=$(cmat_run); else c=$(cmat_run); l=$(llama_run); fi
    echo "$l"
    echo "$c"
    lp=$(value llamacpp_prefill_tok_s "$l"); ld=$(value llamacpp_decode_tok_s "$l")
    cp=$(value cmat_prefill_tok_s "$c"); cd=$(value cmat_decode_tok_s "$c")
    if [ -z "$lp" ] || [ -z "$ld" ] || [ -z "$cp" ] || [ -z "$cd" ]; then
        echo "error: pair $p: a figure is missing (llama-bench or cmat bench output changed?)" >&2; exit 1
    fi
    pr=$(awk -v a="$cp" -v b="$lp" 'BEGIN { printf "%.2f", a / b }')
    dr=$(awk -v a="$cd" -v b="$ld" 'BEGIN { printf "%.2f", a / b }')
    echo "prefill_ratio=$pr"
    echo "decode_ratio=$dr"
    echo "load_1min_after=$(cut -d' ' -f1 /proc/loadavg)"
    pr_all+=("$pr"); dr_all+=("$dr")
done
median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else printf "%.2f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
echo "prefill_ratio_median=$(median "${pr_all[@]}")"
echo "decode_ratio_median=$(median "${dr_all[@]}")"
