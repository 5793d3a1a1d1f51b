"""Benchmark of the service against its floor: `python -m bench`."""
