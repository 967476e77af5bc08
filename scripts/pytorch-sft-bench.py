#!/usr/bin/env python3
"""The reference for `cmat bench --sft`: the same SFT step in PyTorch + transformers + PEFT, on the CPU, in fp32.

    python3 scripts/pytorch-sft-bench.py [--model GGUF] [--threads 2] [--seq 512] [--steps 3]

Needs torch, transformers, peft and gguf (PyPI; not part of cmat, see scripts/compare-pytorch-sft.sh). The model is
the GGUF file that cmat trains on, dequantized to fp32 by transformers (`gguf_file=`), so both engines start from the
same weights. Setup as issue 5 states it and as `cmat bench --sft` runs it: LoRA rank 8, alpha 16, dropout 0 on
q/k/v/o/gate/up/down of every layer, AdamW (lr 1e-4), batch 1, sequences of `--seq` random token ids with a loss on
every position after the first, one warm-up step, then `--steps` timed steps.

Prints one name=value figure per line: pytorch_sft_tok_s, pytorch_sft_step_s, pytorch_sft_cpu_s (process CPU
seconds a step, all threads) and pytorch_sft_peak_rss_mb (the process's peak resident set, model load included).
"""
import argparse
import os
import resource
import sys
import time


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", default="models/SmolLM2-135M-Instruct.Q4_1.gguf")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seq", type=int, default=512)
    ap.add_argument("--steps", type=int, default=3)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    if not os.path.isfile(args.model):
        print(f"error: {args.model}: model file not found (make setup downloads it)", file=sys.stderr)
        return 2
    try:
        import torch
        from peft import LoraConfig, get_peft_model
        from transformers import AutoModelForCausalLM
    except ImportError as e:
        print(f"error: {e}; install torch, transformers, peft and gguf from PyPI (see scripts/compare-pytorch-sft.sh)",
              file=sys.stderr)
        return 2

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    folder, name = os.path.split(os.path.abspath(args.model))
    model = AutoModelForCausalLM.from_pretrained(folder, gguf_file=name, torch_dtype=torch.float32)
    lora = LoraConfig(r=8, lora_alpha=16, lora_dropout=0.0, bias="none", task_type="CAUSAL_LM",
                      target_modules=["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"])
    model = get_peft_model(model, lora)
    model.train()
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=1e-4)
    vocab = model.config.vocab_size
    gen = torch.Generator().manual_seed(args.seed)

    def step() -> float:
        ids = torch.randint(0, vocab, (1, args.seq), generator=gen)
        out = model(input_ids=ids, labels=ids)   # transformers shifts: a loss on positions 1..seq-1
        out.loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)
        return float(out.loss)

    warm = step()
    print(f"pytorch sft warm-up step: loss {warm:.3f}, {sum(p.numel() for p in params)} trainable parameters",
          file=sys.stderr)
    t0, c0 = time.perf_counter(), time.process_time()
    for _ in range(args.steps):
        step()
    dt, cpu = time.perf_counter() - t0, time.process_time() - c0
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"pytorch_sft_tok_s={args.seq * args.steps / dt:.1f}")
    print(f"pytorch_sft_step_s={dt / args.steps:.2f}")
    print(f"pytorch_sft_cpu_s={cpu / args.steps:.2f}")
    print(f"pytorch_sft_peak_rss_mb={rss_mb:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
