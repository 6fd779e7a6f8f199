"""The playground's learning-rate finder box in headless Chromium: a chart one can read rates
off (tick values on both axes, labels inside), a curve without a suggestion, and a result of an
earlier setup (fixtures from ``playground_page.py``; screenshots in ``out/playground/``)."""

from __future__ import annotations

from playground_page import js as _js
from playground_page import new_run as _new_run
from playground_page import open_page as _open
from playground_page import wait as _wait

from mlplab.playground import spec, tools
from mlplab.playground.run import Run, make_data


def _range_test(page):
    page.click("#lr-find")
    _wait(page, "m.lrFind !== undefined", timeout=120_000)


def _overlap(a, b):
    return a["x"] < b["x"] + b["width"] and b["x"] < a["x"] + a["width"] and abs(a["y"] - b["y"]) < 10


def test_the_range_tests_chart_has_ticks_and_its_labels_inside(page, url):
    _open(page, url, "#dataset=circle&networkShape=4,2&activation=relu&optimizer=adam")
    assert "200 mini-batches" in page.inner_text("#lr-find-text")
    _range_test(page)
    texts = _js(page, "m.lrChart.texts")
    width = _js(page, "document.getElementById('lr-find-chart').width")
    words = [t["text"] for t in texts]
    assert {"1e-5", "1e-3", "1e-1", "1e+1"} <= set(words) or {"1e-5", "1e-4", "1e0", "1e1"} <= set(words), words
    y_ticks = [w for w in words if w.replace(".", "", 1).isdigit()]
    assert len(y_ticks) >= 2, words  # loss values on the y axis
    assert all(0 <= t["x"] and t["x"] + t["width"] <= width for t in texts), texts
    label = next((t for t in texts if t["text"].startswith("suggested")), None)
    assert label is not None, " | ".join(words)
    assert not any(_overlap(label, t) for t in texts if t is not label)
    assert "Suggested learning rate" in page.inner_text("#lr-find-text") and page.is_visible("#lr-apply")


def test_a_suggestion_off_the_range_is_labelled_inside_the_chart(page, url):
    _open(page, url)
    texts = page.evaluate(
        """async () => {
        const { lineChart } = await import('/static/charts.js');
        const c = document.getElementById('lr-find-chart');
        const x = [1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1], y = [0.7, 0.7, 0.69, 0.6, 0.5, 2];
        return [1e-7, 100].map((s) => lineChart(c, [{ x, y, color: '#000' }], { logX: true, ticks: true,
          markers: [{ x: s, label: `suggested ${s}` }], yLabel: 'loss (grey: per update, blue: smoothed)',
          xLabel: 'learning rate' }).texts);
    }"""
    )
    for drawn, where in zip(texts, ("below", "above")):
        label = next(t for t in drawn if t["text"].startswith(("suggested", "←")))
        assert "the range" in label["text"] and where in label["text"]
        assert 36 <= label["x"] and label["x"] + label["width"] <= 300
        assert not any(_overlap(label, t) for t in drawn if t is not label)


def test_a_curve_that_never_falls_gets_its_reason_and_no_use_button(page, url):
    _open(page, url, "#dataset=circle&epochs=100&speed=0")  # a trained network: no rate makes the loss fall
    page.click("#play")
    _wait(page, "m.header.epoch === 100 && !m.header.playing", timeout=120_000)
    _range_test(page)
    cfg = spec.check_config(_js(page, "m.S.cfg"))
    r = Run(cfg, make_data(cfg))
    r.advance(100 * r.steps_per_epoch)
    want = tools.run_range_test(r)
    assert want.suggestion is None and _js(page, "m.lrFind.suggestion") is None
    assert f"No suggestion: {want.no_suggestion}" in page.inner_text("#lr-find-text")
    assert not page.is_visible("#lr-apply")


def test_a_result_of_an_earlier_setup_says_so_and_cannot_be_applied(page, url):
    _open(page, url, "#dataset=circle&networkShape=4,2&activation=relu&optimizer=adam")
    _range_test(page)
    assert page.is_visible("#lr-apply")
    _new_run(page, lambda: page.click("#add-layer"), "m.S.layout.widths.length === 4")
    text = page.inner_text("#lr-find-text")
    assert "measured the setup before your change of networkShape (networkShape [4,2])" in text, text
    assert not page.is_visible("#lr-apply")


def test_applying_the_suggestion_keeps_the_result(page, url):
    _open(page, url, "#dataset=circle&networkShape=4,2&activation=relu&optimizer=adam")
    _range_test(page)
    applied = _js(page, "m.lrFind.applied")
    _new_run(page, lambda: page.click("#lr-apply"), f"m.S.cfg.learningRate === {applied}")
    assert "measured the setup before" not in page.inner_text("#lr-find-text")
