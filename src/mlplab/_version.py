"""The version of mlplab, in one place (the package, its files and its exports read it)."""

__version__ = "0.1.0"
