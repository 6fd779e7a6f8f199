"""The playground's step-through backpropagation as a student reads it, in headless Chromium:
the written-out formulas bracket negative operands, the sum is said to be over the whole
mini-batch, torch's momentum is tied to the lecture's, and the numbers of an old mini-batch go
when training moves on (fixtures from ``playground_page.py``; screenshots in ``out/playground/``)."""

from __future__ import annotations

import re

import pytest
from playground_page import js as _js
from playground_page import open_page as _open
from playground_page import wait as _wait


def _shown(page):
    return page.evaluate(
        """() => Object.fromEntries(Array.from(document.querySelectorAll('#bp-detail .num'))
        .map((s) => [s.dataset.k, s.dataset.v === '' ? null : Number(s.dataset.v)]))"""
    )


def _inspect(page, layer, frm, to):
    """Click a neuron (frm None: its bias) or a link, and wait for its numbers."""
    if frm is None:
        x, y = _js(page, f"m.net.nodeCenter({layer + 1}, {to})")
    else:
        x, y = page.evaluate(
            f"""() => {{ const n = window.mlplab.net, r = n.canvas.getBoundingClientRect();
            const [x0, y0, x1, y1] = n.ends({layer}, {frm}, {to});
            return [r.left + x0 + 0.3 * (x1 - x0), r.top + y0 + 0.3 * (y1 - y0)]; }}"""
        )
    page.mouse.click(x, y)
    want = "null" if frm is None else frm
    _wait(page, f"m.inspect && m.inspect.layer === {layer} && m.inspect.from === {want} && m.inspect.to === {to}")
    return page.inner_text("#bp-detail")


def test_formulas_bracket_negatives_and_say_what_they_sum(page, url):
    _open(page, url, "#networkShape=3&activation=tanh&optimizer=sgd&opt.momentum=0.9&learningRate=0.1&batchSize=10")
    for t in (1, 2, 3):
        page.click("#step-batch")
        _wait(page, f"m.trace && m.trace.t === {t}")
    texts = [_inspect(page, 0, None, k) for k in range(3)] + [_inspect(page, 0, i, k) for i in (0, 1) for k in range(3)]
    text = "\n".join(texts)
    assert not re.search(r"[×+−/·]\s*-\d", text), text  # a negative operand is bracketed
    assert re.search(r"[×+−/·] \(-\d", text), text  # and there are some (the test can fail)
    assert "over all 10 samples of the mini-batch (the table shows 8)" in texts[-1]
    shown = _shown(page)
    assert "the same rule with v = −lr · buf" in texts[-1]
    # the lecture's v is the change of the weight: v = -lr buf
    assert shown["update"] == pytest.approx(-0.1 * shown["state-momentum_buffer-after"], abs=1e-6)
    whole = _js(page, "m.inspect")
    assert sum(a * d for a, d in zip(whole["input"], whole["delta"])) == pytest.approx(shown["grad"], abs=1e-6)


@pytest.mark.parametrize("leave", ["#step", "#play"])
def test_an_epoch_step_or_play_clears_the_old_mini_batch(page, url, leave):
    _open(page, url, "#networkShape=3&activation=tanh")
    page.click("#step-batch")
    _wait(page, "m.trace && m.trace.t === 1")
    _inspect(page, 0, None, 0)
    assert "Update 1" in page.inner_text("#bp-summary")
    epoch = _js(page, "m.header.epoch")
    page.click(leave)
    _wait(page, f"m.header.epoch > {epoch}")
    if leave == "#play":
        page.click("#play")
        _wait(page, "!m.header.playing")
    assert page.inner_text("#bp-summary") == "" and page.inner_text("#bp-detail") == ""


def test_sgd_with_weight_decay_and_dampening_is_written_as_torch_applies_it(page, url):
    """g <- g + weight_decay w, buf <- mu buf + (1 - dampening) g, w <- w - lr buf: the written
    numbers add up to the optimizer's own state and the weight after the update (the line
    showed buf <- mu buf + g whatever the dampening and weight decay)."""
    _open(
        page,
        url,
        "#networkShape=3&activation=tanh&optimizer=sgd&opt.momentum=0.9&opt.dampening=0.5&opt.weight_decay=0.01"
        "&learningRate=0.1&batchSize=10",
    )
    for t in (1, 2, 3):
        page.click("#step-batch")
        _wait(page, f"m.trace && m.trace.t === {t}")
    text = _inspect(page, 0, 1, 2)
    shown = _shown(page)
    assert "g ← g + weight_decay · w" in text and "buf ← μ · buf + (1 − dampening) · g" in text
    assert shown["g_decayed"] == pytest.approx(shown["g_used"] + 0.01 * shown["before"], abs=1e-6)
    assert shown["g_decayed2"] == shown["g_decayed"]
    buf = 0.9 * shown["state-momentum_buffer-before"] + 0.5 * shown["g_decayed"]
    assert shown["state-momentum_buffer-after"] == pytest.approx(buf, abs=1e-6)
    assert shown["after"] == pytest.approx(shown["before"] - 0.1 * shown["state-momentum_buffer-after"], abs=1e-6)
    assert "the same rule with v = −lr · buf" not in text  # not the lecture's rule with a dampening
