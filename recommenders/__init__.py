"""Linli recommenders package."""
