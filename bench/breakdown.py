"""Where one mlplab training step spends its time, layer by layer.

    python bench/breakdown.py W1            # 5 timed epochs after a warm-up
    python bench/breakdown.py W3 --epochs 10 --threads 1

Wraps each layer's ``forward`` and ``backward``, the fused loss and ``optimizer.step`` of the
bench trainer (``workloads.make_trainer("mlplab", ...)``) with a clock, trains whole epochs
through ``fit`` as the benchmark does, and prints microseconds per step for each piece and
what is left for the training loop itself (``training.Trainer``: batch gathers, the NaN guard's
backup, bookkeeping). The clocks cost
about 0.1 us per wrapped call, which matters only on W2. A sampling profiler
(``bench/run.py --profile``) gives the same split without the wrappers, with less detail.
"""

from __future__ import annotations

import argparse
import collections
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import workloads as wl  # noqa: E402


def _clock(obj, name, label, acc):
    f = getattr(obj, name)

    def timed(*args, **kwargs):
        t0 = time.perf_counter()
        r = f(*args, **kwargs)
        acc[label] += time.perf_counter() - t0
        return r

    setattr(obj, name, timed)


def breakdown(key: str, epochs: int = 5):
    """{piece: seconds per step} and the step time, for mlplab on workload ``key``."""
    w = wl.WORKLOADS[key]
    X, y = wl.make_data(w)
    trainer = wl.make_trainer("mlplab", w, X, y)
    trainer.epoch()  # warm-up: buffers, optimizer state, BLAS threads
    model, acc = trainer.model, collections.defaultdict(float)
    for i, layer in enumerate(model.layers):
        _clock(layer, "forward", f"{i} {type(layer).__name__} forward", acc)
    loss = model._resolve_loss(trainer.loss)
    if model._fused(loss):
        _clock(loss, "forward_logits", f"{type(loss).__name__} forward (fused)", acc)
        _clock(loss, "backward_logits", f"{type(loss).__name__} gradient (fused)", acc)
        trainer.loss = loss
    for i, layer in reversed(list(enumerate(model.layers))):
        _clock(layer, "backward", f"{i} {type(layer).__name__} backward", acc)
    _clock(trainer.opt, "step", f"{type(trainer.opt).__name__}.step", acc)
    t0 = time.perf_counter()
    for _ in range(epochs):
        trainer.epoch()
    total = time.perf_counter() - t0
    steps = epochs * -(-X.shape[0] // w.batch_size)
    per_step = {k: v / steps for k, v in acc.items()}
    per_step["training loop (Trainer: gathers, NaN guard, bookkeeping)"] = total / steps - sum(per_step.values())
    return per_step, total / steps


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("workload", choices=sorted(wl.WORKLOADS))
    ap.add_argument("--epochs", type=int, default=5)
    ap.add_argument("--threads", type=int, help="BLAS threads (default: NumPy's)")
    args = ap.parse_args(argv)
    if args.threads:
        from threadpoolctl import threadpool_limits

        threadpool_limits(args.threads, user_api="blas")
    pieces, step = breakdown(args.workload, args.epochs)
    print(f"{args.workload}: {step * 1e6:.1f} us per step")
    for k, v in pieces.items():
        print(f"  {k:48s} {v * 1e6:9.1f} us  {100 * v / step:5.1f}%")


if __name__ == "__main__":
    main()
