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


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("op")
    ap.add_argument("--rows", type=int, default=4096)
    ap.add_argument("--cols", type=int, default=32768)
    ap.add_argument("--tokens", type=int, default=4096)
    ap.add_argument("--dim", type=int, default=1024)
    ap.add_argument("--vocab", type=int, default=32768)
    ap.add_argument("--frames", type=int, default=500)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--classes", type=int, default=5000)
    ap.add_argument("--target", type=int, default=100)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--p", type=float, default=0.95)
    ap.add_argument("--kind", default="peaked")
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
        t, n, c, s = a.frames, a.batch, a.classes, a.target
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
    else:
        raise SystemExit("unknown op " + a.op)
    print(json.dumps(res))


if __name__ == "__main__":
    main()
