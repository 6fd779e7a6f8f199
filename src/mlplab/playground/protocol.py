"""The playground's protocol, apart from what the messages do: the registry of message types,
the checks of their fields, the parsing of a message, and the outbox the WebSocket sends from.

The page sends JSON text messages ``{"type": T, ...}``. ``message(T, **fields)`` registers the
function that handles type T (a ``Session`` method, or a function of the session defined in
another module: ``trace.py``, ``tools.py``) with its fields, each a (check, default) pair; every
message may also name its ``run`` ("main" by default). ``parse`` checks a message against the
registry, so a handler only ever sees checked values.

The outbox: messages that are always sent, in order, and one slot for the newest set of frames
(one frame per run), sent when the page has acknowledged every frame of the set before.
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from dataclasses import dataclass

from .._validation import check_int, check_real, fail

__all__ = ["Message", "MESSAGES", "REQUIRED", "message", "parse", "Outbox", "MAX_MESSAGE", "text", "integer", "real"]

MAX_MESSAGE = 6_000_000  # a text message: a model file in base64 fits


@dataclass
class Message:
    """A registered message type (a dataclass: each field is an argument and an attribute).

    Parameters
    ----------
    name : str
        The type, the JSON message's "type".
    fields : dict
        {field: (check, default)}: ``check(name, value)`` returns the checked value or raises
        ArgumentError; the default is ``REQUIRED`` for a field that must be given.
    handler : callable
        ``handler(session, run, **fields)``.
    on_worker : bool, default True
        Whether the handler runs on the session's worker thread (False: at once, on the
        connection's thread).
    """

    name: str
    fields: dict  # field -> (check(name, value) -> value, default or REQUIRED)
    handler: object  # f(session, **fields)
    on_worker: bool = True


MESSAGES: dict[str, Message] = {}
REQUIRED = object()


def message(name, on_worker=True, **fields):
    """Register the decorated function ``f(session, run, **fields)`` as the handler of messages
    of type ``name``; ``fields`` maps each field to (check, default), a missing field without
    default (``REQUIRED``) being an error. Every message may also name its ``run``.

    Parameters
    ----------
    name : str
        The message type; a type registered again replaces the earlier handler.
    on_worker : bool, default True
        As for ``Message``.
    **fields : tuple of (callable, object)
        As ``Message.fields`` (``run`` is added, default "main").

    Returns
    -------
    callable
        The decorator; it returns the function unchanged.
    """

    def register(fn):
        MESSAGES[name] = Message(name, {"run": (_run_name, "main"), **fields}, fn, on_worker)
        return fn

    return register


def _run_name(name, value):
    if not isinstance(value, str) or len(value) > 32:
        raise fail(name, "the name of a run", value)
    return value


def text(limit):
    """A field check: a string of at most ``limit`` characters.

    Parameters
    ----------
    limit : int
        The longest string allowed, in characters.

    Returns
    -------
    callable
        ``check(name, value)``: the value, or ArgumentError naming the field.
    """

    def check(name, value):
        if not isinstance(value, str) or len(value) > limit:
            raise fail(name, f"text of at most {limit:,} characters", got=type(value).__name__)
        return value

    return check


def integer(low, high, optional=False):
    """A field check: an int in [low, high] (or None when ``optional``).

    Parameters
    ----------
    low, high : int
        The bounds, both included.
    optional : bool, default False
        Whether None is accepted (and passed on).

    Returns
    -------
    callable
        As for ``text``.
    """

    def check(name, value):
        return None if optional and value is None else check_int(name, value, low, high)

    return check


def real(low, high):
    """A field check: a finite number in [low, high].

    Parameters
    ----------
    low, high : float
        The bounds, both included.

    Returns
    -------
    callable
        As for ``text``.
    """
    return lambda name, value: check_real(name, value, low, high)


def anything(name, value):
    """A field the handler checks itself."""
    return value


def parse(text_, runs) -> tuple:
    """(Message, {field: checked value}) of a message from the page; ``runs`` are the names
    a message may give as its ``run``.

    Parameters
    ----------
    text_ : str or None
        The message's JSON text; None (a binary message) is refused.
    runs : iterable of str
        Names of the session's runs ("main" is always allowed).

    Returns
    -------
    spec : Message
        The registered type.
    fields : dict
        {field: checked value}, ``run`` and defaults included.

    Raises
    ------
    ArgumentError
        Naming what is wrong: no text, more than ``MAX_MESSAGE`` characters, not JSON, no
        "type", an unknown type or field, a missing required field ("type.field"), a value
        its check refuses, an unknown run.
    """
    if text_ is None:
        raise fail("message", "JSON text (the page sends no binary messages)", got="binary data")
    if len(text_) > MAX_MESSAGE:
        raise fail("message", f"at most {MAX_MESSAGE:,} characters", got=f"{len(text_):,}")
    try:
        msg = json.loads(text_)
    except ValueError as e:
        raise fail("message", "JSON", got=f"text that is not ({e})") from None
    if not isinstance(msg, dict) or not isinstance(msg.get("type"), str):
        raise fail("message", 'a JSON object with a "type"', got=text_[:80])
    spec_ = MESSAGES.get(msg["type"])
    if spec_ is None:
        raise fail("type", "one of " + ", ".join(sorted(MESSAGES)), msg["type"])
    unknown = set(msg) - set(spec_.fields) - {"type"}
    if unknown:
        raise fail(f"{msg['type']} message", f"fields among {', '.join(spec_.fields)}", got=sorted(unknown))
    kwargs = {}
    for field, (check, default) in spec_.fields.items():
        if field not in msg:
            if default is REQUIRED:
                raise fail(f"{msg['type']}.{field}", "given", got="nothing")
            kwargs[field] = default
        else:
            kwargs[field] = check(f"{msg['type']}.{field}", msg[field])
    names = {"main", *runs}
    if kwargs["run"] not in names:
        raise fail("run", "one of " + ", ".join(sorted(names)), kwargs["run"])
    return spec_, kwargs


class Outbox:
    """Between the worker thread and the WebSocket's sender: messages that are always sent,
    in order, and one slot for the newest frames (bytes, or a list of them: one per run),
    sent when the page has acknowledged every frame sent before. Thread-safe.

    Parameters
    ----------
    wake : callable or None, default None
        ``wake()``, called after each change that gives the sender something to take.
    on_free : callable or None, default None
        ``on_free()``, called when ``take`` empties the slot (the worker may render again).
    """

    def __init__(self, wake=None, on_free=None):
        self._lock = threading.Lock()
        self._queue = deque()
        self._frame = None
        self._unacked = 0
        self.slot_free = True
        self.frame_time = 0.0
        self._wake = wake or (lambda: None)
        self._on_free = on_free or (lambda: None)

    def send(self, msg):
        """Queue a message, never dropped.

        Parameters
        ----------
        msg : str or bytes
            JSON text, or a binary message (``frames.encode``).
        """
        with self._lock:
            self._queue.append(msg)
        self._wake()

    def send_json(self, **fields):
        """Queue the JSON text of ``fields`` (``send``).

        Parameters
        ----------
        **fields
            The message's fields, JSON-ready with no NaN or infinity (ValueError otherwise).
        """
        self.send(json.dumps(fields, allow_nan=False))

    def put_frame(self, frame):
        """Put the newest frame, or list of frames, in the slot (replacing what the page has
        not taken).

        Parameters
        ----------
        frame : bytes or list of bytes
            A frame (``Renderer.render``), or one per run.
        """
        with self._lock:
            self._frame, self.slot_free, self.frame_time = frame, False, time.perf_counter()
        self._wake()

    def stale(self, seconds) -> bool:
        """Whether a frame waits in the slot and was put there more than ``seconds`` ago.

        Parameters
        ----------
        seconds : float
            The age, in seconds (of ``time.perf_counter``).

        Returns
        -------
        bool
            False when the slot is free.
        """
        return not self.slot_free and time.perf_counter() - self.frame_time > seconds

    def clear_frame(self):
        """Drop the frame waiting in the slot, if any (a new run's frames replace it)."""
        with self._lock:
            self._frame, self.slot_free = None, True

    def ack(self):
        """The page has drawn one frame."""
        with self._lock:
            self._unacked = max(0, self._unacked - 1)
        self._wake()

    def take(self) -> list:
        """What to send now: the queued messages, then the frames if the page is ready (has
        acknowledged every frame of the set sent before); those frames then count as unacked.

        Returns
        -------
        list of str or bytes
            In the order to send them; may be empty.
        """
        freed = False
        with self._lock:
            out = list(self._queue)
            self._queue.clear()
            if self._unacked == 0 and self._frame is not None:
                batch = self._frame if isinstance(self._frame, list) else [self._frame]
                out += batch
                self._unacked = len(batch)
                self._frame, self.slot_free, freed = None, True, True
        if freed:
            self._on_free()
        return out
