"""Privacy at the edge: HMAC-SM3 pseudonyms, SM4 encryption at rest, erasure and retention.

The submodules are imported on use (``from privacy.pseudonym import pseudonymise``); this package imports nothing
heavy, so the loaders in :mod:`features` may use it. ``privacy`` imports neither ``serving`` nor ``linli``.
"""
