#!/usr/bin/env bash
# Same-window SFT-throughput comparison of cmat with PyTorch + transformers + PEFT (issue 5's goal is relative to it).
#
#   scripts/compare-pytorch-sft.sh PYTHON [PAIRS]
#
# PYTHON: a Python interpreter with torch, transformers, peft and gguf installed (PyPI; not part of cmat), e.g. a
# virtual environment made with `python3 -m venv /tmp/ptenv && /tmp/ptenv/bin/pip install torch transformers peft gguf`.
# PAIRS (default 4): back-to-back pairs of `scripts/pytorch-sft-bench.py` and `cmat bench --sft` on the same model
# file, thread count and setup (LoRA r8/alpha 16 on q/k/v/o/gate/up/down of every layer, AdamW, batch 1, 512-token
# sequences of random ids with a loss on every position, one warm-up step, then STEPS timed steps); the order within a
# pair alternates so a drifting machine load does not favour one side. The ratio within a pair is the figure to read.
#
# Environment: CMAT (default .build/release/cmat), MODEL (default models/SmolLM2-135M-Instruct.Q4_1.gguf),
# THREADS (default 2), STEPS (default 3).
# Output: one name=value figure per line; per pair `pair=N`, `time=`, `load_1min=`, `pytorch_sft_tok_s=`,
# `pytorch_sft_peak_rss_mb=`, `cmat_sft_tok_s=`, `cmat_sft_peak_rss_mb=`, `sft_ratio=` (cmat / PyTorch), then
# `sft_ratio_median=` over the pairs.
set -euo pipefail

if [ $# -lt 1 ] || [ $# -gt 2 ]; then
    echo "usage: $0 PYTHON [PAIRS]" >&2
    exit 2
fi
PYTHON=$1
PAIRS=${2:-4}
CMAT=${CMAT:-.build/release/cmat}
MODEL=${MODEL:-models/SmolLM2-135M-Instruct.Q4_1.gguf}
THREADS=${THREADS:-2}
STEPS=${STEPS:-3}
HERE=$(cd "$(dirname "$0")" && pwd)

[ -x "$CMAT" ] || { echo "error: $CMAT: no cmat binary (swift build -c release --product cmat, or set CMAT)" >&2; exit 2; }
[ -f "$MODEL" ] || { echo "error: $MODEL: model file not found (set MODEL)" >&2; exit 2; }
case $PAIRS in ''|*[!0-9]*) echo "error: PAIRS must be a positive integer, got '$PAIRS'" >&2; exit 2 ;; esac
"$PYTHON" -c 'import torch, transformers, peft, gguf' 2>/dev/null ||
    { echo "error: $PYTHON cannot import torch, transformers, peft and gguf" >&2; exit 2; }

pytorch_run() {
    "$PYTHON" "$HERE/pytorch-sft-bench.py" --model "$MODEL" --threads "$THREADS" --steps "$STEPS" 2>/dev/null |
        awk -F= '$1 == "pytorch_sft_tok_s" || $1 == "pytorch_sft_peak_rss_mb"' || {
        echo "error: scripts/pytorch-sft-bench.py failed" >&2; exit 1; }
}

cmat_run() {
    "$CMAT" bench --sft --model "$MODEL" --threads "$THREADS" 2>/dev/null | awk -F= '
        $1 == "sft_tok_s" { print "cmat_sft_tok_s=" $2 }
        $1 == "sft_peak_rss_mb" { print "cmat_sft_peak_rss_mb=" $2 }'
}

value() { echo "$2" | awk -F= -v k="$1" '$1 == k { print $2 }'; }

ratios=()
echo "threads=$THREADS"
echo "python=$PYTHON"
echo "torch=$("$PYTHON" -c 'import torch; print(torch.__version__)' 2>/dev/null)"
for ((p = 1; p <= PAIRS; p++)); do
    echo "pair=$p"
    echo "time=$(date -u +%H:%M:%SZ)"
    echo "load_1min=$(cut -d' ' -f1 /proc/loadavg)"
    if ((p % 2 == 1)); then t=$(pytorch_run); c=$(cmat_run); else c=$(cmat_run); t=$(pytorch_run); fi
    echo "$t"
    echo "$c"
    tt=$(value pytorch_sft_tok_s "$t"); ct=$(value cmat_sft_tok_s "$c")
    if [ -z "$tt" ] || [ -z "$ct" ]; then
        echo "error: pair $p: a figure is missing (pytorch-sft-bench.py or cmat bench --sft output changed?)" >&2; exit 1
    fi
    r=$(awk -v a="$ct" -v b="$tt" 'BEGIN { printf "%.2f", a / b }')
    echo "sft_ratio=$r"
    echo "load_1min_after=$(cut -d' ' -f1 /proc/loadavg)"
    ratios+=("$r")
done
median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else printf "%.2f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
echo "sft_ratio_median=$(median "${ratios[@]}")"
