"""Sphinx configuration of mlplab's API reference: ``sphinx-build -W -b html docs/api docs/_build/api``
(.ci/run builds it with warnings as errors). The pages are generated from the docstrings
(numpydoc format) of the public modules."""

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
html_theme = "alabaster"
html_title = f"mlplab {release}: API reference"
exclude_patterns = []
nitpicky = False


def _skip(app, what, name, obj, skip, options):
    """scikit-learn's generated ``set_*_request`` methods document scikit-learn's own glossary."""
    return True if name.startswith("set_") and name.endswith("_request") else skip


def setup(app):
    app.connect("autodoc-skip-member", _skip)
