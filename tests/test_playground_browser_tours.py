"""The playground's guided tours in headless Chromium: what their texts claim is what the runs
do, and their notes never cover what they point at (fixtures from ``playground_page.py``;
screenshots in ``out/playground/``)."""

from __future__ import annotations

import pytest
from playground_page import ARTEFACTS
from playground_page import js as _js
from playground_page import open_page as _open
from playground_page import wait as _wait

# What the student must be able to read while a note is on screen (the trial's complaints).
READINGS = ["#lr-apply", "#lr-now", "#fn-width-value", "#fn-note", "#diag-legend", "#acc-row", "#layer-controls button"]

# Each note's box, its target's, the boxes of READINGS, and whatever the note sits on at 9 points.
OVERLAPS = """() => {
  const box = (e) => e.getBoundingClientRect();
  const meets = (a, b) => a.width > 0 && b.width > 0
    && a.left < b.right && b.left < a.right && a.top < b.bottom && b.top < a.bottom;
  const out = [];
  for (const note of document.querySelectorAll('.callout')) {
    if (note.hidden) continue;
    const n = box(note);
    const target = document.querySelector(note.dataset.target);
    if (meets(n, box(target))) out.push(`${note.textContent} covers its target ${note.dataset.target}`);
    for (const sel of READINGS) for (const e of document.querySelectorAll(sel)) {  // its text, or the control
      const r = document.createRange();
      r.selectNodeContents(e);
      const boxes = ['BUTTON', 'INPUT'].includes(e.tagName) ? [box(e)] : Array.from(r.getClientRects());
      if (boxes.some((b) => b.height > 0 && meets(n, b))) out.push(`${note.textContent} covers ${sel}`);
    }
    for (const fx of [0.05, 0.5, 0.95]) for (const fy of [0.1, 0.5, 0.9]) {
      const under = document.elementsFromPoint(n.left + fx * n.width, n.top + fy * n.height)
        .filter((e) => !e.classList.contains('callout'))[0];
      if (!under) continue;
      const x = n.left + fx * n.width, y = n.top + fy * n.height, r = document.createRange();
      const text = Array.from(under.childNodes).some((c) => {
        if (c.nodeType !== 3 || !c.textContent.trim()) return false;
        r.selectNodeContents(c);
        return Array.from(r.getClientRects()).some((b) => b.left <= x && x <= b.right && b.top <= y && y <= b.bottom);
      });
      if (text || ['BUTTON', 'INPUT', 'SELECT', 'CANVAS', 'TD'].includes(under.tagName))
        out.push(`${note.textContent} covers a ${under.tagName} ${under.id || under.textContent.slice(0, 30)}`);
    }
  }
  return out;
}""".replace("READINGS", repr(READINGS))

PRESETS = {
    "capacity": "m.S.cfg.dataset === 'circle'",
    "vanishing": "m.S.lanes.length === 1",
    "optimizers": "m.S.lanes.length === 3",
    "regularization": "m.S.cfg.patience === 30",
    "approximation": "m.S.cfg.regDataset === 'reg-sine'",
}


@pytest.mark.parametrize("size", [(1400, 1000), (1024, 768)], ids=["1400", "1024"])
@pytest.mark.parametrize("name", list(PRESETS))
def test_no_tour_note_covers_its_control_or_a_reading(browser, url, name, size):
    context = browser.new_context(viewport={"width": size[0], "height": size[1]})
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    _open(page, url, f"#tour={name}&epochs=3&speed=0")
    _wait(page, PRESETS[name])
    page.click("#play")
    _wait(page, "m.header.epoch === 3 && !m.header.playing", timeout=120_000)
    if name == "optimizers":  # the range test adds its chart's result and the "Use" button
        page.click("#lr-find")
        _wait(page, "m.lrFind !== undefined", timeout=120_000)
    if name == "capacity":  # the new layer's + and - buttons
        page.click("#add-layer")
        _wait(page, "m.S.layout.widths.length === 2 && m.header.rev === m.S.rev")
    page.evaluate("() => window.dispatchEvent(new Event('resize'))")
    assert page.locator("#tour-notes li, .tour-notes li").count() == page.locator(".callout").count() >= 3
    assert page.evaluate(OVERLAPS) == []
    assert page.evaluate("() => document.documentElement.scrollWidth <= document.documentElement.clientWidth")
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTEFACTS / f"tour_notes_{name}_{size[0]}.png"), full_page=True)
    context.close()
    assert not errors, errors


def test_vanishing_tour_sigmoid_at_chance_for_hundreds_of_epochs_relu_in_about_ten(page, url):
    _open(page, url, "#tour=vanishing&epochs=300&speed=0")
    text = page.inner_text("#tour-text")
    assert "hundreds of epochs" in text and "about ten" in text
    page.click("#play")
    _wait(page, "m.header.epoch === 300 && m.lanes.lane1 && m.lanes.lane1.epoch === 300", timeout=240_000)
    curve = _js(page, "m.header.curve")
    relu_at_10 = curve["test"][curve["epoch"].index(10)]
    sigmoid_at_300 = _js(page, "m.lanes.lane1.test.loss")
    print(f"test loss: relu at epoch 10 {relu_at_10:.4f}, sigmoid at epoch 300 {sigmoid_at_300:.4f}")
    assert relu_at_10 < 0.05 and sigmoid_at_300 > 0.6  # ln 2 = 0.693: chance


def test_optimizers_tour_stops_where_the_cosine_reaches_its_minimum(page, url):
    _open(page, url, "#tour=optimizers")
    _wait(page, "m.S.lanes.length === 3")
    assert _js(page, "[m.S.cfg.epochs, m.S.cfg.sched.T_max]") == [300, 300]
    assert "the runs stop there" in page.inner_text("#tour-text")


def test_approximation_tour_says_the_step_is_not_continuous(page, url):
    _open(page, url, "#tour=approximation")
    text = page.inner_text("#tour-text")
    assert "continuous function" in text and "The step is not continuous" in text and "on average" in text
