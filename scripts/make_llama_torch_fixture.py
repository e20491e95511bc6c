#!/usr/bin/python3
"""Writes tests/testdata/llama_tiny_torch.fix: a PyTorch reference for gptc's `tiny-llama`.

Run by developers (not CI) with Debian's torch:
  /usr/bin/python3 scripts/make_llama_torch_fixture.py
The model is scripts/check_hf_llama.py's Llama (Hugging Face's modeling_llama arithmetic and
names: RMSNorm, rotate-half rotary embeddings, repeat_kv grouped-query attention, SwiGLU),
run in float64 so the reference itself is exact to float32's last bits. For one batch of
real Tiny Shakespeare text the fixture holds (format as scripts/make_torch_fixture.py's):
  params      every parameter under gptc's name (norm weights made random around one)
  tokens, targets, logits, loss
  grad.<name> the gradient of the loss for every parameter
  adamw.losses the losses of 10 AdamW steps on the same batch (decay on the matrices and the
              embedding, not the norm weights; global-norm clipping at 1.0; hyperparameters in
              adamw.hparams)
"""
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from check_hf_llama import Llama  # noqa: E402
from make_torch_fixture import finish, load_batch  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "tests", "testdata", "llama_tiny_torch.fix")
# The `tiny-llama` preset (frontend/nn/llama_config.cc).
CONFIG = {"vocab_size": 65, "max_position_embeddings": 32, "num_hidden_layers": 2,
          "num_attention_heads": 4, "num_key_value_heads": 2, "hidden_size": 32, "head_dim": 8,
          "intermediate_size": 64, "rms_norm_eps": 1e-5, "rope_theta": 10000.0,
          "tie_word_embeddings": False}
# AdamW's settings are make_torch_fixture.py's (adamw_steps).


def gptc_name(hf):
    """Hugging Face's key -> gptc's parameter name (frontend/nn/llama_family.cc's inverse)."""
    n = hf[len("model."):] if hf.startswith("model.") else hf
    n = n[:-len(".weight")]
    return n if n == "embed_tokens" else n + ".w"


def main():
    torch.set_num_threads(1)
    torch.set_default_dtype(torch.float64)
    model = Llama(CONFIG)
    g = torch.Generator().manual_seed(1234)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if p.dim() == 2:
                p.copy_(torch.randn(p.shape, generator=g, dtype=torch.float64) * 0.02)
            else:  # norm weights around one, not exactly one
                p.copy_(1.0 + 0.1 * torch.randn(p.shape, generator=g, dtype=torch.float64))
    x, y = load_batch()
    tensors = [(gptc_name(n), p.detach().clone()) for n, p in model.named_parameters()]
    tensors += [("tokens", x), ("targets", y)]

    def loss_of(logits):
        return torch.nn.functional.cross_entropy(logits.view(-1, CONFIG["vocab_size"]), y.view(-1))

    logits = model(x)
    finish(OUT, model, gptc_name, tensors, logits, loss_of(logits), lambda: loss_of(model(x)))


if __name__ == "__main__":
    main()
