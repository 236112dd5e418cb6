"""Linli experiments package."""
