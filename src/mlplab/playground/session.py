"""A playground session: one page's connection, its runs, the worker thread that trains them,
and the mailbox the WebSocket sends from.

The protocol (``PROTOCOL``). The page sends JSON text messages ``{"type": T, ...}``; ``MESSAGES``
registers each type with its fields and checks, and the handler that runs it (on the worker
thread, which alone touches the runs; "ack" is answered at once). The server greets with
"hello" (the options and limits); the page answers with its configuration ("config"), which
starts the first run (any other message first starts the default one). The server sends JSON text
messages ("hello", "run", "notice", "error", "export") and binary ones (``frames.py``: "data"
once per data set, "frame" for the state of a run). A malformed message gets an "error" message
naming what is wrong, and the session goes on.

Flow control: the newest frame wins. The worker renders a frame into a one-frame slot; the
sender takes it only after the page has acknowledged the previous one ("ack"), and the worker
renders the next once the slot is free (or replaces a frame that waited more than ``STALE_S``
while training went on), so a slow page never builds a backlog and gets a recent frame. While a
run plays, the worker makes updates in chunks of about ``BUDGET_MS`` of compute (the number of
steps per chunk adapts to the measured time per step) and renders between chunks; ``speed``
epochs per frame (0: as fast as the budget allows) paces it like TF Playground's one epoch per
animation frame.

Several runs: ``Session.runs`` maps a run's name to its ``Run`` and every message may name
its run ("main" by default). This version makes one run, "main"; the structure is there for
more (an optimizer race, say) and for new message types (register them with ``message``).
"""

from __future__ import annotations

import base64
import logging
import math
import os
import random
import tempfile
import threading
import time
from collections import deque

from .. import io
from .._validation import check_int, check_real, fail
from ..errors import ArgumentError, ModelFileError
from . import spec, tools, trace
from .data import FEATURES, MAX_CLASSES, MAX_POINTS, parse_csv
from .frames import Renderer, data_message
from .protocol import MAX_MESSAGE, MESSAGES, REQUIRED, Outbox, anything, integer, message, parse, real, text
from .run import Run, make_data
from .script import MODEL_FILE, model_file, script

# MESSAGES, Outbox, message and MAX_MESSAGE are imported from protocol (documented there)
__all__ = ["PROTOCOL", "Session", "MAX_MODEL_BYTES", "BUDGET_MS"]
_HANDLERS = (tools, trace)  # modules whose messages the registry holds too

log = logging.getLogger("mlplab.playground")
PROTOCOL = 1
MAX_MODEL_BYTES = 4_000_000
BUDGET_MS = 25.0  # compute per chunk of updates
STALE_S = 0.2  # a frame waiting longer than this while training goes on is drawn again
#: keys that describe the network: changing one drops an imported model
ARCH_KEYS = frozenset({"networkShape", "activation", "dropout", "problem", "classes", *FEATURES})


class Session:
    """One page's state: configuration, data, runs, and the worker thread that owns them.

    ``receive(text)`` takes a message from the page; ``outbox.take()`` gives what to send.
    ``close()`` stops the worker. Creating a session queues the "hello" message and starts
    the worker thread (a daemon); the first run is made by the first message.

    Parameters
    ----------
    wake : callable or None, default None
        ``wake()``, called (from any thread) whenever the outbox has something to send: the
        server's sender then calls ``outbox.take()``. A RuntimeError from it (the connection's
        event loop closed) ends the session.
    """

    def __init__(self, wake=None):
        self._cv = threading.Condition()
        self._wake_page = wake or (lambda: None)
        self.outbox = Outbox(self._wake, on_free=self._notify)
        self._commands = deque()
        self._closed = False
        self.cfg = spec.check_config({})
        self.custom = None  # (X, y) of the page's own points
        self.added = []  # points clicked on the page
        self.imported = None  # an imported model, the start of every run until the network changes
        self.runs, self.renderers = {}, {}
        self.playing, self.quota, self.dirty = False, 0, False
        self.focus = None
        self.rev = self.data_version = 0
        self.ms_render = 0.0
        self.outbox.send_json(type="hello", protocol=PROTOCOL, options=spec.options(), messages=sorted(MESSAGES))
        self._thread = threading.Thread(target=self._loop, name="mlplab-playground", daemon=True)
        self._thread.start()

    # -- from the page ---------------------------------------------------------------------------
    def receive(self, text=None, data=None):
        """Check one message from the page and queue it for the worker (or answer it at once,
        "ack"). A message that fails ``protocol.parse`` is answered with an "error" message.

        Parameters
        ----------
        text : str or None, default None
            The message's JSON text (at most ``MAX_MESSAGE`` characters).
        data : bytes or None, default None
            A binary message's content; the page sends none, and a message without text is
            refused (with an "error" message).
        """
        try:
            spec_, kwargs = parse(text, self.runs)
        except ArgumentError as e:
            self.error(str(e))
            return
        if not spec_.on_worker:
            spec_.handler(self, **kwargs)
            return
        with self._cv:
            self._commands.append((spec_.name, spec_.handler, kwargs))
            self._cv.notify()

    def error(self, text, about=None):
        """Send the page an "error" message (``{"type": "error", "message", "about"}``).

        Parameters
        ----------
        text : str
            What went wrong, for the page to show.
        about : str or None, default None
            The type of the message that caused it, if any.
        """
        self.outbox.send_json(type="error", message=text, about=about)

    def notice(self, text):
        """Send the page a "notice" message: information, not an error.

        Parameters
        ----------
        text : str
            The notice.
        """
        self.outbox.send_json(type="notice", message=text)

    def close(self, wait=True):
        """Stop the worker (after the chunk of updates under way).

        Parameters
        ----------
        wait : bool, default True
            Whether to wait (at most 5 seconds) for the worker thread to end.
        """
        with self._cv:
            self._closed = True
            self._cv.notify()
        if wait:
            self._thread.join(timeout=5)

    def _wake(self):
        try:
            self._wake_page()
        except RuntimeError:  # the connection's event loop is gone: nobody reads this session any more
            self._closed = True

    def _notify(self):
        with self._cv:
            self._cv.notify()

    # -- the worker ------------------------------------------------------------------------------
    def _has_work(self) -> bool:
        if not self.runs:
            return False
        free = self.outbox.slot_free
        return (self.playing and (self.quota > 0 or free)) or (self.dirty and free)

    def _loop(self):
        while True:
            with self._cv:
                while not (self._closed or self._commands or self._has_work()):
                    self._cv.wait()
                if self._closed:
                    return
                commands = list(self._commands)
                self._commands.clear()
            for name, handler, kwargs in commands:
                self._run_command(name, handler, kwargs)
            try:
                if self.runs:
                    self._work()
            except Exception as e:  # a bug must not kill the session: say it, and pause
                log.exception("playground worker")
                self.playing = False
                self.error(f"internal error while training: {type(e).__name__}: {e}")

    def _run_command(self, name, handler, kwargs):
        try:
            if not self.runs and name != "config":  # the page said nothing of its configuration: the defaults
                self._new_run(new_data=True)
            handler(self, **kwargs)
        except (ArgumentError, ModelFileError) as e:
            self.error(str(e), name)
        except Exception as e:
            log.exception("playground message %s", name)
            self.error(f"internal error on {name}: {type(e).__name__}: {e}", name)
        if not self.runs:  # the page's first configuration was refused: show the defaults
            self._new_run(new_data=True)

    @property
    def run(self) -> Run:
        """The main run, ``runs["main"]`` (KeyError before the first run is made)."""
        return self.runs["main"]

    def _quota(self) -> float:
        return math.inf if self.cfg["speed"] == 0 else self.cfg["speed"] * self.run.steps_per_epoch

    def _work(self):
        """Updates for every run still training, in step (the same number of updates each, the
        chunk's compute budget shared), then the frames of all of them when the page is ready."""
        live = [r for r in self.runs.values() if not r.finished]
        if self.playing and self.quota > 0 and live:
            ms = [r.ms_per_step for r in live]
            k = max(1, int(BUDGET_MS / sum(ms))) if all(ms) else 1  # 1 until measured
            k = int(min(k, self.quota))
            self.quota -= max([r.advance(k) for r in live])
            self.dirty = True
        if self.playing and all(r.finished for r in self.runs.values()):
            self.playing = False
        if self.dirty and (self.outbox.slot_free or (self.playing and self.outbox.stale(STALE_S))):
            self._render()
            if self.playing and self.quota <= 0:
                self.quota = self._quota()

    def _render(self):
        """A frame of every run (main's first), into the outbox's slot as one set."""
        t0 = time.perf_counter()
        extra = {"rev": self.rev, "playing": self.playing, "ms_render": round(self.ms_render, 3)}
        out = [
            r.render(extra, self.focus, full=True) if name == "main" else r.render(extra, full=False)
            for name, r in self.renderers.items()
        ]
        self.ms_render = (time.perf_counter() - t0) * 1000
        self.outbox.put_frame(out if len(out) > 1 else out[0])
        self.dirty = False

    def _new_run(self, new_data=False, playing=False):
        """New runs of the configuration, main and the race's (new data first if asked), from the
        same data, announced to the page."""
        if new_data or "main" not in self.runs:
            self.data_version += 1
            pool = self.custom if self._custom_chosen() else None
            added = self.added if pool is not None else ()
            self.data = make_data(self.cfg, pool, added, self.data_version)
        configs = {"main": self.cfg}
        for i, lane in enumerate(self.cfg["race"]):
            configs[f"lane{i + 1}"] = spec.lane_config(self.cfg, lane)
        runs = {}
        for name, cfg in configs.items():
            model = None if self.imported is None else self.imported.astype(self.imported.dtype)
            runs[name] = Run(cfg, self.data, model, run_id=name)
        self.runs, self.renderers = runs, {name: Renderer(r) for name, r in runs.items()}
        self.rev += 1
        self.outbox.clear_frame()
        lanes = [
            {"run": name, "lane": lane, "config": runs[name].cfg, "layout": runs[name].layout()}
            for name, lane in zip(list(runs)[1:], self.cfg["race"])
        ]
        self.outbox.send_json(
            type="run", run="main", rev=self.rev, config=self.cfg, layout=self.run.layout(), lanes=lanes
        )
        if new_data:
            self.outbox.send(data_message(self.run))
        self.playing, self.quota, self.dirty, self.focus = playing, self._quota(), True, None

    def _custom_chosen(self) -> bool:
        key = "dataset" if self.cfg["problem"] == "classification" else "regDataset"
        return self.cfg[key] == "custom"

    # -- the messages ---------------------------------------------------------------------------
    @message("ack", on_worker=False)
    def _ack(self, run):
        self.outbox.ack()

    @message("config", config=(anything, REQUIRED), link=(anything, False))
    def _config(self, run, config, link):
        """Apply a configuration (the page's whole state, or some keys of it); that of a link
        (``link`` true: the URL hash) loses only the keys refused, each said in a notice."""
        if link is True:
            new, refused = spec.check_link(config, base=self.cfg)
            for why in refused:
                self.notice(f"Ignored in the link: {why}")
        else:
            new = spec.check_config(config, base=self.cfg)
        custom = (new["dataset"] if new["problem"] == "classification" else new["regDataset"]) == "custom"
        if custom:
            if self.custom is None or (self.custom[1].dtype.kind == "f") != (new["problem"] == "regression"):
                raise fail("dataset", f"a generated data set: no {new['problem']} points were uploaded or clicked")
            new["classes"] = self._custom_classes(new)
        changed = {k for k in new if new[k] != self.cfg[k]} if self.runs else set(new)
        self.cfg = new
        if not changed:
            return
        if changed <= spec.VIEW_KEYS:
            self.quota, self.dirty = min(self.quota, self._quota()), True
            return
        if changed & ARCH_KEYS:
            self.imported = None
        self._new_run(new_data=bool(changed & spec.DATA_KEYS))

    def _custom_classes(self, cfg):
        if cfg["problem"] == "regression":
            return cfg["classes"]
        labels = [int(v) for v in self.custom[1]] + [int(p[2]) for p in self.added]
        return max(2, max(labels) + 1)

    @message("play")
    def _play(self, run):
        if all(r.finished for r in self.runs.values()):
            self.notice(f"The run has ended ({self.run.message}); reset it to train again.")
            return
        self.playing, self.quota = True, self._quota()

    @message("pause")
    def _pause(self, run):
        """Pause at the end of the epoch under way: a paused page shows an epoch's weights and losses."""
        for r in self.runs.values():
            r.finish_epoch()
        self.playing, self.dirty = False, True

    @message("step")
    def _step(self, run):
        """One epoch of every run (the rest of the epoch under way), then pause."""
        self.playing = False
        for r in self.runs.values():
            if r._batches is not None:
                r.finish_epoch()
            elif not r.finished:
                r.advance(r.steps_per_epoch)
        self.dirty = True

    @message("reset")
    def _reset(self, run):
        """Back to epoch 0: the same data and initial weights (the same seed)."""
        self._new_run()

    @message("regenerate")
    def _regenerate(self, run):
        """A new seed: new points (for a generated data set) and new initial weights."""
        self.cfg = {**self.cfg, "seed": str(random.randrange(100_000))}
        self._new_run(new_data=True)

    @message("focus", layer=(integer(0, spec.MAX_LAYERS, optional=True), None), index=(integer(0, 63), 0))
    def _focus(self, run, layer, index):
        """Send the full-resolution map of one node (layer 0: the input features) in frames."""
        self.focus = None if layer is None else [layer, index]
        self.dirty = True

    @message(
        "set_weight",
        layer=(integer(0, spec.MAX_LAYERS), REQUIRED),
        to=(integer(0, spec.MAX_NEURONS - 1), REQUIRED),
        value=(real(-1000.0, 1000.0), REQUIRED),
        **{"from": (integer(0, spec.MAX_NEURONS - 1, optional=True), None)},
    )
    def _set_weight(self, run, layer, to, value, **kw):
        """Set one weight (``from`` -> ``to`` of Dense layer ``layer``) of the run named, or a
        bias (no ``from``)."""
        self.runs[run].set_weight(layer, kw.get("from"), to, value)
        self.dirty = True

    @message("add_point", x=(real(-6.0, 6.0), REQUIRED), y=(real(-6.0, 6.0), REQUIRED), label=(anything, REQUIRED))
    def _add_point(self, run, x, y, label):
        """A training point clicked on the page: the data become custom, the run restarts."""
        regression = self.cfg["problem"] == "regression"
        label = check_real("label", label, -1.5, 1.5) if regression else check_int("label", label, 0, MAX_CLASSES - 1)
        if self.custom is None or not self._custom_chosen():
            self.custom, self.added = self.data.pool, []
        if len(self.custom[1]) + len(self.added) >= MAX_POINTS:
            raise fail("points", f"at most {MAX_POINTS:,}", got="one more")
        self.added.append((x, y, label))
        key = "regDataset" if regression else "dataset"
        self.cfg = {**self.cfg, key: "custom"}
        self.cfg["classes"] = self._custom_classes(self.cfg)
        self.imported = None if self.cfg["classes"] != self.data.n_classes else self.imported
        self._new_run(new_data=True, playing=self.playing)

    @message("upload_csv", text=(text(2_000_000), REQUIRED))
    def _upload_csv(self, run, text):
        """The page's own data: CSV rows x1, x2, label (``data.parse_csv``)."""
        X, y, scale = parse_csv(text, self.cfg["problem"])
        self.custom, self.added, self.imported = (X, y), [], None
        key = "dataset" if self.cfg["problem"] == "classification" else "regDataset"
        self.cfg = {**self.cfg, key: "custom"}
        self.cfg["classes"] = self._custom_classes(self.cfg)
        self._new_run(new_data=True)
        scaled = "" if scale == 1.0 else f", coordinates scaled by {scale:.4g} to fit the view"
        classes = "" if self.cfg["problem"] == "regression" else f", {self.cfg['classes']} classes"
        self.notice(f"Loaded {len(y):,} points{classes}{scaled}.")

    @message("import_model", data=(text(MAX_MESSAGE), REQUIRED), file_name=(text(255), "the model file"))
    def _import_model(self, run, data, file_name):
        """A model file trained in Python (two inputs), read by ``mlplab.load``: never pickle;
        an error names the student's file (``file_name``), not the server's temporary copy."""
        try:
            raw = base64.b64decode(data, validate=True)
        except ValueError:
            raise fail("import_model.data", "a model file in base64", got="text that is not base64") from None
        if len(raw) > MAX_MODEL_BYTES:
            raise fail("model file", f"at most {MAX_MODEL_BYTES:,} bytes", got=f"{len(raw):,} bytes")
        fd, path = tempfile.mkstemp(suffix=".mlp", prefix="mlplab-import-")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(raw)
            model = io.load(path)
        except ModelFileError as e:
            raise ModelFileError(str(e).replace(path, file_name)) from None
        finally:
            os.remove(path)
        new = spec.check_config(spec.imported_config(model, self.cfg), base=self.cfg)
        key = "dataset" if new["problem"] == "classification" else "regDataset"
        if new[key] == "custom" and (
            self.custom is None
            or (self.custom[1].dtype.kind == "f") != (new["problem"] == "regression")
            or (new["problem"] == "classification" and self._custom_classes(new) != new["classes"])
        ):
            new[key] = "spiral" if key == "dataset" else "reg-plane"
        self.cfg = new
        self.imported = model
        self._new_run(new_data=True)
        self.notice(f"Imported a model: {model.n_inputs} inputs, layers {self.run.layout()['widths']}.")

    @message("export")
    def _export(self, run):
        """The script that reproduces the run named (main, or one of the race) and its trained model
        file, after the epoch under way."""
        r = self.runs[run]
        r.finish_epoch()
        m = r.metrics
        suffix = "" if run == "main" else f"_{run}"
        self.outbox.send_json(
            type="export",
            run=run,
            script=script(r),
            script_name=f"playground_run{suffix}.py",
            model=model_file(r.model),
            model_name=MODEL_FILE.replace(".mlp", f"{suffix}.mlp"),
            epoch=r.epoch,
            train_loss=m["train"]["loss"] if math.isfinite(m["train"]["loss"]) else None,
            test_loss=m["test"]["loss"] if math.isfinite(m["test"]["loss"]) else None,
        )
        self.dirty = True
