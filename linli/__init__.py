"""Linli's front door: the CLI and settings. No other package imports it."""

__version__ = "0.1.0"
