"""Benchmark mlplab against PyTorch (CPU, eager) and scikit-learn on four MLP workloads.

    python bench/run.py                      # the full run (about 1.5 min on 2 quiet cores)
    python bench/run.py --quick              # smoke run, about 10 s (CI)
    python bench/run.py --workloads W1,W3 --json out/bench.json
    python bench/run.py --threads 1          # every library on one thread
    python bench/run.py --profile out/prof   # pyinstrument profiles of mlplab, one text file per workload

Method (docs/benchmarks.md says more):

- The three libraries train the same workload in one process, interleaved: one timed unit
  of library A, one of B, one of C, repeated ``--reps`` times after ``--warmup`` untimed
  epochs each, the order rotating every round. A unit is k whole epochs (k >= 1, chosen
  once per library so a unit lasts at least ``--min-unit`` seconds), each epoch being one
  ordinary public call: ``model.fit(..., epochs=1)`` for mlplab, a torch loop over
  shuffled mini-batches, ``partial_fit`` for scikit-learn. Throughput is samples / s.
- Ratios are the median over rounds of the per-round ratio mlplab / other: the units of
  one round run seconds apart, so load from other processes affects them alike.
- PyTorch runs with as many threads as NumPy's BLAS (threadpoolctl), in float32;
  ``--threads N`` sets both (and scikit-learn's, which is NumPy's BLAS).
- Collections of Python garbage run between rounds, not inside timed units: the objects
  built during the warm-up are frozen (gc.freeze) and gc.collect() runs after each round.
- The float32 matmul peak is measured in the same run (NumPy, n x n float32, 2 n^3 / t,
  best of several, before and after the workloads); the fraction of peak of training
  is samples/s * 6 * sum(n_in * n_out) / peak.
- Peak memory: each (workload, library) runs in a child process that imports only that
  library; the kernel's peak-RSS counter (VmHWM) is reset just before the model is built,
  and the peak RSS after building it and training two epochs, minus the RSS at the reset,
  is reported. For the NumPy libraries the tracemalloc peak (NumPy's own allocations) of
  a second, fresh model is reported too.
"""

from __future__ import annotations

import argparse
import dataclasses
import gc
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from workloads import (  # noqa: E402
    LIBRARIES,
    WORKLOADS,
    adam_available,
    infer_flops_per_sample,
    make_data,
    make_trainer,
    train_flops_per_sample,
)

#: the targets of issue 6, as (kind, library or None, threshold)
TARGETS = {
    "W1": [("train", "torch", 1.0), ("train", "sklearn", 1.5), ("peak", None, 0.65), ("memory", "torch", 1.0)],
    "W2": [("train", "torch", 10.0), ("train", "sklearn", 3.0)],
    "W3": [("train", "torch", 2.0)],
    "W4": [("train", "torch", 1.0)],
}


# -- machine ----------------------------------------------------------------------------
def blas_threads() -> int:
    """Threads of the BLAS NumPy calls (threadpoolctl); os.cpu_count() if unknown."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return os.cpu_count() or 1
    blas = [i for i in threadpool_info() if i.get("user_api") == "blas"]
    mine = [i for i in blas if "numpy" in i.get("filepath", "")] or blas
    return int(mine[0]["num_threads"]) if mine else (os.cpu_count() or 1)


def machine_info() -> dict:
    info = {"python": platform.python_version(), "platform": platform.platform(), "cpu_count": os.cpu_count()}
    try:
        with open("/proc/cpuinfo") as f:
            info["cpu"] = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        info["cpu"] = platform.processor() or "unknown"
    if hasattr(os, "sched_getaffinity"):
        info["cpus_usable"] = len(os.sched_getaffinity(0))
    if hasattr(os, "getloadavg"):
        info["loadavg_start"] = [round(x, 2) for x in os.getloadavg()]
    import sklearn
    import torch

    import mlplab

    info["versions"] = {
        "numpy": np.__version__,
        "torch": torch.__version__,
        "sklearn": sklearn.__version__,
        "mlplab": mlplab.__version__,
    }
    try:
        from threadpoolctl import threadpool_info

        info["blas"] = [
            {k: i.get(k) for k in ("internal_api", "version", "architecture", "num_threads", "filepath")}
            for i in threadpool_info()
            if i.get("user_api") == "blas"
        ]
    except ImportError:
        info["blas"] = []
    info["numpy_blas_threads"] = blas_threads()
    info["torch_threads"] = torch.get_num_threads()
    return info


def matmul_peak(n: int, reps: int) -> float:
    """Best float32 matmul throughput of NumPy on n x n matrices, in FLOP/s (2 n^3 / t)."""
    rng = np.random.default_rng(0)
    A = rng.standard_normal((n, n), dtype=np.float32)
    B = rng.standard_normal((n, n), dtype=np.float32)
    C = np.empty((n, n), dtype=np.float32)
    np.matmul(A, B, out=C)
    best = math.inf
    for _ in range(reps):
        t = time.perf_counter()
        np.matmul(A, B, out=C)
        best = min(best, time.perf_counter() - t)
    return 2.0 * n**3 / best


# -- timing -----------------------------------------------------------------------------
def _quantiles(v):
    v = sorted(v)
    if len(v) == 1:
        return v[0], v[0], v[0]
    q = statistics.quantiles(v, n=4, method="inclusive")
    return q[0], statistics.median(v), q[2]


def _time_units(fns: dict, units: dict, reps: int):
    """Interleaved timing: per round, each fn run units[name] times; the order rotates."""
    names = list(fns)
    out = {k: [] for k in names}
    for r in range(reps):
        order = names[r % len(names) :] + names[: r % len(names)]
        for k in order:
            f, u = fns[k], units[k]
            t = time.perf_counter()
            for _ in range(u):
                f()
            out[k].append((time.perf_counter() - t) / u)
        gc.collect()  # outside the timed region: no collector pause lands in another unit
    return out


def _calibrate(fns: dict, min_unit: float) -> dict:
    units = {}
    for k, f in fns.items():
        t = time.perf_counter()
        f()
        dt = time.perf_counter() - t
        units[k] = max(1, math.ceil(min_unit / max(dt, 1e-9)))
    return units


def bench_workload(w, libs, reps, warmup, min_unit, log):
    X, y = make_data(w)
    n = X.shape[0]
    trainers = {lib: make_trainer(lib, w, X, y) for lib in libs}
    for tr in trainers.values():
        for _ in range(warmup):
            tr.epoch()
        tr.predict(X)
    gc.collect()
    gc.freeze()  # everything built so far stays out of later collections: they stay short
    log(f"  {w.key}: warm-up done, timing {reps} interleaved rounds")
    train_fns = {lib: tr.epoch for lib, tr in trainers.items()}
    units = _calibrate(train_fns, min_unit)
    train_t = _time_units(train_fns, units, reps)
    infer_fns = {lib: (lambda tr=tr: tr.predict(X)) for lib, tr in trainers.items()}
    iunits = _calibrate(infer_fns, min_unit / 4)
    infer_t = _time_units(infer_fns, iunits, reps)

    res = {
        "workload": w.key,
        "name": w.name,
        "sizes": list(w.sizes),
        "activation": w.activation,
        "batch_size": w.batch_size,
        "optimizer": w.optimizer,
        "n_samples": n,
        "train_flops_per_sample": train_flops_per_sample(w),
        "infer_flops_per_sample": infer_flops_per_sample(w),
        "notes": {lib: tr.note for lib, tr in trainers.items() if tr.note},
        "epochs_per_unit": units,
        "train": {},
        "infer": {},
        "train_ratio": {},
        "infer_ratio": {},
    }
    for kind, times in (("train", train_t), ("infer", infer_t)):
        for lib, ts in times.items():
            q1, med, q3 = _quantiles([n / t for t in ts])
            res[kind][lib] = {"samples_per_s": med, "q1": q1, "q3": q3, "seconds_per_epoch": statistics.median(ts)}
        if "mlplab" in times:
            for lib in times:
                if lib != "mlplab":
                    q1, med, q3 = _quantiles([b / a for a, b in zip(times["mlplab"], times[lib])])
                    res[kind + "_ratio"][lib] = {"median": med, "q1": q1, "q3": q3}
    return res


# -- memory -----------------------------------------------------------------------------
def _proc_status_kb(field):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise KeyError(field)


def memory_child(key: str, lib: str, quick: bool, threads: int) -> dict:
    """Run in a fresh process: peak memory of building ``lib``'s model and training it."""
    import resource
    import tracemalloc

    w = WORKLOADS[key]
    if quick:
        w = w.shrink(w.quick_samples)
    X, y = make_data(w)
    # import the library and start its thread pools first: their code and stacks are
    # not the training step's memory
    if lib == "torch":
        import torch

        torch.set_num_threads(threads)
    # one epoch of a tiny model of the same kind first: code loaded lazily and one-time
    # set-up (thread pools, autograd engine, kernel dispatch) are not the training's memory
    tiny = dataclasses.replace(w, sizes=(w.sizes[0], 4, w.sizes[-1]), n_samples=64)
    make_trainer(lib, tiny, *make_data(tiny)).epoch()
    gc.collect()
    out = {"workload": key, "library": lib}
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")  # resets VmHWM (peak RSS) to the current RSS (Linux >= 4.0)
        rss0 = _proc_status_kb("VmRSS")
        method = "VmHWM"
    except OSError:
        rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        method = "ru_maxrss"
    tr = make_trainer(lib, w, X, y)
    for _ in range(2):
        tr.epoch()
    peak = _proc_status_kb("VmHWM") if method == "VmHWM" else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    out.update(method=method, rss_peak_delta_mb=(peak - rss0) / 1024.0, rss_base_mb=rss0 / 1024.0)
    del tr
    gc.collect()
    if lib != "torch":  # torch's allocations are invisible to tracemalloc
        tracemalloc.start()
        tr = make_trainer(lib, w, X, y)
        for _ in range(2):
            tr.epoch()
        out["tracemalloc_peak_mb"] = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
    return out


def measure_memory(key, libs, quick, threads, log):
    res = {}
    for lib in libs:
        cmd = [sys.executable, os.path.abspath(__file__), "--_memory-child", key, lib, "--threads", str(threads)]
        if quick:
            cmd.append("--quick")
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
        if p.returncode != 0:
            raise RuntimeError(f"memory child {key}/{lib} failed:\n{p.stderr}")
        res[lib] = json.loads(p.stdout.strip().splitlines()[-1])
        log(f"  {key}/{lib}: peak RSS +{res[lib]['rss_peak_delta_mb']:.1f} MB")
    return res


# -- profile ----------------------------------------------------------------------------
def profile(keys, outdir, quick, log):
    from pyinstrument import Profiler

    os.makedirs(outdir, exist_ok=True)
    for key in keys:
        w = WORKLOADS[key]
        if quick:
            w = w.shrink(w.quick_samples)
        X, y = make_data(w)
        tr = make_trainer("mlplab", w, X, y)
        tr.epoch()
        t = time.perf_counter()
        tr.epoch()
        epochs = max(1, math.ceil((0.3 if quick else 3.0) / (time.perf_counter() - t)))
        prof = Profiler(interval=0.0005)
        prof.start()
        for _ in range(epochs):
            tr.epoch()
        prof.stop()
        path = os.path.join(outdir, f"{key}.txt")
        with open(path, "w") as f:
            f.write(f"# {key} {w.name}: {epochs} epochs of {w.n_samples} samples, mlplab fit(epochs=1) each\n")
            f.write(prof.output_text(unicode=False, color=False, show_all=False))
        log(f"  {key}: {path}")


# -- report -----------------------------------------------------------------------------
def _fmt(x):
    if x >= 1e6:
        return f"{x / 1e6:.2f}M"
    if x >= 1e3:
        return f"{x / 1e3:.1f}k"
    return f"{x:.0f}"


def targets_report(results):
    rows = []
    for r in results:
        for kind, lib, thr in TARGETS.get(r["workload"], ()):
            if kind == "train" and lib in r["train_ratio"]:
                v = r["train_ratio"][lib]["median"]
                rows.append((r["workload"], f"train mlplab/{lib} >= {thr:g}x", f"{v:.2f}x", v >= thr))
            elif kind == "peak" and "peak_fraction" in r:
                v = r["peak_fraction"]
                rows.append((r["workload"], f"train >= {thr:.0%} of matmul peak", f"{v:.1%}", v >= thr))
            elif kind == "memory" and "memory" in r and lib in r["memory"] and "mlplab" in r["memory"]:
                a, b = r["memory"]["mlplab"]["rss_peak_delta_mb"], r["memory"][lib]["rss_peak_delta_mb"]
                rows.append((r["workload"], f"peak memory mlplab <= {lib}", f"{a:.0f} vs {b:.0f} MB", a <= b * thr))
    return rows


def print_report(info, results, peak, file=sys.stdout):
    p = lambda *a: print(*a, file=file)  # noqa: E731
    p(
        f"machine: {info['cpu']}, {info.get('cpus_usable', info['cpu_count'])} usable cores, load average at start "
        f"{info.get('loadavg_start')}, at end {info.get('loadavg_end')}"
    )
    v = info["versions"]
    blas = next((b for b in info["blas"] if "numpy" in (b.get("filepath") or "")), (info["blas"] or [{}])[0])
    p(
        f"numpy {v['numpy']} ({blas.get('internal_api')} {blas.get('version')} {blas.get('architecture')}, "
        f"{info['numpy_blas_threads']} threads), torch {v['torch']} ({info['torch_threads']} threads), "
        f"scikit-learn {v['sklearn']}, mlplab {v['mlplab']}"
    )
    p(f"float32 matmul peak (NumPy): {peak / 1e9:.1f} GFLOP/s")
    p("")
    p("training, median samples/s (interleaved rounds); ratio = median of per-round mlplab/other [q1-q3]")
    hdr = (
        f"{'workload':<26}{'mlplab':>9}{'torch':>9}{'sklearn':>9}  {'mlplab/torch':>20}  {'mlplab/sklearn':>20}  "
        f"{'peak':>6}"
    )
    for kind in ("train", "infer"):
        if kind == "infer":
            p("")
            p("inference (predict on the training inputs), median samples/s")
        p(hdr)
        for r in results:
            d = r[kind]
            cells = [_fmt(d[lib]["samples_per_s"]) if lib in d else "-" for lib in LIBRARIES]
            rat = []
            for lib in ("torch", "sklearn"):
                q = r[kind + "_ratio"].get(lib)
                rat.append(f"{q['median']:.2f}x [{q['q1']:.2f}-{q['q3']:.2f}]" if q else "-")
            frac = r.get("peak_fraction" if kind == "train" else "infer_peak_fraction")
            label = f"{r['workload']} {r['name']}"[:25]
            p(
                f"{label:<26}{cells[0]:>9}{cells[1]:>9}{cells[2]:>9}  {rat[0]:>20}  {rat[1]:>20}  "
                f"{'' if frac is None else f'{frac:.1%}':>6}"
            )
    mems = [r for r in results if "memory" in r]
    if mems:
        p("")
        p(
            "peak memory of building the model and training 2 epochs: peak RSS - RSS before (MB); "
            "tracemalloc peak (NumPy allocations) in ()"
        )
        p(f"{'workload':<26}" + "".join(f"{lib:>16}" for lib in LIBRARIES))
        for r in mems:
            cells = []
            for lib in LIBRARIES:
                m = r["memory"].get(lib)
                if m is None:
                    cells.append("-")
                else:
                    tm = m.get("tracemalloc_peak_mb")
                    cells.append(f"{m['rss_peak_delta_mb']:.1f}" + (f" ({tm:.1f})" if tm is not None else ""))
            p(f"{(r['workload'] + ' ' + r['name'])[:25]:<26}" + "".join(f"{c:>16}" for c in cells))
    notes = [(r["workload"], lib, n) for r in results for lib, n in r["notes"].items()]
    if notes:
        p("")
        for key, lib, n in notes:
            p(f"note: {key} {lib}: {n}")
    rows = targets_report(results)
    if rows:
        p("")
        p("targets (issue 6)")
        for key, what, val, ok in rows:
            p(f"  {key} {what:<36} {val:>18}  {'met' if ok else 'NOT met'}")


def main(argv=None):
    ap = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--quick", action="store_true", help="smoke run: small data, 2 rounds, a few seconds")
    ap.add_argument("--json", metavar="FILE", help="also write the results as JSON to FILE")
    ap.add_argument("--workloads", default=",".join(WORKLOADS), help="comma-separated subset of " + ",".join(WORKLOADS))
    ap.add_argument("--libraries", default=",".join(LIBRARIES), help="comma-separated subset of " + ",".join(LIBRARIES))
    ap.add_argument("--reps", type=int, help="timed rounds per workload (default 9; 2 with --quick)")
    ap.add_argument("--warmup", type=int, help="untimed epochs per library first (default 2; 1 with --quick)")
    ap.add_argument("--min-unit", type=float, help="a timed unit lasts at least this many seconds (default 0.1)")
    ap.add_argument("--no-memory", action="store_true", help="skip the peak-memory child processes")
    ap.add_argument("--profile", metavar="DIR", help="instead of benchmarking, profile mlplab (pyinstrument) into DIR")
    ap.add_argument(
        "--threads",
        type=int,
        help="threads for every library (NumPy's BLAS via threadpoolctl and "
        "torch); default: as many as NumPy's BLAS uses",
    )
    ap.add_argument("--_memory-child", nargs=2, metavar=("W", "LIB"), help=argparse.SUPPRESS)
    a = ap.parse_args(argv)

    if a.threads:  # numpy/scipy BLAS and OpenMP pools of this process, for its whole life
        from threadpoolctl import threadpool_limits

        _limits = threadpool_limits(a.threads)  # noqa: F841
    threads = a.threads or blas_threads()
    if a._memory_child:
        print(json.dumps(memory_child(a._memory_child[0], a._memory_child[1], a.quick, threads)))
        return 0

    keys = [k.strip().upper() for k in a.workloads.split(",") if k.strip()]
    libs = [k.strip().lower() for k in a.libraries.split(",") if k.strip()]
    bad = [k for k in keys if k not in WORKLOADS] + [k for k in libs if k not in LIBRARIES]
    if bad or not keys or not libs:
        ap.error(f"unknown workloads/libraries {bad}; choose from {list(WORKLOADS)} and {list(LIBRARIES)}")
    start = time.perf_counter()
    log = lambda msg: print(f"[{time.perf_counter() - start:6.1f}s] {msg}", file=sys.stderr, flush=True)  # noqa: E731

    if a.profile:
        profile(keys, a.profile, a.quick, log)
        return 0

    import torch

    torch.set_num_threads(threads)  # as many threads as NumPy's BLAS: same machine share
    reps = a.reps or (2 if a.quick else 9)
    warmup = a.warmup if a.warmup is not None else (1 if a.quick else 2)
    min_unit = a.min_unit if a.min_unit is not None else (0.0 if a.quick else 0.1)
    n_mm = 512 if a.quick else 2048

    info = machine_info()
    info["adam_in_mlplab"] = adam_available()
    t0 = time.perf_counter()
    peaks = [matmul_peak(n_mm, 3 if a.quick else 10)]
    log(f"matmul peak {peaks[0] / 1e9:.1f} GFLOP/s ({n_mm}^3 float32)")
    results = []
    for i, key in enumerate(keys):
        w = WORKLOADS[key]
        if a.quick:
            w = w.shrink(w.quick_samples)
        log(f"{key} {w.name}: {w.n_samples} samples")
        results.append(bench_workload(w, libs, reps, warmup, min_unit, log))
        if not a.no_memory and (not a.quick or i == 0):
            results[-1]["memory"] = measure_memory(key, libs, a.quick, threads, log)
    peaks.append(matmul_peak(n_mm, 3 if a.quick else 10))
    peak = max(peaks)
    for r in results:
        if "mlplab" in r["train"]:
            r["peak_fraction"] = r["train"]["mlplab"]["samples_per_s"] * r["train_flops_per_sample"] / peak
            r["infer_peak_fraction"] = r["infer"]["mlplab"]["samples_per_s"] * r["infer_flops_per_sample"] / peak
    if hasattr(os, "getloadavg"):
        info["loadavg_end"] = [round(x, 2) for x in os.getloadavg()]
    print_report(info, results, peak)
    if a.json:
        os.makedirs(os.path.dirname(os.path.abspath(a.json)), exist_ok=True)
        with open(a.json, "w") as f:
            json.dump(
                {
                    "machine": info,
                    "matmul_peak_flops": peak,
                    "matmul_peaks": peaks,
                    "matmul_n": n_mm,
                    "quick": a.quick,
                    "reps": reps,
                    "warmup": warmup,
                    "min_unit_s": min_unit,
                    "wall_s": time.perf_counter() - t0,
                    "results": results,
                    "targets": [
                        dict(zip(("workload", "target", "value", "met"), row)) for row in targets_report(results)
                    ],
                },
                f,
                indent=2,
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
