"""Shared data / init / ordering helpers so that numpy, Keras and PyTorch runs
train the *same* Elman char-RNN from the *same* initial weights on the *same*
sequence of names.

Model (one name = one sequence, column-vector notation):
    x_0 = 0 (zero vector),  x_t = onehot(name[t-1]) for t >= 1
    a_t = tanh(W_aa a_{t-1} + W_ax x_t + b_a),   a_{-1} = 0
    y_t = softmax(W_ya a_t + b_y)
    targets: name[0], name[1], ..., name[-1], '\n'
Loss per name: SUM over its characters of the cross-entropy (nats)
(Coursera "Dinosaurus Island" convention).  For mini-batches the per-name
sums are averaged over the names in the batch, so the per-name step size
does not depend on the batch size.
"""
import os
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
# The repository's names, the file `rnn-train bench` trains on (RNN_COMPARE_DATA overrides).
DATA = os.environ.get("RNN_COMPARE_DATA",
                      os.path.join(HERE, "..", "..", "data", "dinosaurs.txt"))


def load_data(path=DATA):
    text = open(path).read()
    names = [l.strip().lower() for l in text.split("\n") if l.strip()]
    chars = sorted(set(text))
    assert chars[0] == "\n" and len(chars) == 27, (len(chars), chars)
    char_to_ix = {c: i for i, c in enumerate(chars)}
    # per name: integer targets (name chars then '\n'); inputs are implied
    seqs = [np.array([char_to_ix[c] for c in n] + [char_to_ix["\n"]], dtype=np.int64)
            for n in names]
    return names, chars, char_to_ix, seqs


def n_target_chars(seqs):
    return int(sum(len(s) for s in seqs))


def init_params(n_a, n_x=27, seed=0, scale=0.01, dtype=np.float64, scheme="normal"):
    """Coursera-style init: N(0,1)*0.01 weights, zero biases; or, with
    scheme="uniform", rnn-train's scheme: weights uniform in +-1/sqrt(n_a), zero
    biases (the same distribution, not the same draws). Shapes are the
    column-vector ones (W_ax: n_a x n_x, W_aa: n_a x n_a, W_ya: n_y x n_a)."""
    rng = np.random.default_rng(seed)
    if scheme == "uniform":
        limit = 1.0 / np.sqrt(n_a)
        draw = lambda shape: rng.uniform(-limit, limit, shape)
    else:
        draw = lambda shape: rng.standard_normal(shape) * scale
    p = {
        "Wax": draw((n_a, n_x)),
        "Waa": draw((n_a, n_a)),
        "Wya": draw((n_x, n_a)),
        "b": np.zeros(n_a),
        "by": np.zeros(n_x),
    }
    return {k: v.astype(dtype) for k, v in p.items()}


def epoch_orders(n, epochs, seed=0):
    """Deterministic per-epoch permutations of the names (shared by all tools)."""
    rng = np.random.default_rng(seed + 12345)
    return [rng.permutation(n) for _ in range(epochs)]


def batches(order, bs):
    return [order[i:i + bs] for i in range(0, len(order), bs)]


def pad_batch(seqs, idx, n_x=27, dtype=np.float32):
    """Post-padded one-hot inputs X (B,T,n_x) and targets Y (B,T,n_x).
    Padded target rows are all-zero, so categorical cross-entropy there is 0
    (and padding is after the real steps, so it never influences them)."""
    T = max(len(seqs[i]) for i in idx)
    B = len(idx)
    X = np.zeros((B, T, n_x), dtype=dtype)
    Y = np.zeros((B, T, n_x), dtype=dtype)
    for b, i in enumerate(idx):
        s = seqs[i]
        L = len(s)
        Y[b, np.arange(L), s] = 1.0
        X[b, np.arange(1, L), s[:-1]] = 1.0   # x_0 = 0
    return X, Y


def median(xs):
    xs = sorted(xs)
    n = len(xs)
    return xs[n // 2] if n % 2 else 0.5 * (xs[n // 2 - 1] + xs[n // 2])


def timeit_per_call(fn, n, warmup=200):
    for _ in range(warmup):
        fn()
    t0 = time.perf_counter()
    for _ in range(n):
        fn()
    return (time.perf_counter() - t0) / n
