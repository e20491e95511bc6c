#!/usr/bin/python3
"""PyTorch eager reference for `gptc bench`: trains the same GPT (nanoGPT's architecture, the
model of scripts/make_torch_fixture.py) with AdamW + clipping on random token batches and
prints milliseconds per train step. One configuration per run, set by flags, so the caller
can vary OPENBLAS_CORETYPE / OPENBLAS_NUM_THREADS / torch threads in the environment.

  /usr/bin/python3 bench/torch_train_step.py --config shakespeare-cpu --threads 2 --steps 30

--precision bf16 runs the forward pass under torch.autocast('cpu', dtype=torch.bfloat16), the
way PyTorch offers mixed precision on a CPU (the counterpart of gptc's --precision=bf16).
"""
import contextlib
import argparse
import math
import resource
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

PRESETS = {  # (n_layer, n_head, n_embd, block, batch, vocab): frontend/nn/gpt_config.cc
    "tiny": (2, 2, 32, 32, 4, 65),
    "shakespeare-cpu": (4, 4, 128, 64, 12, 65),
    "baby": (6, 6, 384, 256, 8, 65),
    "gpt2": (12, 12, 768, 1024, 4, 50304),
}


class Block(nn.Module):
    def __init__(self, n_head, c):
        super().__init__()
        self.n_head = n_head
        self.ln_1, self.ln_2 = nn.LayerNorm(c), nn.LayerNorm(c)
        self.c_attn, self.attn_proj = nn.Linear(c, 3 * c), nn.Linear(c, c)
        self.c_fc, self.mlp_proj = nn.Linear(c, 4 * c), nn.Linear(4 * c, c)

    def forward(self, x):
        B, T, C = x.shape
        q, k, v = self.c_attn(self.ln_1(x)).split(C, dim=2)
        heads = lambda t: t.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)
        q, k, v = heads(q), heads(k), heads(v)
        att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(C // self.n_head))
        mask = torch.tril(torch.ones(T, T, dtype=torch.bool))
        att = F.softmax(att.masked_fill(~mask, float("-inf")), dim=-1)
        y = (att @ v).transpose(1, 2).contiguous().view(B, T, C)
        x = x + self.attn_proj(y)
        return x + self.mlp_proj(F.gelu(self.c_fc(self.ln_2(x))))


class Gpt(nn.Module):
    def __init__(self, n_layer, n_head, c, block, vocab):
        super().__init__()
        self.vocab = vocab
        self.wte, self.wpe = nn.Embedding(vocab, c), nn.Embedding(block, c)
        self.h = nn.ModuleList([Block(n_head, c) for _ in range(n_layer)])
        self.ln_f = nn.LayerNorm(c)

    def forward(self, idx, targets):
        x = self.wte(idx) + self.wpe(torch.arange(idx.shape[1]))
        for b in self.h:
            x = b(x)
        logits = self.ln_f(x) @ self.wte.weight.t()
        return F.cross_entropy(logits.view(-1, self.vocab), targets.view(-1))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--config", default="shakespeare-cpu", choices=sorted(PRESETS))
    p.add_argument("--threads", type=int, default=0, help="torch.set_num_threads (0: leave)")
    p.add_argument("--steps", type=int, default=30)
    p.add_argument("--warmup", type=int, default=5)
    p.add_argument("--precision", default="fp32", choices=["fp32", "bf16"])
    a = p.parse_args()
    if a.threads > 0:
        torch.set_num_threads(a.threads)
    n_layer, n_head, c, block, batch, vocab = PRESETS[a.config]
    torch.manual_seed(0)
    model = Gpt(n_layer, n_head, c, block, vocab)
    decay = [p for p in model.parameters() if p.dim() >= 2]
    no_decay = [p for p in model.parameters() if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.1},
                             {"params": no_decay, "weight_decay": 0.0}],
                            lr=1e-3, betas=(0.9, 0.99))
    x = torch.randint(vocab, (batch, block))
    y = torch.randint(vocab, (batch, block))
    times = []
    for i in range(a.warmup + a.steps):
        t0 = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        with (torch.autocast("cpu", dtype=torch.bfloat16) if a.precision == "bf16"
              else contextlib.nullcontext()):
            loss = model(x, y)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        if i >= a.warmup:
            times.append(time.perf_counter() - t0)
    times.sort()
    print(f"torch {torch.__version__} threads={torch.get_num_threads()} config={a.config} "
          f"precision={a.precision} median_ms={1e3 * times[len(times) // 2]:.2f} min_ms={1e3 * times[0]:.2f} "
          f"peak_rss_mib={resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f}")


if __name__ == "__main__":
    main()
