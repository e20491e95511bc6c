#!/usr/bin/env python3
"""Loads a `gptc export` of a llama model (DIR/model.safetensors and DIR/config.json, Hugging
Face's layout) into PyTorch and checks its logits against gptc's.

  build/tools/gptc export --out-dir=out --to=/tmp/hf/model.safetensors
  build/tools/gptc eval --out-dir=out --batches=1 --dump-logits=/tmp/logits.json
  python3 scripts/check_hf_llama.py /tmp/hf /tmp/logits.json [--require-transformers]

With Hugging Face transformers installed the folder is loaded by
LlamaForCausalLM.from_pretrained(DIR), as a user would load it. Without it, by the Llama
written out below: Hugging Face's modeling_llama arithmetic (RMSNorm in float32, rotate-half
rotary embeddings, repeat_kv for grouped-query attention, SwiGLU MLP), with its module and
parameter names, loaded with load_state_dict(strict=True); --require-transformers makes that
an error instead. Exits non-zero when a key or shape differs or the logits differ by more
than 1e-5 (relative to the largest). Needs PyTorch (Debian's python3-torch will do).
"""
import json
import math
import os
import sys

import torch
import torch.nn as nn
from torch.nn import functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from check_nanogpt_load import compare_with_gptc, read_safetensors  # noqa: E402


class RMSNorm(nn.Module):
    def __init__(self, n, eps):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(n))
        self.eps = eps

    def forward(self, x):
        var = x.pow(2).mean(-1, keepdim=True)
        return self.weight * (x * torch.rsqrt(var + self.eps))


def rotate_half(x):
    x1, x2 = x[..., : x.shape[-1] // 2], x[..., x.shape[-1] // 2:]
    return torch.cat((-x2, x1), dim=-1)


def repeat_kv(x, n_rep):
    b, kv, t, d = x.shape
    if n_rep == 1:
        return x
    return x[:, :, None, :, :].expand(b, kv, n_rep, t, d).reshape(b, kv * n_rep, t, d)


class Attention(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.h, self.kv, self.d = c["num_attention_heads"], c["num_key_value_heads"], c["head_dim"]
        n = c["hidden_size"]
        self.q_proj = nn.Linear(n, self.h * self.d, bias=False)
        self.k_proj = nn.Linear(n, self.kv * self.d, bias=False)
        self.v_proj = nn.Linear(n, self.kv * self.d, bias=False)
        self.o_proj = nn.Linear(self.h * self.d, n, bias=False)

    def forward(self, x, cos, sin):
        b, t, _ = x.shape
        q = self.q_proj(x).view(b, t, self.h, self.d).transpose(1, 2)
        k = self.k_proj(x).view(b, t, self.kv, self.d).transpose(1, 2)
        v = self.v_proj(x).view(b, t, self.kv, self.d).transpose(1, 2)
        q, k = q * cos + rotate_half(q) * sin, k * cos + rotate_half(k) * sin
        k, v = repeat_kv(k, self.h // self.kv), repeat_kv(v, self.h // self.kv)
        att = (q @ k.transpose(-2, -1)) / math.sqrt(self.d)
        att = att.masked_fill(torch.triu(torch.ones(t, t, dtype=torch.bool), 1), float("-inf"))
        y = F.softmax(att, dim=-1) @ v
        return self.o_proj(y.transpose(1, 2).reshape(b, t, self.h * self.d))


class Mlp(nn.Module):
    def __init__(self, c):
        super().__init__()
        n, f = c["hidden_size"], c["intermediate_size"]
        self.gate_proj = nn.Linear(n, f, bias=False)
        self.up_proj = nn.Linear(n, f, bias=False)
        self.down_proj = nn.Linear(f, n, bias=False)

    def forward(self, x):
        return self.down_proj(F.silu(self.gate_proj(x)) * self.up_proj(x))


class Layer(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.input_layernorm = RMSNorm(c["hidden_size"], c["rms_norm_eps"])
        self.self_attn = Attention(c)
        self.post_attention_layernorm = RMSNorm(c["hidden_size"], c["rms_norm_eps"])
        self.mlp = Mlp(c)

    def forward(self, x, cos, sin):
        x = x + self.self_attn(self.input_layernorm(x), cos, sin)
        return x + self.mlp(self.post_attention_layernorm(x))


class Inner(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.embed_tokens = nn.Embedding(c["vocab_size"], c["hidden_size"])
        self.layers = nn.ModuleList([Layer(c) for _ in range(c["num_hidden_layers"])])
        self.norm = RMSNorm(c["hidden_size"], c["rms_norm_eps"])


class Llama(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.c = c
        self.model = Inner(c)
        self.lm_head = nn.Linear(c["hidden_size"], c["vocab_size"], bias=False)
        if c.get("tie_word_embeddings"):
            self.lm_head.weight = self.model.embed_tokens.weight

    def forward(self, idx):
        d, t = self.c["head_dim"], idx.shape[1]
        # In float64, then the model's dtype (Hugging Face computes these in float32).
        inv_freq = 1.0 / (self.c["rope_theta"] ** (torch.arange(0, d, 2, dtype=torch.float64) / d))
        freqs = torch.outer(torch.arange(t, dtype=torch.float64), inv_freq)
        emb = torch.cat((freqs, freqs), dim=-1)
        dtype = self.model.embed_tokens.weight.dtype
        cos, sin = emb.cos().to(dtype), emb.sin().to(dtype)
        x = self.model.embed_tokens(idx)
        for layer in self.model.layers:
            x = layer(x, cos, sin)
        return self.lm_head(self.model.norm(x))


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    require = "--require-transformers" in sys.argv
    if len(args) != 2:
        sys.exit(__doc__)
    folder, dump_path = args
    with open(f"{folder}/config.json") as f:
        config = json.load(f)
    try:
        from transformers import LlamaForCausalLM
        model = LlamaForCausalLM.from_pretrained(folder, torch_dtype=torch.float32)
        how = "transformers' LlamaForCausalLM.from_pretrained"
    except ImportError:
        if require:
            sys.exit("transformers is not installed")
        tensors, _ = read_safetensors(f"{folder}/model.safetensors")
        model = Llama(config)
        model.load_state_dict(tensors, strict=True)  # tied: both names hold the same values
        how = "the Llama written out in this script (load_state_dict, strict)"
    compare_with_gptc(model, dump_path, f"loaded by {how}")

if __name__ == "__main__":
    main()
