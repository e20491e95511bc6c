#!/usr/bin/python3
"""Loads a `gptc export` safetensors file into nanoGPT's GPT class and checks its logits
against gptc's.

  build/tools/gptc export --out-dir=out --to=/tmp/m.safetensors
  build/tools/gptc eval --out-dir=out --batches=1 --dump-logits=/tmp/logits.json
  /usr/bin/python3 scripts/check_nanogpt_load.py /tmp/m.safetensors /tmp/logits.json

The model below is nanoGPT's model.py (GPTConfig, LayerNorm with optional bias,
CausalSelfAttention with its causal-mask buffer, MLP, Block, GPT with the head tied to wte),
written out here: the state_dict keys and layouts it has are the ones nanoGPT's checkpoints
use. The safetensors file is read with the standard library and numpy only. Exits non-zero
when a key or shape differs or the logits differ by more than 1e-5 (relative to the largest).
Needs Debian's python3-torch.
"""
import json
import math
import struct
import sys
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn as nn
from torch.nn import functional as F


@dataclass
class GPTConfig:
    block_size: int = 1024
    vocab_size: int = 50304
    n_layer: int = 12
    n_head: int = 12
    n_embd: int = 768
    dropout: float = 0.0
    bias: bool = True
    gelu: str = "tanh"  # gptc's --gelu: nanoGPT's own nn.GELU() is "erf"


class LayerNorm(nn.Module):
    def __init__(self, ndim, bias):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(ndim))
        self.bias = nn.Parameter(torch.zeros(ndim)) if bias else None

    def forward(self, x):
        return F.layer_norm(x, self.weight.shape, self.weight, self.bias, 1e-5)


class CausalSelfAttention(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.c_attn = nn.Linear(config.n_embd, 3 * config.n_embd, bias=config.bias)
        self.c_proj = nn.Linear(config.n_embd, config.n_embd, bias=config.bias)
        self.n_head, self.n_embd = config.n_head, config.n_embd
        self.register_buffer("bias", torch.tril(torch.ones(config.block_size, config.block_size))
                             .view(1, 1, config.block_size, config.block_size))

    def forward(self, x):
        B, T, C = x.size()
        q, k, v = self.c_attn(x).split(self.n_embd, dim=2)
        k = k.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)
        q = q.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)
        v = v.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)
        att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(k.size(-1)))
        att = att.masked_fill(self.bias[:, :, :T, :T] == 0, float("-inf"))
        y = F.softmax(att, dim=-1) @ v
        return self.c_proj(y.transpose(1, 2).contiguous().view(B, T, C))


class MLP(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.c_fc = nn.Linear(config.n_embd, 4 * config.n_embd, bias=config.bias)
        self.c_proj = nn.Linear(4 * config.n_embd, config.n_embd, bias=config.bias)
        self.approximate = "none" if config.gelu == "erf" else "tanh"

    def forward(self, x):
        return self.c_proj(F.gelu(self.c_fc(x), approximate=self.approximate))


class Block(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.ln_1 = LayerNorm(config.n_embd, bias=config.bias)
        self.attn = CausalSelfAttention(config)
        self.ln_2 = LayerNorm(config.n_embd, bias=config.bias)
        self.mlp = MLP(config)

    def forward(self, x):
        x = x + self.attn(self.ln_1(x))
        return x + self.mlp(self.ln_2(x))


class GPT(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.config = config
        self.transformer = nn.ModuleDict(dict(
            wte=nn.Embedding(config.vocab_size, config.n_embd),
            wpe=nn.Embedding(config.block_size, config.n_embd),
            h=nn.ModuleList([Block(config) for _ in range(config.n_layer)]),
            ln_f=LayerNorm(config.n_embd, bias=config.bias),
        ))
        self.lm_head = nn.Linear(config.n_embd, config.vocab_size, bias=False)
        self.transformer.wte.weight = self.lm_head.weight  # weight tying, as nanoGPT

    def forward(self, idx):
        pos = torch.arange(0, idx.size(1), dtype=torch.long)
        x = self.transformer.wte(idx) + self.transformer.wpe(pos)
        for block in self.transformer.h:
            x = block(x)
        return self.lm_head(self.transformer.ln_f(x))


def read_safetensors(path):
    with open(path, "rb") as f:
        blob = f.read()
    (n,) = struct.unpack("<Q", blob[:8])
    header = json.loads(blob[8:8 + n])
    meta = header.pop("__metadata__", {})
    data = blob[8 + n:]
    tensors = {}
    for name, e in header.items():
        if e["dtype"] != "F32":
            sys.exit(f"{path}: tensor {name} is {e['dtype']}, expected F32")
        b, end = e["data_offsets"]
        tensors[name] = torch.from_numpy(np.frombuffer(data[b:end], dtype="<f4").reshape(e["shape"]).copy())
    return tensors, meta


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    tensors, meta = read_safetensors(sys.argv[1])
    config = GPTConfig(block_size=int(meta["block_size"]), vocab_size=int(meta["vocab_size"]),
                       n_layer=int(meta["n_layer"]), n_head=int(meta["n_head"]), n_embd=int(meta["n_embd"]),
                       bias=meta.get("bias", "True") == "True", gelu=meta.get("gelu", "tanh"))
    model = GPT(config)
    missing, unexpected = model.load_state_dict(tensors, strict=False)
    missing = [k for k in missing if not k.endswith(".attn.bias")]  # the causal-mask buffers
    if missing or unexpected:
        sys.exit(f"load_state_dict: missing {missing}, unexpected {unexpected}")
    compare_with_gptc(model, sys.argv[2], f"nanoGPT GPT loaded {len(tensors)} tensors ({config})")


def compare_with_gptc(model, dump_path, what):
    """Runs `model` (tokens -> logits) on `gptc eval --dump-logits`'s tokens and exits non-zero
    when its logits differ from gptc's by more than 1e-5 relative to the largest."""
    with open(dump_path) as f:
        dump = json.load(f)
    tokens = torch.tensor(dump["tokens"], dtype=torch.long).view(1, -1)
    want = torch.tensor(dump["logits"], dtype=torch.float32).view(*dump["shape"])
    model.eval()
    with torch.no_grad():
        got = model(tokens)
        got = got.logits if hasattr(got, "logits") else got  # a transformers model's output
    rel = ((got - want).abs().max() / want.abs().max()).item()
    print(f"{what}; logits vs gptc: max relative difference {rel:.2e}")
    if not rel <= 1e-5:
        sys.exit("FAIL: logits differ by more than 1e-5")
    print("OK")


if __name__ == "__main__":
    main()
