"""Loaders: each reads one input format and produces the normalized model, nothing else."""
