"""Robustness: hostile inputs, properties, offline safety and determinism of eks-sg-policy."""
