"""Workflows: typed configs in, result objects out, nothing printed.

Experiments and their folds, the pipeline behind the commands, allocation, sweeps and the
benchmarks.
"""
