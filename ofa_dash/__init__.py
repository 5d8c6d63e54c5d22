"""ofa-dash: multi-objective Once-for-All NAS with a decision dashboard."""

__version__ = "0.1.0"
