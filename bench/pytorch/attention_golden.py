#!/usr/bin/env python3
"""Writes testdata/golden/attention.jsonl: reference cases for package
attention computed by PyTorch in float64 with autograd, from the plain
materialized formula (PyTorch 1.13 has no fused attention):

    s = scale·Q·Kᵀ (K, V repeated for grouped-query heads with
        repeat_interleave), soft-capped c·tanh(s/c), plus the bias;
    masked keys −inf (causal aligned to the end of the keys, window,
        key padding);
    out = softmax(s)·V, or σ(s + b)·V for the sigmoid normalizer;
    lse = logsumexp(s) (sigmoid: log Σ σ(s + b));
    dQ, dK, dV of L = Σ dOut·out.

Inputs are rounded to float32 first. Usage (from the repository root):
    /usr/bin/python3 bench/pytorch/attention_golden.py > testdata/golden/attention.jsonl
"""
import json
import math

import torch


def case(name, B, H, Hkv, S, T, d, dv, seed, causal=False, window=0, scale=None,
         softcap=0.0, bias=None, pad=False, sigmoid=False):
    g = torch.Generator().manual_seed(seed)
    r = lambda *shape: torch.randn(*shape, generator=g).float().double()
    q, k, v = r(B, H, S, d), r(B, Hkv, T, d), r(B, Hkv, T, dv)
    dout = r(B, H, S, dv)
    bias_t = None
    if bias == "st":
        bias_t = r(S, T)
    elif bias == "bhst":
        bias_t = r(B, H, S, T)
    padding = None
    if pad:
        padding = torch.rand(B, T, generator=g) < 0.3
        padding[:, -1] = False  # every query sees its last key
    q.requires_grad_(True)
    k.requires_grad_(True)
    v.requires_grad_(True)
    G = H // Hkv
    K, V = k.repeat_interleave(G, 1), v.repeat_interleave(G, 1)
    sc = scale if scale is not None else 1 / math.sqrt(d)
    s = q @ K.transpose(-1, -2) * sc
    if softcap:
        s = softcap * torch.tanh(s / softcap)
    if bias_t is not None:
        s = s + bias_t
    i = torch.arange(S).view(S, 1) + (T - S)
    j = torch.arange(T).view(1, T)
    vis = torch.ones(S, T, dtype=torch.bool)
    if causal:
        vis &= j <= i
    if window:
        vis &= (i - j) < window
        if not causal:
            vis &= (j - i) < window
    vis = vis.view(1, 1, S, T).expand(B, H, S, T)
    if padding is not None:
        vis = vis & ~padding.view(B, 1, 1, T)
    s = s.masked_fill(~vis, float("-inf"))
    if sigmoid:
        b = -math.log(T)
        a = torch.sigmoid(s + b)
        lse = torch.log(a.sum(-1))
    else:
        a = torch.softmax(s, -1)
        lse = torch.logsumexp(s, -1)
    out = a @ V
    (out * dout).sum().backward()
    params = dict(batch=B, heads=H, kv_heads=Hkv, queries=S, keys=T, dim=d, value_dim=dv,
                  causal=causal, window=window, softcap=softcap, normalizer="sigmoid" if sigmoid else "softmax")
    if scale is not None:
        params["scale"] = scale
    inputs = dict(q=q.tolist(), k=k.tolist(), v=v.tolist(), dout=dout.tolist())
    if bias_t is not None:
        inputs["bias"] = bias_t.tolist()
    if padding is not None:
        inputs["key_padding"] = padding.int().tolist()
    expect = dict(out=out.tolist(), lse=lse.tolist(), dq=q.grad.tolist(), dk=k.grad.tolist(), dv=v.grad.tolist())
    return dict(name="pt-attention-" + name, op="attention", params=params, inputs=inputs, expect=expect)


cases = [
    case("plain", 2, 2, 2, 5, 7, 4, 4, 1),
    case("gqa-dv", 1, 4, 2, 3, 6, 5, 3, 2),
    case("mqa-causal-s<t", 1, 3, 1, 4, 9, 4, 4, 3, causal=True),
    case("causal-s=t-scale", 1, 2, 2, 8, 8, 6, 6, 4, causal=True, scale=0.7),
    case("window", 1, 2, 2, 9, 9, 3, 3, 5, window=3),
    case("causal-window-padding", 2, 2, 1, 6, 10, 4, 4, 6, causal=True, window=4, pad=True),
    case("bias-softcap", 2, 2, 2, 4, 6, 4, 4, 7, bias="bhst", softcap=2.0),
    case("bias-st-causal", 1, 2, 2, 5, 5, 3, 3, 8, bias="st", causal=True),
    case("sigmoid", 1, 2, 2, 4, 7, 4, 4, 9, sigmoid=True, causal=True),
    case("sigmoid-padding", 2, 1, 1, 3, 5, 3, 2, 10, sigmoid=True, pad=True),
]
for c in cases:
    print(json.dumps(c))
