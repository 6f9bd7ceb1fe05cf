"""A.I.ducation Analytics: learning-state recognition from students' faces."""

__version__ = "0.1.0"
