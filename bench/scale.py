"""Training on data several times larger than a memory budget: mlplab's ChunkSource over
memory-mapped files, and dask_ml's Incremental around mlplab's MLPClassifier (docs/scale.md).

    python bench/scale.py                          # 6M x 64 float32 (1.5 GB) against a 256 MB budget
    python bench/scale.py --rows 400000 --quick    # a smoke run (seconds)
    python bench/scale.py --dir /tmp/scale --keep  # keep the data for another run

The data: X ~ N(0, 1) (rows x features, float32), y = argmax(X W) of a fixed random W
(10 classes), written block by block (never whole in memory) by ``dask.array.to_npy_stack``:
one .npy file per block of ``--block`` rows, which ``dask.array.from_npy_stack`` and
``numpy.load(..., mmap_mode="r")`` read; and a held-out test set of 50 000 rows.

Each way trains one pass (one epoch) over all rows, mini-batches of 256, Adam lr 1e-3, a
64-32-10 ReLU network, in a child process of its own:

* ``chunks``: ``model.fit(ChunkSource(chunks, batch_size=256), None, epochs=1)``, chunks()
  yielding each block as a read-only memmap (``np.load(..., mmap_mode="r")``); rows are
  shuffled within each block;
* ``dask``: ``Incremental(MLPClassifier(...), shuffle_blocks=False).partial_fit(X, y)`` on
  ``da.from_npy_stack`` arrays (memory-mapped blocks), on a ``dask.distributed.LocalCluster``
  of one single-threaded worker in this process; each block is one ``partial_fit``, i.e. one
  epoch over the block's rows in shuffled mini-batches;
* ``dask-threads``: the same on dask's default threaded scheduler, which loads the blocks
  ahead of the chain of partial_fit calls (for the record: it does not keep to the budget).

Measured per child: wall time of the pass, test accuracy, and memory from /proc/self/status
sampled every 10 ms during the pass: the peak RSS (VmHWM, reset before the pass), the peak of
its anonymous part (RssAnon: what the process allocated) and of its file-backed part
(RssFile: pages of the memory-mapped blocks, which the kernel may drop at any time since
they are clean copies of the files). The budget is met when the peak RSS, minus the RSS before
the pass, stays under it. Other processes share this machine: absolute times are noise.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np

FEATURES, CLASSES, HIDDEN, BATCH = 64, 10, 32, 256
WAYS = ("chunks", "dask", "dask-threads")


def _status():
    out = {}
    with open("/proc/self/status") as f:
        for line in f:
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM", "RssAnon", "RssFile"):
                out[key] = int(value.split()[0]) * 1024
    return out


class _Sampler:
    """Peaks of RssAnon and RssFile, sampled every 10 ms in a thread, and VmHWM at the end."""

    def __enter__(self):
        with open("/proc/self/clear_refs", "w") as f:  # resets VmHWM to the current RSS
            f.write("5")
        self.start = _status()
        self.peak = dict(self.start)
        self.running = True
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()
        self.t0 = time.perf_counter()
        return self

    def _run(self):
        while self.running:
            for k, v in _status().items():
                self.peak[k] = max(self.peak[k], v)
            time.sleep(0.01)

    def __exit__(self, *exc):
        self.seconds = time.perf_counter() - self.t0
        self.running = False
        self.thread.join()
        end = _status()
        self.peak["VmHWM"] = end["VmHWM"]
        return False


def make(directory: Path, rows: int, block: int):
    """Write the training stack (X/, y/: dask.array.to_npy_stack, block by block) and the test set."""
    import dask.array as da

    directory.mkdir(parents=True, exist_ok=True)
    W = np.random.default_rng(0).normal(size=(FEATURES, CLASSES)).astype(np.float32)
    X = da.random.RandomState(1).standard_normal(size=(rows, FEATURES), chunks=(block, FEATURES)).astype(np.float32)
    da.to_npy_stack(directory / "X", X, axis=0)
    X = da.from_npy_stack(directory / "X")
    da.to_npy_stack(directory / "y", (X @ W).argmax(axis=1).astype(np.int64), axis=0)
    Xt = np.random.default_rng(2).standard_normal(size=(50_000, FEATURES), dtype=np.float32)
    np.save(directory / "X_test.npy", Xt)
    np.save(directory / "y_test.npy", (Xt @ W).argmax(axis=1).astype(np.int64))
    return X.numblocks[0]


def run_chunks(directory: Path):
    import mlplab as ml
    from mlplab.training import ChunkSource

    n_blocks = len(list((directory / "X").glob("*.npy")))

    def chunks():
        for i in range(n_blocks):
            yield (
                np.load(directory / "X" / f"{i}.npy", mmap_mode="r"),
                np.load(directory / "y" / f"{i}.npy", mmap_mode="r"),
            )

    model = ml.MLP([FEATURES, HIDDEN, CLASSES], activation="relu", output="softmax", seed=0)
    with _Sampler() as s:
        model.fit(ChunkSource(chunks, batch_size=BATCH), None, optimizer=ml.optim.Adam(lr=1e-3), epochs=1, verbose=0)
    acc = float((model.predict_classes(np.load(directory / "X_test.npy")) == np.load(directory / "y_test.npy")).mean())
    return s, acc


def run_dask(directory: Path, cluster=True):
    import dask
    import dask.array as da
    from dask_ml.wrappers import Incremental

    from mlplab.sklearn import MLPClassifier

    X, y = da.from_npy_stack(directory / "X"), da.from_npy_stack(directory / "y")
    est = MLPClassifier((HIDDEN,), batch_size=BATCH, random_state=0)
    inc = Incremental(est, shuffle_blocks=False)
    if cluster:  # one worker thread in this process: it loads a block when its partial_fit comes
        from dask.distributed import Client, LocalCluster

        client = Client(LocalCluster(n_workers=1, threads_per_worker=1, processes=False, dashboard_address=None))
        scheduler = dask.config.set({})
    else:  # the default threaded scheduler: it loads blocks ahead, as fast as its threads can
        client, scheduler = None, dask.config.set(scheduler="threads")
    with _Sampler() as s, scheduler:
        inc.partial_fit(X, y, classes=np.arange(CLASSES))
    acc = float(inc.estimator_.score(np.load(directory / "X_test.npy"), np.load(directory / "y_test.npy")))
    if client is not None:
        client.close()
    return s, acc


def child(way: str, directory: Path):
    run = {"chunks": run_chunks, "dask": run_dask, "dask-threads": lambda d: run_dask(d, cluster=False)}[way]
    s, acc = run(directory)
    print(
        json.dumps(
            {
                "way": way,
                "seconds": s.seconds,
                "accuracy": acc,
                "rss_before": s.start["VmRSS"],
                "peak_rss": s.peak["VmHWM"],
                "peak_anon": s.peak["RssAnon"],
                "peak_file": s.peak["RssFile"],
            }
        )
    )


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rows", type=int, default=6_000_000)
    p.add_argument("--block", type=int, default=100_000)
    p.add_argument("--budget-mb", type=float, default=256.0)
    p.add_argument("--dir", type=Path, default=Path("/tmp/mlplab-scale"))
    p.add_argument("--keep", action="store_true", help="keep the data set afterwards")
    p.add_argument("--quick", action="store_true", help="(with small --rows) a smoke run")
    p.add_argument("--child", choices=WAYS, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.child:
        return child(args.child, args.dir)
    if not (args.dir / "X" / "info").exists():
        t = time.perf_counter()
        blocks = make(args.dir, args.rows, args.block)
        print(f"wrote {blocks} blocks to {args.dir} in {time.perf_counter() - t:.1f} s")
    size = sum(f.stat().st_size for d in ("X", "y") for f in (args.dir / d).glob("*.npy"))
    budget = args.budget_mb * 2**20
    print(f"training data: {size / 2**30:.2f} GiB on disk, {size / budget:.1f} x a budget of {args.budget_mb:.0f} MiB")
    head = "| way | pass (s) | test accuracy | RSS before (MiB) | peak RSS (MiB) | peak anonymous | peak file-backed"
    print(head + " | within budget |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    results = []
    for way in WAYS:
        out = subprocess.run(
            [sys.executable, __file__, "--child", way, "--dir", str(args.dir)],
            capture_output=True,
            text=True,
            check=True,
        )
        r = json.loads(out.stdout.strip().splitlines()[-1])
        results.append(r)
        mib = 2**20
        grown = r["peak_rss"] - r["rss_before"]
        print(
            f"| {way} | {r['seconds']:.1f} | {r['accuracy']:.4f} | {r['rss_before'] / mib:.0f} "
            f"| {r['peak_rss'] / mib:.0f} | {r['peak_anon'] / mib:.0f} | {r['peak_file'] / mib:.0f} "
            f"| {'yes' if grown <= budget else 'no'} (+{grown / mib:.0f}) |"
        )
    if not args.keep:
        shutil.rmtree(args.dir)
    return results


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    main()
