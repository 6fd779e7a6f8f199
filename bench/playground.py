"""Frames per second of the playground (mlplab playground), with training running.

    python bench/playground.py                 # the server through a WebSocket client, then Chromium
    python bench/playground.py --quick         # smoke run, a few seconds (CI)
    python bench/playground.py --no-browser --seconds 10 --json out/playground-bench.json

A live server (``mlplab playground`` in a process of its own) trains each case while a
client takes its frames:

- "socket": a Python WebSocket client (``websockets``) that decodes each frame and
  acknowledges it at once: the server's side (training, drawing the frame, the transport);
- "browser": the page itself in headless Chromium (Playwright, Debian's ``chromium``), which
  draws every frame (heat map, network, chart) before it acknowledges it: what a user sees.

Frames per second count the frames drawn (browser) or received (socket) while the run plays,
over ``--seconds`` after a one-second warm-up, median of ``--rounds``; ms per frame is 1000 /
fps. Each case runs at TF Playground's pace (speed 1: one epoch per frame) and as fast as
it trains (speed 0: chunks of ~25 ms of updates between frames). The header of the last
frame gives the server's own times: ms per update (``Trainer.train_step``, amortising the
epoch's evaluation) and ms to draw a frame. Absolute times depend on the machine's load.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import time

from mlplab.playground import frames

#: (name, configuration): the networks of the issue, on 500 and 10,000 points
CASES = [
    ("2-8-8-1 (two classes), 500 points", {"networkShape": [8, 8]}),
    ("2-(64 x 8)-1, 500 points", {"networkShape": [64] * 8, "activation": "relu", "optimizer": "adam",
                                   "learningRate": 0.001}),
    ("2-(64 x 8)-1, 10,000 points", {"networkShape": [64] * 8, "activation": "relu", "optimizer": "adam",
                                      "learningRate": 0.001, "numSamples": 10_000}),
]  # fmt: skip
CHROMIUM = os.environ.get("MLPLAB_CHROMIUM", "/usr/bin/chromium")


def start_server():
    """``mlplab playground --no-browser --port 0`` in its own process, as a user runs it: (process, port)."""
    cmd = [sys.executable, "-u", "-m", "mlplab.cli", "playground", "--no-browser", "--port", "0"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    line = proc.stdout.readline()
    m = re.search(r"http://127\.0\.0\.1:(\d+)/", line)
    if not m:
        proc.kill()
        raise RuntimeError(f"the playground did not start: {line!r}")
    return proc, int(m.group(1))


def socket_round(port, cfg, seconds):
    """(frames per second, epochs per second, last header) for one run watched by a WebSocket client."""
    from websockets.sync.client import connect

    with connect(f"ws://127.0.0.1:{port}/ws", max_size=None) as ws:
        json.loads(ws.recv())  # hello
        ws.send(json.dumps({"type": "config", "config": cfg}))
        ws.send(json.dumps({"type": "play"}))
        count, t0, end, last, first = 0, None, None, None, None
        while True:
            msg = ws.recv(timeout=120)
            if isinstance(msg, str):
                continue
            header, _ = frames.decode(msg)
            if header["type"] != "frame":
                continue
            ws.send('{"type": "ack"}')
            now = time.perf_counter()
            if not header["playing"]:
                continue
            if t0 is None:  # warm-up
                t0, end = now + 1.0, now + 1.0 + seconds
            elif now >= t0:
                if first is None:
                    first, t0 = header, now
                    continue
                count, last = count + 1, header
                if now >= end:
                    return count / (now - t0), (last["epoch"] - first["epoch"]) / (now - t0), last


def browser_round(page, port, cfg, seconds):
    """(frames per second, epochs per second, last header) for one run drawn by the page in Chromium."""
    from urllib.parse import quote

    text = {k: ",".join(map(str, v)) if isinstance(v, list) else str(v) for k, v in cfg.items()}
    hash_ = "&".join(f"{k}={quote(v, safe=',')}" for k, v in text.items())
    page.goto("about:blank")  # a fresh page each round (the same URL would only change its hash)
    page.goto(f"http://127.0.0.1:{port}/#{hash_}")
    page.wait_for_function("() => window.mlplab.header && window.mlplab.header.rev === window.mlplab.S.rev")
    page.click("#play")
    page.wait_for_function("() => window.mlplab.header.playing")
    time.sleep(1.0)
    read = "() => [window.mlplab.stats.total, window.mlplab.header.epoch]"
    (n0, e0), t0 = page.evaluate(read), time.perf_counter()
    time.sleep(seconds)
    (n1, e1), t1 = page.evaluate(read), time.perf_counter()
    header = page.evaluate("() => window.mlplab.header")
    page.click("#play")
    return (n1 - n0) / (t1 - t0), (e1 - e0) / (t1 - t0), header


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="smoke run: the small network only, 1 s, 1 round")
    ap.add_argument("--seconds", type=float, default=5.0, help="measured seconds per round (default 5)")
    ap.add_argument("--rounds", type=int, default=3, help="rounds per case, median reported (default 3)")
    ap.add_argument("--no-browser", action="store_true", help="skip the Chromium measurement")
    ap.add_argument("--json", metavar="FILE", help="also write the results as JSON")
    args = ap.parse_args(argv)
    cases, seconds, rounds = (CASES[:1], 1.0, 1) if args.quick else (CASES, args.seconds, args.rounds)
    proc, port = start_server()
    clients = ["socket"] + ([] if args.no_browser or args.quick or not os.path.exists(CHROMIUM) else ["browser"])
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"# {platform.processor() or platform.machine()}, {os.cpu_count()} cores, load average {load:.2f}")
    print(f"{'client':8} {'case':34} {'speed':>5} {'frames/s':>9} {'ms/frame':>9} {'epochs/s':>9} "
          f"{'ms/update':>9} {'ms/draw':>8}")  # fmt: skip
    results = []
    page = browser = pw = None
    if "browser" in clients:
        from playwright.sync_api import sync_playwright

        pw = sync_playwright().start()
        browser = pw.chromium.launch(executable_path=CHROMIUM)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
    try:
        for client in clients:
            for name, cfg in cases:
                for speed in (1, 0):
                    fps, epochs, head = [], [], None
                    c = {**cfg, "speed": speed}
                    for _ in range(rounds):
                        f, e, head = (
                            socket_round(port, c, seconds)
                            if page is None or client == "socket"
                            else (browser_round(page, port, c, seconds))
                        )
                        fps.append(f)
                        epochs.append(e)
                    f, e = statistics.median(fps), statistics.median(epochs)
                    row = {"client": client, "case": name, "speed": speed, "fps": f, "ms_per_frame": 1000 / f,
                           "epochs_per_s": e, "ms_per_update": head["ms_per_step"], "ms_render": head["ms_render"],
                           "rounds": fps}  # fmt: skip
                    results.append(row)
                    print(f"{client:8} {name:34} {speed or 'max':>5} {f:9.1f} {1000 / f:9.1f} "
                          f"{e:9.1f} {head['ms_per_step']:9.3f} {head['ms_render']:8.1f}", flush=True)  # fmt: skip
    finally:
        if browser is not None:
            browser.close()
            pw.stop()
        proc.terminate()
        proc.wait(timeout=10)
    if args.json:
        os.makedirs(os.path.dirname(os.path.abspath(args.json)), exist_ok=True)
        with open(args.json, "w") as f:
            json.dump({"load_average": load, "cores": os.cpu_count(), "results": results}, f, indent=1)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
