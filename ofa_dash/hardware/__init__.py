"""Hardware cost: analytic counters and per-device latency lookup tables."""

from ofa_dash.hardware.counters import count

__all__ = ["count"]
