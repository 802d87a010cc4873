"""Training throughput: the same MLP, same batch, same starting point, in toynet and in PyTorch (CPU).

toynet: `Network.train` (full-batch gradient descent) and the bare forward + backward + update loop.
PyTorch: F.linear layers, ReLU, BCE-with-logits (the same cost), loss.backward(), p -= lr * p.grad.
Both at float64 and float32; examples per second = m * iterations / wall time (median of repeats).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from benchmarks.common import Section, have, single_thread, time_interleaved
from benchmarks.models import TorchMLP
from toynet.datasets import moons
from toynet.network import Network

# (label, layer sizes, batch m, iterations per timed run)
CONFIGS: list[tuple[str, list[int], int, int]] = [
    ("2-64-64-1, moons, m=128", [2, 64, 64, 1], 128, 300),
    ("2-64-64-1, moons, m=1024", [2, 64, 64, 1], 1024, 100),
    ("784-128-64-1, random, m=128", [784, 128, 64, 1], 128, 60),
    ("784-128-64-1, random, m=1024", [784, 128, 64, 1], 1024, 20),
]
SMALL = {CONFIGS[0][0], CONFIGS[1][0]}  # framework overhead dominates: the > 1x target
LEARNING_RATE = 0.05


def data(sizes: list[int], m: int, dtype: Any) -> tuple[np.ndarray, np.ndarray]:
    """X (n_x, m), Y (1, m) in `dtype`: moons for 2 inputs, N(0, 1) inputs with random labels otherwise."""
    if sizes[0] == 2:
        X, Y = moons(m=m, seed=0)
    else:
        rng = np.random.default_rng(0)
        X, Y = rng.standard_normal((sizes[0], m)), (rng.random((1, m)) > 0.5)
    return X.astype(dtype), np.asarray(Y).reshape(1, -1).astype(dtype)


def toynet_manual(net: Network, X: np.ndarray, Y: np.ndarray, parameters: dict[str, np.ndarray], iters: int) -> None:
    """forward + backward + update, the loop a student writes."""
    current = {k: v.copy() for k, v in parameters.items()}
    for _ in range(iters):
        _, caches = net.forward(X, Y, current)
        grads = net.backward(caches)
        for name in current:
            current[name] -= LEARNING_RATE * grads["d" + name]


def dtype_report(net: Network, X: np.ndarray, Y: np.ndarray, parameters: dict[str, np.ndarray]) -> list[str]:
    """Every array in the forward caches, the gradients and the trained parameters whose dtype differs from X's."""
    _, caches = net.forward(X, Y, parameters)
    arrays: dict[str, np.ndarray] = {"A_L": caches.cost.A}
    for layer, (linear, activation) in enumerate(caches.layers, start=1):
        arrays[f"A_prev{layer}"], arrays[f"cache{layer}"] = linear.A_prev, activation
    arrays.update(net.backward(caches))
    trained = net.train(X, Y, parameters, learning_rate=LEARNING_RATE, num_iterations=1, progress=False)
    arrays.update({f"trained {k}": v for k, v in trained.parameters.items()})
    return [f"{name}: {a.dtype}" for name, a in arrays.items() if a.dtype != X.dtype]


def run(section: Section, quick: bool = False) -> None:
    if not have("torch"):
        section.text("PyTorch is not installed (`pip install -e '.[bench]'`): training throughput skipped.")
        return
    import torch

    section.text(
        "Full-batch gradient descent, identical starting parameters (toynet's He init copied into PyTorch), "
        "identical batch; PyTorch feeds the batch row-major (m, n_x) as it prefers. The three sides run in turn "
        "(interleaved), 7 timed runs each after a warm-up, medians; examples/s = m x iterations / wall time. "
        "Both libraries use the same thread count (numpy's OpenBLAS count; torch.set_num_threads to match); the "
        "last column repeats the comparison with both pinned to 1 thread (5 interleaved runs), which a busy "
        "shared machine disturbs less. Ratio = toynet Network.train / PyTorch (> 1: toynet faster)."
    )
    rows, worst_small, worst_all, upcasts = [], np.inf, np.inf, []
    for label, sizes, m, iters in CONFIGS:
        iters = max(2, iters // 10) if quick else iters
        for dtype, torch_dtype in ((np.float64, torch.float64), (np.float32, torch.float32)):
            X, Y = data(sizes, m, dtype)
            net = Network(sizes)
            params = {k: v.astype(dtype) for k, v in net.initialize_parameters(seed=0).items()}
            upcasts += [f"{label} {np.dtype(dtype).name}: {u}" for u in dtype_report(net, X, Y, params)]
            Xt, yt = torch.from_numpy(np.ascontiguousarray(X.T)), torch.from_numpy(Y.reshape(-1).copy())

            def run_torch(
                Xt: Any = Xt, yt: Any = yt, params: Any = params, td: Any = torch_dtype, iters: int = iters
            ) -> None:
                TorchMLP(params, td).train(Xt, yt, LEARNING_RATE, iters)

            def run_train(net: Network = net, X: Any = X, Y: Any = Y, params: Any = params, iters: int = iters) -> None:
                net.train(X, Y, params, learning_rate=LEARNING_RATE, num_iterations=iters, progress=False)

            def run_manual(
                net: Network = net, X: Any = X, Y: Any = Y, params: Any = params, iters: int = iters
            ) -> None:
                toynet_manual(net, X, Y, params, iters)

            timings = time_interleaved(
                {"train": run_train, "manual": run_manual, "torch": run_torch}, repeats=3 if quick else 7
            )
            with single_thread():
                single = time_interleaved({"train": run_train, "torch": run_torch}, repeats=3 if quick else 5)
            t_train, t_manual, t_torch = (timings[k].median for k in ("train", "manual", "torch"))
            ratio_1 = single["torch"].median / single["train"].median
            eps = [m * iters / t for t in (t_train, t_manual, t_torch)]
            ratio = t_torch / t_train
            worst_all = min(worst_all, ratio)
            if label in SMALL:
                worst_small = min(worst_small, ratio)
            rows.append(
                [label, np.dtype(dtype).name] + [f"{e:,.0f}" for e in eps] + [f"{ratio:.2f}x", f"{ratio_1:.2f}x"]
            )
    section.table(
        ["network, data", "dtype", "toynet Network.train ex/s", "toynet fwd+bwd+update ex/s", "PyTorch ex/s",
         "ratio (train / PyTorch)", "ratio, both on 1 thread"],
        rows,
    )
    section.text(
        "float32: every cache, gradient and trained parameter stays float32 when X and Y are float32."
        if not upcasts
        else "float32 upcasts found: " + "; ".join(upcasts)
    )
    section.target(
        "toynet >= 0.8x PyTorch at every size (worst ratio, same threads)", f"{worst_all:.2f}x", worst_all >= 0.8
    )
    section.target("toynet > 1x PyTorch on the small 2-64-64-1 network (worst)", f"{worst_small:.2f}x", worst_small > 1)
