"""Synthetic data in the official files' shape, for tests and benchmarks (never real subscribers' numbers).

- :mod:`.registry`: a full-size registry in the current 8-column format;
- :mod:`.mnp`: Operators, Port_All and increment files over a registry's mobile ranges.

Writes files only, and imports nothing else from :mod:`worker.data`: the real readers are what check them.
"""
