"""Linli serving package."""
