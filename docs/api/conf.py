"""Sphinx configuration of mlplab's API reference: ``sphinx-build -W -b html docs/api docs/_build/api``
(.ci/run builds it with warnings as errors). The pages are generated from the docstrings
(numpydoc format) of the public modules."""

import inspect
import re

from numpydoc.docscrape import NumpyDocString
from sphinx.util import logging

import mlplab

project = "mlplab"
author = "the mlplab developers"
release = version = mlplab.__version__
extensions = ["sphinx.ext.autodoc", "numpydoc"]
autodoc_default_options = {"members": True, "undoc-members": False, "show-inheritance": True}
autodoc_member_order = "bysource"
autodoc_typehints = "none"  # the docstrings give the types
numpydoc_show_class_members = False
numpydoc_xref_param_type = False
# Every documented function, class and method is validated; a failed check is a warning, so
# an error under -W. Enforced: the Parameters section names every parameter, in order, with a
# type and a description, and no parameter that does not exist (PR01-PR07, PR10); a function
# that returns or yields a value has a described Returns or Yields section (RT01, RT03, YD01);
# sections are known and in order (GL06, GL07). Not enforced: numpydoc's style checks
# (capitalised, one-line, imperative summaries; See Also and Examples everywhere; RT02, which
# refuses scikit-learn's "self : object").
numpydoc_validation_checks = {
    "PR01", "PR02", "PR03", "PR04", "PR05", "PR06", "PR07", "PR10",
    "RT01", "RT03", "YD01", "GL06", "GL07",
}  # fmt: skip
# Not validated: backend's ``dot`` and ``vdot`` are NumPy's own functions bound to those names
# (autodoc does not render them; their docstrings are NumPy's).
numpydoc_validation_exclude = {r"^mlplab\.backend\.v?dot$"}
# numpydoc's GL08 (no docstring) judges an object's own __doc__ and, when there is one, lifts
# on a comment above the def; _check_docstring below does this check instead: a public member
# needs a docstring of its own or one it inherits (autodoc shows the inherited one).
html_theme = "alabaster"
html_title = f"mlplab {release}: API reference"
exclude_patterns = []
nitpicky = False


def _skip(app, what, name, obj, skip, options):
    """scikit-learn's metadata-routing methods (the generated ``set_*_request`` and
    ``get_metadata_routing``, inherited by the estimators) document scikit-learn's own glossary."""
    routing = (name.startswith("set_") and name.endswith("_request")) or name == "get_metadata_routing"
    return True if routing else skip


def _names(params):
    return [name.strip().lstrip("*") for p in params for name in p.name.split(",")]


#: not checked by _check_docstring: CallbackList's hooks are made by a factory (``_each``) whose
#: functions inspect cannot trace to Callback's docstrings; its class docstring says what they do
_UNCHECKED = re.compile(r"mlplab\.callbacks\.CallbackList\.on_\w+")


def _check_docstring(app, what, name, obj, options, lines):
    """Every public function, class, method and property has a docstring, its own or one it
    inherits. numpydoc validates an object's own docstring only: a method without one shows its
    base's (autodoc inherits it), whose Parameters must then name the method's own parameters."""
    log = logging.getLogger(__name__)
    if _UNCHECKED.fullmatch(name):
        return
    if what in ("function", "class", "method", "property") and not inspect.getdoc(obj):
        log.warning(f"{name} has no docstring, of its own or inherited")
        return
    if what in ("function", "class", "method"):  # numpydoc's PR07 skips a type written {"a", "b"}
        for p in NumpyDocString(inspect.getdoc(obj))["Parameters"]:
            if "{" in p.type and not "".join(p.desc).strip():
                log.warning(f"{name}: parameter {p.name!r} has no description")
    if what not in ("method", "function") or getattr(obj, "__doc__", None):
        return
    try:
        sig = inspect.signature(obj)
    except (TypeError, ValueError):
        return
    actual = [p for p in sig.parameters if p not in ("self", "cls")]
    documented = _names(NumpyDocString(inspect.getdoc(obj) or "")["Parameters"])
    if documented != actual:
        log.warning(
            f"{name}: its inherited docstring documents the parameters {documented}, its signature has {actual}"
        )


def setup(app):
    app.connect("autodoc-skip-member", _skip)
    app.connect("autodoc-process-docstring", _check_docstring, priority=400)
