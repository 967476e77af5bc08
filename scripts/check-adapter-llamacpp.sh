#!/usr/bin/env bash
# Does llama.cpp accept a cmat LoRA adapter, and apply it as cmat does? (issue 5: adapters are GGUF LoRA files that
# llama.cpp also accepts.)
#
#   scripts/check-adapter-llamacpp.sh LLAMA_COMPLETION [ADAPTER]
#
# LLAMA_COMPLETION: a llama.cpp `llama-completion` binary (built outside this repository, as llama-bench is for
# scripts/compare-llamacpp.sh: docs/MEASUREMENTS.md says how; target `llama-completion`). ADAPTER (default
# adapters/cmat-joint.gguf). For each of a few ChatML prompts, both engines decode greedily (NTOK tokens, default 60)
# on the default model with the adapter, and once without it; the script prints both texts and how many leading
# characters agree. llama.cpp refusing the file (wrong layout or names) fails the script. Two engines with different
# kernels may part ways at a near-tie between two tokens; where they do, the part before it is what to read.
# Environment: CMAT (default .build/release/cmat), MODEL (default models/SmolLM2-135M-Instruct.Q4_1.gguf), NTOK.
set -euo pipefail
if [ $# -lt 1 ] || [ $# -gt 2 ]; then echo "usage: $0 LLAMA_COMPLETION [ADAPTER]" >&2; exit 2; fi
LC=$1
ADAPTER=${2:-adapters/cmat-joint.gguf}
CMAT=${CMAT:-.build/release/cmat}
MODEL=${MODEL:-models/SmolLM2-135M-Instruct.Q4_1.gguf}
NTOK=${NTOK:-60}
[ -x "$LC" ] || { echo "error: $LC: not an executable llama-completion" >&2; exit 2; }
[ -x "$CMAT" ] || { echo "error: $CMAT: no cmat binary (set CMAT)" >&2; exit 2; }
[ -f "$MODEL" ] || { echo "error: $MODEL: model file not found (set MODEL)" >&2; exit 2; }
[ -f "$ADAPTER" ] || { echo "error: $ADAPTER: adapter file not found" >&2; exit 2; }

prompts=("Count the rows of table users."
         "List the files in /etc that end with .conf."
         "How many employees have a salary above 5000? The table is employees(name, salary).")

# Text that llama-completion prints after the prompt (it echoes the prompt, special tokens rendered as text).
llama_text() {
    local prompt=$1; shift
    "$LC" -m "$MODEL" "$@" -p "$prompt" -n "$NTOK" --temp 0 --top-k 1 -no-cnv -t 2 --no-warmup --simple-io \
        2>/tmp/check-adapter-llamacpp.err | sed -n '/^assistant$/,$p' | tail -n +2 | sed 's/ \[end of text\]$//' || {
        echo "error: llama.cpp failed (stderr in /tmp/check-adapter-llamacpp.err)" >&2; exit 1; }
}
cmat_text() {
    local prompt=$1; shift
    "$CMAT" generate --model "$MODEL" "$@" --prompt "$prompt" --greedy -n "$NTOK" 2>/dev/null
}
common() { python3 -c 'import sys; a, b = sys.argv[1].rstrip(), sys.argv[2].rstrip(); n = 0
while n < min(len(a), len(b)) and a[n] == b[n]: n += 1
print(f"{n} of {max(len(a), len(b))}")' "$1" "$2"; }

for q in "${prompts[@]}"; do
    p="<|im_start|>user
$q<|im_end|>
<|im_start|>assistant
"
    for mode in adapter base; do
        if [ $mode = adapter ]; then l=$(llama_text "$p" --lora "$ADAPTER"); c=$(cmat_text "$p" --adapter "$ADAPTER")
        else l=$(llama_text "$p"); c=$(cmat_text "$p"); fi
        echo "prompt=$q"
        echo "mode=$mode"
        echo "llamacpp_text=$(printf '%s' "$l" | tr '\n' ' ')"
        echo "cmat_text=$(printf '%s' "$c" | tr '\n' ' ')"
        echo "agreeing_chars=$(common "$l" "$c")"
    done
done
