"""Linli profiling package."""
