"""Linli linli package."""
