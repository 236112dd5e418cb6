"""The planner page (``/planner``): session cookies for browsers and the page's static assets.

The page's numbers come from the segment reports (:mod:`profiling.reports`, :mod:`profiling.demand`) through
``GET /segments`` and ``GET /planner/data``; see :mod:`serving.routes.planner`.
"""

from serving.planner.session import COOKIE, Sessions

__all__ = ["COOKIE", "Sessions"]
