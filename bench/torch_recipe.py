#!/usr/bin/python3
"""PyTorch reference for the recipe headline (scripts/recipe.sh): nanoGPT's shakespeare-char CPU
recipe, written out as nanoGPT's train.py runs it, so gptc's wall time and val loss can be
measured against it in the same run.

  /usr/bin/python3 bench/torch_recipe.py --data tinyshakespeare.txt --out-dir out/recipe-torch

Recipe (nanoGPT README, "I only have a macbook"): n_layer 4, n_head 4, n_embd 128,
block_size 64, batch_size 12, bias False, dropout 0, lr 1e-3 cosine to 1e-4 over 2000
iterations with 100 warmup, AdamW betas (0.9, 0.99), weight decay 0.1 on matrices, grad clip
1.0, eval every 250 iterations on 20 batches. Data: the characters of the text, the first 90%
for training, as nanoGPT's data/shakespeare_char/prepare.py. Writes DIR/metrics.jsonl in
gptc's format, so scripts/plot_loss.py overlays both runs.
"""
import argparse
import json
import math
import os
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


class LayerNorm(nn.Module):  # nanoGPT's: LayerNorm with an optional bias
    def __init__(self, c, bias):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(c))
        self.bias = nn.Parameter(torch.zeros(c)) if bias else None

    def forward(self, x):
        return F.layer_norm(x, self.weight.shape, self.weight, self.bias, 1e-5)


class Block(nn.Module):
    def __init__(self, n_head, c, bias):
        super().__init__()
        self.n_head = n_head
        self.ln_1, self.ln_2 = LayerNorm(c, bias), LayerNorm(c, bias)
        self.c_attn, self.attn_proj = nn.Linear(c, 3 * c, bias=bias), nn.Linear(c, c, bias=bias)
        self.c_fc, self.mlp_proj = nn.Linear(c, 4 * c, bias=bias), nn.Linear(4 * c, c, bias=bias)

    def forward(self, x):
        B, T, C = x.shape
        q, k, v = self.c_attn(self.ln_1(x)).split(C, dim=2)
        heads = lambda t: t.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)
        q, k, v = heads(q), heads(k), heads(v)
        if hasattr(F, "scaled_dot_product_attention"):  # nanoGPT's flash path (torch >= 2.0)
            y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        else:  # nanoGPT's manual path, which Debian 12's torch 1.13 takes
            att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(k.size(-1)))
            att = att.masked_fill(~torch.tril(torch.ones(T, T, dtype=torch.bool)), float("-inf"))
            y = F.softmax(att, dim=-1) @ v
        x = x + self.attn_proj(y.transpose(1, 2).contiguous().view(B, T, C))
        return x + self.mlp_proj(F.gelu(self.c_fc(self.ln_2(x))))


class Gpt(nn.Module):
    def __init__(self, vocab, n_layer, n_head, c, block, bias):
        super().__init__()
        self.wte, self.wpe = nn.Embedding(vocab, c), nn.Embedding(block, c)
        self.h = nn.ModuleList([Block(n_head, c, bias) for _ in range(n_layer)])
        self.ln_f = LayerNorm(c, bias)
        for name, p in self.named_parameters():  # nanoGPT's init
            if p.dim() >= 2:
                std = 0.02 / math.sqrt(2 * n_layer) if name.endswith("proj.weight") else 0.02
                torch.nn.init.normal_(p, 0.0, std)
            elif name.endswith("bias"):
                torch.nn.init.zeros_(p)

    def forward(self, idx, targets):
        x = self.wte(idx) + self.wpe(torch.arange(idx.shape[1]))
        for b in self.h:
            x = b(x)
        logits = self.ln_f(x) @ self.wte.weight.t()
        return F.cross_entropy(logits.view(-1, logits.size(-1)), targets.view(-1))


def lr_at(it, a):  # nanoGPT's get_lr
    if it < a.warmup:
        return a.lr * (it + 1) / (a.warmup + 1)
    if it > a.iters:
        return a.min_lr
    ratio = (it - a.warmup) / (a.iters - a.warmup)
    return a.min_lr + 0.5 * (1.0 + math.cos(math.pi * ratio)) * (a.lr - a.min_lr)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--data", required=True)
    p.add_argument("--out-dir", required=True)
    p.add_argument("--iters", type=int, default=2000)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--min-lr", type=float, default=1e-4)
    p.add_argument("--warmup", type=int, default=100)
    p.add_argument("--eval-interval", type=int, default=250)
    p.add_argument("--eval-iters", type=int, default=20)
    p.add_argument("--log-interval", type=int, default=50)
    p.add_argument("--seed", type=int, default=1337)
    p.add_argument("--final-eval-iters", type=int, default=200,
                   help="after training, the val loss over this many batches (gptc eval --batches=N)")
    p.add_argument("--threads", type=int, default=os.cpu_count(), help="torch threads (Debian's torch starts with 1)")
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    start = time.perf_counter()
    torch.manual_seed(a.seed)
    text = open(a.data, "rb").read()
    chars = sorted(set(text))
    stoi = {ch: i for i, ch in enumerate(chars)}
    data = torch.tensor([stoi[ch] for ch in text], dtype=torch.long)
    n = int(0.9 * len(data))
    splits = {"train": data[:n], "val": data[n:]}
    block, batch = 64, 12

    def get_batch(split):
        d = splits[split]
        ix = torch.randint(len(d) - block, (batch,))
        return torch.stack([d[i:i + block] for i in ix]), torch.stack([d[i + 1:i + 1 + block] for i in ix])

    model = Gpt(len(chars), 4, 4, 128, block, bias=False)
    decay = [p for p in model.parameters() if p.dim() >= 2]
    no_decay = [p for p in model.parameters() if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.1}, {"params": no_decay, "weight_decay": 0.0}],
                            lr=a.lr, betas=(0.9, 0.99))

    @torch.no_grad()
    def estimate(iters=None):
        iters = iters or a.eval_iters
        model.eval()
        out = {}
        for split in ("train", "val"):
            out[split] = sum(model(*get_batch(split)).item() for _ in range(iters)) / iters
        model.train()
        return out

    os.makedirs(a.out_dir, exist_ok=True)
    metrics = open(os.path.join(a.out_dir, "metrics.jsonl"), "w")
    val = float("nan")
    t_last = time.perf_counter()
    for it in range(1, a.iters + 1):  # step numbers as gptc counts them: 1..iters
        lr = lr_at(it - 1, a)
        for g in opt.param_groups:
            g["lr"] = lr
        x, y = get_batch("train")
        loss = model(x, y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        if it % a.log_interval == 0:
            now = time.perf_counter()
            ms = 1e3 * (now - t_last) / a.log_interval
            t_last = now
            metrics.write(json.dumps({"step": it, "loss": round(loss.item(), 6), "lr": lr, "ms_per_step": ms,
                                      "tokens_per_s": batch * block / (ms / 1e3)}) + "\n")
        if it % a.eval_interval == 0 or it == a.iters:
            e = estimate()
            val = e["val"]
            metrics.write(json.dumps({"step": it, "train_loss": e["train"], "val_loss": e["val"]}) + "\n")
            print(f"step {it}: train loss {e['train']:.4f}, val loss {e['val']:.4f}", flush=True)
    metrics.close()
    wall = time.perf_counter() - start
    if a.final_eval_iters > 0:
        e = estimate(a.final_eval_iters)
        print(f"final: train loss {e['train']:.4f}, val loss {e['val']:.4f} over {a.final_eval_iters} batches")
    print(f"RESULT torch {torch.__version__} threads={torch.get_num_threads()} val_loss={val:.4f} "
          f"wall_s={wall:.1f}")


if __name__ == "__main__":
    main()
