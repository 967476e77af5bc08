#!/usr/bin/env python3
"""An fp32 reference for a cmat LoRA adapter: greedy decoding in PyTorch, with the top-1/top-2 logit margin per token.

    cmat tokenize --special --json "$PROMPT" | python3 scripts/pytorch-lora-reference.py [--adapter A.gguf] [-n 40]

The base is the GGUF model dequantized to fp32 by transformers (`gguf_file=`); the adapter's llama.cpp-layout
tensors (`blk.L.<proj>.weight.lora_a/_b`, `adapter.lora.alpha`) are merged into it as W += alpha/rank · B·A (q and k
rows un-permuted as transformers does for the base). Prints the JSON array of generated ids (as `cmat generate --ids`
prints, plus the end-of-turn id if one is reached) and the margins, so a difference between two engines can be told
apart from a near-tie. Needs torch, transformers and gguf (PyPI; not part of cmat).
"""
import argparse
import json
import os
import sys

import numpy as np
import torch
from gguf import GGUFReader
from transformers import AutoModelForCausalLM

PROJECTIONS = {"attn_q": "self_attn.q_proj", "attn_k": "self_attn.k_proj", "attn_v": "self_attn.v_proj",
               "attn_output": "self_attn.o_proj", "ffn_gate": "mlp.gate_proj", "ffn_up": "mlp.up_proj",
               "ffn_down": "mlp.down_proj"}


def unpermute(w: np.ndarray, n_head: int) -> np.ndarray:
    """Inverse of the row permutation llama.cpp's converter applies to q and k (rotary pairs)."""
    dim = w.shape[0] // n_head // 2
    w = w.reshape(n_head, dim, 2, *w.shape[1:])
    return w.swapaxes(2, 1).reshape(-1, *w.shape[3:])


def merge(model, path: str) -> int:
    r = GGUFReader(path)
    if "adapter.lora.alpha" not in r.fields:
        sys.exit(f"error: {path}: no adapter.lora.alpha (not a llama.cpp LoRA adapter)")
    alpha = float(r.fields["adapter.lora.alpha"].contents())
    tensors = {t.name: np.array(t.data, dtype=np.float32) for t in r.tensors}
    cfg = model.config
    merged = 0
    for name, a in tensors.items():
        if not name.endswith(".lora_a"):
            continue
        stem = name[: -len(".lora_a")]
        b = tensors[stem + ".lora_b"]
        _, layer, kind, _ = stem.split(".")
        delta = (alpha / a.shape[0]) * (b @ a)   # a: [rank, in], b: [out, rank] (GGUF lists shapes reversed)
        if kind == "attn_q":
            delta = unpermute(delta, cfg.num_attention_heads)
        if kind == "attn_k":
            delta = unpermute(delta, cfg.num_key_value_heads)
        module = model.model.layers[int(layer)]
        for part in PROJECTIONS[kind].split("."):
            module = getattr(module, part)
        with torch.no_grad():
            module.weight += torch.from_numpy(delta)
        merged += 1
    return merged


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", default="models/SmolLM2-135M-Instruct.Q4_1.gguf")
    ap.add_argument("--adapter")
    ap.add_argument("-n", type=int, default=40)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    ids = json.loads(sys.stdin.read())
    folder, name = os.path.split(os.path.abspath(args.model))
    model = AutoModelForCausalLM.from_pretrained(folder, gguf_file=name, torch_dtype=torch.float32)
    if args.adapter:
        print(f"merged {merge(model, args.adapter)} adapted matrices", file=sys.stderr)
    eos = model.config.eos_token_id
    x = torch.tensor([ids])
    out, margins = [], []
    with torch.no_grad():
        for _ in range(args.n):
            top = torch.topk(model(x).logits[0, -1], 2)
            out.append(int(top.indices[0]))
            margins.append(round(float(top.values[0] - top.values[1]), 3))
            if out[-1] == eos:
                break
            x = torch.cat([x, top.indices[:1].view(1, 1)], dim=1)
    print(json.dumps(out))
    print("margins=" + json.dumps(margins))
    return 0


if __name__ == "__main__":
    sys.exit(main())
