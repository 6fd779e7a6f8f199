"""The playground end to end, in headless Chromium driven by Playwright.

A live server (uvicorn in a thread) serves the page; Debian's ``chromium`` package is the
browser (``.ci/run`` installs it with apt and fails if these tests are skipped); the fixtures
``url``, ``browser`` and ``page`` come from ``playground_page.py``. Oracles: the
exported model file through ``mlplab.load`` and ``model.predict`` on the view's grid for the
pixels the page draws, the exported script run in a subprocess for the loss the page shows,
the model trained in Python for an import. Screenshots go to ``out/playground/`` (kept as
artefacts, looked at by a person).
"""

from __future__ import annotations

import re
import subprocess
import sys

import numpy as np
import pytest
from playground_page import js as _js
from playground_page import new_run as _new_run
from playground_page import open_page as _open
from playground_page import wait as _wait

import mlplab as ml
from mlplab.playground import data


def _pixels(page):
    """The boundary canvas's own pixels (its 100 x 100 backing store), RGB."""
    flat = page.evaluate(
        "() => Array.from(document.getElementById('boundary').getContext('2d').getImageData(0, 0, 100, 100).data)"
    )
    return np.array(flat, dtype=np.int64).reshape(100, 100, 4)[..., :3]


def _classes_drawn(page, rgb):
    """The class each pixel's colour shows: the nearest colour of the page's palette (bytes 0..255),
    class 1 for bytes >= 128 (frames.py)."""
    palette = np.array(_js(page, "m.palette"))  # (256, 3)
    assert not set(map(tuple, palette[:128])) & set(map(tuple, palette[128:]))  # a colour tells its class
    d = ((rgb.reshape(-1, 1, 3) - palette[None]) ** 2).sum(axis=2)
    return (d.argmin(axis=1) >= 128).astype(int)


def _download(page, selector, folder):
    with page.expect_download() as d:
        page.click(selector)
    path = folder / d.value.suggested_filename
    d.value.save_as(path)
    return path


def _export(page, folder):
    n = _js(page, "m.exports.length")
    page.click("#export")
    _wait(page, f"m.exports.length > {n}")
    return _download(page, "#script-link", folder), _download(page, "#model-link", folder)


def _agreement(page, model, names):
    predicted = model.predict_classes(data.features(data.grid(), names))
    return float(np.mean(_classes_drawn(page, _pixels(page)) == predicted))


def test_change_everything_train_and_the_pixels_are_the_models(page, url, tmp_path):
    _open(page, url)
    _new_run(page, lambda: page.click('#datasets canvas[data-name="xor"]'), "m.S.cfg.dataset === 'xor'")
    _new_run(page, lambda: page.click("#add-layer"), "m.S.layout.widths.length === 4")
    _new_run(page, lambda: page.click("#remove-layer"), "m.S.layout.widths.length === 3")
    for _ in range(2):
        n = _js(page, "m.S.layout.widths[1]")
        _new_run(page, lambda: page.locator(".neuron-plus").nth(1).click(), f"m.S.layout.widths[1] === {n + 1}")
    _new_run(page, lambda: page.select_option("#activation", "relu"), "m.S.layout.activations[0] === 'relu'")
    _new_run(page, lambda: page.select_option("#optimizer", "adam"), "m.S.cfg.optimizer === 'adam'")
    assert _js(page, "m.S.layout.widths") == [4, 4, 1]
    start = _js(page, "m.header.test.loss")
    page.click("#play")
    _wait(page, f"m.header.playing && m.header.test.loss < {0.5 * start}")
    page.click("#play")
    _wait(page, "!m.header.playing")
    epoch = _js(page, "m.header.epoch")
    _, model_file = _export(page, tmp_path)
    model = ml.load(model_file)
    assert _js(page, "m.exports[0].epoch") == epoch  # paused at an epoch's end: the page shows these weights
    agree = _agreement(page, model, _js(page, "m.S.layout.inputs"))
    print(f"pixels agreeing with model.predict: {agree:.4%} (epoch {epoch})")
    assert agree >= 0.99
    assert _js(page, "m.stats.total") > epoch  # frames drawn while it trained: at least one an epoch


def test_a_tf_playground_link_opens_and_the_url_round_trips(page, url, browser):
    tf = ("#activation=relu&batchSize=10&dataset=xor&regDataset=reg-plane&learningRate=0.03&regularizationRate=0"
          "&noise=0&networkShape=4,2&seed=0.51286&showTestData=false&discretize=false&percTrainData=50&x=true&y=true"
          "&xTimesY=true&xSquared=false&ySquared=false&cosX=false&sinX=false&cosY=false&sinY=false&collectStats=false"
          "&problem=classification&initZero=false&hideText=false&foo=1")  # fmt: skip
    _open(page, url, tf)
    _wait(page, "m.S.cfg.dataset === 'xor'")
    assert page.input_value("#activation") == "relu"
    assert _js(page, "m.S.layout.inputs") == ["x", "y", "xTimesY"]
    assert _js(page, "m.S.cfg.seed") == "0.51286"
    assert "foo" in _js(page, "m.notices.join(' ')")  # an unknown key is reported, not silently dropped
    _new_run(page, lambda: page.select_option("#learningRate", "0.1"), "m.S.cfg.learningRate === 0.1")
    _new_run(page, lambda: page.select_option("#regularization", "L2"), "m.S.cfg.regularization === 'L2'")
    page.check("#showTestData")
    _wait(page, "location.hash.includes('showTestData=true')")
    link = page.url
    assert "learningRate=0.1" in link and "regularization=L2" in link and "xTimesY=true" in link
    config = _js(page, "m.S.cfg")
    other = browser.new_page()
    _open(other, link)
    assert _js(other, "m.S.cfg") == config
    assert other.is_checked("#showTestData") and other.input_value("#regularization") == "L2"
    other.close()


def test_the_exported_script_reproduces_the_pages_loss(page, url, tmp_path):
    _open(page, url, "#dataset=spiral&networkShape=8,8&activation=tanh&sinX=true&sinY=true&optimizer=adam&speed=5")
    page.click("#play")
    _wait(page, "m.header.epoch >= 60")
    page.click("#play")
    _wait(page, "!m.header.playing")
    script, _ = _export(page, tmp_path)
    shown = _js(page, "m.exports[m.exports.length - 1]")
    out = subprocess.run([sys.executable, str(script)], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    m = re.search(r"epochs (\d+), train loss ([\d.]+), test loss ([\d.]+)", out.stdout)
    assert int(m.group(1)) == shown["epoch"] == _js(page, "m.header.epoch")
    page_loss = _js(page, "m.header.train.loss")
    print(f"page train loss {page_loss:.6f}, script {float(m.group(2)):.6f}")
    assert float(m.group(2)) == pytest.approx(page_loss, rel=0.01)
    assert float(m.group(3)) == pytest.approx(_js(page, "m.header.test.loss"), rel=0.01)


def test_import_a_model_file_trained_in_python(page, url, tmp_path):
    X, y = data.generate("circle", n=400, noise=0.1, seed=3)
    model = ml.MLP([2, 8, 8, 1], activation="relu", output="sigmoid", seed=3)
    model.fit(X, y, loss="bce", optimizer=ml.optim.Adam(lr=0.01), epochs=40, batch_size=20, verbose=0)
    model.save(tmp_path / "circle.mlp")
    _open(page, url)
    _new_run(page, lambda: page.set_input_files("#model-file", str(tmp_path / "circle.mlp")), "m.S.layout.imported")
    assert _js(page, "m.S.layout.widths") == [8, 8, 1] and "Imported a model" in _js(page, "m.notices.join(' ')")
    assert _agreement(page, model, ["x", "y"]) >= 0.99


def test_csv_upload(page, url, tmp_path):
    rng = np.random.default_rng(0)
    centres = np.array([[-3, -3], [3, -3], [0, 3]])
    labels = np.repeat(np.arange(3), 40)
    points = centres[labels] + rng.normal(0, 0.8, (120, 2))
    csv = tmp_path / "three.csv"
    csv.write_text("x1,x2,label\n" + "\n".join(f"{a:.4f},{b:.4f},{k}" for (a, b), k in zip(points, labels)))
    _open(page, url)
    _new_run(page, lambda: page.set_input_files("#csv-file", str(csv)), "m.S.layout.kind === 'multiclass'")
    assert "Loaded 120 points, 3 classes" in _js(page, "m.notices.join(' ')")
    assert page.locator('#datasets canvas[data-name="custom"]').get_attribute("class") == "selected"
    page.click("#play")
    _wait(page, "m.header.epoch > 30")
    page.click("#play")
    assert page.locator("#confusion tr").count() == 4  # a header row and three classes


def test_bad_uploads_are_refused_and_the_page_goes_on(page, url, tmp_path):
    _open(page, url)
    bad = tmp_path / "bad.csv"
    bad.write_text("1,2,0\n3,4,1\n5,six,0\n7,8,1\n")
    page.set_input_files("#csv-file", str(bad))
    _wait(page, "m.errors.some((e) => e.includes('csv line 3'))")
    fake = tmp_path / "fake.mlp"
    fake.write_bytes(b"this is not a model file" * 10)
    page.set_input_files("#model-file", str(fake))
    _wait(page, "m.errors.length >= 2")
    assert "ModelFile" in _js(page, "m.errors[1]") or "model" in _js(page, "m.errors[1]").lower()
    assert "fake.mlp" in _js(page, "m.errors[1]") and "mlplab-import-" not in _js(page, "m.errors[1]")
    assert page.locator("#messages p.error").count() == 2
    page.click("#step")
    _wait(page, "m.header.epoch === 1")
    assert _js(page, "m.S.cfg.dataset") == "circle"


def test_click_to_add_points_hover_and_edit_a_weight(page, url):
    _open(page, url)
    n = _js(page, "m.S.data.train_y.length")
    box = page.locator("#points").bounding_box()
    _new_run(page, lambda: page.mouse.click(box["x"] + box["width"] * 0.75, box["y"] + box["height"] * 0.25))
    _new_run(page, lambda: page.keyboard.down("Shift") or page.mouse.click(box["x"] + 30, box["y"] + 30))
    page.keyboard.up("Shift")
    _wait(page, f"m.S.data.train_y.length === {n + 2}")
    train_y = _js(page, "Array.from(m.S.data.train_y)")
    assert train_y[-2:] == [1, 0] and _js(page, "m.S.cfg.dataset") == "custom"
    x, y = _js(page, "m.net.linkMiddle(0, 0, 0)")
    page.mouse.move(x, y)
    assert "weight x1" in page.inner_text("#card")
    page.mouse.click(x, y)
    page.fill("#edit-value", "1.5")
    page.press("#edit-value", "Enter")
    _wait(page, "m.S.frame.sections.weights[0] === 1.5")
    x, y = _js(page, "m.net.nodeCenter(1, 0)")
    page.mouse.move(x, y)
    _wait(page, "document.getElementById('boundary').dataset.focus === '1'")  # the neuron, drawn large
    assert "neuron 1 of layer 1" in page.inner_text("#card")


def test_divergence_is_explained(page, url):
    _open(page, url, "#problem=regression&learningRate=10&activation=relu&networkShape=8,8&speed=0")
    page.click("#play")
    _wait(page, "m.header.status === 'diverged'")
    banner = page.inner_text("#banner")
    assert "Training diverged" in banner and "learning rate of 10" in banner and page.is_visible("#banner")


def test_many_classes_and_a_wide_network(page, url):
    _open(page, url, "#dataset=spiral&classes=5&networkShape=16,16,16&activation=relu&optimizer=adam"
                     "&learningRate=0.01&sinX=true&sinY=true&numSamples=1000&speed=5&noise=5")  # fmt: skip
    page.click("#play")
    _wait(page, "m.header.epoch >= 150", timeout=120_000)
    page.click("#play")
    _wait(page, "!m.header.playing")
    assert _js(page, "m.header.train.accuracy") > 0.5 and _js(page, "m.S.layout.widths") == [16, 16, 16, 5]


@pytest.mark.parametrize(
    "hash_, ignored",
    [
        ("#dataset=xor&race=%%%&seed=%", ["race=%%%", "seed=%"]),  # not valid URL escapes
        ("#dataset=xor&toString=1&constructor=1", ["toString", "constructor"]),  # names of every JS object
        ("#dataset=xor&tour=%", ["tour=%"]),
    ],
    ids=["bad-escapes", "object-names", "bad-tour"],
)
def test_a_link_with_bad_url_text_keeps_the_rest(page, url, hash_, ignored):
    _open(page, url, hash_)
    assert _js(page, "m.S.cfg.dataset") == "xor" and _js(page, "m.errors") == []
    notice = _js(page, "m.notices.join(' ')")
    assert all(key in notice for key in ignored), notice
    assert "keys among" not in notice


def test_a_bad_value_in_a_link_drops_only_that_key(page, url):
    _open(page, url, "#dataset=spiral&networkShape=6,6&learningRate=-1")
    assert _js(page, "[m.S.cfg.dataset, m.S.cfg.networkShape, m.S.cfg.learningRate]") == ["spiral", [6, 6], 0.03]
    assert _js(page, "m.errors") == []
    assert "Ignored in the link: learningRate must be" in _js(page, "m.notices.join(' ')")
    _wait(page, "location.hash.includes('dataset=spiral') && location.hash.includes('networkShape=6,6')")
    assert "Ignored in the link: learningRate" in page.inner_text("#messages")


def test_1d_data_sets_draw_their_function_and_take_x1_only(page, url):
    _open(page, url, "#problem=regression&regDataset=reg-plane&x=true&y=true&xTimesY=true")
    for name, f in data.ONE_D.items():
        rgba = page.evaluate(
            f"""() => {{ const c = document.querySelector('#datasets canvas[data-name="{name}"]');
            return Array.from(c.getContext('2d').getImageData(0, 0, 64, 64).data); }}"""
        )
        dark = np.array(rgba).reshape(64, 64, 4)[..., :3].sum(axis=2) < 300  # the curve's pixels
        for col in range(2, 62, 4):
            x = -6 + 12 * (col + 0.5) / 64
            if name == "reg-step" and abs(x) < 0.5:
                continue  # the jump: a vertical stroke
            rows = np.flatnonzero(dark[:, col])
            assert rows.size, (name, col)
            shown = (32 - (rows.mean() + 0.5)) * 3 / 64  # pixel row -> value (the sketch's scale)
            assert shown == pytest.approx(float(f(np.array(x))), abs=0.12), (name, x)
    _new_run(page, lambda: page.click('#datasets canvas[data-name="reg-sine"]'), "m.S.cfg.regDataset === 'reg-sine'")
    assert _js(page, "m.S.layout.inputs") == ["x"]  # x2 is always 0 in a 1-D data set
    assert _js(page, "[m.S.cfg.x, m.S.cfg.y, m.S.cfg.xTimesY]") == [True, False, False]


def test_a_fractional_patience_is_refused_not_rounded(page, url):
    _open(page, url, "#patience=5")
    page.fill("#patience", "2.5")
    page.press("#patience", "Enter")
    page.locator("#patience").blur()
    _wait(page, "m.errors.some((e) => e.includes('patience'))")
    assert "patience must be" in _js(page, "m.errors.join(' ')")
    _wait(page, "m.S.cfg.patience === 5 && document.getElementById('patience').value === '5'")
