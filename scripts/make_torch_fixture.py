#!/usr/bin/python3
"""Writes tests/testdata/gpt_tiny_torch.fix: a PyTorch reference for gptc's `tiny` GPT.

Run by developers (not CI) with Debian's torch:  /usr/bin/python3 scripts/make_torch_fixture.py
(`apt-get install python3-torch`). The model is written here to match gptc's GPT exactly
(nanoGPT's architecture: pre-LayerNorm blocks, the exact GELU (nn.GELU(), gptc's default
--gelu=erf), biases, head tied to wte). The
fixture holds, for one batch of real Tiny Shakespeare text:
  params      every parameter under gptc's name (biases and LayerNorm affine made random so a
              wrong bias path cannot hide behind zeros)
  tokens, targets, logits, loss
  grad.<name> the gradient of the loss for every parameter
  adamw.losses the losses of 10 AdamW steps on the same batch (nanoGPT's optimiser groups,
              global-norm clipping at 1.0, hyperparameters in adamw.hparams)
File format (little-endian): b"GPTCFIX1", u32 count, then per tensor: u32 name length, name,
u8 dtype (0 = f32, 1 = i32), u32 rank, i64 dims[rank], data.
"""
import math
import os
import struct
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "tests", "testdata", "gpt_tiny_torch.fix")
# The `tiny` preset (frontend/config.cc).
VOCAB, BLOCK, N_LAYER, N_HEAD, N_EMBD, BATCH = 65, 32, 2, 2, 32, 4
LR, BETA1, BETA2, EPS, WEIGHT_DECAY, CLIP, STEPS = 1e-3, 0.9, 0.99, 1e-8, 0.1, 1.0, 10


class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.ln_1 = nn.LayerNorm(N_EMBD)
        self.c_attn = nn.Linear(N_EMBD, 3 * N_EMBD)
        self.attn_proj = nn.Linear(N_EMBD, N_EMBD)
        self.ln_2 = nn.LayerNorm(N_EMBD)
        self.c_fc = nn.Linear(N_EMBD, 4 * N_EMBD)
        self.mlp_proj = nn.Linear(4 * N_EMBD, N_EMBD)

    def attn(self, x):
        B, T, C = x.shape
        q, k, v = self.c_attn(x).split(C, dim=2)
        heads = lambda t: t.view(B, T, N_HEAD, C // N_HEAD).transpose(1, 2)
        q, k, v = heads(q), heads(k), heads(v)
        att = (q @ k.transpose(-2, -1)) / math.sqrt(C // N_HEAD)
        mask = torch.tril(torch.ones(T, T, dtype=torch.bool))
        att = F.softmax(att.masked_fill(~mask, float("-inf")), dim=-1)
        y = (att @ v).transpose(1, 2).contiguous().view(B, T, C)
        return self.attn_proj(y)

    def forward(self, x):
        x = x + self.attn(self.ln_1(x))
        return x + self.mlp_proj(F.gelu(self.c_fc(self.ln_2(x))))


class Gpt(nn.Module):
    def __init__(self):
        super().__init__()
        self.wte = nn.Embedding(VOCAB, N_EMBD)
        self.wpe = nn.Embedding(BLOCK, N_EMBD)
        self.h = nn.ModuleList([Block() for _ in range(N_LAYER)])
        self.ln_f = nn.LayerNorm(N_EMBD)

    def forward(self, idx, targets):
        T = idx.shape[1]
        x = self.wte(idx) + self.wpe(torch.arange(T))
        for b in self.h:
            x = b(x)
        logits = self.ln_f(x) @ self.wte.weight.t()  # head tied to the token embedding
        return logits, F.cross_entropy(logits.view(-1, VOCAB), targets.view(-1))


def gptc_name(torch_name):
    """Maps this module's parameter names to gptc's (frontend/nn/*.cc)."""
    n = torch_name.replace(".attn_proj.", ".attn.c_proj.").replace(".c_attn.", ".attn.c_attn.")
    n = n.replace(".c_fc.", ".mlp.c_fc.").replace(".mlp_proj.", ".mlp.c_proj.")
    n = n.replace(".weight", ".w").replace(".bias", ".b")
    return {"wte.w": "wte", "wpe.w": "wpe"}.get(n, n)


def init(model):
    g = torch.Generator().manual_seed(1234)
    for name, p in model.named_parameters():
        with torch.no_grad():
            if name.endswith("weight") and p.dim() == 2:
                std = 0.02 / math.sqrt(2 * N_LAYER) if "proj" in name else 0.02
                p.copy_(torch.randn(p.shape, generator=g) * std)
            elif name.endswith("weight"):  # LayerNorm gain: around one, not exactly one
                p.copy_(1.0 + 0.1 * torch.randn(p.shape, generator=g))
            else:  # biases: small but non-zero
                p.copy_(0.05 * torch.randn(p.shape, generator=g))


def load_batch():
    for path in (os.path.join(ROOT, "data", "tinyshakespeare.txt"),
                 os.path.join(ROOT, "..", "shared", "data", "tinyshakespeare.txt")):
        if os.path.exists(path):
            text = open(path, "rb").read()
            break
    else:
        sys.exit("tinyshakespeare.txt not found; run scripts/setup.sh first")
    vocab = sorted(set(text))
    assert len(vocab) == VOCAB, len(vocab)
    stoi = {c: i for i, c in enumerate(vocab)}
    data = torch.tensor([stoi[c] for c in text], dtype=torch.long)
    val = data[int(0.9 * len(data)):]
    starts = torch.randint(len(val) - BLOCK, (BATCH,), generator=torch.Generator().manual_seed(7))
    x = torch.stack([val[s:s + BLOCK] for s in starts])
    y = torch.stack([val[s + 1:s + 1 + BLOCK] for s in starts])
    return x, y


def write(path, tensors):
    with open(path, "wb") as f:
        f.write(b"GPTCFIX1")
        f.write(struct.pack("<I", len(tensors)))
        for name, t in tensors:
            t = t.detach().contiguous()
            is_int = not t.is_floating_point()
            raw = name.encode()
            f.write(struct.pack("<I", len(raw)) + raw)
            f.write(struct.pack("<BI", 1 if is_int else 0, t.dim()))
            f.write(struct.pack(f"<{t.dim()}q", *t.shape))
            f.write((t.to(torch.int32) if is_int else t.to(torch.float32)).numpy().tobytes())


def adamw_steps(model, loss):
    """STEPS AdamW steps with nanoGPT's optimiser groups (weight decay on tensors of rank >= 2
    only) and global-norm clipping; `loss()` is the loss of the fixed batch. Returns the
    fixture's adamw.losses and adamw.hparams."""
    decay = [p for p in model.parameters() if p.dim() >= 2]
    no_decay = [p for p in model.parameters() if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": WEIGHT_DECAY},
                             {"params": no_decay, "weight_decay": 0.0}],
                            lr=LR, betas=(BETA1, BETA2), eps=EPS)
    losses = []
    for _ in range(STEPS):
        opt.zero_grad(set_to_none=True)
        step_loss = loss()
        losses.append(step_loss.item())
        step_loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), CLIP)
        opt.step()
    return [("adamw.losses", torch.tensor(losses)),
            ("adamw.hparams", torch.tensor([LR, BETA1, BETA2, EPS, WEIGHT_DECAY, CLIP]))]


def main():
    torch.set_num_threads(1)
    model = Gpt()
    init(model)
    x, y = load_batch()
    tensors = [(gptc_name(n), p.detach().clone()) for n, p in model.named_parameters()]
    tensors += [("tokens", x), ("targets", y)]
    logits, loss = model(x, y)
    finish(OUT, model, gptc_name, tensors, logits, loss, lambda: model(x, y)[1])


def finish(out, model, name_of, tensors, logits, loss, step_loss):
    """Adds the logits, the loss, every parameter's gradient (under gptc's name, name_of) and
    the AdamW steps' losses (step_loss() is the batch's loss) to `tensors`, and writes them."""
    loss.backward()
    tensors += [("logits", logits), ("loss", loss.reshape([]))]
    tensors += [("grad." + name_of(n), p.grad.clone()) for n, p in model.named_parameters()]
    tensors += adamw_steps(model, step_loss)
    write(out, tensors)
    losses = tensors[-2][1]
    print(f"wrote {out} ({os.path.getsize(out)} bytes); loss {loss.item():.6f}; "
          f"AdamW losses {losses[0]:.4f} -> {losses[-1]:.4f}")


if __name__ == "__main__":
    main()
