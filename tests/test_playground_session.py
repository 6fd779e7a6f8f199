"""The session's flow control, without a server: the newest frame wins, nothing piles up.

Oracle: the protocol's rules (session.py): at most one frame in flight until the page
acknowledges it, reliable messages always delivered in order, training going on meanwhile.
"""

from __future__ import annotations

import json
import time

from mlplab.playground import frames
from mlplab.playground.session import MESSAGES, Outbox, Session


def test_outbox_keeps_messages_and_only_the_newest_frame():
    box = Outbox()
    box.send("a")
    box.put_frame(b"1")
    box.put_frame(b"2")
    box.send("b")
    assert box.take() == ["a", "b", b"2"]
    box.put_frame(b"3")
    box.send("c")
    assert box.take() == ["c"]  # the page has not acknowledged frame 2: frame 3 waits
    box.put_frame(b"4")
    box.ack()
    assert box.take() == [b"4"] and box.slot_free


def _frames(msgs):
    return [frames.decode(m)[0] for m in msgs if isinstance(m, bytes) and frames.decode(m)[0]["type"] == "frame"]


def _take_frames(session, n, timeout=10.0):
    """Frames until n came, acknowledging each as a page does."""
    out, t0 = [], time.monotonic()
    while len(out) < n and time.monotonic() - t0 < timeout:
        got = _frames(session.outbox.take())
        for _ in got:
            session.receive('{"type": "ack"}')
        out += got
        time.sleep(0.002)
    return out


def test_a_page_that_does_not_acknowledge_gets_no_backlog_then_a_recent_frame():
    session = Session()
    try:
        session.receive(json.dumps({"type": "config", "config": {"speed": 0}}))
        _take_frames(session, 1)
        session.receive('{"type": "play"}')
        first = None
        t0 = time.monotonic()
        while first is None and time.monotonic() - t0 < 10:
            got = _frames(session.outbox.take())
            first = got[-1] if got else None
            time.sleep(0.002)
        time.sleep(0.6)  # training goes on; the page draws nothing
        assert _frames(session.outbox.take()) == []  # no frame without an ack: no backlog
        session.receive('{"type": "ack"}')
        (second,) = _frames(session.outbox.take())
        assert second["epoch"] > first["epoch"] + 5  # a recent state, not the one after the first
        assert second["playing"]
    finally:
        session.close()


def test_one_epoch_per_frame_like_tf_playground():
    session = Session()
    try:
        session.receive('{"type": "play"}')
        got = _take_frames(session, 12)
        epochs = [h["epoch"] for h in got if h["playing"]]
        steps = [b - a for a, b in zip(epochs, epochs[1:])]
        assert steps and set(steps) <= {0, 1} and sum(steps) >= len(steps) - 1
    finally:
        session.close()


def test_every_message_type_is_registered_with_its_handler():
    assert {"ack", "config", "play", "pause", "step", "reset", "regenerate", "focus", "set_weight", "add_point",
            "upload_csv", "import_model", "export", "step_batch", "inspect", "lr_find"} <= set(MESSAGES)  # fmt: skip
    for m in MESSAGES.values():
        assert callable(m.handler) and "run" in m.fields
