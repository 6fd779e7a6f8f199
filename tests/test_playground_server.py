"""The playground's protocol through its server, without a browser (starlette's TestClient).

Configurations give frames of the network they configure, the limits are enforced on the
server, every malformed message gets an error message and the session goes on serving.
Oracles: ``model.predict`` on the view's grid for what a frame shows, ``mlplab.load`` for
the exported model file, and the protocol's rules (session.py).
"""

from __future__ import annotations

import base64
import json
import pickle
import re
import subprocess
import sys

import numpy as np
import pytest
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

import mlplab as ml
from mlplab.playground import data, frames, server, spec
from mlplab.playground.run import Run, make_data
from mlplab.playground.session import MAX_MESSAGE


@pytest.fixture(scope="module")
def client():
    with TestClient(server.create_app()) as c:
        yield c


class Page:
    """A scripted page: reads messages, acknowledges every frame as the real page does."""

    def __init__(self, ws):
        self.ws, self.rev, self.layout, self.config = ws, None, None, None

    def send(self, type_, **fields):
        self.ws.send_text(json.dumps({"type": type_, **fields}))

    def recv(self):
        m = self.ws.receive()
        assert m["type"] != "websocket.close", m
        if m.get("text") is not None:
            msg = json.loads(m["text"])
            if msg["type"] == "run":
                self.rev, self.layout, self.config, self.lanes = msg["rev"], msg["layout"], msg["config"], msg["lanes"]
            return msg
        header, sections = frames.decode(m["bytes"])
        if header["type"] == "frame":
            self.ws.send_text('{"type": "ack"}')
        return header, sections

    def until(self, pred, limit=3000):
        for _ in range(limit):
            msg = self.recv()
            if pred(msg):
                return msg
        raise AssertionError("the expected message never came")

    def frame(self, pred=lambda h: True, run="main"):
        """The next frame of the current run (``run``: "main", or a race's "lane1" ...) whose
        header satisfies pred."""
        return self.until(lambda m: isinstance(m, tuple) and m[0]["type"] == "frame" and m[0]["rev"] == self.rev
                          and m[0]["run"] == run and pred(m[0]))  # fmt: skip

    def new_run(self):
        """The first frame of the run a message started (after its "run" message)."""
        self.until(lambda m: isinstance(m, dict) and m["type"] == "run")
        return self.frame()

    def error(self):
        return self.until(lambda m: isinstance(m, dict) and m["type"] == "error")["message"]


@pytest.fixture
def page(client):
    with client.websocket_connect("/ws") as ws:
        p = Page(ws)
        hello = p.recv()
        assert hello["type"] == "hello"
        p.hello = hello
        p.send("config", config={})
        p.new_run()
        yield p


def _grid(names):
    return data.features(data.grid(), names)


def test_page_and_static_files_are_served_offline(client):
    index = client.get("/")
    assert index.status_code == 200 and "text/html" in index.headers["content-type"]
    assert 'src="/static/app.js"' in index.text
    for name in server.static_files():
        body = client.get(f"/static/{name}").text
        assert "https://" not in body and "cdn" not in body.lower()  # no CDN: the page works offline
    assert client.get("/static/nothing.js").status_code == 404
    assert client.get("/static/..%2Fserver.py").status_code == 404
    assert client.get("/static/__init__.py").status_code == 404


def test_hello_then_the_pages_configuration_starts_a_run(client):
    with client.websocket_connect("/ws") as ws:
        p = Page(ws)
        hello = p.recv()
        p.send("config", config={"noise": 10})
        run, (dh, ds), (fh, fs) = p.recv(), p.recv(), p.recv()
        assert hello["protocol"] == 1 and "config" in hello["messages"] and hello["options"]["limits"]["layers"] == 8
        assert run["type"] == "run" and run["layout"]["widths"] == [4, 2, 1] and run["config"]["noise"] == 10
        assert dh["type"] == "data" and ds["train_x"].shape == (250, 2)
        assert fh["type"] == "frame" and fh["epoch"] == 0 and fs["boundary"].shape == (100, 100)


def test_a_refused_first_configuration_still_starts_the_default_run(client):
    with client.websocket_connect("/ws") as ws:
        p = Page(ws)
        assert p.recv()["type"] == "hello"
        p.send("config", config={"networkShape": [None]})
        assert "networkShape[0]" in p.error()
        p.new_run()
        assert p.layout["widths"] == [4, 2, 1]


def test_a_link_with_a_bad_value_keeps_its_other_settings(client):
    with client.websocket_connect("/ws") as ws:
        p = Page(ws)
        assert p.recv()["type"] == "hello"
        p.send("config", config={"dataset": "spiral", "networkShape": [6, 6], "learningRate": -1}, link=True)
        notice = p.recv()
        assert notice["type"] == "notice" and notice["message"].startswith("Ignored in the link: learningRate must be")
        run = p.recv()
        assert run["config"]["dataset"] == "spiral" and run["layout"]["widths"] == [6, 6, 1]
        assert run["config"]["learningRate"] == 0.03  # the default, in place of the refused value


def test_a_configuration_gives_frames_of_its_network_and_training_lowers_the_loss(page):
    cfg = {"dataset": "spiral", "classes": 3, "networkShape": [16, 16], "activation": "relu", "optimizer": "adam",
           "learningRate": 0.01, "speed": 0, "x": True, "y": True}  # fmt: skip
    page.send("config", config=cfg)
    h, s = page.new_run()
    assert page.layout["widths"] == [16, 16, 3] and page.layout["kind"] == "multiclass" and "classes" in s
    assert s["nodes"].shape == (2 + 32, 20, 20)
    start = h["test"]["loss"]
    page.send("play")
    h, s = page.frame(lambda h: h["epoch"] >= 40)
    assert h["test"]["loss"] < 0.7 * start and h["train"]["accuracy"] > 0.4  # 3 classes: chance is 1/3
    page.send("pause")
    h, s = page.frame(lambda h: not h["playing"])
    assert h["steps"] == h["epoch"] * page.layout["steps_per_epoch"]


@pytest.mark.parametrize(
    "config, match",
    [
        ({"networkShape": [4] * 9}, "at most 8"),
        ({"networkShape": [65]}, r"\[1, 64\]"),
        ({"numSamples": 20_000}, "numSamples"),
        ({"learningRate": 1e9}, "learningRate"),
        ({"batchSize": -3}, "batchSize"),
        ({"classes": 9, "dataset": "spiral"}, "classes"),
        ({"regularizationRate": "lots"}, "regularizationRate"),
        ({"opt": {"lr": 5}}, "opt"),
        ({"seed": "a/b"}, "seed"),
        ({"dataset": "custom"}, "no classification points"),
        ("not an object", "config must be an object"),
    ],
)
def test_bounds_are_enforced_with_an_error_and_the_session_goes_on(page, config, match):
    page.send("config", config=config)
    assert re.search(match, page.error())
    page.send("step")
    h, _ = page.frame(lambda h: h["epoch"] == 1)
    assert page.layout["widths"] == [4, 2, 1]  # the run was not changed


def test_malformed_messages_get_error_frames(page):
    ws = page.ws
    cases = [
        (lambda: ws.send_text("{not json"), "must be JSON"),
        (lambda: ws.send_text("[1, 2]"), 'a JSON object with a "type"'),
        (lambda: ws.send_text('{"kind": "play"}'), '"type"'),
        (lambda: page.send("fly"), "type must be one of"),
        (lambda: page.send("play", speed=3), "fields among"),
        (lambda: ws.send_bytes(b"\x00\x01"), "JSON text"),
        (lambda: ws.send_text("x" * (MAX_MESSAGE + 1)), "at most"),
        (lambda: page.send("play", run="race"), "run must be one of main"),
        (lambda: page.send("set_weight", layer="a", to=0, value=1.0), "set_weight.layer"),
        (lambda: page.send("set_weight", layer=5, to=0, value=1.0), "layer must be an int in [0, 2]"),
        (lambda: page.send("set_weight", layer=0, to=0, value=float("1e9")), "set_weight.value"),
        (lambda: page.send("set_weight", layer=0, to=0), "set_weight.value must be given"),
        (lambda: page.send("add_point", x=7.0, y=0.0, label=1), "add_point.x"),
        (lambda: page.send("add_point", x=1.0, y=0.0, label=9), "label"),
        (lambda: page.send("focus", layer=99), "focus.layer"),
        (lambda: page.send("import_model", data="%%%"), "base64"),
        (lambda: page.send("import_model", data=base64.b64encode(b"PK\x03\x04 not a zip").decode()), "model file"),
        (lambda: page.send("upload_csv", text="1,2,0\n3,4\n"), "csv line 2"),
        (lambda: page.send("upload_csv", text=12), "upload_csv.text"),
    ]
    for send, match in cases:
        send()
        assert match in page.error(), match
    page.send("step")
    page.frame(lambda h: h["epoch"] == 1)  # still serving


def test_a_pickle_is_never_unpickled(page, tmp_path):
    class Boom:
        def __reduce__(self):
            return (print, ("unpickled!",))

    page.send("import_model", data=base64.b64encode(pickle.dumps(Boom())).decode())
    assert "model file" in page.error().lower() or "zip" in page.error().lower()


def test_a_bad_model_files_error_names_the_students_file(page):
    page.send("import_model", data=base64.b64encode(b"not a model at all").decode(), file_name="my_model.mlp")
    error = page.error()
    assert "my_model.mlp" in error and "mlplab-import-" not in error, error


def test_import_a_model_trained_in_python(page, tmp_path):
    X, y = data.generate("xor", n=400, seed=1)
    model = ml.MLP([2, 8, 8, 1], activation="relu", output="sigmoid", seed=1)
    model.fit(X, y, loss="bce", optimizer=ml.optim.Adam(lr=0.01), epochs=30, batch_size=20, verbose=0)
    model.save(tmp_path / "m.mlp")
    page.send("import_model", data=base64.b64encode((tmp_path / "m.mlp").read_bytes()).decode())
    h, s = page.new_run()
    assert page.layout["imported"] and page.layout["widths"] == [8, 8, 1] and page.layout["activations"][0] == "relu"
    p = model.predict(_grid(["x", "y"]))[:, 0]
    assert np.array_equal(s["boundary"].ravel(), np.rint(255 * p.astype(np.float64)).astype(np.uint8))
    page.send("config", config={"learningRate": 0.1})  # training options keep the imported network
    page.new_run()
    assert page.layout["imported"]
    page.send("config", config={"networkShape": [3]})  # a new network drops it
    page.new_run()
    assert not page.layout["imported"] and page.layout["widths"] == [3, 1]


def test_a_click_on_generated_data_keeps_its_points(page):
    page.send("add_point", x=-1.0, y=2.0, label=0)
    dh, ds = page.until(lambda m: isinstance(m, tuple) and m[0]["type"] == "data")
    page.frame()
    assert len(ds["train_y"]) == 251 and len(ds["test_y"]) == 250 and page.config["dataset"] == "custom"
    assert ds["train_x"][-1].tolist() == [-1.0, 2.0] and ds["train_y"][-1] == 0


def test_csv_upload_and_clicked_points(page):
    rows = [f"{x + 0.01 * i},{y},{i % 3}" for i, (x, y) in enumerate([(1, 1), (-2, 3), (3, -1)] * 10)]
    page.send("upload_csv", text="x1,x2,label\n" + "\n".join(rows))
    notice = page.until(lambda m: isinstance(m, dict) and m["type"] == "notice")
    assert "Loaded 30 points, 3 classes" in notice["message"]
    h, s = page.frame()
    assert page.config["dataset"] == "custom" and page.layout["kind"] == "multiclass"
    page.send("add_point", x=0.5, y=-0.5, label=1)
    dh, ds = page.until(lambda m: isinstance(m, tuple) and m[0]["type"] == "data")
    assert len(ds["train_y"]) == 15 + 1 and ds["train_x"][-1].tolist() == [0.5, -0.5]
    page.send("config", config={"dataset": "circle"})
    page.new_run()
    assert page.layout["classes"] == 2


def test_export_gives_the_script_and_the_model(page):
    page.send("config", config={"networkShape": [5], "optimizer": "adam"})
    page.new_run()
    for _ in range(3):
        page.send("step")
    h, s = page.frame(lambda h: h["epoch"] == 3)
    page.send("export")
    msg = page.until(lambda m: isinstance(m, dict) and m["type"] == "export")
    assert msg["epoch"] == 3 and msg["train_loss"] == h["train"]["loss"]
    assert "trainer.fit(source, epochs=3" in msg["script"]
    compile(msg["script"], "playground_run.py", "exec")
    model = _load_b64(msg["model"])
    assert np.array_equal(model.get_weights().astype(np.float32), s["weights"][_order(model)])


def _load_b64(text):
    import tempfile

    with tempfile.TemporaryDirectory() as d:
        path = f"{d}/m.mlp"
        with open(path, "wb") as f:
            f.write(base64.b64decode(text))
        return ml.load(path)


def _order(model):
    """Indices of the frame's weights (W, b per layer) in the order of get_weights (all W, then all b)."""
    idx, o = {"W": [], "b": []}, 0
    for layer in model.layers:
        if isinstance(layer, ml.Dense):
            idx["W"] += range(o, o + layer.W.size)
            o += layer.W.size
            idx["b"] += range(o, o + layer.b.size)
            o += layer.b.size
    return idx["W"] + idx["b"]


def test_set_weight_and_focus(page):
    page.send("set_weight", layer=0, to=3, value=2.5, **{"from": 1})
    page.send("set_weight", layer=2, to=0, value=-0.75)
    edited = lambda m: isinstance(m, tuple) and m[0]["type"] == "frame" and m[1]["weights"][-1] == -0.75  # noqa: E731
    h, s = page.until(edited)
    assert s["weights"][:8].reshape(2, 4)[1, 3] == 2.5  # W of layer 0 (2 x 4), row 1, column 3
    page.send("focus", layer=1, index=2)
    h, s = page.until(lambda m: isinstance(m, tuple) and "focus" in m[1])
    assert s["focus"].shape == (100, 100)


def test_divergence_is_explained_in_the_frame(page):
    page.send("config", config={"problem": "regression", "learningRate": 10.0, "activation": "relu",
                                "networkShape": [8, 8], "speed": 0})  # fmt: skip
    page.new_run()
    page.send("play")
    h, _ = page.frame(lambda h: h["status"] == "diverged")
    assert not h["playing"] and "learning rate of 10" in h["message"]
    page.send("play")
    assert "reset it" in page.until(lambda m: isinstance(m, dict) and m["type"] == "notice")["message"]
    page.send("reset")
    h, _ = page.new_run()
    assert h["status"] == "ready" and h["epoch"] == 0


def test_view_keys_keep_the_run(page):
    page.send("step")
    page.frame(lambda h: h["epoch"] == 1)
    page.send("config", config={"discretize": True, "showTestData": True, "speed": 5})
    rev = page.rev
    h, _ = page.frame(lambda h: h["frame"] > 2)
    assert h["epoch"] == 1 and page.rev == rev  # the same run, no "run" message


def test_another_origin_is_refused(client):
    with pytest.raises(WebSocketDisconnect), client.websocket_connect("/ws", headers={"origin": "http://evil.example"}):
        pass
    with client.websocket_connect("/ws", headers={"origin": "http://testserver"}) as ws:
        assert Page(ws).recv()["type"] == "hello"


def test_sessions_are_bounded():
    with TestClient(server.create_app(max_sessions=1)) as c, c.websocket_connect("/ws") as first:
        assert Page(first).recv()["type"] == "hello"
        with pytest.raises(WebSocketDisconnect), c.websocket_connect("/ws"):
            pass


def test_loopback_hosts():
    assert server.is_loopback("127.0.0.1") and server.is_loopback("::1") and server.is_loopback("localhost")
    assert not server.is_loopback("0.0.0.0") and not server.is_loopback("192.168.1.2")


def _start(*args):
    cmd = [sys.executable, "-u", "-m", "mlplab.cli", "playground", "--no-browser", "--port", "0", *args]
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def test_the_command_serves_the_page_on_loopback():
    from urllib.request import urlopen

    proc = _start()
    try:
        line = proc.stdout.readline()
        m = re.match(r"mlplab playground: (http://127\.0\.0\.1:\d+/)", line)
        assert m, line
        with urlopen(m.group(1), timeout=30) as page:
            assert "mlplab playground" in page.read().decode()
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_ctrl_c_stops_the_command_cleanly():
    import signal

    proc = _start()
    assert "mlplab playground: http://" in proc.stdout.readline()
    proc.send_signal(signal.SIGINT)
    out, _ = proc.communicate(timeout=20)
    assert proc.returncode == 0 and "stopped" in out and "Traceback" not in out


def test_another_host_is_served_with_a_warning():
    proc = _start("--host", "0.0.0.0")
    try:
        warning = proc.stdout.readline()
        assert warning.startswith("warning: listening on 0.0.0.0") and "127.0.0.1" in warning
        assert "mlplab playground: http://0.0.0.0:" in proc.stdout.readline()
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_the_command_without_its_extra_says_what_to_install(monkeypatch, capsys):
    from mlplab.cli import main

    monkeypatch.setitem(sys.modules, "uvicorn", None)  # as if mlplab[playground] were not installed
    assert main(["playground", "--no-browser"]) == 2
    assert "pip install 'mlplab[playground]'" in capsys.readouterr().err


def test_a_port_in_use_is_an_error(capsys):
    import socket

    from mlplab.cli import main

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        assert main(["playground", "--no-browser", "--port", str(busy.getsockname()[1])]) == 2
    assert "cannot listen on 127.0.0.1" in capsys.readouterr().out


def test_a_race_trains_every_run_in_step_from_the_same_start(page):
    cfg = {"dataset": "xor", "networkShape": [4, 2], "speed": 2, "race": ["sgd:0.03", "adam:0.01"]}
    page.send("config", config=cfg)
    page.new_run()
    assert [lane["lane"] for lane in page.lanes] == ["sgd:0.03", "adam:0.01"]
    for _ in range(3):
        page.send("step")
    main, s0 = page.frame(lambda h: h["epoch"] == 3)
    lane1, s1 = page.frame(lambda h: h["epoch"] == 3, run="lane1")
    lane2, s2 = page.frame(lambda h: h["epoch"] == 3, run="lane2")
    for key in ("boundary", "weights"):  # the same optimizer twice: the same frames
        assert np.array_equal(s0[key], s1[key])
    assert lane1["curve"] == main["curve"] and lane1["test"] == main["test"]
    assert not np.array_equal(s0["weights"], s2["weights"]) and lane2["test"]["loss"] != main["test"]["loss"]
    assert lane2["curve"]["test"][0] == main["curve"]["test"][0]  # the same initial weights
    for lane, (h, s) in zip(page.lanes, ((lane1, s1), (lane2, s2))):  # each run is its configuration's fit
        run = Run(spec.check_config(lane["config"]), make_data(spec.check_config(page.config)))
        run.advance(3 * run.steps_per_epoch)
        flat = np.concatenate([np.concatenate([L.W.ravel(), L.b]) for L in run.dense_layers()])
        assert (
            np.array_equal(s["weights"], flat.astype(np.float32)) and h["test"]["loss"] == run.metrics["test"]["loss"]
        )


def test_lr_find_answers_with_lr_finds_result(page):
    page.send("config", config={"dataset": "circle", "networkShape": [4, 2], "activation": "relu", "optimizer": "adam"})
    page.new_run()
    page.send("lr_find", num_steps=200)
    msg = page.until(lambda m: isinstance(m, dict) and m["type"] == "lr_find")
    run = Run(spec.check_config(page.config), make_data(spec.check_config(page.config)))
    want = ml.lr_find(run.model, run.F_train, run.Y_train, "bce", ml.optim.Adam(), start_lr=1e-5, end_lr=10.0,
                      num_steps=200, batch_size=run.batch_size, seed=run.seed)  # fmt: skip
    assert msg["suggestion"] == want.suggestion and msg["lr"] == pytest.approx(want.lr)
    assert want.suggestion is not None and msg["applied"] == float(f"{want.suggestion:.3g}")
    assert msg["rev"] == page.rev and msg["config"] == page.config  # the setup it measured
    page.send("lr_find", num_steps=5)
    assert "num_steps" in page.error()
