#!/usr/bin/env python3
"""PyTorch baseline for the lab's benchmarks, on the same MNIST files and
the same protocol (one thread, pixels in [0, 1] standardised with one
mean and deviation of the training set, Adam, batches of 128):

  softmax regression: lr 0.005, cosine schedule, 3 epochs (as
      BenchmarkSoftmaxRegression), and lr 0.001 constant, 10 epochs;
  MLP 784-256-10 (ReLU): one epoch, lr 0.001 (as BenchmarkMLPEpoch).

Times cover the training loop only (the data is decoded and standardised
first). Run from the repository root:

  OMP_NUM_THREADS=1 /usr/bin/python3 internal/lab/baseline/torch_mnist.py
"""
import gzip
import math
import os
import time

import numpy as np
import torch

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "data", "mnist")


def idx(name):
    with gzip.open(os.path.join(ROOT, name)) as f:
        b = f.read()
    dims = b[3]
    shape = [int.from_bytes(b[4 + 4 * i:8 + 4 * i], "big") for i in range(dims)]
    return np.frombuffer(b, np.uint8, offset=4 + 4 * dims).reshape(shape)


def load():
    xtr = idx("train-images-idx3-ubyte.gz").reshape(-1, 784).astype(np.float32) / 255
    ytr = idx("train-labels-idx1-ubyte.gz").astype(np.int64)
    xte = idx("t10k-images-idx3-ubyte.gz").reshape(-1, 784).astype(np.float32) / 255
    yte = idx("t10k-labels-idx1-ubyte.gz").astype(np.int64)
    m, s = xtr.mean(dtype=np.float64), xtr.std(dtype=np.float64)
    xtr, xte = (xtr - m) / s, (xte - m) / s
    return (torch.from_numpy(xtr), torch.from_numpy(ytr), torch.from_numpy(xte), torch.from_numpy(yte))


def train(model, x, y, lr, epochs, cosine, seed=1):
    torch.manual_seed(seed)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    n, bs = x.shape[0], 128
    steps = epochs * ((n + bs - 1) // bs)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda t: (1 + math.cos(math.pi * t / steps)) / 2 if cosine else 1.0)
    loss = torch.nn.CrossEntropyLoss()
    start = time.perf_counter()
    for _ in range(epochs):
        perm = torch.randperm(n)
        for i in range(0, n, bs):
            idx_ = perm[i:i + bs]
            opt.zero_grad(set_to_none=True)
            loss(model(x[idx_]), y[idx_]).backward()
            opt.step()
            sched.step()
    return time.perf_counter() - start


def accuracy(model, x, y):
    with torch.no_grad():
        return (model(x).argmax(1) == y).float().mean().item()


def main():
    torch.set_num_threads(1)
    xtr, ytr, xte, yte = load()
    for lr, epochs, cosine in [(0.005, 3, True), (0.001, 10, False)]:
        torch.manual_seed(0)
        m = torch.nn.Linear(784, 10)
        t = train(m, xtr, ytr, lr, epochs, cosine)
        print(f"softmax regression, Adam lr {lr}{' cosine' if cosine else ''}, {epochs} epochs: "
              f"{t:.2f} s, test accuracy {100 * accuracy(m, xte, yte):.2f}%")
    torch.manual_seed(0)
    m = torch.nn.Sequential(torch.nn.Linear(784, 256), torch.nn.ReLU(), torch.nn.Linear(256, 10))
    t = train(m, xtr, ytr, 0.001, 1, False)
    print(f"MLP 784-256-10, Adam lr 0.001, 1 epoch: {t:.2f} s, test accuracy {100 * accuracy(m, xte, yte):.2f}%")


if __name__ == "__main__":
    main()
