"""Benchmarks: gradq against a plain PyTorch loop, end to end, under load and at size."""
