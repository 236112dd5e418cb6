"""Linli training package."""
