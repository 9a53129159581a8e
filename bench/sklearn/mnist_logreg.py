#!/usr/bin/env python3
"""scikit-learn side of the softmax-regression comparison of xent lab.

Multinomial logistic regression (lbfgs, default settings) on MNIST read
from xent's embedded idx files, pixels scaled to [0, 1], one thread:

  OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 /usr/bin/python3 bench/sklearn/mnist_logreg.py
"""
import gzip
import json
import os
import time
import warnings

import numpy as np
from sklearn.linear_model import LogisticRegression

here = os.path.join(os.path.dirname(__file__), "..", "..", "data", "mnist")


def idx(name, offset):
    with gzip.open(os.path.join(here, name)) as f:
        return np.frombuffer(f.read(), dtype=np.uint8, offset=offset)


x_train = idx("train-images-idx3-ubyte.gz", 16).reshape(-1, 784).astype(np.float64) / 255
y_train = idx("train-labels-idx1-ubyte.gz", 8)
x_test = idx("t10k-images-idx3-ubyte.gz", 16).reshape(-1, 784).astype(np.float64) / 255
y_test = idx("t10k-labels-idx1-ubyte.gz", 8)

warnings.simplefilter("ignore")
t0 = time.perf_counter()
clf = LogisticRegression(max_iter=100).fit(x_train, y_train)
secs = time.perf_counter() - t0
acc = float((clf.predict(x_test) == y_test).mean())
print(json.dumps({"impl": "scikit-learn LogisticRegression(lbfgs, max_iter=100)", "seconds": secs, "test_accuracy": acc, "iterations": int(clf.n_iter_[0])}))
