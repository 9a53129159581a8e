#!/usr/bin/env python3
"""PyTorch side of xent's comparisons, run at its best settings.

Usage (Debian's python3-torch, from /usr/bin/python3):
  OMP_NUM_THREADS=T OPENBLAS_NUM_THREADS=T python3 bench/pytorch/bench.py OP --rows R --cols C --threads T
  OP: softmax | logsoftmax | lse | ce | head (head: --tokens N --dim D --vocab V)
      | ctc (--frames T --batch N --classes C --target S: F.ctc_loss on
        F.log_softmax(x, 2), mean, forward + backward to the logits)
      | topp (--rows R --vocab V --p P --kind peaked|flat: the sort-and-cumsum
        top-p filter of Hugging Face's TopPLogitsWarper, then softmax and
        torch.multinomial; seconds per token)
      attention (--batch B --heads H --queries S --keys T --head-dim d [--causal] [--backward] [--autograd])

Outputs are preallocated (out=) where PyTorch allows it, the same inputs
are reused, there is one warm-up call, and the median of --reps calls is
printed as one JSON object.
"""
import argparse
import json
import statistics
import time

import torch


def timed(fn, reps):
    fn()
    ts = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t0)
    return statistics.median(ts)


def timed_min(fn, reps):
    """The median and the fastest of reps calls after a warm-up."""
    fn()
    ts = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t0)
    return statistics.median(ts), min(ts)


def attention(a):
    """Materialized softmax(Q·Kᵀ·scale)·V (Debian's PyTorch 1.13 has no
    fused CPU attention), forward or backward. Default: every buffer
    preallocated, products by baddbmm/bmm with out=, the softmax in place
    (PyTorch's fastest form here: a fresh 128 MiB score tensor costs more
    than the softmax itself); --autograd: the plain autograd code a user
    writes. The causal mask is aligned to the end of the keys."""
    B, H, S, d = 1 if a.batch is None else a.batch, a.heads, a.queries, a.head_dim
    T = a.keys or S
    scale = d ** -0.5
    q, k, v = torch.randn(B * H, S, d), torch.randn(B * H, T, d), torch.randn(B * H, T, d)
    mask = torch.ones(S, T, dtype=torch.bool).tril(T - S)
    bias = torch.zeros(S, T).masked_fill(~mask, float("-inf"))
    res = dict(batch=B, heads=H, queries=S, keys=T, dim=d, causal=a.causal, backward=a.backward, autograd=a.autograd)
    pairs = float(mask.sum()) if a.causal else float(S * T)
    flops = (10 if a.backward else 4) * d * pairs * B * H
    if a.autograd:
        qg, kg, vg = (x.clone().requires_grad_(True) for x in (q, k, v))
        do = torch.randn(B * H, S, d)

        def step():
            s = qg @ kg.transpose(1, 2) * scale
            if a.causal:
                s = s + bias
            o = torch.softmax(s, -1) @ vg
            if a.backward:
                qg.grad = kg.grad = vg.grad = None
                o.backward(do)

        if not a.backward:
            with torch.no_grad():
                sec, fast = timed_min(step, a.reps)
        else:
            sec, fast = timed_min(step, a.reps)
        res.update(seconds=sec, seconds_min=fast, gflops=flops / sec / 1e9)
        return res
    p = torch.empty(B * H, S, T)
    o = torch.empty(B * H, S, d)

    def fwd():
        torch.baddbmm(p, q, k.transpose(1, 2), beta=0, alpha=scale, out=p)
        if a.causal:
            p.add_(bias)
        torch.softmax(p, -1, out=p)
        torch.bmm(p, v, out=o)

    if not a.backward:
        with torch.no_grad():
            sec, fast = timed_min(fwd, a.reps)
        res.update(seconds=sec, seconds_min=fast, gflops=flops / sec / 1e9)
        return res
    with torch.no_grad():
        fwd()
        do = torch.randn(B * H, S, d)
        dp = torch.empty(B * H, S, T)
        dq, dk, dv = torch.empty_like(q), torch.empty_like(k), torch.empty_like(v)
        rowsum = torch.empty(B * H, S, 1)

        def bwd():
            torch.bmm(p.transpose(1, 2), do, out=dv)
            torch.bmm(do, v.transpose(1, 2), out=dp)
            torch.sum(do * o, -1, keepdim=True, out=rowsum)  # Σ_j P·dP, as FlashAttention computes it
            dp.sub_(rowsum).mul_(p)
            torch.baddbmm(dq, dp, k, beta=0, alpha=scale, out=dq)
            torch.baddbmm(dk, dp.transpose(1, 2), q, beta=0, alpha=scale, out=dk)

        sec, fast = timed_min(bwd, a.reps)
    res.update(seconds=sec, seconds_min=fast, gflops=flops / sec / 1e9)
    return res


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("op")
    ap.add_argument("--rows", type=int, default=4096)
    ap.add_argument("--cols", type=int, default=32768)
    ap.add_argument("--tokens", type=int, default=4096)
    ap.add_argument("--dim", type=int, default=1024)
    ap.add_argument("--vocab", type=int, default=32768)
    ap.add_argument("--frames", type=int, default=500)
    ap.add_argument("--batch", type=int, default=None, help="ctc: 32, attention: 1 unless given")
    ap.add_argument("--classes", type=int, default=5000)
    ap.add_argument("--target", type=int, default=100)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--p", type=float, default=0.95)
    ap.add_argument("--kind", default="peaked")
    ap.add_argument("--heads", type=int, default=8)
    ap.add_argument("--queries", type=int, default=2048)
    ap.add_argument("--keys", type=int, default=0)
    ap.add_argument("--head-dim", type=int, default=128)
    ap.add_argument("--causal", action="store_true")
    ap.add_argument("--backward", action="store_true")
    ap.add_argument("--autograd", action="store_true")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    res = {"op": a.op, "threads": a.threads, "impl": "pytorch " + torch.__version__}
    if a.op in ("softmax", "logsoftmax", "lse", "ce"):
        x = torch.randn(a.rows, a.cols) * 3
        res.update(rows=a.rows, cols=a.cols)
        if a.op == "softmax":
            out = torch.empty_like(x)
            s = timed(lambda: torch.softmax(x, 1, out=out), a.reps)
            nbytes = 8 * x.numel()
        elif a.op == "logsoftmax":
            out = torch.empty_like(x)
            s = timed(lambda: torch.log_softmax(x, 1, out=out), a.reps)
            nbytes = 8 * x.numel()
        elif a.op == "lse":
            out = torch.empty(a.rows)
            s = timed(lambda: torch.logsumexp(x, 1, out=out), a.reps)
            nbytes = 4 * (x.numel() + a.rows)
        else:
            y = torch.randint(0, a.cols, (a.rows,))
            xg = x.clone().requires_grad_(True)

            def ce():
                xg.grad = None
                torch.nn.functional.cross_entropy(xg, y).backward()

            s = timed(ce, a.reps)
            nbytes = 8 * x.numel()
        res.update(seconds=s, gbps=nbytes / s / 1e9)
    elif a.op == "head":
        n, d, v = a.tokens, a.dim, a.vocab
        h = torch.randn(n, d).requires_grad_(True)
        w = (torch.randn(v, d) / d ** 0.5).requires_grad_(True)
        y = torch.randint(0, v, (n,))

        def head():
            h.grad = None
            w.grad = None
            torch.nn.functional.cross_entropy(h @ w.T, y).backward()

        s = timed(head, a.reps)
        res.update(tokens=n, dim=d, vocab=v, seconds=s, gflops=6 * n * d * v / s / 1e9)
    elif a.op == "ctc":
        t, n, c, s = a.frames, 32 if a.batch is None else a.batch, a.classes, a.target
        x = (torch.randn(t, n, c) * 3).requires_grad_(True)
        y = torch.randint(1, c, (n, s))
        il = torch.full((n,), t, dtype=torch.long)
        tl = torch.full((n,), s, dtype=torch.long)
        fn = torch.nn.functional

        def ctc():
            x.grad = None
            fn.ctc_loss(fn.log_softmax(x, 2), y, il, tl).backward()

        s_ = timed(ctc, a.reps)
        res.update(frames=t, batch=n, classes=c, target=s, seconds=s_)
    elif a.op == "gemm":
        n, d, v = a.tokens, a.dim, a.vocab
        x = torch.randn(n, d)
        w = torch.randn(d, v)
        out = torch.empty(n, v)
        s = timed(lambda: torch.matmul(x, w, out=out), a.reps)
        res.update(m=n, k=d, n=v, seconds=s, gflops=2 * n * d * v / s / 1e9)
    elif a.op == "topp":
        r, v = a.rows, a.vocab
        if a.kind == "flat":
            x = torch.randn(r, v) * 3
        else:
            x = torch.randn(r, v) * 2
            for i in range(r):
                idx = torch.randint(0, v, (32,))
                x[i, idx] += 8 + 6 * torch.rand(32)

        def warp(scores):
            # The recipe: sort ascending, softmax of the sorted logits,
            # running sum; drop the tokens whose running sum stays at or
            # below 1 - p (keeping the most probable one), scattered back
            # to vocabulary order as a -inf mask.
            srt, order = torch.sort(scores, descending=False)
            cum = srt.softmax(dim=-1).cumsum(dim=-1)
            drop = cum <= (1 - a.p)
            drop[:, -1:] = False
            mask = drop.scatter(1, order, drop)
            return scores.masked_fill(mask, float("-inf"))

        def warp_and_draw():
            probs = torch.softmax(warp(x), dim=-1)
            return torch.multinomial(probs, 1)

        s1 = timed(lambda: warp(x), a.reps)
        s2 = timed(warp_and_draw, a.reps)
        res.update(rows=r, vocab=v, p=a.p, kind=a.kind, warp_seconds_per_token=s1 / r,
                   warp_and_draw_seconds_per_token=s2 / r)
    elif a.op == "attention":
        res.update(attention(a))
    else:
        raise SystemExit("unknown op " + a.op)
    print(json.dumps(res))


if __name__ == "__main__":
    main()
