"""The playground's views beyond TF Playground, end to end in headless Chromium: the optimizer
race, step-through backpropagation, the live diagnostics, the learning-rate finder and the
guided tours.

Fixtures ``url``, ``browser`` and ``page`` come from ``playground_page.py`` (Debian's chromium
driven by Playwright; ``.ci/run`` fails if these tests are skipped). Every number the page shows
is checked against the library: a race's losses against the script each pane exports, run in a
subprocess; the step-through's numbers (read from the page's own text, each number's exact value
in its ``data-v``) against ``loss_and_grad`` and the optimizer's ``step`` on copies taken before
the update (within 1e-6, the engine being float32); the diagnostics against a run trained in
Python with ``Diagnostics``; the finder's suggestion against ``mlplab.lr_find``. Screenshots go
to ``out/playground/`` (one per test, looked at by a person).
"""

from __future__ import annotations

import copy
import re
import subprocess
import sys
from urllib.parse import unquote

import numpy as np
import pytest
from playground_page import ARTEFACTS
from playground_page import js as _js
from playground_page import new_run as _new_run
from playground_page import open_page as _open
from playground_page import wait as _wait

import mlplab as ml
from mlplab import diagnostics
from mlplab.playground import frames, spec
from mlplab.playground.data import features
from mlplab.playground.run import Run, make_data

TOL = 1e-6


def _pause(page):
    """Pause and wait until every run of the race shows the same finished epoch."""
    page.click("#play")
    _wait(page, "!m.header.playing && Object.values(m.lanes).every((h) => h.epoch === m.header.epoch && !h.playing)")


def _python_run(page, run="main", epochs=None):
    """The run's configuration trained in Python (``Run``: fit's loop, bit for bit) to the page's epoch."""
    cfg = _js(page, "m.S.cfg") if run == "main" else _js(page, f"m.S.lanes.find((l) => l.run === '{run}').config")
    r = Run(spec.check_config(cfg), make_data(spec.check_config(_js(page, "m.S.cfg"))))
    epochs = _js(page, "m.header.epoch") if epochs is None else epochs
    r.advance(epochs * r.steps_per_epoch)
    assert r.epoch == epochs
    return r


def _pane_pixels(page, run):
    return page.evaluate(
        f"""() => {{ const c = document.querySelector('.pane[data-run="{run}"] canvas.pane-boundary');
        return Array.from(c.getContext('2d').getImageData(0, 0, c.width, c.height).data); }}"""
    )


def _shown(page, box="#bp-detail"):
    """Every number the view shows: key -> its exact value (data-v of the spans)."""
    return page.evaluate(
        f"""() => Object.fromEntries(Array.from(document.querySelectorAll('{box} .num'))
        .map((s) => [s.dataset.k, s.dataset.v === '' ? null : Number(s.dataset.v)]))"""
    )


# -- the optimizer race -------------------------------------------------------------------------
RACE = "#dataset=xor&networkShape=4,2&activation=tanh&speed=5&race=sgd:0.03,adam:0.01"


def test_race_the_same_optimizer_twice_gives_identical_frames_and_adam_others(page, url):
    _open(page, url, RACE)
    assert page.locator(".pane").count() == 3 and _js(page, "m.S.lanes.map((l) => l.lane)") == ["sgd:0.03", "adam:0.01"]
    page.click("#play")
    _wait(page, "m.header.epoch >= 40")
    _pause(page)
    main, lane1, lane2 = _js(page, "m.header"), _js(page, "m.lanes.lane1"), _js(page, "m.lanes.lane2")
    assert lane1["curve"] == main["curve"] and lane1["test"]["loss"] == main["test"]["loss"]
    assert _pane_pixels(page, "main") == _pane_pixels(page, "lane1")
    assert lane1["diag"]["grad_norm"] == main["diag"]["grad_norm"]
    assert lane2["test"]["loss"] != main["test"]["loss"] and _pane_pixels(page, "lane2") != _pane_pixels(page, "main")
    assert lane2["curve"]["test"][0] == main["curve"]["test"][0]  # the same initial weights: the same loss at epoch 0
    assert "adam:0.01" in page.inner_text("#race-legend")


def test_each_panes_loss_is_the_exported_scripts(page, url, tmp_path):
    race = "race=adam:0.01,sgd:0.1:momentum=0.9:cosine"
    _open(page, url, f"#dataset=circle&networkShape=5&activation=relu&speed=5&{race}")
    page.click("#play")
    _wait(page, "m.header.epoch >= 30")
    _pause(page)
    for run in ("main", "lane1", "lane2"):
        n = _js(page, "m.exports.length")
        page.locator(f'.pane[data-run="{run}"] button', has_text="Export").click()
        _wait(page, f"m.exports.length > {n}")
        with page.expect_download() as d:
            page.click("#script-link")
        script = tmp_path / d.value.suggested_filename
        d.value.save_as(script)
        out = subprocess.run([sys.executable, str(script)], cwd=tmp_path, capture_output=True, text=True, timeout=120)
        assert out.returncode == 0, out.stderr
        m = re.search(r"epochs (\d+), train loss ([\d.]+), test loss ([\d.]+)", out.stdout)
        h = _js(page, "m.header") if run == "main" else _js(page, f"m.lanes.{run}")
        shown = float(page.locator(f'.pane[data-run="{run}"]').get_attribute("data-test-loss"))
        print(f"{run}: page test loss {shown:.6f}, script {m.group(3)}")
        assert int(m.group(1)) == h["epoch"]
        assert float(m.group(3)) == pytest.approx(shown, abs=1e-6) and shown == h["test"]["loss"]
        assert float(m.group(2)) == pytest.approx(h["train"]["loss"], abs=1e-6)


def test_a_race_is_added_removed_and_reproduced_from_its_url(page, url, browser):
    _open(page, url, "#dataset=circle&networkShape=3&speed=5")
    assert not page.is_visible("#race-chart")
    page.fill("#race-text", "adam:0.003")
    _new_run(page, lambda: page.click("#race-add"), "m.S.lanes.length === 1")
    page.fill("#race-text", "sgd:0.03:act=sigmoid")
    _new_run(page, lambda: page.press("#race-text", "Enter"), "m.S.lanes.length === 2")
    assert "race=adam:0.003,sgd:0.03:act=sigmoid" in unquote(page.url)
    assert _js(page, "m.S.lanes[1].layout.activations[0]") == "sigmoid"
    page.fill("#race-text", "nonsense:1")
    page.click("#race-add")
    _wait(page, "m.errors.some((e) => e.includes('optimizer'))")
    page.click("#step")
    _wait(page, "m.header.epoch === 1 && m.lanes.lane2 && m.lanes.lane2.epoch === 1")
    for epoch in range(2, 5):
        page.click("#step")
        _wait(page, f"m.header.epoch === {epoch} && m.lanes.lane2.epoch === {epoch}")
    losses = _js(page, "[m.header.test.loss, m.lanes.lane1.test.loss, m.lanes.lane2.test.loss]")
    other = browser.new_page()
    _open(other, page.url)
    assert _js(other, "m.S.lanes.map((l) => l.lane)") == ["adam:0.003", "sgd:0.03:act=sigmoid"]
    for epoch in range(1, 5):
        other.click("#step")
        _wait(other, f"m.header.epoch === {epoch} && m.lanes.lane2 && m.lanes.lane2.epoch === {epoch}")
    assert _js(other, "[m.header.test.loss, m.lanes.lane1.test.loss, m.lanes.lane2.test.loss]") == losses
    other.close()
    _new_run(page, lambda: page.locator('.pane[data-run="lane1"] .pane-remove').click(), "m.S.lanes.length === 1")
    assert _js(page, "m.S.cfg.race") == ["sgd:0.03:act=sigmoid"]


# -- step-through backpropagation ---------------------------------------------------------------
def _oracle(page, steps):
    """The run's network and optimizer after ``steps`` updates (copies), the batch of the next one,
    and the gradient and step the library gives on it."""
    r = _python_run(page, epochs=0)
    r.advance(steps)
    before, opt = r.model.astype(r.model.dtype), copy.deepcopy(r.trainer.optimizer)
    r._batches = r._batches or r.source.batches(r.trainer.rng)
    X, Y, _ = next(r._batches)
    J = before.loss_and_grad(X, Y, r.trainer.loss, r.trainer.regularizer)
    grads = [g.copy() for g in before.grads()]
    params = [p.copy() for p in before.params()]
    opt.step(before)
    return {"X": X, "Y": Y, "J": J, "grads": grads, "params": params, "model": before, "opt": opt}


def _link_point(page, layer, i, j, t=0.3):
    """A point on link (layer, i, j) of the diagram, a third of its way (its middle may be a crossing)."""
    return page.evaluate(
        f"""() => {{ const n = window.mlplab.net, r = n.canvas.getBoundingClientRect();
        const [x0, y0, x1, y1] = n.ends({layer}, {i}, {j});
        return [r.left + x0 + {t} * (x1 - x0), r.top + y0 + {t} * (y1 - y0)]; }}"""
    )


def _step_batches(page, k):
    for i in range(k):
        page.click("#step-batch")
        _wait(page, f"m.trace && m.trace.t === {i + 1}")


def test_step_through_a_link_shows_loss_and_grad_and_adams_step(page, url):
    _open(page, url, "#networkShape=4,3&activation=tanh&optimizer=adam&learningRate=0.01&batchSize=10")
    _step_batches(page, 3)
    o = _oracle(page, 2)
    assert np.allclose(_js(page, "m.trace.X"), o["X"], atol=TOL)  # the batch the library's next update takes
    assert _js(page, "m.trace.J") == pytest.approx(o["J"], abs=TOL)
    layer, i, j = 1, 2, 1  # the link from neuron 3 of layer 1 to neuron 2 of layer 2
    x, y = _link_point(page, layer, i, j)
    page.mouse.click(x, y)
    _wait(page, f"m.inspect && m.inspect.layer === {layer} && m.inspect.from === {i} && m.inspect.to === {j}")
    shown = _shown(page)
    text = page.inner_text("#bp-detail")
    assert "Weight from neuron 3 of layer 1 to neuron 2 of layer 2" in text and "Chain rule" in text
    W = o["model"].layers[2 * layer].W
    n = len(o["X"])
    # the forward and backward values per sample, against the library's own forward pass
    A0 = np.tanh(o["X"] @ o["params"][0] + o["params"][1])
    Z = A0 @ o["params"][2] + o["params"][3]
    for s in range(min(n, 8)):
        assert shown[f"input-{s}"] == pytest.approx(A0[s, i], abs=TOL)
        assert shown[f"z-{s}"] == pytest.approx(Z[s, j], abs=TOL)
        assert shown[f"a-{s}"] == pytest.approx(np.tanh(Z[s, j]), abs=TOL)
        assert shown[f"prod-{s}"] == pytest.approx(shown[f"input-{s}"] * shown[f"delta-{s}"], abs=TOL)
    assert shown["grad"] == pytest.approx(o["grads"][2 * layer][i, j], abs=TOL)  # dJ/dw of loss_and_grad
    assert shown["before"] == pytest.approx(o["params"][2 * layer][i, j], abs=TOL)
    assert shown["after"] == pytest.approx(W[i, j], abs=TOL)  # the optimizer's step
    assert shown["update"] == pytest.approx(W[i, j] - o["params"][2 * layer][i, j], abs=TOL)
    k = _js(page, "m.inspect.weight.index")
    assert shown["state-exp_avg-after"] == pytest.approx(o["opt"].state["exp_avg"][k], abs=TOL)
    assert shown["state-exp_avg_sq-after"] == pytest.approx(o["opt"].state["exp_avg_sq"][k], abs=1e-9)
    t, lr, (b1, b2), eps = 3, 0.01, o["opt"].betas, o["opt"].eps  # torch's Adam, its bias corrections
    m_hat = o["opt"].state["exp_avg"][k] / (1 - b1**t)
    v_hat = o["opt"].state["exp_avg_sq"][k] / (1 - b2**t)
    assert shown["m_hat"] == pytest.approx(m_hat, abs=TOL) and shown["v_hat"] == pytest.approx(v_hat, abs=1e-9)
    assert shown["step"] == pytest.approx(lr * m_hat / (np.sqrt(v_hat) + eps), abs=TOL)
    assert shown["after"] == pytest.approx(shown["before"] - shown["step"], abs=TOL)
    assert shown["chain-term"] == pytest.approx(shown["chain-delta2"] * shown["chain-input"], abs=TOL)
    assert shown["chain-da"] * shown["chain-fprime"] == pytest.approx(shown["chain-delta"], abs=TOL)  # dJ/da f'(z)
    whole = _js(page, "m.inspect")  # every sample of the batch: the chain rule's sum is loss_and_grad's dJ/dw
    assert sum(a * d for a, d in zip(whole["input"], whole["delta"])) == pytest.approx(shown["grad"], abs=TOL)


def test_step_through_a_bias_and_the_output_with_momentum(page, url):
    _open(page, url, "#networkShape=3&activation=relu&optimizer=sgd&opt.momentum=0.9&learningRate=0.1")
    _step_batches(page, 2)
    o = _oracle(page, 1)
    x, y = _js(page, "m.net.nodeCenter(1, 1)")  # neuron 2 of the hidden layer: its bias
    page.mouse.click(x, y)
    _wait(page, "m.inspect && m.inspect.from === null && m.inspect.layer === 0 && m.inspect.to === 1")
    shown = _shown(page)
    assert "Bias of neuron 2 of layer 1" in page.inner_text("#bp-detail")
    assert shown["grad"] == pytest.approx(o["grads"][1][1], abs=TOL)  # dJ/db = sum of delta
    assert shown["after"] == pytest.approx(o["model"].layers[0].b[1], abs=TOL)
    k = _js(page, "m.inspect.bias.index")
    assert shown["state-momentum_buffer-after"] == pytest.approx(o["opt"].state["momentum_buffer"][k], abs=TOL)
    assert shown["state-momentum_buffer-after"] == pytest.approx(
        0.9 * shown["state-momentum_buffer-before"] + shown["g_used"], abs=TOL
    )  # buf <- mu buf + g, written out with these numbers
    assert shown["after"] == pytest.approx(shown["before"] - 0.1 * shown["step"], abs=TOL)  # b <- b - lr buf
    x, y = _js(page, "m.net.nodeCenter(2, 0)")  # the output: delta = (y_hat - y) / n
    page.mouse.click(x, y)
    _wait(page, "m.inspect && m.inspect.layer === 1 && m.inspect.from === null")
    shown = _shown(page)
    n = len(o["X"])
    assert shown["chain-delta"] == pytest.approx((shown["chain-a"] - shown["chain-y"]) / n, abs=TOL)
    assert shown["chain-y"] == o["Y"][0, 0] and shown["grad"] == pytest.approx(o["grads"][3][0], abs=TOL)
    page.click("#play")  # playing leaves the step-through
    _wait(page, "m.header.playing")
    assert not page.locator("#backprop.active").count()
    page.click("#play")


# -- live diagnostics ---------------------------------------------------------------------------
def test_vanishing_gradient_deep_sigmoid_beside_relu(page, url):
    _open(page, url, "#tour=vanishing&epochs=40")
    assert _js(page, "m.S.cfg.networkShape") == [8, 8, 8, 8] and _js(page, "m.S.lanes[0].lane") == "sgd:0.3:act=sigmoid"
    page.click("#play")
    _wait(page, "m.header.epoch === 40 && m.lanes.lane1.epoch === 40 && !m.header.playing", timeout=120_000)
    relu, sig = _js(page, "m.header.diag"), _js(page, "m.lanes.lane1.diag")
    py = _python_run(page, "lane1")
    assert sig["last"]["grad_norm"] == pytest.approx(py.diag["grad_norm"][-1].tolist(), rel=1e-5)

    def ratio(d):  # the first layer's gradient norm over the last one's, median over the epochs
        return float(np.median([row[0] / row[-1] for row in d["grad_norm"]]))

    print(f"first/last layer gradient norm (median of 40 epochs): relu {ratio(relu):.3g}, sigmoid {ratio(sig):.3g}")
    assert ratio(sig) < 0.1 * ratio(relu)
    assert "vanishing" in [w["kind"] for w in sig["warnings"]]
    assert "vanishing gradient" in page.inner_text('.pane[data-run="lane1"] .pane-warn')
    py = _python_run(page)
    shown = _shown(page, "#diag-table")
    for name in ("grad_norm", "update_ratio", "weight_norm"):
        for layer in range(5):
            assert shown[f"{name}-{layer}"] == pytest.approx(float(py.diag[name][-1][layer]), rel=1e-5)
    assert _js(page, "m.header.diag.grad_norm.length") == len(py.diag["grad_norm"])


def test_dead_and_saturated_units_are_marked_and_warned(page, url):
    _open(page, url, "#networkShape=3&activation=relu")
    for r in (1, 2):  # the biases of neurons 2 and 3: ReLUs that are 0 for every input
        x, y = _js(page, f"m.net.nodeCenter(1, {r})")
        page.mouse.click(x, y)
        page.fill("#edit-value", "-50")
        page.press("#edit-value", "Enter")
        _wait(page, f"m.S.frame && m.S.frame.sections.weights[6 + {r}] === -50")
    page.click("#step")
    _wait(page, "m.header.epoch === 1")
    r = _python_run(page, epochs=0)
    r.set_weight(0, None, 1, -50.0)
    r.set_weight(0, None, 2, -50.0)
    r.advance(r.steps_per_epoch)
    dead = np.flatnonzero(diagnostics.units(r.model, r.probe)[0]["dead"]).tolist()
    assert _js(page, "m.net.marks.dead") == [[0, k] for k in dead] and {1, 2} <= set(dead)
    assert _shown(page, "#diag-table")["dead_fraction-0"] == pytest.approx(len(dead) / 3)
    assert f"dead ReLUs: {len(dead) / 3:.0%} of layer 1's units output 0" in page.inner_text("#diag-warnings")
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTEFACTS / "test_dead_and_saturated_units_are_marked_and_warned-relu.png"))
    _open(page, url, "#networkShape=4&activation=sigmoid&seed=2")
    x, y = _js(page, "m.net.nodeCenter(1, 0)")
    page.mouse.click(x, y)
    page.fill("#edit-value", "40")
    page.press("#edit-value", "Enter")
    _wait(page, "m.S.frame && m.S.frame.sections.weights[8] === 40")
    page.click("#step")
    _wait(page, "m.header.epoch === 1")
    r = _python_run(page, epochs=0)
    r.set_weight(0, None, 0, 40.0)
    r.advance(r.steps_per_epoch)
    units = diagnostics.units(r.model, r.probe)
    assert _js(page, "m.header.units[0].saturated") == pytest.approx(units[0]["saturated"].tolist(), abs=1e-6)
    assert [0, 0] in _js(page, "m.net.marks.saturated")


def test_schedule_cursor_early_stopping_bar_and_best_epoch(page, url):
    cfg = "#dataset=circle&noise=35&numSamples=200&percTrainData=30&networkShape=16,16&activation=relu&optimizer=adam"
    _open(page, url, cfg + "&learningRate=0.03&patience=8&schedule=step&sched.step_size=10&speed=2")
    page.click("#play")
    _wait(page, "m.header.status === 'stopped'", timeout=120_000)
    h = _js(page, "m.header")
    r = _python_run(page, epochs=0)
    r.advance(10**6)  # to early stopping's end, as the page ran
    stop = next(c for c in r.trainer.callbacks.callbacks if isinstance(c, ml.callbacks.EarlyStopping))
    assert h["epoch"] == r.epoch and h["early"]["best_epoch"] == stop.best_epoch
    assert h["early"]["wait"] == stop.wait == 8
    assert _js(page, "document.getElementById('early').dataset.bestEpoch") == str(stop.best_epoch + 1)
    assert _js(page, "document.getElementById('chart').dataset.bestEpoch") == str(stop.best_epoch + 1)
    assert f"after epoch {stop.best_epoch + 1}" in page.inner_text("#early-text")
    assert page.evaluate("() => document.getElementById('patience-fill').style.width") == "100%"
    assert _js(page, "document.getElementById('lr-chart').dataset.cursor") == str(h["epoch"])
    for e, lr in zip(h["schedule"]["epoch"], h["schedule"]["lr"]):
        assert lr == pytest.approx(r.trainer.optimizer.lr_at(epoch=e), rel=1e-9)
    assert h["schedule"]["lr"][0] > h["schedule"]["lr"][-1]  # the step schedule's drops


# -- the learning-rate finder -------------------------------------------------------------------
def test_lr_finder_suggests_lr_finds_rate_and_applies_it_in_one_click(page, url):
    _open(page, url, "#dataset=circle&networkShape=4,2&activation=relu&optimizer=adam")
    page.click("#lr-find")
    _wait(page, "m.lrFind", timeout=120_000)
    got = _js(page, "m.lrFind")
    r = _python_run(page, epochs=0)
    want = ml.lr_find(r.model, r.F_train, r.Y_train, "bce", ml.optim.Adam(), start_lr=1e-5, end_lr=10.0,
                      num_steps=200, batch_size=r.batch_size, seed=r.seed)  # fmt: skip
    print(f"suggested learning rate: page {got['suggestion']}, lr_find {want.suggestion}")
    assert want.suggestion is not None and got["suggestion"] == pytest.approx(want.suggestion, rel=1e-12)
    assert np.allclose([v if v is not None else np.nan for v in got["loss"]], want.loss, equal_nan=True)
    assert "Suggested learning rate" in page.inner_text("#lr-find-text")
    applied = got["applied"]
    assert applied == float(f"{want.suggestion:.3g}")
    _new_run(page, lambda: page.click("#lr-apply"), f"m.S.cfg.learningRate === {applied}")
    assert f"learningRate={applied}" in page.url


# -- the guided tours ---------------------------------------------------------------------------
TOURS = {
    "capacity": ("The multi-layer perceptron", "m.S.layout.widths.length === 1"),
    "vanishing": ("vanishing gradient", "m.S.lanes.length === 1"),
    "optimizers": ("Optimizers", "m.S.lanes.length === 3"),
    "regularization": ("early stopping", "m.S.cfg.patience === 30"),
    "approximation": ("universal approximation", "m.S.cfg.regDataset === 'reg-sine'"),
}


@pytest.mark.parametrize("name", list(TOURS))
def test_each_tour_is_a_link_with_its_text_and_notes(page, url, name):
    title, preset = TOURS[name]
    _open(page, url, f"#tour={name}")
    _wait(page, preset)
    assert page.is_visible("#tour-panel") and title.lower() in page.inner_text("#tour-title").lower()
    assert len(page.inner_text("#tour-text")) > 300 and page.input_value("#tour-select") == name
    notes = page.locator(".callout")
    assert notes.count() >= 3
    for k in range(notes.count()):  # each note beside its control, on screen
        target = page.locator(notes.nth(k).get_attribute("data-target")).first
        if target.is_visible():
            assert notes.nth(k).is_visible()
    page.click("#play")
    _wait(page, "m.header.epoch >= 5", timeout=120_000)
    _pause(page)
    assert f"tour={name}" in page.url


def test_a_tour_keeps_its_link_through_a_change_and_closes(page, url, browser):
    _open(page, url)
    page.select_option("#tour-select", "regularization")
    _wait(page, "m.S.cfg.patience === 30 && m.header.rev === m.S.rev")
    _new_run(page, lambda: page.select_option("#regularization", "L2"), "m.S.cfg.regularization === 'L2'")
    assert "tour=regularization" in page.url and "regularization=L2" in page.url and page.is_visible("#tour-panel")
    other = browser.new_page()
    _open(other, page.url)
    assert _js(other, "m.S.cfg") == _js(page, "m.S.cfg") and other.is_visible("#tour-panel")
    other.close()
    page.click("#tour-close")
    assert not page.is_visible("#tour-panel") and "tour=" not in page.url and page.locator(".callout").count() == 0


def test_universal_approximation_the_width_slider_and_each_units_share(page, url):
    _open(page, url, "#tour=approximation")
    assert page.is_visible("#fn-chart") and not page.is_visible("#boundary")
    _new_run(page, lambda: page.locator("#fn-width").fill("12"), "m.S.layout.widths[0] === 12")
    page.click("#play")
    _wait(page, "m.header.epoch >= 300", timeout=120_000)
    _pause(page)
    f = page.evaluate(
        "() => [Array.from(window.mlplab.S.frame.sections.fn), Array.from(window.mlplab.S.frame.sections.fn_units)]"
    )
    fn, units = np.array(f[0]), np.array(f[1]).reshape(12, -1)
    bias = _js(page, "m.header.fn_bias")
    assert np.allclose(units.sum(axis=0) + bias, fn, atol=1e-5)  # the output is the units' shares plus a bias
    r = _python_run(page)
    grid = frames.fn_grid()
    assert np.allclose(r.model.predict(features(grid, r.names))[:, 0], fn, atol=1e-5)
    grid = grid[:, 0]
    assert _js(page, "m.header.test.loss") == pytest.approx(r.metrics["test"]["loss"], abs=1e-7)
    target = np.sin(np.pi * grid / 3)
    assert np.allclose(_js(page, "Array.from(m.S.data.target)"), target, atol=1e-6)  # the dashed curve
    err = float(np.sqrt(np.mean((fn - target) ** 2)))
    print(f"12 sigmoid units after {_js(page, 'm.header.epoch')} epochs: rms |f - sin| = {err:.3f}")
    assert err < 0.3 and "12 coloured units" in page.inner_text("#fn-note")
