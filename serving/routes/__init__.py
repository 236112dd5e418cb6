"""One router per resource: recommendations, feedback, residents, segments, models, health."""
