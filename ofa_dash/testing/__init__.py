"""Fixtures shared by the tests and benchmarks: a synthetic precomputed root and a browser harness. Not used by the product."""
