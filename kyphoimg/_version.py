"""The kyphoimg version (one place, importable without import cycles)."""

__version__ = "0.1.0"
